"""Scenario files follow the option schema and the measure registry; manifests replay options."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gis.engine import Engine
from layers.cli.main import main
from layers.decision import DecisionOptions
from layers.measures import MEASURES, Measure, Measured, measure_params, register_measure
from layers.meso.run import MesoConfig
from layers.micro.run import MicroConfig
from layers.national.run import NationalConfig
from layers.options import check_value, options_of
from layers.scenario import (
    ScenarioError,
    load_scenario,
    meso_document,
    parse_scenario,
    preset_text,
    scenario_toml,
)

FACTOR = """
[[factors]]
name = "incubators"
weight = 1

  [[factors.criteria]]
  name = "incubator_reach"
  measure = "{measure}"
  transform = "linear"
  transform_params = {{ lower_threshold = 0, upper_threshold = 1000 }}
  {params}
  [factors.criteria.tags]
  office = ["company"]
"""


def micro(measure: str, params: str = "") -> str:
    return 'scale = "micro"\n' + FACTOR.format(measure=measure, params=params)


@pytest.fixture
def reach():
    """A measure registered by a test: nothing else knows its name or parameters."""

    def function(ctx, crit) -> Measured:  # pragma: no cover - not run here
        return Measured(np.zeros(ctx.grid.shape, "float32"), 0)

    register_measure(Measure(name="reach_index", units="index", function=function,
                             params={"radius": 750.0, "steps": 3.0}))  # fmt: skip
    yield MEASURES["reach_index"]
    del MEASURES["reach_index"]


def test_a_registered_measure_is_accepted_with_its_parameters(reach):
    config = parse_scenario(micro("reach_index", "measure_params = { steps = 5 }")).config
    (crit,) = next(f for f in config.factors if f.name == "incubators").criteria
    assert crit.measure == "reach_index" and crit.source == "osm"
    assert dict(crit.measure_params) == {"steps": 5}
    # the parameter not given takes the registered default when the measure runs
    assert measure_params(crit) == {"radius": 750.0, "steps": 5}


def test_an_unknown_measure_parameter_names_the_measures_parameters(reach):
    with pytest.raises(ScenarioError) as bad:
        parse_scenario(micro("reach_index", "measure_params = { radios = 5 }"), name="s.toml")
    (problem,) = bad.value.problems
    assert problem.key == "factors[incubators].criteria[incubator_reach].measure_params.radios"
    assert problem.line == 12
    assert problem.message == (
        "unknown key; did you mean 'radius'? measure 'reach_index' takes radius, steps"
    )


def test_a_measure_without_parameters_takes_none():
    with pytest.raises(ScenarioError) as bad:
        parse_scenario(micro("distance", "measure_params = { radius = 5 }"), name="s.toml")
    assert "measure 'distance' takes (no parameters)" in bad.value.problems[0].message


def test_measure_names_and_parameters_come_from_the_registry(reach):
    # every registered measure name is a choice; a removed one is not
    with pytest.raises(ScenarioError) as bad:
        parse_scenario(micro("reach_indx"), name="s.toml")
    assert "did you mean 'reach_index'" in bad.value.problems[0].message
    for name, measure in MEASURES.items():
        for param, default in measure.params.items():
            text = micro(name, f"measure_params = {{ {param} = {default!r} }}")
            if name in ("center_distance", "raster_value"):
                continue  # no tags: the centre, or a raster source (test_user_sources)
            parse_scenario(text)  # accepted
            with pytest.raises(ScenarioError, match=r"must be > 0; got -1"):
                parse_scenario(micro(name, f"measure_params = {{ {param} = -1 }}"))


def _schema_cases():
    """``(scale, option, bad value)`` for every range of every raster scale's scenario keys."""
    for scale, cls in (("micro", MicroConfig), ("meso", MesoConfig), ("national", NationalConfig)):
        for spec in [*options_of(cls).values(), *options_of(DecisionOptions).values()]:
            check = spec.check
            # [ahp] is read with its matrix
            if spec.key is None or spec.key.startswith("ahp.") or check is None:
                continue
            if check.choices is not None:
                yield scale, spec, "not-a-choice"
                continue
            low = check.low() if callable(check.low) else check.low
            high = check.high() if callable(check.high) else check.high
            if high is not None:
                yield scale, spec, high + 1
            elif low is not None:
                yield scale, spec, low - 1


CASES = list(_schema_cases())


