"""Transforms against closed forms written out independently of gis.transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gis.errors import InputError
from gis.transforms import TRANSFORMS, Rescaled, reclass, rescale

X5 = np.array([0.0, 1.0, 2.0, 3.0, 4.0])


def close(actual, expected, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rtol, atol=atol)


def minmax(y):
    y = np.asarray(y, dtype=float)
    return (y - y.min()) / (y.max() - y.min())


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------


def test_registry_names():
    assert set(TRANSFORMS) == {
        "linear",
        "symmetric_linear",
        "gaussian",
        "near",
        "large",
        "small",
        "ms_large",
        "ms_small",
        "logistic_growth",
        "logistic_decay",
        "exponential",
        "power",
        "logarithm",
        "band",
    }


# --------------------------------------------------------------------------
# raw functions against their closed forms
# --------------------------------------------------------------------------


def test_linear_raw_and_negative_slope():
    x = np.array([-5.0, 0.0, 2.5, 10.0, 15.0])
    assert TRANSFORMS["linear"](x, minimum=0, maximum=10).tolist() == [0, 0, 0.25, 1, 1]
    assert TRANSFORMS["linear"](x, minimum=10, maximum=0).tolist() == [1, 1, 0.75, 0, 0]


def test_linear_over_a_subnormal_range_holds_without_overflow_warning():
    x = np.array([-1.0, 0.0, 1.0])
    assert TRANSFORMS["linear"](x, minimum=0.0, maximum=5e-324).tolist() == [0, 0, 1]
    assert TRANSFORMS["linear"](x, minimum=5e-324, maximum=0.0).tolist() == [1, 1, 0]


def test_symmetric_linear_raw():
    x = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    assert TRANSFORMS["symmetric_linear"](x, minimum=0, maximum=4).tolist() == [
        0,
        0,
        0.5,
        1,
        0.5,
        0,
        0,
    ]


def test_gaussian_raw_closed_form():
    y = TRANSFORMS["gaussian"](X5, midpoint=2, spread=0.5)
    close(y, [math.exp(-0.5 * (v - 2) ** 2) for v in X5])
    close(y, [math.exp(-2), math.exp(-0.5), 1, math.exp(-0.5), math.exp(-2)])


def test_near_raw_closed_form():
    close(TRANSFORMS["near"](X5, midpoint=2, spread=1), [0.2, 0.5, 1.0, 0.5, 0.2])


def test_large_small_raw_closed_form():
    x = np.array([-1.0, 0.0, 1.0, 2.0, 4.0])
    # 1 / (1 + (x/m)^-s) with m=2, s=2: x=1 -> 1/(1+4), x=4 -> 1/(1+1/4); x<=0 -> 0
    close(TRANSFORMS["large"](x, midpoint=2, spread=2), [0, 0, 0.2, 0.5, 0.8])
    close(TRANSFORMS["small"](x, midpoint=2, spread=2), [1, 1, 0.8, 0.5, 0.2])
    # ArcGIS default spread is 5
    close(TRANSFORMS["large"](np.array([4.0]), midpoint=2), [1 / (1 + 2.0**-5)])


def test_ms_large_small_raw_closed_form():
    m, s = X5.mean(), X5.std()  # 2 and sqrt(2)
    assert (m, s) == (2.0, math.sqrt(2))
    exp_large = [0, 0, 0, 1 - s / (3 - 2 + s), 1 - s / (4 - 2 + s)]
    close(TRANSFORMS["ms_large"](X5), exp_large)
    close(TRANSFORMS["ms_small"](X5), [1 - v for v in exp_large])
    # multipliers: a*m = 1, b*s = 2*sqrt(2)
    a, b = 0.5, 2.0
    want = [0.0] + [1 - b * s / (v - a * m + b * s) for v in X5[1:]]
    close(TRANSFORMS["ms_large"](X5, mean_multiplier=a, std_multiplier=b), want)


def test_logistic_raw_closed_form():
    # y = 100 / (1 + (100/yi - 1) * exp(-r (x - min))), r = 2 ln(100/yi - 1) / (max - min)
    x = np.linspace(0, 10, 11)
    for yi in (1.0, 10.0, 30.0):
        c = 100 / yi - 1
        r = 2 * math.log(c) / 10
        want = [100 / (1 + c * math.exp(-r * v)) for v in x]
        got = TRANSFORMS["logistic_growth"](x, minimum=0, maximum=10, y_intercept_percent=yi)
        close(got, want)
        assert got[0] == pytest.approx(yi) and got[-1] == pytest.approx(100 - yi)
    decay = TRANSFORMS["logistic_decay"](x, minimum=0, maximum=10, y_intercept_percent=90)
    growth = TRANSFORMS["logistic_growth"](x, minimum=0, maximum=10, y_intercept_percent=10)
    close(decay, 100 - growth)
    assert decay[0] == pytest.approx(90) and decay[-1] == pytest.approx(10)


def test_exponential_power_logarithm_raw():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    close(TRANSFORMS["exponential"](x, shift=0, base_factor=math.log(2)), [1, 2, 4, 8])
    close(TRANSFORMS["exponential"](x, shift=1, base_factor=-1), np.exp(-(x - 1)))
    close(TRANSFORMS["power"](x, shift=0, exponent=2), [0, 1, 4, 9])
    close(TRANSFORMS["power"](x, shift=1, exponent=0.5), [0, 0, 1, math.sqrt(2)])
    close(TRANSFORMS["logarithm"](x, shift=-1), np.log(x + 1))
    close(TRANSFORMS["logarithm"](x, shift=-1, factor=3), np.log(3 * (x + 1)))
    assert np.isnan(TRANSFORMS["logarithm"](x, shift=1)[:2]).all()


def test_band_raw():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0])
    assert TRANSFORMS["band"](x, a=0, b=1, c=3, d=4).tolist() == [0, 0, 0.5, 1, 1, 1, 0.5, 0, 0]
    # a == b: a step up at a
    assert TRANSFORMS["band"](x, a=0, b=0, c=3, d=4).tolist() == [0, 1, 1, 1, 1, 1, 0.5, 0, 0]


def test_raw_functions_keep_nan_and_default_to_data_range():
    x = np.array([np.nan, 0.0, 10.0])
    for name, fn in TRANSFORMS.items():
        extra = {"b": 2.0, "c": 8.0} if name == "band" else {}
        if name in ("large", "small"):
            x = np.array([np.nan, 1.0, 10.0])
        y = fn(x, **extra)
        assert np.isnan(y[0]), name
        assert np.isfinite(y[1:]).all(), name
    assert TRANSFORMS["linear"](np.array([0.0, 5.0, 10.0])).tolist() == [0, 0.5, 1]


# --------------------------------------------------------------------------
# rescale: normalisation per function
# --------------------------------------------------------------------------


def test_rescale_linear_and_scale():
    x = np.array([0.0, 2.5, 5.0, 7.5, 10.0])
    close(rescale(x, "linear"), [0, 0.25, 0.5, 0.75, 1])
    close(rescale(x, "linear", from_scale=1, to_scale=10), [1, 3.25, 5.5, 7.75, 10])
    # inverted scale
    close(rescale(x, "linear", from_scale=10, to_scale=1), [10, 7.75, 5.5, 3.25, 1])


def test_rescale_linear_minimum_maximum_held_within_thresholds():
    x = np.arange(11.0)
    # values between the lower threshold and minimum get from_scale, above maximum to_scale
    close(rescale(x, "linear", minimum=4, maximum=6), [0] * 5 + [0.5] + [1] * 5)
    # minimum below the lower threshold is raised to it
    close(rescale(x, "linear", minimum=-5, maximum=10), x / 10)
    # negative slope
    close(rescale(x, "linear", minimum=10, maximum=0), 1 - x / 10)


def test_rescale_gaussian_closed_form():
    y = np.exp(-0.5 * (X5 - 2) ** 2)
    close(rescale(X5, "gaussian", midpoint=2, spread=0.5), minmax(y))
    # midpoint off-centre: max Y = 1 at the midpoint, min Y at the farther threshold
    y = np.exp(-0.5 * (X5 - 1) ** 2)
    got = rescale(X5, "gaussian", midpoint=1, spread=0.5)
    close(got, (y - y[-1]) / (1 - y[-1]))
    assert got[1] == 1 and got[4] == 0 and got[0] > 0


def test_rescale_gaussian_midpoint_between_cells_reaches_peak_at_midpoint():
    # the scale's top belongs to the midpoint even when no cell sits there
    x = np.array([0.0, 1.0, 3.0, 4.0])
    y = np.exp(-((x - 2) ** 2))
    close(rescale(x, "gaussian", midpoint=2, spread=1), (y - y[0]) / (1 - y[0]))


def test_rescale_default_spreads_hit_one_percent_at_far_threshold():
    # documented default: F = 0.01 at the threshold farther from the midpoint
    assert TRANSFORMS["gaussian"](np.array([0.0, 4.0]))[0] == pytest.approx(0.01)
    assert TRANSFORMS["near"](np.array([0.0, 4.0]))[0] == pytest.approx(0.01)
    s = math.log(100) / 4  # midpoint 2, half-range 2
    y = np.exp(-s * (X5 - 2) ** 2)
    close(rescale(X5, "gaussian"), (y - 0.01) / 0.99)
    y = 1 / (1 + 99 / 4 * (X5 - 2) ** 2)
    close(rescale(X5, "near"), (y - 0.01) / 0.99)


def test_rescale_near_symmetric_band():
    close(rescale(X5, "near", midpoint=2, spread=1), [0, 0.375, 1, 0.375, 0])
    close(rescale(X5, "symmetric_linear"), [0, 0.5, 1, 0.5, 0])
    close(rescale(X5, "band", b=1, c=2), [0, 1, 1, 0.5, 0])
    close(rescale(X5, "band", a=-1, b=0.5, c=1, d=4), [2 / 3, 1, 2 / 3, 1 / 3, 0])


def test_rescale_large_small_ms():
    x = np.array([1.0, 2.0, 4.0])
    y = 1 / (1 + (x / 2) ** -2)
    close(rescale(x, "large", midpoint=2, spread=2), minmax(y))
    close(rescale(x, "small", midpoint=2, spread=2), 1 - minmax(y))
    s = math.sqrt(2)
    f4 = 1 - s / (2 + s)
    close(rescale(X5, "ms_large"), [0, 0, 0, (1 - s / (1 + s)) / f4, 1])
    close(rescale(X5, "ms_small"), [1, 1, 1, 1 - (1 - s / (1 + s)) / f4, 0])


def test_rescale_logistic():
    x = np.linspace(0, 10, 5)
    c = 99.0
    r = 2 * math.log(c) / 10
    y = np.array([100 / (1 + c * math.exp(-r * v)) for v in x])
    close(rescale(x, "logistic_growth"), (y - 1) / 98)
    close(rescale(x, "logistic_decay"), 1 - (y - 1) / 98)
    # minimum/maximum inside the thresholds are not clipped: the curve steepens
    y = TRANSFORMS["logistic_growth"](x, minimum=4, maximum=6)
    close(rescale(x, "logistic_growth", minimum=4, maximum=6), minmax(y))


def test_rescale_exponential_power_logarithm():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    close(rescale(x, "exponential", base_factor=math.log(2)), [0, 1 / 7, 3 / 7, 1])
    # the shift is a constant factor and cancels
    close(rescale(x, "exponential", shift=-50, base_factor=math.log(2)), [0, 1 / 7, 3 / 7, 1])
    close(rescale(x, "exponential", base_factor=-math.log(2)), [1, 3 / 7, 1 / 7, 0])
    # a base factor that would overflow exp() still scales cleanly
    big = rescale(np.array([0.0, 1.0, 1000.0]), "exponential", base_factor=10.0)
    assert big.tolist() == [0, 0, 1]
    close(rescale(x, "power", exponent=2), [0, 1 / 9, 4 / 9, 1])
    close(rescale(x, "power", shift=-1, exponent=0.5), minmax(np.sqrt(x + 1)))
    close(rescale(x, "logarithm", shift=-1), np.log(x + 1) / math.log(4))
    close(rescale(x, "logarithm", shift=-1, factor=7), np.log(x + 1) / math.log(4))
    # default exponential spans ten orders of magnitude: ln(1e10) / range
    close(rescale(x, "exponential"), (np.exp(math.log(1e10) / 3 * x) - 1) / (1e10 - 1))
    # default logarithm shift: 1 % of the range below the lower threshold
    close(rescale(x, "logarithm"), minmax(np.log(x + 0.03)))


def test_rescale_callable():
    close(rescale(X5, lambda v: v**2), X5**2 / 16)
    close(rescale(X5, lambda v, k: v**k, k=3), X5**3 / 64)
    got = rescale(X5, lambda v: v**2, lower_threshold=1, upper_threshold=3)
    close(got, [0, 0, 3 / 8, 1, 1])


# --------------------------------------------------------------------------
# thresholds and values outside them
# --------------------------------------------------------------------------


def test_thresholds_inside_data_default_outside_values_hold_flat():
    x = np.arange(11.0)
    got = rescale(x, "linear", lower_threshold=2, upper_threshold=8)
    close(got, [0, 0, 0, 1 / 6, 2 / 6, 0.5, 4 / 6, 5 / 6, 1, 1, 1])
    # a decreasing function: below gets the top of the scale
    got = rescale(x, "small", midpoint=5, lower_threshold=2, upper_threshold=8)
    assert got[0] == got[1] == got[2] == 1 and got[8] == got[9] == got[10] == 0


def test_explicit_values_below_above_and_nodata():
    x = np.arange(11.0)
    got = rescale(
        x, "linear", lower_threshold=2, upper_threshold=8, value_below=-1, value_above=np.nan
    )
    close(got[:9], [-1, -1, 0, 1 / 6, 2 / 6, 0.5, 4 / 6, 5 / 6, 1])
    assert np.isnan(got[9:]).all()


def test_thresholds_outside_data_leave_scale_ends_unreached():
    x = np.arange(11.0)
    got = rescale(x, "linear", lower_threshold=-10, upper_threshold=20)
    close(got, (x + 10) / 30)
    assert got.min() > 0 and got.max() < 1


def test_gaussian_thresholds_on_one_side_of_curve():
    # ArcGIS scenario: the lower threshold takes to_scale, the upper from_scale
    x = np.array([1.0, 2.0, 3.0])
    got = rescale(x, "gaussian", midpoint=0, spread=1)
    y = np.exp(-(x**2))
    close(got, (y - y[-1]) / (y[0] - y[-1]))
    assert got[0] == 1 and got[-1] == 0


def test_gaussian_outside_thresholds_default_to_threshold_score():
    x = np.array([-2.0, 0.0, 1.0, 2.0, 5.0])
    got = rescale(x, "gaussian", midpoint=0.5, spread=1, lower_threshold=0, upper_threshold=2)
    y = np.exp(-((np.array([0.0, 1.0, 2.0]) - 0.5) ** 2))
    inner = (y - y[2]) / (1 - y[2])
    close(got, [inner[0], inner[0], inner[1], 0, 0])


# --------------------------------------------------------------------------
# NaN, constant, dtype, shape, immutability
# --------------------------------------------------------------------------


def test_nan_propagates_and_thresholds_ignore_nan():
    x = np.array([[np.nan, 0.0], [5.0, 10.0]])
    for name in TRANSFORMS:
        extra = {"b": 2.0, "c": 8.0} if name == "band" else {}
        xx = x + 1 if name in ("large", "small") else x
        got = rescale(xx, name, **extra)
        assert got.shape == (2, 2) and got.dtype == np.float32, name
        assert np.isnan(got[0, 0]) and np.isfinite(got[[0, 1, 1], [1, 0, 1]]).all(), name
    close(rescale(x, "linear")[~np.isnan(x)], [0, 0.5, 1])


def test_all_nan_gives_all_nan():
    x = np.full((2, 3), np.nan)
    for name in TRANSFORMS:
        got = rescale(x, name, lower_threshold=0, upper_threshold=1)
        assert got.dtype == np.float32 and np.isnan(got).all(), name
    assert np.isnan(rescale(x, "linear")).all()
    assert np.isnan(TRANSFORMS["gaussian"](x)).all()


def test_constant_input_gives_to_scale():
    x = np.array([3.0, 3.0, np.nan])
    for name in TRANSFORMS:
        extra = {"b": 3.0, "c": 3.0} if name == "band" else {}
        got = rescale(x, name, from_scale=1, to_scale=10, **extra)
        assert got[:2].tolist() == [10, 10] and np.isnan(got[2]), name


def test_integer_input_and_input_not_modified():
    xi = np.array([0, 5, 10])
    close(rescale(xi, "linear"), [0, 0.5, 1])
    x = np.array([0.0, np.nan, 4.0, 2.0])
    before = x.copy()
    for name, fn in TRANSFORMS.items():
        extra = {"b": 1.0, "c": 3.0} if name == "band" else {}
        rescale(x, name, lower_threshold=0.5, value_below=np.nan, **extra)
        fn(x, **extra)
    np.testing.assert_array_equal(x, before)


def test_infinite_cells_fall_outside_thresholds():
    got = rescale(np.array([-np.inf, 0.0, 10.0, np.inf]), "linear", value_below=-1, value_above=2)
    assert got.tolist() == [-1, 0, 1, 2]


# --------------------------------------------------------------------------
# hypothesis properties
# --------------------------------------------------------------------------

values = st.lists(st.integers(-4000, 4000), min_size=2, max_size=30).map(
    lambda v: np.array(v, dtype=float) / 4
)
MONOTONE = (
    "linear",
    "large",
    "small",
    "logistic_growth",
    "logistic_decay",
    "exponential",
    "power",
    "logarithm",
)
scales = st.tuples(st.integers(-10, 10), st.integers(-10, 10)).filter(lambda t: t[0] != t[1])


@settings(max_examples=60, deadline=None)
@given(values)
def test_monotone_functions(x):
    xs = np.sort(x)
    pos = xs - xs.min() + 1  # large/small default midpoint must be positive
    for name, data in [
        ("linear", xs),
        ("large", pos),
        ("logistic_growth", xs),
        ("ms_large", xs),
        ("exponential", xs),
        ("power", xs),
        ("logarithm", xs),
    ]:
        assert np.all(np.diff(rescale(data, name)) >= 0), name
    for name, data in [("small", pos), ("logistic_decay", xs), ("ms_small", xs)]:
        assert np.all(np.diff(rescale(data, name)) <= 0), name


@settings(max_examples=60, deadline=None)
@given(values, scales)
def test_outputs_inside_scale_and_ends_reached(x, scale):
    f0, f1 = scale
    pos = x - x.min() + 1
    for name in TRANSFORMS:
        data = pos if name in ("large", "small") else x
        extra = {}
        if name == "band":
            lo, hi = float(data.min()), float(data.max())
            extra = {"b": lo + (hi - lo) / 3, "c": lo + 2 * (hi - lo) / 3}
        got = rescale(data, name, from_scale=f0, to_scale=f1, **extra)
        assert np.all(got >= min(f0, f1)) and np.all(got <= max(f0, f1)), name
        if np.ptp(data) > 0 and name in MONOTONE:
            # with data thresholds the lowest and highest cells take the scale's ends
            assert {float(f0), float(f1)} <= set(got.tolist()), name


@settings(max_examples=60, deadline=None)
@given(values, st.floats(-1000, 1000), st.floats(0.01, 5))
def test_gaussian_symmetric_about_midpoint(x, mid, spread):
    # same distance from the midpoint, same score (mid -+ |x| round apart by an ulp, and
    # rescale may take the exponential in float32: within its bound, 5e-7 of the scale)
    xs = np.concatenate([mid - np.abs(x), mid + np.abs(x)])
    got = rescale(xs, "gaussian", midpoint=mid, spread=spread)
    n = x.size
    np.testing.assert_allclose(got[:n], got[n:], rtol=0, atol=5e-7)


# --------------------------------------------------------------------------
# reclass
# --------------------------------------------------------------------------


def test_reclass_lookup_default_and_nan():
    x = np.array([[1, 2], [3, 1]])
    assert reclass(x, {1: 0.5, 2: 1.0}).tolist()[0] == [0.5, 1.0]
    assert np.isnan(reclass(x, {1: 0.5, 2: 1.0})[1, 0])
    assert reclass(x, {2: 1.0, 1: 0.5}, default=0).tolist() == [[0.5, 1], [0, 0.5]]
    xf = np.array([1.0, np.nan, 2.5, 7.0])
    got = reclass(xf, {2.5: 3.0, 1: 1.0}, default=-1)
    assert got[[0, 2, 3]].tolist() == [1, 3, -1] and np.isnan(got[1])
    assert got.dtype == np.float32


def test_reclass_large_integer_codes_exact_and_input_untouched():
    x = np.array([2**62 + 1, 2**62, 5], dtype=np.int64)
    before = x.copy()
    got = reclass(x, {2**62 + 1: 1, 2**62: 2})
    assert got[:2].tolist() == [1, 2] and np.isnan(got[2])
    np.testing.assert_array_equal(x, before)


def test_reclass_nan_score_marks_nodata():
    got = reclass(np.array([1, 2]), {1: np.nan, 2: 1.0}, default=0)
    assert np.isnan(got[0]) and got[1] == 1


@pytest.mark.parametrize(
    ("mapping", "kwargs", "match"),
    [
        ({}, {}, "mapping"),
        ([(1, 2)], {}, "mapping"),
        ({np.nan: 1}, {}, "mapping key"),
        ({"a": 1}, {}, "mapping key"),
        ({1: "x"}, {}, "score for class 1"),
        ({1: np.inf}, {}, "score for class 1"),
        ({1: 1.0}, {"default": np.inf}, "default"),
    ],
)
def test_reclass_bad_input(mapping, kwargs, match):
    with pytest.raises(InputError, match=match):
        reclass(np.array([1, 2]), mapping, **kwargs)


def test_reclass_non_numeric_values():
    with pytest.raises(InputError, match="values"):
        reclass(np.array(["a", "b"]), {1: 1.0})


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "kwargs", "match"),
    [
        ("gaussain", {}, "unknown function 'gaussain'.*gaussian.*linear"),
        (3, {}, "function must be"),
        ("gaussian", {"sprad": 1}, "unknown parameter.*sprad"),
        ("linear", {"lower_threshold": 5, "upper_threshold": 5}, "lower_threshold"),
        ("linear", {"lower_threshold": 6, "upper_threshold": 5}, "lower_threshold"),
        ("linear", {"lower_threshold": 5}, "lower_threshold.*data maximum"),
        ("linear", {"lower_threshold": np.nan}, "lower_threshold must be finite"),
        ("linear", {"upper_threshold": np.inf}, "upper_threshold must be finite"),
        ("linear", {"from_scale": 1, "to_scale": 1}, "from_scale and to_scale"),
        ("linear", {"to_scale": np.nan}, "to_scale"),
        ("linear", {"value_below": np.inf}, "value_below"),
        ("linear", {"value_above": "high"}, "value_above"),
        ("linear", {"minimum": -5, "maximum": -1}, "minimum and maximum"),
        ("gaussian", {"spread": 0}, "spread must be > 0"),
        ("gaussian", {"spread": -1}, "spread must be > 0"),
        ("gaussian", {"midpoint": np.inf}, "midpoint must be finite"),
        ("gaussian", {"midpoint": "centre"}, "midpoint must be a real number"),
        ("near", {"spread": 0}, "spread must be > 0"),
        ("large", {"midpoint": 0}, "midpoint must be > 0"),
        ("large", {"lower_threshold": -8, "upper_threshold": 2}, "midpoint must be > 0"),
        ("small", {"spread": -2}, "spread must be > 0"),
        ("ms_large", {"mean_multiplier": 0}, "mean_multiplier must be > 0"),
        ("ms_small", {"std_multiplier": -1}, "std_multiplier must be > 0"),
        ("ms_large", {"std": -1}, "std must be >= 0"),
        ("logistic_growth", {"y_intercept_percent": 50}, "y_intercept_percent"),
        ("logistic_growth", {"y_intercept_percent": 0}, "y_intercept_percent"),
        ("logistic_decay", {"y_intercept_percent": 50}, "y_intercept_percent"),
        ("logistic_decay", {"y_intercept_percent": 100}, "y_intercept_percent"),
        ("logistic_growth", {"minimum": 3, "maximum": 1}, "minimum .* below maximum"),
        ("symmetric_linear", {"minimum": 2, "maximum": 2}, "minimum .* below maximum"),
        ("exponential", {"base_factor": 0}, "base_factor must be non-zero"),
        ("exponential", {"shift": np.nan}, "shift must be finite"),
        ("power", {"exponent": 0}, "exponent must be > 0"),
        ("logarithm", {"shift": 0}, "shift .* below lower_threshold"),
        ("logarithm", {"factor": 0}, "factor must be > 0"),
        ("band", {"c": 2}, "b is required"),
        ("band", {"b": 3, "c": 1}, "a <= b <= c <= d"),
        ("band", {"b": 1, "c": 2, "a": 5}, "a <= b <= c <= d"),
    ],
)
def test_rescale_bad_input(function, kwargs, match):
    with pytest.raises(InputError, match=match):
        rescale(X5, function, **kwargs)


def test_bad_values_and_callable_shape():
    with pytest.raises(InputError, match="values must be a real numeric array"):
        rescale(np.array(["a", "b"]), "linear")
    with pytest.raises(InputError, match="values must be a real numeric array"):
        rescale(np.array([True, False]), "linear")
    with pytest.raises(InputError, match="one value per cell"):
        rescale(X5, lambda v: v[:2])


def test_raw_functions_validate_too():
    with pytest.raises(InputError, match="spread must be > 0"):
        TRANSFORMS["gaussian"](X5, spread=0)
    with pytest.raises(InputError, match="minimum and maximum must differ"):
        TRANSFORMS["linear"](np.array([2.0, 2.0]))
    with pytest.raises(InputError, match="no default spread"):
        TRANSFORMS["gaussian"](np.array([-1e300, 1e300]))


@given(
    values=st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, width=32),
            st.just(float("nan")),
            st.just(float("inf")),
            st.just(-float("inf")),
        ),
        min_size=1,
        max_size=200,
    ),
    lo=st.floats(-1e5, 1e5),
    width=st.floats(1e-3, 1e5),
    f0=st.sampled_from([0.0, 1.0, 3.0]),
    f1=st.sampled_from([1.0, 0.0, 7.0]),
)
@settings(max_examples=150, deadline=None)
# an upper threshold halfway between two float32 values (32768 and 32768 + 2**-8): the
# cell at 32768 lies inside it on both paths
@example(values=[32768.0], lo=1.0, width=32767.001953125, f0=0.0, f1=1.0)
def test_linear_fast_path_equals_the_general_rule(values, lo, width, f0, f1):
    # explicit outside values take the general path; the defaults take the chunked one
    if f0 == f1:
        return
    x = np.asarray(values, dtype="float32")
    hi = lo + width
    fast = rescale(x, "linear", lower_threshold=lo, upper_threshold=hi, from_scale=f0, to_scale=f1)
    general = rescale(
        x,
        "linear",
        lower_threshold=lo,
        upper_threshold=hi,
        from_scale=f0,
        to_scale=f1,
        value_below=f0,
        value_above=f1,
    )
    np.testing.assert_array_equal(fast, general)


# --------------------------------------------------------------------------
# rescale against a whole-array float64 reference (the rule written out once more)
# --------------------------------------------------------------------------


def _reference_rescale(x32, name, lo_t, hi_t, below, above, f0, f1, p):
    """Rescale by the module's rule on whole float64 arrays with masks."""
    x = x32.astype(np.float64)
    finite = x[np.isfinite(x)]
    lo = finite.min() if lo_t is None else lo_t
    hi = finite.max() if hi_t is None else hi_t
    fn = TRANSFORMS[name]
    p = dict(p)
    if name == "linear":
        p["minimum"] = min(max(p["minimum"], lo), hi)
        p["maximum"] = min(max(p["maximum"], lo), hi)
    if name == "exponential":
        p["shift"] = hi if p["base_factor"] > 0 else lo
    crit = {
        "gaussian": lambda: [p["midpoint"]],
        "near": lambda: [p["midpoint"]],
        "symmetric_linear": lambda: [(p["minimum"] + p["maximum"]) / 2],
        "band": lambda: [p["a"], p["b"], p["c"], p["d"]],
        "linear": lambda: [p["minimum"], p["maximum"]],
    }.get(name, list)()
    pts = np.array([lo, hi] + [v for v in crit if lo < v < hi])
    y_pts = fn(pts, **p)
    ymin, ymax = y_pts.min(), y_pts.max()

    def scale(y):
        if not ymax > ymin:
            return np.where(np.isnan(y), np.nan, f1)
        t = (np.asarray(y, dtype=np.float64) - ymin) / (ymax - ymin)
        return np.clip(np.where(t >= 1, f1, f0 + t * (f1 - f0)), min(f0, f1), max(f0, f1))

    inside = (x >= lo) & (x <= hi)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        out[inside] = scale(fn(x[inside], **p))
        out[x < lo] = scale(y_pts[0]) if below is None else below
        out[x > hi] = scale(y_pts[1]) if above is None else above
    return out.astype(np.float32)


