"""Class breaks: exact agreement with mapclassify, brute-force optimality, GVF, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.classify import (
    BREAK_METHODS,
    assign_classes,
    classify,
    fisher_jenks_breaks,
    get_break_method,
    goodness_of_variance_fit,
    head_tail_breaks,
    nested_jenks_breaks,
    quantile_breaks,
    user_breaks,
)
from gis.errors import InputError

mc = pytest.importorskip("mapclassify")
# mapclassify says so when numba is absent; it only affects its speed
pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed:UserWarning")


def _ssd(values: np.ndarray, classes: np.ndarray) -> float:
    return sum(
        ((values[classes == c] - values[classes == c].mean()) ** 2).sum()
        for c in np.unique(classes)
    )


@pytest.mark.parametrize(("n", "k", "seed"), [(7, 3, 0), (50, 4, 1), (300, 5, 2), (500, 6, 3)])
def test_fisher_jenks_equals_mapclassify(n, k, seed):
    y = np.random.default_rng(seed).lognormal(size=n)
    np.testing.assert_allclose(
        fisher_jenks_breaks(y, k), mc.FisherJenks(y, k=k).bins, rtol=0, atol=0
    )


def test_fisher_jenks_is_optimal_by_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(4, 11))
        k = int(rng.integers(2, min(n, 4) + 1))
        y = np.sort(rng.integers(0, 30, size=n).astype(float) + rng.random(n))
        best = min(
            _ssd(y, np.searchsorted(np.array(cuts), np.arange(n), side="right"))
            for cuts in itertools.combinations(range(1, n), k - 1)
        )
        got = classify(y, method="fisher_jenks", k=k)
        assert _ssd(y, got.classes) == pytest.approx(best, rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=6, max_size=40), st.integers(2, 5))
def test_fisher_jenks_ties_same_fit_as_mapclassify(values, k):
    y = np.array(values, dtype=float)
    if np.unique(y).size < k:
        with pytest.raises(InputError, match="distinct values"):
            fisher_jenks_breaks(y, k)
        return
    ours = classify(y, method="fisher_jenks", k=k)
    ref = mc.FisherJenks(y, k=k)
    assert ours.k == k
    assert _ssd(y, ours.classes) == pytest.approx(_ssd(y, ref.yb), rel=1e-9, abs=1e-9)


def test_quantiles_equal_mapclassify():
    y = np.random.default_rng(4).normal(size=101)
    for k in (3, 4, 5, 7):
        np.testing.assert_allclose(quantile_breaks(y, k), mc.Quantiles(y, k=k).bins, rtol=1e-15)


def test_head_tail_equals_mapclassify_without_share_limit():
    y = np.random.default_rng(123456).lognormal(3, 1, 1000)
    np.testing.assert_allclose(
        head_tail_breaks(y, head_share=1.0), mc.HeadTailBreaks(y).bins, rtol=1e-15
    )
    assert head_tail_breaks(y, 2, head_share=1.0).size == 2  # k caps the classes
    # Jiang's rule: stop once the head holds more than 40 % of its part ([40] of [10, 40])
    z = np.array([1, 1, 1, 1, 2, 2, 3, 10, 40], dtype=float)
    np.testing.assert_allclose(head_tail_breaks(z, head_share=1.0), mc.HeadTailBreaks(z).bins)
    np.testing.assert_allclose(head_tail_breaks(z), [61 / 9, 40.0])


def test_user_breaks_equal_mapclassify():
    y = np.array([1.0, 4.0, 6.0, 9.0, 12.0])
    np.testing.assert_array_equal(
        user_breaks(y, thresholds=[5, 10]), mc.UserDefined(y, [5, 10]).bins
    )
    c = classify(y, method="user", k=None, thresholds=[5, 10])
    np.testing.assert_array_equal(c.classes, mc.UserDefined(y, [5, 10]).yb)


def test_assign_classes_matches_mapclassify_yb():
    y = np.random.default_rng(9).lognormal(size=60)
    ref = mc.FisherJenks(y, k=4)
    np.testing.assert_array_equal(assign_classes(y, ref.bins), ref.yb)


def test_gvf_by_hand():
    y = np.array([1.0, 2.0, 10.0, 11.0])
    # SDAM = sum((y - 6)^2) = 82; SDCM = 0.5 + 0.5 = 1
    assert goodness_of_variance_fit(y, [0, 0, 1, 1]) == pytest.approx(1 - 1 / 82, rel=1e-15)
    assert goodness_of_variance_fit([3, 3, 3], [0, 0, 0]) == 1.0


def test_nested_jenks_top_down():
    y = np.array([0, 1, 2, 10, 60, 80, 100], dtype=float)
    assert fisher_jenks_breaks(y, 3).tolist() == [10.0, 80.0, 100.0]
    assert nested_jenks_breaks(y, 3).tolist() == [2.0, 10.0, 100.0]
    # each break is the optimal two-class break of everything below the previous one
    assert fisher_jenks_breaks(y, 2)[0] == 10.0
    assert fisher_jenks_breaks(y[y <= 10], 2)[0] == 2.0


def test_errors():
    with pytest.raises(InputError, match="fewer values than classes"):
        classify([1, 2], k=3)
    with pytest.raises(InputError, match="only 2 distinct values"):
        fisher_jenks_breaks([1, 1, 2, 2], 3)
    with pytest.raises(InputError, match="strictly increasing"):
        user_breaks([1, 2, 3], thresholds=[2, 2])
    with pytest.raises(InputError, match="not finite"):
        classify([1, np.nan, 3], k=2)
    with pytest.raises(InputError, match="unknown class breaks"):
        get_break_method("equal_interval")
    assert set(BREAK_METHODS) == {"fisher_jenks", "nested_jenks", "quantiles", "head_tail", "user"}


def test_callable_and_inputs_untouched():
    y = np.array([3.0, 1.0, 2.0, 8.0])
    c = classify(y, method=lambda v, k: np.array([2.0, v.max()]), k=2)
    assert c.classes.tolist() == [1, 0, 0, 1]
    for name in ("fisher_jenks", "nested_jenks", "quantiles", "head_tail"):
        classify(y, method=name, k=2)
    assert y.tolist() == [3.0, 1.0, 2.0, 8.0]
