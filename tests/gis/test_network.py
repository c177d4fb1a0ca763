"""Tests for gis.network against networkx and hand-computed legs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis import settings as gis_settings
from gis.errors import InputError, NoDataError
from gis.grid import Grid
from gis.network import Network, network_distance, node_distance, walking_minutes

CRS = "EPSG:32635"


def cell_centres(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = grid.centers()
    cx, cy = np.meshgrid(xs, ys)
    return cx.ravel(), cy.ravel()


def nearest(px, py, nx_, ny_):
    """Brute-force nearest node and its distance for each point."""
    d = np.hypot(np.asarray(px)[:, None] - nx_, np.asarray(py)[:, None] - ny_)
    i = d.argmin(axis=1)
    return i, d[np.arange(i.size), i]


def reference(grid, net: Network, sx, sy, max_distance=None):
    """Distance field with networkx: a super source joined to snapped nodes by snap distance."""
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
            g.add_edge(a, b, weight=w)
    node, snap = nearest(sx, sy, net.x, net.y)
    for n_, s_ in zip(node.tolist(), snap.tolist(), strict=True):
        if not g.has_edge("S", n_) or g["S"][n_]["weight"] > s_:
            g.add_edge("S", n_, weight=s_)
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="weight")
    node_dist = np.array([dist.get(i, np.inf) for i in range(net.n_nodes)])
    cx, cy = cell_centres(grid)
    cnode, access = nearest(cx, cy, net.x, net.y)
    total = access + node_dist[cnode]
    if max_distance is not None:
        total[total > max_distance] = np.inf
    return total.reshape(grid.shape)


def square_network() -> Network:
    # 0 --- 1        a 100 m square with a 150 m detour edge 0-2 and
    # |     |        an island 4-5 far east
    # 3 --- 2
    x = [0.0, 100.0, 100.0, 0.0, 400.0, 450.0]
    y = [100.0, 100.0, 0.0, 0.0, 50.0, 50.0]
    u = [0, 1, 2, 3, 0, 4, 1]
    v = [1, 2, 3, 0, 2, 5, 0]
    length = [100.0, 100.0, 100.0, 100.0, 150.0, 50.0, 130.0]  # 1-0 duplicate is longer
    return Network(x, y, u, v, length, CRS)


def test_network_distance_hand_checked_and_networkx():
    net = square_network()
    grid = Grid.from_bounds((-20, -20, 480, 120), cell_size=20, crs=CRS)
    sx, sy = np.array([0.0, 100.0]), np.array([100.0, 100.0])  # sources on nodes 0 and 1
    got = network_distance(grid, net, sx, sy)
    assert got.dtype == np.float32 and got.shape == grid.shape

    # networkx multi-source Dijkstra from the two source nodes (snap legs are 0)
    g = nx.Graph()
    g.add_weighted_edges_from(
        [(0, 1, 100), (1, 2, 100), (2, 3, 100), (3, 0, 100), (0, 2, 150), (4, 5, 50)]
    )
    node_dist = nx.multi_source_dijkstra_path_length(g, {0, 1})
    assert node_dist == {0: 0, 1: 0, 2: 100, 3: 100}
    cx, cy = cell_centres(grid)
    cnode, access = nearest(cx, cy, net.x, net.y)
    want = access + np.array([node_dist.get(i, np.inf) for i in range(6)])[cnode]
    np.testing.assert_allclose(got.ravel(), want, rtol=1e-6)

    # a few cells by hand: the cell centred at (10, 10) walks 10*sqrt(2) to node 3
    r, c = grid.rowcol(np.array([10.0]), np.array([10.0]))[:2]
    assert got[r[0], c[0]] == pytest.approx(100 + 10 * math.sqrt(2), rel=1e-6)
    r, c = grid.rowcol(np.array([430.0]), np.array([50.0]))[:2]
    assert got[r[0], c[0]] == np.inf  # nearest node is on the island


def test_network_distance_snap_legs_by_hand():
    net = square_network()
    grid = Grid.from_bounds((0, 0, 100, 100), cell_size=50, crs=CRS)
    # source 30 m below node 2 (snap 30); cell (25, 75) walks 25*sqrt(2) to node 0
    got = network_distance(grid, net, [100.0], [-30.0])
    d0 = 30 + 150  # node 2 -> node 0 over the 150 m edge
    access = 25 * math.sqrt(2)
    want = np.array([[d0 + access, 30 + 100 + access], [30 + 100 + access, 30 + access]])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_network_distance_max_distance_and_limit():
    net = square_network()
    grid = Grid.from_bounds((-20, -20, 480, 120), cell_size=20, crs=CRS)
    full = network_distance(grid, net, [0.0], [100.0])
    lim = network_distance(grid, net, [0.0], [100.0], max_distance=120.0)
    want = np.where(full <= 120.0, full, np.inf)
    np.testing.assert_array_equal(lim, want)
    assert np.isfinite(lim).any() and np.isinf(lim).any()


@given(
    seed=st.integers(0, 2**32 - 1),
    n_nodes=st.integers(1, 12),
    n_edges=st.integers(0, 25),
    n_sources=st.integers(1, 4),
    max_distance=st.one_of(st.none(), st.floats(20.0, 400.0)),
)
@settings(max_examples=60, deadline=None)
def test_network_distance_property_random_graphs(seed, n_nodes, n_edges, n_sources, max_distance):
    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 200, 150), cell_size=25, crs=CRS)
    x = rng.uniform(-30, 230, n_nodes)
    y = rng.uniform(-30, 180, n_nodes)
    u = rng.integers(0, n_nodes, n_edges)
    v = rng.integers(0, n_nodes, n_edges)
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 2.0, n_edges)
    length[rng.random(n_edges) < 0.1] = 0.0  # zero-length edges are real edges
    net = Network(x, y, u, v, length, CRS)
    sx = rng.uniform(-50, 250, n_sources)
    sy = rng.uniform(-50, 200, n_sources)
    got = network_distance(grid, net, sx, sy, max_distance=max_distance)
    want = reference(grid, net, sx, sy, max_distance)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_network_distance_inputs_unmodified_and_readonly():
    x = np.array([0.0, 100.0])
    y = np.array([0.0, 0.0])
    u, v, w = np.array([0]), np.array([1]), np.array([100.0])
    net = Network(x, y, u, v, w, CRS)
    x[0] = 50.0  # the network holds its own copy
    assert net.x[0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        net.length[0] = 1.0
    sx, sy = np.array([100.0]), np.array([0.0])
    grid = Grid.from_bounds((0, 0, 100, 10), cell_size=10, crs=CRS)
    network_distance(grid, net, sx, sy)
    assert sx.tolist() == [100.0] and sy.tolist() == [0.0]


def test_network_distance_bad_input():
    net = square_network()
    grid = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=CRS)
    with pytest.raises(NoDataError, match="no sources"):
        network_distance(grid, net, [], [])
    with pytest.raises(InputError, match="differ in length"):
        network_distance(grid, net, [1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="finite"):
        network_distance(grid, net, [np.nan], [1.0])
    for bad in (0.0, -5.0, math.inf):
        with pytest.raises(InputError, match="max_distance"):
            network_distance(grid, net, [0.0], [0.0], max_distance=bad)
    other = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs="EPSG:32636")
    with pytest.raises(InputError, match="CRS"):
        network_distance(other, net, [0.0], [0.0])
    empty = Network([], [], [], [], [], CRS)
    with pytest.raises(NoDataError, match="no nodes"):
        network_distance(grid, empty, [0.0], [0.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"u": [0], "v": [5]}, "outside"),
        ({"u": [-1], "v": [0]}, "outside"),
        ({"length": [-1.0]}, "non-negative"),
        ({"length": [np.nan]}, "finite"),
        ({"length": [1.0, 2.0]}, "one value per edge"),
        ({"y": [0.0]}, "differ in length"),
        ({"x": [0.0, np.inf]}, "finite"),
        ({"u": [0.5]}, "integer"),
        ({"crs": "EPSG:4326"}, "projected"),
        ({"crs": "not a crs"}, "valid CRS"),
    ],
)
def test_network_validation(kwargs, match):
    args = {"x": [0.0, 1.0], "y": [0.0, 0.0], "u": [0], "v": [1], "length": [1.0], "crs": CRS}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        Network(**args)


def test_to_csgraph_symmetric_min_weight_and_zero_edges():
    net = Network(
        [0, 1, 2, 3], [0, 0, 0, 0], [0, 1, 1, 2, 3], [1, 0, 2, 3, 3], [5.0, 3.0, 0.0, 2.0, 1.0], CRS
    )
    m = net.to_csgraph()
    dense = m.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert dense[0, 1] == 3.0 and dense[3, 3] == 0.0  # self-loop dropped
    assert m.nnz == 6  # 0-1, 1-2 (explicit zero), 2-3, both ways
    from scipy.sparse.csgraph import dijkstra

    assert dijkstra(m, indices=0).tolist() == [0.0, 3.0, 3.0, 5.0]


def test_largest_component_reindexes():
    net = square_network()
    sub = net.largest_component()
    assert sub.n_nodes == 4
    np.testing.assert_array_equal(sub.x, [0, 100, 100, 0])
    assert set(zip(sub.u.tolist(), sub.v.tolist(), strict=True)) == {
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
        (0, 2),
        (1, 0),
    }
    # distances on the component equal those on the whole network where reachable
    grid = Grid.from_bounds((-20, -20, 120, 120), cell_size=20, crs=CRS)
    np.testing.assert_array_equal(
        network_distance(grid, sub, [0.0], [100.0]), network_distance(grid, net, [0.0], [100.0])
    )


def osm_like_graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs=CRS)
    g.add_node(1001, x=0.0, y=0.0)
    g.add_node(2002, x=60.0, y=80.0)
    g.add_node(3003, x=60.0, y=0.0)
    g.add_edge(1001, 2002, length=110.0)
    g.add_edge(2002, 1001, length=100.0)
    g.add_edge(1001, 2002, length=120.0)
    g.add_edge(2002, 3003, length=80.0)
    g.add_edge(3003, 3003, length=10.0)
    return g


def test_from_networkx():
    net = Network.from_networkx(osm_like_graph())
    np.testing.assert_array_equal(net.x, [0, 60, 60])
    np.testing.assert_array_equal(net.y, [0, 80, 0])
    edges = sorted(zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True))
    assert edges == [(0, 1, 100.0), (1, 2, 80.0)]
    assert net.crs.to_epsg() == 32635


def test_from_networkx_bad_graphs():
    g = osm_like_graph()
    g.graph.pop("crs")
    with pytest.raises(InputError, match="project_graph"):
        Network.from_networkx(g)
    g = osm_like_graph()
    g.graph["crs"] = "EPSG:4326"
    with pytest.raises(InputError, match="projected"):
        Network.from_networkx(g)
    g = osm_like_graph()
    g.add_edge(1001, 3003)
    with pytest.raises(InputError, match="length"):
        Network.from_networkx(g)
    g = osm_like_graph()
    g.add_node(4004)
    with pytest.raises(InputError, match="'x' and 'y'"):
        Network.from_networkx(g)
    with pytest.raises(NoDataError, match="no nodes"):
        Network.from_networkx(nx.MultiDiGraph(crs=CRS))


def test_walking_minutes():
    assert walking_minutes(gis_settings.walking_speed * 60) == pytest.approx(1.0)
    d = np.array([0.0, 1000.0, np.inf], dtype="float32")
    out = walking_minutes(d)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 12.0, np.inf], rtol=1e-6)
    assert d[1] == 1000.0


def test_from_networkx_after_osmnx_projection():
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_node(1, x=24.94, y=60.17)
    g.add_node(2, x=24.95, y=60.17)
    g.add_edge(1, 2, length=560.0)
    g.add_edge(2, 1, length=560.0)
    net = Network.from_networkx(ox.project_graph(g))  # offline: projects the node attributes
    assert net.crs.to_epsg() == 32635
    assert net.u.tolist() == [0] and net.v.tolist() == [1] and net.length.tolist() == [560.0]
    assert math.hypot(net.x[1] - net.x[0], net.y[1] - net.y[0]) == pytest.approx(555, abs=5)


@given(
    seed=st.integers(0, 2**32 - 1),
    n_points=st.integers(1, 400),
    clustered=st.booleans(),
    limit=st.one_of(st.just(math.inf), st.floats(5.0, 300.0)),
    k_first=st.sampled_from([1, 2, 6]),
)
@settings(max_examples=60, deadline=None)
def test_query_centres_blocks_match_the_tree_cell_by_cell(
    seed, n_points, clustered, limit, k_first
):
    """Blocks measured against their few candidate points (settled by the first query or
    the second, and dense blocks looked up cell by cell) give every cell the distance of
    the tree's own nearest point, and an index at it."""
    from unittest import mock

    from scipy.spatial import cKDTree

    from gis import _parallel
    from gis._parallel import centre_chunks, query_centres

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 1370, 990), cell_size=10, crs=CRS)
    xy = rng.uniform(-100, 1470, (n_points, 2))
    if clustered:  # a dense cluster next to sparse points: both kinds of block
        xy[: n_points // 2] = rng.normal(400, 15, (n_points // 2, 2))
    xy = np.round(xy / 5) * 5  # points on a 5 m lattice: exact ties between points
    tree = cKDTree(xy)
    with mock.patch.object(_parallel, "BLOCK_K_FIRST", k_first):
        got = list(query_centres(grid, tree, limit=limit, workers=1))
    want = list(centre_chunks(grid))
    assert [(a, b) for a, b, _, _ in got] == [(a, b) for a, b, _ in want]
    for (_, _, dist, idx), (_, _, pts) in zip(got, want, strict=True):
        d_tree, _ = tree.query(pts, distance_upper_bound=limit)
        np.testing.assert_array_equal(dist, d_tree)
        found = idx < tree.n
        np.testing.assert_array_equal(found, np.isfinite(d_tree))
        at = np.hypot(pts[found, 0] - xy[idx[found], 0], pts[found, 1] - xy[idx[found], 1])
        np.testing.assert_allclose(at, d_tree[found], rtol=1e-12)


class _CountingTree:
    """A k-d tree that records the ``k`` and the number of centres of every query."""

    def __init__(self, xy: np.ndarray) -> None:
        from scipy.spatial import cKDTree

        self._tree = cKDTree(xy)
        self.n, self.data = self._tree.n, self._tree.data
        self.calls: list[tuple[int, int]] = []

    def query(self, q, k=1, **kw):
        self.calls.append((k, len(q)))
        return self._tree.query(q, k=k, **kw)


def test_query_centres_asks_again_only_where_the_first_query_left_blocks_open():
    """Sparse points settle every block with the first, small query; a dense cluster leaves
    some blocks open, and only those are asked for more points (and the rest cell by cell)."""
    from gis._parallel import BLOCK_K, BLOCK_K_FIRST, CHUNK_CELLS, centre_chunks, query_centres

    grid = Grid.from_bounds((0, 0, 2000, 2000), cell_size=10, crs=CRS)
    assert grid.size <= CHUNK_CELLS // 4  # one row chunk: one first query
    lattice = np.stack(np.meshgrid(np.arange(50, 2000, 100.0), np.arange(50, 2000, 100.0)))
    sparse = _CountingTree(lattice.reshape(2, -1).T)
    list(query_centres(grid, sparse, limit=math.inf, workers=1))
    assert [k for k, _ in sparse.calls] == [BLOCK_K_FIRST]

    rng = np.random.default_rng(3)
    dense = np.concatenate([lattice.reshape(2, -1).T, rng.normal(1000, 20, (300, 2))])
    clustered = _CountingTree(dense)
    got = list(query_centres(grid, clustered, limit=math.inf, workers=1))
    first, second = clustered.calls[:2]
    assert first[0] == BLOCK_K_FIRST and second[0] == BLOCK_K
    assert 0 < second[1] < first[1]  # only the open blocks, asked again
    pts = np.concatenate([p for _, _, p in centre_chunks(grid)])
    d_tree, _ = clustered._tree.query(pts)
    np.testing.assert_array_equal(np.concatenate([d for _, _, d, _ in got]), d_tree)


# ---------------------------------------------------------------------- node_distance
def nx_graph(net: Network) -> nx.Graph:
    """The network as a networkx graph, duplicate edges keeping the shortest."""
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
            g.add_edge(a, b, weight=w)
    return g


def nx_node_distance(net: Network, sources, offsets=None, max_distance=None):
    """networkx reference: distances and the node of the nearest source, via a super source."""
    g = nx_graph(net)
    offsets = np.zeros(len(sources)) if offsets is None else np.asarray(offsets, float)
    g.add_node("s")
    for s, o in zip(sources, offsets.tolist(), strict=True):
        if not g.has_edge("s", s) or g["s"][s]["weight"] > o:
            g.add_edge("s", s, weight=o)
    d, paths = nx.single_source_dijkstra(g, "s", cutoff=max_distance, weight="weight")
    dist = np.array([d.get(i, np.inf) for i in range(net.n_nodes)])
    origin = np.array([paths[i][1] if i in paths else -1 for i in range(net.n_nodes)])
    return dist, origin


def random_network(rng, n_nodes, n_edges):
    x = rng.uniform(0, 200, n_nodes)
    y = rng.uniform(0, 200, n_nodes)
    u = rng.integers(0, n_nodes, n_edges)
    v = rng.integers(0, n_nodes, n_edges)
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 2.0, n_edges)
    length[rng.random(n_edges) < 0.1] = 0.0  # zero-length edges are real edges
    return Network(x, y, u, v, length, CRS)


