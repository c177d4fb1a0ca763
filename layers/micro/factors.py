"""Factor layers of Zhang (2022), declared as small specs that compose ``gis`` functions.

A :class:`layers.spec.Factor` is one location factor of the paper (e.g. *university
districts*). It is made of one or more :class:`layers.spec.Criterion` objects, each a raw
measure (:data:`layers.measures.MEASURES`) computed from OpenStreetMap features (a
distance, a walking time, a kernel density, a share of built-up area) and a transform
(:func:`gis.transforms.rescale`) that turns the raw measure into a 0–1 score. The
factor score is the weighted mean of its criterion scores; the factor weight enters the overlay.

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

from layers.spec import Criterion, Factor

__all__ = ["MICRO_FACTORS"]

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
        name="university",
        title="University districts",
        weight=0.18,
        criteria=(
            Criterion(
                name="university_walk",
                tags=_UNIVERSITY,
                measure="walk_distance",
                transform="linear",
                transform_params={
                    "lower_threshold": 0,
                    "upper_threshold": 2000,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                description="walking distance to the nearest university, college or institute",
            ),
        ),
        rationale="Universities and research institutes are the source of talent and new "
        "knowledge; innovation districts grow in university districts (Zhongguancun, sec. 2.3). "
        "Full score on campus, none beyond a 2 km walk (about 25 min).",
    ),
    Factor(
        name="amenity",
        title="Face-to-face exchange",
        weight=0.14,
        criteria=(
            Criterion(
                name="amenity_density",
                tags=_AMENITY,
                measure="density",
                transform="linear",
                transform_params={"lower_threshold": 0, "upper_threshold": "p95"},
                absolute_params={"upper_threshold": 50.0},
                measure_params={"bandwidth": 400.0},
                description="kernel density of cafés, restaurants, bars, libraries, coworking",
            ),
        ),
        rationale="Innovation needs places 'easy for face-to-face exchange' (sec. 2.3): cafés, "
        "restaurants, bars, libraries and coworking within a 400 m walk. The score grows "
        "linearly to the area's 95th percentile of density; with absolute thresholds, to 50 "
        "venues per km² (about 25 within 400 m, a lively street).",
    ),
    Factor(
        name="transit",
        title="Transit access",
        weight=0.14,
        criteria=(
            Criterion(
                name="transit_walk",
                tags=_TRANSIT,
                measure="walk_time",
                transform="linear",
                transform_params={
                    "lower_threshold": 5,
                    "upper_threshold": 20,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                description="walking time to the nearest rail, metro or tram station or stop",
            ),
        ),
        rationale="Sites at the city edge must still be 'convenient for transport' (sec. 2.3). "
        "Full score within a 5-minute walk of a rail, metro or tram stop, none beyond 20.",
    ),
    Factor(
        name="green_quiet",
        title="Green and quiet",
        weight=0.12,
        criteria=(
            Criterion(
                name="green_walk",
                tags=_GREEN,
                measure="distance",
                transform="linear",
                transform_params={
                    "lower_threshold": 0,
                    "upper_threshold": 800,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                weight=0.6,
                description="distance to parks, woods and water",
            ),
            Criterion(
                name="major_road_distance",
                tags=_MAJOR_ROADS,
                measure="distance",
                transform="linear",
                transform_params={
                    "lower_threshold": 0,
                    "upper_threshold": 200,
                    "from_scale": 0,
                    "to_scale": 1,
                },
                weight=0.4,
                when_empty="one",
                description="distance from motorways, trunk and primary roads",
            ),
        ),
        rationale="High-tech workers prefer 'a comfortable, pleasant and quiet working "
        "environment' (sec. 2.3): near parks and water (full score inside, none beyond 800 m) "
        "and away from major roads (none on them, full from 200 m).",
    ),
    Factor(
        name="edge",
        title="Edge of the central city",
        weight=0.08,
        criteria=(
            Criterion(
                name="center_distance",
                source="centre",
                measure="center_distance",
                transform="band",
                transform_params={"a": "p10", "b": "p30", "c": "p70", "d": "p98"},
                absolute_params={"a": 1000.0, "b": 2500.0, "c": 6000.0, "d": 12000.0},
                description="distance from the city centre (given, or the peak of POI density)",
            ),
        ),
        rationale="Innovation centres 'mostly lie at the edge of the central city' (sec. 2.3): "
        "neither the core nor the far periphery. A band on distance from the centre: 0 "
        "in the innermost 10 % of the area, full between the 30th and 70th percentiles; with "
        "absolute thresholds, 0 within 1 km of the centre, full from 2.5 to 6 km, 0 beyond "
        "12 km (the inner ring roads of a Chinese central city lie 2-6 km out).",
    ),
    Factor(
        name="low_density",
        title="Low building density",
        weight=0.08,
        criteria=(
            Criterion(
                name="building_coverage",
                tags=_BUILDINGS,
                measure="coverage",
                transform="linear",
                transform_params={
                    "lower_threshold": 0.15,
                    "upper_threshold": 0.6,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                measure_params={"radius": 200.0},
                description="share of ground covered by buildings within 200 m",
            ),
        ),
        rationale="High-tech workers prefer 'low-density buildings' (sec. 2.3): full score at "
        "up to 15 % building coverage within 200 m, none at 60 % or more.",
    ),
    Factor(
        name="culture",
        title="Culture and heritage",
        weight=0.08,
        criteria=(
            Criterion(
                name="culture_distance",
                tags=_CULTURE,
                measure="distance",
                transform="linear",
                transform_params={
                    "lower_threshold": 0,
                    "upper_threshold": 1500,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                description="distance to museums, theatres, arts centres and historic sites",
            ),
        ),
        rationale="Innovation gathers in 'cultural and artistic clusters' and 'historic districts' "
        "and values an identity of place (sec. 2.3). Full score at the site, none beyond 1.5 km.",
    ),
    Factor(
        name="ecosystem",
        title="Innovation ecosystem",
        weight=0.18,
        criteria=(
            Criterion(
                name="office_density",
                tags=_OFFICES,
                measure="density",
                transform="linear",
                transform_params={"lower_threshold": 0, "upper_threshold": "p95"},
                absolute_params={"upper_threshold": 20.0},
                measure_params={"bandwidth": 500.0},
                weight=0.7,
                description="kernel density of IT, research, finance, venture-capital, law "
                "and consulting offices and coworking",
            ),
            Criterion(
                name="business_land_distance",
                tags=_BUSINESS_LAND,
                measure="distance",
                transform="linear",
                transform_params={
                    "lower_threshold": 0,
                    "upper_threshold": 1000,
                    "from_scale": 1,
                    "to_scale": 0,
                },
                weight=0.3,
                description="distance to commercial, office and high-tech land use",
            ),
        ),
        rationale="Sites should be 'close to research institutes and related firms' and 'to "
        "venture capital, law and consulting firms' near 'parks of high-tech firms' (sec. 2.3). "
        "Office density scores to the area's 95th percentile, or with absolute thresholds "
        "to 20 offices per km² (about 16 within 500 m).",
    ),
)
