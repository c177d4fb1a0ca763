"""Plain-text summaries printed at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["checks_text", "micro_summary", "table"]


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table with a header rule, columns padded to their widest cell.

    Examples
    --------
    >>> print(table([["a", "1"]], ["name", "n"]))
    name  n
    ----  -
    a     1
    """
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def micro_summary(result: Any, paths: dict[str, Path]) -> str:
    """What a micro run found and where its outputs are, for a terminal."""
    g = result.grid
    src = result.osm.source
    lines = [
        f"Data: {src.get('kind')} {src.get('path', src.get('service', ''))}"
        f" (OSM data date {src.get('osm_data_date') or 'unknown'})",
        f"Grid: {g.height} x {g.width} cells of {g.cell_size:g} m in {g.crs.to_string()}; "
        f"{int(result.inside.sum()):,} cells in the area",
        f"Walking network: {result.network.get('nodes', 0):,} nodes, "
        f"{result.network.get('edges', 0):,} edges",
        f"City centre: {result.center['lon']}, {result.center['lat']} ({result.center['method']})",
        *checks_text(getattr(result, "checks", None) or {}),
        "",
        "Factor coverage (features found in the area):",
    ]
    rows = [
        [
            r["factor"],
            r["criterion"],
            str(r["features"]),
            _status(r["status"]),
            f"{r['factor_weight']:.3f}",
        ]
        for r in result.coverage_table()
    ]
    lines.append(table(rows, ["factor", "criterion", "features", "status", "weight"]))
    cands = result.candidates
    lines += ["", f"Candidate districts: {len(cands)}"]
    if len(cands):
        factor_cols = [c for c in cands.columns if c in result.weights]
        top = cands.head(5)
        crow = [
            [str(int(r["rank"])), f"{r['area_ha']:.1f}", f"{r['mean_score']:.3f}"]
            + [f"{r[c]:.2f}" for c in factor_cols]
            for _, r in top.iterrows()
        ]
        lines.append(table(crow, ["rank", "ha", "score", *factor_cols]))
    lines += ["", *outputs_text(paths, noun="factor")]
    return "\n".join(lines)


def _status(status: str) -> str:
    if status == "ok":
        return "ok"
    return "too few -> left out" if status == "few" else f"empty -> {status}"


def checks_text(checks: Mapping[str, Any]) -> list[str]:
    """Lines on the data coverage, the conditions and the warnings of a run.

    Examples
    --------
    >>> print("\\n".join(checks_text({"data_coverage": {"share": 0.25, "cells_no_data": 3,
    ...     "rule": "mapped streets or buildings within 250 m"}, "warnings": ["few"]})))
    Data coverage: 25.0% of the area has mapped streets or buildings within 250 m; 3 cells \
(75.0%) are no data and hold no candidate
    Warning: few
    """
    lines = []
    cov = checks.get("data_coverage")
    if cov:
        lines.append(
            f"Data coverage: {cov['share']:.1%} of the area has {cov['rule']}; "
            f"{cov['cells_no_data']:,} cells ({1 - cov['share']:.1%}) are no data and hold "
            "no candidate"
        )
    for row in checks.get("conditions") or []:
        state = "applied" if row["applied"] else "not applied (the factor has no score)"
        failing = row.get("cells_failing")
        more = "" if failing is None else f", {failing:,} cells fail it"
        lines.append(f"Condition: {row['factor']} >= {row['min_score']:g} (non-compensatory), "
                     f"{state}{more}")  # fmt: skip
    lines += [f"Warning: {w}" for w in checks.get("warnings") or []]
    return lines


def outputs_text(paths: Mapping[str, Path], *, noun: str) -> list[str]:
    """The closing "Outputs:" lines of a run summary: main files, counts of GeoTIFFs.

    ``noun`` names the score layers (``"factor"`` at micro scale, ``"layer"`` above).
    """
    lines = ["Outputs:"]
    for role in ("map", "report", "suitability", "candidates", "manifest"):
        if role in paths:
            lines.append(f"  {role:12s} {paths[role]}")
    if paths:
        n_score = sum(1 for k in paths if k.startswith("factor:"))
        n_raw = sum(1 for k in paths if k.startswith("raw:"))
        folder = Path(paths["manifest"]).parent
        lines.append(f"  {n_score} {noun} score GeoTIFFs and {n_raw} raw measures in {folder}")
        lines.append(f"Open {paths.get('map')} in a browser; load the .tif/.gpkg files in QGIS.")
    return lines
