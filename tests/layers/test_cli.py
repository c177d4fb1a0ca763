"""The command line is derived from the option schema: flags, defaults and checks agree."""

from __future__ import annotations

import re

import pytest

from gis.engine import Engine
from gis.errors import InputError
from layers.cli.main import build_parser, main
from layers.cli.options import config_from_args
from layers.decision import DecisionOptions
from layers.meso.run import MesoConfig
from layers.micro.run import MicroConfig
from layers.national.run import NationalConfig
from layers.options import (
    AGGREGATION_OPTIONS,
    ENGINE_OPTIONS,
    check_value,
    memory_size,
    options_of,
)
from layers.scenario import ScenarioError, parse_scenario

CONFIGS = {"micro": MicroConfig, "meso": MesoConfig, "national": NationalConfig}


def _parse(command: str, *argv: str):
    return build_parser().parse_args([command, *argv])


@pytest.mark.parametrize("command", list(CONFIGS))
def test_no_flags_give_the_config_defaults(command):
    config = config_from_args(CONFIGS[command], _parse(command))
    assert config == CONFIGS[command]()


@pytest.mark.parametrize("command", list(CONFIGS))
def test_every_declared_flag_is_on_the_command_and_fills_its_field(command, capsys):
    cls = CONFIGS[command]
    with pytest.raises(SystemExit):
        main([command, "--help"])
    flags = set(re.findall(r"--[a-z0-9-]+", capsys.readouterr().out))
    declared = [*options_of(cls).values(), *options_of(DecisionOptions).values()]
    declared += [*ENGINE_OPTIONS.values(), *AGGREGATION_OPTIONS.values()]
    for spec in declared:
        for flag in spec.flags:
            assert flag in flags, (command, flag)
    # a value flag and a constant flag land in the field that declares them
    config = config_from_args(cls, _parse(command, "--min-area", "7", "--cdn-map"))
    assert config.min_area_ha == 7.0
    assert config.map_assets == "cdn"
    assert config_from_args(cls, _parse(command, "--no-tiles")).tiles is None


def _map_options(command: str, *argv: str) -> tuple[str | None, str]:
    if command == "macro":
        from layers.cli.macro import macro_options

        options = macro_options(_parse(command, *argv))
    else:
        options = config_from_args(CONFIGS[command], _parse(command, *argv))
    return options.tiles, options.map_assets


@pytest.mark.parametrize("command", [*CONFIGS, "macro"])
def test_maps_embed_their_libraries_by_default_on_every_command(command, capsys):
    assert _map_options(command) == ("OpenStreetMap", "inline")
    assert _map_options(command, "--cdn-map") == ("OpenStreetMap", "cdn")
    assert _map_options(command, "--no-tiles") == (None, "inline")
    # the former flag is accepted and changes nothing
    assert _map_options(command, "--offline-map") == ("OpenStreetMap", "inline")
    with pytest.raises(SystemExit):  # contradictory: refused, as in scenario files
        _map_options(command, "--cdn-map", "--offline-map")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--cdn-map" in text
    assert "--offline-map accepted for compatibility and changes nothing" in text


@pytest.mark.parametrize("scale", ["micro", "meso", "national", "macro"])
def test_scenario_map_keys_at_every_scale(scale):
    head = f'scale = "{scale}"\n[output]\n'

    def assets(text: str, document: str = head) -> str:
        config = parse_scenario(document + text, name="s.toml").config
        if scale == "macro":  # run_macro keywords; an option not given keeps its default
            from layers.macro.options import MacroOptions

            return config.kwargs.get("map_assets", MacroOptions().map_assets)
        return config.map_assets

    assert assets("", f'scale = "{scale}"\n') == "inline"
    assert assets('map_assets = "cdn"\n') == "cdn"
    assert assets('map_assets = "inline"\n') == "inline"
    assert assets("offline_map = false\n") == "cdn"
    assert assets("offline_map = true\n") == "inline"
    with pytest.raises(ScenarioError, match="must be one of 'cdn', 'inline'; got 'web'"):
        assets('map_assets = "web"\n')
    with pytest.raises(ScenarioError, match="give either map_assets or offline_map, not both"):
        assets('map_assets = "cdn"\noffline_map = true\n')


