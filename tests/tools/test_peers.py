"""Peer GIS tools (GDAL, GRASS) run by scripts/bench/peers.py, checked against scipy and numpy.

Every tool test runs on a 40 x 30 grid of 100 m cells and is skipped when its tool
is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy import ndimage

from gis.errors import InputError, OutputExistsError
from gis.grid import Grid
from gis.io import read_geotiff, write_geotiff

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))

import peers
from peers import (
    PeerError,
    available,
    gdal_calc,
    gdal_proximity,
    gdal_wlc_expression,
    grass_clump,
    grass_grow_distance,
    grass_mapcalc,
    grass_wlc_expression,
    unavailable_reason,
    write_sources,
)

CELL = 100.0
TOOLS = available()
needs_proximity = pytest.mark.skipif(
    not TOOLS["gdal_proximity"], reason=str(unavailable_reason("gdal_proximity"))
)
needs_calc = pytest.mark.skipif(not TOOLS["gdal_calc"], reason=str(unavailable_reason("gdal_calc")))
needs_grass = pytest.mark.skipif(not TOOLS["grass"], reason=str(unavailable_reason("grass")))

# (weight, lower, upper); the last layer rescales decreasingly
RESCALES = {"A": (0.5, 2.0, 8.0), "B": (0.3, -1.0, 1.5), "C": (0.2, 40.0, 10.0)}


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid.from_bounds((500_000, 3_000_000, 504_000, 3_003_000), cell_size=CELL, crs=32650)


@pytest.fixture(scope="module")
def sources(grid, tmp_path_factory) -> tuple[np.ndarray, Path]:
    rng = np.random.default_rng(7)
    mask = rng.random(grid.shape) < 0.006
    mask[3, 4] = mask[25, 33] = True
    path = write_sources(tmp_path_factory.mktemp("src") / "sources.tif", mask, grid)
    return mask, path


@pytest.fixture(scope="module")
def layers(grid, tmp_path_factory) -> tuple[dict[str, np.ndarray], dict[str, Path]]:
    rng = np.random.default_rng(11)
    arrays = {
        "A": rng.uniform(0, 10, grid.shape),
        "B": rng.normal(0, 1.5, grid.shape),
        "C": rng.uniform(0, 50, grid.shape),
    }
    arrays["B"][5, 6] = np.nan
    folder = tmp_path_factory.mktemp("layers")
    paths = {
        k: write_geotiff(folder / f"{k}.tif", a, grid, description=k) for k, a in arrays.items()
    }
    # what the files hold: float32
    return {k: a.astype(np.float32).astype(np.float64) for k, a in arrays.items()}, paths


def _wlc(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Independent numpy weighted linear combination of linear rescales."""
    total = np.zeros_like(arrays["A"])
    for k, (w, lo, hi) in RESCALES.items():
        total += w * np.clip((arrays[k] - lo) / (hi - lo), 0.0, 1.0)
    return total


def _raw(path: Path) -> tuple[np.ndarray, rasterio.profiles.Profile]:
    with rasterio.open(path) as src:
        return src.read(1), src.profile


def _check_run(run: peers.PeerRun, out: Path, grid: Grid) -> None:
    assert run.output == out.resolve() and out.is_file()
    assert run.seconds >= run.core_seconds > 0
    assert run.peak_rss_mib is None or run.peak_rss_mib > 1
    assert len(run.extra["steps"]) == len(run.commands)
    assert read_geotiff(out)[1] == grid
    _, profile = _raw(out)
    assert profile["tiled"] and profile["compress"] == "deflate"
    assert not list(out.parent.glob(".peers-*")), "the staging folder is removed"


# --------------------------------------------------------------------------- no tool needed


def test_available_names_every_tool():
    assert set(available()) == set(peers.TOOLS)
    with pytest.raises(InputError, match="unknown tool"):
        unavailable_reason("qgis")


