"""User data sources of a criterion: vector files, CSV points and rasters beside OSM.

A :class:`layers.spec.Criterion` measures the features of a named data source. Besides
the sources a scale reads itself (``"osm"``, ``"hubs"``, ``"population"`` ...), a
criterion may bring its own, described by a :class:`SourceSpec`:

``vector``
    Any file GDAL reads (GeoPackage, shapefile, GeoJSON, FlatGeobuf ...), one ``layer``
    of it, an optional attribute ``filter`` such as ``category in ('lab', 'incubator')``
    or ``type == "incubator" and floor_area > 500`` (parsed, never evaluated as Python:
    :func:`parse_filter`).
``csv``
    Points from ``lon``/``lat`` columns in a declared ``datum`` (``wgs84``, ``gcj02``
    or ``bd09``, the datums of Chinese map services), converted to WGS84 explicitly
    (:func:`gis.coords.to_wgs84`). Coordinates out of range, swapped columns and points
    that match the run's OpenStreetMap features better in another datum are reported.
``raster``
    Any raster in any CRS, resampled ONCE to the run's whole grid with a declared
    method (``average`` for continuous values, ``sum`` for counts such as
    inhabitants per source cell finer than the grid, ``mode`` for classes,
    ``nearest``, ``bilinear``). Windowed and Dask runs cut their windows (and halos)
    out of that one resampled array, so they equal the in-memory run cell for cell.

``weight`` names an attribute (e.g. employees, floor area) that weights each feature in
densities and potentials; ``category`` names the attribute whose values are the kinds
counted by the diversity measure. Every source is loaded once per run
(:func:`load_sources`), in WGS84 (features) or on the grid (rasters), with its feature
count for the coverage report; the run's manifest records each file with its SHA-256.

Examples
--------
>>> import pandas as pd
>>> f = parse_filter("kind in ('lab', 'incubator') and staff >= 10")
>>> df = pd.DataFrame({"kind": ["lab", "cafe", "incubator"], "staff": [12, 50, 3]})
>>> f(df).tolist()
[True, False, False]
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.coords import DatumWarning, check_datum, datum_check, to_wgs84
from gis.errors import DataSourceError, InputError
from gis.grid import Grid

__all__ = [
    "RESAMPLING",
    "SOURCE_KEYS",
    "SOURCE_KINDS",
    "LoadedSource",
    "SourceSpec",
    "SourceWarning",
    "bad_lines",
    "check_point_near_area",
    "cut_window",
    "guess_kind",
    "load_source",
    "load_sources",
    "lonlat_values",
    "parse_filter",
    "spec_from_mapping",
    "user_sources",
]

#: Kinds of user source.
SOURCE_KINDS: tuple[str, ...] = ("vector", "csv", "raster")

#: Resampling methods of raster sources (rasterio / GDAL names).
RESAMPLING: tuple[str, ...] = ("average", "sum", "mode", "nearest", "bilinear", "max", "min")

#: Share of the area's cells a raster source must cover.
MIN_RASTER_COVER: float = 0.99

_LON = ("lon", "lng", "long", "longitude", "x")
_LAT = ("lat", "latitude", "y")


class SourceWarning(UserWarning):
    """A user source is usable but suspicious (partly outside the area, odd values)."""


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """Where a criterion's features come from when they are not the run's own data.

    Parameters
    ----------
    kind
        ``"vector"``, ``"csv"`` or ``"raster"`` (:data:`SOURCE_KINDS`).
    path
        The file.
    layer
        Layer of a multi-layer vector file (default: the first).
    filter
        Attribute filter of vector and CSV features (:func:`parse_filter`).
    lon, lat
        Coordinate columns of a CSV (default: the first of lon/lng/longitude/x and
        lat/latitude/y, case ignored).
    datum
        Datum of the CSV coordinates: ``wgs84``, ``gcj02`` or ``bd09``.
    weight
        Attribute giving each feature's weight (densities, potentials); default 1.
    category
        Attribute giving each feature's kind (diversity).
    resampling
        How a raster is resampled to the grid (:data:`RESAMPLING`).
    band
        Raster band (1-based).
    """

    kind: str
    path: str
    layer: str | None = None
    filter: str | None = None
    lon: str | None = None
    lat: str | None = None
    datum: str = "wgs84"
    weight: str | None = None
    category: str | None = None
    resampling: str = "average"
    band: int = 1

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise InputError(
                f"unknown source kind {self.kind!r}; choose one of {', '.join(SOURCE_KINDS)}"
            )
        object.__setattr__(self, "datum", check_datum(self.datum))
        if self.resampling not in RESAMPLING:
            raise InputError(
                f"unknown resampling {self.resampling!r}; choose one of {', '.join(RESAMPLING)}"
            )
        if self.filter is not None:
            parse_filter(self.filter)
        if not isinstance(self.band, int) or self.band < 1:
            raise InputError(f"band must be a whole number >= 1, got {self.band!r}")

    def as_dict(self) -> dict[str, Any]:
        """The non-default settings as plain values (for manifests and scenarios)."""
        defaults = {f.name: f.default for f in fields(self)}
        return {k: v for k, v in asdict(self).items() if k in ("kind", "path") or v != defaults[k]}


#: Keys of a ``[factors.criteria.source]`` table (``name`` names the source).
SOURCE_KEYS: tuple[str, ...] = ("name", *(f.name for f in fields(SourceSpec)))


def guess_kind(path: str | Path) -> str:
    """The source kind a file name suggests: csv, raster (GeoTIFF, .img, .vrt...) or vector.

    Examples
    --------
    >>> guess_kind("pois.csv"), guess_kind("pop.tif"), guess_kind("parcels.gpkg")
    ('csv', 'raster', 'vector')
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".tif", ".tiff", ".img", ".vrt", ".asc", ".nc", ".jp2"):
        return "raster"
    return "vector"


