"""Continuous-to-suitability transforms with ArcGIS Pro *Rescale by Function* semantics.

Each transformation function maps raw criterion values (a distance, a density, a
slope) to a preference. :func:`rescale` then does what ArcGIS's Rescale by Function
does: it applies the function between a lower and an upper threshold and maps the
function values linearly onto an evaluation scale ``[from_scale, to_scale]``::

    scaled = from_scale + (Y - min Y) * (to_scale - from_scale) / (max Y - min Y)

where ``Y = F(x)`` and ``min Y`` / ``max Y`` are the extremes of ``F`` over the
closed threshold interval ``[lower_threshold, upper_threshold]``, not over the
cells. So when the thresholds are the data minimum and maximum (the default), the
highest and lowest points of the curve over the data range map to ``to_scale``
and ``from_scale``. When the thresholds lie outside the data, no cell reaches
either end of the scale. A Gaussian whose midpoint lies outside the thresholds is
scaled over the part of the curve between them. Every built-in function is scaled
by this one rule. The table gives the curve ``F`` (as ArcGIS defines it) and the
inputs where its extremes over the thresholds can lie (those inside the
thresholds are evaluated).

================  =============================================  ========================
name              raw function ``F(x)``                          extremes of ``F`` at
================  =============================================  ========================
linear            ``clip((x-minimum)/(maximum-minimum), 0, 1)``  the thresholds
symmetric_linear  triangle, 1 at ``(minimum+maximum)/2``         thresholds and the peak
gaussian          ``exp(-spread*(x-midpoint)**2)``               thresholds and midpoint
near              ``1/(1+spread*(x-midpoint)**2)``               thresholds and midpoint
large             ``1/(1+(x/midpoint)**-spread)``, 0 if x<=0     the thresholds
small             ``1/(1+(x/midpoint)**spread)``, 1 if x<=0      the thresholds
ms_large          ``1-b*s/(x-a*m+b*s)`` if x>a*m else 0          the thresholds
ms_small          ``b*s/(x-a*m+b*s)`` if x>a*m else 1            the thresholds
logistic_growth   S-curve, ``y%`` at minimum, 100-y% at maximum  the thresholds
logistic_decay    S-curve, ``y%`` at minimum, 100-y% at maximum  the thresholds
exponential       ``exp((x-shift)*base_factor)``                 the thresholds
power             ``max(x-shift, 0)**exponent``                  the thresholds
logarithm         ``ln((x-shift)*factor)``                       the thresholds
band              trapezoid ``a <= b <= c <= d``                 thresholds and a, b, c, d
================  =============================================  ========================

(``m``, ``s``: mean and population standard deviation of the finite input cells;
``a``, ``b``: ``mean_multiplier``, ``std_multiplier``.) Scaling is linear, so a
multiplicative constant in ``F`` cancels. The exponential ``shift`` and the
logarithm ``factor`` therefore change only the raw output, never the scaled one.

Cells below ``lower_threshold`` get ``value_below`` and cells above
``upper_threshold`` get ``value_above``; either may be NaN (ArcGIS's NoData).
ArcGIS leaves both unset by default. Here the default holds the curve flat beyond
each threshold: a cell below the lower threshold scores what the lower threshold
scores. For an increasing function with data thresholds that is ``from_scale``
below and ``to_scale`` above. NaN cells stay NaN.

Data-derived defaults follow ArcGIS where it documents them: thresholds are the
finite data minimum and maximum; linear, symmetric-linear and logistic
``minimum``/``maximum`` are the thresholds; ``midpoint`` is the middle of the
thresholds; MS statistics come from the input cells; spread 5 for Large/Small,
y-intercept 1 % / 99 % for logistic growth/decay, multipliers 1 for MS. ArcGIS
also fits spreads, shifts and base factors to the threshold range when they are
omitted. Here those fits are fixed and documented per function: Gaussian and
Near fall to 1 % of their peak at the farther threshold; the exponential base
factor spans ten orders of magnitude over the range; the power exponent is 2 with
the shift at the lower threshold; the logarithm shift sits 1 % of the range
below the lower threshold.

A function that is flat between the thresholds (a constant input with default
thresholds) has nothing to scale: every cell between them gets ``to_scale``. An
input without a finite cell gives all NaN.

:data:`TRANSFORMS` maps each name to its raw function, which takes
``(values, **params)`` and returns ``F`` on the whole array as float64.
:class:`Rescaled` is the same rescale settled once and evaluated a few rows at a time when
read: :func:`gis.overlay.weighted_linear_combination` combines such layers chunk by chunk in
the cache, with no whole-raster score arrays. :func:`reclass` scores categorical rasters by
lookup.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable, Mapping
from functools import partial
from numbers import Real
from typing import Any

import numpy as np

from gis._parallel import run_chunks
from gis.errors import InputError

__all__ = [
    "TRANSFORMS",
    "Rescaled",
    "band",
    "exponential",
    "gaussian",
    "large",
    "linear",
    "logarithm",
    "logistic_decay",
    "logistic_growth",
    "ms_large",
    "ms_small",
    "near",
    "power",
    "reclass",
    "rescale",
    "small",
    "symmetric_linear",
]

#: Function value a default Gaussian or Near curve falls to at the farther threshold.
_TAIL = 0.01
#: Ratio ``F(upper) / F(lower)`` of the default exponential curve (ln(1e10)/range base
#: factor, 0.04605 for a 0-500 range).
_EXP_SPAN = 1e10
#: Default logarithm shift sits this fraction of the threshold range below the lower one.
_LOG_OFFSET = 0.01


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


#: Set on a thread while :func:`rescale` evaluates a chunk: ``exp`` may be taken in
#: float32 (see :func:`_exp`); ``keep`` lets the functions evaluate float32 input in
#: float32 (see :func:`_as_float`).
_PRECISION = threading.local()

#: Functions whose cost is an exponential, and the most :func:`rescale`'s linear scaling
#: may amplify their round-off for the exponential to be taken in float32.
_EXP_FAMILY = frozenset({"gaussian", "logistic_growth", "logistic_decay"})
_EXP_MAX_GAIN = 2.0

#: Largest difference, as a share of the evaluation scale, between the float32 and the
#: float64 evaluation at :func:`_probe_points` for :func:`rescale` to evaluate float32
#: input in float32.
_FLOAT32_TOLERANCE = 5e-7


def _exp(t: np.ndarray) -> np.ndarray:
    """``exp(t)`` in the precision of ``t`` (a float32 ``t`` is overwritten: callers pass
    their own temporaries); float64 ``t`` in float32 while :func:`rescale` allows it on
    this thread.

    The float32 exponential is about three times faster (SIMD). The part of the
    argument that rounding to float32 drops is put back as the factor ``1 + low``, so
    the value is within about 2.1e-7 of the exact one, relative (numpy's float32
    ``exp`` is within a few units in the last place); :func:`rescale` allows it only
    where its scaling amplifies that at most :data:`_EXP_MAX_GAIN`-fold, so a score
    moves by at most about 5e-7 of the scale.
    Beyond float32's range (``|t| > 88``) the exponential is 0 or inf, which the
    logistic and Gaussian curves turn into their limits (within 1e-38). Called
    directly, every function stays in float64.
    """
    if t.dtype == np.float32:  # float32 input that rescale evaluates in float32
        return np.exp(t, out=t)
    if getattr(_PRECISION, "exp32", False):
        high = t.astype(np.float32)
        low = t - high  # what rounding the argument dropped: exp(t) = exp(high) * exp(low)
        np.copyto(low, 0.0, where=np.isinf(high))  # beyond float32: exp(high) is 0 or inf
        np.exp(high, out=high)
        low += 1.0
        low *= high  # in place: every fresh temporary costs page faults
        return low
    return np.exp(t)


def _extremes_in_float32(
    fn: Callable[..., np.ndarray], pts: list[float], p: dict[str, Any], y64: np.ndarray
) -> tuple[np.ndarray, bool]:
    """The function at ``pts`` with float32 exponentials, and whether :func:`rescale` may
    use them: where they agree with ``y64`` to 1e-6 of the largest (the range is not
    lost to under- or overflow) and the scaling amplifies their round-off at most
    :data:`_EXP_MAX_GAIN`-fold."""
    _PRECISION.exp32 = True
    try:
        y32 = np.asarray(fn(np.asarray(pts), **p), dtype=np.float64)
    finally:
        _PRECISION.exp32 = False
    top = float(np.max(np.abs(y64)))
    ok = (
        bool(np.all(np.abs(y32 - y64) <= 1e-6 * top))
        and _EXP_MAX_GAIN * float(np.ptp(y32)) >= top
        and top > 0
    )
    return (y32, True) if ok else (y64, False)


#: Input types whose every value float32 holds exactly.
_FLOAT32_EXACT = frozenset(np.dtype(t) for t in ("float16", "float32", "int8", "uint8", "int16",
                                                 "uint16"))  # fmt: skip


def _float32_neighbours(x: float) -> tuple[np.float32, np.float32]:
    """The largest float32 <= ``x`` and the smallest >= ``x`` (both ``x`` when float32
    holds it): a float32 ``v`` is below ``x`` exactly when ``v < up``, at most ``x``
    exactly when ``v <= down``."""
    near = np.float32(x)
    # compared in float64: numpy would round the Python float to float32 first (NEP 50)
    if float(near) < x:
        return near, np.nextafter(near, np.float32(np.inf))
    if float(near) > x:
        return np.nextafter(near, np.float32(-np.inf)), near
    return near, near


def _probe_points(lo: float, hi: float, pts: list[float]) -> np.ndarray:
    """float32 inputs at which :func:`rescale` compares the float32 evaluation with the
    float64 one: 257 points across ``[lo, hi]`` and, around each point of ``pts`` (the
    thresholds and critical points), offsets of ``(hi - lo) / 2**k`` for ``k`` up to 40,
    so a narrow curve far from zero is seen at its own width."""
    span = hi - lo
    near = np.asarray(pts, dtype=np.float64)[:, None] + np.outer(
        [1.0, -1.0], span / 2.0 ** np.arange(1, 41)
    ).reshape(1, -1)
    probe = np.concatenate([np.linspace(lo, hi, 257), np.asarray(pts), near.ravel()])
    with np.errstate(over="ignore"):
        probe = probe.astype(np.float32)
    return np.unique(probe[np.isfinite(probe)])


def _float32_ok(
    fn: Callable[..., np.ndarray],
    p: dict[str, Any],
    lo: float,
    hi: float,
    pts: list[float],
    scaling: tuple[float, float, float, float],
) -> bool:
    """Whether float32 evaluation of ``fn`` and of the scaling stays within
    :data:`_FLOAT32_TOLERANCE` of the scale of the float64 one at
    :func:`_probe_points` within ``[lo, hi]``; ``scaling`` is ``(ymin, ymax,
    from_scale, to_scale)`` of :func:`_scale_into` (NaN where both are NaN agrees)."""
    ymin, ymax, f0, f1 = scaling
    x32 = np.clip(_probe_points(lo, hi, pts), _float32_neighbours(lo)[1],
                  _float32_neighbours(hi)[0])  # fmt: skip
    with np.errstate(all="ignore"):
        s64 = _scale_into(
            np.asarray(fn(x32.astype(np.float64), **p), dtype=np.float64), False, *scaling
        )
        _PRECISION.keep = True
        try:
            y32 = np.asarray(fn(x32, **p))
        finally:
            _PRECISION.keep = False
        if y32.dtype != np.float32:  # the function does not keep float32: no gain
            return False
        s32 = _scale_into(y32, False, ymin, ymax, f0, f1)
        d = np.abs(s32.astype(np.float64) - s64)
    same = np.isnan(s32) == np.isnan(s64)
    limit = _FLOAT32_TOLERANCE * abs(f1 - f0)
    return bool(same.all() and np.nanmax(d, initial=0.0) <= limit)


def _expit(t: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-t))`` as float64 (0 and 1 at the extremes,
    without overflow warnings); numpy only, so scipy is not imported for it."""
    with np.errstate(over="ignore"):
        e = _exp(np.negative(t))
        e += 1.0
        return np.divide(1.0, e, out=e)  # in place: fresh temporaries cost page faults


