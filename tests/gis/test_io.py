"""Outputs for desktop GIS: COG GeoTIFFs, GeoPackages, staged folders and manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely import box

from gis import io
from gis.errors import DataSourceError, InputError, OutputExistsError
from gis.grid import Grid
from gis.io import manifest, raster
from tests.helpers import missing_tiles


@pytest.fixture(scope="module")
def grid600() -> Grid:
    return Grid.from_bounds((500000, 6670000, 506000, 6676000), cell_size=10, crs=32635)


@pytest.fixture(scope="module")
def layer600(grid600) -> np.ndarray:
    rng = np.random.default_rng(7)
    a = rng.random(grid600.shape).astype("float32")
    a[:50, :70] = np.nan
    return a


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# ---------------------------------------------------------------------- GeoTIFF
def test_write_geotiff_is_a_cog_that_round_trips(tmp_path, grid600, layer600):
    before = layer600.copy()
    path = io.write_geotiff(
        tmp_path / "transit.tif",
        layer600,
        grid600,
        description="Transit access",
        units="score 0-1",
        tags={"factor": "transit", "weight": 0.25},
    )
    assert path == tmp_path / "transit.tif"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transit.tif"]  # no temporary left
    np.testing.assert_array_equal(layer600, before)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32635
        assert src.transform == grid600.transform
        assert (src.height, src.width) == grid600.shape
        assert src.count == 1
        assert src.dtypes == ("float32",)
        assert math.isnan(src.nodata)
        assert src.descriptions == ("Transit access",)
        assert src.units == ("score 0-1",)
        assert src.tags()["factor"] == "transit"
        assert src.tags()["weight"] == "0.25"
        assert src.block_shapes == [(256, 256)]
        assert src.profile["tiled"]
        assert src.compression.name == "zstd"
        assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == "2"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.overviews(1) == [2, 4]
        stats = src.tags(1)
        values = src.read(1)
    np.testing.assert_array_equal(values, layer600)  # NaN positions equal too
    assert float(stats["STATISTICS_MINIMUM"]) == pytest.approx(float(np.nanmin(layer600)))
    assert float(stats["STATISTICS_MAXIMUM"]) == pytest.approx(float(np.nanmax(layer600)))
    valid_share = 100 * np.isfinite(layer600).mean()
    assert float(stats["STATISTICS_VALID_PERCENT"]) == pytest.approx(valid_share)


def test_read_geotiff_returns_array_and_grid(tmp_path, grid600, layer600):
    path = io.write_geotiff(tmp_path / "a.tif", layer600, grid600, description="a")
    array, grid = io.read_geotiff(path)
    assert grid == grid600
    assert grid.crs == CRS.from_epsg(32635)
    np.testing.assert_array_equal(array, layer600)


def test_finite_nodata_is_written_and_read_back_as_nan(tmp_path):
    grid = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs=32635)
    a = np.arange(12, dtype="float64").reshape(grid.shape)
    a[1, 2] = np.nan
    path = io.write_geotiff(tmp_path / "a.tif", a, grid, description="a", nodata=-9999.0)
    assert np.isnan(a[1, 2])  # input untouched
    with rasterio.open(path) as src:
        assert src.nodata == -9999.0
        assert src.read(1)[1, 2] == -9999.0
        assert src.overviews(1) == []  # smaller than one block
    back, _ = io.read_geotiff(path)
    np.testing.assert_array_equal(back, a.astype("float32"))


def test_overview_halving_by_hand():
    # even sides: the mean of each 2 x 2 block, NaN left out; an all-NaN block stays NaN
    a = np.array([[1, 3, np.nan, np.nan], [5, 7, np.nan, np.nan]], dtype="float32")
    np.testing.assert_array_equal(raster._halve(a, math.nan), [[4.0, np.nan]])
    b = np.array([[1, -9, 2, 2], [-9, -9, 2, 2]], dtype="float32")
    np.testing.assert_array_equal(raster._halve(b, -9.0), [[1.0, 2.0]])
    # a block of nodata alone stays nodata, even one whose sum overflows float32
    low = np.finfo(np.float32).min
    d = np.array([[low, low, 1, low], [low, low, 5, np.nan]], dtype="float32")
    np.testing.assert_array_equal(raster._halve(d, float(low)), [[low, 3.0]])
    # 9 x 7 -> 5 x 4: each overview cell covers 1.8 x 1.75 cells, partly covered cells
    # weigh by their share (GDAL's average): (0 + 0.75 * 1 + 0.8 * 7 + 0.6 * 8) / 3.15
    c = np.arange(63, dtype="float32").reshape(9, 7)
    half = raster._halve(c, math.nan)
    assert half.shape == (5, 4)
    assert half[0, 0] == pytest.approx(11.15 / 3.15, rel=1e-6)
    # the last covers rows 7.2-9 and columns 5.25-7 (GDAL gives 58.460316 for this grid)
    assert half[-1, -1] == pytest.approx((0.8 * (0.75 * 54 + 55) + 0.75 * 61 + 62) / 3.15, rel=1e-6)


@pytest.mark.parametrize(
    ("shape", "nodata"),
    [((600, 600), math.nan), ((600, 600), -9999.0), ((601, 599), math.nan), ((777, 1031), -9999.0)],
)
def test_overview_pyramid_matches_gdal_average(tmp_path, shape, nodata):
    """The numpy pyramid of an in-memory grid against GDAL's own averaged overviews."""
    from rasterio.enums import Resampling

    rng = np.random.default_rng(3)
    a = rng.random(shape, dtype="float32")
    a[rng.random(shape) < 0.2] = np.nan
    a[:40, :60] = np.nan
    if not math.isnan(nodata):
        a = np.where(np.isnan(a), np.float32(nodata), a)
    grid = Grid.from_bounds((0, 0, shape[1] * 10, shape[0] * 10), cell_size=10, crs=32635)
    plain = tmp_path / "plain.tif"
    profile = {"driver": "GTiff", "width": shape[1], "height": shape[0], "count": 1,
               "dtype": "float32", "nodata": nodata, "tiled": True, "crs": "EPSG:32635",
               "transform": grid.transform}  # fmt: skip
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write(a, 1)
        dst.build_overviews(raster.overview_factors(*shape), Resampling.average)
    cog = io.write_geotiff(tmp_path / "cog.tif", a, grid, description="a", nodata=nodata)
    with rasterio.open(cog) as src:
        assert src.overviews(1) == raster.overview_factors(*shape)
    for level in range(len(raster.overview_factors(*shape))):
        with (
            rasterio.open(plain, overview_level=level) as ref,
            rasterio.open(cog, overview_level=level) as got,
        ):
            expected, values = ref.read(1), got.read(1)
        assert values.shape == expected.shape
        gap = np.isnan(expected) if math.isnan(nodata) else expected == nodata
        np.testing.assert_array_equal(np.isnan(values) if math.isnan(nodata) else values == nodata,
                                      gap)  # fmt: skip
        np.testing.assert_allclose(values[~gap], expected[~gap], rtol=2e-6, atol=2e-7)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    # subnormal values have no relative precision left for the fractional weights
    value=st.floats(-1e6, 1e6, width=32, allow_subnormal=False),
    seed=st.integers(0, 2**16),
)
def test_overview_halving_keeps_constants_and_gaps(rows, cols, value, seed):
    """A constant grid with holes halves to the same constant, NaN only where all is NaN."""
    a = np.full((rows, cols), value, dtype="float32")
    a[np.random.default_rng(seed).random((rows, cols)) < 0.3] = np.nan
    half = raster._halve(a, math.nan)
    assert half.shape == (-(-rows // 2), -(-cols // 2))
    valid = ~np.isnan(half)
    np.testing.assert_allclose(half[valid], value, rtol=1e-6)
    if rows % 2 == 0 and cols % 2 == 0:
        blocks = np.isnan(a).reshape(rows // 2, 2, cols // 2, 2).all(axis=(1, 3))
        np.testing.assert_array_equal(~valid, blocks)


def test_whole_grid_held_then_written_again(tmp_path, grid600, layer600):
    """A second window after one covering the grid: the held values go to the temporary."""
    from gis.windows import Window

    out = {"a": io.RasterOutput(tmp_path / "a.tif", "a", nodata=-1.0)}
    before = layer600.copy()
    patch = np.full((10, 20), 7.0, dtype="float32")
    with io.WindowWriter(grid600, out) as writer:
        writer.write(Window(grid600, 0, 0, 600, 600), {"a": layer600})
        writer.write(Window(grid600, 100, 200, 10, 20), {"a": patch})
    np.testing.assert_array_equal(layer600, before)  # the caller's array is not filled
    expected = layer600.copy()
    expected[100:110, 200:220] = 7.0
    back, _ = io.read_geotiff(tmp_path / "a.tif")
    np.testing.assert_array_equal(back, expected)
    _assert_cog(tmp_path / "a.tif", (600, 600))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


def test_statistics_tags_equal_numpy(tmp_path, grid600, layer600):
    a = layer600 * 100.0 - 20.0
    path = io.write_geotiff(tmp_path / "s.tif", a, grid600, description="s", nodata=-9999.0)
    valid = a[np.isfinite(a)].astype("float64")
    with rasterio.open(path) as src:
        tags = src.tags(1)
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "ZSTD"
    assert float(tags["STATISTICS_MINIMUM"]) == valid.min()
    assert float(tags["STATISTICS_MAXIMUM"]) == valid.max()
    assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.mean(), rel=1e-9)
    assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.std(), rel=1e-6)
    assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(100 * valid.size / a.size)


def test_write_geotiff_refuses_wrong_shape(tmp_path, grid600):
    with pytest.raises(InputError, match=r"shape \(600, 599\).*\(600, 600\)"):
        io.write_geotiff(tmp_path / "a.tif", np.zeros((600, 599)), grid600, description="a")
    assert not (tmp_path / "a.tif").exists()


def test_write_geotiff_refuses_non_numeric_and_bad_nodata(tmp_path):
    grid = Grid.from_bounds((0, 0, 20, 20), cell_size=10, crs=32635)
    with pytest.raises(InputError, match="non-numeric"):
        io.write_geotiff(tmp_path / "a.tif", np.full(grid.shape, "x"), grid, description="a")
    with pytest.raises(InputError, match="float32"):
        io.write_geotiff(tmp_path / "a.tif", np.zeros(grid.shape), grid, description="a",
                         nodata=0.1)  # fmt: skip
    with pytest.raises(InputError, match="description"):
        io.write_geotiff(tmp_path / "a.tif", np.zeros(grid.shape), grid, description="")


def test_write_geotiff_never_overwrites_unless_asked(tmp_path):
    grid = Grid.from_bounds((0, 0, 20, 20), cell_size=10, crs=32635)
    path = tmp_path / "a.tif"
    path.write_bytes(b"user data")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        io.write_geotiff(path, np.zeros(grid.shape), grid, description="a")
    assert path.read_bytes() == b"user data"
    io.write_geotiff(path, np.ones(grid.shape), grid, description="a", overwrite=True)
    assert io.read_geotiff(path)[0].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_failed_geotiff_write_leaves_nothing(tmp_path, monkeypatch):
    grid = Grid.from_bounds((0, 0, 20, 20), cell_size=10, crs=32635)

    def broken(source, target, *args, **kwargs):
        Path(target).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(raster, "_cog_copy", broken)
    with pytest.raises(OSError, match="disk full"):
        io.write_geotiff(tmp_path / "a.tif", np.zeros(grid.shape), grid, description="a")
    assert list(tmp_path.iterdir()) == []


def test_write_geotiff_bands(tmp_path):
    grid = Grid.from_bounds((0, 0, 30, 20), cell_size=10, crs=32635)
    arrays = {"green": np.zeros(grid.shape), "transit": np.full(grid.shape, 0.5)}
    path = io.write_geotiff_bands(
        tmp_path / "factors.tif", arrays, grid, units={"transit": "score"}
    )
    with rasterio.open(path) as src:
        assert src.count == 2
        assert src.descriptions == ("green", "transit")
        assert src.units == (None, "score")
        np.testing.assert_array_equal(src.read(2), arrays["transit"])
    assert io.read_geotiff(path, band=2)[0][0, 0] == 0.5
    with pytest.raises(InputError, match="band 3 does not exist"):
        io.read_geotiff(path, band=3)
    with pytest.raises(InputError, match="unknown bands"):
        io.write_geotiff_bands(tmp_path / "b.tif", arrays, grid, units={"parks": "m"})
    with pytest.raises(InputError, match="at least one band"):
        io.write_geotiff_bands(tmp_path / "b.tif", {}, grid)


def _ifd_sizes(path: Path) -> list[tuple[int, int]]:
    """(width, height) of every image file directory of a (Big)TIFF, in file order."""
    import struct

    data = path.read_bytes()
    end = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(end + "H", data[2:4])[0] == 43
    # classic TIFF: 2-byte entry count, 12-byte entries (tag, type, 4-byte count, 4-byte value);
    # BigTIFF: 8-byte entry count, 20-byte entries (tag, type, 8-byte count, 8-byte value)
    word = "Q" if big else "I"
    count_fmt, entry_size = ("Q", 20) if big else ("H", 12)
    (offset,) = struct.unpack_from(end + word, data, 8 if big else 4)
    start = struct.calcsize(count_fmt)
    sizes = []
    while offset:
        (n,) = struct.unpack_from(end + count_fmt, data, offset)
        tags = {}
        for i in range(n):
            at = offset + start + i * entry_size
            tag, kind = struct.unpack_from(end + "HH", data, at)
            value_at = at + 4 + struct.calcsize(word)
            if kind in (3, 4, 16):  # SHORT, LONG, LONG8
                fmt = {3: "H", 4: "I", 16: "Q"}[kind]
                tags[tag] = struct.unpack_from(end + fmt, data, value_at)[0]
        sizes.append((tags[256], tags[257]))  # ImageWidth, ImageLength
        (offset,) = struct.unpack_from(end + word, data, offset + start + n * entry_size)
    return sizes


def _assert_cog(path: Path, shape: tuple[int, int], *, overviews: bool = True) -> None:
    """A valid Cloud-Optimised GeoTIFF: GDAL's layout check, tiles, overviews, IFD order."""
    import shutil
    import subprocess

    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.profile["tiled"]
        assert set(src.block_shapes) == {(256, 256)}
        levels = src.overviews(1)
        if overviews and max(shape) > 256:
            assert levels and levels[0] == 2
        else:
            assert levels == []
    sizes = _ifd_sizes(path)
    # full resolution first, then each overview, halving
    assert sizes[0] == (shape[1], shape[0])
    assert len(sizes) >= 1 + len(levels)
    assert [w for w, _ in sizes] == sorted((w for w, _ in sizes), reverse=True)
    gdalinfo = shutil.which("gdalinfo") or (
        "/usr/bin/gdalinfo" if Path("/usr/bin/gdalinfo").exists() else None
    )
    if gdalinfo:
        info = subprocess.run([gdalinfo, str(path)], capture_output=True, text=True, check=True)
        assert "LAYOUT=COG" in info.stdout


def test_every_geotiff_written_is_a_cog(tmp_path, grid600, layer600):
    from gis.windows import plan_windows

    small = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs=32635)
    _assert_cog(
        io.write_geotiff(tmp_path / "a.tif", layer600, grid600, description="a"), (600, 600)
    )
    _assert_cog(io.write_geotiff(tmp_path / "s.tif", np.ones(small.shape), small, description="s"),
                small.shape)  # fmt: skip
    bands = io.write_geotiff_bands(tmp_path / "b.tif", {"x": layer600, "y": 1 - layer600}, grid600)
    _assert_cog(bands, (600, 600))
    outputs = {
        "f": io.RasterOutput(tmp_path / "f.tif", "f", units="m", tags={"k": 1}),
        "i": io.RasterOutput(tmp_path / "i.tif", "i", nodata=0, dtype="int32"),
        "raw": io.RasterOutput(tmp_path / "raw.tif", "raw"),
    }
    windows = plan_windows(grid600, halo_cells=3, bytes_per_cell=4, memory_budget=4 * 200 * 200)
    assert len(windows) > 4
    labels = (np.arange(grid600.size) % 7).reshape(grid600.shape).astype("int32")
    with io.WindowWriter(grid600, outputs) as writer:
        for w in windows:
            writer.write(w, {"f": layer600[w.read], "i": labels[w.core], "raw": layer600[w.core]})
    for name in outputs:
        _assert_cog(tmp_path / f"{name}.tif", (600, 600))
    with rasterio.open(tmp_path / "f.tif") as src:
        np.testing.assert_array_equal(src.read(1), layer600)
        assert src.units == ("m",) and src.tags()["k"] == "1"
        assert float(src.tags(1)["STATISTICS_MAXIMUM"]) == pytest.approx(float(np.nanmax(layer600)))
    with rasterio.open(tmp_path / "i.tif") as src:
        assert src.dtypes == ("int32",) and src.nodata == 0
        np.testing.assert_array_equal(src.read(1), labels)
        # nearest-neighbour overviews keep label values
        assert set(np.unique(src.read(1, out_shape=(300, 300)))) <= set(range(7))
    scratch = {"u": io.RasterOutput(tmp_path / "u.tif", "u")}
    with io.WindowWriter(grid600, scratch, compress=False, overviews=False) as writer:
        writer.write(windows[0], {"u": layer600[windows[0].read]})
    # a scratch raster (neither compressed nor with overviews) is written once, not as COG
    with rasterio.open(tmp_path / "u.tif") as src:
        assert src.compression is None and src.overviews(1) == []
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") is None
        w = windows[0]
        np.testing.assert_array_equal(src.read(1)[w.core], layer600[w.core])
        assert "STATISTICS_MEAN" not in src.tags(1)  # no run reads a scratch raster's
    with io.WindowWriter(grid600, scratch, compress=False, overviews=False, overwrite=True,
                         statistics=True) as writer:  # fmt: skip
        writer.write(windows[0], {"u": layer600[windows[0].read]})
    with rasterio.open(tmp_path / "u.tif") as src:
        core = layer600[windows[0].core]
        assert float(src.tags(1)["STATISTICS_MAXIMUM"]) == float(np.nanmax(core))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.tif", "s.tif", "b.tif", "f.tif", "i.tif", "raw.tif", "u.tif"]
    )


