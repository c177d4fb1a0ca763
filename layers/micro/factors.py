"""Factor layers of Zhang (2022), declared as small specs that compose ``gis`` functions.

A :class:`Factor` is one location factor of the paper (e.g. *university districts*).
It is made of one or more :class:`Criterion` objects, each a raw measure computed
from OpenStreetMap features (a distance, a walking time, a kernel density, a share
of built-up area) and a transform (:func:`gis.transforms.rescale`) that turns the
raw measure into a 0–1 score. The factor score is the weighted mean of its
criterion scores; the factor weight enters the overlay.

The micro preset (:data:`MICRO_FACTORS`) follows section 2.3 of the paper, which
says innovation centres inside a city gather "at the edge of the central city: in
university districts, cultural and artistic clusters, parks of high-tech firms,
pleasant natural surroundings or historic districts"; that high-tech workers
prefer "low-density buildings and a comfortable, quiet working environment"; that
good sites are "at the city edge but well served by transport", "easy for
face-to-face exchange", "where the related groups gather ... close to research
institutes and related firms" and "close to venture capital, law and consulting
firms".

Transform parameters may be numbers or percentile strings such as ``"p95"``:
the 95th percentile of the raw measure over the cells of the study area, so a
density preference adapts to the city at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gis.errors import InputError

__all__ = [
    "EMPTY_RULES",
    "MEASURES",
    "MICRO_FACTORS",
    "Criterion",
    "Factor",
    "with_weights",
]

#: Raw measures a criterion can use, with their units.
MEASURES: dict[str, str] = {
    "walk_distance": "m",  # along the walking network; straight line where there is none
    "walk_time": "min",  # walk_distance at gis.settings.walking_speed
    "distance": "m",  # straight-line (Euclidean) distance
    "density": "features/km2",  # quartic kernel density of feature centroids
    "coverage": "share",  # share of a circular neighbourhood covered by the features
    "center_distance": "m",  # straight-line distance from the city centre
}

#: What to do with a criterion or factor whose features are absent from the area.
EMPTY_RULES: tuple[str, ...] = ("drop", "zero", "one")


@dataclass(frozen=True)
class Criterion:
    """One raw measure of OSM features and its transform to a 0–1 score.

    Parameters
    ----------
    name
        Identifier, used in output file names (``raw/<name>.tif``).
    tags
        OSM tag filter: key → ``True`` (any value) or a list of values.
    measure
        One of :data:`MEASURES`.
    transform
        A :data:`gis.transforms.TRANSFORMS` name.
    transform_params
        Keyword arguments of :func:`gis.transforms.rescale`; strings ``"pNN"`` are
        percentiles of the raw measure over the study area.
    measure_params
        Keyword arguments of the measure (``bandwidth``, ``radius`` in metres).
    weight
        Weight of this criterion inside its factor.
    when_empty
        Rule when no feature matches: ``None`` (the run's rule), ``"drop"``,
        ``"zero"`` or ``"one"`` (the absence of a nuisance, e.g. no major road, is good).
    description
        What the criterion measures, in words.
    """

    name: str
    tags: Mapping[str, Any]
    measure: str
    transform: str
    transform_params: Mapping[str, Any] = field(default_factory=dict)
    measure_params: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    when_empty: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise InputError(
                f"criterion {self.name!r}: unknown measure {self.measure!r}; "
                f"choose one of {', '.join(MEASURES)}"
            )
        if self.when_empty is not None and self.when_empty not in EMPTY_RULES:
            raise InputError(
                f"criterion {self.name!r}: when_empty must be one of {EMPTY_RULES}, "
                f"got {self.when_empty!r}"
            )

    @property
    def units(self) -> str:
        """Units of the raw measure."""
        return MEASURES[self.measure]


@dataclass(frozen=True)
class Factor:
    """A location factor: weighted criteria and the factor's overlay weight."""

    name: str
    title: str
    weight: float
    criteria: tuple[Criterion, ...]
    rationale: str = ""


_UNIVERSITY = {
    "amenity": ["university", "college", "research_institute"],
    "building": ["university", "college"],
    "office": ["research", "educational_institution"],
}
_AMENITY = {
    "amenity": ["cafe", "restaurant", "bar", "pub", "library", "coworking_space", "food_court"],
    "office": ["coworking"],
}
_TRANSIT = {
    "railway": ["station", "halt", "tram_stop", "subway_entrance"],
    "public_transport": ["station"],
    "station": ["subway", "light_rail", "train"],
}
_GREEN = {
    "leisure": ["park", "garden", "nature_reserve", "common"],
    "landuse": ["forest", "grass", "meadow", "recreation_ground", "village_green"],
    "natural": ["wood", "water", "scrub", "heath", "grassland", "beach", "wetland"],
    "water": True,
    "waterway": ["river", "canal", "riverbank"],
}
_MAJOR_ROADS = {
    "highway": ["motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"],
}
_BUILDINGS = {"building": True}
_CULTURE = {
    "tourism": ["museum", "gallery", "artwork", "attraction"],
    "amenity": ["theatre", "arts_centre", "cinema", "exhibition_centre"],
    "historic": True,
    "heritage": True,
}
_OFFICES = {
    "office": [
        "it", "research", "financial", "financial_advisor", "lawyer", "consulting",
        "company", "coworking", "engineering", "architect", "accountant", "tax_advisor",
        "venture_capital", "telecommunication", "association", "patent_attorney",
    ],
    "amenity": ["coworking_space"],
}  # fmt: skip
_BUSINESS_LAND = {
    "landuse": ["commercial", "office"],
    "industrial": ["high_tech", "science_park"],
    "place": ["technology_park"],
}

#: Default micro-scale factors (inside a city), weights summing to 1.
MICRO_FACTORS: tuple[Factor, ...] = (
    Factor(
        "university",
        "University districts",
        0.18,
        (
            Criterion(
                "university_walk",
                _UNIVERSITY,
                "walk_distance",
                "linear",
                {"lower_threshold": 0, "upper_threshold": 2000, "from_scale": 1, "to_scale": 0},
                description="walking distance to the nearest university, college or institute",
            ),
        ),
        "Universities and research institutes are the source of talent and new knowledge; "
        "innovation districts grow in university districts (Zhongguancun, sec. 2.3). "
        "Full score on campus, none beyond a 2 km walk (about 25 min).",
    ),
    Factor(
        "amenity",
        "Face-to-face exchange",
        0.14,
        (
            Criterion(
                "amenity_density",
                _AMENITY,
                "density",
                "linear",
                {"lower_threshold": 0, "upper_threshold": "p95"},
                {"bandwidth": 400.0},
                description="kernel density of cafés, restaurants, bars, libraries, coworking",
            ),
        ),
        "Innovation needs places 'easy for face-to-face exchange' (sec. 2.3): cafés, "
        "restaurants, bars, libraries and coworking within a 400 m walk. The score grows "
        "linearly to the area's 95th percentile of density.",
    ),
    Factor(
        "transit",
        "Transit access",
        0.14,
        (
            Criterion(
                "transit_walk",
                _TRANSIT,
                "walk_time",
                "linear",
                {"lower_threshold": 5, "upper_threshold": 20, "from_scale": 1, "to_scale": 0},
                description="walking time to the nearest rail, metro or tram station or stop",
            ),
        ),
        "Sites at the city edge must still be 'convenient for transport' (sec. 2.3). "
        "Full score within a 5-minute walk of a rail, metro or tram stop, none beyond 20.",
    ),
    Factor(
        "green_quiet",
        "Green and quiet",
        0.12,
        (
            Criterion(
                "green_walk",
                _GREEN,
                "distance",
                "linear",
                {"lower_threshold": 0, "upper_threshold": 800, "from_scale": 1, "to_scale": 0},
                weight=0.6,
                description="distance to parks, woods and water",
            ),
            Criterion(
                "major_road_distance",
                _MAJOR_ROADS,
                "distance",
                "linear",
                {"lower_threshold": 0, "upper_threshold": 200, "from_scale": 0, "to_scale": 1},
                weight=0.4,
                when_empty="one",
                description="distance from motorways, trunk and primary roads",
            ),
        ),
        "High-tech workers prefer 'a comfortable, pleasant and quiet working environment' "
        "(sec. 2.3): near parks and water (full score inside, none beyond 800 m) and away "
        "from major roads (none on them, full from 200 m).",
    ),
    Factor(
        "edge",
        "Edge of the central city",
        0.08,
        (
            Criterion(
                "center_distance",
                {},
                "center_distance",
                "band",
                {"a": "p10", "b": "p30", "c": "p70", "d": "p98"},
                description="distance from the city centre (given, or the peak of POI density)",
            ),
        ),
        "Innovation centres 'mostly lie at the edge of the central city' (sec. 2.3): "
        "neither the core nor the far periphery. A band on distance from the centre: 0 "
        "in the innermost 10 % of the area, full between the 30th and 70th percentiles.",
    ),
    Factor(
        "low_density",
        "Low building density",
        0.08,
        (
            Criterion(
                "building_coverage",
                _BUILDINGS,
                "coverage",
                "linear",
                {"lower_threshold": 0.15, "upper_threshold": 0.6, "from_scale": 1, "to_scale": 0},
                {"radius": 200.0},
                description="share of ground covered by buildings within 200 m",
            ),
        ),
        "High-tech workers prefer 'low-density buildings' (sec. 2.3): full score at up to "
        "15 % building coverage within 200 m, none at 60 % or more.",
    ),
    Factor(
        "culture",
        "Culture and heritage",
        0.08,
        (
            Criterion(
                "culture_distance",
                _CULTURE,
                "distance",
                "linear",
                {"lower_threshold": 0, "upper_threshold": 1500, "from_scale": 1, "to_scale": 0},
                description="distance to museums, theatres, arts centres and historic sites",
            ),
        ),
        "Innovation gathers in 'cultural and artistic clusters' and 'historic districts' "
        "and values an identity of place (sec. 2.3). Full score at the site, none beyond 1.5 km.",
    ),
    Factor(
        "ecosystem",
        "Innovation ecosystem",
        0.18,
        (
            Criterion(
                "office_density",
                _OFFICES,
                "density",
                "linear",
                {"lower_threshold": 0, "upper_threshold": "p95"},
                {"bandwidth": 500.0},
                weight=0.7,
                description="kernel density of IT, research, finance, venture-capital, law "
                "and consulting offices and coworking",
            ),
            Criterion(
                "business_land_distance",
                _BUSINESS_LAND,
                "distance",
                "linear",
                {"lower_threshold": 0, "upper_threshold": 1000, "from_scale": 1, "to_scale": 0},
                weight=0.3,
                description="distance to commercial, office and high-tech land use",
            ),
        ),
        "Sites should be 'close to research institutes and related firms' and 'to venture "
        "capital, law and consulting firms' near 'parks of high-tech firms' (sec. 2.3).",
    ),
)


def with_weights(factors: tuple[Factor, ...], weights: Mapping[str, float]) -> tuple[Factor, ...]:
    """Copy of ``factors`` with some overlay weights replaced.

    Raises
    ------
    InputError
        If a name is not a factor (the message lists the factor names).

    Examples
    --------
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
