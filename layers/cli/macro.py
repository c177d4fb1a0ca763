"""The ``innosite macro`` command: tier regions into innovation centres.

This module only parses arguments; the work is :func:`layers.macro.run.run_macro`. Every
flag comes from the declaration of its option in :class:`layers.macro.options.MacroOptions`.
:func:`add_parser` registers the subcommand on the ``innosite`` parser, and
:func:`main` runs it stand-alone (``scripts/center_hierarchy.py``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from gis.errors import InputError
from layers.cli.options import (
    add_options,
    add_output_options,
    add_weight_option,
    command_line,
    given,
    in_flag_words,
    prepare_output,
    run_command,
    verbosity_level,
)
from layers.macro.options import MacroOptions
from layers.options import options_of

__all__ = ["add_arguments", "add_parser", "build_parser", "macro_options", "main", "run"]

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


#: Option groups of ``innosite macro``: title -> fields of :class:`MacroOptions`.
_GROUPS: dict[str, list[str]] = {
    "units and indicators (default: the paper's Table 1)": [
        "table", "national", "national_top", "national_index", "national_measure", "layer",
        "unit_column", "code_column", "indicators", "cost", "units",
    ],
    "geometry": ["geometry", "geometry_key", "boundaries"],
    "method": [
        "normalization", "weighting", "pairwise", "allow_inconsistent", "composite", "breaks",
        "tiers", "thresholds", "head_share",
    ],
    "robustness": ["draws", "concentration", "seed"],
    "spillover links": [
        "decay", "half_distance", "exponent", "tier_factor", "neighbour_distance",
        "neighbour_half_distance", "travel_time", "population_mass", "population_column",
        "link_top", "strong_threshold",
    ],
}  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add every ``macro`` option to ``p`` (from :class:`layers.macro.options.MacroOptions`)."""
    specs = options_of(MacroOptions)
    for title, fields in _GROUPS.items():
        group = add_options(p, specs, fields, title=title)
        if title == "method":
            add_weight_option(group, what="user indicator")
    add_output_options(p, out="innosite-macro", specs=specs)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``macro`` subcommand on the ``innosite`` parser."""
    p = subparsers.add_parser(
        "macro",
        help="tier regions into innovation centres and link them (paper's Table 1 by default)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_arguments(p)
    p.set_defaults(func=run)


def build_parser(prog: str = "center_hierarchy.py") -> argparse.ArgumentParser:
    """A stand-alone parser with the ``macro`` options."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def macro_options(args: argparse.Namespace) -> MacroOptions:
    """The :class:`layers.macro.options.MacroOptions` of an ``innosite macro`` command line."""
    kw = given(args, options_of(MacroOptions))
    if args.weight:
        kw["weights"] = dict(args.weight)
    return MacroOptions(**kw)


def run(args: argparse.Namespace) -> int:
    """Run ``innosite macro`` from parsed arguments and print a report."""
    from dataclasses import asdict

    from gis import progress
    from layers.macro.run import Method, format_report, run_macro

    chosen = macro_options(args)
    prepare_output(args.out, overwrite=args.overwrite, inputs=[chosen])
    options = asdict(chosen)
    method = Method(
        *(options.pop(k) for k in ("normalization", "weighting", "composite", "breaks"))
    )
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run_macro(
                args.out, method=method, overwrite=args.overwrite, command=command_line(args),
                **options,
            )  # fmt: skip
        except InputError as exc:
            raise InputError(in_flag_words(str(exc))) from None
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
