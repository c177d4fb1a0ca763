"""Class breaks for one-dimensional values: natural breaks, quantiles, head/tail, user.

Breaks are *upper bounds*: class ``c`` (0 = lowest) holds the values ``v`` with
``breaks[c-1] < v <= breaks[c]``, and the last break is the maximum, the same
convention as :mod:`mapclassify`.

=============  =================================================================================
name           method
=============  =================================================================================
fisher_jenks   Fisher's (1958) exact optimal partition into ``k`` classes minimising the
               within-class sum of squared deviations (Jenks natural breaks), by dynamic
               programming over sorted values with a vectorised inner step
nested_jenks   top-down natural breaks: the top class is split off from the rest by the optimal
               two-class Fisher-Jenks break, then the rest is split the same way, ``k - 1``
               times; suited to hierarchies (each tier is a natural break below the one above)
quantiles      equal-count classes at the ``100/k`` percentiles (linear interpolation); ties
               that make quantiles coincide give fewer classes
head_tail      Jiang's (2013) head/tail breaks for heavy-tailed data: split at the mean, then
               again within the head while the head is at most ``head_share`` of its parent
user           user thresholds (the maximum is added as the last upper bound)
=============  =================================================================================

:func:`goodness_of_variance_fit` (GVF, ``1 - SDCM/SDAM``) tells how well a set of
classes fits the data: 1 is perfect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gis.errors import InputError

__all__ = [
    "BREAK_METHODS",
    "BreakMethod",
    "Classification",
    "assign_classes",
    "classify",
    "fisher_jenks_breaks",
    "get_break_method",
    "goodness_of_variance_fit",
    "head_tail_breaks",
    "nested_jenks_breaks",
    "quantile_breaks",
    "user_breaks",
]

#: Signature of a break strategy: ``f(values, k, **options) -> upper bounds``.
BreakMethod = Callable[..., np.ndarray]


def _as_values(values: Any) -> np.ndarray:
    try:
        v = np.array(values, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise InputError("values to classify must be numbers") from None
    if v.size == 0:
        raise InputError("no values to classify")
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(f"value {int(np.flatnonzero(bad)[0])} is not finite; drop or fill it")
    return v


def _check_k(v: np.ndarray, k: Any, *, distinct: bool = True) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"number of classes must be a positive integer, got {k!r}")
    k = int(k)
    if v.size < k:
        raise InputError(f"cannot make {k} classes from {v.size} values: fewer values than classes")
    if distinct:
        u = np.unique(v).size
        if u < k:
            raise InputError(
                f"cannot make {k} classes: only {u} distinct values among {v.size}; "
                "use fewer classes"
            )
    return k


def assign_classes(values: Any, breaks: Any) -> np.ndarray:
    """Class index (0 = lowest) of each value given ascending upper bounds.

    Values above the last bound go to the last class.

    Examples
    --------
    >>> assign_classes([1, 2, 3, 4, 5], [2, 4, 5]).tolist()
    [0, 0, 1, 1, 2]
    """
    v = _as_values(values)
    b = np.asarray(breaks, dtype="float64")
    return np.minimum(np.searchsorted(b, v, side="left"), b.size - 1)


def goodness_of_variance_fit(values: Any, classes: Any) -> float:
    """GVF = 1 - (sum of squared deviations from class means) / (from the overall mean).

    Returns 1.0 when all values are equal.

    Examples
    --------
    >>> round(goodness_of_variance_fit([1, 2, 10, 11], [0, 0, 1, 1]), 4)
    0.9878
    """
    v = _as_values(values)
    c = np.asarray(classes).ravel()
    if c.shape != v.shape:
        raise InputError(f"got {c.size} class labels for {v.size} values")
    sdam = ((v - v.mean()) ** 2).sum()
    if sdam == 0:
        return 1.0
    _, inverse, counts = np.unique(c, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=v) / counts
    sdcm = ((v - means[inverse]) ** 2).sum()
    return float(1.0 - sdcm / sdam)


# ------------------------------------------------------------------------------ strategies
def _row_minima(
    prev: np.ndarray,
    ssd: Callable[[np.ndarray, np.ndarray], np.ndarray],
    e_lo: int,
    e_hi: int,
    s_lo: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Least ``prev[s-1] + ssd(s, e)`` over ``s_lo <= s <= e`` for every ``e`` in [e_lo, e_hi].

    The cost is a Monge array (the within-class sum of squares satisfies the
    quadrangle inequality), so the leftmost optimal ``s`` never decreases with ``e``
    and divide and conquer finds all row minima exactly in ``O(n log n)``; every
    level of the recursion is evaluated for all its segments in one array pass.
    """
    n_e = e_hi - e_lo + 1
    best = np.full(n_e, np.inf)
    arg = np.zeros(n_e, dtype=np.int64)
    # segments: rows [a, b] to solve, with candidate starts [lo, hi]
    a = np.array([e_lo])
    b = np.array([e_hi])
    lo = np.array([s_lo])
    hi = np.array([e_hi])
    while a.size:
        mid = (a + b) // 2
        top = np.minimum(hi, mid)
        length = top - lo + 1
        offsets = np.cumsum(length) - length
        seg = np.repeat(np.arange(a.size), length)
        s = np.repeat(lo, length) + (np.arange(seg.size) - offsets[seg])
        e = mid[seg]
        cost = prev[s - 1] + ssd(s, e)
        seg_min = np.minimum.reduceat(cost, offsets)
        first = np.where(cost == seg_min[seg], s, np.iinfo(np.int64).max)
        opt = np.minimum.reduceat(first, offsets)
        best[mid - e_lo] = seg_min
        arg[mid - e_lo] = opt
        left = mid - 1 >= a
        right = mid + 1 <= b
        a, b, lo, hi = (
            np.concatenate((a[left], mid[right] + 1)),
            np.concatenate((mid[left] - 1, b[right])),
            np.concatenate((lo[left], opt[right])),
            np.concatenate((opt[left], hi[right])),
        )
    return best, arg


