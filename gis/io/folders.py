"""Output folders and files that are never half-written.

Every writer in :mod:`gis.io` follows the same rules:

* an existing file is never replaced unless ``overwrite=True`` is passed;
* output is written to a hidden sibling (``.<name>.partial-<random>``) and moved into
  place with one atomic rename, so a failure leaves either the old file or nothing;
* inputs are never modified.

:func:`output_folder` applies the same rule to a whole result folder;
:func:`check_output_file` and :func:`atomic_file` are the building blocks of the
file writers.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gis.errors import InputError, OutputExistsError

__all__ = [
    "atomic_file",
    "check_output_file",
    "check_output_folder",
    "output_folder",
    "temporary_sibling",
]


def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an output folder that would overwrite a user's data, before any work starts.

    Parameters
    ----------
    path
        The folder a run will write to. It may be missing or empty.
    overwrite
        Accept an existing, non-empty folder (it is replaced only when the run succeeds).

    Returns
    -------
    pathlib.Path
        The absolute folder path.

    Raises
    ------
    OutputExistsError
        If ``path`` is an existing file, or a non-empty folder and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_folder(Path(tmp) / "run").name
    'run'
    """
    folder = Path(os.path.abspath(os.fspath(path)))
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"output folder {folder} is an existing file; choose another --out")
    if folder.is_dir() and not overwrite and any(folder.iterdir()):
        raise OutputExistsError(
            f"output folder {folder} is not empty; pass --overwrite or choose another --out"
        )
    return folder


def temporary_sibling(target: Path, kind: str = "partial", *, folder: bool = False) -> Path:
    """Create a new hidden sibling of ``target`` (a folder or an empty file) and return it.

    Parameters
    ----------
    target
        The final path the sibling stands in for.
    kind
        A word in the sibling's name, e.g. ``"partial"``.
    folder
        Create a folder; else an empty file that keeps ``target``'s suffix (drivers
        that check the suffix, such as GeoPackage, stay quiet).

    Returns
    -------
    pathlib.Path
        ``.<stem>.<kind>-<random><suffix>`` (a file) or ``.<name>.<kind>-<random>``
        (a folder) in ``target``'s folder; it exists on return.

    Raises
    ------
    OutputExistsError
        If no free name is found.
    """
    for _ in range(100):
        token = f"{kind}-{secrets.token_hex(4)}"
        # files keep their suffix so drivers that check it (GeoPackage) stay quiet
        name = f".{target.name}.{token}" if folder else f".{target.stem}.{token}{target.suffix}"
        candidate = target.with_name(name)
        try:
            if folder:
                candidate.mkdir()
            else:
                candidate.touch(exist_ok=False)
        except FileExistsError:
            continue
        return candidate
    raise OutputExistsError(f"cannot create a temporary name next to {target}")  # pragma: no cover


@contextmanager
def output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Stage a result folder and move it into place only if everything succeeded.

    The body writes into a hidden staging folder next to ``path``. On success the
    staging folder is renamed to ``path`` (replacing an existing folder only with
    ``overwrite=True``); if the body raises, the staging folder is deleted and the
    exception propagates, so nothing half-written remains and an existing folder
    is left untouched. Parent folders are created as needed.

    Parameters
    ----------
    path
        Final folder.
    overwrite
        Replace an existing, non-empty folder on success.

    Yields
    ------
    pathlib.Path
        The staging folder to write into.

    Raises
    ------
    OutputExistsError
        As :func:`check_output_folder`, checked before the body runs and again at the end.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with output_folder(Path(tmp) / "run") as stage:
    ...         _ = (stage / "a.txt").write_text("done")
    ...     sorted(p.name for p in Path(tmp).iterdir()), (Path(tmp) / "run" / "a.txt").read_text()
    (['run'], 'done')
    """
    target = check_output_folder(path, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_sibling(target, "partial", folder=True)
    try:
        yield staging
        check_output_folder(target, overwrite=overwrite)
        _move_folder_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_folder_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is swapped out, then deleted."""
    if not target.exists():
        os.rename(staging, target)
        return
    old = temporary_sibling(target, "old", folder=True)
    os.rename(target, old / target.name)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old / target.name, target)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def check_output_file(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Absolute path of an output file; refuse an existing one unless ``overwrite``.

    The parent folder is created when missing.

    Parameters
    ----------
    path
        The file a writer will produce.
    overwrite
        Accept an existing file (it is replaced only when the writer succeeds).

    Returns
    -------
    pathlib.Path
        The absolute file path.

    Raises
    ------
    OutputExistsError
        If ``path`` is a folder, or an existing file and ``overwrite`` is false.
    InputError
        If the file name is empty.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    if target.is_dir():
        raise OutputExistsError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target} already exists; pass overwrite=True or choose another file name"
        )
    if not target.name:
        raise InputError(f"output file name is empty: {path!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


@contextmanager
def atomic_file(target: Path, *, copy_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` that replaces it only if the body succeeds.

    Parameters
    ----------
    target
        The final file (see :func:`check_output_file`).
    copy_existing
        Start the temporary file as a copy of an existing ``target`` (for writers that
        add to a file); otherwise the temporary path does not exist when yielded.

    Yields
    ------
    pathlib.Path
        The temporary path to write; renamed to ``target`` when the body returns, deleted
        when it raises.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_file(Path(tmp) / "a.txt") as part:
    ...         _ = part.write_text("done")
    ...     [p.name for p in Path(tmp).iterdir()]
    ['a.txt']
    """
    tmp = temporary_sibling(target, "partial", folder=False)
    try:
        if copy_existing and target.exists():
            shutil.copyfile(target, tmp)
        else:
            tmp.unlink()
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
