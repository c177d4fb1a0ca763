"""Combine factor scores into one suitability surface and apply hard constraints.

Multi-criteria overlay in two steps:

1. :func:`aggregate` (by default :func:`weighted_linear_combination`) merges
   standardised factor rasters with weights into one score;
2. :func:`apply_constraints` blanks (sets to NaN) the cells that are excluded by
   constraint layers (:func:`exclusion_mask`) or lie outside the study area.

NaN is the nodata value throughout: a cell with no score is NaN, never a
sentinel number. All rasters are processed in row chunks, so the only full-grid
allocation is the float32 result.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping

import numpy as np
from shapely.geometry.base import BaseGeometry

from gis.errors import InputError
from gis.grid import Grid

__all__ = [
    "AGGREGATIONS",
    "aggregate",
    "apply_constraints",
    "exclusion_mask",
    "normalize_weights",
    "weighted_linear_combination",
]

#: Cells per row chunk when ``chunk_rows`` is not given: small enough that the
#: float64 temporaries of one chunk stay in the CPU cache.
CHUNK_CELLS: int = 2**16


# ---------------------------------------------------------------------- helpers
def _is_real_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _as_numeric_array(value: object, name: str) -> np.ndarray:
    """View ``value`` as a real-valued ndarray without copying it when possible."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"{name} must be a numeric array, got dtype {arr.dtype}; "
            "pass a float (or integer) numpy array"
        )
    return arr


