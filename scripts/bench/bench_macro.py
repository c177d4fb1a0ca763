"""Benchmark the macro pipeline on a large synthetic table.

Times, for ``units`` units × ``indicators`` indicators (log-normal values, two of
them cost indicators, fixed seed),

* ``weights``: entropy and CRITIC weights (:mod:`gis.weights`);
* ``index``: min-max normalisation and weighted sum, and TOPSIS (:mod:`gis.composite`);
* ``tiers``: exact Fisher-Jenks natural breaks into 4 classes and top-down natural breaks
  (:mod:`gis.classify`);
* ``links``: gravity spillover links among the ``top`` units with the highest index,
  great-circle distance, tier-aware decay plus neighbourhood diffusion (:mod:`gis.spillover`);
* ``perturbation``: 100 Dirichlet weight draws, each re-indexed and re-tiered;
* ``pipeline`` (with ``--pipeline``): :func:`layers.macro.run.run_macro` end to end without
  writing files, i.e. validation, the 100-combination method grid, 1000 weight draws and links;

and prints wall-clock seconds of each step (best of ``--repeat`` runs). The first
four steps together are the "index, tiers and links" figure.

Usage::

    python scripts/bench/bench_macro.py                 # 3000 x 20, links among the top 300
    python scripts/bench/bench_macro.py --units 10000 --top 1000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from gis.classify import classify
from gis.composite import composite_index, topsis
from gis.spillover import spillover_links
from gis.weights import critic_weights, entropy_weights


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Fastest wall-clock time of ``repeat`` calls, and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=3000, help="number of units (rows)")
    ap.add_argument("--indicators", type=int, default=20, help="number of indicators")
    ap.add_argument("--top", type=int, default=300, help="units linked by spillover")
    ap.add_argument("--repeat", type=int, default=3, help="runs per step; the best is shown")
    ap.add_argument("--pipeline", action="store_true", help="also time run_macro end to end")
    args = ap.parse_args()

    rng = np.random.default_rng(20221225)
    n, m = args.units, args.indicators
    x = rng.lognormal(mean=0.0, sigma=1.0, size=(n, m))
    cost = np.zeros(m, dtype=bool)
    cost[-2:] = True
    lon = rng.uniform(75.0, 132.0, n)
    lat = rng.uniform(20.0, 48.0, n)

    timings: dict[str, float] = {}
    timings["weights (entropy + CRITIC)"], w = best_of(
        lambda: (entropy_weights(x), critic_weights(x, cost=cost))[1], args.repeat
    )
    timings["index (min-max weighted sum)"], index = best_of(
        lambda: composite_index(x, w, method="weighted_sum", cost=cost), args.repeat
    )
    timings["index (TOPSIS)"], _ = best_of(lambda: topsis(x, w, cost=cost), args.repeat)
    timings["tiers (Fisher-Jenks, k=4)"], tiers = best_of(
        lambda: classify(index, method="fisher_jenks", k=4), args.repeat
    )
    timings["tiers (top-down natural breaks, k=4)"], _ = best_of(
        lambda: classify(index, method="nested_jenks", k=4), args.repeat
    )
    top = np.argsort(-index)[: args.top]
    rank = (tiers.k - 1 - tiers.classes)[top]
    timings[f"links (top {args.top}: {args.top * (args.top - 1) // 2} pairs)"], links = best_of(
        lambda: spillover_links(
            lon[top],
            lat[top],
            index[top],
            tiers=rank,
            half_distance=800.0,
            neighbour_distance=600.0,
            neighbour_half_distance=300.0,
        ),
        args.repeat,
    )

    def perturb() -> np.ndarray:
        draws = np.random.default_rng(0).dirichlet(100 * w, size=100)
        scores = composite_index(x, draws, method="weighted_sum", cost=cost)
        return np.stack([classify(s, method="nested_jenks", k=4).classes for s in scores])

    timings["perturbation (100 Dirichlet draws)"], _ = best_of(perturb, 1)

    if args.pipeline:
        import pandas as pd

        from layers.macro.run import run_macro

        names = [f"ind{j:02d}" for j in range(m)]
        table = pd.DataFrame(x, columns=names)
        table.insert(0, "unit", [f"u{i:05d}" for i in range(n)])
        table["lon"], table["lat"] = lon, lat
        timings["pipeline (run_macro, no files)"], _ = best_of(
            lambda: run_macro(
                None, table=table, indicators=names, cost=names[-2:], tiers=4, link_top=args.top
            ),
            1,
        )

    core = sum(
        v
        for k, v in timings.items()
        if k.startswith(("weights", "index (min", "tiers (Fisher", "links"))
    )
    print(f"macro benchmark: {n} units x {m} indicators, links among the top {args.top}")
    for name, sec in timings.items():
        print(f"  {name:<44s} {sec:8.4f} s")
    print(f"  {'index + tiers + links (weights, WSM, Jenks)':<44s} {core:8.4f} s")
    print(
        f"  ({len(links)} links, {int((links['class'] == 'strong').sum())} strong; "
        f"tier sizes {np.bincount(tiers.classes).tolist()[::-1]})"
    )


if __name__ == "__main__":
    main()
