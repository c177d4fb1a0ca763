"""Thread counts, chunk loops on threads and chunked k-d tree queries of cell centres
(private to ``gis``)."""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from gis import settings

if TYPE_CHECKING:  # annotations only: importing this module stays cheap
    from scipy.spatial import cKDTree

    from gis.grid import Grid

T = TypeVar("T")
R = TypeVar("R")

#: Cells handled per chunk of cell centres (bounds the query temporaries).
CHUNK_CELLS = 1 << 20


def resolve_workers(value: int | None) -> int:
    """Thread count for k-d tree queries: ``value`` or :data:`gis.settings.workers` (-1: all)."""
    return settings.workers if value is None else int(value)


def cpu_count() -> int:
    """Threads to use: :data:`gis.settings.workers`, or every core when it is not positive."""
    n = settings.workers if settings.workers > 0 else (os.cpu_count() or 1)
    return max(1, int(n))


def run_chunks(
    size: int, chunk: int, job: Callable[[int, int], None], *, workers: int | None = None
) -> None:
    """Call ``job(start, stop)`` for the pieces ``[start, stop)`` of ``range(size)``, ``chunk``
    long, on :func:`cpu_count` threads, each thread taking one contiguous run of pieces.

    For numpy work on disjoint slices: numpy releases the GIL in its loops, so the threads
    share the cores while each piece stays small enough for the cache. The pieces are the
    same whatever the thread count, so the results are too. The first error is raised.
    Called from a worker thread (a window engine or Dask already running blocks in
    parallel), the pieces run on that thread alone: no pools within pools.
    """
    pieces = -(-size // chunk)
    threads = min(cpu_count() if workers is None else max(1, int(workers)), pieces)
    if threading.current_thread() is not threading.main_thread():
        threads = 1
    if threads <= 1 or pieces < 2 * threads:
        for start in range(0, size, chunk):
            job(start, min(size, start + chunk))
        return
    span = -(-pieces // threads) * chunk

    def run(first: int) -> None:
        for start in range(first, min(size, first + span), chunk):
            job(start, min(size, start + chunk))

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(run, first) for first in range(0, size, span)]:
            future.result()


def map_in_order(
    function: Callable[[T], R], items: Iterable[T], *, workers: int | None = None
) -> Iterator[R]:
    """``function(item)`` for each of ``items`` on :func:`cpu_count` threads, yielded in
    the order of ``items``, with at most two items per thread in flight (so results wait
    in memory only while the caller is slower). Called from a worker thread, the items
    run on that thread alone, as in :func:`run_chunks`."""
    todo = iter(items)
    threads = cpu_count() if workers is None else max(1, int(workers))
    if threads <= 1 or threading.current_thread() is not threading.main_thread():
        yield from map(function, todo)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending = deque(pool.submit(function, item) for item in islice(todo, 2 * threads))
        try:
            while pending:
                done = pending.popleft().result()
                pending.extend(pool.submit(function, item) for item in islice(todo, 1))
                yield done
        finally:
            for future in pending:
                future.cancel()


def centre_chunks(grid: Grid) -> Iterator[tuple[int, int, np.ndarray]]:
    """Row chunks of cell centres as ``(r0, r1, points[(r1-r0)*width, 2])``."""
    xs, ys = grid.centers()
    step = max(1, CHUNK_CELLS // grid.width)
    for r0 in range(0, grid.height, step):
        r1 = min(grid.height, r0 + step)
        pts = np.empty(((r1 - r0) * grid.width, 2))
        pts[:, 0] = np.tile(xs, r1 - r0)
        pts[:, 1] = np.repeat(ys[r0:r1], grid.width)
        yield r0, r1, pts


#: Largest side in cells of the blocks whose cells :func:`query_centres` measures together.
BLOCK_CELLS = 16

#: Nearest points :func:`query_centres` asks the k-d tree for at each block centre first;
#: a block whose candidates may lie beyond them asks again for :data:`BLOCK_K`. A k-nearest
#: query costs about its ``k``: on a 100 m street lattice nearly every block is settled by 6
#: (the stage benchmark's network distance, 16 M cells: 1.15-1.48 s against 1.84-2.14 s with
#: 12 alone, alternated).
BLOCK_K_FIRST = 6

#: Nearest points :func:`query_centres` asks for at block centres the first query left open.
BLOCK_K = 12


def query_centres(
    grid: Grid, tree: cKDTree, *, limit: float, workers: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Nearest tree point of every cell centre, in row chunks: ``(r0, r1, dist, index)``.

    Centres farther than ``limit`` get ``dist=inf`` and ``index=tree.n``. Exact. Where
    the points in the grid are at least 5 cells apart on average, one k-d tree query
    serves a square block of cells half as wide as that spacing (3 to
    :data:`BLOCK_CELLS` cells): a point can be nearest to a cell of the block
    only if it lies within ``d1 + 2 r`` of the block centre (``d1`` the distance of
    the centre's nearest point, ``r`` the block's half diagonal); when the
    :data:`BLOCK_K`-th nearest point of the centre is farther than that, the cells are
    measured against the points before it, vectorised, the lowest index winning
    among points at exactly the same distance. The tree is asked for the
    :data:`BLOCK_K_FIRST` nearest points first, and for :data:`BLOCK_K` at the blocks
    that did not settle; the blocks still open query the tree cell by cell.
    """
    height, width = grid.shape
    cs = grid.cell_size
    n = tree.n
    left, bottom, right, top = grid.bounds
    px, py = tree.data[:, 0], tree.data[:, 1]
    inside = np.count_nonzero((px >= left) & (px <= right) & (py >= bottom) & (py <= top))
    spacing = math.sqrt((right - left) * (top - bottom) / max(int(inside), 1))
    side = spacing / cs / 2.0  # block side in cells: half the mean spacing of the points
    if side < 2.5:  # about a point per block: the tree, cell by cell, is cheaper
        for r0, r1, pts in centre_chunks(grid):
            dist, idx = tree.query(pts, distance_upper_bound=limit, workers=workers)
            yield r0, r1, dist, idx
        return
    s = int(min(BLOCK_CELLS, round(side)))
    k = min(BLOCK_K, n)
    k_first = min(BLOCK_K_FIRST, k)
    reach_add = 2.0 * (s - 1) / 2.0 * cs * math.sqrt(2.0)
    n_bc = -(-width // s)
    x_pad = grid.transform.c + (np.arange(n_bc * s) + 0.5) * cs
    bx = grid.transform.c + (np.arange(n_bc) * s + s / 2.0) * cs
    step = max(s, (CHUNK_CELLS // 4 // max(width, 1)) // s * s)
    # the row chunks on every core (numpy releases the GIL in its loops), each tree
    # query then on its own thread
    inner = 1 if cpu_count() > 1 else workers

    def rows(r0: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        r1 = min(height, r0 + step)
        n_br = -(-(r1 - r0) // s)
        y_pad = grid.transform.f - (r0 + np.arange(n_br * s) + 0.5) * cs
        by = grid.transform.f - (r0 + np.arange(n_br) * s + s / 2.0) * cs
        centres = np.column_stack([np.tile(bx, n_br), np.repeat(by, n_bc)])
        dist = np.empty((n_br, s, n_bc, s))
        index = np.empty((n_br, s, n_bc, s), dtype=np.intp)

        def settled(blocks: np.ndarray, k: int) -> np.ndarray:
            """Measure those of ``blocks`` whose ``k`` nearest points hold all candidates;
            return the others."""
            q = centres if blocks.size == len(centres) else centres[blocks]
            d, i = tree.query(q, k=k, workers=inner)
            d, i = d.reshape(blocks.size, k), i.reshape(blocks.size, k)
            reach = (d[:, 0] + reach_add) * (1.0 + 1e-9) + 1e-6  # round-off margin
            sure = d[:, -1] > reach if k < n else np.ones(blocks.size, dtype=bool)
            br, bc = np.divmod(blocks[sure], n_bc)
            cand = np.sort(i[sure], axis=1)  # lowest index first: ties go to it
            dx2 = np.square(x_pad.reshape(n_bc, s)[bc][:, :, None] - px[cand][:, None, :])
            dy2 = np.square(y_pad.reshape(n_br, s)[br][:, :, None] - py[cand][:, None, :])
            best = dy2[:, :, None, 0] + dx2[:, None, :, 0]  # (blocks, rows, cols)
            which = np.broadcast_to(cand[:, None, None, 0], best.shape).copy()
            for m in range(1, k):  # strictly nearer only: the lower index keeps a tie
                d2 = dy2[:, :, None, m] + dx2[:, None, :, m]
                nearer = d2 < best
                np.copyto(best, d2, where=nearer)
                np.copyto(which, cand[:, None, None, m], where=nearer)
            dist[br, :, bc, :] = np.sqrt(best)
            index[br, :, bc, :] = which
            return blocks[~sure]

        rest = settled(np.arange(len(centres)), k_first)
        if rest.size and k > k_first:
            rest = settled(rest, k)
        if rest.size:  # dense points: every cell of these blocks on its own
            br, bc = np.divmod(rest, n_bc)
            gx = np.broadcast_to(x_pad.reshape(n_bc, s)[bc][:, None, :], (rest.size, s, s))
            gy = np.broadcast_to(y_pad.reshape(n_br, s)[br][:, :, None], (rest.size, s, s))
            dd, ii = tree.query(np.column_stack([gx.ravel(), gy.ravel()]), workers=inner)
            dist[br, :, bc, :] = dd.reshape(rest.size, s, s)
            index[br, :, bc, :] = ii.reshape(rest.size, s, s)
        dist_rows = dist.reshape(n_br * s, n_bc * s)[: r1 - r0, :width].ravel()
        index_rows = index.reshape(n_br * s, n_bc * s)[: r1 - r0, :width].ravel()
        far = dist_rows >= limit  # as the tree: only points nearer than the limit
        dist_rows[far] = np.inf
        index_rows[far] = n
        return r0, r1, dist_rows, index_rows

    yield from map_in_order(rows, range(0, height, step))
