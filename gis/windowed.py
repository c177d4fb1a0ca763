"""Windowed runners: raster stages on grids larger than memory, reading and writing GeoTIFFs.

Each runner plans windows with :func:`gis.windows.plan_windows` from the memory
budget, computes one window at a time with the in-memory function of
:mod:`gis.transforms`, :mod:`gis.overlay` or :mod:`gis.measures`, and writes the
window's core into the output GeoTIFF as it goes (:func:`gis.windows.run_windows`:
no partial file on failure). Peak memory follows the budget, not the grid size.

* :func:`windowed_overlay` — cell-wise: rescale several input rasters and combine
  them by weighted linear combination or any other cell-wise aggregation (OWA,
  fuzzy operators ...), window by window or on Dask. No halo is needed, but every transform
  parameter must be *global*: a window sees only its own cells, so a default
  fitted to "the data" (thresholds at the data minimum and maximum, the MS mean
  and standard deviation) would differ from window to window. Give explicit
  thresholds (and ``mean``/``std`` for MS functions), or let the runner fill the
  missing ones from a first statistics pass over the whole raster
  (:func:`raster_statistics`, windowed reads), which gives exactly the values the
  in-memory :func:`gis.transforms.rescale` fits. Callable transforms (scaled by
  their own extremes over the cells) cannot be made global and are refused.
* :func:`windowed_kernel_density` — point kernel density with a halo of the kernel
  reach: each window takes the points within reach of its core and convolves
  them on its own sub-grid, so cells get the same sums as on the whole grid.
  FFT round-off below 1e-6 of the maximum is set to 0 per window (the in-memory
  function uses the whole-grid maximum), a difference far below float tolerance.
* :func:`windowed_distance` — Euclidean distance to points capped at
  ``max_distance``, with a halo of the cap: a point farther than the cap from every
  cell of a window cannot change it, so every value below the cap is exact and
  every other cell gets the cap, as :func:`gis.distance.euclidean_distance` does
  with the same ``max_distance``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gis.distance import nearest_point
from gis.engine import Engine, compute_blocks
from gis.errors import InputError
from gis.grid import Grid
from gis.io import RasterOutput, gdal_env, raster_grid
from gis.measures import KERNELS, Kernel, kernel_density
from gis.overlay import aggregate, normalize_weights
from gis.transforms import TRANSFORMS, rescale
from gis.windows import Window, open_raster, plan_windows, read_window, run_windows

__all__ = [
    "DENSITY_BYTES_PER_CELL",
    "DISTANCE_BYTES_PER_CELL",
    "overlay_bytes_per_cell",
    "raster_statistics",
    "windowed_distance",
    "windowed_kernel_density",
    "windowed_overlay",
]

#: Working set per cell of a kernel-density window (core plus halo): the float32
#: bins, the float32 kernel padded to the FFT shape, two complex64 spectra, the
#: float32 result, with room for the FFT's padding to a fast length.
DENSITY_BYTES_PER_CELL: int = 64

#: Working set per core cell of a distance window: float64 centre coordinates,
#: float64 distances and int64 indices of the k-d tree query, the float32 result.
DISTANCE_BYTES_PER_CELL: int = 48

#: Bytes per cell of the rescale temporaries (float64 copy, float64 function values
#: and output, masks; measured peak about 67 for the MS functions).
_RESCALE_BYTES = 72


#: Bytes per cell of the statistics pass: the float32 read, the finite mask and the
#: float64 finite values with their squared deviations.
_STATS_BYTES = 48


def overlay_bytes_per_cell(n_layers: int) -> int:
    """Working set per cell of a :func:`windowed_overlay` window with ``n_layers`` inputs.

    Every layer's float32 score is held until the combination, plus one layer's
    float32 read and rescale temporaries, the float32 result and its copy for writing.
    """
    return 4 * int(n_layers) + 4 + _RESCALE_BYTES + 8


def raster_statistics(
    path: str | os.PathLike,
    *,
    band: int = 1,
    memory_budget: int | None = None,
) -> dict[str, float]:
    """Minimum, maximum, mean and population standard deviation of a raster's finite cells.

    Read window by window (float64 accumulation, the per-window mean and sum of
    squared deviations merged exactly), so the raster never has to fit in memory.

    Returns
    -------
    dict
        ``{"count", "min", "max", "mean", "std"}``; with no finite cell the count
        is 0 and the others NaN.
    """
    grid = raster_grid(path)
    windows = plan_windows(
        grid, halo_cells=0, bytes_per_cell=_STATS_BYTES, memory_budget=memory_budget
    )
    n, mean, m2, lo, hi = 0, 0.0, 0.0, math.inf, -math.inf
    with gdal_env(memory_budget), open_raster(path) as src:
        for w in windows:
            v = read_window(src, w, band=band)
            v = v[np.isfinite(v)].astype(np.float64)
            if v.size == 0:
                continue
            nb, mb = v.size, float(v.mean())
            m2b = float(((v - mb) ** 2).sum())
            total = n + nb
            delta = mb - mean
            mean += delta * nb / total
            m2 += m2b + delta * delta * n * nb / total
            n = total
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if n == 0:
        return {"count": 0, "min": math.nan, "max": math.nan, "mean": math.nan, "std": math.nan}
    return {"count": n, "min": lo, "max": hi, "mean": mean, "std": math.sqrt(m2 / n)}


def _global_transform(
    name: str, spec: Mapping[str, Any], path: str | os.PathLike, memory_budget: int | None
) -> dict[str, Any]:
    """``spec`` with the data-driven defaults made explicit from one statistics pass."""
    spec = dict(spec)
    function = spec.get("function")
    if not isinstance(function, str) or function not in TRANSFORMS:
        raise InputError(
            f"transform of layer {name!r} needs a 'function' named in TRANSFORMS "
            f"({', '.join(sorted(TRANSFORMS))}); callables are scaled by their own extremes "
            "over the cells, which a window cannot know"
        )
    needs_ms = function in ("ms_large", "ms_small") and (
        spec.get("mean") is None or spec.get("std") is None
    )
    lo_missing = spec.get("lower_threshold") is None
    hi_missing = spec.get("upper_threshold") is None
    if lo_missing or hi_missing or needs_ms:
        stats = raster_statistics(path, memory_budget=memory_budget)
        if stats["count"] == 0:
            return spec  # no finite cell anywhere: every window gives NaN, as in memory
        if lo_missing:
            spec["lower_threshold"] = stats["min"]
        if hi_missing:
            spec["upper_threshold"] = stats["max"]
        if needs_ms:
            spec["mean"] = stats["mean"] if spec.get("mean") is None else spec["mean"]
            spec["std"] = stats["std"] if spec.get("std") is None else spec["std"]
        if lo_missing and hi_missing and stats["min"] == stats["max"]:
            # a constant raster: rescale's flat case (every window is constant too)
            del spec["lower_threshold"], spec["upper_threshold"]
    return spec


# ---------------------------------------------------------------------- cell-wise overlay
@dataclass
class _OverlayBlock:
    """Rescale and aggregate one window (picklable, for the Dask engine)."""

    specs: dict[str, dict[str, Any]]
    weights: dict[str, float]
    method: str
    options: dict[str, Any]

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        scores = {}
        for k in self.weights:
            raw = arrays[k]
            if k in self.specs:
                spec = dict(self.specs[k])
                scores[k] = rescale(raw, spec.pop("function"), **spec)
            else:
                scores[k] = raw
        return {"suitability": aggregate(scores, self.weights, method=self.method, **self.options)}


def windowed_overlay(
    inputs: Mapping[str, str | os.PathLike],
    transforms: Mapping[str, Mapping[str, Any]],
    weights: Mapping[str, float],
    path: str | os.PathLike,
    *,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    memory_budget: int | None = None,
    engine: Engine | None = None,
    overwrite: bool = False,
    overviews: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Rescale input rasters and aggregate them cell by cell, window by window (or on Dask).

    For each window: read every layer with a positive weight, apply
    :func:`gis.transforms.rescale` with the layer's (global) parameters, combine
    with :func:`gis.overlay.aggregate` (weighted linear combination by default;
    OWA, fuzzy operators, weighted product and the others work the same, cell by
    cell), write the window.

    Parameters
    ----------
    inputs
        Layer name to GeoTIFF path; all on the same grid.
    transforms
        Layer name to the keyword arguments of :func:`gis.transforms.rescale`, with
        the function name under ``"function"``, e.g.
        ``{"function": "small", "lower_threshold": 0, "upper_threshold": 5000}``.
        Missing thresholds (and ``mean``/``std`` of MS functions) are filled from a
        first statistics pass over the whole raster (:func:`raster_statistics`),
        which gives the same values as the in-memory defaults. Layers without an
        entry are taken as scores already.
    weights
        Layer name to weight, the keys of ``inputs``; normalised to sum 1.
    path
        Output GeoTIFF.
    method, options
        A cell-wise method of :data:`gis.overlay.AGGREGATIONS` and its options
        (``orness`` for OWA, ``gamma`` for fuzzy gamma ...). TOPSIS needs explicit
        ideals (``options={"ideal": "fixed"}`` or a mapping): data ideals are
        extremes over the whole grid, which a window cannot see.
    memory_budget
        Bytes; default :data:`gis.settings.memory_budget` (for the default engine).
    engine
        :class:`gis.engine.Engine`; default window by window with ``memory_budget``.
    overwrite
        Replace an existing output.
    overviews
        Build averaged overviews (for fast display in QGIS/ArcGIS).
    progress
        ``progress(done, total)`` after each window.

    Returns
    -------
    pathlib.Path
        The written suitability raster (float32, NaN where any weighted layer is NaN).

    Raises
    ------
    InputError
        Keys that differ, rasters not on one grid, a callable or unknown transform,
        an unknown method or TOPSIS with data ideals.
    GridSizeError
        A budget too small for one window.
    """
    from gis.overlay import AGGREGATIONS

    normalize_weights(weights)  # validates
    if set(inputs) != set(weights):
        raise InputError(
            f"inputs and weights must have the same keys: inputs {sorted(inputs)}, "
            f"weights {sorted(weights)}"
        )
    unknown = sorted(set(transforms) - set(inputs))
    if unknown:
        raise InputError(f"transforms given for layers without an input: {unknown}")
    if not isinstance(method, str) or method not in AGGREGATIONS:
        raise InputError(
            f"method must be one of {', '.join(AGGREGATIONS)} for a windowed overlay, "
            f"got {method!r}"
        )
    options = dict(options or {})
    if method == "topsis" and options.get("ideal", "data") == "data":
        raise InputError(
            "TOPSIS with data ideals needs every cell at once; give options={'ideal': 'fixed'} "
            "(best 1, worst 0) or the ideals of each factor as a mapping"
        )
    engine = engine or Engine("windows", memory_budget=memory_budget)
    names = list(weights)
    active = [k for k in names if weights[k] > 0]
    grid = raster_grid(inputs[names[0]])
    for k in names[1:]:
        other = raster_grid(inputs[k])
        if other.shape != grid.shape or not other.transform.almost_equals(grid.transform):
            raise InputError(
                f"layer {k!r} ({inputs[k]}) is not on the grid of layer {names[0]!r}; "
                "resample all inputs onto one analysis grid"
            )
    specs = {
        k: _global_transform(k, transforms[k], inputs[k], engine.budget)
        for k in active
        if k in transforms
    }
    block = _OverlayBlock(specs, {k: weights[k] for k in active}, method, options)
    output = RasterOutput(
        path, "suitability", "score",
        tags={"method": method, **{f"weight_{k}": weights[k] for k in names}},
    )  # fmt: skip
    paths = compute_blocks(
        grid, block, {"suitability": output}, engine=engine,
        inputs={k: inputs[k] for k in active},
        bytes_per_cell=overlay_bytes_per_cell(len(active)), overwrite=overwrite,
        overviews=overviews, progress=progress,
    )  # fmt: skip
    return paths["suitability"]


