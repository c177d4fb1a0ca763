"""Output folders that cannot destroy input: every command goes through the one check.

Each refusal happens before any data is read, so these cases are quick. Every case
asserts the exit status, one error line, no traceback, nothing changed outside the
output folder (here: nothing changed at all) and no staging folder left.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gis.errors import OutputExistsError
from gis.io import check_output_folder, input_paths, remove_stale_staging
from gis.io.folders import temporary_sibling
from tests.faults import storage
from tests.faults.harness import (
    assert_clean_error,
    assert_nothing_lost,
    run_cli,
    snapshot,
    staging_left,
)

pytestmark = pytest.mark.faults

nation_area = storage.nation_area
macro_scenario = storage.macro_scenario
read_only_disk = storage.read_only_disk

RUNS = ["micro", "meso", "national", "macro", "run"]

#: The quickest successful run (macro on the paper's Table 1).
QUICK = ["macro", "-q", "--draws", "20", "--no-tiles"]


def command(name: str, nation_area: Path, macro_scenario: Path) -> list[str]:
    """The smallest run of each command (before ``--out``)."""
    return {
        "micro": ["micro", "--no-tiles"],
        "meso": ["meso", "--cell-size", "2000", "--no-tiles"],
        "national": ["national", "--area-file", nation_area, "--cell-size", "5000", "--no-tiles"],
        "macro": ["macro", "--draws", "20", "--no-tiles"],
        "run": ["run", macro_scenario],
    }[name]


def innosite_folder(folder: Path, *names: str) -> Path:
    """A folder as innosite leaves it: ``names`` and a manifest listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"output {name}")
    doc = {"innosite_version": "0.1.0", "outputs": [{"file": n} for n in names]}
    (folder / "manifest.json").write_text(json.dumps(doc))
    return folder


def refused(argv: list, cwd: Path, pattern: str, root: Path | None = None) -> None:
    """Run, expect one clean error matching ``pattern`` and nothing changed under ``root``."""
    root = root or cwd.parent
    before = snapshot(root)
    outcome = run_cli(argv, cwd=cwd)
    assert_clean_error(outcome, pattern)
    assert_nothing_lost(before, root)


# ---------------------------------------------------------------------------- every command
@pytest.mark.parametrize("name", RUNS)
def test_empty_out_is_refused(name, work, nation_area, macro_scenario):
    refused([*command(name, nation_area, macro_scenario), "--out", ""], work, r"empty \(''\)")


@pytest.mark.parametrize("name", RUNS)
def test_overwrite_onto_the_current_folder_is_refused(name, work, nation_area, macro_scenario):
    argv = [*command(name, nation_area, macro_scenario), "--out", ".", "--overwrite"]
    refused(argv, work, "is the current folder")


@pytest.mark.parametrize("name", RUNS)
def test_overwrite_onto_a_parent_folder_is_refused(name, work, nation_area, macro_scenario):
    argv = [*command(name, nation_area, macro_scenario), "--out", "..", "--overwrite"]
    refused(argv, work, "parent of the current folder")


@pytest.mark.parametrize("name", RUNS)
def test_overwrite_onto_a_folder_innosite_did_not_write(name, work, nation_area, macro_scenario):
    mine = work / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"\xff\xd8 jpeg")
    argv = [*command(name, nation_area, macro_scenario), "--out", "photos", "--overwrite"]
    refused(argv, work, "not written by innosite")


@pytest.mark.parametrize("name", RUNS)
def test_overwrite_keeps_files_added_to_an_innosite_folder(name, work, nation_area, macro_scenario):
    out = innosite_folder(work / "run1", "suitability.tif", "raw/a.tif")
    (out / "raw" / "my_edit.tif").write_text("edited by hand")
    argv = [*command(name, nation_area, macro_scenario), "--out", "run1", "--overwrite"]
    refused(argv, work, r"did not write \(raw/my_edit\.tif\)")


@pytest.mark.parametrize("name", RUNS)
def test_non_empty_folder_without_overwrite(name, work, nation_area, macro_scenario):
    innosite_folder(work / "run1", "tiers.csv")
    argv = [*command(name, nation_area, macro_scenario), "--out", "run1"]
    refused(argv, work, "not empty; pass --overwrite")


@pytest.mark.parametrize("name", RUNS)
def test_out_is_an_existing_file(name, work, nation_area, macro_scenario):
    argv = [*command(name, nation_area, macro_scenario), "--out", "notes.txt", "--overwrite"]
    refused(argv, work, "is an existing file")


