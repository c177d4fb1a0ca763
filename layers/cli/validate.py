"""``innosite validate``: compare the national ranking with published science-city rankings.

This module only parses arguments; the work is :func:`layers.validate.validate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``validate`` subcommand on the ``innosite`` parser."""
    from layers.macro.options import NATIONAL_MEASURES

    p = subparsers.add_parser(
        "validate",
        help="compare the national innovation ranking with published science-city rankings",
        description=(
            "Rank the Chinese prefectures by innovation capacity (innosite macro --national "
            "CN) and compare the ranking with the published rankings shipped in "
            "layers/data/validation (Nature Index Science Cities, WIPO GII S&T clusters; "
            "sources in its SOURCES.md): Spearman rho and top-10 overlap per list, the tiers "
            "of the centres of the paper's Table 2, the size of the top tier; with --zones and "
            "--platforms, which named platforms fall in a run's candidate zones. Offline."
        ),
    )
    p.add_argument(
        "--measure",
        choices=NATIONAL_MEASURES,
        default="extensive",
        help="indicator set of the ranking (as --national-measure of innosite macro)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=300,
        help="rank the N most populous prefectures (as --national-top)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for validation.csv, validation_lists.csv, validation_cities.csv, "
        "table2.csv, ranking.csv and validation.txt (default: print only)",
    )
    p.add_argument(
        "--zones",
        default=None,
        metavar="FILE",
        help="candidate zones of a run (e.g. candidates.gpkg of innosite meso), with --platforms",
    )
    p.add_argument(
        "--platforms",
        default=None,
        metavar="CSV",
        help="named platforms (columns name, lon, lat in WGS84) to find in the --zones",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``innosite validate`` and print the report."""
    from gis.errors import InputError
    from layers.validate import format_validation, validate

    if args.top < 1:
        raise InputError(f"--top must be >= 1; got {args.top}")
    result = validate(
        args.out,
        measure=args.measure,
        top=args.top,
        zones=args.zones,
        platforms=args.platforms,
        overwrite=args.overwrite,
    )
    print(format_validation(result))
    if args.out is not None:
        print(f"\nwritten: {Path(args.out)}")
    return 0
