"""Interactive HTML maps of suitability rasters and candidate sites (Leaflet via folium).

Rasters are reprojected to Web Mercator, coloured with a 256-entry colour table and
embedded as PNG images, so the map file is self-contained apart from the Leaflet
library and, if chosen, the base-map tiles. Every text shown on the map that comes
from data (layer names, field names, OpenStreetMap names) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import math
import os
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gis.errors import InputError
from gis.grid import Grid
from gis.io import atomic_file, check_output_file

__all__ = [
    "COLORMAPS",
    "COLORMAP_ANCHORS",
    "MAP_ASSETS",
    "MAP_LABELS",
    "add_page_css",
    "colour_table",
    "hex_colours",
    "raster_overlay_png",
    "raster_png",
    "suitability_map",
]

#: Where a map's JavaScript and CSS libraries come from: ``"cdn"`` links them from
#: public CDNs (small file, needs internet); ``"inline"`` embeds local copies from
#: installed packages (see :mod:`gis.assets`), so the map works without internet.
MAP_ASSETS: tuple[str, ...] = ("cdn", "inline")

#: The words a suitability map writes itself, by role; callers give their own
#: (another language) through ``labels`` of :func:`suitability_map`.
MAP_LABELS: dict[str, str] = {
    "composite": "Composite suitability",
    "legend": "Suitability (0 = least, 1 = most)",
    "candidates": "Candidate sites",
    "rank": "Rank",
    "yes": "yes",
    "no": "no",
}

#: Anchor colours of the perceptually uniform colour scales, evenly spaced from 0 to 1.
COLORMAP_ANCHORS: dict[str, tuple[str, ...]] = {
    "viridis": (
        "#440154", "#472d7b", "#3b528b", "#2c728e", "#21908c",
        "#27ad81", "#5dc863", "#aadc32", "#fde725",
    ),
    "magma": (
        "#000004", "#1d1147", "#51127c", "#822681", "#b63679",
        "#e65164", "#fb8861", "#fec287", "#fcfdbf",
    ),
}  # fmt: skip


def _table_from_anchors(anchors: Sequence[str]) -> np.ndarray:
    """256 × 4 RGBA uint8 table interpolated linearly between hex anchor colours."""
    rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in anchors], dtype="float64")
    at = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, 256)
    table = np.empty((256, 4), dtype="uint8")
    for channel in range(3):
        table[:, channel] = np.round(np.interp(x, at, rgb[:, channel]))
    table[:, 3] = 255
    table.setflags(write=False)
    return table


#: Colour tables by name: read-only ``(256, 4)`` RGBA ``uint8`` arrays.
COLORMAPS: dict[str, np.ndarray] = {
    name: _table_from_anchors(a) for name, a in COLORMAP_ANCHORS.items()
}


def colour_table(name: str) -> np.ndarray:
    """The ``(256, 4)`` RGBA colour table called ``name``.

    Examples
    --------
    >>> colour_table("viridis")[[0, -1]].tolist()
    [[68, 1, 84, 255], [253, 231, 37, 255]]
    """
    try:
        return COLORMAPS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown colour map {name!r}; choose one of {sorted(COLORMAPS)}"
        ) from None


def hex_colours(name: str, n: int = 9) -> list[str]:
    """``n`` evenly spaced colours of a colour map as ``#rrggbb`` strings, low to high.

    Raises
    ------
    InputError
        For an unknown colour map.

    Examples
    --------
    >>> hex_colours("viridis", 3)
    ['#440154', '#21908c', '#fde725']
    """
    table = colour_table(name)
    idx = np.linspace(0, 255, n).round().astype(int)
    return ["#{:02x}{:02x}{:02x}".format(*table[i, :3]) for i in idx]


def _encode_png(rgba: np.ndarray) -> bytes:
    """Encode an ``(h, w, 4)`` uint8 array as an RGBA PNG (no filtering, zlib level 6)."""
    height, width = rgba.shape[:2]
    rows = np.zeros((height, 1 + 4 * width), dtype="uint8")  # filter byte 0 per row
    rows[:, 1:] = rgba.reshape(height, 4 * width)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
            chunk(b"IEND", b""),
        )
    )


def _colourise(values: np.ndarray, table: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """RGBA image of ``values`` scaled from ``vmin``..``vmax``; NaN becomes transparent.

    Each pixel is one gather of a packed 32-bit colour (entry 256 is transparent).
    """
    valid = np.isfinite(values)
    scaled = (np.where(valid, values, vmin) - vmin) / (vmax - vmin)
    np.clip(scaled, 0.0, 1.0, out=scaled)
    scaled *= 255
    index = np.rint(scaled).astype(np.uint16)
    index[~valid] = 256
    packed = np.zeros(257, dtype=np.uint32)
    packed[:256] = np.ascontiguousarray(table[:, :4], dtype=np.uint8).view(np.uint32).ravel()
    return packed[index].view(np.uint8).reshape(*values.shape, 4)


def raster_png(
    array: np.ndarray,
    *,
    cmap: str = "viridis",
    vmin: float = 0.0,
    vmax: float = 1.0,
    max_size: int = 1024,
) -> bytes:
    """Colour a 2-D array as an RGBA PNG in its own row/column orientation.

    Unlike :func:`raster_overlay_png` nothing is reprojected: pixel ``(r, c)`` is
    cell ``(r, c)`` (every ``k``-th cell when the array is larger than ``max_size``),
    which suits static figures of a north-up grid.

    Parameters
    ----------
    array
        Values; NaN is transparent.
    cmap, vmin, vmax
        Colour table and the values drawn with its first and last colour.
    max_size
        Largest image width or height in pixels.

    Examples
    --------
    >>> raster_png(np.array([[0.0, 1.0]]))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    values = np.asarray(array)
    if values.ndim != 2 or values.dtype.kind not in "biuf":
        raise InputError(f"give a 2-D numeric array, got shape {values.shape} {values.dtype}")
    if not (math.isfinite(vmin) and math.isfinite(vmax) and vmin < vmax):
        raise InputError(f"need finite vmin < vmax, got vmin={vmin!r}, vmax={vmax!r}")
    if not (isinstance(max_size, int) and max_size >= 1):
        raise InputError(f"max_size must be a positive number of pixels, got {max_size!r}")
    k = max(1, math.ceil(max(values.shape) / max_size))
    sample = values[::k, ::k].astype("float64")
    return _encode_png(_colourise(sample, colour_table(cmap), vmin, vmax))


