"""Macro scenarios: the arguments of :func:`layers.macro.run.run_macro` in tables.

A macro scenario (``scale = "macro"``) tiers cities or regions: ``[data]``,
``[geometry]``, ``[method]``, ``[weights]``, ``[ahp]``, ``[robustness]``, ``[links]``
and ``[output]``. Keys, kinds and checks are those of
:class:`layers.macro.options.MacroOptions`. A macro manifest records the run's options,
so a macro run replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from layers.macro.options import MacroOptions, macro_document
from layers.scenario.check import (
    OUTPUT_KEYS,
    Checker,
    Problem,
    ScenarioError,
    check_options,
    check_output,
)

__all__ = [
    "MACRO_TOP",
    "MacroRun",
    "check_macro",
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
    """

    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def national(self) -> str | None:
        """The country whose cities are the units, or None."""
        return self.kwargs.get("national")

    @property
    def factors(self) -> tuple[Any, ...]:
        """Nothing: macro runs weigh indicators, not factor layers."""
        return ()


MACRO_TOP = (
    "scale", "description", "data", "geometry", "method", "weights", "ahp", "robustness",
    "links", "output",
)  # fmt: skip

#: ``[method]`` keys that make a :class:`layers.macro.run.Method`.
_METHOD = ("normalization", "weighting", "composite", "breaks")


def _tier_names(value: Any) -> None:
    from layers.macro.run import tier_names

    tier_names(value)


def check_macro(c: Checker, doc: dict[str, Any]) -> tuple[Any, Path | None, bool]:
    """Check a macro scenario document and build its :class:`MacroRun` (None if invalid).

    Keys, kinds, ranges and choices are the declarations of
    :class:`layers.macro.options.MacroOptions`; the rules across keys are here.
    """
    from layers.macro.run import Method

    if "description" in doc:
        c.string(doc["description"], ("description",))
    tables, kw = check_options(
        c, doc, MacroOptions, extra={"output": OUTPUT_KEYS}, skip=("tiles", "map_assets"),
        checks={"tiers": _tier_names},
    )  # fmt: skip
    out, overwrite = check_output(c, tables["output"], kw)
    data = tables["data"]
    if "table" in data and "national" in data:
        c.error(("data", "national"), "give either a table or national, not both")
    if "indicators" in data and "table" not in data and "national" not in data:
        c.error(("data", "indicators"), "the paper's indicators are fixed; give a table too")
    if "table" in data and "indicators" not in data:
        c.error(("data", "table"), "needs indicators = [the indicator columns]")
    if "units" in data and ("table" in data or "national" in data):
        c.error(("data", "units"), "selects the paper's regions; not with a table")
    defaults = MacroOptions()
    weighting = kw.get("weighting", tables["method"].get("weighting", defaults.weighting))
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
    breaks = kw.get("breaks", tables["method"].get("breaks", defaults.breaks))
    if breaks == "user" and "thresholds" not in tables["method"]:
        c.error(("method", "breaks"), '"user" needs thresholds = [index thresholds]')
    elif "thresholds" in tables["method"] and breaks != "user":
        c.error(("method", "thresholds"), 'thresholds need breaks = "user"')
    if c.problems:
        return None, out, overwrite
    kw["method"] = Method(*(kw.pop(k, getattr(defaults, k)) for k in _METHOD))
    if kw.get("neighbour_distance") == 0:
        kw["neighbour_distance"] = None
    if weights is not None:
        kw["weights"] = weights
    return MacroRun(kw), out, overwrite


def macro_manifest_document(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The scenario document that replays a macro run: from the options its manifest records."""
    extra = manifest.get("extra") or {}
    recorded = extra.get("options")
    if isinstance(recorded, dict):
        names = {f.name for f in fields(MacroOptions)}
        unknown = [k for k in recorded if k not in names]
        if not unknown:
            return macro_document(MacroOptions(**recorded))
        problem = f"records options this version does not know: {', '.join(unknown)}"
        raise ScenarioError(name, [Problem("extra.options", problem)])
    doc = extra.get("scenario")  # manifests written before the options were recorded
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
    result = run_macro(out, overwrite=overwrite, command=command, **run.kwargs)
    paths = {name: Path(out) / name for name in result.files}
    return result, {"manifest": Path(out) / "manifest.json", **paths}
