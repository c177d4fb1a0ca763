"""Writing results that desktop GIS software opens directly, without half-written files."""

from gis.io.raster import (
    _atomic_file,
    _check_output_file,
    check_output_folder,
    file_checksum,
    output_folder,
    package_versions,
    read_geotiff,
    write_geopackage,
    write_geotiff,
    write_geotiff_bands,
    write_manifest,
)

__all__ = [
    "check_output_folder",
    "file_checksum",
    "output_folder",
    "package_versions",
    "read_geotiff",
    "write_geopackage",
    "write_geotiff",
    "write_geotiff_bands",
    "write_manifest",
]
