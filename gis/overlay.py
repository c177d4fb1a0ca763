"""Combine factor scores into one suitability surface and apply hard constraints.

Multi-criteria overlay in two steps:

1. :func:`aggregate` (by default :func:`weighted_linear_combination`) merges
   standardised factor rasters with weights into one score;
2. :func:`apply_constraints` blanks (sets to NaN) the cells that are excluded by
   constraint layers (:func:`exclusion_mask`) or lie outside the study area.

Aggregation methods (:data:`AGGREGATIONS`), with ``s_i`` a cell's score on
factor ``i`` and ``w_i`` its weight normalised to sum 1:

================  =========================================================================
name              score of a cell
================  =========================================================================
wlc               weighted linear combination ``Σ w_i s_i``
weighted_product  weighted geometric mean ``Π s_i ** w_i`` (scores >= 0): a low score
                  on one factor is hardly compensated by the others
owa               ordered weighted averaging with criterion weights (Yager 1988; Jiang &
                  Eastman 2000), from order weights or an ORness (risk) level; see
                  :func:`ordered_weighted_average`
fuzzy_and         ``min_i s_i`` (ArcGIS Fuzzy Overlay AND; same as ``minimum``)
fuzzy_or          ``max_i s_i`` (Fuzzy Overlay OR; same as ``maximum``)
fuzzy_product     ``Π s_i``
fuzzy_sum         ``1 - Π (1 - s_i)``
fuzzy_gamma       ``fuzzy_sum ** gamma * fuzzy_product ** (1 - gamma)``
minimum, maximum  the lowest / highest factor score
topsis            closeness ``d- / (d+ + d-)`` of each cell to the ideal and anti-ideal
                  cell, with weighted Euclidean distances (TOPSIS per cell)
================  =========================================================================

The fuzzy methods, ``minimum`` and ``maximum`` use the weights only to choose the
layers (those with a positive weight), as ArcGIS Fuzzy Overlay does; the fuzzy
methods need memberships in [0, 1] and the weighted product scores >= 0.

NaN is the nodata value throughout: a cell with no score is NaN, never a
sentinel number. Every method follows the same rule: a cell is NaN when it is
NaN in any layer with a positive weight, and layers with weight 0 are not read.
All rasters are processed in row chunks, so the only full-grid allocation is the
float32 result.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
from shapely.geometry.base import BaseGeometry

from gis._parallel import cpu_count, run_chunks
from gis._validate import as_numeric_array, check_mask, chunk_rows_for, is_real_number
from gis.errors import InputError
from gis.grid import Grid

__all__ = [
    "AGGREGATIONS",
    "RowLayer",
    "ScoreLayer",
    "aggregate",
    "apply_constraints",
    "exclusion_mask",
    "fit_order_weights",
    "fuzzy_and",
    "fuzzy_gamma",
    "fuzzy_or",
    "fuzzy_product",
    "fuzzy_sum",
    "maximum",
    "minimum",
    "normalize_weights",
    "ordered_weighted_average",
    "owa_measures",
    "owa_weights",
    "topsis_ideals",
    "topsis_overlay",
    "weighted_linear_combination",
    "weighted_product",
]


# ---------------------------------------------------------------------- weights
def normalize_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Validate factor weights and scale them to sum to 1.

    Parameters
    ----------
    weights
        Factor name to weight. Weights must be finite, non-negative real numbers,
        and at least one must be positive.

    Returns
    -------
    dict[str, float]
        The same keys, in the same order, with weights summing to 1.

    Raises
    ------
    InputError
        If ``weights`` is empty, a weight is not a real number, is NaN, infinite
        or negative (the message names the key), or all weights are zero.

    Examples
    --------
    >>> normalize_weights({"transit": 3, "green": 1})
    {'transit': 0.75, 'green': 0.25}
    >>> normalize_weights({"transit": -1})
    Traceback (most recent call last):
    ...
    gis.errors.InputError: weight of 'transit' is -1; weights must be finite and >= 0
    """
    if not isinstance(weights, Mapping):
        raise InputError(
            f"weights must be a mapping of factor name to weight, got {type(weights).__name__}"
        )
    if not weights:
        raise InputError("weights is empty; give at least one factor with a positive weight")
    for key, value in weights.items():
        if not is_real_number(value):
            raise InputError(
                f"weight of {key!r} must be a real number, got {value!r} ({type(value).__name__})"
            )
        if not math.isfinite(value) or value < 0:
            raise InputError(f"weight of {key!r} is {value}; weights must be finite and >= 0")
    largest = max(float(v) for v in weights.values())
    if largest == 0:
        raise InputError(
            f"all weights are zero ({', '.join(map(repr, weights))}); "
            "give at least one factor a positive weight"
        )
    scaled = {key: float(value) for key, value in weights.items()}
    total = sum(scaled.values())
    if not math.isfinite(total):  # huge weights (1e308 each): scaled by the largest first
        scaled = {key: value / largest for key, value in scaled.items()}
    total = math.fsum(scaled.values())
    return {key: value / total for key, value in scaled.items()}


def _check_layers(
    scores: Mapping[str, object], weights: Mapping[str, float], *, lazy: bool = False
) -> dict[str, np.ndarray]:
    """Arrays of ``scores`` as ndarrays, checked against the weight keys and each other.

    With ``lazy``, layers given as functions (produced on demand) or as
    :class:`RowLayer` objects are left out of the result and checked when used.
    """
    if not isinstance(scores, Mapping):
        raise InputError(
            f"scores must be a mapping of factor name to array, got {type(scores).__name__}"
        )
    missing = [k for k in weights if k not in scores]
    extra = [k for k in scores if k not in weights]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"weights given but no score layer for {missing}")
        if extra:
            parts.append(f"score layers without a weight: {extra}")
        raise InputError(
            "scores and weights must have the same keys: "
            + "; ".join(parts)
            + " (give a weight of 0 to keep a layer without using it)"
        )
    arrays = {
        k: as_numeric_array(scores[k], f"score layer {k!r}")
        for k in weights
        if not (lazy and (callable(scores[k]) or isinstance(scores[k], RowLayer)))
    }
    if not arrays:
        return arrays
    first, ref = next(iter(arrays.items()))
    if ref.ndim < 1:
        raise InputError(f"score layer {first!r} is a scalar; give arrays (rows x columns)")
    for key, arr in arrays.items():
        if arr.shape != ref.shape:
            raise InputError(
                f"score layer {key!r} has shape {arr.shape} but {first!r} has shape "
                f"{ref.shape}; all layers must be on the same grid"
            )
    return arrays


