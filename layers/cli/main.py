"""The ``innosite`` command: one subcommand per module of :mod:`layers.cli`.

``innosite micro``, ``meso`` and ``national`` run the raster scales, ``innosite
macro`` the city hierarchy, ``innosite run``/``init`` scenario files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from layers.cli.options import run_command

__all__ = ["SUBCOMMAND_MODULES", "build_parser", "main"]

#: Modules that each register one or more subcommands with ``add_parser(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "layers.cli.micro",
    "layers.cli.macro",
    "layers.cli.scenario",
    "layers.cli.meso",
    "layers.cli.national",
    "layers.cli.validate",
    "layers.cli.qgis",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``innosite`` argument parser with every subcommand."""
    from gis import __version__

    parser = argparse.ArgumentParser(
        prog="innosite",
        description="Location choice for science-and-technology innovation centres "
        "(after Zhang 2022): macro tiers of cities, meso regions, micro innovation districts.",
    )
    parser.add_argument("--version", action="version", version=f"innosite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMAND_MODULES:
        import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``innosite`` console command.

    A command is one batch run, so it first keeps memory freed by large arrays for reuse
    (:func:`gis.memory.keep_freed_memory`) unless ``INNOSITE_KEEP_FREED_MEMORY=0``.
    """
    from gis import settings
    from gis.memory import keep_freed_memory

    if settings.keep_freed_memory:
        keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    args.argv = argv
    return run_command(args.func, args, prog=f"innosite {args.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
