"""Helpers shared by tests of several scales (fixtures live in ``tests/conftest.py``)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import rasterio

#: Command-line options of a decision-analysis run (with ``--total-area``).
DECISION_ARGS = ["--aggregation", "owa", "--orness", "0.7", "--regions", "2", "--sensitivity", "5"]


def check_decision_outputs(out: Path, *, regions: int, total_ha: float, draws: int) -> None:
    """The outputs of Locate Regions, sensitivity and explanations of a raster run."""
    manifest = json.loads((out / "manifest.json").read_text())
    decision = manifest["extra"]["decision"]
    assert decision["locate"]["regions"] == regions
    assert decision["sensitivity"]["draws"] == draws
    assert manifest["parameters"]["aggregation"] == "owa"
    assert manifest["parameters"]["aggregation_options"] == {"orness": 0.7}
    sites = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates")
    assert sites["rank"].tolist() == list(range(1, regions + 1))
    assert sites["area_ha"].sum() == pytest.approx(total_ha, rel=0.02)
    layers = [c.removeprefix("weight_") for c in sites.columns if c.startswith("weight_")]
    assert layers, sites.columns
    contrib = sites[[f"contrib_{n}" for n in layers]].sum(axis=1)
    np.testing.assert_allclose(contrib, sites["mean_score"], rtol=1e-4)
    assert {"mc_mean_rank", "mc_p_selected", "nearest_city"} <= set(sites.columns)
    files = {o["file"] for o in manifest["outputs"]}
    for name in ("mean", "std", "selection_probability"):
        with rasterio.open(out / "sensitivity" / f"{name}.tif") as src:
            data = src.read(1)
            assert src.tags()["draws"] == str(draws)
        finite = data[np.isfinite(data)]
        assert finite.size > 100 and finite.min() >= 0
        assert {f"sensitivity/{name}.tif", f"sensitivity/{name}.qml"} <= files
    lines = (out / "sensitivity" / "regions.csv").read_text().splitlines()
    assert lines[0].startswith("region,base_rank,mean_rank") and len(lines) == regions + 1
    html = (out / "map.html").read_text(encoding="utf-8")
    assert f"Probability of selection ({draws} weight draws)" in html
    assert "contrib_market" in html and "mc_p_same_rank" in html


def traced_peak(function: Callable[[], Any]) -> tuple[Any, int]:
    """``function()`` and the peak bytes Python allocated while it ran (tracemalloc)."""
    tracemalloc.start()
    try:
        value = function()
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def missing_tiles(path: str | Path) -> list[tuple[int, int]]:
    """The (row, column) of every tile of band 1 that is not in the file (GDAL's sparse
    tiles), read from the block offsets GDAL reports."""
    with rasterio.open(path) as src:
        (rows, cols), (bh, bw) = src.shape, src.block_shapes[0]
        tiles = [(i, j) for i in range(-(-rows // bh)) for j in range(-(-cols // bw))]
        return [(i, j) for i, j in tiles
                if src.get_tag_item(f"BLOCK_OFFSET_{j}_{i}", "TIFF", bidx=1) is None]  # fmt: skip
