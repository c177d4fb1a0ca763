"""Why a cell or a region scores what it scores: each factor's raw value, score, weight and share.

For the weighted linear combination a factor's contribution is simply
``w_i · s_i`` and the contributions add up to the score. For every other
aggregation method (:data:`gis.overlay.AGGREGATIONS`) the contributions are the
exact Shapley values of the factors (Shapley 1953) with "factor absent" meaning
a score of 0 (for TOPSIS: the factor's anti-ideal score): the average, over every
order in which the factors could be added, of the change in the aggregated score
when the factor is added. They too add up to the score (every method scores 0
when all factors are absent), they are ``w_i · s_i`` for the weighted linear
combination, and a factor whose score does not matter gets 0. ``2^m`` evaluations per cell are
needed for ``m`` factors, done in vectorised chunks.

:func:`factor_contributions` works on any arrays of factor scores;
:func:`explain_cells` and :func:`explain_regions` return tables for chosen cells
and for regions (a label raster or polygons), and :func:`contribution_columns`
adds ``contrib_<factor>`` columns to a GeoDataFrame of candidate sites.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gis._regions import region_labels
from gis._validate import as_numeric_array, chunk_rows_for
from gis.errors import InputError
from gis.grid import Grid
from gis.overlay import AGGREGATIONS, aggregate, normalize_weights, topsis_ideals

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "contribution_columns",
    "explain_cells",
    "explain_regions",
    "factor_contributions",
]

#: Largest number of factors for exact Shapley values (2^m subsets per cell).
MAX_EXACT_FACTORS: int = 12

#: Cells evaluated at a time for Shapley values.
_SHAPLEY_CELLS: int = 2048


def _method_options(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    method: str,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Options that make a method a per-cell function (TOPSIS: the surface's ideals)."""
    opts = dict(options or {})
    if method == "topsis" and not isinstance(opts.get("ideal", "data"), Mapping):
        if opts.get("ideal", "data") == "data":
            opts["ideal"] = topsis_ideals(scores, weights)
    return opts


def _check_method(method: str) -> None:
    if not isinstance(method, str) or method not in AGGREGATIONS:
        raise InputError(f"method must be one of {sorted(AGGREGATIONS)}, got {method!r}")


