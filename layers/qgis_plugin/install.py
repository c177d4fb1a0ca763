"""Install the QGIS plugin into a profile, enable it, or write it as a plugin zip.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = install_plugin(tmp, python="/usr/bin/python3", algorithms=[])
...     ini = (Path(tmp) / "QGIS" / "QGIS3.ini").read_text()
...     folder.relative_to(tmp).as_posix(), "innosite_processing=true" in ini
('python/plugins/innosite_processing', True)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gis.errors import InputError

__all__ = [
    "PLUGIN_NAME",
    "PLUGIN_SOURCE",
    "build_plugin_zip",
    "default_profile_dir",
    "enable_plugin",
    "install_plugin",
    "plugin_config",
]

#: Folder name of the plugin inside a profile's ``python/plugins``.
PLUGIN_NAME = "innosite_processing"
#: The plugin folder shipped in the package.
PLUGIN_SOURCE = Path(__file__).resolve().parent / PLUGIN_NAME
#: File of the plugin folder recording the interpreter and the algorithms.
CONFIG_FILE = "innosite.json"
#: ``written_by`` value of that file: marks a folder that innosite wrote.
WRITTEN_BY = "innosite"

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", CONFIG_FILE)


def default_profile_dir() -> Path:
    """The default QGIS 3 user profile (``QGIS_CUSTOM_CONFIG_PATH`` first, if set).

    Linux ``~/.local/share/QGIS/QGIS3/profiles/default``, macOS
    ``~/Library/Application Support/QGIS/QGIS3/profiles/default``, Windows
    ``%APPDATA%\\QGIS\\QGIS3\\profiles\\default``.
    """
    custom = os.environ.get("QGIS_CUSTOM_CONFIG_PATH")
    if custom:
        return Path(custom) / "profiles" / "default"
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def _module_path() -> list[str]:
    """Folder to put on the child's ``PYTHONPATH`` when innosite is not in site-packages."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the package
    site = {str(Path(p).resolve()) for k in ("purelib", "platlib") if (p := sysconfig.get_path(k))}
    return [] if root in site else [root]


def plugin_config(*, python: str, algorithms: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The content of the plugin's ``innosite.json``.

    Parameters
    ----------
    python
        The interpreter that runs ``-m layers.cli`` (empty: to be set in QGIS's
        Processing options).
    algorithms
        Descriptions of the algorithms (``layers.cli.qgis.algorithm_specs``).
    """
    from gis import __version__

    return {
        "written_by": WRITTEN_BY,
        "version": __version__,
        "python": python,
        "pythonpath": _module_path() if python else [],
        "algorithms": list(algorithms),
    }


def _metadata(version: str) -> str:
    """The plugin's ``metadata.txt`` with ``version`` set to innosite's version."""
    text = (PLUGIN_SOURCE / "metadata.txt").read_text(encoding="utf-8")
    lines = [f"version={version}" if ln.startswith("version=") else ln for ln in text.splitlines()]
    return "\n".join(lines) + "\n"


def _written_by_innosite(folder: Path) -> bool:
    try:
        data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("written_by") == WRITTEN_BY


def enable_plugin(profile_dir: str | Path, name: str = PLUGIN_NAME) -> Path:
    """Mark plugin ``name`` enabled in the profile's ``QGIS/QGIS3.ini``; the file's path.

    Only the ``[PythonPlugins]`` entry of the plugin is added or changed; the rest of
    the file is kept as it is.
    """
    ini = Path(profile_dir) / "QGIS" / "QGIS3.ini"
    lines = ini.read_text(encoding="utf-8").splitlines() if ini.exists() else []
    entry = f"{name}=true"
    try:
        start = lines.index("[PythonPlugins]")
    except ValueError:
        if lines and lines[-1].strip():
            lines.append("")
        lines += ["[PythonPlugins]", entry]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines)
        )
        keys = [i for i in range(start + 1, end) if lines[i].split("=", 1)[0].strip() == name]
        if keys:
            lines[keys[0]] = entry
        else:
            lines.insert(start + 1, entry)
    ini.parent.mkdir(parents=True, exist_ok=True)
    tmp = ini.with_name(ini.name + ".innosite-tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, ini)
    return ini


def install_plugin(
    profile_dir: str | Path | None = None,
    *,
    python: str,
    algorithms: Sequence[dict[str, Any]],
    enable: bool = True,
) -> Path:
    """Copy the plugin into a QGIS profile's ``python/plugins``; the installed folder.

    An earlier installation by innosite is replaced; any other folder of the same
    name is refused. The folder is assembled next to its destination and moved into
    place, so a failure leaves the profile as it was.

    Parameters
    ----------
    profile_dir
        The QGIS user profile (default :func:`default_profile_dir`).
    python
        Interpreter recorded for the algorithms (``sys.executable`` of the caller).
    algorithms
        Descriptions of the algorithms.
    enable
        Also enable the plugin in the profile (:func:`enable_plugin`).

    Raises
    ------
    InputError
        The destination exists and innosite did not write it.
    """
    profile = Path(profile_dir) if profile_dir is not None else default_profile_dir()
    plugins = profile / "python" / "plugins"
    target = plugins / PLUGIN_NAME
    if target.exists() and not _written_by_innosite(target):
        raise InputError(
            f"{target} exists and was not written by innosite; remove it or choose "
            "another --profile-dir"
        )
    plugins.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-", dir=plugins))
    try:
        folder = staging / PLUGIN_NAME
        shutil.copytree(PLUGIN_SOURCE, folder, ignore=_SKIP)
        config = plugin_config(python=python, algorithms=algorithms)
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
        (folder / "metadata.txt").write_text(_metadata(config["version"]), encoding="utf-8")
        if target.exists():
            old = staging / "old"
            os.replace(target, old)
        os.replace(folder, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if enable:
        enable_plugin(profile)
    return target


def build_plugin_zip(out: str | Path, *, python: str, algorithms: Sequence[dict[str, Any]]) -> Path:
    """Write the plugin as a zip for QGIS's *Plugins > Install from ZIP*; its path.

    Raises
    ------
    InputError
        ``out`` does not end in ``.zip``.
    """
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InputError(f"the plugin zip must end in .zip, got {out.name!r}")
    config = plugin_config(python=python, algorithms=algorithms)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".innosite-tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(PLUGIN_SOURCE.rglob("*")):
                rel = path.relative_to(PLUGIN_SOURCE)
                if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc":
                    continue
                if rel.as_posix() in (CONFIG_FILE, "metadata.txt"):
                    continue
                z.write(path, f"{PLUGIN_NAME}/{rel.as_posix()}")
            z.writestr(f"{PLUGIN_NAME}/{CONFIG_FILE}", json.dumps(config, indent=1))
            z.writestr(f"{PLUGIN_NAME}/metadata.txt", _metadata(config["version"]))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