# ---------------------------------------------------------------------- points
def _points_near(x: np.ndarray, y: np.ndarray, window: Window, reach: float) -> np.ndarray:
    """Boolean mask of the points within ``reach`` metres of the window core's bounds."""
    left, bottom, right, top = window.grid.bounds
    return (x >= left - reach) & (x <= right + reach) & (y >= bottom - reach) & (y <= top + reach)


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.ndim != 1 or y.ndim != 1 or x.size != y.size:
        raise InputError(
            f"x and y must be 1-D arrays of equal length, got shapes {x.shape} and {y.shape}"
        )
    return x, y


def windowed_kernel_density(
    grid: Grid,
    x: Any,
    y: Any,
    path: str | os.PathLike,
    *,
    bandwidth: float,
    weights: Any = None,
    kernel: str | Kernel = "quartic",
    memory_budget: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """:func:`gis.measures.kernel_density` of points, window by window, into a GeoTIFF.

    The halo is the kernel reach (``support · bandwidth``, in whole cells plus one):
    each window convolves only the points within reach of its core, binned on the
    window's own aligned sub-grid, so every cell gets the same sum as on the
    whole grid (to float round-off).

    Parameters
    ----------
    grid
        The whole grid.
    x, y, bandwidth, weights, kernel
        As :func:`gis.measures.kernel_density` (named or :class:`Kernel` kernels).
    path
        Output GeoTIFF (features per km²).
    memory_budget, overwrite, progress
        As :func:`windowed_overlay`.

    Returns
    -------
    pathlib.Path
        The written density raster.
    """
    px, py = _xy(x, y)
    w = None if weights is None else np.asarray(weights, dtype="float64")
    if w is not None and w.shape != px.shape:
        raise InputError(f"weights must have one value per point: {w.shape} for {px.size}")
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise InputError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}")
        support = KERNELS[kernel].support
    elif isinstance(kernel, Kernel):
        support = kernel.support
    else:
        raise InputError(f"kernel must be a name or a Kernel, got {kernel!r}")
    h = float(bandwidth)
    if not (math.isfinite(h) and h > 0):
        raise InputError(f"bandwidth must be a finite positive number, got {bandwidth!r}")
    reach = support * h
    halo = math.floor(reach / grid.cell_size + 1e-9) + 1
    windows = plan_windows(
        grid, halo_cells=halo, bytes_per_cell=DENSITY_BYTES_PER_CELL, memory_budget=memory_budget
    )

    def compute(window: Window) -> np.ndarray:
        near = _points_near(px, py, window, reach + grid.cell_size)
        return kernel_density(
            window.grid,
            px[near],
            py[near],
            bandwidth=h,
            weights=None if w is None else w[near],
            kernel=kernel,
        )

    return run_windows(
        windows,
        compute,
        path,
        description="kernel density",
        units="per km2",
        tags={"bandwidth_m": h, "kernel": kernel if isinstance(kernel, str) else "custom"},
        overwrite=overwrite,
        progress=progress,
        memory_budget=memory_budget,
    )