def _number(func: str, name: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(
            f"{func}: {name} must be a real number, got {value!r}; pass a finite float"
        )
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{func}: {name} must be finite, got {v}; pass a finite float")
    return v


def _positive(func: str, name: str, value: Any) -> float:
    v = _number(func, name, value)
    if v <= 0:
        raise InputError(f"{func}: {name} must be > 0, got {v}; pass a positive value")
    return v


def _as_float(values: Any) -> np.ndarray:
    """Return ``values`` as a float64 array (a view or copy; never written to); float32
    stays float32 while :func:`rescale` evaluates a chunk in float32."""
    arr = _real(values)
    if arr.dtype == np.float32 and getattr(_PRECISION, "keep", False):
        return arr
    return arr.astype(np.float64, copy=False)


def _real(values: Any) -> np.ndarray:
    """``values`` as an integer or floating array (no copy); anything else is refused."""
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InputError(
            f"values must be a real numeric array, got dtype {arr.dtype}; "
            "convert it with np.asarray(values, dtype=float)"
        )
    return arr


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def _keep_nan(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), np.nan, out)


# ---------------------------------------------------------------------------
# data-derived defaults: one function per transform, shared by the raw functions
# (which fit to their own data range) and by rescale (which fits to the thresholds)
# ---------------------------------------------------------------------------


def _half_width(lo: float, hi: float, mid: float) -> float:
    return max(mid - lo, hi - mid)


def _defaults_min_max(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"minimum": lo, "maximum": hi}


