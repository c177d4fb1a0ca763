"""Whole-process time and peak memory of the three raster commands (median of N runs)."""
from __future__ import annotations
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

COMMANDS = {
    "micro": ["micro"],
    "meso": ["meso"],
    "national-1km": ["national", "--cell-size", "1000"],
}

def run_once(args, folder):
    out = Path(folder) / "out"
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "layers.cli", *args, "--out", str(out), "-q"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    shutil.rmtree(out)
    return wall, rss / 1024

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("names", nargs="*", default=list(COMMANDS))
    a = ap.parse_args()
    print(f"{'command':14} {'median s':>9} {'min s':>7} {'peak MiB':>9}")
    for name in a.names:
        walls, rss = [], []
        with tempfile.TemporaryDirectory() as d:
            for _ in range(a.repeat):
                w, r = run_once(COMMANDS[name], d)
                walls.append(w); rss.append(r)
        print(f"{name:14} {statistics.median(walls):9.2f} {min(walls):7.2f} {max(rss):9.0f}", flush=True)

if __name__ == "__main__":
    main()