def _to_web_mercator(
    array: np.ndarray, grid: Grid, resampling: str, max_size: int
) -> tuple[np.ndarray, Any]:
    """Reproject ``array`` to EPSG:3857; returns the image and its affine transform.

    The image covers the Web Mercator bounds of the grid's densified outline; its
    pixel size is the cell size times the local Mercator scale (measured along the
    grid diagonal), coarsened if needed so neither side exceeds ``max_size``.
    """
    from affine import Affine
    from pyproj import Transformer
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    to_merc = Transformer.from_crs(grid.crs, "EPSG:3857", always_xy=True)
    left, bottom, right, top = grid.bounds
    xmin, ymin, xmax, ymax = to_merc.transform_bounds(left, bottom, right, top, densify_pts=21)
    (x0, x1), (y0, y1) = to_merc.transform([left, right], [bottom, top])
    scale = math.hypot(x1 - x0, y1 - y0) / math.hypot(right - left, top - bottom)
    res = grid.cell_size * scale
    res = max(res, max(xmax - xmin, ymax - ymin) / max_size)
    width = max(1, math.ceil((xmax - xmin) / res - 1e-9))
    height = max(1, math.ceil((ymax - ymin) / res - 1e-9))
    transform = Affine(res, 0.0, xmin, 0.0, -res, ymax)
    out = np.full((height, width), np.nan, dtype="float32")
    reproject(
        source=np.asarray(array, dtype="float32"),
        destination=out,
        src_transform=grid.transform,
        src_crs=grid.crs.to_wkt(),
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling[resampling],
    )
    return out, transform


