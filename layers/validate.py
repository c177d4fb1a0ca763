"""Validation of the national innovation ranking against published science-city rankings.

:func:`validate` ranks the Chinese prefectures with :func:`layers.macro.run.run_macro`
(``national="CN"``, the innovation index) and compares the ranking with

* every published list in ``layers/data/validation/science_city_rankings.csv``
  (:func:`published_rankings`; sources in ``layers/data/validation/SOURCES.md``):
  Spearman's ρ between the published ranks and ours over the cities the list ranks,
  and the overlap of the two top-k sets (k = 10, or fewer when the list names fewer
  cities);
* the centres of the paper's Table 2 (:func:`table2_check`): the tier and rank of
  each core city, and whether the international and national centres are in the
  top two tiers;
* the size of the top tier and the ranks of Nanjing, Wuhan, Xi'an and Hefei.

A published entry may name several prefectures (a GII cluster such as
Shanghai-Suzhou): it takes the best rank of its members. An entry with no census
prefecture (Hong Kong) is reported and left out of ρ and the overlap.

:func:`platforms_in_zones` is the hook for the meso part of the validation: which
named platforms fall in the candidate zones of a run; :func:`validate` takes a zones
file and a platforms table (``innosite validate --zones candidates.gpkg --platforms
platforms.csv``).

Examples
--------
>>> lists = published_rankings()
>>> sorted(lists["list"].unique())
['gii_2024', 'nature_index_2023', 'nature_index_2024', 'nature_index_2025']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis.errors import InputError

__all__ = [
    "NAMED_CITIES",
    "RANKINGS_FILE",
    "TABLE2_CITY_CODES",
    "ValidationResult",
    "compare_ranking",
    "format_validation",
    "platforms_in_zones",
    "published_rankings",
    "read_platforms",
    "read_rankings",
    "read_zones",
    "table2_check",
    "validate",
]

#: The shipped published rankings.
RANKINGS_FILE: Path = (
    Path(__file__).resolve().parent / "data" / "validation" / "science_city_rankings.csv"
)
_COLUMNS = ("list", "rank", "name_en", "name_zh", "city_codes", "source")

#: 2020 census prefecture codes of the core cities of the paper's Table 2 (None: not a
#: census prefecture).
TABLE2_CITY_CODES: dict[str, str | None] = {
    "Beijing": "110100",
    "Shanghai": "310100",
    "Guangzhou": "440100",
    "Shenzhen": "440300",
    "Hong Kong": None,
    "Macao": None,
    "Wuhan": "420100",
    "Chengdu": "510100",
    "Chongqing": "500100",
    "Shenyang": "210100",
    "Dalian": "210200",
    "Xi'an": "610100",
    "Jinan": "370100",
    "Qingdao": "370200",
    "Zhengzhou": "410100",
    "Changsha": "430100",
    "Fuzhou": "350100",
    "Xiamen": "350200",
    "Lanzhou": "620100",
    "Taiyuan": "140100",
    "Kunming": "530100",
    "Nanning": "450100",
}

#: Science cities the issue expects in the national top 20 (name -> prefecture code).
NAMED_CITIES: dict[str, str] = {
    "Nanjing": "320100",
    "Wuhan": "420100",
    "Xi'an": "610100",
    "Hefei": "340100",
}


def read_rankings(path: str | Path) -> pd.DataFrame:
    """Read and check a table of published rankings (the form of :data:`RANKINGS_FILE`).

    Raises
    ------
    InputError
        A column is missing, a rank is not a positive integer, a code is not six
        digits, or a list repeats a rank or a name.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}")
    rank = pd.to_numeric(df["rank"], errors="coerce")
    bad = ~(rank.notna() & (rank >= 1) & (rank == rank.round()))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{path}: row {i + 2}: rank must be a positive integer, got "
                         f"{df['rank'].iloc[i]!r}")  # fmt: skip
    df["rank"] = rank.astype("int64")
    codes = df["city_codes"].str.split(";").map(lambda xs: [x.strip() for x in xs if x.strip()])
    for i, cs in enumerate(codes):
        wrong = [c for c in cs if not (len(c) == 6 and c.isdigit())]
        if wrong:
            raise InputError(f"{path}: row {i + 2}: city code {wrong[0]!r} is not 6 digits")
    df["city_codes"] = codes
    for col in ("rank", "name_en"):
        dup = df[df.duplicated(["list", col], keep=False)]
        if len(dup):
            r = dup.iloc[0]
            shown = str(int(r[col])) if col == "rank" else repr(str(r[col]))
            raise InputError(f"{path}: list {r['list']!r} repeats {col} {shown}")
    return df.sort_values(["list", "rank"], kind="stable").reset_index(drop=True)


