"""Chinese coordinate datums: WGS84, GCJ-02 and BD-09, and a check for unconverted data.

Web maps in mainland China (AMap/Gaode, Tencent, Google Maps China) publish
coordinates in GCJ-02, an obfuscated datum offset from WGS84 by a smooth,
position-dependent shift of about 100-700 m. Mixing GCJ-02 points with WGS84
layers (OpenStreetMap, GeoNames, airports) silently misplaces them, so innosite
never converts implicitly: the caller chooses with an explicit option.

:func:`wgs84_to_gcj02` is the published forward transform (Krasovsky ellipsoid
constants, applied inside a rough bounding box of China and unchanged outside).
:func:`gcj02_to_wgs84` inverts it by fixed-point iteration to below 1e-9 degrees.
:func:`gcj02_to_bd09` is Baidu's published closed form on top of GCJ-02 (BD-09);
:func:`bd09_to_gcj02` starts from the published closed-form inverse and refines it to
below 1e-10 degrees. :func:`to_wgs84` and :func:`from_wgs84` convert between WGS84 and
any datum of :data:`DATUMS`. :func:`datum_check` compares user points with reference
WGS84 points (e.g. OpenStreetMap stations) and tells which datum they look like.

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
    "DATUMS",
    "DatumCheck",
    "DatumWarning",
    "bd09_to_gcj02",
    "check_datum",
    "datum_check",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "wgs84_to_gcj02",
]

#: The datums :func:`to_wgs84` and :func:`from_wgs84` convert.
DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

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


_X_PI = np.pi * 3000.0 / 180.0  # Baidu's rotation constant


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu), the published closed form.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410369, 39.921337)
    """
    x, y = _lonlat(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: Any, lat: Any, *, tolerance: float = 1e-10, max_iterations: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 longitude/latitude to GCJ-02, the exact inverse of :func:`gcj02_to_bd09`.

    Baidu's published closed-form inverse is off by up to about 1e-6 degrees; it is the
    start of a fixed-point iteration ``g <- g - (gcj02_to_bd09(g) - b)`` that brings the
    round trip below ``tolerance`` degrees (two or three steps).

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(116.404, 39.915))
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.404, 39.915)
    """
    blon, blat = _lonlat(lon, lat)
    x, y = blon - 0.0065, blat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(int(max_iterations)):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon -= elon
        glat -= elat
        if not (
            np.nanmax(np.abs(elon), initial=0.0) > tolerance
            or np.nanmax(np.abs(elat), initial=0.0) > tolerance
        ):
            break
    return glon, glat


def check_datum(datum: Any) -> str:
    """``datum`` as one of :data:`DATUMS` (case and ``-``/``_`` ignored).

    Raises
    ------
    InputError
        For any other value (the message lists the datums).

    Examples
    --------
    >>> check_datum("GCJ-02"), check_datum("bd09")
    ('gcj02', 'bd09')
    """
    key = str(datum).lower().replace("-", "").replace("_", "")
    if key not in DATUMS:
        raise InputError(f"unknown datum {datum!r}; choose one of {', '.join(DATUMS)}")
    return key


def to_wgs84(lon: Any, lat: Any, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert points in ``datum`` (one of :data:`DATUMS`) to WGS84 (new float64 arrays).

    Examples
    --------
    >>> lon, lat = to_wgs84(*from_wgs84(118.78, 32.04, "bd09"), "bd09")
    >>> round(float(lon), 8), round(float(lat), 8)
    (118.78, 32.04)
    """
    d = check_datum(datum)
    if d == "bd09":
        lon, lat = bd09_to_gcj02(lon, lat)
    if d in ("gcj02", "bd09"):
        return gcj02_to_wgs84(lon, lat)
    return _lonlat(lon, lat)