def test_missing_tool_returns_none(monkeypatch, tmp_path, sources):
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    assert unavailable_reason("grass") == "grass not found on PATH"
    assert available() == dict.fromkeys(peers.TOOLS, False)
    src = sources[1]
    assert gdal_proximity(src, tmp_path / "p.tif") is None
    assert gdal_calc({"A": src}, "A", tmp_path / "c.tif") is None
    assert grass_grow_distance(src, tmp_path / "g.tif") is None
    assert grass_mapcalc({"a": src}, "a", tmp_path / "m.tif") is None
    assert grass_clump(src, tmp_path / "k.tif", threshold=1) is None
    assert not list(tmp_path.iterdir())


def test_run_measures_child_memory(tmp_path):
    code = "import time; b = b'x' * (200 * 2**20); time.sleep(0.05)"
    step = peers._run([sys.executable, "-c", code], cwd=tmp_path)
    assert step.seconds >= 0.05
    assert step.peak_rss_mib is not None and step.peak_rss_mib >= 200
    with pytest.raises(PeerError, match="status 3"):
        peers._run([sys.executable, "-c", "import sys; sys.exit(3)"], cwd=tmp_path)


def test_wlc_expressions_evaluate_to_the_numpy_combination(layers):
    arrays, _ = layers
    expected = _wlc(arrays)
    gdal = eval(gdal_wlc_expression(RESCALES), vars(np), dict(arrays))  # as gdal_calc.py does
    np.testing.assert_allclose(gdal, expected, rtol=0, atol=1e-12)
    assert grass_wlc_expression({"a": (0.5, 2, 8)}) == (
        "0.5 * min(1.0, max(0.0, (double(a) - (2.0)) / (6.0)))"
    )
    # small numbers stay positional: r.mapcalc rejects "1e-05"
    assert "e" not in gdal_wlc_expression({"A": (1e-5, 0, 3e-7)}).replace("clip", "")


@pytest.mark.parametrize(
    ("builder", "layers", "match"),
    [
        (gdal_wlc_expression, {"A": (1, 2, 2)}, "equal"),
        (gdal_wlc_expression, {"AB": (1, 0, 1)}, "one letter"),
        (gdal_wlc_expression, {"A": (np.nan, 0, 1)}, "finite"),
        (grass_wlc_expression, {"1a": (1, 0, 1)}, "map names"),
        (grass_wlc_expression, {"peer_out": (1, 0, 1)}, "map names"),
        (grass_wlc_expression, {"a": (1, 0)}, "three numbers"),
        (grass_wlc_expression, {}, "at least one"),
    ],
)
def test_wlc_expressions_reject_bad_layers(builder, layers, match):
    with pytest.raises(InputError, match=match):
        builder(layers)


def test_write_sources_needs_a_boolean_mask(grid, tmp_path):
    with pytest.raises(InputError, match="boolean"):
        write_sources(tmp_path / "s.tif", np.ones(grid.shape), grid)


# --------------------------------------------------------------------------- GDAL


@needs_proximity
def test_gdal_proximity_equals_euclidean_distance(grid, sources, tmp_path):
    mask, src = sources
    edt = ndimage.distance_transform_edt(~mask) * CELL
    out = tmp_path / "prox.tif"
    run = gdal_proximity(src, out)
    _check_run(run, out, grid)
    assert run.core_seconds == run.extra["steps"][0]["seconds"]
    values, profile = _raw(out)
    assert profile["dtype"] == "float32" and profile["nodata"] is None
    # float32 storage: GDAL's own float32 arithmetic differs from rounding the exact value
    np.testing.assert_allclose(values, edt, rtol=1e-6, atol=0)

    capped = tmp_path / "capped.tif"
    gdal_proximity(src, capped, max_distance_m=450.0)
    values, profile = _raw(capped)
    assert profile["nodata"] is None
    assert (edt > 450).sum() > 100, "the cap must bind somewhere"
    np.testing.assert_allclose(values, np.minimum(edt, 450.0), rtol=1e-6, atol=0)

    with pytest.raises(OutputExistsError):
        gdal_proximity(src, capped)
    gdal_proximity(src, capped, overwrite=True)
    np.testing.assert_allclose(_raw(capped)[0], edt, rtol=1e-6, atol=0)