def factor_contributions(
    values: Mapping[str, Any],
    weights: Mapping[str, float],
    *,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Each factor's contribution to the aggregated score of some cells.

    Parameters
    ----------
    values
        Factor name → scores of the cells (arrays of one shape, e.g. 1-D).
    weights
        Factor name → weight, the same keys (see :func:`gis.overlay.aggregate`).
    method
        A key of :data:`gis.overlay.AGGREGATIONS`.
    options
        Options of the method. For ``"topsis"`` pass ``ideal`` as the
        ``(best, worst)`` of the whole surface (:func:`gis.overlay.topsis_ideals`)
        to explain cells as they score in it; otherwise the cells given define
        the ideals.

    Returns
    -------
    dict
        Factor name → float64 array of contributions; they add up to the
        aggregated score (NaN where a positive-weight factor is NaN). Factors with
        weight 0 contribute 0.

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([1.0, 0.5]), "b": np.array([0.0, 0.5])}
    >>> {k: v.tolist() for k, v in factor_contributions(s, {"a": 3, "b": 1}).items()}
    {'a': [0.75, 0.375], 'b': [0.0, 0.125]}
    >>> c = factor_contributions({"a": np.array([0.2]), "b": np.array([0.6])},
    ...                          {"a": 1, "b": 1}, method="maximum")
    >>> {k: round(float(v[0]), 6) for k, v in c.items()}  # Shapley: (0.6 + 0.4) / 2, (0 + 0.6) / 2
    {'a': 0.1, 'b': 0.5}
    """
    _check_method(method)
    w = normalize_weights(weights)
    arrays = {k: np.asarray(as_numeric_array(values[k], f"values of {k!r}"), dtype=np.float64)
              for k in w if k in values}  # fmt: skip
    missing = [k for k in w if k not in values]
    if missing:
        raise InputError(f"no values for factors {missing}")
    active = [k for k in w if weights[k] > 0]
    shape = next(iter(arrays.values())).shape
    out = {k: np.zeros(shape) for k in w}
    nan = np.zeros(shape, dtype=bool)
    for k in active:
        nan |= np.isnan(arrays[k])
    if method == "wlc":
        for k in active:
            out[k] = w[k] * arrays[k]
    else:
        m = len(active)
        if m > MAX_EXACT_FACTORS:
            raise InputError(
                f"contributions for {m} factors need 2^{m} evaluations per cell; "
                f"at most {MAX_EXACT_FACTORS} factors are supported for method {method!r}"
            )
        opts = dict(options or {})
        base = dict.fromkeys(active, 0.0)
        if method == "topsis":  # "absent" = at the anti-ideal, where TOPSIS scores 0
            ideal = opts.get("ideal", "data")
            if not isinstance(ideal, Mapping) and ideal == "data":
                ideal = topsis_ideals(arrays, weights)
                opts["ideal"] = ideal
            if isinstance(ideal, Mapping):
                base = {k: float(ideal[k][1]) for k in active}
        subsets = (np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1  # (2^m, m)
        size = subsets.sum(axis=1)
        coef = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
                         if s < m else 0.0 for s in range(m + 1)])  # fmt: skip
        flat = {k: arrays[k].reshape(-1) for k in active}
        n = next(iter(flat.values())).size if flat else 0
        res = {k: np.zeros(n) for k in active}
        sub_w = {k: weights[k] for k in active}
        for start in range(0, n, _SHAPLEY_CELLS):  # chunks of cells
            stop = min(start + _SHAPLEY_CELLS, n)
            block = {
                k: np.where(subsets[:, i : i + 1] == 1, np.nan_to_num(flat[k][start:stop]), base[k])
                for i, k in enumerate(active)
            }
            v = aggregate(block, sub_w, method=method, **opts).astype(np.float64)  # (2^m, c)
            for i, k in enumerate(active):  # factors
                without = np.flatnonzero(subsets[:, i] == 0)
                gain = v[without + (1 << i)] - v[without]
                res[k][start:stop] = (coef[size[without]][:, None] * gain).sum(axis=0)
        for k in active:
            out[k] = res[k].reshape(shape)
    for k in out:
        out[k] = np.where(nan, np.nan, out[k])
    return out


def _cells(cells: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    try:
        rc = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError("cells must be (row, col) pairs of integers") from None
    bad = (rc[:, 0] < 0) | (rc[:, 0] >= shape[0]) | (rc[:, 1] < 0) | (rc[:, 1] >= shape[1])
    if bad.any():
        raise InputError(f"cell {tuple(rc[bad][0].tolist())} is outside the grid of shape {shape}")
    return rc[:, 0], rc[:, 1]


def explain_cells(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    cells: Sequence[tuple[int, int]] | np.ndarray,
    *,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    raw: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """Table explaining the aggregated score of some cells factor by factor.

    Parameters
    ----------
    scores
        Factor name → 2-D score raster.
    weights
        Factor name → weight.
    cells
        ``(row, col)`` pairs.
    method, options
        The aggregation (as for :func:`gis.overlay.aggregate`); TOPSIS ideals are
        taken from the whole surface.
    raw
        Optional factor name → {criterion name → raw measure raster}; the raw
        values of each cell are listed in the ``raw`` column.
    grid
        Optional grid, to add the cell centres ``x`` and ``y``.

    Returns
    -------
    pandas.DataFrame
        One row per cell and factor: ``cell`` (position in ``cells``), ``row``,
        ``col`` (and ``x``, ``y``), ``factor``, ``raw`` (criterion → value),
        ``score``, ``weight`` (normalised), ``contribution``, ``share`` (of the
        score) and ``total`` (the cell's aggregated score).

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([[1.0, 0.0]]), "b": np.array([[0.5, 0.5]])}
    >>> explain_cells(s, {"a": 1, "b": 1}, [(0, 0)])[["factor", "score", "contribution"]]
      factor  score  contribution
    0      a    1.0          0.50
    1      b    0.5          0.25
    """
    import pandas as pd

    _check_method(method)
    w = normalize_weights(weights)
    first = next(iter(scores.values()))
    rows, cols = _cells(cells, np.shape(first))
    values = {k: np.asarray(scores[k])[rows, cols].astype(np.float64) for k in w}
    opts = _method_options(scores, weights, method, options)
    contrib = factor_contributions(values, weights, method=method, options=opts)
    total = np.sum([contrib[k] for k in w], axis=0)
    records = []
    for i in range(rows.size):  # the requested cells
        for k in w:  # factors
            rec: dict[str, Any] = {"cell": i, "row": int(rows[i]), "col": int(cols[i])}
            if grid is not None:
                rec["x"] = grid.transform.c + (cols[i] + 0.5) * grid.cell_size
                rec["y"] = grid.transform.f - (rows[i] + 0.5) * grid.cell_size
            rec.update(
                factor=k,
                raw={
                    c: float(np.asarray(a)[rows[i], cols[i]])
                    for c, a in (raw or {}).get(k, {}).items()
                },
                score=float(values[k][i]),
                weight=w[k],
                contribution=float(contrib[k][i]),
                share=float(contrib[k][i] / total[i]) if total[i] else np.nan,
                total=float(total[i]),
            )
            records.append(rec)
    return pd.DataFrame.from_records(records)


def explain_regions(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    regions: Any,
    *,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    raw: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    grid: Grid | None = None,
    max_cells: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Table explaining the mean aggregated score of regions factor by factor.

    A region's contribution of a factor is the mean, over its cells, of the
    factor's contribution in each cell, so the contributions add up to the
    region's mean score (over the cells valid in every weighted factor). For the
    weighted linear combination this is exactly ``w_i`` times the factor's mean
    score over those cells; for other methods, regions with more
    than ``max_cells`` cells are explained on a seeded random sample of that
    many cells.

    Parameters
    ----------
    scores, weights, method, options, raw
        As for :func:`explain_cells`.
    regions
        An integer label raster (0 = no region, 1..n) or polygons (a
        GeoDataFrame / GeoSeries / list, rasterised on ``grid`` by cell centre;
        region ``i`` is the ``i``-th polygon).
    grid
        The grid (needed for polygons).
    max_cells, seed
        Sample size per region for non-additive methods, and its seed.

    Returns
    -------
    pandas.DataFrame
        One row per region and factor: ``region`` (1..n), ``n_cells``, ``factor``,
        ``raw`` (criterion → mean raw value), ``score`` (mean), ``weight``,
        ``contribution``, ``share`` and ``total`` (the mean aggregated score).

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([[1.0, 0.0]]), "b": np.array([[0.5, 0.5]])}
    >>> t = explain_regions(s, {"a": 1, "b": 1}, np.array([[1, 1]]))
    >>> t[["region", "factor", "score", "contribution", "total"]]
       region factor  score  contribution  total
    0       1      a    0.5          0.25    0.5
    1       1      b    0.5          0.25    0.5
    """
    import pandas as pd

    _check_method(method)
    w = normalize_weights(weights)
    shape = np.shape(next(iter(scores.values())))
    labels, box, n = region_labels(regions, grid, shape)
    opts = _method_options(scores, weights, method, options)
    scores = {k: np.asarray(scores[k])[box] for k in w}  # views of the regions' window
    raw = {k: {c: np.asarray(a)[box] for c, a in d.items()} for k, d in (raw or {}).items()}
    shape = labels.shape
    active = [k for k in w if weights[k] > 0]
    criteria = {k: dict((raw or {}).get(k, {})) for k in w}
    # per-region sums of scores, raw values and (for WLC) contributions, in row chunks
    sums = {k: np.zeros(n + 1) for k in w}
    counts = {k: np.zeros(n + 1) for k in w}
    raw_sums = {(k, c): np.zeros(n + 1) for k in w for c in criteria[k]}
    raw_counts = {(k, c): np.zeros(n + 1) for k in w for c in criteria[k]}
    cells = np.zeros(n + 1)
    valid_cells = np.zeros(n + 1)
    rows = chunk_rows_for(shape, None)
    for start in range(0, shape[0], rows):
        lab = labels[start : start + rows]
        inside = lab > 0
        if not inside.any():
            continue
        idx = lab[inside]
        cells += np.bincount(idx, minlength=n + 1)
        ok = np.ones(idx.size, dtype=bool)
        for k in w:
            v = np.asarray(scores[k][start : start + rows])[inside].astype(np.float64)
            good = ~np.isnan(v)
            if k in active:
                ok &= good
            sums[k] += np.bincount(idx[good], weights=v[good], minlength=n + 1)
            counts[k] += np.bincount(idx[good], minlength=n + 1)
            for c, arr in criteria[k].items():
                rv = np.asarray(arr[start : start + rows])[inside].astype(np.float64)
                g = np.isfinite(rv)
                raw_sums[(k, c)] += np.bincount(idx[g], weights=rv[g], minlength=n + 1)
                raw_counts[(k, c)] += np.bincount(idx[g], minlength=n + 1)
        valid_cells += np.bincount(idx[ok], minlength=n + 1)

    contrib = {k: np.full(n + 1, np.nan) for k in w}
    total = np.full(n + 1, np.nan)
    if method == "wlc":
        # mean over cells valid in every weighted factor of w_i s_i: recompute on those cells
        c_sums = {k: np.zeros(n + 1) for k in w}
        for start in range(0, shape[0], rows):
            lab = labels[start : start + rows]
            inside = lab > 0
            if not inside.any():
                continue
            stack = {k: np.asarray(scores[k][start : start + rows])[inside].astype(np.float64)
                     for k in active}  # fmt: skip
            ok = np.ones(inside.sum(), dtype=bool)
            for v in stack.values():
                ok &= ~np.isnan(v)
            for k in active:
                c_sums[k] += np.bincount(lab[inside][ok], weights=w[k] * stack[k][ok],
                                         minlength=n + 1)  # fmt: skip
        for k in w:
            contrib[k] = np.where(valid_cells > 0, c_sums[k] / np.maximum(valid_cells, 1), np.nan)
    else:
        rng = np.random.default_rng(seed)
        flat = labels.reshape(-1)
        for region in range(1, n + 1):  # regions, a handful
            where = np.flatnonzero(flat == region)
            if where.size > max_cells:
                where = np.sort(rng.choice(where, size=max_cells, replace=False))
            at_row, at_col = np.divmod(where, shape[1])
            vals = {k: scores[k][at_row, at_col].astype(np.float64) for k in w}
            parts = factor_contributions(vals, weights, method=method, options=opts)
            good = ~np.isnan(parts[active[0]]) if active else np.zeros(0, dtype=bool)
            if good.any():
                for k in w:
                    contrib[k][region] = float(parts[k][good].mean())
    total = np.sum([np.nan_to_num(contrib[k]) for k in w], axis=0)
    if active:
        total[np.isnan(contrib[active[0]])] = np.nan
    records = []
    for region in range(1, n + 1):  # regions
        for k in w:  # factors
            score = sums[k][region] / counts[k][region] if counts[k][region] else np.nan
            records.append(
                {
                    "region": region,
                    "n_cells": int(cells[region]),
                    "factor": k,
                    "raw": {
                        c: (
                            raw_sums[(k, c)][region] / raw_counts[(k, c)][region]
                            if raw_counts[(k, c)][region]
                            else np.nan
                        )
                        for c in criteria[k]
                    },
                    "score": float(score),
                    "weight": w[k],
                    "contribution": float(contrib[k][region]),
                    "share": float(contrib[k][region] / total[region]) if total[region] else np.nan,
                    "total": float(total[region]),
                }
            )
    return pd.DataFrame.from_records(records)


