"""Access to point facilities: exact nearest point, class-dependent decay.

:func:`nearest_point` gives every cell the exact distance to, and the index of,
its nearest point (a city, an airport, a station), points outside the grid
included. The grid is measured in tiles: a k-d tree bounds, for each tile, the
few points that can be nearest to any of its cells, and those are measured
against every cell of the tile at once. The result depends only on the cell and
the points, never on the tiling, so windows of a large grid computed apart agree
exactly with the whole grid.

:func:`class_access` combines several classes of facilities (international and
domestic airports, high-speed-rail stations, ports) into one access index, each
class with its own weight and distance decay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from gis import settings
from gis.errors import InputError, NoDataError
from gis.grid import Grid
from gis.potential import DecayFunction, decay

__all__ = [
    "COMBINE",
    "AccessClass",
    "AccessResult",
    "Nearest",
    "class_access",
    "class_distances",
    "nearest_point",
]

#: Cells per chunk of the row-chunked steps.
_CHUNK_CELLS = 1 << 18

#: Side in cells of the tiles :func:`nearest_point` measures together.
TILE: int = 64


class Nearest(NamedTuple):
    """Result of :func:`nearest_point`."""

    distance: np.ndarray  # float32 metres from each cell centre to its nearest point
    index: np.ndarray | None  # int32 index of that point (-1 beyond max_distance)


def _points(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    px = np.asarray(x, dtype="float64").ravel()
    py = np.asarray(y, dtype="float64").ravel()
    if px.size != py.size:
        raise InputError(f"x and y must have equal length, got {px.size} and {py.size}")
    if not (np.isfinite(px).all() and np.isfinite(py).all()):
        raise InputError("point coordinates must be finite; drop points without a location")
    return px, py


def _tile_bounds(n: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(0, n, tile)
    return starts, np.minimum(starts + tile, n)


def _best_at(
    tree: cKDTree, q: np.ndarray, px: np.ndarray, py: np.ndarray, off: np.ndarray
) -> np.ndarray:
    """An upper bound of ``min_j (|q - p_j| + off_j)`` at query points (exact for few offsets).

    With at most 16 distinct offsets (classes), one k-d tree query per offset
    value gives the exact minimum; with more, the nearest point's distance plus
    its offset bounds it from above, which is all the tile pruning needs.
    """
    d, i = tree.query(q, workers=_cpu_count())
    if not off.any():
        return d
    values = np.unique(off)
    if values.size > 16:
        return d + off[i]
    best = np.full(len(q), np.inf)
    for value in values:
        sel = np.flatnonzero(off == value)
        d, _ = cKDTree(np.column_stack([px[sel], py[sel]])).query(q, workers=_cpu_count())
        np.minimum(best, d + value, out=best)
    return best


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
    differences: within a few centimetres at a thousand kilometres). The
    distance of a cell to a point is computed the same way whatever the tiling,
    so a window of a grid gets exactly the values of the whole grid.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32650)
    >>> d, i = nearest_point(g, [5.0, 95.0], [5.0, 5.0])
    >>> d
    array([[ 0., 10., 20., 30., 40.]], dtype=float32)
    >>> nearest_point(g, [5.0, 55.0], [5.0, 5.0]).index
    array([[0, 0, 0, 1, 1]], dtype=int32)
    """
    px, py = _points(x, y)
    if px.size == 0:
        raise NoDataError("no points to measure distance to (the layer is empty)")
    if priority is None:
        prio = np.zeros(px.size)
    else:
        prio = np.asarray(priority, dtype="float64").ravel()
        if prio.size != px.size or not np.isfinite(prio).all():
            raise InputError("priority must be one finite number per point")
    limit = math.inf
    if max_distance is not None:
        limit = float(max_distance)
        if not (math.isfinite(limit) and limit > 0):
            raise InputError(f"max_distance must be a positive distance, got {max_distance!r}")
    # rank of each point for ties: highest priority first, then input order
    if offset is None:
        off = np.zeros(px.size)
    else:
        off = np.asarray(offset, dtype="float64").ravel()
        if off.size != px.size or not np.isfinite(off).all() or (off < 0).any():
            raise InputError("offset must be one finite distance >= 0 per point")
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
    dist = np.empty(grid.shape, dtype="float32")
    index = np.empty(grid.shape, dtype="int32") if return_index else None
    tiles = np.arange(cx.size)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != grid.shape:
            raise InputError(f"mask has shape {m.shape}, the grid {grid.shape}")
        counts = np.add.reduceat(np.add.reduceat(m.astype("int32"), r0, axis=0), c0, axis=1)
        tiles = np.flatnonzero(counts.ravel() > 0)
        dist.fill(np.nan)
        if index is not None:
            index.fill(-1)
        if tiles.size == 0:
            return Nearest(dist, index)
    tree = cKDTree(np.column_stack([qx, qy]))
    centres = np.column_stack([cx[tiles], cy[tiles]])
    v0 = _best_at(tree, centres, qx, qy, qo)  # min_j (d + offset) at tile centres, or above
    reach = np.minimum(v0 + half[tiles], limit + half[tiles]) + half[tiles]
    reach = reach * (1.0 + 1e-9) + 1e-6  # round-off margin: never miss a candidate
    candidates = tree.query_ball_point(centres, reach, workers=_cpu_count(), return_sorted=True)
    n_cols = c0.size
    for t, tile, cand in zip(range(tiles.size), tiles, candidates, strict=True):
        i, j = divmod(int(tile), n_cols)
        rows, cols = slice(r0[i], r1[i]), slice(c0[j], c1[j])
        k = np.asarray(cand, dtype="int64")  # ascending: tie-break order
        if offset is not None and k.size:  # a point can win only if d(centre) + o - r <= v0 + r
            dk = np.hypot(qx[k] - centres[t, 0], qy[k] - centres[t, 1])
            k = k[dk + qo[k] <= reach[t]]
        if k.size == 0:
            dist[rows, cols] = limit
            if index is not None:
                index[rows, cols] = -1
            continue
        dx2 = np.square((xc[cols][None, :] - qx[k][:, None]).astype("float32"))  # (k, width)
        dy2 = np.square((yc[rows][None, :] - qy[k][:, None]).astype("float32"))  # (k, height)
        d2 = dy2[:, :, None] + dx2[:, None, :]  # (k, rows, cols)
        if offset is not None:
            d2 = np.sqrt(d2) + qo[k].astype("float32")[:, None, None]
        best = d2.argmin(axis=0)  # first of equal minima: the best-ranked point
        value = np.take_along_axis(d2, best[None], axis=0)[0]
        dist[rows, cols] = value if offset is not None else np.sqrt(value)
        if index is not None:
            index[rows, cols] = by_rank[k[best]]
    if math.isfinite(limit):
        far = dist > limit
        dist[far] = limit
        if index is not None:
            index[far] = -1
    return Nearest(dist, index)


