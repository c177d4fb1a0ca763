"""Normalisation: exact agreement with pymcdm and scipy, zero-safe rule, inputs untouched."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gis.errors import InputError
from gis.normalize import (
    NORMALIZERS,
    constant_columns,
    get_normalizer,
    minmax,
    normalize,
    vector,
    zscore,
)

X = np.array(
    [[7.0, 1.2, 300.0, 4.0], [2.0, 3.4, 120.0, 9.0], [5.0, 0.4, 220.0, 1.0], [9.0, 2.2, 80.0, 6.0]]
)
COST = np.array([False, True, False, True])


def test_minmax_and_vector_match_pymcdm():
    pn = pytest.importorskip("pymcdm.normalizations")
    expected_mm = np.column_stack(
        [pn.minmax_normalization(X[:, j], cost=bool(COST[j])) for j in range(X.shape[1])]
    )
    expected_vec = np.column_stack(
        [pn.vector_normalization(X[:, j], cost=bool(COST[j])) for j in range(X.shape[1])]
    )
    np.testing.assert_allclose(minmax(X, cost=COST), expected_mm, rtol=0, atol=1e-15)
    np.testing.assert_allclose(vector(X, cost=COST), expected_vec, rtol=0, atol=1e-15)


def test_zscore_matches_scipy():
    from scipy import stats

    expected = stats.zscore(X, axis=0, ddof=0)
    expected[:, COST] *= -1
    np.testing.assert_allclose(zscore(X, cost=COST), expected, atol=1e-14)


def test_exact_small_values():
    assert minmax([[0.0], [5.0], [10.0]]).ravel().tolist() == [0.0, 0.5, 1.0]
    assert minmax([[0.0], [5.0], [10.0]], cost=[True]).ravel().tolist() == [1.0, 0.5, 0.0]
    assert vector([[3.0], [4.0]]).ravel().tolist() == [0.6, 0.8]


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_constant_column_rule(name):
    x = np.array([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0]])
    out = normalize(x, method=name)
    expected = {"minmax": 0.0, "zscore": 0.0, "vector": 1 / np.sqrt(3)}[name]
    np.testing.assert_allclose(out[:, 1], expected)
    assert np.isfinite(out).all()


def test_all_zero_column_is_zero_safe():
    x = np.array([[1.0, 0.0], [2.0, 0.0]])
    assert vector(x)[:, 1].tolist() == [0.0, 0.0]
    assert vector(x, cost=[False, True])[:, 1].tolist() == [1.0, 1.0]
    assert constant_columns(x).tolist() == [1]


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_inputs_are_not_modified(name):
    x = X.copy()
    cost = COST.copy()
    normalize(x, method=name, cost=cost)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(cost, COST)


def test_callable_strategy_and_errors():
    out = normalize(X, method=lambda a, *, cost: a / a.max(axis=0))
    assert out[:, 0].max() == 1.0
    with pytest.raises(InputError, match="unknown normalisation 'rank'"):
        get_normalizer("rank")
    with pytest.raises(InputError, match="column 1"):
        normalize([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(InputError, match="one flag per criterion"):
        normalize(X, cost=[True, False])
    with pytest.raises(InputError, match="returned shape"):
        normalize(X, method=lambda a, *, cost: a[:, :1])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(1, 5)),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    )
)
def test_minmax_range_and_order(x):
    out = minmax(x)
    assert ((out >= 0) & (out <= 1 + 1e-12)).all()
    # order within each non-constant column is preserved
    for j in range(x.shape[1]):
        if np.ptp(x[:, j]) > 0:
            assert (np.diff(out[np.argsort(x[:, j], kind="stable"), j]) >= -1e-12).all()
