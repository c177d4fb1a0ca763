"""Window-by-window processing of large grids in bounded memory.

A grid too large to hold as whole-grid arrays is cut into rectangular windows.
Each window has a *core* (the cells it produces) and a *halo* (extra cells on
every side that an operation reads to compute the core exactly: a kernel radius,
a distance cap; zero for cell-wise work). :func:`plan_windows` chooses the window
size from a memory budget and a per-cell working-set estimate, so peak memory
follows the budget, not the grid size. :func:`run_windows` calls a function per
window and writes each core as soon as it is computed through
:class:`gis.io.raster.WindowWriter`, the GeoTIFF writer (Cloud-Optimised GeoTIFFs,
renamed into place only when every window succeeded).

``BLOCK``, ``RasterOutput``, ``WindowWriter`` and ``gdal_env`` live in :mod:`gis.io.raster`.

Window transforms are computed here as ``grid.transform @ Affine.translation(col, row)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from gis import settings
from gis.errors import DataSourceError, GridSizeError, InputError
from gis.grid import Grid
from gis.io.raster import BLOCK, RasterOutput, WindowWriter

__all__ = [
    "Window",
    "open_raster",
    "plan_windows",
    "read_window",
    "run_windows",
]


@dataclass(frozen=True)
class Window:
    """One window of a grid: a core rectangle and the halo around it, in global cells.

    Parameters
    ----------
    parent
        The whole grid.
    row, col
        Global row and column of the core's upper-left cell.
    height, width
        Core size in cells.
    halo
        Halo width in cells requested on every side; the read rectangle is
        clipped to the grid, so windows at the edge have a thinner halo there.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 100, 50), cell_size=10, crs=32650)
    >>> w = Window(g, row=1, col=2, height=3, width=4, halo=1)
    >>> w.grid.bounds
    (20.0, 10.0, 60.0, 40.0)
    >>> w.read_bounds, w.inner
    ((0, 1, 5, 7), (slice(1, 4, None), slice(1, 5, None)))
    """

    parent: Grid
    row: int
    col: int
    height: int
    width: int
    halo: int = 0

    def __post_init__(self) -> None:
        g = self.parent
        if (
            self.row < 0
            or self.col < 0
            or self.height < 1
            or self.width < 1
            or self.row + self.height > g.height
            or self.col + self.width > g.width
            or self.halo < 0
        ):
            raise InputError(
                f"window rows {self.row}+{self.height}, cols {self.col}+{self.width} "
                f"(halo {self.halo}) is not inside the grid of shape {g.shape}"
            )

    # ------------------------------------------------------------------ core
    @property
    def core(self) -> tuple[slice, slice]:
        """Slices selecting the core from a whole-grid array."""
        return (
            slice(self.row, self.row + self.height),
            slice(self.col, self.col + self.width),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """Core shape ``(rows, cols)``."""
        return (self.height, self.width)

    @property
    def grid(self) -> Grid:
        """The core as its own :class:`~gis.grid.Grid` (same CRS and cell size, aligned)."""
        t = self.parent.transform @ Affine.translation(self.col, self.row)
        return Grid(self.parent.crs, t, self.width, self.height)

    # ------------------------------------------------------------------ halo
    @property
    def read_bounds(self) -> tuple[int, int, int, int]:
        """``(row0, col0, row1, col1)`` of the core plus halo, clipped to the grid."""
        g = self.parent
        return (
            max(0, self.row - self.halo),
            max(0, self.col - self.halo),
            min(g.height, self.row + self.height + self.halo),
            min(g.width, self.col + self.width + self.halo),
        )

    @property
    def read(self) -> tuple[slice, slice]:
        """Slices selecting core plus halo from a whole-grid array."""
        r0, c0, r1, c1 = self.read_bounds
        return slice(r0, r1), slice(c0, c1)

    @property
    def inner(self) -> tuple[slice, slice]:
        """Slices selecting the core from an array of the read (core plus halo) rectangle."""
        r0, c0, _, _ = self.read_bounds
        dr, dc = self.row - r0, self.col - c0
        return slice(dr, dr + self.height), slice(dc, dc + self.width)

    @property
    def read_grid(self) -> Grid:
        """Core plus (clipped) halo as a :class:`~gis.grid.Grid`."""
        r0, c0, r1, c1 = self.read_bounds
        t = self.parent.transform @ Affine.translation(c0, r0)
        return Grid(self.parent.crs, t, c1 - c0, r1 - r0)

    def rasterio_window(self, *, with_halo: bool = False) -> Any:
        """The core (or core plus halo) as a ``rasterio.windows.Window``."""
        from rasterio.windows import Window as RioWindow

        if with_halo:
            r0, c0, r1, c1 = self.read_bounds
            return RioWindow(c0, r0, c1 - c0, r1 - r0)
        return RioWindow(self.col, self.row, self.width, self.height)


# ---------------------------------------------------------------------- planning
def _round_to_block(n: int) -> int:
    return n - n % BLOCK if n >= BLOCK else n


def plan_windows(
    grid: Grid,
    *,
    halo_cells: int,
    bytes_per_cell: float,
    memory_budget: int | None = None,
) -> list[Window]:
    """Cut ``grid`` into windows whose core plus halo fits a memory budget.

    One window of ``(h + 2·halo) × (w + 2·halo)`` cells must satisfy
    ``cells · bytes_per_cell <= memory_budget``. The whole grid is one window
    when it fits; else full-width row strips when they are at least as tall as
    the largest square window; else squares. Sides of at least :data:`BLOCK`
    cells are rounded down to a multiple of it (whole GeoTIFF tiles).

    Parameters
    ----------
    grid
        The whole grid.
    halo_cells
        Cells of halo each window reads on every side (kernel radius, distance cap).
    bytes_per_cell
        Working set per cell of the read rectangle: every array the per-window
        computation holds at once.
    memory_budget
        Bytes; default :data:`gis.settings.memory_budget`.

    Returns
    -------
    list of Window
        In row-major order; their cores tile the grid exactly.

    Raises
    ------
    GridSizeError
        When one window of a single core cell plus its halo exceeds the budget
        (the message gives the halo, the bytes per cell, the need and the budget).
    InputError
        For a negative halo or a non-positive bytes per cell or budget.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 1000, 600), cell_size=10, crs=32650)
    >>> ws = plan_windows(g, halo_cells=2, bytes_per_cell=16, memory_budget=16 * 24 * 24)
    >>> len(ws), ws[0].shape, sum(w.height * w.width for w in ws) == g.size
    (15, (20, 20), True)
    """
    halo = int(halo_cells)
    if halo < 0 or halo != halo_cells:
        raise InputError(f"halo_cells must be an integer >= 0, got {halo_cells!r}")
    per = float(bytes_per_cell)
    if not (math.isfinite(per) and per > 0):
        raise InputError(f"bytes_per_cell must be a positive number, got {bytes_per_cell!r}")
    budget = settings.memory_budget if memory_budget is None else int(memory_budget)
    if budget <= 0:
        raise InputError(f"memory_budget must be a positive number of bytes, got {budget!r}")
    cells = int(budget // per)  # cells one read rectangle may hold
    side = math.isqrt(cells) - 2 * halo  # largest square core
    if side < 1:
        need = (1 + 2 * halo) ** 2 * per
        raise GridSizeError(
            f"memory budget of {budget:,} bytes cannot hold one window: a single cell "
            f"with a halo of {halo} cells is {1 + 2 * halo} x {1 + 2 * halo} cells at "
            f"{per:g} bytes per cell = {need:,.0f} bytes; raise the budget to at least "
            f"{math.ceil(need):,} bytes (gis.settings.memory_budget / INNOSITE_MEMORY_BUDGET) "
            "or reduce the halo (a shorter kernel radius or distance cap, a larger cell size)"
        )
    h2, w2 = grid.height + 2 * halo, grid.width + 2 * halo
    if h2 * w2 <= cells:
        height, width = grid.height, grid.width
    else:
        strip = cells // w2 - 2 * halo
        if strip >= min(side, grid.height):
            height, width = min(_round_to_block(strip), grid.height), grid.width
        else:
            side = _round_to_block(side)
            height, width = min(side, grid.height), min(side, grid.width)
    return [
        Window(grid, r, c, min(height, grid.height - r), min(width, grid.width - c), halo)
        for r in range(0, grid.height, height)
        for c in range(0, grid.width, width)
    ]


# ---------------------------------------------------------------------- reading
@contextmanager
def open_raster(path: str | os.PathLike, *, grid: Grid | None = None) -> Iterator[Any]:
    """Open a single-band raster for windowed reads; check it lies on ``grid`` if given.

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    InputError
        If its shape or transform differ from ``grid``'s.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise DataSourceError(f"cannot read raster {path}: {exc}") from None
    with src:
        if grid is not None and (
            (src.height, src.width) != grid.shape or not src.transform.almost_equals(grid.transform)
        ):
            raise InputError(
                f"{path} is {src.height} x {src.width} cells with transform "
                f"{tuple(src.transform)[:6]}, not on the grid {grid.shape} "
                f"{tuple(grid.transform)[:6]}; resample it onto the analysis grid"
            )
        yield src


