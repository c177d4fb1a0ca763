"""gis.distance: exact distance to points, distance to lines and polygons, their minimum."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from shapely import LineString, box

from gis import distance
from gis.distance import euclidean_distance, nearest_point, shape_distance
from gis.errors import InputError
from gis.grid import Grid
from tests.helpers import traced_peak

CRS = "EPSG:32650"


def snapped_points(grid: Grid, n: int, rng: np.random.Generator):
    """``n`` distinct cells, their centres as points, and the boolean mask of those cells."""
    flat = rng.choice(grid.height * grid.width, size=n, replace=False)
    rows, cols = np.divmod(flat, grid.width)
    xs, ys = grid.centers()
    mask = np.zeros(grid.shape, dtype=bool)
    mask[rows, cols] = True
    return xs[cols], ys[rows], mask


def brute_nearest(grid, x, y, priority, offset, cap):
    """Every cell against every point in tie-break order, by the formula of nearest_point."""
    rank = np.lexsort((np.arange(x.size), -priority))  # points in tie-break order
    xs, ys = grid.centers()
    dx2 = np.square((xs[None, None, :] - x[rank][:, None, None]).astype("float32"))
    dy2 = np.square((ys[None, :, None] - y[rank][:, None, None]).astype("float32"))
    d2 = dy2 + dx2
    value = np.sqrt(d2) + offset[rank].astype("float32")[:, None, None] if offset.any() else d2
    best = value.argmin(axis=0)  # first of equal minima: the best-ranked point
    dist = np.take_along_axis(value, best[None], axis=0)[0]
    dist = dist if offset.any() else np.sqrt(dist)
    index = rank[best].astype("int32")
    far = dist > cap
    dist[far], index[far] = cap, -1
    return dist, index


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 140),
    width=st.integers(1, 140),
    n=st.integers(1, 25),
    seed=st.integers(0, 2**32 - 1),
    with_offset=st.booleans(),
    tied=st.booleans(),
    capped=st.booleans(),
    workers=st.sampled_from([1, 2]),
    kd_tree=st.booleans(),
)
def test_nearest_point_equals_brute_force(height, width, n, seed, with_offset, tied, capped,
                                          workers, kd_tree):  # fmt: skip
    """Distances and indices equal a brute-force search bit for bit: tiles cut by the grid
    edge, points outside the grid, equal distances broken by priority then input order,
    offsets, a cap, one or two threads, the candidates found by scipy's k-d tree or by the
    search over few points."""
    with pytest.MonkeyPatch.context() as m:
        if kd_tree:
            m.setattr(distance, "FEW_POINTS", 0)
        _nearest_point_equals_brute_force(height, width, n, seed, with_offset, tied, capped,
                                          workers)  # fmt: skip


def _nearest_point_equals_brute_force(height, width, n, seed, with_offset, tied, capped,
                                      workers):  # fmt: skip
    rng = np.random.default_rng(seed)
    cell = 10.0
    grid = Grid.from_bounds((1000.0, 2000.0, 1000.0 + width * cell, 2000.0 + height * cell),
                            cell_size=cell, crs=CRS)  # fmt: skip
    x = rng.uniform(700.0, 1300.0 + width * cell, n)
    y = rng.uniform(1700.0, 2300.0 + height * cell, n)
    if tied:  # cell centres and repeated points make many exact ties
        x = 1005.0 + cell * np.floor((x - 1000.0) / cell)
        y = 2005.0 + cell * np.floor((y - 2000.0) / cell)
        x[n // 2 :] = x[: n - n // 2]
        y[n // 2 :] = y[: n - n // 2]
    priority = rng.integers(0, 3, n).astype("float64")
    offset = rng.uniform(0.0, 200.0, n) * rng.integers(0, 2, n) if with_offset else np.zeros(n)
    cap = float(rng.uniform(20.0, 400.0)) if capped else np.inf
    got = nearest_point(grid, x, y, priority=priority, offset=offset if with_offset else None,
                        max_distance=cap if capped else None, workers=workers)  # fmt: skip
    want_d, want_i = brute_nearest(grid, x, y, priority, offset, cap)
    np.testing.assert_array_equal(got.distance, want_d)
    np.testing.assert_array_equal(got.index, want_i)
    alone = nearest_point(grid, x, y, priority=priority, offset=offset if with_offset else None,
                          max_distance=cap if capped else None, return_index=False)  # fmt: skip
    np.testing.assert_array_equal(alone.distance, want_d)
    # lowering another distance in place: the smaller of the two in every cell
    other = rng.uniform(0.0, 600.0, grid.shape).astype("float32")
    lowered = other.copy()
    into = nearest_point(grid, x, y, priority=priority, offset=offset if with_offset else None,
                         max_distance=cap if capped else None, return_index=False,
                         lower=lowered)  # fmt: skip
    assert into.distance is lowered
    np.testing.assert_array_equal(lowered, np.minimum(np.minimum(other, want_d), np.float32(cap)))


def test_nearest_point_lowers_only_the_tiles_of_the_mask():
    grid = Grid.from_bounds((0, 0, 1000, 1000), cell_size=10, crs=CRS)  # 100 x 100: 4 tiles
    mask = np.zeros(grid.shape, dtype=bool)
    mask[70, 10] = True  # one cell in the lower left tile
    other = np.full(grid.shape, 500.0, dtype="float32")
    nearest_point(grid, [5.0], [995.0], return_index=False, mask=mask, lower=other)
    full = nearest_point(grid, [5.0], [995.0], return_index=False).distance
    np.testing.assert_array_equal(other[64:, :64], np.minimum(full[64:, :64], 500.0))
    assert (other[:64] == 500.0).all() and (other[:, 64:] == 500.0).all()
    for bad in (other.astype("float64"), other[:, :50], other.T.copy()[:, :50]):
        with pytest.raises(InputError, match="lower must be"):
            nearest_point(grid, [5.0], [995.0], return_index=False, lower=bad)
    with pytest.raises(InputError, match="return_index=False"):
        nearest_point(grid, [5.0], [995.0], lower=other)


def test_shape_distance_outside_parts_lower_the_raster_in_place():
    """Lines leaving the grid: the points of their outer parts lower the transform's
    result where they are nearer, with no second grid (nor a mask of cells)."""
    grid = Grid.from_bounds((0, 0, 20_000, 20_000), cell_size=10, crs=CRS)  # 16 MB a grid
    lines = [LineString([(-3000, y), (3000, y + 500)]) for y in range(500, 19_500, 6000)]
    shape_distance(grid, lines)  # imports and caches outside the measurement
    got, peak = traced_peak(lambda: shape_distance(grid, lines))
    # the float32 result, the one-byte mask of the transform and the look-ups of 262,144
    # cells at a time (about 19 MB here): no second float32 grid, no mask of cells (the
    # earlier code peaked at 81 MB)
    assert peak < got.nbytes + grid.height * grid.width + 24 * 2**20
    want = np.minimum.reduce([shape_distance(grid, [line]) for line in lines])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("n", "cell"), [(1, 10.0), (7, 25.0), (300, 100.0), (3000, 30.0)])
def test_points_equal_scipy_edt_on_snapped_points(n, cell):
    grid = Grid.from_bounds((500_000, 4_000_000, 500_000 + 150 * cell, 4_000_000 + 110 * cell),
                            cell_size=cell, crs=CRS)  # fmt: skip
    x, y, mask = snapped_points(grid, n, np.random.default_rng(n))
    want = ndimage.distance_transform_edt(~mask, sampling=cell)
    got = nearest_point(grid, x, y, return_index=False).distance
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(euclidean_distance(grid, shapely.points(x, y)), want, rtol=1e-6,
                               atol=1e-3)  # fmt: skip


def test_dense_tiles_agree_with_the_vectorised_tiles_bit_for_bit(monkeypatch):
    grid = Grid.from_bounds((0, 0, 3000, 2000), cell_size=10, crs=CRS)
    rng = np.random.default_rng(3)
    x, y = rng.normal(1500, 400, 4000), rng.normal(1000, 300, 4000)
    with_index = nearest_point(grid, x, y).distance  # never takes the per-cell lookup
    lookup = nearest_point(grid, x, y, return_index=False).distance
    np.testing.assert_array_equal(lookup, with_index)
    monkeypatch.setattr(distance, "DENSE", 0)  # every tile looked up cell by cell
    np.testing.assert_array_equal(nearest_point(grid, x, y, return_index=False).distance,
                                  with_index)  # fmt: skip
    capped = nearest_point(grid, x, y, return_index=False, max_distance=15.0).distance
    np.testing.assert_array_equal(capped, np.minimum(with_index, np.float32(15.0)))
    monkeypatch.setattr(distance, "FEW_POINTS", 10**6)  # the 4000 points searched by brute force
    np.testing.assert_array_equal(nearest_point(grid, x, y, return_index=False).distance,
                                  with_index)  # fmt: skip
    monkeypatch.setattr(distance, "DENSE", 48)
    np.testing.assert_array_equal(nearest_point(grid, x, y).distance, with_index)


def test_few_points_answer_the_k_d_tree_queries_as_scipy_does():
    """The brute-force search gives scipy's nearest distances, points within a radius (in
    index order) and their counts, and the upper bound's misses."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(9)
    pts = rng.uniform(0, 100, (300, 2))
    q = rng.uniform(-20, 120, (5000, 2))
    few, kd = distance._FewPoints(pts), cKDTree(pts)
    (d1, i1), (d2, i2) = few.query(q), kd.query(q)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)
    np.testing.assert_array_equal(i1, i2)  # no exact ties among uniform doubles
    (d1, i1), (d2, i2) = (
        few.query(q, distance_upper_bound=5.0),
        kd.query(q, distance_upper_bound=5.0),
    )
    np.testing.assert_array_equal(i1, i2)
    assert np.isinf(d1[i1 == 300]).all() and (i1 == 300).any()
    r = rng.uniform(0, 15, len(q))
    got, want = few.query_ball_point(q, r), kd.query_ball_point(q, r, return_sorted=True)
    assert [g.tolist() for g in got] == [list(w) for w in want]
    np.testing.assert_array_equal(few.query_ball_point(q, r, return_length=True),
                                  kd.query_ball_point(q, r, return_length=True))  # fmt: skip


