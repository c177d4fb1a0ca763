"""QGIS project files (``.qgz``) that open a folder of outputs as styled layers.

A ``.qgz`` is a zip holding one ``.qgs`` XML document. The document written here
lists every layer with its data source relative to the project file (the folder
can be moved or shared as a whole), its style and its place in the layer tree
(top-level layers and groups, top first); the project CRS is the given CRS.

Styles come from the files themselves: the ``.qml`` side-car of a raster
(``suitability.tif`` + ``suitability.qml``) and the default style of a GeoPackage
layer in its ``layer_styles`` table; a layer without one opens in QGIS's default
style. QGIS itself is not needed to write the project.

Examples
--------
>>> import tempfile, zipfile, numpy as np
>>> from pathlib import Path
>>> from gis.grid import Grid
>>> from gis.io import write_geotiff
>>> with tempfile.TemporaryDirectory() as tmp:
...     g = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=32635)
...     _ = write_geotiff(Path(tmp, "a.tif"), np.zeros(g.shape, "float32"), g, description="a")
...     p = write_qgis_project(Path(tmp, "project.qgz"), [ProjectLayer("a.tif", "A")],
...                            crs=g.crs, title="demo")
...     names = zipfile.ZipFile(p).namelist()
>>> names
['project.qgs']
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

from gis.errors import InputError

__all__ = ["ProjectLayer", "layer_style", "project_document", "write_qgis_project"]

_RASTERS = (".tif", ".tiff", ".vrt")
_VECTORS = (".gpkg", ".shp", ".geojson", ".fgb")
_GEOMETRY_NAMES = {0: "Point", 1: "Line", 2: "Polygon"}


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of a project.

    Parameters
    ----------
    path
        The file, relative to the project's folder (``"raw/density.tif"``).
    name
        The layer's name in QGIS.
    group
        The layer-tree group that holds it; None for a top-level layer.
    layer
        The layer inside a multi-layer file (a GeoPackage layer); None for the first.
    visible
        Whether the layer is switched on when the project opens.
    """

    path: str
    name: str
    group: str | None = None
    layer: str | None = None
    visible: bool = True

    @property
    def kind(self) -> str:
        """``"raster"`` or ``"vector"``, from the file's extension."""
        suffix = PurePosixPath(self.path).suffix.lower()
        if suffix in _RASTERS:
            return "raster"
        if suffix in _VECTORS:
            return "vector"
        raise InputError(f"a project layer is a raster or vector file, got {self.path!r}")


def layer_style(folder: Path, layer: ProjectLayer) -> str | None:
    """The QGIS style (``.qml`` text) stored with a layer's file, or None.

    A raster's is its ``.qml`` side-car; a GeoPackage layer's the default style in
    its ``layer_styles`` table.
    """
    path = folder / layer.path
    if layer.kind == "raster" or path.suffix.lower() != ".gpkg":
        qml = path.with_suffix(".qml")
        return qml.read_text(encoding="utf-8") if qml.exists() else None
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        known = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='layer_styles'"
        ).fetchone()
        if known is None:
            return None
        table = layer.layer or _first_layer(con)
        row = con.execute(
            "SELECT styleQML FROM layer_styles WHERE f_table_name = ? "
            "ORDER BY useAsDefault DESC, id DESC LIMIT 1",
            (table,),
        ).fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def _first_layer(con: sqlite3.Connection) -> str:
    row = con.execute(
        "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY rowid LIMIT 1"
    ).fetchone()
    return "" if row is None else str(row[0])


