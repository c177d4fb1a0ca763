"""FFT convolution with one kernel, tile by tile (overlap-save).

Market potential, category counts for diversity and other focal sums convolve
a source raster (rasterised points or a population raster) with one fixed,
possibly very large kernel. :class:`Convolver` does that over the tiles of the
output: each tile reads its source window with a halo of half the kernel,
transforms it with a real FFT, multiplies by the kernel spectrum (computed once
per FFT shape and reused by every tile and every source) and keeps the valid
part. Memory is bounded by the FFT size, not by the grid, so the same code serves
a city and, window by window, a country.

:func:`convolve` is the whole-array form ("valid" or zero-padded "same"), used
by the point densities and focal means of :mod:`gis.measures`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gis import settings
from gis.errors import GridSizeError, InputError

__all__ = ["Convolver", "convolve", "disc_footprint"]

#: A rectangle of an array as ``(rows, cols)`` slices.
Slices = tuple[slice, slice]

#: Largest FFT (in cells) one tile may use: about 16 bytes per cell are live at once
#: (the float32 source, its complex64 spectrum, the kernel spectrum and the result).
MAX_FFT_CELLS: int = 2**27

#: Kernels up to this side (cells) are applied in tiles of :data:`SMALL_TILE` cells: the
#: halo costs little and the tiles' buffers stay small and are reused.
SMALL_KERNEL: int = 129
SMALL_TILE: int = 1024


def _fft() -> Any:
    """:mod:`scipy.fft`, imported on first use (a process that never convolves skips it)."""
    from scipy import fft

    return fft


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
    >>> conv.run(lambda rows, cols: src[rows, cols])
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
            whole = _fft().next_fast_len(self.shape[0] + kh - 1, real=True) * _fft().next_fast_len(
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

    def tiles(self) -> Iterator[Slices]:
        """Output tiles in row-major order, as ``(rows, cols)`` slices of the output."""
        th, tw = self.tile
        for r in range(0, self.shape[0], th):
            for c in range(0, self.shape[1], tw):
                yield slice(r, min(r + th, self.shape[0])), slice(c, min(c + tw, self.shape[1]))

    def source_window(self, tile: Slices) -> Slices:
        """The source rectangle a tile reads, in source coordinates (output + halo)."""
        kh, kw = self.kernel.shape
        rows, cols = tile
        return slice(rows.start, rows.stop + kh - 1), slice(cols.start, cols.stop + kw - 1)

    def _spectrum(self, fshape: tuple[int, int]) -> np.ndarray:
        spec = self._spectra.get(fshape)
        if spec is None:
            spec = _fft().rfft2(self.kernel, fshape, workers=self.workers)
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
        return (_fft().next_fast_len(rows, real=True), _fft().next_fast_len(cols, real=True))

    def apply(self, source: np.ndarray) -> np.ndarray:
        """Valid convolution of one source window (tile + halo) with the kernel; float32."""
        src = np.asarray(source, dtype="float32")
        kh, kw = self.kernel.shape
        oh, ow = src.shape[0] - kh + 1, src.shape[1] - kw + 1
        if oh < 1 or ow < 1:
            raise InputError(f"source window {src.shape} is smaller than the kernel {(kh, kw)}")
        fshape = self._fft_shape(src.shape)
        spec = _fft().rfft2(src, fshape, workers=self.workers)
        spec *= self._spectrum(fshape)
        full = _fft().irfft2(spec, fshape, workers=self.workers)
        del spec
        # circular convolution of size >= source: rows/cols kh-1.. are free of wrap-around
        return np.array(full[kh - 1 : kh - 1 + oh, kw - 1 : kw - 1 + ow], dtype="float32")

    def run(self, read: Callable[[slice, slice], np.ndarray]) -> np.ndarray:
        """Convolve a whole source given by ``read(rows, cols) -> array``; float32 output.

        ``rows`` and ``cols`` are the slices of the source window of each tile.
        """
        out = np.empty(self.shape, dtype="float32")
        for tile in self.tiles():
            out[tile] = self.apply(read(*self.source_window(tile)))
        return out


def convolve(
    array: Any,
    kernel: Any,
    *,
    mode: str = "same",
    tile: int | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Convolution of a 2-D array with an odd-sided kernel, by FFT in tiles (float32).

    Parameters
    ----------
    array
        2-D numeric array (not modified).
    kernel
        2-D kernel with odd sides.
    mode
        ``"valid"``: only where the kernel lies wholly inside ``array`` (the
        result is smaller by the kernel side minus one); ``"same"``: the shape of
        ``array``, with zeros beyond its edge.
    tile, workers
        As :class:`Convolver`.

    Returns
    -------
    numpy.ndarray
        float32.

    Examples
    --------
    >>> a = np.arange(12, dtype="float32").reshape(3, 4)
    >>> convolve(a, np.ones((3, 3)), mode="valid")
    array([[45., 54.]], dtype=float32)
    >>> convolve(a, np.ones((1, 3)), mode="same")[0].round(4)
    array([1., 3., 6., 5.], dtype=float32)
    """
    a = np.asarray(array, dtype="float32")
    k = np.asarray(kernel)
    if a.ndim != 2:
        raise InputError(f"convolve needs a 2-D array, got shape {a.shape}")
    if mode not in ("same", "valid"):
        raise InputError(f"mode must be 'same' or 'valid', got {mode!r}")
    if k.ndim != 2:
        raise InputError(f"kernel must be 2-D with odd sides, got shape {k.shape}")
    hr, hc = k.shape[0] // 2, k.shape[1] // 2
    if mode == "valid":
        shape = (a.shape[0] - 2 * hr, a.shape[1] - 2 * hc)
        if shape[0] < 1 or shape[1] < 1:
            raise InputError(f"array {a.shape} is smaller than the kernel {k.shape}")
        hr = hc = 0  # source coordinates are array coordinates
    else:
        shape = a.shape
    conv = Convolver(k, (int(shape[0]), int(shape[1])), tile=tile, workers=workers)

    def read(rows: slice, cols: slice) -> np.ndarray:
        r0, c0 = rows.start - hr, cols.start - hc
        r1, c1 = rows.stop - hr, cols.stop - hc
        if r0 >= 0 and c0 >= 0 and r1 <= a.shape[0] and c1 <= a.shape[1]:
            return a[r0:r1, c0:c1]
        block = np.zeros((r1 - r0, c1 - c0), dtype="float32")
        rs, cs = max(r0, 0), max(c0, 0)
        re, ce = min(r1, a.shape[0]), min(c1, a.shape[1])
        if re > rs and ce > cs:
            block[rs - r0 : re - r0, cs - c0 : ce - c0] = a[rs:re, cs:ce]
        return block

    return conv.run(read)