def _draw_params(draw, name, lo, hi):
    num = st.floats(-150, 150, allow_nan=False, width=32)
    pos = st.floats(0.001, 20)
    if name in ("linear", "symmetric_linear"):
        a, b = sorted(draw(st.lists(num, min_size=2, max_size=2, unique=True)))
        if name == "linear" and draw(st.booleans()):
            a, b = b, a
        return {"minimum": a, "maximum": b}
    if name in ("gaussian", "near"):
        return {"midpoint": draw(num), "spread": draw(st.floats(1e-5, 1.0))}
    if name in ("large", "small"):
        return {"midpoint": draw(st.floats(0.5, 150)), "spread": draw(pos)}
    if name in ("ms_large", "ms_small"):
        return {
            "mean_multiplier": draw(st.floats(0.1, 3)),
            "std_multiplier": draw(st.floats(0.1, 3)),
            "mean": draw(num),
            "std": draw(st.floats(0, 80)),
        }
    if name in ("logistic_growth", "logistic_decay"):
        a, b = sorted(draw(st.lists(num, min_size=2, max_size=2, unique=True)))
        y = draw(st.floats(0.5, 49.5))
        return {
            "minimum": a,
            "maximum": b,
            "y_intercept_percent": y if "growth" in name else 100 - y,
        }
    if name == "exponential":
        bf = draw(st.floats(-0.2, 0.2).filter(lambda v: abs(v) > 1e-4))
        return {"shift": draw(num), "base_factor": bf}
    if name == "power":
        return {"shift": draw(num), "exponent": draw(st.floats(0.2, 4))}
    if name == "logarithm":
        return {"shift": lo - draw(st.floats(0.01, 50)), "factor": draw(pos)}
    a, b, c, d = sorted(draw(st.lists(num, min_size=4, max_size=4)))
    if a == d:
        d = a + 1.0
    return {"a": a, "b": b, "c": c, "d": d}


