"""Checks and chunking shared by the raster modules of :mod:`gis` (private).

Bad input raises :class:`~gis.errors.InputError` with a one-line message that names
the argument; the functions here are the common vocabulary of those checks.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from gis.errors import InputError

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
