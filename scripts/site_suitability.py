#!/usr/bin/env python
"""Innovation-district site suitability for a city (the ``innosite micro`` command).

Run with no arguments for the embedded central-Helsinki example, e.g.::

    python scripts/site_suitability.py --out helsinki-out
    python scripts/site_suitability.py --osm-file district.osm --cell-size 20 --out out
"""

from __future__ import annotations

import sys

from layers.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["micro", *sys.argv[1:]]))
