"""GeoTIFF reading and the one GeoTIFF writer: tiled, compressed, cloud-optimised.

Every GeoTIFF is written by :class:`WindowWriter`, whether its values arrive window
by window (national grids larger than memory) or as one in-memory array
(:func:`write_geotiff`, :func:`write_geotiff_bands`: one window covering the grid).
Values arriving window by window go into a tiled temporary GeoTIFF next to the
output, whose overviews GDAL builds after the last window; values arriving as one
window covering the grid stay in memory, and their overview pyramid is averaged in
numpy on every core. Band statistics are computed in numpy as the values arrive.
Either source is then written by GDAL's COG driver with ZSTD (level 1) and the
horizontal-differencing predictor on every core. The result is a valid
Cloud-Optimised GeoTIFF (``LAYOUT=COG``: tiled, overviews, the full-resolution image
first) that QGIS and ArcGIS display quickly at every zoom. Files are renamed into
place only when every output of a writer succeeded, so a failure leaves no partial
file.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from gis import settings
from gis._parallel import cpu_count, run_chunks
from gis.errors import DataSourceError, InputError
from gis.grid import Grid
from gis.io.folders import check_output_file, temporary_sibling

__all__ = [
    "BLOCK",
    "GridWindow",
    "RasterOutput",
    "WindowWriter",
    "gdal_env",
    "overview_factors",
    "raster_grid",
    "read_geotiff",
    "write_geotiff",
    "write_geotiff_bands",
]

#: Internal tile side of every GeoTIFF written here; windows larger than this are
#: best rounded down to a multiple of it so each tile is written once.
BLOCK: int = 256


def gdal_env(memory_budget: int | None = None) -> Any:
    """A ``rasterio.Env`` whose GDAL block cache is an eighth of the memory budget.

    GDAL's default cache is a share of the machine's RAM; windowed runs bound it
    so the cache does not outgrow the windows. Between 16 and 256 MiB. Overviews
    and compression use every core (``GDAL_NUM_THREADS=ALL_CPUS``).

    Parameters
    ----------
    memory_budget
        Bytes; default :data:`gis.settings.memory_budget`.

    Returns
    -------
    rasterio.Env
        To be used as a context manager.
    """
    import rasterio

    budget = settings.memory_budget if memory_budget is None else int(memory_budget)
    return rasterio.Env(
        GDAL_CACHEMAX=max(16, min(256, budget // 8 // 2**20)), GDAL_NUM_THREADS="ALL_CPUS"
    )


class GridWindow(Protocol):
    """What :meth:`WindowWriter.write` needs of a window (:class:`gis.windows.Window` is one).

    ``row``, ``col``, ``height`` and ``width`` place the core in the grid;
    ``read_bounds`` is ``(row0, col0, row1, col1)`` of the core plus its halo.
    """

    @property
    def row(self) -> int: ...

    @property
    def col(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def read_bounds(self) -> tuple[int, int, int, int]: ...


class _WholeGrid(NamedTuple):
    """The one window covering a grid, with no halo."""

    row: int
    col: int
    height: int
    width: int

    @property
    def read_bounds(self) -> tuple[int, int, int, int]:
        return (self.row, self.col, self.row + self.height, self.col + self.width)


@dataclass(frozen=True)
class RasterOutput:
    """One GeoTIFF written by a :class:`WindowWriter`.

    Parameters
    ----------
    path
        Output ``.tif``.
    description
        Band description; a sequence of descriptions writes one band per entry.
    units
        Band unit, or one unit (or ``None``) per band.
    nodata
        Value written for NaN (NaN by default: the float32 nodata); for an integer
        ``dtype`` the value that marks no data (e.g. 0 for region ranks).
    tags
        Extra dataset metadata; values are stored as text.
    dtype
        ``"float32"`` (scores, measures: statistics, averaged overviews) or an
        integer type such as ``"int32"`` (labels, ranks: nearest-neighbour overviews).

    Examples
    --------
    >>> RasterOutput("f.tif", ("green", "transit"), units=(None, "score")).count
    2
    """

    path: str | os.PathLike
    description: str | Sequence[str]
    units: str | Sequence[str | None] | None = None
    nodata: float = math.nan
    tags: Mapping[str, Any] | None = None
    dtype: str = "float32"

    @property
    def is_float(self) -> bool:
        """Whether the bands hold floating-point values."""
        return np.dtype(self.dtype).kind == "f"

    @property
    def descriptions(self) -> tuple[str, ...]:
        """One description per band."""
        if isinstance(self.description, str):
            return (self.description,)
        return tuple(self.description)

    @property
    def count(self) -> int:
        """Number of bands."""
        return len(self.descriptions)

    @property
    def band_units(self) -> tuple[str | None, ...]:
        """One unit (or ``None``) per band."""
        if self.units is None or isinstance(self.units, str):
            return (self.units,) * self.count
        return tuple(self.units)


class _Stats:
    """Running count, min, max, mean and M2 (Chan et al.) of the valid values written."""

    def __init__(self, nodata: float) -> None:
        self.nodata = nodata
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.lo, self.hi = math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        """Add the valid (finite, not nodata) values of ``values``, row bands on every core.

        Each row band's count, mean, M2 and extremes are taken on a thread, then merged
        in row order, so the result does not depend on the thread count.
        """
        flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[None]
        rows = max(1, _STATS_CHUNK_CELLS // max(flat.shape[1], 1))
        parts: list[tuple[int, float, float, float, float] | None] = [None] * -(
            -flat.shape[0] // rows
        )

        def job(r0: int, r1: int) -> None:
            parts[r0 // rows] = self._chunk(flat[r0:r1])

        run_chunks(flat.shape[0], rows, job)
        for part in parts:
            if part is not None:
                self._merge(*part)

    def _chunk(self, values: np.ndarray) -> tuple[int, float, float, float, float] | None:
        """Count, mean, M2, minimum and maximum of the valid values of one row band."""
        valid = np.isfinite(values)
        if not math.isnan(self.nodata):
            valid &= values != values.dtype.type(self.nodata)
        n_b = int(np.count_nonzero(valid))
        if n_b == 0:
            return None
        v = values if n_b == values.size else values[valid]
        mean_b = float(v.mean(dtype=np.float64))
        with np.errstate(over="ignore", invalid="ignore"):
            dev = (v - v.dtype.type(mean_b)).ravel()
            m2_b = float(np.dot(dev, dev))  # float32 products, fast
        if not math.isfinite(m2_b):  # values near the float32 limits: exact in float64
            dev64 = v.astype(np.float64).ravel() - mean_b
            m2_b = float(np.dot(dev64, dev64))
        return n_b, mean_b, m2_b, float(v.min()), float(v.max())

    def _merge(self, n_b: int, mean_b: float, m2_b: float, lo: float, hi: float) -> None:
        """Fold one row band's moments into the running ones (Chan et al.)."""
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)

    def tags(self, total: int) -> dict[str, str]:
        if self.n == 0:
            return {}
        return {
            "STATISTICS_MINIMUM": repr(self.lo),
            "STATISTICS_MAXIMUM": repr(self.hi),
            "STATISTICS_MEAN": repr(self.mean),
            "STATISTICS_STDDEV": repr(math.sqrt(self.m2 / self.n)),
            "STATISTICS_VALID_PERCENT": repr(100.0 * self.n / total),
        }


