"""Decision analysis of a run: AHP weights from a file, Locate Regions, explanations, sensitivity.

The scales' pipelines (micro, meso) end with a suitability surface, factor
scores and weights. This module adds, all optional and all through
:class:`DecisionOptions`:

* factor weights from an AHP pairwise matrix in a CSV file (:func:`read_pairwise`);
* sites from :func:`gis.locate.locate_regions` instead of the top-percent
  candidate districts (``regions`` > 0);
* each site's factor contributions, weights and mean raw values as attributes
  (:func:`gis.explain.contribution_columns`), so the GeoPackage and the map
  popups explain every score;
* a Monte Carlo weight sensitivity (``sensitivity`` draws): rasters of the mean
  and spread of the score and of the probability of being selected, and a table
  of each site's rank stability (:func:`gis.sensitivity.monte_carlo`).

Each option is declared once on :class:`DecisionOptions` (:func:`layers.options.option`):
its flag, scenario key, check and help.

Examples
--------
>>> DecisionOptions(regions=3, total_area_ha=30).validate()
>>> DecisionOptions(shape_tradeoff=120).validate()
Traceback (most recent call last):
...
gis.errors.InputError: shape trade-off must be >= 0 and <= 100 (percent); got 120
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gis.errors import DataSourceError, InputError
from gis.grid import Grid
from gis.locate import EVALUATIONS, SELECTIONS, SHAPES
from layers.i18n import text
from layers.options import (
    MAX_SEEDS,
    MAX_SENSITIVITY_DRAWS,
    between,
    one_of,
    option,
    validate_options,
)

_HA = " hectares"
_M = " metres"

__all__ = [
    "DecisionOptions",
    "DecisionResult",
    "ahp_weights_from_file",
    "apply_decision",
    "check_aggregation",
    "decision_map_files",
    "decision_map_layers",
    "read_pairwise",
    "write_decision_outputs",
]


@dataclass
class DecisionOptions:
    """Optional decision-analysis steps of a run (all off by default).

    Attributes
    ----------
    ahp_file
        CSV pairwise comparison matrix of the factors (see :func:`read_pairwise`);
        its weights replace the factor weights.
    allow_inconsistent
        Use an AHP matrix even when its consistency ratio is >= 0.10.
    regions
        Number of sites to locate with Locate Regions; 0 keeps the top-percent
        candidate districts.
    total_area_ha, region_min_ha, region_max_ha
        Total area of the sites and the bounds of one site, in hectares.
    shape, orientation, aspect, shape_tradeoff
        Site shape (:data:`gis.locate.SHAPES`), its rotation in degrees, the
        ellipse's axis ratio, and the percent weight of shape against utility.
    min_distance_m, max_distance_m
        Least and greatest gap between sites in metres.
    existing_file
        Vector file of sites already in place (any CRS).
    evaluation, selection
        :data:`gis.locate.EVALUATIONS` and ``"combinatorial"``/``"sequential"``.
    no_islands
        Fill holes enclosed by a site.
    seeds
        Seed cells grown into candidate sites.
    allow_fewer
        Keep the sites that fit when fewer than ``regions`` satisfy the
        constraints, instead of stopping with an error.
    sensitivity
        Monte Carlo draws of the weights (0 = none).
    concentration, spread, seed
        Dirichlet concentration, log-scale spread of perturbed AHP judgements
        (used when ``ahp_file`` is given), and the random seed.
    """

    ahp_file: str | None = option(
        None,
        flag="--ahp",
        key="ahp.file",
        kind="file",
        metavar="FILE",
        label="AHP matrix file",
        help="factor weights from an AHP pairwise matrix (CSV, header of factor names)",
    )
    allow_inconsistent: bool = option(
        False,
        flag="--allow-inconsistent",
        key="ahp.allow_inconsistent",
        help="use an AHP matrix even when its consistency ratio is >= 0.10",
    )
    regions: int = option(
        0,
        flag="--regions",
        key="decision.regions",
        check=between(0),
        metavar="N",
        help="number of sites located by Locate Regions (0: the top-percent candidates)",
    )
    total_area_ha: float | None = option(
        None,
        flag="--total-area",
        key="decision.total_area_ha",
        kind="number",
        check=between(0, low_open=True, unit=_HA),
        metavar="HA",
        label="total area",
        help="total area of the sites",
    )
    region_min_ha: float = option(
        0.0,
        flag="--region-min-area",
        key="decision.region_min_ha",
        check=between(0, unit=_HA),
        metavar="HA",
        label="region minimum area",
        help="smallest site",
    )
    region_max_ha: float | None = option(
        None,
        flag="--region-max-area",
        key="decision.region_max_ha",
        kind="number",
        check=between(0, low_open=True, unit=_HA),
        metavar="HA",
        label="region maximum area",
        help="largest site",
    )
    shape: str = option(
        "circle", flag="--shape", key="decision.shape", check=one_of(SHAPES), help="site shape"
    )
    orientation: float = option(
        0.0,
        flag="--orientation",
        key="decision.orientation",
        check=between(unit=" degrees"),
        help="shape rotation, degrees counter-clockwise from east",
    )
    aspect: float = option(
        2.0,
        flag="--aspect",
        key="decision.aspect",
        check=between(1),
        label="ellipse aspect",
        help="ellipse axis ratio",
    )
    shape_tradeoff: float = option(
        50.0,
        flag="--shape-tradeoff",
        key="decision.shape_tradeoff",
        check=between(0, 100, unit=" (percent)"),
        metavar="PCT",
        label="shape trade-off",
        help="0 = grow by utility only .. 100 = keep the shape only",
    )
    min_distance_m: float = option(
        0.0,
        flag="--min-distance",
        key="decision.min_distance_m",
        check=between(0, unit=_M),
        metavar="M",
        label="minimum distance between regions",
        help="least gap between sites",
    )
    max_distance_m: float | None = option(
        None,
        flag="--max-distance",
        key="decision.max_distance_m",
        kind="number",
        check=between(0, unit=_M),
        metavar="M",
        label="maximum distance between regions",
        help="greatest gap between any two sites",
    )
    existing_file: str | None = option(
        None,
        flag="--existing",
        key="decision.existing_file",
        kind="file",
        metavar="FILE",
        label="file of existing sites",
        help="sites already in place (polygons)",
    )
    evaluation: str = option(
        "highest_average",
        flag="--evaluation",
        key="decision.evaluation",
        check=one_of(EVALUATIONS),
        help="how candidate sites are compared",
    )
    selection: str = option(
        "combinatorial",
        flag="--selection",
        key="decision.selection",
        check=one_of(SELECTIONS),
        help="best set of sites, or the best one after another",
    )
    no_islands: bool = option(
        False, flag="--no-islands", key="decision.no_islands", help="fill holes inside sites"
    )
    seeds: int = option(
        100,
        flag="--seeds",
        key="decision.seeds",
        check=between(1, MAX_SEEDS),
        help="seed cells grown into sites",
    )
    allow_fewer: bool = option(
        False,
        flag="--allow-fewer",
        key="decision.allow_fewer",
        help="keep the sites that fit when fewer than N satisfy the distances",
    )
    sensitivity: int = option(
        0,
        flag="--sensitivity",
        key="decision.sensitivity",
        check=between(0, MAX_SENSITIVITY_DRAWS),
        metavar="N",
        help="Monte Carlo weight draws: rasters of score spread and selection probability, "
        "and each site's rank stability",
    )
    concentration: float = option(
        100.0,
        flag="--concentration",
        key="decision.concentration",
        check=between(0, low_open=True),
        help="Dirichlet concentration of the weight draws",
    )
    spread: float = option(
        0.2,
        flag="--spread",
        key="decision.spread",
        check=between(0),
        label="judgement spread",
        help="log-scale spread of perturbed AHP judgements (with --ahp)",
    )
    seed: int = option(0, flag="--seed", key="decision.seed", check=between(0), help="random seed")

    @property
    def active(self) -> bool:
        """Whether a step needs the whole grids: AHP file, Locate Regions or sensitivity."""
        return self.ahp_file is not None or self.regions > 0 or self.sensitivity > 0

    def validate(self) -> None:
        """Check the options before any data is read.

        Raises
        ------
        InputError
            Naming the option and the accepted values.
        DataSourceError
            A file that does not exist.
        """
        validate_options(self)
        for path in (self.ahp_file, self.existing_file):
            if path is not None and not Path(path).exists():
                raise DataSourceError(f"file not found: {path}")


@dataclass
class DecisionResult:
    """What the decision steps produced (attached to the run's result).

    Attributes
    ----------
    sensitivity
        :class:`gis.sensitivity.SensitivityResult` or None.
    located
        Whether the sites come from Locate Regions.
    info
        JSON-ready summary for the manifest (AHP consistency, Locate Regions
        parameters and search, sensitivity settings).
    """

    sensitivity: Any = None
    located: bool = False
    info: dict[str, Any] | None = None


# ---------------------------------------------------------------------- AHP file
_FRACTION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")


def _cell_value(text: str, where: str) -> float:
    text = text.strip()
    m = _FRACTION.fullmatch(text)
    try:
        return float(m.group(1)) / float(m.group(2)) if m else float(text)
    except (ValueError, ZeroDivisionError):
        raise InputError(
            f"{where} is {text!r}; give a positive number or a fraction like 1/3"
        ) from None


def read_pairwise(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Read a pairwise comparison matrix from a CSV file.

    The first row names the criteria (its first cell may be empty); each further
    row starts with a criterion name followed by its judgements, in the same
    order. Cells may be numbers or fractions such as ``1/3``.

    Returns
    -------
    matrix, labels

    Raises
    ------
    DataSourceError
        The file cannot be read.
    InputError
        A malformed table (the message names the row and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ahp.csv"
    >>> _ = p.write_text(",transit,green\\ntransit,1,3\\ngreen,1/3,1\\n")
    >>> m, names = read_pairwise(p)
    >>> names, m.round(3).tolist()
    (['transit', 'green'], [[1.0, 3.0], [0.333, 1.0]])
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except OSError as exc:
        raise DataSourceError(f"cannot read pairwise matrix {path}: {exc}") from exc
    if len(rows) < 2:
        raise InputError(f"{path}: a pairwise matrix needs a header row and one row per criterion")
    header = [c.strip() for c in rows[0]]
    # a blank first cell is the corner above the row names, not a criterion
    blank_corner = bool(header) and header[0] == ""
    labels = header[1:] if blank_corner or len(header) == len(rows) else header
    n = len(labels)
    if len(rows) - 1 != n:
        raise InputError(
            f"{path}: the header names {n} criteria but there are {len(rows) - 1} rows"
        )
    matrix = np.empty((n, n))
    for i, row in enumerate(rows[1:]):
        if len(row) != n + 1 or row[0].strip() != labels[i]:
            raise InputError(
                f"{path}: row {i + 2} must be '{labels[i]}' followed by {n} judgements, got {row}"
            )
        for j, cell in enumerate(row[1:]):
            matrix[i, j] = _cell_value(cell, f"{path}: row {labels[i]!r}, column {labels[j]!r}")
    return matrix, labels


def ahp_weights_from_file(
    path: str | Path, factors: Sequence[str], *, allow_inconsistent: bool = False
) -> tuple[dict[str, float], dict[str, Any]]:
    """Factor weights from a pairwise matrix file, and its consistency.

    Parameters
    ----------
    path
        CSV file (see :func:`read_pairwise`) naming exactly the ``factors``, in
        any order.
    factors
        The factor names of the run.
    allow_inconsistent
        Accept a consistency ratio >= 0.10.

    Returns
    -------
    weights, info
        Factor → weight, and ``{"cr", "lambda_max", "ci", "ri", "labels",
        "matrix", "revisions"}`` (the three judgements whose revision most
        reduces the inconsistency).

    Raises
    ------
    InputError
        Unknown or missing factors, a non-reciprocal or non-positive matrix, or
        an inconsistent one (naming the judgements to revise).
    """
    from gis.weights import ahp, ahp_revisions

    matrix, labels = read_pairwise(path)
    unknown = [n for n in labels if n not in factors]
    missing = [n for n in factors if n not in labels]
    if unknown or missing or len(set(labels)) != len(labels):
        raise InputError(
            f"{path}: the matrix must name every factor once ({', '.join(factors)}); "
            f"unknown {unknown or 'none'}, missing {missing or 'none'}"
        )
    result = ahp(matrix, allow_inconsistent=allow_inconsistent, labels=labels)
    revisions = ahp_revisions(matrix, labels=labels, top=3) if result.cr > 0 else []
    info = {
        "file": str(path),
        "labels": labels,
        "matrix": matrix.tolist(),
        "cr": result.cr,
        "ci": result.ci,
        "ri": result.ri,
        "lambda_max": result.lambda_max,
        "revisions": [r._asdict() for r in revisions],
    }
    return dict(zip(labels, map(float, result.weights), strict=True)), info


# ---------------------------------------------------------------------- apply
def _existing(path: str | None, grid: Grid) -> Any:
    if path is None:
        return None
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise DataSourceError(f"cannot read existing regions {path}: {exc}") from exc
    if gdf.crs is None:
        raise InputError(f"existing regions file {path} has no CRS; save it with one")
    geoms = gdf.to_crs(grid.crs).geometry
    _check_existing_near(path, geoms, grid)
    return geoms


def _check_existing_near(path: str, geoms: Any, grid: Grid) -> None:
    """Refuse existing sites that all lie far outside the grid: they could not take part."""
    import shapely

    left, bottom, right, top = grid.bounds
    area = shapely.box(left, bottom, right, top)
    valid = geoms[geoms.notna() & ~geoms.is_empty]
    if valid.empty:
        return
    nearest = float(valid.distance(area).min())
    reach = max(10_000.0, float(np.hypot(right - left, top - bottom)))
    if not np.isfinite(nearest) or nearest > reach:
        raise InputError(
            f"the existing sites of {path} lie {nearest / 1000:,.0f} km or more from the study "
            "area, so they cannot take part; check the file (and its CRS) or leave out --existing"
        )


def apply_decision(
    options: DecisionOptions,
    *,
    grid: Grid,
    inside: np.ndarray,
    suitability: np.ndarray,
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    candidates: Any,
    method: str = "wlc",
    method_options: Mapping[str, Any] | None = None,
    raw: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    connectivity: int = 8,
    threshold: float | None = None,
    top_percent: float | None = 10.0,
    min_area: float = 0.0,
) -> tuple[Any, DecisionResult]:
    """Locate sites (if asked), explain them and run the sensitivity analysis.

    Parameters
    ----------
    options
        The decision options.
    grid, inside, suitability
        Grid, study-area mask and the suitability surface (NaN = excluded).
    scores, weights
        Factor scores and the weights used.
    candidates
        The candidate districts found by the top-percent rule; replaced by the
        located sites when ``options.regions`` > 0.
    method, method_options
        The aggregation used.
    raw
        Factor → {criterion → raw measure raster}, for the mean raw values.
    connectivity, threshold, top_percent, min_area
        The site rules of the run (the sensitivity selects cells the same way;
        ``min_area`` in m²).

    Returns
    -------
    sites, DecisionResult
        The sites with ``contrib_<factor>``, ``weight_<factor>`` and
        ``raw_<criterion>`` columns, and what was done.
    """
    from gis import progress
    from gis.explain import contribution_columns
    from gis.locate import locate_regions
    from gis.sensitivity import monte_carlo

    opts = dict(method_options or {})
    info: dict[str, Any] = {}
    if options.ahp_file is not None:  # the matrix's consistency, for the manifest
        labels = read_pairwise(options.ahp_file)[1]
        info["ahp"] = ahp_weights_from_file(options.ahp_file, labels, allow_inconsistent=True)[1]
    located = options.regions > 0
    if located:
        factor_means = {k: np.where(inside, s, np.nan) for k, s in scores.items()}
        with progress.step("locate regions"):
            sites = locate_regions(
                suitability,
                grid,
                n_regions=options.regions,
                total_area=None if options.total_area_ha is None else options.total_area_ha * 1e4,
                min_area=options.region_min_ha * 1e4,
                max_area=None if options.region_max_ha is None else options.region_max_ha * 1e4,
                shape=options.shape,
                orientation=options.orientation,
                aspect=options.aspect,
                shape_tradeoff=options.shape_tradeoff,
                min_distance=options.min_distance_m,
                max_distance=options.max_distance_m,
                existing=_existing(options.existing_file, grid),
                connectivity=connectivity,
                no_islands=options.no_islands,
                evaluation=options.evaluation,
                selection=options.selection,
                seeds=options.seeds,
                factors=factor_means,
                allow_fewer=options.allow_fewer,
            )
        skip = ("ahp_file", "allow_inconsistent", "sensitivity", "concentration", "spread", "seed")
        info["locate"] = {
            **{k: v for k, v in asdict(options).items() if k not in skip},
            **sites.attrs,
        }
        progress.note(
            f"{int((~sites['existing']).sum())} site(s) located from {sites.attrs['candidates']} "
            f"candidate regions ({options.selection}, {options.evaluation})"
        )
    else:
        sites = candidates
    if len(sites):
        sites = contribution_columns(sites, scores, weights, grid, method=method, options=opts,
                                     raw=raw)  # fmt: skip
    sens = None
    if options.sensitivity > 0:
        pairwise = None
        if options.ahp_file is not None:
            matrix, labels = read_pairwise(options.ahp_file)
            order = [labels.index(k) for k in weights if k in labels]
            if len(order) == len(weights):
                pairwise = matrix[np.ix_(order, order)]
        mask = np.isfinite(suitability)
        new_sites = sites[~sites["existing"]] if "existing" in sites.columns else sites
        with progress.step(f"sensitivity ({options.sensitivity} draws)"):
            sens = monte_carlo(
                scores,
                weights,
                draws=options.sensitivity,
                concentration=options.concentration,
                pairwise=pairwise,
                spread=options.spread,
                method=method,
                options=opts,
                mask=mask,
                threshold=threshold,
                top_percent=None if threshold is not None else (top_percent or 10.0),
                min_area=min_area,
                connectivity=connectivity,
                regions=new_sites if len(new_sites) else None,
                grid=grid,
                seed=options.seed,
            )
        info["sensitivity"] = {
            "draws": options.sensitivity,
            "weights": "AHP judgements perturbed" if pairwise is not None else "Dirichlet",
            "concentration": options.concentration,
            "spread": options.spread,
            "seed": options.seed,
        }
        if sens.regions is not None:
            sites = _with_stability(sites, sens.regions)
    return sites, DecisionResult(sensitivity=sens, located=located, info=info)


def _with_stability(sites: Any, table: Any) -> Any:
    """Add the rank-stability columns of the sensitivity table to the (new) sites."""
    out = sites.copy()
    new = ~out["existing"].to_numpy() if "existing" in out.columns else np.ones(len(out), bool)
    for col, name in (("mean_rank", "mc_mean_rank"), ("p_same_rank", "mc_p_same_rank"),
                      ("p_top", "mc_p_top3"), ("p_selected", "mc_p_selected")):  # fmt: skip
        values = np.full(len(out), np.nan)
        values[new] = table[col].to_numpy()
        out[name] = values
    geometry = out.geometry.name
    return out[[c for c in out.columns if c != geometry] + [geometry]]


# ---------------------------------------------------------------------- outputs
def _stretch(std: np.ndarray) -> tuple[np.ndarray, float]:
    finite = std[np.isfinite(std)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    top = top if top > 0 else 1.0
    return np.clip(std / top, 0.0, 1.0).astype(np.float32), top


def decision_map_layers(result: Any, *, lang: str = "en") -> dict[str, np.ndarray]:
    """Extra map layers (title in ``lang`` → 0–1 raster) of a run's sensitivity analysis."""
    decision = getattr(result, "decision", None)
    if decision is None or decision.sensitivity is None:
        return {}
    sens = decision.sensitivity
    stretched, top = _stretch(sens.std)
    return {
        text("decision.probability_draws", lang, draws=sens.draws): sens.probability,
        text("decision.spread_stretched", lang, top=f"{top:.3f}"): stretched,
    }


def decision_map_files(result: Any, *, lang: str = "en") -> dict[str, str]:
    """Map layers of a run's sensitivity analysis as title in ``lang`` -> file.

    The windowed form of :func:`decision_map_layers`: the map reads the rasters that
    :func:`write_decision_outputs` wrote (from their overviews, paths under the output
    folder). The spread is drawn as written, not stretched.
    """
    decision = getattr(result, "decision", None)
    if decision is None or decision.sensitivity is None:
        return {}
    draws = decision.sensitivity.draws
    return {
        text("decision.probability_draws", lang, draws=draws): (
            "sensitivity/selection_probability.tif"
        ),
        text("decision.std", lang): "sensitivity/std.tif",
    }


def write_decision_outputs(stage: Path, result: Any, grid: Grid) -> dict[str, str]:
    """Write the sensitivity rasters and tables of a run into the staging folder.

    Files: ``sensitivity/mean.tif``, ``sensitivity/std.tif``,
    ``sensitivity/selection_probability.tif`` (each with a QGIS ``.qml`` style),
    ``sensitivity/regions.csv`` (rank stability of each site) and
    ``sensitivity/weights.csv`` (the drawn weights).

    Returns
    -------
    dict
        Role → path relative to ``stage``.
    """
    from gis.io import write_geotiff
    from gis.maps import COLORMAP_ANCHORS
    from gis.styles import raster_qml

    decision = getattr(result, "decision", None)
    if decision is None or decision.sensitivity is None:
        return {}
    sens = decision.sensitivity
    folder = stage / "sensitivity"
    folder.mkdir(exist_ok=True)
    tags = {"draws": str(sens.draws), "weights": sens.method, "seed": str(sens.seed)}
    rel = {}
    for role, name, array, desc, units in (
        ("sensitivity:mean", "mean.tif", sens.mean, "mean score over weight draws", "score"),
        ("sensitivity:std", "std.tif", sens.std, "standard deviation of the score over draws",
         "score"),
        ("sensitivity:probability", "selection_probability.tif", sens.probability,
         "share of weight draws in which the cell is selected", "probability"),
    ):  # fmt: skip
        write_geotiff(folder / name, array, grid, description=desc, units=units, tags=tags)
        top = _stretch(array)[1] if role == "sensitivity:std" else 1.0
        qml = raster_qml(list(COLORMAP_ANCHORS["viridis"]), vmin=0.0, vmax=top)
        (folder / name).with_suffix(".qml").write_text(qml, encoding="utf-8")
        rel[role] = f"sensitivity/{name}"
    if sens.regions is not None:
        sens.regions.to_csv(folder / "regions.csv", index=False)
        rel["sensitivity:regions"] = "sensitivity/regions.csv"
    weights = sens.weight_table()
    weights.to_csv(folder / "weights.csv", index=False)
    rel["sensitivity:weights"] = "sensitivity/weights.csv"
    return rel


def check_aggregation(method: str, options: Mapping[str, Any], n_factors: int) -> None:
    """Refuse aggregation options that do not fit the method, before any data is read.

    Raises
    ------
    InputError
        An option the method does not take, or a bad value (e.g. ``order_weights``
        of the wrong length), naming it.

    Examples
    --------
    >>> check_aggregation("owa", {"orness": 1.5}, 3)
    Traceback (most recent call last):
    ...
    gis.errors.InputError: orness must be a number in [0, 1] (0 = AND, 1 = OR), got 1.5
    """
    import inspect

    from gis.overlay import AGGREGATIONS, aggregate

    if method not in AGGREGATIONS:
        raise InputError(f"aggregation must be one of {sorted(AGGREGATIONS)}, got {method!r}")
    params = inspect.signature(AGGREGATIONS[method]).parameters
    allowed = [k for k in params if k not in ("scores", "weights", "chunk_rows")]
    extra = [k for k in options if k not in allowed]
    if extra:
        raise InputError(
            f"aggregation {method!r} takes {allowed or 'no options'}, not {extra}"
            + (" (use --aggregation owa)" if {"orness", "order_weights"} & set(extra) else "")
            + (" (use --aggregation fuzzy_gamma)" if "gamma" in extra else "")
        )
    layers = {f"f{i}": np.full(2, 0.5) for i in range(max(1, n_factors))}
    aggregate(layers, dict.fromkeys(layers, 1.0), method=method, **options)
