"""Bad input: each error names the column, unit or cell, and nothing is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gis.errors import DataSourceError, InputError, OutputExistsError
from layers.macro.run import INDICATORS, Method, load_table1, read_pairwise, run_macro

COLUMNS = [i.column for i in INDICATORS]


def _table() -> pd.DataFrame:
    t = load_table1()
    return (
        t[~t.region_en.isin(["Beijing", "Shanghai", "Guangdong", "Liaoning"])]
        .rename(columns={"region_en": "unit"})
        .reset_index(drop=True)
    )


def _ahp_frame(n: int = 3) -> pd.DataFrame:
    names = COLUMNS[:n]
    w = np.arange(1.0, n + 1)
    return pd.DataFrame(w[:, None] / w[None, :], index=names, columns=names)


def _run(tmp_path, **kwargs):
    kwargs.setdefault("boundaries", "points")
    kwargs.setdefault("draws", 10)
    return run_macro(tmp_path / "out", **kwargs)


def _nothing_written(tmp_path):
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (
            "none",
            {"indicators": [*COLUMNS[:3], "venture_capital"]},
            r"indicator column\(s\) \['venture_capital'\] not found",
        ),
        (
            "text",
            {},
            r"indicator 'rd_intensity_pct' is not a finite number \('n/a'\) "
            r"for unit 'Henan'",
        ),
        ("blank", {}, r"indicator 'national_labs' is missing for unit 'Gansu'"),
        ("constant", {}, r"indicator 'state_key_labs' has the same value \(5\) for every unit"),
        ("duplicate", {}, r"duplicated unit name\(s\) in column 'unit': \['Hubei'\]"),
        ("unjoinable", {}, r"1 unit\(s\) do not join to any geometry: 'Atlantis'"),
        ("few", {"tiers": 4}, r"3 units are fewer than the 4 tiers"),
        ("none", {"cost": ["price"]}, r"cost indicator\(s\) \['price'\] are not among"),
        ("none", {"unit_column": "region"}, r"unit column 'region' not found"),
    ],
)
def test_bad_tables(tmp_path, change, kwargs, message):
    t = _table()
    if change == "text":
        t["rd_intensity_pct"] = t["rd_intensity_pct"].astype(object)
        t.loc[t.unit == "Henan", "rd_intensity_pct"] = "n/a"
    elif change == "blank":
        t.loc[t.unit == "Gansu", "national_labs"] = np.nan
    elif change == "constant":
        t["state_key_labs"] = 5
    elif change == "duplicate":
        t.loc[t.unit == "Shaanxi", "unit"] = "Hubei"
    elif change == "unjoinable":
        t.loc[t.unit == "Yunnan", "unit"] = "Atlantis"
    elif change == "few":
        t = t.head(3)
    before = t.copy()
    kwargs.setdefault("indicators", COLUMNS)
    with pytest.raises(InputError, match=message):
        _run(tmp_path, table=t, **kwargs)
    pd.testing.assert_frame_equal(t, before)  # the caller's table is not modified
    _nothing_written(tmp_path)


def test_user_table_must_declare_indicators(tmp_path):
    with pytest.raises(InputError, match=r"declare the indicator columns .* numeric columns"):
        _run(tmp_path, table=_table())
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (lambda m: m.iloc[:, :2], r"AHP matrix must be square, got 3 rows x 2 columns"),
        (
            lambda m: m.where(
                ~((m.index == COLUMNS[1]).reshape(-1, 1) & (m.columns == COLUMNS[0])), 5.0
            ),
            rf"not reciprocal at cell \[1, 0\] \({COLUMNS[1]} vs {COLUMNS[0]}\)",
        ),
        (
            lambda m: m.rename(index={COLUMNS[2]: "talent"}),
            r"AHP matrix rows must be the indicators; missing \['state_key_labs'\], "
            r"unknown \['talent'\]",
        ),
    ],
)
def test_bad_ahp_matrix(tmp_path, matrix, message):
    with pytest.raises(InputError, match=message):
        _run(
            tmp_path,
            table=_table(),
            indicators=COLUMNS[:3],
            method=Method(weighting="ahp"),
            pairwise=matrix(_ahp_frame()),
        )
    _nothing_written(tmp_path)


def test_inconsistent_ahp_refused_then_allowed(tmp_path):
    m = _ahp_frame()
    m.iloc[0, 2], m.iloc[2, 0] = 1 / 9, 9.0
    with pytest.raises(InputError, match="consistency ratio"):
        _run(
            tmp_path,
            table=_table(),
            indicators=COLUMNS[:3],
            method=Method(weighting="ahp"),
            pairwise=m,
        )
    _nothing_written(tmp_path)
    r = run_macro(
        None,
        table=_table(),
        indicators=COLUMNS[:3],
        method=Method(weighting="ahp"),
        pairwise=m,
        allow_inconsistent=True,
        boundaries="points",
        draws=10,
    )
    assert r.result.weights.sum() == pytest.approx(1.0)


def test_ahp_csv_with_fractions(tmp_path):
    path = tmp_path / "ahp.csv"
    path.write_text(",a,b,c\na,1,3,5\nb,1/3,1,3\nc,1/5,1/3,1\n", encoding="utf-8")
    m = read_pairwise(path, ["c", "a", "b"])
    assert m[1, 2] == 3.0 and m[0, 1] == pytest.approx(1 / 5)
    path.write_text(",a,b\na,1,x\nb,1,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"AHP matrix cell \(a, b\) is 'x'"):
        read_pairwise(path, ["a", "b"])


def test_paper_run_errors(tmp_path):
    with pytest.raises(InputError, match="unknown region 'Tibet'"):
        _run(tmp_path, units=["BTH", "Tibet", "Hubei"])
    with pytest.raises(InputError, match="duplicated unit 'Hubei'"):
        _run(tmp_path, units=["Hubei", "HB", "Henan"])
    with pytest.raises(InputError, match="2 units are fewer than the 3 tiers"):
        _run(tmp_path, units=["Hubei", "Henan"])
    with pytest.raises(InputError, match="user weights must name every indicator once"):
        _run(tmp_path, method=Method(weighting="user"), weights={"national_labs": 1.0})
    with pytest.raises(InputError, match="user class breaks need thresholds"):
        _run(tmp_path, method=Method(breaks="user"))
    with pytest.raises(DataSourceError, match="does not exist"):
        _run(tmp_path, table=tmp_path / "missing.csv", indicators=["a"])
    _nothing_written(tmp_path)


def test_existing_output_folder_is_refused_before_work(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    def boom(*args, **kwargs):  # the analysis must not even start
        raise AssertionError("work started")

    monkeypatch.setattr("layers.macro.run.load_table1", boom)
    with pytest.raises(OutputExistsError, match="not empty"):
        run_macro(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("layers.macro.outputs._write_chart", broken)
    with pytest.raises(OSError, match="disk full"):
        _run(tmp_path)
    _nothing_written(tmp_path)


def test_tier_names_refuse_text_and_booleans():
    from layers.macro.tables import tier_names

    assert tier_names(5)[-1] == "tier 5"
    for bad in ("three", True):
        with pytest.raises(InputError, match="give the number of tiers or a list"):
            tier_names(bad)
