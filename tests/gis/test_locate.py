"""Locate Regions: growth against a cell-by-cell reference, selection against brute force."""

from __future__ import annotations

import heapq
import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis._regions import STRUCTURES
from gis.errors import InputError
from gis.grid import Grid
from gis.locate import (
    EVALUATIONS,
    LOCATE_COLUMNS,
    _gauge_radius,
    _grow_from,
    _ranks,
    locate_regions,
    shape_gauge,
)

CELL = 10.0
CRS = "EPSG:32635"


def grid_for(shape: tuple[int, int]) -> Grid:
    return Grid.from_bounds((0, 0, shape[1] * CELL, shape[0] * CELL), cell_size=CELL, crs=CRS)


# ---------------------------------------------------------------------- references
def heap_grow(key, allowed, seed, k, connectivity):
    """Region growing one cell at a time: add the neighbour with the smallest key."""
    h, w = allowed.shape
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    region, heap, seen = {seed}, [], {seed}

    def push(r, c):
        for dr, dc in steps:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and allowed[rr, cc] and (rr, cc) not in seen:
                seen.add((rr, cc))
                heapq.heappush(heap, (*key(rr, cc), rr * w + cc, rr, cc))

    push(*seed)
    while len(region) < k:
        if not heap:
            return None
        *_, r, c = heapq.heappop(heap)
        region.add((r, c))
        push(r, c)
    mask = np.zeros((h, w), dtype=bool)
    mask[tuple(np.array(sorted(region)).T)] = True
    return mask


def brute_stats(mask, u, connectivity):
    """Every region statistic by loops over cells (the slow, obvious way)."""
    h, w = mask.shape
    cells = list(zip(*np.nonzero(mask), strict=True))
    vals = np.array([u[r, c] for r, c in cells], dtype=float)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]

    def inside(r, c):
        return 0 <= r < h and 0 <= c < w and mask[r, c]

    core = [(r, c) for r, c in cells if all(inside(r + a, c + b) for a, b in steps)]
    edges = sum(
        not inside(r + a, c + b) for r, c in cells for a, b in [(-1, 0), (1, 0), (0, -1), (0, 1)]
    )
    area = len(cells) * CELL**2
    return {
        "mean_score": vals.mean(),
        "sum_score": vals.sum(),
        "median_score": float(np.median(vals)),
        "max_score": vals.max(),
        "min_score": vals.min(),
        "core_area_ha": len(core) * CELL**2 / 1e4,
        "core_sum": sum(u[r, c] for r, c in core),
        "edge_ratio": edges * CELL / area,
    }


def brute_gap(a, b):
    """Edge-to-edge distance in metres between two cell sets (all pairs)."""
    pa, pb = np.argwhere(a), np.argwhere(b)
    d = np.abs(pa[:, None, :] - pb[None, :, :])
    return float(np.hypot(np.maximum(d[..., 0] - 1, 0), np.maximum(d[..., 1] - 1, 0)).min()) * CELL


def brute_candidates(u, k, *, tau, shape, connectivity, evaluation):
    """Grow from every valid cell with the reference growth; distinct regions in seed order."""
    valid = np.isfinite(u)
    lo, hi = np.nanmin(u), np.nanmax(u)
    un = (np.nan_to_num(u, nan=lo) - lo) / (hi - lo)
    radius = _gauge_radius(shape, k, 2.0)
    out, seen = [], set()
    for seed in map(tuple, np.argwhere(valid)):

        def key(r, c, seed=seed):
            g = float(shape_gauge(np.array(c - seed[1]), np.array(seed[0] - r), shape=shape))
            return (-(tau * (1 - g / radius) + (1 - tau) * un[r, c]), g)

        region = heap_grow(key, valid, seed, k, connectivity)
        if region is None or region.tobytes() in seen:
            continue
        seen.add(region.tobytes())
        value = brute_stats(region, u, connectivity)[EVALUATIONS[evaluation][1].__name__]
        out.append((region, value))
    return out