@given(data=st.data(), name=st.sampled_from(sorted(TRANSFORMS)))
@settings(max_examples=300, deadline=None)
def test_rescale_matches_whole_array_reference(data, name):
    n = data.draw(st.integers(2, 300))
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-100, 100, n).astype(np.float32)
    x[rng.random(n) < 0.1] = np.nan
    x[:2] = [-100.0, 100.0]
    if data.draw(st.booleans()):
        lo_t = hi_t = None
        lo, hi = -100.0, 100.0
    else:
        lo_t, hi_t = sorted(data.draw(st.lists(st.floats(-120, 120), min_size=2, max_size=2)))
        if hi_t - lo_t < 1.0:
            hi_t = lo_t + 1.0
        lo, hi = lo_t, hi_t
    outside = st.none() | st.just(math.nan) | st.floats(-2, 2)
    below, above = data.draw(outside), data.draw(outside)
    f0, f1 = data.draw(st.sampled_from([(0.0, 1.0), (1.0, 10.0), (1.0, 0.0), (-3.0, 5.0)]))
    p = _draw_params(data.draw, name, lo, hi)
    if name == "linear":
        held = [min(max(v, lo), hi) for v in (p["minimum"], p["maximum"])]
        if held[0] == held[1]:
            return
    kw = {"lower_threshold": lo_t, "upper_threshold": hi_t, "value_below": below}
    kw |= {"value_above": above, "from_scale": f0, "to_scale": f1}
    want = _reference_rescale(x, name, lo_t, hi_t, below, above, f0, f1, p)
    got = rescale(x, name, **kw, **p)
    assert got.dtype == np.float32
    # float32 input is evaluated in float32 where the probes allow: within 1e-6 of the scale
    tol = 2e-7 * max(abs(f0), abs(f1)) + 1e-6 * abs(f1 - f0)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    in_place = x.copy()  # out= may be the input itself, and 2-D works the same
    rescale(in_place, name, out=in_place, **kw, **p)
    np.testing.assert_array_equal(in_place, got)
    np.testing.assert_array_equal(rescale(x.reshape(1, n), name, **kw, **p)[0], got)
    # rows of a Rescaled, in any cut, are the same cells
    lazy = Rescaled(x, name, **kw, **p)
    cut = data.draw(st.integers(0, n))
    np.testing.assert_array_equal(np.concatenate([lazy.rows(0, cut), lazy.rows(cut, n)]), got)
    np.testing.assert_array_equal(lazy.compute(), got)


