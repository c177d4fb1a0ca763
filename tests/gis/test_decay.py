"""gis.decay: every named decay against its closed form, half distances, reach, callables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis.decay import DECAYS, KERNEL_DECAYS, decay, decay_kernel, half_distance_scale, reach
from gis.errors import InputError

D = np.array([0.0, 250.0, 1000.0, 3000.0])
S = 1000.0

CLOSED_FORMS = {
    "exponential": ({}, [1.0, math.exp(-0.25), math.exp(-1.0), math.exp(-3.0)]),
    "gaussian": ({}, [1.0, math.exp(-0.03125), math.exp(-0.5), math.exp(-4.5)]),
    "power": ({"exponent": 3.0}, [1.0, 1.25**-3, 2.0**-3, 4.0**-3]),
    "log_logistic": ({"exponent": 2.0}, [1.0, 1 / (1 + 0.0625), 0.5, 0.1]),
    "inverse_power": ({"exponent": 2.0}, [math.inf, 16.0, 1.0, 1 / 9]),
    "linear": ({}, [1.0, 0.75, 0.0, 0.0]),
    "step": ({}, [1.0, 1.0, 1.0, 0.0]),
}


def test_every_name_is_checked():
    assert set(CLOSED_FORMS) == set(DECAYS)
    assert set(KERNEL_DECAYS) == set(DECAYS) - {"inverse_power"}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_closed_forms(name):
    params, want = CLOSED_FORMS[name]
    with np.errstate(divide="ignore"):
        got = decay(D, name, scale=S, **params)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert decay(np.array([np.inf]), name, scale=S, **params)[0] == 0.0
    assert decay(D.astype("float32"), name, scale=S, **params).dtype == np.float32


@pytest.mark.parametrize("name", ["exponential", "gaussian", "power", "log_logistic", "linear",
                                  "inverse_power"])  # fmt: skip
@pytest.mark.parametrize("exponent", [1.0, 2.5])
def test_half_distance_scale_halves_at_the_half_distance(name, exponent):
    params = {"exponent": exponent} if name in ("power", "log_logistic", "inverse_power") else {}
    scale = half_distance_scale(name, 350.0, **params)
    assert decay([350.0], name, scale=scale, **params)[0] == pytest.approx(0.5, rel=1e-12)
    # spillover's exponential 2**(-d/h) is the exponential with scale h / ln 2
    if name == "exponential":
        np.testing.assert_allclose(decay(D, name, scale=scale), np.exp2(-D / 350.0), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(set(KERNEL_DECAYS) - {"linear", "step"}))
def test_reach_is_where_the_decay_reaches_the_tolerance(name):
    params = {"exponent": 1.5} if name in ("power", "log_logistic") else {}
    r = reach(name, scale=S, tolerance=0.01, **params)
    assert decay([r], name, scale=S, **params)[0] == pytest.approx(0.01, rel=1e-9)


def test_callables_and_bad_input():
    def halves(d, scale):
        return 0.5 ** (d / scale)

    np.testing.assert_allclose(decay(D, halves, scale=S), 0.5 ** (D / S))
    assert decay_kernel(10.0, halves, scale=10.0, max_distance=10.0)[1, 2] == 0.5
    with pytest.raises(InputError, match="unknown decay"):
        decay(D, "cubic", scale=S)
    with pytest.raises(InputError, match="positive distance"):
        decay(D, scale=0.0)
    with pytest.raises(InputError, match=">= 0"):
        decay([-1.0], scale=S)
    with pytest.raises(InputError, match="exponent"):
        decay(D, "power", scale=S, exponent=-1)
    with pytest.raises(InputError, match="no half distance"):
        half_distance_scale("step", 100.0)
    with pytest.raises(InputError, match="finite values"):
        decay_kernel(10.0, "inverse_power", scale=10.0, max_distance=30.0)
