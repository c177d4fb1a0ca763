"""Candidate-region helpers shared by the in-memory and windowed finders (private).

:func:`gis.regions.candidate_regions` (whole grid in memory),
:func:`gis.zones.windowed_candidate_regions` (window by window),
:mod:`gis.sensitivity` and :mod:`gis.explain` select cells, label them and build the
ranked regions table with these functions, so every path selects, counts and
reports regions the same way.
"""

from __future__ import annotations

import array
import itertools
import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from gis._validate import is_real_number
from gis.errors import InputError
from gis.grid import Grid

if TYPE_CHECKING:
    import geopandas as gpd


#: Fixed columns of a candidate-regions table; factor columns come before ``geometry``.
REGION_COLUMNS: tuple[str, ...] = ("rank", "area_ha", "n_cells", "mean_score", "max_score")

#: Cells sampled to bound the top-percent cutoff before the values above it are copied.
_SAMPLE = 1 << 16

#: Neighbourhood structures of :func:`scipy.ndimage.label` by connectivity (4 or 8).
STRUCTURES = {
    4: ndimage.generate_binary_structure(2, 1),
    8: ndimage.generate_binary_structure(2, 2),
}


def check_connectivity(connectivity: object) -> int:
    """``connectivity`` as 4 or 8, or InputError."""
    if (
        isinstance(connectivity, bool | np.bool_)
        or not isinstance(connectivity, numbers.Integral)
        or connectivity not in STRUCTURES
    ):
        raise InputError(
            f"connectivity must be 4 (edge neighbours) or 8 (edge and corner neighbours), "
            f"got {connectivity!r}"
        )
    return int(connectivity)


def selection_mask(
    score: np.ndarray, threshold: float | None, top_percent: float | None
) -> np.ndarray:
    """Cells selected by a threshold or by the top percent of valid cells."""
    if (threshold is None) == (top_percent is None):
        raise InputError(
            "give exactly one of threshold (keep cells with score >= threshold) or "
            "top_percent (keep the best p % of cells)"
        )
    if threshold is not None:
        if not is_real_number(threshold) or math.isnan(threshold):
            raise InputError(f"threshold must be a real number, got {threshold!r}")
        return score >= threshold  # NaN compares False: nodata never passes
    if not is_real_number(top_percent) or not (0 < top_percent <= 100):  # type: ignore[operator]
        raise InputError(
            f"top_percent must be a number with 0 < top_percent <= 100, got {top_percent!r}"
        )
    percent = float(top_percent)  # type: ignore[arg-type]  # checked above
    n_valid = score.size - int(np.count_nonzero(np.isnan(score)))
    if n_valid == 0:
        return np.zeros(score.shape, dtype=bool)
    # Number of cells wanted; the small tolerance keeps e.g. 10 % of 30 cells at 3.
    k = min(n_valid, max(1, math.ceil(percent * n_valid / 100.0 - 1e-9)))
    return score >= kth_largest(score, k, n_valid)  # ties with the k-th best value are kept


def kth_largest(score: np.ndarray, k: int, n_valid: int) -> Any:
    """The ``k``-th largest of the ``n_valid`` non-NaN values of ``score``.

    When ``k`` is a small part of the cells, a strided sample gives a bound that at
    least ``k`` values reach; only the values at or above it are copied and
    partitioned (the k-th largest of those is the k-th largest of all). Otherwise,
    or if the sample's bound falls short, every valid value is partitioned.
    """
    if 4 * k < n_valid:
        flat = score.reshape(-1)
        sample = flat[:: max(1, flat.size // _SAMPLE)]
        sample = sample[~np.isnan(sample)]
        if sample.size:
            above = min(sample.size, math.ceil(sample.size * (2.0 * k / n_valid + 0.01)))
            bound = np.partition(sample, sample.size - above)[sample.size - above]
            top = score >= bound
            m = int(np.count_nonzero(top))
            if m >= k:
                values = score[top]
                del top
                values.partition(m - k)
                return values[m - k]
            del top
    values = score[~np.isnan(score)]
    values.partition(n_valid - k)
    return values[n_valid - k]


def polygon_pieces(ranks: np.ndarray, transform: Any) -> tuple[np.ndarray, np.ndarray]:
    """The 4-connected pieces of the nonzero cells of an int32 raster, as polygons.

    Returns the polygons (simple and valid; an 8-connected region comes out as
    several pieces meeting only at cell corners) and the raster value of each.
    GDAL gives every piece as GeoJSON rings; their vertices are gathered in flat
    arrays and all rings and polygons are built in two vectorised shapely calls
    (the first ring of a piece is its shell), not one Python object per piece.
    """
    import shapely
    from rasterio import features

    pieces = features.shapes(
        ranks,
        mask=(ranks > 0).view(np.uint8),  # uint8 as GDAL takes it: no converted copy
        connectivity=4,
        transform=transform,
    )
    flat = array.array("d")  # x, y of every ring vertex, compact as they arrive
    sizes: list[int] = []
    ring_piece: list[int] = []
    values: list[float] = []
    for piece, (geom, value) in enumerate(pieces):  # one item per output polygon, not per cell
        for ring in geom["coordinates"]:
            flat.extend(itertools.chain.from_iterable(ring))
            sizes.append(len(ring))
            ring_piece.append(piece)
        values.append(value)
    if not values:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    xy = np.frombuffer(flat, dtype=np.float64).reshape(-1, 2)
    rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(sizes)), sizes))
    polys = shapely.polygons(rings, indices=np.asarray(ring_piece, dtype=np.int64))
    return polys, np.asarray(values, dtype=np.int64)


