"""innosite candidates for the peer benchmark harness (workloads W1-W5).

Every function receives the run's spec dict, reads the harness inputs, runs the
workload THROUGH innosite's own public functions (package ``gis``) and writes
the outputs of the harness contract.  It prints ``@@step <name> <seconds>``
lines (read / compute / write) and returns the compute-only seconds (the
``core`` column of the tables).

Output writing: unless a variant says otherwise, rasters are written the way the
peers write them (uncompressed Float32 GeoTIFF, tiled 512x512, see
peers/py_peers.write_tif), so that the wall-time ratio compares the same file
work.  innosite's own ``gis.io.write_geotiff`` always writes a ZSTD COG with
overviews and statistics; ``*-cog`` variants use it so that its cost is visible.

Semantics (see README_innosite.md next to this file for the full notes):
* W1  ``gis.distance.euclidean_distance`` (points: tiled exact nearest point;
  lines: all-touched rasterisation + threaded separable EDT), or
  ``gis.distance.nearest_point`` (tiled exact nearest point) for the points.
* W2  ``gis.measures.kernel_density`` (binned points * quartic stencil: per-cell
  splat or FFT, whichever is cheaper),
  or ``gis.windowed.windowed_kernel_density`` (window by window, innosite writer).
* W3  ``gis.transforms.rescale`` x6 + ``gis.overlay.weighted_linear_combination``
  + ``gis.overlay.apply_constraints``; in memory, or through
  ``gis.engine.compute_blocks`` (the engine ``innosite national`` uses).
  innosite's rescale has ArcGIS *Rescale by Function* semantics: F is stretched
  linearly between its extremes over [lower_threshold, upper_threshold].  To get
  the workload's raw fuzzy memberships:
    linear   -> "linear", minimum=a, maximum=b, thresholds [min(a,b), max(a,b)]
                (exact: the stretch is the identity, values beyond are held flat);
    gaussian -> "gaussian", midpoint=m, spread=1/(2 s^2), thresholds +-1e9
                (F is exactly 0 at both thresholds and 1 at the midpoint, so the
                stretch is the identity);
    sigmoid  -> "logistic_growth" (k>0, y_intercept_percent=1) or
                "logistic_decay" (k<0, y_intercept_percent=99) with
                minimum/maximum = m -+ ln(99)/|k| (so innosite's slope equals k),
                thresholds +-1e9 (F runs from exactly 0 to 100, so the stretch
                divides by 100).
* W4  ``gis.regions.candidate_regions`` (in memory) or
  ``gis.zones.windowed_candidate_regions`` (window by window), then
  ``gis.io.write_geopackage``; region_id = innosite's rank,
  area_m2 = n_cells * cell area.
* W5  ``w5`` reads both layers with ``gis.io.read_gpkg`` (stdlib sqlite3, no
  pandas/GDAL), builds ``gis.network.Network`` and calls
  ``gis.network.node_distance`` from the POI nodes; the CSV is written with numpy.
  ``w5_grid`` runs ``gis.network.network_distance`` on a 75 m grid whose
  cell centres are the street-lattice points (every node is the nearest node of
  its lattice cell, because the jitter is at most 0.3 x 75 m), and recovers the
  node value as cell value minus the straight access leg.
"""

import math
import os
import time

import numpy as np

from gis.memory import keep_freed_memory

# Freed arrays are reused instead of faulted in again (glibc); a user script following the
# README does the same, and the innosite command does it at start.
keep_freed_memory()

#: memory budget of the windowed variants (the project's own bench_national.py default)
BUDGET_1G = 1 << 30


# ---------------------------------------------------------------------- helpers
class _Clock:
    """Accumulates compute seconds and prints @@step lines."""

    def __init__(self):
        self.core = 0.0

    def step(self, name, t0, compute=True):
        dt = time.perf_counter() - t0
        if compute:
            self.core += dt
        print(f"@@step {name} {dt:.3f}", flush=True)


def _grid(spec):
    from gis.grid import Grid

    g = spec["grid"]
    return Grid.from_bounds(
        (g["west"], g["south"], g["east"], g["north"]), cell_size=g["cell"], crs=g["crs"]
    )