@needs_calc
def test_gdal_calc_wlc_equals_numpy(grid, layers, tmp_path):
    arrays, paths = layers
    out = tmp_path / "wlc.tif"
    run = gdal_calc(paths, gdal_wlc_expression(RESCALES), out)
    _check_run(run, out, grid)
    values, profile = _raw(out)
    assert profile["dtype"] == "float32" and np.isnan(profile["nodata"])
    expected = _wlc(arrays)
    assert np.isnan(values[5, 6]) and np.isnan(values).sum() == 1
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-6)


@needs_calc
def test_gdal_calc_failure_raises_and_writes_nothing(layers, tmp_path):
    with pytest.raises(PeerError, match=r"gdal_calc\.py"):
        gdal_calc({"A": layers[1]["A"]}, "A + no_such_name", tmp_path / "bad.tif")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- GRASS


@needs_grass
def test_grass_grow_distance_equals_euclidean_distance(grid, sources, tmp_path):
    mask, src = sources
    out = tmp_path / "grow.tif"
    run = grass_grow_distance(src, out)
    _check_run(run, out, grid)
    assert "r.grow.distance" in run.commands[3] and run.commands[3][1].endswith("PERMANENT")
    assert run.core_seconds == run.extra["steps"][3]["seconds"]
    values, profile = _raw(out)
    assert profile["dtype"] == "float32"
    edt = ndimage.distance_transform_edt(~mask) * CELL
    # GRASS computes exact distances in double; only the float32 export rounds them
    np.testing.assert_allclose(values, edt, rtol=1e-6, atol=0)


@needs_grass
def test_grass_mapcalc_wlc_equals_numpy(grid, layers, tmp_path):
    arrays, paths = layers
    names = {k.lower(): p for k, p in paths.items()}
    expression = grass_wlc_expression({k.lower(): v for k, v in RESCALES.items()})
    out = tmp_path / "wlc.tif"
    run = grass_mapcalc(names, expression, out)
    _check_run(run, out, grid)
    values, profile = _raw(out)
    assert profile["dtype"] == "float32"
    assert np.isnan(values[5, 6]) and np.isnan(values).sum() == 1
    np.testing.assert_allclose(values, _wlc(arrays), rtol=0, atol=1e-6)


@needs_grass
def test_grass_clump_counts_8_connected_patches(grid, tmp_path):
    rng = np.random.default_rng(5)
    field = rng.random(grid.shape)
    field[10, 10] = np.nan
    field[:3, :3] = 0.0
    field[1, 1] = 0.75  # a one-cell patch exactly at the threshold
    src = write_geotiff(tmp_path / "field.tif", field, grid, description="field")
    threshold = 0.75
    zone = np.nan_to_num(field, nan=-1.0).astype(np.float32) >= np.float32(threshold)
    labels, n8 = ndimage.label(zone, structure=np.ones((3, 3)))
    _, n4 = ndimage.label(zone)
    assert n4 > n8, "the data must tell 8- from 4-connectivity"

    out = tmp_path / "clumps.tif"
    run = grass_clump(src, out, threshold=threshold)
    _check_run(run, out, grid)
    assert run.extra["n_clumps"] == n8
    ids, profile = _raw(out)
    assert profile["dtype"] == "int32" and profile["nodata"] == 0
    assert np.array_equal(ids > 0, zone)
    # the same partition: each GRASS id covers exactly one scipy patch
    pairs = set(zip(ids[zone].tolist(), labels[zone].tolist(), strict=True))
    assert len(pairs) == n8 and set(np.unique(ids[zone])) == set(range(1, n8 + 1))
