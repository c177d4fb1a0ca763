"""The outputs of a micro run, opened and processed by real QGIS (Debian's qgis packages).

``qgis_process`` runs QGIS algorithms headless; ``python3`` with Debian's
``python3-qgis`` loads each layer the way the QGIS desktop does, default styles
included. The tests skip when QGIS is not installed (set ``INNOSITE_REQUIRE_TOOLS=1``
to make that a failure, as CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

from layers.micro.run import MicroConfig, run_micro

pytestmark = pytest.mark.qgis

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
SYSTEM_PYTHON = "/usr/bin/python3"


def _missing(reason: str) -> None:
    if os.environ.get("INNOSITE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (INNOSITE_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


def _env(tmp: Path) -> dict[str, str]:
    runtime = tmp / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYENV", "CONDA"))
    }
    # QGIS embeds Debian's Python, which finds its standard library through the first
    # python3 on PATH: keep only system folders so a virtualenv's python3 is not it.
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp))
    return env


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A micro run on the embedded Helsinki extract."""
    if not Path(QGIS_PROCESS).exists():
        _missing("qgis_process.bin not installed (apt-get install qgis qgis-providers)")
    out = tmp_path_factory.mktemp("qgis") / "helsinki"
    result, paths = run_micro(MicroConfig(tiles=None), out=out, command="test")
    return result, paths, out


def qgis_process(algorithm: str, tmp: Path, **params: str) -> dict:
    """Run a QGIS Processing algorithm; its results as a dict."""
    args = [QGIS_PROCESS, "--json", "run", algorithm, *(f"--{k}={v}" for k, v in params.items())]
    proc = subprocess.run(
        args, capture_output=True, text=True, env=_env(tmp), timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["results"]


def test_raster_statistics_agree_with_numpy(run, tmp_path):
    _result, _paths, out = run
    stats = qgis_process(
        "native:rasterlayerstatistics", tmp_path, INPUT=out / "suitability.tif", BAND="1"
    )
    with rasterio.open(out / "suitability.tif") as src:
        data = src.read(1).astype("float64")
    valid = data[np.isfinite(data)]
    assert stats["MIN"] == pytest.approx(valid.min(), rel=1e-7)
    assert stats["MAX"] == pytest.approx(valid.max(), rel=1e-7)
    assert stats["MEAN"] == pytest.approx(valid.mean(), rel=1e-7)
    assert stats["SUM"] == pytest.approx(valid.sum(), rel=1e-7)
    assert stats["STD_DEV"] == pytest.approx(valid.std(ddof=1), rel=1e-7)  # sample SD


def test_zonal_statistics_of_candidates_agree_with_innosite(run, tmp_path):
    _result, _paths, out = run
    target = tmp_path / "zonal.gpkg"
    qgis_process(
        "native:zonalstatisticsfb",
        tmp_path,
        INPUT=f"{out / 'candidates.gpkg'}|layername=candidates",
        INPUT_RASTER=out / "suitability.tif",
        RASTER_BAND="1",
        COLUMN_PREFIX="q_",
        STATISTICS="0,2,6",  # count, mean, max
        OUTPUT=target,
    )
    zonal = pyogrio.read_dataframe(target).sort_values("rank")
    mine = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates").sort_values("rank")
    assert len(zonal) == len(mine) >= 1
    np.testing.assert_array_equal(zonal["q_count"].to_numpy(), mine["n_cells"].to_numpy())
    np.testing.assert_allclose(zonal["q_mean"], mine["mean_score"], rtol=1e-6)
    np.testing.assert_allclose(zonal["q_max"], mine["max_score"], rtol=1e-6)


def test_factor_layers_load_with_the_same_statistics(run, tmp_path):
    result, paths, out = run
    factors = [k.split(":", 1)[1] for k in paths if k.startswith("factor:")]
    assert factors
    for name in factors:
        stats = qgis_process(
            "native:rasterlayerstatistics", tmp_path, INPUT=out / f"{name}.tif", BAND="1"
        )
        fr = next(f for f in result.factors if f.factor.name == name)
        expected = fr.score[result.inside].astype("float64")
        assert stats["MEAN"] == pytest.approx(expected.mean(), rel=1e-6), name


_LOAD_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from qgis.core import QgsApplication, QgsRasterLayer, QgsVectorLayer
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    out = {}
    for path in sys.argv[1:]:
        if path.endswith(".tif"):
            layer = QgsRasterLayer(path, os.path.basename(path))
            info = {"valid": layer.isValid(), "crs": layer.crs().authid()}
            if layer.isValid():
                r = layer.renderer()
                info["renderer"] = r.type()
                info["description"] = layer.dataProvider().generateBandName(1)
                if r.type() == "singlebandpseudocolor":
                    shader = r.shader().rasterShaderFunction()
                    info["min"], info["max"] = r.classificationMin(), r.classificationMax()
                    info["colours"] = [i.color.name() for i in shader.colorRampItemList()]
        else:
            layer = QgsVectorLayer(path + "|layername=candidates", "candidates", "ogr")
            info = {"valid": layer.isValid(), "crs": layer.crs().authid()}
            if layer.isValid():
                info["features"] = layer.featureCount()
                info["fields"] = [f.name() for f in layer.fields()]
                r = layer.renderer()
                info["renderer"] = r.type()
                info["colour"] = r.symbol().symbolLayer(0).strokeColor().name()
                info["labels"] = layer.labelsEnabled()
                lab = layer.labeling()
                info["label_field"] = lab.settings().fieldName if lab else None
                idx = layer.fields().indexOf("mean_score")
                info["alias"] = layer.attributeAlias(idx)
        out[path] = info
    print(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)  # skip QGIS teardown, which can crash after a headless run
    """
)


@pytest.fixture(scope="module")
def loaded(run, tmp_path_factory):
    """Every output layer as QGIS sees it (PyQGIS from Debian's python3-qgis)."""
    tmp = tmp_path_factory.mktemp("pyqgis")
    if not Path(SYSTEM_PYTHON).exists():
        _missing(f"{SYSTEM_PYTHON} not found (apt-get install python3-qgis)")
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], env=_env(tmp), capture_output=True, check=False
    )
    if probe.returncode != 0:
        _missing("python3-qgis not installed (apt-get install python3-qgis)")
    _result, _paths, out = run
    layers = [*sorted(str(p) for p in out.rglob("*.tif")), str(out / "candidates.gpkg")]
    script = tmp / "load.py"
    script.write_text(_LOAD_SCRIPT)
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), *layers],
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_output_loads_in_qgis(run, loaded):
    _result, paths, out = run
    tifs = [p for p in paths.values() if str(p).endswith(".tif")]
    assert len(loaded) == len(tifs) + 1
    for path, info in loaded.items():
        assert info["valid"], path
        assert info["crs"] == "EPSG:32635", path
    gpkg = loaded[str(out / "candidates.gpkg")]
    assert gpkg["features"] == len(run[0].candidates)
    assert {"rank", "mean_score", "university"} <= set(gpkg["fields"])


