"""Run innosite in its own Python as a child process: the command line, progress, cancel.

This module imports neither QGIS nor innosite, so it runs in any Python (QGIS's own,
innosite's, a test's). The plugin's algorithms describe their parameters with the
JSON written by ``innosite qgis install`` (:func:`load_config`); :func:`command_args`
turns parameter values into the arguments of ``python -m layers.cli``, and
:func:`run_streaming` runs that command, hands every output line and every progress
percentage to callbacks and kills the child when the caller asks to cancel.

Examples
--------
>>> params = [
...     {"name": "CELL_SIZE", "flag": "--cell-size", "type": "number", "default": 25.0},
...     {"name": "NO_CONSTRAINTS", "flag": "--no-constraints", "type": "bool"},
...     {"name": "WEIGHT_TRANSIT", "flag": "--weight", "type": "weight",
...      "factor": "transit", "default": 0.14},
... ]
>>> command_args(params, {"CELL_SIZE": 50.0, "NO_CONSTRAINTS": True, "WEIGHT_TRANSIT": 0.3})
['--cell-size', '50', '--no-constraints', '--weight', 'transit=0.3']
>>> command_args(params, {"CELL_SIZE": 25.0, "NO_CONSTRAINTS": False, "WEIGHT_TRANSIT": 0.14})
[]
>>> progress_of("innosite micro:  42%|####      | 5/12 [00:03]")
42.0
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_FILE",
    "WRITTEN_BY",
    "Cancelled",
    "ChildFailed",
    "child_environment",
    "command_args",
    "format_value",
    "load_config",
    "progress_of",
    "python_command",
    "run_streaming",
]

#: The plugin's configuration, written next to this module by ``innosite qgis install``.
CONFIG_FILE = "innosite.json"
#: Value of the configuration's ``written_by`` key: marks a plugin folder innosite wrote.
WRITTEN_BY = "innosite"

#: Variables of QGIS's environment that would point innosite's own GDAL, PROJ and Python
#: at QGIS's data files and libraries.
_FOREIGN = (
    "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONUSERBASE",
    "VIRTUAL_ENV", "GDAL_DATA", "GDAL_DRIVER_PATH", "PROJ_LIB", "PROJ_DATA", "GDAL_PLUGINS",
)  # fmt: skip

_PERCENT = re.compile(r":\s*(\d{1,3})%\|")


class ChildFailed(RuntimeError):
    """The innosite command ended with an error; the message is its last error line."""


class Cancelled(RuntimeError):
    """The run was cancelled and the child process stopped."""


def load_config(folder: str | Path | None = None) -> dict[str, Any]:
    """The plugin configuration (interpreter, module path, algorithms) of ``folder``.

    Parameters
    ----------
    folder
        The plugin folder; by default the folder of this module.
    """
    path = Path(folder or Path(__file__).parent) / CONFIG_FILE
    if not path.exists():
        return {"python": "", "pythonpath": [], "algorithms": []}
    with open(path, encoding="utf-8") as f:
        config: dict[str, Any] = json.load(f)
    return config


def format_value(value: Any) -> str:
    """``value`` as command-line text: integral floats without ``.0``, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, tuple)):  # a tuple: QGIS may run Python 3.9
        return ",".join(format_value(v) for v in value)
    return str(value)


def _same(value: Any, default: Any) -> bool:
    if default is None:
        return False
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return float(value) == float(default)
        except (TypeError, ValueError):
            return False
    return format_value(value) == format_value(default)


