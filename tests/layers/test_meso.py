"""Meso scale end to end: the offline default, OSM layers, and every bad input of the command."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from gis.coords import DatumWarning, wgs84_to_gcj02
from gis.errors import InputError, NoDataError
from gis.population import PopulationWarning
from gis.potential import market_potential
from layers.cli.main import build_parser, main
from layers.cli.meso import meso_config_from_args
from layers.meso.factors import MESO_FACTORS
from layers.meso.run import (
    MesoConfig,
    MesoWarning,
    compute_meso,
    load_meso_data,
    run_meso,
)
from tests.conftest import shared_osm
from tests.helpers import DECISION_ARGS, check_decision_outputs

pytestmark = pytest.mark.integration

LAYERS = [f.name for f in MESO_FACTORS]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The offline default region (Wuhan metropolitan area) on a 1 km grid, outputs written."""
    out = tmp_path_factory.mktemp("meso") / "wuhan"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result, paths = run_meso(MesoConfig(cell_size=1000, tiles=None), out=out, command="t")
    return result, paths, out


def test_default_run_writes_every_output(default_run):
    result, _paths, out = default_run
    names = {p.name for p in out.iterdir()}
    assert {"suitability.tif", "candidates.gpkg", "map.html", "manifest.json", "raw"} <= names
    assert {"hubs.tif", "market.tif", "city_size.tif", "macro.tif"} <= names
    assert not (out / "diversity.tif").exists()  # needs OSM
    raws = {p.stem for p in (out / "raw").iterdir()}
    assert {"hub_access", "hub_distance_airport_international", "market_potential",
            "nearest_city", "city_size_class", "centre_distance"} <= raws  # fmt: skip
    with rasterio.open(out / "suitability.tif") as src:
        data = src.read(1)
        assert np.isnan(src.nodata) and src.crs == result.grid.crs
    np.testing.assert_array_equal(np.isfinite(data), result.inside)
    assert result.covered is None  # no OSM extract: the packaged tables cover the region
    valid = data[np.isfinite(data)]
    assert 0 <= valid.min() < valid.max() <= 1
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no staging left


def test_default_run_reports_available_layers(default_run):
    result, _paths, out = default_run
    status = {row["layer"]: row["status"] for row in result.layer_table()}
    assert status == {
        "hubs": "ok",
        "market": "ok",
        "city_size": "ok",
        "diversity": "unavailable",
        "liveability": "unavailable",
        "universities": "ok",
        "metro": "ok",
        "macro": "ok",
    }
    assert result.weights == pytest.approx(
        {"hubs": 2 / 9, "market": 2 / 9, "city_size": 1 / 9, "universities": 2 / 9,
         "metro": 1 / 9, "macro": 1 / 9})  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    layers = {row["layer"]: row for row in manifest["extra"]["layers"]}
    assert "--osm-file" in layers["diversity"]["note"]
    roles = {i["role"] for i in manifest["inputs"]}
    assert {"places", "airports", "macro"} <= roles
    assert manifest["extra"]["grid"]["cell_size_m"] == 1000
    assert {o["file"] for o in manifest["outputs"]} >= {"suitability.tif", "candidates.gpkg"}


def test_default_candidates_carry_city_and_tier(default_run):
    _result, _paths, out = default_run
    gdf = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates")
    assert len(gdf) >= 1 and gdf["rank"].tolist() == list(range(1, len(gdf) + 1))
    best = gdf.iloc[0]
    assert best["nearest_city"] == "Wuhan" and best["nearest_city_population"] > 10e6
    assert (best["macro_unit"], best["macro_tier"], best["macro_match"]) == ("Wuhan", "national",
                                                                             "nearest")  # fmt: skip
    assert best["macro_km"] < 30
    assert (gdf["area_ha"] >= 100).all()
    assert {"hubs", "market", "city_size", "macro"} <= set(gdf.columns)


