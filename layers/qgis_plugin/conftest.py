"""Doctests of the plugin: the modules that need QGIS are collected only where QGIS is."""

from __future__ import annotations

import importlib.util

_NEEDS_QGIS = ["innosite_processing/algorithms.py", "innosite_processing/provider.py",
               "innosite_processing/plugin.py", "innosite_processing/results.py"]  # fmt: skip

collect_ignore = [] if importlib.util.find_spec("qgis") else _NEEDS_QGIS
