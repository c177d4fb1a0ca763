"""Benchmark the national run of China and its raster stages against GDAL and GRASS.

Part 1 — whole runs. ``innosite national`` (the default: China, offline) at
several cell sizes, each in its own process, timed with its peak resident
memory: seconds, seconds per million grid cells, and whether time grows
linearly with cells.

Part 2 — side by side, in the same run and on the same inputs (the raw layers
and suitability of the 1 km run), each tool in its own process including its
reading and writing:

* distance to the cells of international airports: innosite (exact nearest
  point, window by window) vs ``gdal_proximity.py`` vs GRASS ``r.grow.distance``;
* map algebra, a weighted sum of four linear rescales: innosite
  (:func:`gis.windowed.windowed_overlay`, writing what ``gdal_calc.py`` writes: a
  tiled DEFLATE float32 GeoTIFF without overviews) vs ``gdal_calc.py`` vs GRASS
  ``r.mapcalc``;
* connected zones of cells scoring at least a threshold (8-connected): innosite
  (:func:`gis.zones.windowed_candidate_regions`, with region statistics and
  polygons) vs GRASS ``r.clump -d``.

Ratios are innosite's time over the tool's (below 1: innosite is faster).
GDAL and GRASS are used when installed (``apt-get install gdal-bin grass-core``).

Usage::

    python scripts/bench/bench_national.py                    # 2 km, 1 km, 500 m; peers at 1 km
    python scripts/bench/bench_national.py --large            # adds 250 m (several minutes)
    python scripts/bench/bench_national.py --sizes 1000 --no-peers
    python scripts/bench/bench_national.py --out /tmp/bench-national   # keep every file
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

PY = sys.executable
HERE = Path(__file__).resolve()

#: Linear rescales of the map-algebra stage: raw layer -> (weight, lower, upper).
WLC_LAYERS = {
    "market_potential": (0.4, 5.0e4, 5.0e6),
    "nearest_city": (0.2, 60_000.0, 0.0),
    "centre_distance": (0.2, 150_000.0, 0.0),
    "hub_access": (0.2, 0.0, 1.0),
}


# ---------------------------------------------------------------------- innosite stages
def _stage_distance(src: str, out: str, budget: int) -> None:
    """Distance to the source cells' centres, window by window (run in a child process)."""
    from gis.distance import nearest_point
    from gis.engine import Engine, compute_blocks, plan
    from gis.io import RasterOutput, gdal_env, raster_grid
    from gis.windows import open_raster, read_window

    grid = raster_grid(src)
    engine = Engine("windows", memory_budget=budget)
    xs, ys = [], []
    with gdal_env(budget), open_raster(src) as f:
        for w in plan(grid, engine, halo=0, bytes_per_cell=8):
            rows, cols = np.nonzero(read_window(f, w) > 0)
            xc, yc = w.grid.centers()
            xs.append(xc[cols])
            ys.append(yc[rows])
    x, y = np.concatenate(xs), np.concatenate(ys)

    def block(g, arrays):
        return {"d": nearest_point(g, x, y, return_index=False).distance}

    compute_blocks(grid, block, {"d": RasterOutput(out, "distance", "m")}, engine=engine,
                   bytes_per_cell=24, overviews=False, overwrite=True)  # fmt: skip


def _stage_wlc(inputs: dict[str, str], out: str, budget: int) -> None:
    from gis.engine import Engine
    from gis.windowed import windowed_overlay

    transforms = {
        k: {"function": "linear", "lower_threshold": min(lo, hi), "upper_threshold": max(lo, hi),
            **({"from_scale": 1.0, "to_scale": 0.0} if lo > hi else {})}
        for k, (_, lo, hi) in WLC_LAYERS.items()
    }  # fmt: skip
    weights = {k: w for k, (w, _, _) in WLC_LAYERS.items()}
    # the same file as gdal_calc.py writes: tiled DEFLATE float32, no overviews
    windowed_overlay(
        inputs,
        transforms,
        weights,
        out,
        overwrite=True,
        overviews=False,
        engine=Engine("windows", memory_budget=budget),
    )


def _stage_zones(src: str, out: str, threshold: float, budget: int) -> None:
    from gis.zones import windowed_candidate_regions

    zones = windowed_candidate_regions(src, threshold=threshold, connectivity=8,
                                       labels_path=out, memory_budget=budget)  # fmt: skip
    Path(out).with_suffix(".json").write_text(json.dumps({"n_regions": len(zones)}))


