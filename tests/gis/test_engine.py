"""One block computation run in memory, window by window and on Dask gives the same rasters.

The Dask tests start a local cluster of two worker processes on the loopback
interface; they also lose a worker on purpose and ask a scheduler that does not
exist, and check that nothing is left behind and that the same call then works.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pytest
from affine import Affine
from scipy import ndimage

from gis.engine import Engine, compute_blocks, plan
from gis.errors import ClusterError, GridSizeError, InputError, OutputExistsError
from gis.grid import Grid
from gis.io import RasterOutput, read_geotiff, write_geotiff
from tests.helpers import missing_tiles

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers import no test module

CELL = 100.0


def _grid(height: int = 61, width: int = 83) -> Grid:
    return Grid.from_bounds((0, 0, width * CELL, height * CELL), cell_size=CELL, crs=32650)


@dataclass
class Focal:
    """Mean of a (2r+1)^2 neighbourhood (needs a halo of r) and the cell's own northing."""

    radius: int = 3

    def __call__(self, grid, arrays):
        size = 2 * self.radius + 1
        smooth = ndimage.uniform_filter(arrays["a"], size=size, mode="nearest")
        northing = np.broadcast_to(grid.centers()[1][:, None], grid.shape)
        return {"smooth": smooth, "northing": northing}


@dataclass
class KillWorker:
    """Kills the worker process that runs it, once per ``marker`` file (every time without)."""

    marker: str | None = None

    def __call__(self, grid, arrays):
        from distributed import get_worker

        try:
            get_worker()
        except ValueError:  # not on a worker: nothing to kill
            return {"x": np.zeros(grid.shape)}
        if self.marker is None or not os.path.exists(self.marker):
            if self.marker is not None:
                Path(self.marker).touch()
            os._exit(1)
        return {"x": np.full(grid.shape, 7.0)}


@pytest.fixture
def source(tmp_path):
    grid = _grid()
    rng = np.random.default_rng(3)
    a = rng.normal(size=grid.shape).astype("float32")  # no NaN: scipy's running sums spread it
    path = write_geotiff(tmp_path / "a.tif", a, grid, description="a")
    return grid, a, path


def _outputs(folder: Path) -> dict[str, RasterOutput]:
    return {
        "smooth": RasterOutput(folder / "smooth.tif", "focal mean"),
        "northing": RasterOutput(folder / "northing.tif", "northing", "m"),
    }


def _run(engine, grid, path, folder, **kw):
    folder.mkdir()
    budget_windows = plan(grid, engine, halo=3, bytes_per_cell=16)
    paths = compute_blocks(grid, Focal(), _outputs(folder), engine=engine, inputs={"a": path},
                           halo=3, bytes_per_cell=16, **kw)  # fmt: skip
    return {k: read_geotiff(p)[0] for k, p in paths.items()}, len(budget_windows)


def test_windows_and_dask_threads_equal_memory_and_scipy(source, tmp_path):
    grid, a, path = source
    want = ndimage.uniform_filter(a, size=7, mode="nearest")
    mem, n = _run(Engine("memory"), grid, path, tmp_path / "m")
    assert n == 1
    np.testing.assert_array_equal(mem["smooth"], want)
    budget = 30 * 30 * 16  # windows of 24 x 24 cores at most: many, with halos
    win, n_win = _run(Engine("windows", memory_budget=budget), grid, path, tmp_path / "w")
    dsk, n_dsk = _run(Engine("dask", memory_budget=budget), grid, path, tmp_path / "d")
    assert n_win == n_dsk > 10
    for got in (win, dsk):
        np.testing.assert_allclose(got["smooth"], mem["smooth"], rtol=1e-6, atol=1e-6)
        assert np.array_equal(np.isnan(got["smooth"]), np.isnan(mem["smooth"]))
        np.testing.assert_array_equal(got["northing"], mem["northing"])
    assert mem["northing"][0, 0] == grid.bounds[3] - CELL / 2


@dataclass
class Doubled:
    """Doubles its input in place and returns it: the result is a view of the input."""

    def __call__(self, grid, arrays):
        a = arrays["a"]
        a *= np.float32(2)
        return {"double": a}


def test_windows_share_input_buffers_and_give_the_memory_result(source, tmp_path):
    """Window by window, every window is read into the same buffers (no fresh arrays),
    which is safe because its results are written and collected before the next read."""
    grid, a, path = source
    kept, copies = [], []

    def collect(window, cores):
        kept.append(cores["double"])
        copies.append((window, cores["double"].copy()))

    out = {"double": RasterOutput(tmp_path / "d.tif", "twice a")}
    engine = Engine("windows", memory_budget=30 * 30 * 16)
    paths = compute_blocks(grid, Doubled(), out, engine=engine, inputs={"a": path}, halo=3,
                           bytes_per_cell=16, collect=collect)  # fmt: skip
    np.testing.assert_array_equal(read_geotiff(paths["double"])[0], 2 * a)
    assert len(kept) > 10
    assert np.shares_memory(kept[0], kept[1])  # the second window reused the first's buffer
    for window, core in copies:  # each window saw its own values while it was collected
        np.testing.assert_array_equal(
            core,
            2 * a[window.row : window.row + window.height, window.col : window.col + window.width],
        )


