"""What a meso or national run prints: its layers, candidate zones and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layers.outputs.text import outputs_text
from layers.outputs.text import table as _table

__all__ = [
    "POPUP_FIELDS",
    "availability_notes",
    "candidates_text",
    "crs_label",
    "layers_text",
    "meso_summary",
]

#: Candidate columns shown in the map popups.
POPUP_FIELDS: tuple[str, ...] = (
    "rank", "area_ha", "mean_score", "nearest_city", "nearest_city_km", "macro_unit",
    "macro_tier", "macro_km",
)  # fmt: skip


def availability_notes(result: Any) -> list[str]:
    """One line per layer: used with its weight, or why not."""
    lines = []
    for row in result.layer_table():
        if row["status"] == "ok":
            lines.append(f"{row['title']}: used (weight {row['weight']:.2f})")
        else:
            lines.append(f"{row['title']}: {row['status']} - {row['note']}")
    return lines


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


_STATUS_WORDS = {"ok": "used", "unavailable": "not available", "drop": "empty -> dropped",
                 "zero": "empty -> 0"}  # fmt: skip


def layers_text(rows: list[dict[str, Any]]) -> str:
    """The layers of a run as a table: status in words, weight, source or note (cut at 90)."""
    body = []
    for r in rows:
        note = r["note"] if len(r["note"]) <= 90 else r["note"][:87] + "..."
        body.append([r["layer"], _STATUS_WORDS.get(r["status"], r["status"]),
                     f"{r.get('weight', 0.0):.3f}", note])  # fmt: skip
    return _table(body, ["layer", "status", "weight", "source / note"])


def candidates_text(cands: Any, *, head: int, km2: bool = False) -> str:
    """How many candidate zones, and the first ``head`` as a table (area in ha or km²)."""
    lines = [f"Candidate zones: {len(cands)}"]
    if len(cands):
        scale, unit = (100.0, "km2") if km2 else (1.0, "ha")
        rows = [
            [str(int(r["rank"])), f"{r['area_ha'] / scale:,.0f}", f"{r['mean_score']:.3f}",
             str(r["nearest_city"]), f"{r['nearest_city_km']:.1f}",
             f"{r['macro_unit']} ({r['macro_tier']})" if r["macro_unit"] else "-"]
            for _, r in cands.head(head).iterrows()
        ]  # fmt: skip
        lines.append(_table(rows, ["rank", unit, "score", "nearest city", "km", "macro centre"]))
    return "\n".join(lines)


def meso_summary(result: Any, paths: dict[str, Path]) -> str:
    """What a meso run found, which layers were available, and where its outputs are."""
    from layers.outputs.text import checks_text

    g = result.grid
    data = result.data
    region = data.region
    lines = [
        f"Region: {region.get('name')} - {region.get('geometry_source')}",
        f"Grid: {g.height:,} x {g.width:,} cells of {g.cell_size:g} m in {crs_label(g.crs)}; "
        f"{int(result.inside.sum()):,} cells in the region",
        *checks_text(getattr(result, "checks", None) or {}),
        "",
        "Layers (which were available and what they used):",
    ]
    lines.append(layers_text(result.layer_table()))
    for note in data.notes:
        lines.append(f"note: {note}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    lines += ["", candidates_text(result.candidates, head=5)]
    lines += ["", *outputs_text(paths, noun="layer")]
    return "\n".join(lines)
