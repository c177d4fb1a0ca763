"""One declaration per run option: config field, command-line flag, scenario key and check.

A run configuration (:class:`layers.micro.run.MicroConfig`,
:class:`layers.meso.run.MesoConfig`, :class:`layers.national.run.NationalConfig`,
:class:`layers.decision.DecisionOptions`) declares each option once with
:func:`option`: the field's default, its flag(s), its scenario key
(``"table.key"``), its kind, its range check and its help text. Everything else
is derived from these declarations:

* the command-line arguments (:mod:`layers.cli.options` builds them; this module
  does not know argparse);
* the scenario-file checks of those keys (:mod:`layers.scenario`), with the same
  messages as the configuration's own validation (:func:`validate_options`);
* the run parameters recorded in a manifest (:func:`parameters`).

Options that are not fields of a configuration (the block engine's settings and
the aggregation options) are declared here as :data:`ENGINE_OPTIONS` and
:data:`AGGREGATION_OPTIONS`.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     size: float = option(25.0, flag="--size", key="grid.size",
...                          check=between(1, 100, unit=" metres"), help="cell size")
>>> spec = options_of(Demo)["size"]
>>> spec.flags, spec.key, spec.default
(('--size',), 'grid.size', 25.0)
>>> check_value(spec, 500)
'must be >= 1 and <= 100 metres; got 500'
>>> validate_options(Demo(size=500))
Traceback (most recent call last):
...
gis.errors.InputError: size must be >= 1 and <= 100 metres; got 500
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.errors import InputError

__all__ = [
    "AGGREGATION_OPTIONS",
    "COMPAT_MAP_FLAGS",
    "ENGINE_OPTIONS",
    "KINDS",
    "MAP_OPTIONS",
    "MAX_LINKED_UNITS",
    "MAX_MACRO_DRAWS",
    "MAX_SEEDS",
    "MAX_SENSITIVITY_DRAWS",
    "MAX_TIMEOUT",
    "MIN_MEMORY_BUDGET",
    "Check",
    "Option",
    "between",
    "check_value",
    "kind_of",
    "like",
    "memory_size",
    "memory_text",
    "merge_defaults",
    "one_of",
    "option",
    "options_of",
    "parameters",
    "scenario_tables",
    "type_name",
    "validate_options",
]

#: Kinds of values an option holds; they decide how text and scenario values are read.
KINDS: tuple[str, ...] = (
    "number", "integer", "text", "bool", "choice", "file", "path", "crs", "bbox", "lonlat",
    "pair", "numbers", "memory", "names", "count_or_names",
)  # fmt: skip

_Bound = float | Callable[[], float] | None


def _bound(value: _Bound) -> float | None:
    return value() if callable(value) else value


@dataclass(frozen=True)
class Check:
    """A range or a set of choices that a value must satisfy.

    ``low``/``high`` may be callables, read when the check runs (e.g. a cell-size
    limit of :mod:`gis.settings` that a user may change at run time).
    """

    low: _Bound = None
    high: _Bound = None
    low_open: bool = False
    unit: str = ""
    choices: Collection[Any] | Callable[[], Collection[Any]] | None = None
    show: Callable[[float], str] | None = None

    def allowed(self) -> list[Any] | None:
        """The accepted values, or None for a range check."""
        if self.choices is None:
            return None
        return list(self.choices() if callable(self.choices) else self.choices)

    def message(self, value: Any) -> str | None:
        """What is wrong with ``value`` (``"must be ...; got ..."``), or None if it passes."""
        allowed = self.allowed()
        if allowed is not None:
            if value in allowed and not isinstance(value, bool):
                return None
            import difflib

            text = [a for a in allowed if isinstance(a, str)]
            close = difflib.get_close_matches(str(value), text, n=1, cutoff=0.6) if text else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"must be one of {', '.join(map(repr, allowed))}; got {value!r}{hint}"
        low, high = _bound(self.low), _bound(self.high)
        v = float(value)
        if not math.isfinite(v):
            return f"must be finite; got {value!r}"
        too_low = low is not None and (v <= low if self.low_open else v < low)
        if too_low or (high is not None and v > high):
            fmt = self.show or _number_text
            lo = "" if low is None else (f"> {fmt(low)}" if self.low_open else f">= {fmt(low)}")
            hi = "" if high is None else f"<= {fmt(high)}"
            rng = " and ".join(x for x in (lo, hi) if x)
            got = fmt(v) if self.show is not None else repr(value)
            return f"must be {rng}{self.unit}; got {got}"
        return None


def _number_text(value: float) -> str:
    """``1000000`` as ``1,000,000``; other numbers as ``format(value, "g")``."""
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def between(
    low: _Bound = None,
    high: _Bound = None,
    *,
    low_open: bool = False,
    unit: str = "",
    show: Callable[[float], str] | None = None,
) -> Check:
    """A numeric range ``low <= v <= high`` (``low < v`` with ``low_open``).

    ``show`` writes the bounds and the refused value in messages (e.g. as a memory size).
    """
    return Check(low=low, high=high, low_open=low_open, unit=unit, show=show)


def one_of(choices: Collection[Any] | Callable[[], Collection[Any]]) -> Check:
    """One of ``choices`` (a sequence, or a callable giving it, read when checked)."""
    return Check(choices=choices)


@dataclass(frozen=True)
class Option:
    """One run option, declared once.

    Attributes
    ----------
    name
        The configuration field (filled in by :func:`options_of`).
    default
        The field's default (``None`` for fields with a default factory).
    flags
        Command-line flags, e.g. ``("--cell-size",)``; empty for no flag.
    key
        Scenario key ``"table.key"``; None when scenario files do not set it.
    kind
        One of :data:`KINDS`.
    check
        Range or choices (:class:`Check`), or None.
    help
        Help text of the flag and comment of the scenario key.
    label
        Name used in messages of the configuration's validation.
    metavar
        Placeholder of the flag's value in ``--help``.
    const
        ``(value,)`` when the flag takes no argument and sets ``value``
        (``--no-constraints`` sets False, ``--cdn-map`` sets ``"cdn"``);
        empty for a flag with a value (or a ``bool`` flag that sets True).
    nullable
        Whether None is a valid value (checks are skipped for None).
    none_flag
        ``(flag, help)`` of a second flag that sets the option to None (``--classic-gravity``
        sets no half distance); a scenario file writes that None as ``false``.
    factory
        A callable giving the default when a configuration is made (``lang`` follows the
        locale); :func:`like` declares the field with it.
    """

    name: str = ""
    default: Any = None
    flags: tuple[str, ...] = ()
    key: str | None = None
    kind: str = "text"
    check: Check | None = None
    help: str = ""
    label: str = ""
    metavar: str | None = None
    const: tuple[Any, ...] = ()
    nullable: bool = True
    none_flag: tuple[str, ...] = ()
    factory: Callable[[], Any] | None = None

    @property
    def section(self) -> str | None:
        """The scenario table of :attr:`key`."""
        return None if self.key is None else self.key.rsplit(".", 1)[0]

    @property
    def leaf(self) -> str | None:
        """The key inside its scenario table."""
        return None if self.key is None else self.key.rsplit(".", 1)[1]

    def choices(self) -> list[Any] | None:
        """The accepted values of a ``choice`` option."""
        return None if self.check is None else self.check.allowed()


def option(
    default: Any = None,
    *,
    factory: Callable[[], Any] | None = None,
    flag: str | Sequence[str] = (),
    key: str | None = None,
    kind: str | None = None,
    check: Check | None = None,
    help: str = "",
    label: str | None = None,
    metavar: str | None = None,
    const: tuple[Any, ...] = (),
    none_flag: tuple[str, ...] = (),
) -> Any:
    """A dataclass field declaring a run option (see :class:`Option`).

    Returns
    -------
    dataclasses.Field
        ``field(default=default, metadata={"option": Option(...)})``, or with
        ``default_factory=factory``.
    """
    flags = (flag,) if isinstance(flag, str) else tuple(flag)
    if kind is None:
        kind = _guess_kind(default, check)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    spec = Option(
        default=default,
        flags=flags,
        key=key,
        kind=kind,
        check=check,
        help=help,
        label=label or "",
        metavar=metavar,
        const=const,
        none_flag=none_flag,
    )
    meta = {"option": spec}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def like(source: Any, name: str, default: Any = dataclasses.MISSING, **changes: Any) -> Any:
    """A field declaring the same option as ``source``'s field ``name``.

    ``source`` is a configuration class or a mapping of options such as
    :data:`MAP_OPTIONS`. ``default`` replaces the default; ``changes`` replace
    other :class:`Option` attributes (e.g. ``help``).
    """
    if isinstance(source, Mapping):  # a table of declarations keeps its labels
        spec = source[name]
        fields = {"name": "", **changes}
    else:  # a configuration's label may be its field name: derive it again
        spec = options_of(source)[name]
        fields = {"name": "", "label": "", **changes}
    spec = dataclasses.replace(spec, **fields)
    if spec.factory is not None and default is dataclasses.MISSING:
        return field(default_factory=spec.factory, metadata={"option": spec})
    value = spec.default if default is dataclasses.MISSING else default
    spec = dataclasses.replace(spec, default=value)
    return field(default=value, metadata={"option": spec})


def _guess_kind(default: Any, check: Check | None) -> str:
    if check is not None and check.choices is not None:
        return "choice"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    return "text"


def options_of(cls: Any) -> dict[str, Option]:
    """The declared options of a configuration class or instance, by field name."""
    out: dict[str, Option] = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("option")
        if spec is None:
            continue
        default = spec.default
        if f.default is not dataclasses.MISSING:
            default = f.default
        label = spec.label or f.name.replace("_", " ")
        out[f.name] = dataclasses.replace(spec, name=f.name, default=default, label=label)
    return out


def kind_of(value: Any, spec: Option) -> str | None:
    """What is wrong with the type of ``value`` for ``spec``, or None if the type fits."""
    if value is None:
        return None if spec.nullable else "must be given"

    def is_number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    kind = spec.kind
    if kind in ("number", "memory"):
        ok = is_number(value)
        return None if ok else f"must be a number{_unit(spec)}; got {type_name(value)} {value!r}"
    if kind == "integer":
        ok = is_number(value) and float(value).is_integer()
        return None if ok else f"must be a whole number; got {type_name(value)} {value!r}"
    if kind == "bool":
        ok = isinstance(value, bool)
        return None if ok else f"must be true or false; got {type_name(value)} {value!r}"
    if kind in ("text", "file", "path", "crs", "choice"):
        if spec.choices() is not None and not isinstance(value, str):
            return None  # numeric choices (connectivity 4 or 8) are checked as choices
        ok = isinstance(value, str)
        return None if ok else f"must be text in quotes; got {type_name(value)} {value!r}"
    if kind in ("bbox", "lonlat", "numbers"):
        ok = isinstance(value, list | tuple) and all(is_number(v) for v in value)
        return None if ok else f"must be a list of numbers; got {value!r}"
    if kind == "names":
        ok = _names(value)
        return None if ok else f"must be a list of names in quotes; got {value!r}"
    if kind == "count_or_names":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or _names(value)
        return None if ok else f"must be a whole number or a list of names; got {value!r}"
    if kind == "pair":
        ok = isinstance(value, list | tuple) and len(value) == 2
        ok = ok and all(isinstance(v, str) and v.strip() for v in value)
        return None if ok else f"must be two names; got {value!r}"
    return None


def _names(value: Any) -> bool:
    ok = isinstance(value, list | tuple) and bool(value)
    return ok and all(isinstance(v, str) and v.strip() for v in value)


def _unit(spec: Option) -> str:
    return spec.check.unit if spec.check is not None else ""


def type_name(value: Any) -> str:
    """How a value of a scenario file is described in messages (``"a number"``, ``"text"`` ...)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def check_value(spec: Option, value: Any) -> str | None:
    """What is wrong with ``value`` for the option ``spec`` (type, then range), or None."""
    wrong = kind_of(value, spec)
    if wrong is not None or value is None or spec.check is None:
        return wrong
    if spec.kind == "count_or_names" and not isinstance(value, int):
        return None  # the range applies to the count
    return spec.check.message(value)