def _check_output(name: str, out: RasterOutput) -> None:
    """InputError unless ``out`` names its bands, units, nodata, tags and dtype sensibly."""
    descriptions = out.descriptions
    if not descriptions:
        raise InputError(f"output {name!r} has no bands; give at least one description")
    for d in descriptions:
        if not isinstance(d, str) or not d.strip():
            raise InputError(f"band description must be a non-empty string, got {d!r}")
    if len(out.band_units) != len(descriptions):
        raise InputError(
            f"output {name!r} has {len(descriptions)} band(s) but {len(out.band_units)} units"
        )
    try:
        kind = np.dtype(out.dtype).kind
    except TypeError:
        raise InputError(f"output {name!r}: unknown dtype {out.dtype!r}") from None
    if kind not in "iuf":
        raise InputError(f"output {name!r}: dtype must be a number type, got {out.dtype!r}")
    try:
        nodata = float(out.nodata)
    except (TypeError, ValueError):
        raise InputError(f"nodata must be a number or NaN, got {out.nodata!r}") from None
    if kind == "f" and math.isfinite(nodata) and float(np.float32(nodata)) != nodata:
        raise InputError(f"nodata {out.nodata!r} is not exactly representable as float32")
    for key in out.tags or {}:
        if not isinstance(key, str) or not key.strip() or "=" in key:
            raise InputError(f"tag names must be non-empty strings without '=', got {key!r}")


