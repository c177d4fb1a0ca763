"""GeoPackage layers for desktop GIS, with an optional default QGIS style.

The file is written through :func:`gis.io.folders.atomic_file`, so a failure leaves
the previous file (or nothing) in place.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gis.errors import InputError
from gis.io.folders import atomic_file, check_output_file
from gis.io.manifest import jsonable

__all__ = ["write_geopackage"]


def write_geopackage(
    path: str | os.PathLike,
    gdf: Any,
    *,
    layer: str,
    mode: Literal["w", "a"] = "w",
    style_qml: str | None = None,
    style_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a GeoDataFrame as a layer of a GeoPackage.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    gdf
        A GeoDataFrame with a CRS. Columns holding lists, dicts or other objects
        are written as text (JSON for lists and dicts); the input is not modified.
    layer
        Layer name (non-empty).
    mode
        ``"w"`` writes a new file (an existing file is replaced only with
        ``overwrite=True``); ``"a"`` adds the layer to an existing file, or appends
        its features when the layer already exists.
    style_qml
        A QGIS style (``.qml`` document text) stored in the ``layer_styles`` table
        as the layer's default style, so QGIS shows the layer styled on opening.
    style_name
        Name of that style; defaults to the layer name.
    overwrite
        With ``mode="w"``, replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        On an empty layer name, an unknown mode, or a frame without geometry or CRS.
    OutputExistsError
        With ``mode="w"`` if the file exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, pyogrio
    >>> from shapely import box
    >>> gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=32635)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geopackage(Path(tmp) / "x.gpkg", gdf, layer="sites")
    ...     pyogrio.list_layers(p).tolist()
    [['sites', 'Polygon']]
    """
    if not isinstance(layer, str) or not layer.strip():
        raise InputError(f"GeoPackage layer name must be a non-empty string, got {layer!r}")
    if mode not in ("w", "a"):
        raise InputError(f"mode must be 'w' (new file) or 'a' (add to a file), got {mode!r}")
    if style_qml is not None and (not isinstance(style_qml, str) or not style_qml.strip()):
        raise InputError("style_qml must be the non-empty text of a QGIS .qml style")
    frame = _writable_frame(gdf, layer)
    if mode == "w":
        target = check_output_file(path, overwrite=overwrite)
    else:
        target = check_output_file(path, overwrite=True)
    with atomic_file(target, copy_existing=(mode == "a")) as tmp:
        new = not tmp.exists()
        # GeoPackage 1.2 opens without a version warning in older QGIS (3.22 LTR)
        options = {"dataset_options": {"VERSION": "1.2"}} if new else {}
        frame.to_file(
            tmp, layer=layer, driver="GPKG", engine="pyogrio", mode="w" if new else "a", **options
        )
        if style_qml is not None:
            _store_qgis_style(tmp, layer, style_qml, style_name or layer)
    return target


def _writable_frame(gdf: Any, layer: str) -> Any:
    """A copy of ``gdf`` with text-safe object columns, or InputError if unusable."""
    import geopandas as gpd

    try:
        has_geometry = isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry is not None
    except AttributeError:
        has_geometry = False
    if not has_geometry:
        raise InputError(
            f"layer {layer!r}: give a GeoDataFrame with a geometry column, got {type(gdf).__name__}"
        )
    if gdf.crs is None:
        raise InputError(f"layer {layer!r} has no CRS; set one with gdf.set_crs(...)")
    frame = gdf.copy()
    frame.columns = [str(c) for c in frame.columns]
    geometry = frame.geometry.name
    if len(set(c.lower() for c in frame.columns)) != len(frame.columns):
        raise InputError(
            f"layer {layer!r} has column names differing only in case; GeoPackage needs "
            "case-insensitively unique names"
        )
    for column in frame.columns:
        if column != geometry and frame[column].dtype == object:
            frame[column] = frame[column].map(_as_text).astype(object)
    return frame


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping | list | tuple | set | np.ndarray):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return str(value)


_LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "f_table_catalog" TEXT(256),
    "f_table_schema" TEXT(256),
    "f_table_name" TEXT(256),
    "f_geometry_column" TEXT(256),
    "styleName" TEXT(30),
    "styleQML" TEXT,
    "styleSLD" TEXT,
    "useAsDefault" BOOLEAN,
    "description" TEXT,
    "owner" TEXT(30),
    "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""


def _store_qgis_style(gpkg: Path, layer: str, qml: str, name: str) -> None:
    """Store ``qml`` as the default QGIS style of ``layer`` in the GeoPackage ``layer_styles``."""
    con = sqlite3.connect(gpkg)
    try:
        with con:
            row = con.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            geometry_column = row[0] if row else ""
            exists = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'"
            ).fetchone()
            if not exists:
                con.execute(_LAYER_STYLES_SQL)
                con.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', "
                    "strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
                )
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
                (layer, geometry_column, name, qml, f"Default style for {layer}"),
            )
    finally:
        con.close()
