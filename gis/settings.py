"""Typed, documented settings in one place.

Change them at run time, e.g. ``gis.settings.memory_budget = 8 * 2**30``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Bytes one analysis may hold in memory for its rasters. A grid whose working set
#: (about :data:`bytes_per_cell` per cell) exceeds it is refused with its size.
memory_budget: int = int(os.environ.get("INNOSITE_MEMORY_BUDGET", 12 * 2**30))

#: Working-set estimate per grid cell, in bytes, for a full micro run: a handful of
#: float32 layers alive at once plus float64 temporaries of the distance transform.
bytes_per_cell: int = 64

#: Folder for cached downloads (OSM responses) and converted files.
cache_folder: Path = Path(os.environ.get("INNOSITE_CACHE", Path.home() / ".cache" / "innosite"))

#: Use osmnx's on-disk HTTP cache for online OSM queries.
use_cache: bool = True

#: Smallest and largest accepted cell sizes in metres for city-scale (micro) grids.
min_cell_size: float = 1.0
max_cell_size: float = 1000.0

#: Walking speed in metres per second (5 km/h) used to turn walking distance into time.
walking_speed: float = 5000.0 / 3600.0

#: Threads for k-d tree queries in distance measures (``-1``: all cores).
workers: int = int(os.environ.get("INNOSITE_WORKERS", -1))

#: The ``innosite`` command keeps memory freed by large arrays for reuse (glibc only,
#: :func:`gis.memory.keep_freed_memory`); ``INNOSITE_KEEP_FREED_MEMORY=0`` turns it off.
keep_freed_memory: bool = os.environ.get("INNOSITE_KEEP_FREED_MEMORY", "1") != "0"