def fisher_jenks_breaks(values: Any, k: int = 5) -> np.ndarray:
    """Exact Fisher-Jenks natural breaks (upper bounds of ``k`` classes).

    Dynamic programme over the sorted values: ``D[c, e]``, the least within-class
    sum of squared deviations of the first ``e + 1`` values in ``c + 1`` classes, is
    ``min_s D[c-1, s-1] + SSD(s..e)``, with ``SSD`` from prefix sums. Because that
    cost is a Monge array the optimal ``s`` is monotone in ``e``, so each layer's
    minima are found exactly by a divide and conquer whose levels are vectorised
    (``O(k n log n)`` work instead of ``O(k n^2)``; Wang & Song 2011). The result
    equals :class:`mapclassify.FisherJenks`; where several partitions are equally
    good (tied values) either may be returned, with the same goodness of fit.

    Raises
    ------
    InputError
        When there are fewer values, or fewer distinct values, than classes.

    Examples
    --------
    >>> fisher_jenks_breaks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    v = _as_values(values)
    k = _check_k(v, k)
    y = np.sort(v)
    n = y.size
    if k == 1:
        return np.array([y[-1]])
    yc = y - y.mean()
    s1 = np.concatenate(([0.0], np.cumsum(yc)))
    s2 = np.concatenate(([0.0], np.cumsum(yc * yc)))

    def ssd(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """SSD of y[start..end] inclusive (start <= end)."""
        total = s1[end + 1] - s1[start]
        return np.maximum(s2[end + 1] - s2[start] - total * total / (end + 1 - start), 0.0)

    prev = ssd(np.zeros(n, dtype=np.int64), np.arange(n))  # D[0, e]
    starts: list[np.ndarray] = []
    for c in range(1, k):
        e_lo, e_hi = (n - 1, n - 1) if c == k - 1 else (c, n - 1 - (k - 1 - c))
        best, arg = _row_minima(prev, ssd, e_lo, e_hi, c)
        cur = np.full(n, np.inf)
        cur[e_lo : e_hi + 1] = best
        full_arg = np.zeros(n, dtype=np.int64)
        full_arg[e_lo : e_hi + 1] = arg
        starts.append(full_arg)
        prev = cur
    bounds = np.empty(k, dtype=np.int64)
    e = n - 1
    for c in range(k - 1, 0, -1):
        bounds[c] = e
        e = int(starts[c - 1][e]) - 1
    bounds[0] = e
    return y[bounds]


def nested_jenks_breaks(values: Any, k: int = 5) -> np.ndarray:
    """Top-down natural breaks: repeated optimal two-class splits of the lower part.

    The values are split by the exact two-class Fisher-Jenks break; the upper part
    becomes the top class and the lower part is split again, until there are ``k``
    classes or the lower part has a single distinct value. Each break is optimal
    for the values below the previous one, not for all ``k`` classes jointly (that is
    :func:`fisher_jenks_breaks`), so a large spread inside the top class cannot pull
    the lower breaks upward: tiers stay nested like a hierarchy.

    Examples
    --------
    >>> nested_jenks_breaks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    >>> nested_jenks_breaks([0, 1, 2, 10, 60, 80, 100], 3).tolist()
    [2.0, 10.0, 100.0]
    """
    v = _as_values(values)
    k = _check_k(v, k)
    cuts: list[float] = []
    part = v
    while len(cuts) < k - 1 and np.unique(part).size > 1:
        cut = float(fisher_jenks_breaks(part, 2)[0])
        cuts.append(cut)
        part = part[part <= cut]
    return np.array([*sorted(cuts), float(v.max())])


def quantile_breaks(values: Any, k: int = 4) -> np.ndarray:
    """Upper bounds at the ``100/k, 200/k, ..., 100`` percentiles (linear interpolation).

    Repeated quantiles (many ties) collapse, giving fewer than ``k`` classes.

    Examples
    --------
    >>> quantile_breaks(range(1, 10), 3).round(4).tolist()
    [3.6667, 6.3333, 9.0]
    """
    v = _as_values(values)
    k = _check_k(v, k, distinct=False)
    pct = np.arange(1, k + 1) * (100.0 / k)
    pct[-1] = 100.0
    return np.unique(np.percentile(v, pct))


def head_tail_breaks(values: Any, k: int | None = None, *, head_share: float = 0.4) -> np.ndarray:
    """Head/tail breaks (Jiang 2013).

    The values are split at their mean; the part above the mean (the head) is split
    again at its own mean, as long as the head holds at most ``head_share`` of the
    values it came from, has more than one distinct value, and fewer than ``k``
    classes have been made (``k=None``: no limit). ``head_share=1`` keeps splitting
    until the head is constant, like :class:`mapclassify.HeadTailBreaks`.

    Examples
    --------
    >>> head_tail_breaks([1, 1, 1, 1, 2, 2, 3, 10, 40], head_share=1).round(3).tolist()
    [6.778, 25.0, 40.0]
    """
    v = _as_values(values)
    if k is not None:
        k = _check_k(v, k, distinct=False)
    if not 0 < head_share <= 1:
        raise InputError(f"head_share must be in (0, 1], got {head_share!r}")
    cuts: list[float] = []
    part = v
    while np.unique(part).size > 1 and (k is None or len(cuts) < k - 1):
        mean = float(part.mean())
        head = part[part > mean]
        if cuts and head.size / part.size > head_share:
            break
        cuts.append(mean)
        part = head
    return np.array([*cuts, float(v.max())])


def user_breaks(values: Any, k: int | None = None, *, thresholds: Sequence[float]) -> np.ndarray:
    """Upper bounds from user thresholds, with the maximum value appended.

    Examples
    --------
    >>> user_breaks([1, 5, 9], thresholds=[2, 6]).tolist()
    [2.0, 6.0, 9.0]
    """
    v = _as_values(values)
    try:
        t = np.array(thresholds, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise InputError(f"thresholds must be numbers, got {thresholds!r}") from None
    if t.size == 0 or not np.isfinite(t).all():
        raise InputError("give one or more finite thresholds")
    if (np.diff(t) <= 0).any():
        raise InputError(f"thresholds must be strictly increasing, got {t.tolist()}")
    if k is not None and t.size + 1 != k:
        raise InputError(f"{t.size} thresholds make {t.size + 1} classes, not {k}")
    top = float(v.max())
    return t if t[-1] >= top else np.append(t, top)


#: Registered break strategies.
BREAK_METHODS: dict[str, BreakMethod] = {
    "fisher_jenks": fisher_jenks_breaks,
    "nested_jenks": nested_jenks_breaks,
    "quantiles": quantile_breaks,
    "head_tail": head_tail_breaks,
    "user": user_breaks,
}


def get_break_method(method: str | BreakMethod) -> BreakMethod:
    """Look up a break strategy by name, or return a callable unchanged.

    Examples
    --------
    >>> get_break_method("quantiles") is quantile_breaks
    True
    """
    if callable(method):
        return method
    try:
        return BREAK_METHODS[method]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown class breaks {method!r}; choose one of {', '.join(BREAK_METHODS)} "
            "or pass a callable f(values, k, **options)"
        ) from None


@dataclass(frozen=True)
class Classification:
    """Classes of a set of values.

    Attributes
    ----------
    breaks
        Ascending upper bounds; the last is the maximum value.
    classes
        Class of each value, 0 = lowest.
    gvf
        Goodness of variance fit.
    """

    breaks: np.ndarray
    classes: np.ndarray
    gvf: float

    @property
    def k(self) -> int:
        """Number of classes."""
        return int(self.breaks.size)

    @property
    def counts(self) -> np.ndarray:
        """Number of values in each class."""
        return np.bincount(self.classes, minlength=self.k)


def classify(
    values: Any,
    *,
    method: str | BreakMethod = "fisher_jenks",
    k: int | None = 5,
    **options: Any,
) -> Classification:
    """Class breaks, class of each value and goodness of variance fit.

    Parameters
    ----------
    values
        1-D numbers (not modified).
    method
        A key of :data:`BREAK_METHODS` or a callable ``f(values, k, **options)``
        returning ascending upper bounds.
    k
        Number of classes (an upper limit for ``head_tail``; must match the
        thresholds for ``user``, or be ``None``).
    **options
        ``thresholds=`` for ``user``, ``head_share=`` for ``head_tail``.

    Examples
    --------
    >>> c = classify([1, 2, 3, 10, 11, 12, 30], k=3)
    >>> c.breaks.tolist(), c.classes.tolist(), round(c.gvf, 4)
    ([3.0, 12.0, 30.0], [0, 0, 0, 1, 1, 1, 2], 0.9933)
    """
    v = _as_values(values)
    breaks = np.asarray(get_break_method(method)(v, k, **options), dtype="float64").ravel()
    if breaks.size == 0 or (np.diff(breaks) <= 0).any():
        raise InputError(f"class breaks must be strictly increasing, got {breaks.tolist()}")
    classes = assign_classes(v, breaks)
    return Classification(breaks, classes, goodness_of_variance_fit(v, classes))
