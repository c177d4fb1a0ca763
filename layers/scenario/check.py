"""Checking scenario documents: problems with file, line and key, driven by the option schema.

Every setting a configuration declares with :func:`layers.options.option` and a
scenario key (``"grid.cell_size"``) is checked here from its declaration — its kind,
its range or choices and its message — by :func:`check_options`. The same
:func:`layers.options.check_value` gives the message of the configuration's own
validation and of the command line, so a key, a flag and a field fail alike.

What the schema cannot say is written by hand in the scale modules: rules across
keys (one study area, threshold or top percent), factors, AHP matrices and files.

Examples
--------
>>> from dataclasses import dataclass
>>> from layers.options import between, option
>>> @dataclass
... class Demo:
...     size: float = option(25.0, key="grid.size", check=between(1, 100))
>>> c = Checker("demo.toml", {("grid", "size"): 3}, None)
>>> check_options(c, {"grid": {"size": 500}}, Demo)[1]
{}
>>> print(ScenarioError("demo.toml", c.problems))
demo.toml:3: grid.size: must be >= 1 and <= 100; got 500
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gis.errors import DataSourceError, InputError
from layers.options import (
    ENGINE_OPTIONS,
    MAP_OPTIONS,
    Option,
    between,
    check_value,
    memory_size,
    options_of,
    type_name,
)

__all__ = [
    "OUTPUT_KEYS",
    "SCALES",
    "SENSITIVITY_KEYS",
    "UNSET",
    "Checker",
    "KeyPath",
    "Problem",
    "ScenarioError",
    "check_decision",
    "check_engine",
    "check_option",
    "check_options",
    "check_output",
    "check_sites",
    "is_number",
    "schema_keys",
]

#: Scales a scenario can describe.
SCALES: tuple[str, ...] = ("micro", "meso", "macro", "national")

#: A key path in a scenario document: table names and list indices.
KeyPath = tuple[str | int, ...]

#: "Not given" (distinct from None, which some settings take).
UNSET: Any = object()

#: Keys of the ``[output]`` table at every scale (``tiles``, ``map_assets`` and the
#: former ``offline_map`` are read by :func:`check_output`).
OUTPUT_KEYS: tuple[str, ...] = ("folder", "overwrite", "tiles", "map_assets", "offline_map")


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


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- checker
class Checker:
    """Collects the problems of one scenario document, with their lines.

    Parameters
    ----------
    name
        The file name used in messages.
    lines
        Key path -> line number (:func:`layers.scenario.read.toml_lines`).
    base
        Folder that relative file names are resolved against.
    """

    def __init__(self, name: str, lines: Mapping[KeyPath, int], base: Path | None):
        self.name = name
        self.lines = lines
        self.base = base
        self.problems: list[Problem] = []
        self.labels: dict[KeyPath, str] = {}
        self.ahp_file: tuple[str, bool] | None = None

    # -- reporting
    def key(self, path: KeyPath) -> str:
        """``path`` as text: ``factors[transit].criteria[2].weight``."""
        out = ""
        for i, part in enumerate(path):
            if isinstance(part, int):
                label = self.labels.get(tuple(path[: i + 1]))
                out += f"[{label}]" if label else f"[{part + 1}]"
            else:
                out += f".{part}" if out else str(part)
        return out

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of the nearest enclosing table."""
        if path and tuple(path) not in self.lines and (*path, 0) in self.lines:
            return self.lines[(*path, 0)]  # an array of tables: its first [[header]]
        for n in range(len(path), 0, -1):
            if tuple(path[:n]) in self.lines:
                return self.lines[tuple(path[:n])]
        return None

    def error(self, path: KeyPath, message: str) -> None:
        """Record a problem at ``path``."""
        self.problems.append(Problem(self.key(path), message, self.line(path)))

    # -- structure
    def table(
        self, value: Any, path: KeyPath, allowed: Sequence[str], *, what: str | None = None
    ) -> dict[str, Any]:
        """``value`` as a table; unknown keys are reported with the closest allowed name."""
        label = what or (f"[{self.key(path)}]" if path else "the scenario")
        if not isinstance(value, dict):
            self.error(path, f"must be a table of {', '.join(allowed)}; got {type_name(value)}")
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6) or [
                    a for a in allowed if a.startswith(str(key)) or str(key).startswith(a)
                ]
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.error((*path, key), f"unknown key; {hint}{label} takes {', '.join(allowed)}")
        return {k: v for k, v in value.items() if k in allowed}

    # -- values (messages of layers.options)
    def number(
        self,
        value: Any,
        path: KeyPath,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        integer: bool = False,
        unit: str = "",
    ) -> float | None:
        """``value`` as a float in the range, or None (the problem recorded)."""
        spec = Option(
            kind="integer" if integer else "number",
            check=between(low, high, low_open=low_open, unit=unit),
            nullable=False,
        )
        problem = check_value(spec, value)
        if problem is not None:
            self.error(path, problem)
            return None
        return float(value)

    def string(
        self, value: Any, path: KeyPath, *, choices: Sequence[str] | None = None
    ) -> str | None:
        """``value`` as text (one of ``choices``), or None (the problem recorded)."""
        from layers.options import one_of

        spec = Option(kind="text", check=None if choices is None else one_of(choices))
        problem = check_value(replace(spec, nullable=False), value)
        if problem is not None:
            self.error(path, problem)
            return None
        return str(value)

    def boolean(self, value: Any, path: KeyPath) -> bool | None:
        """``value`` as true/false, or None (the problem recorded)."""
        problem = check_value(Option(kind="bool", nullable=False), value)
        if problem is not None:
            self.error(path, problem)
            return None
        return bool(value)

    def file(self, value: Any, path: KeyPath, *, what: str) -> str | None:
        """An existing file, relative to the scenario's folder, or None."""
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

    def numbers(self, value: Any, path: KeyPath, n: int, what: str) -> list[float] | None:
        """A list of ``n`` numbers, or None."""
        if not isinstance(value, list) or len(value) != n:
            self.error(path, f"must be a list of {n} numbers ({what}); got {value!r}")
            return None
        out = [self.number(v, (*path, i)) for i, v in enumerate(value)]
        return [v for v in out if v is not None] if all(v is not None for v in out) else None


