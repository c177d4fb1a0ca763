"""Macro scenario files: preset, validation messages, runs and the replay of their manifests."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from layers.cli.main import main
from layers.macro.run import Method
from layers.scenario import MacroRun, ScenarioError, load_scenario, parse_scenario, preset_text

HEAD = 'scale = "macro"\n'
#: Few weight draws keep the runs short.
QUICK = HEAD + "[robustness]\ndraws = 40\n[output]\ntiles = false\n"

CITIES = """unit,lon,lat,rd,patents,cost_index
Alpha,116.4,39.9,9.1,820,3.0
Beta,121.5,31.2,8.7,790,2.5
Gamma,113.3,23.1,7.9,700,2.8
Delta,114.3,30.6,4.2,300,1.5
Epsilon,104.1,30.7,3.9,280,1.4
Zeta,108.9,34.3,3.1,210,1.2
Eta,117.2,39.1,1.2,90,1.0
Theta,106.6,26.6,1.0,60,0.9
"""


def write(tmp_path: Path, text: str, name: str = "macro.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_macro_preset_is_valid_and_keeps_the_defaults():
    text = preset_text("macro")
    tomllib.loads(text)
    run = parse_scenario(text).config
    assert isinstance(run, MacroRun) and run.national is None
    assert run.kwargs["method"] == Method()
    assert "tiers" not in run.kwargs  # None: the run's preset default
    assert (run.kwargs["draws"], run.kwargs["half_distance"]) == (1000, 800.0)
    assert "# tiers = 3" in text
    assert '# table = "cities.csv"' in text and "[links]" in text
    assert max(len(line) for line in text.splitlines() if line.startswith("#")) <= 100


def test_init_macro_writes_the_preset(tmp_path, capsys):
    target = tmp_path / "tiers.toml"
    assert main(["init", "macro", str(target)]) == 0
    assert "innosite run" in capsys.readouterr().out
    assert load_scenario(target).out == tmp_path / "innosite-macro"


def test_macro_settings_reach_the_run(tmp_path):
    write(tmp_path, CITIES, "cities.csv")
    text = HEAD + (
        '[data]\ntable = "cities.csv"\nindicators = ["rd", "patents", "cost_index"]\n'
        'cost = ["cost_index"]\nunit_column = "unit"\n'
        '[method]\nweighting = "user"\nbreaks = "user"\nthresholds = [0.3, 0.6]\n'
        'tiers = ["top", "middle", "bottom"]\n'
        "[weights]\nrd = 2\npatents = 1\ncost_index = 1\n"
        "[links]\nhalf_distance = false\nneighbour_distance = 0\n"
    )
    kw = load_scenario(write(tmp_path, text)).config.kwargs
    assert kw["table"] == str(tmp_path / "cities.csv")
    assert kw["method"] == Method(weighting="user", breaks="user")
    assert kw["weights"] == {"rd": 2.0, "patents": 1.0, "cost_index": 1.0}
    assert kw["thresholds"] == [0.3, 0.6] and kw["tiers"] == ["top", "middle", "bottom"]
    assert kw["half_distance"] is None and kw["neighbour_distance"] is None


BAD = {
    # name: (scenario text, line, key, message)
    "unknown key": (HEAD + "[method]\nbreak = 'user'\n", 3, "method.break", "'breaks'"),
    "micro section": (HEAD + "[grid]\ncell_size = 25\n", 2, "grid", "a macro scenario takes"),
    "bad choice": (
        HEAD + "[method]\nnormalization = 'min_max'\n",
        3,
        "method.normalization",
        "'minmax'",
    ),
    "one tier": (HEAD + "[method]\ntiers = 1\n", 3, "method.tiers", "at least 2 tiers"),
    "user weights missing": (
        HEAD + "[method]\nweighting = 'user'\n",
        3,
        "method.weighting",
        "needs a [weights]",
    ),
    "weights without user": (HEAD + "[weights]\nrd = 1\n", 2, "weights", 'weighting = "user"'),
    "thresholds missing": (
        HEAD + "[method]\nbreaks = 'user'\n",
        3,
        "method.breaks",
        "needs thresholds",
    ),
    "no draws": (HEAD + "[robustness]\ndraws = 0\n", 3, "robustness.draws", ">= 1"),
    "fractional seed": (HEAD + "[robustness]\nseed = 1.5\n", 3, "robustness.seed", "whole number"),
    "negative half distance": (
        HEAD + "[links]\nhalf_distance = -5\n",
        3,
        "links.half_distance",
        "or false",
    ),
    "table without indicators": (
        HEAD + "[data]\ntable = 'cities.csv'\n",
        3,
        "data.table",
        "needs indicators",
    ),
    "missing table": (
        HEAD + "[data]\ntable = 'nowhere.csv'\nindicators = ['rd']\n",
        3,
        "data.table",
        "not found",
    ),
    "ahp without weighting": (HEAD + "[ahp]\nfile = 'cities.csv'\n", 2, "ahp", 'weighting = "ahp"'),
}


@pytest.mark.parametrize("case", list(BAD))
def test_invalid_macro_scenario_is_refused_with_file_line_key(case, tmp_path, capsys):
    text, line, key, message = BAD[case]
    write(tmp_path, CITIES, "cities.csv")
    path = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problem = info.value.problems[0]
    assert len(info.value.problems) == 1, info.value.problems
    assert message in problem.message, problem
    assert key in problem.key, problem
    assert problem.line == line, problem
    assert err.startswith(f"innosite run: error: {path}:{line}: "), err


def _same_outputs(a: Path, b: Path) -> None:
    for name in ("tiers.csv", "methods.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name))
    ma = json.loads((a / "manifest.json").read_text())
    mb = json.loads((b / "manifest.json").read_text())
    assert ma["parameters"] == mb["parameters"]
    assert ma["extra"]["weights"] == mb["extra"]["weights"]
    assert ma["extra"]["scenario"] == mb["extra"]["scenario"]
    assert ma["extra"]["options"] == mb["extra"]["options"]


@pytest.mark.slow
def test_macro_scenario_runs_and_replays(tmp_path, capsys):
    path = write(tmp_path, QUICK + '[method]\ntiers = 4\nweighting = "entropy"\n')
    first = tmp_path / "first"
    assert main(["run", str(path), "--out", str(first)]) == 0
    assert "Spillover links" in capsys.readouterr().out  # the macro report
    tiers = pd.read_csv(first / "tiers.csv")
    assert len(tiers) == 14 and tiers["tier"].nunique() == 4
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["extra"]["scale"] == "macro"
    assert manifest["parameters"]["method"]["weighting"] == "entropy"
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(replay)
    _same_outputs(first, replay)


def test_macro_command_with_a_table_replays_and_refuses_changed_tables(tmp_path, capsys):
    table = write(tmp_path, CITIES, "cities.csv")
    first = tmp_path / "first"
    args = ["macro", "--table", str(table), "--indicators", "rd,patents,cost_index"]
    args += ["--cost", "cost_index", "--unit-column", "unit", "--weights", "user"]
    args += ["--weight", "rd=2", "--weight", "patents=1", "--weight", "cost_index=1"]
    args += ["--classic-gravity", "--draws", "30", "--no-tiles", "-q", "--out", str(first)]
    assert main(args) == 0
    scenario = tmp_path / "again.toml"
    assert (
        main(["init", "macro", str(scenario), "--from-manifest", str(first / "manifest.json")]) == 0
    )
    written = tomllib.loads(scenario.read_text())
    assert written["links"]["half_distance"] is False
    assert written["weights"] == {"rd": 2.0, "patents": 1.0, "cost_index": 1.0}
    capsys.readouterr()
    assert main(["run", str(scenario), "--out", str(tmp_path / "second"), "-q"]) == 0
    _same_outputs(first, tmp_path / "second")
    table.write_text(CITIES.replace("9.1", "9.3"), encoding="utf-8")
    assert main(["run", str(first / "manifest.json"), "--out", str(tmp_path / "third")]) == 2
    assert "has changed since the run" in capsys.readouterr().err
    assert not (tmp_path / "third").exists()


# ---------------------------------------------------------------------------- one option schema
def _macro_parser():
    import argparse

    from layers.cli import macro as macro_cli

    parser = argparse.ArgumentParser()
    macro_cli.add_arguments(parser)
    return parser


def test_every_macro_option_has_one_default_on_cli_scenario_and_run():
    import inspect

    from layers.cli.macro import macro_options
    from layers.macro.options import MacroOptions
    from layers.macro.run import run_macro
    from layers.options import options_of

    specs = options_of(MacroOptions)
    defaults = MacroOptions()
    # the command line: nothing given -> every field at the dataclass default
    args = _macro_parser().parse_args([])
    assert macro_options(args) == defaults
    # the run: its keyword defaults are the dataclass defaults
    params = inspect.signature(run_macro).parameters
    method = params["method"].default
    for name, spec in specs.items():
        expected = spec.default
        got = getattr(method, name) if name in vars(method) else params[name].default
        if spec.factory is not None:  # a default made at run time (lang: from the locale)
            assert got is None and expected is None, name
            assert getattr(defaults, name) == spec.factory(), name
            continue
        assert got == expected == getattr(defaults, name), name
    # the scenario: the preset writes every set default and reads it back unchanged
    kw = parse_scenario(preset_text("macro")).config.kwargs
    kw.update(vars(kw.pop("method")))
    written = {n for n, s in specs.items() if s.key is not None and getattr(defaults, n)}
    written -= {"national_top", "national_index", "national_measure", "allow_inconsistent",
                "tiles", "map_assets", "lang"}  # fmt: skip
    assert written <= set(kw), written - set(kw)
    for name in written:
        assert kw[name] == getattr(defaults, name), name
    assert type(kw["draws"]) is int and type(kw["concentration"]) is float
    # an empty macro scenario leaves every option to the run's defaults
    assert parse_scenario(HEAD).config.kwargs == {"method": Method()}


def _out_of_range(spec):
    check = spec.check
    if check.low is not None:
        value = check.low if check.low_open else check.low - 1
    else:
        value = check.high + 1
    return int(value) if spec.kind == "integer" else float(value)


def _range_options():
    from layers.macro.options import MacroOptions
    from layers.options import options_of

    return [
        s
        for s in options_of(MacroOptions).values()
        if s.check is not None and s.check.choices is None and s.flags and s.key
    ]


def test_macro_range_options_are_declared():
    names = {s.name for s in _range_options()}
    assert {"draws", "concentration", "seed", "head_share", "half_distance", "exponent",
            "tier_factor", "neighbour_distance", "neighbour_half_distance", "link_top",
            "strong_threshold", "national_top"} == names  # fmt: skip


@pytest.mark.parametrize("name", [s.name for s in _range_options()])
def test_out_of_range_macro_value_fails_alike_on_cli_and_in_scenario(name, tmp_path, capsys):
    spec = next(s for s in _range_options() if s.name == name)
    value = _out_of_range(spec)
    # the scenario file
    section, key = spec.key.rsplit(".", 1)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"{HEAD}[{section}]\n{key} = {value!r}\n", name="s.toml")
    [problem] = info.value.problems
    assert problem.key == spec.key and problem.line == 3
    assert problem.message == f"must be {_range_text(spec)}; got {value!r}"
    # the command line: the same message after the option's label, nothing written
    out = tmp_path / "out"
    assert main(["macro", spec.flags[0], str(value), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"innosite macro: error: {spec.label} {problem.message}"
    assert not out.exists()


def _range_text(spec):
    c = spec.check

    def text(x):  # large whole numbers with thousands separators
        return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 10_000 else f"{x:g}"

    low = "" if c.low is None else (f"> {text(c.low)}" if c.low_open else f">= {text(c.low)}")
    high = "" if c.high is None else f"<= {text(c.high)}"
    return " and ".join(x for x in (low, high) if x) + c.unit


def test_classic_gravity_is_none_on_cli_false_in_scenario_and_replays(tmp_path):
    from layers.cli.macro import macro_options
    from layers.macro.options import MacroOptions, macro_document

    args = _macro_parser().parse_args(["--classic-gravity", "--cost", "a,b", "--tiers", "x,y"])
    options = macro_options(args)
    assert options.half_distance is None
    assert options.cost == ["a", "b"] and options.tiers == ["x", "y"]
    assert macro_options(_macro_parser().parse_args(["--half-distance", "50"])).half_distance == 50
    doc = macro_document(MacroOptions(half_distance=None, neighbour_distance=0.0))
    assert doc["links"]["half_distance"] is False and doc["links"]["neighbour_distance"] == 0
    kw = parse_scenario(HEAD + "[links]\nhalf_distance = false\n").config.kwargs
    assert kw == {"half_distance": None, "method": Method()}


def test_macro_manifest_records_the_options_and_replays_them(tmp_path, capsys):
    from layers.macro.options import MacroOptions
    from layers.options import parameters

    first = tmp_path / "first"
    args = ["macro", "--draws", "25", "--seed", "7", "--tiers", "4", "--boundaries", "points"]
    args += ["--classic-gravity", "--neighbour-distance", "0", "--no-tiles", "-q"]
    assert main([*args, "--out", str(first)]) == 0
    recorded = json.loads((first / "manifest.json").read_text())["extra"]["options"]
    expected = MacroOptions(draws=25, seed=7, tiers=4, boundaries="points", half_distance=None,
                            neighbour_distance=0.0, tiles=None)  # fmt: skip
    assert recorded == {**parameters(expected), "weights": None}
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "-q"]) == 0
    _same_outputs(first, replay)
    capsys.readouterr()
