"""The one raster pipeline: every engine gives the same rasters; a measure is one registration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gis.engine import Engine
from gis.errors import InputError
from layers import pipeline
from layers.measures import MEASURES, EmptyMeasure, Measure, Measured, register_measure
from layers.meso.factors import MESO_FACTORS
from layers.meso.run import MesoConfig, compute_meso, load_meso_data
from layers.micro.factors import MICRO_FACTORS
from layers.micro.run import MicroConfig, compute_micro, load_micro_data
from layers.spec import Criterion, Factor
from tests.conftest import shared_osm

pytestmark = pytest.mark.integration


def _same(a: np.ndarray, b: np.ndarray, *, atol: float = 1e-5) -> None:
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(b, a, rtol=0, atol=atol)


# ---------------------------------------------------------------------- unit level
def test_explicit_params_percentiles_and_degenerate_range():
    params = {"lower_threshold": 0, "upper_threshold": "p50"}
    c = Criterion(name="c", measure="density", transform_params=params)
    assert pipeline.explicit_params(c, np.arange(11, dtype="float32")) == {
        "lower_threshold": 0, "upper_threshold": 5.0,
    }  # fmt: skip
    # a density that is 0 almost everywhere: p50 == lower threshold, widened by a hair
    got = pipeline.explicit_params(c, np.zeros(10, dtype="float32"))
    assert got["upper_threshold"] == pytest.approx(1e-6) and got["upper_threshold"] > 0
    with pytest.raises(InputError, match=r"percentiles are written p0\.\.p100"):
        pipeline.explicit_params(replace(c, transform_params={"upper_threshold": "pX"}),
                                 np.ones(3))  # fmt: skip


def test_sample_is_every_sth_cell_of_the_grid():
    from gis.grid import Grid

    g = Grid.from_bounds((0, 0, 3000, 2000), cell_size=1, crs=32650)  # 6 M cells
    assert pipeline.sample_step(g) == 2
    assert pipeline.sample_step(g, limit=10**7) == 1


def test_register_measure_refuses_a_taken_name_and_a_bad_halo():
    m = MEASURES["density"]
    with pytest.raises(InputError, match="registered already"):
        register_measure(m)
    with pytest.raises(InputError, match="not a parameter"):
        register_measure(replace(m, name="density_x", halo="reach"))
    assert register_measure(m, replace=True) is m


def test_unknown_measure_is_refused_when_the_run_starts():
    bad = Factor(name="f", title="F", weight=1.0,
                 criteria=(Criterion(name="c", measure="no_such_measure"),))  # fmt: skip
    with pytest.raises(InputError, match="unknown measure 'no_such_measure'"):
        pipeline.check_factors((bad,))


# ---------------------------------------------------------------------- engines
@pytest.fixture(scope="module")
def helsinki():
    config = MicroConfig()
    return load_micro_data(config)


@pytest.mark.parametrize("engine", [Engine("windows", memory_budget=1_000_000),
                                    Engine("dask", memory_budget=1_000_000)],
                         ids=["windows", "dask"])  # fmt: skip
def test_micro_engines_equal_memory(helsinki, engine):
    mem = compute_micro(helsinki, MicroConfig())
    got = compute_micro(helsinki, MicroConfig(engine=engine))
    assert got.windows["measures"] > 1
    assert got.weights == pytest.approx(mem.weights)
    _same(mem.suitability, got.suitability)
    for a, b in zip(mem.factors, got.factors, strict=True):
        assert a.status == b.status
        if a.score is not None:
            _same(np.where(mem.inside, a.score, np.nan), b.score)
    assert len(got.candidates) == len(mem.candidates)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nanjing_xinjiekou_2021.osm", "beijing_zhongguancun_2017.osm"])
def test_micro_windows_with_a_256_mib_budget_equal_memory_on_shared_extracts(name):
    path = shared_osm(name)
    config = MicroConfig(osm_file=str(path), cell_size=10.0)
    data = load_micro_data(config)
    mem = compute_micro(data, config)
    engine = Engine("windows", memory_budget=256 * 2**20)
    got = compute_micro(data, replace(config, engine=engine))
    if got.windows["measures"] < 2:  # a grid that fits the budget: shrink it to see windows
        engine = Engine("windows", memory_budget=4 * 2**20)
        got = compute_micro(data, replace(config, engine=engine))
    assert got.windows["measures"] > 1
    _same(mem.suitability, got.suitability)


@pytest.fixture(scope="module")
def wuhan():
    config = MesoConfig(cell_size=2000)
    return load_meso_data(config)


@pytest.mark.parametrize("engine", [Engine("windows", memory_budget=500_000),
                                    Engine("dask", memory_budget=500_000)],
                         ids=["windows", "dask"])  # fmt: skip
def test_meso_engines_equal_memory(wuhan, engine):
    mem = compute_meso(wuhan, MesoConfig(cell_size=2000))
    got = compute_meso(wuhan, MesoConfig(cell_size=2000, engine=engine))
    assert got.windows["measures"] > 1
    assert got.weights == pytest.approx(mem.weights)
    _same(mem.suitability, got.suitability, atol=1e-5)
    assert len(got.candidates) == len(mem.candidates)


# ---------------------------------------------------------------------- add a factor
def _distance_to_first_feature(ctx, crit) -> Measured:
    """A new measure: straight-line distance to the centroid of the first matching feature."""
    import shapely

    if crit.source == "osm":
        geoms = ctx.select(crit.tags or {})
        if len(geoms) == 0:
            raise EmptyMeasure("nothing matched")
        x, y = shapely.get_coordinates(shapely.centroid(geoms.iloc[:1].to_numpy()))[0]
    else:  # the meso run's places: the most populous one
        cities = ctx.data.cities
        if cities.empty:
            raise EmptyMeasure("no place")
        xs, ys = ctx.xy(cities.nlargest(1, "population"))
        x, y = float(xs[0]), float(ys[0])
    cx, cy = ctx.grid.centers()
    scale = float({**MEASURES["first_distance"].params, **crit.measure_params}["scale"])
    raw = np.hypot(cx[None, :] - x, cy[:, None] - y).astype("float32") / np.float32(scale)
    return Measured(raw, 1)


@pytest.fixture
def first_distance():
    register_measure(Measure(name="first_distance", units="m", params={"scale": 1.0},
                             function=_distance_to_first_feature), replace=True)  # fmt: skip
    yield MEASURES["first_distance"]
    del MEASURES["first_distance"]


def test_a_new_measure_by_registration_alone_runs_at_two_scales(first_distance, helsinki, wuhan):
    crit = Criterion(name="first_university", measure="first_distance",
                     tags={"amenity": ["university"]}, transform="linear",
                     transform_params={"lower_threshold": 0, "upper_threshold": "p50",
                                       "from_scale": 1, "to_scale": 0})  # fmt: skip
    micro = (*MICRO_FACTORS, Factor(name="first", title="First", weight=0.5, criteria=(crit,)))
    res = compute_micro(helsinki, MicroConfig(preset=micro))
    fr = next(f for f in res.factors if f.factor.name == "first")
    raw = fr.criteria[0].raw
    assert fr.status == "ok" and raw is not None
    # half the area is within the median distance: score falls from 1 to 0 at the median
    inside = res.inside
    median = np.percentile(raw[inside], 50)
    expect = np.clip(1 - raw / median, 0, 1)
    np.testing.assert_allclose(fr.score[inside], expect[inside], atol=1e-6)
    assert "first" in res.weights

    meso_crit = replace(crit, name="first_city", source="cities", tags=None)
    meso = (*MESO_FACTORS, Factor(name="first", title="First", weight=0.2, criteria=(meso_crit,)))
    mres = compute_meso(wuhan, MesoConfig(cell_size=2000, preset=meso))
    mfr = next(f for f in mres.factors if f.factor.name == "first")
    assert mfr.status == "ok" and "first" in mres.weights
    assert np.nanmax(mfr.score[mres.inside]) == pytest.approx(1.0, abs=0.02)


# ---------------------------------------------------------------------- outputs
def _offline(page: str) -> bool:
    return '<script src="http' not in page and 'rel="stylesheet" href="http' not in page


def test_meso_run_writes_styles_report_and_an_offline_map(tmp_path):
    from layers.meso.run import run_meso

    out = tmp_path / "meso"
    _, paths = run_meso(MesoConfig(cell_size=5000, map_assets="inline", tiles=None), out=out)
    tifs = sorted(out.glob("*.tif")) + sorted((out / "raw").glob("*.tif"))
    assert tifs and all(t.with_suffix(".qml").exists() for t in tifs)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "meso run" in report
        and "Candidate zones" in report
        and "Candidate districts" not in report
        and "hubs" in report
    )
    assert paths["report"] == out / "report.html"
    assert _offline((out / "map.html").read_text(encoding="utf-8"))
    import sqlite3

    with sqlite3.connect(out / "candidates.gpkg") as db:
        assert db.execute("select count(*) from layer_styles").fetchone()[0] == 1


def test_national_run_writes_styles_report_and_an_offline_map(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from layers.national.run import NationalConfig, run_national

    area = tmp_path / "area.gpkg"
    gpd.GeoSeries([box(113.5, 29.8, 115.5, 31.3)], crs=4326).to_file(area)
    out = tmp_path / "nat"
    res = run_national(NationalConfig(cell_size=5000, area_file=str(area), map_assets="inline",
                                      engine=Engine("windows", memory_budget=2**20)),
                       out=out)  # fmt: skip
    assert all(t.with_suffix(".qml").exists() for t in out.glob("*.tif"))
    assert "national run" in (out / "report.html").read_text(encoding="utf-8")
    assert res.paths["report"] == out / "report.html"
    assert _offline((out / "map.html").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- whole-raster moments
@pytest.mark.parametrize("function", ["ms_large", "ms_small"])
def test_ms_transforms_take_whole_raster_moments_in_windows(wuhan, function):
    # ms_large/ms_small default to the raster's mean and std: windows must use the whole
    # raster's, not each window's own
    market = next(f for f in MESO_FACTORS if f.name == "market")
    crits = tuple(replace(c, transform=function, transform_params={}) for c in market.criteria)
    preset = tuple(replace(f, criteria=crits) if f.name == "market" else f for f in MESO_FACTORS)
    mem = compute_meso(wuhan, MesoConfig(cell_size=2000, preset=preset))
    engine = Engine("windows", memory_budget=500_000)
    got = compute_meso(wuhan, MesoConfig(cell_size=2000, preset=preset, engine=engine))
    assert got.windows["measures"] > 1
    m = next(fr for fr in mem.factors if fr.factor.name == "market")
    g = next(fr for fr in got.factors if fr.factor.name == "market")
    inside = mem.inside
    assert np.nanstd(m.score[inside]) > 0.05  # a score that varies: the moments matter
    _same(m.score[inside], g.score[inside], atol=1e-5)
    _same(mem.suitability, got.suitability, atol=1e-5)


def test_sampler_moments_of_windows_equal_the_whole_raster():
    from gis.grid import Grid
    from gis.windows import Window

    parent = Grid.from_bounds((0, 0, 40, 30), cell_size=1, crs=3857)
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 1000.0, size=(30, 40)).astype("float32")
    values[3:7, 5:9] = np.nan
    sampler = pipeline.Sampler([], 1, moments=["x"])
    for r0 in range(0, 30, 7):
        for c0 in range(0, 40, 11):
            core = values[r0 : r0 + 7, c0 : c0 + 11]
            window = Window(parent, row=r0, col=c0, height=core.shape[0], width=core.shape[1])
            sampler(window, {"x": core, "inside": np.ones(core.shape, dtype="float32")})
    finite = values[np.isfinite(values)].astype("float64")
    got = sampler.moments("x")
    assert got["mean"] == pytest.approx(finite.mean(), rel=1e-12)
    assert got["std"] == pytest.approx(finite.std(), rel=1e-9)
