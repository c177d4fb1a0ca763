"""Options shared by the ``innosite`` commands, derived from the option schema.

Every flag of a run option comes from its declaration (:mod:`layers.options`):
:func:`add_options` turns declarations into arguments, :func:`config_from_args`
turns parsed arguments back into a configuration. Arguments are added with
``argparse.SUPPRESS`` as default, so an option not given on the command line
keeps the configuration's default: the default is written once, on the field.

Shared groups: area, grid, weights, sites (:func:`add_options` with the field
names of each group), decision analysis (:func:`add_decision_options`), engine
(:func:`add_engine_options`) and outputs (:func:`add_output_options`:
``--out``, ``--overwrite``, ``--cdn-map``, ``--no-tiles``, ``-q``/``-v``; the former
``--offline-map`` is accepted and changes nothing).
:data:`EXPECTED_ERRORS` and :func:`report_error` are the one set of expected
errors and their printer; :func:`run_command` also turns failures of the operating system,
GDAL, PROJ and SQLite into one line (:func:`gis.io.failures.describe_failure`), and
SIGTERM and SIGHUP into a clean stop like Ctrl-C (:func:`stop_on_signals`).
:func:`prepare_output` is the one check of a command's output folder against its inputs.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from gis.errors import (
    ClusterError,
    DataSourceError,
    GridSizeError,
    InputError,
    Interrupted,
    NoDataError,
    OutputExistsError,
    OutputWriteError,
)
from layers.options import (
    AGGREGATION_OPTIONS,
    COMPAT_MAP_FLAGS,
    ENGINE_OPTIONS,
    Option,
    check_value,
    memory_size,
    merge_defaults,
    options_of,
)

__all__ = [
    "EXPECTED_ERRORS",
    "add_decision_options",
    "add_engine_options",
    "add_layer_option",
    "add_options",
    "add_output_options",
    "add_verbosity_options",
    "add_weight_option",
    "bbox",
    "command_line",
    "config_from_args",
    "count_or_names",
    "crs",
    "given",
    "in_flag_words",
    "layer",
    "lonlat",
    "memory",
    "names",
    "numbers",
    "pair",
    "prepare_output",
    "report_error",
    "run_command",
    "stop_on_signals",
    "user_factor",
    "verbosity_level",
    "weight",
]

#: Errors a command reports as one line (exit status 2) instead of a traceback.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    InputError,
    DataSourceError,
    NoDataError,
    GridSizeError,
    OutputExistsError,
    OutputWriteError,
    ClusterError,
)

#: Signals that stop a run cleanly (staging removed, one line, exit 128 + the number).
STOP_SIGNALS: tuple[str, ...] = ("SIGINT", "SIGTERM", "SIGHUP")


# ---------------------------------------------------------------------------- value parsers
def bbox(text: str) -> tuple[float, float, float, float]:
    """``WEST,SOUTH,EAST,NORTH`` in degrees."""
    parts = text.replace(",", " ").split()
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            "bbox is WEST,SOUTH,EAST,NORTH in degrees, e.g. 24.93,60.16,24.95,60.18"
        )
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bbox values must be numbers: {text!r}") from exc
    return (w, s, e, n)


def lonlat(text: str) -> tuple[float, float]:
    """``LON,LAT`` in degrees."""
    parts = text.replace(",", " ").split()
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"give LON,LAT in degrees, got {text!r}") from exc
    return (lon, lat)


def weight(text: str) -> tuple[str, float]:
    """``NAME=VALUE``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"weights are NAME=VALUE, e.g. university=0.3; got {text!r}"
        )
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"weight of {name!r} must be a number, got {value!r}"
        ) from exc


