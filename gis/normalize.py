"""Column-wise normalisation of a decision matrix (units in rows, criteria in columns).

Every method turns each criterion into a score where *higher is better*: benefit
criteria keep their direction, cost criteria (``cost=True``) are reversed.

========  ===============================================  =====================================
name      benefit criterion                                cost criterion
========  ===============================================  =====================================
minmax    ``(x - min) / (max - min)``, in [0, 1]           ``(max - x) / (max - min)``
zscore    ``(x - mean) / std`` (population std, ddof=0)   ``-(x - mean) / std``
vector    ``x / sqrt(sum(x**2))``                          ``1 - x / sqrt(sum(x**2))``
========  ===============================================  =====================================

Zero-safe rule
--------------
A criterion that is constant over all units carries no information to tell units
apart. Its denominator (range, standard deviation, or Euclidean norm of an all-zero
column) is zero, so instead of dividing by zero every unit gets the same *neutral*
score: ``0.0`` for ``minmax`` and ``zscore``; for ``vector`` a non-zero constant
column normalises normally (to ``1/sqrt(n)``) and an all-zero column gives ``0.0``
(``1.0`` for a cost criterion). A constant column therefore never changes a ranking.
Callers that must refuse constant criteria (a tiering tool, for example) check with
:func:`constant_columns` first.

Non-finite values (NaN, inf) are refused with :class:`~gis.errors.InputError`
naming the column.

Strategies live in :data:`NORMALIZERS` (name -> function); :func:`normalize`
accepts either a name or any callable with the same signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gis.errors import InputError

__all__ = [
    "NORMALIZERS",
    "Normalizer",
    "as_cost_mask",
    "as_matrix",
    "constant_columns",
    "get_normalizer",
    "minmax",
    "normalize",
    "vector",
    "zscore",
]

#: Signature of a normalisation strategy: ``f(x, *, cost) -> array`` with ``x`` a
#: float (n, m) matrix and ``cost`` a boolean mask of length m.
Normalizer = Callable[..., np.ndarray]


def as_matrix(x: Any, *, name: str = "x") -> np.ndarray:
    """Return ``x`` as a new 2-D float64 array, refusing empty or non-finite input.

    A 1-D input is read as a single criterion (one column).

    Examples
    --------
    >>> as_matrix([1, 2, 3]).shape
    (3, 1)
    >>> as_matrix([[1, float("nan")], [2, 3]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: x has non-finite values in column 1 (row 0); ...
    """
    try:
        arr = np.array(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D matrix (units x criteria), got {arr.ndim}-D")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"{name} is empty (shape {arr.shape}); give at least one unit and criterion"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{name} has non-finite values in column {col} (row {row}); "
            "fill or drop missing values before normalising"
        )
    return arr


def as_cost_mask(cost: Any, m: int) -> np.ndarray:
    """Boolean mask of cost criteria of length ``m`` from ``None``, a bool or a sequence.

    Examples
    --------
    >>> as_cost_mask(None, 3)
    array([False, False, False])
    >>> as_cost_mask([0, 1, 0], 3)
    array([False,  True, False])
    """
    if cost is None:
        return np.zeros(m, dtype=bool)
    mask = np.asarray(cost)
    if mask.ndim == 0:
        return np.full(m, bool(mask))
    if mask.shape != (m,):
        raise InputError(f"cost must have one flag per criterion ({m}), got shape {mask.shape}")
    return mask.astype(bool)


def constant_columns(x: Any) -> np.ndarray:
    """Indices of columns whose values are all equal.

    Examples
    --------
    >>> constant_columns([[1, 5, 2], [1, 6, 2]]).tolist()
    [0, 2]
    """
    arr = as_matrix(x)
    return np.flatnonzero(np.ptp(arr, axis=0) == 0)


def minmax(x: Any, *, cost: Any = None) -> np.ndarray:
    """Min-max normalisation to [0, 1]; constant columns give 0.

    Examples
    --------
    >>> minmax([[1, 10], [2, 30], [3, 20]], cost=[False, True]).round(2).tolist()
    [[0.0, 1.0], [0.5, 0.0], [1.0, 0.5]]
    """
    arr = as_matrix(x)
    mask = as_cost_mask(cost, arr.shape[1])
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    out = np.where(mask, hi - arr, arr - lo) / safe
    out[:, span == 0] = 0.0
    return out


def zscore(x: Any, *, cost: Any = None) -> np.ndarray:
    """Standard scores with the population standard deviation; constant columns give 0.

    Examples
    --------
    >>> zscore([[1.0], [2.0], [3.0]]).ravel().round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """
    arr = as_matrix(x)
    mask = as_cost_mask(cost, arr.shape[1])
    sd = arr.std(axis=0)
    safe = np.where(sd > 0, sd, 1.0)
    out = (arr - arr.mean(axis=0)) / safe
    out[:, sd == 0] = 0.0
    return np.where(mask, -out, out)


def vector(x: Any, *, cost: Any = None) -> np.ndarray:
    """Vector (Euclidean) normalisation; cost criteria as ``1 - x/||x||``.

    Examples
    --------
    >>> vector([[3.0, 0.0], [4.0, 0.0]]).tolist()
    [[0.6, 0.0], [0.8, 0.0]]
    """
    arr = as_matrix(x)
    mask = as_cost_mask(cost, arr.shape[1])
    norm = np.sqrt((arr**2).sum(axis=0))
    safe = np.where(norm > 0, norm, 1.0)
    out = arr / safe
    return np.where(mask, 1.0 - out, out)


#: Registered normalisation strategies.
NORMALIZERS: dict[str, Normalizer] = {
    "minmax": minmax,
    "zscore": zscore,
    "vector": vector,
}


def get_normalizer(method: str | Normalizer) -> Normalizer:
    """Look up a strategy by name, or return a callable unchanged.

    Examples
    --------
    >>> get_normalizer("minmax") is minmax
    True
    >>> get_normalizer("rank")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: unknown normalisation 'rank'; choose one of minmax, zscore, vector ...
    """
    if callable(method):
        return method
    try:
        return NORMALIZERS[method]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown normalisation {method!r}; choose one of {', '.join(NORMALIZERS)} "
            "or pass a callable f(x, *, cost)"
        ) from None


def normalize(x: Any, *, method: str | Normalizer = "minmax", cost: Any = None) -> np.ndarray:
    """Normalise every column of ``x`` with a named strategy or a callable.

    Parameters
    ----------
    x
        Decision matrix, units in rows and criteria in columns (not modified).
    method
        A key of :data:`NORMALIZERS` or a callable ``f(x, *, cost) -> array``.
    cost
        Per-criterion flags, True where lower values are better.

    Returns
    -------
    numpy.ndarray
        New float64 array of the same shape, higher is better in every column.

    Examples
    --------
    >>> normalize([[0, 4], [5, 2], [10, 0]], method="minmax", cost=[False, True]).tolist()
    [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    arr = as_matrix(x)
    out = np.asarray(get_normalizer(method)(arr, cost=as_cost_mask(cost, arr.shape[1])), float)
    if out.shape != arr.shape:
        raise InputError(f"normalisation returned shape {out.shape}, expected {arr.shape}")
    return out
