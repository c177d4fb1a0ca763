"""Candidate zones from a suitability GeoTIFF larger than memory, window by window.

:func:`windowed_candidate_regions` gives the same table as
:func:`gis.regions.candidate_regions` on the whole raster, while holding only one
window of cells at a time (plus arrays of one value per region and per cell on
window borders):

1. **Cut-off.** With ``top_percent`` the selection needs the k-th best valid
   value of the whole raster. :func:`raster_quantile_cutoff` finds it exactly in
   two reading passes: each float32 value is mapped to an order-preserving
   32-bit key, the first pass counts the keys' upper 16 bits (65 536 bins), the
   second counts the lower 16 bits of the keys in the one bin that holds the
   k-th best value, which pins down its key and so its value bit for bit.
2. **Labels and statistics.** Each window's selected cells are labelled with
   :func:`scipy.ndimage.label` and the labels are offset to be unique over the
   raster. Per label the cell count, score sum and maximum, factor sums and
   counts and the first cell in raster order are accumulated with
   :func:`numpy.bincount` and ``ufunc.at``. Labels of cells that touch across a
   window border (the window's top row against the row above it, its left column
   against the previous window's right column, with the diagonal neighbours for
   8-connectivity, so four windows meeting at a corner are linked too) are
   recorded as graph edges; :func:`scipy.sparse.csgraph.connected_components`
   merges the labels into regions, and the label statistics are summed per region.
3. **Ranking.** Regions below ``min_area`` are dropped and the rest are ranked as
   in memory: by mean score, then the larger region, then the region whose first
   cell comes first in raster order.
4. **Polygons.** A last pass labels every window again, maps the labels to ranks,
   optionally writes them into an int32 rank GeoTIFF, and polygonises the window
   with :func:`rasterio.features.shapes`. Pieces of one region cut by window edges
   are merged with :func:`shapely.union_all`, grouped in a few padded arrays
   rather than region by region.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from gis._regions import (
    STRUCTURES,
    check_connectivity,
    empty_frame,
    region_frame,
    selection_mask,
)
from gis._validate import is_real_number
from gis.errors import DataSourceError, InputError
from gis.io import RasterOutput, WindowWriter, check_output_file, gdal_env, raster_grid
from gis.regions import REGION_COLUMNS
from gis.windows import Window, open_raster, plan_windows, read_window

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CUTOFF_BYTES_PER_CELL",
    "ZONE_BYTES_PER_CELL",
    "raster_quantile_cutoff",
    "windowed_candidate_regions",
]

#: Working set per cell of a cut-off window: the float32 read, the validity mask,
#: the uint32 keys with their 16-bit halves and the int64 copy :func:`numpy.bincount`
#: makes of its input.
CUTOFF_BYTES_PER_CELL: int = 32

#: Working set per cell of a zone window: the float32 score and selection mask,
#: the int32 labels, the int64 label and flat-index lists and float64 values of
#: the selected cells, one factor's float32 read and float64 values, and in the
#: polygon pass the int32 ranks with their mask and GDAL's polygonising buffers.
ZONE_BYTES_PER_CELL: int = 72

_BINS = 1 << 16
_SIGN = np.uint32(0x80000000)
_NO_CELL = np.iinfo(np.int64).max


# ---------------------------------------------------------------------- cut-off
def _float32_keys(values: np.ndarray) -> np.ndarray:
    """Order-preserving uint32 keys of non-NaN float32 values: ``a < b`` iff ``key(a) < key(b)``.

    Negative values have their bits flipped, the others their sign bit set, so
    the keys sort like the values (``-0.0`` just below ``+0.0``).
    """
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return np.where(bits >= _SIGN, ~bits, bits | _SIGN)


def _key_value(key: int) -> np.float32:
    """The float32 value of an order-preserving key (inverse of :func:`_float32_keys`)."""
    bits = key & 0x7FFFFFFF if key >= 0x80000000 else ~key & 0xFFFFFFFF
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def _window_keys(src: Any, window: Window) -> np.ndarray:
    values = read_window(src, window).ravel()
    return _float32_keys(values[~np.isnan(values)])


def _cutoff(
    src: Any,
    windows: list[Window],
    top_percent: float,
    tick: Callable[[], None],
) -> np.float32 | None:
    """The value ``selection_mask`` keeps ``score >= ...`` for with ``top_percent``."""
    high = np.zeros(_BINS, dtype=np.int64)
    for window in windows:
        high += np.bincount(_window_keys(src, window) >> 16, minlength=_BINS)
        tick()
    n_valid = int(high.sum())
    if n_valid == 0:
        return None
    # The same count of cells as gis.regions._selection_mask.
    k = min(n_valid, max(1, math.ceil(top_percent * n_valid / 100.0 - 1e-9)))
    position = n_valid - k  # 0-based position of the cut-off in ascending order
    cumulative = np.cumsum(high)
    upper = int(np.searchsorted(cumulative, position, side="right"))
    position -= int(cumulative[upper] - high[upper])
    low = np.zeros(_BINS, dtype=np.int64)
    for window in windows:
        keys = _window_keys(src, window)
        keys = keys[(keys >> 16) == upper]
        low += np.bincount(keys & 0xFFFF, minlength=_BINS)
        tick()
    lower = int(np.searchsorted(np.cumsum(low), position, side="right"))
    return _key_value((upper << 16) | lower)


def _check_top_percent(top_percent: object) -> None:
    selection_mask(np.empty(0, dtype=np.float32), None, top_percent)  # type: ignore[arg-type]


def raster_quantile_cutoff(
    path: str | os.PathLike,
    top_percent: float,
    *,
    memory_budget: int | None = None,
) -> float | None:
    """The score cut-off that keeps the best ``top_percent`` % of a raster's valid cells.

    The value is the k-th best of the ``n_valid`` non-NaN cells with
    ``k = min(n_valid, max(1, ceil(top_percent * n_valid / 100)))``, exactly the
    cut-off :func:`gis.regions.candidate_regions` uses with ``top_percent`` on the
    whole raster, found in two windowed reading passes with histograms of the
    values' bit patterns (65 536 counters each), so the raster never has to fit
    in memory.

    Parameters
    ----------
    path
        Single-band raster, read as float32 with nodata as NaN.
    top_percent
        Percentage of valid cells to keep, ``0 < top_percent <= 100``.
    memory_budget
        Bytes; default :data:`gis.settings.memory_budget`.

    Returns
    -------
    float or None
        The cut-off (a float32 value; ``score >= cutoff`` selects the cells,
        ties included), or None when the raster has no valid cell.

    Raises
    ------
    InputError
        ``top_percent`` out of range, or the raster has no CRS.
    DataSourceError
        The file is missing or unreadable.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from gis.grid import Grid
    >>> from gis.io import write_geotiff
    >>> g = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs="EPSG:32635")
    >>> score = np.arange(12, dtype="float32").reshape(3, 4) / 8
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geotiff(Path(tmp) / "s.tif", score, g, description="score")
    ...     raster_quantile_cutoff(p, 25)
    1.125
    """
    _check_top_percent(top_percent)
    grid = raster_grid(path)
    windows = plan_windows(
        grid, halo_cells=0, bytes_per_cell=CUTOFF_BYTES_PER_CELL, memory_budget=memory_budget
    )
    with gdal_env(memory_budget), open_raster(path, grid=grid) as src:
        cutoff = _cutoff(src, windows, top_percent, lambda: None)
    return None if cutoff is None else float(cutoff)


# ---------------------------------------------------------------------- border links
def _line_links(current: np.ndarray, padded: np.ndarray, diagonal: bool) -> list[np.ndarray]:
    """Label pairs of a line of cells and the adjacent line of the neighbouring window(s).

    ``padded[i + 1]`` is the neighbour of ``current[i]`` across the border;
    ``padded`` has one extra cell at each end (0 outside the grid) for the
    diagonal neighbours of the first and last cell.
    """
    n = current.size
    shifts = (0, 1, 2) if diagonal else (1,)
    pairs = []
    for s in shifts:
        other = padded[s : s + n]
        both = (current > 0) & (other > 0)
        if both.any():
            pairs.append(np.stack((current[both], other[both])))
    return pairs


class _Borders:
    """Global labels of the cells next to the window being labelled, and their links.

    Windows come in row-major order. ``above`` holds the last row of the previous
    band of windows, ``below`` collects the last row of the current band, and
    ``left`` the last column of the previous window in the band; each has one
    zero cell of padding at both ends.
    """

    def __init__(self, width: int, diagonal: bool) -> None:
        self.above = np.zeros(width + 2, dtype=np.int64)
        self.below = np.zeros(width + 2, dtype=np.int64)
        self.left: np.ndarray | None = None
        self.diagonal = diagonal
        self.band = -1
        self.edges: list[np.ndarray] = []

    def add(self, window: Window, labels: np.ndarray, offset: int) -> None:
        """Link ``labels`` (local, 0 = none) of ``window`` to its upper and left neighbours."""
        if window.row != self.band:  # a new band of windows
            if self.band >= 0:
                self.above, self.below = self.below, self.above
            self.band, self.left = window.row, None

        def global_labels(line: np.ndarray) -> np.ndarray:
            out = line.astype(np.int64)
            out[line > 0] += offset
            return out

        top, first_col = global_labels(labels[0]), global_labels(labels[:, 0])
        c0, c1 = window.col, window.col + window.width
        if window.row > 0:
            self.edges += _line_links(top, self.above[c0 : c1 + 2], self.diagonal)
        if self.left is not None:
            self.edges += _line_links(first_col, self.left, self.diagonal)
        self.below[c0 + 1 : c1 + 1] = global_labels(labels[-1])
        left = np.zeros(window.height + 2, dtype=np.int64)
        left[1:-1] = global_labels(labels[:, -1])
        self.left = left

    def components(self, n_labels: int) -> tuple[int, np.ndarray]:
        """Number of regions and the region (0-based) of every global label 1..n_labels."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        if not self.edges:
            return n_labels, np.arange(n_labels)
        a, b = np.concatenate(self.edges, axis=1) - 1
        graph = coo_matrix(
            (np.ones(a.size, dtype=np.int8), (a, b)), shape=(n_labels, n_labels)
        ).tocsr()
        n, component = connected_components(graph, directed=False)
        return int(n), component