def raster_overlay_png(
    array: np.ndarray,
    grid: Grid,
    *,
    cmap: str = "viridis",
    vmin: float = 0.0,
    vmax: float = 1.0,
    resampling: str = "nearest",
    max_size: int = 2048,
) -> tuple[bytes, list[list[float]]]:
    """Colour a grid layer as a Web Mercator PNG for a Leaflet image overlay.

    Parameters
    ----------
    array
        Values with ``grid.shape``; NaN cells (and the area outside the grid) are transparent.
    grid
        Grid of ``array``.
    cmap
        Name of a colour table in :data:`COLORMAPS`.
    vmin, vmax
        Values drawn with the first and last colour; values outside are clipped.
    resampling
        ``"nearest"`` (keeps cell values) or ``"bilinear"``.
    max_size
        Largest image width or height in pixels; larger rasters are coarsened.

    Returns
    -------
    png, bounds
        PNG bytes and ``[[south, west], [north, east]]`` in degrees: the image's
        Web Mercator extent, which Leaflet stretches the image over exactly.

    Examples
    --------
    >>> g = Grid.from_bounds((500000, 6670000, 500100, 6670050), cell_size=10, crs=32635)
    >>> png, bounds = raster_overlay_png(np.linspace(0, 1, g.size).reshape(g.shape), g)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", [round(v, 3) for v in bounds[0]]
    (True, [60.167, 27.0])
    """
    from pyproj import Transformer

    values = np.asarray(array)
    if values.shape != grid.shape:
        raise InputError(
            f"array shape {values.shape} differs from the grid's {grid.shape}; "
            "compute the layer on the same grid"
        )
    if values.dtype.kind not in "biuf":
        raise InputError(f"array has non-numeric dtype {values.dtype}; give numbers")
    if not (math.isfinite(vmin) and math.isfinite(vmax) and vmin < vmax):
        raise InputError(f"need finite vmin < vmax, got vmin={vmin!r}, vmax={vmax!r}")
    if resampling not in ("nearest", "bilinear"):
        raise InputError(f"resampling must be 'nearest' or 'bilinear', got {resampling!r}")
    if not (isinstance(max_size, int) and max_size >= 1):
        raise InputError(f"max_size must be a positive number of pixels, got {max_size!r}")
    table = colour_table(cmap)
    merc, transform = _to_web_mercator(values, grid, resampling, max_size)
    png = _encode_png(_colourise(merc, table, vmin, vmax))
    height, width = merc.shape
    west, north = transform.c, transform.f
    east, south = west + width * transform.a, north + height * transform.e
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([west, east], [south, north])
    return png, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


def _image_layer(
    array: np.ndarray, grid: Grid, *, name: str, cmap: str, opacity: float, show: bool
) -> Any:
    import folium

    png, bounds = raster_overlay_png(array, grid, cmap=cmap)
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return folium.raster_layers.ImageOverlay(
        image=url,
        bounds=bounds,
        name=html.escape(name),
        opacity=opacity,
        show=show,
        interactive=False,
        cross_origin=False,
    )


