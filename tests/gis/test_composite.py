"""Composite indices: exact agreement with pymcdm (TOPSIS, WSM) and numpy SVD (PC1)."""

from __future__ import annotations

import numpy as np
import pytest

from gis.composite import (
    COMPOSITE_METHODS,
    composite_index,
    first_principal_component,
    get_composite_method,
    topsis,
    weighted_sum,
)
from gis.errors import InputError

methods = pytest.importorskip("pymcdm.methods")
norms = pytest.importorskip("pymcdm.normalizations")

X = np.array(
    [
        [250.0, 16.0, 12.0, 5.0],
        [200.0, 16.0, 8.0, 3.0],
        [300.0, 32.0, 16.0, 4.0],
        [275.0, 32.0, 8.0, 4.0],
        [225.0, 16.0, 16.0, 2.0],
    ]
)
W = np.array([0.25, 0.25, 0.25, 0.25])
COST = np.array([True, False, False, False])
TYPES = np.where(COST, -1, 1)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("vector", norms.vector_normalization), ("minmax", norms.minmax_normalization)],
)
def test_topsis_matches_pymcdm(ours, theirs):
    expected = methods.TOPSIS(normalization_function=theirs)(X, W, TYPES)
    np.testing.assert_allclose(topsis(X, W, cost=COST, normalization=ours), expected, rtol=1e-13)


def test_topsis_documented_example():
    # pymcdm's own docstring example (min-max normalisation): [0.5, 0.617, 0.5]
    x = np.array([[1, 2, 5], [3000, 3750, 4500]], dtype=float).T
    out = topsis(x, [0.5, 0.5], cost=[True, False], normalization="minmax")
    assert out.round(3).tolist() == [0.5, 0.617, 0.5]


def test_weighted_sum_matches_pymcdm_wsm():
    w = np.array([0.4, 0.3, 0.2, 0.1])
    expected = methods.WSM(normalization_function=norms.minmax_normalization)(X, w, TYPES)
    np.testing.assert_allclose(weighted_sum(X, w, cost=COST), expected, rtol=1e-13)


def test_first_principal_component_matches_svd():
    z = (X - X.mean(0)) / X.std(0)
    vt = np.linalg.svd(z, full_matrices=False)[2]
    v = vt[0] if vt[0].sum() >= 0 else -vt[0]
    np.testing.assert_allclose(first_principal_component(X), z @ v, atol=1e-12)
    assert first_principal_component(X).mean() == pytest.approx(0.0, abs=1e-12)


def test_stacked_weights_score_many_draws_at_once():
    draws = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    for name in ("weighted_sum", "topsis"):
        stacked = composite_index(X, draws, method=name)
        assert stacked.shape == (2, 5)
        for row, w in zip(stacked, draws, strict=True):
            np.testing.assert_allclose(row, composite_index(X, w, method=name), rtol=1e-14)


def test_topsis_identical_units_get_one_half():
    assert topsis(np.ones((3, 2)), [0.5, 0.5]).tolist() == [0.5, 0.5, 0.5]


def test_registry_callable_and_errors():
    assert set(COMPOSITE_METHODS) == {"weighted_sum", "topsis", "pca"}
    out = composite_index(X, W, method=lambda x, w, *, cost: x @ w)
    np.testing.assert_allclose(out, X @ W)
    with pytest.raises(InputError, match="unknown composite"):
        get_composite_method("vikor")
    with pytest.raises(InputError, match="weights must have shape"):
        weighted_sum(X, np.ones((2, 3)))
    with pytest.raises(InputError, match="got 3 weights for 4 criteria"):
        topsis(X, [1, 1, 1])


def test_inputs_not_modified():
    x, w, cost = X.copy(), W.copy(), COST.copy()
    for name in COMPOSITE_METHODS:
        composite_index(x, w, method=name, cost=cost)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(w, W)
    np.testing.assert_array_equal(cost, COST)