# ---------------------------------------------------------------------- polygons
def _merge_pieces(polys: np.ndarray, values: np.ndarray, n_ranks: int) -> np.ndarray:
    """One geometry per rank 1..n_ranks: the union of the rank's polygon pieces.

    Ranks with one piece keep it; the others are merged with
    :func:`shapely.union_all` along the rows of padded piece tables, one table
    per power-of-two bucket of piece counts (at most twice the pieces in each).
    """
    import shapely

    order = np.argsort(values, kind="stable")
    polys, values = polys[order], values[order]
    n_pieces = np.bincount(values, minlength=n_ranks + 1)[1:]
    starts = np.cumsum(n_pieces) - n_pieces
    out = np.empty(n_ranks, dtype=object)
    single = n_pieces == 1
    out[single] = polys[starts[single]]
    multi = np.flatnonzero(n_pieces > 1)
    if multi.size == 0:
        return out
    bucket = np.ceil(np.log2(n_pieces[multi])).astype(np.int64)
    for b in np.unique(bucket):  # a few buckets, each merged in one vectorised call
        ranks = multi[bucket == b]
        counts = n_pieces[ranks]
        table = np.full((ranks.size, int(counts.max())), None, dtype=object)
        row = np.repeat(np.arange(ranks.size), counts)
        col = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
        table[row, col] = polys[np.repeat(starts[ranks], counts) + col]
        # The union keeps vertices where window edges cut straight boundaries; drop
        # those collinear vertices (tolerance 0) to get the in-memory outline.
        out[ranks] = shapely.simplify(shapely.union_all(table, axis=1), 0.0)
    return out


