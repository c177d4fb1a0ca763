"""Window-by-window processing equals the in-memory functions, in bounded memory."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely

from gis.distance import euclidean_distance
from gis.errors import GridSizeError, InputError, OutputExistsError
from gis.grid import Grid
from gis.io import read_geotiff, write_geotiff
from gis.measures import kernel_density
from gis.overlay import weighted_linear_combination
from gis.transforms import rescale
from gis.windowed import (
    DENSITY_BYTES_PER_CELL,
    overlay_bytes_per_cell,
    raster_statistics,
    windowed_distance,
    windowed_kernel_density,
    windowed_overlay,
)
from gis.windows import Window, plan_windows, run_windows
from tests.helpers import traced_peak

CELL = 100.0


def _grid(height: int = 53, width: int = 71) -> Grid:
    return Grid.from_bounds((0, 0, width * CELL, height * CELL), cell_size=CELL, crs=32650)


def _layers(grid: Grid, tmp_path: Path) -> tuple[dict[str, Path], dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    arrays = {
        "dist": rng.uniform(0, 8000, grid.shape).astype("float32"),
        "density": rng.gamma(2.0, 50.0, grid.shape).astype("float32"),
        "slope": rng.uniform(0, 30, grid.shape).astype("float32"),
        "unused": rng.uniform(0, 1, grid.shape).astype("float32"),
    }
    arrays["density"][5:9, 10:40] = np.nan
    paths = {}
    for k, a in arrays.items():
        paths[k] = write_geotiff(tmp_path / f"{k}.tif", a, grid, description=k)
    return paths, arrays


def _budget(grid_cells_per_window: int, bytes_per_cell: float) -> int:
    return int(grid_cells_per_window * bytes_per_cell)


# ---------------------------------------------------------------------- planning
def test_plan_tiles_grid_exactly_and_respects_budget():
    grid = _grid()
    budget = 20 * 20 * 32
    windows = plan_windows(grid, halo_cells=3, bytes_per_cell=32, memory_budget=budget)
    assert len(windows) > 10
    cover = np.zeros(grid.shape, dtype="int32")
    for w in windows:
        cover[w.core] += 1
        r0, c0, r1, c1 = w.read_bounds
        assert (r1 - r0) * (c1 - c0) * 32 <= budget
        assert w.grid.transform.c == grid.transform.c + w.col * CELL
        assert w.grid.transform.f == grid.transform.f - w.row * CELL
    assert (cover == 1).all()


def test_plan_whole_grid_when_it_fits():
    grid = _grid()
    (w,) = plan_windows(grid, halo_cells=0, bytes_per_cell=8, memory_budget=grid.size * 8)
    assert w.shape == grid.shape and w.grid == grid


def test_budget_too_small_for_one_window_names_the_numbers():
    with pytest.raises(GridSizeError, match=r"halo of 10 cells.*21 x 21.*64 bytes per cell"):
        plan_windows(_grid(), halo_cells=10, bytes_per_cell=64, memory_budget=20 * 20 * 64)


def test_window_outside_grid_refused():
    with pytest.raises(InputError, match="not inside the grid"):
        Window(_grid(), 50, 0, 10, 10)


# ---------------------------------------------------------------------- cell-wise overlay
TRANSFORMS = {
    "dist": {"function": "small", "lower_threshold": 0, "upper_threshold": 5000},
    "density": {"function": "ms_large"},  # data-driven: thresholds, mean and std
    "slope": {"function": "linear", "from_scale": 1, "to_scale": 0},  # data thresholds
}
WEIGHTS = {"dist": 0.5, "density": 0.3, "slope": 0.2, "unused": 0.0}


def test_windowed_overlay_equals_in_memory(tmp_path):
    grid = _grid()
    paths, arrays = _layers(grid, tmp_path)
    budget = _budget(12 * 12, overlay_bytes_per_cell(3))
    assert (
        len(
            plan_windows(
                grid, halo_cells=0, bytes_per_cell=overlay_bytes_per_cell(3), memory_budget=budget
            )
        )
        > 20
    )
    out = windowed_overlay(paths, TRANSFORMS, WEIGHTS, tmp_path / "s.tif", memory_budget=budget)
    got, g2 = read_geotiff(out)

    scores = {}
    for k, spec in TRANSFORMS.items():
        spec = dict(spec)
        scores[k] = rescale(arrays[k], spec.pop("function"), **spec)
    scores["unused"] = arrays["unused"]
    want = weighted_linear_combination(scores, WEIGHTS)
    assert g2 == grid
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got).sum() == 4 * 30
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_statistics_pass_matches_numpy(tmp_path):
    grid = _grid()
    paths, arrays = _layers(grid, tmp_path)
    stats = raster_statistics(paths["density"], memory_budget=16 * 100)
    a = arrays["density"].astype("float64")
    a = a[np.isfinite(a)]
    assert stats["count"] == a.size
    assert stats["min"] == a.min() and stats["max"] == a.max()
    assert stats["mean"] == pytest.approx(a.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(a.std(), rel=1e-10)


def test_windowed_overlay_refuses_callable_transform(tmp_path):
    grid = _grid(8, 8)
    paths, _ = _layers(grid, tmp_path)
    with pytest.raises(InputError, match="callables"):
        windowed_overlay(
            paths,
            {"dist": {"function": np.sqrt}},
            WEIGHTS,
            tmp_path / "s.tif",
        )
    assert not (tmp_path / "s.tif").exists()


# ---------------------------------------------------------------------- halo operations
def _points(grid: Grid, n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    left, bottom, right, top = grid.bounds
    # some points beyond the grid edge, within kernel / cap reach
    x = rng.uniform(left - 500, right + 500, n)
    y = rng.uniform(bottom - 500, top + 500, n)
    return x, y, rng.uniform(0.5, 3.0, n)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_windowed_kernel_density_equals_in_memory(tmp_path, kernel):
    grid = _grid()
    x, y, w = _points(grid)
    bandwidth = 450.0  # 4.5 cells; gaussian reach 13.5 cells
    halo = int(bandwidth * (3 if kernel == "gaussian" else 1) / CELL) + 1
    budget = _budget((12 + 2 * halo) ** 2, DENSITY_BYTES_PER_CELL)
    n_windows = len(
        plan_windows(
            grid, halo_cells=halo, bytes_per_cell=DENSITY_BYTES_PER_CELL, memory_budget=budget
        )
    )
    assert n_windows > 10
    out = windowed_kernel_density(
        grid,
        x,
        y,
        tmp_path / "kde.tif",
        bandwidth=bandwidth,
        weights=w,
        kernel=kernel,
        memory_budget=budget,
    )
    got, _ = read_geotiff(out)
    want = kernel_density(grid, x, y, bandwidth=bandwidth, weights=w, kernel=kernel)
    assert want.max() > 0
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(want.max()))


def test_windowed_distance_equals_in_memory_below_the_cap(tmp_path):
    grid = _grid()
    x, y, _ = _points(grid, 25)
    cap = 1200.0
    budget = 30 * 30 * 48
    out = windowed_distance(grid, x, y, tmp_path / "d.tif", max_distance=cap, memory_budget=budget)
    got, _ = read_geotiff(out)
    want = euclidean_distance(grid, shapely.points(x, y), max_distance=cap)
    below = want < cap
    assert below.any() and (~below).any()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)
    uncapped = euclidean_distance(grid, shapely.points(x, y))
    np.testing.assert_allclose(got[below], uncapped[below], rtol=1e-6)


def test_distance_budget_too_small_for_cap(tmp_path):
    grid = _grid()
    with pytest.raises(GridSizeError, match="halo of 50 cells"):
        windowed_distance(
            grid, [0.0], [0.0], tmp_path / "d.tif", max_distance=5000, memory_budget=100 * 100 * 48
        )
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- failures
def test_failure_mid_run_leaves_no_file(tmp_path):
    grid = _grid()
    windows = plan_windows(grid, halo_cells=0, bytes_per_cell=4, memory_budget=10 * 10 * 4)
    calls = []

    def boom(window: Window) -> np.ndarray:
        calls.append(window)
        if len(calls) == 5:
            raise RuntimeError("disk full")
        return np.ones(window.shape, dtype="float32")

    with pytest.raises(RuntimeError, match="disk full"):
        run_windows(windows, boom, tmp_path / "out.tif", description="x")
    assert len(calls) == 5
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_existing_output_and_rerun_succeeds(tmp_path):
    grid = _grid(20, 20)
    windows = plan_windows(grid, halo_cells=0, bytes_per_cell=4, memory_budget=8 * 8 * 4)
    target = tmp_path / "out.tif"
    run_windows(windows, lambda w: np.full(w.shape, 1.0), target, description="x")
    with pytest.raises(OutputExistsError):
        run_windows(windows, lambda w: np.full(w.shape, 2.0), target, description="x")

    def fail_late(w: Window) -> np.ndarray:
        if w is windows[-1]:
            raise ValueError("late")
        return np.full(w.shape, 3.0)

    with pytest.raises(ValueError, match="late"):
        run_windows(windows, fail_late, target, description="x", overwrite=True)
    assert read_geotiff(target)[0].max() == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]
    run_windows(windows, lambda w: np.full(w.shape, 4.0), target, description="x", overwrite=True)
    assert (read_geotiff(target)[0] == 4.0).all()


def test_halo_sized_result_is_cut_to_core(tmp_path):
    grid = _grid(30, 40)
    windows = plan_windows(grid, halo_cells=2, bytes_per_cell=4, memory_budget=14 * 14 * 4)
    rows = np.arange(grid.height, dtype="float32")[:, None] * np.ones(grid.width, "float32")
    out = run_windows(windows, lambda w: rows[w.read], tmp_path / "r.tif", description="r")
    got, _ = read_geotiff(out)
    np.testing.assert_array_equal(got, rows)
    with rasterio.open(out) as src:
        assert float(src.tags(1)["STATISTICS_MAXIMUM"]) == grid.height - 1


# ---------------------------------------------------------------------- memory
def test_peak_memory_follows_window_not_grid(tmp_path):
    grid = _grid(400, 500)  # 200 000 cells: one float32 layer is 800 kB
    rng = np.random.default_rng(1)
    paths = {}
    for k in ("a", "b", "c"):
        paths[k] = write_geotiff(
            tmp_path / f"{k}.tif", rng.uniform(0, 10, grid.shape), grid, description=k
        )
    transforms = {
        k: {"function": "linear", "lower_threshold": 0, "upper_threshold": 10} for k in paths
    }
    weights = {"a": 1, "b": 2, "c": 3}
    window_cells = 64 * 64
    budget = _budget(window_cells, overlay_bytes_per_cell(3))  # ~ 250 kB
    gc.collect()
    _, peak = traced_peak(
        lambda: windowed_overlay(
            paths, transforms, weights, tmp_path / "s.tif", memory_budget=budget
        )
    )
    full_layer = grid.size * 4
    assert peak < 3 * budget
    assert peak < full_layer  # not even one whole-grid float32 layer
    got, _ = read_geotiff(tmp_path / "s.tif")
    assert np.isfinite(got).all() and 0 <= got.min() and got.max() <= 1
