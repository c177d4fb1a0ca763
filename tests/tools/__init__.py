"""Tests against real external programs: QGIS, Chromium, GDAL and GRASS."""
