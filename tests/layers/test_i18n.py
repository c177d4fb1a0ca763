"""Outputs in English and Chinese: the table, the option, the runs, the fonts."""

from __future__ import annotations

import base64
import io
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from shapely.geometry import box

from gis.errors import InputError
from gis.grid import Grid
from layers.i18n import (
    CJK_FONT_FAMILY,
    LANGS,
    TEXTS,
    cjk_characters,
    cjk_font_path,
    default_lang,
    font_face_css,
    localise,
    placeholders,
    text,
    tier_label,
)
from layers.macro.options import MacroOptions, macro_document
from layers.micro.factors import MICRO_FACTORS
from layers.micro.run import MicroConfig, config_dict, run_micro
from layers.options import MAP_OPTIONS
from layers.scenario.build import parse_scenario
from layers.scenario.manifest import raster_document

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")

#: The paper's terms (Zhang 2022) that the Chinese outputs must use.
PAPER_TERMS = {
    "factor.university": "高校集中区",
    "factor.edge": "中心城区边缘",
    "factor.low_density": "低密度建筑",
    "factor.hubs": "交通枢纽",
    "tier.international": "国际科技创新中心",
    "tier.national": "国家科技创新中心",
    "tier.regional": "区域科技创新中心",
    "tier.local": "地方科技创新中心",
}


# ---------------------------------------------------------------------------- the table
def test_every_key_has_every_language_with_the_same_placeholders():
    assert len(TEXTS) > 150
    for key, texts in TEXTS.items():
        assert set(texts) == set(LANGS), key
        assert all(t.strip() for t in texts.values()), key
        # callers fill the English placeholders; Chinese may leave one out, never add one
        assert placeholders(texts["zh"]) <= placeholders(texts["en"]), key
        assert len(placeholders(texts["en"]) - placeholders(texts["zh"])) <= 1, key
        # every Chinese text is Chinese (a few are symbols or names that read the same)
        if key not in ("macro.probability",):
            assert HAN.search(texts["zh"]), (key, texts["zh"])
        assert not HAN.search(texts["en"]), key


def test_localise_only_translates_english_texts_with_one_translation():
    by_english: dict[str, set[str]] = {}
    for texts in TEXTS.values():
        by_english.setdefault(texts["en"], set()).add(texts["zh"])
    for english, chinese in by_english.items():
        if "{" in english:
            continue
        expected = next(iter(chinese)) if len(chinese) == 1 else english
        assert localise(english, "zh") == expected
    assert localise("national", "zh") == "national"  # a scale (全国) and a tier


def test_the_paper_terms_are_the_chinese_names_of_factors_and_tiers():
    for key, term in PAPER_TERMS.items():
        assert text(key, "zh") == term
    assert tier_label("national", "zh") == "国家科技创新中心"
    assert tier_label("national", "en") == "national"
    assert tier_label("core", "zh") == "core"  # a user's tier name stays


def test_every_factor_title_and_criterion_of_the_presets_is_translated():
    from layers.meso.factors import MESO_FACTORS

    for factor in (*MICRO_FACTORS, *MESO_FACTORS):
        assert localise(factor.title, "en") == factor.title
        assert HAN.search(localise(factor.title, "zh")), factor.title
        for criterion in factor.criteria:
            assert HAN.search(localise(criterion.description, "zh")), criterion.description


def test_text_fills_placeholders_and_refuses_unknown_languages():
    assert text("report.cell_size_value", "zh", size=25) == "25 米"
    with pytest.raises(InputError, match="lang must be one of en, zh; got 'fr'"):
        text("report.weights", "fr")
    assert localise("A title of my own", "zh") == "A title of my own"


# ---------------------------------------------------------------------------- the option
@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.Big5"}, "zh"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "fr_FR.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_MESSAGES": "zh_CN", "LANG": "C"}, "zh"),
        ({}, "en"),
    ],
)
def test_default_language_follows_the_locale(env, lang):
    assert default_lang(env) == lang