def crs(text: str) -> str:
    """A projected CRS with metre units that PROJ knows (``EPSG:32650``, a WKT, a PROJ string)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(text)
    except CRSError:
        raise argparse.ArgumentTypeError(
            f"not a known CRS: {text!r}; give a projected CRS such as EPSG:32650 (UTM 50N)"
        ) from None
    if not parsed.is_projected:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not projected; the grid needs metres, e.g. EPSG:32650 (UTM 50N)"
        )
    units = {a.unit_name for a in parsed.axis_info}
    if not units <= {"metre", "meter"}:
        raise argparse.ArgumentTypeError(
            f"{text!r} measures in {', '.join(sorted(units))}; the grid needs metres, "
            "e.g. EPSG:32650 (UTM 50N)"
        )
    return text


def names(text: str) -> list[str]:
    """Comma-separated names."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give one or more comma-separated names")
    return items


def numbers(text: str) -> list[float]:
    """Numbers separated by commas or spaces."""
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(
            f"give numbers separated by commas, e.g. 0.4,0.3,0.2,0.1; got {text!r}"
        )
    return values


def pair(text: str) -> tuple[str, str]:
    """Two comma-separated names, e.g. ``LON,LAT`` column names."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            f"give the longitude and latitude column names as LON,LAT, got {text!r}"
        )
    return parts[0], parts[1]


_LAYER = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<path>.+?)(?::(?P<opts>\w+=.*))?$")


def layer(text: str) -> tuple[str, str, dict[str, str]]:
    """``NAME=FILE[:key=value,...]`` (a value may hold commas: ``filter=kind in ('a','b')``).

    Examples
    --------
    >>> name, path, opts = layer("labs=labs.csv:datum=gcj02,filter=kind in ('a','b'),weight=w")
    >>> name, path.endswith("labs.csv"), opts
    ('labs', True, {'datum': 'gcj02', 'filter': "kind in ('a','b')", 'weight': 'w'})
    """
    m = _LAYER.match(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(
            f"expected NAME=FILE[:key=value,...] (NAME letters, digits and _), got {text!r}"
        )
    opts: dict[str, str] = {}
    for part in re.split(r",(?=\s*\w+\s*=(?!=))", m.group("opts") or ""):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        opts[key.strip()] = value.strip()
    return m.group("name"), str(Path(m.group("path")).expanduser().resolve()), opts


def add_layer_option(group: Any) -> None:
    """``--layer NAME=FILE[:key=value,...]``: a factor measuring a user file (repeatable)."""
    group.add_argument(
        "--layer", action="append", type=layer, metavar="NAME=FILE[:key=value,...]",
        help="add a factor NAME measuring a user file: a vector file, a CSV of points or a "
        "raster. Options: kind, layer, filter (e.g. \"type == 'incubator'\"), lon, lat, "
        "datum (wgs84|gcj02|bd09), weight and category (attributes), resampling "
        "(average|sum|mode|...), measure (default density; raster_value for rasters), "
        "transform, lower, upper, factor_weight (default 0.1) and the measure's parameters",
    )  # fmt: skip


def count_or_names(text: str) -> int | list[str]:
    """A whole number, or comma-separated names."""
    text = text.strip()
    return int(text) if text.isdigit() else names(text)


def memory(text: str) -> int:
    """Bytes from a memory size such as ``512MiB`` (:func:`layers.options.memory_size`)."""
    try:
        return memory_size(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "number": float,
    "integer": int,
    "bbox": bbox,
    "lonlat": lonlat,
    "pair": pair,
    "numbers": numbers,
    "memory": memory,
    "names": names,
    "count_or_names": count_or_names,
    "crs": crs,
}


# ---------------------------------------------------------------------------- schema -> argparse
def _add(group: Any, spec: Option, dest: str) -> None:
    kw: dict[str, Any] = {"dest": dest, "default": argparse.SUPPRESS, "help": spec.help}
    if spec.const:
        kw.update(action="store_const", const=spec.const[0])
    elif spec.kind == "bool":
        kw.update(action="store_const", const=True)
    else:
        choices = spec.choices()
        if choices is not None:
            kw["choices"] = choices
            kw["type"] = type(choices[0]) if choices else str
        elif spec.kind in _PARSERS:
            kw["type"] = _PARSERS[spec.kind]
        if spec.kind == "names":  # a repeated flag adds to the list: --condition a --condition b
            kw["action"] = "extend"
        if spec.metavar is not None:
            kw["metavar"] = spec.metavar
        if spec.default is not None:
            kw["help"] = f"{spec.help} (default: {spec.default})"
    group.add_argument(*spec.flags, **kw)
    if spec.none_flag:
        flag, text = spec.none_flag
        group.add_argument(
            flag, dest=dest, action="store_const", const=None, default=argparse.SUPPRESS, help=text
        )


def add_options(
    parser: Any,
    specs: Mapping[str, Option],
    fields: Iterable[str],
    *,
    title: str | None = None,
    prefix: str = "",
) -> Any:
    """Add the flags of the options ``fields`` of ``specs`` (in a new group ``title``)."""
    group = parser.add_argument_group(title) if title is not None else parser
    for name in fields:
        spec = specs[name]
        if spec.flags:
            _add(group, spec, prefix + name)
    return group


def given(args: argparse.Namespace, fields: Iterable[str], *, prefix: str = "") -> dict[str, Any]:
    """The options among ``fields`` that the command line set, by field name."""
    return {n: getattr(args, prefix + n) for n in fields if hasattr(args, prefix + n)}


def add_weight_option(group: Any, *, what: str = "factor") -> None:
    """``--weight NAME=VALUE`` (repeatable)."""
    group.add_argument(
        "--weight",
        type=weight,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"set a {what} weight (repeatable); weights are normalised to sum 1",
    )


def add_decision_options(parser: argparse.ArgumentParser, config: type) -> None:
    """Aggregation, AHP, Locate Regions and sensitivity options of a raster command."""
    from layers.decision import DecisionOptions

    specs = options_of(config)
    decision = options_of(DecisionOptions)
    agg = add_options(parser, specs, ["aggregation"], title="aggregation and weights")
    add_options(agg, AGGREGATION_OPTIONS, AGGREGATION_OPTIONS, prefix="aggregation.")
    add_options(agg, decision, ["ahp_file", "allow_inconsistent"], prefix="decision.")
    located = [n for n in decision if decision[n].section == "decision"]
    sensitivity = ["sensitivity", "concentration", "spread", "seed"]
    add_options(
        parser,
        decision,
        [n for n in located if n not in sensitivity],
        title="Locate Regions (sites of a given number, size and shape instead of the top percent)",
        prefix="decision.",
    )
    add_options(parser, decision, sensitivity, title="sensitivity", prefix="decision.")


def add_engine_options(parser: argparse.ArgumentParser, config: type) -> None:
    """``--engine``, ``--memory-budget``, ``--dask-scheduler``, ``--workers``, ``--timeout``."""
    default = config().engine
    specs = merge_defaults(ENGINE_OPTIONS, default)
    add_options(parser, specs, specs, title="engine", prefix="engine.")


def add_verbosity_options(parser: Any) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` (mutually exclusive)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress; print only the output folder"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="print every step with its duration"
    )


def add_output_options(
    parser: argparse.ArgumentParser,
    *,
    out: str,
    specs: Mapping[str, Option] | None = None,
    fields: Sequence[str] = ("tiles", "map_assets", "lang"),
) -> Any:
    """``--out``, ``--overwrite``, the map options ``fields`` of ``specs`` and ``-q``/``-v``.

    With the map options come the former map flags of :data:`layers.options.COMPAT_MAP_FLAGS`,
    accepted and ignored.
    """
    group = parser.add_argument_group("output")
    group.add_argument(
        "--out", default=out, help="output folder (must be new or empty; default: %(default)s)"
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the output folder of an earlier innosite run (never a folder holding "
        "inputs, the current folder or other files)",
    )
    if specs is not None:
        add_options(group, specs, [f for f in fields if f != "map_assets"])
        if "map_assets" in fields:  # --cdn-map and the former --offline-map contradict
            assets = group.add_mutually_exclusive_group()
            add_options(assets, specs, ["map_assets"])
            for flag, text in COMPAT_MAP_FLAGS.items():
                dest = "compat_" + flag.lstrip("-").replace("-", "_")
                assets.add_argument(flag, dest=dest, action="store_true", help=text)
    add_verbosity_options(group)
    return group


# ---------------------------------------------------------------------------- args -> config
def config_from_args(config: type, args: argparse.Namespace, **fixed: Any) -> Any:
    """A configuration of class ``config`` from parsed arguments.

    Options the command line did not set keep the field defaults. With a
    ``--threshold`` and no ``--top-percent``, the top percent is off. The
    decision options, the aggregation options, the engine, the AHP weights
    (refused together with ``--weight``) and the aggregation are checked here,
    before any data is read.

    Parameters
    ----------
    config
        A configuration class (e.g. :class:`layers.micro.run.MicroConfig`).
    args
        Parsed arguments of a command built with this module's groups.
    fixed
        Further fields, set by the command itself.
    """
    from gis.engine import Engine
    from layers.decision import DecisionOptions, ahp_weights_from_file, check_aggregation
    from layers.scenario.check import SENSITIVITY_KEYS

    specs = options_of(config)
    kw = given(args, specs)
    if "threshold" in kw and "top_percent" not in kw and "top_percent" in specs:
        kw["top_percent"] = None
    if getattr(args, "weight", None):
        kw["weights"] = dict(args.weight)
    if getattr(args, "layer", None):
        from dataclasses import fields

        extra = tuple(user_factor(n, p, o) for n, p, o in args.layer)
        target = "preset" if any(f.name == "preset" for f in fields(config)) else "extra_factors"
        kw[target] = (*getattr(config(), target), *extra)
    kw.update(fixed)
    base = config(**kw)
    if hasattr(base, "preset"):
        preset = tuple(base.preset)
    elif hasattr(base, "meso_config"):  # national: the meso pipeline's factors
        preset = tuple(base.meso_config().preset)
    else:
        preset = ()
    names = [f.name for f in preset] if hasattr(base, "preset") else []
    changes: dict[str, Any] = {}
    decision_specs = options_of(DecisionOptions)
    decision_kw = given(args, decision_specs, prefix="decision.")
    if decision_kw:
        decision = DecisionOptions(**decision_kw)
        decision.validate()
        # the settings of the scenario table [decision] that need regions = N, as flags
        free = ("regions", "ahp_file", "allow_inconsistent", *SENSITIVITY_KEYS)
        located = [n for n in decision_kw if n not in free]
        if located and not decision.regions:
            flag = decision_specs[located[0]].flags[0]
            raise InputError(
                f"{flag} is a Locate Regions setting and has no effect without --regions N "
                "(the number of sites)"
            )
        changes["decision"] = decision
        if decision.ahp_file is not None:
            if base.weights:
                raise InputError("give factor weights either with --weight or with --ahp, not both")
            try:
                weights, _ = ahp_weights_from_file(
                    decision.ahp_file, names, allow_inconsistent=decision.allow_inconsistent
                )
            except InputError as exc:
                raise InputError(in_flag_words(str(exc))) from None
            changes["weights"] = weights
    agg = given(args, AGGREGATION_OPTIONS, prefix="aggregation.")
    if agg or "aggregation" in kw:
        # order weights: one per factor that takes part (weight > 0), as the run counts
        final = dict(changes.get("weights") or getattr(base, "weights", None) or {})
        positive = sum(final.get(f.name, f.weight) > 0 for f in preset)
        check_aggregation(base.aggregation, agg, positive)
        changes["aggregation_options"] = agg
    engine_kw = given(args, ENGINE_OPTIONS, prefix="engine.")
    for name, value in engine_kw.items():
        problem = check_value(ENGINE_OPTIONS[name], value)
        if problem is not None:
            raise InputError(f"{ENGINE_OPTIONS[name].label} {problem}")
    if engine_kw:
        if engine_kw.get("scheduler") is not None and "kind" not in engine_kw:
            engine_kw["kind"] = "dask"
        changes["engine"] = replace(base.engine, **engine_kw)
        if not isinstance(changes["engine"], Engine):  # pragma: no cover - defensive
            raise InputError("engine must be a gis.engine.Engine")
    return replace(base, **changes) if changes else base


#: Keyword arguments of the library as the command line spells them.
FLAG_WORDS: dict[str, str] = {
    "pass allow_inconsistent=True": "give --allow-inconsistent",
    "allow_inconsistent=True": "--allow-inconsistent",
}


def in_flag_words(message: str) -> str:
    """``message`` with the library's keyword arguments replaced by their flags.

    Examples
    --------
    >>> in_flag_words("revise the comparisons or pass allow_inconsistent=True")
    'revise the comparisons or give --allow-inconsistent'
    """
    for word, flag in FLAG_WORDS.items():
        message = message.replace(word, flag)
    return message


# ---------------------------------------------------------------------------- running
def verbosity_level(args: argparse.Namespace) -> int:
    """Progress verbosity from ``--quiet``/``--verbose``."""
    from gis import progress

    if getattr(args, "quiet", False):
        return progress.QUIET
    if getattr(args, "verbose", False):
        return progress.VERBOSE
    return progress.NORMAL


def command_line(args: argparse.Namespace) -> str | None:
    """The command as typed (``innosite ...``), for the manifest."""
    argv = getattr(args, "argv", None)
    return None if argv is None else "innosite " + shlex.join(argv)


def report_error(prog: str, exc: BaseException | str) -> int:
    """Print ``prog: error: message`` to standard error; the exit status 2."""
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return 2


@contextmanager
def stop_on_signals(signals: Sequence[str] = STOP_SIGNALS) -> Iterator[list[int]]:
    """Turn ``signals`` into :class:`gis.errors.Interrupted` inside the block.

    SIGTERM (``kill``, ``timeout``, batch schedulers) and SIGHUP (a closed terminal)
    otherwise end Python at once, leaving staging folders and Dask clusters behind;
    raised as an exception they unwind through every ``finally`` and ``except
    BaseException`` like Ctrl-C. Only the first signal raises: a second one while
    cleaning up is recorded and ignored, so the cleanup finishes; after a stop these
    signals stay ignored while the process exits. A stop that lands in a finaliser
    (``__del__``), where Python swallows exceptions, or in a callback of an asyncio or
    tornado event loop (Dask's), which logs and drops them, is sent again 50 ms later.
    After a stop, the log lines of Dask, tornado and asyncio about their shutdown are
    not shown.
    Outside the main thread the block runs unchanged.

    Yields
    ------
    list of int
        The numbers of the signals received, in order (empty when none came).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    rearm = [False]
    deferred = [0]

    def send_again(signum: int) -> None:
        rearm[0] = True
        again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) == 1:
            _quiet_shutdown()
        if len(received) == 1 or rearm[0]:
            if _in_event_loop_callback(frame) and deferred[0] < 100:
                # an event loop would log the stop as a failed callback and go on
                deferred[0] += 1
                send_again(signum)
                return
            rearm[0] = False
            raise Interrupted(signum)

    def unraisable(info: Any) -> None:
        # a stop raised inside a finaliser (``__del__``) is swallowed there: send it again
        if isinstance(info.exc_value, Interrupted):
            send_again(info.exc_value.signum)
            return
        previous_hook(info)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous: dict[int, Any] = {}
    for name in signals:
        number = getattr(signal, name, None)
        if number is None:  # pragma: no cover - SIGHUP on Windows
            continue
        previous[number] = signal.signal(number, handler)
    try:
        yield received
    finally:
        sys.unraisablehook = previous_hook
        for number, old in previous.items():
            # after a stop, later signals are ignored (SIG_IGN outlives interpreter shutdown)
            signal.signal(number, signal.SIG_IGN if received else old)


