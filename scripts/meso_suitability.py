#!/usr/bin/env python
"""Where in a metropolitan region an innovation centre fits (the ``innosite meso`` command).

Run with no arguments for the Wuhan metropolitan area, offline, e.g.::

    python scripts/meso_suitability.py --out wuhan-meso
    python scripts/meso_suitability.py --region chengdu-chongqing --cell-size 500 --out cc
    python scripts/meso_suitability.py --osm-file district.osm --cell-size 100 --out district
"""

from __future__ import annotations

import sys

from layers.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["meso", *sys.argv[1:]]))
