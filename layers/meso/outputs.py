"""Writing a meso run (GeoTIFFs, GeoPackage, map, manifest; all or nothing) and its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gis.io import output_folder, write_geopackage, write_geotiff, write_manifest
from gis.maps import suitability_map
from layers.decision import decision_map_layers, write_decision_outputs
from layers.measures import MEASURES
from layers.outputs.styles import candidates_qml, raster_style
from layers.outputs.text import table as _table

__all__ = [
    "candidates_text",
    "crs_label",
    "layers_text",
    "meso_summary",
    "popup_fields",
    "write_meso_outputs",
]

#: Candidate columns shown in the map popups.
POPUP_FIELDS: tuple[str, ...] = (
    "rank", "area_ha", "mean_score", "nearest_city", "nearest_city_km", "macro_unit",
    "macro_tier", "macro_km",
)  # fmt: skip


def popup_fields(candidates: Any) -> list[str]:
    """Popup columns of the candidate zones: :data:`POPUP_FIELDS` and the explanations."""
    explained = ("contrib_", "weight_", "raw_", "mc_")
    return [f for f in POPUP_FIELDS if f in candidates.columns] + [
        c for c in candidates.columns if c.startswith(explained)
    ]


def _masked(array: np.ndarray, inside: np.ndarray) -> np.ndarray:
    return np.where(inside, array, np.float32(np.nan)).astype("float32", copy=False)


def _availability_notes(result: Any) -> list[str]:
    lines = []
    for row in result.layer_table():
        if row["status"] == "ok":
            lines.append(f"{row['title']}: used (weight {row['weight']:.2f})")
        else:
            lines.append(f"{row['title']}: {row['status']} - {row['note']}")
    return lines


def write_meso_outputs(
    result: Any,
    config: Any,
    *,
    out: Path,
    parameters: dict[str, Any],
    overwrite: bool = False,
    command: str | None = None,
) -> dict[str, Path]:
    """Write every output of a :class:`layers.meso.run.MesoResult` into ``out``.

    Files go to a staging folder that replaces ``out`` only when all are written.

    Returns
    -------
    dict
        Role -> final path (``suitability``, ``candidates``, ``map``, ``manifest``,
        ``factor:<layer>``, ``raw:<measure>``).
    """
    from layers.outputs.report_html import write_report

    grid, inside = result.grid, result.inside
    data = result.data
    rel: dict[str, str] = {}
    with output_folder(out, overwrite=overwrite) as stage:
        (stage / "raw").mkdir()
        write_geotiff(
            stage / "suitability.tif", result.suitability, grid,
            description="innovation-centre suitability, meso scale (0-1)", units="score",
            tags={"weights": str(result.weights), "region": str(data.region.get("name"))},
        )  # fmt: skip
        raster_style(stage / "suitability.tif", result.suitability, score=True)
        rel["suitability"] = "suitability.tif"
        for fr in result.factors:
            if fr.score is not None:
                name = f"{fr.factor.name}.tif"
                write_geotiff(
                    stage / name, _masked(fr.score, inside), grid,
                    description=f"{fr.factor.title} score (0-1)", units="score",
                    tags={"layer": fr.factor.name, "status": fr.status,
                          "weight": f"{result.weights.get(fr.factor.name, 0.0):.6f}"},
                )  # fmt: skip
                raster_style(stage / name, fr.score, score=True)
                rel[f"factor:{fr.factor.name}"] = name
            for cr in fr.criteria:
                layers = {}
                if cr.raw is not None:
                    layers[cr.criterion.name] = (
                        cr.raw,
                        MEASURES[cr.criterion.measure].units,
                        cr.criterion.description or cr.criterion.name,
                    )
                layers.update(cr.extra)
                for raw_name, (array, units, description) in layers.items():
                    name = f"raw/{raw_name}.tif"
                    masked = _masked(array, inside)
                    write_geotiff(
                        stage / name, masked, grid,
                        description=description, units=units,
                        tags={"measure": raw_name, "features": str(cr.count)},
                    )  # fmt: skip
                    raster_style(stage / name, masked, score=False)
                    del masked
                    rel[f"raw:{raw_name}"] = name
        titles = {fr.factor.name: fr.factor.title for fr in result.factors}
        write_geopackage(
            stage / "candidates.gpkg", result.candidates, layer="candidates",
            style_qml=candidates_qml({k: v for k, v in titles.items()
                                      if k in result.candidates.columns}),
            style_name="innosite candidates",
        )  # fmt: skip
        rel["candidates"] = "candidates.gpkg"
        rel.update(write_decision_outputs(stage, result, grid))
        maps = {fr.factor.title: _masked(fr.score, inside)
                for fr in result.factors if fr.score is not None}  # fmt: skip
        maps.update(decision_map_layers(result))
        notes = [
            f"Region: {data.region.get('name')} ({data.region.get('geometry_source')})",
            *_availability_notes(result),
            "Data: GeoNames (CC BY 4.0), airportsdata (MIT)"
            + (", OpenStreetMap (ODbL)" if data.osm is not None else "")
            + "; centres after Zhang (2022)",
        ]
        suitability_map(
            stage / "map.html", grid, composite=result.suitability, layers=maps,
            candidates=result.candidates,
            candidate_fields=popup_fields(result.candidates),
            title="Innovation-centre suitability (meso)", tiles=config.tiles, notes=notes,
            assets=config.map_assets,
        )  # fmt: skip
        rel["map"] = "map.html"
        write_report(stage / "report.html", result, config, scale="meso",
                     files={**rel, "manifest": "manifest.json"}, command=command)  # fmt: skip
        rel["report"] = "report.html"
        inputs = list(data.sources)
        for role, path in (("area", config.area_file), ("exclude", config.exclude_file)):
            if path is not None:
                inputs.append({"role": role, "path": str(path)})
        write_manifest(
            stage / "manifest.json",
            command=command,
            inputs=inputs,
            parameters=parameters,
            outputs=sorted(
                [
                    *rel.values(),
                    *(
                        Path(n).with_suffix(".qml").as_posix()
                        for n in rel.values()
                        if n.endswith(".tif")
                    ),
                ]
            ),
            extra={
                "scale": "meso",
                "region": data.region,
                "grid": {
                    "crs": grid.crs.to_string(),
                    "cell_size_m": grid.cell_size,
                    "shape": list(grid.shape),
                    "bounds": list(grid.bounds),
                    "cells_in_region": int(inside.sum()),
                },
                "weights_used": result.weights,
                "layers": result.layer_table(),
                "population": result.population_info,
                "warnings": result.warnings,
                "notes": data.notes,
                "candidates": len(result.candidates),
                "seconds": result.timings,
                "decision": result.decision.info if result.decision is not None else None,
            },
        )
        rel["manifest"] = "manifest.json"
    return {role: Path(out) / name for role, name in rel.items()}


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
    g = result.grid
    data = result.data
    region = data.region
    lines = [
        f"Region: {region.get('name')} - {region.get('geometry_source')}",
        f"Grid: {g.height:,} x {g.width:,} cells of {g.cell_size:g} m in {crs_label(g.crs)}; "
        f"{int(result.inside.sum()):,} cells in the region",
        "",
        "Layers (which were available and what they used):",
    ]
    lines.append(layers_text(result.layer_table()))
    for note in data.notes:
        lines.append(f"note: {note}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    lines += ["", candidates_text(result.candidates, head=5)]
    lines += ["", "Outputs:"]
    for role in ("map", "suitability", "candidates", "manifest"):
        if role in paths:
            lines.append(f"  {role:12s} {paths[role]}")
    n_factor = sum(1 for k in paths if k.startswith("factor:"))
    n_raw = sum(1 for k in paths if k.startswith("raw:"))
    if paths:
        folder = Path(paths["manifest"]).parent
        lines.append(f"  {n_factor} layer score GeoTIFFs and {n_raw} raw measures in {folder}")
        lines.append(f"Open {paths.get('map')} in a browser; load the .tif/.gpkg files in QGIS.")
    return "\n".join(lines)
