#!/usr/bin/env python
"""Time every micro stage on synthetic grids and the whole Helsinki demo.

Each grid size runs in its own process so its peak memory (max RSS) is its own.
Synthetic cities use 10 m cells with realistic feature counts: 500 university/
transit points, 50 lines (major roads), 20,000 amenity points for the kernel
density, building footprints covering about a fifth of the ground, and a street
lattice at 100 m spacing for network access to 200 sources.

Usage::

    python scripts/bench/benchmark.py            # 1000² and 4000² cells, and the Helsinki demo
    python scripts/bench/benchmark.py --large    # adds 10000² cells (needs ~10 GB)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from gis.memory import keep_freed_memory


def _synthetic_network(side: float, spacing: float, crs):
    from gis.network import Network

    n = int(side // spacing) + 1
    coords = np.arange(n) * spacing
    xx, yy = np.meshgrid(coords, coords)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    length = np.full(u.size, spacing)
    return Network(x=xx.ravel(), y=-yy.ravel() + side, u=u, v=v, length=length, crs=crs)


def run_size(n: int) -> dict:
    """All stages on an n × n grid of 10 m cells; returns seconds per stage."""
    import shapely

    from gis.distance import euclidean_distance
    from gis.grid import Grid
    from gis.io import write_geotiff
    from gis.measures import coverage, kernel_density
    from gis.network import network_distance
    from gis.overlay import apply_constraints, weighted_linear_combination
    from gis.regions import candidate_regions
    from gis.transforms import rescale

    rng = np.random.default_rng(42)
    cell = 10.0
    side = n * cell
    grid = Grid.from_bounds((0, 0, side, side), cell_size=cell, crs="EPSG:32635")
    times: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def timed(name, fn):
        t = time.perf_counter()
        value = fn()
        times[name] = round(time.perf_counter() - t, 3)
        peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return value

    pts = shapely.points(rng.uniform(0, side, (500, 2)))
    starts = rng.uniform(0, side, (50, 2))
    ends = starts + rng.normal(0, side / 10, (50, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    dist = timed(
        "distance (500 points + 50 lines)",
        lambda: euclidean_distance(grid, np.concatenate([pts, lines])),
    )
    amen = rng.uniform(0, side, (20_000, 2))
    kde = timed(
        "kernel density (20k points, 500 m)",
        lambda: kernel_density(grid, amen[:, 0], amen[:, 1], bandwidth=500.0),
    )
    net = timed("network build (100 m lattice)", lambda: _synthetic_network(side, 100.0, grid.crs))
    src = rng.uniform(0, side, (200, 2))
    walk = timed(
        f"network distance ({net.x.size:,} nodes, 200 sources)",
        lambda: network_distance(grid, net, src[:, 0], src[:, 1]),
    )
    n_b = max(1000, int((side / 1000) ** 2 * 400))
    centres = rng.uniform(0, side, (n_b, 2))
    half = rng.uniform(5, 15, (n_b, 1))
    boxes = shapely.box(*(centres - half).T, *(centres + half).T)
    cover = partial(coverage, grid, boxes, radius=200.0)
    del boxes, centres, half  # the footprints live only in the partial, released after coverage
    cov = timed(f"coverage ({n_b:,} buildings, 200 m)", cover)
    del cover
    excluded = dist < 15.0
    # a measure is rescaled in place (out=) by its last transform: nothing else reads it after
    scores = timed(
        "transforms (6 layers)",
        lambda: {
            "d": rescale(dist, "linear", lower_threshold=0, upper_threshold=2000,
                         from_scale=1, to_scale=0),
            "k": rescale(kde, "linear", lower_threshold=0, upper_threshold=float(kde.max())),
            "w": rescale(walk, "linear", lower_threshold=0, upper_threshold=1500,
                         from_scale=1, to_scale=0, out=walk),
            "c": rescale(cov, "linear", lower_threshold=0.15, upper_threshold=0.6,
                         from_scale=1, to_scale=0, out=cov),
            "g": rescale(dist, "gaussian", midpoint=500.0, spread=1e-6, out=dist),
            "l": rescale(kde, "logistic_growth", out=kde),
        },
    )  # fmt: skip
    weights = {"d": 0.2, "k": 0.2, "w": 0.2, "c": 0.1, "g": 0.1, "l": 0.2}
    comp = timed(
        "weighted overlay (6 layers)", lambda: weighted_linear_combination(scores, weights)
    )
    suit = timed("constraints", lambda: apply_constraints(comp, excluded, out=comp))
    regions = timed(
        "candidate regions (top 10 %)",
        lambda: candidate_regions(suit, grid, top_percent=10.0, min_area=20_000.0, factors=scores),
    )
    with tempfile.TemporaryDirectory() as tmp:
        timed(
            "write COG GeoTIFF",
            lambda: write_geotiff(Path(tmp) / "s.tif", suit, grid, description="suitability"),
        )
    times["total"] = round(sum(times.values()), 3)
    return {"cells": n * n, "regions": len(regions), "seconds": times, "peak_mib": peaks}


def _child(n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_rss_gb_so_far"] = round(usage.ru_maxrss / 2**20, 2)
    return result


def _demo() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "layers.cli.main", "micro", "--out", f"{tmp}/o", "--quiet"],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - t
    return {"helsinki demo (whole command, incl. start-up)": round(seconds, 2)}


def main() -> None:
    keep_freed_memory()  # as the innosite command does; the --child runs are what is timed
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run 10000 x 10000 cells")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_size(args.child)))
        return
    sizes = [1000, 4000] + ([10_000] if args.large else [])
    print(json.dumps(_demo()))
    for n in sizes:
        r = _child(n)
        print(f"\n{n} x {n} = {r['cells']:,} cells, {r['regions']} regions")
        for stage, sec in r["seconds"].items():
            peak = r["peak_mib"].get(stage)
            print(f"  {stage:45s} {sec:8.2f} s" + (f"  (peak {peak:,} MiB)" if peak else ""))
        print(f"  peak RSS of the largest run so far: {r['peak_rss_gb_so_far']:.2f} GB")


if __name__ == "__main__":
    main()
