"""Distance decay and market (population) potential by convolution.

Market potential is Harris's gravity sum ``V(c) = Σ_j P_j · f(d_cj)``: the
population of every place ``j`` weighted by a decay ``f`` of its distance to the
cell ``c``. Computed directly it costs places × cells; here the places are
binned into the cells of the grid (extended by the kernel's reach, so places
outside the study area count) and the binned raster is convolved with ``f``
sampled at cell-centre offsets, tile by tile with FFTs (:class:`gis.convolve.Convolver`).
The cost is that of a few FFTs of the grid plus the kernel, whatever the number
of places, and memory is bounded by the tile size.

Accuracy: a place is moved to the centre of its cell, so each distance is off by
at most half a cell diagonal (exact when places sit at cell centres); the kernel
is cut where it falls below ``tolerance`` of its peak (:func:`reach`); float32
FFTs add a relative error of about 1e-6 of the largest value.

The decay is any of :data:`gis.decay.KERNEL_DECAYS` (all equal 1 at distance
0, so a place counts fully in its own cell; ``"exponential"`` is
``exp(-d / scale)``) or a callable ``f(d, scale, **params)``; see :mod:`gis.decay`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gis.convolve import Convolver
from gis.decay import DecayFunction, decay_kernel, reach
from gis.errors import InputError
from gis.grid import Grid

__all__ = ["market_potential", "raster_potential"]


def _distance(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a distance in metres, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{what} must be a positive distance in metres, got {value!r}")
    return v


def _kernel_for(
    cell_size: float,
    function: str | DecayFunction,
    scale: float,
    max_distance: float | None,
    tolerance: float,
    params: dict[str, Any],
) -> np.ndarray:
    limit = (
        reach(function, scale=scale, tolerance=tolerance, **params)
        if max_distance is None
        else _distance(max_distance, "max_distance")
    )
    limit = max(limit, cell_size * 0.5)
    return decay_kernel(cell_size, function, scale=scale, max_distance=limit, **params)


def _clean(out: np.ndarray) -> np.ndarray:
    """Clear FFT round-off: negatives and values below 1e-6 of the maximum become 0."""
    top = float(out.max()) if out.size else 0.0
    out[out < 1e-6 * top] = 0.0
    return out


def market_potential(
    grid: Grid,
    x: Any,
    y: Any,
    population: Any,
    *,
    decay: str | DecayFunction = "exponential",
    scale: float,
    max_distance: float | None = None,
    tolerance: float = 1e-3,
    tile: int | None = None,
    **params: Any,
) -> np.ndarray:
    """Market potential ``Σ_j P_j · f(d_cj)`` of weighted points at every cell centre.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Place coordinates in the grid CRS (places outside the grid within the
        kernel's reach count).
    population
        Non-negative weight of each place (e.g. inhabitants).
    decay
        Name of :data:`gis.decay.DECAYS` or a callable ``f(d, scale, **params)``.
    scale
        Decay distance in metres.
    max_distance
        Cut the kernel at this distance; default :func:`gis.decay.reach` at ``tolerance``.
    tolerance
        Kernel values below this share of the peak are cut (when ``max_distance`` is None).
    tile
        Output tile side in cells (default: see :class:`gis.convolve.Convolver`).
    **params
        Further decay parameters (``exponent``).

    Returns
    -------
    numpy.ndarray
        float32 of ``grid.shape``, in the units of ``population``.

    Examples
    --------
    Two towns at cell centres, 1 km cells, exponential decay with a 1 km scale:

    >>> g = Grid.from_bounds((0, 0, 4000, 1000), cell_size=1000, crs=32650)
    >>> v = market_potential(g, [500, 3500], [500, 500], [1000, 100], scale=1000)
    >>> v.round(1)
    array([[1005. ,  381.4,  172.1,  149.8]], dtype=float32)
    >>> round(1000 + 100 * math.exp(-3), 1)
    1005.0
    """
    px = np.asarray(x, dtype="float64").ravel()
    py = np.asarray(y, dtype="float64").ravel()
    w = np.asarray(population, dtype="float64").ravel()
    if not (px.size == py.size == w.size):
        raise InputError(
            f"x, y and population must have one value per place, got {px.size}, {py.size}, {w.size}"
        )
    if not (np.isfinite(px).all() and np.isfinite(py).all()):
        raise InputError("place coordinates must be finite; drop places without a location")
    if not np.isfinite(w).all() or (w.size and w.min() < 0):
        raise InputError("population must be finite and >= 0 for every place")
    kernel = _kernel_for(grid.cell_size, decay, scale, max_distance, tolerance, params)
    halo = kernel.shape[0] // 2
    if px.size == 0:
        return np.zeros(grid.shape, dtype="float32")
    conv = Convolver(kernel, grid.shape, tile=tile)
    cs = grid.cell_size
    col = np.floor((px - grid.transform.c) / cs).astype("int64") + halo
    row = np.floor((grid.transform.f - py) / cs).astype("int64") + halo

    def read(rows: slice, cols: slice) -> np.ndarray:
        top, left = rows.start, cols.start
        height, width = rows.stop - top, cols.stop - left
        keep = (
            (row >= top) & (row < top + height)
            & (col >= left) & (col < left + width) & (w > 0)
        )  # fmt: skip
        binned = np.zeros((height, width), dtype="float32")
        np.add.at(binned, (row[keep] - top, col[keep] - left), w[keep])
        return binned

    return _clean(conv.run(read))


def raster_potential(
    values: Any,
    *,
    cell_size: float,
    decay: str | DecayFunction = "exponential",
    scale: float,
    max_distance: float | None = None,
    tolerance: float = 1e-3,
    halo: int = 0,
    tile: int | None = None,
    **params: Any,
) -> np.ndarray:
    """Market potential of a population raster: ``Σ P(cell') · f(|cell - cell'|)``.

    Parameters
    ----------
    values
        2-D non-negative counts per cell (e.g. inhabitants). NaN is refused:
        decide what holes mean before (see :mod:`gis.population`). Not modified.
    cell_size
        Cell size in metres.
    decay, scale, max_distance, tolerance, tile, **params
        As :func:`market_potential`.
    halo
        Rows and columns on each side of ``values`` that are source only: the
        result covers ``values[halo:-halo, halo:-halo]``. Give the population
        around the study area this way so it counts near the edge.

    Returns
    -------
    numpy.ndarray
        float32 of ``values.shape`` minus ``2 * halo`` on each axis.

    Examples
    --------
    >>> pop = np.zeros((3, 5)); pop[1, 1] = 1000.0; pop[1, 4] = 100.0
    >>> raster_potential(pop, cell_size=1000, scale=1000, halo=1).round(1)
    array([[1005. ,  381.4,  172.1]], dtype=float32)
    """
    a = np.asarray(values)
    if a.ndim != 2 or a.dtype.kind not in "biuf":
        raise InputError(f"population must be a 2-D numeric array, got {a.dtype} {a.shape}")
    if not np.isfinite(a).all():
        raise InputError(
            "population raster has NaN or infinite cells; fill nodata holes (e.g. with 0) first"
        )
    if a.size and a.min() < 0:
        raise InputError("population counts must be >= 0")
    h = int(halo)
    if h < 0 or a.shape[0] <= 2 * h or a.shape[1] <= 2 * h:
        raise InputError(f"halo {halo!r} leaves no cells of a {a.shape} raster")
    cs = _distance(cell_size, "cell_size")
    kernel = _kernel_for(cs, decay, scale, max_distance, tolerance, params)
    p = kernel.shape[0] // 2
    out_shape = (a.shape[0] - 2 * h, a.shape[1] - 2 * h)
    conv = Convolver(kernel, out_shape, tile=tile)

    def read(rows: slice, cols: slice) -> np.ndarray:
        top, left = rows.start, cols.start
        height, width = rows.stop - top, cols.stop - left
        # source coordinates are output + p; the array holds output + h
        r0, c0 = top - p + h, left - p + h
        block = np.zeros((height, width), dtype="float32")
        rs, cs_ = max(r0, 0), max(c0, 0)
        re_, ce = min(r0 + height, a.shape[0]), min(c0 + width, a.shape[1])
        if re_ > rs and ce > cs_:
            block[rs - r0 : re_ - r0, cs_ - c0 : ce - c0] = a[rs:re_, cs_:ce]
        return block

    return _clean(conv.run(read))
