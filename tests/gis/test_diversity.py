"""Moving-window Shannon entropy by per-category convolution against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis.diversity import category_diversity, evenness, point_diversity
from gis.errors import InputError
from gis.grid import Grid
from gis.windows import Window


def shannon(counts):
    c = np.asarray([v for v in counts if v > 0], dtype=float)
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log(p)).sum())


def brute_category(cats, radius, nodata=None):
    h, w = cats.shape
    out = np.zeros((h, w))
    for r in range(h):
        for c in range(w):
            counts: dict[int, int] = {}
            for rr in range(h):
                for cc in range(w):
                    if (rr - r) ** 2 + (cc - c) ** 2 <= radius**2 + 1e-9:
                        v = int(cats[rr, cc])
                        if nodata is not None and v == nodata:
                            continue
                        counts[v] = counts.get(v, 0) + 1
            out[r, c] = shannon(counts.values())
    return out


def brute_points(grid, x, y, labels, radius):
    cs = grid.cell_size
    # points stand at their cell's centre, as the documented binning does
    px = grid.transform.c + (np.floor((x - grid.transform.c) / cs) + 0.5) * cs
    py = grid.transform.f - (np.floor((grid.transform.f - y) / cs) + 0.5) * cs
    xc, yc = grid.centers()
    out = np.zeros(grid.shape)
    for r in range(grid.height):
        for c in range(grid.width):
            near = np.hypot(px - xc[c], py - yc[r]) <= radius + 1e-6
            _, counts = np.unique(np.asarray(labels)[near], return_counts=True)
            out[r, c] = shannon(counts)
    return out


@pytest.mark.parametrize("radius", [1.0, 1.5, 2.3])
def test_category_entropy_matches_brute_force(radius):
    rng = np.random.default_rng(int(radius * 10))
    cats = rng.integers(0, 4, size=(9, 11))
    got = category_diversity(cats, radius_cells=radius, nodata=0)
    want = brute_category(cats, radius, nodata=0)
    np.testing.assert_allclose(got, want, atol=2e-6)
    assert got.dtype == np.float32


def test_even_mix_reaches_ln_k():
    cats = np.tile(np.array([[1, 2], [3, 4]]), (4, 4))
    got = category_diversity(cats, radius_cells=5)
    centre = got[3:5, 3:5]
    np.testing.assert_allclose(centre, math.log(4), rtol=0, atol=0.02)
    assert (got <= math.log(4) + 1e-6).all()
    assert category_diversity(np.ones((5, 5), dtype=int), radius_cells=2).max() == 0.0


def test_points_match_brute_force_including_outside_points():
    grid = Grid.from_bounds((0, 0, 800, 600), cell_size=100, crs=32650)
    rng = np.random.default_rng(5)
    n = 70
    x = rng.uniform(-250, 1050, n)
    y = rng.uniform(-250, 850, n)
    labels = rng.choice(["office", "shop", "factory", "lab"], n)
    got = point_diversity(grid, x, y, labels, radius=230.0)
    want = brute_points(grid, x, y, labels, 230.0)
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_tiles_and_windows_agree():
    grid = Grid.from_bounds((0, 0, 3000, 2000), cell_size=100, crs=32650)
    rng = np.random.default_rng(9)
    x = rng.uniform(-300, 3300, 400)
    y = rng.uniform(-300, 2300, 400)
    labels = rng.integers(0, 6, 400)
    whole = point_diversity(grid, x, y, labels, radius=350.0)
    tiled = point_diversity(grid, x, y, labels, radius=350.0, tile=6)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    win = Window(grid, 4, 7, 9, 12)
    sub = point_diversity(win.grid, x, y, labels, radius=350.0)
    np.testing.assert_allclose(sub, whole[win.core], atol=1e-6)
    cats = rng.integers(1, 5, size=(20, 30))
    np.testing.assert_allclose(category_diversity(cats, radius_cells=2.5, tile=4),
                               category_diversity(cats, radius_cells=2.5), atol=1e-6)  # fmt: skip


def test_empty_window_is_zero_and_inputs_untouched():
    grid = Grid.from_bounds((0, 0, 1000, 1000), cell_size=100, crs=32650)
    x = np.array([50.0, 60.0])
    y = np.array([50.0, 60.0])
    labels = np.array(["a", "b"], dtype=object)
    got = point_diversity(grid, x, y, labels, radius=100.0)
    assert got[0, 0] == 0.0  # top-left cell: both points are at the bottom
    assert got[-1, 0] == pytest.approx(math.log(2), abs=1e-6)
    np.testing.assert_array_equal(x, [50.0, 60.0])
    assert labels.tolist() == ["a", "b"]


def test_evenness_and_bad_input():
    np.testing.assert_allclose(evenness(np.array([math.log(3)]), 3), [1.0], rtol=1e-6)
    with pytest.raises(InputError, match="at least 2 categories"):
        evenness(np.zeros(2), 1)
    with pytest.raises(InputError, match="integer raster"):
        category_diversity(np.zeros((3, 3)), radius_cells=1)
    grid = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=32650)
    with pytest.raises(InputError, match="one value per point"):
        point_diversity(grid, [1.0], [1.0], ["a", "b"], radius=10)
    with pytest.raises(InputError, match="radius"):
        point_diversity(grid, [1.0], [1.0], ["a"], radius=-1)
