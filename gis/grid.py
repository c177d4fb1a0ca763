"""The analysis grid: a north-up raster in a projected metric CRS.

A :class:`Grid` is the one piece of real state every raster stage shares: CRS,
affine transform and shape. Cell ``(row, col)`` covers
``x in [left + col*c, left + (col+1)*c)`` and ``y in (top - (row+1)*c, top - row*c]``
with its centre at ``(left + (col+0.5)*c, top - (row+0.5)*c)``.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from gis import settings
from gis.errors import GridSizeError, InputError

#: One rasterisation at a time while rasterio's spurious warning is silenced.
_RASTERIZE_LOCK = threading.Lock()

__all__ = ["Grid", "check_area_size", "grid_for_area", "utm_crs"]


def utm_crs(lon: float, lat: float) -> CRS:
    """Return the WGS84 UTM zone CRS containing a longitude/latitude point.

    Parameters
    ----------
    lon, lat
        Point in degrees (WGS84).

    Returns
    -------
    pyproj.CRS
        EPSG:326NN in the northern hemisphere, EPSG:327NN in the southern.

    Examples
    --------
    >>> utm_crs(116.32, 40.0).to_epsg()
    32650
    >>> utm_crs(24.94, 60.17).to_epsg()
    32635
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InputError(f"longitude/latitude out of range: ({lon}, {lat}); give WGS84 degrees")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid with square cells.

    Parameters
    ----------
    crs
        Projected CRS with metre units.
    transform
        Affine transform of the upper-left corner; ``transform.a`` is the cell size.
    width, height
        Number of columns and rows.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 100, 50), cell_size=10, crs="EPSG:32635")
    >>> g.shape, g.cell_size, g.bounds
    ((5, 10), 10.0, (0.0, 0.0, 100.0, 50.0))
    """

    crs: CRS
    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise GridSizeError(
                f"grid of {self.height} x {self.width} cells is empty; "
                "use a larger area or a smaller cell size"
            )
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e != -self.transform.a:
            raise InputError("grid transform must be north-up with square cells")

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_bounds(
        cls,
        bounds: tuple[float, float, float, float],
        *,
        cell_size: float,
        crs: CRS | str | int,
    ) -> Grid:
        """Build the grid covering ``bounds`` (left, bottom, right, top) in ``crs``.

        The origin is snapped down to a multiple of ``cell_size`` and the extent
        rounded outward, so grids of the same CRS and cell size align.
        """
        crs = CRS.from_user_input(crs)
        if not (math.isfinite(cell_size) and cell_size > 0):
            raise InputError(f"cell_size must be a positive number of metres, got {cell_size!r}")
        left, bottom, right, top = (float(v) for v in bounds)
        if (
            not all(map(math.isfinite, (left, bottom, right, top)))
            or right <= left
            or top <= bottom
        ):
            raise InputError(
                f"bounds must be finite with left < right and bottom < top, got {bounds}"
            )
        left = math.floor(left / cell_size) * cell_size
        top = math.ceil(top / cell_size) * cell_size
        width = max(1, math.ceil((right - left) / cell_size - 1e-9))
        height = max(1, math.ceil((top - bottom) / cell_size - 1e-9))
        return cls(crs, Affine(cell_size, 0.0, left, 0.0, -cell_size, top), width, height)

    # ------------------------------------------------------------------ geometry
    @property
    def cell_size(self) -> float:
        """Cell edge length in CRS units (metres)."""
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (self.height, self.width)

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.width * self.height

    @property
    def cell_area(self) -> float:
        """Area of one cell in square metres."""
        return self.cell_size**2

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)``."""
        left, top = self.transform.c, self.transform.f
        return (left, top - self.height * self.cell_size, left + self.width * self.cell_size, top)

    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates as 1-D arrays: ``x`` per column, ``y`` per row."""
        c = self.cell_size
        x = self.transform.c + (np.arange(self.width) + 0.5) * c
        y = self.transform.f - (np.arange(self.height) + 0.5) * c
        return x, y

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of the cells containing points, and whether each is inside.

        Returns
        -------
        rows, cols, inside
            Integer arrays (clipped to the grid) and a boolean mask of points inside it.
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        c = self.cell_size
        col = np.floor((x - self.transform.c) / c).astype("int64")
        row = np.floor((self.transform.f - y) / c).astype("int64")
        inside = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        return np.clip(row, 0, self.height - 1), np.clip(col, 0, self.width - 1), inside

    # ------------------------------------------------------------------ rasterising
    def rasterize(
        self,
        geometries: Iterable[BaseGeometry],
        *,
        all_touched: bool = False,
    ) -> np.ndarray:
        """Boolean mask of cells covered by ``geometries`` (already in the grid CRS).

        Cells whose centre lies in a polygon are set (or every touched cell with
        ``all_touched=True``); lines and points set every cell they touch.
        """
        from rasterio import features
        from rasterio.errors import NotGeoreferencedWarning

        geoms = [g for g in geometries if g is not None and not g.is_empty]
        if not geoms:
            return np.zeros(self.shape, dtype=bool)
        # Called from worker threads, rasterio's in-memory dataset reads its transform
        # before setting it and warns (the result is right); the warning filters are
        # process-wide, so threads take turns while it is silenced.
        with _RASTERIZE_LOCK, warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "Dataset has no geotransform", NotGeoreferencedWarning
            )
            out = features.rasterize(
                ((g, 1) for g in geoms),
                out_shape=self.shape,
                transform=self.transform,
                fill=0,
                all_touched=all_touched,
                dtype="uint8",
            )
        return out.view(bool)  # only 0 and 1 are burnt: the same bytes, no copy

    def check_memory(self, *, bytes_per_cell: int | None = None, budget: int | None = None) -> None:
        """Refuse a grid whose working set would exceed the memory budget.

        Raises
        ------
        GridSizeError
            With the grid's size, the estimate and the budget, and what to change.
        """
        per = settings.bytes_per_cell if bytes_per_cell is None else bytes_per_cell
        limit = settings.memory_budget if budget is None else budget
        need = self.size * per
        if need > limit:
            raise GridSizeError(
                f"grid of {self.height:,} x {self.width:,} = {self.size:,} cells at "
                f"{self.cell_size:g} m needs about {need / 2**30:.1f} GiB, over the memory "
                f"budget of {limit / 2**30:.1f} GiB; use a larger cell size or a smaller area "
                "(or raise gis.settings.memory_budget / INNOSITE_MEMORY_BUDGET)"
            )


def check_area_size(projected: BaseGeometry, cell_size: float) -> None:
    """Refuse a projected study area smaller than one cell: it cannot be scored.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> check_area_size(box(0, 0, 30, 30), 25.0)
    >>> check_area_size(box(0, 0, 10, 10), 25.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InputError: the study area (100 m²) is smaller than one cell (25 m x 25 m); ...
    """
    if projected.area < cell_size**2:
        raise InputError(
            f"the study area ({projected.area:,.0f} m²) is smaller than one cell "
            f"({cell_size:g} m x {cell_size:g} m); give a larger area or smaller cells"
        )


def grid_for_area(
    area: BaseGeometry,
    *,
    cell_size: float,
    crs: CRS | str | int | None = None,
) -> tuple[Grid, np.ndarray]:
    """Analysis grid and in-area cell mask for a study area given in WGS84.

    Parameters
    ----------
    area
        Polygon or MultiPolygon in EPSG:4326.
    cell_size
        Cell size in metres.
    crs
        Projected metric CRS; default is the UTM zone of the area's centroid.

    Returns
    -------
    grid, inside
        The grid in the projected CRS and a boolean mask of cells whose centre is in the area.
    """
    import geopandas as gpd

    if area is None or area.is_empty:
        raise InputError("study area is empty; give a place, a bounding box or a polygon file")
    if crs is None:
        c = area.centroid
        crs = utm_crs(c.x, c.y)
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise InputError(f"analysis CRS must be projected with metre units, got {crs.to_string()}")
    if not (settings.min_cell_size <= cell_size <= settings.max_cell_size):
        raise InputError(
            f"cell size {cell_size:g} m is outside {settings.min_cell_size:g}..."
            f"{settings.max_cell_size:g} m; city-scale analyses use 10-50 m cells"
        )
    projected = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    check_area_size(projected, cell_size)
    grid = Grid.from_bounds(projected.bounds, cell_size=cell_size, crs=crs)
    grid.check_memory()
    inside = grid.rasterize([projected])
    if not inside.any():
        inside = grid.rasterize([projected], all_touched=True)
    return grid, inside
