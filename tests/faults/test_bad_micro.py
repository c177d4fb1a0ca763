"""``innosite micro`` on bad input: one clean error line, nothing written, nothing lost.

Most refusals happen before any data is read; the few that need the study area use the
tiny hand-made OSM file of :mod:`tests.faults.bad_input`.
"""

from __future__ import annotations

import json
import re

import pytest

from layers.decision import DecisionOptions
from layers.micro.run import MicroConfig
from layers.options import ENGINE_OPTIONS, check_value
from tests.faults.bad_input import UNSORTED_OSM, out_of_range, refuse, write
from tests.faults.harness import assert_nothing_lost, run_cli, snapshot, staging_left

pytestmark = pytest.mark.faults

#: The factors of the micro preset.
FACTORS = [f.name for f in MicroConfig().preset]


RANGES = [*out_of_range(MicroConfig), *out_of_range(DecisionOptions)]


@pytest.mark.parametrize(("flag", "value", "message"), RANGES, ids=[r[0] for r in RANGES])
def test_every_range_is_refused_with_the_limit_and_the_value(tmp_path, flag, value, message):
    located = flag not in ("--sensitivity", "--concentration", "--spread", "--seed")
    regions = ["--regions", "2"] if located and flag != "--regions" else []
    refuse(tmp_path, ["micro", flag, str(value), *regions], re.escape(message))


ENGINE = [
    (["--memory-budget", "1KiB"], "memory budget must be >= 1 MiB; got 1 KiB"),
    (["--memory-budget", "1000"], "memory budget must be >= 1 MiB; got 1000 bytes"),
    (["--timeout=-1"], "timeout must be > 0 and <= 86,400 seconds; got -1"),
    (["--timeout", "1e9"], "timeout must be > 0 and <= 86,400 seconds; got 1000000000.0"),
    (["--timeout", "nan"], "timeout must be finite; got nan"),
    (["--workers", "0"], "workers must be >= 1; got 0"),
]


@pytest.mark.parametrize(("argv", "message"), ENGINE, ids=[" ".join(a) for a, _ in ENGINE])
def test_engine_limits_are_checked_before_any_work(tmp_path, argv, message):
    refuse(tmp_path, ["micro", *argv], re.escape(message))


def test_engine_options_share_the_declared_checks():
    assert check_value(ENGINE_OPTIONS["memory_budget"], 2**20) is None
    assert check_value(ENGINE_OPTIONS["timeout"], 86_400) is None