def _defaults_bell(func: str, tail: Callable[[float], float]) -> Callable[..., dict]:
    def defaults(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
        given = p.get("midpoint")
        mid = (lo + hi) / 2 if given is None else _number(func, "midpoint", given)
        d = _half_width(lo, hi, mid)
        spread = tail(d) if d > 0 else 1.0
        if not (math.isfinite(spread) and spread > 0):
            raise InputError(
                f"{func}: no default spread fits a half-range of {d}; pass spread explicitly"
            )
        return {"midpoint": mid, "spread": spread}

    return defaults


def _defaults_midpoint(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"midpoint": (lo + hi) / 2}


def _defaults_ms(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"mean": float(finite.mean()), "std": float(finite.std())}


def _defaults_exponential(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"shift": lo, "base_factor": math.log(_EXP_SPAN) / (hi - lo) if hi > lo else 1.0}


def _defaults_power(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"shift": lo}


def _defaults_logarithm(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"shift": lo - (_LOG_OFFSET * (hi - lo) if hi > lo else 1.0)}


def _defaults_band(lo: float, hi: float, finite: np.ndarray, p: dict) -> dict:
    return {"a": lo, "d": hi}


_DEFAULTS: dict[str, Callable[[float, float, np.ndarray, dict], dict]] = {
    "linear": _defaults_min_max,
    "symmetric_linear": _defaults_min_max,
    "gaussian": _defaults_bell("gaussian", lambda d: math.log(1 / _TAIL) / d / d),
    "near": _defaults_bell("near", lambda d: (1 / _TAIL - 1) / d / d),
    "large": _defaults_midpoint,
    "small": _defaults_midpoint,
    "ms_large": _defaults_ms,
    "ms_small": _defaults_ms,
    "logistic_growth": _defaults_min_max,
    "logistic_decay": _defaults_min_max,
    "exponential": _defaults_exponential,
    "power": _defaults_power,
    "logarithm": _defaults_logarithm,
    "band": _defaults_band,
}


def _fill(
    func: str, lo: float, hi: float, finite: np.ndarray, given: dict[str, Any]
) -> dict[str, Any]:
    """Replace the ``None`` entries of ``given`` by the defaults fitted to ``[lo, hi]``."""
    if all(v is not None for v in given.values()):
        return dict(given)
    fitted = _DEFAULTS[func](lo, hi, finite, given)
    return {k: (fitted.get(k) if v is None else v) for k, v in given.items()}


def _own_defaults(func: str, x: np.ndarray, given: dict[str, Any]) -> dict[str, Any] | None:
    """Fill defaults from the data range of ``x``; None when a default is needed but
    ``x`` has no finite cell to fit it to."""
    if all(v is not None for v in given.values()):
        return dict(given)
    finite = _finite(x)
    if finite.size == 0:
        return None
    return _fill(func, float(finite.min()), float(finite.max()), finite, given)


# ---------------------------------------------------------------------------
# the transformation functions (raw output, float64, same shape as the input)
# ---------------------------------------------------------------------------


def linear(
    values: np.ndarray, *, minimum: float | None = None, maximum: float | None = None
) -> np.ndarray:
    """ArcGIS *Linear* (TfLinear): 0 at ``minimum``, 1 at ``maximum``, straight between.

    ``F(x) = clip((x - minimum) / (maximum - minimum), 0, 1)``. A ``minimum`` larger
    than ``maximum`` gives a negative slope (small values preferred).

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    minimum, maximum : float, optional
        The points where the line reaches 0 and 1. Default: data minimum and maximum.
        :func:`rescale` defaults them to the thresholds and, as ArcGIS does, holds
        them within the thresholds.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``[0, 1]``.

    Raises
    ------
    InputError
        If ``minimum == maximum`` or a parameter is not finite.

    Examples
    --------
    >>> linear(np.array([0.0, 5.0, 10.0, 20.0]), minimum=0, maximum=10).tolist()
    [0.0, 0.5, 1.0, 1.0]
    >>> linear(np.array([0.0, 5.0, 10.0]), minimum=10, maximum=0).tolist()
    [1.0, 0.5, 0.0]
    """
    x = _as_float(values)
    p = _own_defaults("linear", x, {"minimum": minimum, "maximum": maximum})
    if p is None:
        return np.full(x.shape, np.nan)
    lo = _number("linear", "minimum", p["minimum"])
    hi = _number("linear", "maximum", p["maximum"])
    if lo == hi:
        raise InputError(
            f"linear: minimum and maximum must differ, both are {lo} (their defaults are "
            "the data minimum and maximum); pass distinct minimum and maximum"
        )
    with np.errstate(invalid="ignore", over="ignore"):  # tiny ranges: inf, then 1
        t = x - lo
        t /= hi - lo  # in place: every fresh temporary costs page faults
        np.clip(t, 0.0, 1.0, out=t)
        t += 0.0  # no signed zeros
        return t


def symmetric_linear(
    values: np.ndarray, *, minimum: float | None = None, maximum: float | None = None
) -> np.ndarray:
    """ArcGIS *Symmetric Linear* (TfSymmetricLinear): a triangle peaking mid-way.

    ``F(x) = clip(1 - |x - c| / h, 0, 1)`` with ``c = (minimum + maximum) / 2`` and
    ``h = (maximum - minimum) / 2``: 0 at ``minimum`` and ``maximum``, 1 at ``c``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    minimum, maximum : float, optional
        Feet of the triangle, ``minimum < maximum``. Default: data minimum and maximum
        (the thresholds in :func:`rescale`).

    Returns
    -------
    numpy.ndarray
        Float64 values in ``[0, 1]``.

    Raises
    ------
    InputError
        If ``minimum >= maximum`` or a parameter is not finite.

    Examples
    --------
    >>> symmetric_linear(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), minimum=0, maximum=4).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    x = _as_float(values)
    p = _own_defaults("symmetric_linear", x, {"minimum": minimum, "maximum": maximum})
    if p is None:
        return np.full(x.shape, np.nan)
    lo = _number("symmetric_linear", "minimum", p["minimum"])
    hi = _number("symmetric_linear", "maximum", p["maximum"])
    if lo >= hi:
        raise InputError(
            f"symmetric_linear: minimum ({lo}) must be below maximum ({hi}); pass minimum < maximum"
        )
    c, h = (lo + hi) / 2, (hi - lo) / 2
    with np.errstate(invalid="ignore", over="ignore"):
        return np.clip(1.0 - np.abs(x - c) / h, 0.0, 1.0)


def gaussian(
    values: np.ndarray, *, midpoint: float | None = None, spread: float | None = None
) -> np.ndarray:
    """ArcGIS *Gaussian* (TfGaussian): ``F(x) = exp(-spread * (x - midpoint)**2)``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    midpoint : float, optional
        Value with the highest preference (``F = 1``). Default: middle of the data
        range (of the thresholds in :func:`rescale`).
    spread : float, optional
        Steepness, ``> 0``; larger is narrower. Default: the curve falls to 0.01 at
        the end of the range farther from the midpoint,
        ``spread = ln(100) / d**2`` with ``d`` that distance.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 1]``.

    Raises
    ------
    InputError
        If ``spread <= 0`` or a parameter is not finite.

    Examples
    --------
    >>> gaussian(np.array([1.0, 2.0, 3.0]), midpoint=2, spread=math.log(2)).tolist()
    [0.5, 1.0, 0.5]
    """
    x = _as_float(values)
    p = _own_defaults("gaussian", x, {"midpoint": midpoint, "spread": spread})
    if p is None:
        return np.full(x.shape, np.nan)
    mid = _number("gaussian", "midpoint", p["midpoint"])
    s = _positive("gaussian", "spread", p["spread"])
    with np.errstate(over="ignore"):
        t = x - mid
        np.square(t, out=t)
        t *= -s
        return _exp(t)


def near(
    values: np.ndarray, *, midpoint: float | None = None, spread: float | None = None
) -> np.ndarray:
    """ArcGIS *Near* (TfNear): ``F(x) = 1 / (1 + spread * (x - midpoint)**2)``.

    Like :func:`gaussian` but with heavier tails.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    midpoint : float, optional
        Most preferred value. Default: middle of the data range (of the thresholds in
        :func:`rescale`).
    spread : float, optional
        Steepness, ``> 0``. Default: ``F = 0.01`` at the end of the range farther
        from the midpoint, ``spread = 99 / d**2``.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 1]``.

    Raises
    ------
    InputError
        If ``spread <= 0`` or a parameter is not finite.

    Examples
    --------
    >>> near(np.array([0.0, 1.0, 2.0, 3.0]), midpoint=2, spread=1).tolist()
    [0.2, 0.5, 1.0, 0.5]
    """
    x = _as_float(values)
    p = _own_defaults("near", x, {"midpoint": midpoint, "spread": spread})
    if p is None:
        return np.full(x.shape, np.nan)
    mid = _number("near", "midpoint", p["midpoint"])
    s = _positive("near", "spread", p["spread"])
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + s * (x - mid) ** 2)


def _sigmoid_of_log(func: str, x: np.ndarray, midpoint: Any, spread: Any, sign: float):
    mid = _number(func, "midpoint", midpoint)
    if mid <= 0:
        raise InputError(
            f"{func}: midpoint must be > 0, got {mid} (its default is the middle of the "
            "data range or of the thresholds); pass a positive midpoint"
        )
    s = _positive(func, "spread", spread)
    pos = x > 0
    logx = np.log(np.where(pos, x, 1.0))
    # 1 / (1 + (x/m)**(-sign*s)) written as a logistic of logs: no overflow for tiny x.
    out = np.where(pos, _expit(sign * s * (logx - math.log(mid))), 0.0 if sign > 0 else 1.0)
    return _keep_nan(x, out)


def large(values: np.ndarray, *, midpoint: float | None = None, spread: float = 5.0) -> np.ndarray:
    """ArcGIS *Large* (TfLarge): ``F(x) = 1 / (1 + (x / midpoint)**-spread)``.

    Larger values are preferred; ``F(midpoint) = 0.5``. As in ArcGIS, values at or
    below zero score what zero scores, ``F = 0``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    midpoint : float, optional
        Transition point, ``> 0`` (a ratio to a negative midpoint has no real power).
        Default: middle of the data range (of the thresholds in :func:`rescale`).
    spread : float, default 5
        Steepness around the midpoint, ``> 0`` (ArcGIS's default).

    Returns
    -------
    numpy.ndarray
        Float64 values in ``[0, 1)``.

    Raises
    ------
    InputError
        If ``midpoint <= 0`` or ``spread <= 0``.

    Examples
    --------
    >>> large(np.array([-1.0, 0.0, 1.0, 2.0, 4.0]), midpoint=2, spread=2).round(6).tolist()
    [0.0, 0.0, 0.2, 0.5, 0.8]
    """
    x = _as_float(values)
    p = _own_defaults("large", x, {"midpoint": midpoint})
    if p is None:
        return np.full(x.shape, np.nan)
    return _sigmoid_of_log("large", x, p["midpoint"], spread, 1.0)


def small(values: np.ndarray, *, midpoint: float | None = None, spread: float = 5.0) -> np.ndarray:
    """ArcGIS *Small* (TfSmall): ``F(x) = 1 / (1 + (x / midpoint)**spread)``.

    Smaller values are preferred; ``F(midpoint) = 0.5``; values at or below zero
    score ``F = 1``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    midpoint : float, optional
        Transition point, ``> 0``. Default: middle of the data range (of the
        thresholds in :func:`rescale`).
    spread : float, default 5
        Steepness around the midpoint, ``> 0``.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 1]``.

    Raises
    ------
    InputError
        If ``midpoint <= 0`` or ``spread <= 0``.

    Examples
    --------
    >>> small(np.array([0.0, 1.0, 2.0, 4.0]), midpoint=2, spread=2).round(6).tolist()
    [1.0, 0.8, 0.5, 0.2]
    """
    x = _as_float(values)
    p = _own_defaults("small", x, {"midpoint": midpoint})
    if p is None:
        return np.full(x.shape, np.nan)
    return _sigmoid_of_log("small", x, p["midpoint"], spread, -1.0)


def _ms(func, x, mean_multiplier, std_multiplier, mean, std, larger: bool) -> np.ndarray:
    p = _own_defaults(func, x, {"mean": mean, "std": std})
    if p is None:
        return np.full(x.shape, np.nan)
    a = _positive(func, "mean_multiplier", mean_multiplier)
    b = _positive(func, "std_multiplier", std_multiplier)
    m = _number(func, "mean", p["mean"])
    s = _number(func, "std", p["std"])
    if s < 0:
        raise InputError(f"{func}: std must be >= 0, got {s}; pass a standard deviation")
    t, bs = a * m, b * s
    over = x > t
    denom = np.where(over, x - t + bs, 1.0)
    with np.errstate(invalid="ignore"):
        ratio = bs / denom
    out = np.where(over, 1.0 - ratio, 0.0) if larger else np.where(over, ratio, 1.0)
    return _keep_nan(x, out)


def ms_large(
    values: np.ndarray,
    *,
    mean_multiplier: float = 1.0,
    std_multiplier: float = 1.0,
    mean: float | None = None,
    std: float | None = None,
) -> np.ndarray:
    """ArcGIS *MS Large* (TfMSLarge): large values preferred, fitted to mean and std.

    ``F(x) = 1 - b*s / (x - a*m + b*s)`` where ``x > a*m``, else ``F = 0``, with
    ``m``, ``s`` the mean and standard deviation of the input and ``a``, ``b`` the
    multipliers.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    mean_multiplier, std_multiplier : float, default 1
        ``a`` and ``b``, both ``> 0`` (ArcGIS's defaults).
    mean, std : float, optional
        ``m`` and ``s``. Default: mean and population standard deviation (ddof=0)
        of the finite input cells, as ArcGIS takes them from the raster. Pass them
        to score tiles with whole-raster statistics.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``[0, 1)``.

    Raises
    ------
    InputError
        If a multiplier is ``<= 0``, ``std < 0`` or a parameter is not finite.

    Examples
    --------
    >>> ms_large(np.array([1.0, 2.0, 3.0, 5.0]), mean=2, std=1).tolist()
    [0.0, 0.0, 0.5, 0.75]
    """
    x = _as_float(values)
    return _ms("ms_large", x, mean_multiplier, std_multiplier, mean, std, larger=True)


def ms_small(
    values: np.ndarray,
    *,
    mean_multiplier: float = 1.0,
    std_multiplier: float = 1.0,
    mean: float | None = None,
    std: float | None = None,
) -> np.ndarray:
    """ArcGIS *MS Small* (TfMSSmall): small values preferred, fitted to mean and std.

    ``F(x) = b*s / (x - a*m + b*s)`` where ``x > a*m``, else ``F = 1``; the
    complement of :func:`ms_large`.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    mean_multiplier, std_multiplier : float, default 1
        ``a`` and ``b``, both ``> 0``.
    mean, std : float, optional
        ``m`` and ``s``. Default: mean and population standard deviation of the
        finite input cells.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 1]``.

    Raises
    ------
    InputError
        If a multiplier is ``<= 0``, ``std < 0`` or a parameter is not finite.

    Examples
    --------
    >>> ms_small(np.array([1.0, 2.0, 3.0, 5.0]), mean=2, std=1).tolist()
    [1.0, 1.0, 0.5, 0.25]
    """
    x = _as_float(values)
    return _ms("ms_small", x, mean_multiplier, std_multiplier, mean, std, larger=False)


def _logistic(func, x, minimum, maximum, y_intercept_percent, lo_pct, hi_pct, growth):
    p = _own_defaults(func, x, {"minimum": minimum, "maximum": maximum})
    if p is None:
        return np.full(x.shape, np.nan)
    lo = _number(func, "minimum", p["minimum"])
    hi = _number(func, "maximum", p["maximum"])
    yi = _number(func, "y_intercept_percent", y_intercept_percent)
    if lo >= hi:
        raise InputError(
            f"{func}: minimum ({lo}) must be below maximum ({hi}); pass minimum < maximum"
        )
    if not lo_pct < yi < hi_pct:
        raise InputError(
            f"{func}: y_intercept_percent must lie strictly between {lo_pct} and {hi_pct}, got {yi}"
        )
    c, d = (lo + hi) / 2, (hi - lo) / 2
    k = math.log(100.0 / yi - 1.0) / d if growth else math.log(yi / (100.0 - yi)) / d
    t = x - c
    t *= k if growth else -k
    y = _expit(t)
    y *= 100.0
    return y


def logistic_growth(
    values: np.ndarray,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    y_intercept_percent: float = 1.0,
) -> np.ndarray:
    """ArcGIS *Logistic Growth* (TfLogisticGrowth): an S-curve on a 0-100 range.

    ``F(x) = 100 / (1 + exp(-k (x - c)))`` with inflection point
    ``c = (minimum + maximum) / 2`` and ``k`` set so that ``F(minimum)`` equals
    ``y_intercept_percent`` (and, by symmetry, ``F(maximum) = 100 - y_intercept_percent``).

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    minimum, maximum : float, optional
        Start and end of the rise, ``minimum < maximum``. Default: data minimum and
        maximum (the thresholds in :func:`rescale`; ArcGIS does not clip them).
    y_intercept_percent : float, default 1
        Function value at ``minimum``, strictly between 0 and 50 (ArcGIS's default
        and range). Smaller gives a sharper S.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 100)``.

    Raises
    ------
    InputError
        If ``minimum >= maximum`` or ``y_intercept_percent`` is outside ``(0, 50)``.

    Examples
    --------
    >>> logistic_growth(np.array([0.0, 5.0, 10.0]), minimum=0, maximum=10).round(6).tolist()
    [1.0, 50.0, 99.0]
    """
    x = _as_float(values)
    return _logistic("logistic_growth", x, minimum, maximum, y_intercept_percent, 0.0, 50.0, True)


def logistic_decay(
    values: np.ndarray,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    y_intercept_percent: float = 99.0,
) -> np.ndarray:
    """ArcGIS *Logistic Decay* (TfLogisticDecay): a falling S-curve on a 0-100 range.

    ``F(x) = 100 / (1 + exp(k (x - c)))`` with ``c = (minimum + maximum) / 2`` and
    ``k`` set so that ``F(minimum) = y_intercept_percent`` and
    ``F(maximum) = 100 - y_intercept_percent``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    minimum, maximum : float, optional
        Start and end of the fall, ``minimum < maximum``. Default: data minimum and
        maximum (the thresholds in :func:`rescale`).
    y_intercept_percent : float, default 99
        Function value at ``minimum``, strictly between 50 and 100 (ArcGIS's default
        and range).

    Returns
    -------
    numpy.ndarray
        Float64 values in ``(0, 100)``.

    Raises
    ------
    InputError
        If ``minimum >= maximum`` or ``y_intercept_percent`` is outside ``(50, 100)``.

    Examples
    --------
    >>> logistic_decay(np.array([0.0, 5.0, 10.0]), minimum=0, maximum=10).round(6).tolist()
    [99.0, 50.0, 1.0]
    """
    x = _as_float(values)
    return _logistic("logistic_decay", x, minimum, maximum, y_intercept_percent, 50.0, 100.0, False)


def exponential(
    values: np.ndarray, *, shift: float | None = None, base_factor: float | None = None
) -> np.ndarray:
    """ArcGIS *Exponential* (TfExponential): ``F(x) = exp((x - shift) * base_factor)``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    shift : float, optional
        Subtracted from the input. Default: the data minimum (lower threshold). It
        scales ``F`` by a constant, so it never changes :func:`rescale`'s output.
    base_factor : float, optional
        Growth rate ``ln(b)`` for a base ``b``; non-zero, negative decays. Default:
        ``ln(1e10) / (max - min)``, so ``F`` grows ten orders of magnitude across the
        range (0.04605 for a 0-500 range).

    Returns
    -------
    numpy.ndarray
        Float64 values ``> 0`` (``inf`` where the exponential overflows).

    Raises
    ------
    InputError
        If ``base_factor == 0`` or a parameter is not finite.

    Examples
    --------
    >>> exponential(np.array([0.0, 1.0, 3.0]), shift=0, base_factor=math.log(2)).round(6).tolist()
    [1.0, 2.0, 8.0]
    """
    x = _as_float(values)
    p = _own_defaults("exponential", x, {"shift": shift, "base_factor": base_factor})
    if p is None:
        return np.full(x.shape, np.nan)
    sh = _number("exponential", "shift", p["shift"])
    bf = _number("exponential", "base_factor", p["base_factor"])
    if bf == 0:
        raise InputError(
            "exponential: base_factor must be non-zero (0 gives a constant); "
            "pass ln(base), e.g. 0.01"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp((x - sh) * bf)


def power(values: np.ndarray, *, shift: float | None = None, exponent: float = 2.0) -> np.ndarray:
    """ArcGIS *Power* (TfPower): ``F(x) = (x - shift)**exponent``.

    Inputs below ``shift`` are held at ``shift`` (``F = 0``) so that fractional
    exponents stay real.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    shift : float, optional
        Subtracted from the input. Default: the data minimum (lower threshold).
    exponent : float, default 2
        Power, ``> 0``.

    Returns
    -------
    numpy.ndarray
        Float64 values ``>= 0``.

    Raises
    ------
    InputError
        If ``exponent <= 0`` or a parameter is not finite.

    Examples
    --------
    >>> power(np.array([-1.0, 1.0, 2.0, 4.0]), shift=1, exponent=2).tolist()
    [0.0, 0.0, 1.0, 9.0]
    """
    x = _as_float(values)
    p = _own_defaults("power", x, {"shift": shift})
    if p is None:
        return np.full(x.shape, np.nan)
    sh = _number("power", "shift", p["shift"])
    e = _positive("power", "exponent", exponent)
    with np.errstate(over="ignore"):
        return np.maximum(x - sh, 0.0) ** e


def logarithm(values: np.ndarray, *, shift: float | None = None, factor: float = 1.0) -> np.ndarray:
    """ArcGIS *Logarithm* (TfLogarithm): ``F(x) = ln((x - shift) * factor)``.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN, and so does any ``x <= shift`` (no logarithm).
    shift : float, optional
        Subtracted from the input. Default: 1 % of the data range below the data
        minimum (lower threshold), so every value has a logarithm and the curve
        rises steeply at first.
    factor : float, default 1
        Multiplier, ``> 0``. It adds a constant ``ln(factor)`` to ``F``, so it never
        changes :func:`rescale`'s output.

    Returns
    -------
    numpy.ndarray
        Float64 values.

    Raises
    ------
    InputError
        If ``factor <= 0`` or a parameter is not finite.

    Examples
    --------
    >>> logarithm(np.array([0.0, 1.0, 3.0]), shift=-1).round(6).tolist()
    [0.0, 0.693147, 1.386294]
    """
    x = _as_float(values)
    p = _own_defaults("logarithm", x, {"shift": shift})
    if p is None:
        return np.full(x.shape, np.nan)
    sh = _number("logarithm", "shift", p["shift"])
    f = _positive("logarithm", "factor", factor)
    arg = (x - sh) * f
    pos = arg > 0
    return np.where(pos, np.log(np.where(pos, arg, 1.0)), np.nan)


def band(
    values: np.ndarray,
    *,
    a: float | None = None,
    b: float | None = None,
    c: float | None = None,
    d: float | None = None,
) -> np.ndarray:
    """Trapezoidal band preference: 0 outside ``[a, d]``, 1 on ``[b, c]``.

    ``F`` rises linearly from 0 at ``a`` to 1 at ``b``, stays 1 to ``c`` and falls
    linearly to 0 at ``d``. It models "neither too close nor too far" preferences,
    e.g. a distance to the centre that avoids both core and far periphery.
    ``a == b`` (or ``c == d``) makes that side a step.

    Parameters
    ----------
    values : numpy.ndarray
        Input values; NaN stays NaN.
    a, d : float, optional
        Feet of the trapezoid. Default: data minimum and maximum (the thresholds in
        :func:`rescale`).
    b, c : float
        Ends of the plateau, ``a <= b <= c <= d`` and ``a < d``. Required.

    Returns
    -------
    numpy.ndarray
        Float64 values in ``[0, 1]``.

    Raises
    ------
    InputError
        If ``b`` or ``c`` is missing, the corners are out of order or not finite.

    Examples
    --------
    >>> band(np.array([0.0, 1.0, 2.0, 4.0, 5.0, 6.0]), a=0, b=2, c=4, d=6).tolist()
    [0.0, 0.5, 1.0, 1.0, 0.5, 0.0]
    """
    x = _as_float(values)
    for name, v in (("b", b), ("c", c)):
        if v is None:
            raise InputError(
                f"band: {name} is required (plateau from b to c); pass band corners "
                "a <= b <= c <= d"
            )
    p = _own_defaults("band", x, {"a": a, "b": b, "c": c, "d": d})
    if p is None:
        return np.full(x.shape, np.nan)
    ca, cb, cc, cd = (_number("band", k, p[k]) for k in ("a", "b", "c", "d"))
    if not (ca <= cb <= cc <= cd and ca < cd):
        raise InputError(
            f"band: corners must satisfy a <= b <= c <= d and a < d, got "
            f"a={ca}, b={cb}, c={cc}, d={cd}; reorder them"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = (x - ca) / (cb - ca) if cb > ca else np.where(x >= ca, 1.0, 0.0)
        fall = (cd - x) / (cd - cc) if cd > cc else np.where(x <= cd, 1.0, 0.0)
    return _keep_nan(x, np.clip(np.minimum(rise, fall), 0.0, 1.0))


#: Transformation functions by name. Each takes ``(values, **params)`` and returns
#: the raw function output on the whole array (float64, same shape).
TRANSFORMS: dict[str, Callable[..., np.ndarray]] = {
    "linear": linear,
    "symmetric_linear": symmetric_linear,
    "gaussian": gaussian,
    "near": near,
    "large": large,
    "small": small,
    "ms_large": ms_large,
    "ms_small": ms_small,
    "logistic_growth": logistic_growth,
    "logistic_decay": logistic_decay,
    "exponential": exponential,
    "power": power,
    "logarithm": logarithm,
    "band": band,
}


def _critical_points(name: str, p: dict[str, Any]) -> list[float]:
    """Inputs besides the thresholds where a built-in ``F`` may reach an extreme."""
    if name in ("gaussian", "near"):
        return [p["midpoint"]]
    if name == "symmetric_linear":
        return [(p["minimum"] + p["maximum"]) / 2]
    if name == "band":
        return [p["a"], p["b"], p["c"], p["d"]]
    if name == "linear":
        return [p["minimum"], p["maximum"]]
    return []


def _features(name: str, p: dict[str, Any]) -> list[float]:
    """Inputs where a curve turns or changes fastest (its centre, shift or corners),
    around which :func:`_float32_ok` probes it; non-finite ones are dropped."""
    keys = {
        "symmetric_linear": ("minimum", "maximum"),
        "large": ("midpoint",),
        "small": ("midpoint",),
        "logistic_growth": ("minimum", "maximum"),
        "logistic_decay": ("minimum", "maximum"),
        "exponential": ("shift",),
        "power": ("shift",),
        "logarithm": ("shift",),
    }.get(name, ())
    found = [float(p[k]) for k in keys if p.get(k) is not None]
    if name in ("logistic_growth", "logistic_decay"):
        found.append((found[0] + found[1]) / 2)
    if name in ("ms_large", "ms_small") and p.get("mean") is not None:
        found.append(float(p["mean_multiplier"]) * float(p["mean"]))
    return [v for v in found if math.isfinite(v)]


def _outside_value(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"rescale: {name} must be a number or NaN (NoData), got {value!r}")
    v = float(value)
    if math.isinf(v):
        raise InputError(f"rescale: {name} must be finite or NaN (NoData), got {v}")
    return v


def rescale(
    values: np.ndarray,
    function: str | Callable[..., np.ndarray],
    *,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    value_below: float | None = None,
    value_above: float | None = None,
    from_scale: float = 0.0,
    to_scale: float = 1.0,
    out: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Rescale continuous values to a suitability scale, as ArcGIS Rescale by Function.

    The function is applied to the cells within ``[lower_threshold, upper_threshold]``.
    Its values are mapped linearly so that its minimum and maximum over that
    interval become ``from_scale`` and ``to_scale`` (see the module docstring for
    the rule and the table per function). Cells outside get ``value_below`` /
    ``value_above``.

    Parameters
    ----------
    values : numpy.ndarray
        Input raster or array (any shape, integer or float). Not modified.
    function : str or callable
        A key of :data:`TRANSFORMS`, or a callable ``f(values, **params)`` returning
        an array of the same shape. A callable is applied as-is to the whole array.
        Its output is scaled by its own minimum and maximum over the cells between
        the thresholds.
    lower_threshold, upper_threshold : float, optional
        Range the function is applied to, inclusive. Default: minimum and maximum
        of the finite input cells (ArcGIS's default).
    value_below, value_above : float, optional
        Output for cells below the lower / above the upper threshold; NaN means
        NoData. Default: the score at that threshold (the curve held flat; for a
        callable, the score of the lowest / highest cell between the thresholds).
    from_scale, to_scale : float, default 0 and 1
        Evaluation scale. ``from_scale > to_scale`` inverts it.
    out : numpy.ndarray, optional
        C-contiguous float32 array of the shape of ``values`` to write the scores
        into (it is returned). A built-in function is evaluated chunk by chunk, so
        ``out`` may be ``values`` itself when that is float32.
    **params
        Shape parameters of the function, named as in ArcGIS in snake_case
        (``midpoint``, ``spread``, ``minimum``, ``maximum``,
        ``y_intercept_percent``, ``mean_multiplier``, ``std_multiplier``, ``shift``,
        ``base_factor``, ``exponent``, ``factor``; ``a``-``d`` for ``band``).
        Omitted ones are fitted to the thresholds as each function documents. For
        ``linear``, ``minimum`` and ``maximum`` are held within the thresholds, as
        ArcGIS does.

    Returns
    -------
    numpy.ndarray
        Float32 scores, same shape as ``values``; NaN where the input is NaN.
        All-NaN input gives all-NaN. A function that is flat between the thresholds
        (a constant input with default thresholds) gives ``to_scale`` to every cell
        between them: all tie for best.

    Notes
    -----
    Precision: float32 input (and 8- or 16-bit integers, which float32 holds
    exactly) is evaluated in float32, chunk by chunk on every core, when the float32
    and float64 evaluations agree within 5e-7 of the scale at probes across the
    thresholds and around the curve's centre, corners or shift at widths down to
    ``(upper - lower) / 2**40``; scores are then within about 1e-6 of the scale of
    the float64 evaluation (the property tests hold them to that). Otherwise, and
    for float64 input, the function is evaluated in float64, with the Gaussian and
    logistic exponentials in float32 where the scaling amplifies their round-off at
    most twofold (within 5e-7 of the scale). Cells at or beyond a threshold get its
    float64 score, so the ends of the scale stay exact.

    Raises
    ------
    InputError
        Unknown function or parameter, ``lower_threshold >= upper_threshold``,
        ``from_scale == to_scale``, a non-finite parameter, or a parameter out of
        its function's range (``spread <= 0``, ...).

    Examples
    --------
    >>> x = np.array([0.0, 2.5, 5.0, 10.0])
    >>> rescale(x, "linear").tolist()
    [0.0, 0.25, 0.5, 1.0]
    >>> rescale(x, "linear", from_scale=1, to_scale=10).tolist()
    [1.0, 3.25, 5.5, 10.0]
    >>> rescale(x, "linear", lower_threshold=2.5, upper_threshold=5, value_above=np.nan).tolist()
    [0.0, 0.0, 1.0, nan]
    >>> rescale(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), "gaussian").astype(float).round(3).tolist()
    [0.0, 0.309, 1.0, 0.309, 0.0]
    """
    return Rescaled(
        values,
        function,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        value_below=value_below,
        value_above=value_above,
        from_scale=from_scale,
        to_scale=to_scale,
        **params,
    ).compute(out)


