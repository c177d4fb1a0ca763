"""Micro scale end to end on real OSM extracts, and every bad input of the command."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

from gis.errors import InputError
from gis.network import network_distance
from gis.sources import load_osm_file
from layers.cli.main import main
from layers.micro.factors import MICRO_FACTORS
from layers.micro.run import MicroConfig, all_tag_filters, compute_micro, run_micro
from tests.conftest import shared_osm

pytestmark = pytest.mark.integration
FACTOR_NAMES = [f.name for f in MICRO_FACTORS]


@pytest.fixture(scope="module")
def helsinki_run(tmp_path_factory):
    """The default run: embedded Helsinki extract, outputs written."""
    out = tmp_path_factory.mktemp("runs") / "helsinki"
    config = MicroConfig(tiles=None)
    result, paths = run_micro(config, out=out, command="test")
    return result, paths, out


def test_helsinki_outputs_open_and_are_consistent(helsinki_run):
    result, _paths, out = helsinki_run
    expected = {"suitability.tif", "candidates.gpkg", "map.html", "manifest.json"}
    assert expected <= {p.name for p in out.iterdir()}
    with rasterio.open(out / "suitability.tif") as src:
        assert src.crs.to_epsg() == 32635
        assert np.isnan(src.nodata)
        assert src.descriptions[0].startswith("innovation-district suitability")
        data = src.read(1)
        assert src.overviews(1) or max(src.shape) < 512
    valid = data[np.isfinite(data)]
    assert valid.size > 1000
    assert 0.0 <= valid.min() and valid.max() <= 1.0
    np.testing.assert_array_equal(np.isfinite(data), np.isfinite(result.suitability))
    # nothing outside the study area
    assert not np.isfinite(data[~result.inside]).any()


def test_every_factor_is_non_empty_or_reported(helsinki_run):
    result, _paths, out = helsinki_run
    manifest = json.loads((out / "manifest.json").read_text())
    coverage = {row["factor"]: row for row in manifest["extra"]["coverage"]}
    assert set(coverage) == set(FACTOR_NAMES)
    for fr in result.factors:
        if fr.status == "ok":
            with rasterio.open(out / f"{fr.factor.name}.tif") as src:
                band = src.read(1)
                units = src.units[0]
            assert np.isfinite(band).sum() == result.inside.sum()
            assert units == "score"
        else:
            assert coverage[fr.factor.name]["factor_status"] == fr.status
            assert result.weights.get(fr.factor.name, 0.0) == 0.0
    assert sum(result.weights.values()) == pytest.approx(1.0)


def test_candidates_ranked(helsinki_run):
    result, _paths, out = helsinki_run
    gdf = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates")
    assert len(gdf) >= 1
    assert gdf["rank"].tolist() == list(range(1, len(gdf) + 1))
    assert (np.diff(gdf["mean_score"].to_numpy()) <= 1e-9).all()
    assert (gdf["area_ha"] >= 2.0 - 1e-9).all()
    assert gdf.crs.to_epsg() == 32635
    np.testing.assert_allclose(gdf.geometry.area / 10_000, gdf["area_ha"], rtol=1e-6)
    for name, weight in result.weights.items():
        assert name in gdf.columns and weight > 0


def test_manifest_checksums_and_osm_date(helsinki_run, helsinki_pbf):
    result, _paths, out = helsinki_run
    manifest = json.loads((out / "manifest.json").read_text())
    osm = next(i for i in manifest["inputs"] if i["role"] == "osm")
    assert osm["sha256"] == hashlib.sha256(Path(helsinki_pbf).read_bytes()).hexdigest()
    assert manifest["extra"]["osm_data_date"].startswith("2019-04")
    assert manifest["parameters"]["cell_size"] == 25.0
    assert manifest["extra"]["weights_used"] == pytest.approx(result.weights)


def test_transit_raw_is_walking_time_along_the_network(helsinki_run):
    result, _paths, out = helsinki_run
    fr = next(f for f in result.factors if f.factor.name == "transit")
    cr = fr.criteria[0]
    assert cr.count > 0 and cr.raw is not None
    with rasterio.open(out / "raw" / "transit_walk.tif") as src:
        units = src.units[0]
        raw = src.read(1)
    assert units == "min"
    # walking time is distance / (5 km/h): independent recomputation from the stop points
    osm = result.osm
    from gis.sources import match_tags
    from layers.measures import source_points

    geoms = osm.features.geometry.to_crs(result.grid.crs)[
        match_tags(osm.features, cr.criterion.tags)
    ]
    sx, sy = source_points(geoms, spacing=25.0)
    net = osm.network(result.grid.crs)
    meters = network_distance(result.grid, net, sx, sy)
    polys = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    meters[result.grid.rasterize(polys.to_numpy())] = 0.0  # inside a station area
    np.testing.assert_allclose(raw[result.inside], (meters / (5000 / 60))[result.inside], rtol=1e-5)


def test_map_lists_every_factor_and_escapes(helsinki_run):
    result, _paths, out = helsinki_run
    html = (out / "map.html").read_text(encoding="utf-8")
    for fr in result.factors:
        if fr.score is not None:
            assert fr.factor.title in html
    assert "Innovation-district suitability" in html


def test_cli_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["micro", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in [
        "--place", "--bbox", "--area-file", "--osm-file", "--cell-size", "--crs", "--center",
        "--weight", "--empty", "--no-constraints", "--exclude", "--top-percent", "--threshold",
        "--min-area", "--connectivity", "--out", "--overwrite", "--no-tiles", "--quiet",
    ]:  # fmt: skip
        assert option in text


# ---------------------------------------------------------------------------- bad input
def _fails(args, tmp_path, capsys, match):
    out = tmp_path / "out"
    code = main(["micro", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    return err


def test_missing_osm_file(tmp_path, capsys):
    _fails(["--osm-file", str(tmp_path / "none.osm")], tmp_path, capsys, "not found")


def test_unsupported_osm_file(tmp_path, capsys):
    bad = tmp_path / "x.shp"
    bad.write_bytes(b"\0")
    _fails(["--osm-file", str(bad)], tmp_path, capsys, "unsupported OSM file type")


@pytest.mark.parametrize("size", ["0.5", "5000", "nan"])
def test_cell_size_out_of_range(size, tmp_path, capsys):
    _fails(["--cell-size", size], tmp_path, capsys, "cell size")


@pytest.mark.parametrize(
    ("weight", "message"),
    [("university=-1", ">= 0"), ("nosuch=1", "unknown factor"), ("edge=nan", "finite")],
)
def test_invalid_weights(weight, message, tmp_path, capsys):
    _fails(["--weight", weight], tmp_path, capsys, message)


def test_all_zero_weights(tmp_path, capsys):
    args = []
    for name in FACTOR_NAMES:
        args += ["--weight", f"{name}=0"]
    _fails(args, tmp_path, capsys, "zero")


def test_output_folder_not_empty_is_left_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "notes.txt"
    keep.write_text("mine")
    code = main(["micro", "--out", str(out)])
    assert code == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert keep.read_text() == "mine"


def test_place_without_network_access(tmp_path, capsys, monkeypatch):
    import gis.settings

    monkeypatch.setattr(gis.settings, "cache_folder", tmp_path / "cache")
    err = _fails(["--place", "Haidian District, Beijing"], tmp_path, capsys, "could not")
    assert "--osm-file" in err


def test_place_not_found(tmp_path, capsys, monkeypatch):
    import osmnx as ox

    def not_found(query, **kwargs):
        raise ox._errors.InsufficientResponseError(
            f"Nominatim geocoder returned 0 results for query {query!r}."
        )

    monkeypatch.setattr(ox, "geocode_to_gdf", not_found)
    _fails(["--place", "Nowhereville 123"], tmp_path, capsys, "place was not found")


def test_area_without_street_network(tmp_path, capsys, helsinki_pbf):
    # a box in the sea south of the Helsinki extract: outside the file's bounds
    args = ["--osm-file", str(helsinki_pbf), "--bbox", "24.90,60.05,24.92,60.06"]
    _fails(args, tmp_path, capsys, "lies outside the OSM file Helsinki.osm.pbf (file bounds")


def test_two_areas_refused(tmp_path, capsys):
    args = ["--bbox", "24.93,60.16,24.95,60.18", "--place", "Helsinki"]
    _fails(args, tmp_path, capsys, "one study area")


def test_grid_over_memory_budget(tmp_path, capsys, monkeypatch):
    import gis.settings

    monkeypatch.setattr(gis.settings, "memory_budget", 1_000_000)
    _fails(["--cell-size", "2"], tmp_path, capsys, "memory budget")


# ---------------------------------------------------------------------------- shared extracts
@pytest.mark.parametrize(
    "name",
    [
        "beijing_zhongguancun_2017.osm",
        "shanghai_yangpu_tongji_2026.osm",
        "nanjing_xinjiekou_2021.osm",
    ],
)
def test_chinese_extracts_run_offline(name, tmp_path):
    path = shared_osm(name)
    config = MicroConfig(osm_file=str(path), cell_size=20.0, tiles=None)
    result, paths = run_micro(config, out=tmp_path / "out", command="test")
    assert result.grid.crs.to_epsg() in (32650, 32651)
    assert paths["suitability"].exists() and paths["candidates"].exists()
    table = result.coverage_table()
    assert {r["factor"] for r in table} == set(FACTOR_NAMES)
    # the university factor finds the campus in every extract (Tsinghua/PKU, Tongji, SEU)
    uni = next(r for r in table if r["factor"] == "university")
    assert uni["features"] >= 1 and uni["status"] == "ok"
    assert np.isfinite(result.suitability).sum() > 0
    assert len(result.candidates) >= 1


def test_empty_rule_drop_or_zero(helsinki_pbf):
    # culture made to look for a tag that Helsinki does not have
    culture = next(f for f in MICRO_FACTORS if f.name == "culture")
    crit = replace(culture.criteria[0], tags={"amenity": ["no_such_amenity"]})
    preset = tuple(
        replace(f, criteria=(crit,)) if f.name == "culture" else f for f in MICRO_FACTORS
    )
    data = load_osm_file(helsinki_pbf, tag_filters=all_tag_filters(preset))
    drop = compute_micro(data, MicroConfig(preset=preset, empty_rule="drop"))
    zero = compute_micro(data, MicroConfig(preset=preset, empty_rule="zero"))
    dropped = [f.factor.name for f in drop.factors if f.status == "drop"]
    assert dropped == ["culture"]
    row = next(r for r in drop.coverage_table() if r["factor"] == "culture")
    assert row["features"] == 0 and "no features matched" in row["note"]
    # the remaining weights are renormalised: each grows by 1 / (1 - 0.08)
    base = {f.name: f.weight for f in MICRO_FACTORS}
    assert drop.weights["university"] == pytest.approx(base["university"] / 0.92)
    for name in dropped:
        assert name not in drop.weights
        assert zero.weights[name] > 0
        fz = next(f for f in zero.factors if f.factor.name == name)
        assert fz.status == "zero" and float(np.nanmax(fz.score)) == 0.0
    assert sum(drop.weights.values()) == pytest.approx(1.0)


def test_compute_rejects_bad_config():
    with pytest.raises(InputError):
        MicroConfig(top_percent=0).validate()
    with pytest.raises(InputError):
        MicroConfig(connectivity=6).validate()
