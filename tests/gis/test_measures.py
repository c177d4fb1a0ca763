"""Tests for gis.measures against brute force and hand-checked values."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiPoint, Point, Polygon, box

import gis.convolve as convolve
from gis import _validate, distance, measures
from gis import settings as gis_settings
from gis.distance import euclidean_distance
from gis.errors import InputError, NoDataError
from gis.grid import Grid
from gis.measures import (
    KERNELS,
    Kernel,
    count_within,
    coverage,
    focal_mean,
    kernel_density,
)

CRS = "EPSG:32635"


def small_grid(cell: float = 7.0, rows: int = 23, cols: int = 31) -> Grid:
    return Grid.from_bounds(
        (1000, 2000, 1000 + cols * cell, 2000 + rows * cell), cell_size=cell, crs=CRS
    )


def centre_points(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = grid.centers()
    return np.meshgrid(xs, ys)


def brute_point_distance(grid: Grid, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    cx, cy = centre_points(grid)
    d = np.hypot(cx[..., None] - px, cy[..., None] - py)
    return d.min(axis=-1)


def brute_geometry_distance(grid: Grid, geoms: list) -> np.ndarray:
    cx, cy = centre_points(grid)
    return shapely.distance(shapely.points(cx, cy), shapely.union_all(geoms))


# ---------------------------------------------------------------------- euclidean
def test_euclidean_points_exact_against_brute_force():
    grid = small_grid()
    rng = np.random.default_rng(1)
    left, bottom, right, top = grid.bounds
    px = rng.uniform(left - 40, right + 40, 12)
    py = rng.uniform(bottom - 40, top + 40, 12)
    geoms = [Point(a, b) for a, b in zip(px[:8], py[:8], strict=True)]
    geoms.append(MultiPoint(np.column_stack([px[8:], py[8:]])))
    got = euclidean_distance(grid, geoms)
    assert got.dtype == np.float32 and got.shape == grid.shape
    np.testing.assert_allclose(got, brute_point_distance(grid, px, py), atol=1e-3, rtol=0)


def test_euclidean_points_outside_grid_only():
    grid = small_grid(cell=10, rows=3, cols=4)
    left, _, _, top = grid.bounds
    got = euclidean_distance(grid, [Point(left - 95, top - 5)])
    np.testing.assert_allclose(got[0], [100, 110, 120, 130], atol=1e-3)


def random_shapes(grid: Grid, rng: np.random.Generator) -> list:
    left, bottom, right, top = grid.bounds
    w, h = right - left, top - bottom
    shapes = []
    for _ in range(3):  # lines, some crossing the grid edge
        pts = np.column_stack(
            [
                rng.uniform(left - 0.3 * w, right + 0.3 * w, 3),
                rng.uniform(bottom - 0.3 * h, top + 0.3 * h, 3),
            ]
        )
        shapes.append(LineString(pts))
    cx, cy = rng.uniform(left, right), rng.uniform(bottom, top)
    shapes.append(Point(cx, cy).buffer(0.2 * min(w, h)))
    shapes.append(box(right + 20, bottom + 10, right + 60, bottom + 30))  # fully outside
    shapes.append(Polygon([(left - 15, top - 3), (left + 33, top + 40), (left + 5, top + 60)]))
    return shapes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_euclidean_shapes_within_half_cell_diagonal(seed):
    grid = small_grid()
    shapes = random_shapes(grid, np.random.default_rng(seed))
    got = euclidean_distance(grid, shapes)
    want = brute_geometry_distance(grid, shapes)
    bound = grid.cell_size / math.sqrt(2) + 1e-3
    assert np.abs(got - want).max() <= bound
    # cells whose centre is inside a polygon (or on a line) are at distance 0
    assert (got[want == 0] == 0).all()


@given(seed=st.integers(0, 2**32 - 1), cell=st.sampled_from([1.0, 3.0, 10.0]))
@settings(max_examples=40, deadline=None)
def test_euclidean_lines_error_bound_property(seed, cell):
    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 12 * cell, 9 * cell), cell_size=cell, crs=CRS)
    n = rng.integers(1, 4)
    lines = [LineString(rng.uniform(-3 * cell, 14 * cell, (2, 2))) for _ in range(n)]
    got = euclidean_distance(grid, lines)
    want = brute_geometry_distance(grid, lines)
    assert np.abs(got - want).max() <= cell / math.sqrt(2) + 1e-4 * cell


def test_euclidean_mixed_is_minimum_of_parts():
    grid = small_grid()
    rng = np.random.default_rng(5)
    shapes = random_shapes(grid, rng)[:3]
    left, bottom, right, top = grid.bounds
    pts = [Point(rng.uniform(left, right), rng.uniform(bottom, top)) for _ in range(4)]
    mixed = euclidean_distance(grid, shapes + pts)
    np.testing.assert_array_equal(
        mixed, np.minimum(euclidean_distance(grid, shapes), euclidean_distance(grid, pts))
    )


def test_euclidean_hand_checked_line_and_polygon():
    grid = Grid.from_bounds((0, 0, 50, 30), cell_size=10, crs=CRS)
    # vertical line through column 0; filled square over cell (1, 4)
    got = euclidean_distance(grid, [LineString([(2, 0), (2, 30)]), box(41, 11, 49, 19)])
    r = math.hypot(10, 10)
    want = [[0, 10, 20, r, 10], [0, 10, 20, 10, 0], [0, 10, 20, r, 10]]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_euclidean_max_distance_caps():
    grid = small_grid()
    shapes = random_shapes(grid, np.random.default_rng(3))
    pts = [Point(1010, 2010)]
    full = euclidean_distance(grid, shapes + pts)
    capped = euclidean_distance(grid, shapes + pts, max_distance=25.0)
    np.testing.assert_array_equal(capped, np.minimum(full, np.float32(25.0)))


def test_euclidean_far_feature_with_max_distance_gives_cap():
    grid = small_grid()
    got = euclidean_distance(grid, [LineString([(0, 0), (1, 1)])], max_distance=50)
    assert (got == 50).all()


def test_euclidean_geoseries_and_crs_check():
    grid = small_grid()
    s = gpd.GeoSeries([Point(1010, 2010), None, LineString()], crs=CRS)
    before = s.copy()
    got = euclidean_distance(grid, s)
    np.testing.assert_allclose(
        got, brute_point_distance(grid, np.array([1010.0]), np.array([2010.0])), atol=1e-3
    )
    assert s.equals(before) and s.isna().sum() == 1
    with pytest.raises(InputError, match="reproject"):
        euclidean_distance(grid, s.set_crs("EPSG:32636", allow_override=True))
    with pytest.raises(InputError, match="shapely"):
        euclidean_distance(grid, ["not a geometry"])


@pytest.mark.parametrize("empty", [[], [None], [LineString(), Point()], gpd.GeoSeries([], crs=CRS)])
def test_euclidean_no_features_raises_nodata(empty):
    with pytest.raises(NoDataError, match="no features"):
        euclidean_distance(small_grid(), empty)


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf])
def test_euclidean_bad_max_distance(bad):
    with pytest.raises(InputError, match="max_distance"):
        euclidean_distance(small_grid(), [Point(0, 0)], max_distance=bad)


def test_edt_matches_scipy():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    mask = rng.random((37, 29)) < 0.02
    mask[0, 0] = True
    out = distance._edt(mask.copy(), 2.5, 2)
    np.testing.assert_allclose(out, ndimage.distance_transform_edt(~mask, sampling=2.5), rtol=1e-6)


# ---------------------------------------------------------------------- kernel density
def direct_density(grid, px, py, w, kernel: Kernel, h):
    cx, cy = centre_points(grid)
    d = np.hypot(cx[..., None] - px, cy[..., None] - py)
    k = np.where(d <= kernel.support * h * (1 + 1e-12), kernel.function(d, h), 0.0)
    return (k * w).sum(axis=-1) * 1e6


def cell_centred_points(grid: Grid, n: int, margin: int, rng):
    """Points on cell centres of the grid padded by ``margin`` cells (some repeated)."""
    c = grid.cell_size
    left, _, _, top = grid.bounds
    col = rng.integers(-margin, grid.width + margin, n)
    row = rng.integers(-margin, grid.height + margin, n)
    col[: n // 5] = col[n // 5 : 2 * (n // 5)]  # duplicates share a cell
    row[: n // 5] = row[n // 5 : 2 * (n // 5)]
    return left + (col + 0.5) * c, top - (row + 0.5) * c


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_density_matches_direct_sum(name):
    grid = small_grid(cell=10)
    rng = np.random.default_rng(7)
    h = 45.0
    px, py = cell_centred_points(grid, 60, margin=16, rng=rng)
    w = rng.uniform(0.5, 3.0, px.size)
    got = kernel_density(grid, px, py, bandwidth=h, weights=w, kernel=name)
    want = direct_density(grid, px, py, w, KERNELS[name], h)
    assert got.dtype == np.float32 and got.shape == grid.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * want.max())


def test_kernel_density_callable_kernel_and_hand_value():
    grid = Grid.from_bounds((0, 0, 30, 30), cell_size=10, crs=CRS)

    def cone(d, h):
        return 3.0 / (np.pi * h * h) * (1 - d / h)

    got = kernel_density(grid, [15.0], [15.0], bandwidth=20.0, kernel=cone)
    k0 = 3.0 / (np.pi * 400) * 1e6
    diag = k0 * (1 - math.sqrt(200) / 20)
    want = np.array([[diag, k0 / 2, diag], [k0 / 2, k0, k0 / 2], [diag, k0 / 2, diag]])
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("name", ["quartic", "gaussian"])
def test_kernel_density_integrates_to_point_count(name):
    grid = Grid.from_bounds((0, 0, 3000, 3000), cell_size=10, crs=CRS)
    rng = np.random.default_rng(11)
    px, py = rng.uniform(1200, 1800, (2, 40))
    dens = kernel_density(grid, px, py, bandwidth=150.0, kernel=name)
    total = dens.sum(dtype="float64") * grid.cell_area / 1e6
    assert total == pytest.approx(40, rel=2e-3)


def test_kernel_density_points_far_away_or_none_give_zero():
    grid = small_grid(cell=10)
    assert not kernel_density(grid, [], [], bandwidth=50).any()
    assert not kernel_density(grid, [0.0], [0.0], bandwidth=50).any()
    assert not kernel_density(grid, [1050.0], [2050.0], bandwidth=50, weights=[0.0]).any()


def test_kernel_density_zero_far_from_points():
    grid = Grid.from_bounds((0, 0, 1000, 1000), cell_size=10, crs=CRS)
    dens = kernel_density(grid, [55.0, 65.0], [55.0, 55.0], bandwidth=50)
    cx, cy = centre_points(grid)
    far = np.hypot(cx - 60, cy - 55) > 60
    assert (dens[far] == 0).all() and (dens >= 0).all() and dens.max() > 0


def test_kernel_density_inputs_unmodified():
    grid = small_grid(cell=10)
    x = np.array([1050.0, 1100.0, 1150.0])
    y = np.array([2050.0, 2100.0, 2020.0])
    w = np.array([1.0, 2.0, 3.0])
    copies = (x.copy(), y.copy(), w.copy())
    kernel_density(grid, x, y, bandwidth=30, weights=w)
    for a, b in zip((x, y, w), copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bandwidth": 5.0}, "smaller than the cell size"),
        ({"bandwidth": -20.0}, "bandwidth"),
        ({"bandwidth": math.nan}, "bandwidth"),
        ({"bandwidth": 20.0, "weights": [1.0]}, "one value per point"),
        ({"bandwidth": 20.0, "weights": [1.0, -1.0]}, "non-negative"),
        ({"bandwidth": 20.0, "kernel": "epanechnikov"}, "unknown kernel"),
        ({"bandwidth": 20.0, "kernel": 3}, "kernel"),
    ],
)
def test_kernel_density_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        kernel_density(small_grid(cell=10), [1.0, 2.0], [1.0, 2.0], **kwargs)


def test_kernel_density_mismatched_coordinates():
    with pytest.raises(InputError, match="equal length"):
        kernel_density(small_grid(cell=10), [1.0, 2.0], [1.0], bandwidth=20)
    with pytest.raises(InputError, match="finite"):
        kernel_density(small_grid(cell=10), [np.nan], [1.0], bandwidth=20)


def test_count_within_matches_brute_force():
    grid = small_grid(cell=10)
    rng = np.random.default_rng(4)
    px, py = cell_centred_points(grid, 80, margin=5, rng=rng)
    got = count_within(grid, px, py, radius=32.0)
    cx, cy = centre_points(grid)
    want = (np.hypot(cx[..., None] - px, cy[..., None] - py) <= 32.0).sum(axis=-1)
    np.testing.assert_array_equal(got, want.astype("float32"))
    w = rng.uniform(0, 2, px.size)
    got_w = count_within(grid, px, py, radius=32.0, weights=w)
    want_w = ((np.hypot(cx[..., None] - px, cy[..., None] - py) <= 32.0) * w).sum(axis=-1)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-4, atol=1e-4)
    with pytest.raises(InputError, match="radius"):
        count_within(grid, px, py, radius=-1)


# ---------------------------------------------------------------------- focal mean
def brute_focal_mean(a: np.ndarray, r: float) -> np.ndarray:
    p = math.floor(r)
    padded = np.pad(a.astype("float64"), p, constant_values=np.nan)
    h, w = a.shape
    stack = np.stack(
        [
            padded[p + i : p + i + h, p + j : p + j + w]
            for i in range(-p, p + 1)
            for j in range(-p, p + 1)
            if i * i + j * j <= r * r
        ]
    )
    valid = np.isfinite(stack)
    count = valid.sum(axis=0)
    total = np.where(valid, stack, 0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@pytest.mark.parametrize("radius", [0.0, 1.0, 1.5, 2.9, 4.3])
def test_focal_mean_matches_brute_force(radius):
    rng = np.random.default_rng(int(radius * 10))
    a = rng.normal(10, 3, (19, 24))
    a[rng.random(a.shape) < 0.2] = np.nan
    a[3, 4] = np.inf
    before = a.copy()
    got = focal_mean(a, radius_cells=radius)
    assert got.dtype == np.float32
    a_nan = np.where(np.isfinite(a), a, np.nan)
    np.testing.assert_allclose(got, brute_focal_mean(a_nan, radius), rtol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(a, before)
    kept = focal_mean(a, radius_cells=radius, keep_nan=True)
    assert np.isnan(kept[~np.isfinite(a)]).all()
    np.testing.assert_array_equal(kept[np.isfinite(a)], got[np.isfinite(a)])


@pytest.mark.parametrize("radius", [0.0, 1.0, 2.9, 4.3, 30.0])
@pytest.mark.parametrize("shape", [(19, 24), (3, 40), (50, 2)])
def test_focal_mean_all_valid_matches_brute_force(radius, shape):
    """Without missing cells the window counts come from the grid edges alone."""
    a = np.random.default_rng(len(shape) + int(radius)).uniform(0, 5, shape)
    got = focal_mean(a, radius_cells=radius)
    np.testing.assert_allclose(got, brute_focal_mean(a, radius), rtol=1e-5)
    masked = a.copy()
    masked[0, 0] = np.nan  # the general path, with per-window counts of valid cells
    want = focal_mean(masked, radius_cells=radius)
    far = brute_focal_mean(masked, radius) == brute_focal_mean(a, radius)
    np.testing.assert_allclose(got[far], want[far], rtol=1e-6)


def test_focal_mean_constant_and_empty():
    np.testing.assert_allclose(focal_mean(np.full((30, 40), 2.5), radius_cells=6), 2.5, rtol=1e-6)
    assert np.isnan(focal_mean(np.full((3, 3), np.nan), radius_cells=1)).all()
    a = np.full((1, 9), np.nan)
    a[0, 0] = 1.0
    got = focal_mean(a, radius_cells=2)
    np.testing.assert_array_equal(np.isnan(got[0]), [False] * 3 + [True] * 6)


@pytest.mark.parametrize(
    ("array", "radius"),
    [(np.ones((3, 3)), -1), (np.ones((3, 3)), np.nan), (np.ones(5), 1), (np.array([["a"]]), 1)],
)
def test_focal_mean_bad_input(array, radius):
    with pytest.raises(InputError):
        focal_mean(array, radius_cells=radius)


# ---------------------------------------------------------------------- coverage
def test_coverage_hand_checked_square():
    grid = Grid.from_bounds((0, 0, 50, 50), cell_size=10, crs=CRS)
    building = box(10, 20, 25, 30)  # cell (2, 1) full, cell (2, 2) half
    share = coverage(grid, [building], radius=0)
    want = np.zeros(grid.shape, "float32")
    want[2, 1], want[2, 2] = 1.0, 0.5
    np.testing.assert_array_equal(share, want)
    cov = coverage(grid, [building], radius=10)
    assert cov[2, 1] == pytest.approx(1.5 / 5)  # itself, half a neighbour, out of 5 cells
    assert cov[2, 2] == pytest.approx(1.5 / 5)
    assert cov[2, 0] == pytest.approx(1.0 / 4)  # edge cell: 4 cells in the window
    assert cov[0, 0] == 0.0
    cov15 = coverage(grid, [building], radius=15)  # 3 x 3 windows
    assert cov15[1, 1] == pytest.approx(1.5 / 9)
    assert cov15[0, 0] == 0.0 and cov15[4, 4] == 0.0


def test_coverage_overlaps_count_once_and_multipolygons():
    grid = Grid.from_bounds((0, 0, 40, 40), cell_size=10, crs=CRS)
    a = box(0, 30, 10, 40)
    got = coverage(grid, [a, a, shapely.MultiPolygon([a, box(30, 0, 40, 10)])], radius=0)
    want = np.zeros((4, 4), "float32")
    want[0, 0] = want[3, 3] = 1.0
    np.testing.assert_array_equal(got, want)


def test_coverage_supersampled_share_matches_area(monkeypatch):
    grid = Grid.from_bounds((0, 0, 90, 70), cell_size=10, crs=CRS)
    rng = np.random.default_rng(2)
    # axis-aligned rectangles on the 1 m sub-grid lines: shares are exact at supersample 10
    polys = [
        box(x, y, x + w, y + h)
        for x, y, w, h in zip(
            *(
                rng.integers(0, 60, 4),
                rng.integers(0, 50, 4),
                rng.integers(3, 30, 4),
                rng.integers(3, 20, 4),
            ),
            strict=True,
        )
    ]
    cx, cy = centre_points(grid)
    cells = shapely.box(cx - 5, cy - 5, cx + 5, cy + 5)
    want = shapely.area(shapely.intersection(cells, shapely.union_all(polys))) / 100
    monkeypatch.setattr(measures, "_CHUNK_CELLS", 50)  # many row bands
    got = coverage(grid, polys, radius=0, supersample=10)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_coverage_empty_and_bad_input():
    grid = Grid.from_bounds((0, 0, 40, 40), cell_size=10, crs=CRS)
    assert not coverage(grid, [], radius=20).any()
    with pytest.raises(InputError, match="polygons"):
        coverage(grid, [LineString([(0, 0), (10, 10)])], radius=10)
    with pytest.raises(InputError, match="radius"):
        coverage(grid, [box(0, 0, 10, 10)], radius=-10)
    with pytest.raises(InputError, match="supersample"):
        coverage(grid, [box(0, 0, 10, 10)], radius=10, supersample=0)


@given(seed=st.integers(0, 2**32 - 1), supersample=st.integers(1, 5))
@settings(max_examples=30, deadline=None)
def test_cell_fraction_matches_gdal_rasterisation(seed, supersample):
    from affine import Affine

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 130, 90), cell_size=10, crs=CRS)
    polys = []
    for _ in range(rng.integers(1, 6)):  # random valid shapes, either orientation
        c = rng.uniform(-20, 150, 2)
        hull = shapely.convex_hull(MultiPoint(c + rng.uniform(-40, 40, (6, 2))))
        ell = shapely.union(
            box(*c, *(c + rng.uniform(5, 40, 2))),
            box(*(c - rng.uniform(5, 30, 2)), *(c + rng.uniform(1, 9, 2))),
        )
        for shape in (hull, ell):
            polys.append(shapely.reverse(shape) if rng.random() < 0.5 else shape)
    holed = Point(rng.uniform(20, 110), rng.uniform(20, 70)).buffer(30, quad_segs=3)
    polys.append(holed.difference(Point(holed.centroid).buffer(12, quad_segs=2)))
    geoms = _validate.geometries(polys, grid)
    got = measures._cell_fraction(grid, geoms, supersample)
    fine = Grid(
        CRS,
        Affine(10 / supersample, 0, 0, 0, -10 / supersample, 90),
        grid.width * supersample,
        grid.height * supersample,
    )
    want = fine.rasterize(geoms).reshape(grid.height, supersample, grid.width, supersample)
    np.testing.assert_array_equal(got, want.mean(axis=(1, 3)).astype("float32"))


def test_cell_fraction_bands_agree(monkeypatch):
    grid = Grid.from_bounds((0, 0, 200, 300), cell_size=10, crs=CRS)
    rng = np.random.default_rng(9)
    polys = list(
        shapely.buffer(
            shapely.points(rng.uniform(-10, 310, (25, 2))), rng.uniform(3, 60, 25), quad_segs=4
        )
    )
    geoms = _validate.geometries(polys, grid)
    whole = measures._cell_fraction(grid, geoms, 4)
    monkeypatch.setattr(measures, "_CHUNK_CELLS", 1)  # one cell row per band
    np.testing.assert_array_equal(measures._cell_fraction(grid, geoms, 4), whole)
    assert 0 < whole.mean() < 1
    monkeypatch.setattr(measures, "_EDGE_BATCH", 7)  # ring edges collected a few polygons at a time
    np.testing.assert_array_equal(measures._cell_fraction(grid, geoms, 4), whole)


@pytest.mark.parametrize("supersample", [1, 3, 4])
def test_cell_fraction_matches_point_in_polygon(supersample):
    """Covered sub-cells counted by shapely point-in-polygon tests of their centres."""
    grid = Grid.from_bounds((0, 0, 170, 110), cell_size=10, crs=CRS)
    rng = np.random.default_rng(supersample)
    centres = rng.uniform(-15, 185, (40, 2))
    polys = list(shapely.box(*(centres - 9).T, *(centres + rng.uniform(1, 25, (40, 2))).T))
    ring = Point(80, 50).buffer(40, quad_segs=5).difference(Point(85, 55).buffer(15))
    polys += [ring, shapely.reverse(ring), box(0, 0, 170, 3.3)]  # overlaps, a hole, a strip
    geoms = _validate.geometries(polys, grid)
    got = measures._cell_fraction(grid, geoms, supersample)
    d = 10 / supersample
    u = (np.arange(grid.width * supersample) + 0.5) * d
    v = 110 - (np.arange(grid.height * supersample) + 0.5) * d
    xx, yy = np.meshgrid(u, v)
    inside = shapely.contains_xy(shapely.union_all(geoms), xx, yy)
    want = inside.reshape(grid.height, supersample, grid.width, supersample).mean(axis=(1, 3))
    np.testing.assert_array_equal(got, want.astype("float32"))


def test_banded_convolution_matches_single_fft(monkeypatch):
    rng = np.random.default_rng(12)
    grid = small_grid(cell=10, rows=150, cols=37)  # 11-row kernels: bands of 44 rows
    px, py = cell_centred_points(grid, 150, margin=6, rng=rng)
    a = rng.normal(size=(150, 37))
    a[rng.random(a.shape) < 0.1] = np.nan
    dens = kernel_density(grid, px, py, bandwidth=55.0)
    mean = focal_mean(a, radius_cells=5.5)
    monkeypatch.setattr(convolve, "SMALL_TILE", 9)  # tiles of a few rows and columns
    np.testing.assert_allclose(
        kernel_density(grid, px, py, bandwidth=55.0), dens, rtol=1e-5, atol=1e-5 * dens.max()
    )
    np.testing.assert_allclose(
        focal_mean(a, radius_cells=5.5), mean, rtol=1e-5, atol=1e-6, equal_nan=True
    )


@pytest.mark.parametrize("mode", ["same", "valid"])
@pytest.mark.parametrize("tile", [None, 5])
def test_convolve_matches_scipy_signal(mode, tile):
    from scipy import signal

    rng = np.random.default_rng(21)
    a = rng.normal(size=(23, 31)).astype("float32")
    k = rng.uniform(size=(7, 5))
    got = convolve.convolve(a, k, mode=mode, tile=tile)
    want = signal.convolve(a.astype("float64"), k, mode=mode, method="direct")
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    with pytest.raises(InputError, match="mode"):
        convolve.convolve(a, k, mode="full")


@pytest.mark.parametrize(("bands", "chunk"), [(32, 1 << 20), (2, 1 << 20), (32, 1)])
@pytest.mark.parametrize("kernel", ["quartic", "gaussian", "uniform"])
def test_density_splat_and_fft_agree(kernel, bands, chunk, monkeypatch):
    """Both exact methods give the same density to float32 round-off, band by band."""
    monkeypatch.setattr(measures, "_SPLAT_BANDS", bands)  # bands of one stencil side or ...
    monkeypatch.setattr(measures, "_SPLAT_CHUNK", chunk)  # ... one window per call
    grid = Grid.from_bounds((0, 0, 600, 450), cell_size=10, crs=32650)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-60, 660, 300), rng.uniform(-60, 510, 300)
    w = rng.uniform(0, 3, 300)
    h = 45.0
    k = KERNELS[kernel]
    p = math.floor(k.support * h / 10 + 1e-9)
    off = np.arange(-p, p + 1) * 10.0
    d = np.hypot(off[:, None], off[None, :])
    stencil = np.where(d <= k.support * h, k.function(d, h) * 1e6, 0.0)
    splat = measures._point_convolution(grid, x, y, w, stencil, method="splat")
    fft = measures._point_convolution(grid, x, y, w, stencil, method="fft")
    assert splat.dtype == fft.dtype == np.float32 and splat.flags.c_contiguous
    np.testing.assert_allclose(splat, fft, rtol=0, atol=2e-6 * float(fft.max()))
    auto = kernel_density(grid, x, y, bandwidth=h, weights=w, kernel=kernel)
    np.testing.assert_allclose(auto, fft, rtol=0, atol=2e-6 * float(fft.max()))
    # against a direct sum over the points, snapped to their cell centres
    cx = (np.floor(x / 10) + 0.5) * 10
    cy = (np.floor(y / 10) + 0.5) * 10
    gx, gy = grid.centers()
    dist = np.hypot(gx[None, :, None] - cx, gy[:, None, None] - cy)
    direct = (np.where(dist <= k.support * h, k.function(dist, h), 0.0) * w).sum(-1) * 1e6
    np.testing.assert_allclose(splat, direct, rtol=1e-6, atol=1e-6 * direct.max())
    assert (splat[direct == 0] == 0).all()  # no round-off where no stencil reaches


def brute_point_sum(shape, rows, cols, w, stencil):
    """``out[i, j] = Σ w · stencil[r - i, c - j]`` over the cells ``(r, c)`` of the grid
    padded by ``p``, summed in float64 stencil cell by stencil cell."""
    height, width = shape
    side = stencil.shape[0]
    binned = np.zeros((height + side - 1, width + side - 1))
    np.add.at(binned, (rows, cols), w)
    out = np.zeros(shape)
    for a in range(side):
        for b in range(side):
            out += stencil[side - 1 - a, side - 1 - b] * binned[a : a + height, b : b + width]
    return out


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 25),
    width=st.integers(1, 25),
    p=st.integers(0, 5),
    n=st.integers(1, 120),
    bands=st.sampled_from([1, 3, 32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_splat_matches_brute_force_sum(height, width, p, n, bands, seed):
    """Points anywhere in the padded grid (edges, corners, clusters, repeats), any
    non-negative stencil, any weights: the splat is the float64 sum to float32 round-off."""
    rng = np.random.default_rng(seed)
    side = 2 * p + 1
    stencil = rng.uniform(0, 2, (side, side)) * (rng.uniform(size=(side, side)) < 0.8)
    rows = rng.integers(0, height + 2 * p, n)
    cols = rng.integers(0, width + 2 * p, n)
    if n > 4:  # a dense cluster: many cells in one block
        rows[: n // 2] = rng.integers(0, min(height + 2 * p, side), n // 2)
        cols[: n // 2] = rng.integers(0, min(width + 2 * p, side), n // 2)
    w = rng.uniform(0, 5, n)
    cells, inverse = np.unique(rows * (width + 2 * p) + cols, return_inverse=True)
    weight = np.bincount(inverse, weights=w)
    old = measures._SPLAT_BANDS
    measures._SPLAT_BANDS = bands
    try:
        got = measures._splat((height, width), cells, weight, stencil)
    finally:
        measures._SPLAT_BANDS = old
    want = brute_point_sum((height, width), rows, cols, w, stencil)
    assert got.dtype == np.float32 and got.shape == (height, width) and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(want.max(), 1.0))


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_splat_same_for_any_thread_count(chunk, monkeypatch):
    """Clustered weighted points on many bands: bit-identical sums on 1, 2 or 3 threads."""
    monkeypatch.setattr(measures, "_SPLAT_CHUNK", chunk)
    rng = np.random.default_rng(3)
    grid = Grid.from_bounds((0, 0, 2000, 3000), cell_size=10, crs=32650)
    x = np.r_[rng.normal(600, 80, 3000), rng.uniform(-40, 2040, 500)]
    y = np.r_[rng.normal(1800, 120, 3000), rng.uniform(-40, 3040, 500)]
    w = rng.uniform(0, 2, x.size)
    off = np.arange(-4, 5) * 10.0
    stencil = KERNELS["quartic"].function(np.hypot(off[:, None], off[None, :]), 40.0) * 1e6
    outs = []
    for workers in (1, 2, 3):
        monkeypatch.setattr(gis_settings, "workers", workers)
        outs.append(measures._point_convolution(grid, x, y, w, stencil, method="splat"))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    fft = measures._point_convolution(grid, x, y, w, stencil, method="fft")
    np.testing.assert_allclose(outs[0], fft, rtol=0, atol=2e-6 * float(fft.max()))


def test_density_picks_splat_for_few_points(monkeypatch):
    calls = []
    real = measures._splat
    monkeypatch.setattr(measures, "_splat", lambda *a: calls.append(1) or real(*a))
    grid = Grid.from_bounds((0, 0, 5000, 5000), cell_size=10, crs=32650)
    few = kernel_density(grid, [2505.0], [2505.0], bandwidth=50)
    assert calls and few.max() == pytest.approx(3 / (math.pi * 2500) * 1e6, rel=1e-6)
    calls.clear()
    small = Grid.from_bounds((0, 0, 200, 200), cell_size=10, crs=32650)
    kernel_density(
        small,
        np.arange(5, 200, 10.0).repeat(20),
        np.tile(np.arange(5, 200, 10.0), 20),
        bandwidth=50,
    )
    assert not calls  # 400 occupied cells x 81 stencil cells: the FFT of 30 x 30 is cheaper


@pytest.mark.parametrize(
    ("side_m", "n", "h", "want"),
    [
        (50_000, 20_000, 500.0, "splat"),
        (100_000, 20_000, 500.0, "splat"),
        (20_000, 40_000, 200.0, "fft"),
    ],
)
def test_density_auto_method_by_measured_cost(side_m, n, h, want, monkeypatch):
    """The choice only (both methods stubbed): 20 k points with a 50-cell radius on 25 M or
    100 M cells splat; 40 k points with a 20-cell radius on 4 M cells take the FFT."""
    calls = []
    monkeypatch.setattr(
        measures, "_splat", lambda shape, *a: calls.append("splat") or np.zeros(shape)
    )
    monkeypatch.setattr(
        measures, "convolve", lambda a, k, mode: calls.append("fft") or np.ones((2, 2))
    )
    rng = np.random.default_rng(5)
    grid = Grid.from_bounds((0, 0, side_m, side_m), cell_size=10, crs=32650)
    x, y = rng.uniform(0, side_m, (2, n))
    kernel_density(grid, x, y, bandwidth=h)
    assert calls == [want]


@pytest.mark.parametrize("shape", [(61, 29), (29, 61), (1, 40), (40, 1)])
@pytest.mark.parametrize("density", [0.002, 0.02, 0.3])
def test_edt_matches_scipy_feature_transform(shape, density):
    """Within one float32 unit in the last place of ``sqrt(dr² + dc²) · cell`` from
    scipy's exact feature transform, with empty row runs and one-row or one-column grids."""
    from scipy import ndimage

    rng = np.random.default_rng(int(density * 1000) + shape[0])
    mask = rng.random(shape) < density
    mask[shape[0] // 3 : 2 * shape[0] // 3] = False  # runs of rows without features
    mask[rng.integers(0, shape[0]), rng.integers(0, shape[1])] = True
    out = distance._edt(mask.copy(), 2.5, 2)
    dr, dc = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
    rows, cols = np.indices(mask.shape)
    want = (np.sqrt((dr - rows) ** 2.0 + (dc - cols) ** 2.0) * 2.5).astype("float32")
    np.testing.assert_array_max_ulp(out, want, maxulp=1)
    assert (out[mask] == 0).all()


def test_line_distance_does_not_depend_on_threads():
    grid = Grid.from_bounds((0, 0, 900, 700), cell_size=10, crs=32650)
    lines = [LineString([(-50, 120), (400, 300), (950, 280)]), LineString([(700, 10), (720, 90)])]
    polys = [box(100, 500, 180, 560)]
    whole = euclidean_distance(grid, lines + polys, workers=1)
    np.testing.assert_array_equal(euclidean_distance(grid, lines + polys, workers=2), whole)
    assert whole.min() == 0.0 and np.isfinite(whole).all()


@pytest.mark.parametrize("method", ["splat", "fft"])
def test_point_convolution_trims_zero_border(method):
    """A stencil with two rings of zeros around a 3 x 3 core gives what the core gives,
    points within reach of the zero rings only included; an all-zero stencil gives zeros."""
    grid = Grid.from_bounds((0, 0, 120, 90), cell_size=10, crs=32650)
    core = np.arange(1.0, 10.0).reshape(3, 3)
    padded = np.pad(core, 2)
    x = np.array([5.0, 65.0, 125.0, -25.0, 115.0])
    y = np.array([5.0, 45.0, 45.0, 45.0, 95.0])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = measures._point_convolution(grid, x, y, w, padded, method=method)
    rows = np.floor((90 - y) / 10).astype(int) + 1
    cols = np.floor(x / 10).astype(int) + 1
    inside = (rows >= 0) & (rows < 11) & (cols >= 0) & (cols < 14)
    want = brute_point_sum((9, 12), rows[inside], cols[inside], w[inside], core)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
    assert got[4, 6] == pytest.approx(2 * 5.0)  # the centre of the point at (65, 45)
    zero = measures._point_convolution(grid, x, y, w, np.zeros((5, 5)), method=method)
    assert zero.shape == grid.shape and not zero.any()