def windowed_distance(
    grid: Grid,
    x: Any,
    y: Any,
    path: str | os.PathLike,
    *,
    max_distance: float,
    memory_budget: int | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Euclidean distance to the nearest point, capped at ``max_distance``, into a GeoTIFF.

    Window by window with a halo of the cap: each window measures
    (:func:`gis.distance.nearest_point`, exact) to the points within
    ``max_distance`` of its core. Every value below
    the cap is exact; cells with no point within the cap get exactly
    ``max_distance`` — the same result as :func:`gis.distance.euclidean_distance`
    with ``max_distance``. A cap is required: without one, the nearest point of a
    cell may lie anywhere. Choose it where the distance transform saturates (a
    ``small``/``linear`` rescale with ``upper_threshold <= max_distance`` gives
    the same scores as the uncapped distance).

    Parameters
    ----------
    grid
        The whole grid.
    x, y
        Point coordinates in the grid CRS.
    max_distance
        Cap in metres.
    path
        Output GeoTIFF (metres).
    memory_budget, overwrite, progress
        As :func:`windowed_overlay`.
    workers
        Threads for the k-d tree queries.

    Returns
    -------
    pathlib.Path
        The written distance raster.

    Raises
    ------
    NoDataError
        When there are no points at all.
    """
    from gis.errors import NoDataError

    px, py = _xy(x, y)
    if px.size == 0:
        raise NoDataError("no points to measure distance to (the layer is empty)")
    cap = float(max_distance)
    if not (math.isfinite(cap) and cap > 0):
        raise InputError(f"max_distance must be a finite positive number, got {max_distance!r}")
    halo = math.ceil(cap / grid.cell_size)
    windows = plan_windows(
        grid, halo_cells=halo, bytes_per_cell=DISTANCE_BYTES_PER_CELL, memory_budget=memory_budget
    )

    def compute(window: Window) -> np.ndarray:
        near = _points_near(px, py, window, cap)
        if not near.any():
            return np.full(window.shape, cap, dtype="float32")
        return nearest_point(
            window.grid, px[near], py[near], max_distance=cap, return_index=False,
            workers=workers,
        ).distance  # fmt: skip

    return run_windows(
        windows,
        compute,
        path,
        description="distance",
        units="m",
        tags={"max_distance_m": cap},
        overwrite=overwrite,
        progress=progress,
        memory_budget=memory_budget,
    )
