"""FFT convolution with one kernel, tile by tile (overlap-save), and grid windows.

Market potential, category counts for diversity and other focal sums convolve
a source raster (rasterised points or a population raster) with one fixed,
possibly very large kernel. :class:`Convolver` does that over the tiles of the
output: each tile reads its source window with a halo of half the kernel,
transforms it with a real FFT, multiplies by the kernel spectrum (computed once
per FFT shape and reused by every tile and every source) and keeps the valid
part. Memory is bounded by the FFT size, not by the grid, so the same code serves
a city and, window by window, a country.

:func:`grid_window` cuts a sub-grid out of a :class:`~gis.grid.Grid`; every
measure that takes a grid can then be run window by window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from affine import Affine
from scipy import fft as sp_fft

from gis import settings
from gis.errors import GridSizeError, InputError
from gis.grid import Grid

__all__ = ["Convolver", "Window", "disc_footprint", "grid_window"]

#: Largest FFT (in cells) one tile may use: about 16 bytes per cell are live at once
#: (the float32 source, its complex64 spectrum, the kernel spectrum and the result).
MAX_FFT_CELLS: int = 2**27

#: Kernels up to this side (cells) are applied in tiles of :data:`SMALL_TILE` cells: the
#: halo costs little and the tiles' buffers stay small and are reused.
SMALL_KERNEL: int = 129
SMALL_TILE: int = 1024


class Window(NamedTuple):
    """A rectangle of rows and columns of a raster: ``[row, row+height) x [col, col+width)``."""

    row: int
    col: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices selecting the window from an array."""
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)


def grid_window(grid: Grid, window: Window) -> Grid:
    """The sub-grid of ``grid`` covering ``window`` (same CRS and cell size, aligned).

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 100, 50), cell_size=10, crs=32650)
    >>> grid_window(g, Window(1, 2, 3, 4)).bounds
    (20.0, 10.0, 60.0, 40.0)
    """
    r, c, h, w = (int(v) for v in window)
    if r < 0 or c < 0 or h < 1 or w < 1 or r + h > grid.height or c + w > grid.width:
        raise InputError(f"window {tuple(window)} is not inside the grid of shape {grid.shape}")
    return Grid(grid.crs, grid.transform @ Affine.translation(c, r), w, h)


