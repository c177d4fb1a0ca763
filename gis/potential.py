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

Decay functions (:data:`DECAYS`) all equal 1 at distance 0, so a place counts
fully in its own cell:

============  ===========================================  ==========================
name          ``f(d)``                                     ``scale`` is
============  ===========================================  ==========================
exponential   ``exp(-d / scale)``                          the e-folding distance
gaussian      ``exp(-d**2 / (2 scale**2))``                the standard deviation
power         ``(1 + d / scale) ** -exponent``             the distance where f = 2**-exponent
linear        ``max(0, 1 - d / scale)``                    the distance where f reaches 0
step          ``1 if d <= scale else 0``                   the cut-off radius
============  ===========================================  ==========================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gis.convolve import Convolver
from gis.errors import InputError
from gis.grid import Grid

__all__ = [
    "DECAYS",
    "decay",
    "decay_kernel",
    "market_potential",
    "raster_potential",
    "reach",
]

DecayFunction = Callable[..., np.ndarray]


def _exponential(d: np.ndarray, scale: float) -> np.ndarray:
    return np.exp(-d / scale)


def _gaussian(d: np.ndarray, scale: float) -> np.ndarray:
    return np.exp(-0.5 * (d / scale) ** 2)


def _power(d: np.ndarray, scale: float, exponent: float = 2.0) -> np.ndarray:
    if not (math.isfinite(exponent) and exponent > 0):
        raise InputError(f"power decay exponent must be a positive number, got {exponent!r}")
    return (1.0 + d / scale) ** -exponent


