"""One raster pipeline for every raster scale: measures -> scores -> overlay -> sites.

A scale (micro, meso, national) is a preset of this pipeline: its factors
(:mod:`layers.spec`), its data sources (a :class:`layers.measures.MeasureContext`),
its grid and its constraints. The pipeline

1. computes the raw measure of every criterion (:data:`layers.measures.MEASURES`);
2. takes percentile parameters (``"p95"``) from ONE regular sample of the area's
   cells, every ``s``-th row and column (:func:`sample_step`, the same cells whatever
   the windows; every cell below :data:`PERCENTILE_SAMPLE` cells, so exact there);
3. scores each criterion with its transform, with the empty rules and one fix for a
   degenerate data-driven range (:func:`explicit_params`), and combines criteria
   into factor scores (:func:`compute_factor`);
4. aggregates the factors (:func:`gis.overlay.aggregate`), applies the constraints,
   the data-coverage mask (:class:`Coverage`: cells with no mapped feature nearby are
   "no data", never "good") and the non-compensatory conditions (a factor that must
   reach a minimum score whatever the weighted sum), finds the candidate regions and
   runs the decision steps (:func:`layers.decision.apply_decision`).

A percentile threshold set by a handful of features would stretch one or two features
to a score of 1: a criterion of a measure that ranks cells by their features
(:attr:`layers.measures.Measure.feature_ranked`) with fewer than :data:`MIN_FEATURES`
features scores with its documented absolute thresholds
(:attr:`layers.spec.Criterion.absolute_params`) instead, or is left out as no
information (:func:`sparse_fallback`); the run says so in its warnings.

:func:`compute_raster` runs it in memory on the whole grid. The block functions
:class:`MeasureBlock` and :class:`ScoreBlock` run the same steps window by window on
:func:`gis.engine.compute_blocks` (:func:`compute_windowed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from gis import progress
from gis.engine import Engine, compute_blocks, plan
from gis.errors import GridSizeError, InputError, NoDataError
from gis.grid import Grid
from gis.io import RasterOutput
from gis.overlay import aggregate, apply_constraints, fit_order_weights, normalize_weights
from gis.regions import candidate_regions
from gis.transforms import Rescaled, rescale
from gis.windows import Window
from layers.measures import MEASURES, EmptyMeasure, MeasureContext, Measured, halo_metres
from layers.spec import Criterion, CriterionResult, Factor, FactorResult

__all__ = [
    "COVERAGE_WARN",
    "MIN_FEATURES",
    "MOMENT_TRANSFORMS",
    "PERCENTILE_SAMPLE",
    "Coverage",
    "Exclusions",
    "MeasureBlock",
    "RasterResult",
    "RasterRun",
    "Sampler",
    "ScoreBlock",
    "WindowedResult",
    "check_decision_memory",
    "check_factors",
    "compute_factor",
    "compute_raster",
    "compute_windowed",
    "condition_failures",
    "conditions_info",
    "coverage_info",
    "coverage_warning",
    "criterion_scores",
    "empty_score",
    "explicit_params",
    "few_features",
    "run_warnings",
    "sample_step",
    "sample_window",
    "score_criterion",
    "sparse_fallback",
]

#: Transforms whose omitted ``mean`` and ``std`` default to the raster's own.
MOMENT_TRANSFORMS: tuple[str, ...] = ("ms_large", "ms_small")

#: Percentile parameters (``"p98"``) are taken from every s-th row and column of the
#: grid, with s chosen so the sample has at most this many cells (exact below it).
PERCENTILE_SAMPLE: int = 4_000_000

#: Fewest features that may rank an area by percentiles of a feature-ranked measure (a
#: density); with fewer, absolute thresholds apply or the criterion carries no information.
MIN_FEATURES: int = 5

#: Share of the area with data below which a run warns that its ranking covers little.
COVERAGE_WARN: float = 0.5


# ---------------------------------------------------------------------- checks
def check_factors(factors: Sequence[Factor]) -> None:
    """Check that every criterion names a registered measure.

    Raises
    ------
    InputError
        Naming the criterion and the registered measures.
    """
    for f in factors:
        for c in f.criteria:
            if c.measure not in MEASURES:
                raise InputError(
                    f"criterion {c.name!r}: unknown measure {c.measure!r}; "
                    f"choose one of {', '.join(MEASURES)}"
                )


#: Working set per cell of the decision steps, beyond the score grids read back (bytes):
#: Locate Regions' and the sensitivity's temporaries (float64 draws, labels, masks).
DECISION_BYTES_PER_CELL: int = 48


def check_decision_memory(grid: Grid, n_layers: int, budget: int) -> None:
    """Refuse decision steps whose whole grids would not fit the memory budget.

    Locate Regions, the sensitivity analysis and the explanations read the suitability
    and every factor score of the whole grid; a windowed run checks this before it
    computes anything.

    Raises
    ------
    GridSizeError
        With the cells, the bytes needed and the budget, and what to change.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 100e3, 100e3), cell_size=100, crs=3857)
    >>> check_decision_memory(g, 4, 2**30)
    >>> check_decision_memory(g, 4, 2**20)
    Traceback (most recent call last):
    ...
    gis.errors.GridSizeError: the decision steps (Locate Regions, sensitivity, explanations) \
need the whole suitability and 4 factor grids: 1,000,000 cells x 68 bytes = 64.8 MiB, over \
the memory budget of 1.0 MiB; use coarser cells (--cell-size) or a larger --memory-budget
    """
    per = 4 * (n_layers + 1) + DECISION_BYTES_PER_CELL
    need = grid.size * per
    if need > budget:
        raise GridSizeError(
            "the decision steps (Locate Regions, sensitivity, explanations) need the whole "
            f"suitability and {n_layers} factor grids: {grid.size:,} cells x {per} bytes = "
            f"{need / 2**20:.1f} MiB, over the memory budget of {budget / 2**20:.1f} MiB; "
            "use coarser cells (--cell-size) or a larger --memory-budget"
        )


# ---------------------------------------------------------------------- percentiles
def sample_step(grid: Grid, limit: int | None = None) -> int:
    """Row and column step of the percentile sample: every s-th cell each way.

    Examples
    --------
    >>> sample_step(Grid.from_bounds((0, 0, 4000e3, 5000e3), cell_size=1000, crs=3857))
    3
    """
    limit = PERCENTILE_SAMPLE if limit is None else limit
    return max(1, math.ceil(math.sqrt(grid.size / limit)))


def sample_window(window: Window, values: np.ndarray, step: int) -> np.ndarray:
    """Values of the window core at global rows and columns that are multiples of ``step``."""
    r0 = (-window.row) % step
    c0 = (-window.col) % step
    return values[r0::step, c0::step]


def _sample(raw: np.ndarray, inside: np.ndarray, step: int) -> np.ndarray:
    values = raw[::step, ::step][inside[::step, ::step]]
    return values[np.isfinite(values)]


class Sampler:
    """Collects the percentile sample of named raw layers inside the area, window by window.

    Also the finite range (``ranges``) and the mean and standard deviation
    (``moments``) of every cell of named layers: the whole-raster statistics that a
    transform's data-driven defaults take (``rescale``'s thresholds, ``ms_large``'s
    mean and std), so every window scores with the same parameters.
    """

    def __init__(self, names: Sequence[str], step: int, ranges: Sequence[str] = (),
                 moments: Sequence[str] = ()) -> None:  # fmt: skip
        self.names, self.step = tuple(names), step
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in self.names}
        self.cells = 0
        self.ranges: dict[str, tuple[float, float]] = {n: (math.inf, -math.inf) for n in ranges}
        # count, shift, sum and sum of squares of (x - shift), in float64
        self.sums: dict[str, list[float]] = {n: [0.0, math.nan, 0.0, 0.0] for n in moments}

    def __call__(self, window: Window, cores: Mapping[str, np.ndarray]) -> None:
        """Add the sampled cells of one finished window (and the range of every cell)."""
        self.cells += int(np.count_nonzero(cores["inside"] > 0.5))
        for n, (lo, hi) in self.ranges.items():
            v = cores[n][np.isfinite(cores[n])]
            if v.size:
                self.ranges[n] = (min(lo, float(v.min())), max(hi, float(v.max())))
        for n, acc in self.sums.items():
            v = cores[n][np.isfinite(cores[n])].astype("float64")
            if v.size:
                if math.isnan(acc[1]):
                    acc[1] = float(v[0])
                d = v - acc[1]
                acc[0] += v.size
                acc[2] += float(d.sum())
                acc[3] += float(np.dot(d, d))
        inside = sample_window(window, cores["inside"], self.step) > 0.5
        for n in self.names:
            v = sample_window(window, cores[n], self.step)[inside]
            self.parts[n].append(v[np.isfinite(v)])

    def moments(self, name: str) -> dict[str, float]:
        """``{"mean", "std"}`` of every finite cell of ``name`` (empty without any)."""
        n, shift, s1, s2 = self.sums[name]
        if n == 0:
            return {}
        mean = s1 / n
        return {"mean": shift + mean, "std": math.sqrt(max(s2 / n - mean * mean, 0.0))}

    def values(self, name: str) -> np.ndarray:
        """The sampled finite values of ``name`` inside the area."""
        parts = self.parts[name]
        return np.concatenate(parts) if parts else np.empty(0, dtype="float32")


def needs_sample(criterion: Criterion) -> bool:
    """Whether the criterion's transform has percentile parameters."""
    return criterion.transform is not None and any(
        isinstance(v, str) for v in criterion.transform_params.values()
    )


