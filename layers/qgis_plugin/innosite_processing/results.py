"""Add the layers of a finished run to a QGIS project, styled, in the run's own order.

Every raster and macro run writes ``project.qgz`` with every output as a styled layer
in groups. :func:`load_run` reads that project into a scratch project and copies its
layer tree (groups, order, visibility, styles) into the target project under one
group named after the run. A folder without ``project.qgz`` has its GeoTIFFs and
GeoPackages added as they are, with their default styles (the ``.qml`` next to a
GeoTIFF, the ``layer_styles`` table of a GeoPackage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import QgsLayerTree, QgsProject, QgsRasterLayer, QgsVectorLayer

__all__ = ["load_run"]


def _copy_tree(node: Any, parent: Any, project: Any) -> int:
    """Copy the children of layer-tree ``node`` under ``parent``; layers added."""
    added = 0
    for child in node.children():
        if QgsLayerTree.isGroup(child):
            group = parent.addGroup(child.name())
            group.setItemVisibilityChecked(child.itemVisibilityChecked())
            group.setExpanded(child.isExpanded())
            added += _copy_tree(child, group, project)
        elif QgsLayerTree.isLayer(child) and child.layer() is not None:
            layer = child.layer().clone()
            layer.setName(child.layer().name())
            project.addMapLayer(layer, False)
            leaf = parent.addLayer(layer)
            leaf.setItemVisibilityChecked(child.itemVisibilityChecked())
            added += 1
    return added


def _plain_layers(folder: Path) -> list[Any]:
    layers: list[Any] = []
    for path in sorted(folder.glob("*.gpkg")):
        layer = QgsVectorLayer(str(path), path.stem, "ogr")
        if layer.isValid():
            layers.append(layer)
    for path in sorted(folder.glob("*.tif")):
        layer = QgsRasterLayer(str(path), path.stem, "gdal")
        if layer.isValid():
            layers.append(layer)
    return layers


def load_run(project: Any, folder: Path, *, title: str) -> int:
    """Add the layers of the run in ``folder`` to ``project`` under a group ``title``.

    Returns
    -------
    int
        The number of layers added.
    """
    root = project.layerTreeRoot()
    group = root.insertGroup(0, title)
    qgz = folder / "project.qgz"
    if qgz.exists():
        scratch = QgsProject()
        if scratch.read(str(qgz)):
            added = _copy_tree(scratch.layerTreeRoot(), group, project)
            scratch.clear()
            if added:
                return added
    added = 0
    for layer in _plain_layers(folder):
        project.addMapLayer(layer, False)
        group.addLayer(layer)
        added += 1
    return added
