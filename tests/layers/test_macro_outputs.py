"""Outputs of a macro run (CSV, GeoPackage, map, chart, manifest) and the command line."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pyogrio
import pytest

from gis.io import file_checksum
from layers.cli import macro as macro_cli
from layers.macro.run import INDICATORS, run_macro

FILES = {
    "tiers.csv",
    "tiers.gpkg",
    "links.gpkg",
    "methods.csv",
    "map.html",
    "project.qgz",
    "index_chart.png",
    "manifest.json",
}


@pytest.fixture(scope="module")
def paper_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("macro") / "paper"
    result = run_macro(out, boundaries="points", draws=50, tiles=None, command="test")
    return out, result


def test_files_and_tables(paper_out):
    out, result = paper_out
    assert {p.name for p in out.iterdir()} == FILES
    assert result.folder == out.resolve()
    tiers = pd.read_csv(out / "tiers.csv")
    assert len(tiers) == 14
    for col in (
        "unit",
        "unit_zh",
        "tier",
        "rank",
        "index",
        "agreement",
        "p_international",
        "p_national",
        "p_regional",
        "paper_tier",
    ):
        assert col in tiers.columns
    for i in INDICATORS:
        assert {i.column, f"n_{i.column}", f"w_{i.column}"} <= set(tiers.columns)
    assert (tiers["tier"] == tiers["paper_tier"]).all()
    assert tiers["w_rd_intensity_pct"].eq(0.1).all()
    methods = pd.read_csv(out / "methods.csv", keep_default_na=False)
    assert len(methods) == 100
    assert methods["reproduces_paper"].astype(str).eq("True").sum() == 14


def test_geopackages(paper_out):
    out, _ = paper_out
    # and the QGIS style of the layer in the layer_styles table
    assert pyogrio.list_layers(out / "tiers.gpkg").tolist() == [
        ["tiers", "Point"],
        ["layer_styles", None],
    ]
    units = pyogrio.read_dataframe(out / "tiers.gpkg", layer="tiers")
    assert units.crs.to_epsg() == 4326
    assert units.set_index("unit").loc["Hubei", "tier"] == "national"
    links = pyogrio.read_dataframe(out / "links.gpkg", layer="links")
    assert len(links) == 14 * 13 // 2
    assert set(links.geometry.geom_type) == {"LineString"}
    assert set(links["class"]) == {"strong", "weak"}
    assert set(links["type"]) <= {"hierarchical", "peer", "neighbourhood"}
    # each line runs from the source unit's point to the target's
    pts = units.set_index("unit").geometry
    first = links.iloc[0]
    assert first.geometry.coords[0] == pytest.approx(pts[first["source"]].coords[0])
    assert first.geometry.coords[-1] == pytest.approx(pts[first["target"]].coords[0])


def test_manifest_records_inputs_parameters_and_checksums(paper_out):
    out, _ = paper_out
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["command"] == "test"
    assert m["parameters"]["method"] == {
        "normalization": "minmax",
        "weighting": "equal",
        "composite": "weighted_sum",
        "breaks": "nested_jenks",
    }
    assert m["extra"]["reproduces_table2"] is True
    assert len(m["extra"]["combinations_reproducing_table2"]) == 14
    table1 = m["inputs"][0]
    assert table1["sha256"] == file_checksum(table1["path"])
    for entry in m["outputs"]:
        assert entry["sha256"] == file_checksum(out / entry["file"])
    assert {e["file"] for e in m["outputs"]} == FILES - {"manifest.json"}


def test_chart_and_map(paper_out):
    out, _ = paper_out
    assert (out / "index_chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "Yangtze River Delta" in page and "international" in page
    assert "Spillover links" in page and "R&amp;D intensity" in page
    assert page.count("L.circleMarker") == 14
    assert "tile.openstreetmap" not in page  # tiles=None: no web base layer


def test_map_escapes_html_in_unit_names(tmp_path):
    t = pd.DataFrame(
        {
            "unit": ["<script>alert(1)</script>", "A & B", 'C"D', "${alert(2)}`\\"],
            "lon": [100.0, 105.0, 110.0, 115.0],
            "lat": [30.0, 31.0, 32.0, 33.0],
            "talent": [1.0, 5.0, 3.0, 9.0],
            "cost_of_land": [4.0, 2.0, 6.0, 1.0],
        }
    )
    run_macro(
        tmp_path / "o",
        table=t,
        indicators={"talent": "benefit", "cost_of_land": "cost"},
        tiers=2,
        draws=10,
        tiles=None,
    )
    page = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A &amp; B" in page
    # folium puts popups and tooltips in JavaScript template literals: no ${...} may survive
    assert "${alert(2)}" not in page
    assert "&#36;{alert(2)}&#96;&#92;" in page


def test_cli_default_run_prints_reproduction(tmp_path, capsys):
    from layers.cli.main import main

    out = tmp_path / "run"
    code = main(
        ["macro", "--out", str(out), "--boundaries", "points", "--draws", "40", "--no-tiles"]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Table 2 of Zhang (2022) reproduced by the chosen method: yes" in text
    assert "Method combinations reproducing Table 2: 14 of 100" in text
    assert "Weight perturbation (Dirichlet, 40 draws" in text
    assert f"Outputs in {out.resolve()}" in text
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["command"].startswith("innosite macro --out")


def test_cli_options_reach_the_library(tmp_path, capsys):
    ahp = tmp_path / "ahp.csv"
    names = [i.column for i in INDICATORS]
    w = np.linspace(1, 2, len(names))
    pd.DataFrame(w[:, None] / w[None, :], index=names, columns=names).to_csv(ahp)
    code = macro_cli.main(
        [
            "--out",
            str(tmp_path / "o"),
            "--boundaries",
            "points",
            "--draws",
            "20",
            "--weights",
            "ahp",
            "--ahp",
            str(ahp),
            "--composite",
            "topsis",
            "--normalization",
            "vector",
            "--breaks",
            "fisher_jenks",
            "--tiers",
            "4",
            "--decay",
            "exponential",
            "--population-mass",
            "-q",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "o")
    m = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["method"]["weighting"] == "ahp"
    assert m["parameters"]["tiers"] == ["international", "national", "regional", "local"]
    assert m["parameters"]["links"]["mass"] == "sqrt(population * index)"
    assert m["extra"]["ahp"]["cr"] == pytest.approx(0.0, abs=1e-9)
    expected = dict(zip(names, w / w.sum(), strict=True))  # consistent matrix: exact weights
    assert m["extra"]["weights"] == pytest.approx(expected, abs=1e-6)


def test_cli_errors_are_messages(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("keep")
    assert macro_cli.main(["--out", str(tmp_path / "o")]) == 2
    assert "is not empty; pass --overwrite" in capsys.readouterr().err
    assert macro_cli.main(["--out", str(tmp_path / "p"), "--units", "BTH,Atlantis"]) == 2
    assert "unknown region 'Atlantis'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_every_option_has_help():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    macro_cli.add_parser(sub)
    p = sub.choices["macro"]
    assert p.get_default("func") is macro_cli.run
    options = [a for a in p._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 35
    assert all(a.help for a in options), [a.dest for a in options if not a.help]


def test_styled_tiers_are_read_back_by_meso(paper_out):
    """tiers.gpkg holds its QGIS style too; meso reads the units (warnings are errors)."""
    from layers.meso.data import load_macro_centres

    out, _ = paper_out
    centres, _polys, info = load_macro_centres(out / "tiers.gpkg")
    assert len(centres) == 14 and info["source"] == "macro run"
