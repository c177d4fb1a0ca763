"""``innosite macro`` on bad input: one clean error line naming the unit, row or cell."""

from __future__ import annotations

import re

import pytest

from layers.macro.options import MacroOptions
from tests.faults.bad_input import out_of_range, refuse, write
from tests.faults.harness import run_cli

pytestmark = pytest.mark.faults

#: Four cities with two indicators and their positions (a user table, rows 2-5 of the CSV).
TABLE = (
    "unit,gdp,patents,lon,lat\n"
    "Beijing,4.0,9,116.40,39.90\n"
    "Shanghai,4.3,8,121.47,31.23\n"
    "Guangzhou,2.8,5,113.26,23.13\n"
    "Chengdu,2.0,4,104.07,30.67\n"
)
#: Options of a run on :data:`TABLE`.
BASE = ["--table", "t.csv", "--indicators", "gdp,patents", "--draws", "20", "--no-tiles"]


@pytest.fixture
def table(tmp_path):
    return write(tmp_path, "t.csv", TABLE)


RANGES = list(out_of_range(MacroOptions))


@pytest.mark.parametrize(("flag", "value", "message"), RANGES, ids=[r[0] for r in RANGES])
def test_every_macro_range_is_refused_with_the_limit(tmp_path, flag, value, message):
    refuse(tmp_path, ["macro", flag, str(value)], re.escape(message))


CASES = [
    (["--draws", "1000000000"], r"draws must be >= 1 and <= 1,000,000; got 1000000000"),
    (["--link-top", "100000"], r"link top must be >= 2 and <= 5000; got 100000"),
    (["--strong-threshold", "nan"], r"strong threshold must be finite; got nan"),
    (["--strong-threshold", "inf"], r"strong threshold must be finite; got inf"),
    (
        ["--tiers", "10"],
        r"only 7 of the 10 tiers hold a unit: the breaks of 14 units leave "
        r"'tier 8', 'tier 9', 'tier 10' empty; give --tiers 7 or fewer",
    ),
    (["--tiers", "1"], r"need at least 2 tiers, got 1"),
    (["--tiers", "top,top"], r"tier names must be 2 or more distinct"),
    (["--breaks", "nope"], r"invalid choice: 'nope'"),
    (["--table", "missing.csv"], r"table missing.csv does not exist"),
    (["--table", "t.csv", "--indicators", "gdp,x"], r"indicator column\(s\) \['x'\] not found"),
    (["--table", "t.csv", "--unit-column", "city"], r"unit column 'city' not found"),
    (
        ["--table", "t.csv", "--layer", "units"],
        r"--layer 'units' names a layer of a vector table, but t.csv is a CSV file",
    ),
    ([*BASE, "--tiers", "5"], r"4 units are fewer than the 5 tiers"),
    (["--thresholds", "0.2,0.5"], r"--thresholds has no effect without --breaks user"),
    (["--breaks", "user"], r"user class breaks need thresholds \(--thresholds\)"),
    (["--geometry-key", "code"], r"--geometry-key has no effect without --geometry"),
    (["--national-top", "50"], r"--national-top has no effect without --national"),
    (["--allow-inconsistent"], r"--allow-inconsistent has no effect without --ahp"),
    ([*BASE, "--cost", "nope"], r"nope"),
]


