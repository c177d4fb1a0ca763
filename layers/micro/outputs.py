"""Writing a micro run: GeoTIFFs, GeoPackage, folium map and manifest, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gis.io import output_folder, write_geopackage, write_geotiff, write_manifest
from gis.maps import suitability_map
from layers.decision import decision_map_layers, write_decision_outputs
from layers.measures import MEASURES
from layers.outputs.styles import candidates_qml, raster_style

__all__ = ["write_micro_outputs"]


def _masked(array: np.ndarray, inside: np.ndarray) -> np.ndarray:
    return np.where(inside, array, np.float32(np.nan)).astype("float32", copy=False)


def write_micro_outputs(
    result: Any,
    config: Any,
    *,
    out: Path,
    parameters: dict[str, Any],
    overwrite: bool = False,
    command: str | None = None,
) -> dict[str, Path]:
    """Write every output of a :class:`layers.micro.run.MicroResult` into ``out``.

    Files go to a staging folder that replaces ``out`` only when all are written.
    Every GeoTIFF gets a QGIS ``.qml`` side-car and ``candidates.gpkg`` its QGIS
    style in ``layer_styles``; ``report.html`` summarises the run.

    Returns
    -------
    dict
        Role → final path (``suitability``, ``candidates``, ``map``, ``report``,
        ``manifest``, ``factor:<name>``, ``raw:<criterion>``).
    """
    from layers.outputs.report_html import write_report

    grid, inside = result.grid, result.inside
    rel: dict[str, str] = {}
    with output_folder(out, overwrite=overwrite) as stage:
        (stage / "raw").mkdir()
        write_geotiff(
            stage / "suitability.tif",
            result.suitability,
            grid,
            description="innovation-district suitability (0-1)",
            units="score",
            tags={"weights": str(result.weights)},
        )
        raster_style(stage / "suitability.tif", result.suitability, score=True)
        rel["suitability"] = "suitability.tif"
        for fr in result.factors:
            if fr.score is not None:
                name = f"{fr.factor.name}.tif"
                write_geotiff(
                    stage / name,
                    _masked(fr.score, inside),
                    grid,
                    description=f"{fr.factor.title} score (0-1)",
                    units="score",
                    tags={
                        "factor": fr.factor.name,
                        "weight": f"{result.weights.get(fr.factor.name, 0.0):.6f}",
                        "status": fr.status,
                    },
                )
                raster_style(stage / name, fr.score, score=True)
                rel[f"factor:{fr.factor.name}"] = name
            for cr in fr.criteria:
                if cr.raw is None:
                    continue
                name = f"raw/{cr.criterion.name}.tif"
                write_geotiff(
                    stage / name,
                    _masked(cr.raw, inside),
                    grid,
                    description=cr.criterion.description or cr.criterion.name,
                    units=MEASURES[cr.criterion.measure].units,
                    tags={"criterion": cr.criterion.name, "features": str(cr.count)},
                )
                raster_style(stage / name, _masked(cr.raw, inside), score=False)
                rel[f"raw:{cr.criterion.name}"] = name
        titles = {fr.factor.name: fr.factor.title for fr in result.factors}
        write_geopackage(
            stage / "candidates.gpkg",
            result.candidates,
            layer="candidates",
            style_qml=candidates_qml(
                {k: v for k, v in titles.items() if k in result.candidates.columns}
            ),
            style_name="innosite candidates",
        )
        rel["candidates"] = "candidates.gpkg"
        rel.update(write_decision_outputs(stage, result, grid))
        layers = {
            titles[fr.factor.name]: _masked(fr.score, inside)
            for fr in result.factors
            if fr.score is not None
        }
        layers.update(decision_map_layers(result))
        suitability_map(
            stage / "map.html",
            grid,
            composite=result.suitability,
            layers=layers,
            candidates=result.candidates,
            title=config.title,
            tiles=config.tiles,
            assets=config.map_assets,
        )
        rel["map"] = "map.html"
        write_report(
            stage / "report.html",
            result,
            config,
            files={**rel, "manifest": "manifest.json"},
            command=command,
        )
        rel["report"] = "report.html"
        inputs = [{"role": "osm", **result.osm.source}]
        for role, path in (
            ("area", config.area_file),
            ("exclude", config.exclude_file),
            ("ahp", config.decision.ahp_file),
            ("existing", config.decision.existing_file),
        ):
            if path is not None:
                inputs.append({"role": role, "path": str(path)})
        write_manifest(
            stage / "manifest.json",
            command=command,
            inputs=inputs,
            parameters=parameters,
            outputs=sorted(
                [*rel.values(), *(Path(n).with_suffix(".qml").as_posix() for n in _tifs(rel))]
            ),
            extra={
                "scale": "micro",
                "grid": {
                    "crs": grid.crs.to_string(),
                    "cell_size_m": grid.cell_size,
                    "shape": list(grid.shape),
                    "bounds": list(grid.bounds),
                },
                "weights_used": result.weights,
                "coverage": result.coverage_table(),
                "center": result.center,
                "network": result.network,
                "osm_data_date": result.osm.source.get("osm_data_date"),
                "candidates": len(result.candidates),
                "decision": result.decision.info if result.decision is not None else None,
            },
        )
        rel["manifest"] = "manifest.json"
    return {role: Path(out) / name for role, name in rel.items()}


def _tifs(rel: dict[str, str]) -> list[str]:
    return [name for name in rel.values() if name.endswith(".tif")]
