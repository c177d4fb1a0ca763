"""Time the raster measures on synthetic data and report seconds and peak memory.

Each measurement runs in a fresh process so its peak resident set size is its
own. Grids have 10 m cells; sizes are cells per side.

Usage::

    python scripts/bench/bench_measures.py              # 1000 x 1000 and 4000 x 4000
    python scripts/bench/bench_measures.py --large      # also 10000 x 10000
    python scripts/bench/bench_measures.py --sizes 500 --only kde network
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time

import numpy as np

CELL = 10.0
CRS = "EPSG:32635"
CASES = ("euclidean", "kde", "coverage", "network")


def _rss() -> tuple[float, float]:
    """Current and peak resident set size in GiB (peak from getrusage if /proc is missing)."""
    current = peak = None
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        pass
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if current is None:
        current = peak
    return current / 2**30, peak / 2**30


def _setup(case: str, size: int, rng: np.random.Generator):
    """Build the inputs of one case; returns a zero-argument callable to time."""
    import rasterio.features  # noqa: F401  (imported here so its import time is not timed)
    import shapely

    from gis.distance import euclidean_distance
    from gis.grid import Grid
    from gis.measures import coverage, kernel_density
    from gis.network import Network, network_distance

    extent = size * CELL
    grid = Grid.from_bounds((0, 0, extent, extent), cell_size=CELL, crs=CRS)

    if case == "euclidean":
        points = shapely.points(rng.uniform(0, extent, (500, 2)))
        starts = rng.uniform(0, extent, (50, 1, 2))
        steps = rng.normal(0, 300, (50, 4, 2)).cumsum(axis=1)
        lines = shapely.linestrings(np.concatenate([starts, starts + steps], axis=1))
        geoms = np.concatenate([points, lines])
        return lambda: euclidean_distance(grid, geoms)

    if case == "kde":
        x, y = rng.uniform(0, extent, (2, 20_000))
        return lambda: kernel_density(grid, x, y, bandwidth=500.0, kernel="quartic")

    if case == "coverage":
        n = int(200 * (extent / 1000) ** 2)  # 200 buildings per km²
        x0, y0 = rng.uniform(0, extent, (2, n))
        w, h = rng.uniform(8, 30, (2, n))
        buildings = shapely.box(x0, y0, x0 + w, y0 + h)
        return lambda: coverage(grid, buildings, radius=100.0)

    if case == "network":
        side = 548  # ~300k nodes
        spacing = extent / side
        i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        x = (j.ravel() + 0.5) * spacing + rng.uniform(-0.2, 0.2, side * side) * spacing
        y = (i.ravel() + 0.5) * spacing + rng.uniform(-0.2, 0.2, side * side) * spacing
        ids = np.arange(side * side).reshape(side, side)
        u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
        v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
        net = Network(x, y, u, v, np.hypot(x[u] - x[v], y[u] - y[v]), CRS)
        sx, sy = rng.uniform(0, extent, (2, 200))
        return lambda: network_distance(grid, net, sx, sy)

    raise ValueError(f"unknown case {case!r}")


def _run(case: str, size: int, queue: mp.Queue) -> None:
    fn = _setup(case, size, np.random.default_rng(0))
    before, _ = _rss()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = _rss()
    queue.put((seconds, peak, peak - before, out.dtype.name, bool(np.isfinite(out).any())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1000, 4000],
        help="cells per grid side (default: 1000 4000)",
    )
    parser.add_argument("--large", action="store_true", help="also run 10000 x 10000")
    parser.add_argument(
        "--only", nargs="+", choices=CASES, default=list(CASES), help="cases to run"
    )
    args = parser.parse_args(argv)
    sizes = args.sizes + ([10_000] if args.large and 10_000 not in args.sizes else [])

    ctx = mp.get_context("spawn")
    print(f"{'case':<10} {'grid':>12} {'seconds':>9} {'peak RSS GiB':>13} {'call +GiB':>10}")
    for size in sizes:
        for case in args.only:
            queue = ctx.Queue()
            proc = ctx.Process(target=_run, args=(case, size, queue))
            proc.start()
            proc.join()
            if proc.exitcode != 0:
                print(f"{case:<10} {size:>5} x {size:<5} failed (exit code {proc.exitcode})")
                continue
            seconds, peak, delta, _, _ = queue.get()
            print(
                f"{case:<10} {size:>5} x {size:<5} {seconds:9.2f} {peak:13.2f} {delta:10.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