# `EVALUATIONS` maps to lambdas; name the statistic each one reads
STAT_OF = {
    "highest_average": "mean_score",
    "highest_sum": "sum_score",
    "highest_median": "median_score",
    "highest_value": "max_score",
    "lowest_value": "min_score",
    "greatest_core_area": "core_area_ha",
    "highest_core_sum": "core_sum",
    "greatest_edge_ratio": "edge_ratio",
}


def brute_candidates_by(u, k, *, tau, shape, connectivity, evaluation):
    stat = STAT_OF[evaluation]
    valid = np.isfinite(u)
    lo, hi = np.nanmin(u), np.nanmax(u)
    un = (np.nan_to_num(u, nan=lo) - lo) / (hi - lo)
    radius = _gauge_radius(shape, k, 2.0)
    out, seen = [], set()
    for seed in map(tuple, np.argwhere(valid)):

        def key(r, c, seed=seed):
            g = float(shape_gauge(np.array(c - seed[1]), np.array(seed[0] - r), shape=shape))
            return (-(tau * (1 - g / radius) + (1 - tau) * un[r, c]), g)

        region = heap_grow(key, valid, seed, k, connectivity)
        if region is None or region.tobytes() in seen:
            continue
        seen.add(region.tobytes())
        out.append((region, brute_stats(region, u, connectivity)[stat]))
    return out


def region_masks(result, shape):
    """Cell masks of the result's polygons (cells whose centre is inside)."""
    g = grid_for(shape)
    return [g.rasterize([geom]) for geom in result.geometry]


# ---------------------------------------------------------------------- growth
@pytest.mark.parametrize("connectivity", [4, 8])
def test_vectorised_growth_equals_cell_by_cell_growth(connectivity):
    rng = np.random.default_rng(connectivity)
    for trial in range(150):
        h, w = rng.integers(3, 25, 2)
        p = rng.random((h, w))
        if trial % 3 == 0:
            p = np.round(p * 3) / 3  # many ties: broken by the tie key, then raster order
        tie = rng.random((h, w)).round(1)
        allowed = rng.random((h, w)) > 0.2
        cells = np.argwhere(allowed)
        if cells.size == 0:
            continue
        seed = tuple(cells[rng.integers(len(cells))])
        k = int(rng.integers(1, allowed.sum() + 2))
        ref = heap_grow(lambda r, c, p=p, tie=tie: (-p[r, c], tie[r, c]), allowed, seed, k,
                        connectivity)  # fmt: skip
        start = np.zeros((h, w), dtype=bool)
        start[seed] = True
        out = _grow_from(start, k, _ranks(p, allowed, tie), allowed, STRUCTURES[connectivity])
        if ref is None:
            assert out is None
        else:
            np.testing.assert_array_equal(out, ref)


def test_shape_gauges_closed_forms():
    dx, dy = np.array([3.0, 0.0, -2.0]), np.array([4.0, 2.0, 0.0])
    np.testing.assert_allclose(shape_gauge(dx, dy), [5, 2, 2])
    np.testing.assert_allclose(shape_gauge(dx, dy, shape="square"), [4, 2, 2])
    # rotated by 45 degrees a square's gauge of (1, 1) is sqrt(2)
    assert shape_gauge(np.array(1.0), np.array(1.0), shape="square", orientation=45) == (
        pytest.approx(math.sqrt(2))
    )
    # ellipse of aspect 4: (2, 0) on the major axis is as far as (0, 0.5) on the minor one
    e = shape_gauge(np.array([2.0, 0.0]), np.array([0.0, 0.5]), shape="ellipse", aspect=4)
    assert e[0] == pytest.approx(e[1])
    # a regular polygon's gauge is 1 on every edge midpoint at apothem 1
    for name, m in [("triangle", 3), ("pentagon", 5), ("hexagon", 6), ("octagon", 8)]:
        phi = -np.pi / 2 + 2 * np.pi * np.arange(m) / m
        np.testing.assert_allclose(shape_gauge(np.cos(phi), np.sin(phi), shape=name), 1.0)
    # equal areas: the gauge radius of k cells
    assert _gauge_radius("circle", 100, 2) == pytest.approx(math.sqrt(100 / math.pi))
    assert _gauge_radius("square", 100, 2) == pytest.approx(5.0)