class Rescaled:
    """:func:`rescale` of a raster, settled once and evaluated rows at a time when read.

    The function, its parameters, the thresholds and the curve's extremes over them
    are checked and fitted when the object is made (with the errors of
    :func:`rescale`); the scores are computed only when asked for, by
    :meth:`compute` (the whole raster, as :func:`rescale` returns it) or by
    :meth:`rows` (a few rows, the same values). Given to
    :func:`gis.overlay.weighted_linear_combination` as a score layer, each chunk of
    rows is rescaled and combined while it is in the cache, and no whole-raster
    score array is made.

    Parameters
    ----------
    values, function, lower_threshold, upper_threshold, value_below, value_above, \
from_scale, to_scale, **params
        As :func:`rescale`. ``values`` is read, never modified, when the scores are
        computed: keep it unchanged until then.

    Attributes
    ----------
    values : numpy.ndarray
        The input cells the scores are computed from.
    shape : tuple of int
        The shape of the scores (that of ``values``).

    Examples
    --------
    >>> x = np.array([[0.0, 2.5], [5.0, 10.0]])
    >>> r = Rescaled(x, "linear")
    >>> r.rows(1, 2).tolist()
    [[0.5, 1.0]]
    >>> r.compute().tolist()
    [[0.0, 0.25], [0.5, 1.0]]
    """

    def __init__(
        self,
        values: np.ndarray,
        function: str | Callable[..., np.ndarray],
        *,
        lower_threshold: float | None = None,
        upper_threshold: float | None = None,
        value_below: float | None = None,
        value_above: float | None = None,
        from_scale: float = 0.0,
        to_scale: float = 1.0,
        **params: Any,
    ) -> None:
        self._whole: Callable[[np.ndarray | None], np.ndarray] | None = None
        self._result: np.ndarray | None = None
        self._lock = threading.Lock()
        #: scores of the flat cells [start, stop) (float32 or float64), once the curve is fitted
        self._cells: Callable[[int, int], np.ndarray]
        arr = _real(values)
        self.values, self.shape = arr, arr.shape

        # -- the function ------------------------------------------------------
        if isinstance(function, str):
            if function not in TRANSFORMS:
                raise InputError(
                    f"rescale: unknown function {function!r}; valid names are "
                    f"{', '.join(sorted(TRANSFORMS))}"
                )
            name: str | None = function
            fn = TRANSFORMS[function]
            accepted = [k for k in inspect.signature(fn).parameters if k != "values"]
            unknown = sorted(set(params) - set(accepted))
            if unknown:
                raise InputError(
                    f"rescale: unknown parameter(s) {', '.join(unknown)} for {function!r}; "
                    f"it takes {', '.join(accepted)}"
                )
        elif callable(function):
            name, fn = None, function
        else:
            raise InputError(
                f"rescale: function must be a name from TRANSFORMS or a callable, got "
                f"{type(function).__name__}"
            )
        # -- scale, outside values, thresholds ---------------------------------
        f0 = _number("rescale", "from_scale", from_scale)
        f1 = _number("rescale", "to_scale", to_scale)
        if f0 == f1:
            raise InputError(
                f"rescale: from_scale and to_scale must differ, both are {f0}; "
                "pass e.g. from_scale=0, to_scale=1"
            )
        below = _outside_value("value_below", value_below)
        above = _outside_value("value_above", value_above)
        lo_given = (
            None
            if lower_threshold is None
            else _number("rescale", "lower_threshold", lower_threshold)
        )
        hi_given = (
            None
            if upper_threshold is None
            else _number("rescale", "upper_threshold", upper_threshold)
        )
        if name is None:  # applied to the whole array when the scores are first asked for
            self._whole = partial(
                _rescale_callable, arr, fn, params, lo_given, hi_given, below, above, f0, f1
            )
            return

        # the data range is read only when a threshold defaults to it
        if lo_given is None or hi_given is None:
            rng = _finite_range(arr)
            if rng is None:  # all NaN (or infinite): nothing to fit or scale
                self._whole = partial(_all_nan, arr.shape)
                return
        else:
            if not _any_finite(arr):  # all NaN (or infinite): nothing to scale
                self._whole = partial(_all_nan, arr.shape)
                return
            rng = (lo_given, hi_given)
        lo = rng[0] if lo_given is None else lo_given
        hi = rng[1] if hi_given is None else hi_given
        _check_thresholds(lo, hi, lo_given, hi_given)

        # -- the function's extremes over [lo, hi] -----------------------------
        p: dict[str, Any] = {}
        mode = "float64"  # or "float32" (float32 input, see _float32_ok) or "exp32" (see _exp)
        if lo == hi:  # constant input with data thresholds: nothing to scale
            flat, y_lo, y_hi, ymin, ymax = True, 0.0, 0.0, 0.0, 0.0
        else:
            given = _signature_params(fn, params)
            needs_cells = name in ("ms_large", "ms_small") and None in given.values()
            finite = _finite(arr.astype(np.float64, copy=False)) if needs_cells else _NO_CELLS
            p = _fill(name, lo, hi, finite, given)
            del finite
            if name == "linear":  # ArcGIS holds minimum/maximum within the thresholds
                p["minimum"] = min(max(_number(name, "minimum", p["minimum"]), lo), hi)
                p["maximum"] = min(max(_number(name, "maximum", p["maximum"]), lo), hi)
                if p["minimum"] == p["maximum"]:
                    raise InputError(
                        f"rescale: linear minimum and maximum both become {p['minimum']} once "
                        f"held within the thresholds [{lo}, {hi}]; pass a minimum and maximum "
                        "that differ inside the thresholds"
                    )
            elif name == "logarithm":
                if _number(name, "shift", p["shift"]) >= lo:
                    raise InputError(
                        f"rescale: logarithm shift ({p['shift']}) must be below lower_threshold "
                        f"({lo}) so every value between the thresholds has a logarithm; "
                        "lower the shift"
                    )
            elif name == "exponential":
                # The shift is a constant factor that the linear scaling cancels; measure
                # from the threshold where F peaks so nothing overflows.
                _number(name, "shift", p["shift"])
                p["shift"] = hi if _number(name, "base_factor", p["base_factor"]) > 0 else lo
            fn(np.asarray([lo, hi]), **p)  # validates the parameters
            pts = [lo, hi] + [float(v) for v in _critical_points(name, p) if lo < v < hi]
            y_pts = fn(np.asarray(pts), **p)
            if (
                arr.dtype in _FLOAT32_EXACT
                and np.max(y_pts) > np.min(y_pts)
                and _float32_neighbours(lo)[1] <= _float32_neighbours(hi)[0]
                and _float32_ok(
                    fn,
                    p,
                    lo,
                    hi,
                    pts + _features(name, p),
                    (float(np.min(y_pts)), float(np.max(y_pts)), f0, f1),
                )
            ):
                mode = "float32"  # float32 input evaluated in float32: see _float32_ok
            elif name in _EXP_FAMILY:  # float32 exponentials where they keep the scale exact
                y_pts, exp32 = _extremes_in_float32(fn, pts, p, y_pts)
                mode = "exp32" if exp32 else "float64"
            y_lo, y_hi = float(y_pts[0]), float(y_pts[1])
            ymin, ymax = float(np.min(y_pts)), float(np.max(y_pts))
            flat = not ymax > ymin

        # Cells beyond a threshold score a constant; for linear with the default outside
        # values that constant is what the held-flat curve gives there, so no test is needed.
        plain = name == "linear" and below is None and above is None
        at_lo = _scale_value(y_lo, flat, ymin, ymax, f0, f1)  # the scores of the thresholds
        at_hi = _scale_value(y_hi, flat, ymin, ymax, f0, f1)
        v_below = at_lo if below is None else below
        v_above = at_hi if above is None else above
        if flat:
            mode = "float64"
        ends: list[tuple[Any, Any, float]] = []  # (ufunc, cut, score) applied in order
        work: type[np.floating[Any]]
        if mode == "float32":
            # Cells at or beyond a threshold get its float64 score (the ends of the scale
            # stay exact), decided against the threshold's float32 neighbours (see
            # _float32_neighbours), so no float32 cell changes side.
            work, held = np.float32, False
            lo_down, lo_up = _float32_neighbours(lo)
            hi_down, hi_up = _float32_neighbours(hi)
            if not plain:
                if below is None:  # held flat: at or below lo, the score of lo
                    ends.append((np.less_equal, lo_down, at_lo))
                else:
                    if lo_up == lo_down:  # a threshold float32 holds: its cells score F there
                        ends.append((np.equal, lo_up, at_lo))
                    ends.append((np.less, lo_up, v_below))
                if above is None:
                    ends.append((np.greater_equal, hi_up, at_hi))
                else:
                    if hi_down == hi_up:
                        ends.append((np.equal, hi_down, at_hi))
                    ends.append((np.greater, hi_down, v_above))
        else:
            work = np.float64
            # With the default outside values a cell beyond a threshold scores what the
            # threshold itself scores: the values are held within the thresholds before F.
            held = not plain and below is None and above is None and lo != hi
            if not plain and not held:
                ends = [(np.less, lo, v_below), (np.greater, hi, v_above)]
        src = np.ascontiguousarray(arr).reshape(-1)

        def scale(i: int, j: int) -> np.ndarray:  # one cache-sized chunk, on any thread
            _PRECISION.keep = mode == "float32"
            _PRECISION.exp32 = mode == "exp32"
            try:
                return _scale_chunk(i, j)
            finally:
                _PRECISION.keep = _PRECISION.exp32 = False

        def _scale_chunk(i: int, j: int) -> np.ndarray:
            with np.errstate(all="ignore"):
                # float32 cells are read in place (the functions never write their input)
                v = (
                    src[i:j]
                    if mode == "float32" and src.dtype == np.float32
                    else src[i:j].astype(work)
                )
                if held:
                    np.clip(v, lo, hi, out=v)
                y = np.zeros_like(v) if lo == hi else fn(v, **p)
                s = _scale_into(y, flat, ymin, ymax, f0, f1)
                if lo == hi:
                    s[np.isnan(v)] = np.nan
                for test, cut, score in ends:
                    np.copyto(s, score, where=test(v, cut))
                return s

        self._cells = scale

    def _computed(self) -> np.ndarray:
        """The whole result of a callable or all-NaN input, computed once."""
        with self._lock:
            if self._result is None:
                assert self._whole is not None
                self._result = self._whole(None)
            return self._result

    def compute(self, out: np.ndarray | None = None) -> np.ndarray:
        """All the scores, chunk by chunk on every core: what :func:`rescale` returns.

        Parameters
        ----------
        out
            C-contiguous float32 array of :attr:`shape` to write into (it may be
            :attr:`values` itself when that is float32).

        Returns
        -------
        numpy.ndarray
            ``out``, or a new float32 array.
        """
        if out is not None and (
            not isinstance(out, np.ndarray)
            or out.dtype != np.float32
            or out.shape != self.shape
            or not out.flags.c_contiguous
        ):
            raise InputError(
                f"rescale: out must be a C-contiguous float32 array of shape {self.shape}; "
                "pass np.empty(values.shape, dtype=np.float32)"
            )
        if self._whole is not None:  # a callable or all-NaN input: the whole array at once
            return self._whole(out)
        res = np.empty(self.shape, dtype=np.float32) if out is None else out
        dst = res.reshape(-1)

        def job(i: int, j: int) -> None:
            dst[i:j] = self._cells(i, j)

        run_chunks(dst.size, _CHUNK, job)
        return res

    def rows(self, start: int, stop: int) -> np.ndarray:
        """The float32 scores of rows ``[start, stop)`` (the first axis), as :meth:`compute`
        gives them. Safe to call from several threads at once."""
        if self._whole is not None:
            return self._computed()[start:stop]
        n = math.prod(self.shape[1:])
        cells = self._cells(start * n, stop * n)
        return cells.astype(np.float32, copy=False).reshape(stop - start, *self.shape[1:])


