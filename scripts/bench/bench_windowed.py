"""Benchmark window-by-window processing on a synthetic China-sized grid at 1 km.

The grid has about 5000 x 4200 cells (21 million, China's extent at 1 km in an
equal-area projection). Steps, each timed with the peak resident memory (the
process's high-water mark is reset before each step where Linux allows it):

* ``inputs``: six smooth synthetic factor rasters written window by window;
* ``statistics``: one windowed statistics pass (min, max, mean, std) per layer;
* ``wlc``: :func:`gis.windowed.windowed_overlay` — rescale of the six layers
  (explicit thresholds, and the data-driven ones from the statistics pass) and
  a weighted linear combination, reading and writing window by window;
* ``kde``: :func:`gis.windowed.windowed_kernel_density` of synthetic points with
  a 25 km quartic kernel (halo 26 cells);
* ``distance``: :func:`gis.windowed.windowed_distance` to synthetic points capped
  at 100 km.

Everything runs under a small memory budget (default 256 MiB), far below the
21 million cells x 6 layers x 4 bytes = 500 MB the inputs alone take in memory.

Usage::

    python scripts/bench/bench_windowed.py
    python scripts/bench/bench_windowed.py --budget-mib 64 --rows 2500 --cols 2100
    python scripts/bench/bench_windowed.py --out /tmp/bench-windowed   # keep the rasters
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from gis.grid import Grid
from gis.windowed import (
    raster_statistics,
    windowed_distance,
    windowed_kernel_density,
    windowed_overlay,
)
from gis.windows import Window, plan_windows, run_windows

CELL = 1000.0
LAYERS = ("transit", "universities", "firms", "green", "services", "land_price")
WEIGHTS = dict(zip(LAYERS, (0.25, 0.2, 0.2, 0.1, 0.15, 0.1), strict=True))
TRANSFORMS = {
    "transit": {"function": "small", "lower_threshold": 0, "upper_threshold": 1},
    "universities": {"function": "linear", "lower_threshold": 0, "upper_threshold": 1},
    "firms": {"function": "large"},  # data thresholds: needs the statistics pass
    "green": {"function": "gaussian", "lower_threshold": 0, "upper_threshold": 1},
    "services": {"function": "ms_large"},  # data mean / std: statistics pass
    "land_price": {
        "function": "linear",
        "lower_threshold": 0,
        "upper_threshold": 1,
        "from_scale": 1,
        "to_scale": 0,
    },
}


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _surface(seed: int):
    """A smooth field in [0, 1] of global cell indices: a sum of random plane waves."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(0.002, 0.02, (8, 2)) * rng.choice([-1, 1], (8, 2))
    phase = rng.uniform(0, 2 * np.pi, 8)

    def values(window: Window) -> np.ndarray:
        r = np.arange(window.row, window.row + window.height, dtype="float32")[:, None]
        c = np.arange(window.col, window.col + window.width, dtype="float32")[None, :]
        acc = np.zeros(window.shape, dtype="float32")
        for (kr, kc), p in zip(k, phase, strict=True):  # sin(a + b), separable
            a, b = kr * r + p, kc * c
            acc += np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b)
        return acc / 16 + 0.5

    return values


def _step(name: str, fn, results: list) -> object:
    reset = _reset_peak()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = _peak_mib()
    results.append((name, dt, peak, reset))
    print(
        f"{name:<12} {dt:8.2f} s   peak RSS {peak:8.1f} MiB{'' if reset else ' (run)'}", flush=True
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4200)
    parser.add_argument("--cols", type=int, default=5000)
    parser.add_argument("--budget-mib", type=float, default=256)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--out", type=Path, help="keep the rasters in this folder")
    args = parser.parse_args(argv)

    budget = int(args.budget_mib * 2**20)
    grid = Grid.from_bounds(
        (0, 0, args.cols * CELL, args.rows * CELL), cell_size=CELL, crs="EPSG:3857"
    )
    print(
        f"grid {grid.height} x {grid.width} = {grid.size / 1e6:.1f} M cells at "
        f"{CELL:g} m, memory budget {args.budget_mib:g} MiB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results: list = []
        paths = {k: folder / f"{k}.tif" for k in LAYERS}

        def inputs() -> None:
            windows = plan_windows(grid, halo_cells=0, bytes_per_cell=32, memory_budget=budget)
            for i, (k, p) in enumerate(paths.items()):
                run_windows(windows, _surface(i), p, description=k, overwrite=True, overviews=False)

        _step("inputs", inputs, results)
        _step(
            "statistics",
            lambda: [raster_statistics(p, memory_budget=budget) for p in paths.values()],
            results,
        )
        _step(
            "wlc",
            lambda: windowed_overlay(
                paths,
                TRANSFORMS,
                WEIGHTS,
                folder / "suitability.tif",
                memory_budget=budget,
                overwrite=True,
            ),
            results,
        )

        rng = np.random.default_rng(0)
        left, bottom, right, top = grid.bounds
        x = rng.uniform(left, right, args.points)
        y = rng.uniform(bottom, top, args.points)
        _step(
            "kde",
            lambda: windowed_kernel_density(
                grid,
                x,
                y,
                folder / "density.tif",
                bandwidth=25_000,
                memory_budget=budget,
                overwrite=True,
            ),
            results,
        )
        _step(
            "distance",
            lambda: windowed_distance(
                grid,
                x[:2000],
                y[:2000],
                folder / "distance.tif",
                max_distance=100_000,
                memory_budget=budget,
                overwrite=True,
            ),
            results,
        )

        per_m = grid.size / 1e6
        print("\nstep         seconds   s / M cells   peak RSS MiB")
        for name, dt, peak, _ in results:
            print(f"{name:<12} {dt:8.2f}   {dt / per_m:10.3f}   {peak:10.1f}")


if __name__ == "__main__":
    main()