@pytest.mark.parametrize("name", RUNS)
def test_out_under_a_file(name, work, nation_area, macro_scenario):
    argv = [*command(name, nation_area, macro_scenario), "--out", "notes.txt/sub"]
    refused(argv, work, "notes.txt is a file, not a folder")


@pytest.mark.parametrize("name", RUNS)
def test_out_on_a_read_only_file_system(name, work, nation_area, macro_scenario, read_only_disk):
    argv = [*command(name, nation_area, macro_scenario), "--out", read_only_disk / "run"]
    refused(argv, work, "read-only file system")


@pytest.mark.parametrize("name", RUNS)
def test_out_without_write_permission(name, work, nation_area, macro_scenario, monkeypatch):
    # root ignores permission bits, so the refusal is shown with access() saying no
    locked = work / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    argv = [*command(name, nation_area, macro_scenario), "--out", "locked/run"]
    refused(argv, work, f"permission denied in {locked}")


# ---------------------------------------------------------------------------- inputs
def _input_cases(work: Path, nation_area: Path, macro_scenario: Path) -> dict[str, list]:
    """Per command: a run that reads a file inside ``work/run1`` (copied there)."""
    from gis.sources import default_osm_file

    run1 = innosite_folder(work / "run1", "suitability.tif")
    shutil.copy(default_osm_file(), run1 / "city.osm.pbf")
    shutil.copy(nation_area, run1 / "area.gpkg")
    (run1 / "hubs.csv").write_text("name,lon,lat\nA,114.3,30.6\n")
    (run1 / "table.csv").write_text("unit,x\nA,1\n")
    shutil.copy(macro_scenario, run1 / "tiers.toml")
    return {
        "micro": ["micro", "--osm-file", "run1/city.osm.pbf"],
        "meso": ["meso", "--cell-size", "2000", "--hubs", "run1/hubs.csv"],
        "national": ["national", "--area-file", "run1/area.gpkg", "--cell-size", "5000"],
        "macro": ["macro", "--table", "run1/table.csv"],
        "run": ["run", "run1/tiers.toml"],
    }


@pytest.mark.parametrize("name", RUNS)
def test_overwrite_onto_a_folder_holding_an_input(name, work, nation_area, macro_scenario):
    argv = _input_cases(work, nation_area, macro_scenario)[name]
    refused([*argv, "--out", "run1", "--overwrite"], work, "holds an input of this run")


@pytest.mark.parametrize("name", ["micro", "meso", "national"])
def test_overwrite_onto_the_folder_of_an_exclusion_file(name, work, nation_area, macro_scenario):
    innosite_folder(work / "run1", "suitability.tif")
    shutil.copy(nation_area, work / "run1" / "exclude.gpkg")
    argv = [*command(name, nation_area, macro_scenario), "--exclude", "run1/exclude.gpkg"]
    refused([*argv, "--out", "run1", "--overwrite"], work, "holds an input")


@pytest.mark.parametrize("name", ["micro", "meso"])
def test_overwrite_onto_the_folder_of_a_layer_file(name, work, nation_area, macro_scenario):
    innosite_folder(work / "run1", "suitability.tif")
    (work / "run1" / "labs.csv").write_text("lon,lat\n114.3,30.6\n")
    argv = [*command(name, nation_area, macro_scenario), "--layer", "labs=run1/labs.csv"]
    refused([*argv, "--out", "run1", "--overwrite"], work, "holds an input")


#: More inputs of each command, each a file of the user inside the output folder.
MORE_INPUTS = [
    ("micro", ["micro", "--area-file", "run1/input.gpkg"]),
    ("micro", ["micro", "--existing", "run1/input.gpkg", "--regions", "1", "--total-area", "5"]),
    ("meso", ["meso", "--osm-file", "run1/input.osm"]),
    ("meso", ["meso", "--population", "run1/input.tif"]),
    ("meso", ["meso", "--macro-tiers", "run1/input.gpkg"]),
    ("meso", ["meso", "--area-file", "run1/input.gpkg"]),
    ("national", ["national", "--macro-tiers", "run1/input.gpkg"]),
    ("macro", ["macro", "--table", "t.csv", "--geometry", "run1/input.gpkg"]),
    ("macro", ["macro", "--travel-time", "run1/input.csv"]),
    ("macro", ["macro", "--ahp", "run1/input.csv"]),
]
MORE_IDS = [" ".join(argv[1:3]) for _, argv in MORE_INPUTS]


