"""Chunk loops on threads: every piece once, the same pieces and results at any thread count."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gis import settings
from gis._parallel import map_in_order, run_chunks
from gis.overlay import apply_constraints, weighted_linear_combination
from gis.transforms import rescale


def _pieces(size: int, chunk: int, workers: int | None) -> tuple[list[tuple[int, int]], set[int]]:
    seen: list[tuple[int, int]] = []
    threads: set[int] = set()
    lock = threading.Lock()

    def job(start: int, stop: int) -> None:
        with lock:
            seen.append((start, stop))
            threads.add(threading.get_ident())

    run_chunks(size, chunk, job, workers=workers)
    return sorted(seen), threads


@pytest.mark.parametrize("size, chunk", [(0, 4), (1, 4), (10, 3), (64, 8), (1000, 7)])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_piece_once(size, chunk, workers):
    seen, _ = _pieces(size, chunk, workers)
    expected = [(s, min(size, s + chunk)) for s in range(0, size, chunk)]
    assert seen == expected


def test_threads_run_together():
    both = threading.Barrier(2, timeout=10)  # broken unless the two runs overlap in time
    threads: set[int] = set()

    def job(start: int, stop: int) -> None:
        threads.add(threading.get_ident())
        if start in (0, 500):  # the first piece of each of the two runs of 50 pieces
            both.wait()

    run_chunks(1000, 10, job, workers=2)
    assert len(threads) == 2


def test_worker_thread_runs_alone():
    box: list[set[int]] = []
    t = threading.Thread(target=lambda: box.append(_pieces(1000, 10, 4)[1]))
    t.start()
    t.join()
    assert len(box[0]) == 1  # no pool within a pool


def test_first_error_raised():
    def job(start: int, stop: int) -> None:
        if start >= 500:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_chunks(1000, 10, job, workers=2)


def test_map_in_order_keeps_the_order_and_bounds_the_items_in_flight():
    started: list[int] = []
    lock = threading.Lock()

    def slow_first(i: int) -> int:
        with lock:
            started.append(i)
        if i == 0:  # the first item finishes last: the others still wait for it
            threading.Event().wait(0.2)
        return i * i

    results = []
    for value in map_in_order(slow_first, range(20), workers=2):
        # items are taken only as results are handed out: two per thread ahead at most
        assert len(started) <= len(results) + 1 + 4
        results.append(value)
    assert results == [i * i for i in range(20)]
    assert sorted(started) == list(range(20))


def test_map_in_order_raises_the_first_error_and_runs_alone_on_a_worker():
    def fail(i: int) -> int:
        if i == 3:
            raise ValueError("item 3")
        return i

    with pytest.raises(ValueError, match="item 3"):
        list(map_in_order(fail, range(10), workers=2))
    box: list[set[int]] = []

    def inside() -> None:
        seen: set[int] = set()
        list(map_in_order(lambda i: seen.add(threading.get_ident()), range(50), workers=4))
        box.append(seen)

    t = threading.Thread(target=inside)
    t.start()
    t.join()
    assert len(box[0]) == 1


@pytest.fixture
def cells():
    rng = np.random.default_rng(7)
    a = rng.normal(50.0, 20.0, size=(700, 500)).astype("float32")  # > 5 rescale chunks
    a[rng.random(a.shape) < 0.05] = np.nan
    return a


@pytest.mark.parametrize(
    "function, kw",
    [
        ("gaussian", {"midpoint": 40.0, "spread": 0.002}),
        ("logistic_growth", {"minimum": 10.0, "maximum": 90.0, "y_intercept_percent": 1.0}),
        ("linear", {"minimum": 80.0, "maximum": 20.0, "lower_threshold": 0.0}),
        ("small", {"midpoint": 30.0, "spread": 3.0}),
    ],
)
def test_rescale_same_on_threads(monkeypatch, cells, function, kw):
    monkeypatch.setattr(settings, "workers", 1)
    one = rescale(cells, function, **kw)
    monkeypatch.setattr(settings, "workers", 2)
    two = rescale(cells, function, **kw)
    np.testing.assert_array_equal(one, two)
    inplace = cells.copy()
    assert rescale(inplace, function, out=inplace, **kw) is inplace
    np.testing.assert_array_equal(inplace, one)


def test_overlay_same_on_threads(monkeypatch, cells):
    layers = {"a": cells, "b": np.flipud(cells).copy(), "c": np.full(cells.shape, 0.25, "float32")}
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    keep = np.isfinite(cells) & (cells > 30)
    monkeypatch.setattr(settings, "workers", 1)
    one = weighted_linear_combination(layers, weights, chunk_rows=7)
    masked_one = apply_constraints(one, ~keep)
    monkeypatch.setattr(settings, "workers", 2)
    two = weighted_linear_combination(layers, weights, chunk_rows=7)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(apply_constraints(two, ~keep, out=two), masked_one)
    # an independent sum: float64 weights times float32 layers, rounded once
    ref = (0.5 * cells.astype("float64") + 0.3 * layers["b"] + 0.2 * 0.25).astype("float32")
    np.testing.assert_allclose(one, ref, rtol=1e-6, atol=1e-5, equal_nan=True)
