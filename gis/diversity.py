"""Shannon diversity of categories in a moving window, by one convolution per category.

For a cell, let ``c_k`` be the number of items of category ``k`` in the circular
window around it (points, or cells of a categorical raster) and ``N = Σ c_k``.
The Shannon entropy is ``H = -Σ p_k ln p_k`` with ``p_k = c_k / N``, computed as
``H = ln N - (Σ c_k ln c_k) / N`` so that only two running sums are kept while
the categories are counted one after another. Each count is an FFT convolution
of the category's indicator with the window (:class:`gis.convolve.Convolver`,
one kernel spectrum for all categories), so the cost is categories × cells, not
categories × cells × window. Cells whose window holds no item get ``H = 0``.

``H`` is 0 when one category holds everything and ``ln K`` when ``K`` categories
are equally common; :func:`evenness` divides by ``ln K`` (Pielou's J).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import xlogy

from gis.convolve import Convolver, disc_footprint
from gis.errors import InputError
from gis.grid import Grid

__all__ = ["category_diversity", "evenness", "point_diversity"]


def _radius_cells(radius: Any, cell_size: float) -> float:
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise InputError(f"radius must be a distance in metres, got {radius!r}") from None
    if not (math.isfinite(r) and r >= 0):
        raise InputError(f"radius must be a finite distance >= 0 in metres, got {radius!r}")
    return r / cell_size


def _entropy(
    shape: tuple[int, int],
    radius_cells: float,
    categories: list[Any],
    read: Any,
    tile: int | None,
) -> np.ndarray:
    """Entropy from per-category counts; ``read(k, window)`` gives category k's source window."""
    conv = Convolver(disc_footprint(radius_cells).astype("float32"), shape, tile=tile)
    out = np.zeros(shape, dtype="float32")
    for tile_win in conv.tiles():
        src = conv.source_window(tile_win)
        rows, cols = tile_win
        total = np.zeros((rows.stop - rows.start, cols.stop - cols.start), dtype="float32")
        clogc = np.zeros_like(total)
        for k in categories:
            counts = conv.apply(read(k, *src))
            np.rint(counts, out=counts)  # whole numbers; clears FFT round-off
            np.maximum(counts, 0.0, out=counts)
            total += counts
            clogc += xlogy(counts, counts)  # c ln c, 0 for c = 0
        h = out[tile_win]
        some = total > 0
        np.log(total, out=h, where=some)
        h -= np.divide(clogc, total, out=np.zeros_like(total), where=some)
        np.maximum(h, 0.0, out=h)  # round-off when one category holds everything
    return out


def category_diversity(
    categories: Any,
    *,
    radius_cells: float,
    nodata: int | None = None,
    tile: int | None = None,
) -> np.ndarray:
    """Shannon entropy of a categorical raster in a circular window around every cell.

    Parameters
    ----------
    categories
        2-D integer raster of category codes (e.g. land-use classes). Not modified.
    radius_cells
        Window radius in cells: the window holds the cells whose centre is
        within this many cell widths of the centre cell's.
    nodata
        Code of cells that belong to no category (not counted), e.g. ``0`` or ``-1``.
    tile
        Output tile side in cells (default: see :class:`gis.convolve.Convolver`).

    Returns
    -------
    numpy.ndarray
        float32 entropy in nats (natural logarithm), of the raster's shape.
        Cells beyond the raster edge are not counted.

    Examples
    --------
    Two categories side by side; the middle cells see both equally (``ln 2``):

    >>> cats = np.array([[1, 1, 2, 2]])
    >>> category_diversity(cats, radius_cells=1).round(4)
    array([[0.    , 0.6365, 0.6365, 0.    ]], dtype=float32)
    >>> round(-(1/3) * math.log(1/3) - (2/3) * math.log(2/3), 4)
    0.6365
    """
    a = np.asarray(categories)
    if a.ndim != 2 or a.dtype.kind not in "iub":
        raise InputError(
            f"categories must be a 2-D integer raster of class codes, got {a.dtype} {a.shape}"
        )
    r = _radius_cells(radius_cells, 1.0)
    codes = np.unique(a)
    if nodata is not None:
        codes = codes[codes != nodata]
    p = disc_footprint(r).shape[0] // 2

    def read(code: Any, rows: slice, cols: slice) -> np.ndarray:
        top, left = rows.start, cols.start
        height, width = rows.stop - top, cols.stop - left
        r0, c0 = top - p, left - p
        block = np.zeros((height, width), dtype="float32")
        rs, cs = max(r0, 0), max(c0, 0)
        re_, ce = min(r0 + height, a.shape[0]), min(c0 + width, a.shape[1])
        if re_ > rs and ce > cs:
            block[rs - r0 : re_ - r0, cs - c0 : ce - c0] = a[rs:re_, cs:ce] == code
        return block

    return _entropy(a.shape, r, list(codes), read, tile)