# ---------------------------------------------------------------------------- schema
def _crs(c: Checker, value: str, path: KeyPath) -> str | None:
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


def check_option(c: Checker, spec: Option, value: Any, path: KeyPath) -> tuple[bool, Any]:
    """Check one scenario value against its declaration; ``(ok, value for the config)``.

    The kind, range and choices of ``spec`` decide (:func:`layers.options.check_value`);
    files are found relative to the scenario, CRSs must be projected, boxes and points
    lie on the globe.
    """
    kind = spec.kind
    if value is None:
        c.error(path, "has no value")
        return False, None
    if kind == "bbox":
        bbox = c.numbers(value, path, 4, "west, south, east, north in degrees")
        if bbox is None:
            return False, None
        w, s, e, n = bbox
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            c.error(
                path, f"must be west < east in -180..180 and south < north in -90..90; got {bbox}"
            )
            return False, None
        return True, (w, s, e, n)
    if kind == "lonlat":
        point = c.numbers(value, path, 2, "lon, lat in degrees")
        if point is None:
            return False, None
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            c.error(path, f"must be lon in -180..180, lat in -90..90; got {point}")
            return False, None
        return True, (point[0], point[1])
    if value is False and spec.none_flag:
        return True, None  # false: what the option's none flag sets
    if kind == "memory" and isinstance(value, str):
        try:
            value = memory_size(value)
        except InputError as exc:
            c.error(path, str(exc))
            return False, None
    problem = check_value(spec, value)
    if problem is not None:
        c.error(path, problem)
        return False, None
    if kind == "file":
        p = Path(value).expanduser()
        if not p.is_absolute() and c.base is not None:
            p = c.base / p
        if not p.exists():
            c.error(path, f"{spec.label or 'file'} not found: {p}")
            return False, None
        return True, str(p)
    if kind == "crs":
        got = _crs(c, value, path)
        return got is not None, got
    if kind == "text" and spec.choices() is None and not value.strip():
        c.error(path, "is empty")
        return False, None
    if kind == "integer":
        return True, int(value)
    if kind == "number":
        return True, float(value)
    if kind == "choice" and is_number(value):
        return True, int(value) if float(value).is_integer() else value
    if kind == "pair":
        return True, tuple(value)
    if kind == "numbers":
        return True, [float(v) for v in value]
    if kind == "names" or (kind == "count_or_names" and isinstance(value, list)):
        return True, [str(v) for v in value]
    if kind == "count_or_names":
        return True, int(value)
    return True, value


def schema_keys(specs: Iterable[Option]) -> dict[str, list[str]]:
    """Scenario table -> its keys, in declaration order, of the options with a key."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        if spec.section is not None and spec.leaf is not None:
            out.setdefault(spec.section, []).append(spec.leaf)
    return out


def check_options(
    c: Checker,
    doc: Mapping[str, Any],
    config: Any,
    *,
    sections: Iterable[str] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
    skip: Iterable[str] = (),
    checks: Mapping[str, Callable[[Any], object]] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Check the tables of ``doc`` that hold the declared options of ``config``.

    Parameters
    ----------
    c
        Collects the problems.
    doc
        The scenario document.
    config
        A configuration class (or a mapping name -> :class:`layers.options.Option`).
    sections
        Tables checked (default: every table of a declared key).
    extra
        Table -> keys it takes besides the declared ones (checked by the caller).
    skip
        Fields whose keys the caller checks (e.g. ``tiles``).
    checks
        Field -> ``check(value)`` run on a value that passed its declaration; an
        :class:`~gis.errors.InputError` or :class:`~gis.errors.DataSourceError` it
        raises becomes a problem of the key.

    Returns
    -------
    tables, values
        Each table's known keys with their raw values, and field -> checked value of
        the options given.
    """
    specs = dict(config) if isinstance(config, Mapping) else options_of(config)
    by_key = {spec.key: spec for spec in specs.values() if spec.key is not None}
    keys = schema_keys(specs.values())
    for section, more in (extra or {}).items():
        keys.setdefault(section, []).extend(k for k in more if k not in keys[section])
    names = list(keys) if sections is None else list(sections)
    tables = {s: c.table(doc.get(s, {}), (s,), keys.get(s, [])) for s in names}
    skipped = set(skip)
    values: dict[str, Any] = {}
    for section in names:
        for key, raw in tables[section].items():
            spec = by_key.get(f"{section}.{key}")
            if spec is None or spec.name in skipped:
                continue
            ok, value = check_option(c, spec, raw, (section, key))
            if ok and checks and spec.name in checks:
                try:
                    checks[spec.name](value)
                except (InputError, DataSourceError) as exc:
                    c.error((section, key), str(exc))
                    ok = False
            if ok:
                values[spec.name] = value
    return tables, values


