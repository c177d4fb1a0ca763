"""The offline water layer (Natural Earth lakes and rivers) and its mask in meso runs."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, Point, box

from gis.errors import InputError, NoDataError
from gis.grid import Grid
from layers.china.water import (
    DEFAULT_RIVER_WIDTH,
    WATER_FILE,
    load_water,
    river_width,
    water_mask,
    water_polygons,
)
from layers.cli.main import build_parser
from layers.cli.meso import meso_config_from_args
from layers.meso.run import MesoConfig, water_cells, water_info
from layers.scenario import ScenarioError, parse_scenario

#: East Lake (东湖), Wuhan: a point on the water, west of Moshan.
EAST_LAKE = (114.40, 30.56)
#: Optics Valley square (光谷广场), on land.
OPTICS_VALLEY = (114.3934, 30.5083)


# ------------------------------------------------------------------ the shipped file
def test_shipped_file_matches_its_source():
    """Counts and values of the Natural Earth extract (see layers/data/water/SOURCES.md)."""
    assert WATER_FILE.stat().st_size < 500_000
    with gzip.open(WATER_FILE, "rb") as f:
        doc = json.loads(f.read())
    assert len(doc["features"]) == 832
    w = load_water()
    assert w.crs.to_epsg() == 4326
    assert w["kind"].value_counts().to_dict() == {"river": 636, "lake": 196}
    assert set(w.columns) == {"kind", "name", "scalerank", "strokeweig", "geometry"}
    lakes, rivers = w[w["kind"] == "lake"], w[w["kind"] == "river"]
    assert set(lakes.geom_type) <= {"Polygon", "MultiPolygon"}
    assert set(rivers.geom_type) <= {"LineString", "MultiLineString"}
    assert lakes["strokeweig"].isna().all() and rivers["strokeweig"].between(0.15, 2.0).all()
    # known values of the source
    assert sorted(rivers.loc[rivers["name"] == "Yangtze", "strokeweig"]) == [0.3, 1.25, 1.5, 2.0]
    assert int(rivers.loc[rivers["name"] == "Han", "scalerank"].min()) == 6
    for name in ("Poyang Hu", "Dongting Hu", "Tai Hu", "Liangzi Hu", "Qinghai Hu"):
        assert name in set(lakes["name"]), name
    assert int(lakes.loc[lakes["name"] == "Liangzi Hu", "scalerank"].iloc[0]) == 4


def test_east_lake_and_the_yangtze_at_wuhan_are_in_it():
    w = load_water((114.2, 30.45, 114.5, 30.65))
    lakes = w[w["kind"] == "lake"]
    assert lakes.contains(Point(*EAST_LAKE)).sum() == 1  # unnamed in Natural Earth
    assert not lakes.contains(Point(*OPTICS_VALLEY)).any()
    yangtze = w[(w["kind"] == "river") & (w["name"] == "Yangtze")]
    assert sorted(yangtze["strokeweig"]) == [1.25, 1.5]  # above / below the Han mouth
    # the 1.25 km strip around the source line's vertices (114.2417, 30.4974)-(114.2874, 30.576)
    # covers its middle and not Hankou's centre, 2.3 km away
    polys = gpd.GeoSeries(water_polygons(w, 32650), crs=32650).to_crs(4326)
    assert polys.contains(Point(114.2646, 30.5367)).any()
    assert not polys.contains(Point(114.2700, 30.5900)).any()


def test_load_water_bounds():
    assert len(load_water((0.0, 0.0, 1.0, 1.0))) == 0  # the Gulf of Guinea: no Chinese water
    full = load_water()
    full.loc[0, "kind"] = "changed"
    assert load_water().loc[0, "kind"] != "changed"  # a copy each time
    for bad in ((114.5, 30.0, 114.0, 31.0), (114.0, 31.0, 115.0, 30.0), (1, 2, 3),
                (114.0, float("nan"), 115.0, 31.0)):  # fmt: skip
        with pytest.raises(InputError, match="water bounds"):
            load_water(bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ rivers as strips
def test_river_width_rule():
    assert river_width([2.0, 1.5, 0.15]).tolist() == [2000.0, 1500.0, 150.0]
    assert river_width([np.nan, 0.0, -1.0]).tolist() == [DEFAULT_RIVER_WIDTH] * 3


def test_river_strip_has_the_exact_area():
    """A straight 3 km line of stroke weight 0.5: a flat-ended strip 500 m wide, 1.5 km²."""
    line = LineString([(500_000, 3_000_000), (501_800, 3_002_400)])  # 3,000 m long
    lake = box(600_000, 3_000_000, 601_000, 3_000_500)
    f = gpd.GeoDataFrame({"kind": ["river", "lake", "river"], "strokeweig": [0.5, np.nan, np.nan]},
                         geometry=[line, lake, LineString([(0, 0), (1000, 0)])],
                         crs=32650)  # fmt: skip
    before = f.copy()
    out = water_polygons(f, 32650)
    assert out[0].area == pytest.approx(3_000.0 * 500.0, rel=1e-9)
    assert out[1].equals(lake)  # lakes unchanged
    assert out[2].area == pytest.approx(1000.0 * DEFAULT_RIVER_WIDTH, rel=1e-9)
    assert out[2].bounds == pytest.approx((0.0, -75.0, 1000.0, 75.0))  # flat ends
    assert_geodataframe_equal(f, before)  # input not modified


def test_water_polygons_reproject_to_the_grid_crs():
    line = LineString([(114.0, 30.5), (114.1, 30.5)])
    f = gpd.GeoDataFrame({"kind": ["river"], "strokeweig": [1.0]}, geometry=[line], crs=4326)
    (strip,) = water_polygons(f, 32650)
    length = gpd.GeoSeries([f.geometry[0]], crs=4326).to_crs(32650).length[0]
    assert strip.area == pytest.approx(length * 1000.0, rel=1e-6)


def test_water_polygons_refuse_bad_input():
    f = gpd.GeoDataFrame({"kind": ["lake"]}, geometry=[box(0, 0, 1, 1)], crs=32650)
    with pytest.raises(InputError, match="projected CRS"):
        water_polygons(f, 4326)
    with pytest.raises(InputError, match="no CRS"):
        water_polygons(f.set_crs(None, allow_override=True), 32650)
    with pytest.raises(InputError, match="'kind' column"):
        water_polygons(f.drop(columns="kind"), 32650)
    assert water_polygons(f.iloc[:0], 32650).size == 0


# ------------------------------------------------------------------ the mask
def test_water_mask_exact_cells():
    """5 x 4 cells of 100 m; a lake over the centres of two cells, a river strip on a row."""
    grid = Grid.from_bounds((0, 0, 500, 400), cell_size=100, crs=32650)
    lake = box(110, 210, 290, 390)  # centres (150, 250), (250, 250), (150, 350), (250, 350)
    river = LineString([(0, 50), (500, 50)])  # 150 m wide: y 0..100 by default width
    f = gpd.GeoDataFrame({"kind": ["lake", "river"], "strokeweig": [np.nan, np.nan]},
                         geometry=[lake, river], crs=32650)  # fmt: skip
    mask = water_mask(grid, water_polygons(f, grid.crs))
    expected = np.zeros((4, 5), dtype=bool)  # row 0 is the top (y 300..400)
    expected[0:2, 1:3] = True
    expected[3, :] = True
    np.testing.assert_array_equal(mask, expected)


def test_water_cells_leave_the_region_and_refuse_all_water():
    grid = Grid.from_bounds((500_000, 3_000_000, 500_400, 3_000_300), cell_size=100, crs=32650)
    inside = np.ones(grid.shape, dtype=bool)
    inside[:, 0] = False
    lake = gpd.GeoDataFrame({"kind": ["lake"]}, crs=4326,
                            geometry=gpd.GeoSeries([box(500_000, 3_000_000, 500_200, 3_000_300)],
                                                   crs=32650).to_crs(4326))  # fmt: skip
    data = SimpleNamespace(water=lake, region={"name": "test"})
    cells = water_cells(grid, inside, data)  # type: ignore[arg-type]
    assert cells is not None
    expected = np.zeros(grid.shape, dtype=bool)
    expected[:, 1] = True  # column 0 is outside the region already
    np.testing.assert_array_equal(cells, expected)
    assert water_cells(grid, inside, SimpleNamespace(water=None)) is None  # type: ignore[arg-type]
    with pytest.raises(NoDataError, match="lies on Natural Earth water"):
        water_cells(grid, inside & expected, data)  # type: ignore[arg-type]
    result = SimpleNamespace(water=cells, inside=inside & ~cells)
    assert water_info(result) == {  # type: ignore[arg-type]
        "cells": 3, "share": 0.3333,
        "source": "Natural Earth 1:10m lakes and rivers (layers/data/water)",
    }  # fmt: skip


# ------------------------------------------------------------------ the option
def test_water_option_on_the_command_line_and_in_scenarios():
    assert MesoConfig().water is True
    assert (
        meso_config_from_args(build_parser().parse_args(["meso", "--no-water-mask"])).water is False
    )
    text = 'scale = "meso"\n[constraints]\nwater_mask = false\n'
    assert parse_scenario(text, name="w.toml").config.water is False
    with pytest.raises(ScenarioError, match="water_mask"):
        parse_scenario('scale = "meso"\n[constraints]\nwater_mask = "no"\n', name="w.toml")


def test_water_option_checked_in_the_config():
    with pytest.raises(InputError, match="water"):
        MesoConfig(water="no").validate()  # type: ignore[arg-type]


# ------------------------------------------------------------------ the default Wuhan run
@pytest.fixture(scope="module")
def wuhan_runs():
    import warnings

    from layers.meso.run import compute_meso, load_meso_data

    out = {}
    for water in (True, False):
        config = MesoConfig(water=water)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = load_meso_data(config)
            out[water] = (data, compute_meso(data, config))
    return out


@pytest.mark.slow
def test_default_wuhan_run_puts_no_zone_on_water(wuhan_runs):
    from layers.meso.data import margin_box
    from layers.meso.platforms import platforms_in_zones

    data, res = wuhan_runs[True]
    zones = res.candidates.to_crs(res.grid.crs)
    assert len(zones) >= 3
    assert (zones.area / 1e6).max() <= 300.0 + 1e-6
    assert data.water is not None and res.water is not None
    water = water_mask(res.grid, water_polygons(load_water(margin_box(data.area, 2000.0)),
                                                res.grid.crs))  # fmt: skip
    in_zones = res.grid.rasterize(list(zones.geometry))
    assert not (water & in_zones).any()
    assert not (res.water & res.inside).any()
    assert np.isnan(res.suitability[res.water]).all()
    info = water_info(res)
    assert info is not None and 0.02 < info["share"] < 0.10
    assert any(n.startswith("water: ") for n in res.data.notes)
    assert any(s.get("role") == "water" for s in data.sources)
    table = platforms_in_zones("wuhan", candidates=res.candidates)
    assert table.set_index("name_zh").loc["光谷", "in_zone"]
    # without the mask, zones of the same run do reach water
    _, plain = wuhan_runs[False]
    assert plain.water is None and water_info(plain) is None
    plain_zones = plain.grid.rasterize(list(plain.candidates.to_crs(plain.grid.crs).geometry))
    assert (water & plain_zones).sum() > 100


def test_osm_water_replaces_the_natural_earth_layer(tmp_path):
    from layers.meso.run import load_meso_data
    from tests.layers.test_meso import write_osm

    config = MesoConfig(osm_file=str(write_osm(tmp_path / "wuhan.osm")))
    data = load_meso_data(config)
    assert data.water is None
    assert not any(s.get("role") == "water" for s in data.sources)
