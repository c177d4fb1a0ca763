"""Reading OSM files: one builder for PBF and XML, counts checked against the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gis.errors import DataSourceError, InputError, NoDataError
from gis.sources import (
    _edges_from_ways,
    area_from_bbox,
    area_from_file,
    build_walk_network,
    load_osm_file,
    match_tags,
)
from tests.conftest import shared_osm

FILTERS = [{"amenity": True}, {"building": True}, {"railway": True}, {"leisure": ["park"]}]


def test_pbf_and_xml_give_the_same_features(helsinki_pbf, helsinki_osm_xml):
    a = load_osm_file(helsinki_pbf, tag_filters=FILTERS)
    b = load_osm_file(helsinki_osm_xml, tag_filters=FILTERS, area=a.area)
    assert len(a.features) == len(b.features) > 1000
    key = ["osm_type", "osm_id"]
    pd.testing.assert_frame_equal(
        a.features.sort_values(key)[[*key, "amenity"]].reset_index(drop=True),
        b.features.sort_values(key)[[*key, "amenity"]].reset_index(drop=True),
    )
    assert a.edges.shape == b.edges.shape
    assert a.source["format"] == "pbf" and b.source["format"] == "osm-xml"


def test_helsinki_counts_and_extent(helsinki_pbf):
    data = load_osm_file(helsinki_pbf, tag_filters=FILTERS)
    f = data.features
    assert (f["amenity"] == "cafe").sum() == 89
    assert (f["amenity"] == "university").sum() == 5
    assert f["building"].notna().sum() == 482
    assert data.area.bounds == pytest.approx((24.9351762, 60.164155, 24.9534145, 60.179113))
    assert data.source["osm_data_date"].startswith("2019-04")
    assert set(f.geom_type) <= {"Point", "LineString", "MultiPolygon"}
    assert f.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    ("name", "university", "cafe", "buildings", "parks"),
    [
        ("beijing_zhongguancun_2017.osm", 2, 15, 529, 12),
        ("shanghai_yangpu_tongji_2026.osm", 1, 8, 226, 4),
        ("nanjing_xinjiekou_2021.osm", 1, 28, 1278, 6),
    ],
)
def test_shared_extract_counts(name, university, cafe, buildings, parks):
    data = load_osm_file(shared_osm(name), tag_filters=FILTERS)
    f = data.features
    assert (f["amenity"] == "university").sum() == university
    assert (f["amenity"] == "cafe").sum() == cafe
    # one building per extract is cut by the export boundary and has no geometry
    assert f["building"].notna().sum() in (buildings, buildings + 1)
    assert (f["leisure"] == "park").sum() == parks


def test_extent_without_bounds_drops_far_nodes():
    data = load_osm_file(shared_osm("nanjing_xinjiekou_2021.osm"), tag_filters=FILTERS)
    w, s, e, n = data.area.bounds
    # the documented street core is 118.7629,32.0328 - 118.7969,32.0531
    assert w == pytest.approx(118.7629, abs=0.002) and e == pytest.approx(118.7969, abs=0.002)
    assert s == pytest.approx(32.0328, abs=0.002) and n == pytest.approx(32.0531, abs=0.002)


def test_edges_from_ways_do_not_join_ways():
    ids = [np.array([10, 11, 12]), np.array([12, 13]), np.array([20, 21])]
    lons = [np.array([0.0, 1, 2]), np.array([2.0, 3]), np.array([5.0, 6])]
    lats = [np.zeros(3), np.zeros(2), np.ones(2)]
    nodes, edges = _edges_from_ways(ids, lons, lats)
    assert nodes[:, 0].tolist() == [0, 1, 2, 3, 5, 6]
    assert sorted(map(tuple, edges.tolist())) == [(0, 1), (1, 2), (2, 3), (4, 5)]


def test_walk_network_projection_and_component():
    # two components: a 3-node path (2 x ~111 m) and a single far edge
    lonlat = np.array([[24.0, 60.0], [24.0, 60.001], [24.0, 60.002], [25.0, 60.0], [25.0, 60.001]])
    edges = np.array([[0, 1], [1, 2], [3, 4]])
    net = build_walk_network(lonlat, edges, crs="EPSG:32635")
    assert net.x.size == 3
    assert net.length.sum() == pytest.approx(2 * 111.4, rel=0.01)
    with pytest.raises(NoDataError, match="no walkable street network"):
        build_walk_network(np.empty((0, 2)), np.empty((0, 2), dtype="int64"), crs="EPSG:32635")


def test_match_tags_true_excludes_no():
    df = pd.DataFrame({"building": ["yes", "no", None, "house"]})
    assert match_tags(df, {"building": True}).tolist() == [True, False, False, True]
    assert match_tags(df, {"absent": True}).tolist() == [False] * 4


def test_bad_files(tmp_path):
    with pytest.raises(DataSourceError, match="not found"):
        load_osm_file(tmp_path / "missing.osm", tag_filters=FILTERS)
    bad = tmp_path / "data.csv"
    bad.write_text("a,b\n")
    with pytest.raises(DataSourceError, match="unsupported OSM file type"):
        load_osm_file(bad, tag_filters=FILTERS)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='x'")
    with pytest.raises(DataSourceError, match="cannot read OSM file"):
        load_osm_file(broken, tag_filters=FILTERS)


def test_bbox_and_area_file_errors(tmp_path):
    with pytest.raises(InputError, match="west,south,east,north"):
        area_from_bbox((25, 60, 24, 61))
    with pytest.raises(InputError, match="4 numbers"):
        area_from_bbox((1, 2, 3))
    with pytest.raises(DataSourceError, match="not found"):
        area_from_file(tmp_path / "nope.gpkg")


@pytest.mark.slow
def test_online_path_agrees_with_file_reader(monkeypatch):
    """osmnx's parser (the online path, fed the same data) and pyosmium agree."""
    import osmnx as ox

    from gis.sources import load_osm_online
    from layers.micro.factors import MICRO_FACTORS
    from layers.micro.run import MicroConfig, all_tag_filters, compute_micro

    path = shared_osm("beijing_zhongguancun_2017.osm")

    def features_from_polygon(polygon, tags):
        return ox.features_from_xml(path, tags=tags)

    def graph_from_polygon(polygon, **kwargs):
        graph = ox.graph_from_xml(path, retain_all=True, simplify=False)
        streets = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if "highway" in d]
        return graph.edge_subgraph(streets).copy()

    monkeypatch.setattr(ox, "features_from_polygon", features_from_polygon)
    monkeypatch.setattr(ox, "graph_from_polygon", graph_from_polygon)
    filters = all_tag_filters(MICRO_FACTORS)
    from_file = load_osm_file(path, tag_filters=filters)
    online = load_osm_online(from_file.area, tag_filters=filters)
    assert online.source["kind"] == "online"
    a = compute_micro(from_file, MicroConfig())
    b = compute_micro(online, MicroConfig())
    counts_a = {r["criterion"]: r["features"] for r in a.coverage_table()}
    counts_b = {r["criterion"]: r["features"] for r in b.coverage_table()}
    assert counts_a == counts_b
    assert b.network["nodes"] > 1000