def test_window_writer_failure_leaves_no_file(tmp_path, grid600, layer600, monkeypatch):
    outputs = {k: io.RasterOutput(tmp_path / f"{k}.tif", k) for k in ("a", "b")}
    calls = []
    real = raster._cog_copy

    def second_fails(source, target, *args, **kwargs):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        real(source, target, *args, **kwargs)

    monkeypatch.setattr(raster, "_cog_copy", second_fails)
    from gis.windows import Window

    with pytest.raises(OSError, match="disk full"), io.WindowWriter(grid600, outputs) as writer:
        w = Window(grid600, 0, 0, 600, 600)
        writer.write(w, {"a": layer600, "b": layer600})
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []  # the first COG was not moved into place either


def test_window_writer_refuses_bad_values(tmp_path, grid600):
    from gis.windows import Window

    out = {"a": io.RasterOutput(tmp_path / "a.tif", "a")}
    w = Window(grid600, 0, 0, 10, 10)
    with (
        pytest.raises(InputError, match=r"got shape \(9, 10\)"),
        io.WindowWriter(grid600, out) as wr,
    ):
        wr.write(w, {"a": np.zeros((9, 10))})
    with pytest.raises(InputError, match="non-numeric"), io.WindowWriter(grid600, out) as wr:
        wr.write(w, {"a": np.full((10, 10), "x")})
    with pytest.raises(InputError, match="float32"):
        io.WindowWriter(grid600, {"a": io.RasterOutput(tmp_path / "a.tif", "a", nodata=0.1)})
    assert list(tmp_path.iterdir()) == []


