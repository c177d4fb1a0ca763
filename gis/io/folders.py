"""Output folders and files that are never half-written and never replace a user's data.

Every writer in :mod:`gis.io` follows the same rules:

* an existing file is never replaced unless ``overwrite=True`` is passed;
* output is written to a hidden sibling (``.<name>.partial-<pid>-<host>-<random>``) and
  moved into place with one atomic rename, so a failure leaves either the old file or
  nothing;
* inputs are never modified.

:func:`check_output_folder` decides, before any work, whether a run may write a result
folder: never the current folder or one of its parents, never a folder that holds one of
the run's inputs, and with ``overwrite`` only a folder that innosite wrote itself (its
``manifest.json`` lists every file in it) or an empty one. :func:`output_folder` stages
the folder and moves it into place; :func:`remove_stale_staging` removes the staging
folders that runs stopped by SIGKILL or a power cut left behind (their process no longer
runs). :func:`check_output_file` and :func:`atomic_file` are the building blocks of the
file writers.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from gis.errors import InputError, OutputExistsError, OutputWriteError
from gis.io.failures import is_disk_full, os_error_text

__all__ = [
    "MANIFEST_NAME",
    "StaleStaging",
    "atomic_file",
    "check_output_file",
    "check_output_folder",
    "input_paths",
    "output_folder",
    "remove_stale_staging",
    "temporary_sibling",
]

#: Name of the manifest that marks a folder innosite wrote.
MANIFEST_NAME = "manifest.json"

#: Files that other programs add next to outputs and that ``overwrite`` may delete
#: (besides files named after an output, such as ``suitability.tif.aux.xml``).
TOOL_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


# ---------------------------------------------------------------------------- inputs
def input_paths(*values: Any) -> list[Path]:
    """The existing files and folders named anywhere in ``values``, as absolute real paths.

    ``values`` may be paths, strings, dataclasses (configurations), mappings and
    sequences, nested to any depth; every string or path that names an existing
    file or folder counts (``""`` and ``"."`` do not).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = Path(tmp) / "a.csv"
    ...     _ = f.write_text("x")
    ...     [p.name for p in input_paths({"table": str(f), "nothing": "no/such/file"}, 3)]
    ['a.csv']
    """
    found: dict[str, Path] = {}
    stack: list[Any] = list(values)
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if isinstance(value, str | os.PathLike):
            text = os.fspath(value)
            if not isinstance(text, str) or text.strip() in ("", ".") or "\n" in text:
                continue
            try:
                if os.path.exists(text):
                    real = Path(os.path.realpath(text))
                    found.setdefault(str(real), real)
            except (OSError, ValueError):  # a name too long, a NUL byte: not a path
                continue
        elif id(value) in seen:
            continue
        elif is_dataclass(value) and not isinstance(value, type):
            seen.add(id(value))
            stack.extend(getattr(value, f.name) for f in fields(value))
        elif isinstance(value, Mapping):
            seen.add(id(value))
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            seen.add(id(value))
            stack.extend(value)
    return sorted(found.values())


# ---------------------------------------------------------------------------- checks
def _absolute(path: str | os.PathLike, what: str) -> Path:
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"the {what} is empty ({text!r}); give a name, e.g. --out run1")
    return Path(os.path.abspath(text))


def _check_can_create(target: Path) -> None:
    """Refuse when ``target`` cannot be created: a file in the way, no permission, read-only."""
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():  # a dangling link: let mkdir say so
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputWriteError(
            f"cannot write {target}: {ancestor} is a file, not a folder; choose another path",
            code=errno.ENOTDIR,
        )
    if not ancestor.exists():
        return
    if not os.access(ancestor, os.W_OK | os.X_OK):
        if hasattr(os, "statvfs") and os.statvfs(ancestor).f_flag & os.ST_RDONLY:
            raise OutputWriteError(
                f"cannot write {target}: {ancestor} is on a read-only file system; "
                "choose a writable folder",
                code=errno.EROFS,
            )
        raise OutputWriteError(
            f"cannot write {target}: permission denied in {ancestor}; choose a folder you "
            "can write to",
            code=errno.EACCES,
        )


def _innosite_files(folder: Path) -> set[str] | None:
    """The files the innosite manifest of ``folder`` lists (with itself), or None without one."""
    try:
        doc = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or "innosite_version" not in doc:
        return None
    listed = {MANIFEST_NAME}
    for item in doc.get("outputs") or ():
        if isinstance(item, Mapping) and isinstance(item.get("file"), str):
            listed.add(Path(item["file"]).as_posix())
    return listed


def _foreign_files(folder: Path, listed: set[str]) -> list[str]:
    """Files under ``folder`` that are neither listed outputs nor files other tools add."""
    foreign = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(folder).as_posix()
        if rel in listed or path.name in TOOL_FILES:
            continue
        if any(rel.startswith(name + ".") or rel.startswith(name + "~") for name in listed):
            continue  # suitability.tif.aux.xml, project.qgz~ ...
        foreign.append(rel)
    return foreign


def check_output_folder(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Refuse an output folder that would overwrite a user's data, before any work starts.

    A run may write to a new folder or an empty one. With ``overwrite`` it may also
    replace a folder that innosite wrote: one with an innosite ``manifest.json`` and
    no other files than the outputs it lists (and the ``.aux.xml``-like files GIS
    programs add next to them). It never writes to:

    * an empty name (``--out ''``);
    * the current folder or one of its parents;
    * a folder that holds one of ``inputs``;
    * a path under a file, or in a folder it cannot write to.

    Parameters
    ----------
    path
        The folder a run will write to.
    overwrite
        Accept an existing, non-empty folder that innosite wrote (it is replaced only
        when the run succeeds).
    inputs
        The files and folders the run reads (:func:`input_paths` finds them in a
        configuration).

    Returns
    -------
    pathlib.Path
        The absolute folder path.

    Raises
    ------
    InputError
        If ``path`` is empty.
    OutputExistsError
        If the folder is refused for what it holds or where it is (the message says why).
    OutputWriteError
        If it cannot be created: a file in the way, permission denied, read-only.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_folder(Path(tmp) / "run").name
    'run'
    """
    folder = _absolute(path, "output folder")
    real = Path(os.path.realpath(folder))
    here = Path(os.path.realpath(os.getcwd()))
    if real == here or real in here.parents:
        where = "the current folder" if real == here else "a parent of the current folder"
        raise OutputExistsError(
            f"output folder {folder} is {where}; a run replaces its output folder as a whole, "
            "so give a new subfolder, e.g. --out run1"
        )
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"output folder {folder} is an existing file; choose another --out")
    for item in inputs:
        source = Path(os.path.realpath(os.fspath(item)))
        if source == real or real in source.parents:
            raise OutputExistsError(
                f"output folder {folder} holds an input of this run ({source}); "
                "choose another --out"
            )
    if not folder.exists():
        _check_can_create(folder)
        return folder
    if not any(folder.iterdir()):
        _check_can_create(folder)
        return folder
    if not overwrite:
        raise OutputExistsError(
            f"output folder {folder} is not empty; pass --overwrite or choose another --out"
        )
    listed = _innosite_files(folder)
    if listed is None:
        raise OutputExistsError(
            f"output folder {folder} is not empty and was not written by innosite (no innosite "
            f"{MANIFEST_NAME}); --overwrite only replaces innosite's own output folders: "
            "choose another --out"
        )
    foreign = _foreign_files(folder, listed)
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise OutputExistsError(
            f"output folder {folder} holds files innosite did not write ({shown}); "
            "--overwrite would delete them: move them away or choose another --out"
        )
    _check_can_create(folder)
    return folder


