"""``innosite meso`` on bad input: one clean error line, nothing written, nothing lost.

The region is a small box of Wuhan read offline (GeoNames places and airports), so the
refusals that need data are quick.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from layers.meso.run import MesoConfig
from tests.faults.bad_input import out_of_range, refuse, write

pytestmark = pytest.mark.faults

#: A small box of central Wuhan, 1 km cells.
WUHAN = ["--bbox", "114.25,30.52,114.35,30.62", "--cell-size", "1000"]


RANGES = list(out_of_range(MesoConfig))


@pytest.mark.parametrize(("flag", "value", "message"), RANGES, ids=[r[0] for r in RANGES])
def test_every_meso_range_is_refused_with_the_limit(tmp_path, flag, value, message):
    refuse(tmp_path, ["meso", flag, str(value)], re.escape(message))


CASES = [
    (["--memory-budget", "1KiB"], r"memory budget must be >= 1 MiB; got 1 KiB"),
    (["--timeout=-1"], r"timeout must be > 0 and <= 86,400 seconds; got -1"),
    (["--sensitivity", "20000"], r"sensitivity must be >= 0 and <= 10,000; got 20000"),
    (["--total-area", "500"], r"--total-area is a Locate Regions setting"),
    (["--region", "atlantis"], r"unknown region .atlantis.; named regions are beijing"),
    (["--hubs", "missing.csv"], r"file not found: missing.csv"),
    (["--macro-tiers", "missing.csv"], r"not found: missing.csv"),
    (["--weight", "hubs=-2"], r"weight of 'hubs' is -2"),
    (["--gcj02"], r"--gcj02 applies to the rows of --hubs, which is not given"),
    (["--hub-class", "rail_station"], r"--hub-class applies to the rows of --hubs"),
    (["--hub-columns", "x,y"], r"--hub-columns applies to the rows of --hubs"),
    (["--aggregation", "owa", "--order-weights", "1"], r"order weights has 1 values but 8 layers"),
]


@pytest.mark.parametrize(("argv", "pattern"), CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_bad_meso_options_are_refused(tmp_path, argv, pattern):
    refuse(tmp_path, ["meso", *argv], pattern)


HUBS = [
    ("name,lon,lat\na,114.31,30.56\nb,114.32,\n", r"missing coordinates on line 3"),
    (
        "name,lon,lat\na,114.31,30.56\nc,north,30.57\n",
        r"coordinates that are not numbers on line 3",
    ),
    ("name,lon,lat\na,114.31,130.56\n", r"line 2"),
    ("name,lon,lat,class\na,114.31,30.56,spaceport\n", r"unknown class\(es\) \['spaceport'\]"),
]


@pytest.mark.parametrize(("text", "pattern"), HUBS, ids=["blank", "text", "lat130", "class"])
def test_bad_hub_files_name_the_line(tmp_path, text, pattern):
    write(tmp_path, "hubs.csv", text)
    refuse(tmp_path, ["meso", *WUHAN, "--hubs", "hubs.csv"], pattern)


def test_macro_tiers_row_with_unreadable_longitude_is_refused(tmp_path):
    write(
        tmp_path,
        "tiers.csv",
        "unit,tier,lon,lat\nWuhan,national,114.3,30.6\nHefei,regional,east,31.8\n",
    )
    refuse(
        tmp_path,
        ["meso", *WUHAN, "--macro-tiers", "tiers.csv"],
        r"macro tiers file tiers.csv, line 3 \(unit Hefei\): lon/lat 'east', '31.8' is not a "
        r"longitude/latitude",
    )


def test_area_smaller_than_one_cell_is_refused(tmp_path):
    gpd.GeoSeries([shapely.box(114.3, 30.6, 114.3001, 30.6001)], crs=4326).to_file(
        tmp_path / "tiny.geojson"
    )
    refuse(
        tmp_path,
        ["meso", "--area-file", "tiny.geojson", "--cell-size", "1000"],
        r"the study area \([\d,]+ m²\) is smaller than one cell \(1000 m x 1000 m\)",
    )


def test_self_intersecting_area_is_refused_not_repaired(tmp_path):
    bowtie = shapely.Polygon([(114.2, 30.5), (114.4, 30.7), (114.4, 30.5), (114.2, 30.7)])
    gpd.GeoSeries([bowtie], crs=4326).to_file(tmp_path / "bowtie.geojson")
    refuse(
        tmp_path,
        ["meso", "--area-file", "bowtie.geojson", "--cell-size", "1000"],
        r"area file bowtie.geojson: polygon 1 is not valid \(Self-intersection\[114.3 30.6\]\)",
    )
