"""Honest handling of missing data: the coverage mask, too few features, absolute
thresholds, the city-centre rule and non-compensatory conditions."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from gis.engine import Engine
from gis.errors import InputError
from gis.grid import Grid
from gis.network import Network
from layers.cli.main import main
from layers.measures import MeasureContext
from layers.micro.factors import MICRO_FACTORS
from layers.micro.run import MicroConfig, compute_micro, detect_center, load_micro_data, run_micro
from layers.pipeline import (
    MIN_FEATURES,
    Coverage,
    RasterRun,
    compute_factor,
    compute_raster,
    condition_failures,
    coverage_info,
    sparse_fallback,
)
from layers.spec import Criterion, Factor, with_thresholds
from tests.conftest import shared_osm

UTM = "EPSG:32635"


def _window(grid: Grid, row: int, col: int, height: int, width: int) -> Grid:
    return Grid(grid.crs, grid.transform @ Affine.translation(col, row), width, height)


# ---------------------------------------------------------------------------- coverage mask
def test_coverage_mask_exact_cells():
    # 10 x 5 cells of 10 m; a point at the centre of the top-left cell, radius 20 m:
    # covered are the cells whose centre lies within 20 m: (dc, dr) with dc² + dr² <= 4
    grid = Grid.from_bounds((0, 0, 100, 50), cell_size=10, crs=UTM)
    cov = Coverage(np.array([shapely.Point(5, 45)]), 20.0, "points")
    expected = np.zeros((5, 10), dtype=bool)
    expected[0, :3] = True
    expected[1, :2] = True
    expected[2, 0] = True
    np.testing.assert_array_equal(cov(grid), expected)


def test_coverage_mask_radius_zero_and_no_features():
    grid = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs=UTM)
    assert Coverage(np.array([shapely.Point(5, 5)]), 0.0)(grid).all()
    assert not Coverage(np.empty(0, dtype=object), 100.0)(grid).any()
    assert not Coverage(np.array([shapely.Point()]), 100.0)(grid).any()  # empty geometry


def test_coverage_mask_of_a_window_equals_the_whole_grid():
    # lines and polygons outside a window still cover its cells (the window is grown)
    grid = Grid.from_bounds((0, 0, 400, 300), cell_size=10, crs=UTM)
    geoms = np.array([
        shapely.LineString([(-50, 150), (120, 160)]),
        shapely.box(300, 20, 330, 40),
        shapely.Point(250, 280),
    ])  # fmt: skip
    cov = Coverage(geoms, 60.0)
    whole = cov(grid)
    assert 0 < whole.sum() < whole.size
    for r, c, h, w in [(0, 0, 10, 10), (12, 15, 9, 20), (5, 25, 25, 15)]:  # fmt: skip
        np.testing.assert_array_equal(cov(_window(grid, r, c, h, w)), whole[r : r + h, c : c + w])


def test_coverage_mask_points_agree_with_shapely_distance():
    rng = np.random.default_rng(4)
    grid = Grid.from_bounds((0, 0, 500, 400), cell_size=10, crs=UTM)
    pts = rng.uniform(0, 500, size=(6, 2))
    cov = Coverage(shapely.points(pts), 75.0)(grid)
    x, y = grid.centers()
    xx, yy = np.meshgrid(x, y)
    d = shapely.distance(shapely.points(xx.ravel(), yy.ravel())[:, None], shapely.points(pts)[None])
    np.testing.assert_array_equal(cov.ravel(), d.min(axis=1) <= 75.0)


def test_coverage_info_share():
    inside = np.array([[True, True, False], [True, True, True]])
    covered = np.array([[True, False, True], [False, False, True]])
    info = coverage_info(covered, inside, Coverage(np.empty(0), 250.0, "streets"))
    assert info["share"] == pytest.approx(2 / 5, abs=1e-6)
    assert (info["cells"], info["cells_no_data"], info["radius_m"]) == (5, 3, 250.0)
    assert info["rule"] == "streets within 250 m"


# ---------------------------------------------------------------------------- a small run
def _centre_factor(name: str, rising: bool, weight: float) -> Factor:
    params = {"lower_threshold": 0, "upper_threshold": 900,
              "from_scale": 0 if rising else 1, "to_scale": 1 if rising else 0}  # fmt: skip
    crit = Criterion(name=f"{name}_d", measure="center_distance", source="centre",
                     transform_params=params)  # fmt: skip
    return Factor(name=name, title=name, weight=weight, criteria=(crit,))


def _line_run(**changes) -> RasterRun:
    """One row of 10 cells of 100 m, the centre in cell 0: distance 0, 100, ..., 900 m.

    ``near`` scores 1 - d/900 (weight 0.9), ``far`` d/900 (weight 0.1): the weighted sum
    is 0.9 - 0.8 d/900, best at the centre.
    """
    grid = Grid.from_bounds((0, 0, 1000, 100), cell_size=100, crs=UTM)
    ctx = MeasureContext(grid=grid, inside=np.ones(grid.shape, dtype=bool), center=(50.0, 50.0))
    factors = (_centre_factor("near", False, 0.9), _centre_factor("far", True, 0.1))
    return RasterRun(factors=factors, context=ctx, threshold=0.0, top_percent=None, **changes)


def test_condition_blocks_cells_whatever_the_weighted_sum():
    plain = compute_raster(_line_run())
    np.testing.assert_allclose(plain.suitability[0], 0.9 - 0.8 * np.arange(10) / 9, atol=1e-6)
    res = compute_raster(_line_run(conditions={"far": 0.5}))
    # far >= 0.5 where d >= 450 m: cells 5..9; the others are nodata and never candidates
    np.testing.assert_array_equal(np.isfinite(res.suitability[0]), np.arange(10) >= 5)
    np.testing.assert_allclose(res.suitability[0, 5:], plain.suitability[0, 5:])
    assert len(res.candidates) == 1
    assert res.candidates.iloc[0]["area_ha"] == pytest.approx(5.0)
    assert res.checks["conditions"] == [{"factor": "far", "min_score": 0.5, "applied": True,
                                         "cells_failing": 5, "cells": 10}]  # fmt: skip


def test_coverage_in_a_run_and_its_warning():
    cov = Coverage(np.array([shapely.Point(850, 50)]), 250.0, "mapped streets")
    res = compute_raster(_line_run(coverage=cov))
    # cell centres 650..950 lie within 250 m of x = 850: cells 6..9 have data
    np.testing.assert_array_equal(res.covered[0], np.arange(10) >= 6)
    np.testing.assert_array_equal(np.isfinite(res.suitability[0]), np.arange(10) >= 6)
    info = res.checks["data_coverage"]
    assert (info["share"], info["cells_no_data"]) == (0.4, 6)
    assert res.checks["warnings"][0].startswith("only 40% of the area has data")
    # no candidate where there is no data: the best cell with data is cell 6
    assert res.candidates.total_bounds[0] == pytest.approx(600.0)


def test_windowed_run_masks_the_same_cells():
    cov = Coverage(np.array([shapely.Point(850, 50)]), 250.0, "mapped streets")
    run = _line_run(coverage=cov, conditions={"far": 0.5})
    memory = compute_raster(run)
    windows = compute_raster(run, engine=Engine("windows", memory_budget=2**20))
    np.testing.assert_array_equal(np.isfinite(windows.suitability), np.isfinite(memory.suitability))
    np.testing.assert_allclose(windows.suitability, memory.suitability, atol=1e-6)
    np.testing.assert_array_equal(windows.covered, memory.covered)
    assert windows.checks["data_coverage"] == memory.checks["data_coverage"]
    assert windows.checks["conditions"] == memory.checks["conditions"]


def test_condition_failures_and_missing_factor():
    fail, skipped = condition_failures(
        {"a": np.array([0.2, 0.6, np.nan]), "b": np.array([0.9, 0.1, 0.9])},
        {"a": 0.5, "b": 0.5, "c": 0.3},
    )
    np.testing.assert_array_equal(fail, [True, True, True])
    assert skipped == ["c"]
    fail, _ = condition_failures({"a": np.array([0.2, 0.6])}, {"a": 0.2})
    np.testing.assert_array_equal(fail, [False, False])


# ---------------------------------------------------------------------------- few features
def _office_context(n: int) -> MeasureContext:
    """A 3 km square in UTM 35 with ``n`` office nodes at cell centres 100 m apart."""
    grid = Grid.from_bounds((385_000, 6_670_000, 388_000, 6_673_000), cell_size=50, crs=UTM)
    xs = 386_525.0 + 100 * np.arange(n)
    ys = np.full(n, 6_671_525.0)
    lon, lat = Transformer.from_crs(UTM, 4326, always_xy=True).transform(xs, ys)
    feats = gpd.GeoDataFrame({"office": ["it"] * n}, geometry=gpd.points_from_xy(lon, lat),
                             crs=4326)  # fmt: skip
    geoms = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=UTM)
    return MeasureContext(grid=grid, inside=np.ones(grid.shape, dtype=bool), features=feats,
                          geoms=geoms)  # fmt: skip


def _office_factor(absolute: bool) -> Factor:
    eco = next(f for f in MICRO_FACTORS if f.name == "ecosystem")
    crit = eco.criteria[0]
    if not absolute:
        crit = replace(crit, absolute_params=None)
    return replace(eco, criteria=(crit,))


def test_one_office_node_is_not_stretched_to_one():
    fr = compute_factor(_office_factor(True), _office_context(1), empty_rule="drop")
    # peak of one quartic kernel of 500 m: 3 / (pi 0.5²) = 3.8197 offices/km², over 20
    assert float(fr.score.max()) == pytest.approx(3 / (np.pi * 0.25) / 20, rel=1e-4)
    cr = fr.criteria[0]
    assert cr.status == "ok" and "absolute thresholds are used (upper_threshold=20)" in cr.note


def test_one_office_node_without_absolute_thresholds_is_no_information():
    fr = compute_factor(_office_factor(False), _office_context(2), empty_rule="drop")
    assert fr.status == "drop" and fr.score is None
    assert fr.criteria[0].status == "few"
    assert "2 feature(s), too few (< 5)" in fr.criteria[0].note


def test_enough_features_keep_the_percentile():
    fr = compute_factor(_office_factor(True), _office_context(MIN_FEATURES), empty_rule="drop")
    assert float(fr.score.max()) == pytest.approx(1.0)  # p95 of the area is below the peak
    assert fr.criteria[0].note == ""


def test_sparse_fallback_rules():
    eco = next(f for f in MICRO_FACTORS if f.name == "ecosystem")
    dens, land = eco.criteria
    used, note = sparse_fallback(dens, 4)
    assert used.transform_params["upper_threshold"] == 20.0 and "4 feature(s)" in note
    assert sparse_fallback(dens, 5) == (dens, "")
    assert sparse_fallback(land, 1) == (land, "")  # numbers only: nothing to stretch
    edge = next(f for f in MICRO_FACTORS if f.name == "edge").criteria[0]
    assert sparse_fallback(edge, 1) == (edge, "")  # distance from the centre: not ranked
    assert sparse_fallback(dens, 2, min_features=2) == (dens, "")


def test_micro_run_warns_of_too_few_features(helsinki_pbf):
    # a single office: the ecosystem density falls back to absolute thresholds, and says so
    from gis.sources import load_osm_file
    from layers.micro.run import all_tag_filters

    eco = next(f for f in MICRO_FACTORS if f.name == "ecosystem")
    crit = replace(eco.criteria[0], tags={"office": ["it"], "name": ["Kiasma"]})
    preset = tuple(replace(f, criteria=(crit,)) if f.name == "ecosystem" else f
                   for f in MICRO_FACTORS)  # fmt: skip
    config = MicroConfig(preset=preset, cell_size=50.0)
    data = load_osm_file(helsinki_pbf, tag_filters=all_tag_filters(preset))
    result = compute_micro(data, config)
    fr = next(f for f in result.factors if f.factor.name == "ecosystem")
    n = fr.criteria[0].count
    assert 0 < n < MIN_FEATURES
    warnings = result.checks["warnings"]
    assert any(w.startswith(f"factor ecosystem: office_density: {n} feature(s)") for w in warnings)
    assert float(np.nanmax(fr.score)) < 1.0


# ---------------------------------------------------------------------------- thresholds
def test_absolute_thresholds_replace_every_percentile():
    factors = with_thresholds(MICRO_FACTORS, "absolute")
    params = {c.name: dict(c.transform_params) for f in factors for c in f.criteria}
    assert params["amenity_density"] == {"lower_threshold": 0, "upper_threshold": 50.0}
    assert params["office_density"]["upper_threshold"] == 20.0
    assert params["center_distance"] == {"a": 1000.0, "b": 2500.0, "c": 6000.0, "d": 12000.0}
    assert not any(isinstance(v, str) for p in params.values() for v in p.values())
    assert with_thresholds(MICRO_FACTORS, "percentile") is MICRO_FACTORS
    config = MicroConfig(thresholds="absolute")
    assert dict(next(f for f in config.factors if f.name == "amenity").criteria[0]
                .transform_params)["upper_threshold"] == 50.0  # fmt: skip


def test_absolute_thresholds_bad_input():
    crit = Criterion(
        name="cafes",
        measure="density",
        tags={"amenity": ["cafe"]},
        transform_params={"lower_threshold": 0, "upper_threshold": "p95"},
    )
    with pytest.raises(InputError, match="criterion 'cafes': absolute thresholds asked for but "
                       "upper_threshold is a percentile with no absolute value"):  # fmt: skip
        with_thresholds((Factor(name="f", title="f", weight=1, criteria=(crit,)),), "absolute")
    with pytest.raises(InputError, match="thresholds must be one of"):
        with_thresholds(MICRO_FACTORS, "relative")
    with pytest.raises(InputError, match="absolute_params upper_threshold must be a number"):
        replace(crit, absolute_params={"upper_threshold": "p90"})
    with pytest.raises(InputError, match="thresholds must be one of 'percentile', 'absolute'"):
        MicroConfig(thresholds="relative").validate()


def test_micro_option_bad_input():
    with pytest.raises(InputError, match="condition 'nope' is not a factor; factors are"):
        MicroConfig(conditions=("edge", "nope")).validate()
    with pytest.raises(InputError, match="condition minimum must be >= 0 and <= 1"):
        MicroConfig(condition_min=1.5).validate()
    with pytest.raises(InputError, match="coverage radius must be >= 0 metres"):
        MicroConfig(coverage_radius=-1).validate()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--condition", "nope"], "condition 'nope' is not a factor"),
        (["--thresholds", "relative"], "invalid choice"),
        (["--condition-min", "2"], "condition minimum must be"),
        (["--coverage-radius", "-5"], "coverage radius must be"),
    ],
)
def test_cli_refuses_bad_options(args, match, tmp_path, capsys):
    out = tmp_path / "out"
    try:
        code = main(["micro", *args, "--out", str(out)])
    except SystemExit as exc:  # argparse refuses a value outside the choices
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_scenario_keys_and_bad_absolute_params(tmp_path):
    from layers.scenario import ScenarioError, load_scenario

    good = tmp_path / "good.toml"
    good.write_text(
        'scale = "micro"\n[model]\nthresholds = "absolute"\nconditions = ["edge"]\n'
        "condition_min = 0.4\ncoverage_radius = 300\n"
    )
    config = load_scenario(good).config
    assert (config.thresholds, config.conditions) == ("absolute", ["edge"])
    assert (config.condition_min, config.coverage_radius) == (0.4, 300)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'scale = "micro"\n[[factors]]\nname = "cafes"\ntitle = "Cafes"\nweight = 1\n'
        '  [[factors.criteria]]\n  name = "cafe_density"\n  measure = "density"\n'
        '  transform = "linear"\n'
        '  transform_params = { lower_threshold = 0, upper_threshold = "p95" }\n'
        '  absolute_params = { upper_threshold = "lots" }\n'
        '  [factors.criteria.tags]\n  amenity = ["cafe"]\n'
    )
    with pytest.raises(ScenarioError, match="absolute_params"):
        load_scenario(bad)


# ---------------------------------------------------------------------------- centre
def _street_grid(n: int, spacing: float) -> Network:
    """An n x n street grid centred on (0, 0)."""
    ij = np.arange(n)
    xx, yy = np.meshgrid((ij - (n - 1) / 2) * spacing, (ij - (n - 1) / 2) * spacing)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return Network(xx.ravel(), yy.ravel(), u, v, np.full(u.size, spacing), UTM)


def _pois(xy: np.ndarray) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
    feats = gpd.GeoDataFrame({"amenity": ["cafe"] * len(xy)},
                             geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM)  # fmt: skip
    return feats, feats.geometry


def test_centre_is_not_a_campus_full_of_pois():
    # a 4 km street grid around (0, 0) with 30 shops spread over it, and a campus 4 km
    # away off the grid with 80 POIs packed in 300 m: the densest POI spot is the campus
    rng = np.random.default_rng(1)
    town = rng.uniform(-1500, 1500, size=(30, 2))
    campus = np.array([4000.0, 4000.0]) + rng.uniform(-150, 150, size=(80, 2))
    feats, geoms = _pois(np.vstack([town, campus]))
    grid = Grid.from_bounds((-5000, -5000, 5000, 5000), cell_size=50, crs=UTM)
    inside = np.ones(grid.shape, dtype=bool)
    (x, y), how = detect_center(grid, inside, feats, geoms, _street_grid(41, 100.0))
    assert np.hypot(x, y) < 600, (x, y)
    assert (
        how
        == "peak of the 2 km density of 1677 street intersections and 110 amenity/shop/office POIs"
    )
    # POIs alone (the former rule) would take the campus
    (x2, y2), _ = detect_center(grid, inside, feats, geoms, None)
    assert np.hypot(x2 - 4000, y2 - 4000) < 300


def test_centre_without_enough_points_is_the_middle():
    feats, geoms = _pois(np.array([[100.0, 100.0]]))
    grid = Grid.from_bounds((0, 0, 1000, 500), cell_size=50, crs=UTM)
    (x, y), how = detect_center(grid, np.ones(grid.shape, dtype=bool), feats, geoms, None)
    assert (x, y) == (500.0, 250.0)
    assert how.startswith("middle of the study area")


def test_centre_given_as_lon_lat(helsinki_pbf):
    from gis.sources import load_osm_file
    from layers.micro.run import all_tag_filters

    data = load_osm_file(helsinki_pbf, tag_filters=all_tag_filters(MICRO_FACTORS))
    result = compute_micro(data, MicroConfig(center=(24.9384, 60.1699), cell_size=50.0))
    assert result.center == {"lon": 24.9384, "lat": 60.1699, "method": "given"}


# ---------------------------------------------------------------------------- integration
def _small_extract(path, lon0=24.930, lat0=60.160, n=9, step=0.0015):
    """A synthetic OSM extract: an n x n street grid, buildings, cafés, offices, a campus."""
    nodes, ways = [], []
    nid = iter(range(1, 10**6))
    grid_ids = {}
    for i in range(n):
        for j in range(n):
            k = next(nid)
            grid_ids[i, j] = k
            nodes.append((k, lon0 + i * step, lat0 + j * step * 0.5, {}))
    wid = iter(range(1, 10**6))
    for i in range(n):
        ways.append((next(wid), [grid_ids[i, j] for j in range(n)], {"highway": "residential"}))
        ways.append((next(wid), [grid_ids[j, i] for j in range(n)], {"highway": "residential"}))
    for i in range(n - 1):
        for j in range(n - 1):
            x, y = lon0 + (i + 0.3) * step, lat0 + (j + 0.3) * step * 0.5
            ids = []
            for dx, dy in [(0, 0), (0.3, 0), (0.3, 0.3), (0, 0.3)]:
                k = next(nid)
                nodes.append((k, x + dx * step, y + dy * step * 0.5, {}))
                ids.append(k)
            ways.append((next(wid), [*ids, ids[0]], {"building": "yes"}))
            tags = {"amenity": "cafe"} if (i + j) % 2 else {"office": "it"}
            nodes.append((next(nid), x + 0.6 * step, y + 0.6 * step * 0.5, tags))
    nodes.append((next(nid), lon0 + 2 * step, lat0 + 2 * step * 0.5, {"amenity": "university"}))
    nodes.append((next(nid), lon0 + 6 * step, lat0 + 5 * step * 0.5, {"railway": "station"}))
    lat1 = lat0 + (n - 1) * step * 0.5
    lon1 = lon0 + (n - 1) * step
    bounds = f'<bounds minlat="{lat0}" minlon="{lon0}" maxlat="{lat1}" maxlon="{lon1}"/>'
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="test">',
        bounds,
    ]
    stamp = 'version="1" timestamp="2024-05-01T00:00:00Z"'
    for k, lon, lat, tags in nodes:
        body = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
        lines.append(f'<node id="{k}" {stamp} lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
    for k, refs, tags in ways:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
        lines.append(f'<way id="{k}" {stamp}>{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return (lon0, lat0, lon1, lat1)


def test_area_larger_than_the_extract_has_no_candidate_without_data(tmp_path):
    osm = tmp_path / "small.osm"
    w, s, e, n = _small_extract(osm)
    bbox = (w, s, e + (e - w), n)  # twice the extract, to the east
    config = MicroConfig(osm_file=str(osm), bbox=bbox, cell_size=20.0, tiles=None,
                         top_percent=20.0, min_area_ha=0.5)  # fmt: skip
    result, paths = run_micro(config, out=tmp_path / "out", command="test")
    grid = result.grid
    # independent: the area within 250 m of a street or building, from shapely buffers
    data = load_micro_data(config)
    g = data.features.to_crs(grid.crs)
    mapped = g[g["building"].notna().to_numpy()].geometry.to_numpy()
    net = data.network(grid.crs)
    segs = shapely.linestrings(np.stack([np.c_[net.x[net.u], net.y[net.u]],
                                         np.c_[net.x[net.v], net.y[net.v]]], axis=1))  # fmt: skip
    reach = shapely.union_all(shapely.buffer(np.concatenate([segs, mapped]), 250.0))
    area = gpd.GeoSeries([data.area], crs=4326).to_crs(grid.crs).iloc[0]
    expected = shapely.intersection(reach, area).area / area.area
    info = result.checks["data_coverage"]
    assert 0.4 < expected < 0.75
    assert info["share"] == pytest.approx(expected, abs=0.02)
    # the cells with data are those whose centre lies in the 250 m reach (to half a cell)
    x, y = grid.centers()
    xx, yy = np.meshgrid(x, y)
    centres = shapely.points(xx[result.inside], yy[result.inside])
    covered = result.covered[result.inside]
    half = 20 * np.sqrt(2) / 2 + 1.0  # half a cell diagonal, and the buffer's chords
    assert covered[shapely.within(centres, reach.buffer(-half))].all()
    assert not covered[shapely.distance(centres, reach) > half].any()
    # no candidate, and no score, where there is no data
    assert not np.isfinite(result.suitability[result.inside & ~result.covered]).any()
    assert len(result.candidates) >= 1
    assert shapely.within(result.candidates.geometry.to_numpy(), reach.buffer(1e-6)).all()
    # said in the summary, the manifest, the report, the map and coverage.tif
    from layers.outputs.text import micro_summary

    text = micro_summary(result, paths)
    assert f"Data coverage: {info['share']:.1%} of the area has mapped streets or buildings" in text
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["extra"]["data_coverage"]["share"] == info["share"]
    assert "Data coverage and conditions" in paths["report"].read_text()
    assert "No data (nothing mapped nearby)" in paths["map"].read_text()
    import rasterio

    with rasterio.open(paths["manifest"].parent / "coverage.tif") as src:
        cov = src.read(1)
    assert np.nanmean(cov) == pytest.approx(info["share"], abs=1e-6)


# ---------------------------------------------------------------------------- Nanjing
#: Xinjiekou metro station (OSM node 7999205744) and the centre the former rule found.
XINJIEKOU = (118.7789993, 32.0435788)
FORMER_CENTRE = (118.778679, 32.043922)


def test_xinjiekou_core_is_not_the_top_district_under_the_edge_condition():
    path = shared_osm("nanjing_xinjiekou_2021.osm")
    config = MicroConfig(osm_file=str(path), center=FORMER_CENTRE, tiles=None)
    data = load_micro_data(config)
    plain = compute_micro(data, config)
    cond = compute_micro(data, replace(config, conditions=("edge",)))
    xy = Transformer.from_crs(4326, plain.grid.crs, always_xy=True).transform(*XINJIEKOU)
    station = shapely.Point(*xy)
    # the weighted sum lets the retail core through (edge 0 at its heart) ...
    core = plain.candidates[plain.candidates.geometry.distance(station) == 0]
    assert len(core) == 1 and core.iloc[0]["edge"] < 0.5
    # ... the condition keeps every district off it
    assert (cond.candidates.geometry.distance(station) > 500).all()
    assert (cond.candidates["edge"] >= 0.5).all()
    edge = next(f for f in cond.factors if f.factor.name == "edge").score
    scored = np.isfinite(cond.suitability)
    assert (edge[scored] >= 0.5).all()
    row = cond.checks["conditions"][0]
    assert row["factor"] == "edge" and row["applied"] and row["cells_failing"] > 0


def test_meso_run_beyond_its_osm_extract(tmp_path):
    from layers.meso.run import COVERAGE_RADIUS, MesoConfig, compute_meso, load_meso_data
    from tests.layers.test_meso import write_osm

    osm = write_osm(tmp_path / "wuhan.osm")  # features in 114.30-114.34 E, 30.55-30.58 N
    config = MesoConfig(osm_file=str(osm), bbox=(114.25, 30.50, 114.39, 30.63), cell_size=200,
                        min_area_ha=1, tiles=None)  # fmt: skip
    with warnings.catch_warnings():  # layers without data are reported as warnings
        warnings.simplefilter("ignore", UserWarning)
        result = compute_meso(load_meso_data(config), config)
    grid = result.grid
    pts = result.data.osm.geometry.to_crs(grid.crs).centroid.to_numpy()
    reach = shapely.union_all(shapely.buffer(pts, COVERAGE_RADIUS, quad_segs=64))
    area = gpd.GeoSeries([result.data.area], crs=4326).to_crs(grid.crs).iloc[0]
    expected = shapely.intersection(reach, area).area / area.area
    info = result.checks["data_coverage"]
    assert 0.2 < expected < 0.8
    assert info["share"] == pytest.approx(expected, abs=0.03)
    assert not np.isfinite(result.suitability[result.inside & ~result.covered]).any()
    assert len(result.candidates)
    assert shapely.within(result.candidates.geometry.to_numpy(), reach.buffer(150)).all()


def test_manifest_replays_conditions_thresholds_and_coverage(tmp_path, capsys):
    first = tmp_path / "first"
    args = ["micro", "--cell-size", "50", "--no-tiles", "--quiet", "--condition", "edge"]
    args += ["--condition-min", "0.4", "--thresholds", "absolute", "--coverage-radius", "150"]
    assert main([*args, "--out", str(first)]) == 0
    replay = tmp_path / "replay"
    assert main(["run", str(first / "manifest.json"), "--out", str(replay), "--quiet"]) == 0
    capsys.readouterr()
    a = json.loads((first / "manifest.json").read_text())
    b = json.loads((replay / "manifest.json").read_text())
    assert a["parameters"] == b["parameters"]
    p = a["parameters"]
    assert (p["conditions"], p["condition_min"], p["thresholds"], p["coverage_radius"]) == (
        ["edge"], 0.4, "absolute", 150.0)  # fmt: skip
    assert a["extra"]["conditions"] == b["extra"]["conditions"]
    assert a["extra"]["data_coverage"] == b["extra"]["data_coverage"]
    import rasterio

    for name in ("suitability.tif", "coverage.tif"):
        with rasterio.open(first / name) as x, rasterio.open(replay / name) as y:
            np.testing.assert_array_equal(x.read(1), y.read(1))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    radius=st.floats(5.0, 120.0),
    window=st.tuples(
        st.integers(0, 20), st.integers(0, 20), st.integers(1, 12), st.integers(1, 12)
    ),
)
def test_coverage_of_points_is_exact_in_any_window(seed, n, radius, window):
    # points are measured exactly: a cell has data iff its centre is within the radius,
    # on the whole grid and on any window of it
    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 320, 320), cell_size=10, crs=UTM)
    pts = rng.uniform(-50, 370, size=(n, 2))
    cov = Coverage(shapely.points(pts), radius)
    x, y = grid.centers()
    d = np.hypot(x[None, :, None] - pts[:, 0], y[:, None, None] - pts[:, 1]).min(axis=2)
    whole = cov(grid)
    clear = np.abs(d - radius) > 1e-3  # float32 distances: no verdict on the circle itself
    np.testing.assert_array_equal(whole[clear], (d <= radius)[clear])
    r, c, h, w = window
    np.testing.assert_array_equal(cov(_window(grid, r, c, h, w)), whole[r : r + h, c : c + w])


def test_map_draws_no_data_hatched(tmp_path):
    from gis.maps import NO_DATA_LAYER, no_data_hatch, suitability_map

    grid = Grid.from_bounds((385_000, 6_670_000, 386_000, 6_671_000), cell_size=100, crs=UTM)
    composite = np.full(grid.shape, 0.5, dtype="float32")
    mask = np.zeros(grid.shape, dtype=bool)
    mask[:, 6:] = True
    hatch = no_data_hatch(mask)
    assert np.isnan(hatch[:, :6]).all() and set(np.unique(hatch[:, 6:])) == {
        np.float32(0.3), np.float32(0.8)}  # fmt: skip
    page = suitability_map(tmp_path / "m.html", grid, composite=composite, layers={},
                           tiles=None, no_data=mask)  # fmt: skip
    assert NO_DATA_LAYER in page.read_text()
    none = suitability_map(tmp_path / "n.html", grid, composite=composite, layers={},
                           tiles=None, no_data=np.zeros(grid.shape, dtype=bool))  # fmt: skip
    assert NO_DATA_LAYER not in none.read_text()
    with pytest.raises(InputError, match="no_data must have the grid's shape"):
        suitability_map(tmp_path / "x.html", grid, composite=composite, layers={},
                        tiles=None, no_data=mask[:, :3])  # fmt: skip
