"""The shipped Chinese tables against their sources: row counts, known values, joins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layers.china import data

SHARED_CHINA = Path(__file__).resolve().parents[3] / "shared" / "data" / "china"


def source(name: str) -> pd.DataFrame:
    path = SHARED_CHINA / name
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_universities_rows_and_flags():
    u = data.universities()
    assert len(u) == 3400
    assert u["name"].nunique() == 2769
    assert int(u["main_campus"].sum()) == 2769
    main = u[u["main_campus"]]
    # 39 "985" universities; the source lists 7 branches (Weihai, Shenzhen...) as institutions
    assert int(main["is985"].sum()) == 46
    assert {"清华大学", "哈尔滨工业大学（深圳）", "兰州大学"} <= set(
        main.loc[main["is985"], "name"]
    )
    assert int(main["is211"].sum()) == 125
    assert u.crs.to_epsg() == 4326


def test_universities_match_source_row_by_row():
    src = source("universities.csv")
    u = data.universities()
    assert src["name"].tolist() == u["name"].tolist()
    np.testing.assert_allclose(u.geometry.x, src["lon_wgs84"].astype(float))
    np.testing.assert_allclose(u.geometry.y, src["lat_wgs84"].astype(float))
    assert (u["is985"] == (src["is985"] == "1")).all()
    added = ~(src["dfc_2017"] == "1") & u["dfc"]
    assert sorted(u.loc[added, "name"].unique()) == sorted(
        [
            "山西大学",
            "湘潭大学",
            "南京医科大学",
            "南方科技大学",
            "上海科技大学",
            "华南农业大学",
            "广州医科大学",
        ]
    )


def test_university_tiers_and_cities():
    u = data.universities().drop_duplicates("name").set_index("name")
    assert u.loc["北京大学", "tier"] == "985"
    assert u.loc["南京航空航天大学", "tier"] == "211"
    assert u.loc["南方科技大学", "tier"] == "dfc"
    assert u.loc["南京大学", "city_code"] == "320100"
    assert u.loc["华中科技大学", "city_code"] == "420100"
    assert u.loc["济源职业技术学院", "city_code"] == "419001"  # a city its province governs
    assert (data.universities()["city_code"] != "").all()


def test_prefectures_against_census():
    src = source("prefecture_census_2020.csv")
    p = data.prefectures().set_index("city_code")
    assert len(src) == 369
    assert len(p) == 369 - 10  # the ten Corps cities have no 2020 figure
    assert int(p.loc["110100", "population"]) == 21893095
    assert p.loc["420100", "name"] == "武汉市"
    assert int(p["population"].sum()) == int(pd.to_numeric(src["popu_2020"]).sum())


def test_counties_roll_up_to_prefectures():
    c = data.counties()
    assert len(c) == 2990
    units = set(source("prefecture_census_2020.csv")["city_code"])
    assert set(c["prefecture_code"]) <= units
    wuhan = c.loc[c["prefecture_code"] == "420100", "population"].sum()
    census = data.prefectures().set_index("city_code").loc["420100", "population"]
    assert abs(wuhan - census) / census < 0.02  # two transcriptions of one census: 1.0 % apart


def test_area_codes_in_use():
    a = data.area_codes()
    assert len(a) == 3213
    assert a["level"].value_counts().to_dict() == {
        "county": 2846,
        "prefecture": 333,
        "province": 34,
    }
    assert a.set_index("code").loc["320100", "name"] == "南京市"


def test_metro_stations():
    m = data.metro_stations()
    assert len(m) == 6444
    assert m["city"].nunique() == 48
    wuhan = m[m["city_en"] == "Wuhan"]
    assert len(wuhan) > 200
    assert wuhan.total_bounds[0] > 113.5 and wuhan.total_bounds[2] < 115.5


def test_airports_from_ourairports():
    a = data.airports("CN").set_index("iata")
    assert (
        a.loc["NKG", "airport_type"] == "large_airport"
    )  # Lukou has no "International" in its name
    assert bool(a.loc["WUH", "scheduled"])
    assert (data.airports("CN")["airport_type"] == "large_airport").sum() >= 30


def test_airports_unknown_country():
    from gis.errors import DataSourceError

    with pytest.raises(DataSourceError, match="ISO code"):
        data.airports("XX")


def test_every_table_has_a_source():
    assert set(data.sources()) == {
        "universities", "prefectures", "counties", "area_codes", "metro_stations", "airports"
    }  # fmt: skip
    text = (data.DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for name in ("universities.csv", "prefecture_census_2020.csv", "metro_stations.csv"):
        assert name in text
    assert (data.DATA_DIR / "universities.LICENSE-MPL-2.0.txt").exists()


def test_urban_population_filled_from_counties():
    p = data.prefectures().set_index("city_code")
    c = data.counties()
    # Urumqi has no urban population in the prefecture table: its counties give it
    assert source("prefecture_census_2020.csv").set_index("city_code").loc["650100",
        "popu_urban_2020"] == ""  # fmt: skip
    urumqi = c[c["prefecture_code"] == "650100"]
    expected = float((urumqi["population"] * urumqi["urban_share"]).sum())
    assert p.loc["650100", "urban_population"] == pytest.approx(expected)
    assert 0.9 < expected / p.loc["650100", "population"] <= 1.0
    # Wuhan keeps the table's own figure
    assert int(p.loc["420100", "urban_population"]) == 10392693
    assert p["urban_population"].isna().sum() == 2  # Hong Kong and Macao have no counties
