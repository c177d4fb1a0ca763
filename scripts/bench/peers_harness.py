"""Run the shared peer benchmark harness with innosite as a candidate and print the ratios.

The harness (``run_peers.py``, found with ``--bench`` or at ``../shared/bench`` next to
the repository, or ``/work/shared/bench``) times GIS engines and Python libraries on five
site-suitability workloads (W1-W5). This script adds innosite's candidates from
``innosite_candidates.json`` next to it (each runs a function of ``innosite_adapter.py``
through innosite's public API), runs the harness with its results written outside the
harness folder, and prints for each innosite candidate the ratio of its median time and
peak memory to the fastest correct peer of the same workload and size.

    python scripts/bench/peers_harness.py --sizes 2000 --workloads W3 --repeats 1
    python scripts/bench/peers_harness.py --table-only       # ratios of an earlier run

A full run (three sizes, all workloads) takes about 50 minutes on two cores.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CANDIDATES = HERE / "innosite_candidates.json"
DEFAULT_RESULTS = Path.home() / ".cache" / "innosite-bench" / "results-innosite"


def find_bench(given: str | None) -> Path:
    """The harness folder: ``given``, else ``../shared/bench`` next to the repository."""
    for p in [given] if given else [REPO.parent / "shared" / "bench", Path("/work/shared/bench")]:
        if p and (Path(p) / "run_peers.py").is_file():
            return Path(p).resolve()
    sys.exit(f"no run_peers.py found (tried {given or REPO.parent / 'shared' / 'bench'}); "
             "pass --bench DIR")  # fmt: skip


def candidates_file(folder: Path) -> Path:
    """Write the candidates with ``{repo}`` resolved to this checkout; return its path."""
    items = json.loads(CANDIDATES.read_text())
    for it in items:
        it["cmd"] = [a.replace("{repo}", str(REPO)) for a in it["cmd"]]
    path = folder / "innosite_candidates.json"
    path.write_text(json.dumps(items, indent=1))
    return path


def partial_peers(bench: Path | None) -> set[tuple[str, str]]:
    """(workload, peer) of the harness's peers that do only part of a workload."""
    registry = bench / "peers" / "registry.py" if bench else None
    if registry is None or not registry.is_file():
        return set()
    spec = importlib.util.spec_from_file_location("_peer_registry", registry)
    if spec is None or spec.loader is None:
        return set()
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {(p["workload"], p["name"]) for p in module.PEERS if p.get("partial")}


def ratio_rows(summary: Path, partial: set[tuple[str, str]] = frozenset()) -> list[dict[str, str]]:
    """One row per innosite candidate and size: time and memory ratios to the fastest
    correct peer (not innosite, not one doing only part of the workload) of its
    workload and size."""
    with summary.open() as fh:
        rows = list(csv.DictReader(fh))

    def ok(r: dict[str, str]) -> bool:
        return r["status"] == "ok" and r["check_ok"] != "False" and bool(r["median_s"])

    out = []
    for r in rows:
        if not r["peer"].startswith("innosite") or not ok(r):
            continue
        peers = [
            p for p in rows
            if p["workload"] == r["workload"] and p["n"] == r["n"]
            and not p["peer"].startswith("innosite") and ok(p)
            and (p["workload"], p["peer"]) not in partial
        ]  # fmt: skip
        if not peers:
            continue
        best = min(peers, key=lambda p: float(p["median_s"]))
        mem = (
            f"{float(r['peak_mb']) / float(best['peak_mb']):.2f}"
            if r["peak_mb"] and best["peak_mb"]
            else "-"
        )
        out.append({
            "workload": r["workload"], "n": r["n"], "candidate": r["peer"],
            "median_s": f"{float(r['median_s']):.2f}", "fastest_peer": best["peer"],
            "peer_s": f"{float(best['median_s']):.2f}",
            "time_ratio": f"{float(r['median_s']) / float(best['median_s']):.2f}",
            "mem_ratio": mem, "check": r["check"] or "",
        })  # fmt: skip
    return sorted(out, key=lambda o: (o["workload"], int(o["n"]), o["candidate"]))


def print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        print("no innosite candidate with a correct result and a correct peer to compare")
        return
    cols = list(rows[0])
    width = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    print(" | ".join(c.ljust(width[c]) for c in cols))
    print("-+-".join("-" * width[c] for c in cols))
    for r in rows:
        print(" | ".join(r[c].ljust(width[c]) for c in cols))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", help="harness folder (default ../shared/bench)")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter that runs the harness and its Python peers")  # fmt: skip
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000])
    ap.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3", "W4", "W5"])
    ap.add_argument(
        "--candidates",
        nargs="+",
        default=["innosite-*"],
        help="glob(s) of innosite candidates to run (reference peers always run)",
    )
    ap.add_argument(
        "--peers",
        nargs="*",
        default=[],
        help="more peers to run side by side, e.g. 'py-*' gdal-cli grass",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    ap.add_argument("--tag", default="innosite")
    ap.add_argument("--table-only", action="store_true", help="print the ratios of an earlier run")
    args = ap.parse_args()

    summary = args.results / f"summary_{args.tag}.csv" if args.tag else args.results / "summary.csv"
    bench = find_bench(args.bench) if not args.table_only or args.bench else None
    if not args.table_only:
        assert bench is not None
        args.results.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                args.python, str(bench / "run_peers.py"),
                "--sizes", *map(str, args.sizes), "--workloads", *args.workloads,
                "--peers", *args.candidates, *args.peers, "--repeats", str(args.repeats),
                "--candidates", str(candidates_file(Path(tmp))),
                "--results", str(args.results), "--tag", args.tag,
            ]  # fmt: skip
            print("$ " + " ".join(cmd), flush=True)
            subprocess.run(cmd, env=env, check=True)
    if not summary.is_file():
        found = sorted(args.results.glob("summary*.csv"))
        if not found:
            sys.exit(f"no summary CSV in {args.results}")
        summary = found[-1]
    print(f"\ninnosite / fastest correct peer ({summary}):")
    if bench is None:
        try:
            bench = find_bench(None)
        except SystemExit:
            bench = None
    print_table(ratio_rows(summary, partial_peers(bench)))


if __name__ == "__main__":
    main()
