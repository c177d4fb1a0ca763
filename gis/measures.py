"""Raster measures on a :class:`~gis.grid.Grid`: density, counts, focal means, coverage.

Every function returns a ``float32`` array of ``grid.shape`` (or of the input
array's shape) and works in the grid CRS; reproject vector inputs first. The
work is vectorised (FFT convolutions by :func:`gis.convolve.convolve`, a
scanline fill) and done in row bands where a full-grid temporary would be large.
Distances are in :mod:`gis.distance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.lib.stride_tricks import sliding_window_view

from gis._parallel import run_chunks
from gis._validate import geometries, points, positive
from gis.convolve import convolve, disc_footprint
from gis.errors import InputError
from gis.grid import Grid

__all__ = [
    "KERNELS",
    "Kernel",
    "count_within",
    "coverage",
    "focal_mean",
    "kernel_density",
]

#: Cells handled per chunk by the row-chunked steps (bounds their temporaries).
_CHUNK_CELLS = 1 << 20

#: Windows with at most this many cells are applied directly instead of by FFT.
_DIRECT_MAX_TAPS = 32

#: Polygon vertices handled per batch when the coverage scanline collects ring edges.
_EDGE_BATCH = 1 << 20


# ---------------------------------------------------------------------- density
class Kernel(NamedTuple):
    """A radially symmetric density kernel.

    ``function(d, h)`` gives the density per square metre at distance ``d``
    (metres, an array) from a unit-weight point for bandwidth ``h``; it is
    evaluated only for ``d <= support * h`` and taken as 0 beyond.
    """

    function: Callable[[np.ndarray, float], np.ndarray]
    support: float


def _quartic(d: np.ndarray, h: float) -> np.ndarray:
    return np.where(d < h, 3.0 / (np.pi * h * h) * (1.0 - (d / h) ** 2) ** 2, 0.0)


_GAUSS_CUT = 3.0


def _gaussian(d: np.ndarray, h: float) -> np.ndarray:
    mass = 1.0 - math.exp(-0.5 * _GAUSS_CUT**2)  # share of the mass within the cut
    return np.exp(-0.5 * (d / h) ** 2) / (2.0 * np.pi * h * h * mass)


def _uniform(d: np.ndarray, h: float) -> np.ndarray:
    return np.where(d <= h, 1.0 / (np.pi * h * h), 0.0)


#: Named kernels for :func:`kernel_density`. ``"quartic"`` is the ArcGIS / QGIS
#: kernel ``3/(π h²)·(1 − d²/h²)²`` for ``d < h``; ``"gaussian"`` is the normal
#: density with standard deviation ``h``, truncated at ``3h`` and rescaled so it
#: still integrates to 1; ``"uniform"`` is ``1/(π h²)`` for ``d <= h``.
KERNELS: dict[str, Kernel] = {
    "quartic": Kernel(_quartic, 1.0),
    "gaussian": Kernel(_gaussian, _GAUSS_CUT),
    "uniform": Kernel(_uniform, 1.0),
}


#: Stencil entries (cells x stencil cells) that :func:`_splat` adds in one numpy call
#: (bounds its temporaries: about 8 bytes per entry).
_SPLAT_CHUNK = 1 << 20
#: Row bands of :func:`_splat` per grid (at least one stencil side each). Fixed by the
#: grid and the stencil alone, so the sums are the same whatever the thread count.
_SPLAT_BANDS = 32
#: Relative cost of one splat entry (occupied cell x stencil cell) against one FFT cell
#: per ``log2`` of the padded grid. Measured on 1-5 k cells square grids with 20-50 cell
#: radius stencils: ~1.3-2.3 ns per entry against ~0.6 ns per cell and log2 level.
_SPLAT_COST = 2.5


def _bin_points(
    grid: Grid, x: np.ndarray, y: np.ndarray, w: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (sorted) into the grid padded by ``p`` cells of the occupied
    cells, and the summed weight of each."""
    height, width = grid.height + 2 * p, grid.width + 2 * p
    cs = grid.cell_size
    col = np.floor((x - grid.transform.c) / cs) + p
    row = np.floor((grid.transform.f - y) / cs) + p
    keep = (row >= 0) & (row < height) & (col >= 0) & (col < width) & (w > 0)
    flat = row[keep].astype("int64") * width + col[keep].astype("int64")
    cells, inverse = np.unique(flat, return_inverse=True)
    return cells, np.bincount(inverse, weights=w[keep], minlength=cells.size)