def _write_plain(path, arr, spec, nodata=None):
    """The peers' layout (py_peers.write_tif): uncompressed Float32 GeoTIFF, tiled 512.

    Written one row of blocks at a time: rasterio copies the array of a write, so a
    whole-grid write would hold a second copy of the raster (+400 MB at 1e8 cells).
    """
    import rasterio
    from rasterio.transform import from_origin

    g = spec["grid"]
    prof = dict(
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype="float32",
        crs=g["crs"],
        transform=from_origin(g["west"], g["north"], g["cell"], g["cell"]),
        tiled=True,
        blockxsize=512,
        blockysize=512,
    )
    if nodata is not None:
        prof["nodata"] = nodata
    from rasterio.windows import Window

    arr = arr.astype(np.float32, copy=False)
    with rasterio.open(path, "w", **prof) as dst:
        for r in range(0, arr.shape[0], 512):
            rows = arr[r : r + 512]
            dst.write(rows, 1, window=Window(0, r, arr.shape[1], rows.shape[0]))


def _points_xy(path):
    """Point coordinates of a one-layer GeoPackage, by ``gis.io.read_gpkg`` (sqlite3)."""
    import shapely

    from gis.io import read_gpkg

    geoms = read_gpkg(path, columns=[])["geometry"]
    return shapely.get_x(geoms), shapely.get_y(geoms)


# ---------------------------------------------------------------------- W1
def _w1(spec, points_method):
    import shapely

    from gis.distance import euclidean_distance
    from gis.io import read_gpkg

    ck = _Clock()
    t = time.perf_counter()
    grid = _grid(spec)
    pts = read_gpkg(spec["inputs"]["univ"], columns=[])["geometry"]
    lns = read_gpkg(spec["inputs"]["metro"], columns=[])["geometry"]
    ck.step("read vectors (gis.io.read_gpkg)", t, compute=False)

    t = time.perf_counter()
    if points_method == "nearest_point":
        from gis.distance import nearest_point

        d = nearest_point(grid, shapely.get_x(pts), shapely.get_y(pts), return_index=False).distance
    else:
        d = euclidean_distance(grid, pts)
    ck.step(f"points: {points_method}", t)
    t = time.perf_counter()
    _write_plain(spec["outputs"]["dist_points"], d, spec)
    ck.step("write dist_points", t, compute=False)
    del d

    t = time.perf_counter()
    d = euclidean_distance(grid, lns)
    ck.step("lines: euclidean_distance", t)
    t = time.perf_counter()
    _write_plain(spec["outputs"]["dist_lines"], d, spec)
    ck.step("write dist_lines", t, compute=False)
    return ck.core


def w1(spec):
    """gis.distance.euclidean_distance for both the points and the lines."""
    return _w1(spec, "euclidean_distance")


def w1_nearest(spec):
    """gis.distance.nearest_point (tiled exact nearest point) for the points,
    gis.distance.euclidean_distance for the lines."""
    return _w1(spec, "nearest_point")


# ---------------------------------------------------------------------- W2
def w2(spec):
    """gis.measures.kernel_density (quartic, 500 m), in memory."""
    from gis.measures import kernel_density

    ck = _Clock()
    t = time.perf_counter()
    grid = _grid(spec)
    x, y = _points_xy(spec["inputs"]["cafes"])
    ck.step("read points (gis.io.read_gpkg)", t, compute=False)
    t = time.perf_counter()
    kde = kernel_density(grid, x, y, bandwidth=spec["params"]["kde_bandwidth"], kernel="quartic")
    ck.step("kernel_density", t)
    t = time.perf_counter()
    _write_plain(spec["outputs"]["kde"], kde, spec)
    ck.step("write", t, compute=False)
    return ck.core


def w2_windowed(spec):
    """gis.windowed.windowed_kernel_density: window by window (default memory budget),
    written by innosite's own writer (tiled ZSTD, statistics, overviews: no option)."""
    from gis.windowed import windowed_kernel_density

    ck = _Clock()
    t = time.perf_counter()
    grid = _grid(spec)
    x, y = _points_xy(spec["inputs"]["cafes"])
    ck.step("read points (gis.io.read_gpkg)", t, compute=False)
    t = time.perf_counter()
    windowed_kernel_density(
        grid,
        x,
        y,
        spec["outputs"]["kde"],
        bandwidth=spec["params"]["kde_bandwidth"],
        kernel="quartic",
        overwrite=True,
    )
    ck.step("windowed_kernel_density (compute + write)", t)
    return ck.core


# ---------------------------------------------------------------------- W3
_BIG = 1e9


