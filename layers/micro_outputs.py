"""Writing a micro run: GeoTIFFs, GeoPackage, folium map and manifest, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gis.io import output_folder, write_geopackage, write_geotiff, write_manifest
from gis.maps import suitability_map

__all__ = ["write_micro_outputs"]


def _masked(array: np.ndarray, inside: np.ndarray) -> np.ndarray:
    return np.where(inside, array, np.float32(np.nan)).astype("float32", copy=False)


def write_micro_outputs(
    result: Any,
    config: Any,
    *,
    out: Path,
    overwrite: bool = False,
    command: str | None = None,
) -> dict[str, Path]:
    """Write every output of a :class:`layers.micro.MicroResult` into ``out``.

    Files go to a staging folder that replaces ``out`` only when all are written.

    Returns
    -------
    dict
        Role → final path (``suitability``, ``candidates``, ``map``, ``manifest``,
        ``factor:<name>``, ``raw:<criterion>``).
    """
    from layers.micro import config_dict

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
                    units=cr.criterion.units,
                    tags={"criterion": cr.criterion.name, "features": str(cr.count)},
                )
                rel[f"raw:{cr.criterion.name}"] = name
        write_geopackage(stage / "candidates.gpkg", result.candidates, layer="candidates")
        rel["candidates"] = "candidates.gpkg"
        titles = {fr.factor.name: fr.factor.title for fr in result.factors}
        layers = {
            titles[fr.factor.name]: _masked(fr.score, inside)
            for fr in result.factors
            if fr.score is not None
        }
        suitability_map(
            stage / "map.html",
            grid,
            composite=result.suitability,
            layers=layers,
            candidates=result.candidates,
            title="Innovation-district suitability",
            tiles=config.tiles,
        )
        rel["map"] = "map.html"
        inputs = [{"role": "osm", **result.osm.source}]
        for role, path in (("area", config.area_file), ("exclude", config.exclude_file)):
            if path is not None:
                inputs.append({"role": role, "path": str(path)})
        write_manifest(
            stage / "manifest.json",
            command=command,
            inputs=inputs,
            parameters=config_dict(config),
            outputs=sorted(rel.values()),
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
            },
        )
        rel["manifest"] = "manifest.json"
    return {role: Path(out) / name for role, name in rel.items()}
