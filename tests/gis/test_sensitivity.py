"""Sensitivity: streamed statistics equal those of all draws held at once; seeded; bounded."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from gis.errors import InputError
from gis.grid import Grid
from gis.overlay import aggregate
from gis.sensitivity import (
    ahp_weight_draws,
    dirichlet_weight_draws,
    monte_carlo,
    weight_sweep,
)
from gis.weights import ahp
from tests.helpers import traced_peak

RNG = np.random.default_rng(11)
SHAPE = (14, 10)
SCORES = {k: RNG.random(SHAPE).astype(np.float32) for k in ("a", "b", "c")}
WEIGHTS = {"a": 0.5, "b": 0.3, "c": 0.2}
MASK = np.ones(SHAPE, dtype=bool)
MASK[0, :3] = False
GRID = Grid.from_bounds((0, 0, 100, 140), cell_size=10, crs="EPSG:32635")
LABELS = np.zeros(SHAPE, dtype=np.int32)
LABELS[1:4, 1:4] = 1
LABELS[6:9, 5:9] = 2
LABELS[11:13, 0:3] = 3


def stacked(w_draws, method="wlc", options=None):
    """Every draw's map, held at once (the reference the streamed result must equal)."""
    maps = []
    for w in w_draws:
        x = aggregate(SCORES, dict(zip(WEIGHTS, w, strict=True)), method=method, **(options or {}))
        x[~MASK] = np.nan
        maps.append(x.astype(np.float64))
    return np.stack(maps)


