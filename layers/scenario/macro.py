"""Macro scenarios: the arguments of :func:`layers.macro.run.run_macro` in tables.

A macro scenario (``scale = "macro"``) tiers cities or regions: ``[data]``,
``[geometry]``, ``[method]``, ``[weights]``, ``[ahp]``, ``[robustness]``, ``[links]``
and ``[output]``. Its manifest records the scenario document, so a macro run replays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.errors import InputError
from layers.scenario.check import (
    OUTPUT_KEYS,
    Checker,
    KeyPath,
    Problem,
    ScenarioError,
    check_output,
    is_number,
)

__all__ = [
    "MACRO_FIELDS",
    "MACRO_TOP",
    "MacroRun",
    "check_macro",
    "macro_defaults",
    "macro_document",
    "macro_manifest_document",
    "run_macro_scenario",
]


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


MACRO_TOP = (
    "scale", "description", "data", "geometry", "method", "weights", "ahp", "robustness",
    "links", "output",
)  # fmt: skip

#: ``(section, key) -> (run_macro argument, kind)``; see :func:`_macro_value`.
MACRO_FIELDS: dict[tuple[str, str], tuple[str, Any]] = {
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


def macro_value(c: Checker, kind: Any, value: Any, path: KeyPath) -> tuple[bool, Any]:
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
        ok = isinstance(value, list) and bool(value)
        ok = ok and all(isinstance(x, str) and x.strip() for x in value)
        v = list(value) if ok else None
        if v is None:
            c.error(path, f"must be a list of names in quotes; got {value!r}")
    elif kind == "numbers":
        ok = isinstance(value, list) and bool(value) and all(is_number(x) for x in value)
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


def check_macro(c: Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a macro scenario document and build its :class:`MacroRun` (None if invalid)."""
    from layers.macro.run import Method

    if "description" in doc:
        c.string(doc["description"], ("description",))
    sections: dict[str, list[str]] = {}
    for section, key in MACRO_FIELDS:
        sections.setdefault(section, []).append(key)
    sections["output"] = list(OUTPUT_KEYS)
    tables = {name: c.table(doc.get(name, {}), (name,), keys) for name, keys in sections.items()}
    kw: dict[str, Any] = {}
    out, overwrite = check_output(c, tables["output"], kw)
    for (section, key), (name, kind) in MACRO_FIELDS.items():
        if key in tables[section]:
            ok, v = macro_value(c, kind, tables[section][key], (section, key))
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
    return MacroRun(kw, national, national_top), out, overwrite


def macro_document(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario document of a macro run's ``settings``.

    ``settings`` maps the names of :data:`MACRO_FIELDS` (``run_macro`` arguments,
    ``weighting``, ``pairwise``, ``national``, ``national_top``; ``half_distance``
    False for the classic gravity model) to values, plus ``weights``, ``tiles``
    and ``map_assets``; None means "not set". The manifest records the document,
    so the run can be replayed with ``innosite run``.
    """
    sections: dict[str, dict[str, Any]] = {}
    files = {"table", "geometry", "pairwise", "travel_time"}
    for (section, key), (name, _kind) in MACRO_FIELDS.items():
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


def macro_manifest_document(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    doc = (manifest.get("extra") or {}).get("scenario")
    if not isinstance(doc, dict):
        raise ScenarioError(
            name,
            [Problem("extra.scenario", "this macro manifest does not record its settings")],
        )
    return dict(doc)


def run_macro_scenario(
    scenario: Any, *, out: Path, overwrite: bool, command: str | None
) -> tuple[Any, dict[str, Path]]:
    """Run a macro :class:`layers.scenario.build.Scenario` into ``out``."""
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
        out,
        overwrite=overwrite,
        command=command,
        scenario=resolved_document(document, scenario),
        **kwargs,
    )
    paths = {name: Path(out) / name for name in result.files}
    return result, {"manifest": Path(out) / "manifest.json", **paths}


def resolved_document(document: dict[str, Any], scenario: Any) -> dict[str, Any]:
    """``document`` with its file settings replaced by the absolute paths that were read."""
    doc = json.loads(json.dumps(document))
    kwargs = scenario.config.kwargs
    for (section, key), (name, kind) in MACRO_FIELDS.items():
        if kind == "file" and isinstance(kwargs.get(name), str) and key in doc.get(section, {}):
            doc[section][key] = str(Path(kwargs[name]).resolve())
    return doc
