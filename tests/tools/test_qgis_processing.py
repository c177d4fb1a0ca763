"""innosite's QGIS Processing provider: installed, listed and run by real QGIS 3.22.

The first tests need no QGIS: the command line the algorithms build, the child process
they run (output, progress, errors, cancel), the algorithm descriptions derived from
the commands, the installation into a profile and the plugin zip. The tests marked
``qgis`` install the plugin into a temporary profile, list the algorithms with
``qgis_process``, run every algorithm on small shipped data and compare every output
with the same run of the command line, and load a run into a project from PyQGIS.
They skip when QGIS is not installed (``INNOSITE_REQUIRE_TOOLS=1`` makes that a
failure, as CI does).
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from shapely.geometry import box

from gis.errors import InputError
from layers.cli.main import build_parser, main
from layers.cli.qgis import ALGORITHMS, algorithm_specs
from layers.qgis_plugin import (
    PLUGIN_NAME,
    PLUGIN_SOURCE,
    build_plugin_zip,
    enable_plugin,
    install_plugin,
)
from layers.qgis_plugin.innosite_processing import runner

ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def specs() -> list[dict]:
    return algorithm_specs()


# ---------------------------------------------------------------------------- command lines
def test_defaults_add_nothing_and_changes_add_their_flags():
    params = [
        {"name": "CELL_SIZE", "flag": "--cell-size", "type": "number", "default": 25.0},
        {"name": "EMPTY", "flag": "--empty", "type": "enum", "default": "drop"},
        {"name": "CONNECTIVITY", "flag": "--connectivity", "type": "enum", "default": "8"},
        {"name": "NO_TILES", "flag": "--no-tiles", "type": "bool"},
        {"name": "BBOX", "flag": "--bbox", "type": "extent"},
        {"name": "W", "flag": "--weight", "type": "weight", "factor": "edge", "default": 0.08},
        {"name": "USER", "flag": "--weight", "type": "weights"},
        {"name": "LAYERS", "flag": "--layer", "type": "lines"},
        {"name": "SCENARIO", "flag": "scenario", "type": "file", "positional": True},
    ]
    defaults = {"CELL_SIZE": 25, "EMPTY": "drop", "CONNECTIVITY": "8", "NO_TILES": False,
                "BBOX": None, "W": 0.08, "USER": "", "LAYERS": "\n", "SCENARIO": None}  # fmt: skip
    assert runner.command_args(params, defaults) == []
    changed = {"CELL_SIZE": 12.5, "EMPTY": "zero", "CONNECTIVITY": "4", "NO_TILES": True,
               "BBOX": [24.9, 60.1, 25.0, 60.2], "W": 0.2, "USER": "a=1, b=0.5;c=2",
               "LAYERS": "labs=l.csv:datum=gcj02,measure=distance\n\nparks=p.gpkg",
               "SCENARIO": "s.toml"}  # fmt: skip
    assert runner.command_args(params, changed) == [
        "--cell-size", "12.5", "--empty", "zero", "--connectivity", "4", "--no-tiles",
        "--bbox", "24.9,60.1,25,60.2", "--weight", "edge=0.2",
        "--weight", "a=1", "--weight", "b=0.5", "--weight", "c=2",
        "--layer", "labs=l.csv:datum=gcj02,measure=distance", "--layer", "parks=p.gpkg", "s.toml",
    ]  # fmt: skip


def test_progress_lines_are_read_from_the_bar_only():
    assert runner.progress_of("\rinnosite micro:   7%|7         | 1/13 [00:00]") == 7.0
    assert runner.progress_of("factors: 100%|##########| 4/4 [00:01]") == 100.0
    assert runner.progress_of("read OSM data: done in 0.85 s") is None
    assert runner.progress_of("keep the best 10% of cells") is None


def test_the_bar_is_drawn_into_a_pipe_when_asked(monkeypatch):
    from gis import progress

    monkeypatch.setenv("INNOSITE_PROGRESS", "always")
    out = io.StringIO()
    with progress.verbosity(progress.NORMAL, stream=out):
        with progress.pipeline(4, desc="demo"):
            for name in ("a", "b", "c", "d"):
                with progress.step(name):
                    pass
    seen = [runner.progress_of(part) for part in out.getvalue().replace("\r", "\n").split("\n")]
    drawn = [p for p in seen if p is not None]
    assert drawn[0] == 0.0 and drawn == sorted(drawn) and drawn[-1] <= 100.0
    monkeypatch.delenv("INNOSITE_PROGRESS")
    quiet = io.StringIO()
    with progress.verbosity(progress.NORMAL, stream=quiet), progress.pipeline(1, desc="x"):
        pass
    assert quiet.getvalue() == ""


def _drawn(output: str) -> list[float]:
    seen = [runner.progress_of(part) for part in output.replace("\r", "\n").split("\n")]
    return [p for p in seen if p is not None]


def test_steps_move_the_bar_by_their_size_and_a_pipeline_ends_at_100(monkeypatch):
    from gis import progress

    monkeypatch.setenv("INNOSITE_PROGRESS", "always")
    out = io.StringIO()
    with progress.verbosity(progress.NORMAL, stream=out), progress.pipeline(8, desc="demo"):
        with progress.step("a", size=4) as done:
            done(0.25)  # 1 of 8
            done(0.1)  # never back
            with progress.step("inner") as inner:  # a step of a step only names itself
                inner(1.0)
            done(0.5)  # 2 of 8
        with progress.step("b", size=20):  # never past the total
            pass
    assert _drawn(out.getvalue()) == [0.0, 12.0, 25.0, 50.0, 100.0]
    # a pipeline that fails does not claim 100 %
    failed = io.StringIO()
    with pytest.raises(ValueError), progress.verbosity(progress.NORMAL, stream=failed):
        with progress.pipeline(4, desc="demo"):
            with progress.step("a"):
                pass
            with progress.step("b"):
                raise ValueError("stop")
    assert _drawn(failed.getvalue()) == [0.0, 25.0]
    # without a bar, done() does nothing
    with progress.step("alone") as done:
        done(0.5)


@pytest.mark.parametrize(
    "args",
    [
        ["meso", "--cell-size", "5000"],
        ["national", "--area-file", "WUHAN", "--cell-size", "5000", "--min-area", "1000"],
        ["macro", "--draws", "50"],
    ],
    ids=["meso", "national", "macro"],
)
def test_a_child_run_streams_increasing_percentages_to_100(tmp_path, args):
    if "WUHAN" in args:
        area = tmp_path / "wuhan.gpkg"
        gpd.GeoDataFrame(geometry=[box(113.8, 30.2, 114.8, 30.9)], crs=4326).to_file(area)
        args = [str(area) if a == "WUHAN" else a for a in args]
    env = runner.child_environment({"pythonpath": [str(ROOT)]})
    pct: list[float] = []
    command = [*runner.python_command({}, python=sys.executable), *args, "--no-tiles", "--out",
               str(tmp_path / "out")]  # fmt: skip
    runner.run_streaming(command, env=env, on_progress=pct.append)
    assert pct == sorted(pct) and pct[0] == 0.0 and pct[-1] == 100.0
    assert len(set(pct)) >= 4, pct  # the long steps show, not only the start and the end
    assert (tmp_path / "out" / "manifest.json").exists()


def test_the_child_environment_drops_qgis_settings():
    base = {"PATH": "/usr/bin", "PYTHONHOME": "/qgis/apps/Python39", "PROJ_LIB": "/qgis/proj",
            "GDAL_DATA": "/qgis/gdal", "PYTHONPATH": "/qgis/py", "LANG": "zh_CN.UTF-8"}  # fmt: skip
    env = runner.child_environment({"pythonpath": ["/src/innosite"]}, base)
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "zh_CN.UTF-8"
    assert env["PYTHONPATH"] == "/src/innosite"
    assert not {"PYTHONHOME", "PROJ_LIB", "GDAL_DATA"} & set(env)
    assert env["INNOSITE_PROGRESS"] == "always"
    assert "PYTHONPATH" not in runner.child_environment({"pythonpath": []}, base)


# ---------------------------------------------------------------------------- the child
CHILD = textwrap.dedent(
    """
    import sys, time
    marker = sys.argv[1]
    try:
        print("start", flush=True)
        for pct in (0, 50, 100):
            sys.stderr.write(f"\\rdemo: {pct:3d}%|#    | {pct}/100 [00:00]")
            sys.stderr.flush()
        sys.stderr.write("\\nstep one: done in 0.01 s\\n")
        sys.stderr.flush()
        if sys.argv[2] == "fail":
            print("innosite micro: error: cell size must be >= 1; got 0", file=sys.stderr)
            sys.exit(2)
        if sys.argv[2] == "hang":
            time.sleep(60)
        print("end 中文", flush=True)
    except KeyboardInterrupt:
        open(marker, "w").write("interrupted")
        sys.exit(130)
    """
)


def _child(tmp_path: Path, mode: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return [sys.executable, str(script), str(tmp_path / "marker"), mode]


def test_the_child_streams_lines_and_progress(tmp_path):
    lines, pct = [], []
    printed = runner.run_streaming(
        _child(tmp_path, "ok"), on_line=lines.append, on_progress=pct.append
    )
    assert lines == printed == ["start", "step one: done in 0.01 s", "end 中文"]
    assert pct == [0.0, 50.0, 100.0]


def test_a_failing_child_raises_its_error_line(tmp_path):
    with pytest.raises(runner.ChildFailed, match=r"^innosite micro: error: cell size must"):
        runner.run_streaming(_child(tmp_path, "fail"))


def test_cancel_interrupts_the_child_like_ctrl_c(tmp_path):
    lines: list[str] = []
    start = time.monotonic()
    with pytest.raises(runner.Cancelled):
        runner.run_streaming(
            _child(tmp_path, "hang"),
            on_line=lines.append,
            is_cancelled=lambda: bool(lines) and lines[-1].startswith("step one"),
        )
    assert time.monotonic() - start < 20
    if os.name == "posix":  # SIGINT first: innosite deletes its staging folder
        assert (tmp_path / "marker").read_text() == "interrupted"


def test_a_missing_interpreter_is_one_clear_error():
    with pytest.raises(runner.ChildFailed, match="innosite qgis install"):
        runner.python_command({"python": ""})
    assert runner.python_command({"python": "/x/python"}) == ["/x/python", "-m", "layers.cli"]


# ---------------------------------------------------------------------------- descriptions
def test_every_command_is_an_algorithm(specs):
    assert [s["id"] for s in specs] == ["micro", "meso", "national", "macro", "scenario"]
    for s in specs:
        names = [p["name"] for p in s["params"]]
        assert len(names) == len(set(names)), s["id"]
        assert {"OUTPUT", "OVERWRITE"}.isdisjoint(names)
        assert s["extra"] == ["--verbose"]
    json.dumps(specs)  # the plugin reads them from JSON


def test_parameters_carry_the_declared_defaults_ranges_and_choices(specs):
    from layers.meso.factors import MESO_FACTORS
    from layers.micro.factors import MICRO_FACTORS
    from layers.micro.run import MicroConfig
    from layers.options import options_of

    by = {s["id"]: {p["name"]: p for p in s["params"]} for s in specs}
    micro = by["micro"]
    assert micro["CELL_SIZE"]["default"] == MicroConfig.cell_size == 25.0
    assert by["meso"]["CELL_SIZE"]["default"] == 200.0
    assert by["national"]["CELL_SIZE"]["default"] == 1000.0
    assert micro["TOP_PERCENT"]["max"] == 100.0 and "min" not in micro["TOP_PERCENT"]
    assert micro["AGGREGATION"]["options"] == [
        str(c) for c in options_of(MicroConfig)["aggregation"].choices()
    ]
    assert micro["CONNECTIVITY"] == {**micro["CONNECTIVITY"], "type": "enum", "default": "8"}
    assert {p["factor"]: p["default"] for p in micro.values() if p["type"] == "weight"} == {
        f.name: f.weight for f in MICRO_FACTORS
    }
    assert {p["factor"] for p in by["meso"].values() if p["type"] == "weight"} == {
        f.name for f in MESO_FACTORS
    }
    assert micro["AREA_FILE"]["type"] == micro["EXCLUDE"]["type"] == "vector"
    assert micro["BBOX"]["type"] == "extent" and micro["CRS"]["type"] == "crs"
    assert by["meso"]["POPULATION"]["type"] == "raster"
    assert by["macro"]["INDICATORS"] == {
        **by["macro"]["INDICATORS"], "type": "field", "parent": "TABLE", "multiple": True,
    }  # fmt: skip
    assert by["macro"]["TABLE"]["table"] is True
    assert by["macro"]["USER_WEIGHTS"]["type"] == "weights"
    scenario = by["scenario"]["SCENARIO"]
    assert scenario["positional"] and not scenario["optional"]


def _sample(p: dict):
    """A value of parameter ``p`` other than its default, as the plugin hands it over."""
    kind = p["type"]
    if kind == "bool":
        return True
    if kind == "enum":
        return next(o for o in p["options"] if o != p.get("default"))
    if kind in ("number", "weight"):
        low = p.get("min", 0.0)
        value = (p.get("default") or low or 0) + 1
        value = min(value, p.get("max", value))
        return int(value) if p.get("data") == "integer" else float(value)
    if kind == "string":  # the text a typed option of the command reads
        return {"numbers": "0.5,0.5", "names": "a,b", "count_or_names": "4", "pair": "lon,lat",
                "memory": "512MiB"}.get(p.get("kind", "text"), "x")  # fmt: skip
    return {"extent": [24.9, 60.1, 25.0, 60.2], "point": [24.94, 60.17], "crs": "EPSG:32635",
            "field": "a,b", "weights": "a=1", "lines": "labs=l.csv",
            }.get(kind, "a.gpkg")  # fmt: skip


def test_every_parameter_becomes_arguments_the_command_accepts(specs):
    parser = build_parser()
    for s in specs:
        for p in s["params"]:
            args = runner.command_args([p], {p["name"]: _sample(p)})
            assert args, (s["id"], p["name"])
            scenario = ["x.toml"] if s["id"] == "scenario" and not p.get("positional") else []
            parser.parse_args([*s["command"], *scenario, *args, "--out", "o"])


def test_the_plugin_imports_neither_gis_nor_layers():
    allowed = {"qgis", "processing", "__future__"}
    for path in PLUGIN_SOURCE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            foreign = {r for r in roots if r not in allowed and r not in sys.stdlib_module_names}
            assert not foreign, f"{path.name} imports {foreign}"
    meta = (PLUGIN_SOURCE / "metadata.txt").read_text(encoding="utf-8")
    assert "hasProcessingProvider=yes" in meta and "qgisMinimumVersion=3.22" in meta


# ---------------------------------------------------------------------------- install / zip
def test_install_writes_the_plugin_records_the_interpreter_and_enables_it(tmp_path):
    profile = tmp_path / "profile"
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[General]\nlocale=zh_CN\n\n[PythonPlugins]\nother=true\n\n[Qgis]\nx=1\n")
    folder = install_plugin(profile, python="/opt/py/bin/python", algorithms=[{"id": "a"}])
    assert folder == profile / "python" / "plugins" / PLUGIN_NAME
    config = json.loads((folder / "innosite.json").read_text())
    assert config["written_by"] == "innosite" and config["python"] == "/opt/py/bin/python"
    assert config["algorithms"] == [{"id": "a"}]
    assert config["pythonpath"] == [str(ROOT)]  # the source tree is not in site-packages
    shipped = {p.name for p in PLUGIN_SOURCE.iterdir() if p.suffix in (".py", ".txt")}
    assert shipped <= {p.name for p in folder.iterdir()}
    assert ini.read_text() == (
        "[General]\nlocale=zh_CN\n\n[PythonPlugins]\ninnosite_processing=true\nother=true\n\n"
        "[Qgis]\nx=1\n"
    )
    # again: innosite's own folder is replaced, the setting not repeated
    install_plugin(profile, python="/other/python", algorithms=[])
    assert json.loads((folder / "innosite.json").read_text())["python"] == "/other/python"
    assert ini.read_text().count("innosite_processing=") == 1
    assert [p.name for p in folder.parent.iterdir()] == [PLUGIN_NAME]  # no staging left


def test_enable_sets_an_existing_entry_and_creates_the_file(tmp_path):
    ini = enable_plugin(tmp_path / "p")
    assert ini.read_text() == "[PythonPlugins]\ninnosite_processing=true\n"
    ini.write_text("[PythonPlugins]\ninnosite_processing=false\n")
    enable_plugin(tmp_path / "p")
    assert ini.read_text() == "[PythonPlugins]\ninnosite_processing=true\n"


def test_install_refuses_a_folder_innosite_did_not_write(tmp_path, capsys):
    profile = tmp_path / "profile"
    foreign = profile / "python" / "plugins" / PLUGIN_NAME
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("# someone else's plugin\n")
    with pytest.raises(InputError, match="was not written by innosite"):
        install_plugin(profile, python="p", algorithms=[])
    assert main(["qgis", "install", "--profile-dir", str(profile)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was not written by innosite" in err[0]
    assert [p.name for p in foreign.iterdir()] == ["__init__.py"]
    assert not (profile / "QGIS").exists()


def test_install_refuses_an_interpreter_without_innosite(tmp_path, capsys):
    profile = tmp_path / "profile"
    for python in (str(tmp_path / "no-such-python"), "/bin/false"):
        assert main(["qgis", "install", "--profile-dir", str(profile), "--python", python]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"innosite qgis: error: --python {python}")
    assert not profile.exists()


def test_the_command_installs_and_zips(tmp_path, capsys):
    profile = tmp_path / "profile"
    assert main(["qgis", "install", "--profile-dir", str(profile), "--no-enable"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    config = json.loads((folder / "innosite.json").read_text())
    assert config["python"] == sys.executable
    assert [a["id"] for a in config["algorithms"]] == list(ALGORITHMS)
    assert not (profile / "QGIS" / "QGIS3.ini").exists()
    out = tmp_path / "dist" / "innosite_processing.zip"
    assert main(["qgis", "zip", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        zipped = json.loads(z.read(f"{PLUGIN_NAME}/innosite.json"))
        metadata = z.read(f"{PLUGIN_NAME}/metadata.txt").decode()
    assert all(n.startswith(f"{PLUGIN_NAME}/") for n in names)
    assert {f"{PLUGIN_NAME}/metadata.txt", f"{PLUGIN_NAME}/__init__.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert zipped["algorithms"] == config["algorithms"]
    from gis import __version__

    for meta in (metadata, (folder / "metadata.txt").read_text()):
        assert f"\nversion={__version__}\n" in meta and "hasProcessingProvider=yes" in meta
    with pytest.raises(InputError, match=r"must end in \.zip"):
        build_plugin_zip(tmp_path / "plugin.tar", python="p", algorithms=[])


# ---------------------------------------------------------------------------- real QGIS
def _missing(reason: str) -> None:
    if os.environ.get("INNOSITE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (INNOSITE_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


def _qgis_env(home: Path) -> dict[str, str]:
    runtime = home / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYENV", "CONDA", "XDG_", "QGIS_"))
    }
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"  # QGIS's Python finds its stdlib by PATH
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime), HOME=str(home))
    return env


@pytest.fixture(scope="module")
def qgis_home(tmp_path_factory, specs) -> Path:
    """A home folder whose default QGIS profile has the plugin installed and enabled."""
    if not Path(QGIS_PROCESS).exists():
        _missing("qgis_process.bin not installed (apt-get install qgis qgis-providers)")
    home = tmp_path_factory.mktemp("qgis-home")
    profile = home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    install_plugin(profile, python=sys.executable, algorithms=specs)
    return home


def qgis_process(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [QGIS_PROCESS, *args], capture_output=True, text=True, env=_qgis_env(home),
        timeout=timeout, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def cli(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "layers.cli", *args, "-q"], capture_output=True, text=True,
        env=env, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


def assert_same_outputs(mine: Path, theirs: Path) -> None:
    """Every GeoTIFF and GeoPackage of two output folders holds the same data."""
    files = sorted(p.relative_to(mine) for p in mine.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(theirs) for p in theirs.rglob("*") if p.is_file())
    rasters = [f for f in files if f.suffix == ".tif"]
    vectors = [f for f in files if f.suffix == ".gpkg"]
    assert rasters or vectors
    for f in rasters:
        with rasterio.open(mine / f) as a, rasterio.open(theirs / f) as b:
            assert (a.crs, a.transform) == (b.crs, b.transform), f
            np.testing.assert_array_equal(a.nodata, b.nodata)  # NaN equals NaN here
            np.testing.assert_array_equal(a.read(), b.read(), err_msg=str(f))
    for f in vectors:
        for layer, _kind in pyogrio.list_layers(mine / f):
            if layer == "layer_styles":
                continue
            a = pyogrio.read_dataframe(mine / f, layer=layer)
            b = pyogrio.read_dataframe(theirs / f, layer=layer)
            assert len(a) == len(b), (f, layer)
            if "geometry" in a:
                assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb()), (f, layer)
                a, b = pd.DataFrame(a.drop(columns="geometry")), b.drop(columns="geometry")
            pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), obj=f"{f}:{layer}")


@pytest.mark.qgis
def test_qgis_process_lists_the_algorithms_of_the_enabled_plugin(qgis_home):
    plugins = qgis_process(qgis_home, "plugins").stdout
    assert f"* {PLUGIN_NAME}" in plugins
    listed = qgis_process(qgis_home, "list").stdout
    for algorithm_id, (_command, title, _outputs) in ALGORITHMS.items():
        assert f"innosite:{algorithm_id}\t{title}" in listed
    helptext = qgis_process(qgis_home, "help", "innosite:micro").stdout
    assert "CELL_SIZE" in helptext and "WEIGHT_UNIVERSITY" in helptext


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Small polygon files: an exclusion in central Helsinki, a box around Wuhan."""
    folder = tmp_path_factory.mktemp("inputs")
    out = {"exclude": folder / "exclude.gpkg", "wuhan": folder / "wuhan.gpkg"}
    gpd.GeoDataFrame(geometry=[box(24.935, 60.165, 24.94, 60.168)], crs=4326).to_file(
        out["exclude"]
    )
    gpd.GeoDataFrame(geometry=[box(113.8, 30.2, 114.8, 30.9)], crs=4326).to_file(out["wuhan"])
    return out


