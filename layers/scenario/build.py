"""From a scenario document to the configuration of its scale.

The raster scales (``micro``, ``meso``, ``national``) are checked by one function,
:func:`check_raster`: the settings from the option schema of the scale's configuration
(:class:`layers.micro.run.MicroConfig`, :class:`layers.meso.run.MesoConfig`,
:class:`layers.national.run.NationalConfig`), the decision analysis from
:class:`layers.decision.DecisionOptions`, the block engine from
:data:`layers.options.ENGINE_OPTIONS`, and by hand only what the schema cannot say:
one study area, factors, weights and AHP matrices, and the aggregation options against
the factors that take part. Macro scenarios are checked by
:func:`layers.scenario.macro.check_macro`.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.errors import DataSourceError, InputError
from layers.options import type_name
from layers.scenario.check import (
    OUTPUT_KEYS,
    SCALES,
    Checker,
    KeyPath,
    Problem,
    ScenarioError,
    check_decision,
    check_engine,
    check_options,
    check_output,
    check_sites,
)
from layers.scenario.factors import (
    check_aggregation_options,
    check_ahp,
    check_factors,
    check_weights,
)
from layers.scenario.macro import MACRO_TOP, check_macro
from layers.scenario.manifest import manifest_scenario
from layers.scenario.read import FORMATS, parse_text, read_text

__all__ = [
    "KNOWN_SCALES",
    "SCALES",
    "Scenario",
    "check_raster",
    "load_scenario",
    "parse_scenario",
    "scenario_from_document",
]

#: The scales the paper defines (all of them have scenarios).
KNOWN_SCALES: tuple[str, ...] = SCALES


@dataclass
class Scenario:
    """A validated scenario, ready to run.

    Attributes
    ----------
    scale
        ``"micro"``, ``"meso"``, ``"national"`` or ``"macro"``.
    source
        The file it came from (or a name given to :func:`parse_scenario`).
    config
        The run parameters: :class:`layers.micro.run.MicroConfig`,
        :class:`layers.meso.run.MesoConfig`, :class:`layers.national.run.NationalConfig`
        or :class:`layers.scenario.macro.MacroRun`.
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

    @property
    def factors(self) -> tuple[Any, ...]:
        """The factors (layers) of the run, with the scenario's weights."""
        config = self.config
        if self.scale == "national":
            return tuple(config.meso_config().factors)
        return tuple(config.factors)


# ---------------------------------------------------------------------------- raster scales
@dataclass(frozen=True)
class _Raster:
    """What differs between the raster scales' scenarios."""

    top: tuple[str, ...]
    area_keys: tuple[str, ...]
    what: str  # "factor" or "layer"
    custom_factors: bool  # [[factors]] tables allowed


_RASTER = {
    "micro": _Raster(
        top=("scale", "title", "description", "area", "data", "grid", "model", "weights", "ahp",
             "factors", "constraints", "sites", "decision", "engine", "output"),
        area_keys=("place", "bbox", "file"), what="factor", custom_factors=True,
    ),
    "meso": _Raster(
        top=("scale", "title", "description", "area", "data", "grid", "model", "weights", "ahp",
             "factors", "constraints", "sites", "decision", "engine", "output"),
        area_keys=("region", "place", "bbox", "file"), what="layer", custom_factors=True,
    ),
    "national": _Raster(
        top=("scale", "description", "area", "data", "grid", "model", "weights", "ahp",
             "constraints", "sites", "decision", "engine", "output"),
        area_keys=("file",), what="layer", custom_factors=False,
    ),
}  # fmt: skip

_TOPS = {**{scale: r.top for scale, r in _RASTER.items()}, "macro": MACRO_TOP}


def _config_class(scale: str) -> tuple[type, tuple[Any, ...]]:
    """The configuration class of a raster scale and its preset factors."""
    if scale == "micro":
        from layers.micro.run import MicroConfig

        return MicroConfig, MicroConfig().preset
    if scale == "meso":
        from layers.meso.run import MesoConfig

        return MesoConfig, MesoConfig().preset
    from layers.national.run import NATIONAL_FACTORS, NationalConfig

    return NationalConfig, NATIONAL_FACTORS


def _value_checks(scale: str) -> dict[str, Callable[[Any], object]]:
    """Checks of single values beyond their declaration (files read, names resolved)."""
    from gis.sources import check_osm_file

    checks: dict[str, Callable[[Any], object]] = {"osm_file": check_osm_file}
    if scale == "meso":
        from layers.china.regions import resolve_metro_region

        checks["region"] = resolve_metro_region
    return checks


def _weights(
    c: Checker, doc: Mapping[str, Any], factors: tuple[Any, ...], what: str
) -> dict[str, float]:
    """Weights from ``[weights]`` or ``[ahp]`` (not both); all zero is a problem."""
    weights: dict[str, float] = {}
    if "weights" in doc and "ahp" in doc:
        c.error(("ahp",), f"give {what} weights either in [weights] or by [ahp], not both")
    elif "weights" in doc:
        weights = check_weights(c, doc["weights"], factors, what=what)
    elif "ahp" in doc:
        weights = check_ahp(c, doc["ahp"], ("ahp",), [f.name for f in factors]) or {}
    final = {f.name: weights.get(f.name, f.weight) for f in factors}
    if final and sum(final.values()) <= 0 and isinstance(doc.get("weights", {}), dict):
        where: KeyPath = ("weights",) if "weights" in doc else ("factors",)
        c.error(where, f"all {what} weights are zero; give at least one weight > 0")
    return weights


