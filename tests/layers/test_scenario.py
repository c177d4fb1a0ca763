"""Scenario files: presets, validation messages, runs, and replaying a run's manifest."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tomllib
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

from gis import progress
from gis.sources import default_osm_file
from gis.weights import ahp
from layers.cli.main import main
from layers.decision import DecisionOptions
from layers.micro.factors import MICRO_FACTORS
from layers.micro.run import MicroConfig, config_dict
from layers.scenario import (
    ScenarioError,
    load_scenario,
    micro_document,
    parse_scenario,
    preset_text,
    run_scenario,
    scenario_toml,
    toml_lines,
)

FACTOR_NAMES = [f.name for f in MICRO_FACTORS]


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_fails(path: Path, tmp_path: Path, capsys) -> str:
    """``innosite run`` refuses the scenario: exit 2, nothing written; the message."""
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    return err


# ---------------------------------------------------------------------- presets
def test_preset_is_valid_and_reproduces_the_defaults():
    text = preset_text("micro")
    tomllib.loads(text)  # valid TOML
    scenario = parse_scenario(text, name="preset.toml")
    assert scenario.config == MicroConfig(preset=scenario.config.preset)
    assert scenario.config.factors == MICRO_FACTORS  # every tag, transform, weight
    assert scenario.out == Path("innosite-micro")
    # commented: it explains the keys and quotes the paper's reasoning
    assert "# Study area" in text and "sec. 2.3" in text
    assert max(len(line) for line in text.splitlines() if line.startswith("#")) <= 100


def test_init_writes_preset_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "city.toml"
    assert main(["init", "micro", str(target)]) == 0
    assert "innosite run" in capsys.readouterr().out
    first = target.read_text()
    target.write_text("# my edits\n")
    assert main(["init", "micro", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "# my edits\n"
    assert main(["init", "micro", str(target), "--force"]) == 0
    assert target.read_text() == first


def test_toml_round_trip_of_any_config():
    config = MicroConfig(
        bbox=(24.93, 60.16, 24.95, 60.18),
        cell_size=40.0,
        center=(24.94, 60.17),
        weights={"edge": 0.3, "culture": 0.0},
        empty_rule="zero",
        threshold=0.6,
        top_percent=None,
        min_area_ha=1.5,
        connectivity=4,
        constraints=False,
        tiles=None,
        map_assets="inline",
        title="Kallio <test>",
    )
    text = scenario_toml(micro_document(config_dict(config)))
    again = parse_scenario(text).config
    assert again.factors == config.factors
    for name in ("bbox", "cell_size", "center", "empty_rule", "threshold", "top_percent"):
        assert getattr(again, name) == getattr(config, name), name
    for name in ("min_area_ha", "connectivity", "constraints", "tiles", "map_assets", "title"):
        assert getattr(again, name) == getattr(config, name), name


def test_toml_lines_follow_arrays_of_tables():
    text = preset_text("micro")
    lines = toml_lines(text)
    numbered = text.splitlines()
    third = lines[("factors", 2, "criteria", 0, "transform")]
    assert numbered[third - 1].strip().startswith("transform =")
    assert lines[("factors", 2, "name")] < third
    tags = lines[("factors", 3, "criteria", 1, "tags", "highway")]
    assert numbered[tags - 1].strip().startswith("highway =")


# ---------------------------------------------------------------------- bad scenarios
HEAD = 'scale = "micro"\n'
CRITERION = """
[[factors]]
name = "incubators"
weight = 1

  [[factors.criteria]]
  name = "incubator_distance"
  measure = "distance"
  transform = "linear"
  transform_params = {params}
  [factors.criteria.tags]
  office = {tags}