def test_a_distance_to_few_points_imports_no_scipy():
    """Up to FEW_POINTS points, distances need no scipy (37 MB of memory)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from gis.grid import Grid; "
        "from gis.distance import euclidean_distance; import shapely; "
        "g = Grid.from_bounds((0, 0, 1000, 1000), cell_size=10, crs=32635); "
        "xy = np.random.default_rng(1).uniform(0, 1000, (50, 2)); "
        "euclidean_distance(g, shapely.points(xy)); "
        "print(sorted(m for m in sys.modules if m.startswith('scipy.spatial')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mixed_points_and_lines_is_the_minimum_of_the_two_paths():
    grid = Grid.from_bounds((0, 0, 2000, 1500), cell_size=20, crs=CRS)
    rng = np.random.default_rng(8)
    px, py = rng.uniform(-300, 2300, 40), rng.uniform(-300, 1800, 40)
    lines = [LineString(rng.uniform(-500, 2500, (3, 2))) for _ in range(6)]
    polys = [box(100, 100, 260, 180), box(1900, 1400, 2300, 1700)]
    mixed = euclidean_distance(grid, list(shapely.points(px, py)) + lines + polys)
    points_only = nearest_point(grid, px, py, return_index=False).distance
    shapes_only = shape_distance(grid, lines + polys)
    np.testing.assert_array_equal(mixed, np.minimum(points_only, shapes_only))
    # and the lines path is the distance transform of the rasterised lines inside the grid,
    # lowered only by the parts outside it
    inside = shapely.intersection(np.array(lines + polys, dtype=object), shapely.box(*grid.bounds))
    raster = grid.rasterize(inside[~shapely.is_empty(inside)], all_touched=True)
    edt = ndimage.distance_transform_edt(~raster, sampling=20.0)
    assert (shapes_only <= edt + 1e-3).all()
    assert (shapes_only[raster] == 0).all()


@pytest.mark.parametrize("pairs", [0, 2**62])  # the look-ups by k-d tree, or by brute force
def test_outer_parts_lower_the_transform_exactly_as_their_points_do(monkeypatch, pairs):
    """Outer parts are points every cell_size metres along them; each tile looks only at
    the points that could beat its largest value, yet every cell gets the minimum."""
    monkeypatch.setattr(distance, "BRUTE_FORCE_PAIRS", pairs)
    grid = Grid.from_bounds((0, 0, 6000, 5000), cell_size=10, crs=CRS)
    rng = np.random.default_rng(12)
    starts = rng.uniform(0, 6000, (30, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.normal(0, 2500, (30, 2))], axis=1))
    frame = shapely.box(*grid.bounds)
    inside, outer = shapely.intersection(lines, frame), shapely.difference(lines, frame)
    outer = outer[~shapely.is_empty(outer)]
    assert outer.size >= 5  # several lines leave the grid
    xy = shapely.get_coordinates(shapely.segmentize(outer, 10.0))
    want = np.minimum(
        shape_distance(grid, inside[~shapely.is_empty(inside)]),
        nearest_point(grid, xy[:, 0], xy[:, 1], return_index=False).distance,
    )
    np.testing.assert_array_equal(shape_distance(grid, lines), want)


def test_shape_distance_parts_outside_the_grid_count_where_nearer():
    grid = Grid.from_bounds((0, 0, 100, 10), cell_size=10, crs=CRS)
    # a line running outside along the whole top edge, 5 m above it, touching the grid
    # only at its left end through a short spur
    line = LineString([(5, 5), (5, 15), (95, 15)])
    got = shape_distance(grid, [line])
    np.testing.assert_allclose(got[0, 1:], 10.0, atol=1e-5)  # 10 m to the outer part
    assert got[0, 0] == 0.0


def _edt_reference(mask: np.ndarray, cell: float) -> np.ndarray:
    """float32(sqrt(dr² + dc²) · cell) from scipy's feature transform, in float64."""
    rows, cols = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
    dr = rows - np.arange(mask.shape[0], dtype="float64")[:, None]
    dc = cols - np.arange(mask.shape[1], dtype="float64")[None, :]
    return (np.sqrt(dr * dr + dc * dc) * cell).astype("float32")


def test_edt_matches_the_feature_transform_to_one_ulp():
    rng = np.random.default_rng(11)
    mask = np.zeros((240, 130), dtype=bool)
    mask[rng.integers(0, 240, 25), rng.integers(0, 130, 25)] = True
    mask[100, 10:90] = True
    want = _edt_reference(mask, 7.5)
    one = distance._edt(mask.copy(), 7.5, 1)
    np.testing.assert_array_max_ulp(one, want, maxulp=1)
    assert one.dtype == np.float32 and one[100, 50] == 0.0
    # the value of a cell does not depend on how many threads share the transform
    np.testing.assert_array_equal(distance._edt(mask.copy(), 7.5, 2), one)


def test_edt_offsets_beyond_float32_integers():
    mask = np.zeros((46_400, 2), dtype=bool)  # squared offsets above 2**31 (cells)
    mask[0, 1] = True
    out = distance._edt(mask.copy(), 10.0, 2)
    np.testing.assert_array_max_ulp(out, _edt_reference(mask, 10.0), maxulp=1)
    np.testing.assert_array_max_ulp(out[-1, 0], np.float32(np.hypot(46_399, 1) * 10.0), maxulp=1)