def test_pure_shape_growth_is_the_shape():
    u = np.full((15, 15), 0.5)
    u[7, 7] = 0.6  # the seed; utility plays no part at 100 % shape
    g = grid_for(u.shape)
    r = locate_regions(u, g, total_area=9 * CELL**2, shape="square", shape_tradeoff=100,
                       seeds=1)  # fmt: skip
    (mask,) = region_masks(r, u.shape)
    rows, cols = np.nonzero(mask)
    assert mask.sum() == 9 and np.ptp(rows) == 2 and np.ptp(cols) == 2  # a 3 x 3 block
    c = locate_regions(u, g, total_area=21 * CELL**2, shape="circle", shape_tradeoff=100,
                       seeds=1)  # fmt: skip
    (disc,) = region_masks(c, u.shape)
    sr, sc = np.argwhere(disc).mean(axis=0).round().astype(int)
    rr, cc = np.indices(u.shape)
    dist = np.hypot(rr - sr, cc - sc)
    # every cell of the region is at least as close to the seed as every cell outside
    assert dist[disc].max() <= dist[~disc & np.isfinite(u)].min() + 1e-9


# ---------------------------------------------------------------------- selection
U9 = np.random.default_rng(7).random((9, 9))
U9[4, 4] = np.nan


@pytest.mark.parametrize("evaluation", sorted(EVALUATIONS))
def test_single_best_region_equals_brute_force(evaluation):
    k = 5
    refs = brute_candidates_by(U9, k, tau=0.3, shape="circle", connectivity=8,
                               evaluation=evaluation)  # fmt: skip
    best_value = max(v for _, v in refs)
    r = locate_regions(U9, grid_for(U9.shape), total_area=k * CELL**2, shape_tradeoff=30,
                       seeds="all", evaluation=evaluation)  # fmt: skip
    assert len(r) == 1
    assert r["value"].iloc[0] == pytest.approx(best_value)
    (mask,) = region_masks(r, U9.shape)
    assert any((mask == m).all() and v == pytest.approx(best_value) for m, v in refs)
    # the reported statistics are those of the region
    for stat, value in brute_stats(mask, U9, 8).items():
        assert r[stat].iloc[0] == pytest.approx(value), stat


@pytest.mark.parametrize(("n", "min_distance"), [(2, 0.0), (3, 10.0), (3, 25.0)])
def test_combinatorial_selection_equals_brute_force(n, min_distance):
    k = 3
    refs = brute_candidates_by(U9, k, tau=0.5, shape="square", connectivity=4,
                               evaluation="highest_average")  # fmt: skip
    masks = [m for m, _ in refs]
    values = np.array([v for _, v in refs])
    m = len(masks)
    ok = np.zeros((m, m), dtype=bool)
    for i, j in itertools.combinations(range(m), 2):
        if (masks[i] & masks[j]).any():
            continue
        gap = brute_gap(masks[i], masks[j])
        ok[i, j] = ok[j, i] = gap > 0 and gap >= min_distance
    best = max(
        (values[list(c)].sum() for c in itertools.combinations(range(m), n)
         if all(ok[a, b] for a, b in itertools.combinations(c, 2))),
        default=None,
    )  # fmt: skip
    r = locate_regions(U9, grid_for(U9.shape), n_regions=n, total_area=n * k * CELL**2,
                       shape="square", connectivity=4, min_distance=min_distance,
                       seeds="all")  # fmt: skip
    assert r.attrs["optimal"]
    assert r["value"].sum() == pytest.approx(best)
    got = region_masks(r, U9.shape)
    for a, b in itertools.combinations(got, 2):
        assert brute_gap(a, b) >= max(min_distance, 1e-9)
    # polygons agree: their shapely distance is the gap
    for (i, a), (j, b) in itertools.combinations(enumerate(r.geometry), 2):
        assert a.distance(b) == pytest.approx(brute_gap(got[i], got[j]))