@pytest.mark.parametrize(("name", "argv"), MORE_INPUTS, ids=MORE_IDS)
def test_every_kind_of_input_is_protected(name, argv, work):
    run1 = innosite_folder(work / "run1", "suitability.tif")
    for suffix in ("gpkg", "osm", "tif", "csv"):
        (run1 / f"input.{suffix}").write_text("the user's data")
    (work / "t.csv").write_text("unit,x\nA,1\n")
    refused([*argv, "--out", "run1", "--overwrite"], work, r"holds an input of this run")


def test_overwrite_onto_the_parent_of_an_input_folder(work):
    run1 = innosite_folder(work / "run1", "tiers.csv")
    (run1 / "data").mkdir()
    (run1 / "data" / "table.csv").write_text("unit,x\nA,1\n")
    argv = ["macro", "--table", "run1/data/table.csv", "--out", "run1", "--overwrite"]
    refused(argv, work, r"holds an input of this run \(.*table\.csv\)")


@pytest.mark.slow  # a whole macro run
def test_replay_onto_the_folder_of_its_own_manifest(work):
    run1 = work / "run1"
    assert run_cli([*QUICK, "--out", run1], cwd=work).code == 0
    refused(["run", "run1/manifest.json", "--out", "run1", "--overwrite"], work, "holds an input")


def test_scenario_output_folder_holding_the_scenario(work, macro_scenario):
    run1 = innosite_folder(work / "run1", "tiers.csv")
    text = macro_scenario.read_text(encoding="utf-8")
    text = text.replace('folder = "innosite-macro"', 'folder = "."')
    (run1 / "s.toml").write_text(text.replace("overwrite = false", "overwrite = true"))
    refused(["run", "run1/s.toml"], work, "holds an input")


# ---------------------------------------------------------------------------- init
def test_init_under_a_file(work):
    refused(["init", "micro", "notes.txt/s.toml"], work, "is a file, not a folder")


def test_init_empty_file_name(work):
    refused(["init", "micro", ""], work, "empty")


def test_init_on_a_read_only_file_system(work, read_only_disk):
    refused(["init", "micro", read_only_disk / "s.toml"], work, "read-only file system")


def test_init_from_a_broken_manifest_writes_nothing(work):
    (work / "manifest.json").write_text("{broken")
    refused(["init", "micro", "s.toml", "--from-manifest", "manifest.json"], work,
            r"manifest\.json:1: JSON syntax error")  # fmt: skip


def test_init_keeps_an_existing_file_without_force(work):
    (work / "s.toml").write_text("# mine\n")
    refused(["init", "micro", "s.toml"], work, "already exists; pass --force")


@pytest.mark.slow  # a whole macro run
# ---------------------------------------------------------------------------- what succeeds
def test_overwrite_replaces_an_innosite_folder_and_nothing_else(work):
    out = work / "run1"
    assert run_cli([*QUICK, "--out", out], cwd=work).code == 0
    (out / "tiers.gpkg.aux.xml").write_text("<PAMDataset/>")  # what QGIS adds
    first = json.loads((out / "manifest.json").read_text())["created"]
    before = snapshot(work.parent, skip=out)
    outcome = run_cli([*QUICK, "--out", out, "--overwrite"], cwd=work)
    assert outcome.code == 0, outcome.err
    assert "Traceback" not in outcome.err
    assert_nothing_lost(before, work.parent, skip=out)
    assert not (out / "tiers.gpkg.aux.xml").exists()
    assert json.loads((out / "manifest.json").read_text())["created"] >= first
    assert (work / "notes.txt").read_text() == "my notes"


@pytest.mark.slow  # a whole macro run
def test_an_empty_existing_folder_is_used(work):
    (work / "run1").mkdir()
    outcome = run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert outcome.code == 0, outcome.err
    assert (work / "run1" / "manifest.json").is_file()
    assert staging_left(work.parent) == []


# ---------------------------------------------------------------------------- stale staging
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    return child.pid


def _staging_of(out: Path, pid: int, kind: str = "partial") -> Path:
    """A staging folder of ``out`` named as process ``pid`` of this machine would name it."""
    made = temporary_sibling(out, kind, folder=True)
    owner = f"-{os.getpid()}-"
    name = made.name.replace(owner, f"-{pid}-", 1)
    return made.rename(made.with_name(name))


@pytest.mark.slow  # a whole macro run
def test_stale_staging_of_a_dead_process_is_removed_and_reported(work):
    out = work / "run1"
    stale = _staging_of(out, _dead_pid())
    (stale / "suitability.tif").write_bytes(b"\0" * 1000)
    outcome = run_cli([*QUICK, "--out", out], cwd=work)
    assert outcome.code == 0, outcome.err
    assert f"removed {stale}" in outcome.err and "has ended" in outcome.err
    assert not stale.exists()
    assert staging_left(work.parent) == []


