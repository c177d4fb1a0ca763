"""A self-contained ``report.html`` for a micro run: maps, coverage, weights, candidates.

The page needs no internet and no script: maps are PNG images embedded as
``data:`` URLs with the candidate districts drawn over them in SVG, bars are plain
CSS. Every text that comes from data or from the user (factor names, titles, the
command line, notes) is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gis.io import atomic_file, check_output_file
from gis.maps import hex_colours, raster_png
from layers.measures import MEASURES

__all__ = ["report_html", "write_report"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0;
background:#f6f6f4}
main{max-width:1100px;margin:0 auto;padding:18px 24px 40px;background:#fff}
h1{font-size:24px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid #ddd;padding-bottom:3px}
.sub{color:#666;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
th{background:#fafafa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#3b528b;vertical-align:middle;
margin-right:6px;border-radius:2px}
.cell{white-space:nowrap}
.warn{color:#a33}
figure{margin:8px 0}figcaption{font-size:12px;color:#555}
.maps{display:flex;flex-wrap:wrap;gap:14px}.maps figure{width:250px}
.legend{height:12px;width:260px;border-radius:2px}
.legend-labels{display:flex;justify-content:space-between;width:260px;font-size:11px;color:#555}
svg{max-width:100%;height:auto;background:#f0f0f0;border:1px solid #ddd}
code{font-size:12px;background:#f3f3f3;padding:1px 4px;border-radius:3px}
td code{white-space:nowrap}
ul.files li{margin:2px 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if not math.isfinite(float(value)) else f"{float(value):.{digits}f}"
    return str(value)


def _png_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _ring_path(coords: np.ndarray, left: float, top: float, cell: float) -> str:
    cols = (coords[:, 0] - left) / cell
    rows = (top - coords[:, 1]) / cell
    pts = " ".join(f"{c:.2f},{r:.2f}" for c, r in zip(cols, rows, strict=True))
    return f"M{pts}Z"


def _map_svg(
    array: np.ndarray,
    grid: Any,
    *,
    candidates: Any = None,
    max_size: int,
    display: int,
    label: str,
) -> str:
    """An SVG figure: the raster as an embedded PNG, candidate outlines and ranks on top.

    ``display`` is the figure's longer side in CSS pixels; ``max_size`` caps the PNG.
    """
    import shapely

    height, width = array.shape
    png = raster_png(array, max_size=max_size)
    shown = display * width / max(width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{shown:.0f}" role="img" aria-label="{_e(label)}">',
        f'<image href="{_png_url(png)}" x="0" y="0" width="{width}" height="{height}" '
        'preserveAspectRatio="none" style="image-rendering:pixelated"/>',
    ]
    if candidates is not None and len(candidates):
        left, _bottom, _right, top = grid.bounds
        cell = grid.cell_size
        stroke = max(width, height) / 350
        for geom, rank in zip(candidates.geometry, candidates["rank"], strict=True):
            if geom is None or geom.is_empty:
                continue
            polys = getattr(geom, "geoms", [geom])
            d = ""
            for poly in polys:
                d += _ring_path(np.asarray(poly.exterior.coords), left, top, cell)
                for ring in poly.interiors:
                    d += _ring_path(np.asarray(ring.coords), left, top, cell)
            parts.append(
                f'<path d="{d}" fill="none" stroke="#d7301f" stroke-width="{stroke:.2f}" '
                'fill-rule="evenodd"/>'
            )
            p = shapely.point_on_surface(geom)
            x, y = (p.x - left) / cell, (top - p.y) / cell
            size = max(width, height) / 30
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:.1f}" font-weight="700" '
                'text-anchor="middle" dominant-baseline="middle" fill="#222" stroke="#fff" '
                f'stroke-width="{size / 6:.1f}" paint-order="stroke">{_e(rank)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    stops = ",".join(hex_colours("viridis"))
    return (
        f'<div class="legend" style="background:linear-gradient(to right,{stops})"></div>'
        '<div class="legend-labels"><span>0 least suitable</span><span>1 most</span></div>'
    )


def _bar(value: float, scale: float = 1.0, width: int = 90) -> str:
    if value is None or not math.isfinite(float(value)):
        return ""
    px = max(0.0, min(1.0, float(value) / scale)) * width
    return f'<span class="bar" style="width:{px:.0f}px"></span>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _weights_section(result: Any) -> str:
    rows = []
    for fr in result.factors:
        used = result.weights.get(fr.factor.name, 0.0)
        status = fr.status if fr.status == "ok" else f'<span class="warn">{_e(fr.status)}</span>'
        rows.append(
            [
                f"<code>{_e(fr.factor.name)}</code>",
                _e(fr.factor.title),
                _fmt(fr.factor.weight),
                f'<span class="cell">{_bar(used, 0.5)}{_fmt(used)}</span>',
                status,
                _e(fr.count),
            ]
        )
    return _table(
        ["factor", "title", "weight given", "weight used", "status", "features"], rows, {2, 5}
    )


def _coverage_section(result: Any) -> str:
    rows = []
    for fr in result.factors:
        for cr in fr.criteria:
            status = cr.status if cr.status == "ok" else f"empty → {cr.status}"
            rows.append(
                [
                    f"<code>{_e(fr.factor.name)}</code>",
                    f"<code>{_e(cr.criterion.name)}</code>",
                    _e(cr.criterion.description or cr.criterion.measure),
                    _e(MEASURES[cr.criterion.measure].units),
                    _e(cr.count),
                    _e(status) if cr.status == "ok" else f'<span class="warn">{_e(status)}</span>',
                    _e(cr.note),
                ]
            )
    return _table(
        ["factor", "criterion", "measure", "units", "features", "status", "note"], rows, {4}
    )


def _checks_section(result: Any) -> str:
    """Data coverage, non-compensatory conditions and warnings of the run (may be empty)."""
    from layers.outputs.text import checks_text

    lines = checks_text(getattr(result, "checks", None) or {})
    if not lines:
        return ""
    items = "".join(
        f'<li class="warn">{_e(x)}</li>' if x.startswith("Warning") else f"<li>{_e(x)}</li>"
        for x in lines
    )
    return f"<h2>{_e(CHECKS_HEADING)}</h2>\n<p>{_e(CHECKS_INTRO)}</p>\n<ul>{items}</ul>"


#: Heading and introduction of the data-coverage section of the report.
CHECKS_HEADING = "Data coverage and conditions"
CHECKS_INTRO = (
    "Cells with nothing mapped nearby are no data, not good: they are nodata in the "
    "suitability, never candidates, and hatched grey in map.html (coverage.tif: 1 data, "
    "0 none). A condition is a factor that must reach its minimum whatever the weighted sum."
)


def _profile(row: Any, factors: Sequence[str]) -> str:
    scores = {f: float(row[f]) for f in factors if f in row and np.isfinite(row[f])}
    if not scores:
        return ""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    strong = ", ".join(f"{_e(k)} {v:.2f}" for k, v in ordered[:2])
    weak = ", ".join(f"{_e(k)} {v:.2f}" for k, v in ordered[-2:][::-1])
    return f"strongest: {strong}; weakest: {weak}"


def _candidates_section(result: Any, *, top: int) -> str:
    cands = result.candidates
    if not len(cands):
        return (
            "<p>No candidate district met the rules (top percent or threshold, minimum area).</p>"
        )
    factors = [f for f in result.weights if f in cands.columns]
    titles = {fr.factor.name: fr.factor.title for fr in result.factors}
    header = ["rank", "area (ha)", "mean score", "max score", *[titles.get(f, f) for f in factors]]
    rows = []
    for _, r in cands.head(top).iterrows():
        cells = [
            _e(int(r["rank"])),
            _fmt(r["area_ha"], 1),
            f'<span class="cell">{_bar(r["mean_score"], 1.0, 60)}{_fmt(r["mean_score"])}</span>',
            _fmt(r["max_score"]),
        ]
        cells += [
            f'<span class="cell">{_bar(r[f], 1.0, 40)}{_fmt(r[f], 2)}</span>' for f in factors
        ]
        rows.append(cells)
    notes = "".join(
        f"<li>District {_e(int(r['rank']))} ({_fmt(r['area_ha'], 1)} ha): "
        f"{_profile(r, factors)}</li>"
        for _, r in cands.head(top).iterrows()
    )
    shown = min(top, len(cands))
    return (
        f"<p>{len(cands)} candidate district(s); the best {shown} with the mean score of "
        "every factor over the district (its factor profile).</p>"
        + _table(header, rows, {0, 1, 2, 3, *range(4, 4 + len(factors))})
        + f"<ul>{notes}</ul>"
    )


def _factor_maps(result: Any) -> str:
    figures = []
    for fr in result.factors:
        if fr.score is None:
            continue
        arr = np.where(result.inside, fr.score, np.nan)
        svg = _map_svg(arr, result.grid, max_size=500, display=230, label=fr.factor.title)
        weight = result.weights.get(fr.factor.name, 0.0)
        figures.append(
            f"<figure>{svg}<figcaption><b>{_e(fr.factor.title)}</b> "
            f"(<code>{_e(fr.factor.name)}</code>, weight {weight:.3f})</figcaption></figure>"
        )
    return f'<div class="maps">{"".join(figures)}</div>'


def _parameters(config: Any) -> list[tuple[str, str]]:
    sites = (
        f"score ≥ {config.threshold:g}"
        if config.threshold is not None
        else f"best {config.top_percent:g} % of cells"
    )
    return [
        ("cell size", f"{config.cell_size:g} m"),
        ("candidate cells", sites),
        ("smallest district", f"{config.min_area_ha:g} ha ({config.connectivity}-connected)"),
        ("factors without features", config.empty_rule),
        ("aggregation", config.aggregation),
        ("water and railway constraints", "on" if config.constraints else "off"),
        ("exclusion file", config.exclude_file or "none"),
    ]


def report_html(
    result: Any,
    config: Any,
    *,
    scale: str = "micro",
    files: Mapping[str, str] | None = None,
    command: str | None = None,
    top: int = 10,
    created: _dt.datetime | None = None,
) -> str:
    """The HTML text of the report of a raster run (micro or meso).

    Parameters
    ----------
    result
        A :class:`layers.micro.run.MicroResult` or :class:`layers.meso.run.MesoResult`.
    config
        The configuration of the run.
    scale
        ``"micro"`` or ``"meso"``: names the run and its sites in the text.
    files
        Output role → path relative to the report, linked in the "Open" list.
    command
        The command line of the run.
    top
        Number of candidate districts listed.
    created
        Time stamp shown; now by default.
    """
    from gis import __version__

    created = created or _dt.datetime.now(_dt.UTC)
    grid = result.grid
    title = getattr(config, "title", f"Innovation-centre suitability ({scale})")
    rows = []
    if getattr(result, "osm", None) is not None:
        src = result.osm.source
        where = src.get("path", src.get("service", ""))
        date = src.get("osm_data_date") or "unknown"
        rows.append(("data", f"{src.get('kind', '')} {where} (OSM data date {date})"))
    if getattr(result, "data", None) is not None:
        region = result.data.region
        rows.append(("region", f"{region.get('name')} ({region.get('geometry_source')})"))
        rows.append(("data", ", ".join(str(s.get("source", s.get("path", s.get("role", ""))))
                                       for s in result.data.sources)))  # fmt: skip
    if getattr(result, "center", None):
        c = result.center
        rows.append(("city centre", f"{c.get('lon')}, {c.get('lat')} ({c.get('method')})"))
    head = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    open_items = []
    sites = "districts" if scale == "micro" else "zones"
    labels = {
        "map": "interactive map (browser)",
        "suitability": "composite suitability GeoTIFF (QGIS, ArcGIS)",
        "candidates": f"candidate {sites} GeoPackage (QGIS, ArcGIS)",
        "manifest": "manifest: inputs, parameters, versions, checksums",
    }
    for role, text in labels.items():
        if files and role in files:
            link = _e(files[role])
            open_items.append(f'<li><a href="{link}">{link}</a> — {text}</li>')
    composite = _map_svg(
        result.suitability,
        grid,
        candidates=result.candidates,
        max_size=1600,
        display=640,
        label=f"composite suitability with candidate {sites}",
    )
    params = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _parameters(config))
    n_inside = int(result.inside.sum())
    n_valid = int(np.isfinite(result.suitability).sum())
    stamp = created.isoformat(timespec="seconds")
    body = f"""