def test_raw_layers_by_hand(default_run):
    result, _paths, _out = default_run
    grid = result.grid
    to_grid = Transformer.from_crs(4326, grid.crs, always_xy=True)
    raws = {c.criterion.name: c for f in result.factors for c in f.criteria}
    # the distance to the national/international centres is ~0 at Wuhan's GeoNames point
    x, y = to_grid.transform(114.26667, 30.58333)
    r, c, ok = grid.rowcol(np.array([x]), np.array([y]))
    assert ok[0] and raws["centre_distance"].raw[r[0], c[0]] <= grid.cell_size / math.sqrt(2)
    # airport distance at Wuhan Tianhe (WUH) is within half a cell diagonal
    x, y = to_grid.transform(114.208, 30.7838)
    r, c, _ = grid.rowcol(np.array([x]), np.array([y]))
    d = raws["hub_access"].extra["hub_distance_airport_international"][0][r[0], c[0]]
    assert d <= grid.cell_size / math.sqrt(2) + 1
    # market potential against the direct sum over the same places (binning bound)
    cities = result.data.cities
    px, py = to_grid.transform(cities["lon"].to_numpy(), cities["lat"].to_numpy())
    pop = cities["population"].to_numpy()
    xc, yc = grid.centers()
    rows, cols = np.array([20, 150, 300]), np.array([40, 170, 320])
    d = np.hypot(xc[cols][:, None] - px, yc[rows][:, None] - py)
    want = (pop * np.exp(-d / 25_000.0) * (d <= 25_000.0 * math.log(1000))).sum(axis=1)
    got = raws["market_potential"].raw[rows, cols]
    bound = pop.sum() * (grid.cell_size / math.sqrt(2)) / 25_000.0
    assert np.all(np.abs(got - want) <= bound)
    np.testing.assert_allclose(got, want, rtol=0.05)
    # the same through the engine with the places themselves
    again = market_potential(grid, px, py, pop, scale=25_000.0)
    np.testing.assert_allclose(again, raws["market_potential"].raw, rtol=1e-6)


def test_map_lists_layers_and_availability(default_run):
    _result, _paths, out = default_run
    text = (out / "map.html").read_text()
    for title in ("Transport hubs", "Market potential", "City size", "Macro hierarchy"):
        assert title in text
    assert "Industrial diversity: not available" in text


# ------------------------------------------------------------------ command line
def test_cli_defaults_are_the_library_defaults():
    args = build_parser().parse_args(["meso"])
    assert meso_config_from_args(args) == MesoConfig()
    assert MesoConfig().region is None  # -> the Wuhan metropolitan area


def test_cli_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["meso", "--help"])
    text = capsys.readouterr().out
    for option in ("--region", "--place", "--bbox", "--area-file", "--boundaries", "--osm-file",
                   "--online", "--population", "--min-population", "--no-airports", "--hubs",
                   "--hub-columns", "--hub-class", "--gcj02", "--macro-tiers", "--macro-tier",
                   "--cell-size", "--crs", "--weight", "--empty", "--market-decay",
                   "--market-scale", "--hub-combine", "--no-constraints", "--exclude",
                   "--top-percent", "--threshold", "--min-area", "--connectivity", "--out",
                   "--overwrite", "--no-tiles", "--quiet", "--list-regions"):  # fmt: skip
        assert option in text, option


def test_cli_lists_regions(capsys):
    assert main(["meso", "--list-regions"]) == 0
    text = capsys.readouterr().out
    assert "wuhan" in text and "成渝都市圈" in text


