"""Provenance of a run: file checksums, library versions and the JSON manifest.

:func:`write_manifest` records what a run read, which parameters it used, which
library versions it ran on and the checksums of what it wrote; :func:`jsonable`
is the conversion of parameters and metadata to plain JSON types that it uses.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from gis.errors import DataSourceError, InputError
from gis.io.folders import atomic_file, check_output_file

__all__ = ["file_checksum", "jsonable", "package_versions", "write_manifest"]

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


def jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON types, sorting mapping keys.

    Numpy scalars and arrays, sets, paths, dates, CRSs and objects with a
    ``__geo_interface__`` are converted; non-finite floats become ``None`` so the
    output is strict JSON.

    Parameters
    ----------
    value
        The value to convert.
    where
        How to name the value in an error message, e.g. ``"parameters"``.

    Returns
    -------
    Any
        ``None``, a bool, int, float, str, list or dict (keys sorted).

    Raises
    ------
    InputError
        If a value of another type is met.

    Examples
    --------
    >>> jsonable({"b": np.float32(0.5), "a": (1, float("nan"))})
    {'a': [1, None], 'b': 0.5}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return jsonable(value.item(), where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        items = {str(k): jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {k: items[k] for k in sorted(items)}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, set | frozenset):
        return [jsonable(v, where) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if hasattr(value, "to_wkt") and hasattr(value, "to_string"):  # pyproj / rasterio CRS
        return value.to_string()
    if hasattr(value, "__geo_interface__"):
        return jsonable(value.__geo_interface__, where)
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

    target = check_output_file(path, overwrite=overwrite)
    folder = target.parent
    input_entries = []
    for i, item in enumerate(inputs):
        if not isinstance(item, Mapping):
            raise InputError(f"inputs[{i}] must be a mapping, got {type(item).__name__}")
        entry = dict(item)
        if entry.get("path") is not None:
            entry.update(_file_entry(Path(entry["path"])))
        input_entries.append(jsonable(entry, f"inputs[{i}]"))
    output_entries = []
    for out in outputs or []:
        p = Path(out) if Path(out).is_absolute() else folder / out
        rel = Path(os.path.relpath(p, folder)).as_posix()
        output_entries.append(jsonable({"file": rel, **_file_entry(p)}))
    manifest = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "innosite_version": __version__,
        "command": command,
        "versions": jsonable(package_versions()),
        "inputs": input_entries,
        "parameters": jsonable(dict(parameters), "parameters"),
        "outputs": output_entries,
        "extra": jsonable(dict(extra or {}), "extra"),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return manifest
