"""OSM files as other tools write them: read what can be read, refuse the rest clearly."""

from __future__ import annotations

import bz2
import gzip

import numpy as np
import pytest
from shapely.geometry import box

from gis.errors import DataSourceError, NoDataError
from gis.sources import OSMDataWarning, load_osm_file, sorted_osm_copy
from tests.faults.bad_input import UNSORTED_OSM, refuse, write

pytestmark = pytest.mark.faults

FILTERS = [{"amenity": True}, {"leisure": True}]

#: The same objects with sorted, positive IDs (what JOSM uploads would give).
SORTED_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <bounds minlat="60.160" minlon="24.930" maxlat="60.180" maxlon="24.950"/>
  <node id="1" lat="60.165" lon="24.940"/>
  <node id="2" lat="60.175" lon="24.940"/>
  <node id="3" lat="60.170" lon="24.945"><tag k="amenity" v="cafe"/></node>
  <node id="5" lat="60.165" lon="24.935"/>
  <way id="2"><nd ref="5"/><nd ref="2"/><nd ref="1"/><nd ref="5"/>
    <tag k="leisure" v="park"/></way>
  <way id="3"><nd ref="5"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="7"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
</osm>
"""


def _summary(data):
    feats = data.features.sort_values(["osm_type", "amenity"], na_position="last")
    kinds = sorted(zip(feats["osm_type"], feats["amenity"].fillna(feats["leisure"]), strict=True))
    nodes = data.nodes_lonlat[np.lexsort(data.nodes_lonlat.T[::-1])]
    edges = {tuple(sorted(map(tuple, data.nodes_lonlat[e]))) for e in data.edges}
    return kinds, nodes.round(6).tolist(), edges


def test_unsorted_negative_ids_read_like_the_sorted_file(tmp_path):
    edited = load_osm_file(write(tmp_path, "edited.osm", UNSORTED_OSM), tag_filters=FILTERS)
    clean = load_osm_file(write(tmp_path, "clean.osm", SORTED_OSM), tag_filters=FILTERS)
    assert _summary(edited) == _summary(clean)
    kinds, nodes, edges = _summary(edited)
    assert kinds == [("node", "cafe"), ("way", "park")]
    assert len(nodes) == 3 and len(edges) == 2  # two walkable streets over three nodes
    assert "renumbered" in edited.source["order"] and "order" not in clean.source


@pytest.mark.parametrize("codec", ["gz", "bz2"])
def test_compressed_unsorted_files_are_read(tmp_path, codec):
    data = UNSORTED_OSM.encode()
    packed = gzip.compress(data) if codec == "gz" else bz2.compress(data)
    path = tmp_path / f"edited.osm.{codec}"
    path.write_bytes(packed)
    kinds, _, edges = _summary(load_osm_file(path, tag_filters=FILTERS))
    assert kinds == [("node", "cafe"), ("way", "park")] and len(edges) == 2


def test_positive_ids_out_of_order_are_read(tmp_path):
    text = SORTED_OSM.replace('<way id="2">', '<way id="9">')  # 9 before 3 and 7
    kinds, _, edges = _summary(load_osm_file(write(tmp_path, "o.osm", text), tag_filters=FILTERS))
    assert kinds == [("node", "cafe"), ("way", "park")] and len(edges) == 2


def test_sorted_copy_renumbers_every_reference(tmp_path):
    import osmium

    src = write(tmp_path, "edited.osm", UNSORTED_OSM)
    copy, renumbered = sorted_osm_copy(src, tmp_path / "copy.osm.pbf")
    assert renumbered == 4  # nodes -3, -1 and ways -7, -2
    objects = [(o.type_str(), o.id, [n.ref for n in o.nodes] if o.is_way() else None)
               for o in osmium.FileProcessor(str(copy))]  # fmt: skip
    # nodes: 2, 5 then -1 -> 6, -3 -> 8; ways: 3 then -2 -> 5, -7 -> 10
    assert objects == [
        ("n", 2, None), ("n", 5, None), ("n", 6, None), ("n", 8, None),
        ("w", 3, [5, 6]), ("w", 5, [5, 2, 6, 5]), ("w", 10, [6, 2]),
    ]  # fmt: skip


def test_node_at_latitude_131_is_reported(tmp_path):
    text = SORTED_OSM.replace('lat="60.170" lon="24.945"', 'lat="131.0" lon="24.945"')
    with pytest.warns(OSMDataWarning, match="1 tagged node.* outside .* latitude -90..90"):
        data = load_osm_file(write(tmp_path, "lat.osm", text), tag_filters=FILTERS)
    assert data.features["osm_type"].tolist() == ["way"]


def test_area_outside_the_file_is_refused(tmp_path):
    path = write(tmp_path, "clean.osm", SORTED_OSM)
    with pytest.raises(NoDataError, match=r"lies outside the OSM file clean.osm \(file bounds"):
        load_osm_file(path, tag_filters=FILTERS, area=box(102.6, 24.9, 102.8, 25.1))


def _pbf_named_osm(tmp_path, helsinki_pbf):
    path = tmp_path / "extract.osm"
    path.write_bytes(helsinki_pbf.read_bytes()[:4096])
    return path


BROKEN = [
    ("pbf", r"is a PBF file with an XML name; rename it to end in .osm.pbf"),
    ("gz", r"is truncated or damaged: its gzip data end before the file does"),
    ("bz2", r"is truncated or damaged: its bzip2 data end before the file does"),
    ("text", r"is not OSM XML \(XML parsing error at line 1"),
    ("long", r"longer than the reader accepts \(OSM allows 255 characters\)"),
    ("long-unsorted", r"longer than the reader accepts"),
    ("folder", r"is a folder; give a .osm or .pbf file"),
    ("suffix", r"unsupported OSM file type .extract.geojson."),
]


def _broken(kind, tmp_path, helsinki_pbf):
    if kind == "pbf":
        return _pbf_named_osm(tmp_path, helsinki_pbf)
    if kind in ("gz", "bz2"):
        data = SORTED_OSM.encode()
        packed = gzip.compress(data) if kind == "gz" else bz2.compress(data)
        path = tmp_path / f"extract.osm.{kind}"
        path.write_bytes(packed[: len(packed) // 2])
        return path
    if kind == "text":
        return write(tmp_path, "extract.osm", "name,lon,lat\na,1,2\n")
    if kind.startswith("long"):
        source = UNSORTED_OSM if kind == "long-unsorted" else SORTED_OSM
        return write(tmp_path, "extract.osm", source.replace('v="cafe"', f'v="{"x" * 2000}"'))
    if kind == "folder":
        (tmp_path / "extract.osm").mkdir()
        return tmp_path / "extract.osm"
    return write(tmp_path, "extract.geojson", SORTED_OSM)


@pytest.mark.parametrize(("kind", "pattern"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_osm_files_are_named_with_the_cause(tmp_path, helsinki_pbf, kind, pattern):
    path = _broken(kind, tmp_path, helsinki_pbf)
    with pytest.raises(DataSourceError, match=pattern):
        load_osm_file(path, tag_filters=FILTERS)


@pytest.mark.parametrize("kind", ["pbf", "gz", "bz2", "text", "long"])
def test_broken_osm_files_through_the_command(tmp_path, helsinki_pbf, kind):
    pattern = dict(BROKEN)[kind]
    path = _broken(kind, tmp_path, helsinki_pbf)
    refuse(tmp_path, ["micro", "--osm-file", path.name], pattern)