def overview_factors(height: int, width: int) -> list[int]:
    """Overview decimation factors of a COG: halving until the image fits one tile.

    Parameters
    ----------
    height, width
        Size of the full-resolution image in cells.

    Returns
    -------
    list of int
        ``[2, 4, ...]``, the last level the first at most :data:`BLOCK` cells on
        its longer side; empty when the image already fits one tile.

    Examples
    --------
    >>> overview_factors(600, 600), overview_factors(200, 100)
    ([2, 4], [])
    """
    factors: list[int] = []
    side = max(height, width)
    while side > BLOCK:
        factors.append(2 ** (len(factors) + 1))
        side = -(-side // 2)
    return factors


def _cog_copy(source: str | Path, target: Path, out: RasterOutput, *, overviews: bool,
              compress: bool) -> None:  # fmt: skip
    """Write ``source`` as a Cloud-Optimised GeoTIFF ``target``.

    ``source`` is a tiled GeoTIFF or the VRT text of :func:`_memory_vrt`. The
    overviews, if wanted, are those already in ``source``: the COG driver copies
    them (compressed on every core) instead of computing them again.
    """
    import rasterio.shutil

    options: dict[str, Any] = {
        "driver": "COG",
        "blocksize": BLOCK,
        "bigtiff": "IF_SAFER",
        "num_threads": str(cpu_count()),
        "overviews": "FORCE_USE_EXISTING" if overviews else "NONE",
        "overview_resampling": "average" if out.is_float else "nearest",
    }
    if compress:
        options.update(compress="ZSTD", predictor=2, level=_LEVEL)
    else:
        options.update(compress="NONE")
    # the VRT names its in-memory arrays as MEM datasets, which GDAL opens by name only when asked
    with rasterio.Env(GDAL_MEM_ENABLE_OPEN="YES"):
        rasterio.shutil.copy(os.fspath(source), os.fspath(target), **options)


#: ZSTD level of the final files: 1 is the fastest; with the horizontal-differencing
#: predictor a 25 M-cell float32 raster takes about 0.5 s against 1 s for DEFLATE level 1
#: with the floating-point predictor, for files about a fifth larger.
_LEVEL = 1


def _taps(n: int) -> list[tuple[slice | np.ndarray, np.ndarray | None]]:
    """Source cells and weights of GDAL's averaged overview halving an axis of ``n`` cells.

    The overview has ``ceil(n / 2)`` cells, each covering ``n / ceil(n / 2)`` source
    cells; a source cell counts by the share of it covered (GDAL's ``average``).
    Returns up to three taps ``(index, weight)``: an even ``n`` gives two slices of
    weight one.
    """
    half = -(-n // 2)
    if n == 2 * half:
        return [(slice(0, n, 2), None), (slice(1, n, 2), None)]
    ratio = n / half
    lo = np.arange(half) * ratio
    hi = lo + ratio
    first = np.floor(lo).astype(np.intp)
    taps: list[tuple[slice | np.ndarray, np.ndarray | None]] = []
    for t in range(3):
        k = first + t
        weight = np.clip(np.minimum(k + 1, hi) - np.maximum(k, lo), 0.0, None)
        weight[k >= n] = 0.0
        taps.append((np.minimum(k, n - 1), weight.astype(np.float32)))
    return taps


def _tap_rows(index: slice | np.ndarray, r0: int, r1: int) -> slice | np.ndarray:
    """The part of a tap's index for overview rows ``r0:r1``."""
    if isinstance(index, slice):
        return slice(index.start + 2 * r0, index.start + 2 * r1, 2)
    return index[r0:r1]


def _halve(values: np.ndarray, nodata: float) -> np.ndarray:
    """The next overview level of ``values``: GDAL's ``average``, on every core.

    Cells that are NaN or ``nodata`` are left out of each mean; an overview cell with
    none valid gets ``nodata``. Float32 sums of at most nine weighted cells.
    """
    height, width = values.shape
    result = np.empty((-(-height // 2), -(-width // 2)), np.float32)
    row_taps, col_taps = _taps(height), _taps(width)
    even = len(row_taps) == len(col_taps) == 2
    fill = np.float32(nodata)
    zero = np.float32(0)

    def missing(v: np.ndarray) -> np.ndarray:
        return np.isnan(v) if math.isnan(nodata) else (v == fill) | np.isnan(v)

    def blocks(r0: int, r1: int) -> None:
        """Even sides: every 2 x 2 mean at once, then the blocks with a gap one by one."""
        out = result[r0:r1]
        top, bottom = values[2 * r0 : 2 * r1 : 2], values[2 * r0 + 1 : 2 * r1 : 2]
        with np.errstate(over="ignore", invalid="ignore"):  # a huge nodata: fixed below
            pair = top + bottom
            np.add(pair[:, 0::2], pair[:, 1::2], out=out)
        out *= np.float32(0.25)
        gap = np.isnan(out)
        if not math.isnan(nodata):
            g = (top == fill) | (bottom == fill)
            gap |= g[:, 0::2] | g[:, 1::2]
        if not gap.any():
            return
        # blocks with nothing valid (large nodata areas) get nodata here, at full speed:
        # only the few with some cells missing are averaged one by one below
        if math.isnan(nodata):
            some = np.fmax(top, bottom)  # NaN only where both are missing
            gap &= ~np.isnan(np.fmax(some[:, 0::2], some[:, 1::2]))
        else:
            none = missing(top) & missing(bottom)
            none = none[:, 0::2] & none[:, 1::2]
            out[none] = fill
            gap &= ~none
        i, j = np.nonzero(gap)
        if i.size:
            v = np.stack([top[i, 2 * j], top[i, 2 * j + 1], bottom[i, 2 * j], bottom[i, 2 * j + 1]])
            miss = missing(v)
            n = np.count_nonzero(~miss, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(miss, zero, v).sum(axis=0) / n.astype(np.float32)
            out[i, j] = np.where(n > 0, mean, fill)

    def job(r0: int, r1: int) -> None:
        out = result[r0:r1]
        rows = [values[_tap_rows(index, r0, r1)] for index, _ in row_taps]
        gaps = [missing(v) for v in rows]
        total = np.zeros((r1 - r0, width), np.float32)
        count = np.zeros((r1 - r0, width), np.float32)
        for (_, weight), v, gap in zip(row_taps, rows, gaps, strict=True):
            z, c = np.where(gap, zero, v), (~gap).astype(np.float32)
            if weight is not None:
                z *= weight[r0:r1, None]
                c *= weight[r0:r1, None]
            total += z
            count += c
        s = np.zeros(out.shape, np.float32)
        n = np.zeros(out.shape, np.float32)
        for index, weight in col_taps:
            s += total[:, index] if weight is None else total[:, index] * weight
            n += count[:, index] if weight is None else count[:, index] * weight
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(s, n, out=out)
        np.copyto(out, fill, where=n == 0)

    run_chunks(result.shape[0], _PYRAMID_CHUNK_ROWS, blocks if even else job)
    return result


def _memory_vrt(
    grid: Grid,
    out: RasterOutput,
    bands: Sequence[np.ndarray],
    stats: Sequence[dict[str, str]],
    overviews: bool,
) -> tuple[str, list[np.ndarray]]:
    """VRT text presenting float32 arrays held in memory, and their averaged overviews.

    Each band and overview level is a GDAL MEM dataset over the numpy array (no copy);
    the arrays returned (the overview levels) must stay alive while the VRT is read.
    """

    def mem(a: np.ndarray) -> str:
        h, w = a.shape
        return (
            f"<SourceFilename>MEM:::DATAPOINTER={a.ctypes.data},PIXELS={w},LINES={h},"
            "BANDS=1,DATATYPE=Float32</SourceFilename><SourceBand>1</SourceBand>"
        )

    def metadata(tags: Mapping[str, Any]) -> str:
        items = "".join(
            f"<MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>" for k, v in tags.items()
        )
        return f"<Metadata>{items}</Metadata>" if items else ""

    levels = len(overview_factors(grid.height, grid.width)) if overviews else 0
    nodata = "nan" if math.isnan(out.nodata) else repr(float(out.nodata))
    keep: list[np.ndarray] = []
    parts = [
        f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">',
        f"<SRS>{escape(grid.crs.to_wkt())}</SRS>",
        f"<GeoTransform>{', '.join(repr(v) for v in grid.transform.to_gdal())}</GeoTransform>",
        metadata(out.tags or {}),
    ]
    for i, (band, description, unit, band_stats) in enumerate(
        zip(bands, out.descriptions, out.band_units, stats, strict=True), start=1
    ):
        parts.append(f'<VRTRasterBand dataType="Float32" band="{i}">')
        parts.append(f"<Description>{escape(description)}</Description>")
        parts.append(f"<NoDataValue>{nodata}</NoDataValue>")
        if unit:
            parts.append(f"<UnitType>{escape(unit)}</UnitType>")
        parts.append(metadata(band_stats))
        parts.append(f"<SimpleSource>{mem(band)}</SimpleSource>")
        level = band
        for _ in range(levels):
            level = _halve(level, out.nodata)
            keep.append(level)
            parts.append(f"<Overview>{mem(level)}</Overview>")
        parts.append("</VRTRasterBand>")
    parts.append("</VRTDataset>")
    return "".join(parts), keep


class WindowWriter:
    """Write several GeoTIFFs of one grid window by window, committed together as COGs.

    Every file is a Cloud-Optimised GeoTIFF (float32 unless its
    :class:`RasterOutput` says otherwise) tiled :data:`BLOCK` × :data:`BLOCK`,
    ZSTD (level 1) with the horizontal-differencing predictor, BigTIFF when needed,
    with band statistics and (by default) internal overviews — averaged, nearest
    for integers. Windows are written into a tiled temporary GeoTIFF under a hidden
    name in the output's folder, whose overviews GDAL builds at the end; a float
    output given as one window covering the grid stays in memory instead, its
    overviews averaged in numpy on every core (the same values as GDAL's
    ``average``). When the ``with`` block ends without an error each output is
    written as COG by GDAL's COG driver (compression on every core) into a second
    hidden file, and only when every output succeeded are they all renamed into
    place. On any error all
    temporary files are removed and existing files are left as they were, so a
    failed run leaves no partial output.

    Parameters
    ----------
    grid
        The whole grid.
    outputs
        Name to :class:`RasterOutput`.
    overwrite
        Replace existing files (else :class:`~gis.errors.OutputExistsError`
        before anything is written).
    overviews
        Build internal overviews.
    compress
        ZSTD with the predictor (on all cores); ``False`` writes uncompressed
        files, faster, for scratch rasters read back soon.

        With neither ``overviews`` nor ``compress`` the files are scratch rasters: plain
        tiled, uncompressed GeoTIFFs written once, straight into their temporaries (no
        COG rewrite), with the same descriptions, units and tags.
    statistics
        Band statistics (``STATISTICS_*`` tags) of float outputs, taken as the windows
        arrive; default: for the COG outputs, not for scratch rasters (read back, not
        displayed, so no run uses them).
    sparse
        Leave out of scratch rasters the tiles that hold nodata only (GDAL's
        ``SPARSE_OK``): they take no disk and no write, and GDAL reads them back as
        nodata, but other TIFF readers may not, so use it for rasters read back with
        GDAL (rasterio, innosite). The temporaries of COG outputs are always written
        so; the COG outputs never are.
    memory_budget
        Bytes, to size GDAL's block cache (:func:`gdal_env`).

    Raises
    ------
    InputError
        No outputs, two outputs to one file, or an output with bad bands, nodata,
        tags or dtype.
    OutputExistsError
        If a file exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> from gis.windows import plan_windows
    >>> g = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs=32650)
    >>> folder = Path(tempfile.mkdtemp())
    >>> outs = {"a": RasterOutput(folder / "a.tif", "a"), "b": RasterOutput(folder / "b.tif", "b")}
    >>> with WindowWriter(g, outs) as writer:
    ...     for w in plan_windows(g, halo_cells=0, bytes_per_cell=4, memory_budget=16):
    ...         writer.write(w, {"a": np.ones(w.shape), "b": np.zeros(w.shape)})
    >>> sorted(p.name for p in folder.iterdir())
    ['a.tif', 'b.tif']
    """

    def __init__(
        self,
        grid: Grid,
        outputs: Mapping[str, RasterOutput],
        *,
        overwrite: bool = False,
        overviews: bool = True,
        compress: bool = True,
        statistics: bool | None = None,
        sparse: bool = False,
        memory_budget: int | None = None,
    ) -> None:
        if not outputs:
            raise InputError("no outputs to write")
        self.grid = grid
        self.outputs = dict(outputs)
        self.overwrite = overwrite
        self.overviews = overviews
        self.compress = compress
        self.statistics = (overviews or compress) if statistics is None else bool(statistics)
        self.sparse = bool(sparse)
        self.memory_budget = memory_budget
        self.targets: dict[str, Path] = {}
        for name, out in self.outputs.items():
            _check_output(name, out)
            target = check_output_file(out.path, overwrite=overwrite)
            if target in self.targets.values():
                raise InputError(f"two outputs are written to {target}")
            self.targets[name] = target
        self._tmp: dict[str, Path] = {}
        self._dst: dict[str, Any] = {}
        self._stats: dict[str, list[_Stats]] = {}
        self._cog: dict[str, Path] = {}
        self._held: dict[str, list[np.ndarray]] = {}
        self._env: Any = None
        self._scratch: np.ndarray | None = None

    def _profile(self, out: RasterOutput) -> dict[str, Any]:
        g = self.grid
        # the temporary is tiled like the result and compressed fast (_SCRATCH); the COG
        # driver compresses the result once at the end
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": g.width,
            "height": g.height,
            "count": out.count,
            "dtype": out.dtype,
            "crs": g.crs.to_wkt(),
            "transform": g.transform,
            "nodata": out.nodata,
            "BIGTIFF": "IF_SAFER",
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            "interleave": "band",
        }
        raw = g.size * out.count * np.dtype(out.dtype).itemsize
        if self.cloud_optimised and raw > _PLAIN_SCRATCH_BYTES and not self._plain_temporaries:
            profile.update(_SCRATCH)
        if self.cloud_optimised or self.sparse:  # read back by GDAL only: no nodata tiles
            profile["sparse_ok"] = True
        return profile

    @functools.cached_property
    def _plain_temporaries(self) -> bool:
        """Whether the temporaries of every COG output, uncompressed and with overviews,
        take at most :data:`_PLAIN_SCRATCH_SHARE` of the free space where they go: decided
        once, before any is written, for all of a writer's outputs."""
        import shutil

        raw = sum(self.grid.size * o.count * np.dtype(o.dtype).itemsize
                  for o in self.outputs.values())  # fmt: skip
        folders = {self.targets[name].parent for name in self.outputs}
        free = min(shutil.disk_usage(folder).free for folder in folders)
        return raw * 4 / 3 <= free * _PLAIN_SCRATCH_SHARE

    @property
    def cloud_optimised(self) -> bool:
        """Whether the outputs are rewritten as COG on commit (not for scratch rasters)."""
        return self.overviews or self.compress

    def __enter__(self) -> WindowWriter:
        self._env = gdal_env(self.memory_budget)
        self._env.__enter__()
        try:
            for name, out in self.outputs.items():
                target = self.targets[name]
                self._tmp[name] = temporary_sibling(target, "partial")
                self._stats[name] = [_Stats(float(out.nodata)) for _ in range(out.count)]
        except BaseException:
            self._abort()
            raise
        return self

    def _open(self, name: str) -> Any:
        """The open temporary GeoTIFF of output ``name``, created on first use."""
        import rasterio
        from rasterio.windows import Window as RioWindow

        if name not in self._dst:
            self._dst[name] = dst = rasterio.open(
                self._tmp[name], "w", **self._profile(self.outputs[name])
            )
            held = self._held.pop(name, None)
            if held is not None:  # a later window of a grid already held: the values go to disk
                dst.write(np.stack(held), window=RioWindow(0, 0, self.grid.width, self.grid.height))
        return self._dst[name]

    def _hold(self, name: str, out: RasterOutput, bands: np.ndarray) -> None:
        """Keep the float values of a window covering the grid in memory until the commit.

        Statistics are taken now; the bands are converted to C-ordered float32 and NaN
        set to a finite ``nodata`` only when needed, else they are the caller's arrays.
        """
        values = np.ascontiguousarray(bands, dtype=np.float32)
        self._add_statistics(name, values)
        if not math.isnan(out.nodata):
            values = _nan_filled(values, np.float32(out.nodata), copy=values is bands)
        self._held[name] = list(values)

    def write(self, window: GridWindow, values: Mapping[str, np.ndarray]) -> None:
        """Write each output's values for ``window``.

        A float output's window covering the whole grid is held in memory, not
        copied, until the writer commits (its overviews are then averaged in numpy):
        leave those values unchanged until the ``with`` block ends.

        Parameters
        ----------
        window
            A window of the writer's grid (:class:`gis.windows.Window`).
        values
            Output name to an array of the window's core shape or of its read
            (core plus halo) shape, whose core is then cut out; an output of several
            bands takes ``(bands, rows, cols)``.

        Raises
        ------
        InputError
            If an output is missing, an array has another shape or is not numeric.
        """
        from rasterio.windows import Window as RioWindow

        missing = set(self.outputs) - set(values)
        if missing:
            raise InputError(f"window values lack outputs {sorted(missing)}")
        core = (window.height, window.width)
        r0, c0, r1, c1 = window.read_bounds
        read = (r1 - r0, c1 - c0)
        dr, dc = window.row - r0, window.col - c0
        for name, out in self.outputs.items():
            arr = np.asarray(values[name])
            if arr.dtype.kind not in "biuf":
                raise InputError(f"output {name!r} has non-numeric dtype {arr.dtype}; give numbers")
            shape = arr.shape if out.count > 1 else (1, *arr.shape)
            if (
                shape[1:] not in (core, read)
                or shape[0] != out.count
                or arr.ndim != 2 + (out.count > 1)
            ):
                lead = f"{out.count} bands of " if out.count > 1 else ""
                raise InputError(
                    f"output {name!r}: got shape {arr.shape} for a window of {lead}core "
                    f"{core} and read shape {read}"
                )
            if shape[1:] != core:
                arr = arr[..., dr : dr + window.height, dc : dc + window.width]
            bands = arr.reshape(shape[0], *core)
            whole = (window.row, window.col, *core) == (0, 0, *self.grid.shape)
            if whole and out.is_float and self.cloud_optimised and name not in self._dst:
                self._hold(name, out, bands)
                continue
            dst = self._open(name)
            # row bands of whole tiles: conversions and nodata fills never copy the window
            rows = max(1, _WRITE_CHUNK_CELLS // max(core[1] * shape[0], 1))
            if rows >= BLOCK:
                rows -= rows % BLOCK
            for start in range(0, core[0], rows):
                stop = min(core[0], start + rows)
                part = bands[:, start:stop]
                if not out.is_float:
                    block = np.asarray(part, dtype=out.dtype)
                else:
                    block = np.asarray(part, dtype=np.float32)
                    self._add_statistics(name, block)
                    if not math.isnan(out.nodata):  # into a buffer reused for every band
                        block = _nan_filled(
                            block, np.float32(out.nodata), copy=True, out=self._buffer(block)
                        )
                piece = RioWindow(window.col, window.row + start, window.width, stop - start)
                dst.write(block, window=piece)

    def _add_statistics(self, name: str, bands: np.ndarray) -> None:
        """Fold the float ``bands`` of output ``name`` into its statistics, if it keeps any."""
        if self.statistics:
            for stats, band in zip(self._stats[name], bands, strict=True):
                stats.add(band)

    def _buffer(self, like: np.ndarray) -> np.ndarray:
        """A float32 array shaped like ``like`` in memory the writer reuses for every band."""
        if self._scratch is None or self._scratch.size < like.size:
            self._scratch = np.empty(like.size, dtype=np.float32)
        return self._scratch[: like.size].reshape(like.shape)

    def _abort(self) -> None:
        for dst in self._dst.values():
            try:
                dst.close()
            except Exception:  # pragma: no cover - closing a failed file
                pass
        for tmp in self._tmp.values():
            tmp.unlink(missing_ok=True)
        for done in self._cog.values():
            done.unlink(missing_ok=True)
        self._dst.clear()
        self._tmp.clear()
        self._cog.clear()
        self._held.clear()
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None

    def _finish(self) -> None:
        from rasterio.enums import Resampling

        for name, out in self.outputs.items():
            if name in self._held:
                continue
            dst = self._open(name)  # an output never written is all nodata
            dst.update_tags(**{k: str(v) for k, v in (out.tags or {}).items()})
            for i, (description, unit) in enumerate(
                zip(out.descriptions, out.band_units, strict=True), start=1
            ):
                dst.set_band_description(i, description)
                if unit:
                    dst.set_band_unit(i, unit)
                if out.is_float:
                    dst.update_tags(i, **self._stats[name][i - 1].tags(self.grid.size))
            factors = overview_factors(*self.grid.shape)
            if self.overviews and factors:  # in the temporary, on every core
                dst.build_overviews(
                    factors, Resampling.average if out.is_float else Resampling.nearest
                )
            dst.close()
        self._dst.clear()
        for name, tmp in self._tmp.items():
            out = self.outputs[name]
            if not self.cloud_optimised:  # a scratch raster: the temporary is the result
                self._cog[name] = tmp
                continue
            self._cog[name] = cog = temporary_sibling(self.targets[name], "cog")
            held = self._held.pop(name, None)
            if held is None:
                _cog_copy(tmp, cog, out, overviews=self.overviews, compress=self.compress)
            else:  # straight from memory, with the overviews averaged in numpy
                stats = [s.tags(self.grid.size) for s in self._stats[name]]
                vrt, levels = _memory_vrt(self.grid, out, held, stats, self.overviews)
                _cog_copy(vrt, cog, out, overviews=self.overviews, compress=self.compress)
                del held, levels
            tmp.unlink()
        self._tmp.clear()
        for name, cog in self._cog.items():
            os.replace(cog, self.targets[name])
        self._cog.clear()
        self._env.__exit__(None, None, None)
        self._env = None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._finish()
        except BaseException:
            self._abort()
            raise


#: Creation options of the tiled temporary that windows are written into when it is large:
#: ZSTD level 1 is the fastest compression that still bounds the scratch disk use (a
#: 5000 x 5000 float32 write takes 0.9 s against 1.5 s with DEFLATE level 1).
_SCRATCH: dict[str, Any] = {"compress": "zstd", "zstd_level": 1, "num_threads": "ALL_CPUS"}

#: Temporaries up to this many bytes of raw values are left uncompressed: reading them
#: back for the overviews and the COG copy then costs nothing to decompress.
_PLAIN_SCRATCH_BYTES = 1 << 30

#: Larger temporaries are left uncompressed too while all of a writer's, at their raw size
#: with overviews, fit in this share of the free disk space (they hold no nodata-only tiles,
#: so they usually take much less; the COGs then need about a third of it). China at 250 m
#: (five 1.7 GB outputs, 36 % of the grid in the country, 11.4 GB raw with overviews, about
#: 4.7 GB written): 115.9 s uncompressed against 125.5 s with ZSTD, back to back.
_PLAIN_SCRATCH_SHARE = 0.5

#: Cells converted and written at a time by :meth:`WindowWriter.write`.
_WRITE_CHUNK_CELLS = 1 << 22

#: Cells per chunk of the running band statistics.
_STATS_CHUNK_CELLS = 1 << 20

#: Overview rows averaged at a time (per thread) by :func:`_halve`.
_PYRAMID_CHUNK_ROWS = 128


def _nan_filled(
    values: np.ndarray, fill: np.float32, *, copy: bool, out: np.ndarray | None = None
) -> np.ndarray:
    """``values`` (C-ordered float32) with NaN set to ``fill``: a copy if ``copy`` and any
    NaN, else ``values`` itself; always written into ``out`` when it is given."""
    flat = values.reshape(-1, values.shape[-1])
    if out is None:
        found: list[bool] = []

        def look(r0: int, r1: int) -> None:
            if np.isnan(flat[r0:r1]).any():
                found.append(True)

        run_chunks(flat.shape[0], _FILL_CHUNK_ROWS, look)
        if not found:
            return values
        out = np.empty_like(values) if copy else values
    flat_out = out.reshape(flat.shape)
    moved = out is not values

    def job(r0: int, r1: int) -> None:
        part = flat[r0:r1]
        nan = np.isnan(part)
        if moved:
            np.copyto(flat_out[r0:r1], part)
        np.copyto(flat_out[r0:r1], fill, where=nan)

    run_chunks(flat.shape[0], _FILL_CHUNK_ROWS, job)
    return out


#: Rows per chunk when NaN of a held array is set to a finite nodata.
_FILL_CHUNK_ROWS = 256


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

    The array is one window covering the grid, written by :class:`WindowWriter`:
    tiled 256 × 256, ZSTD-compressed with the horizontal-differencing predictor,
    with averaged internal overviews and band statistics for a sensible default
    stretch, so QGIS and ArcGIS display it quickly at every zoom. The array is
    written from memory (not copied unless it must be converted to float32 or its
    NaN set to a finite ``nodata``), its overviews averaged in numpy.

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
    if not isinstance(arrays, Mapping) or not arrays:
        raise InputError("give at least one band as a mapping of description -> array")
    names = list(arrays)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"band description must be a non-empty string, got {name!r}")
        a = np.asarray(arrays[name])
        if a.dtype.kind not in "biuf":
            raise InputError(f"band {name!r} has non-numeric dtype {a.dtype}; give numbers")
        if a.shape != grid.shape:
            raise InputError(
                f"band {name!r} has shape {a.shape} but the grid is {grid.shape} (rows, cols); "
                "compute the layer on the same grid"
            )
    if units is None or isinstance(units, str):
        band_units: list[str | None] = [units] * len(names)
    else:
        unknown = set(units) - set(names)
        if unknown:
            raise InputError(f"units given for unknown bands {sorted(unknown)}; bands are {names}")
        band_units = [units.get(n) for n in names]
    out = RasterOutput(path, tuple(names), tuple(band_units), nodata, tags)
    whole = _WholeGrid(0, 0, grid.height, grid.width)
    values = arrays[names[0]] if len(names) == 1 else np.stack([arrays[n] for n in names])
    with WindowWriter(grid, {"out": out}, overwrite=overwrite) as writer:
        writer.write(whole, {"out": values})
    return writer.targets["out"]


#: Cells per row band when nodata cells are set to NaN after reading.
_MASK_CHUNK_CELLS = 1 << 20


def read_geotiff(
    path: str | os.PathLike, *, band: int = 1, out: np.ndarray | None = None
) -> tuple[np.ndarray, Grid]:
    """Read one band of a GeoTIFF as float32 with NaN for nodata, and its grid.

    Float32 and integer bands are read by GDAL straight into the float32 result,
    and nodata cells are set to NaN in place: the result is the only full-grid
    array allocated (none at all with ``out``).

    Parameters
    ----------
    path
        A north-up raster with square cells in a projected CRS.
    band
        1-based band number.
    out
        Writable, C-contiguous float32 array of the raster's shape (rows, columns)
        to read the values into, e.g. one buffer reused for several layers of the same grid.

    Returns
    -------
    array, grid
        ``array`` (``out`` when given) has ``grid.shape``.

    Raises
    ------
    DataSourceError
        If the file is missing or not a readable raster.
    InputError
        If the band does not exist, the raster is not north-up with square cells,
        or ``out`` is not a writable float32 array of the raster's shape.

    Examples
    --------
    >>> import tempfile
    >>> g = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs="EPSG:32635")
    >>> buffer = np.empty(g.shape, dtype=np.float32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_geotiff(Path(tmp) / "a.tif", np.full(g.shape, 2.0), g, description="a")
    ...     arr, _ = read_geotiff(p, out=buffer)
    >>> arr is buffer, float(buffer.sum())
    (True, 16.0)
    """
    import rasterio

    # uncompressed tiles are read straight into the array, not through GDAL's block
    # cache (which would hold, and fault in, a second copy); other files as usual
    with rasterio.Env(GTIFF_DIRECT_IO="YES"), _open(path) as src:
        if not 1 <= band <= src.count:
            raise InputError(f"{path} has {src.count} band(s); band {band} does not exist")
        grid = _dataset_grid(src, path)
        if out is not None:
            _check_read_target(out, grid.shape, path)
        native = np.dtype(src.dtypes[band - 1])
        if native == np.float32 or native.kind in "iub":
            # read once, straight into float32 (integers convert exactly as numpy does)
            if out is None:
                array = src.read(band, out_dtype="float32")
            else:
                array = src.read(band, out=out)
        elif out is None:
            array = src.read(band).astype("float32")
        else:
            out[...] = src.read(band)
            array = out
        nodata = src.nodatavals[band - 1]
    if nodata is not None and not math.isnan(nodata):
        fill, nan = np.float32(nodata), np.float32(np.nan)
        rows = max(1, _MASK_CHUNK_CELLS // max(array.shape[1], 1))
        for start in range(0, array.shape[0], rows):  # no full-raster boolean mask
            part = array[start : start + rows]
            np.copyto(part, nan, where=part == fill)
    return array, grid


def _check_read_target(out: Any, shape: tuple[int, int], path: str | os.PathLike) -> None:
    """InputError unless ``out`` is a writable float32 array of ``shape``."""
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.float32
        or out.shape != shape
        or not out.flags.writeable
        or not out.flags.c_contiguous
    ):
        got = (
            f"{out.dtype} array of shape {out.shape}"
            if isinstance(out, np.ndarray)
            else type(out).__name__
        )
        raise InputError(
            f"out must be a writable, C-contiguous float32 array of the shape {shape} of "
            f"{path}, got {got}"
        )


def raster_grid(path: str | os.PathLike) -> Grid:
    """The grid (CRS, transform, shape) of a raster file, without reading its values.

    Parameters
    ----------
    path
        A north-up raster with square cells in a projected CRS.

    Returns
    -------
    Grid

    Raises
    ------
    DataSourceError
        If the file is missing or not a readable raster.
    InputError
        If the raster has no CRS or is not north-up with square cells.

    Examples
    --------
    >>> import tempfile
    >>> g = Grid.from_bounds((0, 0, 40, 20), cell_size=10, crs="EPSG:32635")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     raster_grid(write_geotiff(Path(tmp) / "a.tif", np.ones(g.shape), g,
    ...                               description="a")) == g
    True
    """
    with _open(path) as src:
        return _dataset_grid(src, path)


def _open(path: str | os.PathLike) -> Any:
    """Open a raster for reading, or DataSourceError."""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise DataSourceError(f"cannot read raster {path}: {exc}") from None


def _dataset_grid(src: Any, path: str | os.PathLike) -> Grid:
    """The :class:`~gis.grid.Grid` of an open rasterio dataset."""
    from pyproj import CRS

    if src.crs is None:
        raise InputError(f"{path} has no CRS; assign one in your GIS software")
    return Grid(CRS.from_user_input(src.crs.to_wkt()), src.transform, src.width, src.height)