#: Libraries whose log lines about their own shutdown are not shown after a stop.
_SHUTDOWN_LOGGERS = ("distributed", "tornado", "asyncio")


def _quiet_shutdown() -> None:
    """Silence the loggers of :data:`_SHUTDOWN_LOGGERS`: a Dask cluster stopped by a signal
    logs cancelled tasks and close timeouts (with tracebacks) that say nothing to the user."""
    import logging

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _SHUTDOWN_LOGGERS]
    for name in {*names, *_SHUTDOWN_LOGGERS}:
        logging.getLogger(name).disabled = True


#: Modules whose frames run event-loop callbacks, which catch and log exceptions.
_EVENT_LOOP_MODULES = ("asyncio.events", "tornado.ioloop")


def _in_event_loop_callback(frame: Any) -> bool:
    """Whether ``frame`` runs inside a callback of an asyncio or tornado event loop."""
    depth = 0
    while frame is not None and depth < 200:
        if frame.f_globals.get("__name__") in _EVENT_LOOP_MODULES:
            return True
        frame, depth = frame.f_back, depth + 1
    return False


def _interrupted(prog: str, signum: int, *, out: Any = None, since: float = 0.0) -> int:
    """Say that the run stopped, and whether it had already finished writing ``out``."""
    name = Interrupted(signum).name
    manifest = Path(out) / "manifest.json" if isinstance(out, str | os.PathLike) and out else None
    try:
        done = manifest is not None and manifest.stat().st_mtime >= since
    except OSError:
        done = False
    if done:
        text = f"interrupted by {name} after the outputs were complete in {out}"
    else:
        text = f"interrupted by {name}; staging removed, nothing half-written was left"
    print(f"{prog}: {text}", file=sys.stderr)
    return 128 + signum