def innosite_transform(fn, p):
    """rescale() keyword arguments that reproduce the workload's fuzzy function (see module doc)."""
    if fn == "linear":
        a, b = float(p["a"]), float(p["b"])
        return {
            "function": "linear",
            "minimum": a,
            "maximum": b,
            "lower_threshold": min(a, b),
            "upper_threshold": max(a, b),
        }
    if fn == "gaussian":
        s = float(p["s"])
        return {
            "function": "gaussian",
            "midpoint": float(p["m"]),
            "spread": 1.0 / (2.0 * s * s),
            "lower_threshold": -_BIG,
            "upper_threshold": _BIG,
        }
    if fn == "sigmoid":
        k, m = float(p["k"]), float(p["m"])
        d = math.log(99.0) / abs(k)
        growth = k > 0
        return {
            "function": "logistic_growth" if growth else "logistic_decay",
            "minimum": m - d,
            "maximum": m + d,
            "y_intercept_percent": 1.0 if growth else 99.0,
            "lower_threshold": -_BIG,
            "upper_threshold": _BIG,
        }
    raise ValueError(fn)


def _w3_specs(spec):
    specs = {L["name"]: innosite_transform(L["fn"], L["p"]) for L in spec["params"]["layers"]}
    weights = {L["name"]: float(L["w"]) for L in spec["params"]["layers"]}
    return specs, weights


def _w3_memory(spec, writer):
    from gis.io import raster_grid, read_geotiff
    from gis.overlay import apply_constraints, weighted_linear_combination
    from gis.transforms import Rescaled, rescale

    ck = _Clock()
    specs, weights = _w3_specs(spec)
    paths = spec["inputs"]["layers"]
    grid = raster_grid(spec["inputs"]["mask"])
    # the first layer is read and rescaled into the array that becomes the result; the
    # others into one buffer, each when the overlay takes it: two full grids in memory
    names = list(weights)
    result = np.empty(grid.shape, dtype=np.float32)
    buffer = np.empty(grid.shape, dtype=np.float32)
    t_read = 0.0

    def read(name, into):
        nonlocal t_read
        t = time.perf_counter()
        raw, _ = read_geotiff(paths[name], out=into)
        t_read += time.perf_counter() - t
        return raw

    def score_later(name):
        """The layer read when the overlay takes it, and rescaled as it is combined."""

        def produce():
            kw = dict(specs[name])
            return Rescaled(read(name, buffer), kw.pop("function"), **kw)

        return produce

    t = time.perf_counter()
    kw = dict(specs[names[0]])
    first = rescale(read(names[0], result), kw.pop("function"), out=result, **kw)  # in place
    ck.step(f"rescale {names[0]} ({specs[names[0]]['function']})", t)
    scores = {names[0]: first}
    scores.update({n: score_later(n) for n in names[1:]})
    t, read0 = time.perf_counter(), t_read
    composite = weighted_linear_combination(scores, weights, out=result)
    del scores
    # the overlay's own time (the rescales of the later layers included), without the reads
    t += t_read - read0
    ck.step("weighted_linear_combination (rescaling the later layers)", t)
    t = time.perf_counter()
    mask, _ = read_geotiff(spec["inputs"]["mask"], out=buffer)
    t_read += time.perf_counter() - t
    print(f"@@step read_geotiff x7 {t_read:.3f}", flush=True)
    t = time.perf_counter()
    suit = apply_constraints(composite, None, area_mask=mask > 0.5, out=composite)
    del composite, mask
    buffer = None  # the reads are done: the buffer goes before the write
    ck.step("apply_constraints", t)
    t = time.perf_counter()
    nodata = spec["params"]["nodata"]
    if writer == "cog":
        from gis.io import write_geotiff

        write_geotiff(
            spec["outputs"]["suitability"],
            suit,
            grid,
            description="suitability",
            units="score",
            nodata=nodata,
            overwrite=True,
        )
    else:
        np.copyto(suit, np.float32(nodata), where=np.isnan(suit))
        _write_plain(spec["outputs"]["suitability"], suit, spec, nodata=nodata)
    ck.step(f"write ({writer})", t, compute=False)
    return ck.core


def w3(spec):
    """In memory: read_geotiff x7, rescale x6, weighted_linear_combination,
    apply_constraints; plain GeoTIFF written like the peers."""
    return _w3_memory(spec, "plain")


def w3_cog(spec):
    """As w3, but written with innosite's gis.io.write_geotiff (ZSTD COG + overviews)."""
    return _w3_memory(spec, "cog")