def _linear(d: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(1.0 - d / scale, 0.0, 1.0)


def _step(d: np.ndarray, scale: float) -> np.ndarray:
    return (d <= scale).astype(d.dtype)


#: Decay functions by name: ``f(distance, scale, **params)`` with ``f(0) = 1``.
DECAYS: dict[str, DecayFunction] = {
    "exponential": _exponential,
    "gaussian": _gaussian,
    "power": _power,
    "linear": _linear,
    "step": _step,
}

#: Decays that are exactly 0 beyond ``scale`` (no truncation needed).
_COMPACT = {"linear", "step"}


def _function(function: str | DecayFunction) -> DecayFunction:
    if callable(function):
        return function
    if isinstance(function, str) and function in DECAYS:
        return DECAYS[function]
    raise InputError(f"unknown decay {function!r}; use one of {sorted(DECAYS)} or a callable")


def _scale(scale: Any) -> float:
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise InputError(f"decay scale must be a distance in metres, got {scale!r}") from None
    if not (math.isfinite(s) and s > 0):
        raise InputError(f"decay scale must be a positive distance in metres, got {scale!r}")
    return s


def decay(
    distance: Any,
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    **params: Any,
) -> np.ndarray:
    """Distance-decay weights ``f(distance)`` in ``[0, 1]`` (input not modified).

    float32 distances give float32 weights, anything else float64.

    Parameters
    ----------
    distance
        Distances in metres (array or scalar); NaN stays NaN, ``inf`` gives 0.
    function
        A name of :data:`DECAYS` or a callable ``f(d, scale, **params)``.
    scale
        Distance parameter in metres (see the module table).
    **params
        Further parameters, e.g. ``exponent`` of ``"power"``.

    Examples
    --------
    >>> decay([0.0, 1000.0, 2000.0], "exponential", scale=1000).round(4)
    array([1.    , 0.3679, 0.1353])
    >>> decay([0.0, 500.0, 3000.0], "linear", scale=1000).tolist()
    [1.0, 0.5, 0.0]
    >>> decay([1000.0], "power", scale=1000, exponent=2).tolist()
    [0.25]
    """
    d = np.asarray(distance)
    if d.dtype != np.float32:
        d = d.astype("float64")
    if (d[np.isfinite(d)] < 0).any():
        raise InputError("distances must be >= 0")
    out = np.asarray(_function(function)(d, _scale(scale), **params), dtype=d.dtype)
    return np.where(np.isinf(d), d.dtype.type(0), out)


def reach(
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    tolerance: float = 1e-3,
    **params: Any,
) -> float:
    """Distance in metres beyond which the decay stays below ``tolerance`` (of its peak 1).

    Closed forms for the named decays; a callable must be cut with an explicit
    ``max_distance`` instead.

    Examples
    --------
    >>> round(reach("exponential", scale=10_000, tolerance=1e-3))
    69078
    >>> reach("linear", scale=5000)
    5000.0
    """
    s = _scale(scale)
    if not (0 < tolerance < 1):
        raise InputError(f"tolerance must be between 0 and 1, got {tolerance!r}")
    names = [k for k, v in DECAYS.items() if v is function or k == function]
    if not names:
        if callable(function):
            raise InputError("a custom decay function needs an explicit max_distance")
        raise InputError(f"unknown decay {function!r}; use one of {sorted(DECAYS)} or a callable")
    name = names[0]
    if name in _COMPACT:
        return s
    if name == "exponential":
        return s * math.log(1.0 / tolerance)
    if name == "gaussian":
        return s * math.sqrt(2.0 * math.log(1.0 / tolerance))
    exponent = float(params.get("exponent", 2.0))
    return s * (tolerance ** (-1.0 / exponent) - 1.0)


def decay_kernel(
    cell_size: float,
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    max_distance: float,
    **params: Any,
) -> np.ndarray:
    """The decay sampled at cell-centre offsets within ``max_distance``: an odd square (float64).

    Examples
    --------
    >>> decay_kernel(1000, "linear", scale=2000, max_distance=1200)
    array([[0. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 0. ]])
    """
    cs = _scale(cell_size)
    limit = _scale(max_distance)
    p = math.floor(limit / cs + 1e-9)
    off = np.arange(p + 1) * cs  # one quadrant, mirrored: the kernel is radially symmetric
    d = np.hypot(off[:, None], off[None, :])
    quad = np.zeros_like(d)
    inside = d <= limit * (1 + 1e-12)
    quad[inside] = decay(d[inside], function, scale=scale, **params)
    if not np.isfinite(quad).all() or quad.min() < 0:
        raise InputError("the decay function must give finite values >= 0")
    k = np.empty((2 * p + 1, 2 * p + 1))
    k[p:, p:] = quad
    k[p:, :p] = quad[:, :0:-1]
    k[:p] = k[:p:-1]
    return k


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
        else _scale(max_distance)
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
        Name of :data:`DECAYS` or a callable ``f(d, scale, **params)``.
    scale
        Decay distance in metres.
    max_distance
        Cut the kernel at this distance; default :func:`reach` at ``tolerance``.
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

    def read(win: Any) -> np.ndarray:
        keep = (
            (row >= win.row) & (row < win.row + win.height)
            & (col >= win.col) & (col < win.col + win.width) & (w > 0)
        )  # fmt: skip
        binned = np.zeros((win.height, win.width), dtype="float32")
        np.add.at(binned, (row[keep] - win.row, col[keep] - win.col), w[keep])
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
    cs = _scale(cell_size)
    kernel = _kernel_for(cs, decay, scale, max_distance, tolerance, params)
    p = kernel.shape[0] // 2
    out_shape = (a.shape[0] - 2 * h, a.shape[1] - 2 * h)
    conv = Convolver(kernel, out_shape, tile=tile)

    def read(win: Any) -> np.ndarray:
        # source coordinates are output + p; the array holds output + h
        r0, c0 = win.row - p + h, win.col - p + h
        block = np.zeros((win.height, win.width), dtype="float32")
        rs, cs_ = max(r0, 0), max(c0, 0)
        re_, ce = min(r0 + win.height, a.shape[0]), min(c0 + win.width, a.shape[1])
        if re_ > rs and ce > cs_:
            block[rs - r0 : re_ - r0, cs_ - c0 : ce - c0] = a[rs:re_, cs_:ce]
        return block

    return _clean(conv.run(read))