def run_command(func: Callable[[argparse.Namespace], Any], args: Any, *, prog: str) -> int:
    """Run a command; expected errors and system failures print one line and return 2.

    Failures of the operating system, GDAL, PROJ and SQLite (a full disk, a read-only
    folder, an unknown CRS...) are described by :func:`gis.io.failures.describe_failure`;
    other exceptions are bugs and keep their traceback. SIGINT, SIGTERM and SIGHUP stop
    the run cleanly (:func:`stop_on_signals`): one line, exit status 128 + the signal
    number (130, 143, 129).
    """
    import time

    from gis.io.failures import describe_failure

    since = time.time() - 1.0  # file times may be coarser than the clock
    out = getattr(args, "out", None)
    with stop_on_signals() as received:
        try:
            return int(func(args) or 0)
        except EXPECTED_ERRORS as exc:
            if received:  # a failure while stopping (a cluster closing) is the stop
                return _interrupted(prog, received[0], out=out, since=since)
            return report_error(prog, exc)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            return _interrupted(prog, signum, out=out, since=since)
        except Exception as exc:
            if received:
                return _interrupted(prog, received[0], out=out, since=since)
            written = out or getattr(args, "file", None)
            message = describe_failure(exc, path=written)
            if message is None:
                raise
            return report_error(prog, message)