def test_sequential_selection_is_greedy():
    k, n = 3, 3
    refs = brute_candidates_by(U9, k, tau=0.5, shape="circle", connectivity=8,
                               evaluation="highest_sum")  # fmt: skip
    chosen = []
    for mask, value in sorted(refs, key=lambda t: -t[1]):  # stable: seed order on ties
        if all(not (mask & c).any() and brute_gap(mask, c) >= 20 for c, _ in chosen):
            chosen.append((mask, value))
        if len(chosen) == n:
            break
    r = locate_regions(U9, grid_for(U9.shape), n_regions=n, total_area=n * k * CELL**2,
                       evaluation="highest_sum", selection="sequential", min_distance=20,
                       seeds="all")  # fmt: skip
    np.testing.assert_allclose(r["value"], [v for _, v in chosen])
    for got, (want, _) in zip(region_masks(r, U9.shape), chosen, strict=True):
        np.testing.assert_array_equal(got, want)


def test_two_plateaus_are_found_and_ranked():
    u = np.zeros((20, 20))
    u[2:6, 2:6] = 1.0
    u[12:16, 13:17] = 0.8
    r = locate_regions(u, grid_for(u.shape), n_regions=2, total_area=2 * 16 * CELL**2,
                       shape="square", shape_tradeoff=0, seeds=20)  # fmt: skip
    assert list(r["rank"]) == [1, 2]
    np.testing.assert_allclose(r["mean_score"], [1.0, 0.8])
    assert set(r.columns) == {*LOCATE_COLUMNS, "geometry"}
    np.testing.assert_allclose(r.geometry.area, r["n_cells"] * CELL**2)


def test_max_distance_keeps_regions_together():
    u = np.zeros((20, 40))
    u[2:6, 2:6] = 1.0
    u[2:6, 32:36] = 0.9  # 26 cells away
    u[12:16, 8:12] = 0.5  # near the first
    g = grid_for(u.shape)
    far = locate_regions(u, g, n_regions=2, total_area=32 * CELL**2, shape="square",
                         shape_tradeoff=0, seeds=30)  # fmt: skip
    assert far["mean_score"].round(6).tolist() == [1.0, 0.9]
    near = locate_regions(u, g, n_regions=2, total_area=32 * CELL**2, shape="square",
                          shape_tradeoff=0, seeds=30, max_distance=100)  # fmt: skip
    assert near["mean_score"].round(6).tolist() == [1.0, 0.5]
    assert near.geometry.iloc[0].distance(near.geometry.iloc[1]) <= 100


def test_existing_regions_are_avoided_kept_apart_and_returned():
    u = np.zeros((20, 20))
    u[2:8, 2:8] = 1.0
    existing = np.zeros(u.shape, dtype=bool)
    existing[2:5, 2:5] = True  # part of the best plateau is taken
    r = locate_regions(u, grid_for(u.shape), total_area=9 * CELL**2, existing=existing,
                       min_distance=20, shape="square", seeds="all")  # fmt: skip
    assert r["existing"].tolist() == [True, False]
    assert r["rank"].tolist() == [0, 1]
    old, new = region_masks(r, u.shape)
    np.testing.assert_array_equal(old, existing)
    assert not (old & new).any()
    assert brute_gap(old, new) >= 20
    assert r.geometry.iloc[0].distance(r.geometry.iloc[1]) >= 20


def test_no_islands_fills_holes_and_drops_regions_around_nodata():
    u = np.zeros((9, 9))
    u[2:7, 2:7] = 1.0
    u[4, 4] = 0.0  # a ring of 24 best cells around a poor one
    g = grid_for(u.shape)
    kw = {"total_area": 24 * CELL**2, "shape_tradeoff": 0, "seeds": "all"}
    ring = locate_regions(u, g, **kw)
    (mask,) = region_masks(ring, u.shape)
    assert not mask[4, 4] and ring["n_cells"].iloc[0] == 24
    filled = locate_regions(u, g, no_islands=True, **kw)
    (mask,) = region_masks(filled, u.shape)
    assert mask[4, 4] and filled["n_cells"].iloc[0] == 25
    assert shapely.get_num_interior_rings(filled.geometry.iloc[0]) == 0
    # a hole that cannot be filled: every region of 24 cells reaching the ring of
    # best cells encloses it here, so none is left
    u[4, 4] = np.nan
    assert len(locate_regions(u, g, **kw)) == 1
    with pytest.raises(InputError, match=r"only 0 of n_regions=1"):
        locate_regions(u, g, no_islands=True, **kw)


