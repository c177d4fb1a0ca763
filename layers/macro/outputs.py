"""What a macro run computed (:class:`MacroResult`), its files and its plain-text report.

:func:`write_outputs` writes ``tiers.csv``, ``tiers.gpkg``, ``links.gpkg``,
``methods.csv``, ``map.html`` (folium), ``index_chart.png`` and ``manifest.json``
into a staged folder; :func:`format_report` summarises a run for the terminal.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from layers.i18n import TEXTS, chart_font_families, page_font_css, text, tier_label
from layers.macro.methods import TierResult
from layers.macro.tables import INDICATORS

__all__ = ["MacroResult", "format_report", "layer_styles", "probability_column", "write_outputs"]


def probability_column(tier: str) -> str:
    """Column of the tier probabilities of ``tier`` in :attr:`MacroResult.units`.

    Examples
    --------
    >>> probability_column("international"), probability_column("Tier 1!")
    ('p_international', 'p_tier_1')
    """
    return "p_" + (re.sub(r"\W+", "_", tier.strip().lower()).strip("_") or "tier")


@dataclass
class MacroResult:
    """Everything a macro run computed and where it wrote it.

    Attributes
    ----------
    units
        GeoDataFrame, one row per unit: indicators, normalised scores, weights,
        index, rank, tier, agreement and tier probabilities.
    links
        GeoDataFrame of spillover links (lines).
    methods
        The method comparison table.
    result
        The chosen :class:`TierResult`.
    reproduce_share
        Share of weight draws whose tiers all equal the chosen run's.
    paper
        Whether the units are the paper's (then ``units`` has ``paper_tier``).
    folder
        Output folder, or None when nothing was written.
    files
        Names of the written files.
    settings
        The parameters of the run.
    """

    units: Any
    links: Any
    methods: pd.DataFrame
    result: TierResult
    reproduce_share: float
    paper: bool
    folder: Path | None = None
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ outputs
#: Most links drawn on the map (the strongest); links.gpkg holds them all.
_MAP_LINKS = 500

_TIER_COLOURS = ("#b2182b", "#ef8a62", "#67a9cf", "#2166ac", "#5aae61", "#762a83", "#999999")


def _tier_colour(rank: int) -> str:
    return _TIER_COLOURS[min(rank, len(_TIER_COLOURS) - 1)]


def _esc(value: Any) -> str:
    """HTML-escape text for the map, also neutralising ``$``, backtick and backslash.

    folium places popup and tooltip HTML inside JavaScript template literals, where
    ``${...}`` would run as code and a backslash or backtick would break the page;
    as character references they display unchanged.
    """
    return (
        html.escape(str(value), quote=True)
        .replace("$", "&#36;")
        .replace("`", "&#96;")
        .replace("\\", "&#92;")
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def indicator_labels(lang: str = "en") -> dict[str, str]:
    """Indicator column -> ``"label (unit)"`` in ``lang`` (the paper's Table 1 terms).

    Examples
    --------
    >>> indicator_labels("zh")["national_labs"]
    '国家实验室（个）'
    """
    out = {}
    for i in INDICATORS:
        label = text(f"indicator.{i.column}", lang) if f"indicator.{i.column}" in TEXTS else i.label
        unit = text(f"unit.{i.unit}", lang) if f"unit.{i.unit}" in TEXTS else i.unit
        out[i.column] = f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"
    return out


def unit_names(units: Any, lang: str = "en") -> list[str]:
    """The names of ``units`` shown in ``lang``: their Chinese names where known in zh."""
    names = units["unit"].astype(str)
    if lang == "zh" and "unit_zh" in units.columns:
        zh = units["unit_zh"].astype(str)
        names = zh.where(units["unit_zh"].notna() & (zh.str.strip() != ""), names)
    return [str(n) for n in names]


def _popup_html(
    row: pd.Series,
    columns: Sequence[str],
    labels: Mapping[str, str],
    names: Sequence[str],
    lang: str = "en",
    name: str | None = None,
) -> str:
    esc = _esc

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    head = [
        (t("macro.tier"), tier_label(str(row["tier"]), lang)),
        (t("macro.rank"), row["rank"]),
        (t("macro.index"), row["index"]),
        (t("macro.agreement"), f"{100 * row['agreement']:.0f}%"),
    ]
    head += [
        (
            t("macro.probability", tier=tier_label(tn, lang)),
            f"{100 * row[probability_column(tn)]:.0f}%",
        )
        for tn in names
    ]
    if "paper_tier" in row.index and row["paper_tier"]:
        head.append((t("macro.paper_tier"), tier_label(str(row["paper_tier"]), lang)))
    cells = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in head)
    profile = "".join(
        f"<tr><td>{esc(labels.get(c, c))}</td><td>{esc(_fmt(row[c]))}</td>"
        f"<td>{esc(_fmt(row[f'n_{c}']))}</td></tr>"
        for c in columns
    )
    heads = "".join(
        f"<th>{esc(t(k))}</th>" for k in ("macro.indicator", "macro.value", "macro.score")
    )
    return (
        f"<div style='font-size:12px'><b>{esc(name or str(row['unit']))}</b>"
        f"<table>{cells}</table><table><tr>{heads}</tr>{profile}</table></div>"
    )


def _write_map(
    path: Path,
    outcome: MacroResult,
    columns: Sequence[str],
    *,
    tiles: str | None,
    notes: str,
    map_assets: str = "inline",
    lang: str = "en",
) -> None:
    import folium
    from branca.element import Figure
    from shapely.geometry import mapping

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    units = outcome.units
    names = outcome.result.names
    labels = indicator_labels(lang)
    shown_names = unit_names(units, lang)
    fmap = folium.Map(tiles=tiles, control_scale=True)
    page_root = cast(Figure, fmap.get_root())  # a map's root is its page
    page_root.title = _esc(t("macro.page_title"))
    areas = folium.FeatureGroup(name=_esc(t("macro.units_layer")), show=True)
    markers = folium.FeatureGroup(name=_esc(t("macro.index_layer")), show=True)
    links = outcome.links
    shown = links.head(_MAP_LINKS)  # links are sorted strongest first
    label = (
        t("macro.links_layer")
        if len(shown) == len(links)
        else t("macro.links_some", shown=len(shown), total=len(links))
    )
    lines = folium.FeatureGroup(name=_esc(label), show=True)
    imin, imax = float(units["index"].min()), float(units["index"].max())
    span = imax - imin if imax > imin else 1.0
    for (_, row), unit_name in zip(units.iterrows(), shown_names, strict=True):
        colour = _tier_colour(int(row["tier_rank"]) - 1)
        popup = _popup_html(row, columns, labels, names, lang, unit_name)
        tooltip = _esc(f"{unit_name}: {tier_label(str(row['tier']), lang)}")
        if row.geometry.geom_type != "Point":
            area = folium.GeoJson(
                mapping(row.geometry),
                style_function=lambda _f, c=colour: {
                    "color": c,
                    "weight": 1,
                    "fillColor": c,
                    "fillOpacity": 0.35,
                },
                tooltip=tooltip,
            )
            folium.Popup(popup, max_width=420).add_to(area)
            area.add_to(areas)
        folium.CircleMarker(
            location=(float(row["lat"]), float(row["lon"])),
            radius=5 + 20 * (float(row["index"]) - imin) / span,
            color=colour,
            weight=2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.8,
            tooltip=tooltip,
            popup=folium.Popup(popup, max_width=420),
        ).add_to(markers)
    if len(shown):
        smax = float(shown["strength"].max())
        for _, row in shown.iterrows():
            strong = row["class"] == "strong"
            coords = [(lat, lon) for lon, lat in row.geometry.coords]
            folium.PolyLine(
                coords,
                weight=1 + 7 * float(row["strength"]) / smax,
                color="#333333" if strong else "#999999",
                opacity=0.8 if strong else 0.5,
                dash_array=None if strong else "4 6",
                tooltip=_esc(
                    t(
                        "macro.link_tooltip",
                        source=row["source"],
                        target=row["target"],
                        strength_class=t("macro.strong") if strong else t("macro.weak"),
                        kind=text(f"link.{row['type']}", lang)
                        if f"link.{row['type']}" in TEXTS
                        else row["type"],
                        strength=f"{row['strength']:.3g}",
                    )
                ),
            ).add_to(lines)
    areas.add_to(fmap)
    lines.add_to(fmap)
    markers.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend = "".join(
        f"<div><span style='display:inline-block;width:12px;height:12px;"
        f"background:{_tier_colour(i)};margin-right:6px'></span>"
        f"{_esc(tier_label(tier, lang))}</div>"
        for i, tier in enumerate(names)
    )
    box = (
        "position:absolute;bottom:28px;right:10px;z-index:1000;padding:6px 8px;"
        "background:rgba(255,255,255,0.9);border-radius:4px;font-size:12px;"
    )
    page_root.html.add_child(
        folium.Element(
            f"<div class='legend' style='{box}'><b>{_esc(t('macro.tier'))}</b>{legend}"
            f"<div style='margin-top:4px;max-width:260px'>{_esc(notes)}</div></div>"
        )
    )
    bounds = units.total_bounds
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    page = page_root.render()
    if map_assets == "inline":
        from gis.assets import inline_assets

        page = inline_assets(page)
    from gis.maps import add_page_css

    path.write_text(add_page_css(page, page_font_css), encoding="utf-8")


def _write_chart(path: Path, outcome: MacroResult, lang: str = "en") -> None:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    with matplotlib.rc_context({"font.family": chart_font_families()}):
        _draw_chart(path, outcome, lang, Figure, Patch)


def _draw_chart(path: Path, outcome: MacroResult, lang: str, figure: Any, patch: Any) -> None:
    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    units = outcome.units.sort_values("index", ascending=True)
    res = outcome.result
    n = len(units)
    values = units["index"].to_numpy(dtype=float)
    fig = figure(figsize=(8, max(3.0, 0.28 * min(n, 60) + 1.8)), dpi=120)
    ax = fig.add_subplot()
    colours = [_tier_colour(int(r) - 1) for r in units["tier_rank"]]
    if n <= 60:
        ax.barh(np.arange(n), values, color=colours)
        ax.set_yticks(np.arange(n), unit_names(units, lang), fontsize=8)
    else:
        ax.scatter(values, np.arange(n), c=colours, s=6)
        ax.set_ylabel(t("chart.ranked"))
    for b in res.breaks[:-1]:
        above = values[values > b]
        at = (b + above.min()) / 2 if above.size else b
        ax.axvline(at, color="0.3", linestyle="--", linewidth=0.8)
    handles = [
        patch(color=_tier_colour(i), label=tier_label(tier, lang))
        for i, tier in enumerate(res.names)
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8, title=t("chart.legend"))
    ax.set_xlabel(t("chart.xlabel"))
    ax.set_title(
        f"{t('chart.title', gvf=f'{res.gvf:.3f}')}\n{res.method.label.replace('/', ' / ')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)


#: Columns of ``tiers.gpkg`` with a name in :data:`layers.i18n.TEXTS` (``macro.<key>``).
_UNIT_FIELDS = {"tier": "macro.tier", "rank": "macro.rank", "index": "macro.index",
                "agreement": "macro.agreement", "paper_tier": "macro.paper_tier"}  # fmt: skip


def layer_styles(outcome: MacroResult, *, lang: str = "en") -> tuple[str, str]:
    """QGIS styles of ``tiers.gpkg`` and ``links.gpkg``, coloured as ``map.html``.

    Units are coloured by tier (the map's tier colours, in tier order); links by
    class, strong dark and weak light grey. Legend entries and field aliases are in
    ``lang`` (the values in the files stay as they are).
    """
    from gis.styles import vector_qml

    kinds = {str(t) for t in outcome.units.geom_type.dropna()}
    geometry = "point" if kinds and kinds <= {"Point", "MultiPoint"} else "polygon"
    tiers = {str(t): _tier_colour(i) for i, t in enumerate(outcome.result.names)}
    size = 3.0 if geometry == "point" else 0.4
    columns = set(outcome.units.columns)
    aliases = {c: text(k, lang) for c, k in _UNIT_FIELDS.items() if c in columns}
    aliases.update({c: lab for c, lab in indicator_labels(lang).items() if c in columns})
    units = vector_qml(geometry, field="tier", categories=tiers, width_mm=size,
                       opacity=0.6 if geometry == "polygon" else 1.0, aliases=aliases,
                       category_labels={t: tier_label(t, lang) for t in tiers})  # fmt: skip
    links = vector_qml(
        "line", colour="#999999", field="class",
        categories={"strong": "#333333", "weak": "#999999"}, width_mm=0.5, opacity=0.8,
        category_labels={k: text(f"macro.{k}", lang) for k in ("strong", "weak")},
        aliases={c: text(f"link.field.{c}", lang) for c in ("source", "target", "strength",
                 "class", "type") if c in outcome.links.columns},
    )  # fmt: skip
    return units, links


def write_outputs(
    outcome: MacroResult,
    out: str | Path,
    *,
    overwrite: bool,
    command: str | None,
    inputs: list[dict[str, Any]],
    extra: dict[str, Any],
    tiles: str | None,
    map_assets: str = "inline",
    lang: str = "en",
) -> None:
    """Write a run's files into ``out`` (all or nothing) and record them in ``outcome``.

    Parameters
    ----------
    outcome
        The run; its ``folder`` and ``files`` are set.
    out
        Output folder (new or empty unless ``overwrite``).
    overwrite
        Replace a non-empty folder.
    command, inputs, extra
        Recorded in ``manifest.json``.
    tiles, map_assets
        Base map and Leaflet assets of ``map.html`` (see :func:`layers.macro.run.run_macro`).
    lang
        Language of the map, chart, QGIS project and layer styles.
    """
    from gis.io import output_folder, write_geopackage, write_manifest
    from gis.qgis_project import ProjectLayer, write_qgis_project

    columns = list(outcome.settings["indicators"])
    note = text("macro.note_paper", lang) if outcome.paper else ""
    note += text("macro.note_geometry", lang, geometry=extra["geometry"])
    files_out = [
        "tiers.csv",
        "tiers.gpkg",
        "links.gpkg",
        "methods.csv",
        "map.html",
        "index_chart.png",
        "project.qgz",
    ]
    with output_folder(out, overwrite=overwrite) as stage:
        outcome.units.drop(columns="geometry").to_csv(stage / "tiers.csv", index=False)
        tiers_style, links_style = layer_styles(outcome, lang=lang)
        write_geopackage(stage / "tiers.gpkg", outcome.units, layer="tiers",
                         style_qml=tiers_style, style_name="innosite tiers")  # fmt: skip
        write_geopackage(stage / "links.gpkg", outcome.links, layer="links",
                         style_qml=links_style, style_name="innosite links")  # fmt: skip
        write_qgis_project(
            stage / "project.qgz",
            [ProjectLayer("links.gpkg", text("macro.links_layer", lang), layer="links"),
             ProjectLayer("tiers.gpkg", text("macro.units_layer", lang), layer="tiers")],
            crs=outcome.units.crs or 4326, title=text("macro.project_title", lang),
        )  # fmt: skip
        outcome.methods.to_csv(stage / "methods.csv", index=False)
        _write_map(
            stage / "map.html", outcome, columns, tiles=tiles, notes=note,
            map_assets=map_assets, lang=lang,
        )  # fmt: skip
        _write_chart(stage / "index_chart.png", outcome, lang)
        write_manifest(
            stage / "manifest.json",
            command=command,
            inputs=inputs,
            parameters=outcome.settings,
            outputs=files_out,
            extra=extra,
        )
    outcome.folder = Path(out).resolve()
    outcome.files = [*files_out, "manifest.json"]


# ------------------------------------------------------------------------------ report
def _pad(value: str, size: int, *, right: bool = False) -> str:
    """``value`` padded to ``size`` terminal columns (CJK characters take two)."""
    from layers.outputs.text import width

    fill = " " * max(0, size - width(value))
    return fill + value if right else value + fill


def format_report(outcome: MacroResult, *, max_rows: int = 40, lang: str | None = None) -> str:
    """Plain-text summary: tiers, method agreement, perturbation stability, outputs.

    In ``lang`` (default: the run's); the Chinese report names units and tiers in Chinese.
    """
    lang = lang or str(outcome.settings.get("lang", "en"))

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    res = outcome.result
    u = outcome.units.sort_values(["rank", "unit"])
    names = res.names
    lines = [
        t("mreport.head", n=len(u), method=res.method.label, gvf=f"{res.gvf:.3f}",
          breaks=", ".join(f"{b:.4g}" for b in res.breaks[:-1])),
    ]  # fmt: skip
    from layers.outputs.text import width as text_width

    shown = dict(zip(u.index, unit_names(u, lang), strict=True))
    width = min(max(text_width(x) for x in shown.values()), 44)
    tier_width = max(13, *(text_width(tier_label(n, lang)) for n in names))
    head = (
        f"{_pad(t('mreport.rank'), 4, right=True)}  {_pad(t('mreport.unit'), width)}  "
        f"{_pad(t('mreport.index'), 8, right=True)}  "
    )
    head += _pad(t("mreport.tier"), tier_width)
    if outcome.paper:
        head += "  " + _pad(t("mreport.paper"), tier_width)
    head += f"  {t('mreport.agree')}  " + "  ".join(f"P({tn[:3]})" for tn in names)
    lines += ["", head]
    for i, r in u.head(max_rows).iterrows():
        line = f"{int(r['rank']):>4}  {_pad(shown[i][:width], width)}  {r['index']:>8.4f}  " + _pad(
            tier_label(str(r["tier"]), lang), tier_width
        )
        if outcome.paper:
            line += "  " + _pad(tier_label(str(r["paper_tier"]), lang), tier_width)
        line += f"  {100 * r['agreement']:>4.0f}%  " + "  ".join(
            f"{100 * r[probability_column(t)]:>5.0f}%" for t in names
        )
        lines.append(line)
    if len(u) > max_rows:
        lines.append("  " + t("mreport.more", n=len(u) - max_rows))
    if "drivers" in u.columns:
        lines += ["", t("mreport.drivers")]
        for i, r in u.head(min(max_rows, 20)).iterrows():
            lines.append(f"{int(r['rank']):>4}  {_pad(shown[i][:width], width)}  {r['drivers']}")
    m = outcome.methods
    ran = m[m["error"] == ""]
    if outcome.paper:
        ok = bool((u["tier"] == u["paper_tier"]).all())
        answer = t("word.yes") if ok else t("mreport.no")
        lines += ["", t("mreport.reproduced", answer=answer)]
        rep = ran[ran["reproduces_paper"] == True]  # noqa: E712
        lines.append(t("mreport.reproducing", n=len(rep), total=len(ran)))
        for _, r in rep.iterrows():
            combo = f"{r['normalization']}/{r['weighting']}/{r['composite']}/{r['breaks']}"
            lines.append(f"  {t('word.yes')}  {combo}")
        by_breaks = ", ".join(
            f"{b} {int((g['reproduces_paper'] == False).sum())}/{len(g)}"  # noqa: E712
            for b, g in ran.groupby("breaks", sort=False)
        )
        lines.append(t("mreport.not_reproducing", n=len(ran) - len(rep), by_breaks=by_breaks))
    else:
        same = int(ran["matches_chosen"].sum())
        lines += ["", t("mreport.same_tiers", n=same, total=len(ran))]
    if len(m) > len(ran):
        lines.append(t("mreport.failed", n=len(m) - len(ran)))
    pert = outcome.settings["perturbation"]
    lines += [
        "",
        t("mreport.perturbation", draws=pert["draws"], concentration=f"{pert['concentration']:g}",
          seed=pert["seed"], share=f"{100 * outcome.reproduce_share:.0f}"),
    ]  # fmt: skip
    p_own = np.array([u.loc[i, probability_column(u.loc[i, "tier"])] for i in u.index])
    shaky = [int(i) for i in np.argsort(p_own, kind="stable")[:5] if p_own[i] < 0.95]
    if shaky:
        units = [shown[u.index[i]] for i in shaky]
        lines.append(
            t("mreport.least_stable")
            + "; ".join(
                f"{name} {100 * p_own[i]:.0f}% {tier_label(str(u['tier'].iloc[i]), lang)}"
                for name, i in zip(units, shaky, strict=True)
            )
        )
    else:
        lines.append(t("mreport.all_stable"))
    if res.method.composite == "pca":
        lines.append(t("mreport.pca"))
    links = outcome.links
    if len(links):
        strong = int((links["class"] == "strong").sum())
        lines.append("\n" + t("mreport.links", n=len(links), strong=strong))
    if outcome.folder is not None:
        lines += ["", t("mreport.outputs", folder=outcome.folder, files=", ".join(outcome.files))]
    return "\n".join(lines)
