"""``innosite national`` on bad input: refused before planning any window."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from layers.national.run import NationalConfig
from tests.faults.bad_input import out_of_range, refuse

pytestmark = pytest.mark.faults

RANGES = list(out_of_range(NationalConfig))


@pytest.mark.parametrize(("flag", "value", "message"), RANGES, ids=[r[0] for r in RANGES])
def test_every_national_range_is_refused_with_the_limit(tmp_path, flag, value, message):
    refuse(tmp_path, ["national", flag, str(value)], re.escape(message))


CASES = [
    (["--memory-budget", "1KiB"], r"memory budget must be >= 1 MiB; got 1 KiB"),
    (["--memory-budget", "100"], r"memory budget must be >= 1 MiB; got 100 bytes"),
    (["--memory-budget", "lots"], r"give a memory size such as 512MiB"),
    (["--timeout=-1"], r"timeout must be > 0 and <= 86,400 seconds; got -1"),
    (["--timeout", "0"], r"timeout must be > 0 and <= 86,400 seconds; got 0"),
    (["--workers", "0"], r"workers must be >= 1; got 0"),
    (["--seeds", "1000000000", "--regions", "2"], r"seeds must be >= 1 and <= 100,000"),
    (["--sensitivity", "1000000000"], r"sensitivity must be >= 0 and <= 10,000"),
    (["--max-distance", "1000"], r"--max-distance is a Locate Regions setting"),
    (["--weight", "market=1e308", "--weight", "hubs=nan"], r"weight of 'hubs' is nan"),
    (["--weight", "nowhere=1"], r"unknown factor\(s\) nowhere"),
    (
        ["--aggregation", "owa", "--order-weights", "1,1", "--weight", "market=0"],
        r"order weights has 2 values but 3 layers",
    ),
    (["--area-file", "missing.gpkg"], r"not found: missing.gpkg"),
]


@pytest.mark.parametrize(("argv", "pattern"), CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_bad_national_options_are_refused(tmp_path, argv, pattern):
    refuse(tmp_path, ["national", *argv], pattern)


def test_area_in_central_africa_on_the_china_grid_is_refused(tmp_path):
    gpd.GeoSeries([shapely.box(20, 0, 21, 1)], crs=4326).to_file(tmp_path / "africa.geojson")
    refuse(
        tmp_path,
        ["national", "--area-file", "africa.geojson", "--cell-size", "5000"],
        r"the study area \(centre 20.50,0.50\) lies outside China, but a national grid defaults "
        r"to China Albers .* give --crs a projected CRS of the area, e.g. EPSG:32634",
    )


def test_area_without_polygons_is_refused(tmp_path):
    gpd.GeoSeries([shapely.Point(114.3, 30.6)], crs=4326).to_file(tmp_path / "point.geojson")
    refuse(
        tmp_path,
        ["national", "--area-file", "point.geojson", "--cell-size", "5000"],
        r"area file point.geojson has no polygons \(found \['Point'\]\)",
    )
