"""The ``project.qgz`` of a micro, a meso and a macro run, opened by real QGIS 3.22.

Debian's ``python3`` with ``python3-qgis`` reads each project the way the QGIS desktop
does (offscreen), after the output folder was moved: every layer must load from its
relative path, valid and styled (not QGIS's default single-band grey or a plain
default symbol), in the order and groups the run wrote, one layer per output. The
tests skip when QGIS is not installed (``INNOSITE_REQUIRE_TOOLS=1`` makes that a
failure, as CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pyogrio
import pytest
import rasterio

from layers.cli.main import main

pytestmark = pytest.mark.qgis

SYSTEM_PYTHON = "/usr/bin/python3"

READ_PROJECT = textwrap.dedent(
    """
    import json, sys
    from qgis.core import QgsApplication, QgsProject
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    out = {"read": project.read(sys.argv[1]), "crs": project.crs().authid(),
           "crs_valid": project.crs().isValid(), "layers": []}

    def walk(node, group):
        for child in node.children():
            if child.nodeType() == 0:
                walk(child, child.name())
                continue
            layer = child.layer()
            renderer = layer.renderer()
            row = {"name": layer.name(), "group": group, "valid": layer.isValid(),
                   "source": layer.source(), "visible": child.isVisible(),
                   "same_crs": layer.crs().toProj() == project.crs().toProj(),
                   "renderer": renderer.type()}
            if renderer.type() == "singleSymbol":
                row["colour"] = renderer.symbol().color().name()
            out["layers"].append(row)

    walk(project.layerTreeRoot(), None)
    print("RESULT " + json.dumps(out))
    """
)


def _missing(reason: str) -> None:
    if os.environ.get("INNOSITE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (INNOSITE_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


def read_project(path: Path, tmp: Path) -> dict:
    """What QGIS makes of the project at ``path``: layers top first, with their group."""
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False
    )
    if check.returncode != 0:
        _missing("PyQGIS not installed (apt-get install python3-qgis)")
    runtime = tmp / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp)}  # fmt: skip
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", READ_PROJECT, str(path)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    return json.loads(lines[-1].removeprefix("RESULT "))


def _outputs(folder: Path) -> list[str]:
    """Every raster and vector layer in an output folder (``file`` or ``file|layer``)."""
    found = [p.relative_to(folder).as_posix() for p in folder.rglob("*.tif")]
    for gpkg in folder.rglob("*.gpkg"):
        for name, geometry in pyogrio.list_layers(gpkg):
            if geometry is None:  # a table, such as the layer_styles
                continue
            found.append(f"{gpkg.relative_to(folder).as_posix()}|layername={name}")
    return sorted(found)


RUNS = {
    "micro": ["micro", "--sensitivity", "5"],
    "meso": ["meso", "--cell-size", "2000"],
    "macro": ["macro", "--draws", "20"],
}


@pytest.mark.parametrize("scale", list(RUNS))
def test_project_of_a_run_opens_in_qgis_with_every_layer_styled(scale, tmp_path):
    written = tmp_path / "written" / scale
    assert main([*RUNS[scale], "--quiet", "--no-tiles", "--out", str(written)]) == 0
    manifest = json.loads((written / "manifest.json").read_text())
    assert "project.qgz" in [row["file"] for row in manifest["outputs"]]
    moved = tmp_path / "moved"
    shutil.move(written, moved)  # relative paths: the folder opens wherever it is
    project = read_project(moved / "project.qgz", tmp_path)
    assert project["read"] is True
    layers = project["layers"]
    sources = sorted(Path(row["source"].split("|")[0]).relative_to(moved).as_posix()
                     + ("|" + row["source"].split("|", 1)[1] if "|" in row["source"] else "")
                     for row in layers)  # fmt: skip
    assert sources == _outputs(moved)
    assert all(row["valid"] for row in layers), layers
    for row in layers:
        assert row["renderer"] not in ("singlebandgray", "multibandcolor"), row
        if row["renderer"] == "singleSymbol":  # our colour, not a random default one
            assert row["colour"] == "#d7301f", row
    if scale == "macro":
        assert project["crs"] == "EPSG:4326"
        assert [(r["name"], r["renderer"]) for r in layers] == [
            ("Spillover links", "categorizedSymbol"),
            ("Units by tier", "categorizedSymbol"),
        ]
        return
    assert project["crs_valid"] is True
    with rasterio.open(moved / "suitability.tif") as src:
        epsg = src.crs.to_epsg()
    if epsg is not None:  # a custom CRS (meso's local transverse Mercator) has no code
        assert project["crs"] == f"EPSG:{epsg}"
    assert all(row["same_crs"] for row in layers), layers
    top = [(r["name"], r["group"], r["visible"]) for r in layers[:2]]
    assert top == [("Candidate sites", None, True), ("Suitability", None, True)]
    if layers[2]["name"] == "Data coverage":  # micro: the no-data mask, hidden, ungrouped
        assert (layers[2]["group"], layers[2]["visible"]) == (None, False)
        layers = layers[:2] + layers[3:]
    groups = [r["group"] for r in layers[2:]]
    order = ["Factor scores", "Raw measures", "Decision outputs"]
    assert groups == sorted(groups, key=order.index), groups
    assert {"Factor scores", "Raw measures"} <= set(groups)
    if scale == "micro":
        assert "Decision outputs" in groups
    assert not any(r["visible"] for r in layers[2:])
    factors = [r["name"] for r in layers if r["group"] == "Factor scores"]
    titles = [row["title"] for row in manifest["extra"]["layers"]] if scale == "meso" else None
    if titles is not None:
        assert set(factors) <= set(titles)


READ_ALIASES = textwrap.dedent(
    """
    import json, sys
    from qgis.core import QgsApplication, QgsProject
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    project.read(sys.argv[1])
    out = {}
    for layer in project.mapLayers().values():
        row = {"valid": layer.isValid(), "aliases": {}, "legend": []}
        if layer.type() == 0:  # a vector layer
            row["aliases"] = {f.name(): layer.attributeAlias(i)
                              for i, f in enumerate(layer.fields())}
            renderer = layer.renderer()
            if renderer.type() == "categorizedSymbol":
                row["legend"] = [c.label() for c in renderer.categories()]
        out[layer.name()] = row
    print("RESULT " + json.dumps(out, ensure_ascii=True))
    """
)


@pytest.mark.parametrize("scale", ["micro", "macro"])
def test_chinese_project_names_layers_fields_and_tiers_in_chinese(scale, tmp_path):
    out = tmp_path / scale
    assert main([*RUNS[scale], "--lang", "zh", "--quiet", "--no-tiles", "--out", str(out)]) == 0
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False
    )
    if check.returncode != 0:
        _missing("PyQGIS not installed (apt-get install python3-qgis)")
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}  # fmt: skip
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", READ_ALIASES, str(out / "project.qgz")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    layers = json.loads(lines[-1].removeprefix("RESULT "))
    assert all(row["valid"] for row in layers.values()), layers
    if scale == "macro":
        units = layers["各层级单元"]
        assert units["aliases"]["tier"] == "层级"
        assert units["legend"] == ["国际科技创新中心", "国家科技创新中心", "区域科技创新中心"]
        assert layers["溢出联系"]["legend"] == ["强", "弱"]
        return
    assert {"候选地块", "适宜性", "高校集中区", "中心城区边缘"} <= set(layers), sorted(layers)
    aliases = layers["候选地块"]["aliases"]
    assert aliases["rank"] == "排名"
    assert aliases["edge"] == "中心城区边缘（平均得分）"
