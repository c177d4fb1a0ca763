"""innosite's GIS engine: grids, sources, measures, transforms, overlay, regions, outputs.

The engine knows nothing about innovation; the domain lives in :mod:`layers`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("innosite")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