def validate_options(config: Any, names: Iterable[str] | None = None) -> None:
    """Check every declared option of ``config`` (or only ``names``).

    Raises
    ------
    InputError
        ``"<label> <what is wrong>"`` for the first option that fails.
    """
    specs = options_of(config)
    for name in specs if names is None else names:
        spec = specs[name]
        problem = check_value(spec, getattr(config, name))
        if problem is not None:
            raise InputError(f"{spec.label} {problem}")


def parameters(config: Any) -> dict[str, Any]:
    """The declared options of ``config`` as JSON-ready values (a manifest's parameters)."""
    out: dict[str, Any] = {}
    for name in options_of(config):
        value = getattr(config, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Path):
            value = str(value)
        out[name] = value
    return out


def scenario_tables(config: Any, *, skip: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """The declared options of ``config`` that have a scenario key, as scenario tables.

    Values that are None or empty lists are left out, except that an option with a
    :attr:`Option.none_flag` writes None as ``false``; tuples become lists.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Demo:
    ...     size: float = option(25.0, key="grid.size")
    ...     names: tuple[str, ...] = option((), kind="names", key="data.names")
    >>> scenario_tables(Demo(), skip=())
    {'grid': {'size': 25.0}}
    """
    skipped = set(skip)
    out: dict[str, dict[str, Any]] = {}
    for name, spec in options_of(config).items():
        if spec.section is None or spec.leaf is None or name in skipped:
            continue
        value = getattr(config, name)
        if value is None and spec.none_flag:
            value = False
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Path):
            value = str(value)
        if value is None or (isinstance(value, list) and not value):
            continue
        out.setdefault(spec.section, {})[spec.leaf] = value
    return out