<h1>{_e(title)}</h1>
<p class="sub">innosite {_e(__version__)} {_e(scale)} run, {_e(stamp)}</p>
<table>
{head}
<tr><th>grid</th><td>{grid.height} × {grid.width} cells of {grid.cell_size:g} m in
{_e(grid.crs.to_string())}; {n_inside:,} cells in the area, {n_valid:,} scored
({n_inside - n_valid:,} excluded by constraints)</td></tr>
<tr><th>command</th><td><code>{_e(command or "")}</code></td></tr>
</table>
<h2>What to open</h2>
<ul class="files">{"".join(open_items)}</ul>
<h2>Composite suitability and candidate {sites}</h2>
<figure>{composite}<figcaption>Weighted overlay of the factor scores; nodata (grey) outside
the area and on constraints; candidate {sites} outlined in red with their rank.</figcaption>
</figure>
{_legend()}
{_checks_section(result)}
<h2>Candidate {sites}</h2>
{_candidates_section(result, top=top)}
<h2>Weights</h2>
<p>Factor weights as given and as used: normalised to sum 1 over the factors that could be
scored.</p>
{_weights_section(result)}
<h2>Factor coverage</h2>
<p>Features each criterion found in the area (OpenStreetMap, the run's packaged sources or your
own). An empty criterion is a finding, not an error: it is handled by the rule shown.</p>
{_coverage_section(result)}
<h2>Factor scores</h2>
{_factor_maps(result)}
<h2>Parameters</h2>
<table>{params}</table>
<p class="sub">Map data © OpenStreetMap contributors (ODbL 1.0). Factors after Zhang W Z (2022),
Bulletin of Chinese Academy of Sciences 37(12): 1745–1756.</p>
"""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} — report</title>"
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def write_report(
    path: str | Path,
    result: Any,
    config: Any,
    *,
    scale: str = "micro",
    files: Mapping[str, str] | None = None,
    command: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write :func:`report_html` to ``path`` (atomically).

    Returns
    -------
    pathlib.Path
        The written report.
    """
    target = check_output_file(path, overwrite=overwrite)
    text = report_html(result, config, scale=scale, files=files, command=command)
    with atomic_file(target) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return target