def test_configurations_take_their_default_language_from_the_locale(monkeypatch):
    from layers.meso.run import MesoConfig
    from layers.national.run import NationalConfig

    assert MicroConfig().lang == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert MicroConfig().lang == "zh"
    assert MesoConfig().lang == "zh"
    assert NationalConfig().lang == "zh"
    assert NationalConfig().meso_config().lang == "zh"
    assert MacroOptions().lang == "zh"
    assert MicroConfig(lang="en").lang == "en"


def test_lang_is_declared_once_with_its_flag_key_and_choices():
    spec = MAP_OPTIONS["lang"]
    assert spec.flags == ("--lang",)
    assert spec.key == "output.lang"
    assert spec.choices() == ["en", "zh"]


@pytest.mark.parametrize("command", ["micro", "meso", "national", "macro"])
def test_every_command_takes_lang(command):
    from layers.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args([command, "--lang", "zh"])
    assert args.lang == "zh"
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--lang", "fr"])


def test_a_bad_lang_on_the_command_line_is_one_clear_line():
    proc = subprocess.run(
        [sys.executable, "-m", "layers.cli", "micro", "--lang", "fr"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "invalid choice: 'fr'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("scale", ["micro", "meso", "national", "macro"])
def test_scenario_key_output_lang(scale):
    config = parse_scenario(f'scale = "{scale}"\n[output]\nlang = "zh"\n', name="s.toml").config
    lang = config.kwargs["lang"] if scale == "macro" else config.lang
    assert lang == "zh"
    with pytest.raises(InputError, match=r"output.lang.*must be one of 'en', 'zh'; got 'fr'"):
        parse_scenario(f'scale = "{scale}"\n[output]\nlang = "fr"\n', name="s.toml")


def test_scenario_documents_of_runs_keep_lang():
    doc = raster_document(config_dict(MicroConfig(lang="zh")), "micro")
    assert doc["output"]["lang"] == "zh"
    assert macro_document(MacroOptions(lang="zh"))["output"]["lang"] == "zh"
    assert macro_document(MacroOptions(lang="en"))["output"]["lang"] == "en"


# ---------------------------------------------------------------------------- a Chinese run
@pytest.fixture(scope="module")
def zh_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh") / "run"
    result, paths = run_micro(MicroConfig(tiles=None, lang="zh"), out=out, command="test")
    return result, paths


def test_chinese_report_uses_the_paper_terms(zh_run):
    _, paths = zh_run
    page = paths["report"].read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    for term in ("高校集中区", "中心城区边缘", "低密度建筑", "候选街区", "权重", "因子数据覆盖"):
        assert term in page, term
    assert "张文忠" in page
    # no English heading is left
    for heading in ("What to open", "Weights", "Factor coverage", "Parameters"):
        assert f"<h2>{heading}</h2>" not in page
    # the page carries its Chinese glyphs: an embedded font holding every CJK character
    face = re.search(r"src:url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", page)
    assert face is not None
    font = TTFont(io.BytesIO(base64.b64decode(face.group(1))))
    cmap = font.getBestCmap()
    visible = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    assert {ord(c) for c in cjk_characters(visible)} <= set(cmap)


def test_chinese_map_qgis_project_and_styles(zh_run):
    _, paths = zh_run
    page = paths["map"].read_text(encoding="utf-8")
    assert "创新街区选址适宜性" in page  # the title
    assert CJK_FONT_FAMILY in page
    for name in (
        "综合适宜性",
        "候选地块",
        "适宜性（0 = 最低，1 = 最高）",
        "高校集中区（平均得分）",
    ):
        escaped = name.encode("unicode_escape").decode("ascii")
        assert name in page or escaped in page, name
    with zipfile.ZipFile(paths["project"]) as z:
        project = z.read("project.qgs").decode("utf-8")
    for name in ("候选地块", "适宜性", "因子得分", "原始度量", "高校集中区", "中心城区边缘"):
        assert f'name="{name}"' in project, name
    con = sqlite3.connect(paths["candidates"])
    try:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles").fetchone()
    finally:
        con.close()
    assert 'field="rank" name="排名"' in qml
    assert 'field="edge" name="中心城区边缘（平均得分）"' in qml


def test_chinese_run_summary_lines_up(zh_run):
    from layers.outputs.text import micro_summary, width

    result, paths = zh_run
    summary = micro_summary(result, paths, lang="zh")
    assert "因子数据覆盖" in summary and "成果：" in summary
    lines = summary.splitlines()
    head = lines.index("因子数据覆盖（研究区内找到的要素）：")
    rule = lines[head + 2]
    assert width(lines[head + 1].rstrip()) <= len(rule) + 2


def test_manifest_replay_keeps_lang(zh_run):
    _, paths = zh_run
    manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
    assert manifest["parameters"]["lang"] == "zh"
    replay = parse_scenario(paths["manifest"].read_text(encoding="utf-8"), fmt="json",
                            name="manifest.json")  # fmt: skip
    assert replay.config.lang == "zh"


def test_english_report_has_no_embedded_font(tmp_path):
    from layers.outputs.report_html import report_html

    class Config:
        cell_size, threshold, top_percent, min_area_ha, connectivity = 25.0, None, 10.0, 2.0, 8
        empty_rule, aggregation, constraints, exclude_file = "drop", "wlc", True, None

    grid = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=32635)
    result = SimpleNamespace(
        grid=grid, inside=np.ones(grid.shape, bool), suitability=np.full(grid.shape, 0.5),
        factors=[], weights={}, candidates=gpd.GeoDataFrame({"rank": []}, geometry=[], crs=32635),
    )  # fmt: skip
    page = report_html(result, Config(), lang="en")
    assert "@font-face" not in page and '<html lang="en">' in page
    zh = report_html(result, Config(), lang="zh")
    assert "@font-face" in zh and "科技创新中心选址适宜性（微观）" in zh


# ---------------------------------------------------------------------------- fonts
def _font_cmap() -> set[int]:
    return set(TTFont(cjk_font_path()).getBestCmap())


def _shipped_names() -> set[str]:
    """Every Chinese name in the package's tables (units, regions, centres)."""
    import pandas as pd

    from layers.china.regions import METRO_REGIONS
    from layers.macro.tables import REGIONS

    names: set[str] = set()
    for csv in (ROOT / "layers" / "data").glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str)
        for column in frame.columns:
            if column.endswith("_zh"):
                names |= set(frame[column].dropna())
    names |= {r.name_zh for r in METRO_REGIONS.values()} | {r.name_zh for r in REGIONS.values()}
    return names


