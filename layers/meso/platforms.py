"""The science cities and platforms the paper names for its regions, and whether zones hold them.

Section 4 of Zhang (2022) names, for most regions of Table 2, the platforms a centre
should build on: Zhongguancun, Huairou and Future Science Cities and the Beijing
Economic-Technological Development Area; Zhangjiang Science City and Lingang; East Lake
Science City and Optics Valley in Wuhan; Tianfu New Area, the Chengdu and Chongqing
high-tech zones and Liangjiang New Area; the Shenyang and Dalian high-tech zones; the
marine science laboratory of Qingdao; the Innovation Harbour, Xi'an Science City and
Chang'an University Town. The Greater Bay Area gets only a corridor in the paper; its rows
are the corridor's main nodes and say so. :data:`PLATFORMS_FILE` lists them with a point
each (a metro station or campus of the shipped tables that lies in the platform, named in
the ``anchor`` column; see ``layers/data/README.md``).

:func:`platforms_in_zones` tells which of a region's platforms lie in its candidate zones,
the check a validation report makes of a meso run (the point-in-zone test is
:func:`layers.validate.platforms_in_zones`; this adds the region's rows, the zone's area
and the distance to the nearest zone). The table's ``name``, ``lon`` and ``lat`` columns
are what ``innosite validate --platforms`` reads.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.errors import DataSourceError, InputError

if TYPE_CHECKING:
    from layers.meso.run import MesoConfig

__all__ = [
    "PLATFORMS_FILE",
    "PLATFORM_COLUMNS",
    "platform_lines",
    "platforms",
    "platforms_in_zones",
]

#: The shipped table of named platforms (UTF-8 CSV, WGS84 points).
PLATFORMS_FILE: Path = Path(__file__).resolve().parents[1] / "data" / "platforms.csv"

#: Columns of :func:`platforms_in_zones`.
PLATFORM_COLUMNS: tuple[str, ...] = (
    "region", "name", "name_zh", "lon", "lat", "named_in", "in_zone", "zone_rank",
    "zone_km2", "distance_km", "zones",
)  # fmt: skip


@lru_cache(maxsize=1)
def _table() -> gpd.GeoDataFrame:
    if not PLATFORMS_FILE.is_file():
        raise DataSourceError(f"{PLATFORMS_FILE} is missing; reinstall innosite")
    df = pd.read_csv(PLATFORMS_FILE, encoding="utf-8", keep_default_na=False)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


def platforms(region: str | None = None) -> gpd.GeoDataFrame:
    """The named platforms (of one region, given by anything the region resolver accepts).

    Returns
    -------
    geopandas.GeoDataFrame
        ``region``, ``name``, ``name_zh``, ``lon``, ``lat``, ``named_in``, ``anchor`` and
        point geometry in EPSG:4326; a copy.

    Raises
    ------
    InputError
        An unknown region name.

    Examples
    --------
    >>> platforms("wuhan")["name"].tolist()
    ['Optics Valley (East Lake high-tech zone)', 'East Lake Science City']
    """
    table = _table()
    if region is None:
        return table.copy()
    from layers.china.regions import resolve_metro_region

    key = resolve_metro_region(region).key
    return table[table["region"] == key].reset_index(drop=True)


def platforms_in_zones(
    region: str,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    config: MesoConfig | None = None,
) -> pd.DataFrame:
    """Which of a region's named platforms lie in candidate zones.

    Parameters
    ----------
    region
        A named region (:data:`layers.china.regions.METRO_REGIONS` key or alias).
    candidates
        The candidate zones of a meso run (any CRS). Default: the zones of a meso run of
        the region with ``config`` (default: the region's default run, offline).
    config
        The run made when ``candidates`` is not given; its ``region`` is set to ``region``.

    Returns
    -------
    pandas.DataFrame
        One row per platform (:data:`PLATFORM_COLUMNS`): ``in_zone``, the ``zone_rank``
        and area (``zone_km2``) of the zone holding it (0 and NaN when none does), the
        ``distance_km`` to the nearest zone (0 inside) and the number of ``zones`` of the
        run. A region without named platforms gives no rows.

    Raises
    ------
    InputError
        An unknown region, or ``candidates`` without CRS or ``rank`` column.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> zones = gpd.GeoDataFrame({"rank": [1]}, geometry=[box(114.35, 30.45, 114.45, 30.55)],
    ...                          crs=4326)
    >>> t = platforms_in_zones("wuhan", candidates=zones)
    >>> t[["name", "in_zone", "zone_rank"]].values.tolist()
    [['Optics Valley (East Lake high-tech zone)', True, 1], ['East Lake Science City', False, 0]]
    """
    table = platforms(region)
    if candidates is None:
        from dataclasses import replace

        from layers.meso.run import MesoConfig, compute_meso, load_meso_data

        cfg = replace(config or MesoConfig(), region=region, place=None, bbox=None,
                      area_file=None)  # fmt: skip
        candidates = compute_meso(load_meso_data(cfg), cfg).candidates
    if candidates.crs is None or "rank" not in candidates.columns:
        raise InputError("candidate zones need a CRS and a 'rank' column (a meso run's zones)")
    out = pd.DataFrame(table.drop(columns=["geometry", "anchor"]))
    n = len(table)
    rank = np.zeros(n, dtype=np.int64)
    area = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    if n and len(candidates):
        from gis.grid import utm_crs
        from layers.validate import platforms_in_zones as point_in_zone

        points = list(zip(table["name"], table["lon"], table["lat"], strict=True))
        zone = point_in_zone(points, candidates)["zone"].to_numpy(dtype=float)
        inside = np.isfinite(zone)
        rank[inside] = zone[inside].astype(np.int64)
        zones = candidates.to_crs(4326)
        c = shapely.box(*zones.total_bounds).union(shapely.box(*table.total_bounds)).centroid
        crs = utm_crs(c.x, c.y)
        zones = zones.to_crs(crs)
        area_by_rank = dict(zip(zones["rank"].to_numpy(), zones.geometry.area.to_numpy() / 1e6,
                                strict=True))  # fmt: skip
        area[inside] = [area_by_rank[r] for r in rank[inside]]
        pts = table.to_crs(crs).geometry
        near_pt, near_zone = zones.sindex.nearest(pts, return_all=False)
        d = shapely.distance(pts.to_numpy()[near_pt], zones.geometry.to_numpy()[near_zone])
        dist[near_pt] = np.round(np.asarray(d, dtype=float) / 1000.0, 2)
    out["in_zone"] = rank > 0
    out["zone_rank"] = rank
    out["zone_km2"] = np.round(area, 1)
    out["distance_km"] = dist
    out["zones"] = len(candidates)
    return out[list(PLATFORM_COLUMNS)].reset_index(drop=True)


def platform_lines(region: str | None, candidates: gpd.GeoDataFrame) -> list[str]:
    """One line per named platform of ``region``: the zone it lies in, or how far the nearest is.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> zones = gpd.GeoDataFrame({"rank": [1]}, geometry=[box(114.35, 30.45, 114.45, 30.55)],
    ...                          crs=4326)
    >>> platform_lines("wuhan", zones)[0]
    'Optics Valley (East Lake high-tech zone) (光谷): in zone 1'
    """
    if region is None:
        return []
    rows = platforms_in_zones(region, candidates=candidates)
    lines = []
    for name, name_zh, in_zone, rank, km in zip(
        rows["name"], rows["name_zh"], rows["in_zone"], rows["zone_rank"], rows["distance_km"],
        strict=True,
    ):  # fmt: skip
        where = (f"in zone {rank}" if in_zone else "no zone" if math.isnan(float(km))
                 else f"not in a zone ({float(km):g} km away)")  # fmt: skip
        lines.append(f"{name} ({name_zh}): {where}")
    return lines
