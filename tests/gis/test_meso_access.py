"""Exact nearest point, class-dependent hub access, GCJ-02 conversion."""

from __future__ import annotations

import numpy as np
import pytest

from gis import distance
from gis.access import AccessClass, class_access
from gis.coords import datum_check, gcj02_to_wgs84, in_china, wgs84_to_gcj02
from gis.distance import nearest_point
from gis.errors import InputError, NoDataError
from gis.grid import Grid
from gis.windows import Window


def brute_nearest(grid, x, y):
    xc, yc = grid.centers()
    d = np.hypot(xc[None, :, None] - x, yc[:, None, None] - y)
    return d.min(axis=-1), d.argmin(axis=-1)


@pytest.fixture
def grid():
    return Grid.from_bounds((0, 0, 6000, 4000), cell_size=100, crs=32650)


@pytest.mark.parametrize("n", [5, 200])
def test_nearest_point_matches_brute_force(grid, n):
    rng = np.random.default_rng(n)
    col = rng.integers(-30, grid.width + 30, n)
    row = rng.integers(-30, grid.height + 30, n)
    x = grid.transform.c + (col + 0.5) * grid.cell_size  # at cell centres: exact
    y = grid.transform.f - (row + 0.5) * grid.cell_size
    x[0], y[0] = -2500.0, 1950.0  # one far away to the west
    dist, index = nearest_point(grid, x, y)
    want, _ = brute_nearest(grid, x, y)
    np.testing.assert_allclose(dist, want, rtol=1e-6, atol=1e-3)
    # the index points at a point at exactly that distance
    xc, yc = grid.centers()
    got = np.hypot(xc[None, :] - x[index], yc[:, None] - y[index])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)


def test_exact_with_far_outside_points_off_cell_centres(grid, monkeypatch):
    monkeypatch.setattr(distance, "TILE", 7)  # many tiles, some cut by the grid edge
    rng = np.random.default_rng(1)
    inside_x = rng.uniform(0, 6000, 40)
    inside_y = rng.uniform(3000, 4000, 40)  # only in the northern strip
    far_x = np.array([-20_000.0, 3000.0, 30_000.0, 3100.0])
    far_y = np.array([2000.0, -25_000.0, 500.0, -26_000.0])
    x = np.concatenate([inside_x, far_x])
    y = np.concatenate([inside_y, far_y])
    dist, index = nearest_point(grid, x, y)
    want, want_index = brute_nearest(grid, x, y)
    np.testing.assert_allclose(dist, want, rtol=1e-6)
    assert (index == want_index).all()
    # with only far points, each cell is served by the nearest of them
    d_far, i_far = nearest_point(grid, far_x, far_y)
    want_far, want_far_index = brute_nearest(grid, far_x, far_y)
    np.testing.assert_allclose(d_far, want_far, rtol=1e-6)
    assert (i_far == want_far_index).all() and set(np.unique(i_far)) == {0, 2}  # west, east


def test_two_points_in_one_cell_the_nearer_wins_priority_breaks_ties(grid):
    x = np.array([3010.0, 3020.0, 500.0])
    y = np.array([2010.0, 2020.0, 500.0])
    _, idx = nearest_point(grid, x, y, priority=[1000, 10, 5])
    assert idx[19, 30] == 1  # (3050, 1950) is nearer to point 1 whatever the priority
    # two points at the same distance from a cell: the higher priority wins, then the first
    x = np.array([3040.0, 3060.0, 500.0])
    y = np.array([1950.0, 1950.0, 500.0])
    assert nearest_point(grid, x, y, priority=[1, 2, 0]).index[20, 30] == 1
    assert nearest_point(grid, x, y, priority=[2, 1, 0]).index[20, 30] == 0
    assert nearest_point(grid, x, y).index[20, 30] == 0


def test_max_distance_caps_and_window_consistency(grid):
    x, y = np.array([50.0]), np.array([3950.0])
    d, idx = nearest_point(grid, x, y, max_distance=1000.0)
    true, _ = brute_nearest(grid, x, y)
    assert d.max() == 1000.0 and d[0, 0] == 0.0
    assert (idx[true > 1000.0] == -1).all() and (idx[true <= 1000.0] == 0).all()
    np.testing.assert_allclose(d, np.minimum(true, 1000.0), rtol=1e-6)
    rng = np.random.default_rng(4)
    x = rng.uniform(-3000, 9000, 300)
    y = rng.uniform(-3000, 7000, 300)
    whole = nearest_point(grid, x, y).distance
    win = Window(grid, 10, 20, 15, 17)
    sub = nearest_point(win.grid, x, y).distance
    np.testing.assert_array_equal(sub, whole[win.core])  # the same values, bit for bit