CASES = [
    # weights
    (["--weight", "a=1e308", "--weight", "b=1e308"], r"unknown factor\(s\) a, b in weights"),
    (["--weight", "edge=nan"], r"weight of 'edge' is nan; weights must be finite"),
    (["--weight", "edge=-1"], r"weight of 'edge' is -1"),
    (["--weight", "edge=inf"], r"weight of 'edge' is inf"),
    (["--weight", "edge"], r"weights are NAME=VALUE"),
    (["--weight", "edge=high"], r"weight of 'edge' must be a number"),
    (
        [arg for n in FACTORS for arg in ("--weight", f"{n}=0")],
        r"all weights are zero",
    ),
    # sizes
    (["--sensitivity", "1000000000"], r"sensitivity must be >= 0 and <= 10,000; got 1000000000"),
    (["--seeds", "1000000000", "--regions", "2"], r"seeds must be >= 1 and <= 100,000"),
    # options without effect
    (["--total-area", "30"], r"--total-area is a Locate Regions setting .* without --regions"),
    (["--min-distance", "100"], r"--min-distance is a Locate Regions setting"),
    (["--allow-fewer"], r"--allow-fewer is a Locate Regions setting"),
    (["--shape-tradeoff", "50"], r"--shape-tradeoff is a Locate Regions setting"),
    (["--orness", "0.5"], r"\(use --aggregation owa\)"),
    (["--gamma", "0.5"], r"\(use --aggregation fuzzy_gamma\)"),
    # aggregation options
    (
        ["--aggregation", "owa", "--order-weights", "1,1"],
        r"order weights has 2 values but 8 layers have a positive weight",
    ),
    (
        ["--aggregation", "owa", "--order-weights", "1,1,1,1,1,1,1,1", "--weight", "edge=0"],
        r"order weights has 8 values but 7 layers",
    ),
    (
        ["--aggregation", "owa", "--order-weights", "1,-1,1,1,1,1,1,1"],
        r"order weights must be finite, >= 0",
    ),
    (["--aggregation", "owa", "--orness", "1.5"], r"orness must be a number in \[0, 1\]"),
    (["--aggregation", "owa"], r"OWA needs exactly one of order_weights"),
    (["--aggregation", "nope"], r"invalid choice: 'nope'"),
    # sites and area
    (["--threshold", "nan"], r"threshold must be finite; got nan"),
    (["--threshold", "0.5", "--top-percent", "5"], r"either a score threshold or a top percent"),
    (["--center", "200,10"], r"centre must be lon,lat in WGS84 degrees"),
    (["--center", "24.9"], r"give LON,LAT in degrees"),
    (["--bbox", "24.93,60.16,24.95"], r"bbox is WEST,SOUTH,EAST,NORTH"),
    (["--bbox", "a,b,c,d"], r"bbox values must be numbers"),
    (["--bbox", "24.93,60.16,24.95,60.18", "--place", "Helsinki"], r"one study area"),
    (["--connectivity", "6"], r"invalid choice: 6"),
    (["--empty", "maybe"], r"invalid choice: 'maybe'"),
    # files
    (["--osm-file", "missing.osm"], r"file not found: missing.osm"),
    (["--exclude", "missing.gpkg"], r"file not found: missing.gpkg"),
    (["--area-file", "missing.geojson"], r"file not found: missing.geojson"),
    (["--ahp", "missing.csv"], r"file not found: missing.csv"),
    (["--existing", "missing.gpkg", "--regions", "2"], r"file not found: missing.gpkg"),
    (["--layer", "labs"], r"expected NAME=FILE"),
    (["--layer", "labs=missing.csv"], r"source 'labs': file not found: .*missing.csv"),
]


