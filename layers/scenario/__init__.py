"""Scenario files: a whole run described in one TOML (or YAML) file.

A scenario names the scale and everything a run needs: the study area, the data,
the grid, the factors with their OpenStreetMap tags, measures, transforms and
weights (direct or from an AHP matrix), the aggregation, the constraints, the
rules for candidate districts, the decision analysis, the block engine and the
outputs. ``innosite init micro`` writes a commented preset to start from;
``innosite run scenario.toml`` runs it.

Validation happens before anything is read or written. Every problem is
reported at once, each with the file, the line (TOML and YAML) and the key, and
what is wrong — unknown keys (with the closest valid name), wrong types, values
out of range, missing files or tags — as a :class:`ScenarioError`. The settings
are checked from the option schema of the scale's configuration
(:mod:`layers.options`), with the messages the command line gives; the measures
and their parameters come from the registry :data:`layers.measures.MEASURES`.

Scales: ``"micro"`` (:class:`layers.micro.run.MicroConfig`), ``"meso"``
(:class:`layers.meso.run.MesoConfig`), ``"national"``
(:class:`layers.national.run.NationalConfig`) and ``"macro"`` (the arguments of
:func:`layers.macro.run.run_macro`, as a :class:`MacroRun`; their options are
:class:`layers.macro.options.MacroOptions`).

The ``manifest.json`` of a micro, meso or macro run is itself a scenario:
:func:`load_scenario` reads its parameters, checks that the input files still have
the checksums the manifest recorded, and the run reproduces the outputs.

Paths in a scenario file are relative to the file's folder.

Modules: :mod:`~layers.scenario.read` (text and lines), :mod:`~layers.scenario.check`
(problems, the schema-driven checks), :mod:`~layers.scenario.factors` (factors,
criteria, weights, AHP), :mod:`~layers.scenario.build` (document -> configuration),
:mod:`~layers.scenario.macro` (macro scenarios), :mod:`~layers.scenario.manifest`
(run -> document), :mod:`~layers.scenario.document` (TOML, presets) and
:mod:`~layers.scenario.run`.
"""

from layers.macro.options import macro_document
from layers.scenario.build import (
    KNOWN_SCALES,
    SCALES,
    Scenario,
    load_scenario,
    parse_scenario,
    scenario_from_document,
)
from layers.scenario.check import Problem, ScenarioError
from layers.scenario.document import preset_text, scenario_toml, write_preset
from layers.scenario.macro import MacroRun
from layers.scenario.manifest import (
    manifest_document,
    meso_document,
    micro_document,
    national_document,
)
from layers.scenario.read import toml_lines, yaml_lines
from layers.scenario.run import run_scenario

__all__ = [
    "KNOWN_SCALES",
    "SCALES",
    "MacroRun",
    "Problem",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "macro_document",
    "manifest_document",
    "meso_document",
    "micro_document",
    "national_document",
    "parse_scenario",
    "preset_text",
    "run_scenario",
    "scenario_from_document",
    "scenario_toml",
    "toml_lines",
    "write_preset",
    "yaml_lines",
]