# ---------------------------------------------------------------------------- filters
_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def _constant(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _constant(node.operand, text)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return -v
    if isinstance(node, ast.Tuple | ast.List):
        return [_constant(e, text) for e in node.elts]
    raise InputError(
        f"bad filter {text!r}: {ast.unparse(node)!r} is not a value; compare attributes "
        "with numbers, 'quoted text' or lists like ('a', 'b')"
    )


def _column(frame: pd.DataFrame, name: str, text: str) -> pd.Series:
    if name not in frame.columns:
        cols = [c for c in frame.columns if c != "geometry"]
        raise InputError(f"filter {text!r}: no attribute {name!r}; the attributes are {cols}")
    return frame[name]


def _operand(node: ast.AST, frame: pd.DataFrame, text: str, numeric: bool) -> Any:
    if isinstance(node, ast.Name):
        col = _column(frame, node.id, text)
        if numeric and not pd.api.types.is_numeric_dtype(col):
            return pd.to_numeric(col, errors="coerce")
        return col
    return _constant(node, text)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _evaluate(node: ast.AST, frame: pd.DataFrame, text: str) -> np.ndarray:
    if isinstance(node, ast.BoolOp):
        parts = [_evaluate(v, frame, text) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_evaluate(node.operand, frame, text)
    if isinstance(node, ast.Compare):
        out = np.ones(len(frame), dtype=bool)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            consts = [n for n in (left, right) if not isinstance(n, ast.Name)]
            numeric = any(_is_number(_constant(n, text)) for n in consts)
            a = _operand(left, frame, text, numeric)
            b = _operand(right, frame, text, numeric)
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(a, pd.Series) or not isinstance(b, list):
                    raise InputError(f"bad filter {text!r}: write 'attribute in (value, ...)'")
                hit = a.isin(b).to_numpy()
                out &= ~hit if isinstance(op, ast.NotIn) else hit
            elif type(op) in _OPS:
                try:
                    hit = np.asarray(_OPS[type(op)](a, b), dtype=bool)
                except TypeError as exc:
                    raise InputError(f"filter {text!r}: cannot compare: {exc}") from None
                out &= hit
            else:
                raise InputError(f"bad filter {text!r}: unsupported comparison")
            left = right
        return out
    if isinstance(node, ast.Name):
        return _column(frame, node.id, text).astype(bool).to_numpy()
    raise InputError(
        f"bad filter {text!r}: {ast.unparse(node)!r} is not a comparison; use ==, !=, <, <=, "
        ">, >=, in, not in, and, or, not"
    )


def parse_filter(text: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """A safe attribute filter: ``frame -> bool array`` (the text is parsed, not run).

    Comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``), membership (``in``,
    ``not in`` a list or tuple of values), ``and``, ``or``, ``not`` and parentheses
    over attribute names, numbers and quoted text. Attribute values read as text
    (CSV) are compared as numbers when the other side is a number.

    Raises
    ------
    InputError
        On any other syntax (function calls, attribute access, arithmetic ...).

    Examples
    --------
    >>> parse_filter("__import__('os').system('x')")
    Traceback (most recent call last):
    ...
    gis.errors.InputError: bad filter "__import__('os').system('x')": \
"__import__('os').system('x')" is not a comparison; use ==, !=, <, <=, >, >=, in, not in, and, \
or, not
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"bad filter {text!r}: give a condition such as type == 'incubator'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        hint = " (compare with ==, not =)" if re.search(r"[^=!<>]=[^=]", text) else ""
        raise InputError(f"bad filter {text!r}: not a valid condition{hint}") from None
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
               ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List,
               *(_OPS), ast.In, ast.NotIn)  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise InputError(
                f"bad filter {text!r}: {ast.unparse(tree.body)!r} is not a comparison; use "
                "==, !=, <, <=, >, >=, in, not in, and, or, not"
            )
    body = tree.body

    def apply(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(_evaluate(body, frame, text), dtype=bool)

    return apply


# ---------------------------------------------------------------------------- loading
@dataclass
class LoadedSource:
    """A user source read for a run.

    ``features`` (vector and CSV) are in WGS84 with a ``weight`` and a ``category``
    column; ``raster`` (raster sources) is the values resampled to the run's whole
    ``grid`` (float32, NaN where the raster has none).
    """

    name: str
    spec: SourceSpec
    count: int
    features: gpd.GeoDataFrame | None = None
    raster: np.ndarray | None = None
    grid: Grid | None = None
    info: dict[str, Any] = field(default_factory=dict)
    _projected: dict[str, gpd.GeoSeries] = field(default_factory=dict, repr=False)

    def geoms(self, crs: Any) -> gpd.GeoSeries:
        """The features in ``crs`` (projected once per CRS)."""
        if self.features is None:
            raise InputError(
                f"source {self.name!r} is a raster; measure it with raster_value, or give "
                "a vector or CSV source"
            )
        key = str(crs)
        if key not in self._projected:
            self._projected[key] = self.features.geometry.to_crs(crs)
        return self._projected[key]

    def describe(self) -> dict[str, Any]:
        """Name, kind, file and feature count (a row of the coverage report)."""
        return {"source": self.name, "kind": self.spec.kind, "path": self.spec.path,
                "features": self.count, **self.info}  # fmt: skip


def lonlat_values(
    frame: pd.DataFrame, lon_col: str, lat_col: str, *, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric longitude/latitude of text columns, with line-numbered errors.

    Raises
    ------
    InputError
        Blank or non-numeric coordinates, or values outside -180..180 / -90..90
        (with a hint when longitude and latitude look swapped), naming the lines.
    """
    raw_lon = frame[lon_col].astype(str).str.strip()
    raw_lat = frame[lat_col].astype(str).str.strip()
    blank = (raw_lon == "") | (raw_lat == "")
    if blank.any():
        raise InputError(
            f"{what}: missing coordinates on {bad_lines(blank.to_numpy())} "
            f"(columns {lon_col}/{lat_col}); fill or delete those rows"
        )
    lon = pd.to_numeric(raw_lon, errors="coerce").to_numpy(float)
    lat = pd.to_numeric(raw_lat, errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        raise InputError(
            f"{what}: coordinates that are not numbers on {bad_lines(bad)} "
            f"(columns {lon_col}/{lat_col})"
        )
    out_of_range = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out_of_range.any():
        swapped = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
        hint = " (longitude and latitude swapped?)" if swapped[out_of_range].all() else ""
        raise InputError(
            f"{what}: coordinates outside -180..180 / -90..90 degrees on "
            f"{bad_lines(out_of_range)}{hint}"
        )
    return lon, lat


def check_point_near_area(
    what: str, lon: float, lat: float, area: Any, *, reach_km: float = 20.0
) -> None:
    """Refuse a point given in degrees that lies far from the study area ``area`` (WGS84).

    Far means more than ``reach_km`` or the area's own diagonal, whichever is larger. When
    the point read as LAT,LON lies near the area, the message says the two are swapped.

    Raises
    ------
    InputError
        The point is far from the area (the message gives the distance).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> helsinki = box(24.93, 60.16, 24.95, 60.18)
    >>> check_point_near_area("centre", 24.94, 60.17, helsinki)
    >>> check_point_near_area("centre", 60.17, 24.94, helsinki)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: centre 60.17,24.94 lies 4,753 km from the study area; it looks ...
    """
    from gis.spillover import haversine

    def km_to_area(x: float, y: float) -> float:
        from shapely.geometry import Point
        from shapely.ops import nearest_points

        near = nearest_points(area, Point(x, y))[0]
        return float(haversine(x, y, near.x, near.y))

    west, south, east, north = area.bounds
    reach = max(reach_km, float(haversine(west, south, east, north)))
    far = km_to_area(lon, lat)
    if far <= reach:
        return
    text = f"{what} {lon:g},{lat:g} lies {far:,.0f} km from the study area"
    if abs(lon) <= 90 and km_to_area(lat, lon) <= reach:
        raise InputError(f"{text}; it looks like LAT,LON: give LON,LAT ({lat:g},{lon:g})")
    raise InputError(f"{text}; give a point in or near the area as LON,LAT")


def bad_lines(mask: np.ndarray) -> str:
    """``"lines 2, 5"``: the CSV lines (header is line 1) where ``mask`` is true."""
    lines = np.flatnonzero(mask) + 2
    shown = ", ".join(str(v) for v in lines[:10])
    more = f" and {lines.size - 10} more" if lines.size > 10 else ""
    return f"line{'s' if lines.size > 1 else ''} {shown}{more}"


def _read_csv(name: str, spec: SourceSpec) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    what = f"csv source {name!r} ({spec.path})"
    try:
        df = pd.read_csv(spec.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"cannot read {what} as UTF-8 CSV: {exc}") from None
    lower = {str(c).strip().lower(): c for c in df.columns}
    cols = []
    for given, names, key in ((spec.lon, _LON, "lon"), (spec.lat, _LAT, "lat")):
        if given is not None:
            if given not in df.columns:
                raise InputError(
                    f"{what}: no column {given!r} (the {key} column); its columns are "
                    f"{list(df.columns)}"
                )
            cols.append(given)
            continue
        found = next((lower[n] for n in names if n in lower), None)
        if found is None:
            raise InputError(
                f"{what}: no {key} column (looked for {', '.join(names)}); its columns are "
                f'{list(df.columns)}; name it with {key} = "COLUMN"'
            )
        cols.append(found)
    if df.empty:
        raise InputError(f"{what} has no rows")
    lon, lat = lonlat_values(df, cols[0], cols[1], what=what)
    return df, lon, lat, what


def _check_placement(
    name: str,
    spec: SourceSpec,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    what: str,
    area_bounds: tuple[float, float, float, float] | None,
    reference: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """Swapped columns (an error) and a datum that looks wrong (a warning)."""
    if area_bounds is not None and lon.size:
        w, s, e, n = area_bounds
        pad = 1.0  # degrees: sources may reach beyond the area

        def near(x: np.ndarray, y: np.ndarray) -> float:
            inside = (x >= w - pad) & (x <= e + pad) & (y >= s - pad) & (y <= n + pad)
            return float(inside.mean())

        if near(lon, lat) < 0.1 and near(lat, lon) >= 0.5:
            raise InputError(
                f"{what}: the coordinates look swapped: {near(lat, lon):.0%} of the points "
                f"fall near the area with longitude and latitude exchanged and "
                f"{near(lon, lat):.0%} as given; give lon = {spec.lat or 'the latitude column'!r}"
                f" and lat = {spec.lon or 'the longitude column'!r} the other way round"
            )
    if reference is not None and reference[0].size and lon.size:
        # the run's OSM features are dense: a nearest other feature may be 50 m away, so a
        # smaller offset counts when another datum brings the points 5 times nearer
        check = datum_check(lon, lat, *reference, declared=spec.datum, min_offset=20.0)
        if check.looks_wrong and check.distances[check.likely] < 0.2 * check.distances[spec.datum]:
            warnings.warn(
                f"{what}: the points look like {check.likely}, not {spec.datum} as declared: "
                f"their median distance to the nearest OpenStreetMap feature is "
                f"{check.distances[spec.datum]:.0f} m as {spec.datum} but "
                f"{check.distances[check.likely]:.0f} m as {check.likely} ({check.matched} "
                f'matched); check it and set datum = "{check.likely}"',
                DatumWarning,
                stacklevel=3,
            )


def _attribute(frame: pd.DataFrame, column: str | None, *, what: str, key: str) -> None:
    if column is not None and column not in frame.columns:
        cols = [c for c in frame.columns if c != "geometry"]
        raise InputError(f"{what}: no {key} attribute {column!r}; the attributes are {cols}")


def _weights(frame: pd.DataFrame, column: str | None, *, what: str) -> np.ndarray:
    if column is None:
        return np.ones(len(frame), dtype="float64")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        where = bad_lines(bad) if what.startswith("csv") else f"{int(bad.sum())} feature(s)"
        raise InputError(
            f"{what}: weight attribute {column!r} must be a number >= 0; not on {where}"
        )
    return values


def _features(
    name: str,
    spec: SourceSpec,
    *,
    area_bounds: tuple[float, float, float, float] | None,
    reference: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    info: dict[str, Any] = {}
    if spec.kind == "csv":
        df, lon, lat, what = _read_csv(name, spec)
        _check_placement(name, spec, lon, lat, what=what, area_bounds=area_bounds,
                         reference=reference)  # fmt: skip
        wlon, wlat = to_wgs84(lon, lat, spec.datum)
        frame = gpd.GeoDataFrame(
            df.assign(lon=wlon, lat=wlat), geometry=gpd.points_from_xy(wlon, wlat), crs=4326
        )
        info["datum"] = spec.datum if spec.datum == "wgs84" else f"{spec.datum} converted to wgs84"
    else:
        what = f"vector source {name!r} ({spec.path})"
        try:
            frame = gpd.read_file(spec.path, layer=spec.layer)
        except Exception as exc:  # GDAL's errors have many types
            raise DataSourceError(f"cannot read {what}: {str(exc).splitlines()[0]}") from None
        if frame.crs is None:
            raise InputError(f"{what} has no CRS; save it with one (e.g. EPSG:4326)")
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        frame = frame.to_crs(4326)
    _attribute(frame, spec.weight, what=what, key="weight")
    _attribute(frame, spec.category, what=what, key="category")
    before = len(frame)
    if spec.filter is not None:
        frame = frame[parse_filter(spec.filter)(frame)]
    if len(frame) == 0:
        cond = f" after the filter {spec.filter!r} ({before} before)" if spec.filter else ""
        raise InputError(f"{what}: no features{cond}; check the filter and the file")
    frame = frame.reset_index(drop=True)
    weight = _weights(frame, spec.weight, what=what)
    category = (
        frame[spec.category].astype(str).to_numpy(dtype=object)
        if spec.category is not None
        else np.full(len(frame), "", dtype=object)
    )
    out = gpd.GeoDataFrame(
        {"weight": weight, "category": category,
         **({"lon": frame["lon"].to_numpy(float), "lat": frame["lat"].to_numpy(float)}
            if spec.kind == "csv" else {})},
        geometry=frame.geometry.to_numpy(), crs=4326,
    )  # fmt: skip
    if spec.filter is not None:
        info["before_filter"] = before
    return out, info


def _raster(
    name: str, spec: SourceSpec, *, grid: Grid, inside: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The raster resampled once to the run's whole grid, and its footprint share."""
    import rasterio
    from rasterio.warp import Resampling, reproject, transform_bounds
    from rasterio.windows import Window, from_bounds

    what = f"raster source {name!r} ({spec.path})"
    try:
        src = rasterio.open(spec.path)
    except Exception as exc:  # rasterio's errors have many types
        raise DataSourceError(f"cannot read {what}: {str(exc).splitlines()[0]}") from None
    with src:
        if src.crs is None:
            raise InputError(f"{what} has no CRS; save it with one (e.g. EPSG:4326)")
        if spec.band > src.count:
            raise InputError(f"{what} has {src.count} band(s); band {spec.band} asked")
        left, bottom, right, top = transform_bounds(grid.crs, src.crs, *grid.bounds,
                                                    densify_pts=21)  # fmt: skip
        win = from_bounds(left, bottom, right, top, transform=src.transform)
        col0, row0 = max(int(np.floor(win.col_off)) - 2, 0), max(int(np.floor(win.row_off)) - 2, 0)
        col1 = min(int(np.ceil(win.col_off + win.width)) + 2, src.width)
        row1 = min(int(np.ceil(win.row_off + win.height)) + 2, src.height)
        out = np.full(grid.shape, np.nan, dtype="float32")
        footprint = np.zeros(grid.shape, dtype="float32")
        if col1 > col0 and row1 > row0:
            window = Window(col0, row0, col1 - col0, row1 - row0)
            data = src.read(spec.band, window=window, masked=True).astype("float32")
            values = data.filled(np.nan)
            transform = src.window_transform(window)
            method = getattr(Resampling, spec.resampling)
            reproject(values, out, src_transform=transform, src_crs=src.crs, src_nodata=np.nan,
                      dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=np.nan,
                      resampling=method)  # fmt: skip
            reproject(np.ones(values.shape, dtype="float32"), footprint,
                      src_transform=transform, src_crs=src.crs, src_nodata=0,
                      dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=0,
                      resampling=Resampling.nearest)  # fmt: skip
        info: dict[str, Any] = {"source_crs": str(src.crs), "resampling": spec.resampling}
    if inside.shape != grid.shape:  # no area mask (a window-by-window national run)
        info["cells"] = int(np.isfinite(out).sum())
        return out, info
    n_inside = int(inside.sum())
    cover = float((footprint[inside] > 0).sum()) / max(n_inside, 1)
    if cover < MIN_RASTER_COVER:
        raise DataSourceError(
            f"{what} does not cover the area: it covers {cover:.0%} of the area's cells "
            f"(bounds {tuple(round(v, 4) for v in src.bounds)} in {src.crs}); give a raster "
            "that covers the whole area"
        )
    info["cells"] = int(np.isfinite(out[inside]).sum())
    return out, info


def load_source(
    name: str,
    spec: SourceSpec,
    *,
    grid: Grid,
    inside: np.ndarray,
    area_bounds: tuple[float, float, float, float] | None = None,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
) -> LoadedSource:
    """Read one user source for a run on ``grid``.

    Parameters
    ----------
    name, spec
        The source's name and description.
    grid, inside
        The run's whole grid and its area mask (rasters are resampled to it).
    area_bounds
        The area's WGS84 bounds, to tell swapped CSV coordinates.
    reference
        WGS84 longitudes and latitudes of the run's OpenStreetMap features, to tell
        CSV points in another datum than declared.

    Raises
    ------
    DataSourceError
        A missing or unreadable file, a raster that does not cover the area.
    InputError
        Missing columns or attributes, bad coordinates, a bad filter, no features
        after the filter.
    """
    if not Path(spec.path).is_file():
        raise DataSourceError(f"{spec.kind} source {name!r}: file not found: {spec.path}")
    if spec.kind == "raster":
        values, info = _raster(name, spec, grid=grid, inside=inside)
        return LoadedSource(name, spec, info["cells"], raster=values, grid=grid, info=info)
    features, info = _features(name, spec, area_bounds=area_bounds, reference=reference)
    return LoadedSource(name, spec, len(features), features=features, info=info)


def user_sources(factors: Sequence[Any]) -> dict[str, SourceSpec]:
    """The user sources the criteria of ``factors`` name, by source name.

    Raises
    ------
    InputError
        If two criteria give one source name different files or settings.
    """
    out: dict[str, SourceSpec] = {}
    for f in factors:
        for c in f.criteria:
            if c.data is None:
                continue
            if c.source in out and out[c.source] != c.data:
                raise InputError(
                    f"source {c.source!r} is described twice, differently (criterion "
                    f"{c.name!r}); give each source one name"
                )
            out[c.source] = c.data
    return out


def load_sources(
    factors: Sequence[Any],
    *,
    grid: Grid,
    inside: np.ndarray,
    area_bounds: tuple[float, float, float, float] | None = None,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, LoadedSource]:
    """Every user source of ``factors``, each read once (see :func:`load_source`)."""
    return {
        name: load_source(
            name, spec, grid=grid, inside=inside, area_bounds=area_bounds, reference=reference
        )
        for name, spec in user_sources(factors).items()
    }


def cut_window(whole: Grid, values: np.ndarray, part: Grid) -> np.ndarray:
    """The cells of ``part`` (a window of ``whole``, maybe with a halo past its edge).

    Cells of ``part`` outside ``whole`` are NaN, as in a run on the whole grid.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 3, 2), cell_size=1, crs=3857)
    >>> w = Grid.from_bounds((-1, 0, 2, 3), cell_size=1, crs=3857)
    >>> cut_window(g, np.arange(6, dtype="float32").reshape(2, 3), w)
    array([[nan, nan, nan],
           [nan,  0.,  1.],
           [nan,  3.,  4.]], dtype=float32)
    """
    r0 = round((whole.transform.f - part.transform.f) / whole.cell_size)
    c0 = round((part.transform.c - whole.transform.c) / whole.cell_size)
    out = np.full(part.shape, np.nan, dtype="float32")
    rs, cs = max(r0, 0), max(c0, 0)
    re_, ce = min(r0 + part.height, whole.height), min(c0 + part.width, whole.width)
    if re_ > rs and ce > cs:
        out[rs - r0 : re_ - r0, cs - c0 : ce - c0] = values[rs:re_, cs:ce]
    return out


def spec_from_mapping(values: Mapping[str, Any]) -> SourceSpec:
    """A :class:`SourceSpec` from plain keys (``name`` ignored; ``kind`` guessed from the path)."""
    kw = {k: v for k, v in values.items() if k != "name"}
    if "kind" not in kw and "path" in kw:
        kw["kind"] = guess_kind(kw["path"])
    return SourceSpec(**kw)