def read_window(
    src: Any,
    window: Window,
    *,
    with_halo: bool = False,
    band: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Read a window's core (or core plus halo) from an open raster as float32, NaN for nodata.

    ``out``, a C-contiguous float32 array of the window's shape, is read into and returned
    (no fresh array: every fresh one costs page faults).
    """
    rio_window = window.rasterio_window(with_halo=with_halo)
    if out is None:
        arr = src.read(band, window=rio_window, out_dtype="float32")
    else:
        arr = src.read(band, window=rio_window, out=out)
    nodata = src.nodatavals[band - 1]
    if nodata is not None and not math.isnan(nodata):
        arr[arr == np.float32(nodata)] = np.nan
    return arr


# ---------------------------------------------------------------------- running
def run_windows(
    windows: Sequence[Window],
    function: Callable[[Window], np.ndarray],
    path: str | os.PathLike,
    *,
    description: str,
    units: str | None = None,
    nodata: float = np.nan,
    tags: Mapping[str, Any] | None = None,
    overviews: bool = True,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    memory_budget: int | None = None,
) -> Path:
    """Compute every window with ``function`` and write the cores into one GeoTIFF.

    The file is written by a :class:`WindowWriter` (float32, tiled, ZSTD,
    statistics, overviews). Each window's result is written as soon as it is
    computed, so only one window is in memory at a time. The file is written
    under a hidden temporary name in the same folder and renamed to ``path`` only
    when every window succeeded; on any error the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    windows
        From :func:`plan_windows`; all of the same parent grid.
    function
        ``function(window)`` returns the core values, an array of ``window.shape``,
        or of the read rectangle (core plus halo), whose core is then cut out.
    path
        Output ``.tif``.
    description, units, nodata, tags
        Band description and unit, the value written for NaN, extra text metadata.
    overviews
        Build averaged internal overviews after the last window.
    overwrite
        Replace an existing file.
    progress
        Called as ``progress(done, total)`` after each window.
    memory_budget
        Bytes, to size GDAL's block cache (:func:`gdal_env`); default
        :data:`gis.settings.memory_budget`.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        No windows, windows of different grids, or a result of the wrong shape.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    if not windows:
        raise InputError("no windows to run; plan them with plan_windows(grid, ...)")
    grid = windows[0].parent
    if any(w.parent != grid for w in windows):
        raise InputError("all windows must belong to the same grid")
    out = RasterOutput(path, description, units, float(nodata), tags)
    writer = WindowWriter(
        grid, {"out": out}, overwrite=overwrite, overviews=overviews, memory_budget=memory_budget
    )
    with writer:
        for i, window in enumerate(windows, start=1):
            writer.write(window, {"out": function(window)})
            if progress is not None:
                progress(i, len(windows))
    return writer.targets["out"]
