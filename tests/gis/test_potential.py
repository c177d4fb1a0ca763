"""Market potential by tiled FFT convolution against a direct O(places x cells) sum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis.convolve import Convolver
from gis.decay import DECAYS, decay, decay_kernel, reach
from gis.errors import InputError
from gis.grid import Grid
from gis.potential import market_potential, raster_potential
from gis.windows import Window


def direct_potential(grid, x, y, pop, function, scale, limit, **params):
    """Σ_j P_j f(d_ij) over every cell centre, by brute force (distances beyond limit cut)."""
    xc, yc = grid.centers()
    cx, cy = np.meshgrid(xc, yc)
    d = np.hypot(cx[..., None] - np.asarray(x), cy[..., None] - np.asarray(y))
    f = DECAYS[function](d, scale, **params)
    f[d > limit * (1 + 1e-12)] = 0.0
    return (f * np.asarray(pop)).sum(axis=-1)


@pytest.fixture
def grid():
    return Grid.from_bounds((0, 0, 3000, 2000), cell_size=100, crs=32650)


@pytest.mark.parametrize(
    ("function", "params"),
    [("exponential", {}), ("gaussian", {}), ("power", {"exponent": 1.5}), ("linear", {}),
     ("step", {})],
)  # fmt: skip
def test_matches_direct_sum_at_cell_centres(grid, function, params):
    rng = np.random.default_rng(7)
    n = 40
    col = rng.integers(-8, grid.width + 8, n)  # some places lie outside the grid
    row = rng.integers(-8, grid.height + 8, n)
    x = grid.transform.c + (col + 0.5) * grid.cell_size
    y = grid.transform.f - (row + 0.5) * grid.cell_size
    pop = rng.uniform(100, 10_000, n)
    limit = 1200.0
    got = market_potential(grid, x, y, pop, decay=function, scale=500.0, max_distance=limit,
                           **params)  # fmt: skip
    want = direct_potential(grid, x, y, pop, function, 500.0, limit, **params)
    assert got.dtype == np.float32 and got.shape == grid.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6 * want.max())


def test_off_centre_places_are_within_the_binning_bound(grid):
    """Binning moves a place by at most half a cell diagonal; f is 1/scale-Lipschitz."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-500, 3500, 60)
    y = rng.uniform(-500, 2500, 60)
    pop = rng.uniform(1, 1000, 60)
    scale = 800.0
    got = market_potential(grid, x, y, pop, scale=scale, max_distance=20_000)
    want = direct_potential(grid, x, y, pop, "exponential", scale, 20_000)
    bound = pop.sum() * (grid.cell_size / math.sqrt(2)) / scale
    assert np.abs(got - want).max() <= bound
    np.testing.assert_allclose(got, want, rtol=0.1)


def test_default_truncation_at_tolerance(grid):
    # a single place in a corner: the default reach cuts at exp(-d/s) < 1e-3
    got = market_potential(grid, [50.0], [1950.0], [1000.0], scale=300.0)
    d = direct_potential(grid, [50.0], [1950.0], [1000.0], "exponential", 300.0, math.inf)
    cut = reach("exponential", scale=300.0)
    xc, yc = grid.centers()
    dist = np.hypot(xc[None, :] - 50.0, yc[:, None] - 1950.0)
    np.testing.assert_allclose(got[dist <= cut], d[dist <= cut], rtol=1e-5, atol=1e-6 * d.max())
    assert (got[dist > cut] == 0).all()
    assert cut == pytest.approx(300.0 * math.log(1000.0))


def test_tiles_and_windows_give_the_same_result(grid):
    rng = np.random.default_rng(11)
    x = rng.uniform(-1000, 4000, 80)
    y = rng.uniform(-1000, 3000, 80)
    pop = rng.uniform(1, 500, 80)
    whole = market_potential(grid, x, y, pop, scale=400.0)
    tiled = market_potential(grid, x, y, pop, scale=400.0, tile=7)
    np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-4)
    win = Window(grid, 5, 9, 11, 13)
    sub = market_potential(win.grid, x, y, pop, scale=400.0)
    np.testing.assert_allclose(sub, whole[win.core], rtol=1e-5, atol=1e-4)


