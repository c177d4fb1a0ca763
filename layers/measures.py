"""The measure registry of every raster scale: raw rasters a criterion can ask for.

A measure is a registration (:class:`Measure`): its name, units, parameters with their
defaults, the context a window needs (a halo in metres, or the whole area at once), and
a function ``function(ctx, criterion) -> Measured`` that computes the raw raster on
``ctx.grid`` from the run's data sources in ``ctx`` (:class:`MeasureContext`). A measure
that finds no features raises :class:`EmptyMeasure`; the pipeline then applies the
criterion's empty rule.

Adding a measure is one call::

    register_measure(Measure(name="my_measure", units="m", function=f, params={"radius": 500.0}))

after which any :class:`layers.spec.Criterion` of any raster scale may name it.

Examples
--------
>>> MEASURES["density"].units, dict(MEASURES["density"].params)
('features/km2', {'bandwidth': 400.0})
>>> MEASURES["walk_distance"].whole_area, MEASURES["coverage"].halo
(True, 'radius')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import Transformer

from gis import settings
from gis.distance import euclidean_distance
from gis.errors import InputError
from gis.grid import Grid
from gis.measures import coverage, focal_mean, kernel_density
from gis.network import Network, network_distance
from gis.sources import TagFilter, match_tags
from layers.sources import LoadedSource, cut_window

if TYPE_CHECKING:
    from layers.spec import Criterion

__all__ = [
    "MEASURES",
    "EmptyMeasure",
    "Measure",
    "MeasureContext",
    "Measured",
    "halo_metres",
    "measure_params",
    "register_measure",
]


class EmptyMeasure(Exception):
    """A measure found no features in the area; the criterion's empty rule applies."""


@dataclass(frozen=True)
class Measured:
    """What a measure returns: the raw raster, features used, extra raw layers, a note."""

    raw: np.ndarray
    count: int
    extra: Mapping[str, tuple[np.ndarray, str, str]] = field(default_factory=dict)
    note: str = ""
    score: np.ndarray | None = None  # set by measures that score themselves


