"""Tiering methods of the macro scale: one method combination, a grid of them, weight draws.

A :class:`Method` names a normalisation, a weighting, a composite index and class
breaks (registries of :mod:`gis.normalize`, :mod:`gis.weights`,
:mod:`gis.composite`, :mod:`gis.classify`). :func:`evaluate` tiers units with one
method, :func:`compare_methods` runs the grid of :func:`method_grid` against it and
:func:`perturb_weights` draws weights around the chosen ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gis.classify import classify
from gis.composite import composite_index
from gis.errors import InputError
from gis.normalize import normalize
from gis.weights import compute_weights
from layers.macro.options import MacroOptions
from layers.macro.tables import tier_names

__all__ = [
    "DEFAULT_METHOD",
    "Method",
    "TierResult",
    "compare_methods",
    "evaluate",
    "method_grid",
    "perturb_weights",
]


# ------------------------------------------------------------------------------ methods
_DEFAULTS = MacroOptions()


@dataclass(frozen=True)
class Method:
    """A method combination: normalisation, weighting, composite and class breaks.

    Each field is a registry name (see :mod:`gis.normalize`, :mod:`gis.weights`,
    :mod:`gis.composite`, :mod:`gis.classify`) or a callable.
    """

    normalization: str | Callable = _DEFAULTS.normalization
    weighting: str | Callable = _DEFAULTS.weighting
    composite: str | Callable = _DEFAULTS.composite
    breaks: str | Callable = _DEFAULTS.breaks

    @property
    def label(self) -> str:
        """``normalization/weighting/composite/breaks`` with callables by name."""
        parts = (self.normalization, self.weighting, self.composite, self.breaks)
        return "/".join(
            p if isinstance(p, str) else getattr(p, "__name__", "custom") for p in parts
        )


#: The documented default: reproduces the paper's Table 2 on its 14 regions.
DEFAULT_METHOD = Method()


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
    >>> from layers.macro.tables import DEFAULT_UNITS, INDICATORS, load_table1
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
            differs_from_chosen="; ".join(f"{units[i]}: {got[i]}" for i in diff.tolist()),
        )
        if target_arr is not None:
            known = np.array([t is not None for t in target_arr])
            miss = np.flatnonzero(known & (got != target_arr))
            row.update(
                reproduces_paper=bool(miss.size == 0),
                differs_from_paper="; ".join(f"{units[i]}: {got[i]}" for i in miss.tolist()),
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
    >>> from layers.macro.tables import DEFAULT_UNITS, INDICATORS, load_table1
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