def _chunk_rows(shape: tuple[int, ...], chunk_rows: int | None, name: str = "chunk_rows") -> int:
    """Rows per chunk: ``chunk_rows`` if given (validated), else about CHUNK_CELLS cells."""
    if chunk_rows is None:
        row_cells = math.prod(shape[1:]) if len(shape) > 1 else 1
        return max(1, CHUNK_CELLS // max(row_cells, 1))
    if not isinstance(chunk_rows, numbers.Integral) or isinstance(chunk_rows, bool | np.bool_):
        raise InputError(f"{name} must be a positive integer or None, got {chunk_rows!r}")
    if chunk_rows < 1:
        raise InputError(f"{name} must be a positive integer or None, got {chunk_rows}")
    return int(chunk_rows)


def _check_mask(mask: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise InputError(
            f"{name} must be a boolean array, got dtype {arr.dtype}; "
            f"build it with a comparison, e.g. `{name} = layer > 0`"
        )
    if arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape} but the score has shape {shape}")
    return arr


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
        if not _is_real_number(value):
            raise InputError(
                f"weight of {key!r} must be a real number, got {value!r} ({type(value).__name__})"
            )
        if not math.isfinite(value) or value < 0:
            raise InputError(f"weight of {key!r} is {value}; weights must be finite and >= 0")
    total = math.fsum(float(v) for v in weights.values())
    if total == 0:
        raise InputError(
            f"all weights are zero ({', '.join(map(repr, weights))}); "
            "give at least one factor a positive weight"
        )
    if not math.isfinite(total):
        raise InputError("weights are too large: their sum overflows; scale them down")
    return {key: float(value) / total for key, value in weights.items()}


def _check_layers(
    scores: Mapping[str, object], weights: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Arrays of ``scores`` as ndarrays, checked against the weight keys and each other."""
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
    arrays = {k: _as_numeric_array(scores[k], f"score layer {k!r}") for k in weights}
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
def weighted_linear_combination(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Weighted sum ``Σ w_i · s_i`` of factor scores with weights normalised to sum 1.

    Parameters
    ----------
    scores
        Factor name to score array; all arrays have the same shape. NaN is nodata.
    weights
        Factor name to weight, with exactly the keys of ``scores``; normalised
        with :func:`normalize_weights`.
    chunk_rows
        Rows processed at a time (default: about 65 000 cells per chunk). Only
        the chunk's float64 temporaries are allocated besides the result.

    Returns
    -------
    numpy.ndarray
        New float32 array of the common shape. A cell is NaN if it is NaN in any
        layer with a positive weight. A layer with weight 0 is not read at all,
        so its NaN cells do **not** propagate.

    Raises
    ------
    InputError
        Invalid weights, keys of ``scores`` and ``weights`` that differ (the
        message lists the missing and extra ones), a non-numeric layer, or a
        layer whose shape differs from the first one.

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
    """
    w = normalize_weights(weights)
    arrays = _check_layers(scores, w)
    shape = next(iter(arrays.values())).shape
    # "Positive" refers to the weights as given: a tiny weight may underflow to 0
    # when normalised, but its layer still takes part (and propagates NaN).
    active = [(arrays[k], w[k]) for k in w if weights[k] > 0]
    rows = _chunk_rows(shape, chunk_rows)

    out = np.empty(shape, dtype=np.float32)
    buf_shape = (min(rows, shape[0]), *shape[1:])
    acc_buf = np.empty(buf_shape, dtype=np.float64)
    tmp_buf = np.empty(buf_shape, dtype=np.float64)
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        acc = acc_buf[: stop - start]
        tmp = tmp_buf[: stop - start]
        first, w0 = active[0]
        np.multiply(first[start:stop], w0, out=acc, dtype=np.float64)
        for arr, wi in active[1:]:
            np.multiply(arr[start:stop], wi, out=tmp, dtype=np.float64)
            acc += tmp
        out[start:stop] = acc
    return out


#: Aggregation methods by name, each ``f(scores, weights, **options) -> float32 array``.
#: Register new methods here to make them available to :func:`aggregate`.
AGGREGATIONS: dict[str, Callable[..., np.ndarray]] = {
    "wlc": weighted_linear_combination,
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
        A key of :data:`AGGREGATIONS` (``"wlc"``) or a callable with the same
        signature as :func:`weighted_linear_combination`.
    **options
        Keyword options passed on to the method (e.g. ``chunk_rows``).

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
    >>> aggregate(s, {"a": 1, "b": 1}, method="owa")
    Traceback (most recent call last):
    ...
    gis.errors.InputError: unknown aggregation method 'owa'; use one of ['wlc'] or a callable
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
    if not _is_real_number(buffer) or not math.isfinite(buffer) or buffer < 0:
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
) -> np.ndarray:
    """Blank excluded cells and cells outside the study area.

    Parameters
    ----------
    score
        Suitability score (any real dtype); not modified.
    excluded
        Boolean array of the score's shape, True where a constraint forbids a
        site (see :func:`exclusion_mask`), or None for no constraints.
    area_mask
        Boolean array, True inside the study area, or None for no area limit.

    Returns
    -------
    numpy.ndarray
        New float32 array equal to ``score`` except NaN where excluded or
        outside the study area.

    Raises
    ------
    InputError
        A mask that is not boolean or whose shape differs from the score's.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([[0.2, 0.4], [0.6, 0.8]])
    >>> apply_constraints(score, np.array([[False, True], [False, False]]),
    ...                   area_mask=np.array([[True, True], [False, True]]))
    array([[0.2, nan],
           [nan, 0.8]], dtype=float32)
    """
    src = _as_numeric_array(score, "score")
    if src.ndim == 0:
        raise InputError("score is a scalar; give an array (rows x columns)")
    shape = src.shape
    exc = None if excluded is None else _check_mask(excluded, shape, "excluded")
    inside = None if area_mask is None else _check_mask(area_mask, shape, "area_mask")
    out = src.astype(np.float32, copy=True)
    nan = np.float32(np.nan)
    if exc is not None:
        np.copyto(out, nan, where=exc)
    if inside is not None:
        rows = _chunk_rows(shape, None)
        for start in range(0, shape[0], rows):
            stop = start + rows
            np.copyto(out[start:stop], nan, where=~inside[start:stop])
    return out