# ---------------------------------------------------------------------------- shared tables
def check_sites(c: Checker, sites: Mapping[str, Any], values: dict[str, Any]) -> None:
    """The rule across ``[sites]`` keys: a threshold replaces the top percent."""
    if "top_percent" in sites and "threshold" in sites:
        c.error(("sites", "threshold"), "give either top_percent or threshold, not both")
    elif "threshold" in sites:
        values["top_percent"] = None


def check_output(
    c: Checker, output: Mapping[str, Any], values: dict[str, Any]
) -> tuple[Path | None, bool]:
    """Folder and overwrite of an ``[output]`` table; its base map into ``values``.

    ``tiles`` is a base-map name or URL, or false for none; ``map_assets`` is
    ``"inline"`` (the default: the map works without internet) or ``"cdn"``; the former
    ``offline_map`` is a true/false that sets ``map_assets`` (``false`` is ``"cdn"``).
    """
    out = None
    if "folder" in output and c.string(output["folder"], ("output", "folder")) is not None:
        out = Path(output["folder"]).expanduser()
        if not out.is_absolute() and c.base is not None:
            out = c.base / out
    overwrite = False
    if "overwrite" in output:
        overwrite = bool(c.boolean(output["overwrite"], ("output", "overwrite")))
    if "tiles" in output:
        value = output["tiles"]
        if value is False:
            values["tiles"] = None
        elif isinstance(value, str) and value.strip():
            values["tiles"] = value
        else:
            c.error(("output", "tiles"), f"must be a base-map name or URL, or false; got {value!r}")
    if "map_assets" in output and "offline_map" in output:
        c.error(("output", "offline_map"), "give either map_assets or offline_map, not both")
    elif "map_assets" in output:
        spec = MAP_OPTIONS["map_assets"]
        problem = check_value(spec, output["map_assets"])
        if problem is not None:
            c.error(("output", "map_assets"), problem)
        else:
            values["map_assets"] = output["map_assets"]
    elif "offline_map" in output:
        offline = c.boolean(output["offline_map"], ("output", "offline_map"))
        if offline is not None:
            values["map_assets"] = "inline" if offline else "cdn"
    return out, overwrite


def check_engine(c: Checker, value: Any, default: Any) -> Any:
    """The ``[engine]`` table as a :class:`gis.engine.Engine` (None if invalid).

    Keys, kinds and ranges are those of :data:`layers.options.ENGINE_OPTIONS`.
    """
    _, kw = check_options(c, {"engine": value}, ENGINE_OPTIONS)
    given = value if isinstance(value, dict) else {}
    if not isinstance(value, dict) or len(kw) != len(given):
        return None
    if kw.get("scheduler") is not None and "kind" not in kw:
        kw["kind"] = "dask"
    try:
        return replace(default, **kw)
    except InputError as exc:
        c.error(("engine",), str(exc))
        return None


#: Settings of ``[decision]`` that do not need Locate Regions (``regions``).
SENSITIVITY_KEYS: tuple[str, ...] = ("sensitivity", "concentration", "spread", "seed")


def check_decision(c: Checker, value: Any) -> Any:
    """The ``[decision]`` table as :class:`layers.decision.DecisionOptions` (None if invalid).

    Keys, kinds and ranges are the declarations of ``DecisionOptions``; the AHP file
    is given in ``[ahp] file``.
    """
    from layers.decision import DecisionOptions

    path: KeyPath = ("decision",)
    tables, kw = check_options(c, {"decision": value}, DecisionOptions, sections=["decision"])
    t = tables["decision"]
    if not isinstance(value, dict):
        return None
    ok = len(kw) == len(value)
    low, high = kw.get("region_min_ha"), kw.get("region_max_ha")
    if low is not None and high is not None and low > high:
        c.error((*path, "region_max_ha"), f"must be >= region_min_ha ({low:g}); got {high:g}")
        ok = False
    near, far = kw.get("min_distance_m"), kw.get("max_distance_m")
    if near is not None and far is not None and near > far:
        c.error((*path, "max_distance_m"), f"must be >= min_distance_m ({near:g}); got {far:g}")
        ok = False
    located = [k for k in t if k not in SENSITIVITY_KEYS]
    if located and ok and "regions" not in kw:
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