@pytest.mark.parametrize(
    ("scale", "spec", "value"), CASES, ids=[f"{c[0]}-{c[1].key}" for c in CASES]
)
def test_every_scenario_key_of_the_schema_is_checked_with_its_message(scale, spec, value):
    section, key = spec.key.rsplit(".", 1)
    regions = "regions = 2\n" if section == "decision" and key != "regions" else ""
    text = f'scale = "{scale}"\n[{section}]\n{regions}{key} = {json.dumps(value)}\n'
    with pytest.raises(ScenarioError) as bad:
        parse_scenario(text, name="s.toml")
    assert [p.message for p in bad.value.problems] == [check_value(spec, value)]
    assert bad.value.problems[0].key == spec.key
    assert bad.value.problems[0].line == 3 + bool(regions)


def test_national_preset_is_valid_and_keeps_the_defaults(tmp_path, capsys):
    text = preset_text("national", file="china.toml")
    tomllib.loads(text)
    scenario = parse_scenario(text, name="china.toml")
    defaults = NationalConfig()
    weights = {f.name: f.weight for f in defaults.meso_config().factors}
    assert scenario.scale == "national"
    assert scenario.config == NationalConfig(weights=weights)
    target = tmp_path / "china.toml"
    assert main(["init", "national", str(target)]) == 0
    capsys.readouterr()
    assert main(["run", "--check", str(target)]) == 0
    assert "valid national scenario; layers " in capsys.readouterr().out


def test_national_settings_reach_the_config():
    text = (
        'scale = "national"\n[grid]\ncell_size = 2000\n[model]\naggregation = "owa"\n'
        "aggregation_options = { orness = 0.3 }\n[output]\nkeep_raw = true\n"
        '[engine]\nkind = "memory"\n[decision]\nsensitivity = 3\n'
    )
    config = parse_scenario(text).config
    assert (config.cell_size, config.aggregation, config.keep_raw) == (2000.0, "owa", True)
    assert config.aggregation_options == {"orness": 0.3}
    assert config.engine == Engine("memory", memory_budget=2**30)
    assert config.decision == DecisionOptions(sensitivity=3)
    with pytest.raises(ScenarioError) as bad:
        parse_scenario('scale = "national"\n[grid]\ncell_size = 100\n', name="n.toml")
    assert bad.value.problems[0].message == "must be >= 250 and <= 5000 metres; got 100"


def test_meso_document_writes_every_option_and_reads_back():
    config = MesoConfig(
        cell_size=2000.0, aggregation="owa", aggregation_options={"orness": 0.3},
        decision=DecisionOptions(regions=2, total_area_ha=800.0, seed=3),
        engine=Engine("windows", memory_budget=64 * 2**20), map_assets="inline", tiles=None,
    )  # fmt: skip
    from layers.meso.run import config_dict

    doc = meso_document(config_dict(config))
    assert doc["model"]["aggregation"] == "owa"
    assert doc["model"]["aggregation_options"] == {"orness": 0.3}
    assert doc["decision"] == {"regions": 2, "total_area_ha": 800.0, "seed": 3}
    assert doc["engine"] == {"kind": "windows", "memory_budget": 64 * 2**20}
    assert doc["output"] == {"tiles": False, "map_assets": "inline", "lang": "en"}
    again = parse_scenario(scenario_toml(doc)).config
    assert again == config


def _same_rasters(a: Path, b: Path) -> None:
    tifs = sorted(p.relative_to(a) for p in a.rglob("*.tif"))
    assert tifs and tifs == sorted(p.relative_to(b) for p in b.rglob("*.tif"))
    for rel in tifs:
        with rasterio.open(a / rel) as x, rasterio.open(b / rel) as y:
            np.testing.assert_array_equal(x.read(), y.read(), err_msg=str(rel))
            assert x.transform == y.transform and x.crs == y.crs


def test_meso_run_with_owa_regions_and_engine_replays_exactly(tmp_path, capsys):
    first = tmp_path / "first"
    args = ["meso", "--cell-size", "2000", "--min-area", "400", "--no-tiles", "-q"]
    args += ["--aggregation", "owa", "--orness", "0.3", "--regions", "2", "--total-area", "2000"]
    args += ["--engine", "windows", "--memory-budget", "8MiB"]
    assert main([*args, "--out", str(first)]) == 0
    manifest = json.loads((first / "manifest.json").read_text())
    params = manifest["parameters"]
    assert params["aggregation"] == "owa" and params["decision"]["regions"] == 2
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "-q"]) == 0
    capsys.readouterr()
    _same_rasters(first, replay)
    again = json.loads((replay / "manifest.json").read_text())["parameters"]
    assert again == params
    scenario = load_scenario(first / "manifest.json")
    assert scenario.config.engine == Engine("windows", memory_budget=8 * 2**20)
    assert scenario.config.aggregation_options == {"orness": 0.3}
