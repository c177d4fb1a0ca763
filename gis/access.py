"""Access to point facilities: nearest point by distance transform, class-dependent decay.

:func:`nearest_point` gives every cell the distance to, and the index of, its
nearest point (a city, an airport, a station). Points inside the grid are
binned to their cells and spread with an exact Euclidean distance transform
(linear in cells, independent of the number of points); the chosen point's true
coordinates then give the distance. Points outside the grid are found with the
rule that a point beyond the edge can be nearest to an inside cell only if it is
nearest to some point of the grid's edge; those few are measured directly, and
only on cells farther from their inside point than from the edge.

Accuracy: the distance is exact to the point chosen; that point may be another
than the true nearest when two lie within a cell diagonal of each other, so the
distance exceeds the true nearest distance by at most ``cell_size * sqrt(2)``.

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
from scipy import ndimage
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

#: At most this many outside candidates are measured by broadcasting; more use a k-d tree.
_BROADCAST_MAX = 16

#: With at most this many points, distances are computed exactly for every cell by
#: broadcasting (squared distance is separable: a column term plus a row term).
_DIRECT_MAX = 32


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


def _edge_distance_rows(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Distance of cell centres to the nearest grid edge, separately per row and per column."""
    c = grid.cell_size
    rows = (np.minimum(np.arange(grid.height), grid.height - 1 - np.arange(grid.height)) + 0.5) * c
    cols = (np.minimum(np.arange(grid.width), grid.width - 1 - np.arange(grid.width)) + 0.5) * c
    return rows, cols


def _edge_samples(grid: Grid) -> np.ndarray:
    """Points every half cell along the four edges of the grid's box."""
    left, bottom, right, top = grid.bounds
    xs = np.linspace(left, right, 2 * grid.width + 1)
    ys = np.linspace(bottom, top, 2 * grid.height + 1)
    pts = np.concatenate(
        [
            np.column_stack([xs, np.full(xs.size, bottom)]),
            np.column_stack([xs, np.full(xs.size, top)]),
            np.column_stack([np.full(ys.size, left), ys]),
            np.column_stack([np.full(ys.size, right), ys]),
        ]
    )
    return pts


def _outside_candidates(
    grid: Grid, px: np.ndarray, py: np.ndarray, outside: np.ndarray, limit: float
) -> np.ndarray:
    """Indices of outside points that can be nearest to some cell (see the module docstring)."""
    idx = np.flatnonzero(outside)
    if idx.size == 0:
        return idx
    if math.isfinite(limit):
        left, bottom, right, top = grid.bounds
        dx = np.maximum(np.maximum(left - px[idx], px[idx] - right), 0.0)
        dy = np.maximum(np.maximum(bottom - py[idx], py[idx] - top), 0.0)
        idx = idx[np.hypot(dx, dy) <= limit]
        if idx.size == 0:
            return idx
    xy = np.column_stack([px, py])
    tree = cKDTree(xy)
    samples = _edge_samples(grid)
    d1, _ = tree.query(samples)
    # a point nearest to an edge point b is within d1(s) + |s - b| + |s - b| of a sample s
    hits = tree.query_ball_point(samples, d1 + grid.cell_size)
    near = np.unique(np.concatenate([np.asarray(h, dtype="int64") for h in hits]))
    return np.intersect1d(near, idx)


