"""Chinese coordinate datums: GCJ-02 to WGS84 and back, and a check for unconverted data.

Web maps in mainland China (AMap/Gaode, Tencent, Google Maps China) publish
coordinates in GCJ-02, an obfuscated datum offset from WGS84 by a smooth,
position-dependent shift of about 100-700 m. Mixing GCJ-02 points with WGS84
layers (OpenStreetMap, GeoNames, airports) silently misplaces them, so innosite
never converts implicitly: the caller chooses with an explicit option.

:func:`wgs84_to_gcj02` is the published forward transform (Krasovsky ellipsoid
constants, applied inside a rough bounding box of China and unchanged outside).
:func:`gcj02_to_wgs84` inverts it by fixed-point iteration to below 1e-9 degrees.
:func:`gcj02_offset_check` compares user points with reference WGS84 points
(e.g. OpenStreetMap stations) and tells whether the user points look like GCJ-02.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)     # Shanghai
>>> round(float(lon), 9), round(float(lat), 9)
(121.531541859, 31.175303984)
>>> lon, lat = gcj02_to_wgs84(lon, lat)
>>> round(float(lon), 7), round(float(lat), 7)
(121.5272106, 31.1774276)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gis.errors import InputError

__all__ = [
    "CHINA_BOUNDS",
    "DatumWarning",
    "OffsetCheck",
    "gcj02_offset_check",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_gcj02",
]

#: ``(west, south, east, north)`` box inside which GCJ-02 applies (the published rule).
CHINA_BOUNDS: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared


class DatumWarning(UserWarning):
    """Coordinates look like they are in another datum than declared (e.g. GCJ-02 as WGS84)."""


def _lonlat(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array(lon, dtype="float64")
    la = np.array(lat, dtype="float64")
    if lo.shape != la.shape:
        raise InputError(f"lon and lat must have the same shape, got {lo.shape} and {la.shape}")
    return lo, la


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """Whether points lie in the box where GCJ-02 applies (:data:`CHINA_BOUNDS`).

    Examples
    --------
    >>> in_china([114.3, 2.35], [30.6, 48.86]).tolist()
    [True, False]
    """
    lo, la = _lonlat(lon, lat)
    w, s, e, n = CHINA_BOUNDS
    return (lo >= w) & (lo <= e) & (la >= s) & (la <= n)


def _shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 in degrees at WGS84 points (the published polynomial-sine series)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    wave = 20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (wave + 20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (wave + 20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0
    phi = np.radians(lat)
    magic = 1.0 - _EE * np.sin(phi) ** 2
    root = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * root) * pi)
    dlon = dlon * 180.0 / (_A / root * np.cos(phi) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 longitude/latitude to GCJ-02 (vectorised; outside China unchanged).

    Parameters
    ----------
    lon, lat
        Degrees, scalars or arrays of one shape. Not modified.

    Returns
    -------
    lon, lat
        New float64 arrays of the input shape.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([113.912316, 2.35], [22.543847, 48.86])
    >>> lon.round(9).tolist(), lat.round(9).tolist()
    ([113.917176481, 2.35], [22.540796132, 48.86])
    """
    lo, la = _lonlat(lon, lat)
    dlon, dlat = _shift(lo, la)
    inside = in_china(lo, la)
    return np.where(inside, lo + dlon, lo), np.where(inside, la + dlat, la)


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tolerance: float = 1e-10, max_iterations: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude to WGS84 by inverting :func:`wgs84_to_gcj02`.

    The WGS84 point ``w`` solving ``wgs84_to_gcj02(w) = g`` is found by the
    fixed-point iteration ``w <- w - (wgs84_to_gcj02(w) - g)``, which converges
    because the shift changes by less than 1e-4 degrees per degree. Points
    outside China are returned unchanged.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, scalars or arrays of one shape. Not modified.
    tolerance
        Stop when every point's round-trip error is below this many degrees.
    max_iterations
        Upper bound on the iterations (the default tolerance needs about 4).

    Returns
    -------
    lon, lat
        New float64 arrays of the input shape.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.404, 39.915)   # Beijing, Tiananmen
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.397756, 39.913596)
    """
    glon, glat = _lonlat(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(int(max_iterations)):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon -= elon
        wlat -= elat
        if not (
            np.nanmax(np.abs(elon), initial=0.0) > tolerance
            or np.nanmax(np.abs(elat), initial=0.0) > tolerance
        ):
            break
    return wlon, wlat


class OffsetCheck(NamedTuple):
    """Result of :func:`gcj02_offset_check` (distances in metres)."""

    as_given: float  # median distance from each point to its nearest reference point
    if_converted: float  # the same after converting the points from GCJ-02 to WGS84
    matched: int  # points that had a reference point within the search radius
    looks_gcj02: bool


def gcj02_offset_check(
    lon: Any,
    lat: Any,
    ref_lon: Any,
    ref_lat: Any,
    *,
    radius: float = 2000.0,
    min_matches: int = 5,
) -> OffsetCheck:
    """Tell whether points declared WGS84 are really GCJ-02, by matching reference points.

    Each point is matched to its nearest reference point (e.g. OpenStreetMap
    railway stations, which are WGS84) within ``radius`` metres, once as given
    and once after :func:`gcj02_to_wgs84`. Points look like GCJ-02 when at least
    ``min_matches`` points match, the converted median distance is under half
    the unconverted one, and the unconverted median exceeds 100 m.

    Parameters
    ----------
    lon, lat
        The points to check, in degrees.
    ref_lon, ref_lat
        Reference points known to be WGS84.
    radius
        Largest matching distance in metres.
    min_matches
        Fewest matched points needed for a verdict.

    Returns
    -------
    OffsetCheck

    Examples
    --------
    >>> ref_lon, ref_lat = np.array([114.30, 114.35, 114.40]), np.array([30.55, 30.60, 30.52])
    >>> glon, glat = wgs84_to_gcj02(ref_lon, ref_lat)
    >>> gcj02_offset_check(glon, glat, ref_lon, ref_lat, min_matches=3).looks_gcj02
    True
    >>> gcj02_offset_check(ref_lon, ref_lat, ref_lon, ref_lat, min_matches=3).looks_gcj02
    False
    """
    from scipy.spatial import cKDTree

    lo, la = _lonlat(lon, lat)
    rlo, rla = _lonlat(ref_lon, ref_lat)
    lo, la, rlo, rla = lo.ravel(), la.ravel(), rlo.ravel(), rla.ravel()
    if rlo.size == 0 or lo.size == 0:
        return OffsetCheck(float("nan"), float("nan"), 0, False)
    lat0 = float(np.radians(np.nanmean(rla)))
    metres = 111_320.0

    def xy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.column_stack([a * metres * np.cos(lat0), b * metres])

    tree = cKDTree(xy(rlo, rla))
    d_given, _ = tree.query(xy(lo, la), distance_upper_bound=radius)
    d_conv, _ = tree.query(xy(*gcj02_to_wgs84(lo, la)), distance_upper_bound=radius)
    ok = np.isfinite(d_given) & np.isfinite(d_conv)
    matched = int(ok.sum())
    if matched == 0:
        return OffsetCheck(float("nan"), float("nan"), 0, False)
    given, conv = float(np.median(d_given[ok])), float(np.median(d_conv[ok]))
    verdict = matched >= min_matches and given > 100.0 and conv < 0.5 * given
    return OffsetCheck(given, conv, matched, bool(verdict))
