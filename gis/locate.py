"""Locate Regions: the best sites of a given size, shape, number and spacing on a utility surface.

An open equivalent of ArcGIS Spatial Analyst *Locate Regions*, in two steps:

1. **Grow candidates.** From each seed cell a region is grown one cell at a time
   by a parameterised region-growing (PRG) rule: the next cell is the neighbour of
   the region with the highest priority

   ``p = τ · shape + (1 - τ) · u``,

   where ``u`` is the cell's utility rescaled to [0, 1] over the surface,
   ``shape = 1 - g / R`` is 1 at the seed and 0 on the outline of the ideal shape
   of the wanted area (``g`` the shape's gauge distance from the seed: Euclidean
   for a circle, the largest edge-normal projection for a regular polygon, ``R``
   the gauge radius whose shape has the wanted area) and ``τ`` the shape/utility
   trade-off (0 % = utility only, 100 % = shape only). Ties go to the cell first
   in raster order. Growth stops at the wanted number of cells.
2. **Select regions.** Each candidate is scored by an evaluation method
   (:data:`EVALUATIONS`) and a set of ``n_regions`` candidates is chosen that do
   not overlap or touch, keep ``min_distance`` from each other and from the
   existing regions, and lie within ``max_distance`` of every other region:
   ``combinatorial`` finds the set with the highest total value (branch and
   bound, exact), ``sequential`` takes the best candidate, then the best one
   compatible with it, and so on.

Growing is exact and vectorised: because priorities depend only on the cell and
the seed, the region after ``k`` steps is the connected component of the seed in
the set of cells whose rank is at most some level, found by a binary search over
levels with :func:`scipy.ndimage.label`, recursing into the last component that
overshoots. Only a window around each seed is ever materialised (enlarged when a
region reaches its edge), seeds are local maxima of the utility averaged over a
region-sized neighbourhood on a block-averaged copy of the surface, and region
distances use only boundary cells, so memory stays bounded on 10-million-cell
surfaces instead of downsampling the surface as ArcGIS does.

Distances between regions are gaps: the shortest edge-to-edge distance between
their cells, as between their polygons. Selected regions never overlap or touch
(a gap of 0), whatever the distances asked for.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from scipy import ndimage

from gis._regions import STRUCTURES, check_connectivity
from gis._validate import as_numeric_array, chunk_rows_for, is_real_number
from gis.errors import InputError
from gis.grid import Grid

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "EVALUATIONS",
    "LOCATE_COLUMNS",
    "SELECTIONS",
    "SHAPES",
    "locate_regions",
    "shape_gauge",
]

#: Region shapes: name -> number of sides of the regular polygon (0 = circle, -1 = ellipse).
SHAPES: dict[str, int] = {
    "circle": 0,
    "ellipse": -1,
    "triangle": 3,
    "square": 4,
    "pentagon": 5,
    "hexagon": 6,
    "heptagon": 7,
    "octagon": 8,
}

#: Region selection algorithms.
SELECTIONS: tuple[str, ...] = ("combinatorial", "sequential")

#: Fixed columns of :func:`locate_regions`; factor columns come before ``geometry``.
LOCATE_COLUMNS: tuple[str, ...] = (
    "rank", "existing", "value", "area_ha", "n_cells", "mean_score", "sum_score",
    "median_score", "min_score", "max_score", "core_area_ha", "core_sum", "perimeter_m",
    "edge_ratio", "seed_x", "seed_y",
)  # fmt: skip


# ---------------------------------------------------------------------- evaluation
def _value_mean(s: dict[str, float]) -> float:
    return s["mean_score"]


#: Evaluation methods: name -> (description, value of a region's statistics; higher is better).
EVALUATIONS: dict[str, tuple[str, Callable[[dict[str, float]], float]]] = {
    "highest_average": ("mean utility of the region's cells", _value_mean),
    "highest_sum": ("sum of the utility of the region's cells", lambda s: s["sum_score"]),
    "highest_median": ("median utility of the region's cells", lambda s: s["median_score"]),
    "highest_value": ("utility of the region's best cell", lambda s: s["max_score"]),
    "lowest_value": (
        "utility of the region's worst cell (the region whose weakest cell is best)",
        lambda s: s["min_score"],
    ),
    "greatest_core_area": (
        "area of the core: cells whose every neighbour lies in the region",
        lambda s: s["core_area_ha"],
    ),
    "highest_core_sum": ("sum of the utility of the core cells", lambda s: s["core_sum"]),
    "greatest_edge_ratio": (
        "perimeter per area (m per m²): the most elongated, edge-rich region",
        lambda s: s["edge_ratio"],
    ),
}


# ---------------------------------------------------------------------- shapes
def shape_gauge(
    dx: np.ndarray,
    dy: np.ndarray,
    *,
    shape: str = "circle",
    orientation: float = 0.0,
    aspect: float = 2.0,
) -> np.ndarray:
    """Gauge distance of offsets ``(dx, dy)`` from a shape's centre, scaled to equal area.

    The set ``{gauge <= R}`` is the shape with area ``π R²`` for the circle and
    the ellipse (semi-axes ``R √aspect`` and ``R / √aspect``) and ``m R² tan(π/m)``
    for a regular ``m``-gon of apothem ``R`` (flat bottom edge before rotation).
    ``orientation`` rotates the shape counter-clockwise, in degrees from east
    (the ellipse's major axis points east at 0).

    Parameters
    ----------
    dx, dy
        Offsets east and north (any units; arrays broadcast).
    shape
        A key of :data:`SHAPES`.
    orientation
        Rotation in degrees.
    aspect
        Ratio of the ellipse's major to minor axis (>= 1).

    Examples
    --------
    >>> import numpy as np
    >>> shape_gauge(np.array([3.0, 1.0]), np.array([4.0, 1.0])).tolist()
    [5.0, 1.4142135623730951]
    >>> shape_gauge(np.array([3.0, 1.0]), np.array([4.0, 1.0]), shape="square").tolist()
    [4.0, 1.0]
    """
    sides = SHAPES[shape]
    theta = math.radians(orientation)
    xr = dx * math.cos(theta) + dy * math.sin(theta)
    yr = -dx * math.sin(theta) + dy * math.cos(theta)
    if sides == 0:
        return np.hypot(xr, yr)
    if sides == -1:
        root = math.sqrt(aspect)
        return np.hypot(xr / root, yr * root)
    edges = [-math.pi / 2 + 2 * math.pi * i / sides for i in range(sides)]  # a handful
    out = xr * math.cos(edges[0]) + yr * math.sin(edges[0])
    for phi in edges[1:]:
        out = np.maximum(out, xr * math.cos(phi) + yr * math.sin(phi))
    return out


def _gauge_radius(shape: str, cells: float, aspect: float) -> float:
    """Gauge radius (in cells) of the shape whose area is ``cells`` cells."""
    sides = SHAPES[shape]
    if sides <= 0:
        return math.sqrt(cells / math.pi)
    return math.sqrt(cells / (sides * math.tan(math.pi / sides)))


def _circumradius(shape: str, radius: float, aspect: float) -> float:
    """Farthest distance of the shape's outline from its centre."""
    sides = SHAPES[shape]
    if sides == 0:
        return radius
    if sides == -1:
        return radius * math.sqrt(aspect)
    return radius / math.cos(math.pi / sides)


# ---------------------------------------------------------------------- growing
def _component(
    seed: np.ndarray, members: np.ndarray, structure: np.ndarray
) -> tuple[np.ndarray, int]:
    """Cells of ``members`` connected to the (connected) ``seed`` set, and their count."""
    labels, _ = ndimage.label(members, structure=structure)
    first = np.argmax(seed)  # the seed is connected: one label
    comp = labels == labels.flat[first]
    return comp, int(np.count_nonzero(comp))


def _grow_from(
    seed: np.ndarray, k: int, rank: np.ndarray, domain: np.ndarray, structure: np.ndarray
) -> np.ndarray | None:
    """The ``k`` cells a best-first (Prim) growth from ``seed`` reaches within ``domain``.

    ``rank`` orders the cells (lower = added first among neighbours); ``seed`` is
    a connected boolean set inside ``domain``. Returns None when the component of
    ``seed`` in ``domain`` has fewer than ``k`` cells.

    Cell by cell, the growth adds the frontier cell of lowest rank. Let ``C(λ)`` be
    the component of the seed in ``seed ∪ {domain cells of rank <= λ}``: all of
    ``C(λ)`` is added before any cell of rank > λ, so the region of ``k`` cells is
    ``C(λ*)`` for the smallest level with ``|C(λ*)| >= k`` when that is exactly
    ``k``. Otherwise the gate cell of rank ``λ*`` opened a part that all ranks
    below the rest of the frontier; the growth continues inside it from the gate,
    which is the same problem again, on a smaller domain.
    """
    kept = np.zeros_like(seed)
    while True:
        have = int(np.count_nonzero(seed))
        if have >= k:
            return kept | seed
        rows = np.flatnonzero(domain.any(axis=1))
        cols = np.flatnonzero(domain.any(axis=0))
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        s, d, r = seed[box], domain[box], rank[box]
        levels = np.sort(r[d & ~s])
        if levels.size == 0:
            return None

        # nothing joins before the best frontier cell does
        sr_, sc_ = np.flatnonzero(s.any(axis=1)), np.flatnonzero(s.any(axis=0))
        near = np.s_[max(sr_[0] - 1, 0) : sr_[-1] + 2, max(sc_[0] - 1, 0) : sc_[-1] + 2]
        grown = ndimage.binary_dilation(s[near], structure=structure)
        frontier = grown & d[near] & ~s[near]
        if not frontier.any():
            return None
        first = int(np.searchsorted(levels, r[near][frontier].min()))

        def component_at(
            i: int, s=s, d=d, r=r, levels=levels, first=first
        ) -> tuple[np.ndarray, int]:
            if i < first:
                return s, int(np.count_nonzero(s))
            return _component(s, s | (d & (r <= levels[i])), structure)

        # |C(level i)| <= have + i + 1, so no level below k - have - 1 can reach k
        lo = min(max(k - have - 1, first), levels.size - 1)
        comp, size = component_at(lo)
        if size >= k:
            hi, lo = lo, lo - 1
        else:
            step, hi = 1, lo
            while size < k:
                if hi == levels.size - 1:
                    return None
                lo, hi = hi, min(hi + step, levels.size - 1)
                comp, size = component_at(hi)
                step *= 2
            if hi - lo > 1:
                # the answer lies inside the component at ``hi``: search there only
                domain = np.zeros_like(domain)
                domain[box] = comp
                rows = np.flatnonzero(comp.any(axis=1))
                cols = np.flatnonzero(comp.any(axis=0))
                inner = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
                box = (
                    slice(box[0].start + inner[0].start, box[0].start + inner[0].stop),
                    slice(box[1].start + inner[1].start, box[1].start + inner[1].stop),
                )
                s, d, r, comp = seed[box], domain[box], rank[box], comp[inner]
                keep = np.isin(levels, r[d & ~s], assume_unique=True)
                lo = int(np.count_nonzero(keep[: lo + 1])) - 1
                hi = int(np.count_nonzero(keep[: hi + 1])) - 1
                levels = levels[keep]

                first = int(np.count_nonzero(keep[:first]))

                def component_at(
                    i: int, s=s, d=d, r=r, levels=levels, first=first
                ) -> tuple[np.ndarray, int]:
                    if i < first:
                        return s, int(np.count_nonzero(s))
                    return _component(s, s | (d & (r <= levels[i])), structure)

            while hi - lo > 1:  # size(lo) < k <= size(hi)
                mid = (lo + hi) // 2
                c_mid, s_mid = component_at(mid)
                if s_mid >= k:
                    hi, comp, size = mid, c_mid, s_mid
                else:
                    lo = mid
        if size == k:
            out = kept.copy()
            out[box] |= comp
            return out
        before, n_before = component_at(lo)
        kept[box] |= before
        opened = np.zeros_like(domain)
        opened[box] = comp & ~before
        seed = np.zeros_like(seed)
        seed[box] = r == levels[hi]
        domain = opened
        k -= n_before


def _ranks(priority: np.ndarray, allowed: np.ndarray, tie: np.ndarray | None = None) -> np.ndarray:
    """Rank of each allowed cell by decreasing priority; others last.

    Ties go to the lower ``tie`` value (the shape's distance from the seed, so a
    plateau grows as the shape), then to the cell first in raster order.
    """
    flat = np.where(allowed, -priority, np.inf).ravel()
    if tie is None:
        order = np.argsort(flat, kind="stable")
    else:
        order = np.lexsort((tie.ravel(), flat))
    rank = np.empty(flat.size, dtype=np.int64)
    rank[order] = np.arange(flat.size)
    rank[~allowed.ravel()] = flat.size
    return rank.reshape(priority.shape)


# ---------------------------------------------------------------------- candidates
@dataclass
class _Candidate:
    seed: tuple[int, int]
    r0: int
    c0: int
    mask: np.ndarray  # cropped to the region's bounding box
    stats: dict[str, float]
    boundary: np.ndarray  # (k, 2) row/col of boundary cells (global)
    value: float = 0.0

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        return self.r0, self.c0, self.r0 + self.mask.shape[0], self.c0 + self.mask.shape[1]


def _stats(
    mask: np.ndarray, values: np.ndarray, structure: np.ndarray, cell: float
) -> tuple[dict[str, float], np.ndarray]:
    """Region statistics on a cropped mask and the boundary cells (rows, cols in the crop)."""
    vals = values[mask].astype(np.float64)
    padded = np.pad(mask, 1)
    core = ndimage.binary_erosion(padded, structure=structure)[1:-1, 1:-1]
    cross = STRUCTURES[4]
    inner4 = ndimage.binary_erosion(padded, structure=cross)[1:-1, 1:-1]
    edges = int(np.count_nonzero(padded[1:, :] != padded[:-1, :])) + int(
        np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    )
    n = vals.size
    area = n * cell * cell
    stats = {
        "n_cells": float(n),
        "area_ha": area / 10_000.0,
        "mean_score": float(vals.mean()),
        "sum_score": float(vals.sum()),
        "median_score": float(np.median(vals)),
        "min_score": float(vals.min()),
        "max_score": float(vals.max()),
        "core_area_ha": float(np.count_nonzero(core)) * cell * cell / 10_000.0,
        "core_sum": float(values[core].astype(np.float64).sum()),
        "perimeter_m": edges * cell,
        "edge_ratio": edges * cell / area,
    }
    return stats, np.argwhere(mask & ~inner4)


def _fill_islands(mask: np.ndarray, allowed: np.ndarray, connectivity: int) -> np.ndarray | None:
    """Fill the holes of a region; None if a hole holds a cell that may not join."""
    background = STRUCTURES[12 - connectivity]  # 8-connected regions have 4-connected holes
    filled = ndimage.binary_fill_holes(mask, structure=background)
    holes = filled & ~mask
    if holes.any() and not allowed[holes].all():
        return None
    return filled


# ---------------------------------------------------------------------- seeds
def _block_mean(utility: np.ndarray, valid: np.ndarray, f: int) -> np.ndarray:
    """Mean utility of valid cells in ``f x f`` blocks (NaN for blocks without one)."""
    h, w = utility.shape
    hb, wb = -(-h // f), -(-w // f)
    total = np.zeros((hb, wb))
    count = np.zeros((hb, wb))
    rows = max(f, (chunk_rows_for(utility.shape, None) // f) * f)
    for start in range(0, h, rows):
        u = utility[start : start + rows]
        v = valid[start : start + rows]
        vals = np.where(v, u, 0.0).astype(np.float64)
        r = vals.shape[0]
        pr, pc = (-r) % f, (-w) % f
        if pr or pc:
            vals = np.pad(vals, ((0, pr), (0, pc)))
            vv = np.pad(v, ((0, pr), (0, pc)))
        else:
            vv = v
        b0 = start // f
        nb = vals.shape[0] // f
        total[b0 : b0 + nb] = vals.reshape(nb, f, wb, f).sum(axis=(1, 3))
        count[b0 : b0 + nb] = vv.reshape(nb, f, wb, f).sum(axis=(1, 3))
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)


def _tile_maxima(values: np.ndarray, size: int) -> np.ndarray:
    """Flat index of the largest finite value of each ``size x size`` tile that has one."""
    h, w = values.shape
    th, tw = -(-h // size), -(-w // size)
    padded = np.full((th * size, tw * size), -np.inf)
    padded[:h, :w] = values
    tiles = padded.reshape(th, size, tw, size).transpose(0, 2, 1, 3).reshape(th, tw, size * size)
    best = tiles.argmax(axis=2)
    finite = np.isfinite(np.take_along_axis(tiles, best[..., None], axis=2)[..., 0])
    tr, tc = np.nonzero(finite)
    rr, cc = np.divmod(best[tr, tc], size)
    return (tr * size + rr) * w + (tc * size + cc)


def _seed_cells(
    utility: np.ndarray, valid: np.ndarray, radius: float, n_seeds: int
) -> list[tuple[int, int]]:
    """Up to ``n_seeds`` seeds: local maxima of the region-scale mean utility.

    The surface is block-averaged to at most about two million blocks, averaged
    again over a window about one region across, and the local maxima (one per
    region-sized neighbourhood) are ranked by that mean; each seed is the best
    valid cell of its block.
    """
    h, w = utility.shape
    f = max(1, math.ceil(math.sqrt(h * w / 2e6)))
    coarse = _block_mean(utility, valid, f)
    ok = np.isfinite(coarse)
    size = max(1, 2 * round(radius / f) + 1)
    num = ndimage.uniform_filter(np.where(ok, coarse, 0.0), size=size, mode="constant")
    den = ndimage.uniform_filter(ok.astype(np.float64), size=size, mode="constant")
    focal = np.divide(num, den, out=np.full_like(num, -np.inf), where=den > 0)
    focal[~ok] = -np.inf
    peaks = focal == ndimage.maximum_filter(focal, size=size, mode="constant", cval=-np.inf)
    peaks &= ok
    # one peak per plateau of equal values: its most interior cell
    plateaus, n_plateaus = ndimage.label(peaks, structure=STRUCTURES[8])
    if n_plateaus:
        depth = ndimage.distance_transform_cdt(np.pad(peaks, 1))[1:-1, 1:-1]
        where = ndimage.maximum_position(depth, plateaus, np.arange(1, n_plateaus + 1))
        idx = np.ravel_multi_index(np.array(where).T, peaks.shape)
        peaks = np.zeros_like(peaks)
        peaks.flat[idx] = True
    idx = np.flatnonzero(peaks)
    idx = idx[np.argsort(-focal.ravel()[idx], kind="stable")]
    if idx.size < n_seeds:
        # too few peaks (e.g. a wide plateau): add the best block of every
        # region-sized tile, spread over the surface, then any other blocks
        tiles = _tile_maxima(focal, size)
        tiles = tiles[~peaks.flat[tiles]]
        tiles = tiles[np.argsort(-focal.ravel()[tiles], kind="stable")]
        idx = np.concatenate([idx, tiles[: n_seeds - idx.size]])
    if idx.size < n_seeds:
        used = np.zeros(focal.size, dtype=bool)
        used[idx] = True
        others = np.flatnonzero(ok.ravel() & ~used)
        others = others[np.argsort(-focal.ravel()[others], kind="stable")]
        idx = np.concatenate([idx, others[: n_seeds - idx.size]])
    idx = idx[:n_seeds]
    seeds = []
    for flat in idx:  # one block per seed: a handful of small slices
        br, bc = divmod(int(flat), coarse.shape[1])
        r0, c0 = br * f, bc * f
        box = np.s_[r0 : r0 + f, c0 : c0 + f]
        block = np.where(valid[box], utility[box], -np.inf)
        rr, cc = np.unravel_index(int(np.argmax(block)), block.shape)
        seeds.append((r0 + int(rr), c0 + int(cc)))
    return seeds


# ---------------------------------------------------------------------- distances
def _cell_gap(dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Gap in cells between two cells ``(dr, dc)`` apart: their squares' edge distance."""
    return np.hypot(np.maximum(np.abs(dr) - 1, 0), np.maximum(np.abs(dc) - 1, 0))


def _gap(a: Any, b: Any) -> float:
    """Shortest edge-to-edge distance in cells between two disjoint regions.

    The closest cells of two disjoint regions are boundary cells, so only those
    are compared: a k-d tree finds the nearest centres, and every pair within one
    cell more of that distance is measured exactly (the gap differs from the
    centre distance by less than one cell).
    """
    from scipy.spatial import cKDTree

    tb = cKDTree(b.boundary)
    d, _ = tb.query(a.boundary, k=1)
    near = cKDTree(a.boundary).sparse_distance_matrix(
        tb, float(d.min()) + 1.0, output_type="ndarray"
    )
    diff = a.boundary[near["i"]] - b.boundary[near["j"]]
    return float(_cell_gap(diff[:, 0], diff[:, 1]).min())


def _box_gap(a: Any, b: Any) -> float:
    """Lower bound of the gap in cells between two regions, from their bounding boxes."""
    ar0, ac0, ar1, ac1 = a.bbox
    br0, bc0, br1, bc1 = b.bbox
    dr = max(0, br0 - ar1 + 1, ar0 - br1 + 1)
    dc = max(0, bc0 - ac1 + 1, ac0 - bc1 + 1)
    return float(_cell_gap(np.array(dr), np.array(dc)))


def _overlap(a: Any, b: Any) -> bool:
    """True if the regions share a cell."""
    ar0, ac0, ar1, ac1 = a.bbox
    br0, bc0, br1, bc1 = b.bbox
    r0, c0, r1, c1 = max(ar0, br0), max(ac0, bc0), min(ar1, br1), min(ac1, bc1)
    if r0 >= r1 or c0 >= c1:
        return False
    ma = a.mask[r0 - ar0 : r1 - ar0, c0 - ac0 : c1 - ac0]
    mb = b.mask[r0 - br0 : r1 - br0, c0 - bc0 : c1 - bc0]
    return bool((ma & mb).any())


def _compatible(
    a: Any, b: Any, *, cell: float, min_distance: float, max_distance: float | None
) -> bool:
    """Whether two regions may both be selected: apart, not touching, within the distances.

    Bounding boxes settle most pairs; the exact gap is computed only for the rest.
    """
    tol = 1e-9 * cell
    lower = _box_gap(a, b) * cell
    if max_distance is not None and lower > max_distance + tol:
        return False
    diff = a.boundary[0] - b.boundary[0]
    upper = float(_cell_gap(np.array(diff[0]), np.array(diff[1]))) * cell
    if (
        lower > 0
        and lower >= min_distance - tol
        and (max_distance is None or upper <= max_distance + tol)
    ):
        return True
    if lower == 0.0 and _overlap(a, b):
        return False
    gap = _gap(a, b) * cell
    if gap <= 0.0 or gap < min_distance - tol:
        return False
    return max_distance is None or gap <= max_distance + tol


def _compatibility(
    regions: list[_Candidate], *, cell: float, min_distance: float, max_distance: float | None
) -> np.ndarray:
    """Pairwise compatibility matrix; bounding boxes settle most pairs at once."""
    m = len(regions)
    compat = np.ones((m, m), dtype=bool)
    if m < 2:
        return compat
    boxes = np.array([r.bbox for r in regions], dtype=np.int64)  # r0, c0, r1, c1
    first = np.array([r.boundary[0] for r in regions], dtype=np.int64)
    tol = 1e-9 * cell
    iu, ju = np.triu_indices(m, k=1)
    a, b = boxes[iu], boxes[ju]
    dr = np.maximum.reduce(
        [np.zeros(iu.size, np.int64), b[:, 0] - a[:, 2] + 1, a[:, 0] - b[:, 2] + 1]
    )
    dc = np.maximum.reduce(
        [np.zeros(iu.size, np.int64), b[:, 1] - a[:, 3] + 1, a[:, 1] - b[:, 3] + 1]
    )
    lower = _cell_gap(dr, dc) * cell
    diff = first[iu] - first[ju]
    upper = _cell_gap(diff[:, 0], diff[:, 1]) * cell
    too_far = np.zeros(iu.size, dtype=bool) if max_distance is None else lower > max_distance + tol
    sure = (lower > 0) & (lower >= min_distance - tol)
    if max_distance is not None:
        sure &= upper <= max_distance + tol
    compat[iu[too_far], ju[too_far]] = compat[ju[too_far], iu[too_far]] = False
    for i, j in zip(iu[~too_far & ~sure], ju[~too_far & ~sure], strict=True):  # the close pairs
        ok = _compatible(regions[i], regions[j], cell=cell, min_distance=min_distance,
                         max_distance=max_distance)  # fmt: skip
        compat[i, j] = compat[j, i] = ok
    return compat


# ---------------------------------------------------------------------- selection
def _select_combinatorial(
    values: np.ndarray, compat: np.ndarray, n: int, max_nodes: int
) -> tuple[list[int], bool]:
    """Indices of ``n`` pairwise compatible candidates with the largest total value.

    Branch and bound over candidates sorted by value; the bound is the current
    total plus the best values still allowed. Returns the best set found and
    whether the search finished within ``max_nodes`` nodes (so it is optimal).
    """
    order = np.argsort(-values, kind="stable")
    v = values[order]
    c = compat[np.ix_(order, order)]
    best: list[int] = []
    best_total = -np.inf
    nodes = 0
    finished = True

    def search(chosen: list[int], allowed: np.ndarray, start: int, total: float) -> None:
        nonlocal best, best_total, nodes, finished
        need = n - len(chosen)
        if need == 0:
            if total > best_total:
                best, best_total = list(chosen), total
            return
        idx = np.flatnonzero(allowed[start:]) + start
        for pos, i in enumerate(idx):  # candidates, not cells
            nodes += 1
            if nodes > max_nodes:
                finished = False
                return
            if idx.size - pos < need:
                return
            if total + v[idx[pos : pos + need]].sum() <= best_total:
                return
            search([*chosen, int(i)], allowed & c[i], int(i) + 1, total + v[i])
            if not finished:
                return

    search([], np.ones(len(v), dtype=bool), 0, 0.0)
    if len(best) < n:  # fewer than n compatible: the largest feasible set, best first
        best = _select_sequential(values, compat, n)
        return best, finished
    return [int(order[i]) for i in best], finished


def _select_sequential(values: np.ndarray, compat: np.ndarray, n: int) -> list[int]:
    """Greedy: the best candidate, then the best compatible with all chosen, and so on."""
    chosen: list[int] = []
    allowed = np.ones(values.size, dtype=bool)
    for i in np.argsort(-values, kind="stable"):  # candidates, not cells
        if len(chosen) == n:
            break
        if allowed[i]:
            chosen.append(int(i))
            allowed &= compat[i]
    return chosen


def _grow_candidates(
    utility: np.ndarray,
    valid: np.ndarray,
    seed_list: list[tuple[int, int]],
    *,
    k: int,
    radius: float,
    reach: float,
    shape: str,
    orientation: float,
    aspect: float,
    tau: float,
    lo: float,
    span: float,
    connectivity: int,
    no_islands: bool,
    max_cells: float | None,
    cell: float,
    evaluation: str,
) -> list[_Candidate]:
    """Grow one region of ``k`` cells from each seed (distinct regions only)."""
    candidates: list[_Candidate] = []
    seen: set[tuple] = set()
    h, w = utility.shape
    structure = STRUCTURES[connectivity]
    for sr, sc in seed_list:  # seeds, a bounded number of them
        half = math.ceil(2 * reach) + 2
        while True:
            r0, r1 = max(0, sr - half), min(h, sr + half + 1)
            c0, c1 = max(0, sc - half), min(w, sc + half + 1)
            allowed = valid[r0:r1, c0:c1]
            rr = np.arange(r0, r1)[:, None] - sr
            cc = np.arange(c0, c1)[None, :] - sc
            gauge = shape_gauge(cc.astype(np.float64), -rr.astype(np.float64), shape=shape,
                                orientation=orientation, aspect=aspect)  # fmt: skip
            u = (np.nan_to_num(utility[r0:r1, c0:c1].astype(np.float64), nan=lo) - lo) / span
            priority = tau * (1.0 - gauge / radius) + (1.0 - tau) * u
            rank = _ranks(priority, allowed, gauge)
            seed_mask = np.zeros(allowed.shape, dtype=bool)
            seed_mask[sr - r0, sc - c0] = True
            region = _grow_from(seed_mask, k, rank, allowed, structure)
            # the result is exact unless the region (or, when it is too small, the
            # seed's whole component) reaches a window edge that is not the grid's
            if region is None:
                reach_mask, _ = _component(seed_mask, allowed, structure)
            else:
                reach_mask = region
            edge = (
                (reach_mask[0].any() and r0 > 0) or (reach_mask[-1].any() and r1 < h)
                or (reach_mask[:, 0].any() and c0 > 0) or (reach_mask[:, -1].any() and c1 < w)
            )  # fmt: skip
            if not edge:
                break
            half *= 2
        if region is None:
            continue
        rows_i = np.flatnonzero(region.any(axis=1))
        cols_i = np.flatnonzero(region.any(axis=0))
        cr0, cc0 = r0 + rows_i[0], c0 + cols_i[0]
        mask = region[rows_i[0] : rows_i[-1] + 1, cols_i[0] : cols_i[-1] + 1]
        if no_islands:
            sub_allowed = valid[cr0 : cr0 + mask.shape[0], cc0 : cc0 + mask.shape[1]]
            filled = _fill_islands(mask, sub_allowed, connectivity)
            if filled is None:
                continue
            mask = filled
            if max_cells is not None and np.count_nonzero(mask) > max_cells * (1 + 1e-9):
                continue
        key = (int(cr0), int(cc0), mask.shape, np.packbits(mask).tobytes())
        if key in seen:
            continue
        seen.add(key)
        values = utility[cr0 : cr0 + mask.shape[0], cc0 : cc0 + mask.shape[1]]
        stats, boundary = _stats(mask, values, structure, cell)
        boundary += np.array([cr0, cc0])
        cand = _Candidate((sr, sc), int(cr0), int(cc0), mask, stats, boundary)
        cand.value = float(EVALUATIONS[evaluation][1](stats))
        candidates.append(cand)

    return candidates


# ---------------------------------------------------------------------- checks
def _number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, allow_none: bool = False) -> float | None:  # fmt: skip
    if value is None and allow_none:
        return None
    if not is_real_number(value) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise InputError(f"{name} must be {op} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise InputError(f"{name} must be <= {high:g}, got {value!r}")
    return float(value)


def _existing_regions(
    existing: Any, grid: Grid, connectivity: int, utility: np.ndarray
) -> list[_Candidate]:
    """Existing regions (connected parts of a mask or of rasterised polygons)."""
    if existing is None:
        return []
    if isinstance(existing, np.ndarray) and existing.dtype == np.bool_:
        if existing.shape != grid.shape:
            raise InputError(
                f"existing has shape {existing.shape} but the grid has shape {grid.shape}"
            )
        mask = existing
    else:
        from gis.overlay import exclusion_mask

        try:
            mask = exclusion_mask(grid, existing, all_touched=False)
        except InputError as exc:
            raise InputError(f"existing regions: {exc}") from None
    structure = STRUCTURES[connectivity]
    labels, _ = ndimage.label(mask, structure=structure)
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):  # a few regions
        m = labels[sl] == i
        values = utility[sl].astype(np.float64)
        scored = m & np.isfinite(values)
        if scored.any():
            stats, _ = _stats(scored, values, structure, grid.cell_size)
        else:
            stats = {}
        _, boundary = _stats(m, np.zeros(m.shape), structure, grid.cell_size)
        r0, c0 = sl[0].start, sl[1].start
        stats.update(n_cells=float(m.sum()))
        out.append(_Candidate((r0, c0), r0, c0, m, stats, boundary + np.array([r0, c0])))
    return out


# ---------------------------------------------------------------------- main
def locate_regions(
    utility: np.ndarray,
    grid: Grid,
    *,
    n_regions: int = 1,
    total_area: float | None = None,
    min_area: float = 0.0,
    max_area: float | None = None,
    shape: str = "circle",
    orientation: float = 0.0,
    aspect: float = 2.0,
    shape_tradeoff: float = 50.0,
    min_distance: float = 0.0,
    max_distance: float | None = None,
    existing: Any = None,
    connectivity: int = 8,
    no_islands: bool = False,
    evaluation: str = "highest_average",
    selection: str = "combinatorial",
    seeds: int | str = 100,
    factors: Mapping[str, np.ndarray] | None = None,
    allow_fewer: bool = False,
    max_nodes: int = 200_000,
) -> gpd.GeoDataFrame:
    """Find the best regions of a utility surface under size, shape and spacing constraints.

    Parameters
    ----------
    utility
        2-D suitability (higher = better) of ``grid.shape``; NaN cells are never
        part of a region. Not modified.
    grid
        The grid of ``utility``.
    n_regions
        Number of new regions.
    total_area
        Total area of the new regions in m², shared equally between them; by
        default each region is ``max_area`` if given, else ``min_area`` if > 0,
        else 10 % of the valid cells are shared out (the ArcGIS default).
    min_area, max_area
        Bounds of one region's area in m² (a region's share of ``total_area``
        must lie within them).
    shape
        A key of :data:`SHAPES`.
    orientation
        Rotation of the shape in degrees counter-clockwise from east.
    aspect
        Major-to-minor axis ratio of the ellipse (>= 1).
    shape_tradeoff
        Percent, 0–100: the weight of keeping the shape against gaining utility
        while growing (0 = utility only, 100 = shape only; ArcGIS default 50).
    min_distance, max_distance
        Least and greatest gap in metres between any two regions (new and
        existing).
    existing
        Regions already in place: a boolean mask of ``grid.shape`` or polygons
        in the grid CRS. Their cells are not available, the distance
        constraints apply to them, and they are returned with ``existing=True``.
    connectivity
        4 or 8: how the cells of a region connect while growing, and which
        regions count as touching.
    no_islands
        Fill holes enclosed by a region (a candidate whose hole holds a cell that
        cannot join is dropped); the filled cells add to its area.
    evaluation
        A key of :data:`EVALUATIONS` (higher value = better region).
    selection
        ``"combinatorial"`` (the best set) or ``"sequential"`` (greedy).
    seeds
        Number of seed cells to grow from, or ``"all"`` to grow from every
        valid cell (small surfaces).
    factors
        Optional factor name → 2-D array; each becomes a column with its mean
        over the region.
    allow_fewer
        Return fewer than ``n_regions`` regions when no more fit the constraints
        instead of raising.
    max_nodes
        Node budget of the combinatorial search; when it runs out the best set
        found is returned and ``result.attrs["optimal"]`` is False.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``grid.crs``: the existing regions (``rank`` 0, ``existing`` True)
        then the new ones by decreasing ``value`` (rank 1, 2, …), with the
        columns :data:`LOCATE_COLUMNS` (areas in ha, scores are utility
        statistics, ``value`` the evaluation value, ``seed_x``/``seed_y`` the
        seed cell's centre), one column per factor and ``geometry``.
        ``attrs`` holds ``optimal``, ``candidates`` and the parameters.

    Raises
    ------
    InputError
        Bad parameters (named), a region size that cannot be met (a share of
        ``total_area`` below one cell, outside ``min_area``..``max_area``, or
        more area than there are valid cells), or fewer than ``n_regions``
        regions that satisfy the constraints (unless ``allow_fewer``).

    Examples
    --------
    >>> import numpy as np
    >>> from gis.grid import Grid
    >>> g = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs="EPSG:32635")
    >>> u = np.zeros((10, 10)); u[1:4, 1:4] = 1.0; u[6:9, 6:9] = 0.9
    >>> r = locate_regions(u, g, n_regions=2, total_area=1800, shape="square",
    ...                    shape_tradeoff=0, seeds="all")
    >>> r[["rank", "n_cells", "mean_score"]].round(2)
       rank  n_cells  mean_score
    0     1        9         1.0
    1     2        9         0.9
    """
    import geopandas as gpd

    # ------------------------------------------------------------------ checks
    if not isinstance(grid, Grid):
        raise InputError(f"grid must be a gis.grid.Grid, got {type(grid).__name__}")
    utility = as_numeric_array(utility, "utility")
    if utility.shape != grid.shape:
        raise InputError(f"utility has shape {utility.shape} but the grid has shape {grid.shape}")
    connectivity = check_connectivity(connectivity)
    if isinstance(n_regions, bool) or not isinstance(n_regions, numbers.Integral) or n_regions < 1:
        raise InputError(f"n_regions must be a positive integer, got {n_regions!r}")
    n_regions = int(n_regions)
    if shape not in SHAPES:
        raise InputError(f"shape must be one of {list(SHAPES)}, got {shape!r}")
    if evaluation not in EVALUATIONS:
        raise InputError(f"evaluation must be one of {list(EVALUATIONS)}, got {evaluation!r}")
    if selection not in SELECTIONS:
        raise InputError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}")
    tau = _number(shape_tradeoff, "shape_tradeoff", low=0, high=100) / 100.0
    orientation = _number(orientation, "orientation")
    aspect = _number(aspect, "aspect", low=1)
    min_area = _number(min_area, "min_area", low=0)
    max_area = _number(max_area, "max_area", low=0, low_open=True, allow_none=True)
    total_area = _number(total_area, "total_area", low=0, low_open=True, allow_none=True)
    min_distance = _number(min_distance, "min_distance", low=0)
    max_distance = _number(max_distance, "max_distance", low=0, allow_none=True)
    if max_area is not None and max_area < min_area:
        raise InputError(f"max_area ({max_area:g} m²) is below min_area ({min_area:g} m²)")
    if max_distance is not None and max_distance < min_distance:
        raise InputError(
            f"max_distance ({max_distance:g} m) is below min_distance ({min_distance:g} m)"
        )
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral) or max_nodes < 1:
        raise InputError(f"max_nodes must be a positive integer, got {max_nodes!r}")
    if not (seeds == "all" or (isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool)
                               and seeds >= 1)):  # fmt: skip
        raise InputError(f"seeds must be a positive integer or 'all', got {seeds!r}")
    checked_factors: dict[str, np.ndarray] = {}
    for key, arr in (factors or {}).items():
        if not isinstance(key, str) or key in (*LOCATE_COLUMNS, "geometry"):
            raise InputError(f"factor name {key!r} is not allowed (it clashes with a column)")
        a = as_numeric_array(arr, f"factor {key!r}")
        if a.shape != grid.shape:
            raise InputError(f"factor {key!r} has shape {a.shape} but the grid has {grid.shape}")
        checked_factors[key] = a

    cell = grid.cell_size
    cell_area = grid.cell_area
    existing_regions = _existing_regions(existing, grid, connectivity, utility)

    # valid cells and the utility range, in row chunks
    valid = np.empty(grid.shape, dtype=bool)
    lo, hi = np.inf, -np.inf
    rows = chunk_rows_for(grid.shape, None)
    for start in range(0, grid.shape[0], rows):
        block = utility[start : start + rows]
        ok = np.isfinite(block)
        valid[start : start + rows] = ok
        if ok.any():
            lo, hi = min(lo, float(block[ok].min())), max(hi, float(block[ok].max()))
    for reg in existing_regions:
        r0, c0, r1, c1 = reg.bbox
        valid[r0:r1, c0:c1] &= ~reg.mask
    n_valid = int(np.count_nonzero(valid))
    if n_valid == 0:
        raise InputError("utility has no valid (non-NaN) cell outside the existing regions")
    span = hi - lo if hi > lo else 1.0

    # ------------------------------------------------------------------ region size
    if total_area is not None:
        share = total_area / n_regions
        what = f"total_area {total_area:g} m² shared by n_regions={n_regions}"
    elif max_area is not None:
        share, what = max_area, f"max_area {max_area:g} m²"
    elif min_area > 0:
        share, what = min_area, f"min_area {min_area:g} m²"
    else:
        share = 0.1 * n_valid * cell_area / n_regions
        what = f"10 % of the valid area shared by n_regions={n_regions}"
    k = round(share / cell_area)
    if k < 1:
        raise InputError(
            f"{what} gives regions of {share:g} m², less than one {cell_area:g} m² cell; "
            "give a larger total_area or fewer regions"
        )
    if share < min_area * (1 - 1e-9) or (max_area is not None and share > max_area * (1 + 1e-9)):
        raise InputError(
            f"{what} gives regions of {share / 1e4:g} ha, outside min_area..max_area "
            f"({min_area / 1e4:g}..{'' if max_area is None else f'{max_area / 1e4:g}'} ha); "
            "change total_area, n_regions or the area bounds"
        )
    if k * n_regions > n_valid:
        raise InputError(
            f"{what} needs {k * n_regions:,} cells but only {n_valid:,} valid cells are "
            "available; give a smaller total_area or fewer regions"
        )

    # ------------------------------------------------------------------ grow candidates
    radius = _gauge_radius(shape, k, aspect)
    reach = _circumradius(shape, radius, aspect)
    if seeds == "all":
        seed_list = [tuple(map(int, rc)) for rc in np.argwhere(valid)]
    else:
        seed_list = _seed_cells(utility, valid, math.sqrt(k / math.pi), int(seeds))
    candidates = _grow_candidates(
        utility, valid, seed_list, k=k, radius=radius, reach=reach, shape=shape,
        orientation=orientation, aspect=aspect, tau=tau, lo=lo, span=span,
        connectivity=connectivity, no_islands=no_islands,
        max_cells=None if max_area is None else max_area / cell_area, cell=cell,
        evaluation=evaluation,
    )  # fmt: skip

    # ------------------------------------------------------------------ constraints
    kw = {"cell": cell, "min_distance": min_distance, "max_distance": max_distance}
    candidates = [c for c in candidates if all(_compatible(c, e, **kw) for e in existing_regions)]
    m = len(candidates)
    compat = _compatibility(candidates, **kw)
    values = np.array([c.value for c in candidates])
    optimal = True
    if m == 0:
        chosen: list[int] = []
    elif selection == "sequential":
        chosen = _select_sequential(values, compat, n_regions)
        optimal = False
    else:
        chosen, optimal = _select_combinatorial(values, compat, n_regions, int(max_nodes))
    if len(chosen) < n_regions and not allow_fewer:
        raise InputError(
            f"only {len(chosen)} of n_regions={n_regions} regions of {k * cell_area / 1e4:g} ha "
            f"could be placed ({m} candidate regions from {len(seed_list)} seeds"
            f"{f', min_distance {min_distance:g} m' if min_distance else ''}"
            f"{f', max_distance {max_distance:g} m' if max_distance is not None else ''}); "
            "ask for fewer or smaller regions, relax the distances, use more seeds, or allow "
            "fewer regions (allow_fewer)"
        )
    chosen.sort(key=lambda i: (-values[i], i))

    # ------------------------------------------------------------------ output
    rows_out: list[dict[str, Any]] = []
    geoms = []
    x0, y0 = grid.transform.c, grid.transform.f
    for rank, reg in [(0, e) for e in existing_regions] + [
        (r, candidates[i]) for r, i in enumerate(chosen, start=1)
    ]:  # the selected regions
        stats = dict(reg.stats)
        row: dict[str, Any] = {c: np.nan for c in LOCATE_COLUMNS}
        row.update({k_: v for k_, v in stats.items() if k_ in LOCATE_COLUMNS})
        row["rank"] = rank
        row["existing"] = rank == 0
        row["n_cells"] = int(np.count_nonzero(reg.mask))
        row["area_ha"] = row["n_cells"] * cell_area / 1e4
        row["value"] = reg.value if rank else np.nan
        if rank:
            row["seed_x"] = x0 + (reg.seed[1] + 0.5) * cell
            row["seed_y"] = y0 - (reg.seed[0] + 0.5) * cell
        r0, c0, r1, c1 = reg.bbox
        for key, arr in checked_factors.items():
            vals = arr[r0:r1, c0:c1][reg.mask].astype(np.float64)
            vals = vals[np.isfinite(vals)]
            row[key] = float(vals.mean()) if vals.size else np.nan
        rows_out.append(row)
        geoms.append(_polygon(reg.mask, grid.transform @ Affine.translation(c0, r0)))
    import pandas as pd

    columns = [*LOCATE_COLUMNS, *checked_factors]
    frame = pd.DataFrame(rows_out, columns=columns)
    frame = frame.astype({"rank": "int64", "n_cells": "int64", "existing": "bool"})
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=grid.crs), crs=grid.crs)
    out.attrs.update(
        optimal=bool(optimal),
        candidates=m,
        seeds=len(seed_list),
        region_cells=int(k),
        evaluation=evaluation,
        selection=selection,
    )
    return out


def _polygon(mask: np.ndarray, transform: Affine) -> Any:
    """(Multi)Polygon of the cells of a cropped mask."""
    from rasterio import features
    from shapely.geometry import MultiPolygon, shape

    pieces = [
        shape(geom)
        for geom, _ in features.shapes(
            mask.astype(np.uint8), mask=mask, connectivity=4, transform=transform
        )
    ]
    return pieces[0] if len(pieces) == 1 else MultiPolygon(pieces)
