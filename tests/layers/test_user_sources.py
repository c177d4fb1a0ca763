"""Bring your own data: a GCJ-02 POI CSV and a population raster as criteria, at every scale."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from gis.coords import DatumWarning, from_wgs84
from gis.errors import DataSourceError, InputError
from gis.grid import Grid
from gis.io import read_geotiff
from gis.sources import load_osm_file
from layers.cli.main import main
from layers.scenario import load_scenario
from layers.sources import SourceSpec, load_source, parse_filter
from tests.conftest import shared_osm

INCUBATORS = [(118.7700, 32.0400, 40), (118.7850, 32.0450, 25), (118.7900, 32.0360, 60)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The extract's own POIs shifted to GCJ-02 plus invented incubators, and a population grid."""
    folder = tmp_path_factory.mktemp("byod")
    osm_path = shared_osm("nanjing_xinjiekou_2021.osm")
    osm = load_osm_file(osm_path, tag_filters=[{"amenity": True}, {"shop": True}])
    pts = osm.features[osm.features.geom_type == "Point"]
    pts = pts[pts["amenity"].notna() | pts["shop"].notna()]
    lon, lat = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    kind = np.where(pts["amenity"].notna(), pts["amenity"].astype(str), "shop")
    ilon, ilat, staff = (np.array(v, dtype=float) for v in zip(*INCUBATORS, strict=True))
    wlon, wlat = np.concatenate([lon, ilon]), np.concatenate([lat, ilat])
    glon, glat = from_wgs84(wlon, wlat, "gcj02")
    frame = pd.DataFrame({
        "name": [*pts["name"].fillna(""), "Hub A", "Hub B", "Hub C"],
        "type": [*kind, "incubator", "incubator", "incubator"],
        "lng_gcj": glon.round(8), "lat_gcj": glat.round(8),
        "staff": np.concatenate([np.arange(len(pts)) % 7 + 1, staff]),
    })  # fmt: skip
    frame.to_csv(folder / "pois.csv", index=False)
    w, s, e, n = osm.area.bounds
    res, pad = 0.002, 0.2  # degrees; the pad covers the meso region (the features' extent)
    width, height = int(np.ceil((e - w + 2 * pad) / res)), int(np.ceil((n - s + 2 * pad) / res))
    rows, cols = np.mgrid[0:height, 0:width]
    pop = (1000.0 * np.exp(-((cols - width / 2) ** 2 + (rows - height / 2) ** 2) / 50.0)).astype(
        "float32"
    )
    with rasterio.open(folder / "pop.tif", "w", driver="GTiff", width=width, height=height,
                       count=1, dtype="float32", crs="EPSG:4326", nodata=-1,
                       transform=Affine(res, 0, w - pad, 0, -res, n + pad)) as dst:  # fmt: skip
        dst.write(pop, 1)
    return {"folder": folder, "osm": osm_path, "osm_data": osm, "wgs": (wlon, wlat)}


def _layers(folder: Path) -> list[str]:
    pois = folder / "pois.csv"
    return [
        "--layer", f"incubators={pois}:datum=gcj02,lon=lng_gcj,lat=lat_gcj,"
        "filter=type == 'incubator',weight=staff,bandwidth=500",
        "--layer", f"poi_mix={pois}:datum=gcj02,lon=lng_gcj,lat=lat_gcj,category=type,"
        "measure=poi_diversity,radius=300",
        "--layer", f"population={folder / 'pop.tif'}:radius=200,resampling=average",
    ]  # fmt: skip


SCENARIO = """scale = "{scale}"
[data]
osm_file = "{osm}"
[grid]
cell_size = {cell}

[[factors]]
name = "incubators"
weight = 0.4
[[factors.criteria]]
name = "incubators"
measure = "density"
measure_params = {{ bandwidth = 500 }}
transform = "linear"
[factors.criteria.source]
path = "pois.csv"
datum = "gcj02"
lon = "lng_gcj"
lat = "lat_gcj"
filter = "type == 'incubator'"
weight = "staff"

[[factors]]
name = "mix"
weight = 0.3
[[factors.criteria]]
name = "poi_mix"
measure = "poi_diversity"
measure_params = {{ radius = 300 }}
transform = "linear"
[factors.criteria.source]
name = "pois"
path = "pois.csv"
datum = "gcj02"
lon = "lng_gcj"
lat = "lat_gcj"
category = "type"

[[factors]]
name = "population"
weight = 0.3
[[factors.criteria]]
name = "population"
measure = "raster_value"
measure_params = {{ radius = 200 }}
transform = "linear"
[factors.criteria.source]
path = "pop.tif"
resampling = "average"
"""


