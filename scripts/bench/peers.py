"""Run established GIS tools on the benchmark's GeoTIFF inputs and time each whole process.

Peers compared with innosite's own raster steps:

* :func:`gdal_proximity` — ``gdal_proximity.py`` (GDAL): Euclidean distance to source
  cells, optionally capped;
* :func:`gdal_calc` — ``gdal_calc.py`` (GDAL): a map-algebra expression evaluated with
  numpy, e.g. the weighted linear combination of linear rescales built by
  :func:`gdal_wlc_expression`;
* :func:`grass_grow_distance`, :func:`grass_mapcalc`, :func:`grass_clump` — GRASS GIS
  ``r.grow.distance``, ``r.mapcalc`` (expression from :func:`grass_wlc_expression`) and
  ``r.clump -d``, each run in a throw-away GRASS project created from the input GeoTIFF.

Every runner takes input and output paths; outputs are GeoTIFFs on the input's grid
(float32, or int32 clump ids), tiled and DEFLATE-compressed (innosite's own writer uses ZSTD). A
runner returns ``None`` when its tool is not installed (:func:`available` and
:func:`unavailable_reason` say which and why), raises :class:`PeerError` when the tool
fails, and otherwise returns a :class:`PeerRun`.

Timing
------
Each command runs as a child process started with :class:`subprocess.Popen` (under GNU
``/usr/bin/time`` when installed, which reports the command's own peak memory) and reaped
with :func:`os.wait4`:

* wall seconds: :func:`time.perf_counter` around the child, start to exit;
* peak resident memory: GNU time's ``%M``, else ``ru_maxrss`` of the child (the
  largest of the child and every descendant it waited for, so ``grass --exec`` reports
  the GRASS module it started; without GNU time it also counts this process's memory
  at the fork). The peak of a run is the largest over its commands, which run one
  after another.

Where :func:`os.wait4` is missing (not POSIX) only the wall time is measured and the
peak memory is ``None``.

``PeerRun.seconds`` is the whole run: every command from the first start to the last
exit, i.e. for GRASS the project creation, the import (``r.external``, which links the
GeoTIFF without copying it), ``g.region``, the module, the export (``r.out.gdal``) and
any count. ``PeerRun.core_seconds`` is the command doing the computation alone; for GRASS
that is its own ``grass --exec`` call, which includes starting the GRASS session (the
``g.region`` call, ``extra["grass_session_seconds"]``, bounds that overhead from above).
Each command's seconds and peak memory are in ``extra["steps"]``.

Outputs are written into a temporary folder next to the output and moved into place
when the tool succeeded, so no tool ever overwrites a user's file.

Usage::

    python scripts/bench/peers.py available
    python scripts/bench/peers.py proximity sources.tif distance.tif --max-distance 5000
    python scripts/bench/peers.py grow sources.tif distance.tif
    python scripts/bench/peers.py clump score.tif clumps.tif --threshold 0.7
    python scripts/bench/peers.py calc out.tif --layer A=a.tif --layer B=b.tif --expression "A+B"
    python scripts/bench/peers.py mapcalc out.tif --layer a=a.tif --expression "a * 2"
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gis.errors import InputError, OutputExistsError

__all__ = [
    "TOOLS",
    "PeerError",
    "PeerRun",
    "Rescale",
    "available",
    "gdal_calc",
    "gdal_proximity",
    "gdal_wlc_expression",
    "grass_clump",
    "grass_grow_distance",
    "grass_mapcalc",
    "grass_wlc_expression",
    "run_timed",
    "unavailable_reason",
    "write_sources",
]

#: Tool keys of :func:`available`.
TOOLS = ("gdal_proximity", "gdal_calc", "grass")

_EXECUTABLES = {
    "gdal_proximity": "gdal_proximity.py",
    "gdal_calc": "gdal_calc.py",
    "grass": "grass",
}
_FLOAT_OPTIONS = ("COMPRESS=DEFLATE", "TILED=YES", "PREDICTOR=3")
_INT_OPTIONS = ("COMPRESS=DEFLATE", "TILED=YES")
# ru_maxrss is in KiB on Linux and in bytes on macOS.
_RSS_BYTES = 1 if sys.platform == "darwin" else 1024
_GRASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_GRASS_OUT = "peer_out"


class PeerError(RuntimeError):
    """A peer tool exited with an error; the message holds its command and last output."""


class Rescale(NamedTuple):
    """One layer of a weighted linear combination of linear rescales.

    The layer contributes ``weight * clip((x - lower) / (upper - lower), 0, 1)``;
    ``upper < lower`` rescales decreasingly.
    """

    weight: float
    lower: float
    upper: float


@dataclass(frozen=True)
class PeerRun:
    """One timed run of a peer tool.

    Attributes
    ----------
    tool
        Name of the tool and operation, e.g. ``"grass r.grow.distance"``.
    commands
        Every command line run, in order.
    seconds
        Wall seconds of the whole run, first command start to last command exit.
    core_seconds
        Wall seconds of the command doing the computation alone.
    peak_rss_mib
        Largest peak resident memory of any command (MiB), or ``None`` where the
        platform cannot measure it.
    output
        The output GeoTIFF.
    extra
        Details: ``"steps"`` (command, seconds and peak MiB of each command),
        ``"core_peak_rss_mib"``, and tool-specific values such as ``"n_clumps"``.
    """

    tool: str
    commands: tuple[tuple[str, ...], ...]
    seconds: float
    core_seconds: float
    peak_rss_mib: float | None
    output: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready values (command lines joined with spaces).

        Returns
        -------
        dict
            ``tool``, ``commands``, ``seconds``, ``core_seconds``, ``peak_rss_mib``,
            ``output`` and ``extra``.
        """
        return {
            "tool": self.tool,
            "commands": [_shell_line(c) for c in self.commands],
            "seconds": self.seconds,
            "core_seconds": self.core_seconds,
            "peak_rss_mib": self.peak_rss_mib,
            "output": str(self.output),
            "extra": self.extra,
        }


