"""Straight-line distance from every cell centre to the nearest feature.

One public entry point, :func:`euclidean_distance`, measures to any mix of
points, lines and polygons; it sends points to :func:`nearest_point` and lines
and polygons to :func:`shape_distance` and takes the smaller of the two.

* :func:`nearest_point` is exact for points (and gives which point is nearest,
  with per-point offsets and priorities). The grid is measured in tiles: a k-d
  tree bounds, for each tile, the few points that can be nearest to any of its
  cells, and those are measured against every cell of the tile at once. The
  value of a cell depends only on the cell and the points, never on the tiling,
  so windows of a large grid computed apart agree exactly with the whole grid.
  Where points are so dense that a tile has many candidates, the tile's cells
  are looked up in the k-d tree instead (the distance is then computed by the
  same formula from the point found).
* :func:`shape_distance` rasterises lines and polygons (every touched cell,
  polygons filled) and runs a Euclidean distance transform
  (exact, separable, on threads: the ``edt`` package); parts outside the grid are
  densified to points every cell and lower that result in place where they are
  nearer, each tile looking only at the points that could beat its largest value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import edt
import numpy as np
import shapely

from gis._parallel import cpu_count, run_chunks
from gis._validate import explode, limit, points
from gis._validate import geometries as valid_geometries
from gis.errors import InputError, NoDataError
from gis.grid import Grid

__all__ = ["TILE", "Nearest", "euclidean_distance", "nearest_point", "shape_distance"]

#: Side in cells of the tiles :func:`nearest_point` measures together.
TILE: int = 64

#: Tiles with more candidate points than this are looked up in the k-d tree cell by cell
#: (distances only, without offsets); below it the vectorised tile is faster.
DENSE: int = 48

#: Cells per chunk of the row-chunked steps and of the k-d tree lookups.
_CHUNK_CELLS = 1 << 18


@dataclass(frozen=True)
class Nearest:
    """Result of :func:`nearest_point`; unpacks as ``distance, index``."""

    distance: np.ndarray  # float32 metres from each cell centre to its nearest point
    index: np.ndarray | None  # int32 index of that point (-1 beyond max_distance)

    def __iter__(self) -> Iterator[np.ndarray | None]:
        return iter((self.distance, self.index))


#: Point sets up to this size are searched by brute force (:class:`_FewPoints`) instead of
#: scipy's k-d tree, whose import alone costs about 37 MB of memory and 0.2 s.
FEW_POINTS: int = 2048

#: Query points measured against every point at once by :class:`_FewPoints` (bounds its
#: temporaries to a few MB).
_FEW_BLOCK = 1 << 18


class _FewPoints:
    """The k-d tree queries :func:`nearest_point` makes, by brute force over a few points.

    ``query`` gives the nearest point (the lowest index among equally near ones) and
    ``query_ball_point`` the points within a radius, sorted by index, as scipy's
    ``cKDTree`` does; distances are float64 ``hypot`` of the differences.
    """

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.ascontiguousarray(data, dtype=np.float64)
        self.n = len(self.data)

    def _blocks(self, q: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        step = max(1, _FEW_BLOCK // max(self.n, 1))
        for start in range(0, len(q), step):
            part = q[start : start + step]
            yield start, np.hypot(part[:, :1] - self.data[:, 0], part[:, 1:2] - self.data[:, 1])

    def query(self, q: np.ndarray, *, distance_upper_bound: float = math.inf, workers: int = 1
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        q = np.asarray(q, dtype=np.float64).reshape(-1, 2)
        dist = np.empty(len(q))
        index = np.empty(len(q), dtype=np.intp)
        for start, d in self._blocks(q):
            i = np.argmin(d, axis=1)
            dist[start : start + len(d)] = d[np.arange(len(d)), i]
            index[start : start + len(d)] = i
        far = dist > distance_upper_bound
        dist[far], index[far] = np.inf, self.n
        return dist, index

    def query_ball_point(
        self,
        q: np.ndarray,
        r: np.ndarray,
        *,
        workers: int = 1,
        return_sorted: bool = True,
        return_length: bool = False,
    ) -> Any:
        q = np.asarray(q, dtype=np.float64).reshape(-1, 2)
        r = np.broadcast_to(np.asarray(r, dtype=np.float64), (len(q),))
        counts, lists = [], []
        for start, d in self._blocks(q):
            within = d <= r[start : start + len(d), None]
            counts.append(np.count_nonzero(within, axis=1))
            if not return_length:
                col = np.nonzero(within)[1]  # row-major: each row's points in index order
                lists.extend(np.split(col, np.cumsum(counts[-1])[:-1]))
        return np.concatenate(counts) if return_length else lists


#: Cell-point pairs above which the cell-by-cell look-ups of dense tiles use scipy's k-d
#: tree even for a few points (about 0.07 s of brute force; importing the tree costs 0.2 s
#: once).
BRUTE_FORCE_PAIRS: int = 1 << 24


def _tree(data: np.ndarray, queries: int = 0) -> Any:
    """A nearest-point search over ``data`` (n x 2): :class:`_FewPoints` for up to
    :data:`FEW_POINTS` points unless ``queries`` look-ups would measure more than
    :data:`BRUTE_FORCE_PAIRS` pairs, else scipy's k-d tree (imported only then)."""
    if len(data) <= FEW_POINTS and len(data) * queries <= BRUTE_FORCE_PAIRS:
        return _FewPoints(data)
    from scipy.spatial import cKDTree

    return cKDTree(data)


