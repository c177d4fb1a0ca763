"""Scenario documents of runs: from a configuration's parameters or a ``manifest.json``.

The ``manifest.json`` of a micro, meso or macro run is itself a scenario: the
settings it records under ``parameters`` are written back as scenario tables — every
option of the configuration that has a scenario key (from the option schema), the
aggregation and its options, ``[decision]``, ``[ahp]``, ``[engine]`` and the factors —
so replaying it runs exactly what ran. Input files must still have the checksums the
manifest recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from layers.options import ENGINE_OPTIONS, MAP_OPTIONS, options_of
from layers.scenario.check import Problem, ScenarioError
from layers.scenario.macro import macro_manifest_document
from layers.scenario.read import parse_text, read_text

__all__ = [
    "REPLAY_SCALES",
    "decision_document",
    "engine_document",
    "factors_document",
    "input_problems",
    "manifest_document",
    "manifest_scenario",
    "meso_document",
    "micro_document",
    "national_document",
    "raster_document",
]

#: Scales whose manifests replay.
REPLAY_SCALES: tuple[str, ...] = ("micro", "meso", "macro")

#: Fields of the ``[output]`` table, written by :func:`raster_document` itself.
_MAP_FIELDS = ("tiles", "map_assets")


def _config_class(scale: str) -> type:
    if scale == "micro":
        from layers.micro.run import MicroConfig

        return MicroConfig
    if scale == "meso":
        from layers.meso.run import MesoConfig

        return MesoConfig
    from layers.national.run import NationalConfig

    return NationalConfig


def decision_document(params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``[decision]`` and ``[ahp]`` tables of a run's decision options.

    Only settings that differ from :class:`layers.decision.DecisionOptions`
    defaults are written; Locate Regions settings bring ``regions`` along.
    """
    from layers.decision import DecisionOptions
    from layers.scenario.check import SENSITIVITY_KEYS

    if not isinstance(params, Mapping):
        return {}, {}
    defaults = DecisionOptions()
    table: dict[str, Any] = {}
    for spec in options_of(DecisionOptions).values():
        if spec.section != "decision" or spec.leaf is None or spec.name not in params:
            continue
        if params[spec.name] != getattr(defaults, spec.name):
            table[spec.leaf] = params[spec.name]
    if any(k not in SENSITIVITY_KEYS for k in table):
        table = {"regions": params.get("regions", 0), **table}
    ahp_table: dict[str, Any] = {}
    if params.get("ahp_file"):
        ahp_table = {
            "file": params["ahp_file"],
            "allow_inconsistent": bool(params.get("allow_inconsistent")),
        }
    return table, ahp_table


def engine_document(params: Any, default: Any) -> dict[str, Any]:
    """The ``[engine]`` table of a run's engine: the settings that differ from ``default``."""
    if not isinstance(params, Mapping):
        return {}
    table = {}
    for spec in ENGINE_OPTIONS.values():
        value = params.get(spec.name)
        if spec.leaf is not None and value is not None and value != getattr(default, spec.name):
            table[spec.leaf] = value
    return table


def raster_document(params: Mapping[str, Any], scale: str) -> dict[str, Any]:
    """A scenario document from the parameters of a micro, meso or national run.

    ``params`` is the run's configuration as plain values (the ``parameters`` a
    manifest records). Every option with a scenario key is written unless it is
    null (so its default applies), and so are the aggregation options, the decision
    analysis, the engine and the base map.
    """
    cls = _config_class(scale)
    doc: dict[str, Any] = {"scale": scale}
    for spec in options_of(cls).values():
        if spec.key is None or spec.name in _MAP_FIELDS:
            continue
        value = params.get(spec.name)
        if value is None or spec.section is None or spec.leaf is None:
            continue
        table = doc.setdefault(spec.section, {})
        table[spec.leaf] = list(value) if isinstance(value, tuple) else value
    if params.get("aggregation_options"):
        doc.setdefault("model", {})["aggregation_options"] = dict(params["aggregation_options"])
    decision, ahp_table = decision_document(params.get("decision"))
    if decision:
        doc["decision"] = decision
    if ahp_table:
        doc["ahp"] = ahp_table
    engine = engine_document(params.get("engine"), cls().engine)
    if engine:
        doc["engine"] = engine
    tiles = params.get("tiles", "OpenStreetMap")
    doc["output"] = {
        **doc.get("output", {}),
        "tiles": tiles if tiles else False,
        "map_assets": params.get("map_assets", MAP_OPTIONS["map_assets"].default),
    }
    return doc