def test_styles_are_picked_up(run, loaded):
    _result, _paths, out = run
    gpkg = loaded[str(out / "candidates.gpkg")]
    # from the GeoPackage's layer_styles table
    assert gpkg["renderer"] == "singleSymbol"
    assert gpkg["colour"] == "#d7301f"
    assert gpkg["labels"] is True and gpkg["label_field"] == "rank"
    assert gpkg["alias"] == "Mean suitability"
    # from the .qml side-cars: scores on a 0-1 viridis ramp, raw measures on their range
    for name in ("suitability.tif", "transit.tif"):
        info = loaded[str(out / name)]
        assert info["renderer"] == "singlebandpseudocolor", name
        assert (info["min"], info["max"]) == (0.0, 1.0)
        assert info["colours"][0] == "#440154" and info["colours"][-1] == "#fde725"
    raw = loaded[str(out / "raw" / "transit_walk.tif")]
    assert raw["renderer"] == "singlebandpseudocolor"
    with rasterio.open(out / "raw" / "transit_walk.tif") as src:
        data = src.read(1)
    assert raw["max"] == pytest.approx(float(np.nanmax(data)), rel=1e-6)


def test_national_zones_drawn_window_by_window_match_qgis_zonal_statistics(tmp_path):
    """Zones labelled and polygonised per window, merged across edges, measured by QGIS."""
    if not Path(QGIS_PROCESS).exists():
        _missing("qgis_process.bin not installed (apt-get install qgis qgis-providers)")
    import geopandas as gpd
    from shapely.geometry import box

    from gis.engine import Engine
    from layers.national.run import NationalConfig, run_national

    area = tmp_path / "area.gpkg"
    gpd.GeoSeries([box(108.3, 29.0, 116.2, 33.3)], crs=4326).to_file(area)
    config = NationalConfig(cell_size=5000, area_file=str(area), top_percent=5.0, min_area_ha=0,
                            engine=Engine("windows", memory_budget=400_000))  # fmt: skip
    res = run_national(config, out=tmp_path / "nat")
    assert res.windows["scores"] > 4
    out = tmp_path / "nat"
    target = tmp_path / "zonal.gpkg"
    qgis_process(
        "native:zonalstatisticsfb", tmp_path,
        INPUT=f"{out / 'candidates.gpkg'}|layername=candidates",
        INPUT_RASTER=out / "suitability.tif", RASTER_BAND="1", COLUMN_PREFIX="q_",
        STATISTICS="0,2,6", OUTPUT=target,
    )  # fmt: skip
    zonal = pyogrio.read_dataframe(target).sort_values("rank")
    mine = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates").sort_values("rank")
    assert len(zonal) == len(mine) > 3
    np.testing.assert_array_equal(zonal["q_count"].to_numpy(), mine["n_cells"].to_numpy())
    np.testing.assert_allclose(zonal["q_mean"], mine["mean_score"], rtol=1e-6)
    np.testing.assert_allclose(zonal["q_max"], mine["max_score"], rtol=1e-6)