# ---------------------------------------------------------------------- aggregation
@runtime_checkable
class RowLayer(Protocol):
    """A score layer computed a few rows at a time, e.g. :class:`gis.transforms.Rescaled`.

    ``rows(start, stop)`` returns the scores of rows ``[start, stop)`` (the first axis),
    from any thread; ``values`` is the array they are computed from (an ``out`` that
    shares its memory must be that array itself); ``shape`` is the shape of the scores.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def values(self) -> np.ndarray: ...

    def rows(self, start: int, stop: int) -> np.ndarray: ...


#: A score layer: an array, a function of no arguments that returns one when it is
#: needed, or a :class:`RowLayer` computed rows at a time as it is combined.
ScoreLayer: TypeAlias = np.ndarray | Callable[[], np.ndarray] | RowLayer


def weighted_linear_combination(
    scores: Mapping[str, ScoreLayer],
    weights: Mapping[str, float],
    *,
    chunk_rows: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted sum ``Σ w_i · s_i`` of factor scores with weights normalised to sum 1.

    The layers are combined into a float32 result one at a time, in the order of
    ``weights``, as a running weighted mean: ``r = s_1``, then
    ``r = r + (w_i / (w_1 + ... + w_i)) (s_i - r)`` for each further layer, each
    step computed in float64 and rounded to float32 once. The result is within a
    few float32 units in the last place of the exact weighted mean, and never
    outside the range of the layers' values in a cell (equal layers give exactly
    their value).
    A layer may be given *lazily*, as a function of no arguments that returns its
    array: it is called when its turn comes and its array is released once added,
    so the layers never have to be in memory together; the values are the same as
    with the arrays given directly. A layer may also be a :class:`RowLayer` such as
    :class:`gis.transforms.Rescaled` (or a function may return one), computed a chunk
    of rows at a time as it is added, so it never exists as a whole array. When no
    layer is a function, each chunk of rows is combined from all the layers at once
    while it is in the cache.

    Parameters
    ----------
    scores
        Factor name to score array, to a function of no arguments returning the
        array, or to a :class:`RowLayer`; all have the same shape. NaN is nodata.
    weights
        Factor name to weight, with exactly the keys of ``scores``; normalised
        with :func:`normalize_weights`.
    chunk_rows
        Rows processed at a time (default: about 262 000 cells per chunk when
        row layers are computed in it, else about 65 000 split among the threads).
        Chunks run on :data:`gis.settings.workers` threads; only one float64 chunk
        buffer per thread is allocated besides the result.
    out
        float32 array of the common shape to write the result into. It may be one
        of the score arrays given directly: that layer is then added first, in place
        (its values are read before they are overwritten), and no full-grid array is
        allocated at all. A layer produced by a function must not share memory with
        ``out``.

    Returns
    -------
    numpy.ndarray
        ``out``, or a new float32 array of the common shape. A cell is NaN if it is NaN in any
        layer with a positive weight. A layer with weight 0 is not read at all (its
        function is not called), so its NaN cells do **not** propagate.

    Raises
    ------
    InputError
        Invalid weights, keys of ``scores`` and ``weights`` that differ (the
        message lists the missing and extra ones), a non-numeric layer, a layer
        whose shape differs from the first one, an ``out`` that is not a float32
        array of that shape, or a produced layer that shares memory with ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 0.0], [0.5, np.nan]], dtype="float32")
    >>> b = np.array([[0.0, 1.0], [0.5, 0.5]], dtype="float32")
    >>> weighted_linear_combination({"a": a, "b": b}, {"a": 3, "b": 1})
    array([[0.75, 0.25],
           [0.5 ,  nan]], dtype=float32)
    >>> weighted_linear_combination({"a": a, "b": b}, {"a": 0, "b": 1})
    array([[0. , 1. ],
           [0.5, 0.5]], dtype=float32)

    Layers produced on demand, one at a time (e.g. read from files and rescaled):

    >>> weighted_linear_combination({"a": lambda: a * 2, "b": lambda: b}, {"a": 1, "b": 1})
    array([[1.  , 0.5 ],
           [0.75,  nan]], dtype=float32)

    Layers rescaled as they are combined, chunk by chunk (no whole score arrays):

    >>> from gis.transforms import Rescaled
    >>> x = np.array([[0.0, 10.0], [5.0, np.nan]])
    >>> weighted_linear_combination({"a": Rescaled(x, "linear"), "b": b}, {"a": 1, "b": 1})
    array([[0. , 1. ],
           [0.5, nan]], dtype=float32)

    The result written into one of the layers:

    >>> weighted_linear_combination({"a": a, "b": b}, {"a": 1, "b": 1}, out=b) is b
    True
    """
    w = normalize_weights(weights)
    given = _check_layers(scores, w, lazy=True)
    chunk_rows_for((1,), chunk_rows)  # a bad chunk_rows fails before any layer is produced
    # "Positive" refers to the weights as given: a tiny weight may underflow to 0
    # when normalised, but its layer still takes part (and propagates NaN).
    order = [k for k in w if weights[k] > 0]
    by_rows = {k: layer for k in w if isinstance(layer := scores[k], RowLayer)}
    shape = next(iter(given.values())).shape if given else None
    for key, row_layer in by_rows.items():
        shape = _checked_shape(key, tuple(row_layer.shape), shape)
    if out is not None:
        if (
            not isinstance(out, np.ndarray)
            or out.dtype != np.float32
            or (shape is not None and out.shape != shape)
        ):
            want = f"the score shape {shape}" if shape is not None else "the score shape"
            raise InputError(
                f"out must be a float32 array of {want}; "
                "pass np.empty(shape, dtype=np.float32) or one of the score layers"
            )
        shape = out.shape
        # a layer that is `out` is added first, before its values are overwritten
        memory = {**given, **{k: layer.values for k, layer in by_rows.items()}}
        shared = [k for k in order if k in memory and np.may_share_memory(memory[k], out)]
        if len(shared) > 1 or (shared and not _same_array(memory[shared[0]], out)):
            raise InputError(
                f"out overlaps score layer(s) {shared} without being exactly one of them; "
                "pass a separate array or one of the layers itself"
            )
        if shared:
            order.remove(shared[0])
            order.insert(0, shared[0])
    steps = _steps(order, w)
    if shape is not None and all(k in given or k in by_rows for k in order):
        # every layer at hand: each chunk of rows is combined from all of them at once
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        layers = [given[k] if k in given else by_rows[k] for k in order]
        return _combine_rows(out, layers, steps, chunk_rows)
    for step, (key, (share, keep)) in enumerate(zip(order, steps, strict=True)):
        layer = scores[key]
        arr: np.ndarray | RowLayer
        if key in given:
            arr = given[key]
        elif key in by_rows:
            arr = by_rows[key]
        else:
            arr = _produce(key, layer, shape)
        if shape is None:
            shape = tuple(arr.shape)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif (
            key not in given
            and key not in by_rows
            and np.may_share_memory(arr.values if isinstance(arr, RowLayer) else arr, out)
        ):
            raise InputError(
                f"score layer {key!r} was produced in the memory of out; "
                "produce each layer in its own array"
            )
        _combine_rows(out, [arr], [(share, keep)], chunk_rows, first=step == 0)
        del arr, layer
    assert out is not None  # at least one weight is positive
    return out


