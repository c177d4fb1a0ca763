"""Turn a suitability surface into ranked candidate regions (polygons with statistics).

Cells that pass a score threshold (or are among the top percent of valid cells)
are grouped into connected regions; regions smaller than a minimum area are
dropped and the rest are ranked by mean score and returned as polygons with
per-region statistics. Statistics are computed for all regions at once with
:func:`numpy.bincount` over the label raster, in row chunks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from affine import Affine
from scipy import ndimage

from gis._regions import (
    REGION_COLUMNS,
    STRUCTURES,
    check_connectivity,
    empty_frame,
    polygon_pieces,
    region_frame,
    selection_mask,
)
from gis._validate import as_numeric_array, chunk_rows_for, is_real_number
from gis.errors import InputError
from gis.grid import Grid
from gis.zones import split_regions

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["REGION_COLUMNS", "candidate_regions", "label_regions"]


def label_regions(mask: np.ndarray, *, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label the connected regions of True cells.

    Parameters
    ----------
    mask
        2-D boolean array.
    connectivity
        8 joins cells that share an edge or a corner, 4 only cells sharing an edge.

    Returns
    -------
    labels, n
        int32 array with 0 for background and 1..n for the regions (numbered
        in raster order of their first cell), and the number of regions.

    Raises
    ------
    InputError
        ``mask`` is not a 2-D boolean array, or ``connectivity`` is not 4 or 8.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)
    >>> label_regions(m)[1], label_regions(m, connectivity=4)[1]
    (1, 2)
    >>> label_regions(m, connectivity=4)[0]
    array([[1, 0, 0],
           [0, 2, 0],
           [0, 0, 0]], dtype=int32)
    """
    structure = STRUCTURES[check_connectivity(connectivity)]
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ or arr.ndim != 2:
        raise InputError(
            f"mask must be a 2-D boolean array, got {arr.ndim}-D {arr.dtype}; "
            "build it with a comparison, e.g. `score >= 0.8`"
        )
    labels = np.empty(arr.shape, dtype=np.int32)
    n = ndimage.label(arr, structure=structure, output=labels)
    return labels, int(n)


