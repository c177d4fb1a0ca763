"""QGIS layer styles (``.qml`` documents) for rasters, points, lines and polygons.

QGIS opens a raster styled when a ``.qml`` file with the raster's base name sits
next to it (``suitability.tif`` + ``suitability.qml``), and a GeoPackage layer
styled when its style is stored in the ``layer_styles`` table
(:func:`gis.io.write_geopackage` with ``style_qml=``). The documents written here
follow the format QGIS 3.22 saves and later versions read.

Examples
--------
>>> qml = raster_qml(["#000000", "#ffffff"], vmin=0, vmax=1)
>>> 'type="singlebandpseudocolor"' in qml, qml.count("<item ")
(True, 2)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

from gis.errors import InputError

__all__ = ["GEOMETRIES", "polygon_qml", "raster_qml", "vector_qml"]

_HEADER = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _rgb(colour: str) -> tuple[int, int, int]:
    if not isinstance(colour, str) or not _HEX.match(colour):
        raise InputError(f"colours are '#rrggbb' strings, got {colour!r}")
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _num(value: float) -> str:
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(value)


def raster_qml(
    colours: Sequence[str],
    *,
    vmin: float,
    vmax: float,
    band: int = 1,
    opacity: float = 1.0,
    decimals: int = 2,
) -> str:
    """A single-band pseudocolour style: ``colours`` spread evenly from ``vmin`` to ``vmax``.

    Parameters
    ----------
    colours
        Two or more ``"#rrggbb"`` colours, interpolated linearly.
    vmin, vmax
        Values drawn with the first and the last colour.
    band
        Band number (1-based).
    opacity
        Layer opacity, 0–1.
    decimals
        Decimals of the legend labels.

    Returns
    -------
    str
        The ``.qml`` document.
    """
    if len(colours) < 2:
        raise InputError("a colour ramp needs at least two colours")
    if not (math.isfinite(vmin) and math.isfinite(vmax) and vmin < vmax):
        raise InputError(f"need finite vmin < vmax, got {vmin!r}, {vmax!r}")
    if not 0.0 <= opacity <= 1.0:
        raise InputError(f"opacity must be in 0..1, got {opacity!r}")
    for colour in colours:
        _rgb(colour)
    n = len(colours)
    values = [vmin + (vmax - vmin) * i / (n - 1) for i in range(n)]
    items = "\n".join(
        f'          <item alpha="255" value={quoteattr(_num(v))} '
        f"label={quoteattr(f'{v:.{decimals}f}')} color={quoteattr(c.lower())}/>"
        for v, c in zip(values, colours, strict=True)
    )
    lo, hi = _num(vmin), _num(vmax)
    return (
        _HEADER + '<qgis version="3.22.0" styleCategories="AllStyleCategories" '
        'hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="singlebandpseudocolor" '
        f'band="{band}" opacity="{_num(opacity)}" alphaBand="-1" '
        f'classificationMin="{lo}" classificationMax="{hi}" nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <minMaxOrigin>\n"
        "        <limits>None</limits>\n"
        "        <extent>WholeRaster</extent>\n"
        "        <statAccuracy>Exact</statAccuracy>\n"
        "        <cumulativeCutLower>0.02</cumulativeCutLower>\n"
        "        <cumulativeCutUpper>0.98</cumulativeCutUpper>\n"
        "        <stdDevFactor>2</stdDevFactor>\n"
        "      </minMaxOrigin>\n"
        "      <rastershader>\n"
        '        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" '
        f'minimumValue="{lo}" maximumValue="{hi}" clip="0" labelPrecision="{decimals}">\n'
        f"{items}\n"
        "        </colorrampshader>\n"
        "      </rastershader>\n"
        "    </rasterrenderer>\n"
        '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>\n'
        '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" invertColors="0" '
        'colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>\n'
        '    <rasterresampler maxOversampling="2"/>\n'
        "    <resamplingStage>resamplingFilter</resamplingStage>\n"
        "  </pipe>\n"
        "  <blendMode>0</blendMode>\n"
        "</qgis>\n"
    )


def _props(props: Mapping[str, str], indent: str) -> str:
    """Symbol-layer properties in both the new ``Option`` and the old ``prop`` form."""
    options = "\n".join(
        f'{indent}  <Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in props.items()
    )
    old = "\n".join(f"{indent}<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'{indent}<Option type="Map">\n{options}\n{indent}</Option>\n{old}\n'


def polygon_qml(
    *,
    outline: str = "#d7301f",
    fill: str | None = None,
    fill_opacity: float = 0.15,
    outline_width_mm: float = 0.6,
    label_field: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """A polygon style: one outlined symbol, optional labels and field aliases.

    Parameters
    ----------
    outline
        Outline colour ``"#rrggbb"``.
    fill
        Fill colour; the outline colour by default.
    fill_opacity
        Fill opacity, 0–1.
    outline_width_mm
        Outline width in millimetres.
    label_field
        Field whose value labels each polygon (bold, white halo), or None.
    aliases
        Field name → display name in the attribute table and identify results.
    category_labels
        Category value → its name in the legend (the value by default).

    Returns
    -------
    str
        The ``.qml`` document.

    Examples
    --------
    >>> qml = polygon_qml(label_field="rank", aliases={"mean_score": "Mean score"})
    >>> 'fieldName="rank"' in qml, 'name="Mean score"' in qml
    (True, True)
    """
    r, g, b = _rgb(outline)
    fr, fg, fb = _rgb(fill or outline)
    if not 0.0 <= fill_opacity <= 1.0:
        raise InputError(f"fill opacity must be in 0..1, got {fill_opacity!r}")
    if not (math.isfinite(outline_width_mm) and outline_width_mm >= 0):
        raise InputError(f"outline width must be >= 0 mm, got {outline_width_mm!r}")
    props = {
        "color": f"{fr},{fg},{fb},{round(255 * fill_opacity)}",
        "joinstyle": "miter",
        "outline_color": f"{r},{g},{b},255",
        "outline_style": "solid",
        "outline_width": _num(outline_width_mm),
        "outline_width_unit": "MM",
        "style": "solid",
    }
    labels = ""
    if label_field is not None:
        labels = (
            '  <labeling type="simple">\n'
            '    <settings calloutType="simple">\n'
            f'      <text-style fieldName={quoteattr(label_field)} isExpression="0" '
            'fontSize="11" fontSizeUnit="Point" fontWeight="75" textColor="50,50,50,255" '
            'textOpacity="1" namedStyle="Bold">\n'
            '        <text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" '
            'bufferColor="255,255,255,255" bufferOpacity="1" bufferNoFill="1" '
            'bufferJoinStyle="128" bufferBlendMode="0"/>\n'
            "      </text-style>\n"
            '      <placement placement="1" centroidWhole="0" centroidInside="1" '
            'fitInPolygonOnly="0" priority="5"/>\n'
            '      <rendering drawLabels="1" obstacle="1" scaleVisibility="0" '
            'displayAll="0" labelPerPart="0"/>\n'
            "    </settings>\n"
            "  </labeling>\n"
        )
    alias_xml = ""
    if aliases:
        rows = "\n".join(
            f'    <alias index="{i}" field={quoteattr(str(k))} name={quoteattr(str(v))}/>'
            for i, (k, v) in enumerate(aliases.items())
        )
        alias_xml = f"  <aliases>\n{rows}\n  </aliases>\n"
    return (
        _HEADER + '<qgis version="3.22.0" styleCategories="AllStyleCategories" '
        f'labelsEnabled="{int(label_field is not None)}" '
        'hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">\n'
        '  <renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" '
        'enableorderby="0" referencescale="-1">\n'
        "    <symbols>\n"
        '      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">\n'
        '        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
        + _props(props, "          ")
        + "        </layer>\n"
        "      </symbol>\n"
        "    </symbols>\n"
        "    <rotation/>\n"
        "    <sizescale/>\n"
        "  </renderer-v2>\n" + labels + alias_xml + "  <blendMode>0</blendMode>\n"
        "  <featureBlendMode>0</featureBlendMode>\n"
        "  <layerOpacity>1</layerOpacity>\n"
        "  <layerGeometryType>2</layerGeometryType>\n"
        "</qgis>\n"
    )


#: Geometry kinds of :func:`vector_qml`: QGIS's geometry type number, symbol type and
#: symbol-layer class.
GEOMETRIES: dict[str, tuple[int, str, str]] = {
    "point": (0, "marker", "SimpleMarker"),
    "line": (1, "line", "SimpleLine"),
    "polygon": (2, "fill", "SimpleFill"),
}


def _symbol(geometry: str, name: str, colour: str, *, width_mm: float, opacity: float) -> str:
    r, g, b = _rgb(colour)
    _, kind, cls = GEOMETRIES[geometry]
    if geometry == "polygon":
        props = {
            "color": f"{r},{g},{b},{round(255 * opacity)}", "joinstyle": "miter",
            "outline_color": f"{r},{g},{b},255", "outline_style": "solid",
            "outline_width": _num(width_mm), "outline_width_unit": "MM", "style": "solid",
        }  # fmt: skip
    elif geometry == "line":
        props = {
            "line_color": f"{r},{g},{b},{round(255 * opacity)}", "line_style": "solid",
            "line_width": _num(width_mm), "line_width_unit": "MM", "capstyle": "round",
            "joinstyle": "round",
        }  # fmt: skip
    else:
        props = {
            "color": f"{r},{g},{b},{round(255 * opacity)}", "name": "circle",
            "outline_color": "50,50,50,255", "outline_style": "solid",
            "outline_width": "0.2", "outline_width_unit": "MM", "size": _num(width_mm),
            "size_unit": "MM",
        }  # fmt: skip
    return (
        f'      <symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        'force_rhr="0">\n'
        f'        <layer class="{cls}" enabled="1" locked="0" pass="0">\n'
        + _props(props, "          ")
        + "        </layer>\n"
        "      </symbol>\n"
    )


def vector_qml(
    geometry: str,
    *,
    colour: str = "#333333",
    field: str | None = None,
    categories: Mapping[str, str] | None = None,
    width_mm: float = 0.5,
    opacity: float = 1.0,
    aliases: Mapping[str, str] | None = None,
    category_labels: Mapping[str, str] | None = None,
) -> str:
    """A style for points, lines or polygons: one symbol, or one colour per category.

    Parameters
    ----------
    geometry
        ``"point"``, ``"line"`` or ``"polygon"`` (:data:`GEOMETRIES`).
    colour
        Colour ``"#rrggbb"`` of the single symbol (and of values outside ``categories``).
    field, categories
        With both: a categorised style, one symbol per value of ``field``
        (value -> colour, in legend order).
    width_mm
        Line or outline width, or marker size, in millimetres.
    opacity
        Fill opacity of polygons and markers, or line opacity, 0–1.
    aliases
        Field name → display name in the attribute table and identify results.

    Returns
    -------
    str
        The ``.qml`` document.

    Raises
    ------
    InputError
        An unknown geometry, a bad colour, a negative width, an opacity outside 0..1,
        or categories without a field.

    Examples
    --------
    >>> qml = vector_qml("polygon", field="tier", categories={"a": "#ff0000", "b": "#0000ff"})
    >>> 'type="categorizedSymbol"' in qml, 'attr="tier"' in qml, qml.count("<category ")
    (True, True, 2)
    >>> 'type="singleSymbol"' in vector_qml("line", colour="#999999")
    True
    >>> 'value="a" label="Alpha"' in vector_qml(
    ...     "point", field="k", categories={"a": "#ff0000"}, category_labels={"a": "Alpha"})
    True
    """
    if geometry not in GEOMETRIES:
        raise InputError(f"geometry must be one of {list(GEOMETRIES)}, got {geometry!r}")
    if not (math.isfinite(width_mm) and width_mm >= 0):
        raise InputError(f"width must be >= 0 mm, got {width_mm!r}")
    if not 0.0 <= opacity <= 1.0:
        raise InputError(f"opacity must be in 0..1, got {opacity!r}")
    if categories and field is None:
        raise InputError("categories need the field they colour")
    kw = {"width_mm": width_mm, "opacity": opacity}
    head = 'symbollevels="0" forceraster="0" enableorderby="0" referencescale="-1"'
    if field is not None and categories:
        rows = "".join(
            f'      <category render="true" symbol="{i}" value={quoteattr(str(v))} '
            f"label={quoteattr(str((category_labels or {}).get(v, v)))}/>\n"
            for i, v in enumerate(categories)
        )
        symbols = "".join(
            _symbol(geometry, str(i), c, **kw) for i, c in enumerate(categories.values())
        )
        renderer = (
            f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} {head}>\n'
            f"    <categories>\n{rows}    </categories>\n"
            f"    <symbols>\n{symbols}    </symbols>\n"
            "    <source-symbol>\n"
            + _symbol(geometry, "0", colour, **kw)
            + "    </source-symbol>\n"
        )
    else:
        renderer = (
            f'  <renderer-v2 type="singleSymbol" {head}>\n'
            "    <symbols>\n" + _symbol(geometry, "0", colour, **kw) + "    </symbols>\n"
        )
    alias_xml = ""
    if aliases:
        rows = "\n".join(
            f'    <alias index="{i}" field={quoteattr(str(k))} name={quoteattr(str(v))}/>'
            for i, (k, v) in enumerate(aliases.items())
        )
        alias_xml = f"  <aliases>\n{rows}\n  </aliases>\n"
    return (
        _HEADER + '<qgis version="3.22.0" styleCategories="AllStyleCategories" labelsEnabled="0" '
        'hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">\n'
        + renderer
        + "    <rotation/>\n    <sizescale/>\n  </renderer-v2>\n"
        + alias_xml
        + "  <blendMode>0</blendMode>\n  <featureBlendMode>0</featureBlendMode>\n"
        "  <layerOpacity>1</layerOpacity>\n"
        f"  <layerGeometryType>{GEOMETRIES[geometry][0]}</layerGeometryType>\n"
        "</qgis>\n"
    )
