"""The ``innosite run`` and ``innosite init`` commands: scenario files.

This module only parses arguments; the work is in :mod:`layers.scenario`.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from layers.cli.options import (
    add_verbosity_options,
    command_line,
    prepare_output,
    verbosity_level,
)

__all__ = ["add_parser", "init_cli", "run_cli"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite run`` and ``innosite init``."""
    from layers.scenario import KNOWN_SCALES

    run = subparsers.add_parser(
        "run",
        help="run a scenario file (.toml/.yaml) or replay a run's manifest.json",
        description=(
            "Run the analysis a scenario file describes (micro, meso, national or macro "
            "scale): area, data, grid, factors with their tags, measures, transforms and "
            "weights (or an AHP matrix), constraints, candidate-district rules, decision "
            "analysis (Locate Regions, sensitivity), engine and outputs. The scenario is "
            "checked completely before anything is read or written; every problem is "
            "reported with its line. Given a manifest.json of an earlier micro, meso or "
            "macro run, the run is reproduced (its input files must be unchanged)."
        ),
        epilog="Start from a preset: innosite init micro scenario.toml",
    )
    run.add_argument("scenario", help="scenario .toml/.yaml/.yml file, or a run's manifest.json")
    run.add_argument("--out", help="output folder (default: the scenario's [output] folder)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        default=None,
        help="replace the output folder of an earlier innosite run (default: the "
        "scenario's setting)",
    )
    run.add_argument(
        "--check", action="store_true", help="only validate the scenario; read and write nothing"
    )
    add_verbosity_options(run)
    run.set_defaults(func=run_cli)

    init = subparsers.add_parser(
        "init",
        help="write a commented scenario file to start from",
        description=(
            "Write a commented preset scenario of a scale (the paper's factors, transforms "
            "and default weights), or, with --from-manifest, a scenario that reproduces an "
            "earlier run. An existing file is kept unless --force is given."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    init.add_argument("scale", choices=KNOWN_SCALES, help="scale of the preset")
    init.add_argument("file", nargs="?", default="scenario.toml", help="scenario file to write")
    init.add_argument(
        "--from-manifest",
        metavar="MANIFEST",
        help="write the scenario of the run recorded in this manifest.json instead",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(func=init_cli)


def run_cli(args: argparse.Namespace) -> int:
    """``innosite run``: validate, run, print a summary."""
    import warnings

    from gis import progress
    from layers.scenario import load_scenario, run_scenario

    scenario = load_scenario(args.scenario)
    if args.check:
        out = args.out or scenario.out
        names = ", ".join(f.name for f in scenario.factors)
        noun = "factors" if scenario.scale == "micro" else "layers"
        what = f"; {noun} {names}" if names else ""
        print(
            f"{args.scenario}: valid {scenario.scale} scenario{what}; "
            f"output folder {out if out is not None else '(none: pass --out)'}"
        )
        return 0
    out = args.out if args.out is not None else scenario.out
    overwrite = scenario.overwrite if args.overwrite is None else args.overwrite
    if out is not None:  # else run_scenario says the scenario names none
        prepare_output(out, overwrite=overwrite, inputs=[args.scenario, scenario.config])
    command = command_line(args) or "innosite " + shlex.join(["run", args.scenario])
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings():
        if scenario.scale in ("meso", "national"):
            warnings.simplefilter("ignore", UserWarning)  # listed in the summary instead
        result, paths = run_scenario(scenario, out=out, overwrite=overwrite, command=command)
    if args.quiet:
        print(Path(paths["manifest"]).parent)
    elif scenario.scale == "macro":
        from layers.macro.run import format_report

        print(format_report(result))
    elif scenario.scale == "national":
        from layers.national.run import summary

        print(summary(result, lang=scenario.config.lang))
    elif scenario.scale == "meso":
        from layers.meso.outputs import meso_summary

        print(meso_summary(result, paths, lang=scenario.config.lang))
    else:
        from layers.outputs.text import micro_summary

        print(micro_summary(result, paths, lang=scenario.config.lang))
    return 0


def init_cli(args: argparse.Namespace) -> int:
    """``innosite init``: write a preset (or a manifest's scenario)."""
    from gis.io.folders import check_output_file, input_paths
    from layers.scenario import write_preset

    inputs = input_paths(args.from_manifest) if args.from_manifest else []
    check_output_file(args.file, overwrite=True, inputs=inputs)  # write_preset asks for --force
    path = write_preset(args.file, args.scale, from_manifest=args.from_manifest, force=args.force)
    print(f"wrote {path}; edit it, then: innosite run {args.file}")
    return 0