@dataclass(frozen=True)
class AccessClass:
    """Weight and distance decay of one class of facilities.

    ``access_c(d) = weight · decay(d; scale, **params)``, with ``d`` the distance
    to the nearest facility of the class and ``decay`` a :data:`gis.potential.DECAYS`
    name or callable.
    """

    weight: float
    scale: float
    decay: str | DecayFunction = "exponential"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.weight, int | float) and 0 <= self.weight <= 1):
            raise InputError(f"class weight must be in 0..1, got {self.weight!r}")
        decay(np.zeros(1), self.decay, scale=self.scale, **self.params)  # validates


#: How class accesses are combined: ``"union"`` is ``1 - Π(1 - a_c)`` (several kinds of
#: hubs within reach count more than one, as in a comprehensive gateway), ``"max"`` the best.
COMBINE: tuple[str, ...] = ("union", "max")


class AccessResult(NamedTuple):
    """Result of :func:`class_access`."""

    access: np.ndarray  # float32 combined access index 0..1
    distances: dict[str, np.ndarray]  # class -> float32 distance to its nearest facility (m)
    counts: dict[str, int]  # class -> number of facilities used


def class_access(
    grid: Grid,
    x: Any,
    y: Any,
    classes: Any,
    *,
    spec: Mapping[str, AccessClass],
    combine: str = "union",
    threads: int | None = None,
    mask: np.ndarray | None = None,
) -> AccessResult:
    """Access index from facilities of several classes, each with its own weight and decay.

    For every class ``c`` present, ``a_c = weight_c · decay_c(d_c)`` where
    ``d_c`` is the distance from the cell to the nearest facility of that class
    (:func:`nearest_point`). ``combine="union"`` gives ``1 - Π_c (1 - a_c)``,
    ``"max"`` gives ``max_c a_c``; both lie in ``0..1``.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Facility coordinates in the grid CRS.
    classes
        Class name of every facility; names must be keys of ``spec``.
    spec
        Class name to :class:`AccessClass`.
    combine
        One of :data:`COMBINE`.
    threads
        Classes measured in parallel (default: all cores; the distance
        computations release the interpreter lock).
    mask
        Cells to measure (see :func:`nearest_point`); others get NaN.

    Returns
    -------
    AccessResult

    Raises
    ------
    InputError
        A class missing from ``spec`` (named in the message) or a bad option.
    NoDataError
        If there are no facilities.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 40, 10), cell_size=10, crs=32650)
    >>> spec = {"airport": AccessClass(1.0, 10.0, "linear"),
    ...         "port": AccessClass(0.5, 20.0, "linear")}
    >>> r = class_access(g, [5.0, 35.0], [5.0, 5.0], ["airport", "port"], spec=spec)
    >>> r.access
    array([[1.  , 0.  , 0.25, 0.5 ]], dtype=float32)
    >>> r.distances["port"]
    array([[30., 20., 10.,  0.]], dtype=float32)
    """
    px, py = _points(x, y)
    cls = np.asarray(classes, dtype=object).ravel()
    if cls.size != px.size:
        raise InputError(f"give one class per facility: {cls.size} classes for {px.size} points")
    if combine not in COMBINE:
        raise InputError(f"combine must be one of {COMBINE}, got {combine!r}")
    if px.size == 0:
        raise NoDataError("no facilities to measure access to")
    names = list(dict.fromkeys(str(c) for c in cls))
    unknown = [n for n in names if n not in spec]
    if unknown:
        raise InputError(f"unknown facility class(es) {unknown}; known classes are {sorted(spec)}")
    present = [n for n in spec if n in names and spec[n].weight > 0]
    distances, counts = class_distances(grid, px, py, cls.astype(str), keep=present,
                                        threads=threads, mask=mask)  # fmt: skip
    results = [(n, distances[n], counts[n]) for n in present]

    acc: np.ndarray | None = None
    h, w = grid.shape
    step = max(1, _CHUNK_CELLS // w)
    for name, d, _ in results:
        c = spec[name]
        if acc is None:
            acc = (
                np.ones(grid.shape, dtype="float32")
                if combine == "union"
                else np.zeros(grid.shape, dtype="float32")
            )
        for r0 in range(0, h, step):
            a = decay(d[r0 : r0 + step], c.decay, scale=c.scale, **c.params)
            a *= np.float32(c.weight)
            if combine == "union":
                acc[r0 : r0 + step] *= 1.0 - a
            else:
                np.maximum(acc[r0 : r0 + step], a, out=acc[r0 : r0 + step])
    if acc is None:
        access = np.zeros(grid.shape, dtype="float32")
    elif combine == "union":
        access = np.subtract(1.0, acc, dtype="float32")
    else:
        access = acc
    np.clip(access, 0.0, 1.0, out=access)
    return AccessResult(
        access,
        {name: d for name, d, _ in results},
        {name: n for name, _, n in results},
    )


def class_distances(
    grid: Grid,
    x: Any,
    y: Any,
    classes: Any,
    *,
    keep: Any = None,
    threads: int | None = None,
    mask: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Distance from every cell to the nearest point of each class (classes in parallel).

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS.
    classes
        Class label of each point.
    keep
        Only these classes (default: every class present).
    threads
        Classes measured at once (default: all cores; the distance
        computations release the interpreter lock).
    mask
        Cells to measure (see :func:`nearest_point`); others get NaN.

    Returns
    -------
    distances, counts
        Class -> float32 distance raster (:func:`nearest_point`), class -> points.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 30, 10), cell_size=10, crs=32650)
    >>> d, n = class_distances(g, [5.0, 25.0, 15.0], [5.0, 5.0, 5.0], ["a", "a", "b"])
    >>> d["a"], n
    (array([[ 0., 10.,  0.]], dtype=float32), {'a': 2, 'b': 1})
    >>> d["b"]
    array([[10.,  0., 10.]], dtype=float32)
    """
    px, py = _points(x, y)
    cls = np.asarray(classes).astype(str).ravel()
    if cls.size != px.size:
        raise InputError(f"give one class per point: {cls.size} classes for {px.size} points")
    names = [str(k) for k in (dict.fromkeys(cls) if keep is None else keep)]

    def one(name: str) -> tuple[str, np.ndarray, int]:
        sel = cls == name
        d = nearest_point(grid, px[sel], py[sel], return_index=False, mask=mask).distance
        return name, d, int(sel.sum())

    n_threads = len(names) if threads is None else max(1, int(threads))
    n_threads = max(1, min(n_threads, len(names), _cpu_count()))
    if n_threads > 1:
        with ThreadPoolExecutor(n_threads) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(n) for n in names]
    return {n: d for n, d, _ in results}, {n: c for n, _, c in results}


def _cpu_count() -> int:
    import os

    n = settings.workers if settings.workers > 0 else (os.cpu_count() or 1)
    return max(1, int(n))
