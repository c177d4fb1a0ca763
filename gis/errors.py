"""The few exceptions innosite raises on bad input.

Each subclasses a built-in so callers can catch either the precise class or the
familiar built-in. Messages say what was wrong and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "DataSourceError",
    "GridSizeError",
    "InputError",
    "NoDataError",
    "OutputExistsError",
]


class InputError(ValueError):
    """An argument or parameter is invalid (wrong range, type or shape)."""


class DataSourceError(OSError):
    """A data source cannot be read: missing or unsupported file, no network, place not found."""


class NoDataError(ValueError):
    """The data needed for a step is absent from the study area (e.g. no street network)."""


class GridSizeError(MemoryError):
    """An analysis grid would not fit the memory budget, or is degenerate."""


class OutputExistsError(FileExistsError):
    """An output would overwrite a user's existing, non-empty folder or file."""


class ClusterError(RuntimeError):
    """A Dask scheduler does not answer, or a worker or the scheduler was lost mid-run."""