def _steps(order: list[str], w: Mapping[str, float]) -> list[tuple[float, float]]:
    """``(share, keep)`` of each layer's step: the running weighted mean of the layers so
    far moves towards the next one by its share of the weight so far."""
    steps, total = [], 0.0
    for key in order:
        prev, total = total, total + w[key]
        steps.append((w[key] / total if total > 0 else 1.0, prev / total if total > 0 else 0.0))
    return steps


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` are the same cells in the same memory."""
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def _produce(key: str, layer: Any, shape: tuple[int, ...] | None) -> np.ndarray | RowLayer:
    """Call a lazily given score layer and check its array (or row layer)."""
    made = layer()
    if isinstance(made, RowLayer):
        _checked_shape(key, tuple(made.shape), shape)
        return made
    arr = as_numeric_array(made, f"score layer {key!r}")
    if arr.ndim < 1:
        raise InputError(f"score layer {key!r} is a scalar; give arrays (rows x columns)")
    _checked_shape(key, arr.shape, shape)
    return arr


def _checked_shape(
    key: str, got: tuple[int, ...], shape: tuple[int, ...] | None
) -> tuple[int, ...]:
    """``got``, the shape of layer ``key``, if it is the common ``shape`` (or the first)."""
    if shape is not None and got != shape:
        raise InputError(
            f"score layer {key!r} has shape {got} but the other layers have shape "
            f"{shape}; all layers must be on the same grid"
        )
    return got


def _thread_rows(shape: tuple[int, ...], chunk_rows: int | None, *, computed: bool) -> int:
    """Rows per chunk: ``chunk_rows``, else about :data:`COMBINE_CHUNK_CELLS` cells when
    row layers are ``computed`` in the chunks, else the default chunk shared among the
    threads."""
    if chunk_rows is not None:
        return chunk_rows_for(shape, chunk_rows)
    if computed:
        return max(1, COMBINE_CHUNK_CELLS // max(math.prod(shape[1:]), 1))
    return max(1, chunk_rows_for(shape, None) // cpu_count())


def _buffer(local: threading.local, shape: tuple[int, ...]) -> np.ndarray:
    """This thread's float64 chunk buffer of ``shape``, made once and reused."""
    buf = getattr(local, "buf", None)
    if buf is None or buf.shape != shape:
        buf = local.buf = np.empty(shape, dtype=np.float64)
    return buf


def _mix(part: np.ndarray, new: np.ndarray, share: float, keep: float, acc: np.ndarray) -> None:
    """``part += share * (new - part)`` in float64 (``acc``), rounded to float32 once.

    Moved from the end with the larger weight (``new + keep * (part - new)`` when
    ``share > 1/2``, ``keep = 1 - share``): the step is then at most half the gap, so
    rounding can never carry the result beyond ``part`` or ``new``.
    """
    if share <= 0.5:
        np.subtract(new, part, out=acc, dtype=np.float64)
        acc *= share
        np.add(acc, part, out=part)
    else:
        np.subtract(part, new, out=acc, dtype=np.float64)
        acc *= keep
        np.add(acc, new, out=part)


#: Cells per chunk when all the layers are combined at once (:func:`_combine_rows`): the
#: chunk and its float64 buffer stay in the cache, and the Python cost of computing each
#: row layer's chunk stays small beside the numpy work.
COMBINE_CHUNK_CELLS = 1 << 18


def _combine_rows(
    out: np.ndarray,
    layers: list[np.ndarray | RowLayer],
    steps: list[tuple[float, float]],
    chunk_rows: int | None,
    *,
    first: bool = True,
) -> np.ndarray:
    """``layers`` combined into ``out`` a chunk of rows at a time, on every core: each
    layer's step (:func:`_mix`), the first layer copied when ``first``.

    Each chunk of ``out`` is written while in the cache, and a :class:`RowLayer` is
    computed for that chunk only; the cells get the same values whether the layers come
    all at once or one call each.
    """
    shape = out.shape
    by_rows = [isinstance(layer, RowLayer) for layer in layers]
    rows = _thread_rows(shape, chunk_rows, computed=any(by_rows))
    buf_shape = (min(rows, shape[0]), *shape[1:])
    local = threading.local()

    def job(start: int, stop: int) -> None:
        part = out[start:stop]
        acc = _buffer(local, buf_shape)[: stop - start]
        for k, (layer, (share, keep)) in enumerate(zip(layers, steps, strict=True)):
            new = layer.rows(start, stop) if by_rows[k] else layer[start:stop]  # type: ignore[union-attr,index]
            if new.shape != part.shape:
                raise InputError(
                    f"a score layer gave rows of shape {new.shape} for rows {start}-{stop} "
                    f"of shape {part.shape}"
                )
            if k == 0 and first:
                if not _same_array(new, part):
                    part[...] = new
            else:
                _mix(part, new, share, keep, acc)

    run_chunks(shape[0], rows, job)
    return out


# ---------------------------------------------------------------------- cell-wise engine
def _active_layers(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> tuple[list[str], list[np.ndarray], np.ndarray, tuple[int, ...]]:
    """Names, arrays and normalised weights of the layers with a positive weight."""
    w = normalize_weights(weights)
    arrays = _check_layers(scores, w)
    shape = next(iter(arrays.values())).shape
    names = [k for k in w if weights[k] > 0]
    return names, [arrays[k] for k in names], np.array([w[k] for k in names]), shape


#: Scores this far outside a method's range are accepted (float32 rounding of a 0-1 rescale).
RANGE_TOLERANCE: float = 1e-6


def _check_range(stack: np.ndarray, names: list[str], method: str, low: float, high: float | None):
    """Refuse values outside ``[low, high]`` (NaN passes) naming the first offending layer."""
    bad = stack < low - RANGE_TOLERANCE
    if high is not None:
        bad |= stack > high + RANGE_TOLERANCE
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(len(names), -1).any(axis=1))[0])
        what = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise InputError(
            f"{method} needs scores {what}; layer {names[i]!r} has values outside "
            "(rescale it to a 0-1 score first)"
        )


def _cellwise(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    kernel: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    chunk_rows: int | None,
    method: str,
    low: float | None = None,
    high: float | None = None,
    prepare: Callable[[list[str], np.ndarray], None] | None = None,
) -> np.ndarray:
    """Apply ``kernel(stack, w)`` to row chunks of the positive-weight layers.

    ``stack`` is a float64 ``(layers, rows, ...)`` array of one chunk and ``w`` the
    normalised weights of those layers; ``prepare(names, w)`` is called once before
    the first chunk (for checks that need the layer count). NaN is set wherever
    any layer of the stack is NaN.
    """
    names, arrays, w, shape = _active_layers(scores, weights)
    if prepare is not None:
        prepare(names, w)
    rows = chunk_rows_for(shape, chunk_rows)
    out = np.empty(shape, dtype=np.float32)
    buf = np.empty((len(arrays), min(rows, shape[0]), *shape[1:]), dtype=np.float64)
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        stack = buf[:, : stop - start]
        for i, arr in enumerate(arrays):
            stack[i] = arr[start:stop]
        if low is not None:
            _check_range(stack, names, method, low, high)
        result = kernel(stack, w)
        result[np.isnan(stack).any(axis=0)] = np.nan
        out[start:stop] = result
    return out


# ---------------------------------------------------------------------- weighted product
def weighted_product(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Weighted geometric mean ``Π s_i ** w_i`` with weights normalised to sum 1.

    A score of 0 on any weighted factor gives 0: poor performance on one factor
    is compensated far less than in :func:`weighted_linear_combination`.

    Parameters
    ----------
    scores, weights, chunk_rows
        As for :func:`weighted_linear_combination`; scores must be >= 0.

    Returns
    -------
    numpy.ndarray
        New float32 array; NaN where a positive-weight layer is NaN.

    Raises
    ------
    InputError
        Invalid weights or layers, or a negative score (the message names the layer).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([1.0, 0.25, 0.0, np.nan])
    >>> b = np.array([1.0, 1.0, 1.0, 1.0])
    >>> weighted_product({"a": a, "b": b}, {"a": 1, "b": 1})
    array([1. , 0.5, 0. , nan], dtype=float32)
    """

    def kernel(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
        acc = np.power(stack[0], w[0])
        for i in range(1, w.size):
            acc *= np.power(stack[i], w[i])
        return acc

    return _cellwise(
        scores, weights, kernel, chunk_rows=chunk_rows, method="the weighted product", low=0.0
    )


# ---------------------------------------------------------------------- fuzzy overlay
def _fuzzy(name: str, kernel: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    def method(
        scores: Mapping[str, np.ndarray],
        weights: Mapping[str, float],
        *,
        chunk_rows: int | None = None,
    ) -> np.ndarray:
        return _cellwise(
            scores, weights, kernel, chunk_rows=chunk_rows, method=name, low=0.0, high=1.0
        )

    return method


def _min(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
    return stack.min(axis=0)


def _max(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
    return stack.max(axis=0)


def _prod(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
    return stack.prod(axis=0)


def _prob_sum(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - stack).prod(axis=0)


_fuzzy_and = _fuzzy("fuzzy AND", _min)
_fuzzy_or = _fuzzy("fuzzy OR", _max)
_fuzzy_product = _fuzzy("fuzzy product", _prod)
_fuzzy_sum = _fuzzy("fuzzy sum", _prob_sum)


def fuzzy_and(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Fuzzy AND: the minimum membership ``min_i s_i`` over the positive-weight layers.

    Weights only select the layers (those > 0), as in ArcGIS Fuzzy Overlay.
    Memberships must be in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([0.2, 0.9]), "b": np.array([0.6, 0.5])}
    >>> fuzzy_and(s, {"a": 1, "b": 1})
    array([0.2, 0.5], dtype=float32)
    """
    return _fuzzy_and(scores, weights, chunk_rows=chunk_rows)


def fuzzy_or(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Fuzzy OR: the maximum membership ``max_i s_i`` over the positive-weight layers.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([0.2, 0.9]), "b": np.array([0.6, 0.5])}
    >>> fuzzy_or(s, {"a": 1, "b": 1})
    array([0.6, 0.9], dtype=float32)
    """
    return _fuzzy_or(scores, weights, chunk_rows=chunk_rows)


def fuzzy_product(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Fuzzy product ``Π s_i``: decreasing with every extra criterion below 1.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([0.5, 1.0]), "b": np.array([0.5, 0.3])}
    >>> fuzzy_product(s, {"a": 1, "b": 1})
    array([0.25, 0.3 ], dtype=float32)
    """
    return _fuzzy_product(scores, weights, chunk_rows=chunk_rows)


def fuzzy_sum(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Fuzzy (probabilistic) sum ``1 - Π (1 - s_i)``: increasing with every criterion above 0.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([0.5, 0.0]), "b": np.array([0.5, 0.3])}
    >>> fuzzy_sum(s, {"a": 1, "b": 1})
    array([0.75, 0.3 ], dtype=float32)
    """
    return _fuzzy_sum(scores, weights, chunk_rows=chunk_rows)


def fuzzy_gamma(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    gamma: float = 0.9,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Fuzzy gamma ``(1 - Π (1 - s_i)) ** gamma * (Π s_i) ** (1 - gamma)``.

    ``gamma = 1`` is the fuzzy sum, ``gamma = 0`` the fuzzy product; ArcGIS
    defaults to 0.9.

    Raises
    ------
    InputError
        ``gamma`` outside [0, 1], or memberships outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([0.5]), "b": np.array([0.5])}
    >>> fuzzy_gamma(s, {"a": 1, "b": 1}, gamma=0.5)  # sqrt(0.75 * 0.25)
    array([0.4330127], dtype=float32)
    """
    if not is_real_number(gamma) or not 0.0 <= gamma <= 1.0:
        raise InputError(f"gamma must be a number in [0, 1], got {gamma!r}")
    g = float(gamma)

    def kernel(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.power(_prob_sum(stack, w), g) * np.power(_prod(stack, w), 1.0 - g)

    return _cellwise(
        scores, weights, kernel, chunk_rows=chunk_rows, method="fuzzy gamma", low=0.0, high=1.0
    )


def minimum(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Lowest score of the positive-weight layers (any real scores; see :func:`fuzzy_and`).

    Examples
    --------
    >>> import numpy as np
    >>> minimum({"a": np.array([2.0, -1.0]), "b": np.array([3.0, 0.0])}, {"a": 1, "b": 2})
    array([ 2., -1.], dtype=float32)
    """
    return _cellwise(scores, weights, _min, chunk_rows=chunk_rows, method="minimum")


def maximum(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], *, chunk_rows: int | None = None
) -> np.ndarray:
    """Highest score of the positive-weight layers (any real scores; see :func:`fuzzy_or`).

    Examples
    --------
    >>> import numpy as np
    >>> maximum({"a": np.array([2.0, -1.0]), "b": np.array([3.0, 0.0])}, {"a": 1, "b": 2})
    array([3., 0.], dtype=float32)
    """
    return _cellwise(scores, weights, _max, chunk_rows=chunk_rows, method="maximum")


# ---------------------------------------------------------------------- OWA
def owa_measures(order_weights: Any) -> tuple[float, float]:
    """ORness (risk) and trade-off of a vector of order weights.

    With ``v_1`` the weight of the *largest* score, ``ORness = Σ_j (n - j) v_j / (n - 1)``
    (Yager 1988): 1 for the maximum, 0.5 for the mean, 0 for the minimum; and
    ``trade-off = 1 - sqrt(n Σ_j (v_j - 1/n)² / (n - 1))`` (Eastman 1997): 1 when
    all order weights are equal (full compensation), 0 when one takes all.

    Examples
    --------
    >>> owa_measures([1, 0, 0]), owa_measures([1/3, 1/3, 1/3])
    ((1.0, 0.0), (0.5, 1.0))
    """
    v = _order_weight_vector(order_weights, None)
    n = v.size
    if n == 1:
        return 0.5, 1.0
    j = np.arange(1, n + 1)
    orness = float(((n - j) * v).sum() / (n - 1))
    tradeoff = 1.0 - math.sqrt(max(0.0, n * float(((v - 1.0 / n) ** 2).sum()) / (n - 1)))
    return orness, tradeoff


def fit_order_weights(order_weights: Any, n: int) -> list[float]:
    """Order weights for ``n`` positions from order weights given for another count.

    The given weights define a piecewise-linear quantifier ``Q`` (their cumulative sum at
    positions ``j/m``); the new weights are ``Q(j/n) - Q((j-1)/n)`` (Yager's
    quantifier-guided weights), so the attitude (orness) is kept as far as ``n`` positions
    allow. Used when factors are dropped after the order weights were chosen.

    Examples
    --------
    >>> fit_order_weights([0.5, 0.3, 0.2], 3)
    [0.5, 0.3, 0.2]
    >>> [round(x, 4) for x in fit_order_weights([0.25, 0.25, 0.25, 0.25], 2)]
    [0.5, 0.5]
    >>> [round(x, 4) for x in fit_order_weights([1.0, 0.0, 0.0, 0.0], 2)]
    [1.0, 0.0]
    """
    v = _order_weight_vector(order_weights, None)
    if n < 1:
        raise InputError(f"order weights need at least one position, got {n}")
    if v.size == n:
        return v.tolist()
    q = np.concatenate([[0.0], np.cumsum(v)])
    at = np.interp(np.arange(n + 1) / n, np.arange(v.size + 1) / v.size, q)
    return np.diff(at).tolist()


def _order_weight_vector(order_weights: Any, n: int | None) -> np.ndarray:
    try:
        v = np.array(order_weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"order weights must be numbers, got {order_weights!r}") from None
    if v.ndim != 1 or v.size == 0:
        raise InputError(
            f"order weights must be a non-empty list of numbers, got {order_weights!r}"
        )
    if n is not None and v.size != n:
        raise InputError(
            f"order weights has {v.size} values but {n} layers have a positive weight; "
            "give one order weight per position (first = the highest score)"
        )
    if not np.isfinite(v).all() or (v < 0).any() or v.sum() <= 0:
        raise InputError(f"order weights must be finite, >= 0 and not all zero, got {v.tolist()}")
    return v / v.sum()


def _rim_weights(n: int, alpha: float) -> np.ndarray:
    q = (np.arange(n + 1, dtype=np.float64) / n) ** alpha
    return np.diff(q)


def owa_weights(n: int, *, orness: float | None = None, alpha: float | None = None) -> np.ndarray:
    """Order weights from Yager's RIM quantifier ``Q(r) = r ** alpha``.

    ``v_j = Q(j/n) - Q((j-1)/n)``, ``j = 1..n``, ``v_1`` weighting the largest score.
    ``alpha < 1`` leans to the best scores (OR-like, risk taking), ``alpha = 1``
    gives equal weights (the weighted mean), ``alpha > 1`` leans to the worst
    (AND-like, risk averse). Give either ``alpha`` or a target ``orness`` in
    [0, 1] (see :func:`owa_measures`); for an ORness strictly between 0 and 1 the
    ``alpha`` with exactly that ORness for this ``n`` is found by root finding;
    ORness 0 and 1 give the minimum and the maximum.

    Raises
    ------
    InputError
        ``n < 1``, both or neither of ``orness`` and ``alpha``, ``orness`` outside
        [0, 1] or ``alpha <= 0``.

    Examples
    --------
    >>> owa_weights(4, alpha=1).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> owa_weights(3, orness=0).tolist()
    [0.0, 0.0, 1.0]
    >>> v = owa_weights(5, orness=0.7)
    >>> round(owa_measures(v)[0], 6)
    0.7
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise InputError(f"number of layers must be a positive integer, got {n!r}")
    if (orness is None) == (alpha is None):
        raise InputError("give exactly one of orness (0 = AND ... 1 = OR) and alpha (> 0)")
    if alpha is not None:
        if not is_real_number(alpha) or not math.isfinite(alpha) or alpha <= 0:
            raise InputError(f"alpha must be a finite number > 0, got {alpha!r}")
        return _rim_weights(int(n), float(alpha))
    if not is_real_number(orness) or not 0.0 <= orness <= 1.0:
        raise InputError(f"orness must be a number in [0, 1] (0 = AND, 1 = OR), got {orness!r}")
    n = int(n)
    v = np.zeros(n)
    if n == 1:
        return np.ones(1)
    if orness == 0.0:
        v[-1] = 1.0
        return v
    if orness == 1.0:
        v[0] = 1.0
        return v
    from scipy.optimize import brentq

    def gap(log_alpha: float) -> float:
        return owa_measures(_rim_weights(n, math.exp(log_alpha)))[0] - float(orness)

    lo, hi = -60.0, 60.0
    if gap(lo) <= 0:  # nearer to 1 than any representable alpha: the maximum
        v[0] = 1.0
        return v
    if gap(hi) >= 0:
        v[-1] = 1.0
        return v
    return _rim_weights(n, math.exp(brentq(gap, lo, hi, xtol=1e-12)))


def ordered_weighted_average(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    order_weights: Any = None,
    orness: float | None = None,
    alpha: float | None = None,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Ordered weighted averaging with criterion weights (weighted OWA).

    In every cell the scores of the positive-weight layers are sorted from the
    highest to the lowest, ``z_(1) >= … >= z_(n)`` (ties keep the layer order),
    and position ``j`` gets order weight ``v_j``. Criterion and order weights are
    combined as in Jiang & Eastman (2000) and Malczewski (2006):

    ``score = Σ_j u_j z_(j)`` with ``u_j = w_(j) v_j / Σ_k w_(k) v_k``,

    where ``w_(j)`` is the criterion weight of the layer at position ``j``. Equal
    order weights give the weighted linear combination; ``v = (1, 0, …, 0)``
    gives the maximum (OR), ``v = (0, …, 0, 1)`` the minimum (AND); with equal
    criterion weights it is Yager's OWA ``Σ_j v_j z_(j)``.

    Parameters
    ----------
    scores, weights, chunk_rows
        As for :func:`weighted_linear_combination`.
    order_weights
        ``n`` non-negative order weights (normalised to sum 1), ``n`` = number
        of layers with a positive weight, first for the highest score.
    orness, alpha
        Instead of ``order_weights``: generate them with :func:`owa_weights`
        from an ORness (risk) level in [0, 1] or a quantifier exponent.

    Returns
    -------
    numpy.ndarray
        New float32 array; NaN where a positive-weight layer is NaN.

    Raises
    ------
    InputError
        Not exactly one of ``order_weights``, ``orness``, ``alpha``;
        ``order_weights`` of the wrong length or with negative values.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([1.0, 0.2]), "b": np.array([0.0, 0.6])}
    >>> w = {"a": 1, "b": 1}
    >>> ordered_weighted_average(s, w, order_weights=[0.5, 0.5])  # = WLC
    array([0.5, 0.4], dtype=float32)
    >>> ordered_weighted_average(s, w, orness=0.0)  # = minimum
    array([0. , 0.2], dtype=float32)
    >>> ordered_weighted_average(s, w, order_weights=[0.75, 0.25])
    array([0.75, 0.5 ], dtype=float32)
    """
    given = [k for k, v in (("order_weights", order_weights), ("orness", orness),
                            ("alpha", alpha)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise InputError(
            "OWA needs exactly one of order_weights (one per layer, first for the highest "
            f"score), orness (0 = AND ... 1 = OR) or alpha; got {given or 'none'}"
        )
    state: dict[str, np.ndarray] = {}

    def prepare(names: list[str], w: np.ndarray) -> None:
        if order_weights is not None:
            state["v"] = _order_weight_vector(order_weights, len(names))
        else:
            state["v"] = owa_weights(len(names), orness=orness, alpha=alpha)

    def kernel(stack: np.ndarray, w: np.ndarray) -> np.ndarray:
        v = state["v"].reshape((-1,) + (1,) * (stack.ndim - 1))
        order = np.argsort(-stack, axis=0, kind="stable")
        z = np.take_along_axis(stack, order, axis=0)
        wv = w[order] * v
        den = wv.sum(axis=0)
        return (wv * z).sum(axis=0) / den

    return _cellwise(scores, weights, kernel, chunk_rows=chunk_rows, method="OWA", prepare=prepare)


# ---------------------------------------------------------------------- TOPSIS
def topsis_ideals(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    chunk_rows: int | None = None,
) -> dict[str, tuple[float, float]]:
    """Best and worst score of each positive-weight factor over the cells valid in all of them.

    The ideals of :func:`topsis_overlay` with ``ideal="data"``, streamed over row
    chunks; ``(1.0, 0.0)`` for every factor when no cell is valid.

    Examples
    --------
    >>> import numpy as np
    >>> topsis_ideals({"a": np.array([0.2, 0.9, np.nan]), "b": np.array([0.5, 0.1, 1.0])},
    ...               {"a": 1, "b": 1})
    {'a': (0.9, 0.2), 'b': (0.5, 0.1)}
    """
    names, arrays, _, shape = _active_layers(scores, weights)
    best, worst = np.full(len(names), -np.inf), np.full(len(names), np.inf)
    rows = chunk_rows_for(shape, chunk_rows)
    for start in range(0, shape[0], rows):
        stack = np.stack([a[start : start + rows] for a in arrays]).reshape(len(names), -1)
        ok = ~np.isnan(stack).any(axis=0)
        if ok.any():
            np.maximum(best, stack[:, ok].max(axis=1), out=best)
            np.minimum(worst, stack[:, ok].min(axis=1), out=worst)
    if not np.isfinite(best).all():  # no valid cell: every result is NaN anyway
        best, worst = np.ones(len(names)), np.zeros(len(names))
    return {k: (float(b), float(lo)) for k, b, lo in zip(names, best, worst, strict=True)}


def topsis_overlay(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    ideal: str | Mapping[str, tuple[float, float]] = "data",
    chunk_rows: int | None = None,
) -> np.ndarray:
    """TOPSIS per cell: relative closeness to the ideal cell (Hwang & Yoon 1981).

    With weighted scores ``v_i = w_i s_i``, the positive ideal ``v_i+`` and the
    negative ideal ``v_i-`` of each factor,
    ``d+ = sqrt(Σ (v_i - v_i+)²)``, ``d- = sqrt(Σ (v_i - v_i-)²)`` and the score
    is ``d- / (d+ + d-)`` (0.5 where both are 0). The scores are used as they
    are (already standardised), so this equals TOPSIS on the table of cells
    without a further normalisation.

    Parameters
    ----------
    scores, weights, chunk_rows
        As for :func:`weighted_linear_combination`.
    ideal
        ``"data"``: the ideals are each factor's highest and lowest score over
        the cells valid in every positive-weight layer (classic TOPSIS; one
        extra streamed pass); ``"fixed"``: 1 and 0, so a cell's score does not
        depend on the other cells (comparable between study areas); or a
        mapping factor → ``(best, worst)`` score (e.g. the ideals of a whole
        surface, to score a few cells as they would score in it).

    Returns
    -------
    numpy.ndarray
        New float32 array in [0, 1]; NaN where a positive-weight layer is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([1.0, 0.0, 1.0]), "b": np.array([1.0, 0.0, 0.0])}
    >>> topsis_overlay(s, {"a": 1, "b": 1})
    array([1. , 0. , 0.5], dtype=float32)
    """
    if not isinstance(ideal, Mapping) and ideal not in ("data", "fixed"):
        raise InputError(
            f"ideal must be 'data', 'fixed' or a mapping factor -> (best, worst), got {ideal!r}"
        )
    names, _, w, shape = _active_layers(scores, weights)
    if isinstance(ideal, Mapping):
        missing = [k for k in names if k not in ideal]
        if missing:
            raise InputError(f"ideal has no (best, worst) for {missing}")
        best = np.array([float(ideal[k][0]) for k in names])
        worst = np.array([float(ideal[k][1]) for k in names])
    elif ideal == "fixed":
        best, worst = np.ones(len(names)), np.zeros(len(names))
    else:
        found = topsis_ideals(scores, weights, chunk_rows=chunk_rows)
        best = np.array([found[k][0] for k in names])
        worst = np.array([found[k][1] for k in names])
    shape_v = (-1,) + (1,) * len(shape)
    bw, ww = (best * w).reshape(shape_v), (worst * w).reshape(shape_v)

    def kernel(stack: np.ndarray, wn: np.ndarray) -> np.ndarray:
        v = stack * wn.reshape(shape_v)
        d_plus = np.sqrt(((v - bw) ** 2).sum(axis=0))
        d_minus = np.sqrt(((v - ww) ** 2).sum(axis=0))
        total = d_plus + d_minus
        return np.divide(d_minus, total, out=np.full_like(total, 0.5), where=total > 0)

    return _cellwise(scores, weights, kernel, chunk_rows=chunk_rows, method="TOPSIS")


#: Aggregation methods by name, each ``f(scores, weights, **options) -> float32 array``.
#: Register new methods here to make them available to :func:`aggregate`.
AGGREGATIONS: dict[str, Callable[..., np.ndarray]] = {
    "wlc": weighted_linear_combination,
    "weighted_product": weighted_product,
    "owa": ordered_weighted_average,
    "fuzzy_and": fuzzy_and,
    "fuzzy_or": fuzzy_or,
    "fuzzy_product": fuzzy_product,
    "fuzzy_sum": fuzzy_sum,
    "fuzzy_gamma": fuzzy_gamma,
    "minimum": minimum,
    "maximum": maximum,
    "topsis": topsis_overlay,
}


def aggregate(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    method: str | Callable[..., np.ndarray] = "wlc",
    **options: object,
) -> np.ndarray:
    """Combine factor scores with an aggregation method from :data:`AGGREGATIONS`.

    Parameters
    ----------
    scores, weights
        As for :func:`weighted_linear_combination`.
    method
        A key of :data:`AGGREGATIONS` (``"wlc"``, ``"owa"``, ``"fuzzy_gamma"``, …)
        or a callable with the same signature as :func:`weighted_linear_combination`.
    **options
        Keyword options passed on to the method (e.g. ``chunk_rows``,
        ``order_weights``/``orness`` for ``"owa"``, ``gamma`` for ``"fuzzy_gamma"``,
        ``ideal`` for ``"topsis"``).

    Returns
    -------
    numpy.ndarray
        The combined score (float32).

    Raises
    ------
    InputError
        Unknown method name (the message lists the known ones), or whatever the
        method raises for bad scores or weights.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    >>> aggregate(s, {"a": 1, "b": 1})
    array([0.5, 0.5], dtype=float32)
    >>> aggregate(s, {"a": 1, "b": 1}, method="owa", orness=1.0)
    array([1., 1.], dtype=float32)
    >>> aggregate(s, {"a": 1, "b": 1}, method="mean")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: unknown aggregation method 'mean'; use one of [...] or a callable
    """
    if callable(method):
        func = method
    elif isinstance(method, str) and method in AGGREGATIONS:
        func = AGGREGATIONS[method]
    else:
        raise InputError(
            f"unknown aggregation method {method!r}; use one of {sorted(AGGREGATIONS)} "
            "or a callable"
        )
    return func(scores, weights, **options)


# ---------------------------------------------------------------------- constraints
def exclusion_mask(
    grid: Grid,
    geometries: Iterable[BaseGeometry],
    *,
    buffer: float = 0.0,
    all_touched: bool = True,
) -> np.ndarray:
    """Boolean mask of cells excluded by constraint geometries (True = excluded).

    Parameters
    ----------
    grid
        The analysis grid.
    geometries
        Shapely geometries in the grid CRS (water polygons, railway lines, user
        exclusion zones), a single geometry, or a GeoSeries / GeoDataFrame; a
        GeoSeries with a CRS must be in ``grid.crs``. None and empty geometries
        are ignored.
    buffer
        Distance in metres by which every geometry is widened before
        rasterising (e.g. a safety margin around railway lines); 0 keeps them.
    all_touched
        Exclude every cell the (buffered) geometry touches (default, the
        conservative choice) rather than only cells whose centre it covers.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``grid.shape``.

    Raises
    ------
    InputError
        Negative or non-finite ``buffer``, an item that is not a shapely
        geometry, or geometries in another CRS than the grid.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> g = Grid.from_bounds((0, 0, 50, 30), cell_size=10, crs="EPSG:32635")
    >>> exclusion_mask(g, [LineString([(5, 15), (45, 15)])], buffer=2).astype(int)
    array([[0, 0, 0, 0, 0],
           [1, 1, 1, 1, 1],
           [0, 0, 0, 0, 0]])
    """
    if not is_real_number(buffer) or not math.isfinite(buffer) or buffer < 0:
        raise InputError(f"buffer must be a finite distance >= 0 in metres, got {buffer!r}")
    geom_crs = getattr(geometries, "crs", None)
    if geom_crs is not None and not grid.crs.equals(geom_crs):
        raise InputError(
            f"constraint geometries are in {geom_crs.to_string()} but the grid is in "
            f"{grid.crs.to_string()}; reproject them first with .to_crs(grid.crs)"
        )
    if isinstance(geometries, BaseGeometry):
        geometries = [geometries]
    elif hasattr(geometries, "geometry"):  # GeoDataFrame
        geometries = geometries.geometry
    import shapely

    items = list(geometries)
    geoms = np.empty(len(items), dtype=object)
    geoms[:] = items
    is_geom = shapely.is_geometry(geoms)
    bad = [g for g in geoms[~is_geom] if g is not None]
    if bad:
        raise InputError(
            f"geometries must be shapely geometries, got {type(bad[0]).__name__}; "
            "pass a list of shapely geometries or a GeoSeries"
        )
    geoms = geoms[is_geom]
    geoms = geoms[~shapely.is_empty(geoms)]
    if buffer > 0 and geoms.size:
        geoms = shapely.buffer(geoms, buffer)
    return grid.rasterize(list(geoms), all_touched=all_touched)


def apply_constraints(
    score: np.ndarray,
    excluded: np.ndarray | None,
    *,
    area_mask: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blank excluded cells and cells outside the study area.

    Parameters
    ----------
    score
        Suitability score (any real dtype); not modified unless it is ``out``.
    excluded
        Boolean array of the score's shape, True where a constraint forbids a
        site (see :func:`exclusion_mask`), or None for no constraints.
    area_mask
        Boolean array, True inside the study area, or None for no area limit.
    out
        Float32 array of the score's shape to write the result into (it is
        returned); it may be ``score`` itself to blank the cells in place.
        Default: a new array.

    Returns
    -------
    numpy.ndarray
        Float32 array equal to ``score`` except NaN where excluded or outside the
        study area (``out`` when given).

    Raises
    ------
    InputError
        A mask that is not boolean or whose shape differs from the score's, or an
        ``out`` that is not a float32 array of the score's shape.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([[0.2, 0.4], [0.6, 0.8]])
    >>> apply_constraints(score, np.array([[False, True], [False, False]]),
    ...                   area_mask=np.array([[True, True], [False, True]]))
    array([[0.2, nan],
           [nan, 0.8]], dtype=float32)
    """
    src = as_numeric_array(score, "score")
    if src.ndim == 0:
        raise InputError("score is a scalar; give an array (rows x columns)")
    shape = src.shape
    exc = None if excluded is None else check_mask(excluded, shape, "excluded")
    inside = None if area_mask is None else check_mask(area_mask, shape, "area_mask")
    if out is None:
        res = np.empty(shape, dtype=np.float32)
    elif not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != shape:
        raise InputError(
            f"out must be a float32 array of the score's shape {shape}; "
            "pass np.empty(score.shape, dtype=np.float32) or the score itself"
        )
    else:
        res = out
    nan = np.float32(np.nan)

    def blank(start: int, stop: int) -> None:  # copy and blank one row band
        band = slice(start, stop)
        keep = None if exc is None else ~exc[band]
        if inside is not None:
            keep = inside[band] if keep is None else np.logical_and(keep, inside[band], out=keep)
        if keep is not None:
            res[band] = np.where(keep, src[band], nan)
        elif res is not src:
            res[band] = src[band]

    run_chunks(shape[0], chunk_rows_for(shape, None), blank)
    return res