def test_bundled_font_covers_every_text_and_shipped_name():
    cmap = _font_cmap()
    chars = set()
    for texts in TEXTS.values():
        chars |= set(cjk_characters(texts["zh"]))
    names = _shipped_names()
    assert len(names) > 30
    for name in names:
        chars |= set(cjk_characters(name))
    missing = sorted(c for c in chars if ord(c) not in cmap)
    assert not missing, missing
    # and the common Chinese characters (GB 2312) as a whole
    assert sum(1 for cp in cmap if 0x4E00 <= cp <= 0x9FFF) >= 6763


def test_font_licence_ships_with_the_font():
    licence = cjk_font_path().with_suffix(".txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert TTFont(cjk_font_path())["name"].getDebugName(1) == CJK_FONT_FAMILY


def test_font_face_holds_exactly_the_page_characters():
    assert font_face_css("plain English only") == ""
    css = font_face_css("<p>北京 \\u4e0a\\u6d77</p>")
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", css).group(1)
    cmap = set(TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap())
    assert {ord(c) for c in "北京上海"} <= cmap
    assert ord("广") not in cmap


def test_chinese_chart_has_no_missing_glyphs(tmp_path, monkeypatch):
    """Rendered with the bundled font only (no system CJK font): any missing glyph warns,
    and warnings are errors."""
    import warnings

    from PIL import Image

    import layers.macro.outputs as outputs
    from layers.i18n import chart_font_families
    from layers.macro.run import run_macro

    monkeypatch.setattr(outputs, "chart_font_families", lambda: chart_font_families(system=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run_macro(tmp_path / "m", tiles=None, lang="zh")
    assert chart_font_families(system=False)[-1] == CJK_FONT_FAMILY
    with Image.open(result.folder / "index_chart.png") as png:
        assert png.size[0] > 500
    units = set(result.units["unit_zh"])
    assert {"京津冀", "长三角", "粤港澳"} <= units
    # the terminal report, the QGIS project and the styles speak Chinese too
    from layers.macro.outputs import format_report

    report = format_report(result)
    assert "所选方法是否复现张文忠（2022）表 2：是" in report
    assert "京津冀" in report and "国际科技创新中心" in report
    assert "Tiers of" in format_report(result, lang="en")
    with zipfile.ZipFile(result.folder / "project.qgz") as z:
        project = z.read("project.qgs").decode("utf-8")
    assert 'name="各层级单元"' in project and 'name="溢出联系"' in project
    con = sqlite3.connect(result.folder / "tiers.gpkg")
    try:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles").fetchone()
    finally:
        con.close()
    assert 'value="international" label="国际科技创新中心"' in qml
    assert 'field="tier" name="层级"' in qml
    con = sqlite3.connect(result.folder / "links.gpkg")
    try:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles").fetchone()
    finally:
        con.close()
    assert 'value="strong" label="强"' in qml and 'field="strength" name="联系强度"' in qml


def test_chart_font_list_needs_the_bundled_font_to_render_chinese(tmp_path):
    """The check above can fail: without a CJK font matplotlib warns of missing glyphs."""
    import warnings

    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        fig.text(0.5, 0.5, "长三角")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(tmp_path / "x.png")
    assert any("missing from font" in str(w.message) for w in caught)


# ---------------------------------------------------------------------------- meso and national
def _english_phrases() -> set[str]:
    """The English phrases of the table: the words between placeholders, two words or more."""
    phrases = set()
    for texts in TEXTS.values():
        for part in re.split(r"\{[^}]*\}", texts["en"]):
            part = part.strip(" :;,.()-–")
            if re.search(r"[A-Za-z]+ +[A-Za-z]+", part):
                phrases.add(part)
    return phrases


def _without_data_text(summary: str, result) -> str:
    """The summary without what the data gave in English (layer notes, place names)."""
    rows = getattr(result, "layers", None) or result.layer_table()
    given = [r["note"] if len(r["note"]) <= 90 else r["note"][:87] + "..." for r in rows]
    given += [str(result.data.region.get(k)) for k in ("name", "geometry_source")]
    for value in sorted(given, key=len, reverse=True):
        summary = summary.replace(value, "")
    return summary


@pytest.fixture(scope="module")
def zh_meso(tmp_path_factory):
    from layers.meso.run import MesoConfig, run_meso

    out = tmp_path_factory.mktemp("zh-meso") / "run"
    return run_meso(MesoConfig(cell_size=5000, tiles=None, lang="zh"), out=out)


def test_a_chinese_meso_summary_has_no_english_sentence_of_the_table(zh_meso):
    from layers.meso.outputs import meso_summary

    result, paths = zh_meso
    zh = meso_summary(result, paths, lang="zh")
    en = meso_summary(result, paths, lang="en")
    phrases = _english_phrases()
    assert [p for p in phrases if p in _without_data_text(zh, result)] == []
    # the same check finds the English of the English summary
    for phrase in ("Candidate zones", "cells in the region", "macro centre", "nearest city"):
        assert phrase in phrases and phrase in en
    for word in (
        "区域：",
        "网格：",
        "图层（是否可用及所用数据）：",
        "候选区域：",
        "成果：",
        "交通枢纽 (hubs)",
        "已使用",
        "不可用",
        "所属科技创新中心",
        "国家科技创新中心",
    ):
        assert word in zh, word  # fmt: skip
    assert re.search(r"\nhubs +used +0\.", en)  # English: the names alone


def test_chinese_meso_map_notes_and_project(zh_meso):
    from layers.meso.outputs import map_notes
    from layers.meso.run import water_info

    result, paths = zh_meso
    water = water_info(result)
    share = water["share"] if water else None
    notes = map_notes(result, lang="zh", water_share=share)
    assert notes[0].startswith("区域：") and notes[-1].startswith("数据：GeoNames")
    if water:
        assert notes[-2].startswith("水域：") and "Natural Earth（公有领域）" in notes[-1]
    assert "交通枢纽：已使用（权重 " in notes[1]
    assert any("多元化的产业体系：不可用；说明：needs OpenStreetMap" in n for n in notes)
    english = map_notes(result, lang="en")
    assert english[-1] == (
        "Data: GeoNames (CC BY 4.0), airportsdata (MIT); centres after Zhang (2022)"
    )
    assert "Transport hubs: used (weight " in english[1]
    page = paths["map"].read_text(encoding="utf-8")
    for note in notes:
        escaped = note.encode("unicode_escape").decode("ascii")
        assert note in page or escaped in page, note
    assert "used (weight" not in page


def test_a_chinese_national_summary_has_no_english_sentence_of_the_table(tmp_path):
    from layers.national.run import NationalConfig, run_national, summary

    area = tmp_path / "wuhan.gpkg"
    gpd.GeoDataFrame(geometry=[box(113.8, 30.2, 114.8, 30.9)], crs=4326).to_file(area)
    config = NationalConfig(area_file=str(area), cell_size=5000, min_area_ha=1000, tiles=None,
                            lang="zh")  # fmt: skip
    result = run_national(config, out=tmp_path / "run")
    zh = summary(result, lang="zh")
    assert [p for p in _english_phrases() if p in _without_data_text(zh, result)] == []
    for word in ("范围：", "计算引擎：windows", "图层：", "平方公里", "候选区域：", "成果："):
        assert word in zh, word
    en = summary(result, lang="en")
    assert "Engine: windows" in en and "Candidate zones:" in en and "km2" in en
    page = result.paths["map"].read_text(encoding="utf-8")
    for note in ("范围：", "网格：", "数据：GeoNames"):
        escaped = note.encode("unicode_escape").decode("ascii")
        assert note in page or escaped in page, note


def test_decision_layer_names_in_both_languages():
    from layers.decision import decision_map_files, decision_map_layers

    std = np.array([[0.0, 0.5], [np.nan, 0.25]])
    sens = SimpleNamespace(draws=12, std=std, probability=np.ones((2, 2)))
    result = SimpleNamespace(decision=SimpleNamespace(sensitivity=sens))
    top = np.percentile([0.0, 0.5, 0.25], 99)  # the stretch: 99th percentile of the spread
    assert list(decision_map_layers(result)) == [
        "Probability of selection (12 weight draws)",
        f"Score spread (std, 0–{top:.3f} stretched)",
    ]
    assert list(decision_map_layers(result, lang="zh")) == [
        "入选概率（12 次权重抽样）",
        f"得分离散度（标准差，按 0–{top:.3f} 拉伸显示）",
    ]
    assert decision_map_files(result, lang="zh") == {
        "入选概率（12 次权重抽样）": "sensitivity/selection_probability.tif",
        "得分离散度（标准差）": "sensitivity/std.tif",
    }
    assert decision_map_layers(SimpleNamespace(decision=None), lang="zh") == {}


def test_layer_status_words_in_both_languages():
    from layers.meso.outputs import layers_text, status_word

    assert [status_word(s) for s in ("ok", "unavailable", "drop", "zero", "odd")] == [
        "used", "not available", "empty -> dropped", "empty -> 0", "odd"
    ]  # fmt: skip
    rows = [{"layer": "hubs", "title": "Transport hubs", "status": "drop", "weight": 0.0,
             "note": "no hub"}, {"layer": "mine", "title": "My layer", "status": "ok",
             "weight": 1.0, "note": ""}]  # fmt: skip
    zh = layers_text(rows, lang="zh").splitlines()
    assert zh[0].split() == ["图层", "状态", "权重", "数据来源", "/", "说明"]
    assert zh[2].split() == ["交通枢纽", "(hubs)", "无要素", "->", "不参与", "0.000", "no", "hub"]
    assert zh[3].split() == ["mine", "已使用", "1.000"]  # a layer of one's own keeps its name