def _splat_groups(
    rows: np.ndarray, cols: np.ndarray, target: np.ndarray, side: int, band: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order of the cells, the bounds of their groups, and the band of each group.

    A cell ``(r, c)`` adds its stencil to the ``side`` x ``side`` window at ``(r, c)``
    of accumulator ``target``. The cells of one group have one target, lie in one band
    of ``band`` (>= ``side``) rows and in distinct ``side`` x ``side`` blocks of one
    parity class (block row and block column even or odd), so their windows never
    overlap: one fancy-indexed ``+=`` adds them all. Within a block the cells go to
    successive groups.
    """
    b_row, b_col = rows // side, cols // side
    band_of = rows // band
    block = ((band_of * (int(b_row.max()) + 1) + b_row) * (int(b_col.max()) + 1) + b_col) * 3
    block += target
    by_block = np.argsort(block, kind="stable")
    sorted_block = block[by_block]
    rank = np.empty_like(by_block)
    rank[by_block] = np.arange(by_block.size) - np.searchsorted(sorted_block, sorted_block)
    key = ((band_of * (int(rank.max()) + 1) + rank) * 3 + target) * 4
    key += (b_row % 2) * 2 + b_col % 2
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return order, np.r_[starts, key.size], band_of[order[starts]]


def _splat(
    shape: tuple[int, int], cells: np.ndarray, weight: np.ndarray, stencil: np.ndarray
) -> np.ndarray:
    """The stencil added around each occupied cell, as whole windows, in float32.

    ``cells`` are flat indices into the grid padded by ``p`` (half the stencil side)
    cells; the result is what the "valid" convolution of that padded count raster
    with the stencil gives. The windows are added to an accumulator of the grid's
    columns with ``2p`` rows of margin above and below (the result is a view of its
    middle rows), or, where they cross the left or right edge, to one of two strips
    ``4p`` columns wide across that edge, added to the grid at the end. The windows
    of a group of cells that do not overlap (:func:`_splat_groups`) are added by one
    fancy-indexed ``+=`` on a sliding-window view. Row bands of at least one stencil
    side run on :func:`~gis._parallel.cpu_count` threads, the even bands and then the
    odd ones, so two threads never add to the same cell; the groups and their order do
    not depend on the thread count, nor do the sums. float32 sums: each value is within
    about ``n · 6e-8`` of its exact value relative to the sum of its ``n`` terms.
    """
    height, width = shape
    side = stencil.shape[0]
    p = side // 2
    rows, cols = np.divmod(cells, width + 2 * p)
    buf = np.zeros((height + 4 * p) * width, dtype="float32")
    accs = [buf.reshape(height + 4 * p, width)]
    if p:  # strips over the grid columns [-2p, 2p) and [width - 2p, width + 2p)
        accs += [np.zeros((height + 4 * p, 4 * p), dtype="float32") for _ in range(2)]
    windows = [
        sliding_window_view(a, (side, side), writeable=True) if a.shape[1] >= side else a
        for a in accs
    ]
    # a window covers the grid columns [c - 2p, c]
    target = np.where(cols < 2 * p, 1, np.where(cols < width, 0, 2))
    cols -= np.array([2 * p, 0, width])[target]
    band = max(side, -(-(height + 2 * p) // _SPLAT_BANDS))
    order, bounds, group_band = _splat_groups(rows, cols, target, side, band)
    rows, cols, target = rows[order], cols[order], target[order]
    w32 = weight[order].astype("float32")
    sv = stencil.astype("float32")
    per_call = max(1, _SPLAT_CHUNK // sv.size)
    n_bands = int(group_band[-1]) + 1
    band_groups = np.searchsorted(group_band, np.arange(n_bands + 1))

    def add_bands(first: np.ndarray) -> None:
        def job(start: int, stop: int) -> None:
            for b in first[start:stop]:
                for g in range(band_groups[b], band_groups[b + 1]):
                    view = windows[target[bounds[g]]]
                    for k in range(bounds[g], bounds[g + 1], per_call):
                        s = slice(k, min(k + per_call, bounds[g + 1]))
                        view[rows[s], cols[s]] += w32[s, None, None] * sv

        run_chunks(first.size, 1, job)

    add_bands(np.arange(0, n_bands, 2))
    add_bands(np.arange(1, n_bands, 2))
    out = buf[2 * p * width : (2 * p + height) * width].reshape(height, width)
    if p:
        n = min(2 * p, width)
        out[:, :n] += accs[1][2 * p : 2 * p + height, 2 * p : 2 * p + n]
        out[:, width - n :] += accs[2][2 * p : 2 * p + height, 2 * p - n : 2 * p]
    return out


def _point_convolution(
    grid: Grid,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    stencil: np.ndarray,
    *,
    method: str = "auto",
) -> np.ndarray:
    """``Σ w · stencil[offset]`` at every cell centre, with points binned to their cell.

    ``stencil`` is square with odd side ``2p + 1``; points up to ``p`` cells
    outside the grid contribute too. ``method`` ``"splat"`` adds the stencil
    around each occupied cell (:func:`_splat`), ``"fft"`` convolves the binned
    raster; ``"auto"`` takes the cheaper (occupied cells x stencil cells against the
    FFT's cells x log2 cells, weighed by :data:`_SPLAT_COST`). Both give the same
    values to float32 round-off; the FFT's values below 1e-6 of its maximum (its
    round-off where there should be nothing) are set to 0. An all-zero border of the
    stencil (the quartic kernel is 0 at its bandwidth) is trimmed first: it adds nothing.
    """
    used = np.flatnonzero(stencil.any(axis=0) | stencil.any(axis=1))
    if used.size == 0:
        return np.zeros(grid.shape, dtype="float32")
    trim = min(int(used[0]), stencil.shape[0] - 1 - int(used[-1]))
    stencil = stencil[trim : stencil.shape[0] - trim, trim : stencil.shape[0] - trim]
    p = stencil.shape[0] // 2
    height, width = grid.height + 2 * p, grid.width + 2 * p
    cells, weight = _bin_points(grid, x, y, w, p)
    if cells.size == 0:
        return np.zeros(grid.shape, dtype="float32")
    if method == "auto":
        splat_cost = _SPLAT_COST * cells.size * np.count_nonzero(stencil)
        method = "splat" if splat_cost < height * width * math.log2(height * width) else "fft"
    if method == "splat":
        return _splat(grid.shape, cells, weight, stencil)
    binned = np.zeros((height, width), dtype="float32")
    binned.flat[cells] = weight
    out = convolve(binned, stencil, mode="valid")
    del binned
    out[out < 1e-6 * float(out.max())] = 0.0
    return out


def kernel_density(
    grid: Grid,
    x: Any,
    y: Any,
    *,
    bandwidth: float,
    weights: Any = None,
    kernel: str | Kernel | Callable[[np.ndarray, float], np.ndarray] = "quartic",
) -> np.ndarray:
    """Kernel density of points in features per km² at every cell centre.

    ``density(c) = 1e6 · Σ_i w_i · K(|c − p_i|)`` with ``K`` in per m². Points
    are binned to the centre of their cell (so a point is displaced by at most
    half a cell diagonal) and the bins convolved with the kernel sampled at
    cell-centre offsets. Points outside the grid but within the kernel's reach
    of it count. With few occupied cells the stencil is added around each of them,
    summed in float32 (cost: occupied cells x stencil cells, on
    :data:`gis.settings.workers` threads); otherwise the bins are convolved by FFT
    (cost: grid cells x log2 grid cells), whose values below 1e-6 of the maximum
    (its round-off) are set to 0. Both are exact to float32 round-off.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS.
    bandwidth
        Kernel bandwidth (search radius) ``h`` in metres, at least one cell.
    weights
        Non-negative weight per point (default 1: a count density).
    kernel
        A name from :data:`KERNELS`, a :class:`Kernel`, or a callable
        ``f(d, h)`` giving per-m² values, evaluated for ``d <= h``.

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape``; all zeros when there are no points.

    Examples
    --------
    One point at a cell centre: the quartic peak ``3/(π h²)`` per m², in per km².

    >>> grid = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32635)
    >>> d = kernel_density(grid, [25], [5], bandwidth=20)
    >>> d.round(1)
    array([[   0. , 1342.9, 2387.3, 1342.9,    0. ]], dtype=float32)
    >>> round(3 / (math.pi * 20**2) * 1e6, 1)
    2387.3
    """
    px, py, w = points(x, y, weights)
    cs = grid.cell_size
    h = positive(bandwidth, "bandwidth")
    if h < cs:
        raise InputError(
            f"bandwidth {h:g} m is smaller than the cell size {cs:g} m; "
            "use a bandwidth of at least one cell or a finer grid"
        )
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise InputError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}")
        kernel = KERNELS[kernel]
    elif not isinstance(kernel, Kernel):
        if not callable(kernel):
            raise InputError(f"kernel must be a name, a Kernel or a callable, got {kernel!r}")
        kernel = Kernel(kernel, 1.0)
    reach = kernel.support * h
    p = math.floor(reach / cs + 1e-9)
    off = np.arange(-p, p + 1) * cs
    d = np.hypot(off[:, None], off[None, :])
    inside = d <= reach * (1 + 1e-12)
    stencil = np.zeros_like(d)
    stencil[inside] = np.asarray(kernel.function(d[inside], h), dtype="float64") * 1e6
    if not np.isfinite(stencil).all() or stencil.min() < 0:
        raise InputError("kernel values must be finite and non-negative")
    return _point_convolution(grid, px, py, w, stencil)


def count_within(
    grid: Grid,
    x: Any,
    y: Any,
    *,
    radius: float,
    weights: Any = None,
) -> np.ndarray:
    """Number (or summed weight) of points within ``radius`` metres of every cell centre.

    Points are binned to the centre of their cell first, so a point counts for
    the cells whose centre is within ``radius`` of its cell's centre (an error
    of at most half a cell diagonal in the radius); the disc is added around each
    occupied cell or applied by FFT convolution, whichever is cheaper, as in
    :func:`kernel_density`.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS.
    radius
        Search radius in metres (0: points in the cell itself).
    weights
        Non-negative weight per point; without weights the counts are whole numbers.

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape``.

    Examples
    --------
    >>> grid = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32635)
    >>> count_within(grid, [5, 25, 26], [5, 5, 4], radius=10)
    array([[1., 3., 2., 2., 0.]], dtype=float32)
    """
    px, py, w = points(x, y, weights)
    r = positive(radius, "radius", allow_zero=True)
    stencil = disc_footprint(r / grid.cell_size).astype("float64")
    out = _point_convolution(grid, px, py, w, stencil)
    return np.rint(out, out=out) if weights is None else out


# ---------------------------------------------------------------------- focal
def _ndimage() -> Any:
    """:mod:`scipy.ndimage`, imported on first use (it costs about 50 MB and 0.2 s to load)."""
    from scipy import ndimage

    return ndimage


def focal_mean(
    array: Any,
    *,
    radius_cells: float,
    keep_nan: bool = False,
) -> np.ndarray:
    """Mean over a circular window, ignoring missing cells and cells beyond the edge.

    The window holds the cells whose centre is within ``radius_cells`` cell
    widths of the centre cell's. Non-finite values (NaN, ±inf) are missing;
    each mean is divided by the number of valid cells in its window.

    Parameters
    ----------
    array
        2-D numeric array (not modified).
    radius_cells
        Window radius in cells (0: the cell itself).
    keep_nan
        Keep missing cells missing in the output (otherwise they get the mean
        of their valid neighbours).

    Returns
    -------
    numpy.ndarray
        ``float32`` of the same shape; NaN where a window has no valid cell.

    Examples
    --------
    >>> a = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    >>> focal_mean(a, radius_cells=1)
    array([[2.3333333, 2.       , 3.6666667],
           [2.5      , 4.       , 4.5      ]], dtype=float32)
    >>> focal_mean(a, radius_cells=1, keep_nan=True)[1, 1]
    np.float32(nan)
    """
    a = np.asarray(array)
    if a.ndim != 2 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"focal_mean needs a 2-D numeric array, got {a.dtype} of shape {a.shape}")
    r = positive(radius_cells, "radius_cells", allow_zero=True)
    return _focal_mean_into(a.astype("float32"), r, keep_nan=keep_nan)  # a copy: a is kept


def _focal_mean_into(values: np.ndarray, r: float, *, keep_nan: bool) -> np.ndarray:
    """:func:`focal_mean` of a float32 array the caller gives up (it is overwritten)."""
    footprint = disc_footprint(r)
    k = footprint.astype("float32")
    direct = footprint.sum() <= _DIRECT_MAX_TAPS
    if values.size == 0:
        return np.full(values.shape, np.nan, dtype="float32")
    lo, hi = values.min(), values.max()  # NaN if any cell is NaN, infinite if any is
    if np.isfinite(lo) and np.isfinite(hi):
        # every cell valid: a window's count depends only on how far the cell is from the edges
        if direct:
            sums = _ndimage().correlate(values, k, mode="constant", cval=0.0)
        else:
            sums = convolve(values, k, mode="same")
        del values
        _divide_by_window_counts(sums, footprint)
        return np.clip(sums, lo, hi, out=sums)
    valid = np.isfinite(values)
    values[~valid] = 0.0
    if not valid.any():
        return np.full(values.shape, np.nan, dtype="float32")
    lo, hi = np.float32(values[valid].min()), np.float32(values[valid].max())
    weight = valid.astype("float32")
    if direct:
        ndimage = _ndimage()
        sums = ndimage.correlate(values, k, mode="constant", cval=0.0)
        counts = ndimage.correlate(weight, k, mode="constant", cval=0.0)
    else:
        sums = convolve(values, k, mode="same")
        del values
        counts = convolve(weight, k, mode="same")
        np.rint(counts, out=counts)
    del weight
    empty = counts < 0.5
    counts[empty] = 1.0
    np.divide(sums, counts, out=sums)
    np.clip(sums, lo, hi, out=sums)
    sums[empty] = np.nan
    if keep_nan:
        sums[~valid] = np.nan
    return sums


def _divide_by_window_counts(sums: np.ndarray, footprint: np.ndarray) -> None:
    """Divide window sums in place by the number of in-grid cells of each disc window.

    Row ``i`` of the disc spans columns ``-h_i..h_i``; the count at ``(r, c)`` is the
    sum over the disc rows inside the grid of that span clipped to the grid, a
    product of a (rows x disc rows) 0/1 matrix and a (disc rows x cols) matrix.
    Rows at least the disc radius from the top and bottom share one count row.
    """
    height, width = sums.shape
    p = footprint.shape[0] // 2
    half = (footprint.sum(axis=1) - 1) // 2
    col = np.arange(width)
    span = (
        np.minimum(col[None, :] + half[:, None], width - 1)
        - np.maximum(col[None, :] - half[:, None], 0)
        + 1
    ).astype("float32")
    top, bottom = min(p, height), max(height - p, min(p, height))
    sums[top:bottom] /= span.sum(axis=0)
    edge = np.r_[0:top, bottom:height]
    if edge.size:
        inside = (edge[:, None] + np.arange(-p, p + 1)[None, :] >= 0) & (
            edge[:, None] + np.arange(-p, p + 1)[None, :] < height
        )
        sums[edge] /= inside.astype("float32") @ span


# ---------------------------------------------------------------------- coverage
def _ring_coordinates(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of every ring of single-part ``polygons``, ring lengths and exterior flags.

    Polygons without holes (the usual footprint) take one vectorised coordinate
    read; only polygons with holes are split into their rings.
    """
    holed = shapely.get_num_interior_rings(polygons) > 0
    xys, lengths, exterior = [], [], []
    simple = polygons[~holed] if holed.any() else polygons
    if simple.size:
        xys.append(shapely.get_coordinates(simple))
        lengths.append(shapely.get_num_coordinates(simple))
        exterior.append(np.ones(simple.size, dtype=bool))
    if holed.any():
        rings, owner = shapely.get_rings(polygons[holed], return_index=True)
        xys.append(shapely.get_coordinates(rings))
        lengths.append(shapely.get_num_coordinates(rings))
        exterior.append(np.r_[True, owner[1:] != owner[:-1]])  # the first ring of each polygon
    return np.concatenate(xys), np.concatenate(lengths), np.concatenate(exterior)