@pytest.mark.parametrize("command", list(CONFIGS))
def test_decision_and_engine_options_on_every_raster_command(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    for flag in ("--aggregation", "--orness", "--ahp", "--regions", "--shape", "--sensitivity",
                 "--engine", "--memory-budget", "--dask-scheduler", "--workers", "--offline-map",
                 "--no-tiles", "--overwrite", "--verbose", "--quiet"):  # fmt: skip
        assert flag in text, (command, flag)
    config = config_from_args(
        CONFIGS[command],
        _parse(command, "--engine", "windows", "--memory-budget", "64MiB", "--regions", "3",
               "--total-area", "40", "--sensitivity", "5", "--aggregation", "owa",
               "--orness", "0.7"),
    )  # fmt: skip
    assert config.engine.kind == "windows"
    assert config.engine.memory_budget == 64 * 2**20
    assert config.decision == DecisionOptions(regions=3, total_area_ha=40.0, sensitivity=5)
    assert config.aggregation == "owa"
    assert config.aggregation_options == {"orness": 0.7}


def test_a_scheduler_implies_dask():
    config = config_from_args(MesoConfig, _parse("meso", "--dask-scheduler", "local"))
    assert config.engine == Engine("dask", scheduler="local")


def test_national_keeps_its_window_budget():
    assert NationalConfig().engine == Engine("windows", memory_budget=2**30)
    assert memory_size("1GiB") == 2**30


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        ("micro", ["--threshold", "1.5"], "threshold must be >= 0 and <= 1; got 1.5"),
        ("meso", ["--top-percent", "0"], "top percent must be > 0 and <= 100"),
        ("national", ["--cell-size", "100"], "cell size must be >= 250 and <= 5000 metres"),
        ("meso", ["--shape-tradeoff", "120"], "shape trade-off must be >= 0 and <= 100"),
        ("national", ["--seeds", "0"], "seeds must be >= 1 and <= 100,000; got 0"),
        ("meso", ["--orness", "0.5"], "(use --aggregation owa)"),
    ],
)
def test_out_of_range_flags_are_refused_before_reading_data(command, argv, message, tmp_path,
                                                            capsys):  # fmt: skip
    out = tmp_path / "out"
    assert main([command, *argv, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"innosite {command}: error: ")
    assert message in err
    assert not out.exists()


def _range_cases(cls, scale):
    """``(scale, spec, bad value)`` for every declared range of a scenario key."""
    for spec in options_of(cls).values():
        check = spec.check
        if spec.key is None or check is None or check.choices is not None:
            continue
        low = check.low() if callable(check.low) else check.low
        high = check.high() if callable(check.high) else check.high
        if high is not None:
            yield scale, spec, high + 1
        elif low is not None:
            yield scale, spec, low - 1


CASES = [*_range_cases(MicroConfig, "micro"), *_range_cases(DecisionOptions, "micro")]


@pytest.mark.parametrize(
    ("scale", "spec", "value"), CASES, ids=[f"{c[0]}-{c[1].key}" for c in CASES]
)
def test_one_range_check_for_config_flag_and_scenario_key(scale, spec, value):
    expected = check_value(spec, value)
    assert expected is not None
    # the configuration
    target = DecisionOptions if spec.key.startswith("decision.") else MicroConfig
    with pytest.raises(InputError) as info:
        if target is DecisionOptions:
            DecisionOptions(**{spec.name: value}).validate()
        else:
            extra = {"top_percent": None} if spec.name == "threshold" else {}
            MicroConfig(**{spec.name: value, **extra}).validate()
    assert str(info.value) == f"{spec.label} {expected}"
    # the scenario key
    section, key = spec.key.rsplit(".", 1)
    regions = "regions = 2\n" if section == "decision" and key != "regions" else ""
    text = f'scale = "{scale}"\n[{section}]\n{regions}{key} = {value!r}\n'
    with pytest.raises(ScenarioError) as bad:
        parse_scenario(text, name="s.toml")
    assert [p.message for p in bad.value.problems] == [expected]
    assert bad.value.problems[0].key == spec.key


@pytest.mark.slow
def test_macro_accepts_verbosity_and_offline_map(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["macro", "-v", "--offline-map", "--no-tiles", "--draws", "20",
                 "--out", str(out)]) == 0  # fmt: skip
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net/npm/leaflet" not in page
    assert "tile.openstreetmap.org" not in page
    capsys.readouterr()
    assert main(["macro", "-q", "--draws", "20", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "q")


def test_no_library_module_outside_the_cli_imports_argparse():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.joinpath("layers").rglob("*.py"), *root.joinpath("gis").rglob("*.py")]:
        if "cli" in path.relative_to(root).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if "argparse" in names:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_the_scenario_package_does_not_import_the_cli():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "layers" / "scenario"
    for path in root.glob("*.py"):
        assert "layers.cli" not in path.read_text(encoding="utf-8"), path


def test_meso_and_micro_scenarios_take_decision_engine_and_offline_map():
    text = (
        '[model]\naggregation = "owa"\n[decision]\nregions = 2\n'
        '[engine]\nkind = "windows"\nmemory_budget = "64MiB"\n[output]\noffline_map = true\n'
    )
    for scale in ("micro", "meso"):
        config = parse_scenario(f'scale = "{scale}"\n' + text, name="s.toml").config
        assert config.aggregation == "owa"
        assert config.decision == DecisionOptions(regions=2)
        assert config.engine == Engine("windows", memory_budget=64 * 2**20)
        assert config.map_assets == "inline"


def test_engine_keys_are_checked_with_the_flags_checks():
    with pytest.raises(ScenarioError) as bad:
        parse_scenario('scale = "meso"\n[engine]\nworkers = 0\n', name="s.toml")
    spec = ENGINE_OPTIONS["n_workers"]
    assert bad.value.problems[0].message == check_value(spec, 0)
    assert bad.value.problems[0].key == "engine.workers"


@pytest.mark.parametrize("command", ["micro", "meso", "national", "macro"])
def test_cdn_map_and_offline_map_contradict(command, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main([command, "--cdn-map", "--offline-map", "--out", str(out)])
    assert stop.value.code == 2
    assert "--offline-map: not allowed with argument --cdn-map" in capsys.readouterr().err
    assert not out.exists()


def test_a_repeated_list_flag_adds_to_the_list():
    from layers.cli.main import build_parser

    args = build_parser().parse_args(
        ["micro", "--condition", "edge", "--condition", "green_quiet,university"]
    )
    assert args.conditions == ["edge", "green_quiet", "university"]
    assert "conditions" not in vars(build_parser().parse_args(["micro"]))
