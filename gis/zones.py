"""Candidate zones: split at their peaks and capped in size, or found window by window.

:func:`split_regions` divides labelled zones at their peaks (a watershed by
flooding of the score inside each zone) and caps each part to its best connected cells, so a
wide plateau of high scores becomes one zone per peak instead of one blob.

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

import itertools
import math
import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gis import settings
from gis._regions import (
    REGION_COLUMNS,
    STRUCTURES,
    check_connectivity,
    empty_frame,
    polygon_pieces,
    region_frame,
    selection_mask,
)
from gis._validate import is_real_number
from gis.errors import DataSourceError, InputError
from gis.io import RasterOutput, WindowWriter, check_output_file, gdal_env, raster_grid
from gis.windows import Window, open_raster, plan_windows, read_window

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CUTOFF_BYTES_PER_CELL",
    "FLOOD_LEVELS",
    "ZONE_BYTES_PER_CELL",
    "raster_quantile_cutoff",
    "split_regions",
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


# ---------------------------------------------------------------------- peaks
#: Number of score levels of the flooding in :func:`split_regions` (between the lowest and
#: the highest score of the zones).
FLOOD_LEVELS: int = 256


def _check_positive(value: object, name: str, *, whole: bool) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool | np.bool_)
        or not is_real_number(value)
        or not math.isfinite(value)  # type: ignore[arg-type]
        or value <= 0  # type: ignore[operator]
        or (whole and value < 1)  # type: ignore[operator]
    ):
        what = "a whole number of cells >= 1" if whole else "a positive number"
        raise InputError(f"{name} must be {what}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _neighbours(cells: np.ndarray, shape: tuple[int, int], structure: np.ndarray) -> np.ndarray:
    """For each cell (flat index into ``shape``) the positions in ``cells`` of its neighbours.

    Returns an ``(n, k)`` array, ``n`` (one past the last cell) where a neighbour is off the
    grid or not among ``cells``.
    """
    rows, cols = shape
    n = cells.size
    where = np.full(rows * cols, n, dtype=np.int64)
    where[cells] = np.arange(n)
    r, c = np.divmod(cells, cols)
    offsets = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)
               if (dr or dc) and structure[dr + 1, dc + 1]]  # fmt: skip
    out = np.full((n, len(offsets)), n, dtype=np.int64)
    for j, (dr, dc) in enumerate(offsets):
        rr, cc = r + dr, c + dc
        ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        out[ok, j] = where[rr[ok] * cols + cc[ok]]
    return out


def _flood(
    level: np.ndarray, zones: np.ndarray, min_drop: int, structure: np.ndarray
) -> np.ndarray:
    """Parts of the cells with ``level >= 0`` by flooding from the highest level down.

    At each level the parts first grow cell by cell into the cells of that level (a
    cell two parts reach in the same step goes to the higher-numbered one); cells left
    then form new parts, born at that level (new local maxima). Two parts that first
    touch at a level where the lower peak rises less than ``min_drop`` levels above it
    are merged into the part of the higher peak. The work is on the zone cells only
    (neighbour lists), a level at a time.
    """
    cells = np.flatnonzero(level.ravel() >= 0)
    n = cells.size
    lv = level.ravel()[cells]
    nbr = _neighbours(cells, level.shape, structure)
    zone = np.r_[zones.ravel()[cells], -1]
    nbr[zone[nbr] != zone[:n, None]] = n  # parts never cross from one zone into another
    parts = np.zeros(n + 1, dtype=np.int64)  # parts[n] = 0: the padding neighbour
    birth = [np.iinfo(np.int64).max]  # birth level of part i (0: background)
    parent = [0]
    order = np.argsort(-lv, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(lv[order])) + 1, n]
    for start, stop in itertools.pairwise(bounds):
        members = order[start:stop]
        k = int(lv[members[0]])
        free = members
        while free.size:
            grown = parts[nbr[free]].max(axis=1)
            take = grown > 0
            if not take.any():
                break
            parts[free[take]] = grown[take]
            free = free[~take]
        if free.size:  # new local maxima: connected groups of the cells left
            local = np.full(n + 1, -1, dtype=np.int64)
            local[free] = np.arange(free.size)
            rows = np.repeat(np.arange(free.size), nbr.shape[1])
            cols = local[nbr[free].ravel()]
            keep = cols >= 0
            graph = coo_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])),
                               shape=(free.size, free.size))  # fmt: skip
            n_new, group = connected_components(graph, directed=False)
            parts[free] = group + len(birth)
            birth += [k] * n_new
            parent += list(range(len(parent), len(parent) + n_new))
        # parts first touching at this level: the cells of the level and their neighbours
        mine = np.repeat(parts[members], nbr.shape[1])
        other = parts[nbr[members].ravel()]
        hit = (other > 0) & (other != mine)
        if not hit.any():
            continue
        pairs = np.unique(np.stack((np.minimum(mine[hit], other[hit]),
                                    np.maximum(mine[hit], other[hit])), 1), axis=0)  # fmt: skip
        merged = False
        for a, b in pairs:
            ra, rb = _root(parent, int(a)), _root(parent, int(b))
            if ra == rb:
                continue
            low, high = (ra, rb) if (birth[ra], ra) < (birth[rb], rb) else (rb, ra)
            if birth[low] - k < min_drop:
                parent[low] = high
                merged = True
        if merged:
            lut = np.array([_root(parent, i) for i in range(len(parent))], dtype=np.int64)
            parts = lut[parts]
    out = np.zeros(level.size, dtype=np.int32)
    out[cells] = parts[:n]
    return out.reshape(level.shape)


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _cap(pieces: np.ndarray, score: np.ndarray, n: int, max_cells: int,
         structure: np.ndarray) -> np.ndarray:  # fmt: skip
    """Cut every piece to at most ``max_cells``: its best cells connected to its best one."""
    flat = pieces.ravel()
    cells = np.flatnonzero(flat)
    owner = flat[cells]
    counts = np.bincount(owner, minlength=n + 1)
    big = counts[owner] > max_cells
    if not big.any():
        return pieces
    cells, owner = cells[big], owner[big]
    values = score.ravel()[cells]
    order = np.lexsort((cells, -values, owner))  # by piece, best first, raster order on ties
    cells, owner = cells[order], owner[order]
    first = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    rank = np.arange(cells.size) - np.repeat(first, np.diff(np.r_[first, cells.size]))
    out = pieces.copy()
    out.ravel()[cells[rank >= max_cells]] = 0
    # keep, of each cut piece, the cells connected (within the piece) to its best cell
    keep = rank < max_cells
    best = np.cumsum(keep)[first] - 1  # position in ``kept`` of each cut piece's best cell
    kept, owner = cells[keep], owner[keep]
    nbr = _neighbours(kept, pieces.shape, structure)
    rows = np.repeat(np.arange(kept.size), nbr.shape[1])
    cols = nbr.ravel()
    same = cols < kept.size
    same[same] = owner[rows[same]] == owner[cols[same]]
    graph = coo_matrix((np.ones(int(same.sum())), (rows[same], cols[same])),
                       shape=(kept.size, kept.size))  # fmt: skip
    _, group = connected_components(graph, directed=False)
    top = np.zeros(int(group.max(initial=-1)) + 1, dtype=bool)
    top[group[best]] = True
    out.ravel()[kept[~top[group]]] = 0
    return out


def split_regions(
    labels: np.ndarray,
    score: np.ndarray,
    *,
    min_drop: float | None = None,
    max_cells: int | None = None,
    connectivity: int = 8,
) -> tuple[np.ndarray, int]:
    """Split labelled zones at their peaks and cap their size.

    Parameters
    ----------
    labels
        2-D integer array, 0 outside every zone and 1..n for the zones (e.g. from
        :func:`gis.regions.label_regions`). Not modified.
    score
        2-D score of the same shape; the zones' cells must not be NaN. Not modified.
    min_drop
        Split every zone at its peaks: a watershed by flooding (immersion) of the
        score inside the zone, cut into :data:`FLOOD_LEVELS` levels between the
        lowest and highest score of the zones. From the highest level down, every
        local maximum starts a part and the parts grow cell by cell through the
        zone's cells at or above the level, so they meet at the saddles (a cell two
        parts reach in the same step goes to the later one). A peak that rises less
        than ``min_drop`` (in score units) above the saddle where its part meets a
        part with a higher peak is no peak of its own: the two parts merge. None
        keeps every zone whole.
    max_cells
        Cut every part larger than this to its ``max_cells`` best cells (ties in
        raster order), keeping those connected to its best cell. None: no cap.
    connectivity
        8 joins cells that share an edge or a corner, 4 only cells sharing an edge.

    Returns
    -------
    labels, n
        A new int32 label array (parts numbered in raster order of their first
        cell) and the number of parts.

    Raises
    ------
    InputError
        Arrays of different shapes or types, a NaN score inside a zone, ``min_drop``
        not a positive number or ``max_cells`` not a whole number >= 1.

    Examples
    --------
    Two hills in one zone, 0.3 and 0.2 above the saddle between them (0.5), become
    two zones; the saddle, reached by both in the same step, goes to the second:

    >>> score = np.array([[0.9, 0.8, 0.5, 0.7, 0.6, 0.6]])
    >>> split_regions(np.ones((1, 6), dtype=np.int32), score, min_drop=0.1)
    (array([[1, 1, 2, 2, 2, 2]], dtype=int32), 2)

    A smaller hill than ``min_drop`` is part of the higher one:

    >>> split_regions(np.ones((1, 6), dtype=np.int32), score, min_drop=0.25)
    (array([[1, 1, 1, 1, 1, 1]], dtype=int32), 1)

    Capped at two cells, each part keeps its best two:

    >>> split_regions(np.ones((1, 6), dtype=np.int32), score, min_drop=0.1, max_cells=2)
    (array([[1, 1, 0, 2, 2, 0]], dtype=int32), 2)
    """
    structure = STRUCTURES[check_connectivity(connectivity)]
    drop = _check_positive(min_drop, "min_drop", whole=False)
    cap = _check_positive(max_cells, "max_cells", whole=True)
    lab = np.asarray(labels)
    values = np.asarray(score)
    if lab.ndim != 2 or lab.dtype.kind not in "iu":
        raise InputError(f"labels must be a 2-D integer array, got {lab.ndim}-D {lab.dtype}")
    if values.shape != lab.shape or values.dtype.kind not in "fiu":
        raise InputError(
            f"score must be a numeric array of the labels' shape {lab.shape}, got "
            f"{values.dtype} {values.shape}"
        )
    inside = lab > 0
    zone_values = values[inside].astype(np.float64)
    if np.isnan(zone_values).any():
        raise InputError("score is NaN in a zone; zones hold only cells with a score")
    ids, inverse = np.unique(np.where(inside, lab, 0).ravel(), return_inverse=True)
    lab = (inverse + int(ids[0] != 0)).reshape(values.shape).astype(np.int32)  # 1..n
    if not inside.any():
        return np.zeros(lab.shape, dtype=np.int32), 0
    lab[~inside] = 0
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    pieces, sub_score, sub_in = lab[box], values[box].astype(np.float64), inside[box]
    if drop is not None:
        lo, hi = float(zone_values.min()), float(zone_values.max())
        step = (hi - lo) / FLOOD_LEVELS if hi > lo else 1.0
        level = np.full(pieces.shape, -1, dtype=np.int64)
        level[sub_in] = np.minimum(np.floor((sub_score[sub_in] - lo) / step), FLOOD_LEVELS - 1)
        pieces = _flood(level, pieces, max(1, math.ceil(drop / step - 1e-9)), structure)
    if cap is not None:
        pieces = _cap(pieces, sub_score, int(pieces.max(initial=0)), int(cap), structure)
    out = np.zeros(lab.shape, dtype=np.int32)
    out[box] = pieces
    return _renumber(out)


def _renumber(pieces: np.ndarray) -> tuple[np.ndarray, int]:
    """Parts numbered 1..n in raster order of their first cell."""
    flat = pieces.ravel()
    cells = np.flatnonzero(flat)
    if cells.size == 0:
        return np.zeros(pieces.shape, dtype=np.int32), 0
    ids, first = np.unique(flat[cells], return_index=True)
    lut = np.zeros(int(ids.max()) + 1, dtype=np.int32)
    lut[ids[np.argsort(first, kind="stable")]] = np.arange(1, ids.size + 1, dtype=np.int32)
    return lut[pieces].astype(np.int32), int(ids.size)


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
        Optional output GeoTIFF of the region ranks (int32, ZSTD, tiled and
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

        # The selection of every window, one bit per cell, spares the second labelling
        # pass from reading and decoding the score again when it fits an eighth of the
        # budget (a grid far larger than memory reads it again instead).
        budget = settings.memory_budget if memory_budget is None else int(memory_budget)
        packed: list[np.ndarray] | None = [] if grid.height * grid.width <= budget else None

        def relabel(k: int, window: Window) -> tuple[np.ndarray, int]:
            if packed is None:
                _, _, labels, n = label(window)
                return labels, n
            mask = np.unpackbits(packed[k], count=window.height * window.width)
            labels = np.empty(window.shape, dtype=np.int32)
            n = ndimage.label(mask.view(bool).reshape(window.shape), structure=structure,
                              output=labels)  # fmt: skip
            return labels, int(n)

        # ------------------------------------------------------------ labels, statistics
        borders = _Borders(grid.width, diagonal=connectivity == 8)
        offsets, per_window = [], []
        l_counts, l_sums, l_maxes, l_first = [], [], [], []
        l_fsums: dict[str, list[np.ndarray]] = {k: [] for k in sources}
        l_fcounts: dict[str, list[np.ndarray]] = {k: [] for k in sources}
        offset = 0
        for window in windows:
            score, mask, labels, n = label(window)
            if packed is not None:  # windows without a region are not labelled again
                packed.append(np.packbits(mask) if n else np.empty(0, dtype=np.uint8))
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
        pieces: list[np.ndarray] = []
        values: list[np.ndarray] = []
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
            for k, (window, offset, n) in enumerate(zip(windows, offsets, per_window, strict=True)):
                if n:
                    labels, n_again = relabel(k, window)
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
                    window_polys, window_values = polygon_pieces(ranks, window.grid.transform)
                    pieces.append(window_polys)
                    values.append(window_values)
                del ranks
                tick()
        else:
            done = total - 1
            tick()

    if n_ranks == 0:
        return empty_frame(columns, grid.crs)
    polys = np.concatenate(pieces)
    del pieces
    geometry = _merge_pieces(polys, np.concatenate(values), n_ranks)
    return region_frame(grid, counts, means, maxes, {k: m[ids] for k, m in f_means.items()},
                         geometry)  # fmt: skip
