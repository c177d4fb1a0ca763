"""Spatial interaction between places: great-circle distance, gravity, distance decay, links.

The gravity model gives the interaction of places ``i`` and ``j`` as

    ``R_ij = k * M_i * M_j * f(d_ij)``

with masses ``M`` and a distance-decay function ``f``. The classic form is
``f(d) = d**-b`` (``b = 2``); :data:`LINK_DECAYS` also offers kernels with a
*half distance* ``h`` at which the interaction has fallen to one half. They are
decays of :mod:`gis.decay`, parameterised by ``h``:

===========  ========================================  ==========================================
name         ``f(d)`` with ``half_distance=h``          without ``half_distance``
===========  ========================================  ==========================================
power        ``1 / (1 + (d/h)**b)``, finite at 0 and   ``d**-b``, the classic gravity model
             ~ ``(h/d)**b`` far away                   (``"inverse_power"`` with scale 1)
             (``"log_logistic"`` with scale ``h``)
exponential  ``2**(-d/h)`` = ``exp(-ln 2 * d / h)``     (``h`` is required)
             (``"exponential"`` with scale ``h/ln 2``)
===========  ========================================  ==========================================

:func:`spillover_links` builds the links among places that belong to a hierarchy
of tiers, with two diffusion channels (Hägerstrand's hierarchical and contagious
diffusion):

* **hierarchical** diffusion acts between every pair, with slower decay between
  upper tiers: the pair's distance is divided by ``tier_factor ** (T - 1 - t)``,
  where ``t`` is the lower-ranked member's tier (0 = top) and ``T`` the number of
  tiers, so two top-tier places interact over the longest range;
* **neighbourhood** diffusion adds, for pairs closer than ``neighbour_distance``,
  a tier-blind term with its own half distance.

Distances are great-circle kilometres from longitude/latitude by default; give a
matrix (e.g. travel time in minutes) to use instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gis.decay import DecayFunction, decay, half_distance_scale
from gis.errors import InputError

__all__ = [
    "EARTH_RADIUS_KM",
    "LINK_DECAYS",
    "gravity",
    "gravity_mass",
    "haversine",
    "haversine_matrix",
    "spillover_links",
]

#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM = 6371.0088

#: Distance decays of :func:`spillover_links` (see the module table).
LINK_DECAYS: tuple[str, ...] = ("power", "exponential")


def _coords(lon: Any, lat: Any, what: str = "points") -> tuple[np.ndarray, np.ndarray]:
    lo = np.array(lon, dtype="float64").ravel()
    la = np.array(lat, dtype="float64").ravel()
    if lo.shape != la.shape:
        raise InputError(f"{what}: got {lo.size} longitudes and {la.size} latitudes")
    bad = ~(np.isfinite(lo) & np.isfinite(la)) | (np.abs(la) > 90) | (np.abs(lo) > 180)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: point {i} ({lo[i]}, {la[i]}) is not a WGS84 longitude/latitude in degrees"
        )
    return lo, la


def haversine(
    lon1: Any, lat1: Any, lon2: Any, lat2: Any, *, radius: float = EARTH_RADIUS_KM
) -> np.ndarray:
    """Great-circle distance between point pairs (broadcasting), in units of ``radius``.

    Examples
    --------
    >>> round(float(haversine(116.40, 39.91, 121.46, 31.22)), 1)  # Beijing-Shanghai, km
    1068.7
    """
    lam1, phi1, lam2, phi2 = (
        np.radians(np.asarray(a, dtype="float64")) for a in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    )
    return 2.0 * radius * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def haversine_matrix(
    lon: Any,
    lat: Any,
    lon2: Any = None,
    lat2: Any = None,
    *,
    radius: float = EARTH_RADIUS_KM,
) -> np.ndarray:
    """Matrix of great-circle distances (km) from every point to every other point.

    Parameters
    ----------
    lon, lat
        Origins in WGS84 degrees.
    lon2, lat2
        Destinations; the origins again when omitted (a symmetric matrix).
    radius
        Sphere radius; the mean Earth radius in km by default.

    Examples
    --------
    >>> haversine_matrix([0, 0], [0, 1]).round(1).tolist()
    [[0.0, 111.2], [111.2, 0.0]]
    """
    lo, la = _coords(lon, lat, "origins")
    if lon2 is None and lat2 is None:
        lo2, la2 = lo, la
    else:
        lo2, la2 = _coords(lon2, lat2, "destinations")
    return haversine(lo[:, None], la[:, None], lo2[None, :], la2[None, :], radius=radius)


# ------------------------------------------------------------------------------ decay
def _check_decay_args(half_distance: float | None, exponent: float) -> None:
    if half_distance is not None and not (np.isfinite(half_distance) and half_distance > 0):
        raise InputError(f"half_distance must be a positive number, got {half_distance!r}")
    if not (np.isfinite(exponent) and exponent > 0):
        raise InputError(f"distance exponent must be positive, got {exponent!r}")


def _link_decay(
    method: str | DecayFunction, half_distance: float | None, exponent: float
) -> Callable[[np.ndarray], np.ndarray]:
    """Weights of the link decay ``method`` (a :data:`LINK_DECAYS` name or a callable)."""
    _check_decay_args(half_distance, exponent)
    if callable(method):
        scale = 1.0 if half_distance is None else float(half_distance)
        return lambda d: decay(d, method, scale=scale, exponent=exponent)
    if method == "power":
        if half_distance is None:
            return lambda d: decay(d, "inverse_power", scale=1.0, exponent=exponent)
        h = float(half_distance)
        return lambda d: decay(d, "log_logistic", scale=h, exponent=exponent)
    if method == "exponential":
        if half_distance is None:
            raise InputError("exponential decay needs a half_distance")
        scale = half_distance_scale("exponential", half_distance)
        return lambda d: decay(d, "exponential", scale=scale)
    raise InputError(
        f"unknown distance decay {method!r}; choose one of {', '.join(LINK_DECAYS)} "
        "or pass a callable f(d, scale, exponent=...)"
    )


def gravity(
    mass_i: Any, mass_j: Any, distance: Any, *, k: float = 1.0, exponent: float = 2.0
) -> np.ndarray:
    """Classic gravity interaction ``k * M_i * M_j / d**b`` (broadcasting).

    Examples
    --------
    >>> gravity([2.0], [3.0], [2.0]).tolist()
    [1.5]
    """
    return (
        k
        * np.asarray(mass_i, float)
        * np.asarray(mass_j, float)
        * decay(distance, "inverse_power", scale=1.0, exponent=exponent)
    )


def gravity_mass(innovation: Any, population: Any = None) -> np.ndarray:
    """Mass of a place: its innovation mass, or ``sqrt(population * innovation)``.

    The second form is the modified gravity model that combines a place's size
    with its innovation capacity (a geometric mean, so neither dominates by units).

    Examples
    --------
    >>> gravity_mass([4.0, 1.0], [9.0, 1.0]).tolist()
    [6.0, 1.0]
    """
    inn = np.asarray(innovation, dtype="float64").ravel()
    if not np.isfinite(inn).all() or (inn < 0).any():
        raise InputError("innovation mass must be finite and non-negative")
    if population is None:
        return inn.copy()
    pop = np.asarray(population, dtype="float64").ravel()
    if pop.shape != inn.shape:
        raise InputError(f"got {pop.size} populations for {inn.size} places")
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise InputError("population must be finite and non-negative")
    return np.sqrt(pop * inn)


# ------------------------------------------------------------------------------ links
def _natural_split(values: np.ndarray) -> float:
    """Optimal two-class split of ``values`` (exact Fisher-Jenks, k = 2): the lower class max."""
    y = np.sort(values)
    n = y.size
    yc = y - y.mean()
    s1 = np.cumsum(yc)
    s2 = np.cumsum(yc * yc)
    left_n = np.arange(1, n)
    left = s2[:-1] - s1[:-1] ** 2 / left_n
    right = (s2[-1] - s2[:-1]) - (s1[-1] - s1[:-1]) ** 2 / (n - left_n)
    return float(y[int(np.argmin(left + right))])


def spillover_links(
    lon: Any,
    lat: Any,
    mass: Any,
    *,
    tiers: Any = None,
    distance: Any = None,
    decay: str | DecayFunction = "power",
    half_distance: float | None = None,
    exponent: float = 2.0,
    k: float = 1.0,
    tier_factor: float = 2.0,
    neighbour_distance: float | None = None,
    neighbour_half_distance: float | None = None,
    strong_threshold: float | None = None,
    min_strength: float = 0.0,
) -> Any:
    """Links among places with gravity strength, diffusion type and strong/weak class.

    Parameters
    ----------
    lon, lat
        Place coordinates in WGS84 degrees (used for great-circle distance).
    mass
        Non-negative mass per place (e.g. an innovation index; see :func:`gravity_mass`).
    tiers
        Tier rank per place, 0 = top tier; ``None`` puts all places in one tier.
    distance
        Optional ``(n, n)`` matrix (e.g. travel time) used instead of great-circle
        km; ``inf`` marks unreachable pairs (strength 0). ``distance[i, j]`` is read
        from the source ``i`` of each link.
    decay
        Distance-decay name (:data:`LINK_DECAYS`) or a callable
        ``f(d, scale, exponent=b)`` of :mod:`gis.decay` form, called with
        ``scale=half_distance`` (1 without one).
    half_distance
        Distance at which the decay is one half (same unit as the distances);
        ``None`` with ``power`` gives the classic ``d**-b``.
    exponent
        Distance exponent ``b`` of the power decay.
    k
        Gravity constant.
    tier_factor
        How much slower the decay is for each tier step up the hierarchy (>= 1):
        a pair's distance is divided by ``tier_factor ** (T - 1 - t)``, ``t`` being
        the lower-ranked member's tier. 1 switches tier awareness off.
    neighbour_distance
        Pairs at most this far apart also get neighbourhood diffusion; ``None``: none.
    neighbour_half_distance
        Half distance of the neighbourhood term (default ``half_distance``).
    strong_threshold
        Links with strength ``>=`` this are ``"strong"``; ``None`` uses the optimal
        natural break (Fisher-Jenks, two classes) of ``log10(strength)``.
    min_strength
        Links weaker than this are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per pair, strongest first, with columns ``i`` (source: the higher
        tier, or the larger mass within a tier), ``j``, ``distance``,
        ``hierarchical`` and ``neighbourhood`` (the two components), ``strength``,
        ``type`` (``"neighbourhood"`` when the neighbourhood term acts, else
        ``"hierarchical"`` between tiers or ``"peer"`` within a tier) and ``class``
        (``"strong"`` or ``"weak"``).

    Examples
    --------
    >>> links = spillover_links([116.4, 121.5, 114.3], [39.9, 31.2, 30.6], [1.0, 0.9, 0.4],
    ...                         tiers=[0, 0, 1], half_distance=500)
    >>> links[["i", "j", "type", "class"]].values.tolist()
    [[0, 1, 'peer', 'strong'], [1, 2, 'hierarchical', 'weak'], [0, 2, 'hierarchical', 'weak']]
    >>> links["strength"].round(4).tolist()
    [0.4191, 0.1239, 0.0738]
    """
    import pandas as pd

    lo, la = _coords(lon, lat)
    n = lo.size
    m = np.array(mass, dtype="float64").ravel()
    if m.size != n:
        raise InputError(f"got {m.size} masses for {n} places")
    if not np.isfinite(m).all() or (m < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(m) | (m < 0))[0])
        raise InputError(f"mass of place {bad} is {m[bad]}; masses must be finite and non-negative")
    if tiers is None:
        t = np.zeros(n, dtype=np.int64)
    else:
        t = np.array(tiers).ravel()
        if t.size != n or not np.issubdtype(t.dtype, np.integer) or (t < 0).any():
            raise InputError("tiers must be one non-negative integer rank per place (0 = top)")
    if not (np.isfinite(tier_factor) and tier_factor >= 1):
        raise InputError(f"tier_factor must be a number >= 1, got {tier_factor!r}")
    if not (np.isfinite(k) and k > 0):
        raise InputError(f"gravity constant k must be positive, got {k!r}")
    fn = _link_decay(decay, half_distance, exponent)

    i, j = np.triu_indices(n, k=1)
    # the source of each link is the higher tier, then the larger mass, then the lower index
    swap = (t[j] < t[i]) | ((t[j] == t[i]) & (m[j] > m[i]))
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    if distance is None:
        d = haversine(lo[i], la[i], lo[j], la[j])
    else:
        dm = np.array(distance, dtype="float64")
        if dm.shape != (n, n):
            raise InputError(f"distance matrix must be {n} x {n}, got {dm.shape}")
        if np.isnan(dm).any() or (dm < 0).any():
            r, c = np.argwhere(np.isnan(dm) | (dm < 0))[0]
            raise InputError(f"distance matrix cell [{r}, {c}] is {dm[r, c]}; give >= 0 or inf")
        d = dm[i, j]
    zero = d == 0
    if half_distance is None and decay == "power" and zero.any():
        p = int(np.flatnonzero(zero)[0])
        raise InputError(
            f"places {i[p]} and {j[p]} are at zero distance; the classic gravity model is "
            "infinite there, so give a half_distance"
        )
    n_tiers = int(t.max()) + 1 if n else 1
    level = np.maximum(t[i], t[j])
    stretch = float(tier_factor) ** (n_tiers - 1 - level)
    mm = k * m[i] * m[j]
    with np.errstate(invalid="ignore"):
        hier = mm * np.asarray(fn(d / stretch))
    hier = np.nan_to_num(hier, nan=0.0, posinf=np.inf)
    neigh = np.zeros_like(hier)
    if neighbour_distance is not None:
        if not (np.isfinite(neighbour_distance) and neighbour_distance > 0):
            raise InputError(f"neighbour_distance must be positive, got {neighbour_distance!r}")
        near = d <= neighbour_distance
        h_nb = half_distance if neighbour_half_distance is None else neighbour_half_distance
        neigh[near] = mm[near] * np.asarray(_link_decay(decay, h_nb, exponent)(d[near]))
    strength = hier + neigh
    keep = strength >= min_strength
    if min_strength <= 0:
        keep &= strength > 0
    kind = np.where(neigh > 0, "neighbourhood", np.where(t[i] == t[j], "peer", "hierarchical"))
    s = strength[keep]
    if strong_threshold is None:
        logs = np.log10(s[np.isfinite(s)]) if s.size else s
        threshold = 10 ** _natural_split(logs) if np.unique(logs).size > 1 else -np.inf
        strong = (s > threshold) if np.isfinite(threshold) else np.ones(s.size, bool)
    else:
        strong = s >= strong_threshold
    frame = pd.DataFrame(
        {
            "i": i[keep],
            "j": j[keep],
            "distance": d[keep],
            "hierarchical": hier[keep],
            "neighbourhood": neigh[keep],
            "strength": s,
            "type": kind[keep],
            "class": np.where(strong, "strong", "weak"),
        }
    )
    return frame.sort_values(
        ["strength", "i", "j"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
