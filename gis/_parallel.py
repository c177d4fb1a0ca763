"""Thread counts and chunked k-d tree queries of cell centres (private to ``gis``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
from scipy.spatial import cKDTree

from gis import settings
from gis.grid import Grid

#: Cells handled per chunk of cell centres (bounds the query temporaries).
CHUNK_CELLS = 1 << 20


def resolve_workers(value: int | None) -> int:
    """Thread count for k-d tree queries: ``value`` or :data:`gis.settings.workers` (-1: all)."""
    return settings.workers if value is None else int(value)


def cpu_count() -> int:
    """Threads to use: :data:`gis.settings.workers`, or every core when it is not positive."""
    n = settings.workers if settings.workers > 0 else (os.cpu_count() or 1)
    return max(1, int(n))


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


def query_centres(
    grid: Grid, tree: cKDTree, *, limit: float, workers: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Nearest tree point of every cell centre, in row chunks: ``(r0, r1, dist, index)``.

    Centres farther than ``limit`` get ``dist=inf`` and ``index=tree.n``.
    """
    for r0, r1, pts in centre_chunks(grid):
        dist, idx = tree.query(pts, distance_upper_bound=limit, workers=workers)
        yield r0, r1, dist, idx