def test_read_geotiff_missing_file(tmp_path):
    with pytest.raises(DataSourceError, match="cannot read raster"):
        io.read_geotiff(tmp_path / "missing.tif")


# ---------------------------------------------------------------------- output folders
def test_output_folder_moves_files_into_place(tmp_path):
    target = tmp_path / "deep" / "run"
    with io.output_folder(target) as stage:
        assert stage.parent == target.parent
        assert stage.name.startswith(".run.partial-")
        assert not target.exists()
        (stage / "a.txt").write_text("A")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.txt").write_text("B")
    assert _listing(target) == {"a.txt": b"A", "sub/b.txt": b"B"}
    assert [p.name for p in target.parent.iterdir()] == ["run"]


def test_output_folder_exception_leaves_nothing(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"), io.output_folder(target) as stage:
        (stage / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_output_folder_refuses_non_empty_folder(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "mine.txt").write_bytes(b"precious")
    before = _listing(target)
    ran = False
    with pytest.raises(OutputExistsError, match=r"not empty; pass --overwrite or choose another"):
        with io.output_folder(target):
            ran = True
    assert not ran
    assert _listing(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_output_folder_accepts_empty_existing_folder(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    with io.output_folder(target) as stage:
        (stage / "a.txt").write_text("A")
    assert _listing(target) == {"a.txt": b"A"}


def _innosite_folder(folder: Path, **files: str) -> None:
    """A folder as innosite leaves it: ``files`` and a manifest that lists them."""
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    outputs = [{"file": name} for name in files]
    (folder / "manifest.json").write_text(json.dumps({"innosite_version": "0", "outputs": outputs}))


def test_output_folder_overwrite_replaces_only_on_success(tmp_path):
    target = tmp_path / "run"
    _innosite_folder(target, **{"old.txt": "old"})
    before = _listing(target)
    with pytest.raises(ValueError, match="fail"), io.output_folder(target, overwrite=True) as st:
        (st / "new.txt").write_text("new")
        raise ValueError("fail")
    assert _listing(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]

    with io.output_folder(target, overwrite=True) as stage:
        (stage / "new.txt").write_text("new")
    assert _listing(target) == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_check_output_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputExistsError, match="existing file"):
        io.check_output_folder(f, overwrite=True)
    _innosite_folder(tmp_path / "run", **{"a.tif": "x"})
    assert io.check_output_folder(tmp_path / "run", overwrite=True) == tmp_path / "run"
    with pytest.raises(OutputExistsError, match=str(tmp_path)):
        io.check_output_folder(tmp_path / "run")
    assert io.check_output_folder(tmp_path / "new") == tmp_path / "new"
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------- GeoPackage
@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["<script>alert(1)</script>", "Café Ørsted", None],
            "score": [0.9, 0.5, 0.25],
            "tags": [["a", "b"], {"k": 1}, None],
        },
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(0, 20, 10, 30)],
        crs=32635,
    )


