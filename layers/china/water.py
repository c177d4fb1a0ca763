"""An offline water layer for China: Natural Earth lakes and rivers, rivers as polygons.

The features ship in ``layers/data/water/china_water.geojson.gz`` (Natural Earth 1:10m lakes
and river centre lines clipped to China's bounding box, simplified to about 100 m; public
domain; source and commit in ``layers/data/water/SOURCES.md``; rebuilt by
``scripts/data/build_water.py``). Meso runs use them to leave water out of the study area
when no OpenStreetMap water is at hand.

Rivers are centre lines. :func:`water_polygons` turns each into a strip of
:func:`river_width` metres: Natural Earth's stroke weight (``strokeweig``, the cartographic
line width it gives each river section, 0.15 to 2.0) times :data:`METRES_PER_STROKE`. The
rule follows the real widths of the sections that matter for the named regions: the Yangtze
at Wuhan has stroke weight 1.25 upstream and 1.5 downstream of the Han mouth, so 1.25-1.5 km
(the river is about 1.1-1.5 km wide there); the Han at Hankou has 0.3, so 300 m (about
200-350 m); the smallest rivers get 150 m, narrower than a meso cell, so they mask only the
cells whose centre they cover. Strips have flat ends, so a straight section of length ``L``
and width ``w`` covers exactly ``L * w``.

Natural Earth at 1:10m keeps lakes of a few square kilometres upward, without names for most
Chinese ones: East Lake (东湖) in Wuhan is an unnamed polygon there.

Examples
--------
>>> w = load_water((114.2, 30.5, 114.5, 30.6))
>>> sorted(w["kind"].unique())
['lake', 'river']
>>> "Yangtze" in set(w["name"])
True
"""

from __future__ import annotations

import gzip
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gis.errors import DataSourceError, InputError
from gis.grid import Grid

#: The shipped water layer (gzip-compressed GeoJSON, EPSG:4326).
WATER_FILE: Path = Path(__file__).resolve().parents[1] / "data" / "water" / "china_water.geojson.gz"

#: River width in metres per unit of Natural Earth stroke weight (see the module notes).
METRES_PER_STROKE: float = 1000.0

#: Width in metres of a river section without a stroke weight.
DEFAULT_RIVER_WIDTH: float = 150.0

#: Columns of a water layer: ``kind`` (``"lake"`` or ``"river"``), ``name``, ``scalerank``,
#: ``strokeweig`` (rivers only).
COLUMNS: tuple[str, ...] = ("kind", "name", "scalerank", "strokeweig")

#: One-line citation of the shipped layer.
SOURCE: dict[str, Any] = {
    "source": "Natural Earth 1:10m lakes and rivers (scale-rank edition), "
    "via martynafford/natural-earth-geojson commit 0b9a6ce",
    "licence": "public domain",
    "river_width": f"{METRES_PER_STROKE:g} m per unit of Natural Earth stroke weight",
}


@lru_cache(maxsize=1)
def _read() -> gpd.GeoDataFrame:
    try:
        with gzip.open(WATER_FILE, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataSourceError(f"cannot read the shipped water layer {WATER_FILE}: {err}") from err
    return gpd.read_file(io.BytesIO(raw))


def load_water(bounds: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """The shipped water features (EPSG:4326) touching ``bounds``; all without bounds.

    Parameters
    ----------
    bounds
        ``(west, south, east, north)`` in degrees.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`COLUMNS` and the geometry: lake polygons, river centre lines (a new frame).

    Raises
    ------
    InputError
        Bounds that are not four finite numbers with west < east and south < north.
    """
    water = _read()
    if bounds is None:
        return water.copy()
    b = np.asarray(bounds, dtype=float) if len(bounds) == 4 else np.full(1, np.nan)
    if b.shape != (4,) or not np.isfinite(b).all() or b[0] >= b[2] or b[1] >= b[3]:
        raise InputError(f"water bounds must be (west, south, east, north), got {bounds!r}")
    hit = water.sindex.query(shapely.box(*b), predicate="intersects")
    return water.iloc[np.sort(hit)].reset_index(drop=True)


def river_width(strokeweig: Any) -> np.ndarray:
    """Width in metres of river sections of Natural Earth stroke weight ``strokeweig``.

    Examples
    --------
    >>> river_width([1.25, 0.3, float("nan")]).tolist()
    [1250.0, 300.0, 150.0]
    """
    w = np.asarray(strokeweig, dtype=float) * METRES_PER_STROKE
    return np.where(np.isfinite(w) & (w > 0), w, DEFAULT_RIVER_WIDTH)


def water_polygons(features: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """Water as polygons in the projected ``crs``: lakes as they are, rivers as strips.

    A river line becomes a flat-ended strip of :func:`river_width` metres centred on it.

    Parameters
    ----------
    features
        A water layer such as :func:`load_water` returns (with a CRS); not modified.
    crs
        Projected CRS in metres.

    Returns
    -------
    numpy.ndarray
        Shapely polygons in ``crs``, one per feature.

    Raises
    ------
    InputError
        A geographic ``crs``, features without a CRS, or no ``kind`` column.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> f = gpd.GeoDataFrame({"kind": ["river"], "strokeweig": [1.0]},
    ...                      geometry=[LineString([(500000, 0), (503000, 0)])], crs=32650)
    >>> round(water_polygons(f, 32650)[0].area)
    3000000
    """
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise InputError(f"water polygons need a projected CRS in metres, got {target.name}")
    if features.crs is None:
        raise InputError("the water features have no CRS")
    if "kind" not in features:
        raise InputError("the water features have no 'kind' column (lake or river)")
    if not len(features):
        return np.empty(0, dtype=object)
    geoms = features.to_crs(target).geometry.to_numpy()
    river = features["kind"].to_numpy() == "river"
    weight = features["strokeweig"] if "strokeweig" in features else np.full(len(features), np.nan)
    half = river_width(weight) / 2.0
    out = geoms.copy()
    out[river] = shapely.buffer(geoms[river], half[river], cap_style="flat", join_style="round")
    return out


def water_mask(grid: Grid, polygons: np.ndarray) -> np.ndarray:
    """Cells of ``grid`` whose centre lies in water (``polygons`` in the grid CRS).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = Grid.from_bounds((0, 0, 4000, 3000), cell_size=1000, crs=32650)
    >>> water_mask(g, np.array([box(0, 0, 1600, 3000)])).sum(axis=0).tolist()
    [3, 3, 0, 0]
    """
    polys = [p for p in polygons if p is not None and not p.is_empty]
    return grid.rasterize(polys, all_touched=False)