def command_args(params: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> list[str]:
    """The command-line arguments for parameter ``values`` (already plain Python values).

    A value that is None, empty or equal to the parameter's default adds nothing, so an
    untouched algorithm runs exactly the command's defaults. ``bool`` parameters add their
    flag when true; ``weight`` parameters add ``--weight FACTOR=VALUE``; ``weights``
    parameters (``"a=1, b=2"``) add one ``--weight`` per entry, ``lines`` parameters one
    flag per non-empty line; parameters marked
    ``positional`` add their value alone.
    """
    args: list[str] = []
    for p in params:
        value = values.get(p["name"])
        kind = p.get("type")
        if kind == "bool":
            if value:
                args.append(p["flag"])
            continue
        if value is None or value == "" or value == []:
            continue
        if kind == "weights":
            for entry in re.split(r"[,;]", str(value)):
                if entry.strip():
                    args += [p["flag"], entry.strip().replace(" ", "")]
            continue
        if kind == "lines":
            for entry in str(value).splitlines():
                if entry.strip():
                    args += [p["flag"], entry.strip()]
            continue
        if _same(value, p.get("default")):
            continue
        text = format_value(value)
        if kind == "weight":
            args += [p["flag"], f"{p['factor']}={text}"]
        elif p.get("positional"):
            args.append(text)
        else:
            args += [p["flag"], text]
    return args


def progress_of(text: str) -> float | None:
    """The percentage of a progress-bar line of innosite (``desc:  42%|...``), or None."""
    m = _PERCENT.search(text)
    return float(m.group(1)) if m else None


def child_environment(
    config: Mapping[str, Any], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of the child: QGIS's own Python and GDAL settings removed.

    The configured ``pythonpath`` folders come first on ``PYTHONPATH``; the progress bar
    is drawn into the pipe (``INNOSITE_PROGRESS=always``) and text is UTF-8.
    """
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _FOREIGN}
    paths = [str(p) for p in config.get("pythonpath") or []]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(INNOSITE_PROGRESS="always", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def _reader(stream: Any, out: queue.Queue[str | None]) -> None:
    """Split the child's output on newlines and carriage returns into ``out``."""
    buffer = ""
    while True:
        chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096)
        if not chunk:
            break
        buffer += chunk.decode("utf-8", errors="replace")
        parts = re.split(r"[\r\n]", buffer)
        buffer = parts.pop()
        for part in parts:
            out.put(part)
    if buffer:
        out.put(buffer)
    out.put(None)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """Stop the child and everything it started (its process group on POSIX).

    On POSIX the group first gets SIGINT, which innosite handles like Ctrl+C: it
    deletes its staging folder, so nothing half-written is left. SIGTERM and then
    SIGKILL follow if it has not ended within ``grace`` seconds.
    """
    if proc.poll() is not None:
        return
    if os.name != "posix":  # pragma: no cover - Windows
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        _signal_group(proc, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()  # pragma: no cover - SIGKILL cannot be refused


def run_streaming(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    on_progress: Callable[[float], None] = lambda pct: None,
    is_cancelled: Callable[[], bool] = lambda: False,
    poll: float = 0.2,
) -> list[str]:
    """Run ``command``, streaming its output; the lines it printed.

    Standard output and standard error are read together. Progress-bar updates go to
    ``on_progress`` (a percentage), every other non-empty line to ``on_line``. When
    ``is_cancelled()`` turns true the child and its process group are stopped and
    :class:`Cancelled` is raised; a non-zero exit raises :class:`ChildFailed` with the
    child's last error line. Processes the child started and left behind holding the
    output pipe are stopped two seconds after the child ended.
    """
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
            subprocess, "CREATE_NO_WINDOW", 0
        )
    proc = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=None if env is None else dict(env),
        **kwargs,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    thread = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    thread.start()
    printed: list[str] = []
    done = False
    exited: float | None = None  # when the child was first seen ended
    try:
        while not done:
            if is_cancelled():
                _stop(proc)
                raise Cancelled("cancelled: the innosite run was stopped")
            deadline = time.monotonic() + poll
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
                except queue.Empty:
                    # a process the child started may keep the pipe open after the child
                    # ended: stop reading two seconds after the end
                    if proc.poll() is not None:
                        exited = exited or time.monotonic()
                        done = time.monotonic() - exited > 2.0
                    break
                if line is None:
                    done = True
                    break
                pct = progress_of(line)
                if pct is not None:
                    on_progress(pct)
                elif line.strip():
                    printed.append(line)
                    on_line(line)
        code = proc.wait()
    finally:
        _stop(proc)
        thread.join(timeout=1)
        if thread.is_alive() and os.name == "posix":  # leftovers of the run hold the pipe
            _signal_group(proc, signal.SIGTERM)
            thread.join(timeout=5)
        if not thread.is_alive() and proc.stdout is not None:
            proc.stdout.close()
    if code != 0:
        errors = [ln for ln in printed if "error" in ln.lower()]
        last = (errors or printed or [f"exit status {code}"])[-1]
        raise ChildFailed(last.strip())
    return printed


def python_command(config: Mapping[str, Any], python: str | None = None) -> list[str]:
    """``[python, "-m", "layers.cli"]`` for the configured (or given) interpreter."""
    exe = python or config.get("python") or ""
    if not exe:
        raise ChildFailed(
            "no innosite interpreter configured: run 'innosite qgis install' or set it in "
            "Processing > Options > Providers > innosite"
        )
    return [exe, "-m", "layers.cli"]
