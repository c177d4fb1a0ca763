"""A national ranking of Chinese cities by innovation capacity (Zhang 2022, section 3).

Section 3 of the paper measures the standing of a science-and-technology innovation
centre by its science and technology resources, the number and quality of its
research organisations, its concentration of talent, and its reach; its Table 1
leads with the Double First-Class universities. This module builds those
indicators, as far as open offline data allows, for every prefecture-level unit of
the 2020 census (the tables of :mod:`layers.china.data`):

===========================  ==========================================================
indicator                    what it counts (per prefecture)
===========================  ==========================================================
``dfc_universities``         Double First-Class universities (2017 list + 2022 additions)
``universities_985``         Project 985 universities
``universities_211``         Project 211 universities
``universities``             all universities and colleges
``urban_population_m``       2020 census urban population, millions: city size (the
                             talent pool and market of the city proper, not of its
                             rural counties)
``hub``                      large airports with scheduled service within 60 km of the
                             centre, plus 0.25 for each such medium airport (reach)
===========================  ==========================================================

Three of the six indicators measure the quality of research institutions, one
their number, one the size of the city and one its hub status, so with equal
weights hubs are one factor among six (the old screen of
:mod:`layers.macro.places` was driven by hub class alone).

**Units.** Prefecture-level units (地级) of the 2020 census: county-level cities
and districts belong to their prefecture (Kunshan to Suzhou, Jiangyin to Wuxi), so
they are never ranked against it. Hong Kong and Macao are not in the census.

**Matching.** A campus belongs to the prefecture of its ``city_code``; a campus
without one (or with a code that is not a census unit) belongs to the prefecture of
the nearest *anchor*, an anchor being a matched campus or a prefecture centroid.
A city's centre is the median position of its campuses (its census centroid when it
has none: the centroid of a large prefecture can lie far from its city, Chongqing's
100 km from Jiefangbei). An airport serves every city whose centre lies within
:data:`HUB_KM` of it: Xi'an Xianyang lies in Xianyang prefecture but serves Xi'an,
so the hub indicator measures access, not ownership.

**Counting institutions.** An institution counts 1 in the prefecture of its main
campus and 0.5 in a prefecture where it has only a branch campus, at most once per
prefecture. The university table lists some branches as institutions of their own,
named after their parent (哈尔滨工业大学（威海）, 山东大学（威海）, 复旦大学上海医学院,
and the independent colleges such as 南京大学金陵学院): an institution whose name
begins with the full name of another is counted as a branch
(:func:`branch_institutions`), so Weihai does not get two 985 universities. One
independent university is caught too: 中国矿业大学（北京） counts 0.5 in Beijing.

**Extensive and intensive.** ``measure="extensive"`` ranks by the counts;
``"intensive"`` by the four university counts per million inhabitants (with
population and hub kept); ``"both"`` uses both sets.

**Scale.** Counts are heavy-tailed (Beijing has eight 985 universities, most
prefectures none), so every indicator enters the index as ``ln(1 + x)``
(columns ``ln_<indicator>``); min-max normalisation and weights follow in the
macro pipeline (:func:`layers.macro.run.run_macro`).

Examples
--------
>>> import pandas as pd, geopandas as gpd
>>> pref = gpd.GeoDataFrame(
...     {"city_code": ["100100", "200100"], "name": ["A", "B"], "province": ["P", "Q"],
...      "population": [2_000_000, 1_000_000]},
...     geometry=gpd.points_from_xy([100.0, 110.0], [30.0, 30.0]), crs=4326)
>>> uni = gpd.GeoDataFrame(
...     {"name": ["U1", "U2", "U2"], "city_code": ["100100", "200100", "100100"],
...      "is985": [True, False, False], "is211": [True, True, True],
...      "dfc": [True, False, False], "main_campus": [True, True, False]},
...     geometry=gpd.points_from_xy([100.0, 110.0, 100.1], [30.0, 30.0, 30.0]), crs=4326)
>>> air = gpd.GeoDataFrame(
...     {"airport_type": ["large_airport"], "scheduled": [True]},
...     geometry=gpd.points_from_xy([109.9], [30.0]), crs=4326)
>>> t = build_indicators(uni, pref, air)
>>> t[["name", "universities", "universities_211", "hub"]].to_numpy().tolist()
[['A', 1.5, 1.5, 0.0], ['B', 1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gis.errors import InputError, NoDataError

__all__ = [
    "EXTENSIVE_INDICATORS",
    "MEASURES",
    "branch_institutions",
    "build_indicators",
    "drivers",
    "index_columns",
    "innovation_indicators",
]

#: The extensive indicators, in report order (see the module notes).
EXTENSIVE_INDICATORS: tuple[str, ...] = (
    "dfc_universities",
    "universities_985",
    "universities_211",
    "universities",
    "urban_population_m",
    "hub",
)
#: The university counts that have a per-million (intensive) variant.
_PER_MILLION: tuple[str, ...] = EXTENSIVE_INDICATORS[:4]
#: ``measure`` values of :func:`index_columns` and :func:`innovation_indicators`.
MEASURES: tuple[str, ...] = ("extensive", "intensive", "both")
#: Weight of a branch campus relative to a main campus.
BRANCH_WEIGHT = 0.5
#: Airports within this distance (km) of a city's centre serve it.
HUB_KM = 60.0
#: Hub score of one scheduled airport of each OurAirports type.
AIRPORT_WEIGHTS: dict[str, float] = {"large_airport": 1.0, "medium_airport": 0.25}

_REQUIRED = {
    "universities": ("name", "city_code", "is985", "is211", "dfc", "main_campus"),
    "prefectures": ("city_code", "name", "population"),
    "airports": ("airport_type", "scheduled"),
}


def index_columns(measure: str = "extensive") -> list[str]:
    """The ``ln_`` indicator columns that enter the index for a ``measure``.

    Examples
    --------
    >>> index_columns("intensive")[:2]
    ['ln_dfc_universities_per_m', 'ln_universities_985_per_m']
    """
    if measure not in MEASURES:
        raise InputError(f"measure must be one of {list(MEASURES)}, got {measure!r}")
    intensive = [f"{c}_per_m" for c in _PER_MILLION]
    base = {
        "extensive": list(EXTENSIVE_INDICATORS),
        "intensive": [*intensive, "urban_population_m", "hub"],
        "both": [*EXTENSIVE_INDICATORS, *intensive],
    }[measure]
    return [f"ln_{c}" for c in base]


def branch_institutions(names: pd.Series) -> np.ndarray:
    """Whether each institution name begins with the full name of another institution.

    Examples
    --------
    >>> names = pd.Series(["山东大学", "山东大学（威海）", "山东大学", "东南大学"])
    >>> branch_institutions(names).tolist()
    [False, True, False, False]
    """
    names = names.astype(str)
    unique = pd.Series(names.unique())
    known = set(unique)
    prefixes = pd.DataFrame(
        [(n, n[:k]) for n in unique for k in range(2, len(n))], columns=["name", "prefix"]
    )
    branch = set(prefixes.loc[prefixes["prefix"].isin(known), "name"])
    return names.isin(branch).to_numpy()


def _check_columns(frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in _REQUIRED[what] if c not in frame.columns]
    if missing:
        raise InputError(f"the {what} table lacks column(s) {missing}")
    if "geometry" not in frame.columns and what != "prefectures":
        raise InputError(f"the {what} table has no point geometry")


def _xyz(geom: Any) -> np.ndarray:
    from layers.macro.places import unit_vectors

    return unit_vectors(np.asarray(geom.x, dtype=float), np.asarray(geom.y, dtype=float))


def build_indicators(
    universities: pd.DataFrame,
    prefectures: pd.DataFrame,
    airports: pd.DataFrame,
) -> Any:
    """Innovation indicators per prefecture from the three tables (pure; no I/O).

    Parameters
    ----------
    universities
        One row per campus (:func:`layers.china.data.universities`): ``name``,
        ``city_code``, ``is985``, ``is211``, ``dfc``, ``main_campus``, point geometry.
    prefectures
        :func:`layers.china.data.prefectures`: ``city_code``, ``name``,
        ``population``, centroid point geometry (``province`` kept if present).
    airports
        :func:`layers.china.data.airports`: ``airport_type`` (OurAirports' ``type``),
        ``scheduled``, point geometry.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per prefecture (input order): ``city_code``, ``name``,
        ``province``, ``population``, ``lon``, ``lat`` (the centre), every indicator of
        :data:`EXTENSIVE_INDICATORS`, the per-million variants ``<name>_per_m``,
        and ``ln_<column>`` = ln(1 + value) of each; point geometry.

    Raises
    ------
    InputError
        A table lacks a column, has no geometry, or a prefecture has no positive
        population or a duplicated code.
    """
    import geopandas as gpd
    from scipy.spatial import cKDTree

    for frame, what in ((universities, "universities"), (prefectures, "prefectures"),
                        (airports, "airports")):  # fmt: skip
        _check_columns(frame, what)
    if len(prefectures) == 0:
        raise NoDataError("the prefectures table is empty")
    codes = prefectures["city_code"].astype(str).to_numpy()
    dup = pd.Series(codes)[pd.Series(codes).duplicated()].unique().tolist()
    if dup:
        raise InputError(f"duplicated prefecture code(s) {dup[:5]}")
    pop = pd.to_numeric(prefectures["population"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(pop) & (pop > 0))
    if bad.any():
        raise InputError(f"prefecture(s) {codes[bad][:5].tolist()} have no positive population")
    # city size: the urban population, the whole population where a table has none
    urban = pop.copy()
    if "urban_population" in prefectures.columns:
        given = pd.to_numeric(prefectures["urban_population"], errors="coerce").to_numpy(float)
        urban = np.where(np.isfinite(given) & (given > 0), given, pop)
    n = len(codes)
    hub: np.ndarray
    where = {c: i for i, c in enumerate(codes)}
    pgeom = gpd.GeoSeries(prefectures.geometry, crs=getattr(prefectures, "crs", 4326))
    pgeom = pgeom.to_crs(4326) if pgeom.crs is not None else pgeom
    if not (pgeom.geom_type == "Point").all():
        pgeom = pgeom.representative_point()

    # ---- campuses to prefectures: by code, otherwise by the nearest anchor
    ugeom = gpd.GeoSeries(universities.geometry, crs=getattr(universities, "crs", 4326))
    ugeom = ugeom.to_crs(4326) if ugeom.crs is not None else ugeom
    ucode = universities["city_code"].fillna("").astype(str).map(where)
    uidx = ucode.to_numpy(dtype=float, copy=True)
    known = np.isfinite(uidx)
    anchor_xyz = np.vstack([_xyz(pgeom), _xyz(ugeom[known])]) if n else np.zeros((0, 3))
    anchor_unit = np.concatenate([np.arange(n), uidx[known].astype(int)])
    tree = cKDTree(anchor_xyz)
    if (~known).any():
        _, nearest = tree.query(_xyz(ugeom[~known]))
        uidx[~known] = anchor_unit[nearest]
    uunit = uidx.astype(int)

    main = universities["main_campus"].astype(bool).to_numpy() & ~branch_institutions(
        universities["name"]
    )
    weight = np.where(main, 1.0, BRANCH_WEIGHT)
    per = pd.DataFrame(
        {
            "unit": uunit,
            "inst": universities["name"].astype(str).to_numpy(),
            "w": weight,
            "dfc": universities["dfc"].astype(bool).to_numpy(),
            "is985": universities["is985"].astype(bool).to_numpy(),
            "is211": universities["is211"].astype(bool).to_numpy(),
        }
    )
    # an institution counts once per prefecture, with its strongest campus there
    inst = per.groupby(["unit", "inst"], sort=False).agg(
        w=("w", "max"), dfc=("dfc", "max"), is985=("is985", "max"), is211=("is211", "max")
    )
    units = inst.index.get_level_values("unit").to_numpy()
    w = inst["w"].to_numpy()

    def count(mask: np.ndarray | None = None) -> np.ndarray:
        ww = w if mask is None else w * mask
        return np.bincount(units, weights=ww, minlength=n)

    # ---- city centre: median of the campuses (the census centroid where there are none)
    cx = np.asarray(pgeom.x, dtype=float).copy()
    cy = np.asarray(pgeom.y, dtype=float).copy()
    if len(ugeom):
        med = pd.DataFrame({"u": uunit, "x": np.asarray(ugeom.x), "y": np.asarray(ugeom.y)})
        med = med.groupby("u")[["x", "y"]].median()
        cx[med.index.to_numpy()] = med["x"].to_numpy()
        cy[med.index.to_numpy()] = med["y"].to_numpy()

    # ---- airports: scheduled service within HUB_KM of the centre (access, not ownership)
    scheduled = airports[airports["scheduled"].astype(bool)]
    aw = scheduled["airport_type"].map(AIRPORT_WEIGHTS).fillna(0.0).to_numpy(dtype=float)
    hub = np.zeros(n)
    if len(scheduled):
        from layers.macro.places import chord, unit_vectors

        ageom = gpd.GeoSeries(scheduled.geometry, crs=getattr(airports, "crs", 4326))
        ageom = ageom.to_crs(4326) if ageom.crs is not None else ageom

        pairs = cKDTree(unit_vectors(cx, cy)).query_ball_point(_xyz(ageom), chord(HUB_KM))
        lengths = np.fromiter((len(q) for q in pairs), dtype="int64", count=len(pairs))
        if lengths.sum():
            rows = np.concatenate([np.asarray(q, dtype="int64") for q in pairs])
            hub = np.bincount(rows, weights=np.repeat(aw, lengths), minlength=n)

    out = pd.DataFrame(
        {
            "city_code": codes,
            "name": prefectures["name"].astype(str).to_numpy(),
            "province": (
                prefectures["province"].astype(str).to_numpy()
                if "province" in prefectures.columns
                else np.full(n, "")
            ),
            "population": pop.astype("int64"),
            "lon": cx,
            "lat": cy,
            "dfc_universities": count(inst["dfc"].to_numpy()),
            "universities_985": count(inst["is985"].to_numpy()),
            "universities_211": count(inst["is211"].to_numpy()),
            "universities": count(),
            "urban_population_m": urban / 1e6,
            "hub": hub,
        }
    )
    for c in _PER_MILLION:
        out[f"{c}_per_m"] = out[c] / (pop / 1e6)
    for c in [*EXTENSIVE_INDICATORS, *(f"{c}_per_m" for c in _PER_MILLION)]:
        out[f"ln_{c}"] = np.log1p(out[c].to_numpy(dtype=float))
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs=4326)


def innovation_indicators(*, top: int | None = None) -> Any:
    """:func:`build_indicators` on the shipped tables, most populous first.

    Parameters
    ----------
    top
        Keep the ``top`` most populous prefectures (None: all).
    """
    from layers.china import data

    table = build_indicators(data.universities(), data.prefectures(), data.airports("CN"))
    table = table.sort_values(["population", "city_code"], ascending=[False, True])
    if top is not None:
        if top < 1:
            raise InputError(f"top must be a positive number of cities, got {top!r}")
        table = table.head(top)
    table = table.reset_index(drop=True)
    # two prefectures of one name would collide as unit names
    dup = table["name"].duplicated(keep=False)
    table.loc[dup, "name"] = table.loc[dup, "name"] + " (" + table.loc[dup, "province"] + ")"
    return table


def drivers(
    normalized: np.ndarray,
    weights: np.ndarray,
    columns: Sequence[str],
    *,
    k: int = 3,
) -> list[str]:
    """The ``k`` indicators contributing most to each unit's index, with their shares.

    A contribution is ``weight * normalised value``; its share is of the unit's
    index. Indicators contributing nothing are left out.

    Examples
    --------
    >>> drivers(np.array([[1.0, 0.5, 0.0], [0.0, 0.0, 0.0]]), np.array([0.5, 0.5, 0.0]),
    ...         ["a", "b", "c"], k=2)
    ['a 67%; b 33%', '']
    """
    c = np.asarray(normalized, dtype=float) * np.asarray(weights, dtype=float)[None, :]
    total = c.sum(axis=1)
    order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    names = [str(x).removeprefix("ln_") for x in columns]
    out = []
    for i in range(c.shape[0]):  # one short string per unit: the text itself is per row
        parts = [f"{names[j]} {100 * c[i, j] / total[i]:.0f}%" for j in order[i] if c[i, j] > 0]
        out.append("; ".join(parts))
    return out
