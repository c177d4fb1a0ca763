"""How fragile is a suitability map? Weight sweeps and Monte Carlo over weights, streamed.

Two analyses, both seeded and both streaming — one score raster at a time, never
``N`` rasters in memory:

* :func:`weight_sweep` (one at a time): each factor's weight is set to a series
  of values while the others keep their ratios, and each run is compared with the
  base map: mean and largest change of the score, overlap (Jaccard) of the
  selected cells, and the rank correlation of the candidate regions.
* :func:`monte_carlo`: weights are drawn around the chosen ones — from a
  Dirichlet distribution with mean the chosen weights
  (:func:`dirichlet_weight_draws`), or by perturbing every AHP judgement
  log-normally and recomputing the eigenvector (:func:`ahp_weight_draws`) — and
  per cell the mean and standard deviation of the score (Welford's streaming
  update), the probability that the cell is among the selected cells, and per
  candidate region the distribution of its rank are accumulated.

The selection of each draw is the same rule as the candidate regions: the top
percent of valid cells or a score threshold, optionally dropping connected
groups smaller than a minimum area.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from gis._regions import STRUCTURES, region_labels, selection_mask
from gis._validate import chunk_rows_for, is_real_number
from gis.errors import InputError
from gis.grid import Grid
from gis.overlay import aggregate, normalize_weights

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SensitivityResult",
    "ahp_weight_draws",
    "dirichlet_weight_draws",
    "monte_carlo",
    "weight_sweep",
]


# ---------------------------------------------------------------------- weight draws
#: Label raster, bounding box and count when no regions are given.
_NO_REGIONS: tuple[np.ndarray, tuple[slice, slice], int] = (
    np.zeros((0, 0), dtype=np.int32),
    (slice(0, 0), slice(0, 0)),
    0,
)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def dirichlet_weight_draws(
    weights: Mapping[str, float], draws: int, *, concentration: float = 100.0, seed: int = 0
) -> np.ndarray:
    """Weight vectors drawn from a Dirichlet distribution centred on ``weights``.

    ``w ~ Dirichlet(concentration · w0)`` has mean ``w0`` (the normalised weights)
    and variance ``w0 (1 - w0) / (concentration + 1)``: 100 gives a standard
    deviation of about 0.04 for a weight of 0.2. Factors with weight 0 stay 0.

    Returns
    -------
    numpy.ndarray
        ``(draws, m)`` rows summing to 1, in the order of ``weights``.

    Examples
    --------
    >>> w = dirichlet_weight_draws({"a": 0.5, "b": 0.5, "c": 0}, 4000, concentration=50)
    >>> w.mean(axis=0).round(2).tolist(), bool((w[:, 2] == 0).all())
    ([0.5, 0.5, 0.0], True)
    """
    draws = _positive_int(draws, "draws")
    if not is_real_number(concentration) or not concentration > 0:
        raise InputError(f"concentration must be a number > 0, got {concentration!r}")
    w = np.array(list(normalize_weights(weights).values()))
    live = w > 0
    out = np.zeros((draws, w.size))
    rng = np.random.default_rng(seed)
    sample = rng.dirichlet(float(concentration) * w[live], size=draws)
    out[:, live] = np.maximum(sample, np.finfo(float).tiny)
    return out / out.sum(axis=1, keepdims=True)


def ahp_weight_draws(
    matrix: Any,
    draws: int,
    *,
    spread: float = 0.2,
    seed: int = 0,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """AHP weights of pairwise matrices whose judgements are perturbed at random.

    Every judgement above the diagonal is multiplied by ``exp(e)`` with
    ``e ~ Normal(0, spread)`` (its reciprocal below), so a judgement of 3 stays
    between about 2 and 4.5 in 95 % of draws with ``spread = 0.2``; the principal
    eigenvector of each perturbed matrix is a draw. Inconsistent draws are kept.

    Returns
    -------
    numpy.ndarray
        ``(draws, n)`` weight vectors summing to 1, in the matrix's row order.

    Examples
    --------
    >>> m = [[1, 3], [1 / 3, 1]]
    >>> ahp_weight_draws(m, 3, spread=0).round(3).tolist()
    [[0.75, 0.25], [0.75, 0.25], [0.75, 0.25]]
    """
    from gis.weights import check_pairwise_matrix

    draws = _positive_int(draws, "draws")
    if not is_real_number(spread) or not spread >= 0:
        raise InputError(f"spread must be a number >= 0 (log-scale), got {spread!r}")
    a = check_pairwise_matrix(matrix, labels=labels)
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    iu, ju = np.triu_indices(n, k=1)
    mats = np.broadcast_to(a, (draws, n, n)).copy()
    factor = np.exp(rng.normal(0.0, float(spread), size=(draws, iu.size)))
    mats[:, iu, ju] *= factor
    mats[:, ju, iu] = 1.0 / mats[:, iu, ju]
    vals, vecs = np.linalg.eig(mats)
    k = np.argmax(vals.real, axis=1)
    v = np.abs(np.take_along_axis(vecs.real, k[:, None, None], axis=2)[:, :, 0])
    return v / v.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------- helpers
def _selected(
    score: np.ndarray,
    *,
    threshold: float | None,
    top_percent: float | None,
    min_cells: int,
    connectivity: int,
) -> np.ndarray:
    """Cells selected in one map: top percent / threshold, small groups dropped."""
    sel = selection_mask(score, threshold, top_percent)
    if min_cells > 1:
        labels, n = ndimage.label(sel, structure=STRUCTURES[connectivity])
        if n:
            sizes = np.bincount(labels.ravel(), minlength=n + 1)
            keep = sizes >= min_cells
            keep[0] = False
            sel = keep[labels]
    return sel


def _region_means(score: np.ndarray, labels: np.ndarray, box: Any, n: int) -> np.ndarray:
    """Mean score of each region (NaN cells ignored) from a cropped label raster."""
    vals = score[box]
    ok = (labels > 0) & ~np.isnan(vals)
    sums = np.bincount(labels[ok], weights=vals[ok].astype(np.float64), minlength=n + 1)
    counts = np.bincount(labels[ok], minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)[1:]


def _ranks_desc(means: np.ndarray) -> np.ndarray:
    """Rank 1 = highest mean (NaN last, ties by order)."""
    order = np.lexsort((np.arange(means.size), -np.nan_to_num(means, nan=-np.inf)))
    ranks = np.empty(means.size, dtype=np.int64)
    ranks[order] = np.arange(1, means.size + 1)
    return ranks


def _masked_score(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    method: str,
    options: Mapping[str, Any],
    mask: np.ndarray | None,
) -> np.ndarray:
    out = aggregate(scores, weights, method=method, **options)
    if mask is not None:
        out[~mask] = np.nan
    return out


def _check_selection(threshold: float | None, top_percent: float | None) -> None:
    if (threshold is None) == (top_percent is None):
        raise InputError("give exactly one of threshold and top_percent for the selected cells")


# ---------------------------------------------------------------------- Monte Carlo
@dataclass
class SensitivityResult:
    """Per-cell and per-region results of :func:`monte_carlo`.

    Attributes
    ----------
    mean, std
        Per-cell mean and standard deviation (over draws, ``ddof=0``) of the
        score, float32, NaN where the score is NaN.
    probability
        Per-cell share of draws in which the cell was selected (float32, 0–1,
        NaN where the score is NaN).
    weights
        ``(draws, m)`` weights used, columns in factor order.
    factors
        Factor names (columns of ``weights``).
    regions
        One row per candidate region: ``region``, ``base_rank``, ``mean_rank``,
        ``std_rank``, ``best_rank``, ``worst_rank``, ``p_same_rank``, ``p_top``
        (share of draws ranked within the first ``top`` regions), ``mean_score``
        and ``std_score`` of its mean score, ``p_selected`` (mean share of its
        cells selected).
    draws, seed, method
        What was run.
    """

    mean: np.ndarray
    std: np.ndarray
    probability: np.ndarray
    weights: np.ndarray
    factors: list[str]
    regions: Any
    draws: int
    seed: int
    method: str
    extra: dict[str, Any] = field(default_factory=dict)

    def weight_table(self) -> pd.DataFrame:
        """Summary of the drawn weights: mean, standard deviation, 5 % and 95 % quantiles."""
        import pandas as pd

        w = self.weights
        return pd.DataFrame(
            {
                "factor": self.factors,
                "weight_mean": w.mean(axis=0),
                "weight_std": w.std(axis=0),
                "weight_p05": np.quantile(w, 0.05, axis=0),
                "weight_p95": np.quantile(w, 0.95, axis=0),
            }
        )


def monte_carlo(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    draws: int = 100,
    concentration: float = 100.0,
    pairwise: Any = None,
    spread: float = 0.2,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    mask: np.ndarray | None = None,
    threshold: float | None = None,
    top_percent: float | None = 10.0,
    min_area: float = 0.0,
    connectivity: int = 8,
    regions: Any = None,
    grid: Grid | None = None,
    top: int = 3,
    seed: int = 0,
) -> SensitivityResult:
    """Monte Carlo weight sensitivity of a suitability map, streamed draw by draw.

    Parameters
    ----------
    scores, weights
        Factor score rasters and the chosen weights (as for
        :func:`gis.overlay.aggregate`).
    draws
        Number of weight draws.
    concentration
        Dirichlet concentration (see :func:`dirichlet_weight_draws`); used
        unless ``pairwise`` is given.
    pairwise
        AHP pairwise matrix whose rows are the factors of ``weights`` in order;
        then judgements are perturbed instead (see :func:`ahp_weight_draws`).
    spread
        Log-scale standard deviation of the judgement perturbation.
    method, options
        Aggregation method and its options.
    mask
        Boolean raster, True where a site may be (inside the area and not
        excluded); cells outside are NaN in every draw.
    threshold, top_percent, min_area, connectivity
        How each draw's selected cells are chosen (as for
        :func:`gis.regions.candidate_regions`; ``min_area`` in m² needs ``grid``).
    regions, grid
        Candidate regions whose rank stability is tracked: polygons (with
        ``grid``) or an integer label raster (1..n, 0 = none). Regions are
        ranked by their mean score in each draw.
    top
        ``p_top`` counts the draws in which a region ranks within the first ``top``.
    seed
        Seed of the weight draws.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    InputError
        Bad draws, concentration, spread, selection or regions, or a pairwise
        matrix whose size differs from the number of factors.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([[0.9, 0.1]]), "b": np.array([[0.2, 0.8]])}
    >>> r = monte_carlo(s, {"a": 0.5, "b": 0.5}, draws=50, top_percent=50, seed=1)
    >>> r.probability.astype(float).round(2).tolist()  # share of draws selecting each cell
    [[0.92, 0.08]]
    >>> bool(r.std[0, 0] > 0)
    True
    """
    import pandas as pd

    _check_selection(threshold, top_percent)
    draws = _positive_int(draws, "draws")
    top = _positive_int(top, "top")
    opts = dict(options or {})
    names = list(normalize_weights(weights))
    if pairwise is not None:
        w_draws = ahp_weight_draws(pairwise, draws, spread=spread, seed=seed)
        if w_draws.shape[1] != len(names):
            raise InputError(
                f"pairwise matrix is {w_draws.shape[1]} x {w_draws.shape[1]} but there are "
                f"{len(names)} factors ({', '.join(names)})"
            )
    else:
        w_draws = dirichlet_weight_draws(weights, draws, concentration=concentration, seed=seed)
    first = next(iter(scores.values()))
    shape = np.shape(first)
    if mask is not None and (np.shape(mask) != shape or np.asarray(mask).dtype != np.bool_):
        raise InputError(f"mask must be a boolean raster of shape {shape}")
    min_cells = 1
    if min_area:
        if grid is None:
            raise InputError("min_area needs the grid (for the cell area)")
        min_cells = max(1, math.ceil(min_area / grid.cell_area - 1e-9))
    labels, box, n_regions = (
        region_labels(regions, grid, shape) if regions is not None else _NO_REGIONS
    )
    if n_regions:
        base = _masked_score(scores, weights, method, opts, mask)
        base_rank = _ranks_desc(_region_means(base, labels, box, n_regions))
        del base
        region_cells = np.bincount(labels.ravel(), minlength=n_regions + 1)[1:]
        rank_sum = np.zeros(n_regions)
        rank_sq = np.zeros(n_regions)
        rank_min = np.full(n_regions, np.iinfo(np.int64).max)
        rank_max = np.zeros(n_regions, dtype=np.int64)
        same = np.zeros(n_regions)
        in_top = np.zeros(n_regions)
        score_sum = np.zeros(n_regions)
        score_sq = np.zeros(n_regions)
        sel_share = np.zeros(n_regions)

    # float32 accumulators updated in float64 chunk by chunk: 10 bytes per cell in all
    mean = np.zeros(shape, dtype=np.float32)
    m2 = np.zeros(shape, dtype=np.float32)
    hits = np.zeros(shape, dtype=np.uint16 if draws < 2**16 else np.uint32)
    rows = chunk_rows_for(shape, None)
    for d in range(draws):  # one score raster at a time
        wd = dict(zip(names, w_draws[d], strict=True))
        x = _masked_score(scores, wd, method, opts, mask)
        for start in range(0, shape[0], rows):  # Welford, chunk by chunk
            xs = x[start : start + rows].astype(np.float64)
            ms = mean[start : start + rows].astype(np.float64)
            delta = xs - ms
            ms += delta / (d + 1)
            m2[start : start + rows] += delta * (xs - ms)
            mean[start : start + rows] = ms
        sel = _selected(x, threshold=threshold, top_percent=top_percent, min_cells=min_cells,
                        connectivity=connectivity)  # fmt: skip
        hits += sel
        if n_regions:
            means = _region_means(x, labels, box, n_regions)
            r = _ranks_desc(means)
            rank_sum += r
            rank_sq += r.astype(float) ** 2
            np.minimum(rank_min, r, out=rank_min)
            np.maximum(rank_max, r, out=rank_max)
            same += r == base_rank
            in_top += r <= top
            score_sum += np.nan_to_num(means)
            score_sq += np.nan_to_num(means) ** 2
            inside = labels > 0
            sel_counts = np.bincount(labels[inside & sel[box]], minlength=n_regions + 1)[1:]
            sel_share += sel_counts / np.maximum(region_cells, 1)
        del x, sel
    std = np.sqrt(m2 / np.float32(draws))
    nodata = np.isnan(mean)
    del m2
    probability = hits.astype(np.float32)
    del hits
    probability /= np.float32(draws)
    probability[nodata] = np.nan
    table = None
    if n_regions:
        mr = rank_sum / draws
        ms = score_sum / draws
        table = pd.DataFrame(
            {
                "region": np.arange(1, n_regions + 1),
                "base_rank": base_rank,
                "mean_rank": mr,
                "std_rank": np.sqrt(np.maximum(rank_sq / draws - mr**2, 0.0)),
                "best_rank": rank_min,
                "worst_rank": rank_max,
                "p_same_rank": same / draws,
                "p_top": in_top / draws,
                "mean_score": ms,
                "std_score": np.sqrt(np.maximum(score_sq / draws - ms**2, 0.0)),
                "p_selected": sel_share / draws,
            }
        )
    return SensitivityResult(
        mean=mean,
        std=std,
        probability=probability,
        weights=w_draws,
        factors=names,
        regions=table,
        draws=draws,
        seed=seed,
        method="ahp" if pairwise is not None else "dirichlet",
        extra={"concentration": concentration, "spread": spread, "top": top},
    )


# ---------------------------------------------------------------------- one at a time
def weight_sweep(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    values: Sequence[float] | None = None,
    factors: Sequence[str] | None = None,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    mask: np.ndarray | None = None,
    threshold: float | None = None,
    top_percent: float | None = 10.0,
    regions: Any = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """One-at-a-time weight sensitivity: set one factor's weight, keep the others' ratios.

    For each factor and each value ``v`` the factor gets weight ``v`` and the
    other factors share ``1 - v`` in their original ratios; the map is compared
    with the base map (the chosen weights).

    Parameters
    ----------
    scores, weights, method, options, mask, threshold, top_percent
        As for :func:`monte_carlo`.
    values
        Weights to try for each factor (default ``0, 0.1, …, 1``), each in [0, 1].
    factors
        Factors to sweep (default: all with a positive weight).
    regions, grid
        Candidate regions (as for :func:`monte_carlo`) whose ranking is compared.

    Returns
    -------
    pandas.DataFrame
        One row per factor and value: ``factor``, ``weight``, ``base_weight``,
        ``mean_change`` and ``max_change`` (mean and largest absolute score
        change), ``jaccard`` (overlap of the selected cells with the base
        selection), and with regions ``rank_correlation`` (Spearman, of the
        regions' mean scores) and ``top_region`` (the best region).

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([[1.0, 0.0]]), "b": np.array([[0.0, 1.0]])}
    >>> t = weight_sweep(s, {"a": 0.5, "b": 0.5}, values=[0.5, 1.0], factors=["a"], top_percent=50)
    >>> t[["factor", "weight", "mean_change", "jaccard"]]
      factor  weight  mean_change  jaccard
    0      a     0.5          0.0      1.0
    1      a     1.0          0.5      0.5
    """
    import pandas as pd
    from scipy.stats import spearmanr

    _check_selection(threshold, top_percent)
    opts = dict(options or {})
    w0 = normalize_weights(weights)
    grid_values = list(np.linspace(0.0, 1.0, 11) if values is None else values)
    for v in grid_values:
        if not is_real_number(v) or not 0.0 <= v <= 1.0:
            raise InputError(f"sweep values must be weights in [0, 1], got {v!r}")
    todo = [k for k in w0 if weights[k] > 0] if factors is None else list(factors)
    unknown = [k for k in todo if k not in w0]
    if unknown:
        raise InputError(f"unknown factors {unknown}; factors are {list(w0)}")
    shape = np.shape(next(iter(scores.values())))
    base = _masked_score(scores, weights, method, opts, mask)
    base_sel = _selected(base, threshold=threshold, top_percent=top_percent, min_cells=1,
                         connectivity=8)  # fmt: skip
    labels, box, n_regions = (
        region_labels(regions, grid, shape) if regions is not None else _NO_REGIONS
    )
    base_means = _region_means(base, labels, box, n_regions) if n_regions else np.zeros(0)
    rows = []
    for k in todo:  # factors
        others = {f: w for f, w in w0.items() if f != k}
        rest = sum(others.values())
        for v in grid_values:  # weight values
            if rest <= 0 and v < 1:
                continue
            wd = {f: (float(v) if f == k else (1 - float(v)) * w / rest) for f, w in w0.items()}
            if sum(wd.values()) <= 0:
                continue
            x = _masked_score(scores, wd, method, opts, mask)
            diff = np.abs(x.astype(np.float64) - base)
            finite = np.isfinite(diff)
            sel = _selected(x, threshold=threshold, top_percent=top_percent, min_cells=1,
                            connectivity=8)  # fmt: skip
            union = np.count_nonzero(sel | base_sel)
            row = {
                "factor": k,
                "weight": float(v),
                "base_weight": w0[k],
                "mean_change": float(diff[finite].mean()) if finite.any() else np.nan,
                "max_change": float(diff[finite].max()) if finite.any() else np.nan,
                "jaccard": np.count_nonzero(sel & base_sel) / union if union else 1.0,
            }
            if n_regions:
                means = _region_means(x, labels, box, n_regions)
                ok = np.isfinite(means) & np.isfinite(base_means)
                if ok.sum() >= 2 and np.ptp(means[ok]) > 0 and np.ptp(base_means[ok]) > 0:
                    row["rank_correlation"] = float(spearmanr(means[ok], base_means[ok])[0])
                else:
                    row["rank_correlation"] = np.nan
                row["top_region"] = int(np.argmin(_ranks_desc(means))) + 1
            rows.append(row)
            del x, diff, sel
    return pd.DataFrame(rows)
