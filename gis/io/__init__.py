"""Writing results that desktop GIS software opens directly, without half-written files.

* :mod:`gis.io.folders` — output folders and files staged next to their target and
  moved into place only when everything succeeded, never onto the run's inputs;
* :mod:`gis.io.failures` — one line naming the file and the cause of an operating-system,
  GDAL, PROJ or SQLite failure;
* :mod:`gis.io.raster` — GeoTIFF reading and the one GeoTIFF writer (Cloud-Optimised
  GeoTIFFs, window by window or from an in-memory array);
* :mod:`gis.io.vector` — GeoPackage layers with a default QGIS style;
* :mod:`gis.io.manifest` — checksums, library versions and the JSON run manifest.
"""

from gis.io.failures import describe_failure
from gis.io.folders import (
    atomic_file,
    check_output_file,
    check_output_folder,
    input_paths,
    output_folder,
    remove_stale_staging,
    temporary_sibling,
)
from gis.io.manifest import file_checksum, jsonable, package_versions, write_manifest
from gis.io.raster import (
    BLOCK,
    GridWindow,
    RasterOutput,
    WindowWriter,
    gdal_env,
    raster_grid,
    read_geotiff,
    write_geotiff,
    write_geotiff_bands,
)
from gis.io.vector import write_geopackage

__all__ = [
    "BLOCK",
    "GridWindow",
    "RasterOutput",
    "WindowWriter",
    "atomic_file",
    "check_output_file",
    "check_output_folder",
    "describe_failure",
    "file_checksum",
    "gdal_env",
    "input_paths",
    "jsonable",
    "output_folder",
    "package_versions",
    "raster_grid",
    "read_geotiff",
    "remove_stale_staging",
    "temporary_sibling",
    "write_geopackage",
    "write_geotiff",
    "write_geotiff_bands",
    "write_manifest",
]