def _display_value(value: Any, labels: Mapping[str, str] = MAP_LABELS) -> str | int | float:
    """A popup-safe property value: numbers stay numbers, everything else escaped text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool):
        return "" if value is None else html.escape(labels["yes" if value else "no"])
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value))


def _candidate_layer(
    candidates: Any,
    fields: Sequence[str] | None,
    *,
    labels: Mapping[str, str] = MAP_LABELS,
    aliases: Mapping[str, str] | None = None,
) -> Any:
    """GeoJson layer of candidate polygons with a rank tooltip and an escaped popup table."""
    import folium
    from shapely.geometry import mapping

    if candidates.crs is None:
        raise InputError("candidates have no CRS; set one with gdf.set_crs(...)")
    gdf = candidates.to_crs(4326)
    geometry = gdf.geometry.name
    columns = [c for c in gdf.columns if c != geometry]
    chosen = list(columns if fields is None else fields)
    missing = [f for f in chosen if f not in gdf.columns or f == geometry]
    if missing:
        raise InputError(f"candidate fields {missing} not found; available are {columns}")
    ranks = gdf["rank"] if "rank" in gdf.columns else range(1, len(gdf) + 1)
    features = []
    for geom, rank, row in zip(
        gdf.geometry, ranks, gdf[chosen].itertuples(index=False, name=None), strict=True
    ):
        if geom is None or geom.is_empty:
            continue
        props = {str(f): _display_value(v, labels) for f, v in zip(chosen, row, strict=True)}
        props["rank"] = _display_value(rank, labels)
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    style = {"color": "#d7301f", "weight": 2, "fillColor": "#d7301f", "fillOpacity": 0.15}
    kwargs: dict[str, Any] = {}
    if features:
        keys = [str(f) for f in chosen]
        kwargs["tooltip"] = folium.GeoJsonTooltip(
            fields=["rank"], aliases=[html.escape(labels["rank"])]
        )
        if keys:
            shown = [(aliases or {}).get(k, k) for k in keys]
            kwargs["popup"] = folium.GeoJsonPopup(
                fields=keys, aliases=[html.escape(k) for k in shown], localize=False
            )
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=html.escape(labels["candidates"]),
        style_function=lambda _feature: style,
        highlight_function=lambda _feature: {"weight": 4, "fillOpacity": 0.3},
        **kwargs,
    )


_TITLE_STYLE = (
    "position:absolute;top:10px;left:55px;z-index:1000;margin:0;padding:4px 10px;"
    "background:rgba(255,255,255,0.85);border-radius:4px;font-weight:600;font-size:16px;"
    "line-height:1.3;"
)
_NOTES_STYLE = (
    "position:absolute;bottom:28px;left:10px;z-index:1000;max-width:45%;padding:3px 8px;"
    "background:rgba(255,255,255,0.8);border-radius:4px;font-size:11px;line-height:1.3;"
)


def add_page_css(page: str, css: str | Callable[[str], str] | None) -> str:
    """``page`` with ``css`` (or ``css(page)``, e.g. a font of the page's glyphs) in its head.

    Examples
    --------
    >>> add_page_css("<html><head></head></html>", "b{color:red}")
    '<html><head><style>b{color:red}</style></head></html>'
    """
    text = css(page) if callable(css) else css
    if not text:
        return page
    head, sep, rest = page.partition("</head>")
    if not sep:
        return f"<style>{text}</style>" + page
    return f"{head}<style>{text}</style></head>{rest}"


def suitability_map(
    path: str | os.PathLike,
    grid: Grid,
    *,
    composite: np.ndarray,
    layers: Mapping[str, np.ndarray],
    candidates: Any = None,
    candidate_fields: Sequence[str] | None = None,
    title: str = "Suitability",
    tiles: str | None = "OpenStreetMap",
    tiles_attribution: str | None = None,
    notes: str | Sequence[str] | None = None,
    cmap: str = "viridis",
    opacity: float = 0.7,
    assets: str = "inline",
    labels: Mapping[str, str] | None = None,
    field_aliases: Mapping[str, str] | None = None,
    page_css: str | Callable[[str], str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save an interactive HTML map of a suitability analysis.

    The map shows the composite score (visible) with a 0–1 legend, each factor
    layer as an overlay that is hidden until switched on, and the candidate sites
    with their rank as tooltip and their fields in a popup table.

    Parameters
    ----------
    path
        Output ``.html`` file.
    grid
        Grid of all rasters.
    composite
        Composite suitability, 0–1, NaN outside the study area.
    layers
        Factor name → factor raster (0–1) with ``grid.shape``.
    candidates
        GeoDataFrame of candidate polygons with a CRS; a ``rank`` column is shown
        as tooltip (row order is used when there is none).
    candidate_fields
        Columns listed in the popup; all non-geometry columns by default.
    title
        Heading shown on the map and page title.
    tiles
        Folium base map name or tile URL; ``None`` for no base map (offline use).
    tiles_attribution
        Attribution for a custom tile URL.
    notes
        Source and licence notes shown in a small box, e.g.
        ``"Data © OpenStreetMap contributors (ODbL)"``.
    cmap
        Colour table name from :data:`COLORMAPS`.
    opacity
        Opacity of the raster overlays, 0–1.
    assets
        One of :data:`MAP_ASSETS`: ``"inline"`` (default) embeds Leaflet and its
        helpers from installed packages so the map works without internet (use
        ``tiles=None`` too for no request at all); ``"cdn"`` links them from public CDNs.
    labels
        Words of the map by role (:data:`MAP_LABELS`, e.g. in another language); roles
        not given keep theirs.
    field_aliases
        Candidate column -> the name its popup row shows (the column name by default).
    page_css
        CSS added to the page's head, or a function of the finished page giving it (a
        font face holding the glyphs the page uses, say).
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The saved map.

    Raises
    ------
    InputError
        On arrays not matching the grid, unknown candidate fields or a bad option.
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    """
    import branca.colormap
    import folium

    if not (0.0 <= opacity <= 1.0):
        raise InputError(f"opacity must be between 0 and 1, got {opacity!r}")
    if assets not in MAP_ASSETS:
        raise InputError(f"assets must be one of {list(MAP_ASSETS)}, got {assets!r}")
    if not isinstance(layers, Mapping):
        raise InputError("layers must map factor names to arrays")
    words = {**MAP_LABELS, **(labels or {})}
    unknown = sorted(set(words) - set(MAP_LABELS))
    if unknown:
        raise InputError(f"unknown map labels {unknown}; known are {sorted(MAP_LABELS)}")
    names = [words["composite"], *map(str, layers)]
    if len(set(names)) != len(names):
        raise InputError(f"layer names must be unique and not {words['composite']!r}: {names}")
    colour_table(cmap)
    target = check_output_file(path, overwrite=overwrite)

    fmap = folium.Map(tiles=tiles, attr=tiles_attribution, control_scale=True)
    fmap.get_root().title = html.escape(title)  # type: ignore[attr-defined]  # a folium Figure
    composite_layer = _image_layer(
        composite, grid, name=names[0], cmap=cmap, opacity=opacity, show=True
    )
    composite_layer.add_to(fmap)
    fmap.fit_bounds(composite_layer.bounds)
    for name, array in zip(names[1:], layers.values(), strict=True):
        _image_layer(array, grid, name=name, cmap=cmap, opacity=opacity, show=False).add_to(fmap)
    if candidates is not None:
        _candidate_layer(candidates, candidate_fields, labels=words, aliases=field_aliases).add_to(
            fmap
        )
    legend = branca.colormap.LinearColormap(
        hex_colours(cmap), vmin=0.0, vmax=1.0, caption=words["legend"]
    )
    legend.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_text(fmap, f'<h2 class="innosite-title" style="{_TITLE_STYLE}">', title, "</h2>")
    if notes:
        lines = [notes] if isinstance(notes, str) else list(notes)
        body = "<br>".join(html.escape(str(line)) for line in lines)
        _add_text(
            fmap,
            f'<div class="innosite-notes" style="{_NOTES_STYLE}">',
            body,
            "</div>",
            escaped=True,
        )
    page = fmap.get_root().render()
    if assets == "inline":
        from gis.assets import inline_assets

        page = inline_assets(page)
    page = add_page_css(page, page_css)
    with atomic_file(target) as tmp:
        tmp.write_bytes(page.encode("utf-8"))
    return target


def _add_text(fmap: Any, start: str, text: str, end: str, *, escaped: bool = False) -> None:
    """Add a fixed HTML element holding ``text`` (escaped unless already so) to the page."""
    import folium

    body = text if escaped else html.escape(text)
    fmap.get_root().html.add_child(folium.Element(start + body + end))
