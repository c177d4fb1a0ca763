"""What a meso or national run prints and notes on its map, in English or Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layers.i18n import TEXTS, localise, text, tier_label
from layers.outputs.text import checks_text, outputs_text
from layers.outputs.text import table as _table

__all__ = [
    "POPUP_FIELDS",
    "availability_notes",
    "candidates_text",
    "crs_label",
    "layers_text",
    "map_notes",
    "meso_summary",
    "status_word",
]

#: Candidate columns shown in the map popups.
POPUP_FIELDS: tuple[str, ...] = (
    "rank", "area_ha", "mean_score", "nearest_city", "nearest_city_km", "macro_unit",
    "macro_tier", "macro_km",
)  # fmt: skip


def availability_notes(result: Any, *, lang: str = "en") -> list[str]:
    """One line per layer, in ``lang``: used with its weight, or why not.

    The title of a layer of the paper is its term in ``lang``; a layer's own note (what
    its data held) is shown as the data gave it.
    """
    lines = []
    for row in result.layer_table():
        title = localise(row["title"], lang)
        if row["status"] == "ok":
            lines.append(text("note.layer_used", lang, title=title, weight=f"{row['weight']:.2f}"))
        else:
            status = status_word(row["status"], lang)
            lines.append(text("note.layer_other", lang, title=title, status=status,
                              note=row["note"]))  # fmt: skip
    return lines


def map_notes(result: Any, *, lang: str = "en", water_share: float | None = None) -> list[str]:
    """The notes under a meso run's map, in ``lang``: region, layers, water, data sources.

    ``water_share`` is the share of the region left out as Natural Earth water (None:
    no water mask).
    """
    data = result.data
    region = data.region
    osm = text("note.osm_source", lang) if data.osm is not None else ""
    water = []
    if water_share is not None:
        water = [text("note.water", lang, share=f"{water_share:.1%}")]
        osm += text("note.water_source", lang)
    return [
        text("note.region", lang, name=region.get("name"), source=region.get("geometry_source")),
        *availability_notes(result, lang=lang),
        *water,
        text("note.data_meso", lang, osm=osm),
    ]


def crs_label(crs: Any) -> str:
    """A short name for a CRS: its EPSG code, or the projection and its central meridian.

    Examples
    --------
    >>> from pyproj import CRS
    >>> crs_label(CRS.from_epsg(32650))
    'EPSG:32650'
    >>> crs_label(CRS.from_proj4("+proj=tmerc +lon_0=114.3 +k=1 +x_0=500000 +datum=WGS84"))
    'Transverse Mercator on 114.3°E (WGS 84)'
    """
    code = crs.to_epsg()
    if code:
        return f"EPSG:{code}"
    op = crs.coordinate_operation
    lon0 = next((p.value for p in (op.params if op else []) if "Longitude" in p.name), None)
    if op is None or lon0 is None:
        return crs.name
    side = "E" if lon0 >= 0 else "W"
    datum = crs.datum.name.replace("World Geodetic System 1984", "WGS 84")
    return f"{op.method_name} on {abs(lon0):g}°{side} ({datum})"


def status_word(status: str, lang: str = "en") -> str:
    """A layer's status in words, in ``lang`` (``"ok"`` -> ``"used"``).

    Examples
    --------
    >>> status_word("drop"), status_word("unavailable", "zh")
    ('empty -> dropped', '不可用')
    """
    key = f"status.{status}"
    return text(key, lang) if key in TEXTS else status


def layers_text(rows: list[dict[str, Any]], *, lang: str = "en") -> str:
    """The layers of a run as a table: status in words, weight, source or note (cut at 90).

    In Chinese a layer of the paper shows its Chinese term before its name, which stays
    the one to give to ``--weight``.
    """
    body = []
    for r in rows:
        note = r["note"] if len(r["note"]) <= 90 else r["note"][:87] + "..."
        name = r["layer"]
        title = localise(r.get("title", name), lang)
        if lang != "en" and title != r.get("title", name):
            name = f"{title} ({name})"
        body.append([name, status_word(r["status"], lang), f"{r.get('weight', 0.0):.3f}", note])
    header = [text(f"summary.col_{k}", lang) for k in ("layer", "status", "weight", "note")]
    return _table(body, header)


def candidates_text(cands: Any, *, head: int, km2: bool = False, lang: str = "en") -> str:
    """How many candidate zones, and the first ``head`` as a table (area in ha or km²)."""
    lines = [text("summary.candidate_zones", lang, n=len(cands))]
    if len(cands):
        scale, unit = (100.0, "summary.col_km2") if km2 else (1.0, "summary.col_ha")
        rows = [
            [str(int(r["rank"])), f"{r['area_ha'] / scale:,.0f}", f"{r['mean_score']:.3f}",
             str(r["nearest_city"]), f"{r['nearest_city_km']:.1f}",
             f"{r['macro_unit']} ({tier_label(str(r['macro_tier']), lang)})"
             if r["macro_unit"] else "-"]
            for _, r in cands.head(head).iterrows()
        ]  # fmt: skip
        keys = ("report.col_rank", unit, "summary.col_score", "summary.col_nearest_city",
                "summary.col_km", "summary.col_macro_centre")  # fmt: skip
        lines.append(_table(rows, [text(k, lang) for k in keys]))
    return "\n".join(lines)


def meso_summary(result: Any, paths: dict[str, Path], *, lang: str = "en") -> str:
    """What a meso run found, which layers were available and where its outputs are, in ``lang``.

    The notes and warnings of the data are shown as the data gave them.
    """
    g = result.grid
    region = result.data.region
    lines = [
        text("summary.region", lang, name=region.get("name"),
             source=region.get("geometry_source")),
        text("summary.grid_region", lang, height=f"{g.height:,}", width=f"{g.width:,}",
             cell=f"{g.cell_size:g}", crs=crs_label(g.crs),
             inside=f"{int(result.inside.sum()):,}"),
        *checks_text(getattr(result, "checks", None) or {}, lang=lang),
        "",
        text("summary.layers_used", lang),
    ]  # fmt: skip
    lines.append(layers_text(result.layer_table(), lang=lang))
    lines += [text("summary.note_line", lang, note=note) for note in result.data.notes]
    lines += [text("summary.warning_line", lang, message=w) for w in result.warnings]
    lines += ["", candidates_text(result.candidates, head=5, lang=lang)]
    lines += ["", *outputs_text(paths, noun="layer", lang=lang)]
    return "\n".join(lines)
