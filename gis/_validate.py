"""Checks and chunking shared by the modules of :mod:`gis` (private: import only inside ``gis``).

Bad input raises :class:`~gis.errors.InputError` with a one-line message that names
the argument; the functions here are the common vocabulary of those checks.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from gis.errors import InputError
from gis.grid import Grid

#: Cells per row chunk when ``chunk_rows`` is not given: small enough that the
#: float64 temporaries of one chunk stay in the CPU cache.
CHUNK_CELLS: int = 2**16


def is_real_number(value: object) -> bool:
    """Whether ``value`` is a real number (numpy scalars too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def as_numeric_array(value: object, name: str) -> np.ndarray:
    """View ``value`` as a real-valued ndarray without copying it when possible."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"{name} must be a numeric array, got dtype {arr.dtype}; "
            "pass a float (or integer) numpy array"
        )
    return arr


def chunk_rows_for(shape: tuple[int, ...], chunk_rows: int | None, name: str = "chunk_rows") -> int:
    """Rows per chunk: ``chunk_rows`` if given (validated), else about CHUNK_CELLS cells."""
    if chunk_rows is None:
        row_cells = math.prod(shape[1:]) if len(shape) > 1 else 1
        return max(1, CHUNK_CELLS // max(row_cells, 1))
    if not isinstance(chunk_rows, numbers.Integral) or isinstance(chunk_rows, bool | np.bool_):
        raise InputError(f"{name} must be a positive integer or None, got {chunk_rows!r}")
    if chunk_rows < 1:
        raise InputError(f"{name} must be a positive integer or None, got {chunk_rows}")
    return int(chunk_rows)


def check_mask(mask: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``mask`` as a boolean array of ``shape``, or InputError naming it ``name``."""
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise InputError(
            f"{name} must be a boolean array, got dtype {arr.dtype}; "
            f"build it with a comparison, e.g. `{name} = layer > 0`"
        )
    if arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape} but the score has shape {shape}")
    return arr


def positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite positive (or, with ``allow_zero``, non-negative) float."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        need = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be a finite {need} number, got {value!r}")
    return v


def limit(max_distance: float | None) -> float:
    """A distance cap in metres: ``inf`` for None, else a positive number."""
    return math.inf if max_distance is None else positive(max_distance, "max_distance")


def points(x: Any, y: Any, weights: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point coordinates as float64 1-D arrays of one length, and a weight per point (default 1)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.ndim != 1 or y.ndim != 1 or x.size != y.size:
        raise InputError(
            f"x and y must be 1-D arrays of equal length, got shapes {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("point coordinates must be finite; drop missing or empty geometries")
    if weights is None:
        w = np.ones(x.size)
    else:
        w = np.asarray(weights, dtype="float64")
        if w.shape != x.shape:
            raise InputError(
                f"weights must have one value per point: {w.shape} given for {x.size} points"
            )
        if not np.isfinite(w).all() or (w.size and w.min() < 0):
            raise InputError("weights must be finite and non-negative")
    return x, y, w


def geometries(geoms: Any, grid: Grid) -> np.ndarray:
    """Non-empty single-part geometries as a 1-D object array (collections exploded).

    Accepts one geometry, a sequence, a GeoSeries or a GeoDataFrame; a CRS that
    differs from the grid's is refused.
    """
    if isinstance(geoms, BaseGeometry):
        geoms = [geoms]
    crs = getattr(geoms, "crs", None)
    if crs is not None and CRS.from_user_input(crs) != CRS.from_user_input(grid.crs):
        raise InputError(
            f"geometries are in {CRS.from_user_input(crs).to_string()} but the grid is in "
            f"{CRS.from_user_input(grid.crs).to_string()}; reproject them with .to_crs(grid.crs)"
        )
    geoms = getattr(geoms, "geometry", geoms)  # GeoDataFrame -> GeoSeries
    arr = np.asarray(geoms, dtype=object).ravel()
    known = shapely.is_geometry(arr) | shapely.is_missing(arr)
    if not known.all():
        bad = arr[~known][0]
        raise InputError(f"expected shapely geometries, got {type(bad).__name__}: {bad!r:.60}")
    return explode(arr[shapely.is_geometry(arr)])


def explode(arr: np.ndarray) -> np.ndarray:
    """Single-part, non-empty geometries of ``arr`` (multi-parts and collections split)."""
    while arr.size and np.isin(shapely.get_type_id(arr), (4, 5, 6, 7)).any():
        arr = shapely.get_parts(arr)
    return arr[~shapely.is_empty(arr)]
