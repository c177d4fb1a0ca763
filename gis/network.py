"""Walking networks, network distance between nodes and on a grid.

A :class:`Network` is a plain set of node coordinates and undirected edges in a
projected metric CRS. :func:`node_distance` gives, for every node, the distance
along the network to the nearest of a set of source nodes (one multi-source
Dijkstra pass, optionally with a start offset per source);
:func:`network_distance` builds on it to give, for every cell of a
:class:`~gis.grid.Grid`, the walking distance to the nearest of a set of source
points.

Distance model
--------------
Each source walks in a straight line to its nearest network node (the *snap*
leg), then along the network; each cell centre walks in a straight line to its
own nearest network node (the *access* leg). The distance of a cell is::

    access(cell) + min over sources s of (snap(s) + path(node(s), node(cell)))

Ties between equidistant nearest nodes are broken arbitrarily. Cells whose
nearest node cannot reach any source get ``inf``; restrict a
network to :meth:`Network.largest_component` first to avoid islands. Walking
time is distance divided by :data:`gis.settings.walking_speed` (see
:func:`walking_minutes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from pyproj import CRS

from gis import settings
from gis.errors import InputError, NoDataError

if TYPE_CHECKING:  # annotations only: scipy.spatial and the grid load where they are used
    from scipy import sparse
    from scipy.spatial import cKDTree

    from gis.grid import Grid

__all__ = ["Network", "network_distance", "node_distance", "walking_minutes"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Network:
    """An undirected street network with metric edge lengths.

    Parameters
    ----------
    x, y
        Node coordinates in ``crs`` (float64, one per node).
    u, v
        Edge end points as indices into ``x``/``y`` (int64, one per edge). Every
        edge is walkable both ways; duplicate edges keep their shortest length.
    length
        Edge lengths in metres (finite, non-negative).
    crs
        Projected CRS with metre units.

    The arrays are copied and made read-only, so the caller's arrays are never
    shared or modified.

    Examples
    --------
    >>> net = Network([0, 100, 100], [0, 0, 50], [0, 1], [1, 2], [100, 50], "EPSG:32635")
    >>> net.n_nodes, net.n_edges
    (3, 2)
    >>> net.to_csgraph().toarray()
    array([[  0., 100.,   0.],
           [100.,   0.,  50.],
           [  0.,  50.,   0.]])
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    crs: CRS

    def __post_init__(self) -> None:
        try:
            crs = CRS.from_user_input(self.crs)
        except Exception as exc:  # pyproj raises its own CRSError
            raise InputError(f"network crs {self.crs!r} is not a valid CRS: {exc}") from exc
        if not crs.is_projected:
            raise InputError(
                f"network CRS must be projected with metre units, got {crs.to_string()}; "
                "project the graph first (e.g. osmnx.project_graph)"
            )
        arrays = {}
        for name, dtype in (("x", "float64"), ("y", "float64"), ("length", "float64")):
            arrays[name] = _as_1d(getattr(self, name), name, dtype)
        for name in ("u", "v"):
            raw = np.asarray(getattr(self, name))
            if raw.size and not np.issubdtype(raw.dtype, np.integer):
                raise InputError(f"network {name} must hold integer node indices, got {raw.dtype}")
            arrays[name] = _as_1d(raw, name, "int64")
        n, m = arrays["x"].size, arrays["u"].size
        if arrays["y"].size != n:
            raise InputError(f"network x and y differ in length ({n} vs {arrays['y'].size})")
        if arrays["v"].size != m or arrays["length"].size != m:
            raise InputError(
                f"network u, v and length must have one value per edge, got "
                f"{m}, {arrays['v'].size} and {arrays['length'].size}"
            )
        if not (np.isfinite(arrays["x"]).all() and np.isfinite(arrays["y"]).all()):
            raise InputError("network node coordinates must be finite")
        for name in ("u", "v"):
            if m and (arrays[name].min() < 0 or arrays[name].max() >= n):
                raise InputError(
                    f"network {name} holds node indices outside 0..{n - 1}; "
                    "edges must refer to existing nodes"
                )
        if m and not (np.isfinite(arrays["length"]).all() and arrays["length"].min() >= 0):
            raise InputError("network edge lengths must be finite and non-negative metres")
        for name, a in arrays.items():
            object.__setattr__(self, name, _readonly(a))
        object.__setattr__(self, "crs", crs)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_networkx(cls, graph: Any) -> Network:
        """Build a network from a projected osmnx / networkx graph.

        Parameters
        ----------
        graph
            A graph whose nodes carry ``x`` and ``y`` and whose edges carry
            ``length`` in metres, with ``graph.graph["crs"]`` projected (as
            returned by ``osmnx.project_graph``). Directed and multi-graphs are
            fine: direction is ignored and parallel edges keep the shortest.

        Examples
        --------
        >>> import networkx as nx
        >>> g = nx.MultiDiGraph(crs="EPSG:32635")
        >>> g.add_node(10, x=0.0, y=0.0); g.add_node(20, x=30.0, y=40.0)
        >>> _ = g.add_edge(10, 20, length=55.0); _ = g.add_edge(20, 10, length=50.0)
        >>> net = Network.from_networkx(g)
        >>> net.u.tolist(), net.v.tolist(), net.length.tolist()
        ([0], [1], [50.0])
        """
        import pandas as pd

        crs = graph.graph.get("crs")
        if crs is None:
            raise InputError(
                "graph has no 'crs' attribute; project it with osmnx.project_graph first"
            )
        n = graph.number_of_nodes()
        if n == 0:
            raise NoDataError("the street graph has no nodes; the study area has no streets")
        nodes = pd.Index(list(graph.nodes))
        try:
            x = np.fromiter((d for _, d in graph.nodes(data="x")), "float64", n)
            y = np.fromiter((d for _, d in graph.nodes(data="y")), "float64", n)
        except (TypeError, ValueError) as exc:
            raise InputError("every graph node needs numeric 'x' and 'y' attributes") from exc
        if np.isnan(x).any() or np.isnan(y).any():  # a missing attribute reads as NaN
            raise InputError("every graph node needs numeric 'x' and 'y' attributes")
        m = graph.number_of_edges()
        ends = list(graph.edges(data="length"))
        u = nodes.get_indexer(pd.Index([e[0] for e in ends], dtype=nodes.dtype))
        v = nodes.get_indexer(pd.Index([e[1] for e in ends], dtype=nodes.dtype))
        try:
            length = np.fromiter((e[2] for e in ends), "float64", m)
        except (TypeError, ValueError) as exc:
            raise InputError(
                "every graph edge needs a numeric 'length' attribute in metres"
            ) from exc
        if np.isnan(length).any():
            raise InputError("every graph edge needs a numeric 'length' attribute in metres")
        a, b, w = _dedupe(u.astype("int64"), v.astype("int64"), length)
        return cls(x, y, a, b, w, crs)

    # ------------------------------------------------------------------ graph views
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size)

    @property
    def n_edges(self) -> int:
        """Number of edges as given (before removing duplicates)."""
        return int(self.u.size)

    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _dedupe(self.u, self.v, self.length)

    @cached_property
    def _tree(self) -> cKDTree:
        from scipy.spatial import cKDTree

        return cKDTree(np.column_stack([self.x, self.y]))

    @cached_property
    def _half(self) -> sparse.csr_array:
        """Each undirected edge once, row ``a`` < column ``b``, for an undirected Dijkstra.

        Built once per network from the sorted unique pairs, straight into CSR with
        ``int32`` indices (the index type :mod:`scipy.sparse.csgraph` works with).
        """
        from scipy import sparse

        a, b, w = self._pairs
        n = self.n_nodes
        itype = np.int32 if max(n, a.size) < np.iinfo(np.int32).max else np.int64
        indptr = np.zeros(n + 1, dtype=itype)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        return sparse.csr_array((w, b.astype(itype), indptr), shape=(n, n))

    def to_csgraph(self) -> sparse.csr_array:
        """Symmetric sparse adjacency matrix of edge lengths (shortest of duplicate edges).

        Zero-length edges are stored as explicit zeros, which
        :mod:`scipy.sparse.csgraph` treats as edges. Self-loops are dropped.
        """
        from scipy import sparse

        a, b, w = self._pairs
        n = self.n_nodes
        return sparse.coo_array(
            (np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
            shape=(n, n),
        ).tocsr()

    def largest_component(self) -> Network:
        """The network restricted to its largest connected component, nodes renumbered.

        Examples
        --------
        >>> net = Network([0, 1, 2, 10, 11], [0] * 5, [0, 1, 3], [1, 2, 4], [1, 1, 1], 32635)
        >>> sub = net.largest_component()
        >>> sub.x.tolist(), sub.u.tolist(), sub.v.tolist()
        ([0.0, 1.0, 2.0], [0, 1], [1, 2])
        """
        from scipy.sparse.csgraph import connected_components

        if self.n_nodes == 0:
            return self
        _, labels = connected_components(self.to_csgraph(), directed=False)
        keep = labels == np.bincount(labels).argmax()
        new_index = np.cumsum(keep) - 1
        edge_keep = keep[self.u]  # both ends share a component
        return Network(
            self.x[keep],
            self.y[keep],
            new_index[self.u[edge_keep]],
            new_index[self.v[edge_keep]],
            self.length[edge_keep],
            self.crs,
        )


def _as_1d(a: Any, name: str, dtype: str) -> np.ndarray:
    try:
        out = np.array(a, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"network {name} must be numeric, got {type(a).__name__}") from exc
    if out.ndim != 1:
        raise InputError(f"network {name} must be one-dimensional, got shape {out.shape}")
    return out


def _dedupe(
    u: np.ndarray, v: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected edges once each as ``(a < b)`` with the shortest length; self-loops dropped.

    Sorted by ``(a, b)``. One stable sort of the single key ``a * n + b`` (fast on
    edges that are already nearly in order), skipped when they are in order.
    """
    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    if not keep.all():
        a, b, w = a[keep], b[keep], w[keep]
    if a.size == 0:
        return a, b, w
    key = a * (int(b.max()) + 1) + b
    if bool((key[1:] > key[:-1]).all()):  # in order and unique already
        return a, b, w
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    return a[order[starts]], b[order[starts]], np.minimum.reduceat(w[order], starts)


def _check_points(x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype="float64").ravel()
    y = np.asarray(y, dtype="float64").ravel()
    if x.size != y.size:
        raise InputError(f"{what} x and y differ in length ({x.size} vs {y.size})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError(f"{what} coordinates must be finite (drop or fix missing geometries)")
    return x, y


def _check_max_distance(max_distance: float | None) -> float:
    if max_distance is None:
        return np.inf
    if not (np.isfinite(max_distance) and max_distance > 0):
        raise InputError(
            f"max_distance must be a positive number of metres or None, got {max_distance!r}"
        )
    return float(max_distance)


@overload
def node_distance(
    network: Network,
    sources: Any,
    *,
    offsets: Any = None,
    max_distance: float | None = None,
    return_source: Literal[False] = False,
) -> np.ndarray: ...


@overload
def node_distance(
    network: Network,
    sources: Any,
    *,
    offsets: Any = None,
    max_distance: float | None = None,
    return_source: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def node_distance(
    network: Network,
    sources: Any,
    *,
    offsets: Any = None,
    max_distance: float | None = None,
    return_source: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Distance along the network from every node to the nearest source node.

    One multi-source Dijkstra pass over the network's undirected edges. Each
    source may start with an offset, e.g. the straight access leg from a point to
    the node it snapped to; a node's distance is then the smallest
    ``offset(s) + path(s, node)`` over the sources ``s``.

    Parameters
    ----------
    network
        The network.
    sources
        Source node indices (integers in ``0 .. n_nodes - 1``, one-dimensional;
        repeats are fine).
    offsets
        Start distance of each source in metres (finite, non-negative, one per
        source); ``None`` starts every source at 0.
    max_distance
        Stop searching beyond this many metres; farther nodes get ``inf``.
    return_source
        Also return, for every node, the position in ``sources`` of its nearest
        source (``-1`` where none is reached). Between sources at the same
        distance the choice is arbitrary; among repeats of one node, the one with
        the smallest offset (then the first) is named.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        ``float64`` distance per node (``inf`` where no source is reachable), and
        with ``return_source`` the ``int64`` source positions.

    Raises
    ------
    NoDataError
        If there are no sources or the network has no nodes.
    InputError
        On non-integer or out-of-range sources, offsets that do not match the
        sources or are negative or not finite, or a non-positive ``max_distance``.

    Examples
    --------
    A path 0 - 1 - 2 - 3 with 10 m edges and sources at both ends, the one at
    node 3 starting 15 m away:

    >>> net = Network([0, 10, 20, 30], [0] * 4, [0, 1, 2], [1, 2, 3], [10] * 3, 32635)
    >>> node_distance(net, [0, 3])
    array([ 0., 10., 10.,  0.])
    >>> dist, source = node_distance(net, [0, 3], offsets=[0, 15], return_source=True)
    >>> dist.tolist(), source.tolist()
    ([0.0, 10.0, 20.0, 15.0], [0, 0, 0, 1])
    >>> node_distance(net, [0], max_distance=15)
    array([ 0., 10., inf, inf])
    """
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    limit = _check_max_distance(max_distance)
    n = network.n_nodes
    if n == 0:
        raise NoDataError("the network has no nodes; the study area has no streets")
    src = np.asarray(sources)
    if src.ndim > 1:
        raise InputError(f"sources must be one-dimensional node indices, got shape {src.shape}")
    src = src.ravel()
    if src.size == 0:
        raise NoDataError("no sources to measure network distance from")
    if not np.issubdtype(src.dtype, np.integer):
        raise InputError(f"sources must be integer node indices, got {src.dtype}")
    src = src.astype(np.int64, copy=False)
    if src.min() < 0 or src.max() >= n:
        raise InputError(
            f"sources hold node indices outside 0..{n - 1}; they must name nodes of the network"
        )
    if offsets is None:
        order = np.argsort(src, kind="stable")
    else:
        try:
            off = np.asarray(offsets, dtype="float64")
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"offsets must be numbers of metres, got {type(offsets).__name__}"
            ) from exc
        if off.shape != src.shape:
            raise InputError(
                f"offsets must hold one value per source, got shape {off.shape} "
                f"for {src.size} sources"
            )
        if not (np.isfinite(off).all() and off.min() >= 0):
            raise InputError("offsets must be finite, non-negative metres")
        order = np.lexsort((np.arange(src.size), off, src))
    # one start per node: its smallest offset, the first source on ties
    first = np.ones(src.size, dtype=bool)
    first[1:] = src[order[1:]] != src[order[:-1]]
    position = order[first]
    start = src[position]

    half = network._half
    indices: Any
    if offsets is None or not off[position].any():
        graph, indices, min_only = half, start, True
    else:  # a virtual node n joined to every start by its offset
        graph = sparse.csr_array(
            (
                np.concatenate([half.data, off[position]]),
                np.concatenate([half.indices, start.astype(half.indices.dtype)]),
                np.append(half.indptr, half.indptr[-1] + start.size),
            ),
            shape=(n + 1, n + 1),
        )
        indices, min_only = n, False
    result = dijkstra(
        graph,
        directed=False,
        indices=indices,
        limit=limit,
        min_only=min_only,
        return_predecessors=return_source,
    )
    if not return_source:
        return np.asarray(result[:n])
    dist = result[0][:n]
    if min_only:
        origin = result[2].astype(np.int64)
    else:  # follow the predecessors up to the node that left the virtual one
        pred = result[1][:n].astype(np.int64)
        origin = np.where((pred < 0) | (pred == n), np.arange(n), pred)
        while True:
            up = origin[origin]
            if np.array_equal(up, origin):
                break
            origin = up
    lookup = np.full(n, -1, dtype=np.int64)
    lookup[start] = position
    source = np.where(np.isfinite(dist), lookup[np.maximum(origin, 0)], -1)
    return dist, source


def network_distance(
    grid: Grid,
    network: Network,
    source_x: Any,
    source_y: Any,
    *,
    max_distance: float | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Walking distance in metres from every cell centre to the nearest source.

    Sources snap to their nearest node and cells reach the network at theirs
    (straight-line legs, see the module notes); the network part is
    :func:`node_distance` from the snapped nodes, each starting at its snap
    distance.

    Parameters
    ----------
    grid
        Analysis grid, in the same CRS as ``network``.
    network
        Walking network (usually :meth:`Network.largest_component`).
    source_x, source_y
        Source coordinates in the grid CRS (sources may lie outside the grid).
    max_distance
        Stop searching beyond this many metres; farther cells get ``inf``.
    workers
        Threads for the nearest-node queries (``-1``: all cores; default
        :data:`gis.settings.workers`).

    Returns
    -------
    numpy.ndarray
        ``float32`` of ``grid.shape``; ``inf`` where no source is reachable
        (another connected component, or beyond ``max_distance``).

    Raises
    ------
    NoDataError
        If there are no sources or the network has no nodes.
    InputError
        On mismatched coordinates, CRS or a non-positive ``max_distance``.

    Examples
    --------
    A street along y=5 with a node every 20 m and a source at its east end; each
    cell walks 5 m to its nearest node, then along the street:

    >>> from gis.grid import Grid
    >>> grid = Grid.from_bounds((0, 0, 100, 10), cell_size=10, crs=32635)
    >>> net = Network(np.arange(0, 101, 20), np.full(6, 5), np.arange(5), np.arange(1, 6),
    ...               np.full(5, 20), 32635)
    >>> network_distance(grid, net, [100], [5])
    array([[105.,  85.,  85.,  65.,  65.,  45.,  45.,  25.,  25.,   5.]],
          dtype=float32)
    >>> network_distance(grid, net, [100], [5], max_distance=60)
    array([[inf, inf, inf, inf, inf, 45., 45., 25., 25.,  5.]], dtype=float32)
    """
    from gis._parallel import query_centres, resolve_workers

    limit = _check_max_distance(max_distance)
    sx, sy = _check_points(source_x, source_y, "source")
    if sx.size == 0:
        raise NoDataError("no sources to measure network distance to")
    if network.n_nodes == 0:
        raise NoDataError("the network has no nodes; the study area has no streets")
    if CRS.from_user_input(grid.crs) != network.crs:
        raise InputError(
            f"network CRS {network.crs.to_string()} differs from the grid CRS "
            f"{CRS.from_user_input(grid.crs).to_string()}; project the network to the grid CRS"
        )

    n = network.n_nodes
    tree = network._tree
    snap, node = tree.query(np.column_stack([sx, sy]), workers=resolve_workers(workers))
    node_dist = node_distance(network, node, offsets=snap, max_distance=max_distance)

    out = np.empty(grid.shape, dtype="float32")
    for r0, r1, access, idx in query_centres(
        grid, tree, limit=limit, workers=resolve_workers(workers)
    ):
        far = idx == n
        idx[far] = 0
        total = access + node_dist[idx]
        total[far | (total > limit)] = np.inf
        out[r0:r1] = total.reshape(r1 - r0, grid.width)
    return out


def walking_minutes(distance: Any) -> Any:
    """Walking time in minutes for a distance in metres at :data:`gis.settings.walking_speed`.

    Keeps the dtype of a ``float32`` array (and ``inf`` stays ``inf``).

    Examples
    --------
    >>> walking_minutes(500.0)
    6.0
    >>> walking_minutes(np.array([0, 250, np.inf], dtype="float32"))
    array([ 0.,  3., inf], dtype=float32)
    """
    d = np.asarray(distance)
    if not np.issubdtype(d.dtype, np.floating):
        d = d.astype("float64")
    out = d / d.dtype.type(settings.walking_speed * 60.0)
    return float(out) if out.ndim == 0 and np.isscalar(distance) else out