def empty_frame(columns: list[str], crs: object) -> gpd.GeoDataFrame:
    """A regions table with ``columns`` and no rows (integer rank and cell count)."""
    import geopandas as gpd
    import pandas as pd

    dtypes = {"rank": "int64", "n_cells": "int64"}
    data = {c: pd.Series([], dtype=dtypes.get(c, "float64")) for c in columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def region_frame(
    grid: Grid,
    counts: np.ndarray,
    means: np.ndarray,
    maxes: np.ndarray,
    factor_means: Mapping[str, np.ndarray],
    geometry: np.ndarray,
) -> gpd.GeoDataFrame:
    """The ranked regions table: one row per region, already in rank order."""
    import geopandas as gpd

    data = {
        "rank": np.arange(1, counts.size + 1, dtype=np.int64),
        "area_ha": counts * (grid.cell_area / 10_000.0),
        "n_cells": counts.astype(np.int64),
        "mean_score": means,
        "max_score": maxes,
        **factor_means,
    }
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs=grid.crs), crs=grid.crs)


def region_labels(
    regions: Any, grid: Grid | None, shape: tuple[int, int]
) -> tuple[np.ndarray, tuple[slice, slice], int]:
    """Label raster of regions cropped to their bounding box, the box, and the region count.

    ``regions`` is an integer label raster (0 = none) or polygons (region ``i`` is
    the ``i``-th, rasterised by cell centre on ``grid`` inside their bounds only).
    """
    empty = (np.zeros((0, 0), dtype=np.int32), (slice(0, 0), slice(0, 0)))
    if isinstance(regions, np.ndarray):
        if regions.shape != shape or regions.dtype.kind not in "iu":
            raise InputError(
                f"a label raster must be an integer array of shape {shape}, got "
                f"{regions.dtype} {regions.shape}"
            )
        n = int(regions.max(initial=0))
        if n == 0:
            return (*empty, 0)
        rows = np.flatnonzero(regions.any(axis=1))
        cols = np.flatnonzero(regions.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        return np.ascontiguousarray(regions[box]), box, n
    if grid is None:
        raise InputError("regions given as polygons need the grid they are rasterised on")
    import shapely
    from rasterio import features

    geoms = np.asarray(list(getattr(regions, "geometry", regions)), dtype=object)
    n = geoms.size
    present = shapely.is_geometry(geoms)
    present[present] &= ~shapely.is_empty(geoms[present])
    if not present.any():
        return (*empty, n)
    left, bottom, right, top = shapely.total_bounds(geoms[present])
    r0, c0 = (int(v) for v in np.floor(((grid.transform.f - top) / grid.cell_size,
                                        (left - grid.transform.c) / grid.cell_size)))  # fmt: skip
    r1, c1 = (int(v) for v in np.ceil(((grid.transform.f - bottom) / grid.cell_size,
                                       (right - grid.transform.c) / grid.cell_size)))  # fmt: skip
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, shape[0]), min(c1, shape[1])
    if r0 >= r1 or c0 >= c1:
        return (*empty, n)
    from affine import Affine

    labels = features.rasterize(
        ((g, i) for i, g in enumerate(geoms, start=1) if present[i - 1]),
        out_shape=(r1 - r0, c1 - c0),
        transform=grid.transform @ Affine.translation(c0, r0),
        fill=0,
        dtype="int32",
    )
    return labels, (slice(r0, r1), slice(c0, c1)), n
