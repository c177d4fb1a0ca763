"""The paper, reproduced: Table 1 -> Table 2 tiers, method comparison, weight perturbation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layers.macro.run import (
    DEFAULT_METHOD,
    DEFAULT_UNITS,
    INDICATORS,
    NESTED_UNITS,
    Method,
    NestedUnitsWarning,
    evaluate,
    format_report,
    load_table1,
    load_table2,
    paper_tiers,
    perturb_weights,
    resolve_region,
    run_macro,
    unit_overlaps,
)

#: Zhang (2022) Table 2, written out by hand for the 14 regions of Table 1.
TABLE2 = {
    "Beijing-Tianjin-Hebei": "international",
    "Yangtze River Delta": "international",
    "Guangdong-Hong Kong-Macao Greater Bay Area": "international",
    "Northeast China": "national",
    "Shandong": "national",
    "Chengdu-Chongqing": "national",
    "Hubei": "national",
    "Shaanxi": "national",
    "Fujian": "regional",
    "Henan": "regional",
    "Gansu": "regional",
    "Shanxi": "regional",
    "Yunnan": "regional",
    "Guangxi": "regional",
}

#: Method combinations of the default grid that reproduce Table 2 (all with Jenks breaks).
REPRODUCING = {
    f"{n}/{w}/{c}/{b}"
    for b in ("nested_jenks", "fisher_jenks")
    for n, w, c in (
        ("minmax", "equal", "weighted_sum"),
        ("minmax", "pca", "weighted_sum"),
        ("zscore", "equal", "weighted_sum"),
        ("zscore", "pca", "weighted_sum"),
        ("vector", "equal", "topsis"),
        ("vector", "pca", "topsis"),
        ("zscore", "equal", "pca"),
    )
}


def _matrix(units=DEFAULT_UNITS) -> np.ndarray:
    t = load_table1().set_index("region_en").loc[list(units)]
    return t[[i.column for i in INDICATORS]].to_numpy(float)


@pytest.fixture(scope="module")
def default_run():
    return run_macro(None, boundaries="points", draws=300)


def test_package_tables():
    t1, t2 = load_table1(), load_table2()
    assert t1.shape == (18, 12)
    assert t1.loc[t1.region_en == "Yangtze River Delta", "firms_with_rd_share_pct"].item() == 46.71
    assert set(DEFAULT_UNITS) == set(t1.region_en) - set(NESTED_UNITS)
    assert len(DEFAULT_UNITS) == 14
    assert t2.loc[t2.tier == "national", "center_en"].tolist() == [
        "Wuhan",
        "Chengdu-Chongqing",
        "Shenyang-Dalian",
        "Xi'an",
        "Jinan-Qingdao",
    ]
    # the registry's centre cities map Table 2 onto Table 1 exactly as written out above
    tiers = paper_tiers()
    assert {u: tiers[u] for u in DEFAULT_UNITS} == TABLE2
    assert tiers["Beijing"] == "international" and tiers["Liaoning"] == "national"


def test_default_run_reproduces_table2(default_run):
    units = default_run.units.set_index("unit")
    assert units["tier"].to_dict() == TABLE2
    assert (units["paper_tier"] == units["tier"]).all()
    assert default_run.result.method == DEFAULT_METHOD
    assert list(units.sort_values("rank").index[:3]) == [
        "Yangtze River Delta",
        "Beijing-Tianjin-Hebei",
        "Guangdong-Hong Kong-Macao Greater Bay Area",
    ]


def test_default_index_matches_pymcdm_wsm(default_run):
    methods = pytest.importorskip("pymcdm.methods")
    norms = pytest.importorskip("pymcdm.normalizations")
    x = _matrix()
    expected = methods.WSM(normalization_function=norms.minmax_normalization)(
        x, np.full(10, 0.1), np.ones(10)
    )
    np.testing.assert_allclose(default_run.units["index"], expected, rtol=1e-13)
    assert default_run.result.gvf == pytest.approx(0.9414331551717546, rel=1e-12)
    np.testing.assert_allclose(default_run.result.breaks[:2], [expected[8], expected[6]])


def test_method_table_reports_which_combinations_reproduce(default_run):
    m = default_run.methods
    assert len(m) == 100 and (m["error"] == "").all()
    labels = m["normalization"] + "/" + m["weighting"] + "/" + m["composite"] + "/" + m["breaks"]
    assert set(labels[m["reproduces_paper"]]) == REPRODUCING
    # honest negatives: equal-count and head/tail classes never give 3/5/6 tiers
    for breaks in ("quantiles", "head_tail"):
        assert not m.loc[m["breaks"] == breaks, "reproduces_paper"].any()
    entropy = m[(labels == "minmax/entropy/weighted_sum/nested_jenks")]
    assert entropy["differs_from_paper"].item() == "Shaanxi: regional"
    report = format_report(default_run)
    assert "reproduced by the chosen method: yes" in report
    assert "Method combinations reproducing Table 2: 14 of 100" in report


def test_agreement_column(default_run):
    a = default_run.units.set_index("unit")["agreement"]
    assert a["Yangtze River Delta"] == 1.0
    assert a["Fujian"] < 0.5  # the least settled unit across methods
    assert ((a > 0) & (a <= 1)).all()


def test_weight_perturbation(default_run):
    units = default_run.units.set_index("unit")
    p = units[["p_international", "p_national", "p_regional"]]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    top = [
        "Beijing-Tianjin-Hebei",
        "Yangtze River Delta",
        "Guangdong-Hong Kong-Macao Greater Bay Area",
    ]
    assert (p.loc[top, "p_international"] == 1.0).all()
    assert 0.4 < p.loc["Fujian", "p_regional"] < 0.8  # Fujian vs Shaanxi is the close call
    assert p.loc["Shaanxi", "p_national"] > 0.8
    assert 0.3 < default_run.reproduce_share < 0.7


def test_perturbation_is_seeded_and_global_jenks_is_less_stable():
    x = _matrix()
    ref = evaluate(x)
    p1, s1 = perturb_weights(x, reference=ref, draws=150, seed=7)
    p2, s2 = perturb_weights(x, reference=ref, draws=150, seed=7)
    np.testing.assert_array_equal(p1, p2)
    assert s1 == s2
    glob = evaluate(x, method=Method("minmax", "equal", "weighted_sum", "fisher_jenks"))
    assert list(glob.tier_name) == list(ref.tier_name)  # same tiers at the chosen weights …
    pg, sg = perturb_weights(x, reference=glob, draws=150, seed=7)
    assert pg[2, 0] < 0.9 < p1[2, 0]  # … but the global optimum often demotes the GBA
    assert sg < s1


def test_four_tiers_and_tier_names():
    r = evaluate(_matrix(), tiers=4)
    assert r.names == ("international", "national", "regional", "local")
    assert set(r.tier_name) <= set(r.names)
    r = evaluate(_matrix(), tiers=["A", "B"])
    assert dict(zip(DEFAULT_UNITS, r.tier_name, strict=True))["Hubei"] == "B"


def test_overlap_warning_for_nested_units():
    with pytest.warns(NestedUnitsWarning, match="'Beijing-Tianjin-Hebei' and 'Beijing'"):
        run_macro(None, units=["BTH", "Beijing", "Hubei", "Henan"], boundaries="points", draws=20)
    assert unit_overlaps({u: resolve_region(u).adcodes for u in DEFAULT_UNITS}) == []
    pairs = unit_overlaps({u: resolve_region(u).adcodes for u in ("GBA", "Guangdong", "YRD")})
    assert pairs == [("GBA", "Guangdong")]


def test_all_eighteen_rows_warn_and_still_run():
    with pytest.warns(NestedUnitsWarning):
        r = run_macro(None, units=list(load_table1().region_en), boundaries="points", draws=20)
    assert len(r.units) == 18
    assert isinstance(r.methods, pd.DataFrame)