@lru_cache(maxsize=1)
def _shipped() -> pd.DataFrame:
    return read_rankings(RANKINGS_FILE)


def published_rankings() -> pd.DataFrame:
    """The shipped published rankings: one row per ranked city or cluster.

    Columns ``list``, ``rank`` (int, the list's global rank), ``name_en``,
    ``name_zh``, ``city_codes`` (list of prefecture codes) and ``source`` (a key of
    ``layers/data/validation/SOURCES.md``).
    """
    return _shipped().copy()


def _rank_lookup(units: pd.DataFrame) -> dict[str, int]:
    for col in ("city_code", "rank"):
        if col not in units.columns:
            raise InputError(f"the ranking lacks column {col!r} (run a national innovation run)")
    return dict(zip(units["city_code"].astype(str), units["rank"].astype(int), strict=True))


def compare_ranking(
    units: pd.DataFrame, lists: pd.DataFrame | None = None, *, k: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman ρ and top-k overlap of a ranking with each published list.

    Parameters
    ----------
    units
        The ranking: ``city_code`` and ``rank`` (1 = first) per unit.
    lists
        Published rankings (default :func:`published_rankings`).
    k
        Size of the top sets compared (fewer when a list names fewer cities).

    Returns
    -------
    summary, entries
        ``summary``: one row per list with ``listed``, ``matched``, ``spearman_rho``,
        ``p_value``, ``k`` and ``top_k_overlap``; ``entries``: one row per listed city
        with its published rank and ours (``our_rank`` NaN when not a unit).

    Examples
    --------
    >>> units = pd.DataFrame({"city_code": ["1", "2", "3", "4"], "rank": [1, 2, 3, 4]})
    >>> lists = pd.DataFrame({"list": "x", "rank": [1, 5, 9], "name_en": ["a", "b", "c"],
    ...                       "city_codes": [["1"], ["3", "4"], ["2"]]})
    >>> s, e = compare_ranking(units, lists, k=2)
    >>> e["our_rank"].tolist(), float(s.loc[0, "spearman_rho"]), int(s.loc[0, "top_k_overlap"])
    ([1.0, 3.0, 2.0], 0.5, 1)
    """
    from scipy.stats import spearmanr

    if k < 1:
        raise InputError(f"k must be >= 1, got {k!r}")
    lookup = _rank_lookup(units)
    lists = published_rankings() if lists is None else lists
    entries = lists.copy()
    entries["our_rank"] = np.array(
        [min((lookup[c] for c in cs if c in lookup), default=np.nan) for cs in lists["city_codes"]],
        dtype=float,
    )
    rows = []
    for name, e in entries.groupby("list", sort=True):
        m = e[e["our_rank"].notna()].sort_values("rank")
        kk = min(k, len(m))
        rho, p = (np.nan, np.nan)
        if len(m) >= 3:
            res = spearmanr(m["rank"], m["our_rank"])
            rho, p = float(res[0]), float(res[1])
        overlap = int((m["our_rank"].head(kk) <= kk).sum())
        rows.append(
            {"list": name, "listed": len(e), "matched": len(m), "spearman_rho": rho,
             "p_value": p, "k": kk, "top_k_overlap": overlap}
        )  # fmt: skip
    return pd.DataFrame(rows), entries


def table2_check(units: pd.DataFrame) -> pd.DataFrame:
    """Tier and rank of each core city of the paper's Table 2.

    ``units`` needs ``city_code``, ``rank``, ``tier`` and ``tier_rank`` (1 = top).
    Returns one row per core city: ``paper_tier``, ``center``, ``city``,
    ``our_rank``, ``our_tier``, ``top_two`` (our tier is one of the top two) and
    ``note`` (``"not a census prefecture"`` for Hong Kong and Macao).
    """
    from layers.macro.tables import load_table2

    for col in ("city_code", "rank", "tier", "tier_rank"):
        if col not in units.columns:
            raise InputError(f"the ranking lacks column {col!r}")
    rank = dict(zip(units["city_code"].astype(str), units["rank"].astype(int), strict=True))
    tier = dict(zip(units["city_code"].astype(str), units["tier"].astype(str), strict=True))
    level = dict(zip(units["city_code"].astype(str), units["tier_rank"].astype(int), strict=True))
    rows = []
    for _, r in load_table2().iterrows():
        for city in [c.strip() for c in str(r["core_cities_en"]).split(";") if c.strip()]:
            code = TABLE2_CITY_CODES.get(city)
            row: dict[str, Any] = {
                "paper_tier": r["tier"], "center": r["center_en"], "city": city,
                "our_rank": np.nan, "our_tier": "", "top_two": False, "note": "",
            }  # fmt: skip
            if code is None or code not in rank:
                row["note"] = "not a census prefecture" if code is None else "not ranked"
            else:
                row.update(our_rank=rank[code], our_tier=tier[code], top_two=level[code] <= 2)
            rows.append(row)
    return pd.DataFrame(rows)


def platforms_in_zones(
    platforms: Sequence[tuple[str, float, float]], zones: Any, *, rank_column: str = "rank"
) -> pd.DataFrame:
    """Which named platforms (name, lon, lat in WGS84) fall in which candidate zone.

    Parameters
    ----------
    platforms
        ``(name, lon, lat)`` per platform.
    zones
        GeoDataFrame of candidate zones (any CRS); its ``rank_column`` names the zone
        (the row number when absent).

    Returns
    -------
    pandas.DataFrame
        ``platform``, ``lon``, ``lat``, ``in_zone`` (bool) and ``zone`` (the rank of
        the zone containing it, NaN outside every zone).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame({"rank": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> platforms_in_zones([("in", 0.5, 0.5), ("out", 2.0, 2.0)], z)["zone"].tolist()
    [1.0, nan]
    """
    import geopandas as gpd

    if zones.crs is None:
        raise InputError("the zones have no CRS")
    names = [str(p[0]) for p in platforms]
    lon = np.array([float(p[1]) for p in platforms])
    lat = np.array([float(p[2]) for p in platforms])
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InputError("every platform needs a finite lon and lat")
    pts = gpd.GeoDataFrame(
        {"platform": names}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    ).to_crs(zones.crs)
    z = zones[[rank_column, zones.geometry.name]] if rank_column in zones.columns else (
        zones.assign(**{rank_column: np.arange(1, len(zones) + 1)})[
            [rank_column, zones.geometry.name]
        ]
    )  # fmt: skip
    hit = gpd.sjoin(pts, z, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].reindex(pts.index)
    zone = pd.to_numeric(hit[rank_column], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame(
        {"platform": names, "lon": lon, "lat": lat, "in_zone": np.isfinite(zone), "zone": zone}
    )


def read_platforms(path: str | Path) -> list[tuple[str, float, float]]:
    """Named platforms from a CSV with columns ``name``, ``lon``, ``lat`` (WGS84 degrees).

    Raises
    ------
    InputError
        A column is missing, the table is empty, a name is empty or a coordinate is
        not a number within range (the message names the row).
    DataSourceError
        The file is missing or unreadable.
    """
    from layers.macro.tables import read_table

    df = read_table(path)
    missing = [c for c in ("name", "lon", "lat") if c not in df.columns]
    if missing:
        raise InputError(f"platforms {path}: missing column(s) {missing}; need name, lon, lat")
    if df.empty:
        raise InputError(f"platforms {path}: no rows")
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float)
    names = df["name"].fillna("").astype(str).str.strip().to_numpy()
    bad = (
        (names == "")
        | ~np.isfinite(lon)
        | ~np.isfinite(lat)
        | (np.abs(lon) > 180)
        | (np.abs(lat) > 90)
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"platforms {path}: row {i + 2}: need a name and lon/lat in degrees, got "
            f"{names[i]!r}, {df['lon'].iloc[i]!r}, {df['lat'].iloc[i]!r}"
        )
    return [(str(n), float(x), float(y)) for n, x, y in zip(names, lon, lat, strict=True)]


def read_zones(path: str | Path, *, layer: str | None = None) -> Any:
    """Candidate zones from a vector file (e.g. ``candidates.gpkg`` of a meso run).

    Raises
    ------
    InputError
        The file has no polygon geometry or no CRS.
    DataSourceError
        The file is missing or unreadable.
    """
    import geopandas as gpd

    from layers.macro.tables import read_table

    zones = read_table(path, layer=layer)
    if not isinstance(zones, gpd.GeoDataFrame) or zones.geometry.isna().all():
        raise InputError(f"zones {path}: no geometry; give the polygons of a run's zones")
    if zones.crs is None:
        raise InputError(f"zones {path}: no CRS; set one in your GIS software")
    if not zones.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"zones {path}: every zone must be a polygon")
    return zones


@dataclass
class ValidationResult:
    """What :func:`validate` found.

    Attributes
    ----------
    summary
        One row per published list (see :func:`compare_ranking`).
    entries
        One row per listed city with both ranks.
    table2
        :func:`table2_check` of the ranking.
    checks
        Named pass/fail checks with the value behind each.
    units
        The ranking (city_code, unit, rank, tier, index, drivers).
    settings
        The ranking's options.
    platforms
        :func:`platforms_in_zones` of the given platforms and zones (None without them).
    files
        Files written (empty when nothing was written).
    """

    summary: pd.DataFrame
    entries: pd.DataFrame
    table2: pd.DataFrame
    checks: pd.DataFrame
    units: pd.DataFrame
    settings: dict[str, Any]
    platforms: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)


def _checks(summary: pd.DataFrame, table2: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    lookup = _rank_lookup(units)
    top_tier = int((units["tier_rank"] == 1).sum())
    rows = []
    for _, s in summary.iterrows():
        # rho of integer ranks is a ratio of integers: round off floating-point noise
        # (0.7999999999999999 is the 0.8 it stands for)
        rows.append({"check": f"{s['list']}: Spearman rho >= 0.8",
                     "value": f"{s['spearman_rho']:.3f} over {s['matched']} cities",
                     "passed": bool(round(s["spearman_rho"], 12) >= 0.8)})  # fmt: skip
        need = int(np.ceil(0.7 * int(s["k"])))  # 7 of 10, scaled for shorter lists
        rows.append({"check": f"{s['list']}: top-{s['k']} overlap >= {need}",
                     "value": f"{s['top_k_overlap']}/{s['k']}",
                     "passed": bool(s["top_k_overlap"] >= need)})  # fmt: skip
    upper = table2[table2["paper_tier"].isin(["international", "national"])]
    ranked = upper[upper["note"] == ""]
    misses = ranked.loc[~ranked["top_two"], "city"].tolist()
    rows.append({"check": "Table 2 international and national centres in the top two tiers",
                 "value": f"{int(ranked['top_two'].sum())}/{len(ranked)}"
                 + (f" (not: {', '.join(misses)})" if misses else ""),
                 "passed": not misses})  # fmt: skip
    rows.append({"check": "fewer than 15 units in the top tier", "value": str(top_tier),
                 "passed": top_tier < 15})  # fmt: skip
    named = {c: lookup.get(code) for c, code in NAMED_CITIES.items()}
    rows.append({"check": "Nanjing, Wuhan, Xi'an and Hefei in the top 20",
                 "value": ", ".join(f"{c} {r}" for c, r in named.items()),
                 "passed": all(r is not None and r <= 20 for r in named.values())})  # fmt: skip
    return pd.DataFrame(rows)


def validate(
    out: str | Path | None = None,
    *,
    measure: str = "extensive",
    top: int = 300,
    units: pd.DataFrame | None = None,
    zones: str | Path | None = None,
    platforms: str | Path | Sequence[tuple[str, float, float]] | None = None,
    overwrite: bool = False,
) -> ValidationResult:
    """Rank the Chinese prefectures and compare the ranking with the published ones.

    Parameters
    ----------
    out
        Folder for ``validation.csv`` (the checks and per-list figures),
        ``validation_cities.csv`` (every listed city with both ranks),
        ``table2.csv``, ``ranking.csv`` and ``validation.txt`` (the report);
        None writes nothing.
    measure, top
        ``national_measure`` and ``national_top`` of the ranking.
    units
        A ranking to check instead (``city_code``, ``unit``, ``rank``, ``tier``,
        ``tier_rank``), e.g. the ``units`` of a macro run.
    zones, platforms
        Candidate zones (a vector file) and named platforms (a CSV of ``name``,
        ``lon``, ``lat``, or a list of such tuples), given together: which platforms
        fall in which zone (``platforms.csv`` and a report section).
    overwrite
        Replace a non-empty ``out``.
    """
    from gis.io import check_output_folder, output_folder

    if (zones is None) != (platforms is None):
        raise InputError("give zones and platforms together (--zones FILE --platforms FILE)")
    places = None
    if zones is not None and platforms is not None:
        plist = read_platforms(platforms) if isinstance(platforms, str | Path) else list(platforms)
        places = platforms_in_zones(plist, read_zones(zones))
    if out is not None:
        check_output_folder(out, overwrite=overwrite)
    if units is None:
        from layers.macro.run import run_macro

        units = run_macro(
            None, national="CN", national_index="innovation", national_measure=measure,
            national_top=top, draws=1,
        ).units  # fmt: skip
    summary, entries = compare_ranking(units)
    table2 = table2_check(units)
    checks = _checks(summary, table2, units)
    keep = [c for c in ("city_code", "unit", "rank", "tier", "index", "drivers") if c in units]
    ranking = pd.DataFrame(units[keep]).sort_values("rank").reset_index(drop=True)
    result = ValidationResult(
        summary=summary, entries=entries, table2=table2, checks=checks, units=ranking,
        settings={"measure": measure, "top": top}, platforms=places,
    )  # fmt: skip
    if out is None:
        return result
    with output_folder(out, overwrite=overwrite) as folder:
        checks.to_csv(folder / "validation.csv", index=False)
        summary.to_csv(folder / "validation_lists.csv", index=False)
        e = entries.copy()
        e["city_codes"] = e["city_codes"].map(";".join)
        e.to_csv(folder / "validation_cities.csv", index=False)
        table2.to_csv(folder / "table2.csv", index=False)
        ranking.to_csv(folder / "ranking.csv", index=False)
        if places is not None:
            places.to_csv(folder / "platforms.csv", index=False)
        (folder / "validation.txt").write_text(format_validation(result) + "\n", encoding="utf-8")
    result.files = ["validation.csv", "validation_lists.csv", "validation_cities.csv",
                    "table2.csv", "ranking.csv", "validation.txt"]  # fmt: skip
    if places is not None:
        result.files.append("platforms.csv")
    return result


def format_validation(result: ValidationResult, *, top: int = 20) -> str:
    """The validation as plain text: checks, per-list figures, Table 2, the top units."""
    lines = ["Validation of the national innovation ranking "
             f"({result.settings.get('measure', '')} indicators)", ""]  # fmt: skip
    for _, c in result.checks.iterrows():
        lines.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['check']}: {c['value']}")
    lines += ["", f"{'list':<20} {'listed':>6} {'matched':>7} {'rho':>7} {'p':>7} {'overlap':>8}"]
    for _, s in result.summary.iterrows():
        lines.append(
            f"{s['list']:<20} {s['listed']:>6} {s['matched']:>7} {s['spearman_rho']:>7.3f} "
            f"{s['p_value']:>7.3f} {s['top_k_overlap']:>4}/{s['k']:<3}"
        )
    lines += ["", "Published rank -> ours:"]
    for name, e in result.entries.groupby("list", sort=True):
        pairs = ", ".join(
            f"{r['name_en']} {r['rank']}->"
            + ("-" if pd.isna(r["our_rank"]) else str(int(r["our_rank"])))
            for _, r in e.iterrows()
        )
        lines.append(f"  {name}: {pairs}")
    lines += ["", "Table 2 centres (paper tier -> our rank, tier):"]
    for _, r in result.table2.iterrows():
        ours = r["note"] or f"{int(r['our_rank'])}, {r['our_tier']}"
        lines.append(f"  {r['paper_tier']:<13} {r['city']:<10} {ours}")
    if result.platforms is not None:
        p = result.platforms
        lines += ["", f"Platforms in candidate zones: {int(p['in_zone'].sum())} of {len(p)}"]
        for _, r in p.iterrows():
            where = f"zone {int(r['zone'])}" if r["in_zone"] else "outside every zone"
            lines.append(f"  {r['platform']}: {where}")
    lines += ["", f"Top {top} units:"]
    for _, r in result.units.head(top).iterrows():
        extra = f"  {r['drivers']}" if "drivers" in r else ""
        lines.append(f"  {int(r['rank']):>3}  {r['unit']:<8} {r['tier']:<13}{extra}")
    return "\n".join(lines)