def needs_moments(criterion: Criterion) -> bool:
    """Whether the criterion's transform takes the raster's mean and std by default."""
    p = criterion.transform_params
    return criterion.transform in MOMENT_TRANSFORMS and (
        p.get("mean") is None or p.get("std") is None
    )


def _moments(values: np.ndarray) -> dict[str, float]:
    v = values[np.isfinite(values)].astype("float64")
    return {"mean": float(v.mean()), "std": float(v.std())} if v.size else {}


def explicit_params(criterion: Criterion, values: np.ndarray) -> dict[str, Any]:
    """The transform parameters of ``criterion`` with ``"pNN"`` replaced by percentiles.

    ``values`` is the percentile sample of the raw measure (finite, inside the area). A
    degenerate data-driven range (``lower_threshold >= upper_threshold``, e.g. the 95th
    percentile of a density that is 0 almost everywhere) is widened by a hair.

    Examples
    --------
    >>> c = Criterion(name="c", measure="density", transform_params={"upper_threshold": "p50",
    ...               "lower_threshold": 0})
    >>> explicit_params(c, np.arange(10, dtype="float32"))
    {'upper_threshold': 4.5, 'lower_threshold': 0}
    """
    params = criterion.transform_params
    wanted = {k: v for k, v in params.items() if isinstance(v, str)}
    out = dict(params)
    if wanted:
        qs = []
        for key, val in wanted.items():
            try:
                qs.append(float(val.removeprefix("p")))
            except ValueError:
                raise InputError(
                    f"parameter {key}={val!r}: percentiles are written p0..p100"
                ) from None
        if values.size == 0:
            raise NoDataError(
                f"criterion {criterion.name}: parameters {wanted}: the measure has no finite "
                "value in the area"
            )
        for key, q in zip(wanted, np.percentile(values, qs), strict=True):
            out[key] = float(q)
    lo, hi = out.get("lower_threshold"), out.get("upper_threshold")
    if lo is not None and hi is not None and not lo < hi:
        out["upper_threshold"] = lo + max(abs(lo), 1.0) * 1e-6
    return out


def sparse_fallback(
    criterion: Criterion, count: int, *, min_features: int | None = None
) -> tuple[Criterion | None, str]:
    """The criterion to score when its features may be too few to rank the area.

    A percentile threshold (``"p95"``) of a feature-ranked measure (a kernel density) set
    by one or two features stretches them to a score of 1. With fewer than
    ``min_features`` (default :data:`MIN_FEATURES`) features, the criterion scores with
    its ``absolute_params`` instead, or, without those, is left out (None: no
    information). The note says what happened (empty when nothing did).

    Examples
    --------
    >>> c = Criterion(name="cafes", measure="density", tags={"amenity": ["cafe"]},
    ...               transform_params={"lower_threshold": 0, "upper_threshold": "p95"},
    ...               absolute_params={"upper_threshold": 50})
    >>> used, note = sparse_fallback(c, 1)
    >>> dict(used.transform_params)
    {'lower_threshold': 0, 'upper_threshold': 50}
    >>> note
    'cafes: 1 feature(s), too few (< 5) to rank the area by percentiles, so absolute \
thresholds are used (upper_threshold=50)'
    >>> sparse_fallback(c, 5)[0] is c
    True
    """
    from dataclasses import replace

    n = MIN_FEATURES if min_features is None else min_features
    if count >= n or not needs_sample(criterion):
        return criterion, ""
    if not MEASURES[criterion.measure].feature_ranked:
        return criterion, ""
    head = (f"{criterion.name}: {count} feature(s), too few (< {n}) to rank the area by "
            "percentiles")  # fmt: skip
    if criterion.absolute_params:
        used = replace(criterion, transform_params=criterion.absolute_transform_params())
        if not needs_sample(used):
            given = ", ".join(f"{k}={v:g}" for k, v in criterion.absolute_params.items())
            return used, f"{head}, so absolute thresholds are used ({given})"
    return None, f"{head}, so it is scored as no information (left out)"


def few_features(criterion: Criterion, count: int) -> str:
    """A warning when a criterion's own features are too few to rank an area, else ``""``.

    Only features selected from OSM or a user source count; the run's packaged sources
    (centre, hubs, population, cities, macro centres) are complete by construction.
    """
    if 0 < count < MIN_FEATURES and criterion.source not in _OWN_SOURCES:
        return (f"{criterion.name}: only {count} feature(s) in the area, too few to rank "
                "it")  # fmt: skip
    return ""


_OWN_SOURCES = ("centre", "hubs", "population", "cities", "macro")


# ---------------------------------------------------------------------- scores
def criterion_scores(
    function: str, raw: np.ndarray, params: Mapping[str, Any]
) -> np.ndarray | Rescaled:
    """The transform of ``raw`` with explicit parameters: a :class:`~gis.transforms.Rescaled`
    (computed rows at a time when it is read) when it is pointwise, else the whole array."""
    lo, hi = params.get("lower_threshold"), params.get("upper_threshold")
    data_defaults = function in MOMENT_TRANSFORMS and not {"mean", "std"} <= set(params)
    if lo is None or hi is None or data_defaults:
        return rescale(raw, function, **params)  # data-dependent defaults: whole raster
    return Rescaled(raw, function, **params)