# ---------------------------------------------------------------------------- staging names
def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


_OWNED = re.compile(r"-(?P<pid>\d+)-(?P<host>[0-9a-f]{6})-[0-9a-f]{8}$")


def temporary_sibling(target: Path, kind: str = "partial", *, folder: bool = False) -> Path:
    """Create a new hidden sibling of ``target`` (a folder or an empty file) and return it.

    The name records the process that owns it, so a later run can tell a sibling
    left by a killed process (:func:`remove_stale_staging`) from one in use.

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
        ``.<stem>.<kind>-<pid>-<host>-<random><suffix>`` (a file) or
        ``.<name>.<kind>-<pid>-<host>-<random>`` (a folder) in ``target``'s folder; it
        exists on return.

    Raises
    ------
    OutputExistsError
        If no free name is found.
    """
    owner = f"{os.getpid()}-{_host_tag()}"
    for _ in range(100):
        token = f"{kind}-{owner}-{secrets.token_hex(4)}"
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


def _started(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), from Linux's ``/proc``; else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = float(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` runs (and, given ``since``, started before that time)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:  # pragma: no cover - e.g. an out-of-range number
        return False
    if since is not None:
        started = _started(pid)
        if started is not None and started > since + 2.0:  # the number was reused
            return False
    return True


@dataclass(frozen=True)
class StaleStaging:
    """A staging folder left next to an output folder by a process that no longer runs.

    Attributes
    ----------
    path
        The folder found.
    pid
        The process that created it (None: an older innosite, owner unknown).
    action
        ``"removed"``, ``"restored"`` (a replaced output folder put back) or ``"kept"``
        (owner unknown: left for the user to delete).
    """

    path: Path
    pid: int | None
    action: str

    def describe(self) -> str:
        """One line for the user."""
        if self.action == "kept":
            return (
                f"found {self.path}, left by an interrupted run of an older innosite; "
                "delete it if no run is writing there"
            )
        what = (
            "put back the previous output folder from" if self.action == "restored" else ("removed")
        )
        return f"{what} {self.path}, left by an interrupted run (process {self.pid} has ended)"


