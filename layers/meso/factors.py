"""The meso preset: the layers of section 2.2 of Zhang (2022), universities, metro, their data.

Innovation centres "place high demands on a city's flows of factors, industrial
system, market size and living environment" (sec. 2.2). :data:`MESO_FACTORS` makes
that raster layers of a metropolitan region: transport hubs, market potential,
city size, industrial diversity, liveability and the tie to the macro hierarchy, plus
the innovation content of the region: its universities (campuses weighted by tier,
:data:`UNIVERSITY_TIER_WEIGHTS`) and its metro network, both from the shipped tables of
:mod:`layers.china.data`. :data:`NATIONAL_FACTORS` is the selection a country-wide run
computes offline.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gis.access import AccessClass
from gis.sources import TagFilter
from layers.spec import Criterion, Factor

__all__ = [
    "AMENITY_TAGS",
    "CITY_SIZE_CLASSES",
    "CONSTRAINT_TAGS",
    "GREEN_TAGS",
    "HSR_STATION_DISTANCE",
    "HUB_CLASSES",
    "HUB_TAGS",
    "LANDUSE_CATEGORIES",
    "MESO_FACTORS",
    "NATIONAL_FACTORS",
    "POI_CATEGORIES",
    "UNIVERSITY_TIER_WEIGHTS",
    "VOCATIONAL_WEIGHT",
    "size_class",
]

#: Classes of hubs with the weight and distance decay of their access (sec. 2.2: "aviation
#: and shipping hubs, high-speed-rail and motorway hubs"). Scales are e-folding distances:
#: an international airport serves a whole region, a metro station its neighbourhood.
HUB_CLASSES: dict[str, AccessClass] = {
    "airport_international": AccessClass(1.0, 30_000.0),
    "airport_domestic": AccessClass(0.6, 20_000.0),
    "hsr_station": AccessClass(0.8, 10_000.0),
    "port": AccessClass(0.6, 15_000.0),
    "rail_station": AccessClass(0.5, 5_000.0),
    "motorway_junction": AccessClass(0.3, 3_000.0),
    "metro_station": AccessClass(0.4, 1_500.0),
}

#: City size classes of China's 2014 standard (urban population), with the score of a
#: city of that class: larger cities offer a larger market, more services and talent.
CITY_SIZE_CLASSES: tuple[tuple[str, float, float], ...] = (
    # (name, lower bound of population, score)
    ("super-large", 10_000_000, 1.0),
    ("mega", 5_000_000, 0.9),
    ("large I", 3_000_000, 0.8),
    ("large II", 1_000_000, 0.65),
    ("medium", 500_000, 0.5),
    ("small", 0, 0.3),
)

#: OSM tags of each kind of hub (a station near a high-speed line becomes ``hsr_station``).
HUB_TAGS: dict[str, TagFilter] = {
    "station": {"railway": ["station", "halt"]},
    "metro": {"station": ["subway", "light_rail", "monorail"], "subway": ["yes"]},
    "highspeed_line": {"highspeed": ["yes"]},
    "port": {"landuse": ["port"], "industrial": ["port"], "harbour": ["yes"]},
    "motorway_junction": {"highway": ["motorway_junction"]},
}

#: A station this close (m) to a ``highspeed=yes`` railway line is a high-speed-rail station.
HSR_STATION_DISTANCE: float = 500.0

#: Categories of economic activity (points and building/site polygons, first match wins),
#: for the diversity of the industrial system (sec. 2.2: "a diversified industrial system").
POI_CATEGORIES: dict[str, TagFilter] = {
    "research": {"amenity": ["university", "college", "research_institute"],
                 "office": ["research", "educational_institution"]},
    "ict": {"office": ["it", "telecommunication"]},
    "finance": {"office": ["financial", "financial_advisor", "insurance", "venture_capital"],
                "amenity": ["bank"]},
    "professional": {"office": ["lawyer", "consulting", "accountant", "tax_advisor", "architect",
                                "engineering", "patent_attorney", "notary", "advertising_agency"]},
    "corporate": {"office": ["company", "coworking", "association", "logistics"]},
    "manufacturing": {"man_made": ["works"], "industrial": True},
    "crafts": {"craft": True},
    "retail": {"shop": True},
    "hospitality": {"tourism": ["hotel", "hostel", "guest_house", "motel"],
                    "amenity": ["restaurant", "cafe", "bar", "pub", "fast_food", "food_court"]},
    "health": {"amenity": ["hospital", "clinic", "doctors", "dentist", "pharmacy"],
               "healthcare": True},
}  # fmt: skip

#: Land-use classes whose mix (by area) is the second half of industrial diversity.
LANDUSE_CATEGORIES: dict[str, TagFilter] = {
    "residential": {"landuse": ["residential"]},
    "commercial": {"landuse": ["commercial"]},
    "retail": {"landuse": ["retail"]},
    "industrial": {"landuse": ["industrial"]},
    "education": {"landuse": ["education"], "amenity": ["university", "college"]},
    "institutional": {"landuse": ["institutional", "religious"]},
    "port_logistics": {"landuse": ["port", "railway"]},
    "agriculture": {"landuse": ["farmland", "farmyard", "orchard", "vineyard",
                                "greenhouse_horticulture", "aquaculture"]},
}  # fmt: skip

#: Green and blue space for liveability (sec. 2.2: "a comfortable, liveable environment").
GREEN_TAGS: TagFilter = {
    "leisure": ["park", "garden", "nature_reserve", "common"],
    "landuse": ["forest", "grass", "meadow", "recreation_ground", "village_green"],
    "natural": ["wood", "water", "scrub", "heath", "grassland", "wetland", "beach"],
    "water": True,
}

#: Everyday services and amenities that make a place liveable.
AMENITY_TAGS: TagFilter = {
    "amenity": ["restaurant", "cafe", "school", "kindergarten", "hospital", "clinic",
                "pharmacy", "library", "cinema", "theatre", "arts_centre",
                "community_centre", "marketplace"],
    "shop": ["supermarket", "convenience", "mall", "department_store"],
    "leisure": ["sports_centre", "fitness_centre", "stadium"],
}  # fmt: skip

#: Constraint layer: cells on water bodies cannot host a centre.
CONSTRAINT_TAGS: dict[str, TagFilter] = {
    "water": {"natural": ["water"], "water": True, "waterway": ["riverbank"],
              "landuse": ["reservoir", "basin"]},
}  # fmt: skip

#: Weight of a campus by its university's tier (:data:`layers.china.data.TIERS`) in the
#: university layer: a 985 university counts as eight ordinary undergraduate universities, a
#: 211 one as four, one on the Double First-Class list only as three. The programmes select
#: the research universities (39 of 985, 116 of 211, 147 Double First-Class of about 2,700
#: institutions) and concentrate research funding and doctoral training in them; the
#: ratios are a judgement in that order (985 > 211 > Double First-Class > other), to
#: change in a copy of :data:`MESO_FACTORS`.
UNIVERSITY_TIER_WEIGHTS: dict[str, float] = {"985": 8.0, "211": 4.0, "dfc": 3.0, "other": 1.0}

#: Weight of a vocational college (``school_type`` 专科（高职）) of tier "other": teaching
#: colleges without research mandate count a quarter of an undergraduate university.
VOCATIONAL_WEIGHT: float = 0.25


def size_class(population: Any) -> np.ndarray:
    """Size class code (1 = super-large ... 6 = small) of populations (:data:`CITY_SIZE_CLASSES`).

    Examples
    --------
    >>> size_class([12_000_000, 4_000_000, 200_000]).tolist()
    [1, 3, 6]
    """
    p = np.asarray(population, dtype="float64")
    bounds = np.array([c[1] for c in CITY_SIZE_CLASSES])  # descending
    return (np.searchsorted(-bounds, -p, side="left") + 1).astype("int16")


#: The eight meso layers. The paper lists four conditions without ranking them (flows and
#: hubs, a diversified industrial system, a large market, a liveable environment): each
#: gets 0.2, and so do universities, the first resource of a centre in Table 2 and section
#: 2.1. City size (part of the market and of agglomeration), metro access (the flows inside
#: the city) and the tie to the macro hierarchy of centres get 0.1 each.
MESO_FACTORS: tuple[Factor, ...] = (
    Factor(
        name="hubs",
        title="Transport hubs",
        weight=0.2,
        criteria=(
            Criterion(
                name="hub_access",
                measure="hub_access",
                source="hubs",
                transform=None,
                description="access to airports, high-speed-rail and railway stations, "
                "ports, motorway junctions and metro stations, decaying with distance "
                "at a rate set by the hub class",
            ),
        ),
        rationale="'The formation and development of innovation centres rest on large flows "
        "of technology, information, goods and people ... aviation and shipping hubs, "
        "high-speed-rail and motorway hubs or comprehensive gateways promote them' (sec. 2.2). "
        "Per class of hub: weight x exp(-distance / scale) (HUB_CLASSES); classes combine "
        "as 1 - prod(1 - a), so several kinds of hubs together form a gateway.",
    ),
    Factor(
        name="market",
        title="Market potential",
        weight=0.2,
        criteria=(
            Criterion(
                name="market_potential",
                measure="market_potential",
                source="population",
                transform="linear",
                transform_params={"lower_threshold": "p2", "upper_threshold": "p98"},
                description="population within reach: sum of P_j exp(-d_j / 25 km)",
            ),
        ),
        rationale="Innovation needs 'a stable market with great potential, that appreciates "
        "and adopts new technology' (sec. 2.2). Harris market potential of GeoNames places "
        "(or a population raster), scored linearly from the region's 2nd to its 98th "
        "percentile.",
    ),
    Factor(
        name="city_size",
        title="City size",
        weight=0.1,
        criteria=(
            Criterion(
                name="nearest_city",
                measure="nearest_city",
                source="cities",
                transform=None,
                measure_params={"scale": 20_000.0},
                description="distance to the city that serves the cell best: the "
                "nearest city, a bigger one counting as nearer",
            ),
        ),
        rationale="Larger cities carry a larger market, more services and more talent "
        "(sec. 2.1-2.2): max over cities of the size-class score (CITY_SIZE_CLASSES, China's "
        "2014 standard) times exp(-distance / 20 km), so a town next to a megacity does not "
        "hide it.",
    ),
    Factor(
        name="diversity",
        title="Industrial diversity",
        weight=0.2,
        criteria=(
            Criterion(
                name="poi_diversity",
                measure="poi_diversity",
                source="osm",
                categories=POI_CATEGORIES,
                transform="linear",
                transform_params={
                    "lower_threshold": 0.0,
                    "upper_threshold": math.log(len(POI_CATEGORIES)),
                },
                measure_params={"radius": 2000.0},
                weight=0.6,
                description="Shannon entropy of kinds of firms and services within 2 km",
            ),
            Criterion(
                name="landuse_diversity",
                measure="landuse_diversity",
                source="osm",
                categories=LANDUSE_CATEGORIES,
                transform="linear",
                transform_params={
                    "lower_threshold": 0.0,
                    "upper_threshold": math.log(len(LANDUSE_CATEGORIES)),
                },
                measure_params={"radius": 2000.0},
                weight=0.4,
                description="Shannon entropy of land-use classes (by area) within 2 km",
            ),
        ),
        rationale="'Innovation centres need to be built on a diversified industrial system "
        "... a complete industrial and supply chain' (sec. 2.2). Entropy of OSM categories "
        "in a 2 km window, scored as evenness (entropy / ln of the number of categories).",
    ),
    Factor(
        name="liveability",
        title="Liveability",
        weight=0.2,
        criteria=(
            Criterion(
                name="green_share",
                measure="green_share",
                source="osm",
                tags=GREEN_TAGS,
                transform="linear",
                transform_params={"lower_threshold": 0.0, "upper_threshold": 0.3},
                measure_params={"radius": 1000.0},
                weight=0.6,
                description="share of green and water within 1 km",
            ),
            Criterion(
                name="amenity_density",
                measure="amenity_density",
                source="osm",
                tags=AMENITY_TAGS,
                transform="linear",
                transform_params={"lower_threshold": 0.0, "upper_threshold": "p95"},
                measure_params={"bandwidth": 1000.0},
                weight=0.4,
                description="kernel density (1 km) of everyday services",
            ),
        ),
        rationale="'A comfortable, liveable urban environment attracts innovative talent and "
        "high-tech firms' (sec. 2.2): green and blue space (full score at 30 % within 1 km) "
        "and everyday services (full score at the region's 95th percentile of density).",
    ),
    Factor(
        name="universities",
        title="Universities",
        weight=0.2,
        criteria=(
            Criterion(
                name="campus_density",
                measure="campus_density",
                source="universities",
                transform="linear",
                transform_params={"lower_threshold": 0.0, "upper_threshold": 0.5},
                measure_params={"bandwidth": 5000.0},
                description="quartic kernel density (5 km) of university campuses weighted "
                "by tier (985 8, 211 4, Double First-Class 3, other 1, vocational 0.25)",
            ),
        ),
        rationale="Innovation centres rest on 'world-class universities and research "
        "institutes' (Table 2; sec. 2.1 counts Double First-Class universities) and grow "
        "around university districts (sec. 2.3). Campuses of the shipped university table "
        "(layers.china.data), weighted by tier (UNIVERSITY_TIER_WEIGHTS); full score from "
        "0.5 weighted campuses per km² (a university town: about 40 weighted campuses within "
        "5 km), an absolute threshold so one campus is never stretched to 1.",
    ),
    Factor(
        name="metro",
        title="Metro access",
        weight=0.1,
        criteria=(
            Criterion(
                name="metro_density",
                measure="station_density",
                source="metro",
                transform="linear",
                transform_params={"lower_threshold": 0.0, "upper_threshold": 0.5},
                measure_params={"bandwidth": 3000.0},
                description="quartic kernel density (3 km) of metro stations",
            ),
        ),
        rationale="Flows of people inside the region ride on its metro network (sec. 2.2: "
        "'large flows of technology, information, goods and people'); a metro station "
        "within reach ties a site to the whole city, and where lines cross stations are "
        "dense. Kernel density (3 km) of the stations of the shipped metro table (48 "
        "cities); full score from 0.5 stations per km² (about 14 stations within 3 km, "
        "where several lines meet), an absolute threshold.",
    ),
    Factor(
        name="macro",
        title="Macro hierarchy",
        weight=0.1,
        criteria=(
            Criterion(
                name="centre_distance",
                measure="centre_distance",
                source="macro",
                transform="linear",
                transform_params={
                    "lower_threshold": 0.0,
                    "upper_threshold": 150_000.0,
                    "from_scale": 1.0,
                    "to_scale": 0.0,
                },
                description="distance to the nearest centre of the chosen tier or above",
            ),
        ),
        rationale="Centres form a hierarchy linked by spillovers that decay with distance "
        "(sec. 1.2): a site gains from a centre of the chosen tier or above nearby. Full "
        "score at the centre, none beyond 150 km.",
    ),
)

#: The layers a national run can compute offline: the meso layers without those that
#: need OpenStreetMap (industrial diversity, liveability), which a country-wide run
#: does not read, and without the university and metro layers of the shipped tables.
NATIONAL_FACTORS: tuple[Factor, ...] = tuple(
    f for f in MESO_FACTORS if "osm" not in f.sources and f.name not in ("universities", "metro")
)