def test_node_distance_hand_checked():
    # 0 -10- 1 -10- 2 -10- 3, and a 25 m shortcut 0-3
    net = Network([0, 10, 20, 30], [0] * 4, [0, 1, 2, 0], [1, 2, 3, 3], [10, 10, 10, 25], CRS)
    np.testing.assert_array_equal(node_distance(net, [0]), [0, 10, 20, 25])
    np.testing.assert_array_equal(node_distance(net, [1, 3]), [10, 0, 10, 0])
    dist, src = node_distance(net, [3, 0], offsets=[1.0, 2.5], return_source=True)
    np.testing.assert_array_equal(dist, [2.5, 12.5, 11, 1])
    np.testing.assert_array_equal(src, [1, 1, 0, 0])
    np.testing.assert_array_equal(node_distance(net, [0], max_distance=20), [0, 10, 20, np.inf])
    # repeats of a node: the smallest offset counts, and its position is returned
    dist, src = node_distance(net, [2, 2, 2], offsets=[7.0, 3.0, 3.0], return_source=True)
    np.testing.assert_array_equal(dist, [23, 13, 3, 13])
    np.testing.assert_array_equal(src, [1, 1, 1, 1])


def test_node_distance_unreached_islands():
    net = Network([0, 1, 2, 3], [0] * 4, [0, 2], [1, 3], [5, 5], CRS)
    dist, src = node_distance(net, [0], return_source=True)
    np.testing.assert_array_equal(dist, [0, 5, np.inf, np.inf])
    np.testing.assert_array_equal(src, [0, 0, -1, -1])
    dist, src = node_distance(net, [1], offsets=[2.0], return_source=True)
    np.testing.assert_array_equal(dist, [7, 2, np.inf, np.inf])
    np.testing.assert_array_equal(src, [0, 0, -1, -1])


