"""Grid construction, geometry and memory checks."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from gis.errors import GridSizeError, InputError
from gis.grid import Grid, grid_for_area, utm_crs


def test_from_bounds_snaps_outward():
    g = Grid.from_bounds((3, 7, 95, 41), cell_size=10, crs=32635)
    assert g.bounds == (0.0, 0.0, 100.0, 50.0)
    assert g.shape == (5, 10)


def test_centers_and_rowcol_roundtrip():
    g = Grid.from_bounds((0, 0, 40, 30), cell_size=10, crs=32635)
    x, y = g.centers()
    assert x.tolist() == [5, 15, 25, 35]
    assert y.tolist() == [25, 15, 5]
    rows, cols, inside = g.rowcol(np.array([5, 39.9, 50]), np.array([25, 0.1, 5]))
    assert rows.tolist()[:2] == [0, 2] and cols.tolist()[:2] == [0, 3]
    assert inside.tolist() == [True, True, False]


def test_rasterize_polygon_by_cell_centre():
    g = Grid.from_bounds((0, 0, 40, 40), cell_size=10, crs=32635)
    mask = g.rasterize([box(0, 0, 20, 20)])
    expected = np.zeros((4, 4), bool)
    expected[2:, :2] = True
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"), [(24.94, 60.17, 32635), (116.3, 40.0, 32650), (-70, -33, 32719)]
)
def test_utm_zone(lon, lat, epsg):
    assert utm_crs(lon, lat).to_epsg() == epsg


def test_grid_for_area_in_utm_and_clipped():
    area = box(24.935, 60.164, 24.953, 60.179)
    grid, inside = grid_for_area(area, cell_size=25)
    assert grid.crs.to_epsg() == 32635
    # the area is about 1.0 km x 1.67 km: 40 x 67 cells of 25 m give ~2,680 cells
    assert 2400 < inside.sum() < 2900
    assert inside.shape == grid.shape


def test_memory_budget_refusal_gives_size():
    g = Grid.from_bounds((0, 0, 100_000, 100_000), cell_size=1, crs=32635)
    with pytest.raises(GridSizeError, match=r"10,000,000,000 cells"):
        g.check_memory(budget=2**30)


@pytest.mark.parametrize("cell", [0.1, 5000.0])
def test_cell_size_out_of_range(cell):
    with pytest.raises(InputError, match="cell size"):
        grid_for_area(box(24.93, 60.16, 24.95, 60.18), cell_size=cell)


def test_empty_or_bad_bounds():
    with pytest.raises(InputError):
        Grid.from_bounds((10, 0, 0, 10), cell_size=1, crs=32635)
    with pytest.raises(InputError, match="projected"):
        grid_for_area(box(0, 0, 1, 1), cell_size=10, crs="EPSG:4326")


def test_rasterize_from_worker_threads_is_right_and_quiet():
    # rasterio warns spuriously when rasterising in a thread; the warning is an error here
    from concurrent.futures import ThreadPoolExecutor

    g = Grid.from_bounds((0, 0, 1000, 1000), cell_size=10, crs=32650)

    def cells(i: int) -> int:
        return int(g.rasterize([box(100, 100, 100 + 40 * (i + 1), 500)]).sum())

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(cells, range(12)))
    assert got == [40 * (i + 1) // 10 * 40 for i in range(12)]
