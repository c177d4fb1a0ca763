"""Population counts on the analysis grid, from a count raster in any CRS.

Population rasters (WorldPop, GHS-POP, LandScan) hold people per pixel, often
on a geographic grid whose pixel area shrinks towards the poles. Resampling
counts directly would create or lose people, so :func:`counts_to_grid` turns
counts into densities (people per square metre, with the true area of each
pixel on the ellipsoid for geographic rasters), averages the densities onto the
target cells with GDAL's area-weighted ``average`` resampling, and multiplies
by the true cell area (projections that are not equal-area, such as UTM or Web
Mercator, are corrected by their areal scale factor). Totals are kept up to the
edge effects of partial pixels.

Nodata holes are neither silently zero nor silently dropped: the share of
target cells that fall in holes is returned (and warned about by callers) and
those cells are set to 0 inhabitants.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from gis.errors import DataSourceError, InputError, NoDataError
from gis.grid import Grid

__all__ = ["PopulationRaster", "PopulationWarning", "counts_to_grid", "read_population_raster"]


class PopulationWarning(UserWarning):
    """A population raster had to be repaired (nodata holes filled) or looks odd."""


@dataclass
class PopulationRaster:
    """A window of a population (count) raster as read from a file.

    ``counts`` holds people per pixel, NaN where the file has nodata.
    """

    counts: np.ndarray
    transform: Affine
    crs: CRS
    path: str
    nodata: float | None


def read_population_raster(
    path: str | os.PathLike,
    *,
    bounds: tuple[float, float, float, float],
    bounds_crs: Any,
) -> PopulationRaster:
    """Read the part of a population raster covering ``bounds`` (given in ``bounds_crs``).

    Parameters
    ----------
    path
        A single-band raster of people per pixel (e.g. a WorldPop GeoTIFF).
    bounds
        ``(left, bottom, right, top)`` of the area needed (study area plus the
        reach of the potential), in ``bounds_crs``.
    bounds_crs
        CRS of ``bounds``.

    Returns
    -------
    PopulationRaster

    Raises
    ------
    DataSourceError
        Missing or unreadable file.
    InputError
        No CRS, rotated pixels, or negative counts.
    NoDataError
        The raster does not overlap the area, or holds only nodata there.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import transform_bounds
    from rasterio.windows import from_bounds

    if not os.path.exists(path):
        raise DataSourceError(f"population raster not found: {path}")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise DataSourceError(f"cannot read population raster {path}: {exc}") from None
    with src:
        if src.crs is None:
            raise InputError(
                f"population raster {path} has no CRS; assign one (e.g. EPSG:4326) in your GIS"
            )
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise InputError(f"population raster {path} is rotated; warp it north-up first")
        crs = CRS.from_user_input(src.crs.to_wkt())
        left, bottom, right, top = transform_bounds(
            CRS.from_user_input(bounds_crs), src.crs, *bounds, densify_pts=21
        )
        sl, sb, sr, st = src.bounds
        if right <= sl or left >= sr or top <= sb or bottom >= st:
            need = _fmt_bounds((left, bottom, right, top))
            raise NoDataError(
                f"population raster {path} covers {_fmt_bounds(src.bounds)} in "
                f"{crs.to_string()} but the study area needs {need}; "
                "give a raster that covers the region"
            )
        win = (
            from_bounds(max(left, sl), max(bottom, sb), min(right, sr), min(top, st), transform=t)
            .round_offsets(op="floor")
            .round_lengths(op="ceil")
        )
        win = win.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        data = src.read(1, window=win, masked=True)
        transform = t @ Affine.translation(int(win.col_off), int(win.row_off))
        nodata = src.nodata
    counts = np.ma.filled(data.astype("float64"), np.nan)
    counts[~np.isfinite(counts)] = np.nan
    valid = np.isfinite(counts)
    if not valid.any():
        raise NoDataError(f"population raster {path} has only nodata over the study area")
    if (counts[valid] < 0).any():
        raise InputError(
            f"population raster {path} has negative values ({np.nanmin(counts):g}); "
            "give people per pixel, with a nodata value set for missing cells"
        )
    return PopulationRaster(counts, transform, crs, os.fspath(path), nodata)


def _fmt_bounds(b: Any) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in b) + ")"


