"""Weights: exact agreement with pymcdm / ahpy / numpy, AHP validation, inputs untouched."""

from __future__ import annotations

import numpy as np
import pytest

from gis.errors import InputError
from gis.weights import (
    SAATY_RANDOM_INDEX,
    WEIGHT_METHODS,
    ahp,
    ahp_weights,
    check_pairwise_matrix,
    compute_weights,
    critic_weights,
    entropy_weights,
    equal_weights,
    get_weight_method,
    pca_weights,
    principal_components,
    random_index,
    user_weights,
)

pymcdm_weights = pytest.importorskip("pymcdm.weights")

# positive decision matrix (pymcdm's entropy refuses zeros)
X = np.array(
    [
        [250.0, 16.0, 12.0, 5.0, 0.31],
        [200.0, 16.0, 8.0, 3.0, 0.52],
        [300.0, 32.0, 16.0, 4.0, 0.22],
        [275.0, 32.0, 8.0, 4.0, 0.40],
        [225.0, 16.0, 16.0, 2.0, 0.18],
        [240.0, 24.0, 10.0, 4.5, 0.27],
    ]
)

# Saaty's textbook matrix (4 criteria) and a consistent 3x3 one
SAATY4 = np.array(
    [[1, 5, 3, 7], [1 / 5, 1, 1 / 3, 3], [1 / 3, 3, 1, 5], [1 / 7, 1 / 3, 1 / 5, 1]], dtype=float
)


def test_entropy_matches_pymcdm_exactly():
    np.testing.assert_allclose(entropy_weights(X), pymcdm_weights.entropy_weights(X), rtol=1e-13)


def test_entropy_zero_share_convention():
    # 0 ln 0 = 0: a unit with nothing just contributes no entropy term
    x = np.array([[0.0, 1.0], [2.0, 1.0], [2.0, 2.0]])
    p = x[:, 0] / x[:, 0].sum()
    e0 = -(p[1:] * np.log(p[1:])).sum() / np.log(3)
    q = x[:, 1] / x[:, 1].sum()
    e1 = -(q * np.log(q)).sum() / np.log(3)
    d = np.array([1 - e0, 1 - e1])
    np.testing.assert_allclose(entropy_weights(x), d / d.sum(), rtol=1e-14)


def test_critic_matches_pymcdm_exactly():
    np.testing.assert_allclose(critic_weights(X), pymcdm_weights.critic_weights(X), rtol=1e-12)


def test_critic_cost_direction_only_flips_correlation_signs():
    # reversing a column keeps its spread but flips its correlations with the others
    w_benefit = critic_weights(X)
    w_cost = critic_weights(X, cost=[False, False, False, False, True])
    assert not np.allclose(w_benefit, w_cost)
    reversed_x = X.copy()
    reversed_x[:, 4] = -reversed_x[:, 4]
    np.testing.assert_allclose(w_cost, critic_weights(reversed_x), rtol=1e-12)


def test_critic_constant_column_gets_zero_weight():
    x = np.column_stack([X[:, :3], np.full(len(X), 7.0)])
    w = critic_weights(x)
    assert w[3] == 0.0
    assert w.sum() == pytest.approx(1.0)


def test_ahp_matches_pymcdm_and_ahpy():
    from pymcdm.weights.subjective import AHP

    ours = ahp(SAATY4)
    ref = AHP(matrix=SAATY4)
    np.testing.assert_allclose(ours.weights, ref(), rtol=1e-12)
    # pymcdm's CR uses the Tummala-Ling random index for n = 4 (0.8921); CI is the same
    assert ours.ci == pytest.approx(ref.get_cr() * 0.8921, rel=1e-12)
    assert ours.ri == 0.90
    assert ours.cr == pytest.approx(ours.ci / 0.90, rel=1e-15)
    assert ours.consistent
    ahpy = pytest.importorskip("ahpy")
    names = ["a", "b", "c", "d"]
    comps = {(names[i], names[j]): SAATY4[i, j] for i in range(4) for j in range(i + 1, 4)}
    c = ahpy.Compare("x", comps, precision=10, random_index="saaty")
    np.testing.assert_allclose(
        [c.target_weights[n] for n in names], ours.weights, rtol=0, atol=1e-8
    )


def test_ahp_consistent_matrix_has_zero_cr():
    w = np.array([0.5, 0.3, 0.2])
    m = w[:, None] / w[None, :]
    r = ahp(m)
    np.testing.assert_allclose(r.weights, w, rtol=1e-12)
    assert r.lambda_max == pytest.approx(3.0)
    assert r.cr == pytest.approx(0.0, abs=1e-12)