def nearest_point(
    grid: Grid,
    x: Any,
    y: Any,
    *,
    priority: Any = None,
    max_distance: float | None = None,
    return_index: bool = True,
) -> Nearest:
    """Distance from every cell centre to the nearest point, and which point it is.

    Parameters
    ----------
    grid
        Analysis grid.
    x, y
        Point coordinates in the grid CRS; points outside the grid count.
    priority
        One number per point; when several points fall in one cell, the one
        with the highest priority represents it (e.g. the most populous city).
        Default: the first one.
    max_distance
        Ignore points farther than this from every cell; cells farther than it
        from every point get ``max_distance`` and index -1.
    return_index
        Also return the index of the nearest point (int32, 4 bytes per cell).

    Returns
    -------
    Nearest
        ``distance`` (float32 metres) and ``index`` (int32 or None).

    Raises
    ------
    NoDataError
        If there are no points.

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

    h, w = grid.shape
    if px.size <= _DIRECT_MAX:
        return _nearest_direct(grid, px, py, limit, return_index)
    cs = grid.cell_size
    col = np.floor((px - grid.transform.c) / cs)
    row = np.floor((grid.transform.f - py) / cs)
    inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)

    # Outside points that can matter; the near ones join the distance transform on a
    # grid padded just enough to hold them, the far ones (if any) are measured directly.
    cand = _outside_candidates(grid, px, py, ~inside, limit)
    gap = np.maximum(
        np.maximum(-row[cand] - 1, row[cand] - h), np.maximum(-col[cand] - 1, col[cand] - w)
    ).astype("int64") + 1  # padding (cells) needed to hold each candidate
    pad_max = _padding_budget(h, w)
    near, far = cand[gap <= pad_max], cand[gap > pad_max]
    pad = int(gap[gap <= pad_max].max()) if near.size else 0
    seeds = np.concatenate([np.flatnonzero(inside), near])
    dist, index = _nearest_edt(grid, px, py, prio, row, col, seeds, pad, return_index)
    if far.size:
        _nearest_far(grid, px, py, far, dist, index, float(gap[gap > pad_max].min() - 1) * cs)

    if math.isfinite(limit):
        reach = ~(dist <= limit)
        dist[reach] = limit
        if index is not None:
            index[reach] = -1
    return Nearest(dist, index)


def _padding_budget(h: int, w: int, growth: float = 0.3) -> int:
    """Largest padding P (cells) with (h + 2P)(w + 2P) <= (1 + growth) h w."""
    s = h + w
    return max(1, int((-s + math.sqrt(s * s + 4.0 * growth * h * w)) / 4.0))


def _nearest_edt(
    grid: Grid,
    px: np.ndarray,
    py: np.ndarray,
    prio: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    seeds: np.ndarray,
    pad: int,
    return_index: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Nearest seed point of every cell by a distance transform on the grid padded by ``pad``."""
    h, w = grid.shape
    ph, pw = h + 2 * pad, w + 2 * pad
    dist = np.full(grid.shape, np.inf, dtype="float32")
    index = np.full(grid.shape, -1, dtype="int32") if return_index else None
    if seeds.size == 0:
        return dist, index
    flat = (row[seeds] + pad).astype("int64") * pw + (col[seeds] + pad).astype("int64")
    order = np.lexsort((seeds, -prio[seeds], flat))  # by cell, best priority first
    flat, ids = flat[order], seeds[order]
    first = np.r_[True, flat[1:] != flat[:-1]]
    seed_flat, seed_id = flat[first], ids[first]
    mask = np.ones((ph, pw), dtype=bool)
    mask.flat[seed_flat] = False
    ft = np.empty((2, ph, pw), dtype="int32")
    ndimage.distance_transform_edt(mask, return_distances=False, return_indices=True, indices=ft)
    del mask
    seed = None
    if index is not None:
        seed = np.empty((ph, pw), dtype="int32")
        seed.flat[seed_flat] = seed_id
    xc, yc = grid.centers()
    cols = np.arange(pad, pad + w, dtype="float32")
    cs = np.float32(grid.cell_size)
    step = max(1, _CHUNK_CELLS // w)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        fr = ft[0, pad + r0 : pad + r1, pad : pad + w]
        fc = ft[1, pad + r0 : pad + r1, pad : pad + w]
        if seed is None:  # distance to the centre of the point's cell
            dr = (fr - np.arange(pad + r0, pad + r1, dtype="int32")[:, None]).astype("float32")
            dist[r0:r1] = np.hypot(dr, fc.astype("float32") - cols) * cs
        else:  # exact distance to the chosen point
            nid = seed[fr, fc]
            index[r0:r1] = nid
            dx = (xc[None, :] - px[nid]).astype("float32")
            dy = (yc[r0:r1, None] - py[nid]).astype("float32")
            dist[r0:r1] = np.hypot(dx, dy)
    return dist, index


def _nearest_far(
    grid: Grid,
    px: np.ndarray,
    py: np.ndarray,
    far: np.ndarray,
    dist: np.ndarray,
    index: np.ndarray | None,
    min_gap: float,
) -> None:
    """Update ``dist``/``index`` in place with far outside points, on the cells they can reach."""
    h, w = grid.shape
    xc, yc = grid.centers()
    erow, ecol = _edge_distance_rows(grid)
    tree = None
    if far.size > _BROADCAST_MAX:
        tree = cKDTree(np.column_stack([px[far], py[far]]))
    cx = px[far].astype("float32")
    cy = py[far].astype("float32")
    step = max(1, _CHUNK_CELLS // w)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        block = dist[r0:r1]
        # a far point is at least (distance to the edge + its gap) away from a cell
        need = block > (np.minimum(erow[r0:r1, None], ecol[None, :]) + min_gap).astype("float32")
        if not need.any():
            continue
        rr, cc = np.nonzero(need)
        qx, qy = xc[cc], yc[r0 + rr]
        if tree is None:
            dd = np.hypot(
                qx.astype("float32")[:, None] - cx[None, :],
                qy.astype("float32")[:, None] - cy[None, :],
            )
            k = np.argmin(dd, axis=1)
            best = dd[np.arange(k.size), k]
        else:
            best, k = tree.query(np.column_stack([qx, qy]))
        better = best < block[rr, cc]
        block[rr[better], cc[better]] = best[better]
        if index is not None:
            index[r0 + rr[better], cc[better]] = far[k[better]]


def _nearest_direct(
    grid: Grid, px: np.ndarray, py: np.ndarray, limit: float, return_index: bool
) -> Nearest:
    """Exact nearest point for few points: ``min_k (dx_k² [col] + dy_k² [row])``, chunked."""
    xc, yc = grid.centers()
    dx2 = ((xc[None, :] - px[:, None]) ** 2).astype("float32")  # (k, width)
    dy2 = ((yc[None, :] - py[:, None]) ** 2).astype("float32")  # (k, height)
    h, w = grid.shape
    k = px.size
    dist = np.empty(grid.shape, dtype="float32")
    index = np.empty(grid.shape, dtype="int32") if return_index else None
    step = max(1, (_CHUNK_CELLS * 8) // (w * k))
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        d2 = dy2[:, r0:r1, None] + dx2[:, None, :]  # (k, rows, width)
        if index is None:
            np.sqrt(d2.min(axis=0), out=dist[r0:r1])
        else:
            best = d2.argmin(axis=0)
            index[r0:r1] = best
            np.sqrt(np.take_along_axis(d2, best[None], axis=0)[0], out=dist[r0:r1])
    if math.isfinite(limit):
        far = ~(dist <= limit)
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
        Classes measured in parallel (default: all cores; the distance transform
        releases the interpreter lock).

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
                                        threads=threads)  # fmt: skip
    results = [(n, distances[n], counts[n]) for n in present]

    acc: np.ndarray | None = None
    h, w = grid.shape
    step = max(1, _CHUNK_CELLS // w)
    for name, d, _ in results:
        c = spec[name]
        if acc is None:
            acc = np.ones(grid.shape, dtype="float32") if combine == "union" else np.zeros(
                grid.shape, dtype="float32"
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
        Classes measured at once (default: all cores; the distance transform
        releases the interpreter lock).

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
        d = nearest_point(grid, px[sel], py[sel], return_index=False).distance
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
