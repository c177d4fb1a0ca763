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
    "Interrupted",
    "NoDataError",
    "OutputExistsError",
    "OutputWriteError",
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


class OutputWriteError(OSError):
    """An output cannot be written: no space left, permission denied, read-only file system,
    a file where a folder should be. The message names the path and the cause.

    ``code`` is the :mod:`errno` number of the cause (also in ``errno``), when known.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM or SIGHUP); ``signum`` says which.

    A subclass of :class:`KeyboardInterrupt`, so code that cleans up on Ctrl-C (``except
    BaseException``, ``finally``) cleans up on the other signals too.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = int(signum)
        try:
            self.name = signal.Signals(self.signum).name
        except ValueError:  # pragma: no cover - a number without a name
            self.name = f"signal {self.signum}"
        super().__init__(f"interrupted by {self.name}")