@pytest.mark.parametrize(("argv", "pattern"), CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_bad_macro_options_are_refused(tmp_path, table, argv, pattern):
    refuse(tmp_path, ["macro", *argv], pattern)


# ---------------------------------------------------------------------------- tables
def test_unreadable_longitude_names_the_unit_and_line(tmp_path):
    write(tmp_path, "t.csv", TABLE.replace("121.47", "east"))
    refuse(
        tmp_path,
        ["macro", *BASE],
        r"unit 'Shanghai' \(row 2 of the table, line 3 of a CSV file\): lon/lat 'east', '31.23' "
        r"is not a longitude/latitude in degrees \(1 row\(s\) in all\)",
    )


def test_latitude_131_names_the_unit(tmp_path):
    write(tmp_path, "t.csv", TABLE.replace("39.90", "131.0"))
    refuse(tmp_path, ["macro", *BASE], r"unit 'Beijing' \(row 1 of the table, line 2")


def test_geometry_that_is_not_a_vector_file(tmp_path, table):
    write(tmp_path, "shapes.gpkg", "not a geopackage")
    refuse(
        tmp_path,
        ["macro", *BASE, "--geometry", "shapes.gpkg"],
        r"cannot read shapes.gpkg: not a CSV table nor a vector file GDAL can read",
    )


def test_geometry_csv_without_geometry(tmp_path, table):
    refuse(tmp_path, ["macro", *BASE, "--geometry", "t.csv"], r"t.csv has no geometry column")


@pytest.fixture
def gpkg(tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"unit": ["Beijing", "Shanghai", "Guangzhou", "Chengdu"], "gdp": [4.0, 4.3, 2.8, 2.0],
         "patents": [9, 8, 5, 4]},
        geometry=shapely.points([116.4, 121.47, 113.26, 104.07], [39.9, 31.23, 23.13, 30.67]),
        crs=4326,
    )  # fmt: skip
    path = tmp_path / "units.gpkg"
    frame.to_file(path, layer="cities")
    return path


def test_missing_layer_lists_the_layers(tmp_path, gpkg):
    refuse(
        tmp_path,
        ["macro", "--table", gpkg.name, "--layer", "towns", "--indicators", "gdp,patents"],
        r"units.gpkg has no layer 'towns'; its layers are cities",
    )


def test_travel_matrix_cell_named_by_units(tmp_path, table):
    names = ["Beijing", "Shanghai", "Guangzhou", "Chengdu"]
    rows = [",".join(["", *names])]
    for i, a in enumerate(names):
        cells = ["0" if i == j else "2" for j in range(4)]
        if (a, i) == ("Guangzhou", 2):
            cells[0] = "n/a"
        rows.append(",".join([a, *cells]))
    write(tmp_path, "travel.csv", "\n".join(rows) + "\n")
    refuse(
        tmp_path,
        ["macro", *BASE, "--travel-time", "travel.csv"],
        r"travel-time matrix cell \(row 'Guangzhou', column 'Beijing'\) is 'n/a'; give a number",
    )


def test_travel_matrix_without_a_unit(tmp_path, table):
    write(tmp_path, "travel.csv", ",Beijing\nBeijing,0\n")
    refuse(
        tmp_path, ["macro", *BASE, "--travel-time", "travel.csv"], r"lack unit\(s\) \['Shanghai'"
    )


def test_inconsistent_ahp_names_the_flag(tmp_path, table):
    write(tmp_path, "ahp.csv", ",gdp,patents,x\ngdp,1,9,1/9\npatents,1/9,1,9\nx,9,1/9,1\n")
    lines = TABLE.splitlines()
    rows = [lines[0] + ",x", *(f"{line},{i}" for i, line in enumerate(lines[1:], start=1))]
    write(tmp_path, "t.csv", "\n".join(rows) + "\n")
    outcome = refuse(
        tmp_path,
        ["macro", "--table", "t.csv", "--indicators", "gdp,patents,x", "--weights", "ahp",
         "--ahp", "ahp.csv", "--draws", "20"],
        r"pairwise matrix is inconsistent.* give --allow-inconsistent",
    )  # fmt: skip
    assert "allow_inconsistent=True" not in outcome.err


def test_huge_weights_give_the_same_result_as_small_ones(tmp_path, table):
    runs = {}
    for name, value in (("huge", "1e308"), ("small", "1")):
        out = tmp_path / name
        argv = ["macro", *BASE, "--weights", "user", "--weight", f"gdp={value}",
                "--weight", f"patents={value}", "--out", str(out), "-q"]  # fmt: skip
        outcome = run_cli(argv, cwd=tmp_path)
        assert outcome.code == 0 and "Traceback" not in outcome.err, outcome.err
        runs[name] = (out / "tiers.csv").read_text()
    assert runs["huge"] == runs["small"]
