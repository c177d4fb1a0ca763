"""Whole-process time and peak memory of the raster commands on their default data.

Each command runs as its own process (``python -m layers.cli ...``) under GNU time,
``--repeat`` times; the table gives the median and fastest wall time and the largest
peak resident memory. Outputs go to a temporary folder that is removed.

Examples
--------
``python scripts/bench/bench_commands.py`` (micro, meso, national at 1 km, 3 runs each)
``python scripts/bench/bench_commands.py micro --repeat 5``
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Command-line arguments of each benchmarked run (after ``innosite``).
COMMANDS: dict[str, list[str]] = {
    "micro": ["micro"],
    "meso": ["meso"],
    "national-1km": ["national", "--cell-size", "1000"],
}


def run_once(args: list[str], folder: Path) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one whole run into ``folder/out``."""
    out = folder / "out"
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "layers.cli", *args]
    cmd += ["--out", str(out), "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"innosite {' '.join(args)} failed: {proc.stderr[-2000:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if found is None:
        raise SystemExit("GNU time printed no peak memory; install it (apt-get install time)")
    shutil.rmtree(out)
    return wall, int(found.group(1)) / 1024


def main() -> None:
    """Run each named command ``--repeat`` times and print one row per command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("names", nargs="*", default=list(COMMANDS), help=", ".join(COMMANDS))
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(COMMANDS))
    if unknown:
        parser.error(f"unknown command {unknown}; choose from {', '.join(COMMANDS)}")
    print(f"{'command':14} {'median s':>9} {'min s':>7} {'peak MiB':>9}")
    for name in args.names:
        walls, peaks = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeat):
                wall, peak = run_once(COMMANDS[name], Path(tmp))
                walls.append(wall)
                peaks.append(peak)
        median = statistics.median(walls)
        print(f"{name:14} {median:9.2f} {min(walls):7.2f} {max(peaks):9.0f}", flush=True)


if __name__ == "__main__":
    main()
