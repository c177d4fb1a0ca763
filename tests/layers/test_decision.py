"""Decision analysis in `innosite micro`: AHP file, Locate Regions, explanations, sensitivity."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio

from gis.errors import InputError
from gis.weights import ahp
from layers.cli.main import main
from layers.decision import DecisionOptions, ahp_weights_from_file, read_pairwise
from layers.micro.factors import MICRO_FACTORS

NAMES = [f.name for f in MICRO_FACTORS]
AHP_WEIGHTS = np.array([4.0, 2.0, 3.0, 2.0, 1.0, 1.0, 1.0, 4.0])


def write_matrix(path, matrix, names=NAMES):
    def cell(v):
        whole = 0 < v < 1 and abs(1 / v - round(1 / v)) < 1e-9
        return f"1/{round(1 / v):d}" if whole else f"{v:g}"

    lines = ["," + ",".join(names)]
    lines += [
        name + "," + ",".join(cell(v) for v in row) for name, row in zip(names, matrix, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def decision_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decision")
    matrix = AHP_WEIGHTS[:, None] / AHP_WEIGHTS[None, :]
    ahp_file = write_matrix(folder / "ahp.csv", matrix)
    out = folder / "run"
    code = main([
        "micro", "--no-tiles", "--quiet", "--out", str(out), "--ahp", str(ahp_file),
        "--aggregation", "owa", "--orness", "0.4", "--regions", "2", "--total-area", "10",
        "--shape", "hexagon", "--min-distance", "50", "--sensitivity", "12", "--seed", "3",
    ])  # fmt: skip
    assert code == 0
    return out, ahp_file


def test_ahp_weights_locate_regions_and_sensitivity_outputs(decision_run):
    out, _ = decision_run
    manifest = json.loads((out / "manifest.json").read_text())
    used = manifest["extra"]["weights_used"]
    expected = AHP_WEIGHTS / AHP_WEIGHTS.sum()
    assert [used[n] for n in NAMES] == pytest.approx(expected.tolist(), rel=1e-6)
    decision = manifest["extra"]["decision"]
    assert decision["ahp"]["cr"] == pytest.approx(0.0, abs=1e-9)
    assert decision["locate"]["regions"] == 2 and decision["locate"]["optimal"]
    assert decision["sensitivity"]["draws"] == 12
    assert any(i["role"] == "ahp" and "sha256" in i for i in manifest["inputs"])
    sites = pyogrio.read_dataframe(out / "candidates.gpkg", layer="candidates")
    assert sites["rank"].tolist() == [1, 2]
    np.testing.assert_allclose(sites["area_ha"], 5.0)
    assert sites.geometry.iloc[0].distance(sites.geometry.iloc[1]) >= 50
    contrib = sites[[f"contrib_{n}" for n in NAMES]].sum(axis=1)
    np.testing.assert_allclose(contrib, sites["mean_score"], rtol=1e-4)
    assert {"raw_transit_walk", "weight_transit", "mc_mean_rank", "mc_p_selected"} <= set(
        sites.columns
    )
    for name in ("mean", "std", "selection_probability"):
        with rasterio.open(out / "sensitivity" / f"{name}.tif") as src:
            data = src.read(1)
            assert src.tags()["draws"] == "12"
        finite = data[np.isfinite(data)]
        assert finite.size > 100 and finite.min() >= 0
        assert (out / "sensitivity" / f"{name}.qml").exists()
    regions = (out / "sensitivity" / "regions.csv").read_text().splitlines()
    assert regions[0].startswith("region,base_rank,mean_rank") and len(regions) == 3
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Probability of selection (12 weight draws)" in html
    assert "contrib_university" in html and "mc_p_same_rank" in html


def _fails(args, tmp_path, capsys, match):
    out = tmp_path / "out"
    code = main(["micro", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--shape-tradeoff", "150"], "shape trade-off must be >= 0 and <= 100 (percent)"),
        (["--aggregation", "owa", "--order-weights", "0.5,0.5"], "order weights has 2 values"),
        (["--orness", "0.3"], "(use --aggregation owa)"),
        (["--aggregation", "owa", "--orness", "2"], "orness must be a number in [0, 1]"),
        (["--aggregation", "fuzzy_gamma", "--gamma", "1.5"], "gamma must be a number in [0, 1]"),
        (["--regions", "2", "--total-area", "2", "--region-max-area", "0.5"],
         "outside min_area..max_area"),
        (["--seeds", "0"], "seeds must be >= 1"),
        (["--existing", "/nonexistent.gpkg"], "file not found"),
    ],
)  # fmt: skip
def test_bad_decision_options_fail_before_reading_data(args, match, tmp_path, capsys):
    _fails(args, tmp_path, capsys, match)


def test_bad_ahp_files(tmp_path, capsys):
    m = AHP_WEIGHTS[:, None] / AHP_WEIGHTS[None, :]
    bad = m.copy()
    bad[0, 7] = bad[7, 0] = 2.0  # not reciprocal
    f = write_matrix(tmp_path / "bad.csv", bad)
    _fails(["--ahp", str(f)], tmp_path, capsys, "not reciprocal at cell [7, 0] (ecosystem vs")
    neg = m.copy()
    neg[1, 2] = -1
    f = write_matrix(tmp_path / "neg.csv", neg)
    _fails(["--ahp", str(f)], tmp_path, capsys, "cell [1, 2] (amenity vs transit) is -1.0")
    wrong = m.copy()
    wrong[0, 1], wrong[1, 0] = 1 / 9, 9.0  # university vs amenity reversed and overstated
    f = write_matrix(tmp_path / "inconsistent.csv", wrong)
    _fails(["--ahp", str(f)], tmp_path, capsys, "revision most reduces the inconsistency")
    f2 = write_matrix(tmp_path / "short.csv", m[:7, :7], NAMES[:7])
    _fails(["--ahp", str(f2)], tmp_path, capsys, "missing ['ecosystem']")
    f3 = write_matrix(tmp_path / "ok.csv", m)
    _fails(["--ahp", str(f3), "--weight", "transit=1"], tmp_path, capsys, "not both")


def test_inconsistent_ahp_names_the_judgement_to_revise(tmp_path):
    m = AHP_WEIGHTS[:, None] / AHP_WEIGHTS[None, :]
    m[0, 1], m[1, 0] = 1 / 9, 9.0
    f = write_matrix(tmp_path / "m.csv", m)
    with pytest.raises(InputError, match=r"cell \[0, 1\] \(university vs amenity\) from 1/9 to 2"):
        ahp_weights_from_file(f, NAMES)
    weights, info = ahp_weights_from_file(f, NAMES, allow_inconsistent=True)
    assert info["cr"] >= 0.1 and info["revisions"][0]["label"] == "university vs amenity"
    assert list(weights) == NAMES


def test_read_pairwise_fractions_and_errors(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("criterion,a,b,c\na,1,2,4\nb,1/2,1,2\nc,0.25,1/2,1\n")
    m, labels = read_pairwise(f)
    assert labels == ["a", "b", "c"]
    np.testing.assert_allclose(ahp(m).weights, [4 / 7, 2 / 7, 1 / 7])
    f.write_text(",a,b\na,1,x\nb,1,1\n")
    with pytest.raises(InputError, match="row 'a', column 'b' is 'x'"):
        read_pairwise(f)
    f.write_text(",a,b\nb,1,2\na,1/2,1\n")
    with pytest.raises(InputError, match="row 2 must be 'a'"):
        read_pairwise(f)


def test_decision_options_validate():
    DecisionOptions().validate()
    with pytest.raises(InputError, match="regions must be >= 0"):
        DecisionOptions(regions=-1).validate()
    with pytest.raises(InputError, match="evaluation must be one of"):
        DecisionOptions(evaluation="best").validate()
    with pytest.raises(InputError, match="concentration must be > 0"):
        DecisionOptions(concentration=0).validate()