@pytest.mark.parametrize(("argv", "pattern"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_micro_options_are_refused(tmp_path, argv, pattern):
    refuse(tmp_path, ["micro", *argv], pattern)


# ---------------------------------------------------------------------------- user layers
LAYER_CASES = [
    ("measure=nope", r"layer 'labs': unknown measure 'nope'"),
    ("transform=nope", r"layer 'labs': unknown transform 'nope'"),
    ("colour=red", r"layer 'labs': unknown option\(s\) colour"),
    ("factor_weight=heavy", r"factor_weight must be a number, got 'heavy'"),
    ("lower=low", r"lower must be a number, got 'low'"),
]


@pytest.mark.parametrize(("options", "pattern"), LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_bad_layer_options_name_the_layer(tmp_path, options, pattern):
    write(tmp_path, "labs.csv", "name,lon,lat\na,24.94,60.17\n")
    refuse(tmp_path, ["micro", "--layer", f"labs={tmp_path / 'labs.csv'}:{options}"], pattern)


# ---------------------------------------------------------------------------- AHP files
AHP = ",amenity,culture\namenity,1,3\nculture,1/3,1\n"


def test_ahp_blank_corner_is_not_a_criterion(tmp_path):
    # two criteria named, three rows: the message counts the criteria, not the blank corner
    write(tmp_path, "ahp.csv", AHP + "edge,1,1\n")
    refuse(tmp_path, ["micro", "--ahp", "ahp.csv"], r"the header names 2 criteria but there are 3")


def test_ahp_naming_other_factors_lists_them(tmp_path):
    write(tmp_path, "ahp.csv", AHP)
    refuse(
        tmp_path, ["micro", "--ahp", "ahp.csv"], r"missing \['university', 'transit', 'green_quiet'"
    )


def test_ahp_inconsistent_names_the_flag(tmp_path):
    names = ["amenity", "culture", "ecosystem", "edge", "green_quiet", "low_density", "transit",
             "university"]  # fmt: skip
    rows = [["", *names]]
    for i, a in enumerate(names):
        row = [a]
        for j in range(len(names)):  # reciprocal, and as inconsistent as it gets
            strong = (min(i, j) + max(i, j)) % 2 == 1
            row.append("1" if i == j else ("9" if strong == (i < j) else "1/9"))
        rows.append(row)
    write(tmp_path, "ahp.csv", "\n".join(",".join(r) for r in rows) + "\n")
    outcome = refuse(tmp_path, ["micro", "--ahp", "ahp.csv"], r"give --allow-inconsistent")
    assert "allow_inconsistent=True" not in outcome.err


def test_ahp_and_weights_together_are_refused(tmp_path):
    write(tmp_path, "ahp.csv", AHP)
    refuse(tmp_path, ["micro", "--ahp", "ahp.csv", "--weight", "edge=1"], r"not both")


def test_ahp_cell_that_is_not_a_number(tmp_path):
    write(tmp_path, "ahp.csv", ",a,b\na,1,x\nb,1,1\n")
    refuse(tmp_path, ["micro", "--ahp", "ahp.csv"], r"row 'a', column 'b' is 'x'")


# ---------------------------------------------------------------------------- the study area
@pytest.fixture
def osm_file(tmp_path):
    return write(tmp_path, "edited.osm", UNSORTED_OSM)


def test_centre_given_as_lat_lon_is_refused(tmp_path, osm_file):
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--center", "60.17,24.94"],
        r"centre \(--center\) 60.17,24.94 lies [\d,]+ km from the study area; it looks like "
        r"LAT,LON: give LON,LAT \(24.94,60.17\)",
    )


def test_centre_6000_km_away_is_refused(tmp_path, osm_file):
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--center", "100.0,30.0"],
        r"centre \(--center\) 100,30 lies [\d,]+ km from the study area; give a point in or near",
    )


def test_area_outside_the_osm_file_names_the_file_bounds(tmp_path, osm_file):
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--bbox", "102.6,24.9,102.8,25.1"],
        r"lies outside the OSM file edited.osm \(file bounds 24.9300,60.1600,24.9500,60.1800",
    )


def test_osm_file_edited_in_josm_is_read_and_scored(tmp_path, osm_file):
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    outcome = run_cli(["micro", "--osm-file", osm_file.name, "--out", str(out), "-q"],
                      cwd=tmp_path)  # fmt: skip
    assert outcome.code == 0, outcome.err
    assert "Traceback" not in outcome.err and "out of order" not in outcome.err
    assert_nothing_lost(before, tmp_path, skip=out)
    assert staging_left(tmp_path) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "suitability.tif").is_file() and (out / "candidates.gpkg").is_file()
    assert "manifest.json" in outcome.out or str(out) in outcome.out
    assert manifest["extra"]["center"]["method"]


@pytest.mark.parametrize("engine", ["memory", "windows"])
def test_exclusion_covering_the_whole_area_is_refused(tmp_path, osm_file, engine):
    import geopandas as gpd
    import shapely

    gpd.GeoSeries([shapely.box(24.9, 60.1, 25.0, 60.2)], crs=4326).to_file(tmp_path / "all.gpkg")
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--exclude", "all.gpkg", "--engine", engine],
        r"the exclusions \(--exclude and the built-in constraints\) cover every cell",
    )


def test_existing_sites_7000_km_away_are_refused(tmp_path, osm_file):
    import geopandas as gpd
    import shapely

    far = shapely.box(102.70, 25.03, 102.71, 25.04)  # Kunming, some 6,000 km from Helsinki
    gpd.GeoSeries([far], crs=4326).to_file(tmp_path / "existing.gpkg")
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--regions", "1", "--existing", "existing.gpkg"],
        r"the existing sites of existing.gpkg lie [\d,]+ km or more from the study area",
    )