def _srs(crs: Any) -> ET.Element:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    el = ET.Element("spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(el, "wkt").text = c.to_wkt()
    auth = c.to_authority()
    ET.SubElement(el, "authid").text = f"{auth[0]}:{auth[1]}" if auth else ""
    ET.SubElement(el, "description").text = c.name
    ET.SubElement(el, "geographicflag").text = "true" if c.is_geographic else "false"
    return el


def _layer_id(name: str, index: int) -> str:
    return f"{re.sub(r'[^0-9A-Za-z_]', '_', name)[:40]}_{index:03d}"


def _source(layer: ProjectLayer) -> str:
    rel = "./" + PurePosixPath(layer.path).as_posix()
    return rel if layer.layer is None else f"{rel}|layername={layer.layer}"


def _maplayer(folder: Path, layer: ProjectLayer, lid: str, crs: Any) -> ET.Element:
    kind = layer.kind
    el = ET.Element("maplayer", type=kind, styleCategories="AllStyleCategories")
    style = layer_style(folder, layer)
    parts: list[ET.Element] = []
    if style is not None:
        root = ET.fromstring(style.split("\n", 1)[1] if style.startswith("<!DOCTYPE") else style)
        parts = list(root)
        geometry = root.findtext("layerGeometryType")
        if kind == "vector" and geometry is not None and geometry.isdigit():
            el.set("geometry", _GEOMETRY_NAMES.get(int(geometry), "Unknown"))
    ET.SubElement(el, "id").text = lid
    ET.SubElement(el, "datasource").text = _source(layer)
    ET.SubElement(el, "layername").text = layer.name
    srs = ET.SubElement(el, "srs")
    srs.append(_srs(_file_crs(folder / layer.path, layer) or crs))
    ET.SubElement(el, "provider", encoding="UTF-8").text = "gdal" if kind == "raster" else "ogr"
    el.extend(parts)
    return el


def _file_crs(path: Path, layer: ProjectLayer) -> Any:
    """The CRS stored in the file (None if it has none or cannot be read)."""
    try:
        if layer.kind == "raster":
            import rasterio

            with rasterio.open(path) as src:
                return src.crs
        import pyogrio

        return pyogrio.read_info(path, layer=layer.layer)["crs"]
    except Exception:  # the project CRS stands in for an unreadable one
        return None


def project_document(
    folder: str | Path, layers: Sequence[ProjectLayer], *, crs: Any, title: str = ""
) -> str:
    """The ``.qgs`` XML of a project in ``folder`` showing ``layers`` (top first).

    Parameters
    ----------
    folder
        The folder the project file goes in; layer paths are relative to it.
    layers
        The layers, top of the layer tree first; a group sits where its first layer is.
    crs
        The project CRS (anything :class:`pyproj.CRS` accepts).
    title
        The project title.

    Raises
    ------
    InputError
        No layers, a layer file that does not exist, or two layers with one file and name.
    """
    base = Path(folder)
    if not layers:
        raise InputError("a project needs at least one layer")
    missing = [lyr.path for lyr in layers if not (base / lyr.path).exists()]
    if missing:
        raise InputError(f"project layers not found in {base}: {', '.join(missing)}")
    ids = [_layer_id(lyr.name, i) for i, lyr in enumerate(layers)]
    doc = ET.Element("qgis", projectname=title, version="3.22.0-Białowieża")
    ET.SubElement(doc, "homePath", path="")
    ET.SubElement(doc, "title").text = title
    ET.SubElement(ET.SubElement(doc, "projectCrs"), "spatialrefsys").extend(list(_srs(crs)))
    tree = ET.SubElement(doc, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    groups: dict[str, ET.Element] = {}
    for lyr, lid in zip(layers, ids, strict=True):
        parent = tree
        if lyr.group is not None:
            if lyr.group not in groups:
                groups[lyr.group] = ET.SubElement(
                    tree, "layer-tree-group", name=lyr.group, checked="Qt::Checked", expanded="0"
                )
                ET.SubElement(groups[lyr.group], "customproperties")
            parent = groups[lyr.group]
        ET.SubElement(
            parent, "layer-tree-layer", id=lid, name=lyr.name, source=_source(lyr),
            providerKey="gdal" if lyr.kind == "raster" else "ogr", expanded="0",
            checked="Qt::Checked" if lyr.visible else "Qt::Unchecked",
        )  # fmt: skip
    order = ET.SubElement(doc, "layerorder")
    for lid in ids:
        ET.SubElement(order, "layer", id=lid)
    maplayers = ET.SubElement(doc, "projectlayers")
    for lyr, lid in zip(layers, ids, strict=True):
        maplayers.append(_maplayer(base, lyr, lid, crs))
    props = ET.SubElement(doc, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    # QGIS reads <projectCrs> only with projections enabled
    srs_props = ET.SubElement(props, "SpatialRefSys")
    ET.SubElement(srs_props, "ProjectionsEnabled", type="int").text = "1"
    ET.indent(doc, space=" ")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        doc, encoding="unicode"
    )


def write_qgis_project(
    path: str | Path, layers: Sequence[ProjectLayer], *, crs: Any, title: str = ""
) -> Path:
    """Write a ``.qgz`` project at ``path`` showing ``layers`` (see :func:`project_document`).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if path.suffix.lower() != ".qgz":
        raise InputError(f"a QGIS project file ends in .qgz, got {path.name!r}")
    text = project_document(path.parent, layers, crs=crs, title=title)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(path.with_suffix(".qgs").name, text)
    return path