def test_write_geopackage_round_trip(tmp_path, sites):
    before = sites.copy()
    path = io.write_geopackage(tmp_path / "out.gpkg", sites, layer="candidates")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]
    assert pyogrio.list_layers(path).tolist() == [["candidates", "Polygon"]]
    back = pyogrio.read_dataframe(path, layer="candidates")
    assert back.crs == sites.crs
    assert back["name"].tolist()[:2] == ["<script>alert(1)</script>", "Café Ørsted"]
    assert back["name"].isna().tolist() == [False, False, True]
    assert back["score"].tolist() == [0.9, 0.5, 0.25]
    assert back["tags"].tolist()[:2] == ['["a", "b"]', '{"k": 1}']
    assert back.geometry.equals(sites.geometry)
    assert sites["tags"].iloc[0] == ["a", "b"]  # input untouched
    assert sites.equals(before)


def test_write_geopackage_modes(tmp_path, sites):
    path = tmp_path / "out.gpkg"
    io.write_geopackage(path, sites, layer="a")
    with pytest.raises(OutputExistsError, match="already exists"):
        io.write_geopackage(path, sites, layer="b")
    io.write_geopackage(path, sites.iloc[:1], layer="b", mode="a")
    io.write_geopackage(path, sites.iloc[:2], layer="b", mode="a")
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["a", "b"]
    assert len(pyogrio.read_dataframe(path, layer="b")) == 3
    io.write_geopackage(path, sites.iloc[:1], layer="c", overwrite=True)
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["c"]


