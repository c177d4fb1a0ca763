"""BD-09 <-> GCJ-02 <-> WGS84 conversions and the wrong-datum check."""

from __future__ import annotations

import numpy as np
import pytest

from gis.coords import (
    DATUMS,
    bd09_to_gcj02,
    check_datum,
    datum_check,
    from_wgs84,
    gcj02_to_bd09,
    to_wgs84,
)
from gis.errors import InputError

RNG = np.random.default_rng(16)
LON = RNG.uniform(98.0, 125.0, 2000)
LAT = RNG.uniform(18.0, 45.0, 2000)


def test_bd09_of_a_published_point():
    # the values the widely used coordTransform library prints for Tiananmen
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert abs(float(lon) - 116.41036949371029) < 1e-10
    assert abs(float(lat) - 39.92133699351021) < 1e-10


def test_bd09_gcj02_round_trip_exact():
    blon, blat = gcj02_to_bd09(LON, LAT)
    glon, glat = bd09_to_gcj02(blon, blat)
    assert np.abs(glon - LON).max() < 1e-9 and np.abs(glat - LAT).max() < 1e-9
    # and the other way round
    g2lon, g2lat = bd09_to_gcj02(LON, LAT)
    b2lon, b2lat = gcj02_to_bd09(g2lon, g2lat)
    assert np.abs(b2lon - LON).max() < 1e-9 and np.abs(b2lat - LAT).max() < 1e-9


@pytest.mark.parametrize("datum", DATUMS)
def test_every_datum_round_trips_through_wgs84(datum):
    lon, lat = to_wgs84(*from_wgs84(LON, LAT, datum), datum)
    assert np.abs(lon - LON).max() < 1e-8 and np.abs(lat - LAT).max() < 1e-8


def test_bd09_is_offset_by_hundreds_of_metres():
    lon, lat = from_wgs84(118.78, 32.04, "bd09")
    dx = (float(lon) - 118.78) * 111_320 * np.cos(np.radians(32.04))
    dy = (float(lat) - 32.04) * 111_320
    assert 800 < np.hypot(dx, dy) < 1500


def test_unknown_datum_message():
    with pytest.raises(InputError, match="unknown datum 'utm'; choose one of wgs84, gcj02, bd09"):
        check_datum("utm")
    assert check_datum("BD-09") == "bd09"


def test_datum_check_names_the_datum():
    ref_lon = 118.70 + 0.013 * np.arange(8)
    ref_lat = 32.00 + 0.011 * np.arange(8)
    blon, blat = from_wgs84(ref_lon, ref_lat, "bd09")
    declared_gcj = datum_check(blon, blat, ref_lon, ref_lat, declared="gcj02")
    assert declared_gcj.looks_wrong and declared_gcj.likely == "bd09"
    assert declared_gcj.distances["bd09"] < 1.0 < 300 < declared_gcj.distances["gcj02"]
    assert not datum_check(blon, blat, ref_lon, ref_lat, declared="bd09").looks_wrong
    ok = datum_check(ref_lon, ref_lat, ref_lon, ref_lat)
    assert not ok.looks_wrong and ok.likely == "wgs84" and ok.matched == 8
