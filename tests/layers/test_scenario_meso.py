"""Meso scenario files: preset, validation messages, a run and the replay of its manifest."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

from layers.cli.main import main
from layers.meso.factors import MESO_FACTORS
from layers.meso.run import MesoConfig
from layers.scenario import ScenarioError, load_scenario, parse_scenario, preset_text

HEAD = 'scale = "meso"\n'
#: A coarse grid keeps the offline Wuhan run to a few seconds.
COARSE = HEAD + "[grid]\ncell_size = 2000\n[sites]\nmin_area_ha = 400\n[output]\ntiles = false\n"


def write(tmp_path: Path, text: str, name: str = "meso.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_meso_preset_is_valid_and_keeps_the_defaults():
    text = preset_text("meso", file="wuhan.toml")
    tomllib.loads(text)
    config = parse_scenario(text, name="wuhan.toml").config
    defaults = {f.name: f.weight for f in MESO_FACTORS}
    assert config == MesoConfig(weights=defaults)
    assert config.factors == MESO_FACTORS
    assert "innosite run wuhan.toml" in text and '# region = "chengdu-chongqing"' in text
    assert max(len(line) for line in text.splitlines() if line.startswith("#")) <= 100


def test_init_meso_writes_the_preset(tmp_path, capsys):
    target = tmp_path / "region.toml"
    assert main(["init", "meso", str(target)]) == 0
    assert "innosite run" in capsys.readouterr().out
    assert load_scenario(target).scale == "meso"
    assert load_scenario(target).out == tmp_path / "innosite-meso"


def test_meso_settings_reach_the_config(tmp_path):
    (tmp_path / "hubs.csv").write_text("lon,lat\n114.3,30.6\n", encoding="utf-8")
    text = HEAD + (
        '[area]\nregion = "xian"\nboundaries = "bbox"\n'
        '[data]\nmin_population = 5000\nhubs_file = "hubs.csv"\nhub_columns = ["lon", "lat"]\n'
        'gcj02 = true\nhub_class = "rail_station"\nmacro_tier = "regional"\n'
        '[grid]\ncell_size = 500\ncrs = "EPSG:32649"\n'
        '[model]\nempty = "zero"\nmarket_scale_km = 40\n'
        "[weights]\nmacro = 0.3\n[constraints]\nwater = false\n"
        "[sites]\nthreshold = 0.7\nmin_area_ha = 50\nconnectivity = 4\n"
    )
    c = load_scenario(write(tmp_path, text)).config
    assert (c.region, c.boundaries, c.min_population) == ("xian", "bbox", 5000)
    assert c.hubs_file == str(tmp_path / "hubs.csv") and c.hub_columns == ("lon", "lat")
    assert (c.gcj02, c.hub_class, c.macro_tier) == (True, "rail_station", "regional")
    assert (c.cell_size, c.crs, c.empty_rule, c.market_scale_km) == (
        500.0,
        "EPSG:32649",
        "zero",
        40.0,
    )
    assert c.weights == {"macro": 0.3} and c.constraints is False
    assert (c.threshold, c.top_percent, c.min_area_ha, c.connectivity) == (0.7, None, 50.0, 4)


BAD = {
    # name: (scenario text, line, key, message)
    "unknown key": (HEAD + "[data]\nhub_clas = 'airport'\n", 3, "data.hub_clas", "'hub_class'"),
    "micro factor": (  # meso takes [[factors]] (user sources), but not micro's presets
        HEAD + "[[factors]]\nname = 'transit'\n",
        2,
        "factors[transit]",
        "is not a preset factor (hubs, market",
    ),
    "unknown region": (HEAD + "[area]\nregion = 'wuhna'\n", 3, "area.region", "unknown region"),
    "two regions": (
        HEAD + "[area]\nregion = 'wuhan'\nbbox = [113.7, 30.2, 114.9, 31.0]\n",
        4,
        "area.bbox",
        "give one study region",
    ),
    "cell size too small": (HEAD + "[grid]\ncell_size = 10\n", 3, "grid.cell_size", ">= 50"),
    "cell size as text": (HEAD + "[grid]\ncell_size = '200'\n", 3, "grid.cell_size", "a number"),
    "geonames table": (
        HEAD + "[data]\nmin_population = 2000\n",
        3,
        "data.min_population",
        "500, 1000, 5000",
    ),
    "hub columns": (
        HEAD + "[data]\nhub_columns = ['lon']\n",
        3,
        "data.hub_columns",
        "must be two names; got ['lon']",
    ),
    "hub class": (HEAD + "[data]\nhub_class = 'metro'\n", 3, "data.hub_class", "must be one of"),
    "market decay": (
        HEAD + "[model]\nmarket_decay = 'gauss'\n",
        3,
        "model.market_decay",
        "must be one of",
    ),
    "unknown layer weight": (
        HEAD + "[weights]\nmarkets = 0.3\n",
        3,
        "weights.markets",
        "did you mean 'market'",
    ),
    "negative weight": (HEAD + "[weights]\nhubs = -1\n", 3, "weights.hubs", ">= 0"),
    "missing file": (
        HEAD + "[data]\npopulation_file = 'pop.tif'\n",
        3,
        "data.population_file",
        "not found",
    ),
    "osm and online": (
        HEAD + "[data]\nosm_file = 'x.osm'\nonline = true\n",
        4,
        "data.online",
        "not both",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_invalid_meso_scenario_is_refused_with_file_line_key(case, tmp_path, capsys):
    text, line, key, message = BAD[case]
    if case == "osm and online":
        (tmp_path / "x.osm").write_text("<osm version='0.6'></osm>\n", encoding="utf-8")
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


def _compare_runs(a: Path, b: Path) -> None:
    tifs = sorted(p.relative_to(a) for p in a.rglob("*.tif"))
    assert tifs and tifs == sorted(p.relative_to(b) for p in b.rglob("*.tif"))
    for rel in tifs:
        with rasterio.open(a / rel) as x, rasterio.open(b / rel) as y:
            np.testing.assert_array_equal(x.read(), y.read(), err_msg=str(rel))
            assert x.transform == y.transform and x.crs == y.crs
    ga = pyogrio.read_dataframe(a / "candidates.gpkg", layer="candidates")
    gb = pyogrio.read_dataframe(b / "candidates.gpkg", layer="candidates")
    assert len(ga) > 0 and list(ga.columns) == list(gb.columns)
    assert ga.drop(columns="geometry").equals(gb.drop(columns="geometry"))
    assert ga.geometry.to_wkb().tolist() == gb.geometry.to_wkb().tolist()


@pytest.mark.slow
def test_meso_scenario_runs_and_its_manifest_replays_exactly(tmp_path, capsys):
    path = write(tmp_path, COARSE + "[weights]\nhubs = 0.4\n")
    first = tmp_path / "first"
    assert main(["run", str(path), "--out", str(first)]) == 0
    assert "Wuhan" in capsys.readouterr().out  # the meso summary
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["extra"]["scale"] == "meso"
    assert manifest["parameters"]["cell_size"] == 2000.0
    assert manifest["parameters"]["weights"] == {"hubs": 0.4}
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(replay)
    _compare_runs(first, replay)
    again = json.loads((replay / "manifest.json").read_text())
    assert again["parameters"] == manifest["parameters"]
    # as a scenario file
    scenario = tmp_path / "again.toml"
    assert (
        main(["init", "meso", str(scenario), "--from-manifest", str(first / "manifest.json")]) == 0
    )
    assert tomllib.loads(scenario.read_text())["grid"]["cell_size"] == 2000.0
    capsys.readouterr()
    assert main(["run", str(scenario), "--out", str(tmp_path / "third"), "-q"]) == 0
    _compare_runs(first, tmp_path / "third")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"scale": "nano"}, "only manifests of micro, meso, macro runs can be replayed"),
        ({"scale": "macro"}, "this macro manifest does not record its settings"),
    ],
)
def test_manifests_that_cannot_be_replayed(extra, message, tmp_path, capsys):
    manifest = {"parameters": {}, "outputs": [], "extra": extra}
    path = write(tmp_path, json.dumps(manifest), name="manifest.json")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
