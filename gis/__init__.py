"""innosite's GIS engine: grids, sources, measures, transforms, overlay, regions, outputs.

The engine knows nothing about innovation; the domain lives in :mod:`layers`. The modules
follow the data path of a suitability analysis::

    area, grid       gis.grid, gis.sources (OSM online or from files), gis.coords
    measures         gis.distance, gis.network, gis.measures (density, coverage, focal),
                     gis.convolve, gis.decay, gis.potential, gis.diversity, gis.access
    scores           gis.transforms (ArcGIS Rescale by Function), gis.normalize
    overlay          gis.overlay (aggregation, constraints), gis.weights, gis.composite
    sites            gis.regions, gis.zones (windowed), gis.locate, gis.sensitivity,
                     gis.explain, gis.classify, gis.spillover
    engine           gis.engine (memory, windows, Dask), gis.windows, gis.windowed
    outputs          gis.io (folders, rasters, vectors, manifests), gis.maps, gis.styles

The names below are the curated public API, importable from ``gis`` directly; each is
loaded on first use, so ``import gis`` stays cheap. A function that shares its module's name
(``gis.convolve.convolve``, ``gis.decay.decay``, ``gis.normalize.normalize``,
``gis.classify.classify``) is imported from its module, so ``gis.convolve`` stays the module.

Examples
--------
>>> import gis
>>> gis.Grid.__module__, gis.euclidean_distance.__module__
('gis.grid', 'gis.distance')
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from gis.lazy import lazy_exports

try:
    __version__ = version("innosite")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

#: Public name -> module that defines it.
_API: dict[str, str] = {
    **dict.fromkeys(["Grid", "grid_for_area", "utm_crs"], "gis.grid"),
    **dict.fromkeys(
        [
            "OSMData",
            "area_from_bbox",
            "area_from_file",
            "area_from_place",
            "load_osm_file",
            "load_osm_online",
            "match_tags",
        ],
        "gis.sources",
    ),
    **dict.fromkeys(["euclidean_distance", "nearest_point", "shape_distance"], "gis.distance"),
    **dict.fromkeys(["Network", "network_distance", "node_distance"], "gis.network"),
    **dict.fromkeys(["count_within", "coverage", "focal_mean", "kernel_density"], "gis.measures"),
    **dict.fromkeys(["DECAYS", "reach"], "gis.decay"),
    **dict.fromkeys(["market_potential", "raster_potential"], "gis.potential"),
    **dict.fromkeys(["category_diversity", "point_diversity"], "gis.diversity"),
    "class_access": "gis.access",
    **dict.fromkeys(["TRANSFORMS", "Rescaled", "rescale"], "gis.transforms"),
    **dict.fromkeys(
        [
            "AGGREGATIONS",
            "aggregate",
            "apply_constraints",
            "exclusion_mask",
            "normalize_weights",
            "weighted_linear_combination",
        ],
        "gis.overlay",
    ),
    **dict.fromkeys(["WEIGHT_METHODS", "ahp", "compute_weights"], "gis.weights"),
    **dict.fromkeys(["composite_index"], "gis.composite"),
    **dict.fromkeys(["candidate_regions", "label_regions"], "gis.regions"),
    "windowed_candidate_regions": "gis.zones",
    "locate_regions": "gis.locate",
    **dict.fromkeys(["monte_carlo", "weight_sweep"], "gis.sensitivity"),
    **dict.fromkeys(["explain_cells", "explain_regions"], "gis.explain"),
    **dict.fromkeys(["Engine", "compute_blocks"], "gis.engine"),
    **dict.fromkeys(["Window", "plan_windows"], "gis.windows"),
    **dict.fromkeys(
        [
            "RasterOutput",
            "WindowWriter",
            "gpkg_crs",
            "gpkg_layers",
            "output_folder",
            "read_geotiff",
            "read_gpkg",
            "write_geopackage",
            "write_geotiff",
            "write_manifest",
        ],
        "gis.io",
    ),
    "suitability_map": "gis.maps",
    **dict.fromkeys(
        ["DataSourceError", "GridSizeError", "InputError", "NoDataError", "OutputExistsError"],
        "gis.errors",
    ),
}

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API, globals())
