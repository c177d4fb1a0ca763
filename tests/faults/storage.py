"""Small inputs for every command and tiny file systems, shared by the output and OS fault tests.

Test modules bind the fixtures they use: ``nation_area = storage.nation_area``.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely.geometry import box

#: A small area (part of Hubei) that national runs cover in seconds at 5 km cells.
SMALL_NATION = box(113.5, 30.0, 115.0, 31.0)


@pytest.fixture(scope="session")
def nation_area(tmp_path_factory) -> Path:
    """A GeoPackage with :data:`SMALL_NATION` for ``innosite national --area-file``."""
    import geopandas as gpd

    path = tmp_path_factory.mktemp("nation") / "area.gpkg"
    gpd.GeoSeries([SMALL_NATION], crs=4326).to_file(path)
    return path


@pytest.fixture(scope="session")
def macro_scenario(tmp_path_factory) -> Path:
    """A macro scenario file (the preset, with few draws) for ``innosite run``."""
    from layers.scenario import write_preset

    path = tmp_path_factory.mktemp("scenario") / "tiers.toml"
    write_preset(path, "macro")
    text = path.read_text(encoding="utf-8")
    lines = [
        "draws = 20" if line.strip().startswith("draws =") else line for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _mount(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def mounted(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``folder`` with ``options`` (e.g. ``size=1m``), or skip the test."""
    if not _mount(folder, options):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=60)


@pytest.fixture
def tiny_disk(tmp_path) -> Iterator[Path]:
    """A 1 MiB tmpfs (a full disk for any real run), unmounted after the test."""
    with mounted(tmp_path / "tiny", "size=1m") as folder:
        yield folder


@pytest.fixture
def read_only_disk(tmp_path) -> Iterator[Path]:
    """A read-only tmpfs, unmounted after the test."""
    with mounted(tmp_path / "ro", "size=1m,ro") as folder:
        yield folder