def check_raster(c: Checker, doc: dict[str, Any], scale: str) -> tuple[Any, Path | None, bool]:
    """Check a micro, meso or national scenario and build its configuration.

    Returns
    -------
    config, out, overwrite
        The configuration (None if there are problems), the output folder and
        whether it may be replaced.
    """
    spec = _RASTER[scale]
    cls, preset = _config_class(scale)
    kw: dict[str, Any] = {}
    if "title" in doc and c.string(doc["title"], ("title",)) is not None and scale == "micro":
        kw["title"] = doc["title"]
    if "description" in doc:
        c.string(doc["description"], ("description",))
    tables, values = check_options(
        c, doc, cls,
        sections=[s for s in spec.top if s in ("area", "data", "grid", "model", "constraints",
                                              "sites", "output")],
        extra={"model": ["aggregation_options"], "output": OUTPUT_KEYS},
        skip=("tiles", "map_assets"), checks=_value_checks(scale),
    )  # fmt: skip
    kw.update(values)
    given = [k for k in spec.area_keys if k in tables.get("area", {})]
    if len(given) > 1:
        noun = "area" if scale == "micro" else "region"
        c.error(("area", given[1]), f"give one study {noun}, not {' and '.join(given)}")
    data = tables.get("data", {})
    if data.get("online") is True and "osm_file" in data:
        c.error(("data", "online"), "give an OSM file or online = true, not both")
    check_sites(c, tables["sites"], kw)
    out, overwrite = check_output(c, tables["output"], kw)

    factors: tuple[Any, ...] | None = tuple(preset)
    if spec.custom_factors and "factors" in doc:
        factors = check_factors(c, doc["factors"], ("factors",), preset)
    weights: dict[str, float] = {}
    if factors is not None:
        weights = _weights(c, doc, factors, spec.what)
        model = tables["model"]
        if "aggregation_options" in model:
            # checked against the factors that take part (weight > 0), as the run does
            final = {f.name: weights.get(f.name, f.weight) for f in factors}
            options = check_aggregation_options(
                c,
                kw.get("aggregation", "wlc"),
                model["aggregation_options"],
                sum(w > 0 for w in final.values()),
            )
            if options is not None:
                kw["aggregation_options"] = options

    decision = check_decision(c, doc["decision"]) if "decision" in doc else None
    if c.ahp_file is not None:
        from dataclasses import replace

        from layers.decision import DecisionOptions

        file, allow = c.ahp_file
        base = decision if decision is not None else DecisionOptions()
        decision = replace(base, ahp_file=file, allow_inconsistent=allow)
    if decision is not None:
        kw["decision"] = decision
    if "engine" in doc:
        engine = check_engine(c, doc["engine"], cls().engine)
        if engine is not None:
            kw["engine"] = engine

    if c.problems or factors is None:
        return None, out, overwrite
    if spec.custom_factors:
        kw["preset"] = factors
    names = {f.name for f in factors}
    config = cls(weights={k: v for k, v in weights.items() if k in names}, **kw)
    try:
        config.validate()
    except (InputError, DataSourceError) as exc:
        c.error((), str(exc))
        return None, out, overwrite
    return config, out, overwrite


# ---------------------------------------------------------------------------- entry points
def scenario_from_document(
    doc: Any,
    *,
    name: str = "<scenario>",
    lines: Mapping[KeyPath, int] | None = None,
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
        Key path → line number, for messages (see :func:`layers.scenario.read.toml_lines`).
    base
        Folder that relative paths are resolved against.

    Raises
    ------
    ScenarioError
        Listing every problem found.
    """
    c = Checker(name, lines or {}, Path(base) if base is not None else None)
    if not isinstance(doc, dict):
        raise ScenarioError(
            name, [Problem("", f"must hold tables of settings; got {type_name(doc)}")]
        )
    scale = doc.get("scale")
    named = scale if isinstance(scale, str) and scale in _TOPS and scale != "micro" else None
    c.table(
        doc,
        (),
        _TOPS[named or "micro"],
        what=f"a {named} scenario" if named else None,
    )
    if scale is None:
        c.error(
            (), f"missing key 'scale' (one of {', '.join(KNOWN_SCALES)}); e.g. scale = \"micro\""
        )
        raise ScenarioError(name, c.problems)
    if c.string(scale, ("scale",), choices=list(KNOWN_SCALES)) is None:
        raise ScenarioError(name, c.problems)
    if scale == "macro":
        config, out, overwrite = check_macro(c, doc)
    else:
        config, out, overwrite = check_raster(c, doc, scale)
    if c.problems:
        raise ScenarioError(name, c.problems)
    return Scenario(scale, name, config, out, overwrite, dict(doc))


def parse_scenario(
    text: str, *, name: str = "<scenario>", fmt: str = "toml", base: str | Path | None = None
) -> Scenario:
    """Parse and validate scenario text (``fmt`` ``"toml"``, ``"yaml"`` or ``"json"``).

    A JSON text holding a run's manifest (``parameters`` and ``outputs``) is the
    scenario that reproduces the run (see :func:`layers.scenario.manifest.manifest_scenario`).
    """
    if fmt not in ("toml", "yaml", "json"):
        raise InputError(f"scenario format must be toml, yaml or json; got {fmt!r}")
    doc, lines = parse_text(text, fmt, name)
    if fmt == "json" and isinstance(doc, dict) and "parameters" in doc and "outputs" in doc:
        # relative inputs of a manifest are found from its folder, as those of a scenario
        return scenario_from_document(
            manifest_scenario(doc, name=name, base=base), name=name, base=base
        )
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
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ScenarioError(
            str(path),
            [
                Problem(
                    "", "unknown scenario format; use a .toml, .yaml/.yml or manifest .json file"
                )
            ],
        )
    text = read_text(p)
    return parse_scenario(text, name=str(path), fmt=fmt, base=p.resolve().parent)