@given(
    seed=st.integers(0, 2**32 - 1),
    n_nodes=st.integers(1, 30),
    n_edges=st.integers(0, 60),
    n_sources=st.integers(1, 6),
    with_offsets=st.booleans(),
    max_distance=st.one_of(st.none(), st.floats(20.0, 400.0)),
)
@settings(max_examples=80, deadline=None)
def test_node_distance_property_networkx(
    seed, n_nodes, n_edges, n_sources, with_offsets, max_distance
):
    rng = np.random.default_rng(seed)
    net = random_network(rng, n_nodes, n_edges)
    sources = rng.integers(0, n_nodes, n_sources)
    offsets = rng.uniform(0, 80, n_sources) if with_offsets else None
    dist, src = node_distance(
        net, sources, offsets=offsets, max_distance=max_distance, return_source=True
    )
    want, _ = nx_node_distance(net, sources.tolist(), offsets, max_distance)
    np.testing.assert_allclose(dist, want, rtol=1e-12, atol=1e-9)
    if offsets is None:
        multi = nx.multi_source_dijkstra_path_length(
            nx_graph(net), set(sources.tolist()), cutoff=max_distance
        )
        np.testing.assert_allclose(
            dist, [multi.get(i, np.inf) for i in range(n_nodes)], rtol=1e-12, atol=1e-9
        )
    np.testing.assert_array_equal(
        node_distance(net, sources, offsets=offsets, max_distance=max_distance), dist
    )
    # the named source really is at that distance: offset + path from its node
    reached = np.isfinite(dist)
    np.testing.assert_array_equal(src[~reached], -1)
    assert ((src[reached] >= 0) & (src[reached] < n_sources)).all()
    g = nx_graph(net)
    off = np.zeros(n_sources) if offsets is None else offsets
    for node in np.flatnonzero(reached)[:10].tolist():
        s = int(src[node])
        path = nx.dijkstra_path_length(g, int(sources[s]), node, weight="weight")
        assert off[s] + path == pytest.approx(dist[node], abs=1e-9)