def test_raster_potential_equals_point_potential(grid):
    halo = 6
    pop = np.zeros((grid.height + 2 * halo, grid.width + 2 * halo))
    pop[3, 4] = 500.0  # outside the output, inside the halo
    pop[10, 20] = 2000.0
    pop[15, 7] = 100.0
    r, c = np.nonzero(pop)
    x = grid.transform.c + (c - halo + 0.5) * grid.cell_size
    y = grid.transform.f - (r - halo + 0.5) * grid.cell_size
    kw = {"scale": 250.0, "max_distance": 600.0}
    got = raster_potential(pop, cell_size=grid.cell_size, halo=halo, **kw)
    want = market_potential(grid, x, y, pop[r, c], **kw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    assert pop.sum() == 2600.0  # input not modified


def test_inputs_are_not_modified(grid):
    x = np.array([500.0, 1500.0])
    y = np.array([500.0, 1500.0])
    pop = np.array([10.0, 20.0])
    copies = [a.copy() for a in (x, y, pop)]
    market_potential(grid, x, y, pop, scale=300.0)
    for a, b in zip((x, y, pop), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_decay_values_by_hand():
    d = np.array([0.0, 1000.0, np.inf])
    np.testing.assert_allclose(decay(d, "exponential", scale=1000), [1, math.exp(-1), 0])
    np.testing.assert_allclose(decay(d, "gaussian", scale=1000), [1, math.exp(-0.5), 0])
    np.testing.assert_allclose(decay(d, "power", scale=1000, exponent=3), [1, 0.125, 0])
    np.testing.assert_allclose(decay([0, 250, 1000, 2000], "linear", scale=1000),
                               [1, 0.75, 0, 0])  # fmt: skip
    np.testing.assert_allclose(decay([999.0, 1001.0], "step", scale=1000), [1, 0])
    assert reach("gaussian", scale=100, tolerance=0.01) == pytest.approx(
        100 * math.sqrt(2 * math.log(100))
    )
    assert decay(reach("power", scale=10, exponent=2, tolerance=0.01), "power", scale=10,
                 exponent=2) == pytest.approx(0.01)  # fmt: skip


def test_kernel_is_symmetric_and_sampled_at_offsets():
    k = decay_kernel(100.0, "exponential", scale=250.0, max_distance=450.0)
    assert k.shape == (9, 9)
    np.testing.assert_array_equal(k, k[::-1])
    np.testing.assert_array_equal(k, k.T)
    assert k[4, 4] == 1.0 and k[4, 8] == pytest.approx(math.exp(-400 / 250))
    assert k[0, 0] == 0.0  # 566 m > 450 m


def test_convolver_rejects_even_kernels():
    with pytest.raises(InputError, match="odd sides"):
        Convolver(np.ones((2, 3)), (4, 4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population": [-1.0]}, "population must be finite and >= 0"),
        ({"x": [np.nan]}, "coordinates must be finite"),
        ({"population": [1.0, 2.0]}, "one value per place"),
        ({"scale": 0.0}, "positive distance"),
        ({"decay": "cubic"}, "unknown decay"),
        ({"decay": lambda d, scale: d * 0 + 1.0}, "explicit max_distance"),
    ],
)
def test_bad_input(grid, kwargs, message):
    args = {"x": [100.0], "y": [100.0], "population": [1.0], "scale": 100.0}
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        market_potential(grid, args.pop("x"), args.pop("y"), args.pop("population"), **args)


def test_raster_with_holes_is_refused():
    pop = np.ones((5, 5))
    pop[2, 2] = np.nan
    with pytest.raises(InputError, match="fill nodata holes"):
        raster_potential(pop, cell_size=100, scale=100)


def test_custom_decay_with_max_distance(grid):
    def inverse(d, scale):
        return scale / np.maximum(d, scale)

    got = market_potential(grid, [1550.0], [950.0], [100.0], decay=inverse, scale=100.0,
                           max_distance=500.0)  # fmt: skip
    xc, yc = grid.centers()
    d = np.hypot(xc[None, :] - 1550.0, yc[:, None] - 950.0)
    want = np.where(d <= 500.0, 100.0 * 100.0 / np.maximum(d, 100.0), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


# market potential on a small grid, computed before the decays moved to gis.decay
BEFORE = {
    "exponential": ({}, [538.211304, 435.368408, 302.224854, 240.934845, 126.611015]),
    "power": ({"exponent": 1.5}, [496.722961, 415.799744, 324.112366, 300.954254, 196.97142]),
    "gaussian": ({}, [830.730591, 714.350586, 449.303589, 240.427048, 119.406822]),
    "linear": ({}, [333.333344, 60.050503, 50.0, 102.85955, 33.33334]),
    "step": ({}, [1000.0, 1050.0, 150.000031, 150.0, 100.0]),
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_market_potential_gives_the_same_numbers_as_before(name):
    g = Grid.from_bounds((0, 0, 5000, 3000), cell_size=1000, crs=32650)
    params, want = BEFORE[name]
    v = market_potential(g, [500, 3500, 2200], [500, 1500, 2700], [1000, 100, 50], decay=name,
                         scale=1500, **params)  # fmt: skip
    np.testing.assert_allclose(v[1], want, rtol=1e-5, atol=1e-3)


def test_raster_potential_gives_the_same_numbers_as_before():
    pop = np.zeros((5, 7))
    pop[1, 1], pop[3, 5] = 1000.0, 100.0
    want = [
        [1001.142212, 370.596649, 141.24588, 60.474846, 31.849174],
        [369.49884, 247.349701, 117.565712, 66.6409, 52.982098],
        [137.16684, 111.856621, 72.639275, 63.9604, 111.42289],
    ]
    got = raster_potential(pop, cell_size=1000, scale=1000, halo=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
