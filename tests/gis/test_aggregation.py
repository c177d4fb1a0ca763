"""Cell-wise aggregation methods: closed forms, pymcdm on the table of cells, NaN rule, chunks."""

from __future__ import annotations

import numpy as np
import pytest

from gis.composite import topsis as table_topsis
from gis.errors import InputError
from gis.overlay import (
    AGGREGATIONS,
    aggregate,
    fuzzy_gamma,
    fuzzy_product,
    fuzzy_sum,
    ordered_weighted_average,
    owa_measures,
    owa_weights,
    topsis_overlay,
    weighted_linear_combination,
    weighted_product,
)
from tests.helpers import traced_peak

pymcdm_methods = pytest.importorskip("pymcdm.methods")

RNG = np.random.default_rng(42)
SHAPE = (17, 11)
LAYERS = {k: RNG.random(SHAPE).astype(np.float32) for k in "abcd"}
LAYERS["b"][RNG.random(SHAPE) < 0.1] = np.nan
WEIGHTS = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
#: options each method needs to run
OPTIONS = {"owa": {"orness": 0.3}}
STACK = np.stack([LAYERS[k].astype(np.float64) for k in WEIGHTS])
W = np.array(list(WEIGHTS.values()))
W = W / W.sum()
VALID = ~np.isnan(STACK).any(axis=0)


def identity(x, cost=None):
    return x


def _cells(stack=STACK, valid=VALID):
    """The table of valid cells: one row per cell, one column per layer."""
    return stack[:, valid].T


# ---------------------------------------------------------------------- closed forms
def test_weighted_product_is_the_weighted_geometric_mean_and_matches_pymcdm_wpm():
    out = weighted_product(LAYERS, WEIGHTS)
    ref = np.prod(STACK ** W[:, None, None], axis=0)
    np.testing.assert_allclose(out[VALID], ref[VALID], rtol=1e-6)
    wpm = pymcdm_methods.WPM(normalization_function=identity)
    np.testing.assert_allclose(out[VALID], wpm(_cells(), W, np.ones(4)), rtol=1e-6)
    # a zero on one weighted factor cannot be compensated
    layers = {k: v.copy() for k, v in LAYERS.items()}
    layers["d"][0, 0] = 0.0
    assert weighted_product(layers, WEIGHTS)[0, 0] == 0.0


def test_fuzzy_operators_closed_forms():
    a = np.array([[0.0, 0.2, 0.5, 1.0]])
    b = np.array([[0.3, 0.2, 0.5, 0.4]])
    s, w = {"a": a, "b": b}, {"a": 1, "b": 3}
    expected = {
        "fuzzy_and": np.minimum(a, b),
        "minimum": np.minimum(a, b),
        "fuzzy_or": np.maximum(a, b),
        "maximum": np.maximum(a, b),
        "fuzzy_product": a * b,
        "fuzzy_sum": 1 - (1 - a) * (1 - b),
        "fuzzy_gamma": (1 - (1 - a) * (1 - b)) ** 0.9 * (a * b) ** 0.1,
    }
    for name, ref in expected.items():
        np.testing.assert_allclose(aggregate(s, w, method=name), ref, rtol=1e-6, err_msg=name)
    # gamma 1 is the fuzzy sum, gamma 0 the fuzzy product
    np.testing.assert_array_equal(fuzzy_gamma(s, w, gamma=1.0), fuzzy_sum(s, w))
    np.testing.assert_array_equal(fuzzy_gamma(s, w, gamma=0.0), fuzzy_product(s, w))


def test_owa_equal_order_weights_is_wlc():
    out = ordered_weighted_average(LAYERS, WEIGHTS, order_weights=[1, 1, 1, 1])
    np.testing.assert_allclose(out, weighted_linear_combination(LAYERS, WEIGHTS), atol=1e-7)
    np.testing.assert_allclose(
        ordered_weighted_average(LAYERS, WEIGHTS, orness=0.5),
        weighted_linear_combination(LAYERS, WEIGHTS),
        atol=1e-7,
    )


def test_owa_extreme_orness_is_minimum_and_maximum():
    np.testing.assert_array_equal(
        ordered_weighted_average(LAYERS, WEIGHTS, orness=0.0),
        aggregate(LAYERS, WEIGHTS, method="minimum"),
    )
    np.testing.assert_array_equal(
        ordered_weighted_average(LAYERS, WEIGHTS, orness=1.0),
        aggregate(LAYERS, WEIGHTS, method="maximum"),
    )