def _live_edges(grid: Grid, polygons: np.ndarray, s: int) -> tuple[np.ndarray, ...]:
    """Ring edges of ``polygons`` that cross sub-row centres, in sub-grid units.

    Returns ``u0, u1, w0, w1`` (edge ends; sub-cell ``(k, j)`` has its centre at
    ``(u, w) = (j + 0.5, k + 0.5)``), the int8 step sign (+1 where a sub-row enters a
    polygon's interior going east, -1 where it leaves) and the first and end sub-rows
    crossed.
    """
    d = grid.cell_size / s
    sub_h = grid.height * s
    xy, ring_len, exterior = _ring_coordinates(polygons)
    n_rings = ring_len.size
    ring = np.repeat(np.arange(n_rings), ring_len)
    u = (xy[:, 0] - grid.transform.c) / d
    w = (grid.transform.f - xy[:, 1]) / d
    del xy
    same = ring[1:] == ring[:-1]
    u0, u1, w0, w1 = u[:-1][same], u[1:][same], w[:-1][same], w[1:][same]
    edge_ring = ring[:-1][same]
    del same
    # ring orientation from the shoelace sum (relative to each ring's first vertex)
    first = np.r_[0, np.cumsum(ring_len)[:-1]]
    fu, fw = u[first], w[first]
    del u, w, ring
    cross = (u0 - fu[edge_ring]) * (w1 - fw[edge_ring])
    cross -= (u1 - fu[edge_ring]) * (w0 - fw[edge_ring])
    area2 = np.bincount(edge_ring, weights=cross, minlength=n_rings)
    del cross
    ring_sign = (np.sign(area2) * np.where(exterior, 1, -1)).astype("int8")
    step_sign = np.where(w1 > w0, -1, 1).astype("int8") * ring_sign[edge_ring]
    del edge_ring
    k_first = np.clip(np.ceil(np.minimum(w0, w1) - 0.5), 0, sub_h).astype("int64")
    k_end = np.clip(np.ceil(np.maximum(w0, w1) - 0.5), 0, sub_h).astype("int64")
    live = (k_end > k_first) & (step_sign != 0)
    return (u0[live], u1[live], w0[live], w1[live], step_sign[live], k_first[live], k_end[live])


