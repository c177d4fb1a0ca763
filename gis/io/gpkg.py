"""A lean GeoPackage reader: attribute columns as numpy arrays, geometries as shapely.

A GeoPackage is an SQLite database, so the standard library reads it: no GDAL,
pandas or geopandas is loaded, which keeps a process that only needs a few
columns small and quick to start. Rows are fetched in chunks straight into
preallocated arrays. Geometries are the GeoPackage binary blobs with their header
(8 bytes plus an optional envelope of 32, 48 or 64 bytes) cut off in SQL, parsed
by :func:`shapely.from_wkb` chunk by chunk.

Column types map to numpy as: ``BOOLEAN`` -> ``bool``, ``TINYINT`` -> ``int8``,
``SMALLINT`` -> ``int16``, ``MEDIUMINT`` -> ``int32``, ``INT``/``INTEGER`` ->
``int64``, ``FLOAT`` -> ``float32``, ``REAL``/``DOUBLE`` -> ``float64``, anything
else (text, dates, blobs) -> ``object``. A null in an integer or boolean column
turns that column into ``float64`` with NaN; a null in a real column is NaN; a
null text or geometry is ``None``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from gis.errors import DataSourceError, InputError

__all__ = ["gpkg_crs", "gpkg_layers", "read_gpkg"]

#: Rows fetched from SQLite at a time.
CHUNK_ROWS = 65_536

_DTYPES = {
    "BOOLEAN": "int8",  # cast to bool once no null is seen
    "TINYINT": "int8",
    "SMALLINT": "int16",
    "MEDIUMINT": "int32",
    "INT": "int64",
    "INTEGER": "int64",
    "FLOAT": "float32",
    "REAL": "float64",
    "DOUBLE": "float64",
}

#: Standard WKB from a GeoPackage geometry blob: the header is 8 bytes plus the
#: envelope, whose size is coded in bits 1-3 of the flags byte (the 4th byte).
_WKB_SQL = (
    "CASE WHEN {g} IS NULL THEN NULL WHEN hex(substr({g}, 1, 2)) != '4750' THEN {g} "
    "ELSE substr({g}, 9 + CASE (instr('0123456789ABCDEF', substr(hex(substr({g}, 4, 1)), 2, 1))"
    " - 1) / 2 WHEN 0 THEN 0 WHEN 1 THEN 32 WHEN 4 THEN 64 ELSE 48 END) END"
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _open(path: str | os.PathLike) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a GeoPackage, or a one-line :class:`DataSourceError`."""
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(f"{p}: no such GeoPackage file")
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DataSourceError(f"{p}: cannot open it as a GeoPackage ({exc})") from exc
    try:
        try:
            con.execute("SELECT table_name, data_type FROM gpkg_contents LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise DataSourceError(f"{p} is not a GeoPackage ({exc})") from exc
        yield con
    except sqlite3.Error as exc:
        raise DataSourceError(f"{p}: cannot be read ({exc})") from exc
    finally:
        con.close()


def _layers(con: sqlite3.Connection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes') "
        "ORDER BY rowid"
    ).fetchall()
    return [r[0] for r in rows]


def _layer(con: sqlite3.Connection, path: str | os.PathLike, layer: str | None) -> str:
    names = _layers(con)
    if layer is None:
        if len(names) == 1:
            return names[0]
        if not names:
            raise DataSourceError(f"{path}: the GeoPackage has no feature or attribute layer")
        raise InputError(
            f"{path} has {len(names)} layers ({', '.join(names)}); name one with layer="
        )
    if layer not in names:
        raise InputError(
            f"{path} has no layer {layer!r}; its layers are: {', '.join(names) or 'none'}"
        )
    return layer


def _geometry_column(con: sqlite3.Connection, layer: str) -> str | None:
    row = con.execute(
        "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
    ).fetchone()
    return None if row is None else str(row[0])


def gpkg_layers(path: str | os.PathLike) -> list[str]:
    """Names of the feature and attribute layers of a GeoPackage, in stored order.

    Raises
    ------
    DataSourceError
        If the file is missing or is not a GeoPackage.
    """
    with _open(path) as con:
        return _layers(con)


def gpkg_crs(path: str | os.PathLike, layer: str | None = None) -> str | None:
    """The CRS of a GeoPackage layer: ``"EPSG:<code>"`` when it has one, else its WKT.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    layer
        Layer name; may be left out when the file has a single layer.

    Returns
    -------
    str or None
        ``None`` for an attribute (non-spatial) layer or an undefined CRS.

    Raises
    ------
    DataSourceError
        If the file is missing or is not a GeoPackage.
    InputError
        If the layer does not exist, or is not named and the file has several.
    """
    with _open(path) as con:
        name = _layer(con, path, layer)
        row = con.execute(
            "SELECT s.organization, s.organization_coordsys_id, s.definition "
            "FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s ON g.srs_id = s.srs_id "
            "WHERE g.table_name = ?",
            (name,),
        ).fetchone()
    if row is None:
        return None
    org, code, definition = row
    if str(org).upper() == "EPSG" and code is not None and int(code) > 0:
        return f"EPSG:{int(code)}"
    if definition and str(definition).strip().lower() != "undefined":
        return str(definition)
    return None


def read_gpkg(
    path: str | os.PathLike,
    layer: str | None = None,
    columns: Sequence[str] | None = None,
    geometry: bool = True,
) -> dict[str, np.ndarray]:
    """Read a GeoPackage layer into numpy arrays, one per column.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    layer
        Layer name; may be left out when the file has a single layer.
    columns
        Attribute columns to read, in this order; ``None`` reads them all (the
        feature id is left out unless named).
    geometry
        Also read the geometries, as a shapely object array under ``"geometry"``
        (layers without geometry have no such entry).

    Returns
    -------
    dict of str to numpy.ndarray
        Column name -> array in feature-id order (types as in the module notes).

    Raises
    ------
    DataSourceError
        If the file is missing or is not a GeoPackage.
    InputError
        If the layer or a column does not exist, or the layer is not named and the
        file has several.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, shapely
    >>> path = tempfile.mkdtemp() + "/p.gpkg"
    >>> gpd.GeoDataFrame({"n": [1, 2]}, geometry=shapely.points([0, 1], [5, 6]),
    ...                  crs=32650).to_file(path, layer="pts")
    >>> data = read_gpkg(path)
    >>> data["n"], shapely.get_x(data["geometry"])
    (array([1, 2]), array([0., 1.]))
    >>> gpkg_layers(path), gpkg_crs(path)
    (['pts'], 'EPSG:32650')
    """
    with _open(path) as con:
        name = _layer(con, path, layer)
        info = con.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
        geom = _geometry_column(con, name)
        types = {str(r[1]): str(r[2] or "").upper().split("(")[0].strip() for r in info}
        if columns is None:
            cols = [c for c, r in zip(types, info, strict=True) if c != geom and not r[5]]
        else:
            cols = [str(c) for c in columns]
            missing = [c for c in cols if c not in types or c == geom]
            if missing:
                have = [c for c in types if c != geom]
                raise InputError(
                    f"{path} layer {name!r} has no column {', '.join(map(repr, missing))}; "
                    f"its columns are: {', '.join(have)}"
                )
        with_geom = geometry and geom is not None
        if with_geom and "geometry" in cols:
            raise InputError(
                f"{path} layer {name!r} has an attribute named 'geometry'; "
                "read it with geometry=False"
            )
        select = [_quote(c) for c in cols]
        if with_geom:
            select.append(_WKB_SQL.format(g=_quote(str(geom))))
        n = con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        dtypes = [np.dtype(_DTYPES.get(types[c], "object")) for c in cols]
        out = [np.empty(n, dtype=d) for d in dtypes]
        wkb = np.empty(n, dtype=object) if with_geom else None
        if not select:
            return {}
        cur = con.execute(f"SELECT {', '.join(select)} FROM {_quote(name)} ORDER BY rowid")
        start = 0
        while rows := cur.fetchmany(CHUNK_ROWS):
            stop = start + len(rows)
            values = list(zip(*rows, strict=True))
            for i, col in enumerate(values[: len(cols)]):
                out[i] = _fill(out[i], start, stop, col)
            if wkb is not None:
                wkb[start:stop] = _from_wkb(values[-1])
            start = stop
    result: dict[str, np.ndarray] = {}
    for c, a, d in zip(cols, out, dtypes, strict=True):
        result[c] = a.astype(bool) if types[c] == "BOOLEAN" and a.dtype == d else a
    if wkb is not None:
        result["geometry"] = wkb
    return result


def _fill(arr: np.ndarray, start: int, stop: int, col: tuple[Any, ...]) -> np.ndarray:
    """Write one chunk of a column; an integer column that meets a null becomes float64."""
    count = stop - start
    if arr.dtype == object:
        arr[start:stop] = np.fromiter(col, dtype=object, count=count)
        return arr
    try:
        arr[start:stop] = np.fromiter(col, dtype=arr.dtype, count=count)
    except TypeError:  # a null (None) in an integer column
        arr = arr.astype("float64")
        arr[start:stop] = np.array(col, dtype="float64")
    return arr


def _from_wkb(blobs: tuple[Any, ...]) -> np.ndarray:
    import shapely

    return shapely.from_wkb(np.fromiter(blobs, dtype=object, count=len(blobs)))
