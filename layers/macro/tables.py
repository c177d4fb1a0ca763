"""Tables of the macro scale: the paper's regions and tables, and the user's tables.

* data shipped with the package (``layers/data/``): the paper's Table 1 (18 regions ×
  10 indicators of innovation resources in 2020, :data:`INDICATORS`) and Table 2
  (recommended centres by tier), and the composition of each Table 1 region from
  administrative units (:data:`REGIONS`);
* tables the user brings: units × indicators (:func:`read_table`) with the checks of
  the indicator matrix (:func:`indicator_matrix`), AHP pairwise matrices
  (:func:`read_pairwise`) and travel-time matrices (:func:`read_travel_matrix`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis.errors import DataSourceError, InputError
from layers.china.boundaries import adcode_ancestors

__all__ = [
    "CITATION",
    "DEFAULT_UNITS",
    "INDICATORS",
    "NESTED_UNITS",
    "REGIONS",
    "TABLE1_FILE",
    "TABLE2_FILE",
    "TIER_NAMES",
    "Indicator",
    "NestedUnitsWarning",
    "Region",
    "data_file",
    "find_unit_column",
    "indicator_directions",
    "indicator_matrix",
    "load_table1",
    "load_table2",
    "paper_tiers",
    "read_pairwise",
    "read_table",
    "read_travel_matrix",
    "region_aliases",
    "resolve_region",
    "tier_names",
    "unit_key",
    "unit_overlaps",
    "warn_overlaps",
]

#: Tier names from the top of the hierarchy down (Zhang 2022, Figure 1).
TIER_NAMES: tuple[str, ...] = ("international", "national", "regional", "local")

TABLE1_FILE = "table1_regional_innovation_resources_2020.csv"
TABLE2_FILE = "table2_recommended_centers.csv"

CITATION = (
    "Zhang W Z (2022) Layout and suggestions on China's science and technology innovation "
    "centers at different levels. Bulletin of Chinese Academy of Sciences 37(12): 1745-1756. "
    "doi:10.16418/j.issn.1000-3045.20220925002"
)


class NestedUnitsWarning(UserWarning):
    """Chosen units overlap (one lies inside another), so resources are counted twice."""


# ------------------------------------------------------------------------------ indicators
@dataclass(frozen=True)
class Indicator:
    """An indicator column: label, unit and direction (``benefit`` or ``cost``)."""

    column: str
    label: str
    unit: str
    direction: str = "benefit"


#: Table 1's indicators; every one is a benefit (more is better).
INDICATORS: tuple[Indicator, ...] = (
    Indicator("universities_double_first_class", "Double First-Class universities", "count"),
    Indicator("national_labs", "National laboratories", "count"),
    Indicator("state_key_labs", "State key laboratories", "count"),
    Indicator("research_institutions_share_pct", "Research institutions", "% of China"),
    Indicator("rd_intensity_pct", "R&D intensity", "% of GDP"),
    Indicator("pct_applications_share_pct", "PCT patent applications", "% of China"),
    Indicator("patent_grants_share_pct", "Patent grants", "% of China"),
    Indicator("maker_spaces_share_pct", "Maker spaces", "% of China"),
    Indicator("firms_with_rd_share_pct", "Firms with R&D institutions", "% of China"),
    Indicator("incubated_firms_share_pct", "Incubated firms", "% of China"),
)


# ------------------------------------------------------------------------------ regions
@dataclass(frozen=True)
class Region:
    """One of the paper's regions, assembled from administrative units.

    Attributes
    ----------
    name, name_zh, short
        English name (as in Table 1), Chinese name, short alias.
    adcodes
        Administrative division codes of its provinces / prefecture-level cities.
    centres
        Centre cities named by Table 2, with their GeoNames ids.
    """

    name: str
    name_zh: str
    short: str
    adcodes: tuple[str, ...]
    centres: tuple[tuple[str, int], ...]


_GBA_CITIES = (
    "440100",
    "440300",
    "440400",
    "440600",
    "440700",
    "441200",
    "441300",
    "441900",
    "442000",
    "810000",
    "820000",
)
_CC_CITIES = (
    "500000",
    "510100",
    "510300",
    "510500",
    "510600",
    "510700",
    "510900",
    "511000",
    "511100",
    "511300",
    "511400",
    "511500",
    "511600",
    "511700",
    "511800",
    "512000",
)

#: The paper's 18 regions (Table 1), by English name.
REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("Beijing", "北京", "BJ", ("110000",), (("Beijing", 1816670),)),
        Region("Beijing-Tianjin-Hebei", "京津冀", "BTH", ("110000", "120000", "130000"),
               (("Beijing", 1816670),)),
        Region("Shanghai", "上海", "SH", ("310000",), (("Shanghai", 1796236),)),
        Region("Yangtze River Delta", "长三角", "YRD", ("310000", "320000", "330000", "340000"),
               (("Shanghai", 1796236),)),
        Region("Guangdong-Hong Kong-Macao Greater Bay Area", "粤港澳", "GBA", _GBA_CITIES,
               (("Guangzhou", 1809858), ("Shenzhen", 1795565), ("Hong Kong", 1819729),
                ("Macao", 1821274))),
        Region("Guangdong", "广东", "GD", ("440000",),
               (("Guangzhou", 1809858), ("Shenzhen", 1795565))),
        Region("Hubei", "湖北", "HB", ("420000",), (("Wuhan", 1791247),)),
        Region("Chengdu-Chongqing", "成渝", "CY", _CC_CITIES,
               (("Chengdu", 1815286), ("Chongqing", 1814906))),
        Region("Liaoning", "辽宁", "LN", ("210000",),
               (("Shenyang", 2034937), ("Dalian", 1814087))),
        Region("Northeast China", "东北", "NE", ("210000", "220000", "230000"),
               (("Shenyang", 2034937), ("Dalian", 1814087))),
        Region("Shandong", "山东", "SD", ("370000",), (("Jinan", 1805753), ("Qingdao", 1797929))),
        Region("Shaanxi", "陕西", "SN", ("610000",), (("Xi'an", 1790630),)),
        Region("Fujian", "福建", "FJ", ("350000",), (("Fuzhou", 1810821), ("Xiamen", 1790645))),
        Region("Henan", "河南", "HA", ("410000",), (("Zhengzhou", 1784658),)),
        Region("Gansu", "甘肃", "GS", ("620000",), (("Lanzhou", 1804430),)),
        Region("Shanxi", "山西", "SX", ("140000",), (("Taiyuan", 1793511),)),
        Region("Yunnan", "云南", "YN", ("530000",), (("Kunming", 1804651),)),
        Region("Guangxi", "广西", "GX", ("450000",), (("Nanning", 1799869),)),
    )
}  # fmt: skip

#: Rows of Table 1 that lie inside (or overlap) another row and are left out by default.
NESTED_UNITS: tuple[str, ...] = ("Beijing", "Shanghai", "Guangdong", "Liaoning")

#: The 14 non-overlapping regions of the default run, in Table 1 order.
DEFAULT_UNITS: tuple[str, ...] = tuple(n for n in REGIONS if n not in NESTED_UNITS)


def unit_key(name: str) -> str:
    """Key for matching unit names: no spaces, dashes, dots or apostrophes; case-folded.

    Examples
    --------
    >>> unit_key("Xi'an"), unit_key("Beijing-Tianjin-Hebei")
    ('xian', 'beijingtianjinhebei')
    """
    return re.sub(r"[\s\-–—_'’.]+", "", str(name)).casefold()


@lru_cache(maxsize=1)
def region_aliases() -> dict[str, str]:
    """Every name of the paper's regions (:func:`unit_key` form) -> the region's name."""
    out: dict[str, str] = {}
    for r in REGIONS.values():
        for alias in (r.name, r.name_zh, r.short):
            out[unit_key(alias)] = r.name
    out[unit_key("Greater Bay Area")] = "Guangdong-Hong Kong-Macao Greater Bay Area"
    out[unit_key("Northeast")] = "Northeast China"
    out[unit_key("Jing-Jin-Ji")] = "Beijing-Tianjin-Hebei"
    return out


def resolve_region(name: str) -> Region:
    """The paper region called ``name`` (English, Chinese or short alias, any case).

    Examples
    --------
    >>> resolve_region("bth").name, resolve_region("粤港澳").short
    ('Beijing-Tianjin-Hebei', 'GBA')
    """
    try:
        return REGIONS[region_aliases()[unit_key(name)]]
    except KeyError:
        raise InputError(
            f"unknown region {name!r}; the paper's regions are: {', '.join(REGIONS)}"
        ) from None


def unit_overlaps(components: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Pairs of units whose administrative components coincide or contain one another.

    Parameters
    ----------
    components
        Unit name -> administrative division codes it is made of.

    Examples
    --------
    >>> unit_overlaps({"BTH": ["110000", "120000"], "Beijing": ["110000"], "Hubei": ["420000"]})
    [('BTH', 'Beijing')]
    >>> unit_overlaps({"Guangdong": ["440000"], "Shenzhen": ["440300"]})
    [('Guangdong', 'Shenzhen')]
    """
    owners: dict[str, list[str]] = {}
    for unit, codes in components.items():
        for code in codes:
            owners.setdefault(str(code), []).append(unit)
    pairs: set[tuple[str, str]] = set()
    order = {u: i for i, u in enumerate(components)}
    for unit, codes in components.items():
        for code in codes:
            for anc in adcode_ancestors(str(code)):
                for other in owners.get(anc, ()):
                    if other != unit:
                        a, b = sorted((unit, other), key=order.__getitem__)
                        pairs.add((a, b))
    return sorted(pairs, key=lambda p: (order[p[0]], order[p[1]]))