def test_osm_node_at_latitude_131_is_reported_in_one_line(tmp_path):
    text = UNSORTED_OSM.replace('lat="60.170" lon="24.945"', 'lat="131.0" lon="24.945"')
    write(tmp_path, "edited.osm", text)
    out = tmp_path / "out"
    outcome = run_cli(["micro", "--osm-file", "edited.osm", "--out", str(out), "-q"], cwd=tmp_path)
    assert outcome.code == 0 and "Traceback" not in outcome.err, outcome.err
    assert outcome.err.splitlines() == [
        "warning: OSM file edited.osm: 1 tagged node(s) with coordinates outside longitude "
        "-180..180 / latitude -90..90 were left out"
    ]


def test_measure_parameter_names_the_criterion(tmp_path, osm_file):
    write(tmp_path, "labs.csv", "name,lon,lat\na,24.94,60.17\nb,24.941,60.171\n")
    refuse(
        tmp_path,
        ["micro", "--osm-file", osm_file.name, "--layer", "labs=labs.csv:bandwidth=5"],
        r"criterion 'labs' \(density\): bandwidth 5 m is smaller than the cell size 25 m",
    )


# ---------------------------------------------------------------------------- OWA order weights
def test_order_weights_of_a_dropped_factor_are_fitted_keeping_the_orness():
    from gis.overlay import fit_order_weights, owa_measures
    from layers.pipeline import fitted_options

    factors = MicroConfig(weights={"edge": 0.0}).factors[:5]  # four with weight > 0
    planned = [f.name for f in factors if f.weight > 0]
    assert len(planned) == 4
    given = {"order_weights": [0.4, 0.3, 0.2, 0.1]}
    fitted = fitted_options(given, factors, planned[:3], note=False)["order_weights"]
    # Q = cumulative sums at 0, 1/4 .. 1; read at 1/3 and 2/3 by hand: 0.5 and 0.8333
    assert fitted == pytest.approx([0.5, 1 / 3, 1 / 6])
    assert owa_measures(fitted)[0] == pytest.approx(owa_measures([0.4, 0.3, 0.2, 0.1])[0])
    # nothing dropped, or a count that was never right: left as given (the run refuses the latter)
    assert fitted_options(given, factors, planned, note=False) == given
    assert fitted_options({"order_weights": [1, 1]}, factors, planned[:3]) == {
        "order_weights": [1, 1]
    }
    assert fit_order_weights([0.4, 0.3, 0.2, 0.1], 4) == pytest.approx([0.4, 0.3, 0.2, 0.1])


def test_order_weights_count_only_the_factors_that_take_part():
    from layers.cli.main import build_parser
    from layers.cli.micro import micro_config_from_args

    argv = ["micro", "--aggregation", "owa", "--order-weights", "4,3,2,1,1,1,1",
            "--weight", "edge=0"]  # fmt: skip
    config = micro_config_from_args(build_parser().parse_args(argv))
    assert config.aggregation_options == {"order_weights": [4.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0]}


def test_huge_weights_are_normalised_without_overflow():
    from gis.overlay import normalize_weights
    from layers.cli.main import build_parser
    from layers.cli.micro import micro_config_from_args

    argv = ["micro", "--weight", "edge=1e308", "--weight", "transit=1e308"]
    config = micro_config_from_args(build_parser().parse_args(argv))
    config.validate()
    huge = normalize_weights({f.name: f.weight for f in config.factors})
    assert huge["edge"] == huge["transit"] == pytest.approx(0.5)
    assert sum(huge.values()) == pytest.approx(1.0)
    # the other factors keep their preset weights, negligible beside 1e308
    assert all(0 < w < 1e-300 for n, w in huge.items() if n not in ("edge", "transit"))
