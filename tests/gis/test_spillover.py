"""Spillover: great-circle distance vs pyproj, decay kernels, gravity, tier-aware links."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from gis.decay import decay, half_distance_scale
from gis.errors import InputError
from gis.spillover import (
    EARTH_RADIUS_KM,
    LINK_DECAYS,
    gravity,
    gravity_mass,
    haversine_matrix,
    spillover_links,
)

# Beijing, Shanghai, Wuhan, Chengdu, Xi'an (GeoNames)
LON = np.array([116.39723, 121.45806, 114.26667, 104.06667, 108.92861])
LAT = np.array([39.9075, 31.22222, 30.58333, 30.66667, 34.25833])


def test_haversine_matches_pyproj_on_a_sphere():
    geod = Geod(a=EARTH_RADIUS_KM * 1000, b=EARTH_RADIUS_KM * 1000)
    d = haversine_matrix(LON, LAT)
    i, j = np.triu_indices(len(LON), k=1)
    _, _, ref = geod.inv(LON[i], LAT[i], LON[j], LAT[j])
    np.testing.assert_allclose(d[i, j], ref / 1000, rtol=1e-10)
    np.testing.assert_allclose(d, d.T)
    assert np.diag(d).tolist() == [0.0] * 5


def test_haversine_rectangular_and_errors():
    d = haversine_matrix(LON[:2], LAT[:2], LON, LAT)
    assert d.shape == (2, 5)
    with pytest.raises(InputError, match=r"point 0 \(200.0, 0.0\)"):
        haversine_matrix([200.0], [0.0])


def test_decay_half_distance_and_shapes():
    h = 350.0
    # the link decays are gis.decay functions: "power" with a half distance is the
    # log-logistic decay of scale h, "exponential" 2**(-d/h) has the scale h / ln 2
    exp_scale = half_distance_scale("exponential", h)
    assert decay([h], "log_logistic", scale=h)[0] == pytest.approx(0.5)
    assert decay([h], "exponential", scale=exp_scale)[0] == pytest.approx(0.5)
    assert decay([2 * h], "exponential", scale=exp_scale)[0] == pytest.approx(0.25)
    # far away the half-distance power kernel behaves like (h/d)^b
    assert decay([100 * h], "log_logistic", scale=h, exponent=2)[0] == pytest.approx(1e-4, rel=1e-3)
    assert decay([2.0], "inverse_power", scale=1.0, exponent=3)[0] == 0.125
    assert decay([0.0], "log_logistic", scale=h)[0] == 1.0
    assert set(LINK_DECAYS) == {"power", "exponential"}
    with pytest.raises(InputError, match="needs a half_distance"):
        spillover_links(LON, LAT, np.ones(5), decay="exponential")
    with pytest.raises(InputError, match="unknown distance decay"):
        spillover_links(LON, LAT, np.ones(5), decay="gaussian", half_distance=h)


# strengths of the links among the five cities, computed before the decays moved to gis.decay
BEFORE = {
    "classic": (
        [1, 0, 0, 0, 2, 3, 2, 0, 1, 1],
        [2, 1, 2, 4, 4, 4, 3, 3, 4, 3],
        [8.40959800580033e-07, 7.01030320036349e-07, 4.49565773578156e-07,
         3.60434688457549e-07, 3.5902732423102e-07, 3.26633718547045e-07,
         2.10085503636959e-07, 1.73915101664343e-07, 1.61622889864062e-07,
         1.16403284840405e-07],
    ),
    "power": (
        [0, 1, 0, 0, 0, 2, 2, 1, 3, 1],
        [1, 2, 2, 4, 3, 4, 3, 4, 4, 3],
        [0.236989260544948, 0.179182774737703, 0.150138108981182, 0.104348945289589,
         0.079704918630261, 0.0708168695868954, 0.0650678931674933, 0.0616273886342504,
         0.0595431784124784, 0.0572073178391029],
    ),
    "exponential": (
        [0, 1, 0, 0, 1, 2, 2, 0, 3, 1],
        [1, 2, 2, 3, 3, 3, 4, 4, 4, 4],
        [0.587623482758558, 0.349852315077437, 0.271903272813834, 0.166577656854595,
         0.122805934573201, 0.113832731491982, 0.104777978083074, 0.104567075789435,
         0.0891557816785157, 0.0587258290264162],
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("classic", {"decay": "power"}),
        ("power", {"decay": "power", "half_distance": 600, "exponent": 1.5}),
        ("exponential", {"decay": "exponential", "half_distance": 600, "tiers": [0, 0, 1, 1, 2],
                         "neighbour_distance": 800, "neighbour_half_distance": 300}),
    ],
)  # fmt: skip
def test_links_give_the_same_numbers_as_before(case, kwargs):
    links = spillover_links(LON, LAT, [1.0, 0.8, 0.5, 0.4, 0.3], **kwargs)
    i, j, strength = BEFORE[case]
    assert links.i.tolist() == i and links.j.tolist() == j
    np.testing.assert_allclose(links.strength, strength, rtol=1e-12)


def test_gravity_classic_and_modified_mass():
    assert gravity(4.0, 5.0, 10.0, k=2.0).item() == pytest.approx(2 * 20 / 100)
    assert gravity(4.0, 5.0, 10.0, exponent=1.0).item() == pytest.approx(2.0)
    np.testing.assert_allclose(gravity_mass([0.5, 2.0], [8.0, 2.0]), [2.0, 2.0])
    with pytest.raises(InputError, match="2 populations for 3 places"):
        gravity_mass([1, 2, 3], [1, 2])


def test_links_classic_gravity_equals_formula():
    m = np.array([1.0, 0.8, 0.5, 0.4, 0.3])
    links = spillover_links(LON, LAT, m, k=3.0, exponent=2.0)
    d = haversine_matrix(LON, LAT)
    expected = 3.0 * m[links.i] * m[links.j] / d[links.i, links.j] ** 2
    np.testing.assert_allclose(links.strength, expected, rtol=1e-12)
    assert len(links) == 10
    assert (np.diff(links.strength) <= 0).all()  # strongest first
    assert set(links.type) == {"peer"}  # one tier


def test_links_tier_aware_decay():
    m = np.ones(5)
    tiers = np.array([0, 0, 1, 2, 1])
    h = 500.0
    links = spillover_links(LON, LAT, m, tiers=tiers, half_distance=h, tier_factor=3.0)
    d = haversine_matrix(LON, LAT)
    level = np.maximum(tiers[links.i], tiers[links.j])
    stretch = 3.0 ** (2 - level)
    expected = 1.0 / (1.0 + (d[links.i, links.j] / (h * stretch)) ** 2)
    np.testing.assert_allclose(links.hierarchical, expected, rtol=1e-12)
    bj_sh = links[(links.i == 0) & (links.j == 1)]
    assert bj_sh.type.item() == "peer"
    # the source is the higher tier
    assert (tiers[links.i] <= tiers[links.j]).all()
    hier = links[links.type == "hierarchical"]
    assert len(hier) == 8
    # tier_factor 1 switches tier awareness off
    flat = spillover_links(LON, LAT, m, tiers=tiers, half_distance=h, tier_factor=1.0)
    np.testing.assert_allclose(
        flat.strength, 1.0 / (1.0 + (d[flat.i, flat.j] / h) ** 2), rtol=1e-12
    )


def test_links_neighbourhood_and_classes():
    m = np.ones(5)
    links = spillover_links(
        LON, LAT, m, half_distance=800.0, neighbour_distance=700.0, neighbour_half_distance=200.0
    )
    d = haversine_matrix(LON, LAT)[links.i, links.j]
    near = d <= 700.0
    assert (links.type[near] == "neighbourhood").all()
    assert (links.neighbourhood[~near] == 0).all()
    np.testing.assert_allclose(links.neighbourhood[near], 1 / (1 + (d[near] / 200.0) ** 2))
    np.testing.assert_allclose(links.strength, links.hierarchical + links.neighbourhood)
    assert set(links["class"]) == {"strong", "weak"}
    # strong links are exactly those above the natural break of log strength
    strong = links.strength[links["class"] == "strong"]
    weak = links.strength[links["class"] == "weak"]
    assert strong.min() > weak.max()
    fixed = spillover_links(LON, LAT, m, half_distance=800.0, strong_threshold=0.5)
    assert ((fixed.strength >= 0.5) == (fixed["class"] == "strong")).all()


def test_links_travel_time_matrix():
    t = np.array(
        [
            [0, 120, 300, 400, 360],
            [120, 0, 250, 500, 420],
            [300, 250, 0, 300, 250],
            [400, 500, 300, 0, 200],
            [360, 420, 250, 200, 0],
        ],
        dtype=float,
    )
    t[1, 3] = np.inf  # unreachable: no link
    links = spillover_links(
        LON, LAT, np.ones(5), distance=t, half_distance=240.0, decay="exponential"
    )
    assert len(links) == 9
    row = links[(links.i == 0) & (links.j == 1)]
    assert row.distance.item() == 120.0
    assert row.strength.item() == pytest.approx(2**-0.5)


def test_links_errors():
    with pytest.raises(InputError, match="places 0 and 1 are at zero distance"):
        spillover_links([1.0, 1.0], [2.0, 2.0], [1.0, 1.0])
    with pytest.raises(InputError, match="distance matrix must be 2 x 2"):
        spillover_links([1.0, 2.0], [2.0, 2.0], [1.0, 1.0], distance=np.ones((3, 3)))
    with pytest.raises(InputError, match="mass of place 1"):
        spillover_links([1.0, 2.0], [2.0, 2.0], [1.0, -1.0])


def test_inputs_not_modified():
    lon, lat, m = LON.copy(), LAT.copy(), np.arange(1.0, 6.0)
    tiers = np.array([0, 1, 1, 2, 2])
    spillover_links(lon, lat, m, tiers=tiers, half_distance=500.0, neighbour_distance=800.0)
    np.testing.assert_array_equal(lon, LON)
    np.testing.assert_array_equal(m, np.arange(1.0, 6.0))
    np.testing.assert_array_equal(tiers, [0, 1, 1, 2, 2])