def warn_overlaps(components: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Warn with :class:`NestedUnitsWarning` when units overlap; the pairs of :func:`unit_overlaps`.

    The warning points at the caller of the function that calls this one
    (:func:`layers.macro.run.run_macro`).
    """
    pairs = unit_overlaps(components)
    if pairs:
        text = "; ".join(f"{a!r} and {b!r}" for a, b in pairs)
        warnings.warn(
            f"units overlap ({text}): their resources are counted twice and skew the "
            f"normalisation; choose non-overlapping units (the paper's 14 leave out "
            f"{', '.join(NESTED_UNITS)})",
            NestedUnitsWarning,
            stacklevel=3,
        )
    return pairs


# ------------------------------------------------------------------------------ package data
def data_file(name: str) -> Path:
    """Path of a file shipped in ``layers/data/`` (e.g. :data:`TABLE1_FILE`)."""
    return Path(str(files("layers") / "data" / name))


def load_table1() -> pd.DataFrame:
    """The paper's Table 1: 18 regions × 10 indicators of innovation resources in 2020.

    Examples
    --------
    >>> t = load_table1()
    >>> t.shape, t.loc[t.region_en == "Hubei", "state_key_labs"].item()
    ((18, 12), 20)
    """
    path = data_file(TABLE1_FILE)
    try:
        return pd.read_csv(path)
    except OSError as exc:  # pragma: no cover - broken install
        raise DataSourceError(f"cannot read the packaged Table 1 ({path}): {exc}") from None


def load_table2() -> pd.DataFrame:
    """The paper's Table 2: recommended innovation centres by tier.

    Examples
    --------
    >>> load_table2().groupby("tier", sort=False).size().to_dict()
    {'international': 3, 'national': 5, 'regional': 8, 'local': 1}
    """
    path = data_file(TABLE2_FILE)
    try:
        return pd.read_csv(path, keep_default_na=False)
    except OSError as exc:  # pragma: no cover - broken install
        raise DataSourceError(f"cannot read the packaged Table 2 ({path}): {exc}") from None


def paper_tiers() -> dict[str, str]:
    """Table 2's tier for each Table 1 region, matched through their centre cities.

    Examples
    --------
    >>> t = paper_tiers()
    >>> t["Chengdu-Chongqing"], t["Guangxi"], t["Beijing"]
    ('national', 'regional', 'international')
    """
    table2 = load_table2()
    city_tier: dict[str, str] = {}
    for tier, cities in zip(table2["tier"], table2["core_cities_en"], strict=True):
        for city in filter(None, (c.strip() for c in cities.split(";"))):
            city_tier[unit_key(city)] = tier
    out: dict[str, str] = {}
    for region in REGIONS.values():
        keys = (unit_key(city) for city, _ in region.centres)
        tiers = {city_tier[k] for k in keys if k in city_tier}
        if len(tiers) == 1:
            out[region.name] = tiers.pop()
    return out


def tier_names(tiers: int | Sequence[str]) -> tuple[str, ...]:
    """Tier names from the top: the first ``k`` of :data:`TIER_NAMES`, ``tier 1..k`` beyond.

    Examples
    --------
    >>> tier_names(3)
    ('international', 'national', 'regional')
    >>> tier_names(["core", "rest"])
    ('core', 'rest')
    """
    if isinstance(tiers, str | bool):
        raise InputError("give the number of tiers or a list of tier names")
    if isinstance(tiers, int | np.integer):
        k = int(tiers)
        if k < 2:
            raise InputError(f"need at least 2 tiers, got {k}")
        return TIER_NAMES[:k] if k <= len(TIER_NAMES) else tuple(f"tier {i + 1}" for i in range(k))
    names = tuple(str(t).strip() for t in tiers)
    if len(names) < 2 or any(not n for n in names) or len(set(names)) != len(names):
        raise InputError(f"tier names must be 2 or more distinct non-empty names, got {names}")
    return names


# ------------------------------------------------------------------------------ reading tables
def read_table(path: str | Path, *, layer: str | None = None) -> pd.DataFrame:
    """Read a table of units: CSV (UTF-8), or a vector file (GeoPackage, shapefile, …).

    Vector files come back as a GeoDataFrame in WGS84.

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    """
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(f"table {p} does not exist")
    csv = p.suffix.lower() in (".csv", ".txt")
    if csv and layer is not None:
        raise InputError(
            f"--layer {layer!r} names a layer of a vector table, but {p} is a CSV file"
        )
    if not csv:
        import pyogrio

        try:
            layers = [str(name) for name in pyogrio.list_layers(p)[:, 0]]
        except (OSError, RuntimeError):
            raise DataSourceError(
                f"cannot read {p}: not a CSV table nor a vector file GDAL can read "
                "(GeoPackage, shapefile, GeoJSON ...)"
            ) from None
        if layer is not None and layer not in layers:
            raise InputError(f"{p} has no layer {layer!r}; its layers are {', '.join(layers)}")
    try:
        if csv:
            return pd.read_csv(p, encoding="utf-8-sig")
        import geopandas as gpd

        gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
    except (OSError, ValueError, UnicodeDecodeError, RuntimeError) as exc:
        raise DataSourceError(f"cannot read table {p}: {exc}") from None
    if gdf.crs is not None and gdf.geometry.notna().any():
        gdf = gdf.to_crs(4326)
    return gdf


def find_unit_column(table: pd.DataFrame, unit_column: str | None) -> str:
    """The column naming the units: ``unit_column``, or the first of the usual names.

    Raises
    ------
    InputError
        ``unit_column`` is not a column, or no usual name (``unit``, ``name``,
        ``region_en``, ``region``, ``city``) is.
    """
    if unit_column is not None:
        if unit_column not in table.columns:
            raise InputError(
                f"unit column {unit_column!r} not found; "
                f"columns are {list(map(str, table.columns))}"
            )
        return unit_column
    for guess in ("unit", "name", "region_en", "region", "city", "NAME", "Name"):
        if guess in table.columns:
            return guess
    raise InputError(
        "cannot tell which column names the units; give unit_column (--unit-column); "
        f"columns are {list(map(str, table.columns))}"
    )


def indicator_matrix(table: pd.DataFrame, units: pd.Series, columns: Sequence[str]) -> np.ndarray:
    """Validated float matrix of the indicator columns, errors naming column and unit."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"indicator column(s) {missing} not found in the table; "
            f"columns are {list(map(str, table.columns))}"
        )
    out = np.empty((len(table), len(columns)))
    for j, col in enumerate(columns):
        raw = table[col]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=0.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            shown = raw.iloc[i]
            what = "missing" if pd.isna(shown) else f"not a finite number ({shown!r})"
            raise InputError(
                f"indicator {col!r} is {what} for unit {units.iloc[i]!r}; "
                "every indicator needs a number for every unit"
            )
        out[:, j] = values.to_numpy(dtype=float)
    constant = np.flatnonzero(np.ptp(out, axis=0) == 0) if len(out) else np.empty(0, int)
    if len(constant):
        col = columns[int(constant[0])]
        raise InputError(
            f"indicator {col!r} has the same value ({out[0, constant[0]]:g}) for every unit, "
            "so it cannot tell units apart; drop it"
        )
    return out


