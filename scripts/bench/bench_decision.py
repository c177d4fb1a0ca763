"""Benchmark the decision-analysis methods on large synthetic grids.

Times, per grid size (five smooth random factor layers of float32, 10 m cells):

* every aggregation method of :data:`gis.overlay.AGGREGATIONS` (OWA with ORness 0.3,
  fuzzy gamma 0.9, TOPSIS with the data ideals);
* entropy, CRITIC and principal-component weights streamed from the rasters
  (:func:`gis.weights.raster_weights`);
* :func:`gis.locate.locate_regions`: 5 hexagonal regions sharing 2 % of the cells,
  shape/utility trade-off 50 %, at least 20 cells apart, 100 seeds, combinatorial;
* :func:`gis.explain.contribution_columns` for those regions (WLC and OWA);
* :func:`gis.sensitivity.monte_carlo`: 10 Dirichlet weight draws, top 10 % of
  cells selected, rank stability of the 5 regions;

and prints wall-clock seconds and the peak resident memory of each step above
what was resident before it (the high-water mark is reset before each step on
Linux), plus the inputs' size.

Usage::

    python scripts/bench/bench_decision.py            # 1000² and 4000²
    python scripts/bench/bench_decision.py --large    # also 10 000²
    python scripts/bench/bench_decision.py --sizes 2000 --only locate
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import numpy as np
from bench_overlay import _peak_mib, _reset_peak, _rss_mib, smooth_surface

from gis.explain import contribution_columns
from gis.grid import Grid
from gis.locate import locate_regions
from gis.overlay import AGGREGATIONS, aggregate
from gis.sensitivity import monte_carlo
from gis.weights import raster_weights

CELL = 10.0
FACTORS = ("transit", "universities", "firms", "green", "services")
WEIGHTS = dict(zip(FACTORS, (0.3, 0.25, 0.2, 0.15, 0.1), strict=True))
OPTIONS = {"owa": {"orness": 0.3}}


def _measure(name: str, fn, results: list[dict], size: int) -> object:
    gc.collect()
    exact = _reset_peak()
    before = _rss_mib()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = _peak_mib()
    row = {
        "size": f"{size}²",
        "method": name,
        "seconds": round(seconds, 2),
        "peak_extra_mib": round(peak - before, 1) if exact else None,
        "peak_rss_mib": round(peak, 1),
    }
    results.append(row)
    extra = f"{row['peak_extra_mib']:8.1f}" if exact else "     n/a"
    print(
        f"{row['size']:>8} {name:32s} {seconds:9.2f} s {extra} MiB extra  {peak:8.1f} MiB peak",
        flush=True,
    )
    return out


def run_size(n: int, only: set[str] | None) -> list[dict]:
    rng = np.random.default_rng(n)
    layers = {k: smooth_surface(n, rng) for k in FACTORS}
    grid = Grid.from_bounds((0, 0, n * CELL, n * CELL), cell_size=CELL, crs="EPSG:32650")
    results: list[dict] = []
    print(
        f"--- {n}² = {n * n:,} cells; inputs {sum(a.nbytes for a in layers.values()) / 2**20:.0f}"
        " MiB",
        flush=True,
    )

    def want(group: str) -> bool:
        return only is None or group in only

    if want("aggregate"):
        for method in sorted(AGGREGATIONS):
            opts = OPTIONS.get(method, {})
            out = _measure(
                f"aggregate {method}",
                lambda m=method, o=opts: aggregate(layers, WEIGHTS, method=m, **o),
                results,
                n,
            )
            del out
    if want("weights"):
        for method in ("entropy", "critic", "pca"):
            _measure(
                f"raster_weights {method}",
                lambda m=method: raster_weights(layers, method=m),
                results,
                n,
            )
    score = aggregate(layers, WEIGHTS)
    sites = None
    if want("locate") or want("explain") or want("sensitivity"):
        sites = _measure(
            "locate_regions (5 hexagons)",
            lambda: locate_regions(
                score,
                grid,
                n_regions=5,
                total_area=0.02 * n * n * CELL**2,
                shape="hexagon",
                min_distance=20 * CELL,
                seeds=100,
            ),
            results,
            n,
        )
        results[-1]["note"] = {k: sites.attrs[k] for k in ("candidates", "optimal", "region_cells")}
    if want("explain"):
        _measure(
            "explain regions (wlc)",
            lambda: contribution_columns(sites, layers, WEIGHTS, grid),
            results,
            n,
        )
        _measure(
            "explain regions (owa, Shapley)",
            lambda: contribution_columns(
                sites, layers, WEIGHTS, grid, method="owa", options={"orness": 0.3}
            ),
            results,
            n,
        )
    if want("sensitivity"):
        _measure(
            "monte_carlo (10 draws)",
            lambda: monte_carlo(
                layers, WEIGHTS, draws=10, top_percent=10, regions=sites, grid=grid
            ),
            results,
            n,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 4000])
    parser.add_argument("--large", action="store_true", help="also run 10 000²")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["aggregate", "weights", "locate", "explain", "sensitivity"],
        help="run only these groups",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    sizes = list(args.sizes) + ([10_000] if args.large else [])
    results = []
    for n in sizes:
        results += run_size(n, set(args.only) if args.only else None)
        gc.collect()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