def test_cli_refuses_a_non_empty_output(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["meso", "--cell-size", "2000", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cell-size", "20"], "cell size must be >= 50 and <= 5000 metres"),
        (["--region", "atlantis"], "unknown region"),
        (["--region", "wuhan", "--bbox", "114,30,115,31"], "give one study region"),
        (["--weight", "rivers=1"], "unknown factor"),
        (["--market-scale", "0"], "market scale"),
        (["--online", "--osm-file", "x.osm"], "not both"),
        (["--hubs", "missing.csv"], "file not found"),
    ],
)
def test_cli_bad_parameters(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["meso", *argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_region_outside_every_source(tmp_path, capsys):
    out = tmp_path / "pacific"
    assert main(["meso", "--bbox=-150,-10,-149.5,-9.5", "--cell-size", "1000",
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no layer has data in the region" in err and "no hub" in err
    assert not out.exists()


def test_region_without_cities_warns_and_scores_what_is_left():
    # central Changtang, Tibet: no place, airport or hub within 170 km
    config = MesoConfig(bbox=(85.0, 34.0, 85.5, 34.5), cell_size=1000)
    with pytest.warns(MesoWarning) as record:
        data = load_meso_data(config)
        with pytest.raises(NoDataError, match="score every cell of the region the same"):
            compute_meso(data, config)
    messages = " ".join(str(w.message) for w in record)
    assert "no GeoNames place of >= 15,000 inhabitants lies in the region" in messages
    assert "layer hubs has no data" in messages


def test_region_outside_china_drops_the_paper_centres(tmp_path):
    config = MesoConfig(bbox=(2.25, 48.8, 2.45, 48.92), cell_size=500, tiles=None)
    with pytest.warns(MesoWarning, match="outside China"):
        result, _ = run_meso(config, out=tmp_path / "paris")
    status = {row["layer"]: row["status"] for row in result.layer_table()}
    assert status["macro"] == "unavailable" and status["hubs"] == "ok"
    assert status["universities"] == status["metro"] == "unavailable"
    best = result.candidates.iloc[0]
    assert best["nearest_city"] == "Paris" and best["macro_tier"] == "" and best["macro_unit"] == ""


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    import layers.outputs.write as mo

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mo, "write_geopackage", boom)
    out = tmp_path / "broken"
    with pytest.raises(OSError, match="disk full"):
        run_meso(MesoConfig(cell_size=2000, tiles=None), out=out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ population raster
def test_population_raster_in_degrees_with_holes(tmp_path):
    # 100 people per 0.01 degree pixel around Wuhan, a block of nodata holes in it
    data = np.full((100, 100), 100.0, dtype="float32")
    data[40:45, 40:45] = -9999.0
    path = tmp_path / "worldpop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=100, width=100, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-9999,
                       transform=Affine(0.01, 0, 113.8, 0, -0.01, 31.1)) as dst:  # fmt: skip
        dst.write(data, 1)
    config = MesoConfig(bbox=(114.2, 30.5, 114.4, 30.7), population_file=str(path),
                        cell_size=500, market_scale_km=2.0)  # fmt: skip
    data_ = load_meso_data(config)
    with pytest.warns(PopulationWarning, match="nodata holes"):
        result = compute_meso(data_, config)
    market = next(f for f in result.factors if f.factor.name == "market")
    assert "population raster (EPSG:4326, reprojected)" in market.criteria[0].note
    assert result.population_info["reprojected"] and result.population_info["hole_share"] > 0
    # far from the holes, a uniform density d gives d * 2 pi s² (minus the 0.8 % cut tail)
    lat = math.radians(30.6)
    pixel_km2 = (0.01 * 111.32 * math.cos(lat)) * (0.01 * 110.85)
    expected = 100.0 / pixel_km2 * 2 * math.pi * 2.0**2 * (1 - 7.9 * math.exp(-6.9))
    raw = market.criteria[0].raw
    assert raw[-5, 10] == pytest.approx(expected, rel=0.03)


# ------------------------------------------------------------------ OSM layers
STATIONS = [  # lon, lat, extra tags
    (114.305, 30.555, {"station": "subway"}),
    (114.315, 30.565, {"station": "subway"}),
    (114.325, 30.575, {"station": "subway"}),
    (114.335, 30.556, {}),
    (114.302, 30.578, {}),
    (114.320, 30.552, {}),  # next to the high-speed line
]


def write_osm(path: Path) -> Path:
    """A small OSM XML file near Wuhan: stations, a high-speed line, land use, POIs, water."""
    nodes, ways = [], []
    nid = [0]

    def node(lon, lat, tags=None):
        nid[0] += 1
        nodes.append((nid[0], lon, lat, tags or {}))
        return nid[0]

    def way(coords, tags, closed=True):
        refs = [node(lo, la) for lo, la in coords]
        if closed:
            refs.append(refs[0])
        ways.append((len(ways) + 1, refs, tags))

    def rect(w, s, e, n, tags):
        way([(w, s), (e, s), (e, n), (w, n)], tags)

    for lon, lat, extra in STATIONS:
        node(lon, lat, {"railway": "station", "name": f"S{lon}", **extra})
    way([(114.300, 30.551), (114.340, 30.551)], {"railway": "rail", "highspeed": "yes"},
        closed=False)  # fmt: skip
    node(114.338, 30.579, {"highway": "motorway_junction"})
    rect(114.300, 30.570, 114.310, 30.580, {"landuse": "residential"})
    rect(114.310, 30.570, 114.320, 30.580, {"landuse": "commercial"})
    rect(114.320, 30.560, 114.330, 30.570, {"landuse": "industrial"})
    rect(114.330, 30.570, 114.340, 30.580, {"landuse": "port"})
    rect(114.302, 30.556, 114.308, 30.562, {"leisure": "park"})
    rect(114.330, 30.552, 114.339, 30.559, {"natural": "water"})
    pois = [({"shop": "supermarket"}, 3), ({"office": "it"}, 2), ({"office": "lawyer"}, 2),
            ({"amenity": "restaurant"}, 4), ({"amenity": "bank"}, 1), ({"craft": "carpenter"}, 1),
            ({"amenity": "university"}, 1), ({"amenity": "school"}, 2)]  # fmt: skip
    rng = np.random.default_rng(2)
    for tags, n in pois:
        for _ in range(n):
            node(float(rng.uniform(114.305, 114.335)), float(rng.uniform(30.556, 30.578)), tags)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="test">',
        '<bounds minlat="30.550" minlon="114.300" maxlat="30.580" maxlon="114.340"/>',
    ]
    stamp = 'version="1" timestamp="2024-05-01T00:00:00Z"'
    for i, lon, lat, tags in nodes:
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<node id="{i}" {stamp} lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
    for i, refs, tags in ways:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{i}" {stamp}>{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def osm_file(tmp_path_factory):
    return write_osm(tmp_path_factory.mktemp("osm") / "wuhan_test.osm")


@pytest.fixture(scope="module")
def osm_run(osm_file):
    config = MesoConfig(osm_file=str(osm_file), cell_size=100, min_area_ha=1, tiles=None)
    data = load_meso_data(config)
    return compute_meso(data, config), config


def test_osm_layers_are_all_used(osm_run):
    result, _config = osm_run
    status = {row["layer"]: row["status"] for row in result.layer_table()}
    assert status == dict.fromkeys(LAYERS, "ok")
    assert sum(result.weights.values()) == pytest.approx(1.0)
    # 0.04 x 0.03 degrees at 30.56 N: 3.83 km x 3.33 km, 1,276 cells of 1 ha
    assert int(result.inside.sum()) == pytest.approx(1276, rel=0.03)


def test_osm_hubs_are_classed(osm_run):
    result, _config = osm_run
    osm = result.data.hubs[result.data.hubs["source"] == "osm"]
    counts = osm["hub_class"].value_counts().to_dict()
    assert counts == {"metro_station": 3, "rail_station": 2, "hsr_station": 1, "port": 1,
                      "motorway_junction": 1}  # fmt: skip
    hubs = next(f for f in result.factors if f.factor.name == "hubs").criteria[0]
    metro = hubs.extra["hub_distance_metro_station"][0]
    to_grid = Transformer.from_crs(4326, result.grid.crs, always_xy=True)
    x, y = to_grid.transform(114.315, 30.565)
    r, c, _ = result.grid.rowcol(np.array([x]), np.array([y]))
    assert metro[r[0], c[0]] <= 100 / math.sqrt(2) + 1


def test_water_is_excluded_and_green_counts(osm_run):
    result, _config = osm_run
    to_grid = Transformer.from_crs(4326, result.grid.crs, always_xy=True)
    x, y = to_grid.transform([114.3345, 114.305], [30.5555, 30.559])
    r, c, _ = result.grid.rowcol(np.array(x), np.array(y))
    assert result.excluded[r[0], c[0]] and np.isnan(result.suitability[r[0], c[0]])
    live = next(f for f in result.factors if f.factor.name == "liveability")
    green = live.criteria[0].raw
    # the park (0.38 km²) and part of the lake within 1 km: 12-20 % of the 3.14 km² disc
    assert 0.12 < green[r[1], c[1]] < 0.2


def test_diversity_is_entropy_of_categories(osm_run):
    result, _config = osm_run
    div = next(f for f in result.factors if f.factor.name == "diversity")
    poi, land = div.criteria
    # 14 POIs of 7 categories (schools are liveability, not industry); 4 land-use polygons
    assert poi.count == 14 and land.count == 4
    assert poi.note == "14 POIs in 7 categories"
    assert 0 < poi.raw.max() <= math.log(10) + 1e-6
    np.testing.assert_allclose(poi.score, np.clip(poi.raw / math.log(10), 0, 1), atol=1e-6)
    # four equal blocks of land use: a window seeing all four nearly evenly approaches ln 4
    assert math.log(3) < land.raw.max() <= math.log(4) + 1e-6


def test_gcj02_hubs_given_as_wgs84_are_detected(osm_file, tmp_path):
    lon = np.array([s[0] for s in STATIONS])
    lat = np.array([s[1] for s in STATIONS])
    glon, glat = wgs84_to_gcj02(lon, lat)
    csv = tmp_path / "stations.csv"
    pd.DataFrame({"name": list("abcdef"), "lon": glon, "lat": glat}).to_csv(csv, index=False)
    config = MesoConfig(osm_file=str(osm_file), hubs_file=str(csv), cell_size=100)
    with pytest.warns(DatumWarning, match="look like GCJ-02"):
        data = load_meso_data(config)
    assert any("rerun with --gcj02" in n for n in data.notes)
    fixed = MesoConfig(osm_file=str(osm_file), hubs_file=str(csv), cell_size=100, gcj02=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatumWarning)
        data = load_meso_data(fixed)
    user = data.hubs[data.hubs["source"] == str(csv)]
    np.testing.assert_allclose(user["lon"], lon, atol=1e-8)


def test_wgs84_hubs_converted_with_gcj02_are_detected(osm_file, tmp_path):
    lon = np.array([s[0] for s in STATIONS])
    lat = np.array([s[1] for s in STATIONS])
    csv = tmp_path / "stations.csv"
    pd.DataFrame({"name": list("abcdef"), "lon": lon, "lat": lat}).to_csv(csv, index=False)
    config = MesoConfig(osm_file=str(osm_file), hubs_file=str(csv), cell_size=100, gcj02=True)
    with pytest.warns(DatumWarning, match="look like WGS84 coordinates already"):
        data = load_meso_data(config)
    assert any("rerun without --gcj02" in n for n in data.notes)


def test_bad_hub_csv_through_the_command(osm_file, tmp_path, capsys):
    csv = tmp_path / "bad.csv"
    csv.write_text("name,lon,lat\na,114.31,30.56\nb,114.32,\nc,north,30.57\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["meso", "--osm-file", str(osm_file), "--hubs", str(csv), "--cell-size", "100",
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "missing coordinates on line 3" in err and not out.exists()


def test_osm_file_outside_the_region(osm_file):
    config = MesoConfig(osm_file=str(osm_file), region="xian", cell_size=1000)
    with pytest.raises(NoDataError, match="outside the region"):
        load_meso_data(config)


def test_chinese_extract_runs_offline(tmp_path):
    path = shared_osm("beijing_zhongguancun_2017.osm")
    config = MesoConfig(osm_file=str(path), cell_size=100, min_area_ha=1, tiles=None)
    result, paths = run_meso(config, out=tmp_path / "zgc")
    status = {row["layer"]: row["status"] for row in result.layer_table()}
    assert status == dict.fromkeys(LAYERS, "ok")
    manifest = json.loads(paths["manifest"].read_text())
    osm = next(i for i in manifest["inputs"] if i["role"] == "osm")
    assert osm["osm_data_date"].startswith("2017") and len(osm["sha256"]) == 64
    assert result.candidates.iloc[0]["macro_unit"] == "Beijing"


def test_compute_rejects_bad_config():
    with pytest.raises(InputError, match="hub class"):
        MesoConfig(hub_class="bus_stop").validate()
    with pytest.raises(InputError, match="macro tier"):
        MesoConfig(macro_tier="global").validate()
    with pytest.raises(InputError, match="top percent"):
        MesoConfig(top_percent=0.0).validate()


# ------------------------------------------------------------------ more paths
def test_cli_summary_says_which_layers_were_available(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["meso", "--cell-size", "2000", "--no-tiles", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "No region given: running the Wuhan metropolitan area offline" in text
    assert re.search(r"\ndiversity +not available", text) and re.search(r"\nhubs +used", text)
    assert "--osm-file" in text and str(out / "map.html") in text
    assert (out / "suitability.tif").exists()


def test_candidates_inside_a_macro_polygon_take_its_tier(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    tiers = tmp_path / "tiers.gpkg"
    gpd.GeoDataFrame(
        {"unit": ["Hubei", "Hunan"], "tier": ["national", "regional"], "index": [0.9, 0.4],
         "lon": [114.27, 112.97], "lat": [30.58, 28.2]},
        geometry=[box(108.3, 29.0, 116.2, 33.3), box(108.7, 24.6, 114.3, 29.0)], crs=4326,
    ).to_file(tiers, layer="tiers")  # fmt: skip
    config = MesoConfig(cell_size=2000, macro_tiers=str(tiers), macro_tier="national")
    result = compute_meso(load_meso_data(config), config)
    best = result.candidates.iloc[0]
    assert (best["macro_unit"], best["macro_tier"], best["macro_match"]) == ("Hubei", "national",
                                                                             "inside")  # fmt: skip
    macro = next(f for f in result.factors if f.factor.name == "macro")
    assert macro.count == 1  # only Hubei is national or above


def test_exclusion_polygons_blank_cells(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "no_go.gpkg"
    gpd.GeoDataFrame({"why": ["airport noise"]}, geometry=[box(114.1, 30.7, 114.3, 30.9)],
                     crs=4326).to_file(path)  # fmt: skip
    config = MesoConfig(cell_size=2000, exclude_file=str(path))
    result = compute_meso(load_meso_data(config), config, exclude=gpd.read_file(path))
    to_grid = Transformer.from_crs(4326, result.grid.crs, always_xy=True)
    x, y = to_grid.transform(114.2, 30.8)
    r, c, _ = result.grid.rowcol(np.array([x]), np.array([y]))
    assert result.excluded[r[0], c[0]] and np.isnan(result.suitability[r[0], c[0]])


def test_online_osm_through_osmnx(osm_file, monkeypatch):
    """The online path builds the same features as a file (osmnx mocked: no network)."""
    import osmnx as ox

    from layers.meso import data as meso_data

    feats, _extent, _src = meso_data.load_osm_features(osm_file, keys=["railway", "station",
                                                       "highspeed", "shop", "office", "amenity",
                                                       "landuse", "leisure", "natural", "highway",
                                                       "craft"], area=None)  # fmt: skip
    raw = feats.drop(columns=["osm_type", "osm_id"]).copy()
    raw.index = pd.MultiIndex.from_arrays([feats["osm_type"], feats["osm_id"]],
                                          names=["element", "id"])  # fmt: skip
    asked = {}

    def fake(polygon, tags):
        asked.update(tags)
        return raw

    monkeypatch.setattr(ox, "features_from_polygon", fake)
    config = MesoConfig(bbox=(114.30, 30.55, 114.34, 30.58), online=True, cell_size=100,
                        min_area_ha=1)  # fmt: skip
    data = load_meso_data(config)
    assert {"railway", "shop", "landuse", "highway"} <= set(asked)
    assert data.sources[0]["kind"] == "online"
    result = compute_meso(data, config)
    status = {row["layer"]: row["status"] for row in result.layer_table()}
    assert status == dict.fromkeys(LAYERS, "ok")

    def offline(polygon, tags):
        raise ConnectionError("Max retries exceeded")

    monkeypatch.setattr(ox, "features_from_polygon", offline)
    from gis.errors import DataSourceError

    with pytest.raises(DataSourceError, match="internet connection"):
        load_meso_data(config)


def test_hubs_far_from_the_region_are_refused(osm_file, tmp_path):
    csv = tmp_path / "beijing.csv"
    csv.write_text("name,lon,lat\nXizhimen,116.355,39.940\n", encoding="utf-8")
    config = MesoConfig(osm_file=str(osm_file), hubs_file=str(csv), cell_size=100)
    with pytest.raises(NoDataError, match=r"none of the 1 hubs .* lies within 173 km"):
        load_meso_data(config)


def test_threshold_zero_replaces_the_default_top_percent():
    from layers.cli.main import build_parser
    from layers.cli.meso import meso_config_from_args

    args = build_parser().parse_args(["meso", "--threshold", "0"])
    config = meso_config_from_args(args)
    assert config.threshold == 0.0 and config.top_percent is None
    default = meso_config_from_args(build_parser().parse_args(["meso"]))
    assert default.threshold is None and default.top_percent == 2.0


# ---------------------------------------------------------------------- decision analysis


def test_meso_decision_analysis_end_to_end(tmp_path):
    out = tmp_path / "meso"
    code = main(["meso", "--quiet", "--no-tiles", "--out", str(out), *DECISION_ARGS,
                 "--total-area", "20000"])  # fmt: skip
    assert code == 0
    check_decision_outputs(out, regions=2, total_ha=20000, draws=5)


def test_meso_windowed_decision_over_budget_refused_up_front(tmp_path, capsys):
    out = tmp_path / "meso"
    code = main(["meso", "--quiet", "--no-tiles", "--out", str(out), *DECISION_ARGS,
                 "--total-area", "20000", "--engine", "windows", "--memory-budget",
                 "1MiB"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "decision steps" in err and "cells x" in err and "memory budget of 1.0 MiB" in err
    assert "--memory-budget" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