def test_node_distance_multi_source_dijkstra_networkx():
    rng = np.random.default_rng(7)
    net = random_network(rng, 300, 700)
    sources = rng.choice(300, 12, replace=False)
    want = nx.multi_source_dijkstra_path_length(nx_graph(net), set(sources.tolist()))
    got = node_distance(net, sources)
    np.testing.assert_allclose(got, [want.get(i, np.inf) for i in range(300)], rtol=1e-12)


def test_node_distance_graph_built_once():
    net = Network([0, 10, 20], [0] * 3, [0, 1], [1, 2], [10, 10], CRS)
    node_distance(net, [0])
    half = net._half
    node_distance(net, [2], offsets=[3.0])
    assert net._half is half
    assert half.nnz == 2  # each undirected edge once


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sources": []}, NoDataError, "no sources"),
        ({"sources": [0.5]}, InputError, "integer node indices"),
        ({"sources": [[0, 1]]}, InputError, "one-dimensional"),
        ({"sources": [3]}, InputError, "outside 0..2"),
        ({"sources": [-1]}, InputError, "outside 0..2"),
        ({"sources": [0], "offsets": [1.0, 2.0]}, InputError, "one value per source"),
        ({"sources": [0], "offsets": [-1.0]}, InputError, "non-negative"),
        ({"sources": [0], "offsets": [np.nan]}, InputError, "finite"),
        ({"sources": [0], "offsets": ["a"]}, InputError, "numbers of metres"),
        ({"sources": [0], "max_distance": 0}, InputError, "max_distance"),
    ],
)
def test_node_distance_bad_input(kwargs, error, match):
    net = Network([0, 10, 20], [0] * 3, [0, 1], [1, 2], [10, 10], CRS)
    with pytest.raises(error, match=match):
        node_distance(net, **kwargs)


def test_node_distance_empty_network():
    net = Network([], [], [], [], [], CRS)
    with pytest.raises(NoDataError, match="no nodes"):
        node_distance(net, [0])