def contribution_columns(
    sites: gpd.GeoDataFrame,
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    grid: Grid,
    *,
    method: str = "wlc",
    options: Mapping[str, Any] | None = None,
    raw: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    prefix: str = "contrib_",
) -> gpd.GeoDataFrame:
    """A copy of ``sites`` with each factor's contribution (and mean raw values) as columns.

    Adds ``<prefix><factor>`` (the factor's contribution to the site's mean
    score, see :func:`explain_regions`), ``weight_<factor>`` (the normalised
    weight) and, with ``raw``, ``raw_<criterion>`` (the mean raw measure).

    Examples
    --------
    >>> import numpy as np, geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = Grid.from_bounds((0, 0, 20, 10), cell_size=10, crs="EPSG:32635")
    >>> sites = gpd.GeoDataFrame({"rank": [1]}, geometry=[box(0, 0, 20, 10)], crs=g.crs)
    >>> s = {"a": np.array([[1.0, 0.0]]), "b": np.array([[0.5, 0.5]])}
    >>> contribution_columns(sites, s, {"a": 3, "b": 1}, g)[["contrib_a", "contrib_b"]]
       contrib_a  contrib_b
    0      0.375      0.125
    """
    table = explain_regions(scores, weights, sites, method=method, options=options, raw=raw,
                            grid=grid)  # fmt: skip
    out = sites.copy()
    w = normalize_weights(weights)
    n = len(sites)
    for k in w:
        part = table[table["factor"] == k].set_index("region")
        out[f"{prefix}{k}"] = part["contribution"].reindex(range(1, n + 1)).to_numpy()
        out[f"weight_{k}"] = w[k]
        for c in (raw or {}).get(k, {}):
            out[f"raw_{c}"] = [d.get(c, np.nan) for d in part["raw"].reindex(range(1, n + 1))]
    geometry = out.geometry.name
    return out[[c for c in out.columns if c != geometry] + [geometry]]