def _cases(inputs: dict[str, Path], tmp: Path) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Parameters of ``qgis_process`` and arguments of the command line for the same run."""
    from gis.sources import default_osm_file

    osm = str(default_osm_file())
    table = str(ROOT / "layers" / "data" / "table1_regional_innovation_resources_2020.csv")
    indicators = ["universities_double_first_class", "national_labs", "rd_intensity_pct"]
    scenario = tmp / "helsinki.toml"
    assert main(["init", "micro", str(scenario)]) == 0
    return {
        "micro": (
            {"OSM_FILE": osm, "CELL_SIZE": "50", "WEIGHT_TRANSIT": "0.3",
             "EXCLUDE": str(inputs["exclude"]), "AGGREGATION": "weighted_product",
             "NO_TILES": "true"},
            ["micro", "--osm-file", osm, "--cell-size", "50", "--weight", "transit=0.3",
             "--exclude", str(inputs["exclude"]), "--aggregation", "weighted_product",
             "--no-tiles"],
        ),
        "meso": (
            {"BBOX": "113.8,114.8,30.2,30.9 [EPSG:4326]", "CRS": "EPSG:32650",
             "CELL_SIZE": "1000", "MIN_AREA": "500", "NO_TILES": "true"},
            ["meso", "--bbox", "113.8,30.2,114.8,30.9", "--crs", "EPSG:32650",
             "--cell-size", "1000", "--min-area", "500", "--no-tiles"],
        ),
        "national": (
            {"AREA_FILE": str(inputs["wuhan"]), "CELL_SIZE": "5000", "MIN_AREA": "1000",
             "WEIGHT_MARKET": "0.4", "NO_TILES": "true"},
            ["national", "--area-file", str(inputs["wuhan"]), "--cell-size", "5000",
             "--min-area", "1000", "--weight", "market=0.4", "--no-tiles"],
        ),
        "macro": (
            {"NORMALIZATION": "vector", "DRAWS": "200", "NO_TILES": "true"},
            ["macro", "--normalization", "vector", "--draws", "200", "--no-tiles"],
        ),
        "macro-table": (
            {"TABLE": table, "UNIT_COLUMN": "region_en", "INDICATORS": indicators,
             "COST": ["rd_intensity_pct"], "DRAWS": "100", "NO_TILES": "true"},
            ["macro", "--table", table, "--unit-column", "region_en", "--indicators",
             ",".join(indicators), "--cost", "rd_intensity_pct", "--draws", "100",
             "--no-tiles"],
        ),
        "scenario": ({"SCENARIO": str(scenario)}, ["run", str(scenario)]),
    }  # fmt: skip


@pytest.mark.qgis
@pytest.mark.parametrize("case", ["micro", "meso", "national", "macro", "macro-table", "scenario"])
def test_each_algorithm_equals_the_command_line(qgis_home, inputs, tmp_path, case):
    params, args = _cases(inputs, tmp_path)[case]
    algorithm_id = case.split("-")[0]
    by_qgis, by_cli = tmp_path / "qgis", tmp_path / "cli"
    given = [  # a list: the parameter repeated, as qgis_process takes several values
        f"--{k}={v}" for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])
    ]
    proc = qgis_process(
        qgis_home, "--json", "run", f"innosite:{algorithm_id}", *given, f"--OUTPUT={by_qgis}"
    )
    results = json.loads(proc.stdout)["results"]
    assert Path(results["OUTPUT"]) == by_qgis
    cli(*args, "--out", str(by_cli))
    assert_same_outputs(by_cli, by_qgis)
    for name, (_kind, file) in {o[0]: o[1:] for o in ALGORITHMS[algorithm_id][2]}.items():
        if (by_cli / file).exists():
            assert Path(results[name]) == by_qgis / file


@pytest.mark.qgis
def test_a_zip_installed_plugin_is_enabled_by_qgis_process(tmp_path, specs):
    if not Path(QGIS_PROCESS).exists():
        _missing("qgis_process.bin not installed")
    archive = build_plugin_zip(tmp_path / "innosite.zip", python=sys.executable, algorithms=specs)
    plugins = tmp_path / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    plugins = plugins / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(plugins)
    assert f"* {PLUGIN_NAME}" not in qgis_process(tmp_path, "plugins").stdout
    qgis_process(tmp_path, "plugins", "enable", PLUGIN_NAME)
    assert "innosite:scenario" in qgis_process(tmp_path, "list").stdout


LOAD_IN_PROJECT = textwrap.dedent(
    """
    import json, sys, time
    from qgis.core import (QgsApplication, QgsLayerTree, QgsProcessingFeedback, QgsProject)
    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [sys.argv[1], "/usr/share/qgis/python/plugins"]
    import processing
    from processing.core.Processing import Processing
    Processing.initialize()
    from innosite_processing.plugin import InnositePlugin
    plugin = InnositePlugin()
    plugin.initProcessing()

    def tree(node):
        out = []
        for child in node.children():
            if QgsLayerTree.isGroup(child):
                out.append([child.name(), tree(child)])
            else:
                layer = child.layer()
                out.append([layer.name(), layer.isValid(), layer.renderer().type(),
                            child.itemVisibilityChecked(), layer.type() == 1])
        return out

    class CancelAfter(QgsProcessingFeedback):
        # cancels once the run reports progress (it is under way), or after ``seconds``
        def __init__(self, seconds):
            super().__init__()
            self.until = time.monotonic() + seconds
        def isCanceled(self):
            return self.progress() > 0 or time.monotonic() > self.until

    report = {}
    result = processing.run("innosite:micro", {"OUTPUT": sys.argv[2], "CELL_SIZE": 50,
                            "NO_TILES": True}, feedback=QgsProcessingFeedback())
    report["loaded"] = tree(QgsProject.instance().layerTreeRoot())
    written = QgsProject()
    written.read(sys.argv[2] + "/project.qgz")
    report["written"] = tree(written.layerTreeRoot())
    try:
        processing.run("innosite:micro", {"OUTPUT": sys.argv[3]}, feedback=CancelAfter(1.5))
        report["cancelled"] = "not raised"
    except Exception as exc:
        report["cancelled"] = str(exc)
    plugin.unload()
    print("RESULT " + json.dumps(report))
    """
)


@pytest.mark.qgis
def test_a_run_is_added_to_the_project_styled_and_cancel_leaves_nothing(qgis_home, tmp_path):
    if not Path(SYSTEM_PYTHON).exists():
        _missing("python3 with python3-qgis not installed")
    script = tmp_path / "load.py"
    script.write_text(LOAD_IN_PROJECT, encoding="utf-8")
    plugins = qgis_home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    run, cancelled = tmp_path / "run", tmp_path / "cancelled"
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(plugins / "python" / "plugins"), str(run),
         str(cancelled)],
        capture_output=True, text=True, env=_qgis_env(qgis_home), timeout=600, check=False,
    )  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(line[len("RESULT ") :])
    [[title, loaded]] = report["loaded"]
    assert title == "innosite micro — run"
    assert loaded == report["written"]  # the run's own groups, order, styles, visibility

    def leaves(tree):
        for item in tree:
            yield from leaves(item[1]) if len(item) == 2 else [item]

    layers = list(leaves(loaded))
    assert len(layers) >= 10 and all(valid for _n, valid, _r, _v, _raster in layers)
    assert {r for _n, _v, r, _vis, raster in layers if raster} == {"singlebandpseudocolor"}
    assert [n for n, *_ in layers if n.startswith("Candidate")]
    assert "cancelled" in report["cancelled"]
    assert not cancelled.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cancelled")]


PROGRESS_IN_QGIS = textwrap.dedent(
    """
    import json, sys
    from qgis.core import QgsApplication, QgsProcessingFeedback
    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [sys.argv[1], "/usr/share/qgis/python/plugins"]
    import processing
    from processing.core.Processing import Processing
    Processing.initialize()
    from innosite_processing.plugin import InnositePlugin
    plugin = InnositePlugin()
    plugin.initProcessing()
    report = {}
    for name, params in (("macro", {"DRAWS": 50}), ("meso", {"CELL_SIZE": 5000})):
        feedback = QgsProcessingFeedback()
        seen = []
        feedback.progressChanged.connect(seen.append)
        processing.run(f"innosite:{name}", {"OUTPUT": f"{sys.argv[2]}/{name}", "NO_TILES": True,
                       **params}, feedback=feedback)
        report[name] = seen
    plugin.unload()
    print("RESULT " + json.dumps(report))
    """
)


@pytest.mark.qgis
def test_qgis_shows_the_percentages_of_a_meso_and_a_macro_run(qgis_home, tmp_path):
    if not Path(SYSTEM_PYTHON).exists():
        _missing("python3 with python3-qgis not installed")
    script = tmp_path / "progress.py"
    script.write_text(PROGRESS_IN_QGIS, encoding="utf-8")
    plugins = qgis_home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(plugins / "python" / "plugins"), str(tmp_path)],
        capture_output=True, text=True, env=_qgis_env(qgis_home), timeout=600, check=False,
    )  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name, seen in json.loads(line[len("RESULT ") :]).items():
        assert seen == sorted(seen) and seen[-1] == 100.0, (name, seen)
        # the child's own steps, not only the provider's final 100
        assert len({p for p in seen if 0 < p < 100}) >= 3, (name, seen)


BUILD_COMMAND = textwrap.dedent(
    """
    import json, os, sys
    from qgis.core import (QgsApplication, QgsFeature, QgsGeometry, QgsProcessingContext,
                           QgsProcessingFeedback, QgsProject, QgsVectorLayer)
    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [sys.argv[1], "/usr/share/qgis/python/plugins"]
    from processing.core.Processing import Processing
    Processing.initialize()
    from innosite_processing.plugin import InnositePlugin
    plugin = InnositePlugin()
    plugin.initProcessing()
    memory = QgsVectorLayer("Polygon?crs=EPSG:4326", "drawn", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt("POLYGON((24.93 60.16,24.94 60.16,24.94 60.17,"
                                            "24.93 60.17,24.93 60.16))"))
    memory.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(memory)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    alg = QgsApplication.processingRegistry().createAlgorithmById("innosite:micro")
    os.environ["INNOSITE_PYTHON"] = "/opt/other/python"
    command = alg.command({
        "EXCLUDE": memory.id(), "CRS": "EPSG:32650", "CELL_SIZE": 25,
        "BBOX": "2775000,2780000,8440000,8445000 [EPSG:3857]",
        "CENTER": "2776000,8441000 [EPSG:3857]", "WEIGHT_EDGE": 0.25,
        "LAYERS": "labs=labs.csv:datum=gcj02", "OUTPUT": sys.argv[2], "OVERWRITE": True,
    }, context, QgsProcessingFeedback())
    excluded = command[command.index("--exclude") + 1]
    written = QgsVectorLayer(excluded, "written", "ogr")
    box = written.extent()
    from processing.core.ProcessingConfig import ProcessingConfig
    ProcessingConfig.setSettingValue("INNOSITE_PYTHON", "/usr/bin/python3")
    again = alg.command({"OUTPUT": sys.argv[2]}, context, QgsProcessingFeedback())
    plugin.unload()
    print("RESULT " + json.dumps({"command": command, "count": written.featureCount(),
          "bounds": [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()],
          "again": again}))
    """
)


@pytest.mark.qgis
def test_project_layers_extents_crs_and_points_become_the_commands_arguments(qgis_home, tmp_path):
    from pyproj import Transformer

    if not Path(SYSTEM_PYTHON).exists():
        _missing("python3 with python3-qgis not installed")
    script = tmp_path / "build.py"
    script.write_text(BUILD_COMMAND, encoding="utf-8")
    plugins = qgis_home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins"
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(plugins), str(tmp_path / "out")],
        capture_output=True, text=True, env=_qgis_env(qgis_home), timeout=300, check=False,
    )  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(line[len("RESULT ") :])
    command = report["command"]
    assert command[:4] == ["/opt/other/python", "-m", "layers.cli", "micro"]
    assert report["again"] == [  # the provider's option comes first
        "/usr/bin/python3", "-m", "layers.cli", "micro", "--out", str(tmp_path / "out"),
        "--verbose",
    ]  # fmt: skip
    assert command[-4:] == ["--out", str(tmp_path / "out"), "--overwrite", "--verbose"]
    args = dict(zip(command[4:-4:2], command[5:-4:2], strict=True))
    assert args["--crs"] == "EPSG:32650" and args["--weight"] == "edge=0.25"
    assert args["--layer"] == "labs=labs.csv:datum=gcj02" and "--cell-size" not in args
    assert report["count"] == 1 and args["--exclude"].endswith(".gpkg")
    np.testing.assert_allclose(report["bounds"], [24.93, 60.16, 24.94, 60.17], atol=1e-9)
    to_wgs84 = Transformer.from_crs(3857, 4326, always_xy=True)
    west, south, east, north = to_wgs84.transform_bounds(2775000, 8440000, 2780000, 8445000)
    bbox = [float(v) for v in args["--bbox"].split(",")]
    np.testing.assert_allclose(bbox, [west, south, east, north], atol=1e-7)
    lon, lat = to_wgs84.transform(2776000, 8441000)
    np.testing.assert_allclose([float(v) for v in args["--center"].split(",")], [lon, lat])


def test_a_grandchild_holding_the_pipe_does_not_hang_the_run(tmp_path):
    script = tmp_path / "spawn.py"
    script.write_text(
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('spawned', flush=True)\n",
        encoding="utf-8",
    )
    start = time.monotonic()
    assert runner.run_streaming([sys.executable, str(script)]) == ["spawned"]
    assert time.monotonic() - start < 15