def test_class_access_by_hand():
    g = Grid.from_bounds((0, 0, 5000, 1000), cell_size=1000, crs=32650)
    spec = {
        "airport": AccessClass(1.0, 1000.0),  # exponential
        "port": AccessClass(0.5, 2000.0, "linear"),
    }
    x = [500.0, 4500.0]
    y = [500.0, 500.0]
    res = class_access(g, x, y, ["airport", "port"], spec=spec)
    d_air = np.array([0, 1000, 2000, 3000, 4000.0])
    d_port = d_air[::-1]
    a_air = np.exp(-d_air / 1000)
    a_port = 0.5 * np.clip(1 - d_port / 2000, 0, 1)
    np.testing.assert_allclose(res.access[0], 1 - (1 - a_air) * (1 - a_port), rtol=1e-6)
    best = class_access(g, x, y, ["airport", "port"], spec=spec, combine="max", threads=1)
    np.testing.assert_allclose(best.access[0], np.maximum(a_air, a_port), rtol=1e-6)
    np.testing.assert_allclose(res.distances["port"][0], d_port)
    assert res.counts == {"airport": 1, "port": 1}


def test_class_access_bad_input():
    g = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=32650)
    spec = {"airport": AccessClass(1.0, 10.0)}
    with pytest.raises(InputError, match="unknown facility class"):
        class_access(g, [1.0], [1.0], ["harbour"], spec=spec)
    with pytest.raises(NoDataError):
        class_access(g, [], [], [], spec=spec)
    with pytest.raises(InputError, match="combine"):
        class_access(g, [1.0], [1.0], ["airport"], spec=spec, combine="sum")
    with pytest.raises(InputError, match="weight"):
        AccessClass(1.5, 10.0)
    with pytest.raises(NoDataError):
        nearest_point(g, [], [])


# ------------------------------------------------------------------ GCJ-02
# Published test pairs of the eviltransform library (WGS84 -> GCJ-02).
PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


def test_gcj02_forward_matches_published_pairs():
    lon, lat, glon, glat = (np.array(v) for v in zip(*PAIRS, strict=True))
    got_lon, got_lat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_allclose(got_lon, glon, atol=1e-9)
    np.testing.assert_allclose(got_lat, glat, atol=1e-9)


def test_gcj02_inverse_round_trip_and_reference():
    lon, lat, glon, glat = (np.array(v) for v in zip(*PAIRS, strict=True))
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    # gcoord's GCJ-02 -> WGS84 test value (to 5 decimals)
    x, y = gcj02_to_wgs84(123.0, 45.0)
    assert (round(float(x), 5), round(float(y), 5)) == (122.99396, 44.99804)
    rng = np.random.default_rng(0)
    wl, wb = rng.uniform(75, 135, 500), rng.uniform(18, 53, 500)
    rl, rb = gcj02_to_wgs84(*wgs84_to_gcj02(wl, wb))
    assert max(np.abs(rl - wl).max(), np.abs(rb - wb).max()) < 1e-9


def test_outside_china_unchanged_and_offset_check():
    assert wgs84_to_gcj02(2.35, 48.86) == (2.35, 48.86)
    assert in_china(114.3, 30.6) and not in_china(-74.0, 40.7)
    ref_lon = np.array([114.30, 114.31, 114.32, 114.33, 114.34, 114.35])
    ref_lat = np.array([30.55, 30.56, 30.57, 30.58, 30.59, 30.60])
    glon, glat = wgs84_to_gcj02(ref_lon, ref_lat)
    shifted = datum_check(glon, glat, ref_lon, ref_lat)
    assert shifted.looks_wrong and shifted.likely == "gcj02" and shifted.matched == 6
    assert 300 < shifted.distances["wgs84"] < 700 and shifted.distances["gcj02"] < 1.0
    assert not datum_check(ref_lon, ref_lat, ref_lon, ref_lat).looks_wrong


def test_class_access_gives_the_same_numbers_as_before():
    # computed before the decays moved to gis.decay and the distances to gis.distance
    g = Grid.from_bounds((0, 0, 5000, 3000), cell_size=1000, crs=32650)
    spec = {
        "a": AccessClass(1.0, 1500.0, "exponential"),
        "b": AccessClass(0.5, 2000.0, "power", {"exponent": 3}),
    }
    r = class_access(g, [500, 3500], [500, 1500], ["a", "b"], spec=spec)
    want = [
        [0.2850088, 0.2659835, 0.2369902, 0.2251409, 0.1461279],
        [0.5289878, 0.4276863, 0.3399956, 0.5607291, 0.202674],
        [1.0, 0.5390223, 0.3376094, 0.2634337, 0.1630051],
    ]
    np.testing.assert_allclose(r.access, want, rtol=1e-6, atol=1e-7)
