"""The national innovation ranking: indicators on hand-built tables, the macro wiring."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gis.errors import InputError
from layers.china.ranking import (
    EXTENSIVE_INDICATORS,
    build_indicators,
    drivers,
    index_columns,
)


def _tables():
    # A at (100, 30), B one degree east (~96 km), C far north; C has no campus
    pref = gpd.GeoDataFrame(
        {"city_code": ["100100", "200100", "300100"], "name": ["A", "B", "C"],
         "province": ["P", "P", "Q"], "population": [4_000_000, 1_000_000, 500_000],
         "urban_population": [3_000_000, float("nan"), 100_000]},
        geometry=gpd.points_from_xy([100.0, 101.0, 100.0], [30.0, 30.0, 40.0]), crs=4326,
    )  # fmt: skip
    uni = gpd.GeoDataFrame(
        {
            "name": ["U985", "U985", "U211", "Ucol", "Ulost"],
            "city_code": ["100100", "200100", "100100", "200100", ""],
            "is985": [True, True, False, False, False],
            "is211": [True, True, True, False, False],
            "dfc": [True, True, False, False, False],
            "main_campus": [True, False, True, True, True],
        },
        # campuses of A at 100.2, of B at 101.0; Ulost sits next to B's campus
        geometry=gpd.points_from_xy([100.2, 101.0, 100.2, 101.0, 100.95], [30.0] * 5),
        crs=4326,
    )
    air = gpd.GeoDataFrame(
        {
            "airport_type": ["large_airport", "medium_airport", "large_airport", "small_airport"],
            "scheduled": [True, True, False, True],
        },
        # 100.6 is ~38 km from A's centre (100.2) and ~38 km from B's (101.0)
        geometry=gpd.points_from_xy([100.6, 100.2, 100.2, 100.2], [30.0] * 4),
        crs=4326,
    )
    return uni, pref, air


def test_indicators_by_hand():
    uni, pref, air = _tables()
    t = build_indicators(uni, pref, air).set_index("city_code")
    # A: U985 main (1) + U211 main (1); B: U985 branch (0.5) + Ucol + Ulost (nearest anchor)
    assert t.loc["100100", "universities"] == 2.0
    assert t.loc["200100", "universities"] == 2.5
    assert t.loc["300100", "universities"] == 0.0
    assert t["universities_985"].tolist() == [1.0, 0.5, 0.0]
    assert t["universities_211"].tolist() == [2.0, 0.5, 0.0]
    assert t["dfc_universities"].tolist() == [1.0, 0.5, 0.0]
    # the large airport serves both A and B (within 60 km of each centre); the medium
    # one only A; the unscheduled and the small airport count nothing
    assert t["hub"].tolist() == [1.25, 1.0, 0.0]
    # centres: median campus position, the census centroid without campuses
    assert t.loc["100100", "lon"] == pytest.approx(100.2)
    assert t.loc["200100", "lon"] == pytest.approx(101.0)  # median of 101, 101, 100.95
    assert t.loc["300100", ["lon", "lat"]].tolist() == [100.0, 40.0]
    # city size is the urban population (the whole population where it is missing);
    # the per-million variants divide by the whole population
    assert t["urban_population_m"].tolist() == [3.0, 1.0, 0.1]
    assert t["universities_per_m"].tolist() == [0.5, 2.5, 0.0]
    np.testing.assert_allclose(t["ln_universities"], np.log1p([2.0, 2.5, 0.0]))
    for col in index_columns("both"):
        assert col in t.columns


def test_inputs_are_not_modified():
    uni, pref, air = _tables()
    before = [x.copy() for x in (uni, pref, air)]
    build_indicators(uni, pref, air)
    for a, b in zip(before, (uni, pref, air), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_index_columns():
    assert index_columns() == [f"ln_{c}" for c in EXTENSIVE_INDICATORS]
    assert len(index_columns("both")) == 10
    assert "ln_urban_population_m" in index_columns("intensive")
    with pytest.raises(InputError, match="measure must be one of"):
        index_columns("per-capita")


def test_bad_tables():
    uni, pref, air = _tables()
    with pytest.raises(InputError, match=r"universities table lacks column\(s\) \['dfc'\]"):
        build_indicators(uni.drop(columns="dfc"), pref, air)
    with pytest.raises(InputError, match="airports table lacks"):
        build_indicators(uni, pref, air.drop(columns="scheduled"))
    dup = pref.assign(city_code=["100100", "100100", "300100"])
    with pytest.raises(InputError, match="duplicated prefecture code"):
        build_indicators(uni, dup, air)
    with pytest.raises(InputError, match="no positive population"):
        build_indicators(uni, pref.assign(population=[1, 0, 5]), air)


def test_drivers_exact():
    n = np.array([[1.0, 0.0, 0.5], [0.2, 0.2, 0.0]])
    w = np.array([0.5, 0.25, 0.25])
    assert drivers(n, w, ["ln_a", "b", "c"], k=2) == ["a 80%; c 20%", "a 67%; b 33%"]


def test_national_innovation_run():
    from layers.macro.run import run_macro

    r = run_macro(None, national="CN", national_top=300, draws=2)
    u = r.units.set_index("city_code")
    assert len(u) == 300
    assert r.result.method.label == "minmax/equal/weighted_sum/fisher_jenks"
    assert list(r.result.names) == ["international", "national", "regional", "local"]
    assert (u["tier"] == "international").sum() < 15
    assert u.loc["110100", "rank"] == 1
    for code in ("320100", "420100", "610100", "340100"):  # Nanjing, Wuhan, Xi'an, Hefei
        assert u.loc[code, "rank"] <= 20, code
    # Kunshan and Jiangyin are no units of their own: they belong to Suzhou and Wuxi
    assert not u["unit"].str.contains("昆山|江阴").any()
    assert u.loc["110100", "drivers"].startswith("dfc_universities")
    assert r.settings["national"] == {"country": "CN", "index": "innovation",
                                      "measure": "extensive"}  # fmt: skip
    # a method or tiers other than the defaults are kept
    r2 = run_macro(None, national="CN", national_top=80, draws=2, tiers=2)
    assert r2.result.method.label.endswith("fisher_jenks") and len(r2.result.names) == 2
    from layers.macro.run import Method

    r4 = run_macro(None, national="CN", national_top=80, draws=2, method=Method(breaks="head_tail"))
    assert r4.result.method.label.endswith("head_tail") and len(r4.result.names) == 4


def test_national_innovation_bad_input(capsys):
    from layers.cli.main import main
    from layers.macro.run import run_macro

    with pytest.raises(InputError, match="covers China only"):
        run_macro(None, national="DE", draws=2)
    with pytest.raises(InputError, match="national index must be one of"):
        run_macro(None, national="CN", national_index="size", draws=2)
    with pytest.raises(InputError, match="national measure must be one of"):
        run_macro(None, national="CN", national_measure="percapita", draws=2)
    with pytest.raises(SystemExit):
        main(["macro", "--national", "CN", "--national-index", "fame"])
    err = capsys.readouterr().err
    assert "--national-index" in err and "fame" in err


def test_national_options_in_a_scenario(tmp_path, capsys):
    from layers.cli.main import main

    path = tmp_path / "s.toml"
    path.write_text(
        'scale = "macro"\n[data]\nnational = "CN"\nnational_index = "innovaton"\n'
        'national_measure = "both"\n',
        encoding="utf-8",
    )
    assert main(["run", "--check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "s.toml:4: data.national_index: must be one of 'innovation', 'size-hub'" in err
    path.write_text(path.read_text().replace("innovaton", "innovation"), encoding="utf-8")
    assert main(["run", "--check", str(path)]) == 0


def test_explicit_three_tiers_are_kept():
    from layers.macro.run import run_macro

    default = run_macro(None, national="CN", national_top=80, draws=2)
    three = run_macro(None, national="CN", national_top=80, draws=2, tiers=3)
    assert default.units["tier"].nunique() == 4  # the paper's four levels by default
    assert three.units["tier"].nunique() == 3  # an explicit --tiers 3 is not taken for the default