def _window_pieces(ranks: np.ndarray, window: Window) -> tuple[list[Any], list[int]]:
    from rasterio import features
    from shapely.geometry import shape

    shapes_list, values_list = [], []
    # 4-connected pieces are simple, valid polygons, as in gis.regions.
    for geom, value in features.shapes(
        ranks, mask=ranks > 0, connectivity=4, transform=window.grid.transform
    ):
        shapes_list.append(shape(geom))
        values_list.append(int(value))
    return shapes_list, values_list


# ---------------------------------------------------------------------- zones
def _check_factors(
    factors: Mapping[str, str | os.PathLike] | None,
) -> dict[str, str | os.PathLike]:
    factors = {} if factors is None else factors
    if not isinstance(factors, Mapping):
        raise InputError(
            f"factors must be a mapping of name to GeoTIFF path, got {type(factors).__name__}"
        )
    for key, value in factors.items():
        if not isinstance(key, str) or key in (*REGION_COLUMNS, "geometry"):
            raise InputError(
                f"factor name {key!r} is not allowed; use a string other than "
                f"{[*REGION_COLUMNS, 'geometry']}"
            )
        if not isinstance(value, str | os.PathLike):
            raise InputError(
                f"factor {key!r} must be the path of a GeoTIFF on the score grid, "
                f"got {type(value).__name__}"
            )
    return dict(factors)