def indicator_directions(
    indicators: Mapping[str, str] | Sequence[str], cost: Sequence[str] = ()
) -> tuple[list[str], np.ndarray]:
    """Indicator columns and their cost mask from a list or a mapping to directions.

    Parameters
    ----------
    indicators
        Column names (all benefit) or a mapping column -> ``"benefit"`` / ``"cost"``.
    cost
        Further columns where lower is better.

    Returns
    -------
    columns, cost
        The column names, and a boolean array, True for cost indicators.

    Examples
    --------
    >>> indicator_directions({"talent": "benefit", "rent": "cost"})
    (['talent', 'rent'], array([False,  True]))
    """
    if isinstance(indicators, str):
        indicators = [indicators]
    if isinstance(indicators, Mapping):
        columns = [str(c) for c in indicators]
        dirs = [str(d).strip().lower() for d in indicators.values()]
    else:
        columns = [str(c) for c in indicators]
        dirs = ["benefit"] * len(columns)
    if not columns:
        raise InputError("give at least one indicator column")
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise InputError(f"indicator {dup!r} is listed twice")
    bad = [f"{c}={d}" for c, d in zip(columns, dirs, strict=True) if d not in ("benefit", "cost")]
    if bad:
        raise InputError(f"indicator directions must be 'benefit' or 'cost', got {bad}")
    unknown = [c for c in cost if c not in columns]
    if unknown:
        raise InputError(f"cost indicator(s) {unknown} are not among the indicators {columns}")
    mask = np.array([d == "cost" or c in cost for c, d in zip(columns, dirs, strict=True)])
    return columns, mask


