"""Benchmark the overlay and region steps on large synthetic grids.

Times, per grid size,

* ``overlay``: weighted linear combination of six float32 layers plus
  :func:`gis.overlay.apply_constraints` with an exclusion mask and a study-area mask;
* ``regions``: :func:`gis.regions.candidate_regions` (top 10 % of cells,
  8-connected, minimum area of 10 cells, two factor means), i.e. labelling,
  sieving, per-region statistics and polygons;
* ``write``: the score (NaN outside the study area) written as a plain tiled
  uncompressed GeoTIFF (rasterio, as the peer tools write) and as innosite's
  Cloud-Optimised GeoTIFF (:func:`gis.io.write_geotiff`: ZSTD, overviews,
  statistics), alternated, three times each: median seconds and the ratio;

and prints wall-clock seconds and the peak resident memory of each step (the
process's high-water mark is reset before each step where Linux allows it,
otherwise the figure is the peak of the whole run so far). The input layers
are smooth random surfaces (upsampled gaussian-filtered noise) and are held in
memory: at 10 000² they alone take 6 x 400 MB.

Usage::

    python scripts/bench/bench_overlay.py            # 1000² and 4000²
    python scripts/bench/bench_overlay.py --large    # also 10 000²
    python scripts/bench/bench_overlay.py --sizes 2000
    python scripts/bench/bench_overlay.py --sizes 5000 10000 --only-write   # the writer alone
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from shapely.geometry import LineString, Point

from gis.grid import Grid
from gis.io import write_geotiff
from gis.overlay import aggregate, apply_constraints, exclusion_mask
from gis.regions import candidate_regions

CELL = 10.0
LAYERS = ("transit", "universities", "firms", "green", "services", "land_price")
WEIGHTS = dict(zip(LAYERS, (0.25, 0.2, 0.2, 0.1, 0.15, 0.1), strict=True))


def smooth_surface(n: int, rng: np.random.Generator, *, factor: int = 16) -> np.ndarray:
    """An ``n x n`` float32 surface in [0, 1] with features about ``factor`` cells wide."""
    m = n // factor + 2
    coarse = ndimage.gaussian_filter(rng.standard_normal((m, m)).astype(np.float32), 1.5)
    fine = ndimage.zoom(coarse, n / (m - 1), order=1, output=np.float32)[:n, :n]
    lo, hi = float(fine.min()), float(fine.max())
    fine -= lo
    fine *= 1.0 / (hi - lo)
    return fine


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


def _rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _timed(label: str, func):
    reset = _reset_peak()
    before = _rss_mib()
    t0 = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - t0
    peak = _peak_mib()
    note = "" if reset else " (peak of the whole run)"
    print(
        f"  {label:<9} {seconds:7.2f} s   peak RSS {peak:8.0f} MiB "
        f"(+{peak - before:.0f} MiB over the inputs){note}",
        flush=True,
    )
    return result


def write_plain(path: Path, values: np.ndarray, grid: Grid) -> None:
    """A tiled (512 x 512), uncompressed float32 GeoTIFF with NaN nodata, no overviews."""
    import rasterio

    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)


def compare_writes(score: np.ndarray, grid: Grid, repeats: int = 3) -> None:
    """Median seconds of a plain tiled write and of :func:`gis.io.write_geotiff`, alternated."""
    plain: list[float] = []
    cog: list[float] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            t0 = time.perf_counter()
            write_plain(Path(tmp) / f"plain{i}.tif", score, grid)
            plain.append(time.perf_counter() - t0)
            c0, t0 = time.process_time(), time.perf_counter()
            path = write_geotiff(Path(tmp) / f"cog{i}.tif", score, grid, description="score")
            cog.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            size = path.stat().st_size / 2**20
    p, c = statistics.median(plain), statistics.median(cog)
    print(
        f"  write     plain {p:6.3f} s   COG {c:6.3f} s (CPU {statistics.median(cpu):.2f} s, "
        f"{size:.0f} MiB)   COG / plain {c / p:5.2f}",
        flush=True,
    )


def run(n: int, seed: int, *, only_write: bool = False) -> None:
    rng = np.random.default_rng(seed)
    print(f"{n} x {n} = {n * n / 1e6:.0f} M cells of {CELL:g} m", flush=True)
    t0 = time.perf_counter()
    layers = {name: smooth_surface(n, rng) for name in LAYERS}
    grid = Grid.from_bounds((0, 0, n * CELL, n * CELL), cell_size=CELL, crs="EPSG:32635")
    size = n * CELL
    lines = [
        LineString(rng.uniform(0, size, (2, 2)))
        for _ in range(20)  # railway lines
    ]
    lakes = [Point(rng.uniform(0, size, 2)).buffer(size * 0.02) for _ in range(10)]
    excluded = exclusion_mask(grid, lines, buffer=3 * CELL) | exclusion_mask(grid, lakes)
    x, y = grid.centers()
    area = (x[None, :] - size / 2) ** 2 + (y[:, None] - size / 2) ** 2 < (0.48 * size) ** 2
    print(f"  inputs    {time.perf_counter() - t0:7.2f} s to build (not benchmarked)")

    score = _timed(
        "overlay",
        lambda: apply_constraints(aggregate(layers, WEIGHTS), excluded, area_mask=area),
    )
    compare_writes(score, grid)
    if only_write:
        return
    factors = {"transit": layers["transit"], "green": layers["green"]}
    regions = _timed(
        "regions",
        lambda: candidate_regions(
            score,
            grid,
            top_percent=10,
            min_area=10 * grid.cell_area,
            connectivity=8,
            factors=factors,
        ),
    )
    print(
        f"  -> {len(regions)} regions, {int(regions['n_cells'].sum()):,} cells, "
        f"best mean score {regions['mean_score'].max():.3f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000], metavar="N")
    parser.add_argument("--large", action="store_true", help="also run 10000 x 10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-write", action="store_true", help="skip the regions step")
    args = parser.parse_args(argv)
    sizes = [*args.sizes, *([10_000] if args.large else [])]
    # warm up: load geopandas, GDAL and friends outside the timings
    warm = Grid.from_bounds((0, 0, 100, 100), cell_size=CELL, crs="EPSG:32635")
    candidate_regions(np.eye(10), warm, threshold=0.5)
    for n in sizes:
        run(n, args.seed, only_write=args.only_write)


if __name__ == "__main__":
    main()
