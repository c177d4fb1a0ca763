"""Writing results that desktop GIS software opens directly, without half-written files.

* :mod:`gis.io.folders` — output folders and files staged next to their target and
  moved into place only when everything succeeded, never onto the run's inputs;
* :mod:`gis.io.failures` — one line naming the file and the cause of an operating-system,
  GDAL, PROJ or SQLite failure;
* :mod:`gis.io.raster` — GeoTIFF reading and the one GeoTIFF writer (Cloud-Optimised
  GeoTIFFs, window by window or from an in-memory array);
* :mod:`gis.io.vector` — GeoPackage layers with a default QGIS style;
* :mod:`gis.io.gpkg` — a lean GeoPackage reader (numpy columns, shapely geometries);
* :mod:`gis.io.manifest` — checksums, library versions and the JSON run manifest.
"""

from __future__ import annotations

from gis.lazy import lazy_exports

#: Public name -> module that defines it. Each is loaded on first use, so reading a
#: GeoPackage (``gis.io.gpkg``) does not load the GeoTIFF stack (rasterio, GDAL).
_API: dict[str, str] = {
    "describe_failure": "gis.io.failures",
    **dict.fromkeys(
        [
            "atomic_file",
            "check_output_file",
            "check_output_folder",
            "input_paths",
            "output_folder",
            "remove_stale_staging",
            "temporary_sibling",
        ],
        "gis.io.folders",
    ),
    **dict.fromkeys(["gpkg_crs", "gpkg_layers", "read_gpkg"], "gis.io.gpkg"),
    **dict.fromkeys(
        ["file_checksum", "jsonable", "package_versions", "write_manifest"], "gis.io.manifest"
    ),
    **dict.fromkeys(
        [
            "BLOCK",
            "GridWindow",
            "RasterOutput",
            "WindowWriter",
            "gdal_env",
            "raster_grid",
            "read_geotiff",
            "write_geotiff",
            "write_geotiff_bands",
        ],
        "gis.io.raster",
    ),
    "write_geopackage": "gis.io.vector",
}

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API, globals())
