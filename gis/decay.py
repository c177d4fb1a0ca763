"""Distance decay: one registry of functions ``f(d, scale, **params)``.

Every decay takes a distance ``d`` and a ``scale`` in the same unit (metres on
a grid, kilometres or minutes between places) and returns weights in
``[0, 1]`` (``"inverse_power"`` excepted, see below). :data:`DECAYS` maps names
to functions; wherever a decay is asked for, a callable ``f(d, scale,
**params)`` works too (as rasterio's merge methods do).

==============  ===========================================  ======================================
name            ``f(d)``                                     ``scale`` is
==============  ===========================================  ======================================
exponential     ``exp(-d / scale)``                          the e-folding distance
gaussian        ``exp(-d**2 / (2 scale**2))``                the standard deviation
power           ``(1 + d / scale) ** -exponent``             the distance where f = 2**-exponent
log_logistic    ``1 / (1 + (d / scale) ** exponent)``        the distance where f = 1/2
inverse_power   ``(d / scale) ** -exponent``                 the distance where f = 1 (infinite at
                                                             0: the classic gravity ``d**-b`` with
                                                             ``scale=1``; not for kernels)
linear          ``max(0, 1 - d / scale)``                    the distance where f reaches 0
step            ``1 if d <= scale else 0``                   the cut-off radius
==============  ===========================================  ======================================

``exponent`` defaults to 2. All but ``inverse_power`` equal 1 at distance 0.
A decay given by its *half distance* ``h`` (where it has fallen to one half)
has the scale :func:`half_distance_scale`: for instance ``2**(-d/h)`` is
``"exponential"`` with ``scale = h / ln 2``.

:func:`reach` gives the distance beyond which a decay stays below a tolerance,
and :func:`decay_kernel` samples a decay at cell-centre offsets for convolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gis.errors import InputError

__all__ = [
    "DECAYS",
    "KERNEL_DECAYS",
    "DecayFunction",
    "decay",
    "decay_kernel",
    "half_distance_scale",
    "reach",
]

#: A decay function ``f(d, scale, **params) -> weights``.
DecayFunction = Callable[..., np.ndarray]


def _exponent(exponent: Any) -> float:
    try:
        b = float(exponent)
    except (TypeError, ValueError):
        b = math.nan
    if not (math.isfinite(b) and b > 0):
        raise InputError(f"decay exponent must be a positive number, got {exponent!r}")
    return b


def _exponential(d: np.ndarray, scale: float) -> np.ndarray:
    return np.exp(-d / scale)


def _gaussian(d: np.ndarray, scale: float) -> np.ndarray:
    return np.exp(-0.5 * (d / scale) ** 2)


def _power(d: np.ndarray, scale: float, exponent: float = 2.0) -> np.ndarray:
    return (1.0 + d / scale) ** -_exponent(exponent)


def _log_logistic(d: np.ndarray, scale: float, exponent: float = 2.0) -> np.ndarray:
    return 1.0 / (1.0 + (d / scale) ** _exponent(exponent))


def _inverse_power(d: np.ndarray, scale: float, exponent: float = 2.0) -> np.ndarray:
    b = _exponent(exponent)
    with np.errstate(divide="ignore"):
        return (d / scale) ** -b


def _linear(d: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(1.0 - d / scale, 0.0, 1.0)


def _step(d: np.ndarray, scale: float) -> np.ndarray:
    return (d <= scale).astype(d.dtype)


#: Decay functions by name: ``f(distance, scale, **params)`` (see the module table).
DECAYS: dict[str, DecayFunction] = {
    "exponential": _exponential,
    "gaussian": _gaussian,
    "power": _power,
    "log_logistic": _log_logistic,
    "inverse_power": _inverse_power,
    "linear": _linear,
    "step": _step,
}

#: Names of the decays that are finite at distance 0 (1 there): those a kernel can use.
KERNEL_DECAYS: tuple[str, ...] = tuple(k for k in DECAYS if k != "inverse_power")

#: Decays that are exactly 0 beyond ``scale`` (no truncation needed).
_COMPACT = {"linear", "step"}


def _function(function: str | DecayFunction) -> DecayFunction:
    if callable(function):
        return function
    if isinstance(function, str) and function in DECAYS:
        return DECAYS[function]
    raise InputError(f"unknown decay {function!r}; use one of {sorted(DECAYS)} or a callable")


def _name(function: str | DecayFunction) -> str | None:
    """The registry name of ``function`` (a name or a registered function), else None."""
    for k, v in DECAYS.items():
        if v is function or k == function:
            return k
    return None


def _scale(scale: Any, what: str = "decay scale") -> float:
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a distance, got {scale!r}") from None
    if not (math.isfinite(s) and s > 0):
        raise InputError(f"{what} must be a positive distance, got {scale!r}")
    return s


def decay(
    distance: Any,
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    **params: Any,
) -> np.ndarray:
    """Distance-decay weights ``f(distance)`` (input not modified).

    float32 distances give float32 weights, anything else float64.

    Parameters
    ----------
    distance
        Distances (array or scalar), >= 0; NaN stays NaN, ``inf`` gives 0.
    function
        A name of :data:`DECAYS` or a callable ``f(d, scale, **params)``.
    scale
        Distance parameter, in the unit of ``distance`` (see the module table).
    **params
        Further parameters, e.g. ``exponent`` of ``"power"``.

    Examples
    --------
    >>> decay([0.0, 1000.0, 2000.0], "exponential", scale=1000).round(4)
    array([1.    , 0.3679, 0.1353])
    >>> decay([0.0, 500.0, 3000.0], "linear", scale=1000).tolist()
    [1.0, 0.5, 0.0]
    >>> decay([1000.0], "power", scale=1000, exponent=2).tolist()
    [0.25]
    >>> decay([0.0, 100.0, 300.0], "log_logistic", scale=100).round(3).tolist()
    [1.0, 0.5, 0.1]
    """
    d = np.asarray(distance)
    if d.dtype != np.float32:
        d = d.astype("float64")
    if (d[np.isfinite(d)] < 0).any():
        raise InputError("distances must be >= 0")
    out = np.asarray(_function(function)(d, _scale(scale), **params), dtype=d.dtype)
    return np.where(np.isinf(d), d.dtype.type(0), out)


def half_distance_scale(
    function: str | DecayFunction, half_distance: float, **params: Any
) -> float:
    """The ``scale`` at which a named decay falls to one half at ``half_distance``.

    Examples
    --------
    >>> round(half_distance_scale("exponential", 100.0), 4)  # 100 / ln 2
    144.2695
    >>> half_distance_scale("log_logistic", 100.0)
    100.0
    """
    h = _scale(half_distance, "half_distance")
    name = _name(function)
    if name is None or name == "step":
        raise InputError(f"decay {function!r} has no half distance; give its scale instead")
    b = _exponent(params.get("exponent", 2.0))
    return {
        "exponential": h / math.log(2.0),
        "gaussian": h / math.sqrt(2.0 * math.log(2.0)),
        "power": h / (2.0 ** (1.0 / b) - 1.0),
        "log_logistic": h,
        "inverse_power": h / 2.0 ** (1.0 / b),
        "linear": 2.0 * h,
    }[name]


def reach(
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    tolerance: float = 1e-3,
    **params: Any,
) -> float:
    """Distance beyond which the decay stays below ``tolerance`` (of its peak 1).

    Closed forms for the named decays; a callable must be cut with an explicit
    ``max_distance`` instead.

    Examples
    --------
    >>> round(reach("exponential", scale=10_000, tolerance=1e-3))
    69078
    >>> reach("linear", scale=5000)
    5000.0
    """
    s = _scale(scale)
    if not (0 < tolerance < 1):
        raise InputError(f"tolerance must be between 0 and 1, got {tolerance!r}")
    name = _name(function)
    if name is None:
        if callable(function):
            raise InputError("a custom decay function needs an explicit max_distance")
        raise InputError(f"unknown decay {function!r}; use one of {sorted(DECAYS)} or a callable")
    if name in _COMPACT:
        return s
    if name == "exponential":
        return s * math.log(1.0 / tolerance)
    if name == "gaussian":
        return s * math.sqrt(2.0 * math.log(1.0 / tolerance))
    exponent = float(params.get("exponent", 2.0))
    if name == "log_logistic":
        return s * (1.0 / tolerance - 1.0) ** (1.0 / exponent)
    if name == "inverse_power":
        return s * tolerance ** (-1.0 / exponent)
    return s * (tolerance ** (-1.0 / exponent) - 1.0)


def decay_kernel(
    cell_size: float,
    function: str | DecayFunction = "exponential",
    *,
    scale: float,
    max_distance: float,
    **params: Any,
) -> np.ndarray:
    """The decay sampled at cell-centre offsets within ``max_distance``: an odd square (float64).

    Examples
    --------
    >>> decay_kernel(1000, "linear", scale=2000, max_distance=1200)
    array([[0. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 0. ]])
    """
    cs = _scale(cell_size, "cell size")
    limit = _scale(max_distance, "max_distance")
    p = math.floor(limit / cs + 1e-9)
    off = np.arange(p + 1) * cs  # one quadrant, mirrored: the kernel is radially symmetric
    d = np.hypot(off[:, None], off[None, :])
    quad = np.zeros_like(d)
    inside = d <= limit * (1 + 1e-12)
    quad[inside] = decay(d[inside], function, scale=scale, **params)
    if not np.isfinite(quad).all() or quad.min() < 0:
        raise InputError("the decay function must give finite values >= 0")
    k = np.empty((2 * p + 1, 2 * p + 1))
    k[p:, p:] = quad
    k[p:, :p] = quad[:, :0:-1]
    k[:p] = k[:p:-1]
    return k
