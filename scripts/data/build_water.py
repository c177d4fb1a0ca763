"""Rebuild the offline water layer shipped in ``layers/data/water/`` from Natural Earth.

Reads the Natural Earth 1:10m lakes and river centre lines (scale-rank edition), keeps the
features that touch China's bounding box, only the fields :mod:`layers.china.water` uses,
simplifies them to about 100 m and writes ``layers/data/water/china_water.geojson.gz``
(gzip-compressed GeoJSON). The sources, commit and licence are in
``layers/data/water/SOURCES.md``.

The inputs are the GeoJSON files of the repository martynafford/natural-earth-geojson
(``10m/physical/ne_10m_lakes.json`` and
``10m/physical/ne_10m_rivers_lake_centerlines_scale_rank.json``, shipped there as ``.7z``
archives: extract them first) or the same layers from nvkelso/natural-earth-vector
(``geojson/ne_10m_lakes.geojson``...); any format GDAL reads will do.

Run: ``python scripts/data/build_water.py LAKES RIVERS``
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "layers" / "data" / "water" / "china_water.geojson.gz"

#: China's bounding box (lon, lat), with a small margin: the features kept.
CHINA_BOUNDS: tuple[float, float, float, float] = (73.0, 17.5, 135.5, 54.0)
#: Simplification tolerance in degrees (about 100 m).
TOLERANCE: float = 0.001
#: Decimals kept in the coordinates (about 10 m).
DECIMALS: int = 4


def build(lakes_path: Path, rivers_path: Path) -> gpd.GeoDataFrame:
    """The reduced water layer: ``kind``, ``name``, ``scalerank``, ``strokeweig``, geometry."""
    frames = []
    for kind, path in (("lake", lakes_path), ("river", rivers_path)):
        src = gpd.read_file(path, bbox=CHINA_BOUNDS)
        if "strokeweig" not in src:
            src["strokeweig"] = float("nan")
        src = src[src.geometry.notna() & ~src.geometry.is_empty]
        name = src["name"].where(src["name"].notna(), None)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "kind": kind,
                    "name": name,
                    "scalerank": src["scalerank"].astype(int),
                    "strokeweig": src["strokeweig"].astype(float),
                },
                geometry=src.geometry.to_numpy(),
                crs=4326,
            )
        )
    out = pd.concat(frames, ignore_index=True)
    geoms = shapely.simplify(out.geometry.to_numpy(), TOLERANCE, preserve_topology=True)
    geoms = shapely.set_precision(geoms, 10.0**-DECIMALS)
    out = out.set_geometry(gpd.GeoSeries(geoms, crs=4326))
    keep = ~out.geometry.is_empty
    return out[keep].reset_index(drop=True)


def main(argv: list[str]) -> None:
    """Build from the two paths given and write :data:`OUT`."""
    if len(argv) != 2:
        raise SystemExit(__doc__)
    out = build(Path(argv[0]), Path(argv[1]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    plain = OUT.with_suffix("")  # .geojson
    plain.unlink(missing_ok=True)
    out.to_file(plain, driver="GeoJSON", COORDINATE_PRECISION=DECIMALS, WRITE_NAME="NO")
    with plain.open("rb") as f, OUT.open("wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
            shutil.copyfileobj(f, gz)  # mtime 0: the same inputs give the same bytes
    plain.unlink()
    counts = out["kind"].value_counts().to_dict()
    print(f"wrote {OUT} ({OUT.stat().st_size / 1000:.0f} kB): {counts}")


if __name__ == "__main__":
    main(sys.argv[1:])