def test_monte_carlo_equals_statistics_of_all_draws():
    res = monte_carlo(SCORES, WEIGHTS, draws=40, concentration=20, mask=MASK, top_percent=15,
                      regions=LABELS, seed=5)  # fmt: skip
    maps = stacked(dirichlet_weight_draws(WEIGHTS, 40, concentration=20, seed=5))
    np.testing.assert_allclose(res.mean, maps.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(res.std, maps.std(axis=0), rtol=1e-4, atol=1e-7)
    assert np.isnan(res.mean[0, 0]) and np.isnan(res.probability[0, 0])
    # selection: the best 15 % of valid cells of each draw (ties kept)
    hits = np.zeros(SHAPE)
    for x in maps:
        valid = x[np.isfinite(x)]
        k = int(np.ceil(0.15 * valid.size - 1e-9))
        hits += x >= np.sort(valid)[-k]
    np.testing.assert_allclose(res.probability[MASK], (hits / 40)[MASK], rtol=1e-6)
    # region ranks by mean score in each draw
    means = np.stack([[m[LABELS == r].mean() for r in (1, 2, 3)] for m in maps])
    ranks = (-means).argsort(axis=1).argsort(axis=1) + 1
    t = res.regions.set_index("region")
    np.testing.assert_allclose(t["mean_rank"], ranks.mean(axis=0))
    np.testing.assert_allclose(t["std_rank"], ranks.std(axis=0), atol=1e-12)
    np.testing.assert_array_equal(t["best_rank"], ranks.min(axis=0))
    np.testing.assert_array_equal(t["worst_rank"], ranks.max(axis=0))
    np.testing.assert_allclose(t["mean_score"], means.mean(axis=0))
    base = aggregate(SCORES, WEIGHTS).astype(float)
    base_rank = (-np.array([base[LABELS == r].mean() for r in (1, 2, 3)])).argsort().argsort() + 1
    np.testing.assert_array_equal(t["base_rank"], base_rank)
    np.testing.assert_allclose(t["p_same_rank"], (ranks == base_rank).mean(axis=0))
    shares = []
    for m in maps:
        valid = np.sort(m[np.isfinite(m)])
        cutoff = valid[-int(np.ceil(0.15 * valid.size - 1e-9))]
        shares.append([(m[LABELS == r] >= cutoff).mean() for r in (1, 2, 3)])
    np.testing.assert_allclose(t["p_selected"], np.mean(shares, axis=0))


def test_monte_carlo_is_seeded():
    kw = {"draws": 12, "concentration": 10, "top_percent": 20}
    a = monte_carlo(SCORES, WEIGHTS, seed=1, **kw)
    b = monte_carlo(SCORES, WEIGHTS, seed=1, **kw)
    c = monte_carlo(SCORES, WEIGHTS, seed=2, **kw)
    np.testing.assert_array_equal(a.std, b.std)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_ahp_judgement_perturbation():
    m = np.array([[1, 2, 3], [1 / 2, 1, 2], [1 / 3, 1 / 2, 1]])
    base = ahp(m).weights
    np.testing.assert_allclose(ahp_weight_draws(m, 5, spread=0), np.tile(base, (5, 1)))
    draws = ahp_weight_draws(m, 3000, spread=0.3, seed=0)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    assert draws.std(axis=0).min() > 0.01
    np.testing.assert_allclose(draws.mean(axis=0), base, atol=0.02)
    res = monte_carlo(SCORES, WEIGHTS, pairwise=m, draws=20, spread=0.3, top_percent=10, seed=3,
                      mask=MASK)  # fmt: skip
    np.testing.assert_allclose(res.weights, ahp_weight_draws(m, 20, spread=0.3, seed=3))
    assert res.method == "ahp"
    np.testing.assert_allclose(res.mean, stacked(res.weights).mean(axis=0), rtol=1e-6)


def test_dirichlet_spread_follows_the_concentration():
    w0 = np.array(list(WEIGHTS.values()))
    for conc in (10.0, 1000.0):
        d = dirichlet_weight_draws(WEIGHTS, 20000, concentration=conc, seed=0)
        np.testing.assert_allclose(d.mean(axis=0), w0, atol=0.01)
        np.testing.assert_allclose(d.std(axis=0), np.sqrt(w0 * (1 - w0) / (conc + 1)), rtol=0.05)


def test_other_methods_and_polygons():
    polys = [box(10, 100, 40, 130), box(50, 50, 90, 80)]
    res = monte_carlo(SCORES, WEIGHTS, draws=10, method="owa", options={"orness": 0.3},
                      regions=polys, grid=GRID, top_percent=10)  # fmt: skip
    maps = stacked(res.weights, "owa", {"orness": 0.3})
    ok = np.isfinite(maps[0])
    np.testing.assert_allclose(res.mean[ok], maps.mean(axis=0)[ok], rtol=1e-6)
    assert list(res.regions["region"]) == [1, 2]


def test_memory_does_not_grow_with_draws():
    big = {k: RNG.random((400, 300)).astype(np.float32) for k in "abc"}

    def peak(draws):
        return traced_peak(lambda: monte_carlo(big, WEIGHTS, draws=draws, top_percent=10))[1]

    few, many = peak(3), peak(30)
    assert many < few * 1.2 + 2**20
    # a few rasters of 120 000 cells (accumulators, one draw), not 30 draws
    assert many < 40 * 120_000 * 8


def test_weight_sweep():
    t = weight_sweep(SCORES, WEIGHTS, values=[0.0, 0.5, 1.0], regions=LABELS, top_percent=20)
    assert set(t["factor"]) == {"a", "b", "c"} and len(t) == 9
    at_base = weight_sweep(SCORES, WEIGHTS, values=[0.5], factors=["a"], regions=LABELS,
                           top_percent=20)  # fmt: skip
    row = at_base.iloc[0]
    assert row["mean_change"] == pytest.approx(0.0, abs=1e-7)
    assert row["jaccard"] == 1.0 and row["rank_correlation"] == pytest.approx(1.0)
    # WLC is linear in the weight: the mean change grows linearly from the base weight
    lin = weight_sweep(SCORES, WEIGHTS, values=[0.6, 0.7, 0.8], factors=["a"], top_percent=20)
    d = np.diff(lin["mean_change"])
    assert d[0] == pytest.approx(d[1], rel=1e-4)
    only_a = t[(t["factor"] == "a") & (t["weight"] == 1.0)].iloc[0]
    assert only_a["top_region"] == int(np.argmax([SCORES["a"][LABELS == r].mean()
                                                  for r in (1, 2, 3)])) + 1  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"draws": 0}, r"draws must be a positive integer"),
        ({"concentration": 0}, r"concentration must be a number > 0"),
        ({"top_percent": None}, r"exactly one of threshold and top_percent"),
        ({"threshold": 0.5}, r"exactly one of threshold and top_percent"),
        ({"pairwise": [[1, 2], [0.5, 1]]}, r"pairwise matrix is 2 x 2 but there are 3 factors"),
        ({"pairwise": [[1, 2, 3], [0.5, 1, 2], [1 / 3, 0.5, 1]], "spread": -1}, r"spread"),
        ({"min_area": 100}, r"min_area needs the grid"),
        ({"regions": [box(0, 0, 10, 10)]}, r"polygons need the grid"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        monte_carlo(SCORES, WEIGHTS, **kwargs)


def test_sweep_bad_input():
    with pytest.raises(InputError, match=r"sweep values must be weights in \[0, 1\]"):
        weight_sweep(SCORES, WEIGHTS, values=[1.5])
    with pytest.raises(InputError, match=r"unknown factors \['z'\]"):
        weight_sweep(SCORES, WEIGHTS, factors=["z"])
