"""One line for every failure of the operating system, GDAL, PROJ or SQLite.

A run that hits a full disk, a read-only folder, a file where a folder should be or a
CRS that PROJ does not know should stop with one line that names the file and the
cause, not a traceback from deep inside a library. :func:`describe_failure` turns such
an exception into that line (and returns None for anything else: a bug keeps its
traceback); the command-line runner prints it and exits with status 2.
:func:`os_error_text` describes one :class:`OSError`.

Examples
--------
>>> import errno
>>> describe_failure(OSError(errno.ENOSPC, "No space left on device", "out/a.tif"))
'no space left on device: out/a.tif'
>>> describe_failure(PermissionError(errno.EACCES, "Permission denied", "/data"))
'permission denied: /data'
>>> describe_failure(KeyError("x")) is None
True
"""

from __future__ import annotations

import errno
import os
import re

__all__ = ["CAUSES", "LIBRARY_MODULES", "describe_failure", "is_disk_full", "os_error_text"]

#: Plain words for the causes of operating-system errors, by :mod:`errno` number.
CAUSES: dict[int, str] = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "not a folder (a file is in the way)",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "file exists",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files on the system",
    errno.EIO: "input/output error (a failing disk or a lost network share)",
    errno.EFBIG: "file too large for the file system",
    errno.ENOTEMPTY: "folder not empty",
    errno.EXDEV: "cannot move between file systems",
    errno.ELOOP: "too many symbolic links",
    errno.EBUSY: "device or resource busy",
}

#: Top-level packages whose own exceptions are failures to describe (not bugs).
LIBRARY_MODULES: frozenset[str] = frozenset(
    {"rasterio", "pyogrio", "pyproj", "osgeo", "fiona", "sqlite3"}
)

_FULL = re.compile(r"no space left|disk is full|disk full|disk quota", re.IGNORECASE)
_MAX = 300


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in out):
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _one_line(text: str) -> str:
    """First non-empty line, spaces collapsed, ``[Errno N]`` dropped, at most 300 characters."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    line = re.sub(r"\[Errno -?\d+\]\s*", "", lines[0] if lines else "")
    line = re.sub(r"\s+", " ", line).strip()
    return line if len(line) <= _MAX else line[: _MAX - 3] + "..."


def os_error_text(exc: OSError) -> str:
    """``cause: file`` for an :class:`OSError` (the cause in plain words when known).

    Examples
    --------
    >>> import errno
    >>> os_error_text(NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/sub"))
    'not a folder (a file is in the way): f/sub'
    """
    cause = CAUSES.get(exc.errno) if exc.errno is not None else None
    if cause is None:
        cause = _one_line(exc.strerror or str(exc) or type(exc).__name__)
    files = [os.fsdecode(f) for f in (exc.filename, exc.filename2) if f not in (None, "")]
    return f"{cause}: {' -> '.join(files)}" if files else cause


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it came from says the disk or a quota is full.

    Examples
    --------
    >>> import sqlite3
    >>> is_disk_full(sqlite3.OperationalError("database or disk is full"))
    True
    """
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if _FULL.search(str(link)):
            return True
    return False


def _library(exc: BaseException) -> str | None:
    """The library an exception belongs to, when it is one of :data:`LIBRARY_MODULES`."""
    top = type(exc).__module__.split(".")[0]
    return top if top in LIBRARY_MODULES else None


def describe_failure(exc: BaseException, *, path: str | os.PathLike | None = None) -> str | None:
    """One line naming the cause (and the file) of a system or library failure.

    Parameters
    ----------
    exc
        The exception a run raised.
    path
        What the run was writing (its output folder), named when the exception
        names no file.

    Returns
    -------
    str or None
        The line, or None when ``exc`` is not a failure of the operating system,
        GDAL/OGR, PROJ or SQLite, nor a lack of memory (then it is a bug, and keeps
        its traceback).
    """
    chain = _chain(exc)
    where = f" (writing {os.fspath(path)})" if path is not None else ""
    if is_disk_full(exc):
        named = next(
            (e for e in chain if isinstance(e, OSError) and e.filename not in (None, "")), None
        )
        if isinstance(named, OSError) and named.errno in (errno.ENOSPC, errno.EDQUOT):
            return os_error_text(named)
        detail = _one_line(str(exc))
        said = "" if detail.lower() in ("", "no space left on device") else f": {detail}"
        return f"{CAUSES[errno.ENOSPC]}{where}{said}"
    for link in chain:
        if _library(link) is not None and "CRSError" in type(link).__name__:
            return f"invalid CRS: {_one_line(str(link))}"
    if isinstance(exc, OSError) and exc.errno is not None:
        text = os_error_text(exc)
        return text if exc.filename not in (None, "") else text + where
    library = _library(exc)
    if library is not None:
        name = {"rasterio": "GDAL", "pyogrio": "GDAL/OGR", "osgeo": "GDAL", "fiona": "GDAL/OGR",
                "pyproj": "PROJ", "sqlite3": "SQLite"}[library]  # fmt: skip
        return f"{name} failed{where}: {_one_line(str(exc))}"
    if isinstance(exc, OSError):
        return f"{_one_line(str(exc)) or type(exc).__name__}{where}"
    if isinstance(exc, MemoryError):
        detail = _one_line(str(exc))
        return (
            "not enough memory"
            + (f" ({detail})" if detail else "")
            + ("; use a smaller area, larger cells, a smaller --memory-budget or fewer draws")
        )
    return None
