"""Run ``innosite`` on bad input and check that it fails cleanly and loses nothing.

Every fault case asserts the same contract:

* the exit status (2 for bad input, 0 for a corrected run);
* one line on standard error naming what was wrong (warnings may add lines of their own);
* no Python traceback;
* nothing outside the output folder changed (:func:`snapshot` before and after);
* no hidden staging folder (``.NAME.partial-*``) left behind.

:func:`run_cli` runs the command in this process (fast); :func:`run_process` runs it as a
child process, for signals and for faults that need a real exit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    """What a run printed and returned."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """Lines of standard error that report an error (``prog: error: ...``)."""
        return [line for line in self.err.splitlines() if re.search(r"\berror\b", line)]


def run_cli(argv: list[str], cwd: Path | None = None) -> Outcome:
    """Run ``innosite ARGV`` in this process from ``cwd``; never raises."""
    from layers.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(old)
    return Outcome(int(code), out.getvalue(), err.getvalue())


def run_process(
    argv: list[str], cwd: Path, *, timeout: float = 300.0, env: dict[str, str] | None = None
) -> Outcome:
    """Run ``python -m layers.cli ARGV`` as a child process from ``cwd``."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "layers.cli", *map(str, argv)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def snapshot(root: Path, *, skip: Path | None = None) -> dict[str, tuple[int, str]]:
    """Size and SHA-1 of every file under ``root`` (except under ``skip``), by relative path."""
    found: dict[str, tuple[int, str]] = {}
    skip = skip.resolve() if skip is not None else None
    for path in sorted(root.rglob("*")):
        if skip is not None and (path.resolve() == skip or skip in path.resolve().parents):
            continue
        if path.is_file():
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (path.stat().st_size, digest)
        elif path.is_dir():
            found[str(path.relative_to(root)) + "/"] = (0, "")
    return found


def staging_left(root: Path) -> list[Path]:
    """Hidden staging folders or files (``.NAME.partial-*``) anywhere under ``root``."""
    return sorted(p for p in root.rglob(".*partial-*"))


def assert_clean_error(outcome: Outcome, pattern: str, *, code: int = 2) -> None:
    """Exit ``code``, no traceback, and exactly one error line matching ``pattern``."""
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code == code, (outcome.code, outcome.err)
    lines = outcome.error_lines
    assert len(lines) == 1, outcome.err
    assert re.search(pattern, lines[0], flags=re.IGNORECASE), lines[0]


def assert_nothing_lost(
    before: dict[str, tuple[int, str]], root: Path, *, skip: Path | None = None
) -> None:
    """Every file under ``root`` is as it was (outside ``skip``), and no staging is left."""
    assert snapshot(root, skip=skip) == before
    assert staging_left(root) == []
