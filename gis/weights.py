"""Criterion weights for multi-criteria evaluation: objective and subjective methods.

Every function takes and returns plain arrays: a decision matrix ``x`` with units
(alternatives) in rows and criteria in columns, and a weight vector of length
``m`` (criteria) that is non-negative and sums to 1.

========  ==========================================================================
name      method
========  ==========================================================================
equal     ``1/m`` for every criterion
user      weights given by the user, validated and rescaled to sum 1
entropy   Shannon entropy of each criterion's share distribution (Shannon 1948;
          Zeleny 1982): criteria that spread units more get more weight
critic    CRITIC (Diakoulaki, Mavrotas & Papayannakis 1995): contrast (standard
          deviation of min-max scores) times conflict (1 - correlation)
ahp       Saaty's analytic hierarchy process: principal eigenvector of a
          pairwise comparison matrix, refused when its consistency ratio >= 0.10
pca       principal component weights: variance-weighted absolute loadings of the
          components with eigenvalue >= 1 (Kaiser criterion) on standardised data
========  ==========================================================================

:data:`WEIGHT_METHODS` maps names to functions ``f(x, *, cost=None, **options)``;
:func:`compute_weights` accepts a name or any callable with that signature, so a
raster workflow can pass a flattened stack of criterion layers as ``x``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from gis.errors import InputError
from gis.normalize import as_cost_mask, as_matrix, minmax, zscore

__all__ = [
    "SAATY_RANDOM_INDEX",
    "WEIGHT_METHODS",
    "AHPResult",
    "WeightMethod",
    "ahp",
    "ahp_weights",
    "check_pairwise_matrix",
    "compute_weights",
    "critic_weights",
    "entropy_weights",
    "equal_weights",
    "get_weight_method",
    "pca_weights",
    "principal_components",
    "random_index",
    "user_weights",
]

#: Signature of a weighting strategy: ``f(x, *, cost=None, **options) -> weights``.
WeightMethod = Callable[..., np.ndarray]

#: Saaty's random consistency index RI for matrices of order 1..15 (Saaty 1980,
#: *The Analytic Hierarchy Process*, table 1.7 and its extension to n = 15).
SAATY_RANDOM_INDEX: tuple[float, ...] = (
    0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59,
)  # fmt: skip

#: Consistency ratio at or above which a pairwise matrix is refused.
CR_LIMIT = 0.10


def _finish(w: np.ndarray, what: str) -> np.ndarray:
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        raise InputError(f"{what} weights are undefined for this matrix (they sum to {total})")
    return w / total


# ------------------------------------------------------------------------------ simple
def equal_weights(x: Any, *, cost: Any = None) -> np.ndarray:
    """``1/m`` for each of the ``m`` criteria (columns) of ``x``.

    Examples
    --------
    >>> equal_weights([[1, 2, 3, 4]]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    m = as_matrix(x).shape[1]
    return np.full(m, 1.0 / m)


def user_weights(
    x: Any = None, *, weights: Sequence[float] | np.ndarray, cost: Any = None
) -> np.ndarray:
    """Validate user weights and rescale them to sum 1.

    Parameters
    ----------
    x
        Decision matrix, only used to check that there is one weight per column.
    weights
        Non-negative, finite numbers, at least one positive.
    cost
        Ignored (the direction of a criterion lives in its normalisation).

    Examples
    --------
    >>> user_weights(weights=[2, 1, 1]).tolist()
    [0.5, 0.25, 0.25]
    >>> user_weights(weights=[1, -1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: weight 1 is -1.0; weights must be finite and non-negative
    """
    try:
        w = np.array(weights, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise InputError(f"weights must be numbers, got {weights!r}") from None
    if w.size == 0:
        raise InputError("weights are empty; give one weight per criterion")
    if x is not None:
        m = as_matrix(x).shape[1]
        if w.size != m:
            raise InputError(f"got {w.size} weights for {m} criteria; give one per criterion")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"weight {i} is {w[i]}; weights must be finite and non-negative")
    if w.sum() <= 0:
        raise InputError("all weights are zero; give at least one positive weight")
    return w / w.sum()


# ------------------------------------------------------------------------------ objective
def entropy_weights(x: Any, *, cost: Any = None) -> np.ndarray:
    """Entropy weights of a non-negative decision matrix.

    With shares ``p_ij = x_ij / sum_i x_ij`` the entropy of criterion ``j`` is
    ``e_j = -sum_i p_ij ln p_ij / ln n`` (``0 ln 0 = 0``), its divergence
    ``d_j = 1 - e_j`` and its weight ``d_j / sum_j d_j``. Entropy measures how
    unevenly a criterion spreads over units and does not depend on its direction,
    so ``cost`` is ignored; give the raw (non-negative) indicator values.

    Raises
    ------
    InputError
        On negative values, fewer than two units, a column that sums to zero, or
        when every criterion is spread perfectly evenly (all weights undefined).

    Examples
    --------
    >>> entropy_weights([[1, 1], [1, 3]]).round(4).tolist()
    [0.0, 1.0]
    """
    arr = as_matrix(x)
    n = arr.shape[0]
    if n < 2:
        raise InputError("entropy weights need at least two units")
    if (arr < 0).any():
        col = int(np.flatnonzero((arr < 0).any(axis=0))[0])
        raise InputError(
            f"entropy weights need non-negative values; column {col} has negative values "
            "(shift or min-max normalise it first)"
        )
    total = arr.sum(axis=0)
    if (total == 0).any():
        col = int(np.flatnonzero(total == 0)[0])
        raise InputError(f"column {col} is all zeros; its entropy weight is undefined")
    p = arr / total
    plogp = np.zeros_like(p)
    pos = p > 0
    plogp[pos] = p[pos] * np.log(p[pos])
    e = -plogp.sum(axis=0) / np.log(n)
    d = np.clip(1.0 - e, 0.0, None)
    if d.sum() <= 0:
        raise InputError("every criterion is spread evenly over the units; entropy weights are "
                         "undefined (use equal weights)")
    return d / d.sum()


def critic_weights(x: Any, *, cost: Any = None) -> np.ndarray:
    """CRITIC weights (Criteria Importance Through Intercriteria Correlation).

    Each criterion is min-max normalised (``cost`` criteria reversed), then
    ``C_j = s_j * sum_k (1 - r_jk)`` with ``s_j`` its standard deviation and
    ``r_jk`` the Pearson correlation between criteria; weights are ``C_j / sum C``.
    A constant criterion has ``s_j = 0`` and so weight 0 (its correlations, which
    are undefined, are taken as 0).

    Examples
    --------
    >>> critic_weights([[1, 2, 9], [2, 1, 7], [3, 5, 1], [4, 3, 3]]).round(4).tolist()
    [0.2711, 0.2697, 0.4592]
    """
    arr = as_matrix(x)
    if arr.shape[0] < 2:
        raise InputError("CRITIC weights need at least two units")
    z = minmax(arr, cost=cost)
    sd = z.std(axis=0, ddof=1)
    centred = z - z.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(norms > 0, norms, 1.0)
    u = centred / safe
    r = u.T @ u
    r[norms == 0, :] = 0.0
    r[:, norms == 0] = 0.0
    c = sd * (1.0 - r).sum(axis=0)
    return _finish(c, "CRITIC")


def principal_components(x: Any, *, cost: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of the correlation matrix of ``x``.

    The data are standardised (z-scores, ``cost`` criteria negated); constant
    criteria become zero columns. Each eigenvector's sign is chosen so that its
    entries sum to a non-negative number, so "more of the criteria" means a higher
    component score.

    Returns
    -------
    eigenvalues, eigenvectors
        ``(m,)`` and ``(m, m)``; column ``k`` of ``eigenvectors`` is component ``k``.

    Examples
    --------
    >>> vals, vecs = principal_components([[1, 2], [2, 4], [3, 7]])
    >>> vals.round(4).tolist(), vecs[:, 0].round(4).tolist()
    ([1.9934, 0.0066], [0.7071, 0.7071])
    """
    arr = as_matrix(x)
    if arr.shape[0] < 2:
        raise InputError("principal components need at least two units")
    z = zscore(arr, cost=cost)
    corr = (z.T @ z) / z.shape[0]
    vals, vecs = np.linalg.eigh(corr)
    order = np.argsort(vals)[::-1]
    vals = np.clip(vals[order], 0.0, None)
    vecs = vecs[:, order]
    sign = np.where(vecs.sum(axis=0) < 0, -1.0, 1.0)
    return vals, vecs * sign


def pca_weights(x: Any, *, cost: Any = None, min_eigenvalue: float = 1.0) -> np.ndarray:
    """Principal component weights.

    Components of the correlation matrix with eigenvalue ``>= min_eigenvalue``
    (Kaiser's criterion; at least the first is always kept) are retained and
    ``w_j ∝ sum_k lambda_k |v_jk|``: each criterion's absolute eigenvector entry
    weighted by the variance the component explains.

    Examples
    --------
    >>> pca_weights([[1, 2, 1], [2, 4, 1], [3, 7, 2], [4, 8, 2]]).round(4).tolist()
    [0.3331, 0.3387, 0.3281]
    """
    vals, vecs = principal_components(x, cost=cost)
    keep = vals >= min_eigenvalue
    keep[0] = True
    w = (np.abs(vecs[:, keep]) * vals[keep]).sum(axis=1)
    return _finish(w, "principal component")


# ------------------------------------------------------------------------------ AHP
@dataclass(frozen=True)
class AHPResult:
    """Result of an AHP pairwise comparison.

    Attributes
    ----------
    weights
        Principal right eigenvector, scaled to sum 1.
    lambda_max
        Principal eigenvalue.
    ci
        Consistency index ``(lambda_max - n) / (n - 1)``.
    ri
        Random index used.
    cr
        Consistency ratio ``ci / ri`` (0 for n <= 2).
    """

    weights: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float

    @property
    def consistent(self) -> bool:
        """True when ``cr < 0.10``."""
        return self.cr < CR_LIMIT


def _cell(i: int, j: int, labels: Sequence[str] | None) -> str:
    where = f"[{i}, {j}]"
    return f"{where} ({labels[i]} vs {labels[j]})" if labels is not None else where


def check_pairwise_matrix(
    matrix: Any, *, tolerance: float = 0.05, labels: Sequence[str] | None = None
) -> np.ndarray:
    """Validate an AHP pairwise comparison matrix and return it as an exact reciprocal matrix.

    The matrix must be square, with positive finite entries, ones on the diagonal
    and ``a_ji * a_ij == 1`` within relative ``tolerance`` (so rounded entries such
    as 0.33 for 1/3 pass). The returned matrix takes the upper triangle as given
    and sets the lower triangle to its exact reciprocals. ``labels`` (criterion
    names in row order) make error messages name the criteria of a bad cell.

    Raises
    ------
    InputError
        Naming the offending cell ``[row, col]`` or the shape.

    Examples
    --------
    >>> check_pairwise_matrix([[1, 3], [0.33, 1]]).round(4).tolist()
    [[1.0, 3.0], [0.3333, 1.0]]
    >>> check_pairwise_matrix([[1, 3], [2, 1]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: pairwise matrix is not reciprocal at cell [1, 0]: ...
    """
    try:
        a = np.array(matrix, dtype="float64")
    except (TypeError, ValueError):
        raise InputError("pairwise matrix must be numeric") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f"pairwise matrix must be square, got shape {a.shape}")
    if a.shape[0] == 0:
        raise InputError("pairwise matrix is empty")
    if labels is not None and len(labels) != a.shape[0]:
        raise InputError(f"got {len(labels)} labels for a {a.shape[0]} x {a.shape[0]} matrix")
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"pairwise matrix cell {_cell(i, j, labels)} is {a[i, j]}; "
            "entries must be positive numbers"
        )
    diag = np.flatnonzero(np.abs(np.diag(a) - 1.0) > 1e-9)
    if diag.size:
        i = int(diag[0])
        raise InputError(
            f"pairwise matrix cell {_cell(i, i, labels)} is {a[i, i]}; the diagonal must be 1"
        )
    dev = np.abs(a * a.T - 1.0)
    off = np.tril(dev > tolerance, k=-1)
    if off.any():
        i, j = np.argwhere(off)[0]
        raise InputError(
            f"pairwise matrix is not reciprocal at cell {_cell(i, j, labels)}: {a[i, j]:g} "
            f"should be 1/{a[j, i]:g} = {1.0 / a[j, i]:.4g} (cell [{j}, {i}] is {a[j, i]:g})"
        )
    upper = np.triu(a, k=1)
    out = upper + np.triu(1.0 / a, k=1).T
    np.fill_diagonal(out, 1.0)
    return out


@lru_cache(maxsize=64)
def _simulated_random_index(n: int, draws: int = 2000, seed: int = 20220925) -> float:
    """Mean CI of random reciprocal matrices on the 1/9..9 scale (how RI tables are made)."""
    rng = np.random.default_rng(seed)
    scale = np.array([1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6,
                      7, 8, 9])
    iu = np.triu_indices(n, k=1)
    mats = np.ones((draws, n, n))
    vals = rng.choice(scale, size=(draws, iu[0].size))
    mats[:, iu[0], iu[1]] = vals
    mats[:, iu[1], iu[0]] = 1.0 / vals
    lam = np.linalg.eigvals(mats).real.max(axis=1)
    return float(((lam - n) / (n - 1)).mean())


def random_index(n: int) -> float:
    """Random consistency index for an ``n x n`` matrix.

    Saaty's table (:data:`SAATY_RANDOM_INDEX`) for ``n <= 15``; for larger
    matrices the mean consistency index of 2,000 seeded random reciprocal matrices
    on Saaty's 1/9..9 scale (the way the table itself was estimated).

    Examples
    --------
    >>> random_index(3), random_index(10)
    (0.58, 1.49)
    """
    if n < 1:
        raise InputError(f"matrix order must be positive, got {n}")
    if n <= len(SAATY_RANDOM_INDEX):
        return SAATY_RANDOM_INDEX[n - 1]
    return _simulated_random_index(int(n))


def ahp(
    matrix: Any,
    *,
    allow_inconsistent: bool = False,
    ri: float | None = None,
    tolerance: float = 0.05,
    labels: Sequence[str] | None = None,
) -> AHPResult:
    """Weights and consistency of an AHP pairwise comparison matrix.

    Parameters
    ----------
    matrix
        Square matrix, ``a_ij`` = how much more important criterion ``i`` is than
        ``j`` on Saaty's 1-9 scale; see :func:`check_pairwise_matrix`.
    allow_inconsistent
        Return weights even when the consistency ratio is ``>= 0.10``.
    ri
        Random index to use instead of :func:`random_index`.
    tolerance
        Relative tolerance of the reciprocity check.
    labels
        Criterion names in row order, used in error messages.

    Raises
    ------
    InputError
        On an invalid matrix, or when ``CR >= 0.10`` and not ``allow_inconsistent``.

    Examples
    --------
    >>> r = ahp([[1, 3, 5], [1/3, 1, 3], [1/5, 1/3, 1]])
    >>> r.weights.round(4).tolist(), round(r.cr, 4)
    ([0.637, 0.2583, 0.1047], 0.0332)
    """
    a = check_pairwise_matrix(matrix, tolerance=tolerance, labels=labels)
    n = a.shape[0]
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    v = np.abs(vecs[:, k].real)
    w = v / v.sum()
    if n <= 2:
        return AHPResult(w, lam, 0.0, 0.0, 0.0)
    ci = max((lam - n) / (n - 1), 0.0)
    r_index = random_index(n) if ri is None else float(ri)
    if not r_index > 0:
        raise InputError(f"random index must be positive, got {r_index}")
    cr = ci / r_index
    if cr >= CR_LIMIT and not allow_inconsistent:
        worst = np.unravel_index(np.argmax(np.abs(np.log(a * np.outer(w, 1.0 / w).T))), a.shape)
        raise InputError(
            f"pairwise matrix is inconsistent: consistency ratio {cr:.3f} >= {CR_LIMIT:.2f} "
            f"(lambda_max {lam:.3f}, CI {ci:.3f}, RI {r_index:.2f}); the judgement furthest "
            f"from the implied weights is cell {_cell(int(worst[0]), int(worst[1]), labels)} = "
            f"{a[worst]:.4g} "
            f"(implied {w[worst[0]] / w[worst[1]]:.3g}); revise the comparisons or pass "
            "allow_inconsistent=True"
        )
    return AHPResult(w, lam, ci, r_index, cr)


def ahp_weights(matrix: Any, *, allow_inconsistent: bool = False) -> np.ndarray:
    """Principal-eigenvector weights of an AHP matrix (see :func:`ahp`).

    Examples
    --------
    >>> ahp_weights([[1, 2], [0.5, 1]]).round(4).tolist()
    [0.6667, 0.3333]
    """
    return ahp(matrix, allow_inconsistent=allow_inconsistent).weights


def _ahp_method(
    x: Any, *, cost: Any = None, pairwise: Any = None, allow_inconsistent: bool = False
) -> np.ndarray:
    if pairwise is None:
        raise InputError("AHP weights need a pairwise comparison matrix (pairwise=...)")
    w = ahp_weights(pairwise, allow_inconsistent=allow_inconsistent)
    m = as_matrix(x).shape[1]
    if w.size != m:
        raise InputError(f"pairwise matrix is {w.size} x {w.size} but there are {m} criteria")
    return w


def _user_method(x: Any, *, cost: Any = None, weights: Any = None) -> np.ndarray:
    if weights is None:
        raise InputError("user weights need weights=[...], one per criterion")
    return user_weights(x, weights=weights)


#: Registered weighting strategies; each is called as ``f(x, *, cost=..., **options)``.
WEIGHT_METHODS: dict[str, WeightMethod] = {
    "equal": equal_weights,
    "user": _user_method,
    "entropy": entropy_weights,
    "critic": critic_weights,
    "ahp": _ahp_method,
    "pca": pca_weights,
}


def get_weight_method(method: str | WeightMethod) -> WeightMethod:
    """Look up a weighting strategy by name, or return a callable unchanged.

    Examples
    --------
    >>> get_weight_method("entropy") is entropy_weights
    True
    """
    if callable(method):
        return method
    try:
        return WEIGHT_METHODS[method]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown weighting {method!r}; choose one of {', '.join(WEIGHT_METHODS)} "
            "or pass a callable f(x, *, cost, **options)"
        ) from None


def compute_weights(
    x: Any, *, method: str | WeightMethod = "equal", cost: Any = None, **options: Any
) -> np.ndarray:
    """Weights for the criteria of ``x`` with a named strategy or a callable.

    Parameters
    ----------
    x
        Decision matrix (units x criteria); not modified.
    method
        A key of :data:`WEIGHT_METHODS` or a callable.
    cost
        Per-criterion flags, True where lower is better.
    **options
        Passed to the strategy: ``weights=`` for ``user``, ``pairwise=`` and
        ``allow_inconsistent=`` for ``ahp``, ``min_eigenvalue=`` for ``pca``.

    Returns
    -------
    numpy.ndarray
        Non-negative weights summing to 1, one per column.

    Examples
    --------
    >>> compute_weights([[1, 5], [2, 5], [3, 6]], method="user", weights=[1, 3]).tolist()
    [0.25, 0.75]
    """
    arr = as_matrix(x)
    mask = as_cost_mask(cost, arr.shape[1])
    w = np.asarray(get_weight_method(method)(arr, cost=mask, **options), dtype="float64")
    if w.shape != (arr.shape[1],):
        raise InputError(f"weighting returned shape {w.shape}, expected ({arr.shape[1]},)")
    return user_weights(arr, weights=w)