def test_write_geopackage_refuses_bad_input(tmp_path, sites):
    for name in ("", "  ", None):
        with pytest.raises(InputError, match="layer name"):
            io.write_geopackage(tmp_path / "x.gpkg", sites, layer=name)
    with pytest.raises(InputError, match="mode"):
        io.write_geopackage(tmp_path / "x.gpkg", sites, layer="a", mode="x")
    with pytest.raises(InputError, match="no CRS"):
        io.write_geopackage(tmp_path / "x.gpkg", sites.set_crs(None, allow_override=True),
                            layer="a")  # fmt: skip
    with pytest.raises(InputError, match="GeoDataFrame"):
        io.write_geopackage(tmp_path / "x.gpkg", sites.drop(columns="geometry"), layer="a")
    assert list(tmp_path.iterdir()) == []


def test_write_geopackage_stores_qgis_style(tmp_path, sites):
    qml = "<!DOCTYPE qgis><qgis version='3.34'><renderer-v2 type='singleSymbol'/></qgis>"
    path = io.write_geopackage(tmp_path / "s.gpkg", sites, layer="candidates", style_qml=qml)
    io.write_geopackage(path, sites, layer="other", mode="a", style_qml=qml + " ")
    io.write_geopackage(path, sites.iloc[:0], layer="candidates", mode="a",
                        style_qml=qml + "  ", style_name="second")  # fmt: skip
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
            "styleQML, useAsDefault FROM layer_styles ORDER BY id"
        ).fetchall()
        contents = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("", "", "candidates", "geom", "candidates", qml, 0),
        ("", "", "other", "geom", "other", qml + " ", 1),
        ("", "", "candidates", "geom", "second", qml + "  ", 1),
    ]
    assert contents == [("attributes",)]
    # GDAL still reads the file and sees the styles as a plain table
    styles = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
    assert styles["styleName"].tolist() == ["candidates", "other", "second"]
    assert len(pyogrio.read_dataframe(path, layer="candidates")) == 3


