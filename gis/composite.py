"""Composite indices: one score per unit from a decision matrix and criterion weights.

============  ==============================================================================
name          method
============  ==============================================================================
weighted_sum  ``sum_j w_j r_ij`` of the normalised matrix ``r`` (simple additive weighting)
topsis        closeness to the ideal (Hwang & Yoon 1981): ``D-_i / (D+_i + D-_i)`` with
              weighted Euclidean distances to the best and worst value of each criterion
pca           score on the first principal component of the standardised matrix
              (weights are not used; see :func:`gis.weights.principal_components`)
============  ==============================================================================

Each strategy in :data:`COMPOSITE_METHODS` is called as
``f(x, weights, *, cost=None, normalization=...)`` with the *raw* decision matrix,
so the same call can be repeated with other weights (a sensitivity analysis);
:func:`composite_index` also accepts any callable with that signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gis.errors import InputError
from gis.normalize import Normalizer, as_cost_mask, as_matrix, normalize, zscore
from gis.weights import principal_components, user_weights

__all__ = [
    "COMPOSITE_METHODS",
    "CompositeMethod",
    "composite_index",
    "first_principal_component",
    "get_composite_method",
    "topsis",
    "weighted_sum",
]

#: Signature of a composite strategy: ``f(x, weights, *, cost, normalization) -> scores``.
CompositeMethod = Callable[..., np.ndarray]


def _weights_matrix(w: Any, m: int) -> np.ndarray:
    """Weights as an ``(m,)`` vector or a ``(draws, m)`` stack, each row summing to 1."""
    arr = np.asarray(w, dtype="float64")
    if arr.ndim == 1:
        return user_weights(np.zeros((1, m)), weights=arr)
    if arr.ndim != 2 or arr.shape[1] != m:
        raise InputError(f"weights must have shape ({m},) or (draws, {m}), got {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputError("weights must be finite and non-negative")
    total = arr.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise InputError("a row of weights sums to zero")
    return arr / total


def weighted_sum(
    x: Any,
    weights: Any,
    *,
    cost: Any = None,
    normalization: str | Normalizer = "minmax",
) -> np.ndarray:
    """Weighted sum of normalised criteria.

    Parameters
    ----------
    x
        Raw decision matrix (units x criteria).
    weights
        ``(m,)`` weights, or a ``(draws, m)`` stack to score many weight sets at once
        (the result is then ``(draws, n)``).
    cost
        Per-criterion flags, True where lower is better.
    normalization
        Name in :data:`gis.normalize.NORMALIZERS` or a callable.

    Examples
    --------
    >>> weighted_sum([[0, 10], [5, 0], [10, 5]], [0.5, 0.5]).tolist()
    [0.5, 0.25, 0.75]
    """
    arr = as_matrix(x)
    r = normalize(arr, method=normalization, cost=cost)
    w = _weights_matrix(weights, arr.shape[1])
    return r @ w if w.ndim == 1 else w @ r.T


def topsis(
    x: Any,
    weights: Any,
    *,
    cost: Any = None,
    normalization: str | Normalizer = "vector",
) -> np.ndarray:
    """TOPSIS relative closeness to the ideal solution, in [0, 1].

    The matrix is normalised (vector normalisation by default, cost criteria
    reversed so higher is better in every column), weighted, and compared with the
    column-wise best (positive ideal) and worst (negative ideal) values. A unit that
    equals both ideals (all units identical) gets 0.5.

    ``weights`` may be a ``(draws, m)`` stack; the result is then ``(draws, n)``.

    Examples
    --------
    >>> topsis([[1, 1], [0, 0], [1, 0]], [0.5, 0.5]).round(4).tolist()
    [1.0, 0.0, 0.4142]
    """
    arr = as_matrix(x)
    r = normalize(arr, method=normalization, cost=cost)
    w = _weights_matrix(weights, arr.shape[1])
    single = w.ndim == 1
    w2 = np.atleast_2d(w)[:, None, :]  # (draws, 1, m)
    v = r[None, :, :] * w2  # (draws, n, m)
    best = v.max(axis=1, keepdims=True)
    worst = v.min(axis=1, keepdims=True)
    d_plus = np.sqrt(((v - best) ** 2).sum(axis=2))
    d_minus = np.sqrt(((v - worst) ** 2).sum(axis=2))
    total = d_plus + d_minus
    score = np.divide(d_minus, total, out=np.full_like(total, 0.5), where=total > 0)
    return score[0] if single else score


def first_principal_component(
    x: Any,
    weights: Any = None,
    *,
    cost: Any = None,
    normalization: str | Normalizer | None = None,
) -> np.ndarray:
    """Scores on the first principal component of the standardised matrix.

    The component is oriented so that its loadings sum to a non-negative number
    (more of the benefit criteria raises the score). ``weights`` and
    ``normalization`` are accepted for a uniform signature and ignored: the
    component itself sets the weights. Scores have mean 0.

    Examples
    --------
    >>> first_principal_component([[1, 2], [2, 4], [3, 7]]).round(4).tolist()
    [-1.669, -0.1147, 1.7837]
    """
    arr = as_matrix(x)
    _, vecs = principal_components(arr, cost=cost)
    score = zscore(arr, cost=cost) @ vecs[:, 0]
    if weights is not None and np.asarray(weights).ndim == 2:
        return np.broadcast_to(score, (np.asarray(weights).shape[0], score.size)).copy()
    return score


#: Registered composite strategies.
COMPOSITE_METHODS: dict[str, CompositeMethod] = {
    "weighted_sum": weighted_sum,
    "topsis": topsis,
    "pca": first_principal_component,
}


def get_composite_method(method: str | CompositeMethod) -> CompositeMethod:
    """Look up a composite strategy by name, or return a callable unchanged.

    Examples
    --------
    >>> get_composite_method("topsis") is topsis
    True
    """
    if callable(method):
        return method
    try:
        return COMPOSITE_METHODS[method]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown composite {method!r}; choose one of {', '.join(COMPOSITE_METHODS)} "
            "or pass a callable f(x, weights, *, cost, normalization)"
        ) from None


def composite_index(
    x: Any,
    weights: Any,
    *,
    method: str | CompositeMethod = "weighted_sum",
    cost: Any = None,
    normalization: str | Normalizer | None = None,
) -> np.ndarray:
    """Composite score per unit (higher is better) with a named strategy or a callable.

    Parameters
    ----------
    x
        Raw decision matrix (units x criteria); not modified.
    weights
        ``(m,)`` weights or a ``(draws, m)`` stack.
    method
        A key of :data:`COMPOSITE_METHODS` or a callable.
    cost
        Per-criterion flags, True where lower is better.
    normalization
        Normalisation passed to the strategy; ``None`` keeps the strategy's default
        (min-max for ``weighted_sum``, vector for ``topsis``).

    Examples
    --------
    >>> composite_index([[0, 10], [5, 0], [10, 5]], [0.5, 0.5], method="topsis").round(4).tolist()
    [0.5, 0.309, 0.691]
    """
    arr = as_matrix(x)
    mask = as_cost_mask(cost, arr.shape[1])
    kwargs: dict[str, Any] = {"cost": mask}
    if normalization is not None:
        kwargs["normalization"] = normalization
    out = np.asarray(get_composite_method(method)(arr, weights, **kwargs), dtype="float64")
    expected = (arr.shape[0],) if np.asarray(weights).ndim < 2 else None
    if expected is not None and out.shape != expected:
        raise InputError(f"composite returned shape {out.shape}, expected {expected}")
    return out