def read_pairwise(source: str | Path | pd.DataFrame, indicators: Sequence[str]) -> np.ndarray:
    """AHP pairwise matrix from a CSV (first column and header: indicator names).

    Rows and columns are reordered to ``indicators``; values may be numbers or
    fractions such as ``1/3``.

    Raises
    ------
    InputError
        If the matrix is not square, or its names differ from the indicators.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        p = Path(source)
        if not p.is_file():
            raise DataSourceError(f"AHP matrix file {p} does not exist")
        frame = pd.read_csv(p, index_col=0, dtype=str, encoding="utf-8-sig")
    frame.index = frame.index.map(lambda s: str(s).strip())
    frame.columns = frame.columns.map(lambda s: str(s).strip())
    if frame.shape[0] != frame.shape[1]:
        raise InputError(
            f"AHP matrix must be square, got {frame.shape[0]} rows x {frame.shape[1]} columns"
        )
    for axis, names in (("rows", list(frame.index)), ("columns", list(frame.columns))):
        missing = [c for c in indicators if c not in names]
        extra = [c for c in names if c not in indicators]
        if missing or extra:
            raise InputError(
                f"AHP matrix {axis} must be the indicators; missing {missing}, unknown {extra}"
            )
    frame = frame.loc[list(indicators), list(indicators)]

    def number(text: Any, row: str, col: str) -> float:
        if isinstance(text, int | float | np.number):
            return float(text)
        s = str(text).strip()
        try:
            if "/" in s:
                num, den = s.split("/", 1)
                return float(num) / float(den)
            return float(s)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"AHP matrix cell ({row}, {col}) is {s!r}, not a number") from None

    return np.array(
        [
            [number(frame.iat[i, j], r, c) for j, c in enumerate(frame.columns)]
            for i, r in enumerate(frame.index)
        ]
    )


def read_travel_matrix(source: str | Path | pd.DataFrame, units: Sequence[str]) -> np.ndarray:
    """Square travel-time (or distance) matrix between units, in the order of ``units``.

    Parameters
    ----------
    source
        CSV with unit names as first column and header, or a DataFrame.
    units
        Unit names; each must be a row and a column.

    Raises
    ------
    DataSourceError
        The file does not exist.
    InputError
        A unit is missing from the rows or the columns.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        p = Path(source)
        if not p.is_file():
            raise DataSourceError(f"travel-time matrix {p} does not exist")
        frame = pd.read_csv(p, index_col=0, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.index = frame.index.map(lambda s: str(s).strip())
    frame.columns = frame.columns.map(lambda s: str(s).strip())
    for axis, names in (("rows", frame.index), ("columns", frame.columns)):
        missing = [u for u in units if u not in set(names)]
        if missing:
            raise InputError(f"travel-time matrix {axis} lack unit(s) {missing[:10]}")
    given = frame.loc[list(units), list(units)]
    values = given.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) | (values < 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"travel-time matrix cell (row {units[r]!r}, column {units[c]!r}) is "
            f"'{given.iat[r, c]!s}'; give a number >= 0 (or inf for no connection); "
            f"{int(bad.sum())} cell(s) in all"
        )
    return values
