"""Progress bars and step messages for long runs, silent when nobody watches.

A run reports its steps with :func:`step` (one stage: read data, build the
network, overlay ...) and :func:`track` (a loop over items, e.g. factors). A long
step moves the bar within its share as it goes: ``with step("measures", size=2) as
done:`` then ``done(0.5)`` half-way. A step inside another step only names itself:
the outer one owns its share of the bar. A :func:`pipeline` that ends without error
ends at 100 %. What a person sees depends on the verbosity set with :func:`verbosity`:

* :data:`QUIET` — nothing;
* :data:`NORMAL` (default) — one progress bar per run on a terminal, nothing when
  the output is not a terminal (a log file, a pipe, a test);
* :data:`VERBOSE` — the bar on a terminal and, always, one line per finished step
  with its duration.

With the environment variable ``INNOSITE_PROGRESS=always`` the bar is drawn even
when the output is not a terminal, so a program that runs innosite as a child
(the QGIS Processing provider) can read the percentage from the child's output.

Everything goes to :data:`stream` (standard error by default), so standard output
keeps only the results.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> with verbosity(VERBOSE, stream=out):
...     with step("read data"):
...         pass
>>> out.getvalue().startswith("read data: done in ")
True
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, TypeVar

from gis.errors import InputError

__all__ = [
    "NORMAL",
    "QUIET",
    "VERBOSE",
    "Laps",
    "current_level",
    "note",
    "pipeline",
    "step",
    "track",
    "verbosity",
]

T = TypeVar("T")

#: Verbosity levels.
QUIET: int = 0
NORMAL: int = 1
VERBOSE: int = 2

_level: ContextVar[int] = ContextVar("innosite_progress_level", default=NORMAL)
_stream: ContextVar[IO[str] | None] = ContextVar("innosite_progress_stream", default=None)
_bar: ContextVar[Any] = ContextVar("innosite_progress_bar", default=None)
_in_step: ContextVar[bool] = ContextVar("innosite_progress_in_step", default=False)


def current_level() -> int:
    """The verbosity in force (:data:`QUIET`, :data:`NORMAL` or :data:`VERBOSE`)."""
    return _level.get()


def _out() -> IO[str]:
    return _stream.get() or sys.stderr


@contextmanager
def verbosity(level: int, *, stream: IO[str] | None = None) -> Iterator[None]:
    """Set the verbosity (and optionally the output stream) inside a ``with`` block.

    Parameters
    ----------
    level
        :data:`QUIET`, :data:`NORMAL` or :data:`VERBOSE`.
    stream
        Where bars and messages go; standard error by default.
    """
    if level not in (QUIET, NORMAL, VERBOSE):
        raise InputError(f"verbosity must be 0 (quiet), 1 (normal) or 2 (verbose), got {level!r}")
    token = _level.set(level)
    stoken = _stream.set(stream) if stream is not None else None
    try:
        yield
    finally:
        if stoken is not None:
            _stream.reset(stoken)
        _level.reset(token)


def _new_bar(total: int | None, desc: str, unit: str) -> Any:
    """A tqdm bar, disabled when quiet or when the stream is not a terminal."""
    from tqdm import tqdm

    disable: bool | None = None  # None: only on a terminal
    if current_level() == QUIET:
        disable = True
    elif os.environ.get("INNOSITE_PROGRESS") == "always":
        disable = False
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=_out(),
        disable=disable,
        leave=False,
        dynamic_ncols=True,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} [{elapsed}]",
    )


def note(message: str) -> None:
    """Print ``message`` in verbose mode (above any progress bar), else nothing."""
    if current_level() < VERBOSE:
        return
    bar = _bar.get()
    if bar is not None and not bar.disable:
        bar.write(message, file=_out())
    else:
        print(message, file=_out(), flush=True)


@contextmanager
def pipeline(total: int, *, desc: str) -> Iterator[Any]:
    """One progress bar for a whole run of ``total`` steps.

    Inside the block, each :func:`step` and each item of :func:`track` advances
    this bar by its size and shows its name; the bar never passes ``total``. When
    the block ends without an error the bar shows 100 % before it closes.

    Examples
    --------
    >>> import io, os
    >>> out = io.StringIO()
    >>> os.environ["INNOSITE_PROGRESS"] = "always"
    >>> with verbosity(NORMAL, stream=out), pipeline(4, desc="run"):
    ...     with step("measures", size=3) as done:
    ...         done(0.5)
    >>> del os.environ["INNOSITE_PROGRESS"]
    >>> [line[:9] for line in out.getvalue().split(chr(13)) if "%" in line]
    ['run:   0%', 'run:  38%', 'run:  75%', 'run: 100%']
    """
    bar = _new_bar(total, desc, "step")
    token = _bar.set(bar)
    try:
        yield bar
        if bar.n < total:
            bar.n = total
            bar.refresh()
    finally:
        _bar.reset(token)
        bar.close()


def _advance(bar: Any, target: float) -> None:
    """Move ``bar`` forward to ``target`` (never back, never past its total), and draw it."""
    if bar.total is not None:
        target = min(target, bar.total)
    if target > bar.n:
        bar.n = target
        bar.refresh()


@contextmanager
def step(desc: str, *, size: float = 1) -> Iterator[Callable[[float], None]]:
    """Report one stage of a run: its name while it runs, its duration when verbose.

    Parameters
    ----------
    desc
        The stage's name.
    size
        How many steps of the running :func:`pipeline` the stage counts for.

    Yields
    ------
    callable
        ``done(share)``: the share (0 to 1) of the stage done so far, which moves the
        bar within the stage's part (nothing without a bar, or in a step of a step).
    """
    bar = _bar.get()
    outer = not _in_step.get()
    start = bar.n if bar is not None else 0.0

    def done(share: float) -> None:
        if bar is not None and outer:
            _advance(bar, start + size * min(max(share, 0.0), 1.0))

    if bar is not None:
        bar.set_postfix_str(desc, refresh=False)
    token = _in_step.set(True)
    begin = time.perf_counter()
    try:
        yield done
    finally:
        _in_step.reset(token)
    done(1.0)
    note(f"{desc}: done in {time.perf_counter() - begin:.2f} s")


def track(
    items: Iterable[T], *, desc: str, total: int | None = None, label: Any = None
) -> Iterator[T]:
    """Iterate over ``items`` as steps of the running pipeline, or with a bar of its own.

    Parameters
    ----------
    items
        The items.
    desc
        What the loop does, e.g. ``"factors"``.
    total
        Number of items, when ``items`` has no ``len``.
    label
        ``label(item) -> str`` naming an item in messages; ``str`` by default.
    """
    name = label or str
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if _bar.get() is not None:
        for item in items:
            with step(f"{desc}: {name(item)}"):
                yield item
        return
    bar = _new_bar(total, desc, "item")
    token = _bar.set(bar)
    try:
        for item in items:
            with step(f"{desc}: {name(item)}"):
                yield item
    finally:
        _bar.reset(token)
        bar.close()


class Laps:
    """Seconds per stage of a run, each stage timed from the end of the one before.

    Examples
    --------
    >>> lap = Laps()
    >>> lap("grid"); lap("overlay")
    >>> sorted(lap.seconds)
    ['grid', 'overlay']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        """Record the time since the previous stage ended under ``stage``."""
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._clock, 3)
        self._clock = now