def _cell_fraction(grid: Grid, polygons: np.ndarray, supersample: int) -> np.ndarray:
    """Share of every cell covered by the union of ``polygons``.

    A vectorised scanline fill on a sub-grid ``supersample`` times finer: a
    sub-cell is covered when the winding number of its centre is positive, with
    exteriors counted +1 and holes -1 whatever their ring orientation, so
    overlapping polygons count once and holes stay empty. The crossings of ring
    edges with sub-row centres are sorted along each sub-row (in row bands, to
    bound memory); a running sum of their signs gives the winding number between
    two crossings, and every covered run adds its length to the cells it spans
    through a difference array at cell resolution, so no array of sub-cells is
    ever built.
    """
    s = supersample
    out = np.zeros(grid.shape, dtype="float32")
    if polygons.size == 0:
        return out
    sub_h, sub_w = grid.height * s, grid.width * s
    # ring edges in batches of polygons (bounded temporaries), keeping those crossing sub-rows
    ends = np.cumsum(shapely.get_num_coordinates(polygons))
    cuts = np.unique(np.searchsorted(ends, np.arange(_EDGE_BATCH, ends[-1], _EDGE_BATCH)))
    parts = [_live_edges(grid, batch, s) for batch in np.split(polygons, cuts + 1) if batch.size]
    u0, u1, w0, w1, step_sign, k_first, k_end = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    del parts
    if k_first.size == 0:
        return out
    # each edge crosses sub-row k at u = lead + k * slope (gathered once per crossing)
    slope = (u1 - u0) / (w1 - w0)
    lead = u0 + (0.5 - w0) * slope - 0.5
    del u0, u1, w0, w1

    band_rows = max(1, (_CHUNK_CELLS * 2) // (sub_w * s)) * s  # sub-rows per band
    b_first, b_last = k_first // band_rows, (k_end - 1) // band_rows
    n_bands = b_last - b_first + 1
    edge = np.repeat(np.arange(k_first.size), n_bands)
    band = b_first[edge] + np.arange(edge.size) - np.repeat(np.cumsum(n_bands) - n_bands, n_bands)
    order = np.argsort(band, kind="stable")
    edge, band = edge[order], band[order]
    bounds = np.searchsorted(band, np.arange(band[-1] + 2))
    row_len = sub_w + 1  # crossing positions 0..sub_w along a sub-row
    width = grid.width + 2  # difference array: cells 0..W, plus one spill column

    def fill(b: int) -> None:  # one band of sub-rows; bands write disjoint rows of out
        e = edge[bounds[b] : bounds[b + 1]]
        kb0 = int(b) * band_rows
        kb1 = min(sub_h, kb0 + band_rows)
        ks = np.maximum(k_first[e], kb0)
        n = np.minimum(k_end[e], kb1) - ks
        pair = np.repeat(np.arange(e.size), n)
        k = ks[pair] + np.arange(pair.size) - np.repeat(np.cumsum(n) - n, n)
        ep = e[pair]
        j = np.clip(np.ceil(lead[ep] + k * slope[ep]), 0, sub_w).astype("int64")
        # crossings sorted along each sub-row, the sign in the lowest bit (-1: 0, +1: 1)
        key = ((k - kb0) * row_len + j) * 2 + (step_sign[ep] > 0)
        del k, j, ep, pair
        key.sort()
        # every sub-row's signs sum to 0, so one running sum is each row's winding number
        wind = np.cumsum((key & 1).astype("int32") * 2 - 1)
        key >>= 1
        run = np.flatnonzero(wind[:-1] > 0)  # sub-cells from crossing i to i+1 are covered
        del wind
        start, stop = key[run], key[run + 1]
        del key, run
        row = start // row_len
        cell_row = row // s
        start -= row * row_len
        stop -= row * row_len
        # a run [a, b) adds clip(b - C*s, 0, s) - clip(a - C*s, 0, s) to cell C: per end
        # x = q*s + r with sign g, g*(r - s) at q and -g*r at q + 1 (and g*s at 0, which
        # cancels between the two ends); a cumulative sum along the row gives the counts
        qa, ra = np.divmod(start, s)
        qb, rb = np.divmod(stop, s)
        base = cell_row * width
        idx = np.concatenate([base + qb, base + qb + 1, base + qa, base + qa + 1])
        weights = np.concatenate([rb - s, -rb, s - ra, ra]).astype("float64")
        rows = (kb1 - kb0) // s
        steps = np.bincount(idx, weights=weights, minlength=rows * width).reshape(rows, width)
        np.cumsum(steps, axis=1, out=steps)
        r0 = kb0 // s
        np.divide(steps[:, : grid.width], s * s, out=out[r0 : r0 + rows], casting="same_kind")

    live = np.flatnonzero(np.diff(bounds))

    def fill_bands(first: int, last: int) -> None:
        for b in live[first:last].tolist():
            fill(b)

    run_chunks(live.size, 1, fill_bands)  # numpy's sorts and sums release the GIL
    return out


def coverage(
    grid: Grid,
    polygons: Any,
    *,
    radius: float,
    supersample: int = 4,
) -> np.ndarray:
    """Share (0..1) of a circular neighbourhood covered by polygons, e.g. building footprints.

    First the covered share of every cell is estimated by rasterising the
    polygons on a grid ``supersample`` times finer (sub-cells whose centre is
    inside a polygon; overlaps count once, holes stay empty) with a vectorised
    scanline fill in row bands, and counting covered sub-cells per cell. Then
    :func:`focal_mean` averages those shares over the cells whose centre is
    within ``radius`` metres; near the grid edge only the part of the window
    inside the grid counts.

    Parameters
    ----------
    grid
        Analysis grid.
    polygons
        Polygons or multipolygons (or a GeoSeries) in the grid CRS.
    radius
        Neighbourhood radius in metres (0: each cell alone).
    supersample
        Sub-cells per cell side for the per-cell share (1..16).

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape`` in ``0..1``; zeros if there are no polygons.

    Examples
    --------
    One 10 m square building filling cell (1, 1) of a 4 x 4 grid of 10 m cells; a
    10 m radius takes each cell and its four neighbours (fewer at the edge):

    >>> from shapely import box
    >>> grid = Grid.from_bounds((0, 0, 40, 40), cell_size=10, crs=32635)
    >>> cov = coverage(grid, [box(10, 20, 20, 30)], radius=10)
    >>> cov[:3, :3]
    array([[0.  , 0.25, 0.  ],
           [0.25, 0.2 , 0.2 ],
           [0.  , 0.2 , 0.  ]], dtype=float32)
    """
    r = positive(radius, "radius", allow_zero=True)
    if not (isinstance(supersample, int | np.integer) and 1 <= supersample <= 16):
        raise InputError(f"supersample must be an integer from 1 to 16, got {supersample!r}")
    geoms = geometries(polygons, grid)
    types = shapely.get_type_id(geoms)
    if geoms.size and not (types == 3).all():
        bad = shapely.get_type_id(geoms[types != 3][0])
        names = {0: "Point", 1: "LineString", 2: "LinearRing"}
        raise InputError(
            f"coverage needs polygons, got a {names.get(int(bad), 'non-polygon')}; "
            "pass footprints (Polygon / MultiPolygon) only"
        )
    # the per-cell share is handed over (no other reference), so it is freed once convolved
    out = _focal_mean_into(_cell_fraction(grid, geoms, int(supersample)), r / grid.cell_size,
                           keep_nan=False)  # fmt: skip
    return np.clip(out, 0.0, 1.0, out=out)
