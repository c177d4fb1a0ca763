"""Tests of gis.overlay: weights, weighted linear combination, constraints."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shapely.geometry import LineString, Point, box

from gis.errors import InputError
from gis.grid import Grid
from gis.overlay import (
    AGGREGATIONS,
    aggregate,
    apply_constraints,
    exclusion_mask,
    normalize_weights,
    weighted_linear_combination,
)
from tests.helpers import traced_peak

CRS = "EPSG:32635"
NAN = np.nan


# ---------------------------------------------------------------------- normalize_weights
def test_normalize_weights_scales_to_one_and_keeps_order():
    out = normalize_weights({"b": 1, "a": 3, "c": 0})
    assert out == {"b": 0.25, "a": 0.75, "c": 0.0}
    assert list(out) == ["b", "a", "c"]


def test_normalize_weights_accepts_numpy_scalars():
    out = normalize_weights({"a": np.float32(1.0), "b": np.int64(1)})
    assert out == {"a": 0.5, "b": 0.5}
    assert all(type(v) is float for v in out.values())


def test_normalize_weights_does_not_modify_input():
    w = {"a": 2.0, "b": 6.0}
    normalize_weights(w)
    assert w == {"a": 2.0, "b": 6.0}


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ({"a": 1, "green": -0.5}, r"'green' is -0\.5.*>= 0"),
        ({"a": 1, "green": math.nan}, r"'green' is nan"),
        ({"a": 1, "green": math.inf}, r"'green' is inf"),
        ({"a": 1, "green": "0.5"}, r"'green' must be a real number"),
        ({"a": 1, "green": True}, r"'green' must be a real number"),
        ({"a": 1, "green": None}, r"'green' must be a real number"),
        ({"a": 0, "b": 0.0}, r"all weights are zero \('a', 'b'\)"),
        ({}, r"weights is empty"),
        ([("a", 1)], r"weights must be a mapping"),
    ],
)
def test_normalize_weights_rejects_bad_weights(weights, match):
    with pytest.raises(InputError, match=match):
        normalize_weights(weights)


# ---------------------------------------------------------------------- WLC
A = np.array([[1.0, 0.0, 0.5], [0.25, NAN, 1.0]], dtype=np.float32)
B = np.array([[0.0, 1.0, 0.5], [0.75, 0.5, NAN]], dtype=np.float32)
C = np.array([[NAN, NAN, NAN], [NAN, NAN, NAN]], dtype=np.float32)


def test_wlc_exact_values_and_nan_propagation():
    out = weighted_linear_combination({"a": A, "b": B}, {"a": 3, "b": 1})
    expected = np.array([[0.75, 0.25, 0.5], [0.375, NAN, NAN]], dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_wlc_zero_weight_layer_does_not_propagate_nan():
    out = weighted_linear_combination({"a": A, "b": B, "c": C}, {"a": 1, "b": 1, "c": 0})
    expected = np.array([[0.5, 0.5, 0.5], [0.5, NAN, NAN]], dtype=np.float32)
    np.testing.assert_array_equal(out, expected)


def test_wlc_positive_weight_all_nan_layer_blanks_everything():
    out = weighted_linear_combination({"a": A, "c": C}, {"a": 1, "c": 1e-9})
    assert np.isnan(out).all()


def test_wlc_single_layer_is_identity():
    out = weighted_linear_combination({"a": A}, {"a": 7})
    np.testing.assert_array_equal(out, A)


def test_wlc_accepts_integer_and_float64_layers():
    ints = np.array([[0, 2], [4, 6]], dtype=np.int16)
    f64 = np.array([[1.0, 1.0], [0.0, 0.0]])
    out = weighted_linear_combination({"i": ints, "f": f64}, {"i": 1, "f": 1})
    np.testing.assert_array_equal(out, np.array([[0.5, 1.5], [2.0, 3.0]], dtype=np.float32))


def test_wlc_inputs_are_not_modified():
    a, b = A.copy(), B.copy()
    weights = {"a": 3, "b": 1}
    weighted_linear_combination({"a": a, "b": b}, weights)
    np.testing.assert_array_equal(a, A)
    np.testing.assert_array_equal(b, B)
    assert weights == {"a": 3, "b": 1}


def _running_mean(layers, weights, order=None):
    """Whole-array numpy reference: the running weighted mean, rounded to float32 per layer."""
    order = list(weights) if order is None else order
    total = math.fsum(weights.values())
    r, seen = None, 0.0
    for k in order:
        w = weights[k] / total
        prev, seen = seen, seen + w
        s64 = layers[k].astype(np.float64)
        if r is None:
            r = s64.astype(np.float32)
        elif w / seen <= 0.5:  # from the end with the larger weight
            r = (r + (w / seen) * (s64 - r)).astype(np.float32)
        else:
            r = (s64 + (prev / seen) * (r - s64)).astype(np.float32)
    return r


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7, 1000])
def test_wlc_chunking_does_not_change_result(chunk_rows):
    rng = np.random.default_rng(0)
    layers = {k: rng.random((13, 5), dtype=np.float32) for k in "abc"}
    layers["b"][rng.random((13, 5)) < 0.2] = np.nan
    weights = {"a": 0.2, "b": 0.5, "c": 0.3}
    exact = (
        0.2 * layers["a"].astype(np.float64)
        + 0.5 * layers["b"].astype(np.float64)
        + 0.3 * layers["c"].astype(np.float64)
    )
    out = weighted_linear_combination(layers, weights, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(out, _running_mean(layers, weights))
    # one float32 rounding per layer: within a few units in the last place of the exact sum
    np.testing.assert_allclose(out, exact, rtol=3 * 2.0**-24, atol=0)


@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
@pytest.mark.parametrize("into", ["a", "b", "new"])
def test_wlc_out_may_be_a_score_layer(chunk_rows, into):
    rng = np.random.default_rng(3)
    layers = {k: rng.random((13, 5), dtype=np.float32) for k in "abc"}
    layers["a"][rng.random((13, 5)) < 0.2] = np.nan
    weights = {"a": 0.2, "b": 0.5, "c": 0.3}
    order = list(weights) if into == "new" else [into, *(k for k in weights if k != into)]
    ref = _running_mean({k: v.copy() for k, v in layers.items()}, weights, order)
    target = np.empty((13, 5), dtype=np.float32) if into == "new" else layers[into]
    got = weighted_linear_combination(layers, weights, chunk_rows=chunk_rows, out=target)
    assert got is target
    # the layer that is `out` is taken first, so that its values are read before they change
    np.testing.assert_array_equal(got, ref)


def test_wlc_equal_layers_give_exactly_their_value():
    v = np.array([[0.1, 0.7, 1e-30], [3.3, -2.5, 0.3]], dtype=np.float32)
    layers = {k: v.copy() for k in "abcdef"}
    weights = {"a": 0.1, "b": 0.7, "c": 1.3, "d": 1e-9, "e": 5.0, "f": 0.33}
    np.testing.assert_array_equal(weighted_linear_combination(layers, weights), v)


def _lazy(layers, calls):
    """Each layer as a function returning a fresh copy, recording the order of the calls."""

    def make(k):
        def produce():
            calls.append(k)
            return layers[k].copy()

        return produce

    return {k: make(k) for k in layers}


@pytest.mark.parametrize("chunk_rows", [None, 1, 4])
@pytest.mark.parametrize("into", ["none", "new"])
def test_wlc_lazy_layers_equal_arrays(chunk_rows, into):
    rng = np.random.default_rng(7)
    layers = {k: rng.random((11, 6), dtype=np.float32) for k in "abcd"}
    layers["a"][rng.random((11, 6)) < 0.2] = np.nan
    layers["d"][:] = np.nan  # weight 0: neither read nor propagated
    weights = {"a": 3.0, "b": 1.0, "c": 0.5, "d": 0.0}
    want = weighted_linear_combination(layers, weights, chunk_rows=chunk_rows)
    calls: list[str] = []
    target = None if into == "none" else np.full((11, 6), 5.0, dtype=np.float32)
    got = weighted_linear_combination(
        _lazy(layers, calls), weights, chunk_rows=chunk_rows, out=target
    )
    assert calls == ["a", "b", "c"]
    assert target is None or got is target
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(layers["a"]))


def test_wlc_mixes_lazy_layers_and_arrays_and_normalises_weights():
    calls: list[str] = []
    lazy = _lazy({"b": B}, calls)
    got = weighted_linear_combination({"a": A, "b": lazy["b"]}, {"a": 3, "b": 1})
    expected = np.array([[0.75, 0.25, 0.5], [0.375, NAN, NAN]], dtype=np.float32)
    np.testing.assert_array_equal(got, expected)
    again = weighted_linear_combination({"a": A, "b": lazy["b"]}, {"a": 0.75, "b": 0.25})
    np.testing.assert_array_equal(again, expected)
    assert calls == ["b", "b"]


def test_wlc_lazy_layers_are_not_held_together():
    rows, cols = 1000, 500  # 2 MB per float32 layer
    layers = {k: (lambda v=i: np.full((rows, cols), v / 10, dtype=np.float32)) for i, k in
              enumerate("abcdef")}  # fmt: skip
    out, peak = traced_peak(lambda: weighted_linear_combination(layers, dict.fromkeys(layers, 1.0)))
    # the result, one produced layer and the float64 chunk buffers (about 0.5 MB each)
    assert peak < 2 * out.nbytes + 2 * 2**20
    np.testing.assert_allclose(out, 0.25, rtol=1e-6)


@pytest.mark.parametrize(
    ("produce", "match"),
    [
        (
            lambda: B[:, :2].copy(),
            r"'b' has shape \(2, 2\) but the other layers have shape \(2, 3\)",
        ),
        (lambda: B.astype(str), r"layer 'b' must be a numeric array"),
        (lambda: np.float32(1), r"'b' is a scalar"),
    ],
)
def test_wlc_rejects_bad_lazy_layer(produce, match):
    with pytest.raises(InputError, match=match):
        weighted_linear_combination({"a": A, "b": produce}, {"a": 1, "b": 1})


def test_wlc_rejects_lazy_layer_in_the_memory_of_out():
    out = np.empty_like(A)

    def into_out():
        out[...] = B
        return out

    with pytest.raises(InputError, match="produced in the memory of out"):
        weighted_linear_combination({"a": A, "b": into_out}, {"a": 1, "b": 1}, out=out)


def test_wlc_rejects_out_overlapping_a_layer():
    big = np.zeros((4, 3), dtype=np.float32)
    a, b = big[:2], big[1:3]
    with pytest.raises(InputError, match="out overlaps score layer"):
        weighted_linear_combination({"a": a, "b": B}, {"a": 1, "b": 1}, out=b)
    with pytest.raises(InputError, match="out overlaps score layer"):
        weighted_linear_combination({"a": A, "b": A}, {"a": 1, "b": 1}, out=A)


@pytest.mark.parametrize("out", [np.empty((2, 2)), np.empty((3, 2), dtype=np.float32), [[0.0]]])
def test_wlc_rejects_bad_out(out):
    with pytest.raises(InputError, match="out must be a float32 array"):
        weighted_linear_combination({"a": A, "b": B}, {"a": 1, "b": 1}, out=out)


def test_wlc_temporaries_are_bounded():
    rows, cols = 1000, 500  # 2 MB per float32 layer
    layers = {k: np.full((rows, cols), 0.5, dtype=np.float32) for k in "abcdef"}
    weights = dict.fromkeys(layers, 1.0)
    out, peak = traced_peak(lambda: weighted_linear_combination(layers, weights))
    assert out.nbytes == rows * cols * 4
    # the result plus two float64 chunk buffers of about 65 000 cells (1 MB)
    assert peak < out.nbytes + 2 * 2**20
    np.testing.assert_allclose(out, 0.5)


_CURVES = {
    "a": {"function": "linear", "minimum": 10.0, "maximum": 80.0},
    "b": {"function": "gaussian", "midpoint": 40.0, "spread": 0.002},
    "c": {"function": "logistic_decay", "minimum": 20.0, "maximum": 70.0},
    "d": {"function": "power", "exponent": 1.5},
}


def _raw_layers(shape, seed):
    rng = np.random.default_rng(seed)
    raw = {k: rng.uniform(0, 100, shape).astype(np.float32) for k in _CURVES}
    raw["b"][rng.random(shape) < 0.05] = np.nan
    return raw


def _rescaled(raw, lazy):
    from gis.transforms import Rescaled, rescale

    make = Rescaled if lazy else rescale
    return {k: make(raw[k], **_CURVES[k]) for k in _CURVES}


@pytest.mark.parametrize("chunk_rows", [None, 7])
def test_wlc_of_rescaled_layers_equals_rescaled_arrays(chunk_rows):
    """Rescaled chunk by chunk as it is combined: the same bits as rescaling first."""
    raw = _raw_layers((300, 41), 5)
    weights = {"a": 3.0, "b": 1.0, "c": 0.5, "d": 2.0}
    want = weighted_linear_combination(_rescaled(raw, False), weights, chunk_rows=chunk_rows)
    assert np.isnan(want).any()
    got = weighted_linear_combination(_rescaled(raw, True), weights, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(got, want)
    # into the memory of the first layer's input, and with layers made on demand
    first = raw["a"].copy()
    layers = _rescaled({**raw, "a": first}, True)
    assert weighted_linear_combination(layers, weights, out=first) is first
    np.testing.assert_array_equal(first, want)
    later = {k: (lambda v=v: v) for k, v in _rescaled(raw, True).items()}
    np.testing.assert_array_equal(weighted_linear_combination(later, weights), want)


def test_wlc_does_not_compute_a_row_layer_of_weight_zero():
    class Refuses:
        shape = (4, 3)
        values = np.zeros((4, 3))

        def rows(self, start, stop):
            raise AssertionError("a layer of weight 0 was computed")

    a = np.full((4, 3), 0.25, dtype=np.float32)
    out = weighted_linear_combination({"a": a, "z": Refuses()}, {"a": 1.0, "z": 0.0})
    np.testing.assert_array_equal(out, a)
    with pytest.raises(InputError, match=r"'z' has shape \(4, 3\) but the other layers"):
        weighted_linear_combination({"a": a[:2], "z": Refuses()}, {"a": 1.0, "z": 1.0})


def test_wlc_of_rescaled_layers_makes_no_whole_score_arrays():
    raw = _raw_layers((2000, 500), 1)  # 4 MB per layer
    layers = _rescaled(raw, True)
    out, peak = traced_peak(
        lambda: weighted_linear_combination(layers, dict.fromkeys(layers, 1.0), chunk_rows=50)
    )
    # the result and chunk temporaries of 50 rows on each thread, no 4 MB score layer
    assert peak < out.nbytes + 3 * 2**20


@pytest.mark.parametrize(
    ("scores", "weights", "match"),
    [
        ({"a": A}, {"a": 1, "b": 1}, r"no score layer for \['b'\]"),
        ({"a": A, "b": B}, {"a": 1}, r"score layers without a weight: \['b'\]"),
        (
            {"a": A, "x": B},
            {"a": 1, "b": 1},
            r"no score layer for \['b'\].*without a weight: \['x'\]",
        ),
        (
            {"a": A, "b": B[:, :2]},
            {"a": 1, "b": 1},
            r"'b' has shape \(2, 2\) but 'a' has shape \(2, 3\)",
        ),
        ({"a": A, "b": B}, {"a": 1, "b": -1}, r"weight of 'b' is -1"),
        ({"a": A, "b": B}, {"a": 0, "b": 0}, r"all weights are zero"),
        ({"a": A, "b": B}, {"a": 1, "b": NAN}, r"weight of 'b' is nan"),
        ({"a": A, "b": B.astype(str)}, {"a": 1, "b": 1}, r"layer 'b' must be a numeric array"),
        ({"a": np.float32(1)}, {"a": 1}, r"'a' is a scalar"),
        ([A], {"a": 1}, r"scores must be a mapping"),
    ],
)
def test_wlc_rejects_bad_input(scores, weights, match):
    with pytest.raises(InputError, match=match):
        weighted_linear_combination(scores, weights)


@pytest.mark.parametrize("chunk_rows", [0, -3, 1.5, True, "10"])
def test_wlc_rejects_bad_chunk_rows(chunk_rows):
    with pytest.raises(InputError, match="chunk_rows must be a positive integer"):
        weighted_linear_combination({"a": A}, {"a": 1}, chunk_rows=chunk_rows)
    calls: list[str] = []
    with pytest.raises(InputError, match="chunk_rows must be a positive integer"):
        weighted_linear_combination(_lazy({"a": A}, calls), {"a": 1}, chunk_rows=chunk_rows)
    assert calls == []


_layer_values = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@st.composite
def _layers_and_weights(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=6))
    n = draw(st.integers(1, 4))
    layers = {
        f"f{i}": draw(hnp.arrays(np.float32, shape, elements=_layer_values)) for i in range(n)
    }
    weights = {k: draw(st.floats(0, 100)) for k in layers}
    if not any(weights.values()):
        weights["f0"] = 1.0
    return layers, weights


@settings(max_examples=60, deadline=None)
@given(_layers_and_weights(), st.integers(1, 7))
def test_wlc_lies_between_min_and_max_of_weighted_layers(case, chunk_rows):
    layers, weights = case
    copies = {k: v.copy() for k, v in layers.items()}
    out = weighted_linear_combination(layers, weights, chunk_rows=chunk_rows)
    active = np.stack([layers[k] for k, w in weights.items() if w > 0])
    assert out.shape == active.shape[1:]
    assert np.all(out >= active.min(axis=0))
    assert np.all(out <= active.max(axis=0))
    for k in layers:
        np.testing.assert_array_equal(layers[k], copies[k])


@settings(max_examples=40, deadline=None)
@given(_layers_and_weights(), st.integers(1, 7))
def test_wlc_lazy_layers_give_the_same_values(case, chunk_rows):
    layers, weights = case
    want = weighted_linear_combination(layers, weights, chunk_rows=chunk_rows)
    got = weighted_linear_combination(_lazy(layers, []), weights, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        want, _running_mean(layers, {k: w for k, w in weights.items() if w > 0})
    )


@settings(max_examples=40, deadline=None)
@given(_layers_and_weights(), st.data())
def test_wlc_nan_exactly_where_a_weighted_layer_is_nan(case, data):
    layers, weights = case
    shape = next(iter(layers.values())).shape
    for arr in layers.values():
        holes = data.draw(hnp.arrays(bool, shape))
        arr[holes] = np.nan
    out = weighted_linear_combination(layers, weights)
    expected = np.zeros(shape, dtype=bool)
    for k, w in weights.items():
        if w > 0:
            expected |= np.isnan(layers[k])
    np.testing.assert_array_equal(np.isnan(out), expected)


# ---------------------------------------------------------------------- aggregate
def test_aggregate_by_name_matches_wlc_and_forwards_options():
    scores, weights = {"a": A, "b": B}, {"a": 3, "b": 1}
    ref = weighted_linear_combination(scores, weights)
    np.testing.assert_array_equal(aggregate(scores, weights), ref)
    np.testing.assert_array_equal(aggregate(scores, weights, method="wlc", chunk_rows=1), ref)
    assert AGGREGATIONS["wlc"] is weighted_linear_combination


def test_aggregate_accepts_a_callable():
    def first_layer(scores, weights):
        return np.asarray(scores[next(iter(weights))], dtype=np.float32)

    np.testing.assert_array_equal(aggregate({"b": B}, {"b": 1}, method=first_layer), B)


@pytest.mark.parametrize("method", ["mean", "WLC", 3, None])
def test_aggregate_rejects_unknown_method(method):
    with pytest.raises(InputError, match=r"unknown aggregation method .*'owa'.*'wlc'\]"):
        aggregate({"a": A}, {"a": 1}, method=method)


# ---------------------------------------------------------------------- exclusion_mask
# 10 x 10 cells of 10 m; row r covers y in (90 - 10 r, 100 - 10 r].
GRID = Grid.from_bounds((0, 0, 100, 100), cell_size=10, crs=CRS)
LINE = LineString([(25, 53), (75, 53)])


def _cells(mask):
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(mask), strict=True)}


def test_exclusion_mask_of_a_line_without_buffer_is_the_touched_cells():
    mask = exclusion_mask(GRID, [LINE])
    assert mask.dtype == bool and mask.shape == GRID.shape
    assert _cells(mask) == {(4, c) for c in range(2, 8)}


def test_exclusion_mask_of_a_buffered_line_all_touched():
    # buffer 6.5 m: y in [46.5, 59.5] (rows 4 and 5), round caps reach x = 18.5 and 81.5
    mask = exclusion_mask(GRID, [LINE], buffer=6.5)
    assert _cells(mask) == {(r, c) for r in (4, 5) for c in range(1, 9)}


def test_exclusion_mask_of_a_buffered_line_by_cell_centre():
    # only row 4 has its centre line (y = 55) in the band; the caps end at x = 25 -+ 6.18
    mask = exclusion_mask(GRID, [LINE], buffer=6.5, all_touched=False)
    assert _cells(mask) == {(4, c) for c in range(2, 8)}


def test_exclusion_mask_combines_geometries_and_skips_none_and_empty():
    water = box(0, 0, 20, 20)  # rows 8-9, cols 0-1
    mask = exclusion_mask(GRID, [water, None, Point(), LINE], all_touched=False)
    assert _cells(mask) == {(r, c) for r in (8, 9) for c in (0, 1)} | {(4, c) for c in range(2, 8)}


def test_exclusion_mask_accepts_geoseries_and_geodataframe_in_grid_crs():
    gs = gpd.GeoSeries([LINE], crs=CRS)
    expected = exclusion_mask(GRID, [LINE], buffer=6.5)
    np.testing.assert_array_equal(exclusion_mask(GRID, gs, buffer=6.5), expected)
    gdf = gpd.GeoDataFrame({"kind": ["rail"]}, geometry=gs)
    np.testing.assert_array_equal(exclusion_mask(GRID, gdf, buffer=6.5), expected)
    np.testing.assert_array_equal(exclusion_mask(GRID, LINE, buffer=6.5), expected)


def test_exclusion_mask_without_geometries_excludes_nothing():
    assert not exclusion_mask(GRID, []).any()
    assert not exclusion_mask(GRID, [None], buffer=5).any()


def test_exclusion_mask_does_not_modify_geometries():
    gs = gpd.GeoSeries([LINE], crs=CRS)
    exclusion_mask(GRID, gs, buffer=6.5)
    assert gs.iloc[0].equals(LINE)


@pytest.mark.parametrize("buffer", [-1.0, math.nan, math.inf, "5"])
def test_exclusion_mask_rejects_bad_buffer(buffer):
    with pytest.raises(InputError, match="buffer must be a finite distance >= 0"):
        exclusion_mask(GRID, [LINE], buffer=buffer)


def test_exclusion_mask_rejects_other_crs_and_non_geometries():
    with pytest.raises(InputError, match=r"EPSG:4326.*\.to_crs\(grid\.crs\)"):
        exclusion_mask(GRID, gpd.GeoSeries([LINE], crs="EPSG:4326"))
    with pytest.raises(InputError, match="must be shapely geometries, got tuple"):
        exclusion_mask(GRID, [LINE, (1, 2)])


# ---------------------------------------------------------------------- apply_constraints
SCORE = np.array([[0.25, 0.5, 0.75], [1.0, NAN, 0.0]])


def test_apply_constraints_blanks_excluded_and_outside_cells():
    excluded = np.array([[False, True, False], [False, False, False]])
    area = np.array([[True, True, True], [False, True, True]])
    out = apply_constraints(SCORE, excluded, area_mask=area)
    expected = np.array([[0.25, NAN, 0.75], [NAN, NAN, 0.0]], dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_apply_constraints_without_masks_is_a_float32_copy():
    score = SCORE.astype(np.float32)
    out = apply_constraints(score, None)
    np.testing.assert_array_equal(out, score)
    assert not np.shares_memory(out, score)


def test_apply_constraints_does_not_modify_inputs():
    score, excluded = SCORE.copy(), np.ones(SCORE.shape, dtype=bool)
    area = np.zeros(SCORE.shape, dtype=bool)
    out = apply_constraints(score, excluded, area_mask=area)
    assert np.isnan(out).all()
    np.testing.assert_array_equal(score, SCORE)
    assert excluded.all() and not area.any()


def test_apply_constraints_area_mask_over_many_chunks():
    rng = np.random.default_rng(1)
    score = rng.random((300, 400), dtype=np.float32)  # several row chunks
    area = rng.random((300, 400)) < 0.5
    out = apply_constraints(score, None, area_mask=area)
    np.testing.assert_array_equal(out, np.where(area, score, np.float32(np.nan)))


@pytest.mark.parametrize(
    ("excluded", "area", "match"),
    [
        (np.zeros((2, 3)), None, r"excluded must be a boolean array, got dtype float64"),
        (None, np.ones((2, 3), dtype=int), r"area_mask must be a boolean array"),
        (np.zeros((3, 2), dtype=bool), None, r"excluded has shape \(3, 2\).*\(2, 3\)"),
        (None, np.zeros((2, 2), dtype=bool), r"area_mask has shape \(2, 2\)"),
    ],
)
def test_apply_constraints_rejects_bad_masks(excluded, area, match):
    with pytest.raises(InputError, match=match):
        apply_constraints(SCORE, excluded, area_mask=area)


def test_apply_constraints_into_out_and_in_place():
    rng = np.random.default_rng(2)
    score = rng.random((250, 300), dtype=np.float32)
    excluded = rng.random(score.shape) < 0.2
    area = rng.random(score.shape) < 0.7
    want = np.where(area & ~excluded, score, np.float32(np.nan))
    out = np.empty_like(score)
    assert apply_constraints(score, excluded, area_mask=area, out=out) is out
    np.testing.assert_array_equal(out, want)
    same = score.copy()
    assert apply_constraints(same, excluded, area_mask=area, out=same) is same
    np.testing.assert_array_equal(same, want)
    with pytest.raises(InputError, match="out must be a float32 array"):
        apply_constraints(score, None, out=np.empty(score.shape))


def test_wlc_dominant_later_layer_is_not_cancelled_away():
    """A layer that carries almost all the weight after one that carries almost none:
    the mean is moved from the heavier end, so 3 and 2.2e-16 cannot cancel to 0."""
    layers = {
        "f0": np.array([[3.0]], dtype=np.float32),
        "f1": np.array([[2.220446e-16]], dtype=np.float32),
    }
    out = weighted_linear_combination(layers, {"f0": 5e-324, "f1": 1.0})
    assert out[0, 0] == layers["f1"][0, 0]
