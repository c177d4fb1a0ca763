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
:func:`compute_weights` accepts a name or any callable with that signature.

Weights that need no data come from a ranking or from points:
:func:`rank_weights` (rank sum, rank reciprocal, rank-order centroid; Stillwell,
Seaver & Edwards 1981, Barron & Barrett 1996) and :func:`direct_weights` (points
allocated or rated on any scale). :func:`raster_weights` computes entropy, CRITIC
and principal-component weights from criterion *rasters* in one streamed pass over
row chunks (exact, bounded memory), and :func:`ahp_revisions` names the pairwise
judgements whose revision would most reduce an AHP matrix's inconsistency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from gis.errors import InputError
from gis.normalize import as_cost_mask, as_matrix, minmax, zscore

__all__ = [
    "RANK_METHODS",
    "RASTER_WEIGHT_METHODS",
    "SAATY_RANDOM_INDEX",
    "SAATY_SCALE",
    "WEIGHT_METHODS",
    "AHPResult",
    "Revision",
    "WeightMethod",
    "ahp",
    "ahp_revisions",
    "ahp_weights",
    "check_pairwise_matrix",
    "compute_weights",
    "critic_weights",
    "direct_weights",
    "entropy_weights",
    "equal_weights",
    "get_weight_method",
    "pca_weights",
    "principal_components",
    "random_index",
    "rank_order_centroid_weights",
    "rank_reciprocal_weights",
    "rank_sum_weights",
    "rank_weights",
    "raster_weights",
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
    >>> user_weights(weights=[1e308, 1e308]).tolist()
    [0.5, 0.5]
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
    if w.max() <= 0:
        raise InputError("all weights are zero; give at least one positive weight")
    with np.errstate(over="ignore"):
        total = w.sum()
    if not np.isfinite(total):  # huge weights (1e308 each): scaled by the largest first
        w = w / w.max()
        total = w.sum()
    return w / total


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
        raise InputError(
            "every criterion is spread evenly over the units; entropy weights are "
            "undefined (use equal weights)"
        )
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
    return _components((z.T @ z) / z.shape[0])


def _components(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a correlation matrix, descending, signs as documented above."""
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
    return _pca_from_components(vals, vecs, min_eigenvalue)


def _pca_from_components(vals: np.ndarray, vecs: np.ndarray, min_eigenvalue: float) -> np.ndarray:
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
    scale = np.array(
        [1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    )
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
        revisions = ahp_revisions(a, labels=labels, ri=r_index, top=3)
        hints = "; ".join(
            f"cell {_cell(r.row, r.col, labels)} from {_fraction(r.current)} to "
            f"{_fraction(r.suggested)} gives CR {r.cr_after:.3f}"
            for r in revisions
        )
        raise InputError(
            f"pairwise matrix is inconsistent: consistency ratio {cr:.3f} >= {CR_LIMIT:.2f} "
            f"(lambda_max {lam:.3f}, CI {ci:.3f}, RI {r_index:.2f}); the judgements whose "
            f"revision most reduces the inconsistency: {hints}; revise the comparisons or pass "
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


# ------------------------------------------------------------------------------ ranks, points
def _rank_positions(ranks: Any) -> tuple[np.ndarray, np.ndarray]:
    """First and last position (1-based) that each criterion occupies in the ranking.

    Tied criteria share the positions they span: ranks ``[1, 2, 2, 3]`` put the two
    tied criteria on positions 2 and 3.
    """
    from scipy.stats import rankdata

    try:
        r = np.array(ranks, dtype="float64")
    except (TypeError, ValueError):
        raise InputError(f"ranks must be numbers (1 = most important), got {ranks!r}") from None
    if r.ndim != 1 or r.size == 0:
        raise InputError(f"ranks must be a non-empty list, one per criterion; got shape {r.shape}")
    bad = ~np.isfinite(r) | (r <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"rank {i} is {r[i]}; ranks must be positive numbers (1 = most important)")
    first = rankdata(r, method="min").astype(np.int64)
    last = rankdata(r, method="max").astype(np.int64)
    return first, last


def _positional(ranks: Any, f: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Weights from a per-position formula ``f(positions, n)``, ties averaged over positions."""
    first, last = _rank_positions(ranks)
    n = first.size
    per_position = f(np.arange(1, n + 1, dtype="float64"), n)
    cum = np.concatenate([[0.0], np.cumsum(per_position)])
    w = (cum[last] - cum[first - 1]) / (last - first + 1)
    return w / w.sum()


def rank_sum_weights(ranks: Any) -> np.ndarray:
    """Rank-sum weights: ``w_j ∝ n - r_j + 1`` (Stillwell, Seaver & Edwards 1981).

    Parameters
    ----------
    ranks
        One rank per criterion, 1 = most important. Tied criteria (equal ranks)
        share the positions they span and get the mean of their weights.

    Examples
    --------
    >>> rank_sum_weights([1, 2, 3, 4]).tolist()
    [0.4, 0.3, 0.2, 0.1]
    >>> rank_sum_weights([2, 1, 2]).round(4).tolist()
    [0.25, 0.5, 0.25]
    """
    return _positional(ranks, lambda k, n: n - k + 1.0)


def rank_reciprocal_weights(ranks: Any) -> np.ndarray:
    """Rank-reciprocal weights: ``w_j ∝ 1 / r_j`` (Stillwell, Seaver & Edwards 1981).

    Examples
    --------
    >>> rank_reciprocal_weights([1, 2, 3, 4]).round(4).tolist()
    [0.48, 0.24, 0.16, 0.12]
    """
    return _positional(ranks, lambda k, n: 1.0 / k)


def rank_order_centroid_weights(ranks: Any) -> np.ndarray:
    """Rank-order centroid weights: ``w_j = (1/n) Σ_{k=r_j}^{n} 1/k`` (Barron & Barrett 1996).

    The centroid of the set of weight vectors consistent with the ranking.

    Examples
    --------
    >>> rank_order_centroid_weights([1, 2, 3, 4]).round(4).tolist()
    [0.5208, 0.2708, 0.1458, 0.0625]
    """

    def roc(k: np.ndarray, n: int) -> np.ndarray:
        tail = np.cumsum((1.0 / np.arange(1, n + 1))[::-1])[::-1]  # Σ_{i=k}^{n} 1/i
        return tail[(k - 1).astype(np.int64)] / n

    return _positional(ranks, roc)


#: Rank-based weighting formulas by name, each ``f(ranks) -> weights``.
RANK_METHODS: dict[str, Callable[[Any], np.ndarray]] = {
    "rank_sum": rank_sum_weights,
    "rank_reciprocal": rank_reciprocal_weights,
    "rank_order_centroid": rank_order_centroid_weights,
}


def rank_weights(
    ranks: Any, *, method: str = "rank_order_centroid"
) -> np.ndarray | dict[str, float]:
    """Weights from a ranking of the criteria with a formula of :data:`RANK_METHODS`.

    Parameters
    ----------
    ranks
        One rank per criterion (1 = most important; equal ranks are ties), as a
        sequence, or a mapping name → rank (the result is then a dict).
    method
        ``"rank_sum"``, ``"rank_reciprocal"`` or ``"rank_order_centroid"``.

    Examples
    --------
    >>> rank_weights({"transit": 1, "green": 2}, method="rank_sum")
    {'transit': 0.6666666666666666, 'green': 0.3333333333333333}
    """
    if method not in RANK_METHODS:
        raise InputError(
            f"unknown rank weighting {method!r}; choose one of {', '.join(RANK_METHODS)}"
        )
    if isinstance(ranks, Mapping):
        w = RANK_METHODS[method](list(ranks.values()))
        return dict(zip(ranks, map(float, w), strict=True))
    return RANK_METHODS[method](ranks)


def direct_weights(points: Any, *, scale: tuple[float, float] | None = None) -> Any:
    """Direct weights: points allocated or rated per criterion, scaled to sum 1.

    Parameters
    ----------
    points
        Non-negative points per criterion (a sequence, or a mapping name → points
        whose result is a dict), e.g. 100 points shared out, or ratings 0–10.
    scale
        Optional ``(low, high)`` range every rating must lie in (e.g. ``(0, 10)``).

    Raises
    ------
    InputError
        Negative, non-finite or all-zero points, or a rating outside ``scale``
        (the message names the criterion).

    Examples
    --------
    >>> direct_weights([50, 30, 20]).tolist()
    [0.5, 0.3, 0.2]
    >>> direct_weights({"a": 7, "b": 12}, scale=(0, 10))
    Traceback (most recent call last):
    ...
    gis.errors.InputError: rating of 'b' is 12.0, outside the scale 0..10
    """
    names = list(points) if isinstance(points, Mapping) else None
    values = list(points.values()) if isinstance(points, Mapping) else points
    try:
        p = np.array(values, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise InputError(f"points must be numbers, got {points!r}") from None
    if scale is not None:
        lo, hi = (float(v) for v in scale)
        if not lo < hi:
            raise InputError(f"scale must be (low, high) with low < high, got {scale!r}")
        out = np.flatnonzero((p < lo) | (p > hi))
        if out.size:
            i = int(out[0])
            who = repr(names[i]) if names is not None else str(i)
            raise InputError(f"rating of {who} is {p[i]}, outside the scale {lo:g}..{hi:g}")
    w = user_weights(weights=p)
    return dict(zip(names, map(float, w), strict=True)) if names is not None else w


# ------------------------------------------------------------------------------ rasters
#: Weighting methods that :func:`raster_weights` computes from criterion rasters.
RASTER_WEIGHT_METHODS: tuple[str, ...] = ("equal", "entropy", "critic", "pca")


class _Moments:
    """Streamed count, mean, co-moment, minimum and maximum of ``m`` variables.

    Chunks are merged with the pairwise update of Chan, Golub & LeVeque (1979), so
    the result equals a single pass over all rows to rounding.
    """

    def __init__(self, m: int) -> None:
        self.n = 0
        self.mean = np.zeros(m)
        self.comoment = np.zeros((m, m))
        self.lo = np.full(m, np.inf)
        self.hi = np.full(m, -np.inf)
        self.total = np.zeros(m)
        self.xlogx = np.zeros(m)

    def add(self, block: np.ndarray, *, entropy: bool) -> None:
        nb = block.shape[0]
        if nb == 0:
            return
        mb = block.mean(axis=0)
        centred = block - mb
        cb = centred.T @ centred
        n = self.n + nb
        delta = mb - self.mean
        self.comoment += cb + np.outer(delta, delta) * (self.n * nb / n)
        self.mean += delta * (nb / n)
        self.n = n
        np.minimum(self.lo, block.min(axis=0), out=self.lo)
        np.maximum(self.hi, block.max(axis=0), out=self.hi)
        if entropy:
            self.total += block.sum(axis=0)
            pos = np.where(block > 0, block, 1.0)
            self.xlogx += (block * np.log(pos)).sum(axis=0)


def raster_weights(
    layers: Mapping[str, Any],
    *,
    method: str = "entropy",
    mask: Any = None,
    cost: Mapping[str, bool] | None = None,
    min_eigenvalue: float = 1.0,
    chunk_rows: int | None = None,
) -> dict[str, float]:
    """Objective weights from criterion rasters, streamed over row chunks.

    Every cell that is finite in all layers (and True in ``mask``) is a unit of the
    decision matrix. The statistics each method needs are accumulated chunk by
    chunk — sums and ``Σ x ln x`` for entropy; count, mean, co-moments, minimum
    and maximum for CRITIC and principal components — so memory does not grow
    with the grid, and the weights equal those of :func:`entropy_weights`,
    :func:`critic_weights` and :func:`pca_weights` on the flattened table of
    valid cells (to rounding; tested).

    Parameters
    ----------
    layers
        Criterion name → 2-D array; all the same shape. Not modified.
    method
        One of :data:`RASTER_WEIGHT_METHODS`.
    mask
        Optional boolean array, True for the cells to use (e.g. the study area).
    cost
        Criterion name → True where lower is better (CRITIC, PCA); entropy
        ignores the direction.
    min_eigenvalue
        Kaiser threshold for ``"pca"``.
    chunk_rows
        Rows per chunk (default: about 65 000 cells).

    Returns
    -------
    dict
        Criterion name → weight, summing to 1.

    Raises
    ------
    InputError
        Unknown method, layers of different shapes, fewer than two valid cells,
        negative values for entropy, or weights that are undefined.

    Examples
    --------
    >>> a = np.array([[1.0, 1.0], [1.0, 3.0]])
    >>> b = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> {k: round(v, 4) for k, v in raster_weights({"a": a, "b": b}).items()}
    {'a': 0.5747, 'b': 0.4253}
    """
    from gis._validate import as_numeric_array, check_mask, chunk_rows_for

    if method not in RASTER_WEIGHT_METHODS:
        raise InputError(
            f"unknown raster weighting {method!r}; choose one of {', '.join(RASTER_WEIGHT_METHODS)}"
        )
    if not isinstance(layers, Mapping) or not layers:
        raise InputError("layers must be a non-empty mapping of criterion name to array")
    names = list(layers)
    arrays = [as_numeric_array(layers[k], f"layer {k!r}") for k in names]
    shape = arrays[0].shape
    for k, a in zip(names, arrays, strict=True):
        if a.shape != shape:
            raise InputError(f"layer {k!r} has shape {a.shape} but {names[0]!r} has {shape}")
    if method == "equal":
        return {k: 1.0 / len(names) for k in names}
    sel = None if mask is None else check_mask(mask, shape, "mask")
    flags = np.array([bool((cost or {}).get(k, False)) for k in names])
    unknown = [k for k in (cost or {}) if k not in layers]
    if unknown:
        raise InputError(f"cost given for unknown layers {unknown}; layers are {names}")
    rows = chunk_rows_for(shape, chunk_rows)
    acc = _Moments(len(names))
    for start in range(0, shape[0], rows):
        block = np.stack([a[start : start + rows].reshape(-1) for a in arrays], axis=1).astype(
            "float64", copy=False
        )
        ok = np.isfinite(block).all(axis=1)
        if sel is not None:
            ok &= sel[start : start + rows].reshape(-1)
        block = block[ok]
        if method == "entropy" and (block < 0).any():
            j = int(np.flatnonzero((block < 0).any(axis=0))[0])
            raise InputError(
                f"entropy weights need non-negative values; layer {names[j]!r} has negative "
                "values (use a 0-1 score or shift it first)"
            )
        acc.add(block, entropy=method == "entropy")
    n = acc.n
    if n < 2:
        raise InputError(f"{method} weights need at least two valid cells, got {n}")
    if method == "entropy":
        if (acc.total == 0).any():
            j = int(np.flatnonzero(acc.total == 0)[0])
            raise InputError(f"layer {names[j]!r} is zero everywhere; its entropy is undefined")
        e = -(acc.xlogx / acc.total - np.log(acc.total)) / math.log(n)
        d = np.clip(1.0 - e, 0.0, None)
        if d.sum() <= 0:
            raise InputError(
                "every layer is spread evenly over the cells; entropy weights are "
                "undefined (use equal weights)"
            )
        w = d / d.sum()
    else:
        var = np.diag(acc.comoment).copy()
        live = var > 0
        sd = np.sqrt(np.where(live, var, 1.0))
        corr = acc.comoment / np.outer(sd, sd)
        sign = np.where(flags, -1.0, 1.0)
        corr *= np.outer(sign, sign)
        corr[~live, :] = 0.0
        corr[:, ~live] = 0.0
        if method == "critic":
            span = acc.hi - acc.lo
            sd_z = np.where(live, np.sqrt(var / (n - 1)) / np.where(span > 0, span, 1.0), 0.0)
            w = _finish(sd_z * (1.0 - corr).sum(axis=0), "CRITIC")
        else:
            vals, vecs = _components(corr)
            w = _pca_from_components(vals, vecs, min_eigenvalue)
    return dict(zip(names, map(float, w), strict=True))


# ------------------------------------------------------------------------------ AHP revisions
#: Saaty's fundamental scale and its reciprocals, the values a judgement may take.
SAATY_SCALE: tuple[float, ...] = tuple(
    [1.0 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)]
)


class Revision(NamedTuple):
    """One judgement of a pairwise matrix and the effect of revising it.

    Attributes
    ----------
    row, col
        Cell of the judgement (upper triangle, ``row < col``).
    label
        ``"a vs b"`` with the criterion names, or ``"[row, col]"``.
    current
        The judgement as given.
    suggested
        The value of Saaty's scale (1/9 … 9) that makes the matrix most consistent.
    implied
        ``w_row / w_col`` from the current weights (the perfectly consistent value).
    cr_after
        Consistency ratio after replacing ``current`` by ``suggested``.
    """

    row: int
    col: int
    label: str
    current: float
    suggested: float
    implied: float
    cr_after: float


def _fraction(value: float) -> str:
    """A judgement as Saaty would write it: ``3``, ``1/5`` or ``2.37``."""
    for k in range(1, 10):
        if math.isclose(value, k, rel_tol=1e-6):
            return str(k)
        if math.isclose(value, 1.0 / k, rel_tol=1e-6):
            return f"1/{k}"
    return f"{value:.3g}"


def ahp_revisions(
    matrix: Any,
    *,
    labels: Sequence[str] | None = None,
    ri: float | None = None,
    tolerance: float = 0.05,
    top: int | None = None,
    max_pairs: int = 500,
) -> list[Revision]:
    """Judgements ranked by how much revising each would reduce the inconsistency.

    For every judgement ``a_ij`` above the diagonal, each value of Saaty's scale
    (:data:`SAATY_SCALE`) is tried in its place (with ``a_ji = 1/a_ij``) and the
    principal eigenvalue recomputed; the value giving the lowest consistency
    ratio is the suggestion. Judgements are returned by increasing CR after their
    best revision, so the first is the single change that helps most. All
    ``n(n-1)/2 × 17`` eigenvalue problems are solved in batches.

    Parameters
    ----------
    matrix
        Pairwise comparison matrix (see :func:`check_pairwise_matrix`).
    labels
        Criterion names in row order.
    ri
        Random index (default :func:`random_index`).
    tolerance
        Reciprocity tolerance of the check.
    top
        Return only the first ``top`` judgements.
    max_pairs
        Above this many judgements (n > 32) only the ``max_pairs`` furthest from
        the current weights (largest ``|ln(a_ij w_j / w_i)|``) are tried.

    Returns
    -------
    list of Revision

    Examples
    --------
    Weights 8:4:2:1 give a consistent matrix; the judgement "a vs d" entered as
    1/2 instead of 8 is found:

    >>> m = [[1, 2, 4, 1/2], [1/2, 1, 2, 4], [1/4, 1/2, 1, 2], [2, 1/4, 1/2, 1]]
    >>> best = ahp_revisions(m, labels=["a", "b", "c", "d"])[0]
    >>> best.label, _fraction(best.current), _fraction(best.suggested), round(best.cr_after, 3)
    ('a vs d', '1/2', '8', 0.0)
    """
    a = check_pairwise_matrix(matrix, tolerance=tolerance, labels=labels)
    n = a.shape[0]
    if n < 3:
        return []
    r_index = random_index(n) if ri is None else float(ri)
    w = ahp(a, allow_inconsistent=True, ri=r_index).weights
    iu, ju = np.triu_indices(n, k=1)
    if iu.size > max_pairs:
        deviation = np.abs(np.log(a[iu, ju] * w[ju] / w[iu]))
        keep = np.sort(np.argsort(-deviation, kind="stable")[:max_pairs])
        iu, ju = iu[keep], ju[keep]
    scale = np.array(SAATY_SCALE)
    pairs = iu.size
    best_cr = np.empty(pairs)
    best_val = np.empty(pairs)
    per_batch = max(1, 2_000_000 // (n * n * scale.size))
    for start in range(0, pairs, per_batch):
        stop = min(start + per_batch, pairs)
        k = stop - start
        mats = np.broadcast_to(a, (k, scale.size, n, n)).copy()
        rows, cols = iu[start:stop], ju[start:stop]
        idx = np.arange(k)
        mats[idx, :, rows, cols] = scale
        mats[idx, :, cols, rows] = 1.0 / scale
        lam = np.linalg.eigvals(mats.reshape(-1, n, n)).real.max(axis=1).reshape(k, scale.size)
        cr = np.clip((lam - n) / (n - 1), 0.0, None) / r_index
        j = np.argmin(cr, axis=1)
        best_cr[start:stop] = cr[idx, j]
        best_val[start:stop] = scale[j]
    change = np.abs(np.log(best_val / a[iu, ju]))
    order = np.lexsort((np.arange(pairs), change, np.round(best_cr, 9)))
    if top is not None:
        order = order[: max(0, int(top))]
    out = []
    for p in order:  # a handful of judgements, not cells
        i, j = int(iu[p]), int(ju[p])
        label = f"{labels[i]} vs {labels[j]}" if labels is not None else f"[{i}, {j}]"
        out.append(
            Revision(i, j, label, float(a[i, j]), float(best_val[p]), float(w[i] / w[j]),
                     float(best_cr[p]))
        )  # fmt: skip
    return out
