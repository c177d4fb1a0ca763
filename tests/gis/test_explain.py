"""Explanations: contributions add up to the score, Shapley values by brute force, tables."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gis.errors import InputError
from gis.explain import contribution_columns, explain_cells, explain_regions, factor_contributions
from gis.grid import Grid
from gis.overlay import AGGREGATIONS, aggregate
from gis.regions import candidate_regions

RNG = np.random.default_rng(3)
SHAPE = (12, 9)
SCORES = {k: RNG.random(SHAPE) for k in ("univ", "transit", "green", "culture")}
SCORES["green"][0, 0] = np.nan
WEIGHTS = {"univ": 0.4, "transit": 0.3, "green": 0.2, "culture": 0.1}
OPTIONS = {"owa": {"orness": 0.25}}
GRID = Grid.from_bounds((0, 0, 90, 120), cell_size=10, crs="EPSG:32635")


def brute_shapley(values, weights, method, options):
    """Shapley values by averaging marginal gains over every order of the factors."""
    names = list(values)
    n = len(next(iter(values.values())))
    phi = {k: np.zeros(n) for k in names}
    orders = list(itertools.permutations(names))
    for order in orders:
        present: set[str] = set()
        for k in order:
            before = {f: values[f] if f in present else np.zeros(n) for f in names}
            after = {f: values[f] if f in present | {k} else np.zeros(n) for f in names}
            gain = aggregate(after, weights, method=method, **options).astype(float) - aggregate(
                before, weights, method=method, **options
            ).astype(float)
            phi[k] += gain / len(orders)
            present.add(k)
    return phi


def test_wlc_contributions_are_weight_times_score():
    cells = {k: v[3] for k, v in SCORES.items()}
    c = factor_contributions(cells, WEIGHTS)
    for k, w in WEIGHTS.items():
        np.testing.assert_allclose(c[k], w * cells[k])


@pytest.mark.parametrize("method", sorted(AGGREGATIONS))
def test_contributions_add_up_to_the_score_for_every_method(method):
    opts = dict(OPTIONS.get(method, {}))
    if method == "topsis":
        opts["ideal"] = "fixed"
    cells = {k: v[5] for k, v in SCORES.items()}
    c = factor_contributions(cells, WEIGHTS, method=method, options=opts)
    total = np.sum([c[k] for k in WEIGHTS], axis=0)
    np.testing.assert_allclose(total, aggregate(cells, WEIGHTS, method=method, **opts), atol=2e-6)


@pytest.mark.parametrize("method", ["owa", "fuzzy_gamma", "weighted_product", "maximum", "topsis"])
def test_shapley_values_match_brute_force_over_orders(method):
    opts = dict(OPTIONS.get(method, {}))
    if method == "topsis":
        opts["ideal"] = "fixed"
    cells = {k: v[7] for k, v in SCORES.items()}
    ours = factor_contributions(cells, WEIGHTS, method=method, options=opts)
    ref = brute_shapley(cells, WEIGHTS, method, opts)
    for k in WEIGHTS:
        np.testing.assert_allclose(ours[k], ref[k], atol=2e-6)


def test_symmetric_and_dummy_factors():
    a = np.array([0.3, 0.8])
    values = {"a": a, "b": a.copy(), "z": np.array([0.9, 0.1])}
    c = factor_contributions(values, {"a": 1, "b": 1, "z": 0}, method="fuzzy_sum")
    np.testing.assert_allclose(c["a"], c["b"])  # same score, same weight: same share
    assert (c["z"] == 0).all()  # weight 0: no contribution


def test_nan_cells_have_nan_contributions():
    cells = {k: v[0] for k, v in SCORES.items()}  # green is NaN in column 0
    c = factor_contributions(cells, WEIGHTS, method="owa", options={"orness": 0.3})
    assert all(math.isnan(c[k][0]) for k in WEIGHTS)
    assert all(np.isfinite(c[k][1:]).all() for k in WEIGHTS)


def test_explain_cells_table():
    raw = {"transit": {"transit_minutes": np.arange(108.0).reshape(SHAPE)}}
    t = explain_cells(SCORES, WEIGHTS, [(2, 3), (4, 5)], raw=raw, grid=GRID)
    assert len(t) == 8 and list(t["factor"][:4]) == list(WEIGHTS)
    first = t[t["cell"] == 0]
    assert first["contribution"].sum() == pytest.approx(first["total"].iloc[0])
    wlc = aggregate(SCORES, WEIGHTS)[2, 3]
    assert first["total"].iloc[0] == pytest.approx(wlc, rel=1e-6)
    assert first["share"].sum() == pytest.approx(1.0)
    row = first.set_index("factor").loc["transit"]
    assert row["raw"] == {"transit_minutes": 2 * 9 + 3}
    assert (row["x"], row["y"]) == (35.0, 95.0)
    # TOPSIS is explained with the ideals of the whole surface
    tt = explain_cells(SCORES, WEIGHTS, [(2, 3)], method="topsis")
    assert tt["total"].iloc[0] == pytest.approx(aggregate(SCORES, WEIGHTS, method="topsis")[2, 3],
                                                abs=2e-6)  # fmt: skip


def test_explain_regions_labels_and_polygons_agree():
    labels = np.zeros(SHAPE, dtype=np.int32)
    labels[1:4, 1:4] = 1
    labels[6:10, 2:7] = 2
    t = explain_regions(SCORES, WEIGHTS, labels)
    polys = [box(10, 80, 40, 110), box(20, 20, 70, 60)]
    tp = explain_regions(SCORES, WEIGHTS, polys, grid=GRID)
    np.testing.assert_allclose(t["contribution"], tp["contribution"])
    wlc = aggregate(SCORES, WEIGHTS)
    for region in (1, 2):
        part = t[t["region"] == region].set_index("factor")
        cells = labels == region
        assert part["total"].iloc[0] == pytest.approx(wlc[cells].mean(), rel=1e-6)
        for k, w in WEIGHTS.items():
            assert part.loc[k, "contribution"] == pytest.approx(w * SCORES[k][cells].mean())
        assert part["n_cells"].iloc[0] == cells.sum()


def test_explain_regions_nonlinear_method_and_sampling():
    labels = np.zeros(SHAPE, dtype=np.int32)
    labels[2:10, 1:8] = 1
    opts = {"orness": 0.8}
    exact = explain_regions(SCORES, WEIGHTS, labels, method="owa", options=opts)
    score = aggregate(SCORES, WEIGHTS, method="owa", **opts)
    assert exact["total"].iloc[0] == pytest.approx(score[labels == 1].mean(), rel=1e-5)
    sampled = explain_regions(SCORES, WEIGHTS, labels, method="owa", options=opts, max_cells=20)
    assert sampled["total"].iloc[0] == pytest.approx(exact["total"].iloc[0], abs=0.1)
    assert not np.allclose(sampled["contribution"], exact["contribution"])


def test_contribution_columns_add_up_to_the_candidate_mean_score():
    score = aggregate(SCORES, WEIGHTS)
    sites = candidate_regions(score, GRID, top_percent=20)
    out = contribution_columns(sites, SCORES, WEIGHTS, GRID)
    assert out.geometry.name == "geometry" and out.columns[-1] == "geometry"
    total = out[[f"contrib_{k}" for k in WEIGHTS]].sum(axis=1)
    np.testing.assert_allclose(total, sites["mean_score"], rtol=1e-5)
    assert (out["weight_univ"] == 0.4).all()
    assert "contrib_univ" not in sites.columns  # the input is not modified
    assert isinstance(out, gpd.GeoDataFrame)


def test_bad_input():
    with pytest.raises(InputError, match="method must be one of"):
        factor_contributions({"a": np.ones(2)}, {"a": 1}, method="mean")
    with pytest.raises(InputError, match=r"cell \(20, 0\) is outside the grid"):
        explain_cells(SCORES, WEIGHTS, [(20, 0)])
    with pytest.raises(InputError, match="need the grid"):
        explain_regions(SCORES, WEIGHTS, [box(0, 0, 10, 10)])
    with pytest.raises(InputError, match="no values for factors"):
        factor_contributions({"a": np.ones(2)}, {"a": 1, "b": 1})