def pixel_areas(transform: Affine, crs: CRS, shape: tuple[int, int]) -> np.ndarray:
    """True area in m² of the pixels of a raster, broadcastable to ``shape``.

    For a geographic CRS the area of a pixel between latitudes ``φ0`` and ``φ1``
    and ``Δλ`` radians wide is ``a² Δλ |q(φ1) − q(φ0)| / 2`` with ``q`` the
    authalic function of the ellipsoid (Snyder 1987, eq. 3-12): one value per
    row, shape ``(rows, 1)``. For a projected CRS it is the nominal ``|a · e|``
    divided by the projection's areal scale factor (1 for equal-area projections
    such as Mollweide; about 1.35 for Web Mercator at 30° N), evaluated on a
    lattice of at most 65 x 65 pixels and interpolated: shape ``(rows, cols)``.

    Examples
    --------
    >>> a = pixel_areas(Affine(1, 0, 0, 0, -1, 1), CRS.from_epsg(4326), (1, 1))
    >>> round(float(a[0, 0]) / 1e6)   # one square degree at the equator, km²
    12308
    >>> m = pixel_areas(Affine(100, 0, 12.7e6, 0, -100, 3.58e6), CRS.from_epsg(3857), (2, 2))
    >>> round(float(m[0, 0]), -1)   # a 100 m Web Mercator pixel at 30.6 N covers 0.74 ha
    7410.0
    """
    if crs.is_projected:
        return _projected_areas(transform, crs, shape)
    ell = crs.ellipsoid
    a = ell.semi_major_metre if ell is not None else 6378137.0
    inv_f = (ell.inverse_flattening if ell is not None else 298.257223563) or 0.0
    f = 1.0 / inv_f if inv_f else 0.0
    e2 = f * (2.0 - f)
    lat = np.radians(np.clip(transform.f + transform.e * np.arange(shape[0] + 1), -90.0, 90.0))
    s = np.sin(lat)
    if e2 > 0:
        e = math.sqrt(e2)
        q = (1.0 - e2) * (s / (1.0 - e2 * s * s) - np.log((1.0 - e * s) / (1.0 + e * s)) / (2 * e))
    else:
        q = 2.0 * s
    dlon = math.radians(abs(transform.a))
    return (0.5 * a * a * dlon * np.abs(np.diff(q)))[:, None]


def _projected_areas(transform: Affine, crs: CRS, shape: tuple[int, int]) -> np.ndarray:
    """Nominal pixel area over the areal scale factor, sampled coarsely and interpolated."""
    from pyproj import Proj, Transformer
    from scipy.ndimage import map_coordinates

    rows, cols = shape
    nominal = abs(transform.a * transform.e)
    rs = np.linspace(0, rows - 1, min(rows, 65))
    cs = np.linspace(0, cols - 1, min(cols, 65))
    cc, rr = np.meshgrid(cs, rs)
    x = transform.c + (cc + 0.5) * transform.a
    y = transform.f + (rr + 0.5) * transform.e
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    scale = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype="float64")
    if not np.isfinite(scale).all() or (scale <= 0).any():
        return np.full((rows, 1), nominal)  # outside the projection's domain: nominal area
    if scale.size == 1 or np.ptp(scale) < 1e-9 * scale.mean():
        return np.full((rows, 1), nominal / float(scale.mean()))
    ri = np.interp(np.arange(rows), rs, np.arange(rs.size))
    ci = np.interp(np.arange(cols), cs, np.arange(cs.size))
    grid_r, grid_c = np.meshgrid(ri, ci, indexing="ij")
    factor = map_coordinates(scale, [grid_r, grid_c], order=1, mode="nearest")
    return nominal / factor


def counts_to_grid(raster: PopulationRaster, grid: Grid) -> tuple[np.ndarray, dict[str, Any]]:
    """People per cell of ``grid`` from a count raster in any CRS (area-weighted).

    Parameters
    ----------
    raster
        As returned by :func:`read_population_raster` (not modified).
    grid
        Target grid (may extend beyond the study area, e.g. by a potential's reach).

    Returns
    -------
    counts, info
        float32 people per cell (nodata holes and cells outside the raster
        are 0) and a dict with ``source_crs``, ``reprojected``, ``hole_share``
        (share of target cells inside the raster that fell in nodata holes),
        ``outside_share`` (share of target cells beyond the raster) and
        ``total`` (people on the grid).

    Examples
    --------
    A 2 x 2 raster of 100 m pixels with 400 people, resampled to one 200 m cell:

    >>> r = PopulationRaster(np.full((2, 2), 100.0), Affine(100, 0, 0, 0, -100, 200),
    ...                      CRS.from_epsg(32650), "mem", None)
    >>> g = Grid.from_bounds((0, 0, 200, 200), cell_size=200, crs=32650)
    >>> counts, info = counts_to_grid(r, g)
    >>> counts.round(3), info["hole_share"], info["reprojected"]
    (array([[400.]], dtype=float32), 0.0, False)
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    counts = raster.counts
    density = counts / pixel_areas(raster.transform, raster.crs, counts.shape)
    coverage = np.isfinite(density).astype("float32")
    out = np.full(grid.shape, np.nan, dtype="float32")
    reproject(
        source=density.astype("float32"),
        destination=out,
        src_transform=raster.transform,
        src_crs=raster.crs.to_wkt(),
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs.to_wkt(),
        dst_nodata=np.nan,
        resampling=Resampling.average,
    )
    footprint = np.zeros(grid.shape, dtype="float32")
    reproject(
        source=np.ones_like(coverage),
        destination=footprint,
        src_transform=raster.transform,
        src_crs=raster.crs.to_wkt(),
        dst_transform=grid.transform,
        dst_crs=grid.crs.to_wkt(),
        dst_nodata=0,
        resampling=Resampling.nearest,
    )
    within = footprint > 0
    holes = within & ~np.isfinite(out)
    n_cells = grid.size
    info = {
        "source_crs": raster.crs.to_string(),
        "reprojected": not raster.crs.equals(grid.crs),
        "hole_share": float(holes.sum()) / max(int(within.sum()), 1),
        "outside_share": float((~within).sum()) / n_cells,
    }
    out[~np.isfinite(out)] = 0.0
    out *= pixel_areas(grid.transform, grid.crs, grid.shape).astype("float32")  # true m²
    total = float(out.sum(dtype="float64"))
    info["total"] = total
    if math.isnan(total):  # pragma: no cover - guarded above
        raise NoDataError("population could not be resampled onto the grid")
    return out, info