def _run(argv: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0


def test_converted_points_land_within_a_metre(data):
    src = load_source("pois", SourceSpec(kind="csv", path=str(data["folder"] / "pois.csv"),
                                         datum="gcj02", lon="lng_gcj", lat="lat_gcj"),
                      grid=Grid.from_bounds((0, 0, 1, 1), cell_size=1, crs=3857),
                      inside=np.ones((1, 1), bool))  # fmt: skip
    wlon, wlat = data["wgs"]
    dx = (src.features["lon"].to_numpy() - wlon) * 111_320 * np.cos(np.radians(32.04))
    dy = (src.features["lat"].to_numpy() - wlat) * 111_320
    assert src.count == len(wlon) and np.hypot(dx, dy).max() < 1.0


def test_micro_from_the_command_line_and_replay(data, tmp_path):
    out = tmp_path / "cli"
    _run(["micro", "--osm-file", str(data["osm"]), "--cell-size", "50", *_layers(data["folder"]),
          "--out", str(out), "-q"])  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    roles = {i["role"]: i for i in manifest["inputs"]}
    assert {"source:incubators", "source:poi_mix", "source:population"} <= set(roles)
    assert all(len(roles[r]["sha256"]) == 64 for r in roles if r.startswith("source:"))
    counts = {s["source"]: s["features"] for s in manifest["extra"]["sources"]}
    assert counts["incubators"] == 3 and counts["poi_mix"] == len(data["wgs"][0])
    rows = {r["criterion"]: r for r in manifest["extra"]["coverage"]}
    assert rows["incubators"]["status"] == "ok" and rows["population"]["status"] == "ok"
    for name in ("incubators", "poi_mix", "population"):
        assert (out / f"{name}.tif").exists()
    # replay reproduces the outputs
    again = tmp_path / "replay"
    _run(["run", str(out / "manifest.json"), "--out", str(again), "-q"])
    for name in ("suitability", "incubators", "population"):
        a, b = read_geotiff(out / f"{name}.tif")[0], read_geotiff(again / f"{name}.tif")[0]
        np.testing.assert_array_equal(a, b)
    # a changed input is refused
    with open(data["folder"] / "pop.tif", "rb") as f:
        original = f.read()
    try:
        (data["folder"] / "pop.tif").write_bytes(original + b"\0")
        with pytest.raises(Exception, match="has changed since the run"):
            load_scenario(out / "manifest.json")
    finally:
        (data["folder"] / "pop.tif").write_bytes(original)


@pytest.mark.parametrize(("scale", "cell"), [("micro", 50), ("meso", 200)])
def test_one_scenario_at_micro_and_meso_scale(data, tmp_path, scale, cell):
    path = data["folder"] / f"{scale}.toml"
    path.write_text(SCENARIO.format(scale=scale, osm=data["osm"], cell=cell))
    scenario = load_scenario(path)
    sources = {c.source: c.data for f in scenario.factors for c in f.criteria}
    assert sources["pois"].datum == "gcj02" and sources["population"].kind == "raster"
    out = tmp_path / scale
    _run(["run", str(path), "--out", str(out), "-q"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"source:incubators", "source:pois", "source:population"} <= {
        i["role"] for i in manifest["inputs"]
    }
    suit = read_geotiff(out / "suitability.tif")[0]
    assert np.nanmax(suit) > np.nanmin(suit)


def test_same_scores_from_the_command_line_and_the_scenario(data, tmp_path):
    path = data["folder"] / "same.toml"
    path.write_text(SCENARIO.format(scale="micro", osm=data["osm"], cell=50))
    _run(["run", str(path), "--out", str(tmp_path / "s"), "-q"])
    _run(["micro", "--osm-file", str(data["osm"]), "--cell-size", "50", *_layers(data["folder"]),
          "--out", str(tmp_path / "c"), "-q"])  # fmt: skip
    a = read_geotiff(tmp_path / "s" / "population.tif")[0]
    b = read_geotiff(tmp_path / "c" / "population.tif")[0]
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- bad input
def _load(folder: Path, text: str, area=(118.76, 32.03, 118.80, 32.05), **spec):
    path = folder / "bad.csv"
    path.write_text(text)
    return load_source(
        "bad", SourceSpec(kind="csv", path=str(path), **spec),
        grid=Grid.from_bounds((0, 0, 1, 1), cell_size=1, crs=3857), inside=np.ones((1, 1), bool),
        area_bounds=area,
    )  # fmt: skip


def test_missing_columns(tmp_path):
    with pytest.raises(InputError, match=r"no lon column \(looked for lon, lng.*columns are"):
        _load(tmp_path, "name,latitude\nA,32.0\n")
    with pytest.raises(InputError, match=r"no column 'east' \(the lon column\)"):
        _load(tmp_path, "name,lon,lat\nA,118.8,32.0\n", lon="east")


def test_unknown_datum(tmp_path):
    with pytest.raises(InputError, match="unknown datum 'wgs72'; choose one of wgs84, gcj02, bd09"):
        SourceSpec(kind="csv", path="x.csv", datum="wgs72")


def test_swapped_coordinates(tmp_path):
    with pytest.raises(InputError, match=r"line 2 \(longitude and latitude swapped\?\)"):
        _load(tmp_path, "lon,lat\n32.04,118.78\n")
    # in range both ways (Frankfurt): swapped columns put the points far from the area
    with pytest.raises(InputError, match="the coordinates look swapped: 100% of the points"):
        _load(tmp_path, "lon,lat\n50.11,8.68\n50.12,8.69\n", area=(8.6, 50.0, 8.8, 50.2))


def test_wrong_datum_warns(data):
    osm = data["osm_data"].features
    import shapely

    xy = shapely.get_coordinates(shapely.centroid(osm.geometry.to_numpy()))
    spec = SourceSpec(kind="csv", path=str(data["folder"] / "pois.csv"), datum="wgs84",
                      lon="lng_gcj", lat="lat_gcj")  # fmt: skip
    grid = Grid.from_bounds((0, 0, 1, 1), cell_size=1, crs=3857)
    with pytest.warns(
        DatumWarning, match='look like gcj02, not wgs84 as declared.*datum = "gcj02"'
    ):
        load_source("pois", spec, grid=grid, inside=np.ones((1, 1), bool),
                    reference=(xy[:, 0], xy[:, 1]))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatumWarning)
        load_source("pois", SourceSpec(**{**spec.__dict__, "datum": "gcj02"}), grid=grid,
                    inside=np.ones((1, 1), bool), reference=(xy[:, 0], xy[:, 1]))  # fmt: skip


def test_raster_not_covering_the_area(data):
    grid = Grid.from_bounds((1.0e7, 3.0e6, 1.0e7 + 1000, 3.0e6 + 1000), cell_size=100, crs=3857)
    spec = SourceSpec(kind="raster", path=str(data["folder"] / "pop.tif"))
    with pytest.raises(DataSourceError, match=r"does not cover the area: it covers 0% of"):
        load_source("pop", spec, grid=grid, inside=np.ones(grid.shape, bool))


def test_no_features_after_the_filter(tmp_path):
    with pytest.raises(InputError, match=r"no features after the filter \"type == 'lab'\" \(1 bef"):
        _load(tmp_path, "lon,lat,type\n118.78,32.04,cafe\n", filter="type == 'lab'")


def test_bad_filter_expressions(tmp_path):
    with pytest.raises(InputError, match=r"not a valid condition \(compare with ==, not =\)"):
        SourceSpec(kind="csv", path="x.csv", filter="type = 'lab'")
    with pytest.raises(InputError, match="is not a comparison"):
        parse_filter("open('x').read() == 1")
    with pytest.raises(InputError, match=r"no attribute 'kind'; the attributes are \['lon'"):
        _load(tmp_path, "lon,lat,type\n118.78,32.04,cafe\n", filter="kind == 'lab'")


def test_missing_file(tmp_path, data):
    grid = Grid.from_bounds((0, 0, 1, 1), cell_size=1, crs=3857)
    with pytest.raises(DataSourceError, match=r"csv source 'x': file not found: .*nope.csv"):
        load_source("x", SourceSpec(kind="csv", path=str(tmp_path / "nope.csv")), grid=grid,
                    inside=np.ones((1, 1), bool))  # fmt: skip
    argv = ["micro", "--osm-file", str(data["osm"]), "--layer", f"x={tmp_path / 'nope.tif'}"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2


def test_scenario_source_errors_name_file_line_and_key(data, tmp_path):
    text = (
        SCENARIO.format(scale="micro", osm=data["osm"], cell=50)
        .replace('datum = "gcj02"\nlon', 'datum = "gcj2"\nlon', 1)
        .replace('path = "pop.tif"', 'path = "nope.tif"')
    )
    path = data["folder"] / "bad.toml"
    path.write_text(text)
    with pytest.raises(Exception) as bad:
        load_scenario(path)
    msg = str(bad.value)
    line_datum = text.splitlines().index('datum = "gcj2"') + 1
    assert f"bad.toml:{line_datum}: factors[incubators].criteria[incubators].source.datum" in msg
    assert "nope.tif" in msg and "source file not found" in msg


def test_init_writes_a_commented_example_that_validates(data):
    import re

    from layers.scenario import parse_scenario
    from layers.scenario.document import USER_SOURCE_EXAMPLE, preset_text

    assert USER_SOURCE_EXAMPLE in preset_text("micro") and USER_SOURCE_EXAMPLE in preset_text(
        "meso"
    )
    body = (
        "\n".join(
            line[2:]
            for line in USER_SOURCE_EXAMPLE.splitlines()
            if re.match(r"# (\[|  |\w+ =)", line)
        )
        .replace("pois.csv", "pois.csv")
        .replace('"lng"', '"lng_gcj"')
        .replace('"lat"', '"lat_gcj"')
    )
    body = body.replace("population.tif", "pop.tif").replace("'incubator', 'lab'", "'incubator'")
    text = f'scale = "micro"\n[data]\nosm_file = "{data["osm"]}"\n{body}\n'
    scenario = parse_scenario(text, base=data["folder"])
    assert [f.name for f in scenario.factors] == ["incubators", "population"]
    crit = scenario.factors[0].criteria[0]
    assert crit.data.datum == "gcj02" and crit.data.weight == "staff"


def test_vector_source_layer_filter_and_weights(tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"use": ["lab", "park", "lab"], "floor": [100.0, 0.0, 300.0]},
        geometry=[shapely.box(118.77, 32.04, 118.771, 32.041), shapely.Point(118.78, 32.04),
                  shapely.Point(118.79, 32.045)], crs=4326,
    )  # fmt: skip
    frame.to_crs(32650).to_file(tmp_path / "v.gpkg", layer="sites")
    spec = SourceSpec(kind="vector", path=str(tmp_path / "v.gpkg"), layer="sites",
                      filter="use == 'lab' and floor > 50", weight="floor")  # fmt: skip
    src = load_source("v", spec, grid=Grid.from_bounds((0, 0, 1, 1), cell_size=1, crs=3857),
                      inside=np.ones((1, 1), bool))  # fmt: skip
    assert src.count == 2 and src.features["weight"].tolist() == [100.0, 300.0]
    assert src.features.crs.to_epsg() == 4326
    assert abs(src.features.geometry.iloc[1].x - 118.79) < 1e-9


def test_windowed_run_equals_the_whole_run_with_user_sources(data):
    from dataclasses import replace

    from gis.engine import Engine
    from layers.cli.options import user_factor
    from layers.micro.run import MicroConfig, compute_micro, load_micro_data

    folder = data["folder"]
    extra = (
        user_factor("population", str(folder / "pop.tif"), {"radius": "200"}),
        user_factor("incubators", str(folder / "pois.csv"),
                    {"datum": "gcj02", "lon": "lng_gcj", "lat": "lat_gcj", "weight": "staff",
                     "filter": "type == 'incubator'", "bandwidth": "500"}),
    )  # fmt: skip
    config = MicroConfig(osm_file=str(data["osm"]), cell_size=25.0)
    config = replace(config, preset=config.preset + extra)
    osm = load_micro_data(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = compute_micro(osm, config)
        windowed = compute_micro(
            osm, replace(config, engine=Engine("windows", memory_budget=3_000_000))
        )
    assert windowed.windows["measures"] > 1, windowed.windows
    np.testing.assert_allclose(windowed.suitability, whole.suitability, atol=1e-6)
    raw = {c.criterion.name: c.raw for f in whole.factors for c in f.criteria}
    raw_w = {c.criterion.name: c.raw for f in windowed.factors for c in f.criteria}
    # the focal mean sums in another order per window: float32 rounding only
    np.testing.assert_allclose(raw_w["population"], raw["population"], rtol=1e-5, atol=1e-6)
