"""The lean GeoPackage reader against pyogrio (GDAL) reading the same files."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.errors import DataSourceError, InputError
from gis.io import gpkg, gpkg_crs, gpkg_layers, read_gpkg


def assert_same_as_pyogrio(path: Path, layer: str | None = None, columns=None) -> dict:
    """read_gpkg agrees with pyogrio column by column and geometry by geometry."""
    got = read_gpkg(path, layer=layer, columns=columns)
    want = pyogrio.read_dataframe(path, layer=layer, columns=columns)
    names = [c for c in want.columns if c != "geometry"]
    assert list(got) == [*(columns or names), "geometry"]
    assert sorted(got) == sorted([*names, "geometry"])
    for c in names:
        w = want[c].to_numpy()
        if w.dtype.kind == "O":
            missing = gpd.pd.isna(w)  # pandas shows a null text as NaN
            assert got[c].tolist() == [None if m else v for v, m in zip(w, missing, strict=True)]
        else:
            np.testing.assert_array_equal(got[c], w.astype(got[c].dtype), err_msg=c)
            assert got[c].dtype.kind == w.dtype.kind, c
    g, w = got["geometry"], want.geometry.to_numpy()
    assert g.shape == w.shape
    assert (shapely.is_missing(g) == shapely.is_missing(w)).all()
    both = ~shapely.is_missing(g)
    assert shapely.equals_exact(g[both], w[both], tolerance=0).all()
    return got


@pytest.fixture
def mixed(tmp_path) -> Path:
    """Points, lines and polygons with int, float, text and bool columns (GDAL writes it)."""
    geoms = [
        shapely.Point(400000.5, 2600000.25),
        shapely.LineString([(0, 0), (10, 5), (20, 0)]),
        shapely.box(1, 2, 3, 4),
        shapely.Point(-7.125, 3.5),
    ]
    df = gpd.GeoDataFrame(
        {
            "n": np.array([1, -2, 3, 2**40], dtype="int64"),
            "small": np.array([1, 2, 3, 4], dtype="int16"),
            "x": [0.5, np.nan, 1e300, -0.0],
            "f32": np.array([0.25, 1.5, -2.0, 3.0], dtype="float32"),
            "name": ["a", "bé", "", "d;e"],
            "ok": [True, False, True, False],
        },
        geometry=geoms,
        crs="EPSG:32650",
    )
    path = tmp_path / "mixed.gpkg"
    df.to_file(path, layer="things", engine="pyogrio")
    return path


def test_matches_pyogrio_all_types(mixed):
    got = assert_same_as_pyogrio(mixed)
    assert got["n"].dtype == "int64" and got["small"].dtype == "int16"
    assert got["x"].dtype == "float64" and got["f32"].dtype == "float32"
    assert got["ok"].dtype == bool
    assert got["ok"].tolist() == [True, False, True, False]
    assert got["n"].tolist() == [1, -2, 3, 2**40]


def test_columns_subset_order_and_no_geometry(mixed):
    got = read_gpkg(mixed, columns=["name", "n"], geometry=False)
    assert list(got) == ["name", "n"]
    assert got["name"].tolist() == ["a", "bé", "", "d;e"]
    assert got["n"].tolist() == [1, -2, 3, 2**40]
    assert_same_as_pyogrio(mixed, columns=["x", "small"])
    assert read_gpkg(mixed, columns=["fid"], geometry=False)["fid"].tolist() == [1, 2, 3, 4]
    assert read_gpkg(mixed, columns=[], geometry=False) == {}


def test_layers_and_crs(mixed, tmp_path):
    assert gpkg_layers(mixed) == ["things"]
    assert gpkg_crs(mixed) == "EPSG:32650"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(
        mixed, layer="more", engine="pyogrio"
    )
    assert gpkg_layers(mixed) == pyogrio.list_layers(mixed)[:, 0].tolist() == ["things", "more"]
    assert gpkg_crs(mixed, "more") == "EPSG:4326"
    with pytest.raises(InputError, match=r"has 2 layers \(things, more\); name one with layer="):
        read_gpkg(mixed)
    assert read_gpkg(mixed, layer="more", geometry=False) == {"a": np.array([1])}


def test_nulls(tmp_path):
    path = tmp_path / "nulls.gpkg"
    df = gpd.GeoDataFrame(
        {
            "i": gpd.pd.array([1, None, 3], dtype="Int64"),
            "x": [1.5, None, 2.5],
            "s": ["a", None, "c"],
            "b": gpd.pd.array([True, None, False], dtype="boolean"),
        },
        geometry=[shapely.Point(1, 2), None, shapely.LineString([(0, 0), (1, 1)])],
        crs=32650,
    )
    df.to_file(path, layer="n", engine="pyogrio")
    got = assert_same_as_pyogrio(path)
    np.testing.assert_array_equal(got["i"], [1, np.nan, 3])
    np.testing.assert_array_equal(got["x"], [1.5, np.nan, 2.5])
    assert got["s"].tolist() == ["a", None, "c"]
    np.testing.assert_array_equal(got["b"], [1, np.nan, 0])
    assert got["geometry"][1] is None


def test_nulls_in_a_later_chunk(tmp_path, monkeypatch):
    """An integer column meeting a null after the first chunk keeps the earlier values."""
    path = tmp_path / "chunks.gpkg"
    values = gpd.pd.array([*range(10), None, 11], dtype="Int64")
    df = gpd.GeoDataFrame(
        {"i": values, "j": np.arange(12)},
        geometry=shapely.points(np.arange(12.0), np.zeros(12)),
        crs=32650,
    )
    df.to_file(path, engine="pyogrio")
    monkeypatch.setattr(gpkg, "CHUNK_ROWS", 5)
    got = assert_same_as_pyogrio(path)
    np.testing.assert_array_equal(got["i"], [*range(10), np.nan, 11])
    assert got["j"].dtype == "int64"
    np.testing.assert_array_equal(shapely.get_x(got["geometry"]), np.arange(12.0))


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    df = gpd.GeoDataFrame(
        {"i": np.array([], dtype="int64"), "x": np.array([], dtype="float64")},
        geometry=gpd.GeoSeries([], crs=32650),
    )
    df.to_file(path, layer="e", engine="pyogrio")
    got = read_gpkg(path)
    assert {k: (v.dtype.kind, v.size) for k, v in got.items()} == {
        "i": ("i", 0),
        "x": ("f", 0),
        "geometry": ("O", 0),
    }
    assert len(pyogrio.read_dataframe(path)) == 0


def gp_blob(geom: shapely.Geometry, envelope: int) -> bytes:
    """A GeoPackage geometry blob with the given envelope code (0-4), built by hand."""
    x0, y0, x1, y1 = geom.bounds
    env = {
        0: [],
        1: [x0, x1, y0, y1],
        2: [x0, x1, y0, y1, 0.0, 0.0],
        3: [x0, x1, y0, y1, 0.0, 0.0],
        4: [x0, x1, y0, y1, 0.0, 0.0, 0.0, 0.0],
    }[envelope]
    flags = 0x01 | (envelope << 1)  # little endian header
    header = b"GP" + bytes([0, flags]) + struct.pack("<i", 32650)
    return header + struct.pack(f"<{len(env)}d", *env) + shapely.to_wkb(geom)


def hand_made_gpkg(path: Path, blobs: list[bytes | None], values: list) -> None:
    """A minimal GeoPackage written with sqlite3 alone (no GDAL)."""
    con = sqlite3.connect(path)
    con.executescript(
        """
        PRAGMA application_id = 1196444487;
        PRAGMA user_version = 10400;
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
            organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
            definition TEXT NOT NULL, description TEXT);
        INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian', -1, 'NONE', -1,
            'undefined', NULL), ('Undefined geographic', 0, 'NONE', 0, 'undefined', NULL),
            ('WGS 84', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",
            6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]',
            NULL), ('UTM 50N', 32650, 'EPSG', 32650, 'PROJCS["WGS 84 / UTM zone 50N"]', NULL);
        CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
            data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
            last_change DATETIME, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
            srs_id INTEGER);
        CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
            geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
            m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
            VALUES ('shapes', 'features', 'shapes', 32650);
        INSERT INTO gpkg_geometry_columns VALUES ('shapes', 'shape', 'GEOMETRY', 32650, 0, 0);
        CREATE TABLE shapes (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, shape GEOMETRY,
            "we""ird" INTEGER);
        """
    )
    con.executemany(
        'INSERT INTO shapes (shape, "we""ird") VALUES (?, ?)', list(zip(blobs, values, strict=True))
    )
    con.commit()
    con.close()


@given(
    envelopes=st.lists(st.integers(0, 4), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=25, deadline=None)
def test_envelopes_of_every_size(tmp_path_factory, envelopes, seed):
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 3, len(envelopes))
    geoms = []
    for k in kinds.tolist():
        xy = rng.uniform(-1e6, 1e6, (4, 2))
        geoms.append(
            shapely.Point(xy[0])
            if k == 0
            else shapely.LineString(xy)
            if k == 1
            else shapely.box(*xy[0], *(xy[0] + 5))
        )
    blobs = [gp_blob(g, e) for g, e in zip(geoms, envelopes, strict=True)]
    path = tmp_path_factory.mktemp("env") / "env.gpkg"
    hand_made_gpkg(path, blobs, list(range(len(blobs))))
    got = read_gpkg(path)
    assert list(got) == ['we"ird', "geometry"]
    assert shapely.equals_exact(got["geometry"], np.array(geoms), tolerance=0).all()
    want = pyogrio.read_dataframe(path)
    assert shapely.equals_exact(got["geometry"], want.geometry.to_numpy(), tolerance=0).all()
    assert gpkg_crs(path) == "EPSG:32650"


def test_hand_made_null_geometry_and_missing_column(tmp_path):
    path = tmp_path / "h.gpkg"
    hand_made_gpkg(path, [None, gp_blob(shapely.Point(1, 2), 1)], [5, None])
    got = read_gpkg(path)
    assert got["geometry"][0] is None and got["geometry"][1] == shapely.Point(1, 2)
    np.testing.assert_array_equal(got['we"ird'], [5, np.nan])
    with pytest.raises(InputError, match="has no column 'nope'; its columns are: fid, we\"ird"):
        read_gpkg(path, columns=["nope"])
    with pytest.raises(InputError, match="has no column 'shape'"):
        read_gpkg(path, columns=["shape"])


def test_bad_sources(tmp_path, mixed):
    with pytest.raises(DataSourceError, match="no such GeoPackage file"):
        read_gpkg(tmp_path / "missing.gpkg")
    text = tmp_path / "notes.gpkg"
    text.write_text("not a database at all, just some text " * 40)
    with pytest.raises(DataSourceError, match="is not a GeoPackage"):
        read_gpkg(text)
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (a INTEGER)").connection.close()
    with pytest.raises(DataSourceError, match="is not a GeoPackage"):
        gpkg_layers(plain)
    with pytest.raises(DataSourceError, match="no such GeoPackage file"):
        gpkg_layers(tmp_path)  # a folder
    with pytest.raises(InputError, match="has no layer 'roads'; its layers are: things"):
        read_gpkg(mixed, layer="roads")
    with pytest.raises(InputError, match="has no layer"):
        gpkg_crs(mixed, layer="roads")
