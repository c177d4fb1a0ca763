"""National layers: GeoNames cities with districts merged, airports, city indicators."""

from __future__ import annotations

import numpy as np
import pytest

from gis.errors import InputError, NoDataError
from layers.macro.places import (
    _absorbing_parent,
    _geonames,
    airports,
    cities,
    city_indicators,
    unit_vectors,
)


def _haversine_km(lon1, lat1, lon2, lat2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def test_absorbing_parent_follows_chains():
    # on the equator 1 degree of longitude is ~111.2 km: A(0), B(0.09 ~10 km), C(0.27 ~30 km
    # from A, 20 km from B), D far away; rows sorted largest first
    lon = np.array([0.0, 0.09, 0.27, 5.0])
    parent = _absorbing_parent(unit_vectors(lon, np.zeros(4)), 25.0)
    assert parent.tolist() == [0, 0, 0, 3]
    assert _absorbing_parent(unit_vectors(lon, np.zeros(4)), 5.0).tolist() == [0, 1, 2, 3]


def test_cities_merge_districts_but_not_neighbouring_cities():
    c = cities("CN")
    beijing = c.set_index("name").loc["Beijing"]
    assert "Tongzhou" in beijing["member_names"]
    assert int(beijing["population"]) == 18960744  # GeoNames Beijing, not a sum
    assert {"Tianjin", "Shenzhen", "Guangzhou"} <= set(c["name"])
    assert c["name"].is_unique
    assert (np.diff(c["population"].to_numpy()) <= 0).all()
    # merging never loses a place: members add up to the GeoNames count
    assert int(c["members"].sum()) == len(_geonames("CN"))
    assert len(cities("CN", merge_km=0)) == len(_geonames("CN"))


def test_airport_classes():
    a = airports("CN").set_index("iata")
    assert a.loc["PEK", "hub_class"] == "international" and a.loc["PEK", "hub_score"] == 3
    assert set(a["hub_class"]) <= {"international", "domestic", "airfield"}


def test_city_indicators_agree_with_brute_force():
    ci = city_indicators("CN", top=40)
    a = airports("CN")
    d = _haversine_km(
        ci["lon"].to_numpy()[:, None], ci["lat"].to_numpy()[:, None],
        a["lon"].to_numpy()[None, :], a["lat"].to_numpy()[None, :],
    )  # fmt: skip
    near = d <= 60.0
    scores = np.where(near, a["hub_score"].to_numpy()[None, :], 0).max(axis=1)
    scheduled = (near & (a["hub_score"].to_numpy()[None, :] >= 2)).sum(axis=1)
    np.testing.assert_array_equal(ci["hub_score"].to_numpy(), scores)
    np.testing.assert_array_equal(ci["scheduled_airports"].to_numpy(), scheduled)
    assert len(ci) == 40


def test_bad_national_input():
    with pytest.raises(InputError, match="merge_km"):
        cities("CN", merge_km=-1)
    with pytest.raises(NoDataError, match="no places"):
        cities("XX")
    with pytest.raises(InputError, match="top"):
        city_indicators("CN", top=0)


def test_macro_on_national_cities(tmp_path, capsys):
    from layers.cli.main import main

    out = tmp_path / "nat"
    code = main(["macro", "--national", "CN", "--national-index", "size-hub",
                 "--national-top", "60", "--draws", "50", "--no-tiles",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    import pandas as pd

    tiers = pd.read_csv(out / "tiers.csv")
    assert len(tiers) == 60
    top = tiers.sort_values("rank").iloc[0]
    assert top["tier"] == "international"
    assert {"population", "hub_score", "scheduled_airports"} <= set(tiers.columns)