"""


def crit(params: str = "{ lower_threshold = 0, upper_threshold = 1000 }", tags='["company"]'):
    return CRITERION.replace("{params}", params).replace("{tags}", tags)


BAD = {
    # name: (scenario text, line, key, message)
    "toml syntax": (HEAD + "[grid]\ncell_size = = 25\n", 3, "", "TOML syntax error"),
    "missing scale": ("[grid]\ncell_size = 25\n", None, "", "missing key 'scale'"),
    "unknown scale": ('scale = "nano"\n', 1, "scale", "must be one of 'micro', 'meso', 'macro'"),
    "unknown section": (HEAD + "[grids]\ncell_size = 25\n", 2, "grids", "did you mean 'grid'"),
    "unknown key": (HEAD + "[sites]\ntop_procent = 5\n", 3, "sites.top_procent", "'top_percent'"),
    "wrong type": (HEAD + '[grid]\ncell_size = "25"\n', 3, "grid.cell_size", "must be a number"),
    "cell size out of range": (HEAD + "[grid]\ncell_size = 0.5\n", 3, "grid.cell_size", ">= 1"),
    "negative weight": (
        HEAD + "[weights]\nuniversity = -0.2\n",
        3,
        "weights.university",
        "must be >= 0",
    ),
    "weight of unknown factor": (
        HEAD + "[weights]\nuniversty = 0.3\n",
        3,
        "weights.universty",
        "'university'",
    ),
    "all weights zero": (
        HEAD + "[weights]\n" + "".join(f"{n} = 0\n" for n in FACTOR_NAMES),
        2,
        "weights",
        "all factor weights are zero",
    ),
    "missing osm file": (
        HEAD + '[data]\nosm_file = "nowhere.pbf"\n',
        3,
        "data.osm_file",
        "OSM file not found",
    ),
    "unsupported osm file": (
        HEAD + '[data]\nosm_file = "scenario.toml"\n',
        3,
        "data.osm_file",
        "unsupported",
    ),
    "missing area file": (
        HEAD + '[area]\nfile = "district.gpkg"\n',
        3,
        "area.file",
        "area file not found",
    ),
    "two areas": (
        HEAD + '[area]\nplace = "Helsinki"\nbbox = [24.9, 60.1, 25.0, 60.2]\n',
        4,
        "area.bbox",
        "give one study area",
    ),
    "bbox inverted": (
        HEAD + "[area]\nbbox = [25.0, 60.1, 24.9, 60.2]\n",
        3,
        "area.bbox",
        "west < east",
    ),
    "bbox too short": (HEAD + "[area]\nbbox = [25.0, 60.1]\n", 3, "area.bbox", "4 numbers"),
    "geographic crs": (HEAD + '[grid]\ncrs = "EPSG:4326"\n', 3, "grid.crs", "not projected"),
    "unknown crs": (HEAD + '[grid]\ncrs = "EPSG:999999"\n', 3, "grid.crs", "not a known CRS"),
    "centre off the globe": (HEAD + "[model]\ncenter = [200, 60]\n", 3, "model.center", "-180"),
    "empty rule": (HEAD + '[model]\nempty = "skip"\n', 3, "model.empty", "'drop', 'zero'"),
    "aggregation": (HEAD + '[model]\naggregation = "best"\n', 3, "model.aggregation", "'wlc'"),
    "aggregation option": (
        HEAD + '[model]\naggregation = "wlc"\naggregation_options = { gamma = 0.5 }\n',
        4,
        "model.aggregation_options.gamma",
        "unknown key",
    ),
    "threshold and top percent": (
        HEAD + "[sites]\ntop_percent = 5\nthreshold = 0.7\n",
        4,
        "sites.threshold",
        "not both",
    ),
    "threshold out of range": (HEAD + "[sites]\nthreshold = 1.5\n", 3, "sites.threshold", "<= 1"),
    "connectivity": (
        HEAD + "[sites]\nconnectivity = 6\n",
        3,
        "sites.connectivity",
        "must be one of 4, 8; got 6",
    ),
    "tiles": (HEAD + "[output]\ntiles = 3\n", 3, "output.tiles", "base-map name"),
    "offline flag": (HEAD + '[output]\noffline_map = "yes"\n', 3, "output.offline_map", "true or"),
    "missing source tags": (
        HEAD + crit().replace('  [factors.criteria.tags]\n  office = ["company"]\n', ""),
        7,
        "factors[incubators].criteria[incubator_distance]",
        "no data source",
    ),
    "tag values not text": (
        HEAD + crit(tags="[1, 2]"),
        13,
        "factors[incubators].criteria[incubator_distance].tags.office",
        "in quotes",
    ),
    "unknown transform": (
        HEAD + crit().replace('"linear"', '"linaer"'),
        10,
        "factors[incubators].criteria[incubator_distance].transform",
        "did you mean 'linear'",
    ),
    "unknown measure": (
        HEAD + crit().replace('"distance"', '"distanse"'),
        9,
        "factors[incubators].criteria[incubator_distance].measure",
        "'distance'",
    ),
    "unknown transform parameter": (
        HEAD + crit("{ lower = 0 }"),
        11,
        "factors[incubators].criteria[incubator_distance].transform_params.lower",
        "did you mean 'lower_threshold'",
    ),
    "bad percentile": (
        HEAD + crit('{ lower_threshold = 0, upper_threshold = "p150" }'),
        11,
        "transform_params.upper_threshold",
        "'p0'..'p100'",
    ),
    "thresholds reversed": (
        HEAD + crit("{ lower_threshold = 500, upper_threshold = 100 }"),
        11,
        "transform_params",
        "lower_threshold",
    ),
    "factor without criteria": (
        HEAD + '[[factors]]\nname = "incubators"\nweight = 1\n',
        2,
        "factors[incubators]",
        "no criteria and is not a preset factor",
    ),
    "duplicate factor": (
        HEAD + '[[factors]]\nname = "transit"\n[[factors]]\nname = "transit"\n',
        5,
        "factors[2].name",
        "defined twice",
    ),
    "ahp and weights": (
        HEAD + "[weights]\nedge = 1\n[ahp]\nfactors = []\nmatrix = []\n",
        4,
        "ahp",
        "not both",
    ),
    "ahp missing factor": (
        HEAD + '[ahp]\nfactors = ["university"]\nmatrix = [[1]]\n',
        3,
        "ahp.factors",
        "missing factor(s) amenity",
    ),
    "ahp inconsistent": (
        HEAD
        + '[[factors]]\nname = "university"\n[[factors]]\nname = "transit"\n'
        + '[[factors]]\nname = "edge"\n[ahp]\nfactors = ["university", "transit", "edge"]\n'
        + 'matrix = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]\n',
        10,
        "ahp.matrix",
        "inconsistent",
    ),
    "ahp bad cell": (
        HEAD
        + '[[factors]]\nname = "university"\n[[factors]]\nname = "transit"\n'
        + '[ahp]\nfactors = ["university", "transit"]\nmatrix = [[1, "x"], [1, 1]]\n',
        8,
        "ahp.matrix",
        "row 1, column 2",
    ),
    "owa order weights of the wrong count": (
        HEAD
        + '[model]\naggregation = "owa"\naggregation_options = { order_weights = [0.5, 0.5] }\n',
        4,
        "model.aggregation_options",
        "8",
    ),
    "decision unknown key": (
        HEAD + "[decision]\nregions = 2\ntotal_area = 4\n",
        4,
        "decision.total_area",
        "did you mean 'total_area_ha'",
    ),
    "decision wrong type": (
        HEAD + '[decision]\nsensitivity = "5"\n',
        3,
        "decision.sensitivity",
        "whole number",
    ),
    "decision fractional count": (
        HEAD + "[decision]\nregions = 2.5\n",
        3,
        "decision.regions",
        "whole number",
    ),
    "decision out of range": (
        HEAD + "[decision]\nregions = 2\nshape_tradeoff = 120\n",
        4,
        "decision.shape_tradeoff",
        "<= 100",
    ),
    "decision negative seed": (HEAD + "[decision]\nseed = -1\n", 3, "decision.seed", ">= 0"),
    "decision bad shape": (
        HEAD + '[decision]\nregions = 2\nshape = "hexagone"\n',
        4,
        "decision.shape",
        "did you mean 'hexagon'",
    ),
    "decision distances swapped": (
        HEAD + "[decision]\nregions = 2\nmin_distance_m = 500\nmax_distance_m = 100\n",
        5,
        "decision.max_distance_m",
        "must be >= min_distance_m",
    ),
    "decision locate without regions": (
        HEAD + '[decision]\nshape = "square"\n',
        3,
        "decision.shape",
        "needs regions = N",
    ),
    "decision missing existing file": (
        HEAD + '[decision]\nregions = 2\nexisting_file = "sites.gpkg"\n',
        4,
        "decision.existing_file",
        "file of existing sites not found",
    ),
    "decision not a table": (HEAD + "decision = 3\n", 2, "decision", "must be a table"),
    "ahp file missing": (
        HEAD + '[ahp]\nfile = "weights.csv"\n',
        3,
        "ahp.file",
        "AHP matrix file not found",
    ),
    "ahp file and matrix": (
        HEAD + '[ahp]\nfile = "weights.csv"\nmatrix = [[1]]\n',
        4,
        "ahp.matrix",
        "either in 'file'",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_invalid_scenario_is_refused_with_file_line_key(case, tmp_path, capsys):
    text, line, key, message = BAD[case]
    path = write(tmp_path, text)
    err = run_fails(path, tmp_path, capsys)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problem = info.value.problems[0]
    assert len(info.value.problems) == 1, info.value.problems
    assert message in problem.message, problem
    assert key in problem.key, problem
    assert problem.line == line, problem
    where = f"{path}:{line}" if line else str(path)
    assert err.startswith(f"innosite run: error: {where}: "), err
    assert message in err


def test_every_problem_is_reported_at_once(tmp_path, capsys):
    text = HEAD + "[grid]\ncell_size = -5\n[sites]\nconnectivity = 6\n[weights]\nedge = -1\n"
    path = write(tmp_path, text)
    err = run_fails(path, tmp_path, capsys)
    assert "has 3 problems" in err
    for where in (":3: grid.cell_size", ":5: sites.connectivity", ":7: weights.edge"):
        assert where in err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.yaml", "scale: micro\ngrid:\n  cell_size: [25\n", "YAML syntax error"),
        ("s.ini", "scale = micro\n", "unknown scenario format"),
    ],
)
def test_unreadable_scenarios(name, text, message, tmp_path, capsys):
    err = run_fails(write(tmp_path, text, name), tmp_path, capsys)
    assert message in err


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_bytes(b'scale = "micro"\ntitle = "\xff"\n')
    assert "is not UTF-8" in run_fails(path, tmp_path, capsys)


def test_missing_scenario_file(tmp_path, capsys):
    assert "scenario file not found" in run_fails(tmp_path / "none.toml", tmp_path, capsys)


def test_yaml_scenarios_have_lines_too(tmp_path):
    path = write(tmp_path, "scale: micro\nsites:\n  top_percent: 5\n  conectivity: 4\n", "s.yml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.key) == (4, "sites.conectivity")
    assert "did you mean 'connectivity'" in problem.message


# ---------------------------------------------------------------------- valid scenarios
def test_scenario_settings_reach_the_config(tmp_path):
    (tmp_path / "data").mkdir()
    osm = shutil.copy(default_osm_file(), tmp_path / "data" / "city.osm.pbf")
    text = HEAD + (
        'title = "Kallio"\n[data]\nosm_file = "data/city.osm.pbf"\n[grid]\ncell_size = 40\n'
        "[weights]\nedge = 0.5\n[sites]\nthreshold = 0.6\nconnectivity = 4\n"
        '[output]\nfolder = "runs/kallio"\ntiles = false\noffline_map = true\n'
    )
    scenario = load_scenario(write(tmp_path, text))
    c = scenario.config
    assert c.osm_file == str(osm)  # relative to the scenario file
    assert (c.cell_size, c.threshold, c.top_percent, c.connectivity) == (40.0, 0.6, None, 4)
    assert (c.tiles, c.map_assets, c.title) == (None, "inline", "Kallio")
    assert next(f.weight for f in c.factors if f.name == "edge") == 0.5
    assert scenario.out == tmp_path / "runs" / "kallio"


def test_ahp_weights(tmp_path):
    names = ["university", "transit", "edge"]
    matrix = [[1, 3, 5], ["1/3", 1, 3], ["1/5", "1/3", 1]]
    text = HEAD + "".join(f'[[factors]]\nname = "{n}"\n' for n in names)
    text += f"[ahp]\nfactors = {json.dumps(names)}\nmatrix = {json.dumps(matrix)}\n"
    scenario = parse_scenario(text)
    expected = ahp([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]).weights
    got = [f.weight for f in scenario.config.factors]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def _pairwise_csv(path: Path, names: list[str]) -> Path:
    """A consistent pairwise matrix of ``names`` (weights 1 : 2 : ... : n)."""
    rows = [",".join(["", *names])]
    for i, name in enumerate(names):
        rows.append(",".join([name, *(f"{i + 1}/{j + 1}" for j in range(len(names)))]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_decision_section_reaches_the_config(tmp_path):
    existing = tmp_path / "sites.gpkg"
    existing.write_bytes(b"")  # only its existence is checked before the run
    text = HEAD + (
        "[decision]\nregions = 3\ntotal_area_ha = 15\nregion_min_ha = 2\n"
        'shape = "hexagon"\norientation = 30\nshape_tradeoff = 70\nmin_distance_m = 100\n'
        'existing_file = "sites.gpkg"\nevaluation = "highest_sum"\nselection = "sequential"\n'
        "no_islands = true\nseeds = 40\nallow_fewer = true\n"
        "sensitivity = 20\nconcentration = 50\nseed = 7\n"
    )
    d = load_scenario(write(tmp_path, text)).config.decision
    assert (d.regions, d.total_area_ha, d.region_min_ha, d.shape) == (3, 15.0, 2.0, "hexagon")
    assert (d.orientation, d.shape_tradeoff, d.min_distance_m) == (30.0, 70.0, 100.0)
    assert d.existing_file == str(tmp_path / "sites.gpkg")
    assert (d.evaluation, d.selection, d.no_islands, d.seeds) == (
        "highest_sum", "sequential", True, 40,
    )  # fmt: skip
    assert (d.allow_fewer, d.sensitivity, d.concentration, d.seed) == (True, 20, 50.0, 7)
    assert isinstance(d.regions, int) and isinstance(d.seed, int)
    assert parse_scenario(HEAD).config.decision == DecisionOptions()


def test_owa_order_weights_of_every_factor_are_accepted():
    weights = [0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05]
    text = (
        HEAD
        + f'[model]\naggregation = "owa"\naggregation_options = {{ order_weights = {weights} }}\n'
    )
    config = parse_scenario(text).config
    assert config.aggregation_options == {"order_weights": weights}
    assert len(config.factors) == len(weights) == 8
    # a factor with weight 0 takes no part, so it has no order weight either
    seven = f"order_weights = {weights[:7]}"
    text = HEAD + f'[model]\naggregation = "owa"\naggregation_options = {{ {seven} }}\n'
    assert parse_scenario(text + "[weights]\nedge = 0\n").config.weights == {"edge": 0.0}
    with pytest.raises(ScenarioError, match="7 values but 8 layers"):
        parse_scenario(text)


def test_ahp_weights_from_a_file(tmp_path):
    names = ["university", "transit", "edge"]
    _pairwise_csv(tmp_path / "weights.csv", names)
    text = HEAD + "".join(f'[[factors]]\nname = "{n}"\n' for n in names)
    text += '[ahp]\nfile = "weights.csv"\n[decision]\nsensitivity = 3\n'
    config = load_scenario(write(tmp_path, text)).config
    np.testing.assert_allclose([f.weight for f in config.factors], [1 / 6, 2 / 6, 3 / 6])
    assert config.decision.ahp_file == str(tmp_path / "weights.csv")
    assert config.decision.sensitivity == 3  # perturbs the file's judgements


def test_preset_documents_the_decision_options():
    text = preset_text("micro")
    section = text[text.index("\n[decision]\n") : text.index("\n[output]\n")]
    assert "Locate Regions" in section and "# regions = 3" in section
    assert "# sensitivity = 200" in section
    uncommented = [line for line in section.splitlines()[2:] if line and not line.startswith("#")]
    assert uncommented == []  # all off by default
    assert parse_scenario(text).config.decision == DecisionOptions()


def test_check_only_reads_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, HEAD + '[output]\nfolder = "out"\n')
    assert main(["run", "--check", str(path)]) == 0
    assert "valid micro scenario" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    """A run from a scenario file with a custom factor, and its files."""
    folder = tmp_path_factory.mktemp("scenario")
    text = HEAD + (
        'title = "Helsinki <b>test</b>"\n[grid]\ncell_size = 50\n'
        "[sites]\ntop_percent = 15\n[output]\ntiles = false\noffline_map = true\n"
        + "".join(f'[[factors]]\nname = "{n}"\n' for n in FACTOR_NAMES[:5])
        + crit()
    )
    path = write(folder, text)
    code = main(["run", str(path), "--out", str(folder / "out"), "--quiet"])
    assert code == 0
    return path, folder / "out"


def test_scenario_run_writes_every_output(scenario_run):
    _path, out = scenario_run
    manifest = json.loads((out / "manifest.json").read_text())
    files = {o["file"] for o in manifest["outputs"]}
    assert {"suitability.tif", "suitability.qml", "candidates.gpkg", "map.html"} <= files
    assert {"report.html", "incubators.tif", "raw/incubator_distance.tif"} <= files
    names = [f["name"] for f in manifest["parameters"]["factors"]]
    assert names == [*FACTOR_NAMES[:5], "incubators"]
    # styles: a side-car per raster, the candidates' style as the GeoPackage default
    assert len(list(out.rglob("*.qml"))) == len(list(out.rglob("*.tif")))
    with sqlite3.connect(out / "candidates.gpkg") as con:
        rows = con.execute(
            "SELECT f_table_name, useAsDefault, styleQML FROM layer_styles"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("candidates", 1)]
    assert 'fieldName="rank"' in rows[0][2] and "Incubators (mean score)" not in rows[0][2]


def test_offline_map_and_report_are_self_contained(scenario_run):
    _path, out = scenario_run
    page = (out / "map.html").read_text(encoding="utf-8")
    assert '<script src="http' not in page and 'rel="stylesheet" href="http' not in page
    assert "Leaflet 1.9.3" in page and "d3" in page
    assert "Helsinki &lt;b&gt;test&lt;/b&gt;" in page and "<b>test</b>" not in page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "http" not in report.replace("http://www.w3.org/2000/svg", "")
    assert "<h1>Helsinki &lt;b&gt;test&lt;/b&gt;</h1>" in report
    assert report.count("<svg") == 1 + 6  # composite + one map per factor
    assert "incubator_distance" in report and "Candidate districts" in report
    assert 'href="map.html"' in report and 'href="manifest.json"' in report


# ---------------------------------------------------------------------- replaying manifests
def _compare_runs(a: Path, b: Path) -> None:
    tifs = sorted(p.relative_to(a) for p in a.rglob("*.tif"))
    assert tifs and tifs == sorted(p.relative_to(b) for p in b.rglob("*.tif"))
    for rel in tifs:
        with rasterio.open(a / rel) as x, rasterio.open(b / rel) as y:
            np.testing.assert_array_equal(x.read(), y.read(), err_msg=str(rel))
            assert x.transform == y.transform and x.crs == y.crs
            assert x.descriptions == y.descriptions and x.tags() == y.tags()
    ga = pyogrio.read_dataframe(a / "candidates.gpkg", layer="candidates")
    gb = pyogrio.read_dataframe(b / "candidates.gpkg", layer="candidates")
    assert list(ga.columns) == list(gb.columns)
    assert ga.drop(columns="geometry").equals(gb.drop(columns="geometry"))
    assert ga.geometry.to_wkb().tolist() == gb.geometry.to_wkb().tolist()


def test_manifest_replays_exactly(scenario_run, tmp_path, capsys):
    _path, out = scenario_run
    replay = tmp_path / "replay"
    assert main(["run", str(out / "manifest.json"), "--out", str(replay), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(replay)
    _compare_runs(out, replay)
    first = json.loads((out / "manifest.json").read_text())["parameters"]
    again = json.loads((replay / "manifest.json").read_text())["parameters"]
    assert first == again


def test_manifest_of_a_micro_command_replays_via_a_scenario_file(tmp_path, capsys):
    first = tmp_path / "first"
    args = ["micro", "--cell-size", "50", "--weight", "edge=0.4", "--no-tiles", "--quiet"]
    assert main([*args, "--threshold", "0.6", "--out", str(first)]) == 0
    scenario = tmp_path / "again.toml"
    manifest = str(first / "manifest.json")
    assert main(["init", "micro", str(scenario), "--from-manifest", manifest]) == 0
    assert "--out NEW_FOLDER" in scenario.read_text()
    capsys.readouterr()
    assert main(["run", str(scenario), "--out", str(tmp_path / "second"), "-q"]) == 0
    _compare_runs(first, tmp_path / "second")


def test_manifest_with_decision_options_replays_exactly(tmp_path, capsys):
    first = tmp_path / "first"
    args = ["micro", "--cell-size", "50", "--no-tiles", "--quiet", "--regions", "2"]
    args += ["--total-area", "4", "--sensitivity", "5", "--seed", "1"]
    assert main([*args, "--out", str(first)]) == 0
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "--quiet"]) == 0
    capsys.readouterr()
    _compare_runs(first, replay)
    for rel in ("sensitivity/mean.tif", "sensitivity/selection_probability.tif"):
        assert (replay / rel).exists()
    for rel in ("sensitivity/regions.csv", "sensitivity/weights.csv"):
        assert (first / rel).read_bytes() == (replay / rel).read_bytes()
    sites = pyogrio.read_dataframe(replay / "candidates.gpkg", layer="candidates")
    assert len(sites) == 2 and {"mc_mean_rank", "mc_p_selected"} <= set(sites.columns)
    np.testing.assert_allclose(sites["area_ha"].sum(), 4.0, rtol=0.05)
    a = json.loads((first / "manifest.json").read_text())
    b = json.loads((replay / "manifest.json").read_text())
    assert a["parameters"] == b["parameters"]
    assert b["parameters"]["decision"]["regions"] == 2
    assert b["parameters"]["decision"]["sensitivity"] == 5
    # ... and as a scenario file written from the manifest
    scenario = tmp_path / "again.toml"
    assert (
        main(["init", "micro", str(scenario), "--from-manifest", str(first / "manifest.json")]) == 0
    )
    written = tomllib.loads(scenario.read_text())
    assert written["decision"] == {"regions": 2, "total_area_ha": 4.0, "sensitivity": 5, "seed": 1}


def test_manifest_with_an_ahp_file_replays_its_weights(tmp_path, capsys):
    matrix = _pairwise_csv(tmp_path / "weights.csv", FACTOR_NAMES)
    first = tmp_path / "first"
    args = ["micro", "--cell-size", "50", "--no-tiles", "-q", "--ahp", str(matrix)]
    assert main([*args, "--out", str(first)]) == 0
    scenario = load_scenario(first / "manifest.json")
    assert scenario.config.decision.ahp_file == str(matrix)
    expected = np.arange(1, 9) / 36
    np.testing.assert_allclose([f.weight for f in scenario.config.factors], expected)
    matrix.write_text(matrix.read_text().replace("1/2", "1/3", 1))
    err = run_fails(first / "manifest.json", tmp_path, capsys)
    assert "has changed since the run" in err and "weights.csv" in err


def test_replay_refuses_changed_inputs(tmp_path, capsys):
    osm = Path(shutil.copy(default_osm_file(), tmp_path / "city.osm.pbf"))
    first = tmp_path / "first"
    args = ["micro", "--osm-file", str(osm), "--cell-size", "50", "--no-tiles", "-q"]
    assert main([*args, "--out", str(first)]) == 0
    with osm.open("ab") as fh:
        fh.write(b"\0")
    err = run_fails(first / "manifest.json", tmp_path, capsys)
    assert "has changed since the run" in err and str(osm) in err
    osm.unlink()
    assert "osm file not found" in run_fails(first / "manifest.json", tmp_path, capsys)


def test_run_needs_an_output_folder(tmp_path, capsys):
    path = write(tmp_path, HEAD)
    assert main(["run", str(path)]) == 2
    assert "names no output folder" in capsys.readouterr().err


# ---------------------------------------------------------------------- progress
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("level", "tty", "expect"),
    [
        (progress.NORMAL, True, "innosite micro"),  # a bar on a terminal
        (progress.NORMAL, False, None),  # nothing in a log file
        (progress.QUIET, True, None),  # nothing at all
        (progress.VERBOSE, False, "factor: transit: done in"),  # every step, anywhere
    ],
)
def test_progress_follows_verbosity_and_terminal(level, tty, expect, tmp_path):
    stream = Terminal() if tty else io.StringIO()
    path = write(tmp_path, HEAD + "[grid]\ncell_size = 50\n[output]\ntiles = false\n")
    with progress.verbosity(level, stream=stream):
        run_scenario(load_scenario(path), out=tmp_path / "out")
    text = stream.getvalue()
    if expect is None:
        assert text == ""
    else:
        assert expect in text
    if level == progress.VERBOSE:
        for step in ("read OSM data", "grid and walking network", "candidate districts"):
            assert f"{step}: done in" in text


def test_verbose_and_quiet_options(tmp_path, capsys):
    path = write(tmp_path, HEAD + "[grid]\ncell_size = 50\n[output]\ntiles = false\n")
    assert main(["run", str(path), "--out", str(tmp_path / "a"), "--verbose"]) == 0
    out, err = capsys.readouterr()
    assert "write outputs: done in" in err
    assert "Candidate districts:" in out and "report.html" in out
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert (out.strip(), err) == (str(tmp_path / "b"), "")