def from_wgs84(lon: Any, lat: Any, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 points to ``datum`` (one of :data:`DATUMS`; new float64 arrays)."""
    d = check_datum(datum)
    if d == "wgs84":
        return _lonlat(lon, lat)
    glon, glat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(glon, glat) if d == "bd09" else (glon, glat)


class DatumCheck(NamedTuple):
    """Result of :func:`datum_check` (distances in metres)."""

    declared: str  # the datum the points were declared in
    likely: str  # the datum whose conversion brings the points nearest the reference
    distances: dict[str, float]  # datum -> median distance to the nearest reference point
    matched: int  # points that had a reference point within the search radius
    looks_wrong: bool  # the points look like they are in ``likely``, not ``declared``


def datum_check(
    lon: Any,
    lat: Any,
    ref_lon: Any,
    ref_lat: Any,
    *,
    declared: str = "wgs84",
    radius: float = 2000.0,
    min_matches: int = 5,
    min_offset: float = 100.0,
) -> DatumCheck:
    """Tell whether points are in another datum than declared, by matching reference points.

    Each point is converted to WGS84 from every datum of :data:`DATUMS` and matched to
    its nearest reference point (e.g. OpenStreetMap railway stations, which are WGS84)
    within ``radius`` metres. The points look like they are in another datum when at
    least ``min_matches`` points match, the declared datum's median distance exceeds
    ``min_offset`` metres, and another datum's median distance is under half of it.

    Parameters
    ----------
    lon, lat
        The points to check, in degrees of the datum ``declared``.
    ref_lon, ref_lat
        Reference points known to be WGS84.
    declared
        The datum the points are said to be in (one of :data:`DATUMS`).
    radius
        Largest matching distance in metres.
    min_matches
        Fewest matched points needed for a verdict.
    min_offset
        Smallest median distance (m) in the declared datum that can be a wrong datum
        (the datums differ by 100-1000 m; references denser than that, e.g. the very
        POIs the points came from, allow a smaller value).

    Returns
    -------
    DatumCheck

    Examples
    --------
    >>> ref_lon, ref_lat = np.array([114.30, 114.35, 114.40]), np.array([30.55, 30.60, 30.52])
    >>> glon, glat = wgs84_to_gcj02(ref_lon, ref_lat)
    >>> c = datum_check(glon, glat, ref_lon, ref_lat, min_matches=3)
    >>> c.looks_wrong, c.likely
    (True, 'gcj02')
    >>> datum_check(glon, glat, ref_lon, ref_lat, declared="gcj02", min_matches=3).looks_wrong
    False
    """
    from scipy.spatial import cKDTree

    declared = check_datum(declared)
    lo, la = _lonlat(lon, lat)
    rlo, rla = _lonlat(ref_lon, ref_lat)
    lo, la, rlo, rla = lo.ravel(), la.ravel(), rlo.ravel(), rla.ravel()
    nan = {d: float("nan") for d in DATUMS}
    if rlo.size == 0 or lo.size == 0:
        return DatumCheck(declared, declared, nan, 0, False)
    as_wgs = {d: to_wgs84(lo, la, d) for d in DATUMS}  # where the points are if really in d
    lat0 = float(np.radians(np.nanmean(rla)))
    metres = 111_320.0

    def xy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.column_stack([a * metres * np.cos(lat0), b * metres])

    tree = cKDTree(xy(rlo, rla))
    dists = {d: tree.query(xy(*as_wgs[d]), distance_upper_bound=radius)[0] for d in DATUMS}
    ok = np.logical_and.reduce([np.isfinite(v) for v in dists.values()])
    matched = int(ok.sum())
    if matched == 0:
        return DatumCheck(declared, declared, nan, 0, False)
    med = {d: float(np.median(v[ok])) for d, v in dists.items()}
    likely = min(DATUMS, key=lambda d: (med[d], d != declared))
    wrong = (
        likely != declared
        and matched >= min_matches
        and med[declared] > min_offset
        and med[likely] < 0.5 * med[declared]
    )
    return DatumCheck(declared, likely if wrong else declared, med, matched, bool(wrong))