# ---------------------------------------------------------------------- runs
def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def national(size: float, folder: Path, budget: str, *extra: str) -> tuple[Path, float, float]:
    """Run ``innosite national`` in its own process: the folder, seconds and peak MiB."""
    out = folder / f"china-{size:g}m{'-raw' if extra else ''}"
    cmd = [PY, "-m", "layers.cli.main", "national", "--cell-size", f"{size:g}",
           "--memory-budget", budget, "--out", str(out), "-q", "--overwrite", *extra]  # fmt: skip
    seconds, rss = peers.run_timed(cmd, cwd=folder)
    return out, seconds, rss


def whole_runs(sizes: list[float], folder: Path, budget: str) -> dict[float, dict]:
    rows = {}
    for size in sizes:
        out, seconds, rss = national(size, folder, budget)
        extra = json.loads((out / "manifest.json").read_text())["extra"]
        cells = extra["grid"]["cells"]
        rows[size] = {"seconds": seconds, "rss_mib": rss, "cells": cells,
                      "inside": extra["grid"]["cells_in_region"], "stages": extra["seconds"],
                      "candidates": extra["candidates"], "windows": extra["windows"]}  # fmt: skip
        passes = sum(extra["seconds"].values())
        print(
            f"  {size:>6g} m  {cells / 1e6:8.1f} M cells  {seconds:7.1f} s  "
            f"{seconds / cells * 1e6:6.3f} s/M cells (passes {passes:.1f} s, "
            f"{passes / cells * 1e6:.3f} s/M)  peak {_fmt(rss, '.0f')} MiB  "
            f"windows {extra['windows']}  stages {extra['seconds']}",
            flush=True,
        )
    return rows


def _child(stage: str, *args: str) -> list[str]:
    return [PY, str(HERE), "--stage", stage, *args]