def test_owa_with_equal_criterion_weights_is_yager_owa():
    v = np.array([0.4, 0.3, 0.2, 0.1])
    out = ordered_weighted_average(LAYERS, dict.fromkeys(LAYERS, 1.0), order_weights=v)
    descending = -np.sort(-STACK, axis=0)
    ref = (v[:, None, None] * descending).sum(axis=0)
    np.testing.assert_allclose(out[VALID], ref[VALID], rtol=1e-6)


def test_owa_combines_criterion_and_order_weights_as_jiang_eastman():
    # one cell by hand: scores (0.9, 0.1), criterion weights (0.25, 0.75), order weights (0.8, 0.2)
    # u = (0.25*0.8, 0.75*0.2) / (0.2 + 0.15) -> (4/7, 3/7); score = 4/7*0.9 + 3/7*0.1
    s = {"a": np.array([0.9]), "b": np.array([0.1])}
    out = ordered_weighted_average(s, {"a": 1, "b": 3}, order_weights=[0.8, 0.2])
    assert out[0] == pytest.approx(4 / 7 * 0.9 + 3 / 7 * 0.1, rel=1e-6)


def test_owa_weights_from_the_rim_quantifier():
    # Q(r) = r**2 with n = 4: v_j = (j/4)**2 - ((j-1)/4)**2
    np.testing.assert_allclose(owa_weights(4, alpha=2), [1 / 16, 3 / 16, 5 / 16, 7 / 16])
    for target in (0.05, 0.2, 0.5, 0.8, 0.95):
        v = owa_weights(6, orness=target)
        assert owa_measures(v)[0] == pytest.approx(target, abs=1e-9)
        assert v.sum() == pytest.approx(1.0)
    # lower ORness = more risk averse = more weight on the low scores
    low, high = owa_weights(5, orness=0.2), owa_weights(5, orness=0.8)
    assert low[-1] > high[-1] and low[0] < high[0]


def test_owa_measures_closed_forms():
    assert owa_measures([0, 0, 1]) == (0.0, 0.0)
    orness, tradeoff = owa_measures([0.5, 0.5, 0, 0])
    assert orness == pytest.approx((3 * 0.5 + 2 * 0.5) / 3)
    assert tradeoff == pytest.approx(1 - np.sqrt(4 * (2 * 0.25**2 + 2 * 0.25**2) / 3))


def test_topsis_matches_pymcdm_and_the_table_topsis_on_the_cells():
    out = topsis_overlay(LAYERS, WEIGHTS)
    ref = pymcdm_methods.TOPSIS(normalization_function=identity)(_cells(), W, np.ones(4))
    np.testing.assert_allclose(out[VALID], ref, rtol=1e-6)
    np.testing.assert_allclose(
        out[VALID], table_topsis(_cells(), W, normalization=identity), rtol=1e-6
    )


def test_topsis_fixed_ideal_uses_one_and_zero():
    s = {"a": np.array([0.5, 0.2]), "b": np.array([0.5, 0.2])}
    out = topsis_overlay(s, {"a": 1, "b": 1}, ideal="fixed")
    # symmetric: d+ = sqrt(2) * 0.5 * (1 - x), d- = sqrt(2) * 0.5 * x -> closeness x
    np.testing.assert_allclose(out, [0.5, 0.2], rtol=1e-6)
    # the data ideal stretches the same two cells to 1 and 0
    np.testing.assert_allclose(topsis_overlay(s, {"a": 1, "b": 1}), [1.0, 0.0])


# ---------------------------------------------------------------------- shared rules
@pytest.mark.parametrize("method", sorted(AGGREGATIONS))
def test_nan_rule_and_zero_weight_layers_for_every_method(method):
    layers = {k: v.copy() for k, v in LAYERS.items()}
    layers["e"] = np.full(SHAPE, np.nan, dtype=np.float32)  # weight 0: never read
    weights = {**WEIGHTS, "e": 0.0}
    opts = OPTIONS.get(method, {})
    out = aggregate(layers, weights, method=method, **opts)
    assert out.dtype == np.float32 and out.shape == SHAPE
    np.testing.assert_array_equal(np.isnan(out), ~VALID)
    same = aggregate(LAYERS, WEIGHTS, method=method, **opts)
    np.testing.assert_array_equal(out, same)