@dataclass(frozen=True)
class _Step:
    command: tuple[str, ...]
    seconds: float
    peak_rss_mib: float | None
    text: str


# --------------------------------------------------------------------------- availability


def unavailable_reason(tool: str) -> str | None:
    """Say why a peer tool cannot run, or return ``None`` when it can.

    Parameters
    ----------
    tool
        One of :data:`TOOLS`.

    Returns
    -------
    str or None
        The reason, e.g. ``"grass not found on PATH"``, or ``None``.

    Raises
    ------
    InputError
        If ``tool`` is not one of :data:`TOOLS`.

    Examples
    --------
    >>> unavailable_reason("gdal_calc") in (None, "gdal_calc.py not found on PATH")
    True
    """
    if tool not in _EXECUTABLES:
        raise InputError(f"unknown tool {tool!r}; choose one of {TOOLS}")
    executable = _EXECUTABLES[tool]
    if shutil.which(executable) is None:
        return f"{executable} not found on PATH"
    return None


def available() -> dict[str, bool]:
    """Tell which peer tools are installed.

    Returns
    -------
    dict
        ``{"gdal_proximity": bool, "gdal_calc": bool, "grass": bool}``.

    Examples
    --------
    >>> sorted(available())
    ['gdal_calc', 'gdal_proximity', 'grass']
    """
    return {tool: unavailable_reason(tool) is None for tool in TOOLS}


# --------------------------------------------------------------------------- inputs