#: Elements per chunk of :func:`rescale` (the float64 temporaries stay in cache).
_CHUNK = 1 << 16
#: Stand-in for the finite cells when no default needs them.
_NO_CELLS = np.empty(0)


def _all_nan(shape: tuple[int, ...], out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return np.full(shape, np.nan, dtype=np.float32)
    out.fill(np.nan)
    return out


def _finite_range(arr: np.ndarray) -> tuple[float, float] | None:
    """Minimum and maximum of the finite cells of ``arr`` (chunk by chunk, no copy of
    the whole array); None when there is none."""
    if arr.size == 0:
        return None
    if np.issubdtype(arr.dtype, np.integer):
        return float(arr.min()), float(arr.max())
    src = np.ascontiguousarray(arr).reshape(-1)
    lo, hi = math.inf, -math.inf
    for i in range(0, src.size, _CHUNK):
        c = src[i : i + _CHUNK]
        ok = np.isfinite(c)
        if not ok.all():
            c = c[ok]
        if c.size:
            lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
    return None if lo > hi else (lo, hi)


def _any_finite(arr: np.ndarray) -> bool:
    """Whether ``arr`` has a finite cell (chunk by chunk, stops at the first)."""
    if np.issubdtype(arr.dtype, np.integer):
        return arr.size > 0
    src = np.ascontiguousarray(arr).reshape(-1)
    return any(np.isfinite(src[i : i + _CHUNK]).any() for i in range(0, src.size, _CHUNK))


def _check_thresholds(lo: float, hi: float, lo_given: float | None, hi_given: float | None):
    if lo > hi or (lo == hi and (lo_given is not None or hi_given is not None)):
        lo_src = "" if lo_given is not None else ", the data minimum"
        hi_src = "" if hi_given is not None else ", the data maximum"
        raise InputError(
            f"rescale: lower_threshold ({lo}{lo_src}) must be below upper_threshold "
            f"({hi}{hi_src}); pass thresholds with lower_threshold < upper_threshold"
        )


def _scale_into(
    y: np.ndarray, flat: bool, ymin: float, ymax: float, f0: float, f1: float
) -> np.ndarray:
    """Map function values ``y`` (float64, overwritten) linearly from ``[ymin, ymax]``
    onto ``[f0, f1]``; both ends of the scale exact, NaN stays NaN."""
    if flat:
        np.copyto(y, f1, where=~np.isnan(y))
        return y
    if ymin != 0:  # the steps that would leave every value as it is are skipped
        y -= ymin
    if ymax - ymin != 1:
        y /= ymax - ymin
    if f0 != 0 or f1 != 1:  # on [0, 1] the clip below already makes every y >= 1 exactly 1
        top = y >= 1
        y *= f1 - f0
        y += f0
        np.copyto(y, f1, where=top)
    return np.clip(y, min(f0, f1), max(f0, f1), out=y)


def _scale_value(y: float, flat: bool, ymin: float, ymax: float, f0: float, f1: float) -> float:
    return float(_scale_into(np.array([y], dtype=np.float64), flat, ymin, ymax, f0, f1)[0])


def _rescale_callable(
    arr: np.ndarray,
    fn: Callable[..., np.ndarray],
    params: dict[str, Any],
    lo_given: float | None,
    hi_given: float | None,
    below: float | None,
    above: float | None,
    f0: float,
    f1: float,
    out: np.ndarray | None,
) -> np.ndarray:
    """:func:`rescale` of a callable: applied as-is to the whole array, scaled by its
    own extremes over the cells between the thresholds."""
    x = arr.astype(np.float64, copy=False)
    finite = _finite(x)
    if finite.size == 0:  # all NaN (or infinite): nothing to fit or scale
        return _all_nan(x.shape, out)
    lo = float(finite.min()) if lo_given is None else lo_given
    hi = float(finite.max()) if hi_given is None else hi_given
    del finite
    _check_thresholds(lo, hi, lo_given, hi_given)
    inside = (x >= lo) & (x <= hi)
    y_in: Any
    if lo == hi:  # constant input with data thresholds: nothing to scale
        flat = True
        y_in = np.zeros(int(inside.sum()))
        y_lo = y_hi = ymin = ymax = 0.0
    else:
        y_all = np.asarray(fn(x, **params), dtype=np.float64)
        if y_all.shape != x.shape:
            raise InputError(
                f"rescale: the function returned shape {y_all.shape} for input shape "
                f"{x.shape}; it must return one value per cell"
            )
        y_in = y_all[inside]
        y_ok = y_in[np.isfinite(y_in)]
        if y_ok.size:
            ymin, ymax = float(y_ok.min()), float(y_ok.max())
        else:
            ymin = ymax = 0.0
        xs = x[inside]
        y_lo = float(y_in[np.argmin(xs)]) if xs.size else np.nan
        y_hi = float(y_in[np.argmax(xs)]) if xs.size else np.nan
        flat = not ymax > ymin
        y_in = np.array(y_in, dtype=np.float64)
    res = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore"):
        res[inside] = _scale_into(y_in, flat, ymin, ymax, f0, f1)
    res[x < lo] = _scale_value(y_lo, flat, ymin, ymax, f0, f1) if below is None else below
    res[x > hi] = _scale_value(y_hi, flat, ymin, ymax, f0, f1) if above is None else above
    if out is None:
        return res.astype(np.float32)
    out[...] = res
    return out


def _signature_params(fn: Callable[..., np.ndarray], params: dict[str, Any]) -> dict[str, Any]:
    """All keyword parameters of ``fn``: the given ones, else the signature default
    (``None`` for the data-fitted ones)."""
    sig = inspect.signature(fn).parameters
    return {k: params.get(k, v.default) for k, v in sig.items() if k != "values"}


def reclass(
    values: np.ndarray, mapping: Mapping[float, float], *, default: float = np.nan
) -> np.ndarray:
    """Score a categorical raster by looking each class up in ``mapping``.

    Parameters
    ----------
    values : numpy.ndarray
        Class codes (integer or float), any shape. Not modified.
    mapping : Mapping
        Class code to score, e.g. ``{1: 1.0, 2: 0.5}``. Codes must be finite
        numbers; scores may be NaN (NoData).
    default : float, default NaN
        Score for codes missing from ``mapping``.

    Returns
    -------
    numpy.ndarray
        Float32 scores, same shape as ``values``; NaN cells stay NaN.

    Raises
    ------
    InputError
        If ``mapping`` is not a non-empty mapping of finite numeric codes to numeric
        scores, or ``values`` is not numeric.

    Examples
    --------
    >>> reclass(np.array([[1, 2], [3, 1]]), {1: 1.0, 2: 0.5}).tolist()
    [[1.0, 0.5], [nan, 1.0]]
    >>> reclass(np.array([1, 3]), {1: 1.0}, default=0).tolist()
    [1.0, 0.0]
    """
    if not isinstance(mapping, Mapping) or len(mapping) == 0:
        raise InputError(
            "reclass: mapping must be a non-empty mapping of class code to score, e.g. "
            "{1: 1.0, 2: 0.5}"
        )
    arr = np.asarray(values)
    x = _as_float(arr)
    for k in mapping:
        _number("reclass", f"mapping key {k!r}", k)
    scores: list[float] = []
    for k, v in mapping.items():
        if isinstance(v, bool) or not isinstance(v, Real) or math.isinf(float(v)):
            raise InputError(
                f"reclass: score for class {k!r} must be a finite number or NaN, got {v!r}"
            )
        scores.append(float(v))
    if isinstance(default, bool) or not isinstance(default, Real) or math.isinf(default):
        raise InputError(f"reclass: default must be a finite number or NaN, got {default!r}")

    integral = np.issubdtype(arr.dtype, np.integer) and all(
        float(k).is_integer() and abs(float(k)) < 2**63 for k in mapping
    )
    if integral:  # exact lookup for large integer codes
        keys = np.array([int(k) for k in mapping], dtype=np.int64)
        lookup = arr.astype(np.int64, copy=False)
    else:
        keys = np.array([float(k) for k in mapping], dtype=np.float64)
        lookup = x
    order = np.argsort(keys)
    keys, score_arr = keys[order], np.asarray(scores, dtype=np.float64)[order]
    idx = np.minimum(np.searchsorted(keys, lookup), keys.size - 1)
    hit = keys[idx] == lookup
    out = np.where(hit, score_arr[idx], float(default))
    return _keep_nan(x, out).astype(np.float32)
