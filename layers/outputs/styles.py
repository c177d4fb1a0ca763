"""QGIS styles of the outputs of every raster scale: ``.qml`` side-cars and candidate styles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gis.maps import COLORMAP_ANCHORS
from gis.styles import polygon_qml, raster_qml
from layers.i18n import text

__all__ = ["candidate_aliases", "candidates_qml", "raster_style"]

#: Candidate columns with a name of their own (``field.<column>`` in :data:`layers.i18n.TEXTS`).
CANDIDATE_FIELDS: tuple[str, ...] = ("rank", "area_ha", "n_cells", "mean_score", "max_score")


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


def candidate_aliases(titles: Mapping[str, str], *, lang: str = "en") -> dict[str, str]:
    """Names of the candidate columns in ``lang``: QGIS field aliases and map popup rows.

    ``titles`` maps factor names (columns) to their titles.

    Examples
    --------
    >>> candidate_aliases({"edge": "中心城区边缘"}, lang="zh")["edge"]
    '中心城区边缘（平均得分）'
    """
    return {
        **{name: text(f"field.{name}", lang) for name in CANDIDATE_FIELDS},
        **{name: text("field.factor_mean", lang, title=t) for name, t in titles.items()},
    }


def candidates_qml(titles: Mapping[str, str], *, lang: str = "en") -> str:
    """QGIS style of the candidate regions: red outlines labelled with the rank.

    ``titles`` maps factor names (columns) to their titles; the field aliases shown in
    QGIS are :func:`candidate_aliases` in ``lang``.
    """
    return polygon_qml(label_field="rank", aliases=candidate_aliases(titles, lang=lang))