# ---------------------------------------------------------------------- provenance
def test_file_checksum_streams_and_matches_hashlib(tmp_path):
    data = np.random.default_rng(1).bytes(3 * 2**20 + 17)  # several 1 MiB blocks
    p = tmp_path / "blob.bin"
    p.write_bytes(data)
    assert io.file_checksum(p) == hashlib.sha256(data).hexdigest()
    assert io.file_checksum(p, algorithm="md5") == hashlib.md5(data).hexdigest()
    with pytest.raises(InputError, match="algorithm"):
        io.file_checksum(p, algorithm="nope")
    with pytest.raises(DataSourceError, match="missing"):
        io.file_checksum(tmp_path / "missing")


def test_package_versions(monkeypatch):
    monkeypatch.setattr(manifest, "_PACKAGES", (*manifest._PACKAGES, "surely-not-a-package-xyz"))
    v = io.package_versions()
    expected = {"innosite", "python", "numpy", "scipy", "pandas", "geopandas", "shapely",
                "pyproj", "rasterio", "GDAL", "pyogrio", "osmnx", "osmium", "folium"}  # fmt: skip
    assert expected <= set(v)
    assert v["GDAL"] == rasterio.__gdal_version__
    assert v["numpy"] == np.__version__
    assert v["surely-not-a-package-xyz"] == "not installed"


