"""Writing results that desktop GIS software opens directly, without half-written files.

Every writer here follows the same rules:

* an existing file is never replaced unless ``overwrite=True`` is passed;
* output is written to a hidden sibling (``.<name>.partial-<random>``) and moved into
  place with one atomic rename, so a failure leaves either the old file or nothing;
* inputs are never modified.

:func:`output_folder` applies the same rule to a whole result folder, and
:func:`write_manifest` records what a run read, which parameters it used, which
library versions it ran on and the checksums of what it wrote.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import secrets
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gis.errors import DataSourceError, InputError, OutputExistsError
from gis.grid import Grid

__all__ = [
    "check_output_folder",
    "file_checksum",
    "output_folder",
    "package_versions",
    "read_geotiff",
    "write_geopackage",
    "write_geotiff",
    "write_geotiff_bands",
    "write_manifest",
]

#: Distributions reported by :func:`package_versions`, in report order.
_PACKAGES = (
    "innosite",
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "rasterio",
    "pyogrio",
    "osmnx",
    "osmium",
    "folium",
)

_BLOCK = 256


# ---------------------------------------------------------------------- folders and files
def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an output folder that would overwrite a user's data, before any work starts.

    Parameters
    ----------
    path
        The folder a run will write to. It may be missing or empty.
    overwrite
        Accept an existing, non-empty folder (it is replaced only when the run succeeds).

    Returns
    -------
    pathlib.Path
        The absolute folder path.

    Raises
    ------
    OutputExistsError
        If ``path`` is an existing file, or a non-empty folder and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_folder(Path(tmp) / "run").name
    'run'
    """
    folder = Path(os.path.abspath(os.fspath(path)))
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"output folder {folder} is an existing file; choose another --out")
    if folder.is_dir() and not overwrite and any(folder.iterdir()):
        raise OutputExistsError(
            f"output folder {folder} is not empty; pass --overwrite or choose another --out"
        )
    return folder


def _sibling(target: Path, kind: str, *, folder: bool) -> Path:
    """Create a new hidden sibling of ``target`` (a folder or an empty file) and return it."""
    for _ in range(100):
        token = f"{kind}-{secrets.token_hex(4)}"
        # files keep their suffix so drivers that check it (GeoPackage) stay quiet
        name = f".{target.name}.{token}" if folder else f".{target.stem}.{token}{target.suffix}"
        candidate = target.with_name(name)
        try:
            if folder:
                candidate.mkdir()
            else:
                candidate.touch(exist_ok=False)
        except FileExistsError:
            continue
        return candidate
    raise OutputExistsError(f"cannot create a temporary name next to {target}")  # pragma: no cover


