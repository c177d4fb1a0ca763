"""HTML suitability maps: colour tables, PNG overlays, georeferencing and escaping."""

from __future__ import annotations

import base64
import html
import json
import math
import re
import struct
import zlib

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely import box

from gis import maps
from gis.errors import InputError, OutputExistsError
from gis.grid import Grid

INJECTION = "<img src=x onerror=alert(1)>"


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGBA, unfiltered, non-interlaced PNG into an (h, w, 4) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks.append((tag, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, interlace) == (8, 6, 0)
    raw = zlib.decompress(b"".join(body for tag, body in chunks if tag == b"IDAT"))
    rows = np.frombuffer(raw, dtype="uint8").reshape(height, 1 + 4 * width)
    assert (rows[:, 0] == 0).all()  # filter type "None" on every row
    return rows[:, 1:].reshape(height, width, 4)


@pytest.fixture(scope="module")
def grid() -> Grid:
    # 160 km west of the UTM 35 central meridian: grid north is rotated ~2.5° from true north
    return Grid.from_bounds((340000, 6670000, 342000, 6672000), cell_size=20, crs=32635)


def to_merc(lat: float, lon: float) -> tuple[float, float]:
    return Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)


# ---------------------------------------------------------------------- colour tables
def test_colour_tables():
    assert set(maps.COLORMAPS) >= {"viridis", "magma"}
    for name, table in maps.COLORMAPS.items():
        assert table.shape == (256, 4), name
        assert table.dtype == np.uint8
        assert (table[:, 3] == 255).all()
        assert not table.flags.writeable
        lightness = table[:, :3].astype(float) @ [0.299, 0.587, 0.114]
        assert lightness[-1] > lightness[0] + 100  # dark to light
    assert maps.colour_table("magma")[0].tolist() == [0, 0, 4, 255]
    assert maps.colour_table("magma")[255].tolist() == [252, 253, 191, 255]
    with pytest.raises(InputError, match="viridis"):
        maps.colour_table("jet")


def test_encode_png_round_trips():
    rgba = np.random.default_rng(3).integers(0, 256, size=(7, 11, 4), dtype="uint8")
    np.testing.assert_array_equal(decode_png(maps._encode_png(rgba)), rgba)