def factors_document(records: Any) -> list[dict[str, Any]]:
    """``[[factors]]`` tables from the factor records of a manifest's parameters."""

    def some(**items: Any) -> dict[str, Any]:
        return {k: v for k, v in items.items() if v is not None}

    def source(cr: Mapping[str, Any]) -> dict[str, Any] | None:
        data = cr.get("data")
        if not data:
            return None
        named = {"name": cr["source"]} if cr.get("source") not in (None, cr.get("name")) else {}
        return {**named, **data}

    factors = []
    for f in records:
        criteria = [
            some(
                name=cr.get("name"),
                source=source(cr),
                description=cr.get("description") or None,
                measure=cr.get("measure"),
                measure_params=dict(cr.get("measure_params") or {}) or None,
                transform=cr.get("transform"),
                transform_params=dict(cr.get("transform_params") or {}),
                weight=cr.get("weight"),
                when_empty=cr.get("when_empty"),
                absolute_params=dict(cr.get("absolute_params") or {}) or None,
                tags=dict(cr.get("tags") or {}) or None,
            )
            for cr in f.get("criteria", [])
        ]
        factors.append(
            some(
                name=f.get("name"),
                title=f.get("title"),
                weight=f.get("weight"),
                rationale=f.get("rationale") or None,
                criteria=criteria,
            )
        )
    return factors


def micro_document(params: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario document from the parameters of a micro run.

    ``params`` is :func:`layers.micro.run.config_dict` of a run's configuration, as
    every ``manifest.json`` records it under ``"parameters"``. Values that are
    absent or null are left out, so defaults apply.
    """
    factors = factors_document(params.get("factors", []))
    doc = raster_document(params, "micro")
    title = params.get("title") or _config_class("micro")().title
    doc = {"scale": "micro", "title": title, **doc}
    doc["factors"] = factors
    return doc


def meso_document(params: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario document from the parameters of a meso run (its manifest's ``parameters``).

    Every recorded setting is written, so a replay does not depend on defaults.
    """
    doc = raster_document(params, "meso")
    if params.get("weights"):
        doc["weights"] = dict(params["weights"])
    if params.get("factors"):  # the run's own factors (user sources)
        doc["factors"] = factors_document(params["factors"])
    return doc


def national_document(config: Any) -> dict[str, Any]:
    """The scenario document of a :class:`layers.national.run.NationalConfig`."""
    params = {name: getattr(config, name) for name in options_of(config)}
    params.update(
        aggregation_options=dict(config.aggregation_options),
        decision=asdict(config.decision),
        engine=asdict(config.engine),
    )
    doc = raster_document(params, "national")
    doc["weights"] = {f.name: f.weight for f in config.meso_config().factors}
    return doc


def input_problems(
    manifest: Mapping[str, Any], scale: str = "micro", *, base: str | Path | None = None
) -> list[Problem]:
    """Inputs whose files are gone or changed since the run (relative paths from ``base``)."""
    from gis.io import file_checksum

    problems = []
    for i, item in enumerate(manifest.get("inputs", [])):
        if not isinstance(item, dict) or not item.get("path") or not item.get("sha256"):
            continue
        path = Path(item["path"])
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
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


def _manifest_scale(manifest: Mapping[str, Any], name: str) -> str:
    scale = (manifest.get("extra") or {}).get("scale")
    if scale not in REPLAY_SCALES:
        raise ScenarioError(
            name,
            [
                Problem(
                    "extra.scale",
                    f"only manifests of {', '.join(REPLAY_SCALES)} runs can be replayed; "
                    f"got {scale!r}",
                )
            ],
        )
    return str(scale)


def _document(manifest: Mapping[str, Any], scale: str, name: str) -> dict[str, Any]:
    if scale == "macro":
        return macro_manifest_document(manifest, name)
    params = manifest.get("parameters")
    needed = "factors" if scale == "micro" else "layers"
    if not isinstance(params, dict) or needed not in params:
        raise ScenarioError(name, [Problem("parameters", f"missing or without {needed!r}")])
    return micro_document(params) if scale == "micro" else meso_document(params)


def manifest_scenario(
    manifest: Mapping[str, Any], *, name: str, base: str | Path | None = None
) -> dict[str, Any]:
    """The scenario document that replays the run of ``manifest`` (inputs checked).

    Relative input paths are found from ``base`` (the manifest's folder) when given.

    Raises
    ------
    ScenarioError
        The manifest is not of a replayable run, or an input file is gone or changed.
    """
    scale = _manifest_scale(manifest, name)
    doc = _document(manifest, scale, name)
    problems = input_problems(manifest, scale, base=base)
    if problems:
        raise ScenarioError(name, problems)
    return doc


def manifest_document(path: str | Path) -> dict[str, Any]:
    """The scenario document of a run's ``manifest.json`` (for writing as TOML)."""
    p = Path(path)
    manifest, _ = parse_text(read_text(p), "json", str(path))  # syntax errors: one line
    if not isinstance(manifest, dict) or "parameters" not in manifest:
        raise ScenarioError(str(path), [Problem("", "is not an innosite manifest (no parameters)")])
    return _document(manifest, _manifest_scale(manifest, str(path)), str(path))