@contextmanager
def output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Stage a result folder and move it into place only if everything succeeded.

    The body writes into a hidden staging folder next to ``path``. On success the
    staging folder is renamed to ``path`` (replacing an existing folder only with
    ``overwrite=True``); if the body raises, the staging folder is deleted and the
    exception propagates, so nothing half-written remains and an existing folder
    is left untouched. Parent folders are created as needed.

    Parameters
    ----------
    path
        Final folder.
    overwrite
        Replace an existing, non-empty folder on success.

    Yields
    ------
    pathlib.Path
        The staging folder to write into.

    Raises
    ------
    OutputExistsError
        As :func:`check_output_folder`, checked before the body runs and again at the end.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with output_folder(Path(tmp) / "run") as stage:
    ...         _ = (stage / "a.txt").write_text("done")
    ...     sorted(p.name for p in Path(tmp).iterdir()), (Path(tmp) / "run" / "a.txt").read_text()
    (['run'], 'done')
    """
    target = check_output_folder(path, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(target, "partial", folder=True)
    try:
        yield staging
        check_output_folder(target, overwrite=overwrite)
        _move_folder_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_folder_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is swapped out, then deleted."""
    if not target.exists():
        os.rename(staging, target)
        return
    old = _sibling(target, "old", folder=True)
    os.rename(target, old / target.name)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old / target.name, target)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_output_file(path: str | os.PathLike, overwrite: bool) -> Path:
    """Absolute path of an output file; refuse an existing one unless ``overwrite``."""
    target = Path(os.path.abspath(os.fspath(path)))
    if target.is_dir():
        raise OutputExistsError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target} already exists; pass overwrite=True or choose another file name"
        )
    if not target.name:
        raise InputError(f"output file name is empty: {path!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


@contextmanager
def _atomic_file(target: Path, *, copy_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` that replaces it only if the body succeeds."""
    tmp = _sibling(target, "partial", folder=False)
    try:
        if copy_existing and target.exists():
            shutil.copyfile(target, tmp)
        else:
            tmp.unlink()
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- GeoTIFF
def write_geotiff(
    path: str | os.PathLike,
    array: np.ndarray,
    grid: Grid,
    *,
    description: str,
    units: str | None = None,
    nodata: float = np.nan,
    tags: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one raster layer as a single-band float32 Cloud-Optimised GeoTIFF.

    The file is tiled 256 × 256, DEFLATE-compressed with the floating-point
    predictor and carries averaged internal overviews, so QGIS and ArcGIS display
    it quickly at every zoom. Band statistics are stored for a sensible default
    stretch.

    Parameters
    ----------
    path
        Output file (``.tif``).
    array
        2-D values with ``grid.shape``; NaN marks cells without data.
    grid
        Grid giving CRS and transform.
    description
        Band description shown by GIS software (e.g. the factor name).
    units
        Band unit, e.g. ``"m"``, ``"min"`` or ``"score 0-1"``.
    nodata
        Value written for NaN cells; NaN by default.
    tags
        Extra dataset metadata, e.g. ``{"factor": "transit", "weight": "0.25"}``;
        values are stored as text.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        If the array shape differs from ``grid.shape`` or is not numeric.
    OutputExistsError
        If the file exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> g = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs="EPSG:32635")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geotiff(Path(tmp) / "a.tif", np.ones(g.shape), g, description="a")
    ...     arr, g2 = read_geotiff(p)
    >>> arr.dtype, arr.shape, g2 == g
    (dtype('float32'), (2, 4), True)
    """
    return write_geotiff_bands(
        path,
        {description: array},
        grid,
        units=units,
        nodata=nodata,
        tags=tags,
        overwrite=overwrite,
    )


def write_geotiff_bands(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    grid: Grid,
    *,
    units: str | Mapping[str, str] | None = None,
    nodata: float = np.nan,
    tags: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write several layers as bands of one float32 Cloud-Optimised GeoTIFF.

    Parameters
    ----------
    path
        Output file.
    arrays
        Band description → 2-D array with ``grid.shape``, in band order.
    grid
        Grid giving CRS and transform.
    units
        One unit for every band, or a mapping from band description to unit.
    nodata, tags, overwrite
        As :func:`write_geotiff`.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, rasterio
    >>> g = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs="EPSG:32635")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geotiff_bands(Path(tmp) / "b.tif", {"x": np.zeros(g.shape),
    ...                             "y": np.ones(g.shape)}, g, units="score")
    ...     with rasterio.open(p) as src:
    ...         src.count, src.descriptions, src.units
    (2, ('x', 'y'), ('score', 'score'))
    """
    names, stack = _band_stack(arrays, grid, nodata)
    band_units = _band_units(units, names)
    target = _check_output_file(path, overwrite)
    with _atomic_file(target) as tmp:
        _write_cog(tmp, stack, grid, names, band_units, nodata, _text_tags(tags))
    return target


def _band_stack(
    arrays: Mapping[str, np.ndarray], grid: Grid, nodata: float
) -> tuple[list[str], np.ndarray]:
    """Validate band arrays and stack them as float32 with NaN replaced by ``nodata``."""
    if not isinstance(arrays, Mapping) or not arrays:
        raise InputError("give at least one band as a mapping of description -> array")
    try:
        nodata_value = float(nodata)
    except (TypeError, ValueError):
        raise InputError(f"nodata must be a number or NaN, got {nodata!r}") from None
    if math.isfinite(nodata_value) and float(np.float32(nodata_value)) != nodata_value:
        raise InputError(f"nodata {nodata!r} is not exactly representable as float32")
    names, bands = [], []
    for name, values in arrays.items():
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"band description must be a non-empty string, got {name!r}")
        a = np.asarray(values)
        if a.dtype.kind not in "biuf":
            raise InputError(f"band {name!r} has non-numeric dtype {a.dtype}; give numbers")
        if a.shape != grid.shape:
            raise InputError(
                f"band {name!r} has shape {a.shape} but the grid is {grid.shape} (rows, cols); "
                "compute the layer on the same grid"
            )
        band = a.astype("float32")  # always a copy: the caller's array is untouched
        if not math.isnan(nodata_value):
            band[np.isnan(band)] = nodata_value
        names.append(name)
        bands.append(band)
    return names, np.stack(bands)


def _band_units(units: str | Mapping[str, str] | None, names: list[str]) -> list[str | None]:
    if units is None or isinstance(units, str):
        return [units] * len(names)
    unknown = set(units) - set(names)
    if unknown:
        raise InputError(f"units given for unknown bands {sorted(unknown)}; bands are {names}")
    return [units.get(n) for n in names]


def _text_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not key.strip() or "=" in key:
            raise InputError(f"tag names must be non-empty strings without '=', got {key!r}")
        out[key] = str(value)
    return out


def _band_statistics(band: np.ndarray, nodata: float) -> dict[str, str]:
    valid = band[np.isfinite(band)]
    if not math.isnan(nodata):
        valid = valid[valid != nodata]
    if valid.size == 0:
        return {}
    v = valid.astype("float64")
    return {
        "STATISTICS_MINIMUM": repr(float(v.min())),
        "STATISTICS_MAXIMUM": repr(float(v.max())),
        "STATISTICS_MEAN": repr(float(v.mean())),
        "STATISTICS_STDDEV": repr(float(v.std())),
        "STATISTICS_VALID_PERCENT": repr(100.0 * v.size / band.size),
    }


def _write_cog(
    target: Path,
    stack: np.ndarray,
    grid: Grid,
    names: list[str],
    units: list[str | None],
    nodata: float,
    tags: Mapping[str, str],
) -> None:
    """Write ``stack`` (bands, rows, cols) to ``target`` as COG, or tiled GTiff without COG."""
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile

    profile = {
        "width": grid.width,
        "height": grid.height,
        "count": stack.shape[0],
        "dtype": "float32",
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": nodata,
    }

    def fill(ds: Any) -> None:
        ds.write(stack)
        ds.update_tags(**tags)
        for i, (name, unit) in enumerate(zip(names, units, strict=True), start=1):
            ds.set_band_description(i, name)
            if unit:
                ds.set_band_unit(i, unit)
            ds.update_tags(i, **_band_statistics(stack[i - 1], nodata))

    with rasterio.Env() as env:
        has_cog = "COG" in env.drivers()
    if has_cog:
        with MemoryFile() as mem:
            with mem.open(driver="GTiff", **profile) as ds:
                fill(ds)
            with mem.open() as src:
                rasterio.shutil.copy(
                    src,
                    target,
                    driver="COG",
                    compress="DEFLATE",
                    predictor="YES",
                    blocksize=_BLOCK,
                    overview_resampling="average",
                )
        return
    tiled = {"tiled": True, "blockxsize": _BLOCK, "blockysize": _BLOCK}  # pragma: no cover
    with rasterio.open(  # pragma: no cover
        target, "w", driver="GTiff", compress="deflate", predictor=3, **tiled, **profile
    ) as ds:
        fill(ds)
        factors, size = [], max(grid.shape)
        while size > _BLOCK:
            factors.append(2 ** (len(factors) + 1))
            size //= 2
        if factors:
            ds.build_overviews(factors, Resampling.average)


def read_geotiff(path: str | os.PathLike, *, band: int = 1) -> tuple[np.ndarray, Grid]:
    """Read one band of a GeoTIFF as float32 with NaN for nodata, and its grid.

    Parameters
    ----------
    path
        A north-up raster with square cells in a projected CRS.
    band
        1-based band number.

    Returns
    -------
    array, grid
        ``array`` has ``grid.shape``.

    Raises
    ------
    DataSourceError
        If the file is missing or not a readable raster.
    InputError
        If the band does not exist or the raster is not north-up with square cells.
    """
    import rasterio
    from pyproj import CRS
    from rasterio.errors import RasterioIOError

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise DataSourceError(f"cannot read raster {path}: {exc}") from None
    with src:
        if not 1 <= band <= src.count:
            raise InputError(f"{path} has {src.count} band(s); band {band} does not exist")
        if src.crs is None:
            raise InputError(f"{path} has no CRS; assign one in your GIS software")
        grid = Grid(CRS.from_user_input(src.crs.to_wkt()), src.transform, src.width, src.height)
        array = src.read(band).astype("float32")
        nodata = src.nodatavals[band - 1]
    if nodata is not None and not math.isnan(nodata):
        array[array == np.float32(nodata)] = np.nan
    return array, grid


# ---------------------------------------------------------------------- GeoPackage
def write_geopackage(
    path: str | os.PathLike,
    gdf: Any,
    *,
    layer: str,
    mode: Literal["w", "a"] = "w",
    style_qml: str | None = None,
    style_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a GeoDataFrame as a layer of a GeoPackage.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    gdf
        A GeoDataFrame with a CRS. Columns holding lists, dicts or other objects
        are written as text (JSON for lists and dicts); the input is not modified.
    layer
        Layer name (non-empty).
    mode
        ``"w"`` writes a new file (an existing file is replaced only with
        ``overwrite=True``); ``"a"`` adds the layer to an existing file, or appends
        its features when the layer already exists.
    style_qml
        A QGIS style (``.qml`` document text) stored in the ``layer_styles`` table
        as the layer's default style, so QGIS shows the layer styled on opening.
    style_name
        Name of that style; defaults to the layer name.
    overwrite
        With ``mode="w"``, replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        On an empty layer name, an unknown mode, or a frame without geometry or CRS.
    OutputExistsError
        With ``mode="w"`` if the file exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, pyogrio
    >>> from shapely import box
    >>> gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=32635)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geopackage(Path(tmp) / "x.gpkg", gdf, layer="sites")
    ...     pyogrio.list_layers(p).tolist()
    [['sites', 'Polygon']]
    """
    if not isinstance(layer, str) or not layer.strip():
        raise InputError(f"GeoPackage layer name must be a non-empty string, got {layer!r}")
    if mode not in ("w", "a"):
        raise InputError(f"mode must be 'w' (new file) or 'a' (add to a file), got {mode!r}")
    if style_qml is not None and (not isinstance(style_qml, str) or not style_qml.strip()):
        raise InputError("style_qml must be the non-empty text of a QGIS .qml style")
    frame = _writable_frame(gdf, layer)
    if mode == "w":
        target = _check_output_file(path, overwrite)
    else:
        target = _check_output_file(path, overwrite=True)
    with _atomic_file(target, copy_existing=(mode == "a")) as tmp:
        new = not tmp.exists()
        # GeoPackage 1.2 opens without a version warning in older QGIS (3.22 LTR)
        options = {"dataset_options": {"VERSION": "1.2"}} if new else {}
        frame.to_file(
            tmp, layer=layer, driver="GPKG", engine="pyogrio", mode="w" if new else "a", **options
        )
        if style_qml is not None:
            _store_qgis_style(tmp, layer, style_qml, style_name or layer)
    return target


def _writable_frame(gdf: Any, layer: str) -> Any:
    """A copy of ``gdf`` with text-safe object columns, or InputError if unusable."""
    import geopandas as gpd

    try:
        has_geometry = isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry is not None
    except AttributeError:
        has_geometry = False
    if not has_geometry:
        raise InputError(
            f"layer {layer!r}: give a GeoDataFrame with a geometry column, got {type(gdf).__name__}"
        )
    if gdf.crs is None:
        raise InputError(f"layer {layer!r} has no CRS; set one with gdf.set_crs(...)")
    frame = gdf.copy()
    frame.columns = [str(c) for c in frame.columns]
    geometry = frame.geometry.name
    if len(set(c.lower() for c in frame.columns)) != len(frame.columns):
        raise InputError(
            f"layer {layer!r} has column names differing only in case; GeoPackage needs "
            "case-insensitively unique names"
        )
    for column in frame.columns:
        if column != geometry and frame[column].dtype == object:
            frame[column] = frame[column].map(_as_text).astype(object)
    return frame


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping | list | tuple | set | np.ndarray):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


_LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "f_table_catalog" TEXT(256),
    "f_table_schema" TEXT(256),
    "f_table_name" TEXT(256),
    "f_geometry_column" TEXT(256),
    "styleName" TEXT(30),
    "styleQML" TEXT,
    "styleSLD" TEXT,
    "useAsDefault" BOOLEAN,
    "description" TEXT,
    "owner" TEXT(30),
    "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""


def _store_qgis_style(gpkg: Path, layer: str, qml: str, name: str) -> None:
    """Store ``qml`` as the default QGIS style of ``layer`` in the GeoPackage ``layer_styles``."""
    con = sqlite3.connect(gpkg)
    try:
        with con:
            row = con.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            geometry_column = row[0] if row else ""
            exists = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'"
            ).fetchone()
            if not exists:
                con.execute(_LAYER_STYLES_SQL)
                con.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', "
                    "strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
                )
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
                (layer, geometry_column, name, qml, f"Default style for {layer}"),
            )
    finally:
        con.close()


# ---------------------------------------------------------------------- provenance
def file_checksum(path: str | os.PathLike, *, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path
        The file.
    algorithm
        Any :mod:`hashlib` algorithm name.

    Raises
    ------
    InputError
        If the algorithm is unknown.
    DataSourceError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "a.txt"
    ...     _ = p.write_bytes(b"abc")
    ...     file_checksum(p)[:16]
    'ba7816bf8f01cfea'
    """
    try:
        digest = hashlib.new(algorithm)
    except (ValueError, TypeError):
        raise InputError(
            f"unknown checksum algorithm {algorithm!r}; use e.g. 'sha256' or 'md5'"
        ) from None
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise DataSourceError(f"cannot read {path} to compute its checksum: {exc}") from None
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python, GDAL, PROJ and the libraries a result depends on.

    Missing packages are reported as ``"not installed"``.

    Examples
    --------
    >>> v = package_versions()
    >>> {"innosite", "python", "numpy", "GDAL"} <= set(v)
    True
    """
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    try:
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    except ImportError:  # pragma: no cover
        out["GDAL"] = "not installed"
    try:
        import pyproj

        out["PROJ"] = pyproj.proj_version_str
    except ImportError:  # pragma: no cover
        out["PROJ"] = "not installed"
    return out


def _jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON types, sorting mapping keys.

    Non-finite floats become ``None`` so the output is strict JSON.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return _jsonable(value.item(), where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        items = {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {k: items[k] for k in sorted(items)}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, set | frozenset):
        return [_jsonable(v, where) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if hasattr(value, "to_wkt") and hasattr(value, "to_string"):  # pyproj / rasterio CRS
        return value.to_string()
    if hasattr(value, "__geo_interface__"):
        return _jsonable(value.__geo_interface__, where)
    raise InputError(
        f"{where} of type {type(value).__name__} cannot be written to the manifest; "
        "convert it to a string or number"
    )


def _file_entry(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path} is not an existing file; the manifest can only checksum files")
    return {"sha256": file_checksum(path), "bytes": path.stat().st_size}


def write_manifest(
    path: str | os.PathLike,
    *,
    command: str | None,
    inputs: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    outputs: Sequence[str | os.PathLike] | None = None,
    extra: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a JSON record of a run: inputs, parameters, versions and output checksums.

    Parameters
    ----------
    path
        The manifest file, e.g. ``<out>/manifest.json``.
    command
        The command line that produced the outputs, if any.
    inputs
        One mapping per input (source name, query, date …). An input with a
        ``"path"`` to a file gets its ``"sha256"`` and ``"bytes"``.
    parameters
        The run's parameters.
    outputs
        Output files, absolute or relative to the manifest's folder; each is listed
        by its path relative to that folder with its SHA-256 and size.
    extra
        Any further JSON-serialisable information.
    overwrite
        Replace an existing manifest.

    Returns
    -------
    dict
        The manifest as written. Keys inside each section are sorted; numpy values,
        paths and CRSs are converted to JSON types; NaN and infinity become ``null``.

    Raises
    ------
    InputError
        If an input or output file is missing or a value cannot be serialised.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "a.csv").write_text("x\\n1\\n")
    ...     m = write_manifest(Path(tmp) / "manifest.json", command=None, inputs=[],
    ...                        parameters={"cell_size": np.float32(25)}, outputs=["a.csv"])
    >>> m["parameters"], m["outputs"][0]["file"], m["outputs"][0]["bytes"]
    ({'cell_size': 25.0}, 'a.csv', 4)
    """
    from gis import __version__

    target = _check_output_file(path, overwrite)
    folder = target.parent
    input_entries = []
    for i, item in enumerate(inputs):
        if not isinstance(item, Mapping):
            raise InputError(f"inputs[{i}] must be a mapping, got {type(item).__name__}")
        entry = dict(item)
        if entry.get("path") is not None:
            entry.update(_file_entry(Path(entry["path"])))
        input_entries.append(_jsonable(entry, f"inputs[{i}]"))
    output_entries = []
    for out in outputs or []:
        p = Path(out) if Path(out).is_absolute() else folder / out
        rel = Path(os.path.relpath(p, folder)).as_posix()
        output_entries.append(_jsonable({"file": rel, **_file_entry(p)}))
    manifest = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "innosite_version": __version__,
        "command": command,
        "versions": _jsonable(package_versions()),
        "inputs": input_entries,
        "parameters": _jsonable(dict(parameters), "parameters"),
        "outputs": output_entries,
        "extra": _jsonable(dict(extra or {}), "extra"),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    with _atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return manifest