def test_saaty_random_index_table():
    assert SAATY_RANDOM_INDEX[:10] == (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
    assert random_index(15) == 1.59
    big = random_index(20)  # simulated beyond Saaty's table
    assert 1.5 < big < 1.7
    assert random_index(20) == big  # seeded, cached


def test_ahp_refuses_inconsistent_unless_allowed():
    bad = np.array([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    with pytest.raises(InputError, match=r"consistency ratio .* >= 0.10"):
        ahp(bad)
    r = ahp(bad, allow_inconsistent=True)
    assert r.cr > 0.10 and not r.consistent
    assert r.weights.sum() == pytest.approx(1.0)


def test_ahp_any_size():
    rng = np.random.default_rng(3)
    w = rng.random(18) + 0.1
    m = w[:, None] / w[None, :]
    np.testing.assert_allclose(ahp_weights(m), w / w.sum(), rtol=1e-10)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 2, 3], [0.5, 1, 2]], r"must be square, got shape \(2, 3\)"),
        ([[1, 3], [0.25, 1]], r"not reciprocal at cell \[1, 0\] \(b vs a\)"),
        ([[1, -2], [-0.5, 1]], r"cell \[0, 1\] \(a vs b\) is -2.0"),
        ([[2, 2], [0.5, 1]], r"cell \[0, 0\] \(a vs a\) is 2.0; the diagonal must be 1"),
    ],
)
def test_pairwise_matrix_errors_name_the_cell(matrix, message):
    labels = ["a", "b", "c"][: len(matrix)]
    with pytest.raises(InputError, match=message):
        check_pairwise_matrix(matrix, labels=labels if np.shape(matrix)[0] == 2 else None)


def test_pairwise_rounded_reciprocals_accepted_and_made_exact():
    m = check_pairwise_matrix([[1, 3, 5], [0.33, 1, 2], [0.2, 0.5, 1]])
    np.testing.assert_allclose(m * m.T, np.ones((3, 3)), rtol=1e-15)