def test_rescale_chunks_agree_with_one_chunk():
    """Cells beyond the first chunk (65,536 cells) score as they do alone."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1000, (300, 500)).astype(np.float32)
    x[5, 7] = np.nan
    kw = {"lower_threshold": 100.0, "upper_threshold": 900.0, "midpoint": 400.0, "spread": 1e-5}
    whole = rescale(x, "gaussian", **kw)
    for r in (0, 150, 299):
        np.testing.assert_array_equal(rescale(x[r], "gaussian", **kw), whole[r])
    assert np.isnan(whole[5, 7])
    assert rescale(x, "ms_large").dtype == np.float32


def test_rescaled_rows_of_callables_and_all_nan_inputs():
    x = np.arange(12.0).reshape(4, 3)
    lazy = Rescaled(x, lambda v: v**2)
    np.testing.assert_array_equal(lazy.rows(1, 3), rescale(x, lambda v: v**2)[1:3])
    assert lazy.rows(0, 4).dtype == np.float32
    empty = Rescaled(np.full((2, 3), np.nan), "gaussian")
    assert np.isnan(empty.rows(0, 1)).all() and empty.rows(0, 1).shape == (1, 3)


def test_rescaled_checks_when_made_and_reads_the_values_later():
    """The parameters are checked at once; the cells only when the scores are asked for."""
    with pytest.raises(InputError, match="spread"):
        Rescaled(np.arange(5.0), "gaussian", spread=-1.0)
    x = np.arange(5.0, dtype=np.float32)
    lazy = Rescaled(x, "linear", lower_threshold=0.0, upper_threshold=4.0)
    x[0] = 4.0  # read when computed: the new value scores
    assert lazy.rows(0, 1).tolist() == [1.0]
    assert lazy.values is x and lazy.shape == (5,)


def test_rescale_out_checked():
    x = np.arange(6.0)
    with pytest.raises(InputError, match="out must be"):
        rescale(x, "linear", out=np.empty(6))
    out = np.empty(6, dtype=np.float32)
    assert rescale(x, "linear", out=out) is out
    close(out, np.arange(6.0) / 5)


def test_exponential_curves_in_float32_within_the_documented_bound(monkeypatch):
    """rescale takes the Gaussian and logistic exponentials in float32 where its scaling
    cannot amplify their round-off beyond 2-fold: scores within 5e-7 of the scale of the
    float64 evaluation; called directly, the curves stay float64 to the bit."""
    from gis import transforms

    rng = np.random.default_rng(3)
    x = rng.uniform(-5000.0, 5000.0, 200_000).astype(np.float32)
    x[:3] = [np.nan, -5000.0, 5000.0]
    cases = [
        ("gaussian", {"midpoint": 120.0, "spread": 2e-6}),
        ("logistic_growth", {"minimum": -800.0, "maximum": 1500.0}),
        ("logistic_decay", {"minimum": -10.0, "maximum": 40.0, "y_intercept_percent": 97.0}),
    ]
    for name, p in cases:
        got = rescale(x, name, **p)
        y = TRANSFORMS[name](x.astype(np.float64), **p)
        want = (y - np.nanmin(y)) / (np.nanmax(y) - np.nanmin(y))
        np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)
        assert np.isnan(got[0]) and got[1:].min() == 0.0 and got[1:].max() == 1.0
        with monkeypatch.context() as m:  # no gain or difference allowed: float64
            m.setattr(transforms, "_EXP_MAX_GAIN", 0.0)
            m.setattr(transforms, "_FLOAT32_TOLERANCE", -1.0)
            slow = rescale(x, name, **p)
        assert not np.array_equal(got, slow, equal_nan=True)  # a float32 path was taken
        np.testing.assert_allclose(slow, want, rtol=0, atol=2e-7)
    t = np.array([-1e47, -200.0, -1.5, 0.0, 2.25, 60.0, 1e47, np.nan])
    with np.errstate(over="ignore"):
        exact = np.exp(t)
        np.testing.assert_array_equal(transforms._exp(t), exact)  # float64 by default
        transforms._PRECISION.exp32 = True
        try:
            fast = transforms._exp(t)
        finally:
            transforms._PRECISION.exp32 = False
    np.testing.assert_allclose(fast[2:6], exact[2:6], rtol=2.5e-7)
    # beyond float32's range: 0 (exp(-200) = 1.4e-87 in float64) and inf
    assert fast[0] == fast[1] == 0.0 and fast[6] == np.inf and np.isnan(fast[7])


def test_flat_exponential_range_stays_in_float64():
    """Near the Gaussian's peak the scaling stretches [0.99999, 1] onto the scale, which
    would amplify float32 round-off 1e5-fold: rescale evaluates in float64 there."""
    x = np.linspace(-1.0, 1.0, 10_001).astype(np.float32)
    got = rescale(x, "gaussian", midpoint=0.0, spread=1e-5, lower_threshold=0.0,
                  upper_threshold=1.0)  # fmt: skip
    y = np.exp(-1e-5 * np.clip(x.astype(np.float64), 0.0, 1.0) ** 2)
    want = (y - y.min()) / (y.max() - y.min())
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)


def test_float32_input_is_evaluated_in_float32_where_the_probes_allow(monkeypatch):
    """Float32 input runs in float32 (within 1e-6 of the scale of float64); a curve
    whose float32 evaluation would be off (a narrow Gaussian at 1e6, whose midpoint
    float32 cannot hold) is seen by the probes and evaluated in float64."""
    from gis import transforms

    taken = []
    probe = transforms._float32_ok
    monkeypatch.setattr(transforms, "_float32_ok", lambda *a: taken.append(probe(*a)) or taken[-1])
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 5000.0, 100_000).astype(np.float32)
    cases = [
        ("linear", {"minimum": 4000.0, "maximum": 250.0}),
        ("gaussian", {"midpoint": 200.0, "spread": 1 / (2 * 150.0**2)}),
        ("logistic_decay", {"minimum": -148.8, "maximum": 2148.8, "y_intercept_percent": 99.0}),
        ("near", {"midpoint": 1234.5, "spread": 1e-4}),
    ]
    for name, p in cases:
        got = rescale(x, name, lower_threshold=-1e9, upper_threshold=1e9, **p)
        assert taken[-1] is True, name
        y = TRANSFORMS[name](x.astype(np.float64), **p)
        ys = TRANSFORMS[name](np.array([-1e9, 1e9, *_critical(name, p)]), **p)
        want = (y - ys.min()) / (ys.max() - ys.min())
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    x = (1e6 + np.linspace(-4.0, 4.0, 100_001)).astype(np.float32)
    p = {"midpoint": 1e6 + 0.3, "spread": 4.0}
    got = rescale(x, "gaussian", lower_threshold=0.0, upper_threshold=2e6, **p)
    assert taken[-1] is False
    want = TRANSFORMS["gaussian"](x.astype(np.float64), **p)  # 0 at both thresholds
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)
    transforms._PRECISION.keep = True
    try:  # what float32 would have given: the midpoint rounded by 0.03
        naive = TRANSFORMS["gaussian"](x, **p)
    finally:
        transforms._PRECISION.keep = False
    assert np.abs(naive - want).max() > 1e-2


def _critical(name, p):
    return [p["midpoint"]] if name in ("gaussian", "near") else []
