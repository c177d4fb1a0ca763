"""One grid computation, three ways to run it: in memory, window by window, on Dask.

A computation is a *block function* ``block(read_grid, arrays) -> {name: array}``:
given a rectangle of the grid (a window's core plus the halo it needs) and the
input rasters over that rectangle, it returns every output over the rectangle
(or over the core). :func:`compute_blocks` runs it

* ``memory``: once, on the whole grid;
* ``windows``: window by window in this process (:func:`gis.windows.plan_windows`
  sizes the windows from the memory budget), writing each core as soon as it is
  computed, so peak memory follows the budget and not the grid size;
* ``dask``: on the same windows as the chunks of Dask arrays — inputs are read
  lazily with rioxarray, blocks with a halo run through
  :func:`dask.array.map_overlap` and the others through :func:`dask.array.map_blocks`
  — on Dask's threads in this process, on a local cluster of worker processes
  (``scheduler="local"``), or on a running ``dask.distributed`` scheduler
  (``scheduler="tcp://host:8786"``). Finished blocks come back to this process
  and are written as they arrive, a bounded number in flight at a time.

All three write through one :class:`gis.io.WindowWriter`, so the files are
the same whichever runs them, and a failure — a bad block, a lost worker, a
scheduler that goes away — removes every temporary file and leaves existing
outputs untouched; the same call can simply be run again.

Workers of a cluster read the input rasters themselves: on a cluster of several
machines the inputs must sit on a file system every worker sees. Outputs are
written by the calling process only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gis import settings
from gis.errors import ClusterError, InputError
from gis.grid import Grid
from gis.io import RasterOutput, WindowWriter, gdal_env
from gis.windows import Window, open_raster, plan_windows, read_window

__all__ = [
    "ENGINES",
    "BlockFunction",
    "Engine",
    "compute_blocks",
    "dask_client",
    "plan",
]

ENGINES: tuple[str, ...] = ("memory", "windows", "dask")

#: ``block(read_grid, arrays)`` returns ``{output name: array}`` of the read or core shape.
BlockFunction = Callable[[Grid, Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Engine:
    """How to run a grid computation.

    Parameters
    ----------
    kind
        ``"memory"``, ``"windows"`` or ``"dask"`` (:data:`ENGINES`).
    memory_budget
        Bytes one window may take (default :data:`gis.settings.memory_budget`);
        on Dask, each worker thread holds about one window at a time.
    scheduler
        Dask only: ``None`` runs Dask's threads in this process, ``"local"`` starts
        a local cluster of ``n_workers`` worker processes on the loopback
        interface, anything else is the address of a running scheduler
        (``tcp://host:8786``).
    n_workers
        Worker processes of a local cluster; threads of the in-process scheduler.
    timeout
        Seconds to wait for a scheduler to answer.
    in_flight
        Blocks computed ahead of writing, per worker (bounds this process's memory).

    Examples
    --------
    >>> Engine("dask", scheduler="tcp://127.0.0.1:8786").describe()
    'dask on tcp://127.0.0.1:8786'
    """

    kind: str = "windows"
    memory_budget: int | None = None
    scheduler: str | None = None
    n_workers: int = 2
    timeout: float = 10.0
    in_flight: int = 2

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {self.kind!r}")
        if self.scheduler is not None and self.kind != "dask":
            raise InputError(
                f"a scheduler ({self.scheduler}) needs the dask engine; use --engine dask"
            )
        if self.memory_budget is not None and int(self.memory_budget) <= 0:
            raise InputError(
                f"memory budget must be a positive number of bytes, got {self.memory_budget!r}"
            )
        if int(self.n_workers) < 1 or int(self.in_flight) < 1:
            raise InputError("n_workers and in_flight must be at least 1")

    @property
    def budget(self) -> int:
        """The memory budget in force, in bytes."""
        return settings.memory_budget if self.memory_budget is None else int(self.memory_budget)

    def describe(self) -> str:
        """A short label for reports (``windows``, ``dask on tcp://…``)."""
        if self.kind != "dask":
            return self.kind
        if self.scheduler is None:
            return f"dask (threads, {self.n_workers})"
        if self.scheduler == "local":
            return f"dask (local cluster, {self.n_workers} workers)"
        return f"dask on {self.scheduler}"


def plan(grid: Grid, engine: Engine, *, halo: int, bytes_per_cell: float) -> list[Window]:
    """The windows ``engine`` uses: the whole grid in memory, else :func:`plan_windows`."""
    if engine.kind == "memory":
        return [Window(grid, 0, 0, grid.height, grid.width, halo)]
    return plan_windows(
        grid, halo_cells=halo, bytes_per_cell=bytes_per_cell, memory_budget=engine.budget
    )


# ---------------------------------------------------------------------- dask client
@contextmanager
def dask_client(engine: Engine) -> Iterator[Any]:
    """The ``distributed.Client`` for ``engine``, or None for Dask's in-process threads.

    Raises
    ------
    ClusterError
        When the scheduler does not answer within ``engine.timeout`` seconds (the
        message names the address and how to start one), or a local cluster
        cannot start.
    """
    if engine.kind != "dask" or engine.scheduler is None:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        stack.enter_context(dask.config.set({"distributed.comm.timeouts.connect": engine.timeout}))
        if engine.scheduler == "local":
            try:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=int(engine.n_workers),
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                )
            except Exception as exc:  # pragma: no cover - depends on the machine
                raise ClusterError(f"cannot start a local Dask cluster: {exc}") from exc
            address: Any = cluster
        else:
            address = engine.scheduler
            if "://" not in address:
                raise InputError(
                    f"scheduler address {address!r} needs a protocol, e.g. tcp://127.0.0.1:8786"
                )
        try:
            client = stack.enter_context(
                Client(address, timeout=engine.timeout, set_as_default=False)
            )
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"no Dask scheduler answers at {engine.scheduler} within {engine.timeout:g} s "
                f"({type(exc).__name__}: {exc}); start one (`dask scheduler` and `dask worker "
                "ADDRESS`), check the address, or run without --dask-scheduler"
            ) from None
        yield client


# ---------------------------------------------------------------------- block wrappers
@dataclass
class _Block:
    """Picklable wrapper that turns a block function into a Dask block callable."""

    grid: Grid
    function: BlockFunction
    names: tuple[str, ...]
    inputs: tuple[str, ...]
    row_starts: tuple[int, ...]
    col_starts: tuple[int, ...]
    heights: tuple[int, ...]
    widths: tuple[int, ...]
    halo: int
    extra: dict[str, Any] = field(default_factory=dict)

    def window(self, i: int, j: int) -> Window:
        return Window(
            self.grid, self.row_starts[i], self.col_starts[j], self.heights[i], self.widths[j],
            self.halo,
        )  # fmt: skip

    def __call__(self, *arrays: np.ndarray, block_info: Any = None) -> np.ndarray:
        if arrays:
            i, j = block_info[0]["chunk-location"]
        else:
            _, i, j = block_info[None]["chunk-location"]
        w = self.window(i, j)
        data = dict(zip(self.inputs, arrays, strict=True))
        return _stack(w, self.function(w.read_grid, data), self.names)


def _core(window: Window, values: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Output ``name`` of a block over the window's core (a view when it already is one)."""
    if name not in values:
        raise InputError(f"block function returned no {name!r} (it gave {sorted(values)})")
    arr = np.asarray(values[name])
    r0, c0, r1, c1 = window.read_bounds
    if arr.shape == (r1 - r0, c1 - c0):
        arr = arr[window.inner]
    if arr.shape != window.shape:
        raise InputError(
            f"block function returned shape {arr.shape} for {name!r} on a window of "
            f"core {window.shape} and read shape {(r1 - r0, c1 - c0)}"
        )
    return arr


def _stack(window: Window, values: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The outputs' cores stacked on a first axis, as float32 (one Dask block)."""
    out = np.empty((len(names), *window.shape), dtype="float32")
    for k, name in enumerate(names):
        out[k] = _core(window, values, name)
    return out


def _chunks(windows: Sequence[Window]) -> tuple[tuple[int, ...], tuple[int, ...], list, list]:
    rows = sorted({w.row for w in windows})
    cols = sorted({w.col for w in windows})
    heights = {w.row: w.height for w in windows}
    widths = {w.col: w.width for w in windows}
    return (
        tuple(heights[r] for r in rows),
        tuple(widths[c] for c in cols),
        rows,
        cols,
    )


def _dask_array(
    grid: Grid,
    windows: Sequence[Window],
    function: BlockFunction,
    names: tuple[str, ...],
    inputs: Mapping[str, str | os.PathLike],
    halo: int,
) -> Any:
    """The outputs as one lazy ``(n_outputs, rows, cols)`` Dask array chunked like ``windows``."""
    import dask.array as da

    heights, widths, rows, cols = _chunks(windows)
    block = _Block(grid, function, names, tuple(inputs), tuple(rows), tuple(cols),
                   heights, widths, halo)  # fmt: skip
    chunks = ((len(names),), heights, widths)
    meta = np.empty((0, 0, 0), dtype="float32")
    if not inputs:
        return da.map_blocks(block, chunks=chunks, dtype="float32", meta=meta)
    arrays = [_read_lazily(p, grid, (heights, widths)) for p in inputs.values()]
    if halo == 0:
        return da.map_blocks(block, *arrays, chunks=chunks, new_axis=0, dtype="float32",
                             meta=meta)  # fmt: skip
    return da.map_overlap(block, *arrays, depth=halo, boundary="none", trim=False,
                          chunks=chunks, new_axis=0, dtype="float32", meta=meta)  # fmt: skip


def _read_lazily(path: str | os.PathLike, grid: Grid, chunks: tuple[tuple[int, ...], ...]) -> Any:
    """A single-band raster as a float32 Dask array (NaN for nodata) with the given chunks.

    The file was checked against ``grid`` by :func:`compute_blocks` before.
    """
    import rioxarray

    da_ = rioxarray.open_rasterio(path, chunks={"band": 1, "y": chunks[0], "x": chunks[1]},
                                  masked=True, lock=False, parse_coordinates=False)  # fmt: skip
    return da_.data[0].astype("float32")  # type: ignore[union-attr]  # one file: a DataArray


# ---------------------------------------------------------------------- running
def _read_inputs(
    sources: Mapping[str, Any], window: Window, buffers: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Each input's read rectangle of ``window``, into the front of its buffer if given."""
    if buffers is None:
        return {k: read_window(src, window, with_halo=True) for k, src in sources.items()}
    r0, c0, r1, c1 = window.read_bounds
    n = (r1 - r0) * (c1 - c0)
    return {
        k: read_window(src, window, with_halo=True, out=buffers[k][:n].reshape(r1 - r0, c1 - c0))
        for k, src in sources.items()
    }


def _input_buffers(windows: Sequence[Window], names: Sequence[str]) -> dict[str, np.ndarray]:
    """One float32 buffer per input, as large as the largest read rectangle of ``windows``."""
    cells = max(((r1 - r0) * (c1 - c0) for r0, c0, r1, c1 in (w.read_bounds for w in windows)),
                default=0)  # fmt: skip
    return {k: np.empty(cells, dtype=np.float32) for k in names}


def _run_local(
    windows: Sequence[Window],
    function: BlockFunction,
    inputs: Mapping[str, str | os.PathLike],
    grid: Grid,
    engine: Engine,
) -> Generator[tuple[Window, dict[str, np.ndarray]], None, None]:
    with ExitStack() as stack:
        stack.enter_context(gdal_env(engine.budget))
        sources = {k: stack.enter_context(open_raster(p, grid=grid)) for k, p in inputs.items()}
        # every window is read into the same buffers: its results are written (and
        # collected) before the next one is read
        buffers = _input_buffers(windows, list(sources)) if len(windows) > 1 else None
        for w in windows:
            yield w, dict(function(w.read_grid, _read_inputs(sources, w, buffers)))


def _run_dask(
    windows: Sequence[Window],
    function: BlockFunction,
    names: tuple[str, ...],
    inputs: Mapping[str, str | os.PathLike],
    grid: Grid,
    halo: int,
    engine: Engine,
) -> Generator[tuple[Window, dict[str, np.ndarray]], None, None]:
    import dask

    array = _dask_array(grid, windows, function, names, inputs, halo)
    delayed = array.to_delayed()  # shape (1, n_rows, n_cols)
    _, rows, cols = delayed.shape
    order = [(i, j) for i in range(rows) for j in range(cols)]
    lookup = dict(zip(order, windows, strict=True))  # plan_windows is row-major

    def unpack(ij: tuple[int, int], stacked: np.ndarray) -> tuple[Window, dict[str, np.ndarray]]:
        return lookup[ij], {n: stacked[k] for k, n in enumerate(names)}

    with dask_client(engine) as client:
        if client is None:
            batch = max(1, int(engine.n_workers)) * int(engine.in_flight)
            with dask.config.set(scheduler="threads", num_workers=int(engine.n_workers)):
                for start in range(0, len(order), batch):
                    part = order[start : start + batch]
                    for ij, res in zip(part, dask.compute(*[delayed[0, i, j] for i, j in part]),
                                       strict=True):  # fmt: skip
                        yield unpack(ij, res)
            return
        yield from _run_distributed(client, delayed, order, unpack, engine)


def _run_distributed(
    client: Any,
    delayed: Any,
    order: list[tuple[int, int]],
    unpack: Callable[..., tuple[Window, dict[str, np.ndarray]]],
    engine: Engine,
) -> Iterator[tuple[Window, dict[str, np.ndarray]]]:
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = n_workers * int(engine.in_flight) + 1
    pending = iter(order)
    futures: dict[Any, tuple[int, int]] = {}

    def submit(k: int) -> list[Any]:
        new = []
        for ij in (next(pending, None) for _ in range(k)):
            if ij is None:
                break
            fut = client.compute(delayed[0, ij[0], ij[1]])
            futures[fut] = ij
            new.append(fut)
        return new

    done = as_completed(submit(limit), loop=client.loop)
    try:
        for fut in done:
            ij = futures.pop(fut)
            try:
                stacked = fut.result()
            except KilledWorker as exc:
                raise ClusterError(
                    f"a Dask worker was lost while computing block {ij} ({exc}); no output "
                    "was written. Workers die when they run out of memory (lower the memory "
                    "budget or give them more) or are stopped; run the same command again"
                ) from None
            except (FutureCancelledError, OSError) as exc:
                raise ClusterError(
                    f"the Dask scheduler went away while computing block {ij} "
                    f"({type(exc).__name__}: {exc}); no output was written; run again"
                ) from None
            yield unpack(ij, stacked)
            done.update(submit(1))
    finally:
        for fut in futures:
            fut.cancel()


def compute_blocks(
    grid: Grid,
    function: BlockFunction,
    outputs: Mapping[str, RasterOutput],
    *,
    engine: Engine | None = None,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    halo: int = 0,
    bytes_per_cell: float = 64.0,
    overwrite: bool = False,
    overviews: bool = True,
    compress: bool = True,
    statistics: bool | None = None,
    sparse: bool = False,
    collect: Callable[[Window, Mapping[str, np.ndarray]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Run ``function`` over ``grid`` with ``engine`` and write its outputs as GeoTIFFs.

    Parameters
    ----------
    grid
        The whole grid.
    function
        ``function(read_grid, arrays)`` with ``read_grid`` a window's core plus
        halo (clipped to the grid) and ``arrays`` the ``inputs`` over it (float32,
        NaN for nodata); returns ``{name: array}`` for every name of ``outputs``,
        over the read rectangle or the core. It must compute each core cell from
        the read rectangle alone (``halo`` cells are enough); on Dask it must be
        picklable (a module-level function or a dataclass instance).
    outputs
        Output name to :class:`gis.io.RasterOutput`.
    engine
        How to run (default: window by window, :class:`Engine`).
    inputs
        Input name to a GeoTIFF on ``grid`` (checked before anything runs).
    halo
        Cells of input each window reads around its core.
    bytes_per_cell
        Working set of ``function`` per cell of the read rectangle, to size windows.
    overwrite, overviews, compress, statistics, sparse
        As :class:`gis.io.WindowWriter`.
    collect
        Called in this process as ``collect(window, cores)`` for every finished
        window (e.g. to sample values); windows arrive in any order on Dask. Run
        locally, the windows' inputs are read into buffers that the next window
        reuses, so ``cores`` (which may be views of the inputs) are valid during the
        call only: copy what must outlive it.
    progress
        ``progress(done, total)`` after each window is written.

    Returns
    -------
    dict
        Output name to the written path.

    Raises
    ------
    GridSizeError
        When the memory budget cannot hold one window with its halo.
    ClusterError
        When the Dask scheduler does not answer or a worker is lost (no output written).
    OutputExistsError
        When an output exists and ``overwrite`` is false (nothing is computed).

    Examples
    --------
    >>> import tempfile
    >>> g = Grid.from_bounds((0, 0, 50, 30), cell_size=10, crs=32650)
    >>> def rows(read_grid, arrays):
    ...     return {"y": np.broadcast_to(read_grid.centers()[1][:, None], read_grid.shape)}
    >>> out = Path(tempfile.mkdtemp()) / "y.tif"
    >>> paths = compute_blocks(g, rows, {"y": RasterOutput(out, "northing")},
    ...                        engine=Engine("dask"))
    >>> from gis.io import read_geotiff
    >>> read_geotiff(paths["y"])[0][:, 0].tolist()
    [25.0, 15.0, 5.0]
    """
    engine = engine or Engine()
    inputs = dict(inputs or {})
    halo = int(halo)
    if halo < 0:
        raise InputError(f"halo must be >= 0 cells, got {halo}")
    names = tuple(outputs)
    windows = plan(grid, engine, halo=halo, bytes_per_cell=bytes_per_cell)
    for p in inputs.values():  # fail on a bad input before anything is written
        with open_raster(p, grid=grid):
            pass
    writer = WindowWriter(grid, outputs, overwrite=overwrite, overviews=overviews,
                          compress=compress, statistics=statistics, sparse=sparse,
                          memory_budget=engine.budget)  # fmt: skip
    if engine.kind == "dask":
        results = _run_dask(windows, function, names, inputs, grid, halo, engine)
    else:
        results = _run_local(windows, function, inputs, grid, engine)
    # close the block generator (and its GDAL environment) before the writer, also on failure
    with writer, closing(results):
        for k, (window, values) in enumerate(results, start=1):
            cores = {n: _core(window, values, n) for n in names}
            writer.write(window, cores)
            if collect is not None:
                collect(window, cores)
            if progress is not None:
                progress(k, len(windows))
    return dict(writer.targets)
