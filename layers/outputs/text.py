"""Plain-text summaries printed at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from layers.i18n import text

__all__ = ["micro_summary", "outputs_text", "table", "width"]


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table with a header rule, columns padded to their widest cell.

    Examples
    --------
    >>> print(table([["a", "1"]], ["name", "n"]))
    name  n
    ----  -
    a     1

    Wide (CJK) characters count as two columns, so Chinese headers line up.
    """
    widths = [max(width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def pad(value: object, size: int) -> str:
        cell = str(value)
        return cell + " " * (size - width(cell))

    line = "  ".join(pad(h, w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def width(value: str) -> int:
    """Columns ``value`` takes in a terminal: two for each wide (CJK) character.

    Examples
    --------
    >>> width("rank"), width("排名")
    (4, 4)
    """
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def micro_summary(result: Any, paths: dict[str, Path], *, lang: str = "en") -> str:
    """What a micro run found and where its outputs are, for a terminal, in ``lang``."""

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    g = result.grid
    src = result.osm.source
    c = result.center
    lines = [
        t("summary.data", kind=src.get("kind"), where=src.get("path", src.get("service", "")),
          date=src.get("osm_data_date") or t("report.unknown")),
        t("summary.grid", height=g.height, width=g.width, cell=f"{g.cell_size:g}",
          crs=g.crs.to_string(), inside=f"{int(result.inside.sum()):,}"),
        t("summary.network", nodes=f"{result.network.get('nodes', 0):,}",
          edges=f"{result.network.get('edges', 0):,}"),
        t("summary.centre", lon=c["lon"], lat=c["lat"], method=c["method"]),
        "",
        t("summary.coverage"),
    ]  # fmt: skip
    rows = [
        [
            r["factor"],
            r["criterion"],
            str(r["features"]),
            r["status"] if r["status"] == "ok" else f"empty -> {r['status']}",
            f"{r['factor_weight']:.3f}",
        ]
        for r in result.coverage_table()
    ]
    cols = ["factor", "criterion", "features", "status"]
    header = [t(f"report.col_{k}") for k in cols] + [t("summary.col_weight")]
    lines.append(table(rows, header))
    cands = result.candidates
    lines += ["", t("summary.candidates", n=len(cands))]
    if len(cands):
        factor_cols = [c for c in cands.columns if c in result.weights]
        top = cands.head(5)
        crow = [
            [str(int(r["rank"])), f"{r['area_ha']:.1f}", f"{r['mean_score']:.3f}"]
            + [f"{r[c]:.2f}" for c in factor_cols]
            for _, r in top.iterrows()
        ]
        header = [t("report.col_rank"), t("summary.col_ha"), t("summary.col_score")]
        lines.append(table(crow, [*header, *factor_cols]))
    lines += ["", *outputs_text(paths, noun="factor", lang=lang)]
    return "\n".join(lines)


def outputs_text(paths: Mapping[str, Path], *, noun: str, lang: str = "en") -> list[str]:
    """The closing "Outputs:" lines of a run summary: main files, counts of GeoTIFFs.

    ``noun`` names the score layers (``"factor"`` at micro scale, ``"layer"`` above).
    """
    lines = [text("summary.outputs", lang)]
    for role in ("map", "report", "project", "suitability", "candidates", "manifest"):
        if role in paths:
            lines.append(f"  {role:12s} {paths[role]}")
    if paths:
        n_score = sum(1 for k in paths if k.startswith("factor:"))
        n_raw = sum(1 for k in paths if k.startswith("raw:"))
        folder = Path(paths["manifest"]).parent
        what = text(f"summary.noun_{noun}", lang)
        counts = text("summary.counts", lang, n_score=n_score, noun=what, n_raw=n_raw,
                      folder=folder)  # fmt: skip
        lines.append(f"  {counts}")
        lines.append(text("summary.open", lang, map=paths.get("map")))
    return lines