class _W3Block:
    """Block function for gis.engine.compute_blocks: what the score pass of layers.pipeline does."""

    def __init__(self, specs, weights):
        self.specs, self.weights = specs, weights

    @staticmethod
    def bytes_per_cell(n_inputs):
        """Working set per cell: the float32 inputs, rescaled, combined and masked in
        place, the boolean mask, and room for the reads and the writer's row bands
        (the rescale and overlay temporaries are chunks of fixed size)."""
        return 4 * n_inputs + 36

    def __call__(self, grid, arrays):
        from gis.overlay import apply_constraints, weighted_linear_combination
        from gis.transforms import Rescaled

        # each chunk of rows is rescaled and combined while in the cache, into the
        # first input's buffer (the window's arrays are its own)
        scores = {}
        for name in self.weights:
            kw = dict(self.specs[name])
            scores[name] = Rescaled(arrays[name], kw.pop("function"), **kw)
        first = arrays[next(iter(self.weights))]
        composite = weighted_linear_combination(scores, self.weights, out=first)
        suit = apply_constraints(composite, None, area_mask=arrays["mask"] > 0.5, out=composite)
        return {"suitability": suit}


def _w3_engine(spec, kind, budget, compress, overviews):
    from gis.engine import Engine, compute_blocks
    from gis.io import RasterOutput

    ck = _Clock()
    specs, weights = _w3_specs(spec)
    grid = _grid(spec)
    inputs = dict(spec["inputs"]["layers"])
    inputs["mask"] = spec["inputs"]["mask"]
    out = RasterOutput(
        spec["outputs"]["suitability"],
        "suitability",
        "score",
        nodata=float(spec["params"]["nodata"]),
    )
    engine = Engine(kind, memory_budget=budget, n_workers=2)
    t = time.perf_counter()
    compute_blocks(
        grid,
        _W3Block(specs, weights),
        {"suitability": out},
        engine=engine,
        inputs=inputs,
        bytes_per_cell=_W3Block.bytes_per_cell(len(inputs)),
        overwrite=True,
        overviews=overviews,
        compress=compress,
    )
    ck.step(
        f"compute_blocks engine={engine.describe()} budget={budget} "
        f"compress={compress} overviews={overviews} (read + compute + write)",
        t,
    )
    return ck.core


def w3_engine(spec):
    """gis.engine.compute_blocks, window by window, 1 GiB budget; uncompressed, no overviews
    (the peers' file options)."""
    return _w3_engine(spec, "windows", BUDGET_1G, compress=False, overviews=False)


def w3_engine_default(spec):
    """As w3_engine with innosite's writer defaults (ZSTD, statistics, overviews)."""
    return _w3_engine(spec, "windows", BUDGET_1G, compress=True, overviews=True)


def w3_dask(spec):
    """gis.engine.compute_blocks on Dask threads (2), 1 GiB budget; uncompressed, no overviews."""
    return _w3_engine(spec, "dask", BUDGET_1G, compress=False, overviews=False)


# ---------------------------------------------------------------------- W4
def _w4_write(spec, regions, cell_area):
    from gis.io import write_geopackage

    regions = regions.copy()
    regions["region_id"] = regions["rank"].astype(np.int64)
    regions["area_m2"] = regions["n_cells"].astype(np.float64) * cell_area
    write_geopackage(spec["outputs"]["regions"], regions, layer="regions", overwrite=True)


def w4(spec):
    """gis.io.read_geotiff + gis.regions.candidate_regions (in memory) + gis.io.write_geopackage."""
    from gis.io import read_geotiff
    from gis.regions import candidate_regions

    ck = _Clock()
    p = spec["params"]
    t = time.perf_counter()
    score, grid = read_geotiff(spec["inputs"]["suitability"])
    ck.step("read_geotiff", t, compute=False)
    t = time.perf_counter()
    regions = candidate_regions(
        score, grid, threshold=p["w4_threshold"], min_area=p["w4_min_area_m2"], connectivity=8
    )
    ck.step(f"candidate_regions ({len(regions)} regions)", t)
    del score
    t = time.perf_counter()
    _w4_write(spec, regions, grid.cell_area)
    ck.step("write_geopackage", t, compute=False)
    return ck.core


def _w4_zones(spec, budget):
    from gis.zones import windowed_candidate_regions

    ck = _Clock()
    p = spec["params"]
    t = time.perf_counter()
    regions = windowed_candidate_regions(
        spec["inputs"]["suitability"],
        threshold=p["w4_threshold"],
        min_area=p["w4_min_area_m2"],
        connectivity=8,
        memory_budget=budget,
    )
    ck.step(f"windowed_candidate_regions budget={budget} ({len(regions)} regions; incl. read)", t)
    t = time.perf_counter()
    _w4_write(spec, regions, spec["grid"]["cell"] ** 2)
    ck.step("write_geopackage", t, compute=False)
    return ck.core


def w4_zones(spec):
    """gis.zones.windowed_candidate_regions, 1 GiB budget (window by window)."""
    return _w4_zones(spec, BUDGET_1G)


def w4_zones_default(spec):
    """gis.zones.windowed_candidate_regions with the default budget (gis.settings.memory_budget)."""
    return _w4_zones(spec, None)