@pytest.mark.parametrize("method", sorted(AGGREGATIONS))
@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
def test_chunking_does_not_change_any_method(method, chunk_rows):
    opts = OPTIONS.get(method, {})
    ref = aggregate(LAYERS, WEIGHTS, method=method, **opts)
    out = aggregate(LAYERS, WEIGHTS, method=method, chunk_rows=chunk_rows, **opts)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("method", sorted(AGGREGATIONS))
def test_every_method_leaves_inputs_untouched_and_stays_in_range(method):
    copies = {k: v.copy() for k, v in LAYERS.items()}
    weights = dict(WEIGHTS)
    out = aggregate(LAYERS, weights, method=method, **OPTIONS.get(method, {}))
    for k in LAYERS:
        np.testing.assert_array_equal(LAYERS[k], copies[k])
    assert weights == WEIGHTS
    lo, hi = np.nanmin(STACK, axis=0), np.nanmax(STACK, axis=0)
    if method not in ("fuzzy_product", "fuzzy_sum", "fuzzy_gamma", "topsis"):
        # means of the scores lie between the lowest and the highest score
        assert (out[VALID] >= lo[VALID] - 1e-6).all() and (out[VALID] <= hi[VALID] + 1e-6).all()
    assert (out[VALID] >= 0).all() and (out[VALID] <= 1).all()


def test_owa_temporaries_are_bounded():
    rows, cols = 1000, 500
    layers = {k: np.full((rows, cols), 0.5, dtype=np.float32) for k in "abcdef"}
    out, peak = traced_peak(
        lambda: ordered_weighted_average(layers, dict.fromkeys(layers, 1.0), orness=0.7)
    )
    # the result plus a few float64 chunk temporaries of 6 layers x ~65 000 cells (3 MB each)
    assert peak < out.nbytes + 20 * 2**20
    np.testing.assert_allclose(out, 0.5)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("owa", {"order_weights": [0.5, 0.5]}, r"order weights has 2 values but 4 layers"),
        ("owa", {"order_weights": [1, -1, 1, 1]}, r"order weights must be finite, >= 0"),
        ("owa", {}, r"exactly one of order_weights .* orness"),
        ("owa", {"orness": 0.5, "alpha": 1}, r"exactly one of order_weights"),
        ("owa", {"orness": 1.5}, r"orness must be a number in \[0, 1\]"),
        ("owa", {"alpha": 0}, r"alpha must be a finite number > 0"),
        ("fuzzy_gamma", {"gamma": 1.2}, r"gamma must be a number in \[0, 1\]"),
        ("topsis", {"ideal": "best"}, r"ideal must be 'data', 'fixed' or a mapping"),
    ],
)
def test_bad_options_name_the_parameter(method, options, match):
    with pytest.raises(InputError, match=match):
        aggregate(LAYERS, WEIGHTS, method=method, **options)


def test_order_weights_count_only_positive_weight_layers():
    weights = {**WEIGHTS, "d": 0.0}
    out = aggregate(LAYERS, weights, method="owa", order_weights=[1, 1, 1])
    np.testing.assert_allclose(out, weighted_linear_combination(LAYERS, weights), atol=1e-7)
    with pytest.raises(InputError, match="4 values but 3 layers have a positive weight"):
        aggregate(LAYERS, weights, method="owa", order_weights=[1, 1, 1, 1])


@pytest.mark.parametrize("method", ["fuzzy_and", "fuzzy_or", "fuzzy_sum", "fuzzy_gamma"])
def test_fuzzy_methods_refuse_memberships_outside_zero_one(method):
    layers = {k: v.copy() for k, v in LAYERS.items()}
    layers["c"][2, 3] = 1.5
    with pytest.raises(InputError, match=r"scores in \[0, 1\]; layer 'c'"):
        aggregate(layers, WEIGHTS, method=method)


def test_weighted_product_refuses_negative_scores():
    layers = {k: v.copy() for k, v in LAYERS.items()}
    layers["a"][0, 0] = -0.1
    with pytest.raises(InputError, match=r"scores >= 0; layer 'a'"):
        weighted_product(layers, WEIGHTS)
