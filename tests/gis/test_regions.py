"""Tests of gis.regions: labelling, candidate-region selection, statistics and polygons."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shapely.geometry import box

from gis.errors import InputError
from gis.grid import Grid
from gis.regions import REGION_COLUMNS, candidate_regions, label_regions

CRS = "EPSG:32635"
NAN = np.nan

# 6 x 6 cells of 10 m (100 m² each); row r covers y in (50 - 10 r, 60 - 10 r].
GRID = Grid.from_bounds((0, 0, 60, 60), cell_size=10, crs=CRS)

# With threshold 0.5 the passing cells form, 8-connected:
#   A: the 2x2 block top left plus (2, 2), touching it at a corner (5 cells, mean 0.85)
#   B: (0, 5) alone (mean 0.625)
#   C: the 3x2 block bottom right (6 cells, mean 0.75)
#   D: (5, 0) and (5, 1) (2 cells, mean 0.75: tie with C, which is larger)
# 4-connected, A splits into A1 (the block, mean 0.9375) and A2 = (2, 2) (mean 0.5).
SCORE = np.array(
    [
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.625],
        [1.0, 0.75, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        [NAN, 0.0, 0.0, 0.0, 0.75, 0.75],
        [0.0, 0.0, 0.0, 0.0, 0.75, 0.75],
        [0.75, 0.75, 0.0, 0.0, 0.75, 0.75],
    ]
)
# factor "f" = 0..35 in raster order with (0, 0) missing; "g" = 1 but missing on B.
F = np.arange(36, dtype=np.float64).reshape(6, 6)
F[0, 0] = NAN
G = np.ones((6, 6), dtype=np.float32)
G[0, 5] = NAN

REGION_A = shapely.union_all([box(0, 40, 20, 60), box(20, 30, 30, 40)])
REGION_C = box(40, 0, 60, 30)


def _cells(geom, grid=GRID):
    """Cells whose centre lies in ``geom``."""
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(grid.rasterize([geom])), strict=True)}


# ---------------------------------------------------------------------- label_regions
def test_label_regions_8_vs_4_connectivity():
    mask = ~np.isnan(SCORE) & (SCORE >= 0.5)
    labels8, n8 = label_regions(mask)
    labels4, n4 = label_regions(mask, connectivity=4)
    assert (n8, n4) == (4, 5)
    assert labels8.dtype == np.int32
    assert labels8[0, 0] == labels8[2, 2] != 0
    assert labels4[0, 0] != labels4[2, 2]
    np.testing.assert_array_equal(labels8 > 0, mask)


@pytest.mark.parametrize("connectivity", [6, 0, "8", 8.5, True])
def test_label_regions_rejects_bad_connectivity(connectivity):
    with pytest.raises(InputError, match=r"connectivity must be 4 .* or 8"):
        label_regions(np.ones((2, 2), dtype=bool), connectivity=connectivity)


@pytest.mark.parametrize("mask", [np.ones((2, 2)), np.ones(3, dtype=bool)])
def test_label_regions_rejects_non_boolean_or_non_2d(mask):
    with pytest.raises(InputError, match="mask must be a 2-D boolean array"):
        label_regions(mask)


# ---------------------------------------------------------------------- candidate_regions
def test_candidate_regions_8_connected_stats_ranks_and_geometry():
    r = candidate_regions(SCORE, GRID, threshold=0.5, factors={"f": F, "g": G})
    assert list(r.columns) == [*REGION_COLUMNS, "f", "g", "geometry"]
    assert r.crs == GRID.crs
    assert r["rank"].tolist() == [1, 2, 3, 4]
    assert r["n_cells"].tolist() == [5, 6, 2, 1]  # A, C, D, B
    assert r["mean_score"].tolist() == [0.85, 0.75, 0.75, 0.625]
    assert r["max_score"].tolist() == [1.0, 0.75, 0.75, 0.625]
    assert r["area_ha"].tolist() == [0.05, 0.06, 0.02, 0.01]
    # f: A = (nan, 1, 6, 7, 14) -> 28 / 4; C = 22+23+28+29+34+35 = 171 -> 28.5; D; B
    assert r["f"].tolist() == [7.0, 28.5, 30.5, 5.0]
    g = r["g"].to_numpy()
    assert g[:3].tolist() == [1.0, 1.0, 1.0] and math.isnan(g[3])
    assert r["rank"].dtype == np.int64 and r["n_cells"].dtype == np.int64
    # geometry: exact cell unions; A is two pieces meeting at the corner (20, 40)
    assert r.geometry.iloc[0].geom_type == "MultiPolygon"
    assert r.geometry.iloc[0].equals(REGION_A)
    assert r.geometry.iloc[1].geom_type == "Polygon"
    assert r.geometry.iloc[1].equals(REGION_C)
    assert r.geometry.iloc[2].equals(box(0, 0, 20, 10))
    assert r.geometry.iloc[3].equals(box(50, 50, 60, 60))
    assert r.geometry.is_valid.all()
    np.testing.assert_array_equal(r.geometry.area, r["n_cells"] * GRID.cell_area)


def test_candidate_regions_4_connectivity_splits_the_diagonal_region():
    r = candidate_regions(SCORE, GRID, threshold=0.5, connectivity=4)
    assert len(r) == 5
    assert r["n_cells"].tolist() == [4, 6, 2, 1, 1]  # A1, C, D, B, A2
    assert r["mean_score"].tolist() == [0.9375, 0.75, 0.75, 0.625, 0.5]
    assert r.geometry.iloc[0].equals(box(0, 40, 20, 60))
    assert r.geometry.iloc[4].equals(box(20, 30, 30, 40))
    assert (r.geometry.geom_type == "Polygon").all()
    np.testing.assert_array_equal(r.geometry.area, r["n_cells"] * 100.0)


def test_candidate_regions_min_area_drops_small_regions_inclusively():
    r = candidate_regions(SCORE, GRID, threshold=0.5, min_area=200.0)
    assert r["n_cells"].tolist() == [5, 6, 2]  # B (100 m²) dropped, D (200 m²) kept
    assert r["rank"].tolist() == [1, 2, 3]
    r = candidate_regions(SCORE, GRID, threshold=0.5, min_area=201.0)
    assert r["n_cells"].tolist() == [5, 6]


def test_candidate_regions_geometry_of_a_region_away_from_the_origin():
    # only C (rows 3-5, columns 4-5) is large enough: polygons come from a window
    r = candidate_regions(SCORE, GRID, threshold=0.5, min_area=600.0)
    assert r["n_cells"].tolist() == [6]
    assert r.geometry.iloc[0].equals(REGION_C)
    assert _cells(r.geometry.iloc[0]) == {(i, j) for i in (3, 4, 5) for j in (4, 5)}


def test_candidate_regions_top_percent_counts_valid_cells_and_keeps_ties():
    # 35 valid cells: 8 % -> ceil(2.8) = 3 cells, the three 1.0 cells
    r = candidate_regions(SCORE, GRID, top_percent=8)
    assert len(r) == 1 and r["n_cells"].tolist() == [3]
    assert _cells(r.geometry.iloc[0]) == {(0, 0), (0, 1), (1, 0)}
    # 10 % -> ceil(3.5) = 4 cells, the 4th best is 0.75 and all nine 0.75 cells tie
    r = candidate_regions(SCORE, GRID, top_percent=10)
    assert int(r["n_cells"].sum()) == 12
    assert set().union(*map(_cells, r.geometry)) == {
        (int(i), int(j)) for i, j in zip(*np.nonzero(SCORE >= 0.75), strict=True)
    }
    # 100 % -> every valid cell, one region around the NaN cell
    r = candidate_regions(SCORE, GRID, top_percent=100)
    assert r["n_cells"].tolist() == [35]
    assert r.geometry.iloc[0].area == 3500.0
    assert _cells(r.geometry.iloc[0]) == {(i, j) for i in range(6) for j in range(6)} - {(3, 0)}


def test_candidate_regions_equal_means_and_areas_rank_by_raster_order():
    score = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    grid = Grid.from_bounds((0, 0, 30, 30), cell_size=10, crs=CRS)
    r = candidate_regions(score, grid, threshold=1.0, connectivity=4)
    assert [_cells(g, grid) for g in r.geometry] == [{(0, 0)}, {(0, 2)}, {(2, 0)}]


def test_candidate_regions_does_not_modify_inputs():
    score, f = SCORE.copy(), F.copy()
    candidate_regions(score, GRID, top_percent=50, factors={"f": f})
    np.testing.assert_array_equal(score, SCORE)
    np.testing.assert_array_equal(f, F)


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 1.5}, {"threshold": 0.5, "min_area": 1e6}],
)
def test_candidate_regions_empty_result_has_the_columns(kwargs):
    r = candidate_regions(SCORE, GRID, factors={"f": F}, **kwargs)
    assert len(r) == 0
    assert list(r.columns) == [*REGION_COLUMNS, "f", "geometry"]
    assert r.crs == GRID.crs
    assert r["rank"].dtype == np.int64 and r["mean_score"].dtype == np.float64


def test_candidate_regions_all_nan_score_with_top_percent_is_empty():
    r = candidate_regions(np.full((6, 6), np.nan, dtype=np.float32), GRID, top_percent=10)
    assert len(r) == 0 and "geometry" in r.columns


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of threshold"),
        ({"threshold": 0.5, "top_percent": 10}, "exactly one of threshold"),
        ({"threshold": NAN}, "threshold must be a real number"),
        ({"threshold": "0.5"}, "threshold must be a real number"),
        ({"top_percent": 0}, r"0 < top_percent <= 100, got 0"),
        ({"top_percent": 100.5}, r"0 < top_percent <= 100"),
        ({"top_percent": NAN}, r"0 < top_percent <= 100"),
        ({"threshold": 0.5, "min_area": -1}, "min_area must be a finite area >= 0"),
        ({"threshold": 0.5, "connectivity": 6}, "connectivity must be 4"),
        ({"threshold": 0.5, "factors": {"f": F[:5]}}, r"factor 'f' has shape \(5, 6\)"),
        ({"threshold": 0.5, "factors": {"mean_score": F}}, "factor name 'mean_score'"),
        ({"threshold": 0.5, "factors": {"f": F.astype(str)}}, "factor 'f' must be a numeric"),
        ({"threshold": 0.5, "factors": [F]}, "factors must be a mapping"),
    ],
)
def test_candidate_regions_rejects_bad_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        candidate_regions(SCORE, GRID, **kwargs)


def test_candidate_regions_rejects_score_not_on_grid():
    with pytest.raises(InputError, match=r"score has shape \(5, 6\) but the grid has shape"):
        candidate_regions(SCORE[:5], GRID, threshold=0.5)
    with pytest.raises(InputError, match=r"grid must be a gis\.grid\.Grid"):
        candidate_regions(SCORE, (6, 6), threshold=0.5)


# ---------------------------------------------------------------------- brute force
def _brute_force_regions(score, threshold, connectivity, factor):
    """Regions as (cells, mean, max, factor mean) by flood fill, in any order."""
    rows, cols = score.shape
    passing = {(i, j) for i in range(rows) for j in range(cols) if score[i, j] >= threshold}
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    seen, regions = set(), []
    for start in sorted(passing):
        if start in seen:
            continue
        seen.add(start)
        queue, cells = deque([start]), []
        while queue:
            i, j = queue.popleft()
            cells.append((i, j))
            for di, dj in steps:
                nb = (i + di, j + dj)
                if nb in passing and nb not in seen:
                    seen.add(nb)
                    queue.append(nb)
        values = [float(score[c]) for c in cells]
        fvalues = [float(factor[c]) for c in cells if not math.isnan(factor[c])]
        regions.append(
            (
                frozenset(cells),
                math.fsum(values) / len(values),
                max(values),
                math.fsum(fvalues) / len(fvalues) if fvalues else math.nan,
            )
        )
    return regions


_small = st.tuples(st.integers(1, 7), st.integers(1, 7))
_levels = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, np.nan])


@settings(max_examples=40, deadline=None)
@given(
    st.data(),
    _small,
    st.sampled_from([4, 8]),
    st.sampled_from([0.25, 0.5, 0.75]),
    st.integers(0, 3),
)
def test_candidate_regions_agree_with_brute_force(data, shape, connectivity, threshold, min_cells):
    score = data.draw(hnp.arrays(np.float64, shape, elements=_levels))
    factor = data.draw(
        hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.5, -4.0, np.nan]))
    )
    grid = Grid.from_bounds((0, 0, 20 * shape[1], 20 * shape[0]), cell_size=20, crs=CRS)
    r = candidate_regions(
        score,
        grid,
        threshold=threshold,
        connectivity=connectivity,
        min_area=min_cells * grid.cell_area,
        factors={"f": factor},
    )
    expected = {
        cells: (mean, mx, fmean)
        for cells, mean, mx, fmean in _brute_force_regions(score, threshold, connectivity, factor)
        if len(cells) >= min_cells
    }
    assert len(r) == len(expected)
    assert r["rank"].tolist() == list(range(1, len(r) + 1))
    got_cells = set()
    for row in r.itertuples():
        cells = frozenset(_cells(row.geometry, grid))
        assert cells in expected
        got_cells.add(cells)
        mean, mx, fmean = expected[cells]
        assert row.n_cells == len(cells)
        assert row.mean_score == pytest.approx(mean, rel=1e-12)
        assert row.max_score == mx
        assert row.area_ha == pytest.approx(len(cells) * grid.cell_area / 1e4, rel=1e-12)
        if math.isnan(fmean):
            assert math.isnan(row.f)
        else:
            assert row.f == pytest.approx(fmean, rel=1e-12, abs=1e-12)
        assert row.geometry.is_valid
        assert row.geometry.area == pytest.approx(len(cells) * grid.cell_area, rel=1e-12)
    assert got_cells == set(expected)
    # ranking: mean score descending, then area descending
    keys = list(zip(-r["mean_score"], -r["n_cells"], strict=True))
    assert keys == sorted(keys)


@given(
    values=hnp.arrays(
        np.float32,
        st.integers(1, 400),
        elements=st.sampled_from([np.nan, -1.0, 0.0, 0.25, 0.5, 1.0, 3.0]),
    ),
    k_share=st.floats(0.0, 1.0),
    sample=st.integers(1, 64),
)
@settings(max_examples=200, deadline=None)
def test_kth_largest_matches_a_full_sort(values, k_share, sample):
    """The sampled bound never changes the cutoff: the k-th largest of a full sort."""
    import gis._regions as regions_private

    valid = np.sort(values[~np.isnan(values)])[::-1]
    if valid.size == 0:
        return
    k = max(1, min(valid.size, round(k_share * valid.size)))
    old = regions_private._SAMPLE
    regions_private._SAMPLE = sample  # a coarse stride, often blind to the top values
    try:
        got = regions_private.kth_largest(values, k, valid.size)
    finally:
        regions_private._SAMPLE = old
    assert got == valid[k - 1]


def test_top_percent_cutoff_when_the_sample_misses_the_best_cells(monkeypatch):
    import gis._regions as regions_private

    monkeypatch.setattr(regions_private, "_SAMPLE", 8)
    score = np.zeros((10, 10), dtype=np.float32)
    score.ravel()[1::12] = np.arange(1, 10, dtype=np.float32)  # between the sampled cells
    mask = regions_private.selection_mask(score, None, 5)
    assert np.count_nonzero(mask) == 5
    assert score[mask].min() == 5.0