def test_pca_weights_match_numpy_svd():
    # independent: SVD of the standardised matrix; Kaiser retains eigenvalues >= 1
    z = (X - X.mean(0)) / X.std(0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    eig = s**2 / len(X)
    keep = eig >= 1
    w = (np.abs(vt[keep].T) * eig[keep]).sum(axis=1)
    np.testing.assert_allclose(pca_weights(X), w / w.sum(), rtol=1e-10)
    vals, vecs = principal_components(X)
    np.testing.assert_allclose(vals, eig, rtol=1e-10, atol=1e-12)
    assert vecs[:, 0].sum() >= 0


def test_equal_user_and_registry():
    assert equal_weights(X).tolist() == [0.2] * 5
    assert user_weights(X, weights=[1, 1, 2, 0, 0]).tolist() == [0.25, 0.25, 0.5, 0.0, 0.0]
    with pytest.raises(InputError, match="got 2 weights for 5 criteria"):
        user_weights(X, weights=[1, 2])
    with pytest.raises(InputError, match="all weights are zero"):
        user_weights(weights=[0, 0])
    assert set(WEIGHT_METHODS) == {"equal", "user", "entropy", "critic", "ahp", "pca"}
    w = compute_weights(X, method=lambda x, *, cost: np.arange(1.0, 6.0))
    np.testing.assert_allclose(w, np.arange(1.0, 6.0) / 15)
    with pytest.raises(InputError, match="unknown weighting"):
        get_weight_method("swara")
    with pytest.raises(InputError, match="pairwise matrix is 4 x 4 but there are 5 criteria"):
        compute_weights(X, method="ahp", pairwise=SAATY4)


def test_entropy_errors():
    with pytest.raises(InputError, match="column 1 has negative values"):
        entropy_weights([[1.0, -1.0], [2.0, 3.0]])
    with pytest.raises(InputError, match="column 0 is all zeros"):
        entropy_weights([[0.0, 1.0], [0.0, 3.0]])


@pytest.mark.parametrize("method", ["equal", "entropy", "critic", "pca"])
def test_inputs_not_modified(method):
    x = X.copy()
    compute_weights(x, method=method, cost=[True, False, False, False, False])
    np.testing.assert_array_equal(x, X)
    m = SAATY4.copy()
    ahp(m)
    np.testing.assert_array_equal(m, SAATY4)


# ------------------------------------------------------------------------------ ranks, points
def test_rank_weights_closed_forms():
    from gis.weights import (
        rank_order_centroid_weights,
        rank_reciprocal_weights,
        rank_sum_weights,
        rank_weights,
    )

    # Barron & Barrett (1996), table 1: ROC weights for 3 and 5 criteria
    np.testing.assert_allclose(rank_order_centroid_weights([1, 2, 3]), [11 / 18, 5 / 18, 2 / 18])
    np.testing.assert_allclose(
        rank_order_centroid_weights([1, 2, 3, 4, 5]),
        [0.4567, 0.2567, 0.1567, 0.0900, 0.0400],
        atol=5e-5,
    )
    np.testing.assert_allclose(rank_sum_weights([3, 1, 2]), [1 / 6, 3 / 6, 2 / 6])
    np.testing.assert_allclose(rank_reciprocal_weights([1, 2, 3]), np.array([6, 3, 2]) / 11)
    # ties share the positions they span: criteria 2 and 3 occupy positions 2 and 3
    roc = rank_order_centroid_weights([1, 2, 3, 4])
    tied = rank_order_centroid_weights([1, 2, 2, 3])
    np.testing.assert_allclose(tied, [roc[0], (roc[1] + roc[2]) / 2, (roc[1] + roc[2]) / 2, roc[3]])
    assert rank_weights({"x": 2, "y": 1}, method="rank_reciprocal") == pytest.approx(
        {"x": 1 / 3, "y": 2 / 3}
    )
    with pytest.raises(InputError, match=r"rank 1 is 0\.0; ranks must be positive"):
        rank_sum_weights([1, 0])
    with pytest.raises(InputError, match="unknown rank weighting 'swing'"):
        rank_weights([1, 2], method="swing")


def test_direct_weights():
    from gis.weights import direct_weights

    assert direct_weights({"a": 60, "b": 40}) == {"a": 0.6, "b": 0.4}
    np.testing.assert_allclose(direct_weights([8, 4, 4], scale=(0, 10)), [0.5, 0.25, 0.25])
    with pytest.raises(InputError, match=r"rating of 'b' is -1\.0, outside the scale 0\.\.10"):
        direct_weights({"a": 5, "b": -1}, scale=(0, 10))
    with pytest.raises(InputError, match="weights must be finite and non-negative"):
        direct_weights([1, -1])


# ------------------------------------------------------------------------------ rasters
@pytest.mark.parametrize("method", ["entropy", "critic", "pca", "equal"])
def test_raster_weights_equal_the_table_of_valid_cells(method):
    from gis.weights import raster_weights

    rng = np.random.default_rng(5)
    layers = {k: rng.gamma(2.0, size=(53, 17)) for k in ("a", "b", "c", "d")}
    layers["b"] = layers["b"] * 0.3 + layers["a"]  # correlated criteria
    layers["c"][rng.random((53, 17)) < 0.1] = np.nan
    mask = rng.random((53, 17)) < 0.9
    cost = {"d": True}
    copies = {k: v.copy() for k, v in layers.items()}
    ours = raster_weights(layers, method=method, mask=mask, cost=cost, chunk_rows=4)
    table = np.stack([v.ravel() for v in layers.values()], axis=1)
    keep = np.isfinite(table).all(axis=1) & mask.ravel()
    ref = compute_weights(table[keep], method=method, cost=[False, False, False, True])
    np.testing.assert_allclose(list(ours.values()), ref, rtol=1e-9, atol=1e-12)
    for k in layers:
        np.testing.assert_array_equal(layers[k], copies[k])


def test_raster_weights_bad_input():
    from gis.weights import raster_weights

    a = np.ones((3, 3))
    with pytest.raises(InputError, match="unknown raster weighting 'ahp'"):
        raster_weights({"a": a}, method="ahp")
    with pytest.raises(InputError, match="layer 'b' has negative values"):
        raster_weights({"a": a, "b": -a})
    with pytest.raises(InputError, match=r"layer 'b' has shape \(2, 2\)"):
        raster_weights({"a": a, "b": np.ones((2, 2))})
    with pytest.raises(InputError, match="at least two valid cells"):
        raster_weights({"a": a, "b": a}, mask=np.zeros((3, 3), dtype=bool))


# ------------------------------------------------------------------------------ AHP revisions
def test_ahp_revisions_find_the_wrong_judgement_and_their_cr_is_exact():
    from gis.weights import ahp_revisions

    w = np.array([8.0, 4.0, 2.0, 1.0, 1.0])
    m = w[:, None] / w[None, :]
    m[1, 3], m[3, 1] = 1 / 4, 4.0  # "b vs d" entered the wrong way round
    labels = list("abcde")
    revs = ahp_revisions(m, labels=labels)
    assert len(revs) == 10
    best = revs[0]
    assert (best.row, best.col, best.label) == (1, 3, "b vs d")
    assert best.current == 0.25 and best.suggested == 4.0 and best.cr_after < 1e-9
    crs = np.array([r.cr_after for r in revs])
    assert (np.diff(crs) >= -1e-9).all()
    # each reported CR is that of the revised matrix (independent recomputation)
    for r in revs:
        revised = m.copy()
        revised[r.row, r.col], revised[r.col, r.row] = r.suggested, 1 / r.suggested
        assert ahp(revised, allow_inconsistent=True).cr == pytest.approx(r.cr_after, abs=1e-9)
    assert ahp_revisions([[1, 2], [0.5, 1]]) == []


def test_ahp_refusal_names_the_judgements_to_revise():
    w = np.array([8.0, 4.0, 2.0, 1.0])
    m = w[:, None] / w[None, :]
    m[0, 3], m[3, 0] = 1 / 2, 2.0
    with pytest.raises(InputError, match=r"cell \[0, 3\] \(a vs d\) from 1/2 to 8 gives CR 0.000"):
        ahp(m, labels=list("abcd"))