# ---------------------------------------------------------------------------- limits
#: Most Monte Carlo weight draws of a raster run's sensitivity (each draw scores every cell).
MAX_SENSITIVITY_DRAWS: int = 10_000
#: Most Dirichlet weight draws of a macro run (each draw ranks every unit).
MAX_MACRO_DRAWS: int = 1_000_000
#: Most seed cells grown into sites by Locate Regions.
MAX_SEEDS: int = 100_000
#: Most units linked pairwise by a macro run (the links grow with the square).
MAX_LINKED_UNITS: int = 5_000
#: Smallest memory budget of the block engine: below it the windows would be a few
#: cells wide and their count would explode.
MIN_MEMORY_BUDGET: int = 2**20
#: Longest wait for a Dask scheduler, in seconds.
MAX_TIMEOUT: float = 86_400.0


def memory_text(size: float) -> str:
    """Bytes as the largest binary unit that keeps a number >= 1 (``"16 MiB"``).

    Examples
    --------
    >>> memory_text(16 * 2**20), memory_text(1024), memory_text(1536), memory_text(12)
    ('16 MiB', '1 KiB', '1.5 KiB', '12 bytes')
    """
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size:g} bytes"


# ---------------------------------------------------------------------------- engine
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30}  # fmt: skip


def memory_size(text: str | int) -> int:
    """Bytes from ``"512MiB"``, ``"2GB"``, ``"1.5G"`` or a plain number of bytes.

    Raises
    ------
    InputError
        Text that is not a positive memory size.

    Examples
    --------
    >>> memory_size("512MiB"), memory_size("2GB"), memory_size("1000")
    (536870912, 2000000000, 1000)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS:
            raise InputError(f"give a memory size such as 512MiB, 2GB or 4G, got {text!r}")
        value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise InputError(f"memory size must be positive, got {text!r}")
    return value


def _engines() -> tuple[str, ...]:
    from gis.engine import ENGINES

    return ENGINES


#: Options of the block engine (:class:`gis.engine.Engine` fields), shared by every
#: raster scale; a configuration holds them as its ``engine`` field.
ENGINE_OPTIONS: dict[str, Option] = {
    spec.name: spec
    for spec in (
        Option(
            name="kind", flags=("--engine",), key="engine.kind", kind="choice",
            check=one_of(_engines), label="engine",
            help="memory: the whole grid at once; windows: window by window in this process "
            "(memory follows --memory-budget); dask: the windows as Dask chunks",
        ),
        Option(
            name="memory_budget", flags=("--memory-budget",), key="engine.memory_budget",
            kind="memory", check=between(MIN_MEMORY_BUDGET, show=memory_text), metavar="SIZE",
            label="memory budget",
            help="memory one window may use, e.g. 512MiB or 2GB (default: "
            "INNOSITE_MEMORY_BUDGET or 12 GiB); on Dask: per worker thread",
        ),
        Option(
            name="scheduler", flags=("--dask-scheduler",), key="engine.scheduler",
            metavar="ADDRESS", label="dask scheduler",
            help="'local' for a local cluster of worker processes, or the address of a "
            "running scheduler (tcp://HOST:8786); implies --engine dask",
        ),
        Option(
            name="n_workers", default=2, flags=("--workers",), key="engine.workers",
            kind="integer", check=between(1), label="workers",
            help="worker processes of a local cluster (threads without a scheduler)",
        ),
        Option(
            name="timeout", default=10.0, flags=("--timeout",), key="engine.timeout",
            kind="number", check=between(0, MAX_TIMEOUT, low_open=True, unit=" seconds"),
            label="timeout",
            help="seconds to wait for the scheduler to answer",
        ),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------- map
def _map_assets() -> tuple[str, ...]:
    from gis.maps import MAP_ASSETS

    return MAP_ASSETS


def _langs() -> tuple[str, ...]:
    from layers.i18n import LANGS

    return LANGS


def _default_lang() -> str:
    from layers.i18n import default_lang

    return default_lang()


#: Options of the folium map every command writes (``map.html``). The map works
#: without internet by default: Leaflet and its helpers are embedded in the page
#: (``map_assets="inline"``); ``--cdn-map`` links them from CDNs instead (a smaller
#: file that needs internet). Base tiles are optional: the default OpenStreetMap
#: tiles need internet, the overlays do not; ``--no-tiles`` leaves them out.
#: ``--offline-map`` (the former way to embed the libraries) is still accepted and
#: changes nothing (:data:`COMPAT_MAP_FLAGS`). ``--lang`` chooses the language of every
#: output (report, map, charts, QGIS layer names); it follows the locale by default.
MAP_OPTIONS: dict[str, Option] = {
    spec.name: spec
    for spec in (
        Option(
            name="tiles", default="OpenStreetMap", flags=("--no-tiles",), key="output.tiles",
            const=(None,), label="tiles",
            help="map without a web base layer (the default OpenStreetMap tiles need "
            "internet; the overlays work without it)",
        ),
        Option(
            name="map_assets", default="inline", flags=("--cdn-map",),
            key="output.map_assets", kind="choice", check=one_of(_map_assets),
            const=("cdn",), label="map assets",
            help="link Leaflet and its helpers from CDNs instead of embedding them in "
            "map.html (smaller file; the map then needs internet)",
        ),
        Option(
            name="lang", default=None, flags=("--lang",), key="output.lang", kind="choice",
            check=one_of(_langs), label="lang", metavar="{en,zh}", nullable=False,
            factory=_default_lang,
            help="language of the outputs: report, map, chart, QGIS layer names and field "
            "aliases (default: zh when LC_ALL or LANG starts with zh, else en)",
        ),
    )
}  # fmt: skip

#: Flags of former map options still accepted, with their help: ``--offline-map``
#: asked for the embedded libraries that are now the default.
COMPAT_MAP_FLAGS: dict[str, str] = {
    "--offline-map": "accepted for compatibility and changes nothing: maps embed their "
    "libraries and work without internet by default (see --cdn-map)",
}


# ---------------------------------------------------------------------------- raster runs
def _aggregations() -> list[str]:
    from gis.overlay import AGGREGATIONS

    return sorted(AGGREGATIONS)


#: The analysis grid of every raster scale; each scale gives its own cell-size default and
#: range, and its own words for the default CRS.
GRID_OPTIONS: dict[str, Option] = {
    spec.name: spec
    for spec in (
        Option(
            name="cell_size", default=25.0, flags=("--cell-size",), key="grid.cell_size",
            kind="number", label="cell size", help="cell size in metres",
        ),
        Option(
            name="crs", flags=("--crs",), key="grid.crs", kind="crs", label="CRS",
            help="projected CRS for the analysis",
        ),
    )
}  # fmt: skip


#: Options every raster scale (micro, meso, national) shares: the empty rule, candidate
#: sites, exclusions and the aggregation. A scale's configuration declares each with
#: :func:`like`, changing only its default or wording.
SITE_OPTIONS: dict[str, Option] = {
    spec.name: spec
    for spec in (
        Option(
            name="empty_rule", default="drop", flags=("--empty",), key="model.empty",
            kind="choice", check=one_of(("drop", "zero")), label="empty-factor rule",
            help="factor with no features in the area: drop it and renormalise the other "
            "weights, or keep it with score 0",
        ),
        Option(
            name="threshold", flags=("--threshold",), key="sites.threshold", kind="number",
            check=between(0, 1), label="threshold",
            help="keep cells scoring at least this (0-1) instead of the top percent",
        ),
        Option(
            name="top_percent", default=10.0, flags=("--top-percent",), key="sites.top_percent",
            kind="number", check=between(0, 100, low_open=True, unit=" (percent of cells)"),
            label="top percent", help="keep the best P%% of cells",
        ),
        Option(
            name="min_area_ha", default=2.0, flags=("--min-area",), key="sites.min_area_ha",
            kind="number", check=between(0), metavar="HA", label="minimum area",
            help="smallest district in hectares",
        ),
        Option(
            name="connectivity", default=8, flags=("--connectivity",),
            key="sites.connectivity", kind="choice", check=one_of((4, 8)),
            label="connectivity", help="cell neighbourhood",
        ),
        Option(
            name="exclude_file", flags=("--exclude",), key="constraints.exclude_file",
            kind="file", label="exclusion file",
            help="vector file of polygons to exclude (any CRS)",
        ),
        Option(
            name="aggregation", default="wlc", flags=("--aggregation",),
            key="model.aggregation", kind="choice", check=one_of(_aggregations),
            label="aggregation",
            help="how factor scores combine: wlc (weighted sum), weighted_product, owa, "
            "fuzzy_and/or/product/sum/gamma, minimum, maximum, topsis",
        ),
        Option(
            name="thresholds", default="percentile", flags=("--thresholds",),
            key="model.thresholds", kind="choice", check=one_of(("percentile", "absolute")),
            label="thresholds",
            help="data-driven transform parameters: percentiles of the area (p95 ...) or the "
            "documented absolute values of each criterion",
        ),
        Option(
            name="conditions", default=None, flags=("--condition",), key="model.conditions",
            kind="names", metavar="FACTOR[,FACTOR...]", label="conditions",
            help="factors that must hold, not only weigh (non-compensatory): a cell where "
            "one scores below --condition-min is never a candidate, e.g. edge,green_quiet",
        ),
        Option(
            name="condition_min", default=0.5, flags=("--condition-min",),
            key="model.condition_min", kind="number", check=between(0, 1),
            label="condition minimum", help="score a condition factor must reach (0-1)",
        ),
        Option(
            name="coverage_radius", default=250.0, flags=("--coverage-radius",),
            key="model.coverage_radius", kind="number", check=between(0, unit=" metres"),
            metavar="M", label="coverage radius",
            help="cells farther than this from every mapped street or building are no data "
            "(never candidates); 0 turns the data-coverage mask off",
        ),
        Option(
            name="water", default=True, flags=("--no-water-mask",), key="constraints.water_mask",
            kind="bool", const=(False,), label="offline water mask",
            help="keep the cells on the shipped Natural Earth lakes and rivers (left out of "
            "a region in China by default when no OSM data is given)",
        ),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------- aggregation
#: Options of the aggregation methods (entries of a configuration's
#: ``aggregation_options``); which method takes which is checked by
#: :func:`layers.decision.check_aggregation`.
AGGREGATION_OPTIONS: dict[str, Option] = {
    spec.name: spec
    for spec in (
        Option(
            name="orness", flags=("--orness",), key="model.aggregation_options.orness",
            kind="number", label="orness",
            help="OWA risk level 0 (AND, worst factor decides) .. 1 (OR, best factor decides); "
            "order weights from Yager's quantifier r**alpha",
        ),
        Option(
            name="order_weights", flags=("--order-weights",),
            key="model.aggregation_options.order_weights", kind="numbers",
            metavar="V1,V2,...", label="order weights",
            help="OWA order weights, one per factor, first for the highest score",
        ),
        Option(
            name="gamma", flags=("--gamma",), key="model.aggregation_options.gamma",
            kind="number", label="gamma", help="gamma of fuzzy_gamma, 0..1 (none: 0.9)",
        ),
    )
}  # fmt: skip


def merge_defaults(specs: Mapping[str, Option], obj: Any) -> dict[str, Option]:
    """``specs`` with their defaults read from the attributes of ``obj``."""
    return {
        name: dataclasses.replace(spec, default=getattr(obj, name, spec.default))
        for name, spec in specs.items()
    }