# ---------------------------------------------------------------------- W5
def _read_net(spec):
    from gis.io import read_gpkg

    e = read_gpkg(spec["inputs"]["net_edges"], columns=["u", "v", "length"], geometry=False)
    nd = read_gpkg(
        spec["inputs"]["net_nodes"], columns=["node_id", "x", "y", "is_poi"], geometry=False
    )
    return e, nd


def _write_node_dist(spec, node_id, dist, chunk=65536):
    """node_id,dist with 4 decimals, as the peers' pandas ``float_format="%.4f"`` writes it
    (``inf`` as "inf").  Rows are formatted a chunk at a time by one ``%`` over the chunk's
    interleaved values (C-level formatting, same text as ``np.savetxt`` at a third of the
    time)."""
    n = len(node_id)
    with open(spec["outputs"]["node_dist"], "w") as fh:
        fh.write("node_id,dist\n")
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            vals = np.empty(2 * (e - s), dtype=object)
            vals[0::2] = np.asarray(node_id[s:e], dtype=np.int64).tolist()
            vals[1::2] = np.asarray(dist[s:e], dtype=np.float64).tolist()
            fh.write(("%d,%.4f\n" * (e - s)) % tuple(vals.tolist()))


def w5(spec):
    """gis.io.read_gpkg + gis.network.Network + gis.network.node_distance from the POI nodes."""
    from gis.network import Network, node_distance

    ck = _Clock()
    t = time.perf_counter()
    e, nd = _read_net(spec)
    ck.step("read gpkg (gis.io.read_gpkg)", t, compute=False)
    t = time.perf_counter()
    net = Network(nd["x"], nd["y"], e["u"], e["v"], e["length"], spec["grid"]["crs"])
    del e
    src = nd["node_id"][nd["is_poi"] == 1]
    dist = node_distance(net, src)
    ck.step("Network + node_distance", t)
    t = time.perf_counter()
    _write_node_dist(spec, nd["node_id"], dist)
    ck.step("write csv", t, compute=False)
    return ck.core


def w5_grid(spec):
    """gis.network.network_distance on a 75 m grid centred on the street-lattice points;
    node distance = cell value - straight access leg (see module doc)."""
    import bench_common as bc
    from affine import Affine
    from pyproj import CRS

    from gis.grid import Grid
    from gis.network import Network, network_distance

    ck = _Clock()
    t = time.perf_counter()
    e, nd = _read_net(spec)
    ck.step("read gpkg (gis.io.read_gpkg)", t, compute=False)
    t = time.perf_counter()
    x, y = nd["x"], nd["y"]
    net = Network(x, y, e["u"], e["v"], e["length"], spec["grid"]["crs"])
    poi = nd["is_poi"] == 1
    sp = bc.W5_SPACING
    m = bc.W5_NODES_PER_SIDE[spec["n"]]
    grid = Grid(
        CRS.from_user_input(spec["grid"]["crs"]),
        Affine(sp, 0.0, bc.WEST0 - sp / 2, 0.0, -sp, bc.NORTH0 + sp / 2),
        m,
        m,
    )
    ck.step("Network + Grid", t)
    t = time.perf_counter()
    cells = network_distance(grid, net, x[poi], y[poi])
    ck.step(f"network_distance ({grid.size} cells)", t)
    t = time.perf_counter()
    col = np.rint((x - bc.WEST0) / sp).astype(np.int64)
    row = np.rint((bc.NORTH0 - y) / sp).astype(np.int64)
    xc, yc = grid.centers()
    access = np.hypot(xc[col] - x, yc[row] - y)
    dist = cells[row, col].astype(np.float64) - access
    ck.step("node values from cells", t)
    t = time.perf_counter()
    _write_node_dist(spec, nd["node_id"], dist)
    ck.step("write csv", t, compute=False)
    return ck.core


if __name__ == "__main__":  # python innosite_adapter.py <function> <spec.json> <bench dir>
    import json
    import sys

    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        sys.exit(
            "usage: innosite_adapter.py FUNCTION SPEC.json [BENCH_DIR]: run one workload of the "
            "peer benchmark harness (scripts/bench/peers_harness.py calls it)"
        )
    if len(sys.argv) > 3:
        sys.path.insert(0, sys.argv[3])  # bench_common
    with open(sys.argv[2]) as fh:
        _spec = json.load(fh)
    os.makedirs(_spec["out_dir"], exist_ok=True)
    _core = globals()[sys.argv[1]](_spec)
    if isinstance(_core, (int, float)):
        print(f"@@core_s={_core:.4f}", flush=True)