def remove_stale_staging(path: str | os.PathLike) -> list[StaleStaging]:
    """Remove the staging folders of ``path`` that no live process owns.

    A run stopped by SIGKILL, an out-of-memory kill or a power cut cannot clean up;
    its ``.<name>.partial-<pid>-...`` folder stays next to the output folder. This
    removes such folders of this machine whose process has ended (or whose process
    number now belongs to a process started after the folder was last written, on
    Linux). A
    ``.<name>.old-...`` folder (the previous output, set aside while being replaced)
    is put back when the output folder is missing, else removed. Folders of live
    processes and of other machines are left alone; those of older innosite versions
    (no owner in the name) are reported, not removed.

    Parameters
    ----------
    path
        The output folder (it need not exist).

    Returns
    -------
    list of StaleStaging
        What was found and done, one per folder.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    parent = target.parent
    if not parent.is_dir():
        return []
    prefix = f".{target.name}."
    host = _host_tag()
    found: list[StaleStaging] = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or not entry.is_dir() or entry.is_symlink():
            continue
        kind, _, rest = name[len(prefix) :].partition("-")
        if kind not in ("partial", "old"):
            continue
        m = _OWNED.search("-" + rest)
        if m is None:
            if kind == "partial" and re.fullmatch(r"[0-9a-f]{8}", rest):
                found.append(StaleStaging(entry, None, "kept"))
            continue
        pid = int(m.group("pid"))
        try:
            modified = entry.stat().st_mtime
        except OSError:
            continue
        if m.group("host") != host or _alive(pid, since=modified):
            continue
        saved = entry / target.name
        if kind == "old" and saved.is_dir() and not target.exists():
            os.rename(saved, target)
            found.append(StaleStaging(entry, pid, "restored"))
        else:
            found.append(StaleStaging(entry, pid, "removed"))
        shutil.rmtree(entry, ignore_errors=True)
    return found


# ---------------------------------------------------------------------------- staging
#: Bytes a failed run must still be able to write for the failure not to count as a full disk.
_PROBE_BYTES = 1 << 20

#: Exceptions that are bugs or bad input, never a symptom of a full disk.
_NOT_DISK = (InputError, OutputExistsError, TypeError, KeyError, AttributeError, IndexError,
             NameError, AssertionError, NotImplementedError)  # fmt: skip


def _no_room(folder: Path) -> bool:
    """True when a 1 MiB file cannot be written in ``folder`` (its file system is full)."""
    probe = folder / ".space-probe"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * _PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    return False


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (main thread, POSIX only)."""
    import signal
    import threading

    block = getattr(signal, "pthread_sigmask", None)
    if block is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    old = block(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, old)


