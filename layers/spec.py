"""Factor specs of every raster scale: what a factor is made of, and what scoring it gave.

A :class:`Factor` is one location factor of Zhang (2022) (e.g. *university districts*,
*transport hubs*). It is made of one or more :class:`Criterion` objects, each a raw
measure (a registration of :data:`layers.measures.MEASURES`) computed from the features
of one data source of the run, and a transform (:func:`gis.transforms.rescale`) that
turns the raw measure into a 0-1 score. The factor score is the weighted mean of its
criterion scores; the factor weight enters the overlay.

Where a criterion's features come from is its ``source``: a name of a data source of the
run (``"osm"`` for OpenStreetMap features selected with ``tags`` or grouped by
``categories``; ``"centre"`` for the city centre of a micro run; ``"hubs"``,
``"population"``, ``"cities"``, ``"macro"`` for the meso sources), or the name of a user
source described by ``data`` (a :class:`layers.sources.SourceSpec`: a vector file, a CSV
of points or a raster the run reads). A scale preset
(:data:`layers.micro.factors.MICRO_FACTORS`, :data:`layers.meso.factors.MESO_FACTORS`)
is a tuple of factors.

Transform parameters may be numbers or percentile strings such as ``"p95"``: the 95th
percentile of the raw measure over the cells of the study area. A criterion may also
document absolute values for its percentile parameters (``absolute_params``): a run
with ``thresholds="absolute"`` (:func:`with_thresholds`) uses them, and so does a run
whose features are too few to rank the area by percentiles
(:func:`layers.pipeline.sparse_fallback`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gis.errors import InputError
from layers.sources import SourceSpec

__all__ = [
    "EMPTY_RULES",
    "THRESHOLD_MODES",
    "Criterion",
    "CriterionResult",
    "Factor",
    "FactorResult",
    "with_thresholds",
    "with_weights",
]

#: What to do with a criterion or factor whose features are absent from the area.
EMPTY_RULES: tuple[str, ...] = ("drop", "zero", "one")

#: How data-driven transform parameters are set: percentiles of the area (``"pNN"``), or
#: the documented absolute values of each criterion (``absolute_params``).
THRESHOLD_MODES: tuple[str, ...] = ("percentile", "absolute")


@dataclass(frozen=True, kw_only=True)
class Criterion:
    """One raw measure of a data source and its transform to a 0-1 score.

    Parameters
    ----------
    name
        Identifier, used in output file names (``raw/<name>.tif``).
    measure
        A name of :data:`layers.measures.MEASURES` (checked when a run starts, so a
        measure may be registered after the criterion is made).
    source
        The data source of the run the features come from (``"osm"``, ``"centre"``,
        ``"hubs"``, ``"population"``, ``"cities"``, ``"macro"``), or the name of the
        user source ``data``.
    data
        A user source (:class:`layers.sources.SourceSpec`), read once per run under the
        name ``source`` (the criterion's name when ``source`` is left ``"osm"``).
    tags
        OSM tag filter (key -> ``True`` or a list of values) selecting the features.
    categories
        Category name -> OSM tag filter, for measures of the mix of kinds of features.
    transform
        A :data:`gis.transforms.TRANSFORMS` name, or None when the measure is already a
        0-1 score or scores itself.
    transform_params
        Keyword arguments of :func:`gis.transforms.rescale`; ``"pNN"`` strings are
        percentiles of the raw measure over the study area.
    measure_params
        Keyword arguments of the measure (``bandwidth``, ``radius`` in metres ...);
        missing ones take the defaults of the measure's registration.
    weight
        Weight of this criterion inside its factor.
    when_empty
        Rule when no feature is found: ``None`` (the run's rule), ``"drop"``, ``"zero"``
        or ``"one"`` (the absence of a nuisance, e.g. no major road, is good).
    description
        What the criterion measures, in words.
    absolute_params
        Absolute values (in the measure's units) of the percentile parameters of
        ``transform_params``, e.g. ``{"upper_threshold": 50.0}`` for ``"p95"``: used by
        runs with absolute thresholds and when too few features rank the area.
    """

    name: str
    measure: str
    source: str = "osm"
    data: SourceSpec | None = None
    tags: Mapping[str, Any] | None = None
    categories: Mapping[str, Mapping[str, Any]] | None = None
    transform: str | None = "linear"
    transform_params: Mapping[str, Any] = field(default_factory=dict)
    measure_params: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    when_empty: str | None = None
    description: str = ""
    absolute_params: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.data is not None and self.source == "osm":
            object.__setattr__(self, "source", self.name)
        if not isinstance(self.measure, str) or not self.measure:
            raise InputError(f"criterion {self.name!r}: measure must be a measure name")
        if self.when_empty is not None and self.when_empty not in EMPTY_RULES:
            raise InputError(
                f"criterion {self.name!r}: when_empty must be one of {EMPTY_RULES}, "
                f"got {self.when_empty!r}"
            )
        for key, value in (self.absolute_params or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(
                    f"criterion {self.name!r}: absolute_params {key} must be a number, "
                    f"got {value!r}"
                )

    def absolute_transform_params(self) -> dict[str, Any]:
        """``transform_params`` with the percentile entries given in ``absolute_params``
        replaced by those absolute values (the others unchanged).

        Examples
        --------
        >>> c = Criterion(name="c", measure="density",
        ...               transform_params={"lower_threshold": 0, "upper_threshold": "p95"},
        ...               absolute_params={"upper_threshold": 40.0})
        >>> c.absolute_transform_params()
        {'lower_threshold': 0, 'upper_threshold': 40.0}
        """
        given = self.absolute_params or {}
        return {k: given.get(k, v) if isinstance(v, str) else v
                for k, v in self.transform_params.items()}  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """The criterion as plain JSON-ready values (for manifests)."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "data": None if self.data is None else self.data.as_dict(),
            "tags": None if self.tags is None else {k: v for k, v in self.tags.items()},
            "categories": None if self.categories is None else dict(self.categories),
            "measure": self.measure,
            "measure_params": dict(self.measure_params),
            "transform": self.transform,
            "transform_params": dict(self.transform_params),
            "weight": self.weight,
            "when_empty": self.when_empty,
            "absolute_params": None if self.absolute_params is None else dict(self.absolute_params),
        }


@dataclass(frozen=True, kw_only=True)
class Factor:
    """A location factor: weighted criteria and the factor's overlay weight."""

    name: str
    title: str
    weight: float
    criteria: tuple[Criterion, ...]
    rationale: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """The data sources of the criteria, in order, without repeats."""
        return tuple(dict.fromkeys(c.source for c in self.criteria))


@dataclass
class CriterionResult:
    """Raw measure and score of one criterion, and extra raw layers it produced."""

    criterion: Criterion
    count: int
    raw: np.ndarray | None
    score: np.ndarray | None
    status: str  # "ok", or the empty rule applied: "drop", "zero", "one"
    note: str = ""
    extra: dict[str, tuple[np.ndarray, str, str]] = field(default_factory=dict)


@dataclass
class FactorResult:
    """Score of one factor and how it was obtained."""

    factor: Factor
    criteria: list[CriterionResult]
    score: np.ndarray | None
    status: str  # "ok", "drop", "zero" or "unavailable"
    note: str = ""

    @property
    def count(self) -> int:
        """Features found over all criteria."""
        return sum(c.count for c in self.criteria)


def with_weights(factors: tuple[Factor, ...], weights: Mapping[str, float]) -> tuple[Factor, ...]:
    """Copy of ``factors`` with some overlay weights replaced.

    Raises
    ------
    InputError
        If a name is not a factor (the message lists the factor names).

    Examples
    --------
    >>> from layers.micro.factors import MICRO_FACTORS
    >>> fs = with_weights(MICRO_FACTORS, {"edge": 0.3})
    >>> [f.weight for f in fs if f.name == "edge"]
    [0.3]
    """
    names = {f.name for f in factors}
    unknown = sorted(set(weights) - names)
    if unknown:
        raise InputError(
            f"unknown factor(s) {', '.join(unknown)} in weights; "
            f"factors are {', '.join(sorted(names))}"
        )
    return tuple(
        replace(f, weight=float(weights[f.name])) if f.name in weights else f for f in factors
    )


def with_thresholds(factors: tuple[Factor, ...], mode: str) -> tuple[Factor, ...]:
    """Copy of ``factors`` with percentile parameters set by ``mode``.

    ``"percentile"`` leaves them; ``"absolute"`` replaces every percentile parameter by
    the criterion's documented absolute value (``absolute_params``).

    Raises
    ------
    InputError
        For an unknown mode, or in absolute mode a criterion with a percentile parameter
        and no absolute value for it (the message names both).

    Examples
    --------
    >>> from layers.micro.factors import MICRO_FACTORS
    >>> fs = with_thresholds(MICRO_FACTORS, "absolute")
    >>> [dict(c.transform_params) for f in fs if f.name == "amenity" for c in f.criteria]
    [{'lower_threshold': 0, 'upper_threshold': 50.0}]
    """
    if mode not in THRESHOLD_MODES:
        raise InputError(f"thresholds must be one of {THRESHOLD_MODES}, got {mode!r}")
    if mode == "percentile":
        return factors
    out = []
    for f in factors:
        criteria = []
        for c in f.criteria:
            params = c.absolute_transform_params()
            left = sorted(k for k, v in params.items() if isinstance(v, str))
            if left:
                raise InputError(
                    f"criterion {c.name!r}: absolute thresholds asked for but "
                    f"{', '.join(left)} {'is' if len(left) == 1 else 'are'} a percentile with "
                    "no absolute value; give absolute_params or numbers in transform_params"
                )
            criteria.append(replace(c, transform_params=params) if params != dict(
                c.transform_params) else c)  # fmt: skip
        out.append(replace(f, criteria=tuple(criteria)))
    return tuple(out)
