"""Access to point facilities of several classes, each with its own distance decay.

Distances are exact, from :func:`gis.distance.nearest_point` (points outside the
grid included; windows of a grid agree exactly with the whole grid).
:func:`class_access` combines several classes of facilities (international and
domestic airports, high-speed-rail stations, ports) into one access index, each
class with its own weight and distance decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gis._parallel import cpu_count
from gis._validate import points
from gis.decay import DecayFunction, decay
from gis.distance import nearest_point
from gis.errors import InputError, NoDataError
from gis.grid import Grid

__all__ = [
    "COMBINE",
    "AccessClass",
    "AccessResult",
    "class_access",
    "class_distances",
]

#: Cells per chunk of the row-chunked steps.
_CHUNK_CELLS = 1 << 18


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    px, py, _ = points(np.ravel(x), np.ravel(y))
    return px, py


@dataclass(frozen=True)
class AccessClass:
    """Weight and distance decay of one class of facilities.

    ``access_c(d) = weight · decay(d; scale, **params)``, with ``d`` the distance
    to the nearest facility of the class and ``decay`` a :data:`gis.decay.DECAYS`
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
    (:func:`gis.distance.nearest_point`). ``combine="union"`` gives ``1 - Π_c (1 - a_c)``,
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
        Cells to measure (see :func:`gis.distance.nearest_point`); others get NaN.

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
    px, py = _xy(x, y)
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
        Cells to measure (see :func:`gis.distance.nearest_point`); others get NaN.

    Returns
    -------
    distances, counts
        Class -> float32 distance raster (:func:`gis.distance.nearest_point`), class -> points.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 30, 10), cell_size=10, crs=32650)
    >>> d, n = class_distances(g, [5.0, 25.0, 15.0], [5.0, 5.0, 5.0], ["a", "a", "b"])
    >>> d["a"], n
    (array([[ 0., 10.,  0.]], dtype=float32), {'a': 2, 'b': 1})
    >>> d["b"]
    array([[10.,  0., 10.]], dtype=float32)
    """
    px, py = _xy(x, y)
    cls = np.asarray(classes).astype(str).ravel()
    if cls.size != px.size:
        raise InputError(f"give one class per point: {cls.size} classes for {px.size} points")
    names = [str(k) for k in (dict.fromkeys(cls) if keep is None else keep)]

    def one(name: str) -> tuple[str, np.ndarray, int]:
        sel = cls == name
        d = nearest_point(grid, px[sel], py[sel], return_index=False, mask=mask).distance
        return name, d, int(sel.sum())

    n_threads = len(names) if threads is None else max(1, int(threads))
    n_threads = max(1, min(n_threads, len(names), cpu_count()))
    if n_threads > 1:
        with ThreadPoolExecutor(n_threads) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(n) for n in names]
    return {n: d for n, d, _ in results}, {n: c for n, _, c in results}
