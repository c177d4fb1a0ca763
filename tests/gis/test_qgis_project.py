"""QGIS project documents: layers, groups, relative sources, styles and CRS."""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from shapely import box

from gis.errors import InputError
from gis.grid import Grid
from gis.io import write_geopackage, write_geotiff
from gis.qgis_project import ProjectLayer, layer_style, project_document, write_qgis_project
from gis.styles import polygon_qml, raster_qml, vector_qml


@pytest.fixture
def folder(tmp_path):
    grid = Grid.from_bounds((385000, 6671000, 385100, 6671100), cell_size=10, crs=32635)
    (tmp_path / "raw").mkdir()
    for name in ("a.tif", "raw/b.tif"):
        write_geotiff(tmp_path / name, np.zeros(grid.shape, "float32"), grid, description="x")
    (tmp_path / "a.qml").write_text(raster_qml(["#000000", "#ffffff"], vmin=0, vmax=1))
    sites = gpd.GeoDataFrame({"rank": [1]}, geometry=[box(385000, 6671000, 385050, 6671050)],
                             crs=32635)  # fmt: skip
    write_geopackage(tmp_path / "c.gpkg", sites, layer="sites",
                     style_qml=polygon_qml(outline="#123456"))  # fmt: skip
    return tmp_path


LAYERS = [
    ProjectLayer("c.gpkg", "Sites", layer="sites"),
    ProjectLayer("a.tif", "A"),
    ProjectLayer("raw/b.tif", "B", group="Raw", visible=False),
]


def test_document_lists_layers_in_order_with_groups_and_relative_sources(folder):
    doc = ET.fromstring(project_document(folder, LAYERS, crs=32635, title="t"))
    tree = doc.find("layer-tree-group")
    top = [(e.tag, e.get("name")) for e in tree if e.tag != "customproperties"]
    assert top == [("layer-tree-layer", "Sites"), ("layer-tree-layer", "A"),
                   ("layer-tree-group", "Raw")]  # fmt: skip
    (raw,) = tree.findall("layer-tree-group")
    assert [e.get("checked") for e in raw.findall("layer-tree-layer")] == ["Qt::Unchecked"]
    sources = [m.findtext("datasource") for m in doc.find("projectlayers")]
    assert sources == ["./c.gpkg|layername=sites", "./a.tif", "./raw/b.tif"]
    assert doc.find("properties/Paths/Absolute").text == "false"
    assert doc.find("projectCrs/spatialrefsys/authid").text == "EPSG:32635"
    assert [m.findtext("provider") for m in doc.find("projectlayers")] == ["ogr", "gdal", "gdal"]


def test_styles_come_from_side_cars_and_layer_styles(folder):
    doc = ET.fromstring(project_document(folder, LAYERS, crs=32635))
    sites, a, b = doc.find("projectlayers")
    assert sites.get("geometry") == "Polygon"
    assert "18,52,86,255" in ET.tostring(sites.find("renderer-v2"), encoding="unicode")
    assert a.find("pipe/rasterrenderer").get("type") == "singlebandpseudocolor"
    assert b.find("pipe") is None  # no side-car: QGIS's default
    assert layer_style(folder, LAYERS[2]) is None


def test_qgz_holds_one_qgs_and_bad_layers_are_refused(folder):
    path = write_qgis_project(folder / "project.qgz", LAYERS, crs=32635)
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["project.qgs"]
        assert b"./raw/b.tif" in z.read("project.qgs")
    with pytest.raises(InputError, match="not found"):
        project_document(folder, [ProjectLayer("gone.tif", "x")], crs=32635)
    with pytest.raises(InputError, match="raster or vector"):
        project_document(folder, [ProjectLayer("a.qml", "x")], crs=32635)
    with pytest.raises(InputError, match="at least one"):
        project_document(folder, [], crs=32635)
    with pytest.raises(InputError, match=r"\.qgz"):
        write_qgis_project(folder / "p.qgs", LAYERS, crs=32635)


def test_vector_qml_categories_and_checks():
    qml = ET.fromstring(vector_qml("point", field="tier", categories={"x": "#ff0000"}))
    (cat,) = qml.findall("renderer-v2/categories/category")
    assert (cat.get("value"), cat.get("symbol")) == ("x", "0")
    assert qml.find("renderer-v2/symbols/symbol").get("type") == "marker"
    assert qml.findtext("layerGeometryType") == "0"
    with pytest.raises(InputError, match="geometry"):
        vector_qml("area")
    with pytest.raises(InputError, match="field"):
        vector_qml("line", categories={"a": "#000000"})
    with pytest.raises(InputError, match="opacity"):
        vector_qml("line", opacity=2)
