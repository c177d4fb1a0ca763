"""Failures of the operating system, GDAL, PROJ and SQLite end in one line, exit 2, nothing written.

A full disk is a real 1 MiB tmpfs (skipped where mounting is not allowed), filled up
before the run; the other failures are raised where the libraries raise them.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from gis.io import describe_failure
from gis.io.failures import is_disk_full, os_error_text
from tests.faults import storage
from tests.faults.harness import assert_clean_error, assert_nothing_lost, run_cli, snapshot

pytestmark = pytest.mark.faults

nation_area = storage.nation_area
macro_scenario = storage.macro_scenario
tiny_disk = storage.tiny_disk
read_only_disk = storage.read_only_disk

QUICK = ["macro", "-q", "--draws", "20", "--no-tiles"]


def fill(folder: Path, *, leave: int = 48 * 1024) -> None:
    """Fill the file system of ``folder`` up to ``leave`` bytes (a file ``filler``)."""
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


# ---------------------------------------------------------------------------- full disk
FULL_DISK_RUNS = {
    "micro": ["micro", "--no-tiles"],
    "meso": ["meso", "--cell-size", "2000", "--no-tiles"],
    "national": ["national", "--cell-size", "5000", "--no-tiles"],
    "macro": ["macro", "--draws", "20", "--no-tiles"],
    "run": ["run"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FULL_DISK_RUNS))
def test_full_disk(name, work, tiny_disk, nation_area, macro_scenario):
    argv = list(FULL_DISK_RUNS[name])
    if name == "national":
        argv += ["--area-file", nation_area]
    if name == "run":
        argv += [macro_scenario]
    fill(tiny_disk)
    before = snapshot(work.parent)
    outcome = run_cli([*argv, "--out", tiny_disk / "run1"], cwd=work)
    assert_clean_error(outcome, r"no space left on device: writing .*run1 failed")
    assert_nothing_lost(before, work.parent)
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]


def test_full_disk_init(work, tiny_disk):
    fill(tiny_disk, leave=0)
    before = snapshot(work.parent)
    outcome = run_cli(["init", "micro", tiny_disk / "s.toml"], cwd=work)
    assert_clean_error(outcome, r"no space left on device \(writing .*s\.toml\)$")
    assert_nothing_lost(before, work.parent)


@pytest.mark.slow  # a whole macro run
def test_full_disk_after_the_outputs_were_computed(work, monkeypatch):
    # the chart is written after the tables; the disk fills up there
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "map.html")

    monkeypatch.setattr("layers.macro.outputs._write_chart", full)
    before = snapshot(work.parent)
    outcome = run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert_clean_error(outcome, "no space left on device")
    assert_nothing_lost(before, work.parent)


@pytest.mark.slow  # a whole macro run
def test_sqlite_disk_full_while_writing_a_geopackage(work, monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("layers.macro.outputs._write_chart", full)
    before = snapshot(work.parent)
    outcome = run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert_clean_error(outcome, r"no space left on device.*\(database or disk is full\)")
    assert_nothing_lost(before, work.parent)


# ---------------------------------------------------------------------------- other failures
@pytest.mark.slow  # a whole macro run
@pytest.mark.parametrize(
    ("exc", "pattern"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "run1/map.html"),
         r"permission denied: run1/map\.html"),
        (OSError(errno.EROFS, "Read-only file system", "run1/map.html"),
         r"read-only file system: run1/map\.html"),
        (OSError(errno.EIO, "Input/output error", "run1/map.html"),
         r"input/output error .*: run1/map\.html"),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "run1/map.html"), "no space left"),
        (MemoryError(), "not enough memory"),
    ],
)  # fmt: skip
def test_failure_while_writing_is_one_line(exc, pattern, work, monkeypatch):
    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr("layers.macro.outputs._write_chart", broken)
    before = snapshot(work.parent)
    outcome = run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert_clean_error(outcome, pattern)
    assert_nothing_lost(before, work.parent)


@pytest.mark.slow  # a whole macro run
def test_a_bug_keeps_its_traceback(work, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("layers.macro.outputs._write_chart", broken)
    before = snapshot(work.parent)
    with pytest.raises(KeyError, match="a bug"):
        run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert_nothing_lost(before, work.parent)


def test_read_only_output_folder_found_upfront(work, read_only_disk):
    outcome = run_cli([*QUICK, "--out", read_only_disk / "a" / "b"], cwd=work)
    assert_clean_error(outcome, r"cannot write .*/b: .*read-only file system")


# ---------------------------------------------------------------------------- CRS
@pytest.mark.parametrize("name", ["micro", "meso", "national"])
@pytest.mark.parametrize(
    ("crs", "pattern"),
    [
        ("EPSG:999999", r"argument --crs: not a known CRS: 'EPSG:999999'"),
        ("foo", r"argument --crs: not a known CRS: 'foo'"),
        ("EPSG:4326", r"argument --crs: 'EPSG:4326' is not projected"),
        ("EPSG:2263", r"argument --crs: 'EPSG:2263' measures in US survey foot"),
    ],
)
def test_invalid_crs_is_refused_before_any_work(name, crs, pattern, work):
    before = snapshot(work.parent)
    outcome = run_cli([name, "--crs", crs, "--out", "run1"], cwd=work)
    assert_clean_error(outcome, pattern)
    assert_nothing_lost(before, work.parent)


def test_a_projected_crs_is_accepted_by_the_parser():
    from layers.cli.options import crs

    assert crs("EPSG:32650") == "EPSG:32650"
    assert crs("+proj=utm +zone=50 +datum=WGS84") == "+proj=utm +zone=50 +datum=WGS84"


# ---------------------------------------------------------------------------- the translator
def test_describe_os_errors():
    assert describe_failure(OSError(errno.ENOSPC, "x", "/o/a.tif")) == (
        "no space left on device: /o/a.tif"
    )
    assert describe_failure(NotADirectoryError(errno.ENOTDIR, "x", "f/sub")) == (
        "not a folder (a file is in the way): f/sub"
    )
    both = FileExistsError(errno.EEXIST, "x", "a", None, "b")
    assert describe_failure(both) == "file exists: a -> b"
    assert describe_failure(OSError(errno.EROFS, "x"), path="out") == (
        "read-only file system (writing out)"
    )
    assert os_error_text(OSError(errno.EXFULL, "Exchange full")) == "Exchange full"


def test_describe_library_errors():
    import pyogrio.errors
    import rasterio.errors
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    with pytest.raises(CRSError) as info:
        CRS.from_user_input("EPSG:999999")
    assert describe_failure(info.value).startswith("invalid CRS: Invalid projection: EPSG:999999")
    assert describe_failure(rasterio.errors.CRSError("bad wkt")) == "invalid CRS: bad wkt"
    gpkg = pyogrio.errors.FeatureError(
        "Could not add feature: sqlite3_exec(INSERT INTO gpkg_contents ...) failed: "
        "database or disk is full"
    )
    assert describe_failure(gpkg, path="out").startswith("no space left on device (writing out)")
    other = pyogrio.errors.DataSourceError("Failed to commit transaction\nmore detail")
    assert describe_failure(other) == "GDAL/OGR failed: Failed to commit transaction"
    assert describe_failure(sqlite3.OperationalError("database is locked")) == (
        "SQLite failed: database is locked"
    )


def test_a_disk_full_cause_is_found_in_the_chain():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/o/x.tif")
        except OSError as inner:
            raise RuntimeError("No GDAL environment") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
        assert describe_failure(outer) == "no space left on device: /o/x.tif"


def test_bugs_are_not_described():
    for exc in (KeyError("k"), TypeError("t"), ValueError("v"), ZeroDivisionError()):
        assert describe_failure(exc) is None
