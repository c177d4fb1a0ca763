"""Windowed candidate zones equal the in-memory candidate regions, window edges and all."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio import features

from gis._regions import selection_mask
from gis.errors import DataSourceError, InputError, OutputExistsError
from gis.grid import Grid
from gis.io import read_geotiff, write_geotiff
from gis.regions import REGION_COLUMNS, candidate_regions
from gis.windows import plan_windows
from gis.zones import (
    CUTOFF_BYTES_PER_CELL,
    ZONE_BYTES_PER_CELL,
    _float32_keys,
    raster_quantile_cutoff,
    split_regions,
    windowed_candidate_regions,
)

CELL = 100.0
NAN = np.nan


def _grid(height: int, width: int) -> Grid:
    return Grid.from_bounds((0, 0, width * CELL, height * CELL), cell_size=CELL, crs=32650)


def _budget(cells: int, bytes_per_cell: int = ZONE_BYTES_PER_CELL) -> int:
    """A memory budget for windows of ``cells`` cells."""
    return cells * bytes_per_cell


def _write(folder: Path, name: str, array: np.ndarray, grid: Grid) -> Path:
    return write_geotiff(folder / f"{name}.tif", array, grid, description=name)


def _reference(path: Path, factors: dict[str, Path] | None = None, **kwargs):
    score, grid = read_geotiff(path)
    arrays = {k: read_geotiff(p)[0] for k, p in (factors or {}).items()}
    return candidate_regions(score, grid, factors=arrays, **kwargs)


def _assert_same(got, ref) -> None:
    assert list(got.columns) == list(ref.columns)
    assert list(got.dtypes) == list(ref.dtypes)
    assert got.crs == ref.crs
    assert len(got) == len(ref)
    assert got.index.equals(ref.index)
    for column in ("rank", "n_cells"):
        np.testing.assert_array_equal(got[column].to_numpy(), ref[column].to_numpy())
    for column in ref.columns.drop(["rank", "n_cells", "geometry"]):
        np.testing.assert_allclose(
            got[column].to_numpy(), ref[column].to_numpy(), rtol=1e-12, err_msg=column
        )
    if len(ref) == 0:
        return
    a, b = got.geometry.to_numpy(), ref.geometry.to_numpy()
    np.testing.assert_array_equal(shapely.area(a), shapely.area(b))
    assert shapely.equals(a, b).all()
    assert (shapely.area(shapely.symmetric_difference(a, b)) == 0).all()
    # Same outline vertices too, up to ring start, orientation and part order.
    assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), 0).all()
    np.testing.assert_array_equal(shapely.get_type_id(a), shapely.get_type_id(b))


def _windows(grid: Grid, cells: int) -> list:
    return plan_windows(
        grid, halo_cells=0, bytes_per_cell=ZONE_BYTES_PER_CELL, memory_budget=_budget(cells)
    )


# ---------------------------------------------------------------------- hand-made
# With threshold 0.5, 8-connected: A = the 2x2 block top left plus (2, 2) at its
# corner, B = (0, 5), C = the 3x2 block bottom right, D = (5, 0)-(5, 1) (ties C on
# the mean, C is larger). 4-connected, A splits in two.
SCORE = np.array(
    [
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.625],
        [1.0, 0.75, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        [NAN, 0.0, 0.0, 0.0, 0.75, 0.75],
        [0.0, 0.0, 0.0, 0.0, 0.75, 0.75],
        [0.75, 0.75, 0.0, 0.0, 0.75, 0.75],
    ],
    dtype="float32",
)
F = np.arange(36, dtype="float32").reshape(6, 6)
F[0, 0] = NAN
G = np.ones((6, 6), dtype="float32")
G[0, 5] = NAN  # region B has no factor value: NaN mean


@pytest.fixture
def hand_made(tmp_path):
    grid = _grid(6, 6)
    score = _write(tmp_path, "score", SCORE, grid)
    factors = {"f": _write(tmp_path, "f", F, grid), "g": _write(tmp_path, "g", G, grid)}
    return score, factors


@pytest.mark.parametrize("cells", [4, 9, 36], ids=["2x2", "3x3", "whole"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_hand_made_equals_in_memory(hand_made, cells, connectivity):
    score, factors = hand_made
    assert len(_windows(_grid(6, 6), cells)) == {4: 9, 9: 4, 36: 1}[cells]
    kwargs = {"threshold": 0.5, "connectivity": connectivity}
    got = windowed_candidate_regions(score, factors=factors, memory_budget=_budget(cells), **kwargs)
    ref = _reference(score, factors, **kwargs)
    assert len(ref) == (5 if connectivity == 4 else 4)
    _assert_same(got, ref)
    assert list(got.columns) == [*REGION_COLUMNS, "f", "g", "geometry"]
    assert got["g"].isna().sum() == 1


@pytest.mark.parametrize("min_area", [0.0, 200.0, 250.0, 600.0, 1e9])
def test_hand_made_min_area_and_top_percent(hand_made, min_area):
    score, factors = hand_made
    kwargs = {"top_percent": 30, "min_area": min_area}
    got = windowed_candidate_regions(score, factors=factors, memory_budget=_budget(4), **kwargs)
    _assert_same(got, _reference(score, factors, **kwargs))


# ---------------------------------------------------------------------- random rasters
def _random_case(seed: int, height: int, width: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "ties":  # exact multiples of 1/8: sums exact, ties in mean and size
        score = rng.integers(0, 9, (height, width)) / 8
    else:
        score = rng.random((height, width))
    score = score.astype("float32")
    score[rng.random((height, width)) < 0.15] = NAN
    factor = rng.normal(size=(height, width)).astype("float32")
    factor[rng.random((height, width)) < 0.3] = NAN
    return score, factor


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height=st.integers(1, 14),
    width=st.integers(1, 14),
    cells=st.sampled_from([1, 4, 6, 9, 16, 30]),
    kind=st.sampled_from(["ties", "uniform"]),
    rule=st.sampled_from(["threshold", "top_percent"]),
    level=st.floats(0.5, 100),
    connectivity=st.sampled_from([4, 8]),
    min_cells=st.integers(0, 3),
)
@pytest.mark.slow
def test_random_rasters_equal_in_memory(
    tmp_path_factory, seed, height, width, cells, kind, rule, level, connectivity, min_cells
):
    folder = tmp_path_factory.mktemp("random")
    grid = _grid(height, width)
    score, factor = _random_case(seed, height, width, kind)
    score_path = _write(folder, "score", score, grid)
    factors = {"factor": _write(folder, "factor", factor, grid)}
    kwargs = {
        rule: level / 100 if rule == "threshold" else level,
        "connectivity": connectivity,
        "min_area": min_cells * grid.cell_area,
    }
    got = windowed_candidate_regions(
        score_path, factors=factors, memory_budget=_budget(cells), **kwargs
    )
    _assert_same(got, _reference(score_path, factors, **kwargs))


@pytest.mark.parametrize(
    ("shape", "cells", "layout"),
    [((60, 3), 16, "strips"), ((23, 31), 16, "squares"), ((17, 29), 30, "squares")],
)
@pytest.mark.parametrize("connectivity", [4, 8])
def test_strip_and_square_windows_equal_in_memory(tmp_path, shape, cells, layout, connectivity):
    grid = _grid(*shape)
    windows = _windows(grid, cells)
    assert len(windows) > 6
    if layout == "strips":
        assert all(w.width == grid.width for w in windows)
    else:
        assert windows[0].width < grid.width and windows[0].height == windows[0].width
    score, factor = _random_case(11, *shape, kind="ties")
    score_path = _write(tmp_path, "score", score, grid)
    factors = {"factor": _write(tmp_path, "factor", factor, grid)}
    for kwargs in ({"threshold": 0.5}, {"top_percent": 40}):
        got = windowed_candidate_regions(
            score_path,
            factors=factors,
            connectivity=connectivity,
            memory_budget=_budget(cells),
            **kwargs,
        )
        ref = _reference(score_path, factors, connectivity=connectivity, **kwargs)
        assert len(ref) > 3
        _assert_same(got, ref)


# ---------------------------------------------------------------------- window borders
def _four_windows(tmp_path: Path, cells: list[tuple[int, int]]) -> Path:
    """A 4 x 4 raster cut into four 2 x 2 windows with ``cells`` set to 1."""
    grid = _grid(4, 4)
    assert [(w.row, w.col, w.shape) for w in _windows(grid, 4)] == [
        (0, 0, (2, 2)),
        (0, 2, (2, 2)),
        (2, 0, (2, 2)),
        (2, 2, (2, 2)),
    ]
    score = np.zeros(grid.shape, dtype="float32")
    score[tuple(np.array(cells).T)] = 1.0
    return _write(tmp_path, "score", score, grid)


@pytest.mark.parametrize(
    "cells",
    [[(1, 1), (2, 2)], [(1, 2), (2, 1)], [(0, 0), (1, 1), (2, 2), (3, 3)]],
    ids=["down-right", "down-left", "long-diagonal"],
)
def test_diagonal_across_the_corner_of_four_windows(tmp_path, cells):
    path = _four_windows(tmp_path, cells)
    eight = windowed_candidate_regions(path, threshold=0.5, memory_budget=_budget(4))
    assert eight["n_cells"].tolist() == [len(cells)]
    assert eight.geometry.iloc[0].geom_type == "MultiPolygon"
    four = windowed_candidate_regions(path, threshold=0.5, connectivity=4, memory_budget=_budget(4))
    assert four["n_cells"].tolist() == [1] * len(cells)
    for connectivity, got in ((8, eight), (4, four)):
        _assert_same(got, _reference(path, threshold=0.5, connectivity=connectivity))


def test_region_joined_only_through_another_window(tmp_path):
    # A U whose arms lie in the upper strip and whose base lies in the lower one:
    # the two arms are separate labels in their window and one region overall.
    grid = _grid(8, 5)
    windows = _windows(grid, 20)
    assert [w.shape for w in windows] == [(4, 5), (4, 5)]
    score = np.zeros(grid.shape, dtype="float32")
    score[0:5, 0] = score[0:5, 4] = 1.0
    score[4, :] = 1.0
    score[1, 2] = 0.5  # a separate one-cell island between the arms
    path = _write(tmp_path, "score", score, grid)
    got = windowed_candidate_regions(path, threshold=0.5, memory_budget=_budget(20))
    assert got["n_cells"].tolist() == [13, 1]
    _assert_same(got, _reference(path, threshold=0.5))


def test_ties_go_to_the_first_cell_in_raster_order_not_window_order(tmp_path):
    # 8 x 8 in four 4 x 4 windows. Equal mean and size: A lies in the first window
    # but starts on row 3, B lies in the second window and starts on row 1, so B
    # comes first in raster order and ranks higher. C is as good but larger.
    grid = _grid(8, 8)
    assert len(_windows(grid, 16)) == 4
    score = np.zeros(grid.shape, dtype="float32")
    score[3, 0:2] = 1.0  # A
    score[1, 6:8] = 1.0  # B
    score[6, 1:4] = 1.0  # C
    path = _write(tmp_path, "score", score, grid)
    got = windowed_candidate_regions(path, threshold=0.5, memory_budget=_budget(16))
    assert got["n_cells"].tolist() == [3, 2, 2]
    assert got.geometry.iloc[1].equals(shapely.box(600, 600, 800, 700))  # B
    _assert_same(got, _reference(path, threshold=0.5))


def test_no_region_gives_the_empty_table(tmp_path, hand_made):
    score, factors = hand_made
    got = windowed_candidate_regions(
        score, threshold=2.0, factors=factors, memory_budget=_budget(4)
    )
    ref = _reference(score, factors, threshold=2.0)
    assert got.empty
    _assert_same(got, ref)


def test_all_nan_raster_with_top_percent(tmp_path):
    grid = _grid(5, 5)
    path = _write(tmp_path, "score", np.full(grid.shape, NAN, dtype="float32"), grid)
    got = windowed_candidate_regions(path, top_percent=10, memory_budget=_budget(4))
    assert got.empty
    _assert_same(got, _reference(path, top_percent=10))


def test_progress_counts_every_window_of_every_pass(hand_made):
    score, _ = hand_made
    calls: list[tuple[int, int]] = []
    windowed_candidate_regions(
        score, top_percent=20, memory_budget=_budget(4), progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(i, 36) for i in range(1, 37)]  # 9 windows, 4 passes


# ---------------------------------------------------------------------- cut-off
def _in_memory_cutoff(score: np.ndarray, top_percent: float) -> np.float32:
    values = score[~np.isnan(score)]
    n = values.size
    k = min(n, max(1, math.ceil(top_percent * n / 100.0 - 1e-9)))
    values.partition(n - k)
    return values[n - k]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    kind=st.sampled_from(["ties", "uniform", "wide", "specials"]),
    top_percent=st.floats(0.01, 100),
    nan_share=st.sampled_from([0.0, 0.3, 0.9]),
)
def test_quantile_cutoff_equals_in_memory(
    tmp_path_factory, seed, height, width, kind, top_percent, nan_share
):
    rng = np.random.default_rng(seed)
    shape = (height, width)
    if kind == "ties":
        score = rng.integers(-3, 4, shape).astype("float32")
    elif kind == "uniform":  # many values share the upper 16 bits of their key
        score = rng.random(shape).astype("float32")
    elif kind == "wide":
        score = (rng.normal(size=shape) * 10.0 ** rng.integers(-30, 30, shape)).astype("float32")
    else:
        pool = np.array([-np.inf, -1e30, -1.0, -1e-45, 0.0, 1e-45, 1.0, 3e38, np.inf], "float32")
        score = rng.choice(pool, shape)
    score[rng.random(shape) < nan_share] = NAN
    grid = _grid(height, width)
    path = _write(tmp_path_factory.mktemp("cutoff"), "score", score, grid)
    score = read_geotiff(path)[0]
    budget = _budget(4, CUTOFF_BYTES_PER_CELL)
    got = raster_quantile_cutoff(path, top_percent, memory_budget=budget)
    if np.isnan(score).all():
        assert got is None
        return
    want = _in_memory_cutoff(score, top_percent)
    assert isinstance(got, float)
    assert np.float32(got).view(np.uint32) == want.view(np.uint32)
    np.testing.assert_array_equal(score >= got, selection_mask(score, None, top_percent))


def test_quantile_cutoff_all_nan_is_none(tmp_path):
    grid = _grid(3, 4)
    path = _write(tmp_path, "score", np.full(grid.shape, NAN, dtype="float32"), grid)
    assert raster_quantile_cutoff(path, 50) is None


def test_quantile_cutoff_on_many_windows_and_a_constant_raster(tmp_path):
    grid = _grid(9, 9)
    assert (
        len(
            plan_windows(
                grid,
                halo_cells=0,
                bytes_per_cell=CUTOFF_BYTES_PER_CELL,
                memory_budget=_budget(4, CUTOFF_BYTES_PER_CELL),
            )
        )
        == 25
    )
    score = np.arange(81, dtype="float32").reshape(9, 9)
    path = _write(tmp_path, "score", score, grid)
    budget = _budget(4, CUTOFF_BYTES_PER_CELL)
    assert raster_quantile_cutoff(path, 10, memory_budget=budget) == 72.0  # 9 of 81 kept
    assert raster_quantile_cutoff(path, 100, memory_budget=budget) == 0.0
    assert raster_quantile_cutoff(path, 1e-6, memory_budget=budget) == 80.0
    constant = _write(tmp_path, "constant", np.full(grid.shape, 0.3, dtype="float32"), grid)
    assert raster_quantile_cutoff(constant, 5, memory_budget=budget) == float(np.float32(0.3))


def test_float32_keys_sort_like_the_values():
    values = np.array(
        [-np.inf, -3e38, -1.5, -1e-45, -0.0, 0.0, 1e-45, 1e-38, 0.5, 1.0, 3e38, np.inf],
        dtype="float32",
    )
    keys = _float32_keys(values)
    assert keys.dtype == np.uint32
    assert (np.diff(keys.astype(np.int64)) > 0).all()


@pytest.mark.parametrize("top_percent", [0, -1, 101, NAN, True, "10"])
def test_quantile_cutoff_rejects_bad_percent(tmp_path, top_percent):
    grid = _grid(3, 4)
    path = _write(tmp_path, "score", np.ones(grid.shape, dtype="float32"), grid)
    with pytest.raises(InputError, match="top_percent"):
        raster_quantile_cutoff(path, top_percent)


# ---------------------------------------------------------------------- rank raster
def _rank_raster(regions, grid: Grid) -> np.ndarray:
    if regions.empty:
        return np.zeros(grid.shape, dtype="int32")
    return features.rasterize(
        zip(regions.geometry, regions["rank"], strict=True),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="int32",
    )


@pytest.mark.parametrize("connectivity", [4, 8])
def test_labels_raster_equals_the_in_memory_ranks(tmp_path, connectivity):
    grid = _grid(23, 31)
    score, _ = _random_case(5, 23, 31, kind="uniform")
    path = _write(tmp_path, "score", score, grid)
    out = tmp_path / "out" / "ranks.tif"
    kwargs = {"top_percent": 35, "connectivity": connectivity, "min_area": 2 * grid.cell_area}
    got = windowed_candidate_regions(path, labels_path=out, memory_budget=_budget(16), **kwargs)
    ref = _reference(path, **kwargs)
    _assert_same(got, ref)
    with rasterio.open(out) as src:
        assert src.dtypes == ("int32",)
        assert src.nodata == 0
        assert src.transform == grid.transform
        assert src.crs.to_epsg() == 32650
        ranks = src.read(1)
    expected = _rank_raster(ref, grid)
    assert expected.max() == len(ref) > 5
    np.testing.assert_array_equal(ranks, expected)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ranks.tif"]


def test_labels_raster_all_zero_without_regions(tmp_path):
    grid = _grid(6, 6)
    path = _write(tmp_path, "score", SCORE, grid)
    out = tmp_path / "ranks.tif"
    got = windowed_candidate_regions(path, threshold=5.0, labels_path=out, memory_budget=_budget(4))
    assert got.empty
    with rasterio.open(out) as src:
        assert (src.read(1) == 0).all()


def test_labels_raster_refuses_an_existing_file(tmp_path):
    grid = _grid(6, 6)
    path = _write(tmp_path, "score", SCORE, grid)
    out = tmp_path / "ranks.tif"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="already exists"):
        windowed_candidate_regions(path, threshold=0.5, labels_path=out)
    assert out.read_bytes() == b"keep me"
    windowed_candidate_regions(path, threshold=0.5, labels_path=out, overwrite=True)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(
            src.read(1), _rank_raster(_reference(path, threshold=0.5), grid)
        )


def test_missing_factor_leaves_no_file(tmp_path):
    grid = _grid(6, 6)
    path = _write(tmp_path, "score", SCORE, grid)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(DataSourceError, match=r"missing\.tif"):
        windowed_candidate_regions(
            path,
            threshold=0.5,
            factors={"f": tmp_path / "missing.tif"},
            labels_path=tmp_path / "ranks.tif",
        )
    assert sorted(tmp_path.iterdir()) == before


def test_failure_while_writing_leaves_no_partial_file(tmp_path):
    grid = _grid(6, 6)
    path = _write(tmp_path, "score", SCORE, grid)
    before = sorted(tmp_path.iterdir())

    def fail_late(done: int, total: int) -> None:
        if done == total - 2:  # inside the last pass, with the rank raster open
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        windowed_candidate_regions(
            path,
            threshold=0.5,
            labels_path=tmp_path / "ranks.tif",
            memory_budget=_budget(4),
            progress=fail_late,
        )
    assert sorted(tmp_path.iterdir()) == before


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"threshold": 0.5, "top_percent": 10}, "exactly one"),
        ({"threshold": NAN}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"top_percent": 0}, "top_percent"),
        ({"top_percent": 150}, "top_percent"),
        ({"threshold": 0.5, "connectivity": 6}, "connectivity"),
        ({"threshold": 0.5, "connectivity": True}, "connectivity"),
        ({"threshold": 0.5, "min_area": -1}, "min_area"),
        ({"threshold": 0.5, "min_area": math.inf}, "min_area"),
        ({"threshold": 0.5, "factors": ["f.tif"]}, "mapping"),
        ({"threshold": 0.5, "factors": {"rank": "f.tif"}}, "not allowed"),
        ({"threshold": 0.5, "factors": {"f": np.ones((6, 6))}}, "path of a GeoTIFF"),
    ],
)
def test_bad_arguments_are_refused(hand_made, kwargs, match):
    score, _ = hand_made
    with pytest.raises(InputError, match=match):
        windowed_candidate_regions(score, **kwargs)


def test_factor_on_another_grid_is_refused(tmp_path):
    grid = _grid(6, 6)
    path = _write(tmp_path, "score", SCORE, grid)
    other = _write(tmp_path, "other", np.ones((5, 6), dtype="float32"), _grid(5, 6))
    with pytest.raises(InputError, match="not on the grid"):
        windowed_candidate_regions(path, threshold=0.5, factors={"f": other})


def test_missing_score_raster_is_refused(tmp_path):
    with pytest.raises(DataSourceError, match="cannot read raster"):
        windowed_candidate_regions(tmp_path / "nothing.tif", threshold=0.5)
    with pytest.raises(DataSourceError, match="cannot read raster"):
        raster_quantile_cutoff(tmp_path / "nothing.tif", 10)


# ---------------------------------------------------------------------- split at peaks, cap
#: Two hills in one zone (score >= 0.5): A = 0.9 at (1, 1), B = 0.7 at (1, 5), 0.2 above
#: the saddle (0.5, column 3).
TWO_HILLS = np.array([
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
    [0.1, 0.9, 0.8, 0.5, 0.6, 0.7, 0.1],
    [0.1, 0.8, 0.7, 0.5, 0.6, 0.6, 0.1],
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
])  # fmt: skip


def _zones(score: np.ndarray, cut: float = 0.5) -> np.ndarray:
    from scipy import ndimage

    return ndimage.label(score >= cut, structure=np.ones((3, 3)))[0].astype(np.int32)


def test_split_two_hills_at_the_saddle():
    labels, n = split_regions(_zones(TWO_HILLS), TWO_HILLS, min_drop=0.1)
    assert n == 2
    np.testing.assert_array_equal(labels[1:3], [[0, 1, 1, 2, 2, 2, 0], [0, 1, 1, 2, 2, 2, 0]])
    assert not labels[[0, 3]].any()


def test_a_peak_lower_than_min_drop_above_the_saddle_joins_the_higher_one():
    zones = _zones(TWO_HILLS)
    labels, n = split_regions(zones, TWO_HILLS, min_drop=0.25)
    assert n == 1
    np.testing.assert_array_equal(labels, zones)


def test_cap_keeps_the_best_cells_of_each_part():
    labels, n = split_regions(_zones(TWO_HILLS), TWO_HILLS, min_drop=0.1, max_cells=3)
    assert n == 2
    # A keeps 0.9 and both 0.8; B keeps 0.7 and the first two 0.6 in raster order
    np.testing.assert_array_equal(labels[1:3], [[0, 1, 1, 0, 2, 2, 0], [0, 1, 0, 0, 2, 0, 0]])


def test_cap_keeps_only_the_cells_connected_to_the_best_one():
    score = np.array([[0.9, 0.2, 0.85, 0.3]])
    labels, n = split_regions(np.ones((1, 4), dtype=np.int32), score, max_cells=2)
    assert n == 1
    np.testing.assert_array_equal(labels, [[1, 0, 0, 0]])


def test_zones_stay_apart_and_each_keeps_its_peak():
    # the right zone's peak is lower than anything in the left zone: still a zone
    score = np.array([[0.9, 0.8, 0.0, 0.3, 0.4]])
    zones = np.array([[1, 1, 0, 2, 2]], dtype=np.int32)
    labels, n = split_regions(zones, score, min_drop=0.01)
    assert n == 2
    np.testing.assert_array_equal(labels, zones)


def test_touching_zones_given_as_labels_stay_apart():
    score = np.array([[0.9, 0.5, 0.6, 0.7]])
    zones = np.array([[1, 1, 2, 2]], dtype=np.int32)
    labels, n = split_regions(zones, score, min_drop=0.01)
    np.testing.assert_array_equal(labels, zones)
    assert n == 2


def test_split_leaves_its_inputs_alone_and_numbers_in_raster_order():
    zones, score = _zones(TWO_HILLS), TWO_HILLS.copy()
    before = zones.copy(), score.copy()
    labels, n = split_regions(zones * 7, score, min_drop=0.1)  # any positive label values
    np.testing.assert_array_equal(zones, before[0])
    np.testing.assert_array_equal(score, before[1])
    assert labels.dtype == np.int32 and labels[1, 1] == 1 and n == 2


def test_no_split_and_no_cap_gives_the_zones_back():
    zones = _zones(TWO_HILLS)
    labels, n = split_regions(zones, TWO_HILLS)
    np.testing.assert_array_equal(labels, zones)
    assert n == 1
    empty, m = split_regions(np.zeros((3, 3), dtype=np.int32), np.zeros((3, 3)), min_drop=0.1)
    assert m == 0 and not empty.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_drop": 0}, "min_drop must be a positive number"),
        ({"min_drop": -0.1}, "min_drop must be a positive number"),
        ({"min_drop": True}, "min_drop must be a positive number"),
        ({"min_drop": float("nan")}, "min_drop must be a positive number"),
        ({"max_cells": 0.5}, "max_cells must be a whole number of cells >= 1"),
        ({"max_cells": 0}, "max_cells must be a whole number of cells >= 1"),
        ({"connectivity": 6}, "connectivity must be 4"),
    ],
)
def test_split_refuses_bad_options(kwargs, message):
    with pytest.raises(InputError, match=message):
        split_regions(_zones(TWO_HILLS), TWO_HILLS, **kwargs)


def test_split_refuses_bad_arrays():
    zones = _zones(TWO_HILLS)
    with pytest.raises(InputError, match="labels must be a 2-D integer array"):
        split_regions(zones.astype(float), TWO_HILLS, min_drop=0.1)
    with pytest.raises(InputError, match="score must be a numeric array of the labels' shape"):
        split_regions(zones, TWO_HILLS[:2], min_drop=0.1)
    holed = TWO_HILLS.copy()
    holed[1, 2] = NAN
    with pytest.raises(InputError, match="score is NaN in a zone"):
        split_regions(zones, holed, min_drop=0.1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    drop=st.floats(0.01, 0.5),
    cap=st.one_of(st.none(), st.integers(1, 30)),
    connectivity=st.sampled_from([4, 8]),
)
def test_split_parts_are_connected_pieces_of_one_zone_within_the_cap(seed, drop, cap, connectivity):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    score = ndimage.uniform_filter(rng.random((16, 16)), size=3)
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    zones = ndimage.label(score >= np.quantile(score, 0.6), structure=structure)[0]
    labels, n = split_regions(zones, score, min_drop=drop, max_cells=cap,
                              connectivity=connectivity)  # fmt: skip
    assert labels.max() == n
    assert not (labels[zones == 0]).any()
    if cap is None:
        np.testing.assert_array_equal(labels > 0, zones > 0)
    for part in range(1, n + 1):
        cells = labels == part
        assert np.unique(zones[cells]).size == 1  # inside one zone
        assert ndimage.label(cells, structure=structure)[1] == 1  # connected
        if cap is not None:
            assert cells.sum() <= cap
    whole, m = split_regions(zones, score, min_drop=2.0, connectivity=connectivity)
    assert m == zones.max()  # no peak rises 2 above a saddle: zones stay whole
    np.testing.assert_array_equal(whole > 0, zones > 0)


def test_candidate_regions_split_at_peaks_and_capped():
    grid = _grid(*TWO_HILLS.shape)
    r = candidate_regions(TWO_HILLS, grid, threshold=0.5, min_drop=0.1)
    assert r["n_cells"].tolist() == [4, 6]
    assert r["mean_score"].tolist() == pytest.approx([0.8, 3.5 / 6])
    capped = candidate_regions(TWO_HILLS, grid, threshold=0.5, min_drop=0.1, max_area=3.5e4)
    assert capped["n_cells"].tolist() == [3, 3]  # 3.5 cells of 1 ha: 3 cells
    assert capped["area_ha"].max() <= 3.5
    whole = candidate_regions(TWO_HILLS, grid, threshold=0.5)
    assert whole["n_cells"].tolist() == [10]
    with pytest.raises(InputError, match="max_area must be a positive area"):
        candidate_regions(TWO_HILLS, grid, threshold=0.5, max_area=0)


@pytest.mark.parametrize("budget", [1200, 1199])  # selections kept as bits, or read again
def test_second_labelling_pass_with_and_without_kept_selections(tmp_path, budget):
    grid = _grid(30, 40)  # 1200 cells: kept when they fit the budget (one bit each, 1/8)
    score, factor = _random_case(7, 30, 40, "uniform")
    score_path = _write(tmp_path, "score", score, grid)
    factors = {"factor": _write(tmp_path, "factor", factor, grid)}
    assert len(plan_windows(grid, halo_cells=0, bytes_per_cell=ZONE_BYTES_PER_CELL,
                            memory_budget=budget)) > 20  # fmt: skip
    got = windowed_candidate_regions(score_path, factors=factors, top_percent=30,
                                     memory_budget=budget)  # fmt: skip
    _assert_same(got, _reference(score_path, factors, top_percent=30))
