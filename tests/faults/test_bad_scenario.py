"""``innosite run`` and ``innosite init`` on bad scenario files and manifests."""

from __future__ import annotations

import hashlib
import json

import pytest

from layers.scenario.manifest import input_problems
from tests.faults.bad_input import refuse, write

pytestmark = pytest.mark.faults

SCENARIOS = [
    ("bad.toml", 'scale = "micro"\n[grid\n', r"bad.toml:2: TOML syntax error"),
    ("bad.yaml", "scale: micro\ngrid: [1, 2\n", r"bad.yaml:\d+: YAML syntax error"),
    ("bad.json", '{"scale": "micro",\n', r"bad.json:\d+: JSON syntax error"),
    ("bad.txt", 'scale = "micro"\n', r"unknown scenario format; use a .toml"),
    ("s.toml", 'scale = "city"\n', r"scale"),
    ("s.toml", 'scale = "micro"\n[grid]\ncel_size = 25\n', r"cel_size"),
    ("s.toml", 'scale = "micro"\n[grid]\ncell_size = "big"\n', r"must be a number"),
    ("s.toml", 'scale = "micro"\n[engine]\nmemory_budget = 1024\n',
     r"engine.memory_budget: must be >= 1 MiB; got 1 KiB"),
    ("s.toml", 'scale = "micro"\n[engine]\ntimeout = -1\n',
     r"engine.timeout: must be > 0 and <= 86,400 seconds; got -1"),
    ("s.toml", 'scale = "micro"\n[decision]\nsensitivity = 1000000000\n',
     r"decision.sensitivity: must be >= 0 and <= 10,000; got 1000000000"),
    ("s.toml", 'scale = "micro"\n[decision]\ntotal_area_ha = 30\n',
     r"decision.total_area_ha: is a Locate Regions setting, which needs regions = N"),
    ("s.toml", 'scale = "micro"\n[decision]\nregions = 2\nseeds = 1000000000\n',
     r"decision.seeds: must be >= 1 and <= 100,000"),
    ("s.toml", 'scale = "macro"\n[robustness]\ndraws = 1000000000\n',
     r"robustness.draws: must be >= 1 and <= 1,000,000; got 1000000000"),
    ("s.toml", 'scale = "macro"\n[links]\nlink_top = 100000\n',
     r"links.link_top: must be >= 2 and <= 5000"),
    ("s.toml", 'scale = "micro"\n[model]\naggregation = "owa"\n'
     '[model.aggregation_options]\norder_weights = [1, 1]\n',
     r"order weights has 2 values but 8 layers"),
    ("s.toml", 'scale = "micro"\n[data]\nosm_file = "missing.osm"\n',
     r"s.toml:3: data.osm_file: .*missing.osm"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "pattern"), SCENARIOS, ids=[f"{i}-{s[0]}" for i, s in enumerate(SCENARIOS)]
)
def test_bad_scenarios_are_refused_with_the_line(tmp_path, name, text, pattern):
    write(tmp_path, name, text)
    refuse(tmp_path, ["run", name], pattern)


def test_scenario_that_is_not_text(tmp_path):
    (tmp_path / "s.toml").write_bytes(b"\xff\xfe\x00scale")
    refuse(tmp_path, ["run", "s.toml"], r"s.toml: is not UTF-8 text")


def test_missing_scenario(tmp_path):
    refuse(tmp_path, ["run", "nothing.toml"], r"scenario file not found: nothing.toml")


# ---------------------------------------------------------------------------- manifests
def test_init_from_broken_manifest_json(tmp_path):
    write(tmp_path, "manifest.json", '{"parameters": {')
    refuse(
        tmp_path,
        ["init", "micro", "s.toml", "--from-manifest", "manifest.json"],
        r"manifest.json:1: JSON syntax error: Expecting property name",
        out=False,
        quiet=False,
    )
    assert not (tmp_path / "s.toml").exists()


def test_init_from_json_that_is_not_a_manifest(tmp_path):
    write(tmp_path, "manifest.json", "[1, 2, 3]")
    refuse(
        tmp_path,
        ["init", "micro", "s.toml", "--from-manifest", "manifest.json"],
        r"is not an innosite manifest",
        out=False,
        quiet=False,
    )


def test_replay_of_a_national_manifest_is_refused(tmp_path):
    manifest = {"parameters": {}, "outputs": [], "extra": {"scale": "national"}}
    write(tmp_path, "manifest.json", json.dumps(manifest))
    refuse(tmp_path, ["run", "manifest.json"], r"extra.scale: only manifests of .* got 'national'")


def _manifest_with_relative_input(folder, text="<osm/>"):
    data = folder / "input.osm"
    data.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return {
        "parameters": {"factors": []},
        "outputs": [],
        "inputs": [{"role": "osm", "path": "input.osm", "sha256": digest}],
        "extra": {"scale": "micro"},
    }


def test_relative_manifest_inputs_are_found_from_the_manifest_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    manifest = _manifest_with_relative_input(run)
    assert input_problems(manifest, base=run) == []
    # from another folder without a base, the same entry is not found
    [problem] = input_problems(manifest, base=tmp_path)
    assert problem.message == f"osm file not found: {tmp_path / 'input.osm'}"


def test_changed_relative_input_is_named_from_the_manifest_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    manifest = _manifest_with_relative_input(run)
    (run / "input.osm").write_text("<osm>changed</osm>")
    (run / "manifest.json").write_text(json.dumps(manifest))
    refuse(
        tmp_path,
        ["run", "run/manifest.json"],
        rf"osm file {run / 'input.osm'} has changed since the run",
    )