def score_criterion(function: str, raw: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """The transform of ``raw`` with explicit parameters, as an array."""
    return _computed(criterion_scores(function, raw, params))


def _computed(scores: np.ndarray | Rescaled) -> np.ndarray:
    """The scores as an array (a :class:`~gis.transforms.Rescaled` computed whole)."""
    return scores.compute() if isinstance(scores, Rescaled) else scores


def empty_score(rule: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The score of an empty criterion under ``rule`` (None: dropped)."""
    if rule == "zero":
        return np.zeros(shape, dtype="float32")
    if rule == "one":
        return np.ones(shape, dtype="float32")
    return None


def _unavailable(factor: Factor, ctx: MeasureContext) -> str | None:
    """Why a factor cannot be computed at all (none of its sources is there), or None."""
    reasons = [ctx.unavailable.get(s) for s in factor.sources]
    if reasons and all(reasons):
        return "; ".join(dict.fromkeys(r for r in reasons if r))
    return None


def _combine(factor: Factor, results: list[CriterionResult], empty_rule: str,
             shape: tuple[int, int]) -> FactorResult:  # fmt: skip
    from gis.overlay import weighted_linear_combination

    used = [r for r in results if r.score is not None]
    if not used or all(r.status != "ok" for r in results):
        status = "zero" if empty_rule == "zero" else "drop"
        score = np.zeros(shape, dtype="float32") if status == "zero" else None
        return FactorResult(factor, results, score, status)
    if len(used) == 1:
        return FactorResult(factor, results, used[0].score, "ok")
    weights = normalize_weights({r.criterion.name: r.criterion.weight for r in used})
    scores = {r.criterion.name: r.score for r in used if r.score is not None}
    return FactorResult(factor, results, weighted_linear_combination(scores, weights), "ok")


def compute_factor(
    factor: Factor, ctx: MeasureContext, *, empty_rule: str, step: int = 1
) -> FactorResult:
    """Raw measures, criterion scores and the factor score (weighted mean of criteria)."""
    missing = _unavailable(factor, ctx)
    if missing is not None:
        return FactorResult(factor, [], None, "unavailable", missing)
    results: list[CriterionResult] = []
    for crit in factor.criteria:
        try:
            m = measure_criterion(crit, ctx)
        except EmptyMeasure as exc:
            rule = crit.when_empty or empty_rule
            results.append(CriterionResult(crit, 0, None, empty_score(rule, ctx.grid.shape), rule,
                                           f"{exc}; rule '{rule}' applied"))  # fmt: skip
            continue
        score = m.score
        used, fallback = sparse_fallback(crit, m.count) if score is None else (crit, "")
        note = "; ".join(n for n in (m.note, fallback) if n)
        if used is None:
            results.append(CriterionResult(crit, m.count, m.raw, None, "few", note,
                                           dict(m.extra)))  # fmt: skip
            continue
        if score is None:
            if used.transform is None:
                score = m.raw
            else:
                values = _sample(m.raw, ctx.inside, step) if needs_sample(used) else np.empty(0)
                score = score_criterion(used.transform, m.raw, explicit_params(used, values))
        results.append(CriterionResult(crit, m.count, m.raw, score, "ok", note, dict(m.extra)))
    return _combine(factor, results, empty_rule, ctx.grid.shape)


# ---------------------------------------------------------------------- the run
@dataclass(frozen=True)
class Exclusions:
    """Constraint layers as geometries in the grid CRS: excluded cells of any window.

    ``layers`` holds ``(geometries, options of gis.overlay.exclusion_mask)`` pairs.
    """

    layers: tuple[tuple[np.ndarray, dict[str, Any]], ...] = ()

    def __call__(self, grid: Grid) -> np.ndarray:
        """The excluded cells of ``grid``."""
        from gis.overlay import exclusion_mask

        excluded = np.zeros(grid.shape, dtype=bool)
        for geoms, options in self.layers:
            excluded |= exclusion_mask(grid, geoms, **options)
        return excluded


@dataclass(frozen=True)
class Coverage:
    """Where a run has data: the cells within ``radius`` metres of a mapped feature.

    A cell farther than ``radius`` from every feature of ``geometries`` (in the grid
    CRS: street segments and buildings at micro scale) is "no data": absent data must
    not score as good (a low building density where no building is mapped), so such
    cells are nodata in the suitability and never candidates. Points are measured
    exactly; lines and polygons to within half a cell diagonal
    (:func:`gis.distance.euclidean_distance`). Any window of the grid gives the same
    cells as the whole grid (features are measured on the window grown by ``radius``).

    Parameters
    ----------
    geometries
        Shapely geometries in the grid CRS.
    radius
        Metres; 0 or less turns the mask off (every cell has data).
    basis
        What the features are, in words, for reports (e.g. ``"mapped streets or
        buildings"``).

    Examples
    --------
    >>> import shapely
    >>> g = Grid.from_bounds((0, 0, 50, 10), cell_size=10, crs=32635)
    >>> Coverage(np.array([shapely.Point(5, 5)]), 15.0, "points")(g).astype(int)
    array([[1, 1, 0, 0, 0]])
    """

    geometries: np.ndarray
    radius: float
    basis: str = "mapped features"

    def __call__(self, grid: Grid) -> np.ndarray:
        """Cells of ``grid`` with data (bool)."""
        from affine import Affine

        from gis.distance import euclidean_distance

        if self.radius <= 0:
            return np.ones(grid.shape, dtype=bool)
        geoms = np.asarray(self.geometries, dtype=object)
        if geoms.size == 0:
            return np.zeros(grid.shape, dtype=bool)
        h = math.ceil(self.radius / grid.cell_size) + 1
        grown = Grid(grid.crs, grid.transform @ Affine.translation(-h, -h),
                     grid.width + 2 * h, grid.height + 2 * h)  # fmt: skip
        try:
            dist = euclidean_distance(grown, geoms, max_distance=self.radius + grid.cell_size)
        except NoDataError:  # no non-empty geometry
            return np.zeros(grid.shape, dtype=bool)
        return dist[h:-h, h:-h] <= self.radius

    def describe(self) -> str:
        """What a cell needs to have data, in words."""
        return f"{self.basis} within {self.radius:g} m"


def coverage_info(covered: np.ndarray, inside: np.ndarray, coverage: Coverage) -> dict[str, Any]:
    """The share of the area with data, for reports and manifests.

    Examples
    --------
    >>> inside = np.array([[True, True, True, False]])
    >>> covered = np.array([[True, False, False, True]])
    >>> info = coverage_info(covered, inside, Coverage(np.empty(0), 100.0, "streets"))
    >>> info["share"], info["cells_no_data"], info["cells"]
    (0.333333, 2, 3)
    """
    cells = int(np.count_nonzero(inside))
    with_data = int(np.count_nonzero(covered & inside))
    return _coverage_dict(with_data, cells, coverage)


def _coverage_dict(with_data: int, cells: int, coverage: Coverage) -> dict[str, Any]:
    share = with_data / cells if cells else 0.0
    return {"share": round(share, 6), "cells": cells, "cells_no_data": cells - with_data,
            "radius_m": coverage.radius, "basis": coverage.basis,
            "rule": coverage.describe()}  # fmt: skip


def coverage_warning(info: Mapping[str, Any]) -> str:
    """One line when less than :data:`COVERAGE_WARN` of the area has data, else ``""``."""
    if info["share"] >= COVERAGE_WARN:
        return ""
    return (f"only {info['share']:.0%} of the area has data ({info['rule']}); the other "
            f"{1 - info['share']:.0%} is no data and holds no candidate")  # fmt: skip


def condition_failures(
    scores: Mapping[str, np.ndarray], conditions: Mapping[str, float]
) -> tuple[np.ndarray | None, list[str]]:
    """Cells failing a non-compensatory condition, and the conditions that could not apply.

    A condition ``factor -> minimum`` holds where the factor scores at least the minimum;
    a cell failing any condition cannot be a candidate whatever its weighted sum. A
    condition on a factor without a score (no data) cannot apply: it is named in the
    second value.

    Examples
    --------
    >>> fail, skipped = condition_failures({"edge": np.array([[0.0, 0.5, 1.0]])},
    ...                                    {"edge": 0.5, "quiet": 0.5})
    >>> fail, skipped
    (array([[ True, False, False]]), ['quiet'])
    """
    fail: np.ndarray | None = None
    skipped = []
    for name, low in conditions.items():
        score = scores.get(name)
        if score is None:
            skipped.append(name)
            continue
        below = ~(score >= np.asarray(low, dtype=score.dtype))  # NaN fails too
        fail = below if fail is None else fail | below
    return fail, skipped


@dataclass(kw_only=True)
class RasterRun:
    """What a scale preset hands to the pipeline.

    Parameters
    ----------
    factors
        The factors with this run's weights.
    context
        The grid, area mask and data sources of the measures.
    empty_rule
        ``"drop"`` or ``"zero"``: what an empty criterion or factor becomes.
    constraints
        ``constraints(grid) -> bool array`` of excluded cells (any window of the grid).
    aggregation, aggregation_options
        :func:`gis.overlay.aggregate` method and its options.
    threshold, top_percent, min_area, connectivity, max_area, min_drop
        Candidate regions (:func:`gis.regions.candidate_regions`); areas in m²,
        ``min_drop`` in score units. ``max_area`` and ``min_drop`` (zones split at their
        peaks and capped) apply to in-memory candidates; :func:`compute_windowed`
        refuses them.
    decision
        :class:`layers.decision.DecisionOptions`, or None for none.
    refuse_flat
        Refuse a suitability that is the same in every cell (a region outside the data).
    describe, candidates_step
        What a factor is called in messages, and the progress label of the candidates.
    report
        Called with the factor results once they are computed (e.g. to warn of empty ones).
    coverage
        Where the run has data (:class:`Coverage`); cells without are nodata and never
        candidates. None: every cell has data.
    conditions
        Factor name -> minimum score: non-compensatory conditions (a cell where a named
        factor scores less is nodata in the suitability and never a candidate).
    """

    factors: tuple[Factor, ...]
    context: MeasureContext
    empty_rule: str = "drop"
    constraints: Callable[[Grid], np.ndarray] | None = None
    aggregation: str = "wlc"
    aggregation_options: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    top_percent: float | None = 10.0
    min_area: float = 0.0
    connectivity: int = 8
    max_area: float | None = None
    min_drop: float | None = None
    decision: Any = None
    refuse_flat: bool = False
    describe: str = "factor"
    candidates_step: str = "candidates"
    report: Callable[[list[FactorResult]], None] | None = None
    coverage: Coverage | None = None
    conditions: Mapping[str, float] = field(default_factory=dict)


@dataclass
class RasterResult:
    """What an in-memory run of the pipeline computed.

    ``covered`` holds the cells with data (None without a coverage mask), ``failing``
    the cells that fail a condition (None without conditions); ``checks`` reports both
    (``data_coverage``, ``conditions``) and the run's ``warnings``.
    """

    grid: Grid
    inside: np.ndarray
    factors: list[FactorResult]
    weights: dict[str, float]
    suitability: np.ndarray
    excluded: np.ndarray
    candidates: gpd.GeoDataFrame
    decision: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    covered: np.ndarray | None = None
    failing: np.ndarray | None = None
    checks: dict[str, Any] = field(default_factory=dict)


def run_warnings(factor_results: Sequence[FactorResult]) -> list[str]:
    """One line per criterion with too few features to rank the area, or a fallback."""
    out = []
    for fr in factor_results:
        for cr in fr.criteria:
            fallback = [n for n in cr.note.split("; ") if "too few (<" in n]
            few = fallback[0] if fallback else few_features(cr.criterion, cr.count)
            if few:
                out.append(f"factor {fr.factor.name}: {few}")
    return out


def conditions_info(
    conditions: Mapping[str, float], skipped: Sequence[str], failing: int | None, cells: int
) -> list[dict[str, Any]]:
    """The conditions of a run as report rows (factor, minimum, applied, cells failing)."""
    return [{"factor": name, "min_score": low, "applied": name not in skipped,
             "cells_failing": None if failing is None or name in skipped else failing,
             "cells": cells}
            for name, low in conditions.items()]  # fmt: skip


def active_weights(factor_results: Sequence[FactorResult], *, what: str = "factor") -> dict:
    """Normalised weights of the factors that have a score.

    Raises
    ------
    NoDataError
        If no factor has a score (the message gives each factor's reason).
    """
    active = {fr.factor.name: fr.factor.weight for fr in factor_results if fr.score is not None}
    if not active or sum(active.values()) <= 0:
        reasons = "; ".join(
            f"{fr.factor.name}: {fr.note or '; '.join(c.note for c in fr.criteria)}"
            for fr in factor_results
        )
        raise NoDataError(
            f"no {what} has data in the region, so nothing can be scored ({reasons}); "
            "check that the region is where the data are"
        )
    return normalize_weights(active)


#: The refusal of a run whose exclusions leave no cell of the area.
ALL_EXCLUDED = (
    "the exclusions (--exclude and the built-in constraints) cover every cell of the study "
    "area, so no site can be found; check the exclusion file and its CRS"
)


def measure_criterion(crit: Criterion, ctx: MeasureContext) -> Any:
    """The measure of ``crit`` on ``ctx``; a refused parameter names the criterion.

    Raises
    ------
    InputError
        ``"criterion 'NAME' (MEASURE): ..."`` when the measure refuses a parameter (e.g. a
        bandwidth below the cell size).
    """
    try:
        return MEASURES[crit.measure].function(ctx, crit)
    except InputError as exc:
        raise InputError(f"criterion {crit.name!r} ({crit.measure}): {exc}") from None


def fitted_options(
    options: Mapping[str, Any],
    factors: Sequence[Factor],
    active: Sequence[str],
    *,
    note: bool = True,
) -> dict[str, Any]:
    """Aggregation options for the factors ``active``, after empty ones were dropped.

    OWA order weights given for every positive-weight factor of ``factors`` are fitted to
    the fewer ``active`` ones (:func:`gis.overlay.fit_order_weights`), with a progress note
    naming the dropped factors (unless ``note`` is False); any other count is left for the
    aggregation to refuse.
    """
    out = dict(options)
    given = out.get("order_weights")
    planned = [f.name for f in factors if f.weight > 0]
    if given is None or len(given) != len(planned) or len(active) >= len(planned):
        return out
    dropped = [n for n in planned if n not in active]
    out["order_weights"] = fit_order_weights(given, len(active))
    if note:
        progress.note(
            f"order weights fitted from {len(planned)} to {len(active)} positions "
            f"({', '.join(dropped)} dropped: no data): "
            f"{', '.join(f'{v:.3g}' for v in out['order_weights'])}"
        )
    return out


def _refuse_flat(values: np.ndarray, weights: Mapping[str, float]) -> None:
    if values.size > 1 and float(np.nanmax(values) - np.nanmin(values)) < 1e-6:
        raise NoDataError(
            f"the layers with data ({', '.join(weights)}) score every cell of the region "
            f"the same ({float(np.nanmax(values)):.3g}), so no site stands out; the region "
            "is outside what the data cover (e.g. far from every place, hub and centre)"
        )


def compute_raster(run: RasterRun, *, engine: Engine | None = None) -> RasterResult:
    """Run the pipeline on the whole grid of ``run.context`` and return its rasters.

    With the ``memory`` engine (the default) everything happens in memory. With
    ``windows`` or ``dask`` the measures and scores run window by window
    (:func:`compute_windowed`) into a scratch folder, and the factor scores, raw measures
    and suitability are read back for the decision steps and the outputs.
    """
    from gis.progress import Laps

    check_factors(run.factors)
    if engine is not None and engine.kind != "memory":
        if run.decision is not None and run.decision.active:
            check_decision_memory(run.context.grid, len(run.factors), engine.budget)
        return _compute_by_windows(run, engine)
    lap = Laps()
    ctx = run.context
    grid, inside = ctx.grid, ctx.inside
    step = sample_step(grid)
    factor_results = []
    for f in progress.track(run.factors, desc=run.describe, label=lambda f: f.name):
        factor_results.append(compute_factor(f, ctx, empty_rule=run.empty_rule, step=step))
        lap(f"layer:{f.name}")
    if run.report is not None:
        run.report(factor_results)
    weights = active_weights(factor_results, what=run.describe)
    scores = {fr.factor.name: fr.score for fr in factor_results if fr.score is not None}
    with progress.step("overlay and constraints"):
        options = fitted_options(run.aggregation_options, run.factors, list(weights))
        composite = aggregate(scores, weights, method=run.aggregation, **options)
        if run.refuse_flat:
            _refuse_flat(composite[inside], weights)
        excluded = (
            np.zeros(grid.shape, dtype=bool) if run.constraints is None else run.constraints(grid)
        )
        if inside.any() and not (inside & ~excluded).any():
            raise NoDataError(ALL_EXCLUDED)
        checks, covered, failing = _checks(run, grid, inside, scores, factor_results)
        blocked = excluded
        if covered is not None:
            blocked = blocked | ~covered
        if failing is not None:
            blocked = blocked | failing
        suitability = apply_constraints(composite, blocked, area_mask=inside)
        del composite, blocked
    lap("overlay")
    with progress.step(run.candidates_step):
        candidates = candidate_regions(
            suitability, grid, threshold=run.threshold, top_percent=run.top_percent,
            min_area=run.min_area, connectivity=run.connectivity,
            factors=scores,  # only selected cells are read: they are inside and not excluded
            max_area=run.max_area, min_drop=run.min_drop,
        )  # fmt: skip
    progress.note(f"{len(candidates)} candidate region(s)")
    candidates, decision = _decide(run, grid, inside, suitability, scores, weights, candidates,
                                   _raw_of(factor_results))  # fmt: skip
    lap("candidates")
    return RasterResult(grid=grid, inside=inside, factors=factor_results, weights=weights,
                        suitability=suitability, excluded=excluded, candidates=candidates,
                        decision=decision, timings=lap.seconds, covered=covered,
                        failing=failing, checks=checks)  # fmt: skip


def _checks(
    run: RasterRun,
    grid: Grid,
    inside: np.ndarray,
    scores: Mapping[str, np.ndarray],
    factor_results: Sequence[FactorResult],
) -> tuple[dict[str, Any], np.ndarray | None, np.ndarray | None]:
    """The coverage mask, the cells failing a condition, and their report (whole grid)."""
    warn = run_warnings(factor_results)
    checks: dict[str, Any] = {"data_coverage": None, "conditions": [], "warnings": warn}
    covered = None
    if run.coverage is not None:
        covered = run.coverage(grid)
        info = coverage_info(covered, inside, run.coverage)
        checks["data_coverage"] = info
        line = coverage_warning(info)
        if line:
            warn.insert(0, line)
    failing = None
    if run.conditions:
        failing, skipped = condition_failures(scores, run.conditions)
        n_fail = None if failing is None else int(np.count_nonzero(failing & inside))
        checks["conditions"] = conditions_info(run.conditions, skipped, n_fail,
                                               int(np.count_nonzero(inside)))  # fmt: skip
        warn.extend(f"condition {name}: the factor has no score, so the condition does not "
                    "apply" for name in skipped)  # fmt: skip
    return checks, covered, failing


def _compute_by_windows(run: RasterRun, engine: Engine) -> RasterResult:
    """:func:`compute_windowed` into a scratch folder, rasters read back (see compute_raster)."""
    import tempfile
    from dataclasses import replace

    from gis.io import read_geotiff

    ctx = run.context
    grid, inside = ctx.grid, ctx.inside
    with tempfile.TemporaryDirectory(prefix="innosite-") as tmp:
        res = compute_windowed(replace(run, decision=None, max_area=None, min_drop=None),
                               engine=engine, folder=Path(tmp), keep_raw=True)  # fmt: skip
        scores = {f: read_geotiff(res.paths[f"factor:{f}"])[0] for f in res.weights}
        suitability = read_geotiff(res.paths["suitability"])[0]
        raws = {k.removeprefix("raw:"): read_geotiff(p)[0] for k, p in res.paths.items()
                if k.startswith("raw:") and not k.endswith(":score")}  # fmt: skip
        covered = read_geotiff(res.paths["coverage"])[0] > 0.5 if "coverage" in res.paths else None
    rows = {row["layer"]: row for row in res.layers}
    factor_results = []
    for f in run.factors:
        row = rows[f.name]
        crit_results = []
        for k, c in enumerate(f.criteria):
            status = row["criteria"].get(c.name, row["status"])
            crit_results.append(CriterionResult(c, row["features"] if k == 0 else 0,
                                                raws.get(c.name), None, status))  # fmt: skip
        score = scores.get(f.name)
        status = row["status"] if score is None else "ok"
        factor_results.append(FactorResult(f, crit_results, score, status, row["note"]))
    failing = None
    if run.conditions:
        failing = condition_failures(scores, run.conditions)[0]
    excluded = np.zeros(grid.shape, dtype=bool) if run.constraints is None else (
        run.constraints(grid))  # fmt: skip
    candidates = candidate_regions(
        suitability, grid, threshold=run.threshold, top_percent=run.top_percent,
        min_area=run.min_area, connectivity=run.connectivity, factors=scores,
        max_area=run.max_area, min_drop=run.min_drop,
    )  # fmt: skip
    candidates, decision = _decide(run, grid, inside, suitability, scores, res.weights,
                                   candidates, _raw_of(factor_results))  # fmt: skip
    if failing is not None and res.checks.get("conditions"):
        n_fail = int(np.count_nonzero(failing & inside))
        for row in res.checks["conditions"]:
            row["cells_failing"] = n_fail if row["applied"] else None
    return RasterResult(grid=grid, inside=inside, factors=factor_results, weights=res.weights,
                        suitability=suitability, excluded=excluded, candidates=candidates,
                        decision=decision, timings=res.timings, windows=res.windows,
                        covered=covered, failing=failing, checks=res.checks)  # fmt: skip


def _raw_of(factor_results: Sequence[FactorResult]) -> dict[str, dict[str, np.ndarray]]:
    """Factor -> criterion -> raw measure, for the mean raw values of the explanations."""
    return {fr.factor.name: {c.criterion.name: c.raw for c in fr.criteria if c.raw is not None}
            for fr in factor_results}  # fmt: skip


def _decide(
    run: RasterRun,
    grid: Grid,
    inside: np.ndarray,
    suitability: np.ndarray,
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    candidates: gpd.GeoDataFrame,
    raw: Mapping[str, Mapping[str, np.ndarray]] | None,
) -> tuple[gpd.GeoDataFrame, Any]:
    """The decision steps of a run on its whole grids (the candidates unchanged without)."""
    from layers.decision import apply_decision

    if run.decision is None:
        return candidates, None
    return apply_decision(
        run.decision, grid=grid, inside=inside, suitability=suitability, scores=scores,
        weights=weights, candidates=candidates, method=run.aggregation,
        method_options=fitted_options(run.aggregation_options, run.factors, list(weights),
                                      note=False),
        connectivity=run.connectivity,
        threshold=run.threshold, top_percent=run.top_percent, min_area=run.min_area, raw=raw,
    )  # fmt: skip


# ---------------------------------------------------------------------- window by window
def _inside_of(grid: Grid, area: Any) -> np.ndarray:
    """Cells of ``grid`` whose centre lies in ``area`` (clipped to the grid first)."""
    import shapely

    left, bottom, right, top = grid.bounds
    part = shapely.clip_by_rect(area, left, bottom, right, top)
    return grid.rasterize([part])


@dataclass
class MeasureBlock:
    """Raw measures of the windowed criteria on one window (picklable for Dask)."""

    context: MeasureContext
    area: Any  # the study area in the grid CRS (None: cut windows out of ``inside``)
    criteria: tuple[Criterion, ...]
    inside: np.ndarray | None = None  # the whole grid's area mask, when there is one

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.inside is None:
            inside = _inside_of(grid, self.area)
        else:
            inside = _cut(self.context.grid, self.inside, grid)
        ctx = self.context.with_grid(grid, inside)
        out: dict[str, np.ndarray] = {"inside": inside.astype("float32")}
        for crit in self.criteria:
            m = measure_criterion(crit, ctx)
            out.update(_measured_arrays(crit, m))
        return out


def _cut(whole: Grid, values: np.ndarray, part: Grid) -> np.ndarray:
    """The cells of ``part`` (a window of ``whole``) in a whole-grid array."""
    r0 = round((whole.transform.f - part.transform.f) / whole.cell_size)
    c0 = round((part.transform.c - whole.transform.c) / whole.cell_size)
    return values[r0 : r0 + part.height, c0 : c0 + part.width]


def _measured_arrays(crit: Criterion, m: Measured) -> dict[str, np.ndarray]:
    out = {crit.name: m.raw}
    if m.score is not None:
        out[f"{crit.name}:score"] = m.score
    for extra, (array, _, _) in m.extra.items():
        out[extra] = array
    return out


@dataclass
class ScoreBlock:
    """Criterion scores, factor scores and the masked suitability on one window."""

    params: dict[str, dict[str, Any]]  # criterion -> transform function and explicit params
    layers: dict[str, tuple[tuple[str, float], ...]]  # factor -> ((score input, weight), ...)
    weights: dict[str, float]  # factor -> normalised weight
    aggregation: str = "wlc"
    aggregation_options: dict[str, Any] = field(default_factory=dict)
    constraints: Callable[[Grid], np.ndarray] | None = None
    coverage: Coverage | None = None
    conditions: Mapping[str, float] = field(default_factory=dict)

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from gis.overlay import weighted_linear_combination

        out: dict[str, np.ndarray] = {}
        for factor, parts in self.layers.items():
            # criteria are rescaled a chunk of rows at a time as they are combined
            scores: dict[str, np.ndarray | Rescaled] = {}
            for source, _ in parts:
                if source.startswith("="):  # the score of an empty rule
                    value = float(source[1:].split(":")[0])
                    scores[source] = np.full(grid.shape, value, dtype="float32")
                elif source in self.params:
                    p = dict(self.params[source])
                    function = p.pop("function")
                    scores[source] = criterion_scores(function, arrays[source], p)
                else:  # a score already (hub access, city size, an empty rule)
                    scores[source] = arrays[source]
            w = normalize_weights({s: wt for s, wt in parts})
            out[factor] = (
                weighted_linear_combination(scores, w)
                if len(scores) > 1
                else _computed(next(iter(scores.values())))
            )
        composite = aggregate(out, self.weights, method=self.aggregation,
                              **self.aggregation_options)  # fmt: skip
        inside = arrays["inside"] > 0.5
        if self.constraints is None:
            excluded = np.zeros(grid.shape, dtype=bool)
        else:
            excluded = self.constraints(grid)
        if self.coverage is not None:
            covered = self.coverage(grid)
            excluded = excluded | ~covered
            out["coverage"] = np.where(inside, covered.astype("float32"), np.float32(np.nan))
        failing = condition_failures(out, self.conditions)[0] if self.conditions else None
        if failing is not None:
            excluded = excluded | failing
        out["suitability"] = apply_constraints(composite, excluded, area_mask=inside)
        for factor in self.layers:
            out[factor] = np.where(inside, out[factor], np.float32(np.nan)).astype(
                "float32", copy=False
            )
        return out


@dataclass
class WindowedResult:
    """What a window-by-window run of the pipeline wrote and found."""

    grid: Grid
    cells_in_region: int
    paths: dict[str, Path]
    layers: list[dict[str, Any]]
    weights: dict[str, float]
    thresholds: dict[str, dict[str, Any]]
    candidates: gpd.GeoDataFrame
    windows: dict[str, int]
    timings: dict[str, float]
    engine: str
    made: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    decision: Any = None  # layers.decision.DecisionResult of the decision steps, if any
    checks: dict[str, Any] = field(default_factory=dict)  # data coverage, conditions, warnings


#: Working set per cell of a measure-pass window (float32 and float64 temporaries).
RAW_BYTES_PER_CELL: int = 160

#: Working set per cell of a score-pass window: the raw inputs, scores and outputs.
SCORE_BYTES_PER_CELL: int = 96


def probe(
    factors: Sequence[Factor], ctx: MeasureContext
) -> tuple[list[dict[str, Any]], set[str], dict[str, tuple[str | None, str]]]:
    """Run every measure on a one-cell grid (cheap): which criteria have data, what they make.

    Returns the factor rows, the names of the criteria with data, and the raw outputs of
    those: name to ``(units, description)``; a measure that scores itself adds
    ``"<criterion>:score"``.
    """
    cs = ctx.grid.cell_size
    left, top = ctx.grid.bounds[0], ctx.grid.bounds[3]
    one = Grid.from_bounds((left, top - cs, left + cs, top), cell_size=cs, crs=ctx.grid.crs)
    small = ctx.with_grid(one, np.ones((1, 1), dtype=bool))
    rows: list[dict[str, Any]] = []
    ok: set[str] = set()
    outputs: dict[str, tuple[str | None, str]] = {}
    for factor in factors:
        statuses: dict[str, str] = {}
        counts: dict[str, int] = {}
        notes: list[str] = []
        count = 0
        missing = _unavailable(factor, ctx)
        if missing is not None:
            rows.append({"layer": factor.name, "title": factor.title, "status": "unavailable",
                         "features": 0, "criteria": {}, "note": missing})  # fmt: skip
            continue
        for crit in factor.criteria:
            try:
                m = measure_criterion(crit, small)
            except EmptyMeasure as exc:
                statuses[crit.name] = "drop"
                notes.append(str(exc))
                continue
            statuses[crit.name] = "ok"
            counts[crit.name] = m.count
            count += m.count
            ok.add(crit.name)
            notes.append(m.note)
            outputs[crit.name] = (MEASURES[crit.measure].units, crit.description or crit.name)
            if m.score is not None:
                outputs[f"{crit.name}:score"] = ("score", f"{crit.name} score (0-1)")
            outputs.update({k: (u, d) for k, (_, u, d) in m.extra.items()})
        status = "ok" if "ok" in statuses.values() else "drop"
        rows.append({"layer": factor.name, "title": factor.title, "status": status,
                     "features": count, "criteria": statuses, "counts": counts,
                     "note": "; ".join(n for n in notes if n)})  # fmt: skip
    return rows, ok, outputs


def compute_windowed(
    run: RasterRun,
    *,
    area: Any = None,
    engine: Engine,
    folder: Path,
    keep_raw: bool = False,
    describe_candidates: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
    titles: Mapping[str, str] | None = None,
    suitability_tags: Mapping[str, str] | None = None,
    suitability_description: str = "suitability (0-1)",
    progress_cb: Callable[[str, int, int], None] | None = None,
) -> WindowedResult:
    """Run the pipeline window by window (or on Dask) into ``folder``.

    Writes ``raw/<measure>.tif`` (or a scratch folder), ``<factor>.tif`` and
    ``suitability.tif`` into ``folder`` (which must exist). The area is ``area`` (a
    polygon in the grid CRS, rasterised window by window) or, when ``area`` is None,
    the mask ``run.context.inside`` of the whole grid. Measures computed from
    point lists need no halo; the others read the halo their registration declares.
    Empty rules apply as in :func:`compute_raster`.

    Raises
    ------
    NoDataError
        If no factor has data, or the factors score every cell of the area the same.
    GridSizeError, ClusterError
        From the engine (a budget too small for one window, a lost cluster).
    """
    from gis.progress import Laps
    from gis.windowed import raster_statistics
    from gis.zones import windowed_candidate_regions

    check_factors(run.factors)
    if run.max_area is not None or run.min_drop is not None:
        raise InputError(
            "zones split at their peaks or capped in size need the whole suitability in "
            "memory; the window-by-window candidates take neither max_area nor min_drop"
        )
    ctx = run.context
    grid = ctx.grid
    lap = Laps()
    layer_rows, ok, made = probe(run.factors, ctx)
    if not ok:
        raise NoDataError(
            "no layer has data in the area (no feature within reach); check that the area "
            "is where the data are"
        )
    run_factors, warn = _sparse_windowed(run.factors, layer_rows, ok)
    factors = [f for f in run_factors if any(c.name in ok for c in f.criteria)
               or (run.empty_rule == "zero" and _unavailable(f, ctx) is None)]  # fmt: skip
    weights = normalize_weights({f.name: f.weight for f in factors if f.weight > 0})
    factors = [f for f in factors if f.name in weights]
    decide = run.decision is not None and run.decision.active
    if decide:  # before any measure: the decision steps read the whole grids
        check_decision_memory(grid, len(factors), engine.budget)
    criteria = tuple(c for f in factors for c in f.criteria if c.name in ok)
    whole = tuple(c for c in criteria if MEASURES[c.measure].whole_area)
    windowed = tuple(c for c in criteria if not MEASURES[c.measure].whole_area)

    raw_folder = folder / ("raw" if keep_raw else ".scratch")
    raw_folder.mkdir(exist_ok=True)

    def raster_output(n: str) -> RasterOutput:
        units, description = made[n]
        return RasterOutput(raw_folder / f"{n.replace(':', '_')}.tif", description,
                            units or None, tags={"measure": n})  # fmt: skip

    # whole-area measures: computed once on the whole grid, then inputs of the blocks
    whole_paths: dict[str, Path] = {}
    whole_arrays_range: dict[str, tuple[float, float]] = {}
    whole_moments: dict[str, dict[str, float]] = {}
    if whole:
        full = ctx.with_grid(grid, ctx.inside if area is None else _inside_of(grid, area))
        for crit in whole:
            arrays = _measured_arrays(crit, measure_criterion(crit, full))
            if crit.transform is not None and not {"lower_threshold", "upper_threshold"} <= set(
                crit.transform_params
            ):
                v = arrays[crit.name][np.isfinite(arrays[crit.name])]
                if v.size:
                    whole_arrays_range[crit.name] = (float(v.min()), float(v.max()))
            if needs_moments(crit):
                whole_moments[crit.name] = _moments(arrays[crit.name])
            outs = {n: raster_output(n) for n in arrays}
            whole_paths.update(compute_blocks(
                grid, _Given(arrays), outs, engine=Engine("memory"),
                overviews=keep_raw, compress=keep_raw, sparse=not keep_raw,
            ))  # fmt: skip
            del arrays
    sampled = tuple(c.name for c in criteria if c.name in ok and needs_sample(c))
    step = sample_step(grid)
    halo_m = max([halo_metres(c) for c in windowed] or [0.0])
    halo = math.ceil(halo_m / grid.cell_size) + (1 if halo_m > 0 else 0)
    names = {n for c in windowed for n in made if n == c.name or n.startswith(f"{c.name}:")}
    names |= {n for c in windowed for n in made if n.startswith("hub_distance_")
              and c.measure == "hub_access"}  # fmt: skip
    names |= {n for c in windowed for n in made if n == "city_size_class"
              and c.measure == "nearest_city"}  # fmt: skip
    if not keep_raw:  # a scratch pass: only what the score pass reads goes to disk
        names &= {_score_source(c, names) for c in windowed}
    raw_outputs = {n: raster_output(n) for n in sorted(names)}
    open_range = [
        c.name
        for c in windowed
        if c.transform is not None
        and not {"lower_threshold", "upper_threshold"} <= set(c.transform_params)
    ]
    open_moments = [c.name for c in windowed if needs_moments(c) and c.name in names]
    sampler = Sampler(sampled, step, ranges=[n for n in open_range if n in names],
                      moments=open_moments)  # fmt: skip
    # outside is nodata (read back as NaN, never > 0.5): a sparse scratch raster omits its tiles
    raw_outputs["inside"] = RasterOutput(raw_folder / "region.tif", "cell centre in region",
                                         "1 = in region", nodata=0.0)  # fmt: skip

    def collect(window: Window, cores: Mapping[str, np.ndarray]) -> None:
        sampler(window, cores)

    sampler_names = tuple(n for n in sampled if n in raw_outputs)
    sampler.names = sampler_names
    sampler.parts = {n: [] for n in sampler_names}
    raw_windows = plan(grid, engine, halo=halo, bytes_per_cell=RAW_BYTES_PER_CELL)
    raw_paths = compute_blocks(
        grid, MeasureBlock(ctx, area, windowed, ctx.inside if area is None else None),
        raw_outputs, engine=engine,
        halo=halo, bytes_per_cell=RAW_BYTES_PER_CELL, collect=collect,
        overviews=keep_raw, compress=keep_raw, sparse=not keep_raw,
        progress=None if progress_cb is None else (lambda d, t: progress_cb("measures", d, t)),
    )  # fmt: skip
    raw_paths.update(whole_paths)
    lap("measures")
    if sampler.cells == 0:
        raise NoDataError("no cell centre of the grid lies in the area; use smaller cells")
    whole_samples = {c.name: _file_sample(raw_paths[c.name], raw_paths["inside"], step, engine)
                     for c in whole if needs_sample(c)}  # fmt: skip

    params: dict[str, dict[str, Any]] = {}
    layers: dict[str, tuple[tuple[str, float], ...]] = {}
    for f in factors:
        parts: list[tuple[str, float]] = []
        if not any(c.name in ok for c in f.criteria):  # every criterion empty: rule "zero"
            layers[f.name] = (("=0", 1.0),)
            continue
        for c in f.criteria:
            if c.name not in ok:
                rule = c.when_empty or run.empty_rule
                if rule in ("zero", "one"):
                    parts.append((f"={0 if rule == 'zero' else 1}:{c.name}", c.weight))
                continue
            if c.transform is None:
                source = _score_source(c, raw_paths)
            else:
                values = (whole_samples[c.name] if c.name in whole_samples
                          else sampler.values(c.name) if c.name in sampler_names
                          else np.empty(0))  # fmt: skip
                p = explicit_params(c, values)
                if c.name in sampler.ranges:  # rescale's defaults: the raster's finite range
                    lo, hi = sampler.ranges[c.name]
                    p = {"lower_threshold": lo, "upper_threshold": hi, **p}
                elif c.transform is not None and c.name in whole_arrays_range:
                    lo, hi = whole_arrays_range[c.name]
                    p = {"lower_threshold": lo, "upper_threshold": hi, **p}
                if needs_moments(c):  # ms_large/ms_small: the whole raster's moments
                    given = {k: v for k, v in p.items() if v is not None}
                    p = {**(sampler.moments(c.name) if c.name in sampler.sums
                            else whole_moments.get(c.name, {})), **given}  # fmt: skip
                params[c.name] = {"function": c.transform, **p}
                source = c.name
            parts.append((source, c.weight))
        layers[f.name] = tuple(parts)
    inputs = {s: raw_paths[s] for parts in layers.values() for s, _ in parts
              if not s.startswith("=")}  # fmt: skip
    inputs["inside"] = raw_paths["inside"]
    conditions = {k: v for k, v in run.conditions.items() if k in layers}
    skipped = [k for k in run.conditions if k not in layers]
    options = fitted_options(run.aggregation_options, run.factors, list(weights))
    score_block = ScoreBlock(params, layers, weights, run.aggregation, options, run.constraints,
                             run.coverage, conditions)  # fmt: skip
    titles = dict(titles or {f.name: f.title for f in factors})
    score_outputs = {
        f: RasterOutput(folder / f"{f}.tif", f"{titles.get(f, f)} score (0-1)", "score",
                        tags={"layer": f, "weight": f"{weights[f]:.6f}"})
        for f in layers
    }  # fmt: skip
    score_outputs["suitability"] = RasterOutput(
        folder / "suitability.tif",
        suitability_description,
        "score",
        tags={"weights": str(weights), **(suitability_tags or {})},
    )
    if run.coverage is not None:
        score_outputs["coverage"] = RasterOutput(
            folder / "coverage.tif", f"data coverage: 1 = {run.coverage.describe()}, 0 = no data",
            "0/1", tags={"coverage": run.coverage.describe()},
        )  # fmt: skip
    score_windows = plan(grid, engine, halo=0, bytes_per_cell=SCORE_BYTES_PER_CELL)
    score_paths = compute_blocks(
        grid, score_block, score_outputs, engine=engine, inputs=inputs,
        bytes_per_cell=SCORE_BYTES_PER_CELL,
        progress=None if progress_cb is None else (lambda d, t: progress_cb("scores", d, t)),
    )  # fmt: skip
    lap("scores")
    checks: dict[str, Any] = {"data_coverage": None, "conditions": [], "warnings": warn}
    if run.coverage is not None:
        cov = raster_statistics(score_paths["coverage"], memory_budget=engine.budget)
        with_data = round(cov["mean"] * cov["count"]) if cov["count"] else 0
        info = _coverage_dict(with_data, int(cov["count"]), run.coverage)
        checks["data_coverage"] = info
        line = coverage_warning(info)
        if line:
            warn.insert(0, line)
    if run.conditions:
        checks["conditions"] = conditions_info(run.conditions, skipped, None, sampler.cells)
        warn.extend(f"condition {name}: the factor has no score, so the condition does not "
                    "apply" for name in skipped)  # fmt: skip
    stats = raster_statistics(score_paths["suitability"], memory_budget=engine.budget)
    if stats["count"] == 0 and run.constraints is not None:
        raise NoDataError(ALL_EXCLUDED)
    if run.refuse_flat:
        if stats["count"] > 1 and stats["max"] - stats["min"] < 1e-6:
            raise NoDataError(
                f"the layers with data ({', '.join(weights)}) score every cell of the region "
                f"the same ({stats['max']:.3g}), so no site stands out; the area is outside "
                "what the data cover"
            )
    candidates = windowed_candidate_regions(
        score_paths["suitability"], threshold=run.threshold, top_percent=run.top_percent,
        min_area=run.min_area, connectivity=run.connectivity,
        factors={f: score_paths[f] for f in layers}, memory_budget=engine.budget,
    )  # fmt: skip
    decision = None
    if decide:
        from gis.io import read_geotiff

        suitability = read_geotiff(score_paths["suitability"])[0]
        scores = {f: read_geotiff(score_paths[f])[0] for f in layers}
        inside = read_geotiff(raw_paths["inside"])[0] > 0.5
        candidates, decision = _decide(run, grid, inside, suitability, scores, weights,
                                       candidates, None)  # fmt: skip
        del suitability, scores, inside
        lap("decision")
    if describe_candidates is not None:
        candidates = describe_candidates(candidates)
    if not keep_raw:
        import shutil

        shutil.rmtree(raw_folder)
        raw_paths = {}
    lap("zones")
    for row in layer_rows:
        row["weight"] = weights.get(row["layer"], 0.0)
    paths = {f"raw:{k}": v for k, v in raw_paths.items()}
    paths.update({(k if k in ("suitability", "coverage") else f"factor:{k}"): v
                  for k, v in score_paths.items()})  # fmt: skip
    return WindowedResult(
        grid=grid, cells_in_region=sampler.cells, paths=paths, layers=layer_rows,
        weights=weights, thresholds=params, candidates=candidates,
        windows={"measures": len(raw_windows), "scores": len(score_windows)},
        timings=lap.seconds, engine=engine.describe(), made=made, decision=decision,
        checks=checks,
    )  # fmt: skip


def _score_source(c: Criterion, rasters: Collection[str]) -> str:
    """The measure raster among ``rasters`` that the score pass reads for ``c``: its own
    score when it has one and no transform, else its measure."""
    own = f"{c.name}:score"
    return own if c.transform is None and own in rasters else c.name


def _sparse_windowed(
    factors: Sequence[Factor], rows: list[dict[str, Any]], ok: set[str]
) -> tuple[tuple[Factor, ...], list[str]]:
    """:func:`sparse_fallback` on the probed counts: factors to score, and warnings.

    Criteria left out as no information leave ``ok`` (and their factor's probe row says
    so); a factor with no criterion left is dropped like an empty one.
    """
    from dataclasses import replace

    by_name = {row["layer"]: row for row in rows}
    out, warn = [], []
    for f in factors:
        row = by_name[f.name]
        criteria = []
        for c in f.criteria:
            if c.name not in ok:
                criteria.append(c)
                continue
            n = row.get("counts", {}).get(c.name, 0)
            used, note = sparse_fallback(c, n)
            line = note or few_features(c, n)
            if line:
                warn.append(f"factor {f.name}: {line}")
                row["note"] = "; ".join(x for x in (row["note"], note) if x)
            if used is None:
                ok.discard(c.name)
                row["criteria"][c.name] = "few"
                criteria.append(c)
            else:
                criteria.append(used)
        if row["status"] == "ok" and not any(c.name in ok for c in f.criteria):
            row["status"] = "drop"
        out.append(replace(f, criteria=tuple(criteria)))
    return tuple(out), warn


@dataclass
class _Given:
    """A block function that hands out arrays computed on the whole grid (memory engine)."""

    arrays: Mapping[str, np.ndarray]

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        return self.arrays


def _file_sample(path: Path, inside_path: Path, step: int, engine: Engine) -> np.ndarray:
    """The percentile sample of a raster file inside the area (every s-th row and column)."""
    from gis.windows import open_raster, read_window

    grid = None
    parts = []
    with open_raster(path) as src, open_raster(inside_path) as ins:
        grid = Grid(src.crs, src.transform, src.width, src.height)
        for w in plan(grid, engine, halo=0, bytes_per_cell=16):
            v = sample_window(w, read_window(src, w), step)
            m = sample_window(w, read_window(ins, w), step) > 0.5
            v = v[m]
            parts.append(v[np.isfinite(v)])
    return np.concatenate(parts) if parts else np.empty(0, dtype="float32")