def prepare_output(
    out: str | os.PathLike | None, *, overwrite: bool, inputs: Iterable[Any] = ()
) -> Path:
    """The one check of a command's output folder, before any work.

    Refuses what :func:`gis.io.folders.check_output_folder` refuses, with the files and
    folders named anywhere in ``inputs`` (configurations, option values, paths; found
    by :func:`gis.io.folders.input_paths`) as the run's inputs; then removes the
    staging folders of ``out`` that runs killed earlier left behind, one line each on
    standard error.

    Raises
    ------
    InputError, OutputExistsError, OutputWriteError
        As :func:`gis.io.folders.check_output_folder`.
    """
    from gis.io.folders import check_output_folder, input_paths, remove_stale_staging

    if out is None:
        raise InputError("no output folder given; pass --out")
    folder = check_output_folder(out, overwrite=overwrite, inputs=input_paths(*inputs))
    for stale in remove_stale_staging(folder):
        print(stale.describe(), file=sys.stderr)
    return folder


#: Default overlay weight of a factor added with :func:`user_factor`.
USER_FACTOR_WEIGHT: float = 0.1


def user_factor(name: str, path: str, options: Mapping[str, str]) -> Any:  # layers.spec.Factor
    """A factor of one criterion measuring a user file (``--layer NAME=FILE:key=value,...``).

    ``options`` are text values: the keys of :class:`layers.sources.SourceSpec` (``kind``
    guessed from the file name when absent), ``measure`` (default ``raster_value`` for a
    raster, else ``density``), ``transform`` (default ``linear``), ``lower``/``upper``
    (its thresholds: numbers or ``pNN``), ``factor_weight`` (default
    :data:`USER_FACTOR_WEIGHT`) and the measure's parameters (``bandwidth``, ``radius``...).

    Raises
    ------
    InputError
        An unknown key, measure or value (the message lists the accepted ones).

    Examples
    --------
    >>> f = user_factor("labs", "labs.csv", {"datum": "gcj02", "measure": "distance",
    ...                                      "transform": "small"})
    >>> f.criteria[0].data.kind, f.criteria[0].measure, f.weight
    ('csv', 'distance', 0.1)
    """
    from dataclasses import fields as dc_fields

    from gis.transforms import TRANSFORMS
    from layers.measures import MEASURES
    from layers.sources import SOURCE_KEYS, SourceSpec, guess_kind
    from layers.spec import Criterion, Factor

    opts = dict(options)
    source_keys = [f.name for f in dc_fields(SourceSpec)]
    src: dict[str, Any] = {k: opts.pop(k) for k in list(opts) if k in source_keys}
    src.setdefault("kind", guess_kind(path))
    if "band" in src:
        src["band"] = _whole(src["band"], "band")
    data = SourceSpec(path=path, **src)
    measure = opts.pop("measure", "raster_value" if data.kind == "raster" else "density")
    if measure not in MEASURES:
        raise InputError(f"layer {name!r}: unknown measure {measure!r}; choose one of "
                         f"{', '.join(MEASURES)}")  # fmt: skip
    transform = opts.pop("transform", "linear")
    if transform not in TRANSFORMS:
        raise InputError(f"layer {name!r}: unknown transform {transform!r}; choose one of "
                         f"{', '.join(sorted(TRANSFORMS))}")  # fmt: skip
    tparams: dict[str, Any] = {}
    for key, param in (("lower", "lower_threshold"), ("upper", "upper_threshold")):
        if key in opts:
            v = opts.pop(key)
            tparams[param] = v if v.startswith("p") else _number(v, key)
    weight = _number(opts.pop("factor_weight", str(USER_FACTOR_WEIGHT)), "factor_weight")
    params = MEASURES[measure].params
    mparams = {k: _number(opts.pop(k), k) for k in list(opts) if k in params}
    if opts:
        accepted = [k for k in SOURCE_KEYS if k not in ("name", "path")]
        accepted += ["measure", "transform", "lower", "upper", "factor_weight", *params]
        raise InputError(f"layer {name!r}: unknown option(s) {', '.join(opts)}; options are "
                         f"{', '.join(accepted)}")  # fmt: skip
    crit = Criterion(name=name, measure=measure, data=data, transform=transform,
                     transform_params=tparams, measure_params=mparams,
                     description=f"{measure} of {path}")  # fmt: skip
    return Factor(name=name, title=name.replace("_", " "), weight=weight, criteria=(crit,))


def _number(text: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{key} must be a number, got {text!r}") from None


def _whole(text: Any, key: str) -> int:
    v = _number(str(text), key)
    if v != int(v):
        raise InputError(f"{key} must be a whole number, got {text!r}")
    return int(v)