def write_sources(
    path: str | os.PathLike,
    mask: np.ndarray,
    grid: Any,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a source raster that both GDAL and GRASS read as the same sources.

    Source cells get 1 and the others 0, which is also the file's nodata value:
    ``gdal_proximity.py`` takes the non-zero cells as sources (it ignores the input's
    nodata), and GRASS ``r.grow.distance`` the non-null ones.

    Parameters
    ----------
    path
        Output GeoTIFF.
    mask
        Boolean array with ``grid.shape``; true at source cells.
    grid
        :class:`gis.grid.Grid` of the raster.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        If ``mask`` is not boolean.
    """
    from gis.io import write_geotiff

    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise InputError(f"mask must be boolean (true at sources), got dtype {mask.dtype}")
    return write_geotiff(
        path,
        np.where(mask, 1.0, np.nan),
        grid,
        description="sources",
        nodata=0.0,
        overwrite=overwrite,
    )


def _number(value: float) -> str:
    """Positional decimal text of a finite float, always with a decimal point."""
    return np.format_float_positional(float(value), unique=True, trim="0")


def _rescales(layers: Mapping[str, Sequence[float]]) -> list[tuple[str, Rescale]]:
    if not isinstance(layers, Mapping) or not layers:
        raise InputError("give at least one layer as a mapping of name -> (weight, lower, upper)")
    out = []
    for name, spec in layers.items():
        try:
            r = Rescale(*(float(v) for v in spec))
        except (TypeError, ValueError):
            raise InputError(
                f"layer {name!r}: give (weight, lower, upper) as three numbers, got {spec!r}"
            ) from None
        if not all(map(math.isfinite, r)):
            raise InputError(f"layer {name!r}: weight and thresholds must be finite, got {r}")
        if r.upper == r.lower:
            raise InputError(f"layer {name!r}: lower and upper thresholds are equal ({r.lower})")
        out.append((name, r))
    return out


def gdal_wlc_expression(layers: Mapping[str, Sequence[float]]) -> str:
    """Build the ``gdal_calc.py`` expression of a weighted sum of linear rescales.

    Each layer ``L`` with ``(weight, lower, upper)`` contributes
    ``weight*clip((L-(lower))/(upper - lower),0,1)``; ``gdal_calc.py`` evaluates the
    expression with numpy's names in scope, so ``clip`` is :func:`numpy.clip`. NaN
    cells stay NaN.

    Parameters
    ----------
    layers
        ``gdal_calc.py`` input letter (``A``-``Z``, ``a``-``z``) → ``(weight, lower,
        upper)`` (a :class:`Rescale` or any three numbers).

    Returns
    -------
    str
        The expression.

    Raises
    ------
    InputError
        If a name is not a single letter, a number is not finite or a layer's
        thresholds are equal.

    Examples
    --------
    >>> gdal_wlc_expression({"A": (0.25, 0, 10), "B": (0.75, 5, -5)})
    '0.25*clip((A-(0.0))/(10.0),0,1)+0.75*clip((B-(5.0))/(-10.0),0,1)'
    """
    terms = []
    for name, r in _rescales(layers):
        if not (isinstance(name, str) and len(name) == 1 and name.isascii() and name.isalpha()):
            raise InputError(f"gdal_calc.py names inputs by one letter A-Z or a-z, got {name!r}")
        span = _number(r.upper - r.lower)
        terms.append(f"{_number(r.weight)}*clip(({name}-({_number(r.lower)}))/({span}),0,1)")
    return "+".join(terms)


def grass_wlc_expression(layers: Mapping[str, Sequence[float]]) -> str:
    """Build the ``r.mapcalc`` expression of a weighted sum of linear rescales.

    Each layer map ``m`` with ``(weight, lower, upper)`` contributes
    ``weight * min(1.0, max(0.0, (double(m) - (lower)) / (upper - lower)))`` in double
    precision; null cells stay null.

    Parameters
    ----------
    layers
        GRASS map name (letters, digits and ``_``, starting with a letter) →
        ``(weight, lower, upper)``.

    Returns
    -------
    str
        The right-hand side of the ``r.mapcalc`` expression.

    Raises
    ------
    InputError
        If a name is not a valid map name, a number is not finite or a layer's
        thresholds are equal.

    Examples
    --------
    >>> grass_wlc_expression({"jobs": (0.5, 0, 200)})
    '0.5 * min(1.0, max(0.0, (double(jobs) - (0.0)) / (200.0)))'
    """
    terms = []
    for name, r in _rescales(layers):
        _check_grass_name(name)
        span = _number(r.upper - r.lower)
        terms.append(
            f"{_number(r.weight)} * min(1.0, max(0.0, "
            f"(double({name}) - ({_number(r.lower)})) / ({span})))"
        )
    return " + ".join(terms)


def _check_grass_name(name: Any) -> None:
    if not (isinstance(name, str) and _GRASS_NAME.fullmatch(name)) or name == _GRASS_OUT:
        raise InputError(
            f"GRASS map names are letters, digits and '_' starting with a letter "
            f"(and not {_GRASS_OUT!r}), got {name!r}"
        )


# --------------------------------------------------------------------------- running


def _shell_line(command: Sequence[str]) -> str:
    import shlex

    return shlex.join(command)


#: GNU time, when installed: it forks each command from its own small process, so
#: the command's peak memory is its own (a child forked from this process would
#: count this process's memory at the fork, which Linux keeps across ``exec``).
_GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def _run(command: Sequence[str], *, cwd: Path) -> _Step:
    """Run one command, returning its wall time, peak memory and merged output."""
    command = tuple(str(c) for c in command)
    with (
        tempfile.TemporaryFile(dir=cwd) as log,
        tempfile.NamedTemporaryFile("r", dir=cwd, suffix=".rss") as rss_file,
    ):
        argv = command
        if _GNU_TIME is not None:
            argv = (_GNU_TIME, "-f", "%M", "-o", rss_file.name, *command)
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        rss: float | None = None
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                seconds = time.perf_counter() - start
                proc.returncode = os.waitstatus_to_exitcode(status)
                rss = usage.ru_maxrss * _RSS_BYTES / 2**20
            else:  # pragma: no cover - not POSIX
                proc.wait()
                seconds = time.perf_counter() - start
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
            raise
        if _GNU_TIME is not None:
            lines = [ln for ln in rss_file.read().split() if ln.isdigit()]
            rss = int(lines[-1]) / 1024 if lines else rss  # GNU time reports KiB
        log.seek(0)
        text = log.read().decode("utf-8", errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise PeerError(f"{_shell_line(command)} exited with status {proc.returncode}:\n{tail}")
    return _Step(command, seconds, rss, text)


def run_timed(
    command: Sequence[str], *, cwd: str | os.PathLike = "."
) -> tuple[float, float | None]:
    """Run any command as the peers are run: wall seconds and peak resident MiB.

    Raises
    ------
    PeerError
        If the command exits with a non-zero status (the message has its last lines).
    """
    step = _run(command, cwd=Path(cwd))
    return step.seconds, step.peak_rss_mib


class _Staging:
    """Temporary folder next to the output; the result is moved into place on success."""

    def __init__(self, out_tif: str | os.PathLike, overwrite: bool) -> None:
        self.target = Path(out_tif).resolve()
        if self.target.exists() and not overwrite:
            raise OutputExistsError(f"{self.target} exists; pass overwrite=True to replace it")
        if not self.target.parent.is_dir():
            raise InputError(f"output folder {self.target.parent} does not exist")
        self.steps: list[_Step] = []
        self.start = 0.0

    def __enter__(self) -> _Staging:
        self._tmp = tempfile.TemporaryDirectory(prefix=".peers-", dir=self.target.parent)
        self.folder = Path(self._tmp.name)
        self.staged = self.folder / self.target.name
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    def run(self, command: Sequence[str]) -> _Step:
        step = _run(command, cwd=self.folder)
        self.steps.append(step)
        return step

    def finish(self, tool: str, core: _Step, extra: dict[str, Any] | None = None) -> PeerRun:
        seconds = time.perf_counter() - self.start
        if not self.staged.is_file():
            raise PeerError(f"{tool} reported success but wrote no {self.staged.name}")
        os.replace(self.staged, self.target)
        rss = [s.peak_rss_mib for s in self.steps if s.peak_rss_mib is not None]
        details = {
            "steps": [
                {
                    "command": _shell_line(s.command),
                    "seconds": s.seconds,
                    "peak_rss_mib": s.peak_rss_mib,
                }
                for s in self.steps
            ],
            "core_peak_rss_mib": core.peak_rss_mib,
            **(extra or {}),
        }
        return PeerRun(
            tool=tool,
            commands=tuple(s.command for s in self.steps),
            seconds=seconds,
            core_seconds=core.seconds,
            peak_rss_mib=max(rss) if rss else None,
            output=self.target,
            extra=details,
        )


def _existing(path: str | os.PathLike) -> Path:
    p = Path(path).resolve()
    if not p.is_file():
        raise InputError(f"input raster {p} does not exist")
    return p


# --------------------------------------------------------------------------- GDAL


def gdal_proximity(
    src_tif: str | os.PathLike,
    out_tif: str | os.PathLike,
    *,
    max_distance_m: float | None = None,
    values: Sequence[float] | None = None,
    overwrite: bool = False,
) -> PeerRun | None:
    """Distance to source cells with ``gdal_proximity.py``.

    Runs ``gdal_proximity.py SRC OUT -distunits GEO -ot Float32 -co COMPRESS=DEFLATE
    -co TILED=YES -co PREDICTOR=3 -q`` plus ``-values v1,v2`` when ``values`` are given
    and ``-maxdist D -nodata D`` when ``max_distance_m`` is: cells farther than ``D``
    get the value ``D`` (GDAL writes its "nodata" value there but does not tag the
    output band with it, so the output is ``min(distance, D)`` with no nodata).

    Parameters
    ----------
    src_tif
        Source raster; its non-zero cells (or the cells equal to one of ``values``)
        are the sources. Its nodata value is ignored, so mark non-sources with 0
        (e.g. with :func:`write_sources`).
    out_tif
        Output float32 GeoTIFF of distances in the CRS's units (metres).
    max_distance_m
        Cap on the distance.
    values
        Source cell values, instead of "non-zero".
    overwrite
        Replace an existing output.

    Returns
    -------
    PeerRun or None
        The run (``core_seconds == seconds``: one process), or ``None`` if
        ``gdal_proximity.py`` is not installed.

    Raises
    ------
    InputError
        If the input is missing or ``max_distance_m`` is not positive.
    OutputExistsError
        If the output exists and ``overwrite`` is false.
    PeerError
        If the tool fails.
    """
    if unavailable_reason("gdal_proximity"):
        return None
    src = _existing(src_tif)
    if max_distance_m is not None and not (math.isfinite(max_distance_m) and max_distance_m > 0):
        raise InputError(f"max_distance_m must be a positive number, got {max_distance_m!r}")
    with _Staging(out_tif, overwrite) as stage:
        command = [
            _EXECUTABLES["gdal_proximity"],
            str(src),
            str(stage.staged),
            "-distunits",
            "GEO",
            "-ot",
            "Float32",
            "-q",
        ]
        for option in _FLOAT_OPTIONS:
            command += ["-co", option]
        if values is not None:
            command += ["-values", ",".join(_number(v) for v in values)]
        if max_distance_m is not None:
            cap = _number(max_distance_m)
            command += ["-maxdist", cap, "-nodata", cap]
        core = stage.run(command)
        return stage.finish("gdal_proximity.py", core, {"max_distance_m": max_distance_m})


def gdal_calc(
    inputs: Mapping[str, str | os.PathLike],
    expression: str,
    out_tif: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> PeerRun | None:
    """Evaluate a numpy expression over rasters with ``gdal_calc.py``.

    Runs ``gdal_calc.py -A a.tif -B b.tif ... --outfile=OUT --calc=EXPR --type=Float32
    --hideNoData --NoDataValue=nan --co=COMPRESS=DEFLATE --co=TILED=YES
    --co=PREDICTOR=3 --quiet``.

    Nodata: inputs are expected to mark missing cells with NaN, as innosite's writer
    does. ``--hideNoData`` stops ``gdal_calc.py`` from masking by the inputs' nodata
    values (with a NaN nodata its masking would turn every cell into the output
    nodata), so NaN propagates through the arithmetic; ``--NoDataValue=nan`` tags the
    output's NaN cells as nodata. A finite input nodata value would be used as data.
    The output is written to a fresh temporary file, so ``--overwrite`` is never
    needed.

    Parameters
    ----------
    inputs
        Letter (``A``-``Z``, ``a``-``z``) → input GeoTIFF; all on one grid.
    expression
        numpy expression over the letters, e.g. from :func:`gdal_wlc_expression`.
    out_tif
        Output float32 GeoTIFF.
    overwrite
        Replace an existing output.

    Returns
    -------
    PeerRun or None
        The run (``core_seconds == seconds``), or ``None`` if ``gdal_calc.py`` is not
        installed.

    Raises
    ------
    InputError
        If an input is missing, a name is not one letter or the expression is empty.
    OutputExistsError
        If the output exists and ``overwrite`` is false.
    PeerError
        If the tool fails.
    """
    if unavailable_reason("gdal_calc"):
        return None
    if not isinstance(inputs, Mapping) or not inputs:
        raise InputError("give at least one input as a mapping of letter -> GeoTIFF")
    if not isinstance(expression, str) or not expression.strip():
        raise InputError("give a non-empty expression")
    files = {}
    for letter, path in inputs.items():
        if not (
            isinstance(letter, str) and len(letter) == 1 and letter.isascii() and letter.isalpha()
        ):
            raise InputError(f"gdal_calc.py names inputs by one letter A-Z or a-z, got {letter!r}")
        files[letter] = _existing(path)
    with _Staging(out_tif, overwrite) as stage:
        command = [_EXECUTABLES["gdal_calc"]]
        for letter, path in files.items():
            command += [f"-{letter}", str(path)]
        command += [
            f"--outfile={stage.staged}",
            f"--calc={expression}",
            "--type=Float32",
            "--hideNoData",
            "--NoDataValue=nan",
            "--quiet",
        ]
        command += [f"--co={option}" for option in _FLOAT_OPTIONS]
        core = stage.run(command)
        return stage.finish("gdal_calc.py", core, {"expression": expression})


# --------------------------------------------------------------------------- GRASS


class _Grass:
    """A throw-away GRASS project in the staging folder, created from a GeoTIFF."""

    def __init__(self, stage: _Staging, crs_source: Path) -> None:
        self.stage = stage
        project = stage.folder / "grass_project"
        stage.run([_EXECUTABLES["grass"], "-c", str(crs_source), str(project), "-e"])
        self.mapset = project / "PERMANENT"

    def exec(self, *args: str) -> _Step:
        return self.stage.run([_EXECUTABLES["grass"], str(self.mapset), "--exec", *args, "--quiet"])

    def link(self, path: Path, name: str) -> None:
        self.exec("r.external", f"input={path}", f"output={name}")

    def region(self, name: str) -> _Step:
        return self.exec("g.region", f"raster={name}")

    def export(self, name: str, *, integer: bool = False) -> None:
        if integer:
            kind, options, nodata = "Int32", _INT_OPTIONS, "0"
        else:
            kind, options, nodata = "Float32", _FLOAT_OPTIONS, "nan"
        self.exec(
            "r.out.gdal",
            "-f",
            "-c",
            f"input={name}",
            f"output={self.stage.staged}",
            "format=GTiff",
            f"type={kind}",
            f"createopt={','.join(options)}",
            f"nodata={nodata}",
        )


def grass_grow_distance(
    src_tif: str | os.PathLike,
    out_tif: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> PeerRun | None:
    """Distance to source cells with GRASS ``r.grow.distance``.

    Commands, each timed: ``grass -c SRC PROJECT -e``; ``grass PROJECT/PERMANENT --exec``
    with ``r.external input=SRC output=peer_src``, ``g.region raster=peer_src``,
    ``r.grow.distance input=peer_src distance=peer_out metric=euclidean`` (the core
    step) and ``r.out.gdal -f -c input=peer_out output=OUT format=GTiff type=Float32
    createopt=COMPRESS=DEFLATE,TILED=YES,PREDICTOR=3 nodata=nan``, each with
    ``--quiet``. ``-f`` accepts the float32 export of GRASS's double distances.

    Parameters
    ----------
    src_tif
        Source raster: the sources are its non-null cells, so non-sources must be
        nodata (write it with :func:`write_sources`, which also suits
        :func:`gdal_proximity`).
    out_tif
        Output float32 GeoTIFF of distances between cell centres in the CRS's units.
    overwrite
        Replace an existing output.

    Returns
    -------
    PeerRun or None
        The run, or ``None`` if GRASS is not installed.

    Raises
    ------
    InputError
        If the input is missing.
    OutputExistsError
        If the output exists and ``overwrite`` is false.
    PeerError
        If a GRASS command fails.
    """
    if unavailable_reason("grass"):
        return None
    src = _existing(src_tif)
    with _Staging(out_tif, overwrite) as stage:
        grass = _Grass(stage, src)
        grass.link(src, "peer_src")
        session = grass.region("peer_src")
        core = grass.exec(
            "r.grow.distance", "input=peer_src", f"distance={_GRASS_OUT}", "metric=euclidean"
        )
        grass.export(_GRASS_OUT)
        return stage.finish("grass r.grow.distance", core, _grass_extra(session))


def grass_mapcalc(
    inputs: Mapping[str, str | os.PathLike],
    expression: str,
    out_tif: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> PeerRun | None:
    """Evaluate a map-algebra expression with GRASS ``r.mapcalc``.

    Commands, each timed: ``grass -c FIRST PROJECT -e``; per input ``r.external
    input=PATH output=NAME``; ``g.region raster=FIRST_NAME``; ``r.mapcalc
    "expression=peer_out = EXPR"`` (the core step); ``r.out.gdal -f -c input=peer_out
    output=OUT format=GTiff type=Float32 createopt=COMPRESS=DEFLATE,TILED=YES,PREDICTOR=3
    nodata=nan`` — all through ``grass PROJECT/PERMANENT --exec ... --quiet``. Input
    nodata (NaN included) reads as null, and null cells are NaN in the output.

    Parameters
    ----------
    inputs
        GRASS map name → input GeoTIFF; all on one grid (the first sets the region).
    expression
        Right-hand side in ``r.mapcalc`` syntax over the names, e.g. from
        :func:`grass_wlc_expression`.
    out_tif
        Output float32 GeoTIFF.
    overwrite
        Replace an existing output.

    Returns
    -------
    PeerRun or None
        The run, or ``None`` if GRASS is not installed.

    Raises
    ------
    InputError
        If an input is missing, a name is not a valid map name or the expression is
        empty.
    OutputExistsError
        If the output exists and ``overwrite`` is false.
    PeerError
        If a GRASS command fails.
    """
    if unavailable_reason("grass"):
        return None
    if not isinstance(inputs, Mapping) or not inputs:
        raise InputError("give at least one input as a mapping of map name -> GeoTIFF")
    if not isinstance(expression, str) or not expression.strip():
        raise InputError("give a non-empty expression")
    files = {}
    for name, path in inputs.items():
        _check_grass_name(name)
        files[name] = _existing(path)
    first = next(iter(files))
    with _Staging(out_tif, overwrite) as stage:
        grass = _Grass(stage, files[first])
        for name, path in files.items():
            grass.link(path, name)
        session = grass.region(first)
        core = grass.exec("r.mapcalc", f"expression={_GRASS_OUT} = {expression}")
        grass.export(_GRASS_OUT)
        extra = {"expression": expression, **_grass_extra(session)}
        return stage.finish("grass r.mapcalc", core, extra)


def grass_clump(
    src_tif: str | os.PathLike,
    out_tif: str | os.PathLike,
    *,
    threshold: float,
    overwrite: bool = False,
) -> PeerRun | None:
    """Label 8-connected patches of cells at or above a threshold with GRASS ``r.clump``.

    Commands, each timed: ``grass -c SRC PROJECT -e``; ``r.external input=SRC
    output=peer_src``; ``g.region raster=peer_src``; ``r.mapcalc "expression=peer_zone =
    if(peer_src >= T, 1, null())"``; ``r.clump -d input=peer_zone output=peer_out`` (the
    core step; ``-d`` joins diagonal neighbours); ``r.out.gdal -f -c input=peer_out
    output=OUT format=GTiff type=Int32 createopt=COMPRESS=DEFLATE,TILED=YES nodata=0``;
    ``r.info -r peer_out`` for the number of patches (the largest id: ``r.clump``
    numbers patches 1, 2, ...) — all through ``grass PROJECT/PERMANENT --exec ...
    --quiet``.

    Parameters
    ----------
    src_tif
        Input raster; nodata cells are never in a patch.
    out_tif
        Output int32 GeoTIFF of patch ids, 0 (nodata) outside patches.
    threshold
        Cells with values ``>= threshold`` form the patches.
    overwrite
        Replace an existing output.

    Returns
    -------
    PeerRun or None
        The run, with ``extra["n_clumps"]``; ``None`` if GRASS is not installed.

    Raises
    ------
    InputError
        If the input is missing or the threshold is not finite.
    OutputExistsError
        If the output exists and ``overwrite`` is false.
    PeerError
        If a GRASS command fails.
    """
    if unavailable_reason("grass"):
        return None
    src = _existing(src_tif)
    if not math.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold!r}")
    with _Staging(out_tif, overwrite) as stage:
        grass = _Grass(stage, src)
        grass.link(src, "peer_src")
        session = grass.region("peer_src")
        grass.exec(
            "r.mapcalc",
            f"expression=peer_zone = if(peer_src >= {_number(threshold)}, 1, null())",
        )
        core = grass.exec("r.clump", "-d", "input=peer_zone", f"output={_GRASS_OUT}")
        grass.export(_GRASS_OUT, integer=True)
        info = grass.exec("r.info", "-r", _GRASS_OUT)
        extra = {
            "threshold": threshold,
            "n_clumps": _clump_count(info.text),
            **_grass_extra(session),
        }
        return stage.finish("grass r.clump", core, extra)


def _clump_count(text: str) -> int:
    """Number of clumps from ``r.info -r`` output (``max=N``; ``NULL`` when none)."""
    match = re.search(r"^max=(\S+)\s*$", text, flags=re.MULTILINE)
    if match is None:
        raise PeerError(f"no max= line in the r.info output:\n{text}")
    value = match.group(1)
    return 0 if value.upper() == "NULL" else int(float(value))


def _grass_extra(session: _Step) -> dict[str, Any]:
    return {
        "import": "r.external (linked, not copied; included in seconds)",
        "grass_session_seconds": session.seconds,
    }


# --------------------------------------------------------------------------- command line


def _layers(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--layer takes NAME=PATH, got {item!r}")
        out[name] = path
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one peer tool from the command line and print its run as JSON.

    Parameters
    ----------
    argv
        Arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        0 on success, 2 when the tool is not installed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("available", help="list the installed peer tools")
    for name in ("proximity", "grow"):
        p = sub.add_parser(name, help=f"distance to sources ({name})")
        p.add_argument("src")
        p.add_argument("out")
        if name == "proximity":
            p.add_argument("--max-distance", type=float)
    p = sub.add_parser("clump", help="8-connected patches at or above a threshold")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--threshold", type=float, required=True)
    for name in ("calc", "mapcalc"):
        p = sub.add_parser(name, help=f"map algebra ({name})")
        p.add_argument("out")
        p.add_argument("--layer", action="append", default=[], metavar="NAME=PATH")
        p.add_argument("--expression", required=True)
    for p in sub.choices.values():
        if p.prog.split()[-1] != "available":
            p.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "available":
        for tool in TOOLS:
            print(f"{tool}: {unavailable_reason(tool) or 'available'}")
        return 0
    if args.command == "proximity":
        run = gdal_proximity(
            args.src, args.out, max_distance_m=args.max_distance, overwrite=args.overwrite
        )
    elif args.command == "grow":
        run = grass_grow_distance(args.src, args.out, overwrite=args.overwrite)
    elif args.command == "clump":
        run = grass_clump(args.src, args.out, threshold=args.threshold, overwrite=args.overwrite)
    else:
        runner = gdal_calc if args.command == "calc" else grass_mapcalc
        run = runner(_layers(args.layer), args.expression, args.out, overwrite=args.overwrite)
    if run is None:
        print("tool not installed; see: python scripts/bench/peers.py available", file=sys.stderr)
        return 2
    print(json.dumps(run.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