@pytest.mark.slow  # a whole macro run
def test_staging_of_a_live_process_is_left_alone(work):
    out = work / "run1"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = _staging_of(out, sleeper.pid)
        outcome = run_cli([*QUICK, "--out", out], cwd=work)
        assert outcome.code == 0, outcome.err
        assert live.is_dir()
        assert "removed" not in outcome.err
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)


@pytest.mark.slow  # a whole macro run
def test_staging_without_owner_is_reported_not_removed(work):
    old = work / ".run1.partial-0123abcd"
    old.mkdir()
    outcome = run_cli([*QUICK, "--out", "run1"], cwd=work)
    assert outcome.code == 0, outcome.err
    assert f"found {old}" in outcome.err and "delete it" in outcome.err
    assert old.is_dir()


def test_a_replaced_folder_set_aside_by_a_killed_run_is_put_back(tmp_path):
    out = tmp_path / "run1"
    aside = _staging_of(out, _dead_pid(), kind="old")
    innosite_folder(aside / "run1", "tiers.csv")
    found = remove_stale_staging(out)
    assert [(f.path, f.action) for f in found] == [(aside, "restored")]
    assert (out / "tiers.csv").read_text() == "output tiers.csv"
    assert not aside.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_staging_whose_process_number_was_reused_is_removed(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = _staging_of(tmp_path / "run1", sleeper.pid)
        hour_ago = stale.stat().st_mtime - 3600
        os.utime(stale, (hour_ago, hour_ago))  # written before the live process started
        found = remove_stale_staging(tmp_path / "run1")
        assert [(f.path, f.action) for f in found] == [(stale, "removed")]
        fresh = _staging_of(tmp_path / "run1", sleeper.pid)
        assert remove_stale_staging(tmp_path / "run1") == []
        assert fresh.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)


def test_stale_staging_of_another_output_folder_is_not_touched(tmp_path):
    other = _staging_of(tmp_path / "run10", _dead_pid())
    assert remove_stale_staging(tmp_path / "run1") == []
    assert other.is_dir()


# ---------------------------------------------------------------------------- the check itself
def test_input_paths_walks_configurations(tmp_path):
    from layers.micro.run import MicroConfig

    osm = tmp_path / "a.osm"
    osm.write_text("<osm/>")
    area = tmp_path / "area.gpkg"
    area.write_text("x")
    config = MicroConfig(osm_file=str(osm), area_file=str(area))
    assert set(input_paths(config, "no/such/file", "", ".")) >= {osm, area}
    assert Path.cwd() not in input_paths(config, "", ".")


def test_check_output_folder_refuses_a_symlink_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(OutputExistsError, match="current folder"):
        check_output_folder("link", overwrite=True)


@pytest.mark.parametrize("failing", ["set aside", "move into place"])
def test_a_failed_swap_puts_the_previous_folder_back(failing, tmp_path, monkeypatch):
    from gis.io import output_folder

    out = innosite_folder(tmp_path / "run1", "tiers.csv")
    before = snapshot(tmp_path)
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        moving_out = Path(src) == out and ".old-" in str(dst)
        moving_in = Path(dst) == out and ".partial-" in str(src)
        if (failing == "set aside" and moving_out) or (failing == "move into place" and moving_in):
            raise OSError(errno.EIO, "Input/output error", str(src))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="Input/output error"):
        with output_folder(out, overwrite=True) as stage:
            (stage / "tiers.csv").write_text("new")
    assert_nothing_lost(before, tmp_path)


@pytest.mark.parametrize("scale", ["micro", "meso", "national"])
def test_the_library_runs_protect_their_inputs_too(scale, tmp_path, nation_area):
    from layers.meso.run import MesoConfig, run_meso
    from layers.micro.run import MicroConfig, run_micro
    from layers.national.run import NationalConfig, run_national

    out = innosite_folder(tmp_path / "run1", "suitability.tif")
    area = out / "area.gpkg"
    shutil.copy(nation_area, area)
    before = snapshot(tmp_path)
    config = {"micro": MicroConfig, "meso": MesoConfig, "national": NationalConfig}[scale](
        area_file=str(area)
    )
    run = {"micro": run_micro, "meso": run_meso, "national": run_national}[scale]
    with pytest.raises(OutputExistsError, match="holds an input of this run"):
        run(config, out=out, overwrite=True)
    assert_nothing_lost(before, tmp_path)
