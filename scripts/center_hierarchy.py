#!/usr/bin/env python
"""Tier regions into innovation centres and link them (the ``innosite macro`` command).

Run with no arguments to reproduce Zhang (2022) Table 2 from Table 1 offline::

    python scripts/center_hierarchy.py --out macro-out
    python scripts/center_hierarchy.py --table cities.csv --indicators a,b,c --cost c --out out
"""

from __future__ import annotations

import sys

from layers.cli.macro import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
