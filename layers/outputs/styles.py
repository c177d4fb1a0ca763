"""QGIS styles of the outputs of every raster scale: ``.qml`` side-cars and candidate styles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gis.maps import COLORMAP_ANCHORS
from gis.styles import polygon_qml, raster_qml

__all__ = ["candidates_qml", "raster_style"]


def raster_style(tif: Path, array: np.ndarray, *, score: bool) -> Path:
    """Write a ``.qml`` side-car next to ``tif``: viridis 0-1 for scores, magma over the data.

    Returns
    -------
    pathlib.Path
        The written style.
    """
    if score:
        qml = raster_qml(list(COLORMAP_ANCHORS["viridis"]), vmin=0.0, vmax=1.0)
    else:
        finite = array[np.isfinite(array)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if not lo < hi:
            hi = lo + 1.0
        qml = raster_qml(list(COLORMAP_ANCHORS["magma"]), vmin=lo, vmax=hi)
    path = tif.with_suffix(".qml")
    path.write_text(qml, encoding="utf-8")
    return path


def candidates_qml(titles: dict[str, str]) -> str:
    """QGIS style of the candidate regions: red outlines labelled with the rank.

    ``titles`` maps factor names (columns) to the aliases shown in QGIS.
    """
    aliases = {
        "rank": "Rank",
        "area_ha": "Area (ha)",
        "n_cells": "Cells",
        "mean_score": "Mean suitability",
        "max_score": "Max suitability",
        **{name: f"{title} (mean score)" for name, title in titles.items()},
    }
    return polygon_qml(label_field="rank", aliases=aliases)