def disc_footprint(radius_cells: float) -> np.ndarray:
    """Boolean disc of the cells whose centre lies within ``radius_cells`` of the middle one.

    Examples
    --------
    >>> disc_footprint(1).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    if not (math.isfinite(radius_cells) and radius_cells >= 0):
        raise InputError(f"radius must be a finite number >= 0 of cells, got {radius_cells!r}")
    p = math.floor(radius_cells + 1e-9)
    i = np.arange(-p, p + 1)
    return (i[:, None] ** 2 + i[None, :] ** 2) <= radius_cells**2 + 1e-9


class Convolver:
    """Convolve rasters with one odd-sided kernel, tile by tile, reusing the kernel spectrum.

    For an output of ``shape`` (rows, cols) the *source* covers the output plus a
    halo of ``kernel.shape // 2`` cells on every side; ``out[r, c] = Σ src[r+i,
    c+j] · kernel[K-1-i, L-1-j]`` (a "valid" convolution; for the symmetric kernels
    used here, a moving-window weighted sum centred on the cell).

    Parameters
    ----------
    kernel
        2-D array with odd sides.
    shape
        Output shape ``(rows, cols)``.
    tile
        Output tile side in cells; default: :data:`SMALL_TILE` for kernels up to
        :data:`SMALL_KERNEL` cells, else one tile when the whole FFT fits
        :data:`MAX_FFT_CELLS`, else tiles about twice the kernel side.
    workers
        Threads for the FFTs (default :data:`gis.settings.workers`).

    Examples
    --------
    >>> conv = Convolver(np.ones((3, 3)), (2, 3))
    >>> src = np.arange(20, dtype="float32").reshape(4, 5)
    >>> conv.run(lambda w: src[w.row : w.row + w.height, w.col : w.col + w.width])
    array([[ 54.,  63.,  72.],
           [ 99., 108., 117.]], dtype=float32)
    """

    def __init__(
        self,
        kernel: np.ndarray,
        shape: tuple[int, int],
        *,
        tile: int | None = None,
        workers: int | None = None,
    ) -> None:
        k = np.asarray(kernel, dtype="float32")
        if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise InputError(f"kernel must be 2-D with odd sides, got shape {k.shape}")
        if not np.isfinite(k).all():
            raise InputError("kernel values must be finite")
        self.kernel = k
        self.shape = (int(shape[0]), int(shape[1]))
        self.halo = (k.shape[0] // 2, k.shape[1] // 2)
        self.workers = settings.workers if workers is None else int(workers)
        self._spectra: dict[tuple[int, int], np.ndarray] = {}
        kh, kw = k.shape
        if tile is None:
            whole = sp_fft.next_fast_len(self.shape[0] + kh - 1, real=True) * sp_fft.next_fast_len(
                self.shape[1] + kw - 1, real=True
            )
            if max(kh, kw) <= SMALL_KERNEL:
                # small windows: tiles that stay in cache and reuse their memory
                self.tile = (min(SMALL_TILE, self.shape[0]), min(SMALL_TILE, self.shape[1]))
            elif whole <= MAX_FFT_CELLS:
                self.tile = (self.shape[0], self.shape[1])
            else:
                side = max(2 * max(kh, kw), 512)
                if (side + kh) * (side + kw) > MAX_FFT_CELLS * 4:
                    raise GridSizeError(
                        f"a kernel of {kh} x {kw} cells is too large for tiled FFT "
                        "convolution; use a larger cell size or a shorter distance reach"
                    )
                self.tile = (min(side, self.shape[0]), min(side, self.shape[1]))
        else:
            if int(tile) < 1:
                raise InputError(f"tile must be a positive number of cells, got {tile!r}")
            self.tile = (min(int(tile), self.shape[0]), min(int(tile), self.shape[1]))

    def tiles(self) -> Iterator[Window]:
        """Output tiles in row-major order."""
        th, tw = self.tile
        for r in range(0, self.shape[0], th):
            for c in range(0, self.shape[1], tw):
                yield Window(r, c, min(th, self.shape[0] - r), min(tw, self.shape[1] - c))

    def source_window(self, tile: Window) -> Window:
        """The source rectangle a tile reads, in source coordinates (output + halo)."""
        kh, kw = self.kernel.shape
        return Window(tile.row, tile.col, tile.height + kh - 1, tile.width + kw - 1)

    def _spectrum(self, fshape: tuple[int, int]) -> np.ndarray:
        spec = self._spectra.get(fshape)
        if spec is None:
            spec = sp_fft.rfft2(self.kernel, fshape, workers=self.workers)
            if len(self._spectra) >= 2:
                self._spectra.clear()
            self._spectra[fshape] = spec
        return spec

    def _fft_shape(self, src_shape: tuple[int, int]) -> tuple[int, int]:
        """FFT shape for a source window: that of a full tile when it fits (one spectrum)."""
        kh, kw = self.kernel.shape
        full = (self.tile[0] + kh - 1, self.tile[1] + kw - 1)
        rows = full[0] if src_shape[0] <= full[0] else src_shape[0]
        cols = full[1] if src_shape[1] <= full[1] else src_shape[1]
        return (sp_fft.next_fast_len(rows, real=True), sp_fft.next_fast_len(cols, real=True))

    def apply(self, source: np.ndarray) -> np.ndarray:
        """Valid convolution of one source window (tile + halo) with the kernel; float32."""
        src = np.asarray(source, dtype="float32")
        kh, kw = self.kernel.shape
        oh, ow = src.shape[0] - kh + 1, src.shape[1] - kw + 1
        if oh < 1 or ow < 1:
            raise InputError(f"source window {src.shape} is smaller than the kernel {(kh, kw)}")
        fshape = self._fft_shape(src.shape)
        spec = sp_fft.rfft2(src, fshape, workers=self.workers)
        spec *= self._spectrum(fshape)
        full = sp_fft.irfft2(spec, fshape, workers=self.workers)
        del spec
        # circular convolution of size >= source: rows/cols kh-1.. are free of wrap-around
        return np.array(full[kh - 1 : kh - 1 + oh, kw - 1 : kw - 1 + ow], dtype="float32")

    def run(self, read: Callable[[Window], np.ndarray]) -> np.ndarray:
        """Convolve a whole source given by ``read(source_window) -> array``; float32 output."""
        out = np.empty(self.shape, dtype="float32")
        for tile in self.tiles():
            out[tile.slices] = self.apply(read(self.source_window(tile)))
        return out
