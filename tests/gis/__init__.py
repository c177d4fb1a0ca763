"""Unit tests of the GIS engine (package gis)."""
