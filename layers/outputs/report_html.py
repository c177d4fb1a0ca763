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
from layers.i18n import CSS_FONT_LIST, TEXTS, font_face_css, localise, text
from layers.measures import MEASURES

__all__ = ["report_html", "write_report"]

_CSS = """
body{font-size:14px;line-height:1.45;color:#222;margin:0;background:#f6f6f4}
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


def _legend(lang: str) -> str:
    stops = ",".join(hex_colours("viridis"))
    low, high = _e(text("report.legend_low", lang)), _e(text("report.legend_high", lang))
    return (
        f'<div class="legend" style="background:linear-gradient(to right,{stops})"></div>'
        f'<div class="legend-labels"><span>{low}</span><span>{high}</span></div>'
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


def _weights_section(result: Any, lang: str) -> str:
    rows = []
    for fr in result.factors:
        used = result.weights.get(fr.factor.name, 0.0)
        status = fr.status if fr.status == "ok" else f'<span class="warn">{_e(fr.status)}</span>'
        rows.append(
            [
                f"<code>{_e(fr.factor.name)}</code>",
                _e(localise(fr.factor.title, lang)),
                _fmt(fr.factor.weight),
                f'<span class="cell">{_bar(used, 0.5)}{_fmt(used)}</span>',
                status,
                _e(fr.count),
            ]
        )
    cols = ["factor", "title", "weight_given", "weight_used", "status", "features"]
    return _table([text(f"report.col_{c}", lang) for c in cols], rows, {2, 5})


def _coverage_section(result: Any, lang: str) -> str:
    rows = []
    for fr in result.factors:
        for cr in fr.criteria:
            status = (
                cr.status if cr.status == "ok" else text("report.empty_rule", lang, rule=cr.status)
            )
            rows.append(
                [
                    f"<code>{_e(fr.factor.name)}</code>",
                    f"<code>{_e(cr.criterion.name)}</code>",
                    _e(localise(cr.criterion.description or cr.criterion.measure, lang)),
                    _e(MEASURES[cr.criterion.measure].units),
                    _e(cr.count),
                    _e(status) if cr.status == "ok" else f'<span class="warn">{_e(status)}</span>',
                    _e(cr.note),
                ]
            )
    cols = ["factor", "criterion", "measure", "units", "features", "status", "note"]
    return _table([text(f"report.col_{c}", lang) for c in cols], rows, {4})


def _profile(
    row: Any, factors: Sequence[str], lang: str, titles: Mapping[str, str] | None = None
) -> str:
    names = titles or {}
    scores = {names.get(f, f): float(row[f]) for f in factors if f in row and np.isfinite(row[f])}
    if not scores:
        return ""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    strong = ", ".join(f"{_e(k)} {v:.2f}" for k, v in ordered[:2])
    weak = ", ".join(f"{_e(k)} {v:.2f}" for k, v in ordered[-2:][::-1])
    return text("report.profile", lang, strong=strong, weak=weak)


def _site_words(scale: str, lang: str) -> dict[str, str]:
    """The words for a candidate site of a scale: ``site``, ``Site``, ``sites``."""
    which = "micro" if scale == "micro" else "other"
    site = text(f"report.site_{which}", lang)
    sites = text(f"sites.{which}", lang)
    return {"site": site, "Site": site[:1].upper() + site[1:], "sites": sites}


def _candidates_section(result: Any, *, top: int, scale: str = "micro", lang: str = "en") -> str:
    cands = result.candidates
    words = _site_words(scale, lang)
    if not len(cands):
        return f"<p>{_e(text('report.no_candidates', lang, site=words['site']))}</p>"
    factors = [f for f in result.weights if f in cands.columns]
    titles = {fr.factor.name: localise(fr.factor.title, lang) for fr in result.factors}
    header = [text(f"report.col_{c}", lang) for c in ("rank", "area", "mean", "max")]
    header += [titles.get(f, f) for f in factors]
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
        "<li>"
        + text("report.candidate_note", lang, Site=_e(words["Site"]), rank=_e(int(r["rank"])),
               area=_fmt(r["area_ha"], 1), profile=_profile(r, factors, lang, titles))
        + "</li>"
        for _, r in cands.head(top).iterrows()
    )  # fmt: skip
    shown = min(top, len(cands))
    intro = text("report.candidates_intro", lang, n=len(cands), shown=shown, **words)
    return (
        f"<p>{_e(intro)}</p>"
        + _table(header, rows, {0, 1, 2, 3, *range(4, 4 + len(factors))})
        + f"<ul>{notes}</ul>"
    )


def _factor_maps(result: Any, lang: str) -> str:
    figures = []
    for fr in result.factors:
        if fr.score is None:
            continue
        arr = np.where(result.inside, fr.score, np.nan)
        title = localise(fr.factor.title, lang)
        svg = _map_svg(arr, result.grid, max_size=500, display=230, label=title)
        weight = text(
            "report.weight_caption", lang, weight=f"{result.weights.get(fr.factor.name, 0.0):.3f}"
        )
        figures.append(
            f"<figure>{svg}<figcaption><b>{_e(title)}</b> "
            f"(<code>{_e(fr.factor.name)}</code>, {_e(weight)})</figcaption></figure>"
        )
    return f'<div class="maps">{"".join(figures)}</div>'


def _parameters(config: Any, *, scale: str = "micro", lang: str = "en") -> list[tuple[str, str]]:
    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    sites = (
        t("param.threshold_value", threshold=f"{config.threshold:g}")
        if config.threshold is not None
        else t("param.top_percent_value", percent=f"{config.top_percent:g}")
    )
    return [
        (t("param.cell_size"), t("report.cell_size_value", size=f"{config.cell_size:g}")),
        (t("param.candidate_cells"), sites),
        (t("param.smallest", site=_site_words(scale, lang)["site"]),
         t("param.smallest_value", area=f"{config.min_area_ha:g}",
           connectivity=config.connectivity)),
        (t("param.empty_rule"), config.empty_rule),
        (t("param.aggregation"), config.aggregation),
        (t("param.constraints"), t("word.on") if config.constraints else t("word.off")),
        (t("param.exclude_file"), config.exclude_file or t("word.none")),
    ]  # fmt: skip


def report_html(
    result: Any,
    config: Any,
    *,
    scale: str = "micro",
    files: Mapping[str, str] | None = None,
    command: str | None = None,
    top: int = 10,
    created: _dt.datetime | None = None,
    lang: str = "en",
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
    lang
        Language of the report (:data:`layers.i18n.LANGS`); Chinese text is shown in a
        font embedded in the page (:func:`layers.i18n.font_face_css`).
    """
    from gis import __version__

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    created = created or _dt.datetime.now(_dt.UTC)
    grid = result.grid
    scale_name = t(f"scale.{scale}") if f"scale.{scale}" in TEXTS else scale
    # a micro run's title is the user's (its English default has its translation)
    title = (
        localise(config.title, lang)
        if hasattr(config, "title")
        else t("title.scale", scale=scale_name)
    )
    rows = []
    if getattr(result, "osm", None) is not None:
        src = result.osm.source
        where = src.get("path", src.get("service", ""))
        date = src.get("osm_data_date") or t("report.unknown")
        rows.append(
            (t("report.data"), f"{src.get('kind', '')} {where} ({t('report.osm_date', date=date)})")
        )
    if getattr(result, "data", None) is not None:
        region = result.data.region
        rows.append((t("report.region"), f"{region.get('name')} ({region.get('geometry_source')})"))
        names = [str(s.get("source", s.get("path", s.get("role", ""))))
                 for s in result.data.sources]  # fmt: skip
        rows.append((t("report.data"), ", ".join(names)))
    if getattr(result, "center", None):
        c = result.center
        rows.append(
            (t("report.city_centre"), f"{c.get('lon')}, {c.get('lat')} ({c.get('method')})")
        )
    head = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    open_items = []
    sites = _site_words(scale, lang)["sites"]
    labels = {
        "map": t("report.open_map"),
        "project": t("report.open_project"),
        "suitability": t("report.open_suitability"),
        "candidates": t("report.open_candidates", sites=sites),
        "manifest": t("report.open_manifest"),
    }
    for role, label in labels.items():
        if files and role in files:
            link = _e(files[role])
            open_items.append(f'<li><a href="{link}">{link}</a> — {_e(label)}</li>')
    composite = _map_svg(
        result.suitability,
        grid,
        candidates=result.candidates,
        max_size=1600,
        display=640,
        label=t("report.composite_label", sites=sites),
    )
    params = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>"
        for k, v in _parameters(config, scale=scale, lang=lang)
    )
    n_inside = int(result.inside.sum())
    n_valid = int(np.isfinite(result.suitability).sum())
    stamp = created.isoformat(timespec="seconds")
    grid_text = t(
        "report.grid_text", height=grid.height, width=grid.width, cell=f"{grid.cell_size:g}",
        crs=grid.crs.to_string(), inside=f"{n_inside:,}", valid=f"{n_valid:,}",
        excluded=f"{n_inside - n_valid:,}",
    )  # fmt: skip
    body = f"""
<h1>{_e(title)}</h1>
<p class="sub">{_e(t("report.subtitle", version=__version__, scale=scale_name, stamp=stamp))}</p>
<table>
{head}
<tr><th>{_e(t("report.grid"))}</th><td>{_e(grid_text)}</td></tr>
<tr><th>{_e(t("report.command"))}</th><td><code>{_e(command or "")}</code></td></tr>
</table>
<h2>{_e(t("report.what_to_open"))}</h2>
<ul class="files">{"".join(open_items)}</ul>
<h2>{_e(t("report.composite_heading", sites=sites))}</h2>
<figure>{composite}<figcaption>{_e(t("report.composite_caption", sites=sites))}</figcaption>
</figure>
{_legend(lang)}
<h2>{_e(t("report.candidates_heading", sites=sites))}</h2>
{_candidates_section(result, top=top, scale=scale, lang=lang)}
<h2>{_e(t("report.weights"))}</h2>
<p>{_e(t("report.weights_intro"))}</p>
{_weights_section(result, lang)}
<h2>{_e(t("report.coverage"))}</h2>
<p>{_e(t("report.coverage_intro"))}</p>
{_coverage_section(result, lang)}
<h2>{_e(t("report.factor_scores"))}</h2>
{_factor_maps(result, lang)}
<h2>{_e(t("report.parameters"))}</h2>
<table>{params}</table>
<p class="sub">{_e(t("report.footer"))}</p>
"""
    page_title = _e(t("report.page_title", title=title))
    fonts = font_face_css(body + page_title)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{page_title}</title>"
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{fonts}body{{font-family:{CSS_FONT_LIST}}}{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
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
    lang: str = "en",
) -> Path:
    """Write :func:`report_html` to ``path`` (atomically).

    Returns
    -------
    pathlib.Path
        The written report.
    """
    target = check_output_file(path, overwrite=overwrite)
    page = report_html(result, config, scale=scale, files=files, command=command, lang=lang)
    with atomic_file(target) as tmp:
        tmp.write_bytes(page.encode("utf-8"))
    return target