def side_by_side(run: Path, folder: Path, budget: int) -> list[list[str]]:
    from gis.io import read_geotiff

    avail = peers.available()
    rows: list[list[str]] = []
    raw = run / "raw"
    # distance: sources are the cells of international airports
    hubs, grid = read_geotiff(raw / "hub_distance_airport_international.tif")
    src = peers.write_sources(folder / "airports.tif", hubs < grid.cell_size / 2, grid,
                              overwrite=True)  # fmt: skip
    del hubs
    ours = folder / "distance_innosite.tif"
    t, m = peers.run_timed(_child("distance", str(src), str(ours), str(budget)), cwd=folder)
    mine = read_geotiff(ours)[0]
    results = [("distance", "innosite", t, m, 0.0)]
    for name, fn in (("gdal_proximity.py", peers.gdal_proximity),
                     ("r.grow.distance", peers.grass_grow_distance)):  # fmt: skip
        key = "gdal_proximity" if name.startswith("gdal") else "grass"
        if not avail[key]:
            continue
        r = fn(src, folder / f"distance_{key}.tif", overwrite=True)
        theirs = read_geotiff(r.output)[0]
        diff = float(np.nanmax(np.abs(theirs - mine)))
        results.append(("distance", name, r.seconds, r.peak_rss_mib, diff))
        del theirs
    del mine
    # map algebra
    inputs = {k: str(raw / f"{k}.tif") for k in WLC_LAYERS}
    ours = folder / "wlc_innosite.tif"
    t, m = peers.run_timed(_child("wlc", json.dumps(inputs), str(ours), str(budget)), cwd=folder)
    mine = read_geotiff(ours)[0]
    results.append(("map algebra", "innosite", t, m, 0.0))
    letters = dict(zip("ABCD", WLC_LAYERS, strict=True))
    if avail["gdal_calc"]:
        expr = peers.gdal_wlc_expression({c: WLC_LAYERS[k] for c, k in letters.items()})
        r = peers.gdal_calc({c: inputs[k] for c, k in letters.items()}, expr,
                            folder / "wlc_gdal.tif", overwrite=True)  # fmt: skip
        diff = float(np.nanmax(np.abs(read_geotiff(r.output)[0] - mine)))
        results.append(("map algebra", "gdal_calc.py", r.seconds, r.peak_rss_mib, diff))
    if avail["grass"]:
        expr = peers.grass_wlc_expression(WLC_LAYERS)
        r = peers.grass_mapcalc(inputs, expr, folder / "wlc_grass.tif", overwrite=True)
        diff = float(np.nanmax(np.abs(read_geotiff(r.output)[0] - mine)))
        results.append(("map algebra", "r.mapcalc", r.seconds, r.peak_rss_mib, diff))
    del mine
    # zones: cells of the suitability at or above its 99th percentile
    suit = run / "suitability.tif"
    values = read_geotiff(suit)[0]
    threshold = float(np.nanpercentile(values, 99.0))
    del values
    ours = folder / "zones_innosite.tif"
    ours.unlink(missing_ok=True)
    t, m = peers.run_timed(_child("zones", str(suit), str(ours), str(threshold), str(budget)),
                           cwd=folder)  # fmt: skip
    n_ours = json.loads(ours.with_suffix(".json").read_text())["n_regions"]
    results.append(("zones", "innosite", t, m, 0.0))
    if avail["grass"]:
        r = peers.grass_clump(suit, folder / "zones_grass.tif", threshold=threshold,
                              overwrite=True)  # fmt: skip
        results.append(("zones", "r.clump -d", r.seconds, r.peak_rss_mib,
                        float(abs(r.extra["n_clumps"] - n_ours))))  # fmt: skip
    # ratios against each stage's innosite time
    ours_t = {s: t for s, tool, t, _, _ in results if tool == "innosite"}
    for stage, tool, t, m, diff in results:
        ratio = "" if tool == "innosite" else f"{ours_t[stage] / t:.2f}"
        unit = "regions" if stage == "zones" else ("m" if stage == "distance" else "score")
        agree = "" if tool == "innosite" else f"{diff:.3g} {unit}"
        rows.append([stage, tool, f"{t:.2f}", _fmt(m, ".0f"), ratio, agree])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="2000,1000,500", help="cell sizes in metres")
    p.add_argument("--large", action="store_true", help="also run China at 250 m")
    p.add_argument("--budget", default="1GiB", help="memory budget per window")
    p.add_argument("--no-peers", action="store_true", help="skip the GDAL/GRASS comparison")
    p.add_argument("--out", help="keep the files in this folder")
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.stage:  # a child process timing one innosite stage
        if a.stage == "distance":
            _stage_distance(a.args[0], a.args[1], int(a.args[2]))
        elif a.stage == "wlc":
            _stage_wlc(json.loads(a.args[0]), a.args[1], int(a.args[2]))
        else:
            _stage_zones(a.args[0], a.args[1], float(a.args[2]), int(a.args[3]))
        return 0
    from layers.options import memory_size
    from layers.outputs.text import table

    sizes = [float(s) for s in a.sizes.split(",")]
    if a.large and 250.0 not in sizes:
        sizes.append(250.0)
    folder = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="bench-national-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        print(f"China, whole runs (budget {a.budget} per window, 2 cores):", flush=True)
        rows = whole_runs(sizes, folder, a.budget)
        per = {s: r["seconds"] / r["cells"] * 1e6 for s, r in rows.items()}
        passes = {s: sum(r["stages"].values()) / r["cells"] * 1e6 for s, r in rows.items()}
        if len(per) >= 3:
            print(
                "  seconds per million cells, whole run: "
                + ", ".join(f"{s:g} m {v:.3f}" for s, v in sorted(per.items(), reverse=True))
            )
            print(
                "  seconds per million cells, the three passes (without start-up, reading "
                "the sources, map): "
                + ", ".join(f"{s:g} m {v:.3f}" for s, v in sorted(passes.items(), reverse=True))
            )
        if not a.no_peers:
            run, seconds, rss = national(1000.0, folder, a.budget, "--keep-raw")
            print(
                f"\n1 km run keeping its raw layers for the comparison: {seconds:.1f} s, "
                f"peak {_fmt(rss, '.0f')} MiB"
            )
            print("Side by side on the 1 km layers (whole processes, same inputs):", flush=True)
            body = side_by_side(run, folder, memory_size(a.budget))
            print(table(body, ["stage", "tool", "seconds", "peak MiB", "innosite / tool",
                               "max difference"]))  # fmt: skip
    finally:
        if not a.out:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