def test_factor_means_and_inputs_untouched():
    u = U9.copy()
    f = np.arange(81, dtype=float).reshape(9, 9)
    r = locate_regions(u, grid_for(u.shape), total_area=4 * CELL**2, factors={"f": f},
                       seeds="all")  # fmt: skip
    (mask,) = region_masks(r, u.shape)
    assert r["f"].iloc[0] == pytest.approx(f[mask].mean())
    np.testing.assert_array_equal(u, U9)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape_tradeoff": 120}, r"shape_tradeoff must be <= 100"),
        ({"shape_tradeoff": -1}, r"shape_tradeoff must be >= 0"),
        ({"n_regions": 0}, r"n_regions must be a positive integer"),
        ({"total_area": 1e9}, r"only \d+ valid cells are available"),
        ({"total_area": 10.0}, r"less than one 100 m² cell"),
        ({"total_area": 900, "max_area": 400}, r"outside min_area..max_area"),
        ({"total_area": 900, "min_area": 1000}, r"outside min_area..max_area"),
        ({"min_area": 500, "max_area": 400}, r"max_area .* is below min_area"),
        ({"min_distance": 50, "max_distance": 10}, r"max_distance .* is below min_distance"),
        ({"shape": "star"}, r"shape must be one of"),
        ({"evaluation": "best"}, r"evaluation must be one of"),
        ({"selection": "random"}, r"selection must be one of"),
        ({"seeds": 0}, r"seeds must be a positive integer or 'all'"),
        ({"connectivity": 6}, r"connectivity must be 4"),
        ({"aspect": 0.5}, r"aspect must be >= 1"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(InputError, match=match):
        locate_regions(U9, grid_for(U9.shape), **kwargs)


def test_regions_that_do_not_fit_raise_unless_fewer_are_allowed():
    kw = {"n_regions": 4, "total_area": 4 * 9 * CELL**2, "min_distance": 40, "seeds": "all"}
    with pytest.raises(InputError, match=r"only \d of n_regions=4 regions .* min_distance 40 m"):
        locate_regions(U9, grid_for(U9.shape), **kw)
    r = locate_regions(U9, grid_for(U9.shape), allow_fewer=True, **kw)
    assert 1 <= len(r) < 4


def test_seeds_spread_over_a_wide_plateau():
    u = np.zeros((200, 200))
    u[20:120, 20:120] = 1.0  # room for several regions
    u[150:190, 150:190] = 0.9
    g = Grid.from_bounds((0, 0, 2000, 2000), cell_size=CELL, crs=CRS)
    r = locate_regions(u, g, n_regions=3, total_area=3 * 400 * CELL**2, shape="square",
                       min_distance=100, seeds=30, shape_tradeoff=0)  # fmt: skip
    np.testing.assert_allclose(r["mean_score"], 1.0)
    assert r.attrs["seeds"] == 30


def test_existing_regions_as_polygons_equal_the_mask():
    u = np.zeros((20, 20))
    u[2:8, 2:8] = 1.0
    existing = np.zeros(u.shape, dtype=bool)
    existing[2:5, 2:5] = True
    g = grid_for(u.shape)
    top = g.bounds[3]
    poly = shapely.box(2 * CELL, top - 5 * CELL, 5 * CELL, top - 2 * CELL)
    kw = {"total_area": 9 * CELL**2, "min_distance": 20, "shape": "square", "seeds": "all"}
    a = locate_regions(u, g, existing=existing, **kw)
    b = locate_regions(u, g, existing=gpd.GeoSeries([poly], crs=g.crs), **kw)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    with pytest.raises(InputError, match="existing regions: constraint geometries are in"):
        locate_regions(u, g, existing=gpd.GeoSeries([poly], crs="EPSG:4326"), **kw)