def windowed_candidate_regions(
    path: str | os.PathLike,
    *,
    threshold: float | None = None,
    top_percent: float | None = None,
    min_area: float = 0.0,
    connectivity: int = 8,
    factors: Mapping[str, str | os.PathLike] | None = None,
    labels_path: str | os.PathLike | None = None,
    memory_budget: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Ranked candidate regions of a suitability GeoTIFF, computed window by window.

    The result is the one :func:`gis.regions.candidate_regions` gives for the
    whole raster (same rows, ranks, columns, dtypes, CRS and geometries), but
    only one window of cells is held at a time; see the module description for
    how regions cut by window edges are joined.

    Parameters
    ----------
    path
        Single-band suitability GeoTIFF (read as float32, nodata as NaN).
    threshold
        Keep cells with ``score >= threshold``.
    top_percent
        Keep the best ``top_percent`` % of valid cells, ``0 < top_percent <= 100``,
        plus every cell tied with the lowest kept value (two extra reading passes,
        :func:`raster_quantile_cutoff`). Give exactly one of ``threshold`` and
        ``top_percent``.
    min_area
        Drop regions smaller than this many square metres.
    connectivity
        8 joins cells that share an edge or a corner, 4 only cells sharing an edge.
    factors
        Optional factor name to GeoTIFF path on the same grid; each becomes a column
        with the factor's mean over the region's non-NaN cells (NaN if all are NaN).
    labels_path
        Optional output GeoTIFF of the region ranks (int32, DEFLATE, tiled and
        with overviews when both sides have at least :data:`gis.windows.BLOCK`
        cells), 0 (nodata) outside every kept region. Written under a hidden temporary
        name and renamed when complete, so an error leaves no partial file.
    memory_budget
        Bytes; default :data:`gis.settings.memory_budget`. Windows are planned
        with :data:`ZONE_BYTES_PER_CELL`.
    overwrite
        Replace an existing ``labels_path``.
    progress
        Called as ``progress(done, total)`` after each window of each pass (two
        passes, four with ``top_percent``).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`gis.regions.candidate_regions`: in the raster's CRS, one row per
        region sorted by ``rank``, with ``rank``, ``area_ha``, ``n_cells``,
        ``mean_score``, ``max_score``, one column per factor and ``geometry``.

    Raises
    ------
    InputError
        Neither or both of ``threshold`` and ``top_percent``, values out of range,
        ``connectivity`` not 4 or 8, a bad factor name, a factor raster not on the
        score grid, or a raster without CRS.
    DataSourceError
        A missing or unreadable raster.
    OutputExistsError
        ``labels_path`` exists and ``overwrite`` is false.
    GridSizeError
        A memory budget too small for one window.

    Notes
    -----
    Score and factor sums are added window by window, in another order than in
    memory, so means can differ in the last bits (relative 1e-15); two regions
    whose mean scores differ by no more than such round-off may then swap ranks.
    The selection, cell counts, maxima and polygons are exact.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from gis.grid import Grid
    >>> from gis.io import write_geotiff
    >>> g = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs="EPSG:32635")
    >>> score = np.array([[0.875, 0.75, 0.125, 0.0],
    ...                   [0.125, 0.125, 0.125, 0.75],
    ...                   [0.0, 0.125, 0.125, 0.75]], dtype="float32")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geotiff(Path(tmp) / "s.tif", score, g, description="score")
    ...     r = windowed_candidate_regions(p, threshold=0.5, memory_budget=4 * ZONE_BYTES_PER_CELL)
    >>> r[["rank", "n_cells", "area_ha", "mean_score", "max_score"]]
       rank  n_cells  area_ha  mean_score  max_score
    0     1        2     0.02      0.8125      0.875
    1     2        2     0.02      0.7500      0.750
    """

    connectivity = check_connectivity(connectivity)
    selection_mask(np.empty(0, dtype=np.float32), threshold, top_percent)  # validates
    if not is_real_number(min_area) or not math.isfinite(min_area) or min_area < 0:
        raise InputError(f"min_area must be a finite area >= 0 in square metres, got {min_area!r}")
    factor_paths = _check_factors(factors)
    target = None if labels_path is None else check_output_file(labels_path, overwrite=overwrite)
    grid = raster_grid(path)
    columns = [*REGION_COLUMNS, *factor_paths]
    windows = plan_windows(
        grid, halo_cells=0, bytes_per_cell=ZONE_BYTES_PER_CELL, memory_budget=memory_budget
    )
    structure = STRUCTURES[connectivity]
    total = len(windows) * (4 if top_percent is not None else 2)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    with ExitStack() as stack:
        stack.enter_context(gdal_env(memory_budget))
        src = stack.enter_context(open_raster(path, grid=grid))
        sources = {
            key: stack.enter_context(open_raster(p, grid=grid)) for key, p in factor_paths.items()
        }
        cut: float | np.float32 | None = threshold
        if top_percent is not None:
            cut = _cutoff(src, windows, top_percent, tick)

        def label(window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
            score = read_window(src, window)
            if cut is None:  # no valid cell anywhere
                mask = np.zeros(window.shape, dtype=bool)
            else:
                mask = selection_mask(score, float(cut), None)
            labels = np.empty(window.shape, dtype=np.int32)
            n = ndimage.label(mask, structure=structure, output=labels)
            return score, mask, labels, int(n)

        # ------------------------------------------------------------ labels, statistics
        borders = _Borders(grid.width, diagonal=connectivity == 8)
        offsets, per_window = [], []
        l_counts, l_sums, l_maxes, l_first = [], [], [], []
        l_fsums: dict[str, list[np.ndarray]] = {k: [] for k in sources}
        l_fcounts: dict[str, list[np.ndarray]] = {k: [] for k in sources}
        offset = 0
        for window in windows:
            score, mask, labels, n = label(window)
            offsets.append(offset)
            per_window.append(n)
            borders.add(window, labels, offset)
            if n:
                idx = labels[mask]
                vals = score[mask].astype(np.float64)
                del score
                l_counts.append(np.bincount(idx, minlength=n + 1)[1:])
                l_sums.append(np.bincount(idx, weights=vals, minlength=n + 1)[1:])
                maxes = np.full(n + 1, -np.inf)
                np.maximum.at(maxes, idx, vals)
                l_maxes.append(maxes[1:])
                del vals
                rows, cols = np.divmod(np.flatnonzero(mask), window.width)
                flat = (rows + window.row) * grid.width + (cols + window.col)
                del rows, cols
                first = np.full(n + 1, _NO_CELL, dtype=np.int64)
                np.minimum.at(first, idx, flat)
                l_first.append(first[1:])
                del flat
                for key, fsrc in sources.items():
                    fv = read_window(fsrc, window)[mask].astype(np.float64)
                    ok = ~np.isnan(fv)
                    l_fsums[key].append(np.bincount(idx[ok], weights=fv[ok], minlength=n + 1)[1:])
                    l_fcounts[key].append(np.bincount(idx[ok], minlength=n + 1)[1:])
            offset += n
            tick()
        n_labels = offset

        # ------------------------------------------------------------ regions, ranking
        n_ranks = 0
        lut = np.zeros(n_labels + 1, dtype=np.int32)  # global label -> rank (0 = none)
        if n_labels:
            n_regions, region = borders.components(n_labels)
            del borders
            counts = np.bincount(
                region, weights=np.concatenate(l_counts), minlength=n_regions
            ).astype(np.int64)
            sums = np.bincount(region, weights=np.concatenate(l_sums), minlength=n_regions)
            maxes = np.full(n_regions, -np.inf)
            np.maximum.at(maxes, region, np.concatenate(l_maxes))
            first = np.full(n_regions, _NO_CELL, dtype=np.int64)
            np.minimum.at(first, region, np.concatenate(l_first))
            f_means = {}
            for key in sources:
                f_sum = np.bincount(
                    region, weights=np.concatenate(l_fsums[key]), minlength=n_regions
                )
                f_count = np.bincount(
                    region, weights=np.concatenate(l_fcounts[key]), minlength=n_regions
                )
                mean = np.full(n_regions, np.nan)
                np.divide(f_sum, f_count, out=mean, where=f_count > 0)
                f_means[key] = mean
            del l_counts, l_sums, l_maxes, l_first, l_fsums, l_fcounts
            ids = np.flatnonzero(counts * grid.cell_area >= min_area)
            counts, maxes, first = counts[ids], maxes[ids], first[ids]
            means = sums[ids] / counts
            # First cell in raster order is the in-memory label order.
            order = np.lexsort((first, -counts, -means))
            ids, counts, means, maxes = ids[order], counts[order], means[order], maxes[order]
            n_ranks = ids.size
            rank_of = np.zeros(n_regions, dtype=np.int32)
            rank_of[ids] = np.arange(1, n_ranks + 1, dtype=np.int32)
            lut[1:] = rank_of[region]
            del region, rank_of

        # ------------------------------------------------------------ ranks, polygons
        pieces: list[Any] = []
        values: list[int] = []
        if n_ranks or target is not None:
            writer = None
            if target is not None:
                rank_out = RasterOutput(
                    target, "rank", nodata=0, dtype="int32", tags={"n_ranks": n_ranks}
                )
                rank_writer = WindowWriter(
                    grid, {"rank": rank_out}, overwrite=overwrite, memory_budget=memory_budget
                )
                writer = stack.enter_context(rank_writer)
            for window, offset, n in zip(windows, offsets, per_window, strict=True):
                if n:
                    _, _, labels, n_again = label(window)
                    if n_again != n:
                        raise DataSourceError(f"{path} changed while it was being read")
                    window_lut = lut[offset : offset + n + 1].copy()
                    window_lut[0] = 0
                    ranks = window_lut[labels]
                    del labels
                else:
                    ranks = np.zeros(window.shape, dtype=np.int32)
                if writer is not None:
                    writer.write(window, {"rank": ranks})
                if n_ranks and ranks.any():
                    shapes_list, values_list = _window_pieces(ranks, window)
                    pieces += shapes_list
                    values += values_list
                del ranks
                tick()
        else:
            done = total - 1
            tick()

    if n_ranks == 0:
        return empty_frame(columns, grid.crs)
    polys = np.empty(len(pieces), dtype=object)
    polys[:] = pieces
    del pieces
    geometry = _merge_pieces(polys, np.asarray(values, dtype=np.int64), n_ranks)
    return region_frame(grid, counts, means, maxes, {k: m[ids] for k, m in f_means.items()},
                         geometry)  # fmt: skip