def point_diversity(
    grid: Grid,
    x: Any,
    y: Any,
    categories: Any,
    *,
    radius: float,
    tile: int | None = None,
) -> np.ndarray:
    """Shannon entropy of point categories (e.g. kinds of firms) within ``radius`` of every cell.

    Points are binned to their cell first (as :func:`gis.measures.count_within`),
    so a point counts for the cells whose centre is within ``radius`` of its
    cell's centre. Points outside the grid within the radius count.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS.
    categories
        One label (any hashable) per point.
    radius
        Window radius in metres.
    tile
        Output tile side in cells.

    Returns
    -------
    numpy.ndarray
        float32 entropy in nats of ``grid.shape``; 0 where the window is empty.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 30, 10), cell_size=10, crs=32650)
    >>> h = point_diversity(g, [5, 5, 25, 25], [5, 5, 5, 5], ["a", "b", "a", "a"], radius=10)
    >>> h.round(4)
    array([[0.6931, 0.5623, 0.    ]], dtype=float32)
    """
    px = np.asarray(x, dtype="float64").ravel()
    py = np.asarray(y, dtype="float64").ravel()
    cats = np.asarray(categories, dtype=object).ravel()
    if not (px.size == py.size == cats.size):
        raise InputError(
            f"x, y and categories must have one value per point, got {px.size}, {py.size}, "
            f"{cats.size}"
        )
    if not (np.isfinite(px).all() and np.isfinite(py).all()):
        raise InputError("point coordinates must be finite; drop points without a location")
    r = _radius_cells(radius, grid.cell_size)
    p = disc_footprint(r).shape[0] // 2
    labels, code = np.unique(cats.astype(str), return_inverse=True)
    cs = grid.cell_size
    col = np.floor((px - grid.transform.c) / cs).astype("int64") + p
    row = np.floor((grid.transform.f - py) / cs).astype("int64") + p
    order = np.argsort(code, kind="stable")  # points grouped by category, once
    bounds = np.searchsorted(code[order], np.arange(labels.size + 1))
    groups = [order[bounds[k] : bounds[k + 1]] for k in range(labels.size)]

    def read(k: int, rows: slice, cols: slice) -> np.ndarray:
        top, left = rows.start, cols.start
        height, width = rows.stop - top, cols.stop - left
        r, c = row[groups[k]], col[groups[k]]
        keep = (r >= top) & (r < top + height) & (c >= left) & (c < left + width)
        binned = np.zeros((height, width), dtype="float32")
        np.add.at(binned, (r[keep] - top, c[keep] - left), 1.0)
        return binned

    return _entropy(grid.shape, r, list(range(labels.size)), read, tile)


def evenness(entropy: Any, n_categories: int) -> np.ndarray:
    """Pielou's evenness ``H / ln K``: 0 for one category, 1 for ``K`` equally common ones.

    Examples
    --------
    >>> evenness(np.array([0.0, math.log(2), math.log(4)]), 4).tolist()
    [0.0, 0.5, 1.0]
    """
    if not (isinstance(n_categories, int | np.integer) and n_categories >= 2):
        raise InputError(f"evenness needs at least 2 categories, got {n_categories!r}")
    h = np.asarray(entropy, dtype="float32")
    return np.clip(h / np.float32(math.log(n_categories)), 0.0, 1.0)