@dataclass(kw_only=True)
class MeasureContext:
    """The grid, the area mask and the data sources the measures of a run read.

    Parameters
    ----------
    grid
        The grid to compute on (the whole grid, or a window with its halo).
    inside
        Cells of ``grid`` whose centre lies in the study area.
    config
        The run's configuration (scale-specific options such as ``hub_combine``).
    data
        The run's non-OSM sources (:class:`layers.meso.run.MesoData` for meso runs).
    features
        OSM features in WGS84 with tag columns, or None when the run has none.
    geoms
        ``features`` in the grid CRS (computed on first use when not given).
    network
        The walking network in the grid CRS, or None.
    center
        The city centre in grid coordinates, or None.
    unavailable
        Data source name -> why the run does not have it.
    sources
        The user sources of the run's criteria by name (:func:`layers.sources.load_sources`).
    """

    grid: Grid
    inside: np.ndarray
    config: Any = None
    data: Any = None
    features: gpd.GeoDataFrame | None = None
    geoms: gpd.GeoSeries | None = None
    network: Network | None = None
    center: tuple[float, float] | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    population_info: dict[str, Any] | None = None
    sources: dict[str, LoadedSource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.to_grid = Transformer.from_crs(4326, self.grid.crs, always_xy=True)

    def xy(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates of the ``lon``/``lat`` columns of ``frame``."""
        x, y = self.to_grid.transform(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")

    def projected(self) -> gpd.GeoSeries:
        """The OSM features in the grid CRS."""
        if self.features is None:
            raise EmptyMeasure("no OpenStreetMap data")
        if self.geoms is None:
            self.geoms = self.features.geometry.to_crs(self.grid.crs)
        return self.geoms

    def select(self, tags: TagFilter) -> gpd.GeoSeries:
        """OSM features matching ``tags``, in the grid CRS."""
        geoms = self.projected()
        assert self.features is not None  # projected() raised otherwise
        return geoms[match_tags(self.features, tags)]

    def with_grid(self, grid: Grid, inside: np.ndarray) -> MeasureContext:
        """The same sources on another grid (a window)."""
        same = self.geoms is not None and self.geoms.crs == grid.crs
        return MeasureContext(
            grid=grid, inside=inside, config=self.config, data=self.data,
            features=self.features, geoms=self.geoms if same else None,
            network=self.network, center=self.center, unavailable=self.unavailable,
            sources=self.sources,
        )  # fmt: skip

    def user_source(self, criterion: Criterion) -> LoadedSource | None:
        """The loaded user source of ``criterion``, or None for the run's own sources.

        Raises
        ------
        InputError
            If the criterion describes a user source the run has not loaded.
        """
        if criterion.data is None:
            return None
        src = self.sources.get(criterion.source)
        if src is None:
            raise InputError(
                f"criterion {criterion.name!r}: source {criterion.source!r} was not loaded "
                "(layers.sources.load_sources)"
            )
        return src


MeasureFunction = Callable[[MeasureContext, "Criterion"], Measured]


@dataclass(frozen=True, kw_only=True)
class Measure:
    """A raw measure a criterion can name.

    Parameters
    ----------
    name
        The name criteria use.
    units
        Units of the raw raster.
    function
        ``function(ctx, criterion) -> Measured``: the raw raster on ``ctx.grid``.
    params
        Parameter name -> default value.
    halo
        Metres of context a window needs around its cells: a number, the name of a
        parameter holding it, or None (computed from point lists, no halo).
    whole_area
        The measure needs the whole area at once (e.g. distance along the walking
        network); window-by-window runs compute it once on the whole grid.
    feature_ranked
        The measure ranks cells by how many features are near (a density): percentile
        thresholds of it need enough features (:func:`layers.pipeline.sparse_fallback`).
    description
        What the measure computes.
    """

    name: str
    units: str
    function: MeasureFunction
    params: Mapping[str, Any] = field(default_factory=dict)
    halo: str | float | None = None
    whole_area: bool = False
    feature_ranked: bool = False
    description: str = ""


#: Every registered measure by name.
MEASURES: dict[str, Measure] = {}


def register_measure(measure: Measure, *, replace: bool = False) -> Measure:
    """Add ``measure`` to :data:`MEASURES` (after which criteria may name it).

    Raises
    ------
    InputError
        If the name is taken and ``replace`` is false, or the halo names no parameter.
    """
    if not isinstance(measure, Measure):
        raise InputError(f"register a layers.measures.Measure, got {type(measure).__name__}")
    if measure.name in MEASURES and not replace:
        raise InputError(f"measure {measure.name!r} is registered already (use replace=True)")
    if isinstance(measure.halo, str) and measure.halo not in measure.params:
        raise InputError(
            f"measure {measure.name!r}: halo names {measure.halo!r}, which is not a parameter"
        )
    MEASURES[measure.name] = measure
    return measure


def measure_params(criterion: Criterion) -> dict[str, Any]:
    """The measure parameters of ``criterion``, defaults of the registration filled in."""
    return {**MEASURES[criterion.measure].params, **criterion.measure_params}


def halo_metres(criterion: Criterion) -> float:
    """Metres of context a window needs for ``criterion`` (0 for none)."""
    halo = MEASURES[criterion.measure].halo
    if halo is None:
        return 0.0
    if isinstance(halo, str):
        return float(measure_params(criterion)[halo])
    return float(halo)


# ---------------------------------------------------------------------- shared helpers
def polygons(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """The polygon and multipolygon features of ``geoms``."""
    return geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]


def source_points(geoms: gpd.GeoSeries, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points standing for features: points as they are, lines and polygon rings densified."""
    arr = geoms.to_numpy()
    lines = shapely.boundary(arr)
    is_point = shapely.get_type_id(arr) == 0
    is_line = np.isin(shapely.get_type_id(arr), [1, 5])
    lines = np.where(is_line, arr, lines)
    pts = shapely.get_coordinates(arr[is_point])
    seg = shapely.segmentize(lines[~is_point], spacing)
    coords = np.vstack([pts, shapely.get_coordinates(seg)])
    return coords[:, 0], coords[:, 1]


def _tagged(ctx: MeasureContext, crit: Criterion, *, only_polygons: bool = False) -> Any:
    src = ctx.user_source(crit)
    if src is not None:
        sel = src.geoms(ctx.grid.crs)
        if only_polygons:
            sel = polygons(sel)
            if len(sel) == 0:
                raise EmptyMeasure(f"source {src.name!r} has no polygon")
        return sel
    sel = ctx.select(crit.tags or {})
    if only_polygons:
        sel = polygons(sel)
    if len(sel) == 0:
        raise EmptyMeasure(f"no features matched {dict(crit.tags or {})} in the area")
    return sel


def feature_weights(ctx: MeasureContext, crit: Criterion, sel: gpd.GeoSeries) -> np.ndarray | None:
    """Weights of the selected features (a user source's weight attribute), None for 1 each."""
    src = ctx.user_source(crit)
    if src is None or src.features is None or src.spec.weight is None:
        return None
    return src.features["weight"].to_numpy(float)[sel.index.to_numpy()]


def categorise(features: gpd.GeoDataFrame, categories: Mapping[str, TagFilter]) -> np.ndarray:
    """Category label of each feature (first matching category), '' for none."""
    labels = np.full(len(features), "", dtype=object)
    for name, tags in categories.items():  # a dozen categories, vectorised over features
        hit = match_tags(features, tags) & (labels == "")
        labels[hit] = name
    return labels


# ---------------------------------------------------------------------- micro measures
def _walk_distance_raw(ctx: MeasureContext, geoms: gpd.GeoSeries) -> np.ndarray:
    grid = ctx.grid
    if ctx.network is None:
        return euclidean_distance(grid, geoms.to_numpy())
    sx, sy = source_points(geoms, spacing=max(grid.cell_size, 10.0))
    dist = network_distance(grid, ctx.network, sx, sy)
    polys = polygons(geoms)
    if len(polys):
        dist[grid.rasterize(polys.to_numpy())] = 0.0
    return dist


def _walk_note(ctx: MeasureContext) -> str:
    return "" if ctx.network is not None else "no walking network: straight-line distance used"


def walk_distance(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Distance along the walking network (straight line where there is none)."""
    sel = _tagged(ctx, crit)
    return Measured(_walk_distance_raw(ctx, sel), len(sel), {}, _walk_note(ctx))


def walk_time(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Walking distance at :data:`gis.settings.walking_speed`, in minutes."""
    sel = _tagged(ctx, crit)
    meters = _walk_distance_raw(ctx, sel)
    raw = (meters / np.float32(settings.walking_speed * 60.0)).astype("float32")
    return Measured(raw, len(sel), {}, _walk_note(ctx))


def distance(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Straight-line distance to the nearest feature."""
    sel = _tagged(ctx, crit)
    return Measured(euclidean_distance(ctx.grid, sel.to_numpy()), len(sel))


def density(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Quartic kernel density of feature centroids (weighted by a user source's weights)."""
    sel = _tagged(ctx, crit)
    xy = shapely.get_coordinates(shapely.centroid(sel.to_numpy()))
    bw = float(measure_params(crit)["bandwidth"])
    w = feature_weights(ctx, crit, sel)
    raw = kernel_density(ctx.grid, xy[:, 0], xy[:, 1], bandwidth=bw, weights=w)
    return Measured(raw, len(sel))


def potential(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Potential ``sum_j w_j exp(-d_j / scale)`` of the features (weights from a user source)."""
    from gis.potential import market_potential

    sel = _tagged(ctx, crit)
    xy = shapely.get_coordinates(shapely.centroid(sel.to_numpy()))
    w = feature_weights(ctx, crit, sel)
    p = measure_params(crit)
    raw = market_potential(ctx.grid, xy[:, 0], xy[:, 1], np.ones(len(xy)) if w is None else w,
                           decay="exponential", scale=float(p["scale"]))  # fmt: skip
    return Measured(raw, len(sel))


def raster_value(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Value of a raster source on the grid, or its mean within ``radius`` (focal)."""
    src = ctx.user_source(crit)
    if src is None or src.raster is None or src.grid is None:
        raise InputError(
            f"criterion {crit.name!r}: raster_value measures a raster source; give a source "
            'with kind = "raster"'
        )
    values = cut_window(src.grid, src.raster, ctx.grid)
    radius = float(measure_params(crit)["radius"]) / ctx.grid.cell_size
    raw = values if radius <= 0 else focal_mean(values, radius_cells=radius)
    note = f"raster {src.spec.path} ({src.info.get('resampling')} resampling)"
    return Measured(raw.astype("float32", copy=False), src.count, {}, note)


def coverage_share(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Share of a circular neighbourhood covered by the features' polygons."""
    sel = _tagged(ctx, crit, only_polygons=True)
    radius = float(measure_params(crit)["radius"])
    return Measured(coverage(ctx.grid, sel.to_numpy(), radius=radius), len(sel))


def center_distance(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Straight-line distance from the city centre."""
    if ctx.center is None:
        raise EmptyMeasure("no city centre")
    x, y = ctx.grid.centers()
    dx = (x - ctx.center[0]).astype("float32")
    dy = (y - ctx.center[1]).astype("float32")
    return Measured(np.hypot(dx[None, :], dy[:, None]), 1)


# ---------------------------------------------------------------------- meso measures
def hub_access(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Access to hubs by class: weight x decay(distance), classes combined."""
    from gis.access import class_access
    from layers.meso.factors import HUB_CLASSES

    hubs = ctx.data.hubs
    if hubs.empty:
        raise EmptyMeasure("no hub (airport, station, port, junction) within reach of the region")
    x, y = ctx.xy(hubs)
    res = class_access(ctx.grid, x, y, hubs["hub_class"].to_numpy(), spec=HUB_CLASSES,
                       combine=ctx.config.hub_combine, mask=ctx.inside)  # fmt: skip
    extra = {f"hub_distance_{name}": (d, "m", f"distance to the nearest {name.replace('_', ' ')}")
             for name, d in res.distances.items()}  # fmt: skip
    counts = ", ".join(f"{n} {c}" for n, c in res.counts.items())
    return Measured(res.access, len(hubs), extra, f"hubs by class: {counts}")


def market(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Harris market potential of places, or of a population raster."""
    from gis.decay import reach
    from gis.population import PopulationWarning, counts_to_grid
    from gis.potential import market_potential, raster_potential

    cfg = ctx.config
    if ctx.data.population is not None:
        halo = math.ceil(reach(cfg.market_decay, scale=cfg.market_scale) / ctx.grid.cell_size)
        padded = Grid(ctx.grid.crs,
                      ctx.grid.transform @ Affine.translation(-halo, -halo),
                      ctx.grid.width + 2 * halo, ctx.grid.height + 2 * halo)  # fmt: skip
        counts, info = counts_to_grid(ctx.data.population, padded)
        region_holes = info["hole_share"]
        if region_holes > 0:
            msg = (f"{region_holes:.1%} of the cells within reach fall in nodata holes of the "
                   "population raster; they count as 0 inhabitants")  # fmt: skip
            warnings.warn(msg, PopulationWarning, stacklevel=2)
        ctx.population_info = info
        raw = raster_potential(counts, cell_size=ctx.grid.cell_size, decay=cfg.market_decay,
                               scale=cfg.market_scale, halo=halo)  # fmt: skip
        note = f"population raster ({info['source_crs']}"
        note += ", reprojected)" if info["reprojected"] else ")"
        return Measured(raw, round(info["total"]), {}, note)
    cities = ctx.data.cities
    if cities.empty:
        raise EmptyMeasure(
            f"no GeoNames place of >= {cfg.min_population:,} inhabitants within "
            f"{cfg.margin() / 1000:.0f} km of the region"
        )
    x, y = ctx.xy(cities)
    raw = market_potential(ctx.grid, x, y, cities["population"].to_numpy(float),
                           decay=cfg.market_decay, scale=cfg.market_scale)  # fmt: skip
    return Measured(raw, len(cities), {}, f"{len(cities)} GeoNames places")


def nearest_city(ctx: MeasureContext, crit: Criterion) -> Measured:
    """The city that serves a cell best: max over cities of score(size class) x decay(distance).

    A bigger city counts as nearer: a cell 10 km from a megacity and 2 km from a
    small town is served by the megacity. ``w_j exp(-d / s) = exp(-(d + a_j) / s)``
    with ``a_j = -s ln w_j``, so the best city is the additively weighted nearest
    one (:func:`gis.distance.nearest_point` with offsets ``a_j``), found in one pass.
    """
    from gis.distance import nearest_point
    from layers.meso.factors import CITY_SIZE_CLASSES, size_class

    cities = ctx.data.cities
    if cities.empty:
        raise EmptyMeasure("no GeoNames place within reach of the region")
    x, y = ctx.xy(cities)
    classes = size_class(cities["population"].to_numpy(float))
    scale = float(measure_params(crit)["scale"])
    weight = np.array([c[2] for c in CITY_SIZE_CLASSES])[classes - 1]
    offset = -scale * np.log(weight)
    value, index = nearest_point(ctx.grid, x, y, offset=offset, mask=ctx.inside)
    assert value is not None and index is not None  # return_index is on
    score = np.exp(-value / np.float32(scale)).astype("float32")
    best_dist = (value - offset.astype("float32")[index]).astype("float32")
    best_cls = np.where(index >= 0, classes.astype("float32")[index], np.float32(np.nan))
    counts = dict(zip(*np.unique(classes, return_counts=True), strict=True))
    present = ", ".join(
        f"{CITY_SIZE_CLASSES[int(c) - 1][0]} {n}" for c, n in sorted(counts.items())
    )
    extra = {
        "city_size_class": (
            best_cls,
            "class 1-6",
            "size class of the serving city (1 super-large ... 6 small)",
        )
    }
    return Measured(best_dist, len(cities), extra, f"cities by class: {present}", score)


def poi_diversity(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Shannon entropy of the categories of points within a radius."""
    from gis.diversity import point_diversity

    src = ctx.user_source(crit)
    if src is not None:
        geoms = src.geoms(ctx.grid.crs)
        assert src.features is not None  # geoms() raised otherwise
        if src.spec.category is None:
            raise InputError(
                f"criterion {crit.name!r}: diversity needs the source's category attribute; "
                f'give category = "ATTRIBUTE" in source {src.name!r}'
            )
        labels = src.features["category"].to_numpy(dtype=object)
    else:
        geoms = ctx.projected()
        labels = categorise(ctx.features, crit.categories or {})
    sel = labels != ""
    if not sel.any():
        raise EmptyMeasure("no firm or service POI in the OSM data")
    pts = shapely.get_coordinates(shapely.centroid(geoms[sel].to_numpy()))
    radius = float(measure_params(crit)["radius"])
    raw = point_diversity(ctx.grid, pts[:, 0], pts[:, 1], labels[sel], radius=radius)
    n_cat = len(set(labels[sel]))
    return Measured(raw, int(sel.sum()), {}, f"{int(sel.sum())} POIs in {n_cat} categories")


def landuse_diversity(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Shannon entropy of land-use classes (by area) within a radius."""
    from rasterio import features as rfeatures

    from gis.diversity import category_diversity

    geoms_all = ctx.projected()
    categories = crit.categories or {}
    labels = categorise(ctx.features, categories)
    polys = geoms_all.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    sel = (labels != "") & polys
    if not sel.any():
        raise EmptyMeasure("no land-use polygon in the OSM data")
    names = list(categories)
    codes = np.array([names.index(v) + 1 for v in labels[sel]], dtype="int16")
    geoms = geoms_all[sel].to_numpy()
    order = np.argsort(-shapely.area(geoms))  # small polygons drawn last win overlaps
    raster = rfeatures.rasterize(
        zip(geoms[order], codes[order], strict=True), out_shape=ctx.grid.shape,
        transform=ctx.grid.transform, fill=0, dtype="int16",
    )  # fmt: skip
    radius = float(measure_params(crit)["radius"]) / ctx.grid.cell_size
    raw = category_diversity(raster, radius_cells=radius, nodata=0)
    return Measured(raw, int(sel.sum()), {}, f"{int(sel.sum())} land-use polygons")


def green_share(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Share of green and blue polygons within a radius (cell-level coverage)."""
    geoms = polygons(ctx.select(crit.tags or {}))
    if len(geoms) == 0:
        raise EmptyMeasure("no park, wood or water polygon in the OSM data")
    radius = float(measure_params(crit)["radius"])
    raw = coverage(ctx.grid, geoms.to_numpy(), radius=radius, supersample=1)
    return Measured(raw, len(geoms), {}, f"{len(geoms)} green/blue polygons")


def amenity_density(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Kernel density of amenities, bandwidth at least one cell."""
    geoms = ctx.select(crit.tags or {})
    if len(geoms) == 0:
        raise EmptyMeasure("no everyday amenity in the OSM data")
    pts = shapely.get_coordinates(shapely.centroid(geoms.to_numpy()))
    bw = max(float(measure_params(crit)["bandwidth"]), ctx.grid.cell_size)
    raw = kernel_density(ctx.grid, pts[:, 0], pts[:, 1], bandwidth=bw)
    return Measured(raw, len(geoms), {}, f"{len(geoms)} amenities")


def centre_distance(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Distance to the nearest macro centre of the run's tier or above."""
    from gis.distance import nearest_point
    from layers.meso.data import TIER_ORDER

    centres = ctx.data.centres
    top = TIER_ORDER.index(ctx.config.macro_tier) + 1
    sel = centres[centres["tier_rank"] <= top]
    if sel.empty:
        raise EmptyMeasure(f"no macro centre of tier {ctx.config.macro_tier} or above")
    x, y = ctx.xy(sel)
    dist = nearest_point(ctx.grid, x, y, return_index=False, mask=ctx.inside).distance
    c = ctx.data.area.representative_point()
    cx, cy = ctx.to_grid.transform(c.x, c.y)
    nearest = sel["unit"].to_numpy()[int(np.argmin(np.hypot(x - cx, y - cy)))]
    note = (f"{len(sel)} centres of tier {ctx.config.macro_tier} or above; nearest to the "
            f"region: {nearest}")  # fmt: skip
    return Measured(dist, len(sel), {}, note)


def _table_points(ctx: MeasureContext, frame: gpd.GeoDataFrame, margin: float) -> Any:
    """Rows of a WGS84 point table within ``margin`` metres of the run's area, and their x, y.

    The area is the run's study area (``ctx.data.area``, WGS84) when it has one, so every
    window of a run (and the one-cell probe) sees the same points; else the grid.
    """
    lon, lat = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    area = getattr(ctx.data, "area", None)
    if area is not None:
        west, south, east, north = area.bounds
        pad_lat = margin / 111_000.0
        pad_lon = margin / (111_000.0 * max(math.cos(math.radians(max(abs(south), abs(north)))),
                                            0.01))  # fmt: skip
        near = (lon >= west - pad_lon) & (lon <= east + pad_lon)
        near &= (lat >= south - pad_lat) & (lat <= north + pad_lat)
        lon, lat, frame = lon[near], lat[near], frame[near]
    x, y = ctx.to_grid.transform(lon, lat)
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    if area is None:
        left, bottom, right, top = ctx.grid.bounds
        near = (x >= left - margin) & (x <= right + margin) & (y >= bottom - margin)
        near &= y <= top + margin
        frame, x, y = frame[near], x[near], y[near]
    return frame, x, y


def campus_density(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Kernel density of university campuses weighted by tier (the shipped university table)."""
    from layers.china.data import universities
    from layers.meso.factors import UNIVERSITY_TIER_WEIGHTS, VOCATIONAL_WEIGHT

    bw = float(measure_params(crit)["bandwidth"])
    sel, x, y = _table_points(ctx, universities(), bw)
    if sel.empty:
        raise EmptyMeasure("no university campus of the shipped table within reach")
    tier = sel["tier"].to_numpy()
    w = np.array([UNIVERSITY_TIER_WEIGHTS[t] for t in tier], dtype="float64")
    w[(tier == "other") & (sel["school_type"].to_numpy() == "专科（高职）")] = VOCATIONAL_WEIGHT
    raw = kernel_density(ctx.grid, x, y, bandwidth=max(bw, ctx.grid.cell_size), weights=w)
    counts = {t: int((tier == t).sum()) for t in UNIVERSITY_TIER_WEIGHTS}
    note = f"{len(sel)} campuses: " + ", ".join(f"{t} {n}" for t, n in counts.items())
    return Measured(raw, len(sel), {}, note)


def station_density(ctx: MeasureContext, crit: Criterion) -> Measured:
    """Kernel density of the metro stations of the shipped metro table."""
    from layers.china.data import metro_stations

    bw = float(measure_params(crit)["bandwidth"])
    sel, x, y = _table_points(ctx, metro_stations(), bw)
    if sel.empty:
        raise EmptyMeasure("no metro station of the shipped table within reach")
    raw = kernel_density(ctx.grid, x, y, bandwidth=max(bw, ctx.grid.cell_size))
    cities = sel["city_en"].value_counts()
    note = f"{len(sel)} metro stations ({', '.join(cities.index[:4])})"
    return Measured(raw, len(sel), {}, note)


for _m in (
    Measure(name="walk_distance", units="m", function=walk_distance, whole_area=True,
            description="distance along the walking network; straight line where there is none"),
    Measure(name="walk_time", units="min", function=walk_time, whole_area=True,
            description="walk_distance at gis.settings.walking_speed"),
    Measure(name="distance", units="m", function=distance, whole_area=True,
            description="straight-line (Euclidean) distance to the nearest feature"),
    Measure(name="density", units="features/km2", function=density,
            params={"bandwidth": 400.0}, halo="bandwidth", feature_ranked=True,
            description="quartic kernel density of feature centroids"),
    Measure(name="potential", units="weighted features (distance-weighted)", function=potential,
            params={"scale": 1000.0}, feature_ranked=True,
            description="potential of the features: sum of weight x exp(-distance / scale)"),
    Measure(name="raster_value", units="raster units", function=raster_value,
            params={"radius": 0.0}, halo="radius",
            description="value of a raster source (its mean within radius when radius > 0)"),
    Measure(name="coverage", units="share", function=coverage_share,
            params={"radius": 200.0}, halo="radius", feature_ranked=True,
            description="share of a circular neighbourhood covered by the features"),
    Measure(name="center_distance", units="m", function=center_distance,
            description="straight-line distance from the city centre"),
    Measure(name="hub_access", units="index 0-1", function=hub_access,
            description="access to hubs, decaying with distance at a rate set by the class"),
    Measure(name="market_potential", units="persons (distance-weighted)", function=market,
            description="population within reach (Harris market potential)"),
    Measure(name="nearest_city", units="m", function=nearest_city, params={"scale": 20_000.0},
            description="distance to the city that serves the cell best"),
    Measure(name="poi_diversity", units="nats", function=poi_diversity,
            params={"radius": 2000.0}, halo="radius",
            description="Shannon entropy of kinds of firms and services within a radius"),
    Measure(name="landuse_diversity", units="nats", function=landuse_diversity,
            params={"radius": 2000.0}, halo="radius",
            description="Shannon entropy of land-use classes (by area) within a radius"),
    Measure(name="green_share", units="share", function=green_share,
            params={"radius": 1000.0}, halo="radius",
            description="share of green and water within a radius"),
    Measure(name="amenity_density", units="features/km2", function=amenity_density,
            params={"bandwidth": 1000.0}, halo="bandwidth", feature_ranked=True,
            description="kernel density of everyday services"),
    Measure(name="centre_distance", units="m", function=centre_distance,
            description="distance to the nearest macro centre of the chosen tier or above"),
    Measure(name="campus_density", units="weighted campuses/km2", function=campus_density,
            params={"bandwidth": 5000.0}, halo="bandwidth",
            description="kernel density of university campuses weighted by tier"),
    Measure(name="station_density", units="stations/km2", function=station_density,
            params={"bandwidth": 3000.0}, halo="bandwidth",
            description="kernel density of metro stations"),
):  # fmt: skip
    register_measure(_m)
del _m