# ---------------------------------------------------------------------- overlays
def test_overlay_png_size_and_transparency(grid):
    png, bounds = maps.raster_overlay_png(np.ones(grid.shape), grid)
    img = decode_png(png)
    h, w = img.shape[:2]
    (south, west), (north, east) = bounds
    (x0, y0), (x1, y1) = to_merc(south, west), to_merc(north, east)
    assert (x1 - x0) / w == pytest.approx((y1 - y0) / h, rel=1e-6)  # square pixels
    # a 20 m cell at 60°N is ~40 Web Mercator metres, so about one pixel per cell
    assert (x1 - x0) / w == pytest.approx(2 * grid.cell_size, rel=0.05)
    assert 100 < w < 110 and 100 < h < 110
    # the rotated grid does not reach the image corners: they are transparent
    for corner in (img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]):
        assert corner[3] == 0
    assert img[h // 2, w // 2].tolist() == [253, 231, 37, 255]  # top of viridis
    assert (img[..., 3] == 255).mean() > 0.9


def test_overlay_nan_is_transparent_and_values_clip(grid):
    a = np.full(grid.shape, 2.0)  # above vmax: clipped to the top colour
    a[:, : grid.width // 2] = np.nan
    a[40:60, 70:90] = -5.0  # below vmin: bottom colour
    img = decode_png(maps.raster_overlay_png(a, grid, cmap="magma")[0])
    h, w = img.shape[:2]
    assert (img[:, : w // 3, 3] == 0).all()
    assert (img[:, : w // 3, :3] == 0).all()
    assert img[h // 10, 3 * w // 4].tolist() == [252, 253, 191, 255]
    assert img[h // 2, 8 * w // 10].tolist() == [0, 0, 4, 255]


def test_overlay_bounds_match_grid_corners(grid):
    _, bounds = maps.raster_overlay_png(np.zeros(grid.shape), grid)
    left, bottom, right, top = grid.bounds
    lon, lat = Transformer.from_crs(grid.crs, 4326, always_xy=True).transform(
        [left, right, right, left], [bottom, bottom, top, top]
    )
    lat_tol = grid.cell_size / 111_000
    lon_tol = grid.cell_size / (111_000 * math.cos(math.radians(min(lat))))
    (south, west), (north, east) = bounds
    assert south == pytest.approx(min(lat), abs=lat_tol)
    assert north == pytest.approx(max(lat), abs=lat_tol)
    assert west == pytest.approx(min(lon), abs=lon_tol)
    assert east == pytest.approx(max(lon), abs=lon_tol)


def test_overlay_places_values_where_they_are(grid):
    a = np.zeros(grid.shape)
    a[20:23, 70:73] = 1.0
    png, bounds = maps.raster_overlay_png(a, grid)
    img = decode_png(png)
    hot_rows, hot_cols = np.nonzero((img[..., :3] == [253, 231, 37]).all(axis=-1))
    assert 4 <= hot_rows.size <= 16
    (south, west), (north, east) = bounds
    (x0, _), (x1, y1) = to_merc(south, west), to_merc(north, east)
    res = (x1 - x0) / img.shape[1]
    x_img = x0 + (hot_cols.mean() + 0.5) * res
    y_img = y1 - (hot_rows.mean() + 0.5) * res
    xs, ys = grid.centers()
    x_true, y_true = Transformer.from_crs(grid.crs, 3857, always_xy=True).transform(xs[71], ys[21])
    assert math.hypot(x_img - x_true, y_img - y_true) < res


def test_overlay_max_size_and_bilinear(grid):
    a = np.linspace(0, 1, grid.size).reshape(grid.shape)
    img = decode_png(maps.raster_overlay_png(a, grid, max_size=32, resampling="bilinear")[0])
    assert max(img.shape[:2]) == 32
    assert (img[..., 3] == 255).mean() > 0.8


def test_overlay_rejects_bad_input(grid):
    with pytest.raises(InputError, match="shape"):
        maps.raster_overlay_png(np.zeros((3, 3)), grid)
    with pytest.raises(InputError, match="vmin"):
        maps.raster_overlay_png(np.zeros(grid.shape), grid, vmin=1.0, vmax=1.0)
    with pytest.raises(InputError, match="colour map"):
        maps.raster_overlay_png(np.zeros(grid.shape), grid, cmap="rainbow")
    with pytest.raises(InputError, match="resampling"):
        maps.raster_overlay_png(np.zeros(grid.shape), grid, resampling="cubic")


# ---------------------------------------------------------------------- the map page
def _tojson(text: str) -> str:
    """How folium's templates write a string into the page."""
    out = json.dumps(text)
    for ch, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        out = out.replace(ch, code)
    return out


def _js_decoded(page: str) -> str:
    """The page with JSON string escapes resolved, i.e. what scripts hand to the DOM."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def _overlays(page: str) -> dict[str, str]:
    block = page.split("overlays :", 1)[1].split("}", 1)[0]
    return dict(re.findall(r'^\s*("(?:[^"\\]|\\.)*") : (\w+),', block, flags=re.M))


@pytest.fixture(scope="module")
def candidates(grid) -> gpd.GeoDataFrame:
    left, bottom, *_ = grid.bounds
    return gpd.GeoDataFrame(
        {
            "rank": [1, 2],
            "name": [INJECTION, "Tapiola & Otaniemi"],
            "score": [np.float32(0.91234567), 0.5],
            "area_ha": [12, 7],
        },
        geometry=[
            box(left + 100, bottom + 100, left + 500, bottom + 400),
            box(left + 1000, bottom + 1200, left + 1400, bottom + 1500),
        ],
        crs=grid.crs,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory, grid, candidates) -> str:
    rng = np.random.default_rng(5)
    composite = rng.random(grid.shape)
    composite[:5] = np.nan
    layers = {"Transit access": rng.random(grid.shape), "Green & parks": rng.random(grid.shape)}
    before = candidates.copy()
    path = tmp_path_factory.mktemp("map") / "suitability.html"
    out = maps.suitability_map(
        path,
        grid,
        composite=composite,
        layers=layers,
        candidates=candidates,
        title="<b>Espoo</b> & co",
        notes=["Data © OpenStreetMap contributors (ODbL)", "<i>draft</i>"],
    )
    assert out == path
    assert [p.name for p in path.parent.iterdir()] == ["suitability.html"]
    assert candidates.equals(before)
    return path.read_text(encoding="utf-8")


def test_map_lists_each_layer_once(page):
    overlays = _overlays(page)
    names = ["Composite suitability", "Transit access", "Green & parks", "Candidate sites"]
    assert list(overlays) == [_tojson(html.escape(n)) for n in names]
    for key in overlays:
        assert page.count(key) == 1
    assert _js_decoded(next(iter(overlays))) == '"Composite suitability"'


def test_map_shows_only_the_composite_by_default(page):
    variables = list(_overlays(page).values())
    composite, *factors, sites = variables
    assert re.search(rf"\b{composite}\.addTo\(", page)
    assert re.search(rf"\b{sites}\.addTo\(", page)
    for var in factors:
        assert f"var {var} = L.imageOverlay(" in page
        assert not re.search(rf"\b{var}\.addTo\(", page)


def test_map_embeds_one_png_per_overlay(page, grid):
    urls = re.findall(r'"data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(urls) == 3
    images = [decode_png(base64.b64decode(u)) for u in urls]
    assert len({img.shape for img in images}) == 1
    assert images[0].shape[0] > grid.height * 0.9
    assert (images[0][..., 3] == 0).any() and (images[0][..., 3] == 255).any()


def test_map_escapes_every_data_string(page):
    assert "<img src=x" not in page
    assert "\\u003cimg" not in page  # an unescaped string would reach the DOM as markup
    decoded = _js_decoded(page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in decoded
    assert "<img src=x" not in decoded
    assert "Tapiola &amp; Otaniemi" in decoded
    assert "&lt;b&gt;Espoo&lt;/b&gt; &amp; co" in page
    assert "<b>Espoo</b>" not in page
    assert "&lt;i&gt;draft&lt;/i&gt;" in page
    assert "© OpenStreetMap contributors" in page


def test_map_candidate_tooltip_popup_and_legend(page):
    assert 'let fields = ["rank"];' in page
    assert 'let fields = ["rank", "name", "score", "area_ha"];' in page
    assert '"score": 0.9123' in page
    assert "Suitability (0 = least, 1 = most)" in page
    assert "L.control.layers(" in page and '"collapsed": false' in page
    assert "tile.openstreetmap.org" in page


def test_map_without_base_layer_and_chosen_fields(tmp_path, grid, candidates):
    path = maps.suitability_map(
        tmp_path / "m.html",
        grid,
        composite=np.zeros(grid.shape),
        layers={},
        candidates=candidates.drop(columns="rank"),
        candidate_fields=["name"],
        tiles=None,
        assets="cdn",  # linked libraries: the page's own code is all that is searched
    )
    page = path.read_text(encoding="utf-8")
    assert "tileLayer" not in page
    assert page.split("base_layers :", 1)[1].split("}", 1)[0].strip() == "{"
    assert 'let fields = ["name"];' in page
    assert '"rank": 2' in page  # row order stands in for a missing rank column
    assert list(_overlays(page)) == ['"Composite suitability"', '"Candidate sites"']


def test_map_with_empty_candidates(tmp_path, grid, candidates):
    path = maps.suitability_map(
        tmp_path / "m.html", grid, composite=np.zeros(grid.shape), layers={},
        candidates=candidates.iloc[:0], tiles=None,
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    assert '"features": []' in page
    assert list(_overlays(page))[-1] == '"Candidate sites"'


def test_map_refuses_bad_input_and_existing_file(tmp_path, grid, candidates):
    args = {"composite": np.zeros(grid.shape), "layers": {}, "tiles": None}
    with pytest.raises(InputError, match=r"\['height'\] not found"):
        maps.suitability_map(tmp_path / "a.html", grid, **args, candidates=candidates,
                             candidate_fields=["height"])  # fmt: skip
    with pytest.raises(InputError, match="no CRS"):
        maps.suitability_map(tmp_path / "a.html", grid, **args,
                             candidates=candidates.set_crs(None, allow_override=True))  # fmt: skip
    with pytest.raises(InputError, match="shape"):
        maps.suitability_map(tmp_path / "a.html", grid, composite=np.zeros((2, 2)), layers={})
    with pytest.raises(InputError, match="unique"):
        maps.suitability_map(tmp_path / "a.html", grid, composite=np.zeros(grid.shape),
                             layers={"Composite suitability": np.zeros(grid.shape)})  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "a.html"
    existing.write_text("mine")
    with pytest.raises(OutputExistsError):
        maps.suitability_map(existing, grid, **args)
    assert existing.read_text() == "mine"
    maps.suitability_map(existing, grid, **args, overwrite=True)
    assert "L.imageOverlay(" in existing.read_text(encoding="utf-8")


def test_map_words_come_from_the_caller(tmp_path):
    """gis knows no language: the caller names the layers, legend, tooltip and popup rows."""
    from gis.maps import MAP_LABELS

    g = Grid.from_bounds((500000, 6670000, 500200, 6670200), cell_size=10, crs=32635)
    values = np.linspace(0, 1, g.size).reshape(g.shape)
    cands = gpd.GeoDataFrame(
        {"rank": [1], "mean_score": [0.9], "ok": [True]},
        geometry=[box(500050, 6670050, 500100, 6670100)], crs=32635,
    )  # fmt: skip
    labels = {"composite": "Gesamteignung", "legend": "Eignung", "candidates": "Standorte",
              "rank": "Rang", "yes": "ja", "no": "nein"}  # fmt: skip
    path = maps.suitability_map(
        tmp_path / "m.html", g, composite=values, layers={"A": values}, candidates=cands,
        labels=labels, field_aliases={"mean_score": "Mittel"}, tiles=None,
        page_css=lambda page: f"/* {page.count('Gesamteignung')} */",
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    for word in ("Gesamteignung", "Eignung", "Standorte", "Rang", "Mittel", "ja"):
        assert word in page, word
    assert "Composite suitability" not in page and "Candidate sites" not in page
    assert "<style>/* 1 */</style></head>" in page  # the CSS saw the finished page
    assert set(MAP_LABELS) == set(labels)
    with pytest.raises(InputError, match="unknown map labels"):
        maps.suitability_map(tmp_path / "n.html", g, composite=values, layers={}, labels={"x": "y"})