def _tile_bounds(n: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(0, n, tile)
    return starts, np.minimum(starts + tile, n)


def _best_at(
    tree: Any, q: np.ndarray, px: np.ndarray, py: np.ndarray, off: np.ndarray, workers: int
) -> np.ndarray:
    """An upper bound of ``min_j (|q - p_j| + off_j)`` at query points (exact for few offsets).

    With at most 16 distinct offsets (classes), one k-d tree query per offset
    value gives the exact minimum; with more, the nearest point's distance plus
    its offset bounds it from above, which is all the tile pruning needs.
    """
    d, i = tree.query(q, workers=workers)
    if not off.any():
        return np.asarray(d)
    values = np.unique(off)
    if values.size > 16:
        return np.asarray(d + off[i])
    best = np.full(len(q), np.inf)
    for value in values:
        sel = np.flatnonzero(off == value)
        d, _ = _tree(np.column_stack([px[sel], py[sel]])).query(q, workers=workers)
        np.minimum(best, d + value, out=best)
    return best


def _pair_distance(cx: np.ndarray, cy: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """float32 distance of cell centres to points: float32 squares of float64 differences.

    The one formula of :func:`nearest_point`, whatever the path, so a cell's value
    never depends on the tiling.
    """
    dx2 = np.square((cx - px).astype("float32"))
    dy2 = np.square((cy - py).astype("float32"))
    return np.sqrt(dy2 + dx2)


#: float32 values per block of tiles measured together (1 MiB: larger blocks are no faster
#: and leave their freed memory to the threads' allocator).
_TILE_BLOCK = 1 << 18


def _flatten(candidates: Any) -> tuple[np.ndarray, np.ndarray]:
    """The candidate lists of a k-d tree ball query as one flat array and the count of each."""
    counts = np.fromiter(map(len, candidates), dtype="int64", count=len(candidates))
    flat = np.fromiter(itertools.chain.from_iterable(candidates), dtype="int64",
                       count=int(counts.sum()))  # fmt: skip
    return flat, counts


def _tile_jobs(counts: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Blocks of tiles with the same number of candidates ``k``, each within :data:`_TILE_BLOCK`."""
    jobs: list[tuple[int, np.ndarray]] = []
    if counts.size == 0:
        return jobs
    order = np.argsort(counts, kind="stable")
    ks, first = np.unique(counts[order], return_index=True)
    for k, sel in zip(ks.tolist(), np.split(order, first[1:]), strict=True):
        per = max(1, _TILE_BLOCK // (max(k, 1) * TILE * TILE))
        jobs += [(k, sel[i : i + per]) for i in range(0, sel.size, per)]
    return jobs


def _measure(
    xs: np.ndarray,
    ys: np.ndarray,
    cand: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    qo: np.ndarray | None,
    with_index: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Distance to the nearest candidate at every cell of a block of tiles, and which one.

    ``xs`` (tiles, TILE) and ``ys`` are the cell centres of each tile, ``cand``
    (tiles, k) the candidate points in tie-break order. Float32 squares of float64
    differences, the formula of :func:`_pair_distance`; the first of equal minima
    wins. Returns the (tiles, TILE, TILE) distances and positions in ``cand``.
    """
    dx2 = np.square((xs[:, None, :] - qx[cand][:, :, None]).astype("float32"))  # (t, k, TILE)
    dy2 = np.square((ys[:, None, :] - qy[cand][:, :, None]).astype("float32"))
    d2 = dy2[:, :, :, None] + dx2[:, :, None, :]  # (t, k, TILE rows, TILE cols)
    if qo is not None:
        np.sqrt(d2, out=d2)
        d2 += qo[cand].astype("float32")[:, :, None, None]
    if not with_index:
        value = d2.min(axis=1)
        best = None
    else:  # a running minimum over the k candidates: strictly better replaces
        value = d2[:, 0].copy()
        best = np.zeros(value.shape, dtype="int32")
        for j in range(1, cand.shape[1]):
            better = d2[:, j] < value
            np.copyto(value, d2[:, j], where=better)
            best[better] = j
    if qo is None:
        np.sqrt(value, out=value)
    return value, best


def nearest_point(
    grid: Grid,
    x: Any,
    y: Any,
    *,
    priority: Any = None,
    offset: Any = None,
    max_distance: float | None = None,
    return_index: bool = True,
    mask: np.ndarray | None = None,
    lower: np.ndarray | None = None,
    workers: int | None = None,
) -> Nearest:
    """Exact distance from every cell centre to the nearest point, and which point it is.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS; points outside the grid count.
    priority
        One number per point; among points at exactly the same distance from a
        cell, the one with the highest priority is chosen (then the first).
    offset
        One distance >= 0 per point added to its distance: the result is
        ``min_j (d_cj + offset_j)`` (an additively weighted nearest point, e.g.
        a bigger city counting as nearer than a small one at the same distance).
    max_distance
        Ignore points farther than this from every cell; cells farther than it
        from every point get ``max_distance`` and index -1.
    return_index
        Also return the index of the nearest point (int32, 4 bytes per cell).
    mask
        Boolean array of ``grid.shape``: tiles without a True cell are not
        measured (NaN distance, index -1), e.g. the sea around a country.
    lower
        C-contiguous float32 array of ``grid.shape`` (e.g. a distance to other
        features) lowered in place and returned as ``distance``: each measured cell
        takes the smaller of its value and its distance to the nearest point, the
        cells of tiles not measured keep theirs (NaN stays NaN; with
        ``max_distance`` every cell is capped). Needs ``return_index=False``; no
        second grid is allocated.
    workers
        Threads for the k-d tree queries (default: :data:`gis.settings.workers`,
        every core when that is not positive).

    Returns
    -------
    Nearest
        ``distance`` (float32 metres) and ``index`` (int32 or None).

    Raises
    ------
    NoDataError
        If there are no points.

    Notes
    -----
    The grid is cut into tiles of :data:`TILE` × :data:`TILE` cells. For each
    tile a k-d tree gives the distance ``d0`` from the tile's centre to its
    nearest point; every cell of the tile is then within ``d0 + r`` of a point
    (``r`` the tile's half diagonal), so only points within ``d0 + 2r`` of the
    centre can be nearest to one of its cells. Those few are measured exactly
    against every cell of the tile, vectorised (float32 squares of float64
    differences: within a few centimetres at a thousand kilometres). Tiles with
    more than :data:`DENSE` candidates (distances only, no offsets) look each
    cell up in the k-d tree and measure the point found with the same formula.
    The distance of a cell to a point is computed the same way whatever the
    tiling, so a window of a grid gets exactly the values of the whole grid.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32650)
    >>> d, i = nearest_point(g, [5.0, 95.0], [5.0, 5.0])
    >>> d
    array([[ 0., 10., 20., 30., 40.]], dtype=float32)
    >>> nearest_point(g, [5.0, 55.0], [5.0, 5.0]).index
    array([[0, 0, 0, 1, 1]], dtype=int32)
    """
    px, py, _ = points(np.ravel(x), np.ravel(y))
    if px.size == 0:
        raise NoDataError("no points to measure distance to (the layer is empty)")
    if lower is not None and (
        return_index
        or not isinstance(lower, np.ndarray)
        or lower.dtype != np.float32
        or lower.shape != grid.shape
        or not lower.flags.c_contiguous
        or not lower.flags.writeable
    ):
        raise InputError(
            f"lower must be a writable C-contiguous float32 array of the grid shape {grid.shape}, "
            "with return_index=False"
        )
    tiles = None
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != grid.shape:
            raise InputError(f"mask has shape {m.shape}, the grid {grid.shape}")
        r0, r1 = _tile_bounds(grid.height, TILE)
        c0, _ = _tile_bounds(grid.width, TILE)
        tiles = np.flatnonzero(_tile_reduce(m, np.logical_or, r0, r1, c0).ravel())
    return _nearest(grid, px, py, priority, offset, max_distance, return_index, tiles, lower,
                    workers)  # fmt: skip


def _nearest(
    grid: Grid,
    px: np.ndarray,
    py: np.ndarray,
    priority: Any,
    offset: Any,
    max_distance: float | None,
    return_index: bool,
    tiles: np.ndarray | None,
    lower: np.ndarray | None,
    workers: int | None,
    ceiling: np.ndarray | None = None,
) -> Nearest:
    """:func:`nearest_point` over the :data:`TILE` tiles numbered ``tiles`` (row-major;
    all when None), into ``lower`` when given.

    ``ceiling`` (with ``lower``, no ``offset``) is the largest value of ``lower`` in each
    tile of ``tiles``: a point farther than it from every cell of a tile cannot lower
    any of them, so it is no candidate there.
    """
    n_workers = cpu_count() if workers is None else int(workers)
    if priority is None:
        prio = np.zeros(px.size)
    else:
        prio = np.asarray(priority, dtype="float64").ravel()
        if prio.size != px.size or not np.isfinite(prio).all():
            raise InputError("priority must be one finite number per point")
    cap = limit(max_distance)
    if offset is None:
        off = np.zeros(px.size)
    else:
        off = np.asarray(offset, dtype="float64").ravel()
        if off.size != px.size or not np.isfinite(off).all() or (off < 0).any():
            raise InputError("offset must be one finite distance >= 0 per point")
    # rank of each point for ties: highest priority first, then input order
    rank = np.empty(px.size, dtype="int64")
    rank[np.lexsort((np.arange(px.size), -prio))] = np.arange(px.size)
    by_rank = np.argsort(rank)
    qx, qy, qo = px[by_rank], py[by_rank], off[by_rank]  # points in tie-break order

    h, w = grid.shape
    xc, yc = grid.centers()
    r0, r1 = _tile_bounds(h, TILE)
    c0, c1 = _tile_bounds(w, TILE)
    # tile centres and half diagonals, from the extreme cell centres
    ty = (yc[r0] + yc[r1 - 1]) / 2.0
    tx = (xc[c0] + xc[c1 - 1]) / 2.0
    hy = np.abs(yc[r0] - yc[r1 - 1]) / 2.0
    hx = np.abs(xc[c0] - xc[c1 - 1]) / 2.0
    cx = np.tile(tx, ty.size)
    cy = np.repeat(ty, tx.size)
    half = np.hypot(np.tile(hx, hy.size), np.repeat(hy, hx.size))
    dist = np.empty(grid.shape, dtype="float32") if lower is None else lower
    index = np.empty(grid.shape, dtype="int32") if return_index else None
    if tiles is None:
        tiles = np.arange(cx.size)
    else:
        if lower is None:
            dist.fill(np.nan)
        if index is not None:
            index.fill(-1)
        if tiles.size == 0:
            return Nearest(dist, index)
    # each measured cell gets its distance, or the smaller of it and its value in `lower`
    put = _put if lower is None else _lower
    tree = _tree(np.column_stack([qx, qy]))
    centres = np.column_stack([cx[tiles], cy[tiles]])
    v0 = _best_at(tree, centres, qx, qy, qo, n_workers)  # min_j (d + offset) at centres, or above
    reach = np.minimum(v0 + half[tiles], cap + half[tiles]) + half[tiles]
    if ceiling is not None and lower is not None and offset is None:
        reach = np.fmin(reach, ceiling + half[tiles])  # NaN: no bound
    reach = reach * (1.0 + 1e-9) + 1e-6  # round-off margin: never miss a candidate
    dense: list[tuple[slice, slice]] = []
    n_cols = c0.size
    if offset is None and index is None:  # dense tiles use the k-d tree cell by cell
        counts = tree.query_ball_point(centres, reach, workers=n_workers, return_length=True)
        many = np.asarray(counts) > DENSE
        for tile in tiles[many]:
            i, j = divmod(int(tile), n_cols)
            dense.append((slice(r0[i], r1[i]), slice(c0[j], c1[j])))
        tiles, centres, reach = tiles[~many], centres[~many], reach[~many]
    candidates = tree.query_ball_point(centres, reach, workers=n_workers, return_sorted=True)
    flat, counts = _flatten(candidates)
    if offset is not None and flat.size:  # a point can win only if d(centre) + o - r <= v0 + r
        owner = np.repeat(np.arange(tiles.size), counts)
        dk = np.hypot(qx[flat] - centres[owner, 0], qy[flat] - centres[owner, 1])
        keep = dk + qo[flat] <= reach[owner]
        flat, counts = flat[keep], np.bincount(owner[keep], minlength=tiles.size)
    ti, tj = np.divmod(tiles, n_cols)
    span = np.arange(TILE)
    starts = np.cumsum(counts) - counts
    jobs = _tile_jobs(counts)
    with_offset = qo if offset is not None else None

    def measure(first: int, last: int) -> None:  # jobs write disjoint tiles: any thread
        for k, sel in jobs[first:last]:
            cand = flat[starts[sel][:, None] + np.arange(k)]  # (tiles, k), tie-break order
            if k:  # the cells of each tile (edge tiles repeat their last cell)
                rows_at = np.minimum(r0[ti[sel]][:, None] + span, h - 1)
                cols_at = np.minimum(c0[tj[sel]][:, None] + span, w - 1)
                value, best = _measure(xc[cols_at], yc[rows_at], cand, qx, qy, with_offset,
                                       index is not None)  # fmt: skip
            for t, (i, j) in enumerate(zip(ti[sel].tolist(), tj[sel].tolist(), strict=True)):
                rows, cols = slice(r0[i], r1[i]), slice(c0[j], c1[j])
                nr, nc = r1[i] - r0[i], c1[j] - c0[j]
                if k == 0:
                    put(dist[rows, cols], np.float32(cap))
                    if index is not None:
                        index[rows, cols] = -1
                    continue
                put(dist[rows, cols], value[t, :nr, :nc])
                if index is not None and best is not None:
                    index[rows, cols] = by_rank[cand[t][best[t, :nr, :nc]]]

    run_chunks(len(jobs), 1, measure, workers=n_workers if n_workers > 0 else None)
    if dense:
        _lookup_tiles(tree, xc, yc, dense, dist, cap, n_workers, put)
    if math.isfinite(cap):
        far = dist > cap
        dist[far] = cap
        if index is not None:
            index[far] = -1
    return Nearest(dist, index)


def _lookup_tiles(
    tree: Any,
    xc: np.ndarray,
    yc: np.ndarray,
    tiles: list[tuple[slice, slice]],
    dist: np.ndarray,
    cap: float,
    workers: int,
    put: Callable[[np.ndarray, Any], None],
) -> None:
    """Distances of the cells of ``tiles`` to their k-d tree nearest point, in batches,
    each tile given to ``put(dist[tile], values)``."""
    bound = cap * (1.0 + 1e-9) + 1e-6 if math.isfinite(cap) else math.inf
    if isinstance(tree, _FewPoints):  # many cells against every point: a k-d tree is cheaper
        cells = sum((r.stop - r.start) * (c.stop - c.start) for r, c in tiles)
        tree = _tree(tree.data, queries=cells)
    start = 0
    while start < len(tiles):
        batch: list[tuple[slice, slice]] = []
        cells = 0
        while start < len(tiles) and (not batch or cells < _CHUNK_CELLS):
            rows, cols = tiles[start]
            batch.append((rows, cols))
            cells += (rows.stop - rows.start) * (cols.stop - cols.start)
            start += 1
        gx = np.concatenate([np.tile(xc[c], r.stop - r.start) for r, c in batch])
        gy = np.concatenate([np.repeat(yc[r], c.stop - c.start) for r, c in batch])
        _, nearest = tree.query(np.column_stack([gx, gy]), distance_upper_bound=bound,
                                workers=workers)  # fmt: skip
        found = nearest < tree.n
        values = np.full(gx.size, cap, dtype="float32")
        hit = nearest[found]
        values[found] = _pair_distance(gx[found], gy[found], tree.data[hit, 0], tree.data[hit, 1])
        at = 0
        for rows, cols in batch:
            n = (rows.stop - rows.start) * (cols.stop - cols.start)
            put(dist[rows, cols], values[at : at + n].reshape(rows.stop - rows.start, -1))
            at += n


def _put(cells: np.ndarray, values: Any) -> None:
    """Set ``cells`` (a view) to ``values``."""
    cells[...] = values


def _lower(cells: np.ndarray, values: Any) -> None:
    """Lower ``cells`` (a view) to ``values`` where those are smaller."""
    np.minimum(cells, values, out=cells)


def _edt(mask: np.ndarray, cell_size: float, workers: int) -> np.ndarray:
    """Distance (metres) from every cell centre to the nearest ``True`` cell centre of ``mask``.

    Exact to float32 round-off (at most one unit in the last place of the true
    ``sqrt(dr² + dc²) · cell_size``): the separable transform of Felzenszwalb and
    Huttenlocher (the ``edt`` package) on ``workers`` threads, with no temporary
    beyond its ``float32`` result. ``mask`` is inverted in place (it is consumed).
    """
    np.logical_not(mask, out=mask)  # the transform measures from non-zero cells to zeros
    return edt.edt(mask, anisotropy=(cell_size, cell_size), black_border=False, parallel=workers)


def _tile_reduce(
    values: np.ndarray, op: np.ufunc, r0: np.ndarray, r1: np.ndarray, c0: np.ndarray
) -> np.ndarray:
    """``op`` (``np.maximum``, ``np.logical_or``) over every tile of ``values``, tile rows
    ``r0:r1`` and tile columns from ``c0``: each band of rows reduced down its columns,
    then along them, on every core (no whole-grid temporary)."""
    result = np.empty((r0.size, c0.size), dtype=op.reduce(values[:1, :1], axis=0).dtype)

    def band(first: int, last: int) -> None:
        for i in range(first, last):
            result[i] = op.reduceat(op.reduce(values[r0[i] : r1[i]], axis=0), c0)

    run_chunks(r0.size, 1, band)
    return result


def _may_be_nearer(grid: Grid, out: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`TILE` tiles (row-major numbers) where a point of ``pts`` may be nearer
    than ``out``, and the largest value of ``out`` in each.

    A tile whose centre is ``d0`` from the nearest point has every cell at least
    ``d0 - r`` from every point (``r`` its half diagonal); where the largest value
    of ``out`` in the tile is below that, no point can lower it.
    """
    h, w = grid.shape
    xc, yc = grid.centers()
    r0, r1 = _tile_bounds(h, TILE)
    c0, c1 = _tile_bounds(w, TILE)
    ty, tx = (yc[r0] + yc[r1 - 1]) / 2.0, (xc[c0] + xc[c1 - 1]) / 2.0
    hy, hx = np.abs(yc[r0] - yc[r1 - 1]) / 2.0, np.abs(xc[c0] - xc[c1 - 1]) / 2.0
    d0, _ = _tree(pts).query(
        np.column_stack([np.tile(tx, ty.size), np.repeat(ty, tx.size)]), workers=cpu_count()
    )
    lower = d0.reshape(ty.size, tx.size) - np.hypot(hx[None, :], hy[:, None])
    top = _tile_reduce(out, np.maximum, r0, r1, c0)
    tiles = top >= lower * (1.0 - 1e-6) - 1e-3  # round-off margin: never skip a needed tile
    need = np.flatnonzero(tiles.ravel())
    return need, top.ravel()[need].astype("float64")


def shape_distance(
    grid: Grid,
    shapes: Any,
    *,
    max_distance: float | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Distance in metres from every cell centre to the nearest line or polygon.

    The parts inside the grid are rasterised (every touched cell, polygons
    filled) and measured with a Euclidean distance transform, so cells inside a
    polygon or on a line get 0; parts outside the grid are densified to points
    every ``cell_size`` metres and measured with :func:`nearest_point`, so
    features beyond the edge count. The result is within ``cell_size / sqrt(2)``
    (half a cell diagonal) of the true distance; the transform itself is exact to
    float32 round-off and holds nothing but the rasterised mask (one byte a cell)
    and its ``float32`` result.

    Parameters
    ----------
    grid
        Analysis grid.
    shapes
        Shapely lines and polygons (or a GeoSeries / GeoDataFrame) in the grid
        CRS, single- or multi-part; points are measured as they are, without
        rasterising (use :func:`nearest_point` for them).
    max_distance
        Cap the output at this many metres; also skips features beyond it.
    workers
        Threads for the distance transform and the k-d tree queries (``-1``: all
        cores; default :data:`gis.settings.workers`).

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape``; ``inf`` (or the cap) where there is no feature.

    Examples
    --------
    >>> from shapely import LineString
    >>> grid = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32635)
    >>> shape_distance(grid, [LineString([(41, 0), (41, 10)])], max_distance=25)
    array([[25., 25., 20., 10.,  0.]], dtype=float32)
    """
    cap = limit(max_distance)
    geoms = valid_geometries(shapes, grid)
    cs = grid.cell_size
    is_point = shapely.get_type_id(geoms) == 0
    point_sets = [shapely.get_coordinates(geoms[is_point])]
    geoms = geoms[~is_point]
    out: np.ndarray | None = None
    if geoms.size:
        box = shapely.box(*grid.bounds)
        shapely.prepare(box)
        inside = shapely.contains(box, geoms)
        crossing = geoms[~inside]
        raster_parts = explode(np.concatenate([geoms[inside], shapely.intersection(crossing, box)]))
        outer = shapely.difference(crossing, box)
        if math.isfinite(cap):
            outer = outer[shapely.dwithin(outer, box, cap)]
        outer = outer[~shapely.is_empty(outer)]
        if outer.size:
            xy = shapely.get_coordinates(shapely.segmentize(outer, cs))
            if math.isfinite(cap):  # points beyond the reach of every cell cannot matter
                left, bottom, right, top = grid.bounds
                near = (
                    (xy[:, 0] >= left - cap)
                    & (xy[:, 0] <= right + cap)
                    & (xy[:, 1] >= bottom - cap)
                    & (xy[:, 1] <= top + cap)
                )
                xy = xy[near]
            point_sets.append(xy)
        if raster_parts.size:
            mask = grid.rasterize(raster_parts, all_touched=True)
            if mask.any():
                threads = cpu_count() if workers is None or workers < 1 else int(workers)
                out = _edt(mask, cs, threads)
            del mask
    if out is None:
        out = np.full(grid.shape, np.inf, dtype="float32")
    pts = np.concatenate(point_sets)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.size:
        need, highest = _may_be_nearer(grid, out, pts)  # tiles where a point can beat it
        if need.size:  # lowered in place there: no second grid
            _nearest(grid, pts[:, 0], pts[:, 1], None, None, max_distance, False, need, out,
                     workers, ceiling=highest)  # fmt: skip
    if math.isfinite(cap):
        np.minimum(out, np.float32(cap), out=out)
    return out


def euclidean_distance(
    grid: Grid,
    geometries: Any,
    *,
    max_distance: float | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Straight-line distance in metres from every cell centre to the nearest feature.

    Points are measured exactly (:func:`nearest_point`); lines and polygons are
    rasterised and measured with a Euclidean distance transform
    (:func:`shape_distance`); every cell gets the smaller of the two.

    Accuracy: exact for points; for lines and polygons the result is within
    ``cell_size / sqrt(2)`` (half a cell diagonal) of the true distance, since
    a touched cell's centre lies within that distance of the feature.

    Parameters
    ----------
    grid
        Analysis grid.
    geometries
        Shapely geometries (or a GeoSeries / GeoDataFrame) in the grid CRS;
        multi-part geometries and collections are fine, empty ones are skipped.
    max_distance
        Cap the output at this many metres (cells farther away get exactly
        ``max_distance``); also skips features beyond it.
    workers
        Threads for the k-d tree queries (``-1``: all cores; default
        :data:`gis.settings.workers`).

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape``.

    Raises
    ------
    NoDataError
        If there are no (non-empty) features, so the caller can apply its
        rule for empty layers.

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> grid = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32635)
    >>> euclidean_distance(grid, [Point(5, 5)])
    array([[ 0., 10., 20., 30., 40.]], dtype=float32)
    >>> euclidean_distance(grid, [LineString([(41, 0), (41, 10)])], max_distance=25)
    array([[25., 25., 20., 10.,  0.]], dtype=float32)
    """
    limit(max_distance)  # validates before any work
    geoms = valid_geometries(geometries, grid)
    if geoms.size == 0:
        raise NoDataError("no features to measure distance to (the layer is empty)")
    is_point = shapely.get_type_id(geoms) == 0
    out: np.ndarray | None = None
    if is_point.any():
        xy = shapely.get_coordinates(geoms[is_point])
        out = nearest_point(
            grid, xy[:, 0], xy[:, 1], max_distance=max_distance, return_index=False,
            workers=workers,
        ).distance  # fmt: skip
    if not is_point.all():
        lines = shape_distance(grid, geoms[~is_point], max_distance=max_distance, workers=workers)
        out = lines if out is None else np.minimum(out, lines, out=out)
    return out if out is not None else np.full(grid.shape, np.inf, dtype="float32")