@contextmanager
def output_folder(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Stage a result folder and move it into place only if everything succeeded.

    The body writes into a hidden staging folder next to ``path``. On success the
    staging folder is renamed to ``path`` (replacing an existing folder only with
    ``overwrite=True``, and only one :func:`check_output_folder` accepts); if the body
    raises — an error, Ctrl-C or another signal turned into
    :class:`gis.errors.Interrupted` — the staging folder is deleted and the exception
    propagates, so nothing half-written remains and an existing folder is left
    untouched. A failure while the file system is full becomes an
    :class:`gis.errors.OutputWriteError` that says so. Parent folders are created as
    needed.

    Parameters
    ----------
    path
        Final folder.
    overwrite
        Replace an existing, non-empty folder that innosite wrote, on success.
    inputs
        The run's input files and folders (:func:`input_paths`); a folder holding one
        is refused.

    Yields
    ------
    pathlib.Path
        The staging folder to write into.

    Raises
    ------
    OutputExistsError, OutputWriteError, InputError
        As :func:`check_output_folder`, checked before the body runs and again at the end.
    OutputWriteError
        When writing failed because the file system is full.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with output_folder(Path(tmp) / "run") as stage:
    ...         _ = (stage / "a.txt").write_text("done")
    ...     sorted(p.name for p in Path(tmp).iterdir()), (Path(tmp) / "run" / "a.txt").read_text()
    (['run'], 'done')
    """
    inputs = list(inputs)
    target = check_output_folder(path, overwrite=overwrite, inputs=inputs)
    staging: Path | None = None
    try:
        try:
            with _signals_held():  # a stop signal never falls between creating and owning it
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = temporary_sibling(target, "partial", folder=True)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot create the output folder {target}: {os_error_text(exc)}", code=exc.errno
            ) from None
        yield staging
        check_output_folder(target, overwrite=overwrite, inputs=inputs)
        _move_folder_into_place(staging, target)
    except Exception as exc:
        if staging is None:
            raise
        full = not isinstance(exc, _NOT_DISK) and (is_disk_full(exc) or _no_room(staging))
        shutil.rmtree(staging, ignore_errors=True)
        if full:
            said = str(exc).strip()
            said = f" ({said})" if 0 < len(said) <= 60 and "\n" not in said else ""
            raise OutputWriteError(
                f"no space left on device: writing {target} failed{said}; nothing was written: "
                "free some space or choose another --out",
                code=errno.ENOSPC,
            ) from exc
        raise
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_folder_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is swapped out, then deleted.

    Signals are held during the swap, so a stop never leaves the old folder set aside.
    """
    with _signals_held():
        _swap(staging, target)


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    old = temporary_sibling(target, "old", folder=True)
    aside = old / target.name
    try:
        os.rename(target, aside)
        os.rename(staging, target)
    except BaseException:
        # decided by what is on disk: a stop signal Python had already taken in before
        # the signals were held can interrupt between any two steps
        if aside.exists() and not target.exists():
            os.rename(aside, target)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def check_output_file(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Absolute path of an output file; refuse an existing one unless ``overwrite``.

    The parent folder is created when missing.

    Parameters
    ----------
    path
        The file a writer will produce.
    overwrite
        Accept an existing file (it is replaced only when the writer succeeds).
    inputs
        Files the writer's run reads; the output may not be one of them.

    Returns
    -------
    pathlib.Path
        The absolute file path.

    Raises
    ------
    OutputExistsError
        If ``path`` is a folder, one of ``inputs``, or an existing file and
        ``overwrite`` is false.
    OutputWriteError
        If it cannot be created: a file in the way, permission denied, read-only.
    InputError
        If the file name is empty.
    """
    target = _absolute(path, "output file name")
    if target.is_dir():
        raise OutputExistsError(f"{target} is a folder; give a file name")
    real = Path(os.path.realpath(target))
    if any(Path(os.path.realpath(os.fspath(p))) == real for p in inputs):
        raise OutputExistsError(f"{target} is an input of this run; write to another file")
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target} already exists; pass overwrite=True or choose another file name"
        )
    _check_can_create(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(
            f"cannot create the folder of {target}: {os_error_text(exc)}", code=exc.errno
        ) from None
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
    tmp: Path | None = None
    try:
        with _signals_held():  # a stop signal never falls between creating and owning it
            tmp = temporary_sibling(target, "partial", folder=False)
        if copy_existing and target.exists():
            shutil.copyfile(target, tmp)
        else:
            tmp.unlink()
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