@pytest.mark.slow
def test_local_cluster_of_two_workers_equals_memory(source, tmp_path):
    grid, _, path = source
    mem, _ = _run(Engine("memory"), grid, path, tmp_path / "m")
    seen = []
    got, n = _run(Engine("dask", memory_budget=40 * 40 * 16, scheduler="local", n_workers=2),
                  grid, path, tmp_path / "c", collect=lambda w, cores: seen.append(w))  # fmt: skip
    assert n > 4 and len(seen) == n
    assert sorted((w.row, w.col) for w in seen) == sorted(
        (w.row, w.col) for w in plan(grid, Engine("windows", memory_budget=40 * 40 * 16),
                                     halo=3, bytes_per_cell=16)
    )  # fmt: skip
    np.testing.assert_allclose(got["smooth"], mem["smooth"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got["northing"], mem["northing"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_scheduler_that_does_not_answer_is_a_clear_error_and_writes_nothing(source, tmp_path):
    grid, _, path = source
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    folder = tmp_path / "out"
    folder.mkdir()
    engine = Engine("dask", scheduler=address, timeout=2)
    with pytest.raises(ClusterError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1:\d+"):
        compute_blocks(grid, Focal(), _outputs(folder), engine=engine, inputs={"a": path},
                       halo=3, bytes_per_cell=16)  # fmt: skip
    assert list(folder.iterdir()) == []


def test_address_without_protocol_is_refused(source, tmp_path):
    grid, _, path = source
    with pytest.raises(InputError, match="tcp://"):
        compute_blocks(grid, Focal(), _outputs(tmp_path), inputs={"a": path}, halo=3,
                       engine=Engine("dask", scheduler="127.0.0.1:8786"))  # fmt: skip


@pytest.mark.slow
def test_lost_worker_leaves_no_file_and_a_rerun_succeeds(tmp_path):
    grid = _grid(40, 40)
    out = {"x": RasterOutput(tmp_path / "x.tif", "x")}
    engine = Engine("dask", memory_budget=20 * 20 * 8, scheduler="local", n_workers=2)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(ClusterError, match=r"worker was lost.*run the same command again"):
            compute_blocks(grid, KillWorker(), out, engine=engine, bytes_per_cell=8)
    assert list(tmp_path.iterdir()) == []
    # a worker that dies once: the block is retried elsewhere and the run completes
    marker = str(tmp_path / "died-once")
    paths = compute_blocks(grid, KillWorker(marker), out, engine=engine, bytes_per_cell=8)
    assert os.path.exists(marker)
    assert (read_geotiff(paths["x"])[0] == 7.0).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["died-once", "x.tif"]


def test_budget_too_small_for_a_window_and_its_halo(source, tmp_path):
    grid, _, path = source
    with pytest.raises(GridSizeError, match=r"halo of 3 cells is 7 x 7 cells"):
        compute_blocks(grid, Focal(), _outputs(tmp_path / "o"), inputs={"a": path}, halo=3,
                       engine=Engine("windows", memory_budget=6 * 6 * 16),
                       bytes_per_cell=16)  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_existing_output_refused_before_anything_runs(source, tmp_path):
    grid, _, path = source
    calls = []

    def block(g, arrays):
        calls.append(g)
        return {"smooth": arrays["a"], "northing": arrays["a"]}

    outs = _outputs(tmp_path)
    (tmp_path / "northing.tif").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"northing\.tif already exists"):
        compute_blocks(grid, block, outs, inputs={"a": path})
    assert calls == [] and (tmp_path / "northing.tif").read_text() == "mine"
    assert not (tmp_path / "smooth.tif").exists()


def test_failing_block_removes_every_partial_output(source, tmp_path):
    grid, _, path = source
    n = [0]

    def block(g, arrays):
        n[0] += 1
        if n[0] == 3:
            raise RuntimeError("bad window")
        return {"smooth": arrays["a"], "northing": arrays["a"]}

    folder = tmp_path / "o"
    with pytest.raises(RuntimeError, match="bad window"):
        compute_blocks(grid, block, _outputs(folder), inputs={"a": path},
                       engine=Engine("windows", memory_budget=30 * 30 * 16),
                       bytes_per_cell=16)  # fmt: skip
    assert list(folder.iterdir()) == []


def test_misaligned_input_is_refused(source, tmp_path):
    grid, a, _ = source
    other = Grid(grid.crs, grid.transform @ Affine.translation(0.5, 0), grid.width, grid.height)
    path = write_geotiff(tmp_path / "shifted.tif", a, other, description="a")
    with pytest.raises(InputError, match="not on the grid"):
        compute_blocks(grid, Focal(), _outputs(tmp_path / "o"), inputs={"a": path}, halo=3)


def test_engine_options_are_checked():
    with pytest.raises(InputError, match="engine must be one of"):
        Engine("gpu")
    with pytest.raises(InputError, match="needs the dask engine"):
        Engine("windows", scheduler="local")
    with pytest.raises(InputError, match="memory budget must be a positive"):
        Engine(memory_budget=0)


@dataclass
class NorthernHalfMissing:
    """The northing, NaN in the northern half of the grid."""

    def __call__(self, grid, arrays):
        y = np.broadcast_to(grid.centers()[1][:, None], grid.shape).astype("float32")
        return {"y": np.where(y > 30_000.0, np.float32(np.nan), y)}


@pytest.mark.parametrize("sparse", [False, True])
def test_sparse_scratch_rasters_leave_out_nodata_tiles(tmp_path, sparse):
    """compute_blocks hands ``sparse`` to the writer: a scratch raster's tiles of nodata
    only are not in the file, and it reads back the same."""
    grid = _grid(600, 300)  # the first row of 256 x 256 tiles holds no value
    out = {"y": RasterOutput(tmp_path / "y.tif", "northing")}
    engine = Engine("windows", memory_budget=300 * 128 * 8)
    paths = compute_blocks(grid, NorthernHalfMissing(), out, engine=engine, overviews=False,
                           compress=False, sparse=sparse)  # fmt: skip
    want = NorthernHalfMissing()(grid, {})["y"]
    np.testing.assert_array_equal(read_geotiff(paths["y"])[0], want)
    assert missing_tiles(paths["y"]) == ([(0, 0), (0, 1)] if sparse else [])