def _region_stats(
    labels: np.ndarray,
    n: int,
    score: np.ndarray,
    factors: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Per-label cell count, score sum, score max and NaN-aware factor means.

    Index 0 of every result is the background and is meaningless.
    """
    counts = np.zeros(n + 1, dtype=np.int64)
    sums = np.zeros(n + 1, dtype=np.float64)
    maxes = np.full(n + 1, -np.inf, dtype=np.float64)
    f_sums = {k: np.zeros(n + 1, dtype=np.float64) for k in factors}
    f_counts = {k: np.zeros(n + 1, dtype=np.int64) for k in factors}
    rows = chunk_rows_for(labels.shape, None)
    for start in range(0, labels.shape[0], rows):
        lab = labels[start : start + rows]
        inside = lab > 0
        idx = lab[inside]
        if idx.size == 0:
            continue
        vals = score[start : start + rows][inside].astype(np.float64, copy=False)
        counts += np.bincount(idx, minlength=n + 1)
        sums += np.bincount(idx, weights=vals, minlength=n + 1)
        np.maximum.at(maxes, idx, vals)
        for key, arr in factors.items():
            fv = arr[start : start + rows][inside].astype(np.float64, copy=False)
            ok = ~np.isnan(fv)
            f_sums[key] += np.bincount(idx[ok], weights=fv[ok], minlength=n + 1)
            f_counts[key] += np.bincount(idx[ok], minlength=n + 1)
    f_means = {}
    for key in factors:
        mean = np.full(n + 1, np.nan)
        np.divide(f_sums[key], f_counts[key], out=mean, where=f_counts[key] > 0)
        f_means[key] = mean
    return counts, sums, maxes, f_means


def _polygons(ranks: np.ndarray, n_ranks: int, transform: Affine) -> np.ndarray:
    """One (Multi)Polygon per rank 1..n_ranks from a raster of ranks (0 = none)."""
    import shapely

    # Polygonise only the rows (and, if much narrower, the columns) holding regions.
    rows = np.flatnonzero(ranks.any(axis=1))
    r0, r1 = rows[0], rows[-1] + 1
    cols = np.flatnonzero(ranks[r0:r1].any(axis=0))
    c0, c1 = cols[0], cols[-1] + 1
    if 2 * (c1 - c0) > ranks.shape[1]:
        c0, c1 = 0, ranks.shape[1]  # a row slice is contiguous: no copy
    window = np.ascontiguousarray(ranks[r0:r1, c0:c1])
    # Polygonise 4-connected pieces (simple, valid polygons); an 8-connected
    # region comes out as several pieces that meet only at cell corners.
    polys, values = polygon_pieces(window, transform @ Affine.translation(c0, r0))

    order = np.argsort(values, kind="stable")
    polys, values = polys[order], values[order]
    n_pieces = np.bincount(values, minlength=n_ranks + 1)[1:]
    out = np.empty(n_ranks, dtype=object)
    single = n_pieces[values - 1] == 1
    out[values[single] - 1] = polys[single]
    multi = ~single
    if multi.any():
        # Pieces of one region touch only at corners, so their union is exactly
        # the MultiPolygon of the pieces: build it without an overlay.
        multi_ranks = values[multi]
        group = np.cumsum(np.r_[True, multi_ranks[1:] != multi_ranks[:-1]]) - 1
        merged = shapely.multipolygons(polys[multi], indices=group)
        out[np.unique(multi_ranks) - 1] = merged
    return out


def _max_cells(max_area: float | None, cell_area: float) -> int | None:
    """``max_area`` (m²) in whole cells (at least 1), or None."""
    if max_area is None:
        return None
    if not is_real_number(max_area) or not math.isfinite(max_area) or max_area <= 0:
        raise InputError(f"max_area must be a positive area in square metres, got {max_area!r}")
    return max(1, math.floor(max_area / cell_area + 1e-9))


def candidate_regions(
    score: np.ndarray,
    grid: Grid,
    *,
    threshold: float | None = None,
    top_percent: float | None = None,
    min_area: float = 0.0,
    connectivity: int = 8,
    factors: Mapping[str, np.ndarray] | None = None,
    max_area: float | None = None,
    min_drop: float | None = None,
) -> gpd.GeoDataFrame:
    """Ranked candidate regions: connected groups of high-scoring cells as polygons.

    Parameters
    ----------
    score
        2-D suitability score of ``grid.shape``; NaN is nodata and never selected.
        Not modified.
    grid
        The analysis grid the score lives on.
    threshold
        Keep cells with ``score >= threshold``.
    top_percent
        Keep the best ``top_percent`` % of valid (non-NaN) cells,
        ``0 < top_percent <= 100``: at least ``ceil(p * n_valid / 100)`` cells,
        plus every cell tied with the lowest kept value. Give exactly one of
        ``threshold`` and ``top_percent``.
    min_area
        Drop regions whose area (``n_cells * grid.cell_area``) is below this many
        square metres.
    connectivity
        8 joins cells that share an edge or a corner, 4 only cells sharing an edge.
    factors
        Optional factor name to 2-D array of ``grid.shape``; each becomes a column
        with the factor's mean over the region's non-NaN cells (NaN if all are NaN).
    max_area
        Cut every region larger than this many square metres to its best cells
        connected to its best one (:func:`gis.zones.split_regions`), before
        ``min_area`` applies. None: no cap.
    min_drop
        Split every region at its peaks: a peak that rises at least this much (in
        score units) above the saddle joining it to a higher peak gets a region of its
        own (:func:`gis.zones.split_regions`), so a wide area of high scores gives one
        region per peak. None: regions stay whole.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``grid.crs``, one row per region sorted by ``rank``, with columns
        ``rank`` (1 = highest mean score; ties go to the larger region, then to
        the region whose first cell comes first in raster order), ``area_ha``,
        ``n_cells``, ``mean_score``, ``max_score``, one column per factor, and
        ``geometry``: the union of the region's cells as a Polygon, or a
        MultiPolygon when an 8-connected region has parts meeting only at
        corners. If no cell passes (or every region is below ``min_area``) the
        frame is empty but has the same columns.

    Raises
    ------
    InputError
        Neither or both of ``threshold`` and ``top_percent``, values out of
        range, ``connectivity`` not 4 or 8, arrays of the wrong shape or type,
        or a factor name that clashes with a fixed column.

    Examples
    --------
    >>> import numpy as np
    >>> from gis.grid import Grid
    >>> g = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs="EPSG:32635")
    >>> score = np.array([[0.9, 0.8, 0.1, 0.0],
    ...                   [0.1, 0.1, 0.1, 0.7],
    ...                   [0.0, 0.1, 0.1, 0.7]])
    >>> r = candidate_regions(score, g, threshold=0.5)
    >>> r[["rank", "n_cells", "area_ha", "mean_score", "max_score"]]
       rank  n_cells  area_ha  mean_score  max_score
    0     1        2     0.02        0.85        0.9
    1     2        2     0.02        0.70        0.7
    >>> r.geometry.area.tolist()
    [200.0, 200.0]
    """

    connectivity = check_connectivity(connectivity)
    if not isinstance(grid, Grid):
        raise InputError(f"grid must be a gis.grid.Grid, got {type(grid).__name__}")
    score = as_numeric_array(score, "score")
    if score.shape != grid.shape:
        raise InputError(
            f"score has shape {score.shape} but the grid has shape {grid.shape}; "
            "compute the score on this grid"
        )
    if not is_real_number(min_area) or not math.isfinite(min_area) or min_area < 0:
        raise InputError(f"min_area must be a finite area >= 0 in square metres, got {min_area!r}")
    factors = {} if factors is None else factors
    if not isinstance(factors, Mapping):
        raise InputError(
            f"factors must be a mapping of name to array, got {type(factors).__name__}"
        )
    checked = {}
    for key, value in factors.items():
        if not isinstance(key, str) or key in (*REGION_COLUMNS, "geometry"):
            raise InputError(
                f"factor name {key!r} is not allowed; use a string other than "
                f"{[*REGION_COLUMNS, 'geometry']}"
            )
        arr = as_numeric_array(value, f"factor {key!r}")
        if arr.shape != grid.shape:
            raise InputError(
                f"factor {key!r} has shape {arr.shape} but the grid has shape {grid.shape}"
            )
        checked[key] = arr
    columns = [*REGION_COLUMNS, *checked]
    max_cells = _max_cells(max_area, grid.cell_area)

    selected = selection_mask(score, threshold, top_percent)
    labels, n = label_regions(selected, connectivity=connectivity)
    del selected
    if n and (max_cells is not None or min_drop is not None):
        labels, n = split_regions(labels, score, min_drop=min_drop, max_cells=max_cells,
                                  connectivity=connectivity)  # fmt: skip
    if n == 0:
        return empty_frame(columns, grid.crs)

    counts, sums, maxes, f_means = _region_stats(labels, n, score, checked)
    ids = np.arange(1, n + 1)
    counts, sums, maxes = counts[1:], sums[1:], maxes[1:]
    keep = counts * grid.cell_area >= min_area
    if not keep.any():
        return empty_frame(columns, grid.crs)

    ids, counts, maxes = ids[keep], counts[keep], maxes[keep]
    means = sums[keep] / counts
    order = np.lexsort((ids, -counts, -means))  # last key is the primary one
    ids, counts, means, maxes = ids[order], counts[order], means[order], maxes[order]
    n_ranks = ids.size

    # Replace labels by ranks in place (0 for dropped regions), chunk by chunk.
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[ids] = np.arange(1, n_ranks + 1, dtype=np.int32)
    rows = chunk_rows_for(labels.shape, None)
    for start in range(0, labels.shape[0], rows):
        block = labels[start : start + rows]
        block[...] = lut[block]
    geometry = _polygons(labels, n_ranks, grid.transform)
    del labels

    return region_frame(grid, counts, means, maxes, {k: m[ids] for k, m in f_means.items()},
                         geometry)  # fmt: skip