def test_write_manifest(tmp_path):
    source = tmp_path / "extract.osm.pbf"
    source.write_bytes(b"osm-bytes")
    out = tmp_path / "run"
    out.mkdir()
    (out / "composite.tif").write_bytes(b"tif-bytes")
    (out / "maps").mkdir()
    (out / "maps" / "map.html").write_text("<html></html>", encoding="utf-8")
    manifest = io.write_manifest(
        out / "manifest.json",
        command="innosite micro --place Espoo",
        inputs=[{"source": "osm", "path": source}, {"source": "overpass", "query": "[out:json]"}],
        parameters={
            "weights": {"transit": np.float32(0.25), "green": np.float64(0.75)},
            "cell_size": np.int64(25),
            "crs": CRS.from_epsg(32635),
            "bbox": np.array([1.5, 2.5]),
            "missing": float("nan"),
            "folder": Path("a/b"),
            "name": "Tapiola – ä",
        },
        outputs=["composite.tif", out / "maps" / "map.html"],
        extra={"note": "test"},
    )
    text = (out / "manifest.json").read_text(encoding="utf-8")
    loaded = json.loads(text)
    assert loaded == manifest
    assert "Tapiola – ä" in text  # ensure_ascii=False
    assert list(loaded) == [
        "created", "innosite_version", "command", "versions", "inputs", "parameters",
        "outputs", "extra",
    ]  # fmt: skip
    created = dt.datetime.fromisoformat(loaded["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
    assert loaded["versions"]["GDAL"] == rasterio.__gdal_version__
    params = loaded["parameters"]
    assert list(params) == sorted(params)
    assert params["weights"] == {"green": 0.75, "transit": 0.25}
    assert params["cell_size"] == 25
    assert params["crs"] == "EPSG:32635"
    assert params["bbox"] == [1.5, 2.5]
    assert params["missing"] is None
    assert params["folder"] == "a/b"
    first = loaded["inputs"][0]
    assert first["sha256"] == hashlib.sha256(b"osm-bytes").hexdigest()
    assert first["bytes"] == len(b"osm-bytes")
    assert first["path"] == str(source)
    assert "sha256" not in loaded["inputs"][1]
    outputs = {o["file"]: o for o in loaded["outputs"]}
    assert set(outputs) == {"composite.tif", "maps/map.html"}
    for name, entry in outputs.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert loaded["extra"] == {"note": "test"}


def test_write_manifest_refuses_bad_input(tmp_path):
    with pytest.raises(InputError, match="not an existing file"):
        io.write_manifest(tmp_path / "m.json", command=None, inputs=[{"path": tmp_path / "x"}],
                          parameters={})  # fmt: skip
    with pytest.raises(InputError, match=r"parameters\['f'\].*object"):
        io.write_manifest(tmp_path / "m.json", command=None, inputs=[], parameters={"f": object()})
    assert list(tmp_path.iterdir()) == []
    io.write_manifest(tmp_path / "m.json", command=None, inputs=[], parameters={})
    with pytest.raises(OutputExistsError):
        io.write_manifest(tmp_path / "m.json", command=None, inputs=[], parameters={})


LAYOUTS = {
    "striped": {},
    "tiled": {"tiled": True, "blockxsize": 16, "blockysize": 16},  # partial edge tiles
    "tiled-deflate": {"tiled": True, "blockxsize": 16, "blockysize": 16, "compress": "deflate"},
    "striped-lzw": {"compress": "lzw"},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32", "float64"])
def test_read_geotiff_matches_numpy_conversion(tmp_path, dtype, layout):
    """Each dtype and file layout reads to what rasterio's native read converted by numpy
    gives (uncompressed files are read directly, the others through GDAL's cache)."""
    g = Grid.from_bounds((0, 0, 300, 230), cell_size=10, crs="EPSG:32650")
    rng = np.random.default_rng(4)
    values = (rng.random(g.shape) * 250).astype(dtype)
    values[3, 4] = 7  # the nodata value
    path = tmp_path / f"{dtype}.tif"
    prof = dict(
        driver="GTiff",
        height=g.height,
        width=g.width,
        count=1,
        dtype=dtype,
        crs=g.crs,
        transform=g.transform,
        nodata=7,
        **LAYOUTS[layout],
    )
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(values, 1)
    array, grid = io.read_geotiff(path)
    want = values.astype(np.float32)
    want[want == np.float32(7)] = np.nan
    assert grid == g and array.dtype == np.float32
    np.testing.assert_array_equal(array, want)
    assert np.isnan(array[3, 4])
    # read into a given buffer (holding other values): the same values, in that buffer
    buffer = np.full(g.shape, -1.0, dtype=np.float32)
    into, grid2 = io.read_geotiff(path, out=buffer)
    assert into is buffer and grid2 == g
    np.testing.assert_array_equal(buffer, want)


@pytest.mark.parametrize(
    "out",
    [
        np.empty((23, 30), dtype=np.float64),
        np.empty((30, 23), dtype=np.float32),
        np.empty((23, 60), dtype=np.float32)[:, ::2],
        np.zeros((23, 30), dtype=np.float32).view(),
        [[0.0]],
    ],
)
def test_read_geotiff_rejects_bad_out(tmp_path, out):
    g = Grid.from_bounds((0, 0, 300, 230), cell_size=10, crs="EPSG:32650")
    path = io.write_geotiff(tmp_path / "a.tif", np.ones(g.shape), g, description="a")
    if isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == g.shape:
        out.flags.writeable = False
    with pytest.raises(InputError, match="out must be a writable, C-contiguous float32 array"):
        io.read_geotiff(path, out=out)


def test_overview_factors_halve_until_one_tile():
    assert raster.overview_factors(256, 256) == []
    assert raster.overview_factors(257, 10) == [2]
    assert raster.overview_factors(600, 600) == [2, 4]
    assert raster.overview_factors(10, 5000) == [2, 4, 8, 16, 32]
    for side in (300, 513, 1024, 1025, 40000):
        f = raster.overview_factors(side, 7)
        assert -(-side // f[-1]) <= raster.BLOCK < -(-side // (f[-1] // 2))


@pytest.mark.parametrize("large_scratch", [False, True])
def test_window_writer_chunks_agree_with_numpy(tmp_path, grid600, layer600, monkeypatch,
                                               large_scratch):  # fmt: skip
    """Row-band conversion, nodata fill and statistics: the file is what numpy says, whatever
    the chunk sizes and whether the temporary is compressed."""
    monkeypatch.setattr(raster, "_WRITE_CHUNK_CELLS", 3 * 600 + 17)  # bands of 3 rows
    monkeypatch.setattr(raster, "_STATS_CHUNK_CELLS", 1000)
    if large_scratch:
        monkeypatch.setattr(raster, "_PLAIN_SCRATCH_BYTES", 0)
        monkeypatch.setattr(raster, "_PLAIN_SCRATCH_SHARE", 0.0)
    values = layer600.astype("float64") * 1000.0 - 123.0  # float64 in, converted per band
    values[100:103, :] = -5.0  # the nodata value itself is excluded from the statistics
    out = {"m": io.RasterOutput(tmp_path / "m.tif", ("a", "b"), nodata=-5.0)}
    stack = np.stack([values, values[::-1]])
    with io.WindowWriter(grid600, out) as writer:
        writer.write(raster._WholeGrid(0, 0, 600, 600), {"m": stack})
    expected = stack.astype("float32")
    expected[expected == np.float32(-5.0)] = np.nan
    with rasterio.open(tmp_path / "m.tif") as src:
        assert src.overviews(1) == [2, 4] and src.compression.name == "zstd"
        got = src.read(masked=False)
        np.testing.assert_array_equal(np.where(got == -5.0, np.nan, got), expected)
        for band in (1, 2):
            tags = src.tags(band)
            e = expected[band - 1]
            valid = e[np.isfinite(e)].astype("float64")
            assert float(tags["STATISTICS_MINIMUM"]) == valid.min()
            assert float(tags["STATISTICS_MAXIMUM"]) == valid.max()
            assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.mean(), rel=1e-9)
            assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.std(), rel=1e-6)
            # the first overview is the 2 x 2 average of the valid cells
            ovr = src.read(band, out_shape=(300, 300), masked=False)
            blocks = e.reshape(300, 2, 300, 2).astype("float64")
            n = np.isfinite(blocks).sum(axis=(1, 3))
            mean = np.nansum(blocks, axis=(1, 3)) / np.where(n > 0, n, 1)
            mean[n == 0] = np.nan
            ovr = np.where(ovr == -5.0, np.nan, ovr)
            np.testing.assert_allclose(ovr, mean, rtol=1e-5, atol=1e-3)


def test_large_temporaries_are_compressed_only_when_the_disk_is_short(tmp_path, grid600,
                                                                      monkeypatch):  # fmt: skip
    """Above _PLAIN_SCRATCH_BYTES a COG output's temporary stays uncompressed while all the
    writer's temporaries (raw, with overviews) fit in half the free space."""
    import shutil

    monkeypatch.setattr(raster, "_PLAIN_SCRATCH_BYTES", 0)  # every temporary is "large"
    outputs = {n: io.RasterOutput(tmp_path / f"{n}.tif", n) for n in ("a", "b")}
    raw = 2 * grid600.size * 4 * 4 / 3  # two float32 outputs and their overviews
    real = shutil.disk_usage

    def usage(free: float) -> Any:
        return lambda path: real(path)._replace(free=int(free))

    for free, compressed in ((2 * raw, False), (2 * raw - 1, True)):
        monkeypatch.setattr(shutil, "disk_usage", usage(free))
        writer = io.WindowWriter(grid600, outputs)
        profile = writer._profile(outputs["a"])
        assert (profile.get("compress") == "zstd") is compressed
        assert profile["sparse_ok"] is True  # read back by GDAL only
        monkeypatch.setattr(shutil, "disk_usage", usage(10 * raw if compressed else 0))
        # decided once for the writer: its other output's temporary is written the same way
        assert (writer._profile(outputs["b"]).get("compress") == "zstd") is compressed
    scratch = io.WindowWriter(grid600, outputs, overviews=False, compress=False)
    assert "compress" not in scratch._profile(outputs["a"])
    assert "sparse_ok" not in scratch._profile(outputs["a"])  # unless asked for


@pytest.mark.parametrize("large_scratch", [False, True])
def test_nodata_tiles_are_left_out_of_sparse_scratch_rasters_only(
    tmp_path, grid600, layer600, monkeypatch, large_scratch
):
    """``sparse=True`` leaves a scratch raster's nodata-only tiles out of the file, which reads
    back the same; COG outputs, whose temporaries are sparse, still hold every tile."""
    from gis.windows import plan_windows

    if large_scratch:  # the COG's temporary compressed
        monkeypatch.setattr(raster, "_PLAIN_SCRATCH_BYTES", 0)
        monkeypatch.setattr(raster, "_PLAIN_SCRATCH_SHARE", 0.0)
    values = layer600.copy()
    values[:300] = np.nan  # the first row of tiles (rows 0-255) holds nothing
    windows = plan_windows(grid600, halo_cells=0, bytes_per_cell=4, memory_budget=4 * 200 * 200)
    assert len(windows) > 4  # window by window: no output is held in memory

    def write(name: str, **options: Any) -> Path:
        out = {"u": io.RasterOutput(tmp_path / f"{name}.tif", "u")}
        with io.WindowWriter(grid600, out, **options) as writer:
            for w in windows:
                writer.write(w, {"u": values[w.core]})
        return tmp_path / f"{name}.tif"

    dense = write("dense", compress=False, overviews=False)
    sparse = write("sparse", compress=False, overviews=False, sparse=True)
    assert missing_tiles(dense) == []
    assert missing_tiles(sparse) == [(0, 0), (0, 1), (0, 2)]
    assert sparse.stat().st_size < dense.stat().st_size * 0.7
    for path in (dense, sparse):
        np.testing.assert_array_equal(io.read_geotiff(path)[0], values)
    cog = write("cog", sparse=True)
    _assert_cog(cog, (600, 600))
    assert missing_tiles(cog) == []
    held = io.write_geotiff(tmp_path / "held.tif", values, grid600, description="u")
    with rasterio.open(cog) as got, rasterio.open(held) as want:
        np.testing.assert_array_equal(got.read(1), values)
        for level in ((300, 300), (150, 150)):  # GDAL's averages and numpy's, NaN alike
            np.testing.assert_allclose(got.read(1, out_shape=level),
                                       want.read(1, out_shape=level), rtol=2e-6)  # fmt: skip


@pytest.mark.parametrize("interleave", ["pixel", "band"])
def test_read_geotiff_band_of_an_uncompressed_multiband_file(tmp_path, interleave):
    g = Grid.from_bounds((0, 0, 330, 170), cell_size=10, crs="EPSG:32650")
    values = np.random.default_rng(5).normal(size=(3, *g.shape)).astype("float32")
    path = tmp_path / "bands.tif"
    with rasterio.open(path, "w", driver="GTiff", height=g.height, width=g.width, count=3,
                       dtype="float32", crs=g.crs, transform=g.transform, tiled=True,
                       blockxsize=16, blockysize=16, interleave=interleave) as dst:  # fmt: skip
        dst.write(values)
    for band in (1, 2, 3):
        np.testing.assert_array_equal(io.read_geotiff(path, band=band)[0], values[band - 1])
