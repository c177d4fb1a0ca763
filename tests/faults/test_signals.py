"""SIGTERM, SIGHUP and SIGINT stop a run cleanly; a killed run's staging is removed later.

Every case runs ``innosite`` as a real child process, waits (bounded) until the run has
reached the stage under test — its staging folder exists, or a step has finished — and
sends the signal once. The run must then exit with 128 + the signal number, print one
``interrupted by SIG...`` line and no traceback, leave no staging folder and change
nothing outside its output folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gis.errors import Interrupted
from layers.cli.options import stop_on_signals
from tests.faults import storage
from tests.faults.harness import PROJECT_ROOT, assert_nothing_lost, snapshot, staging_left

pytestmark = pytest.mark.faults

nation_area = storage.nation_area
macro_scenario = storage.macro_scenario

#: Longest wait for a run to reach a stage or to end (seconds).
PATIENCE = 240.0


@dataclass
class Child:
    """A running ``innosite`` process and the files its output goes to."""

    proc: subprocess.Popen
    stdout: Path
    stderr: Path

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def finish(self, timeout: float = PATIENCE) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=60)
            pytest.fail(f"the run did not end within {timeout:g} s after the signal")
        return code, self.err()


def start(argv: list, cwd: Path, logs: Path) -> Child:
    """Start ``python -m layers.cli ARGV`` in ``cwd``; output goes to files under ``logs``."""
    logs.mkdir(exist_ok=True)
    out, err = logs / "stdout.txt", logs / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "layers.cli", *map(str, argv)],
            cwd=cwd, env=env, stdout=fo, stderr=fe,
        )  # fmt: skip
    return Child(proc, out, err)


def wait_for(child: Child, ready: Callable[[], bool], what: str) -> None:
    """Poll ``ready`` every 20 ms until true; fail if the run ends first or takes too long."""
    deadline = time.monotonic() + PATIENCE
    while not ready():
        if child.proc.poll() is not None:
            pytest.fail(f"the run ended (status {child.proc.returncode}) before {what}:\n"
                        f"{child.err()}")  # fmt: skip
        if time.monotonic() > deadline:
            child.proc.kill()
            child.proc.wait(timeout=60)
            pytest.fail(f"no {what} within {PATIENCE:g} s")
        time.sleep(0.02)


def staging_of(folder: Path, name: str) -> Callable[[], bool]:
    return lambda: any(folder.glob(f".{name}.partial-*"))


def assert_interrupted(code: int, err: str, sig: signal.Signals, out: Path | None = None) -> bool:
    """Exit 128 + the signal, no traceback, one ``interrupted by`` line; True when the
    signal came after the outputs were complete (a busy machine can delay it that long)."""
    assert "Traceback" not in err, err
    if code == 0 and out is not None and (out / "manifest.json").is_file():
        # the run ended before the signal reached it (the poll that saw the staging folder
        # was delayed on a busy machine): then it must have finished every output
        manifest = json.loads((out / "manifest.json").read_text())
        assert all((out / o["file"]).is_file() for o in manifest["outputs"])
        assert "interrupted by" not in err, err
        return True
    assert code == 128 + sig.value, (code, err)
    lines = [line for line in err.splitlines() if "interrupted by" in line]
    assert len(lines) == 1, err
    if out is not None and (out / "manifest.json").is_file() and "complete" in lines[0]:
        assert lines[0].endswith(f"interrupted by {sig.name} after the outputs were complete "
                                 f"in {out.name}"), err  # fmt: skip
        manifest = json.loads((out / "manifest.json").read_text())
        assert all((out / o["file"]).is_file() for o in manifest["outputs"])
        return True
    assert lines[0].endswith(f"interrupted by {sig.name}; staging removed, "
                             "nothing half-written was left"), err  # fmt: skip
    return False


def assert_stopped(child: Child, sig: signal.Signals, before: dict, work: Path) -> None:
    """The run stopped cleanly and changed nothing (but a complete ``run1``, see above)."""
    code, err = child.finish()
    if assert_interrupted(code, err, sig, work / "run1"):
        rest = {k: v for k, v in before.items() if k != "run1/" and not k.startswith("run1/")}
        assert_work_as_before(rest, work, skip=work / "run1")
    else:
        assert_work_as_before(before, work)


def assert_work_as_before(before: dict, work: Path, skip: Path | None = None) -> None:
    """:func:`assert_nothing_lost`, naming what changed."""
    after = snapshot(work, skip=skip)
    changed = sorted(set(after.items()) ^ set(before.items()))
    assert not changed, changed
    assert_nothing_lost(before, work, skip=skip)


def national(nation_area: Path, *extra: str) -> list:
    return ["national", "--area-file", nation_area, "--cell-size", "2000",
            "--memory-budget", "1MiB", "--no-tiles", "-q", *extra]  # fmt: skip


# ---------------------------------------------------------------------------- while staging
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_while_staging_removes_the_staging_folder(sig, work, tmp_path, nation_area):
    before = snapshot(work)
    child = start([*national(nation_area), "--out", "run1"], work, tmp_path / "logs")
    wait_for(child, staging_of(work, "run1"), "staging folder")
    child.proc.send_signal(sig)
    assert_stopped(child, sig, before, work)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["micro", "meso", "macro", "run"])
def test_sigterm_while_writing_the_outputs(name, work, tmp_path, macro_scenario):
    argv = {
        "micro": ["micro", "--no-tiles"],
        "meso": ["meso", "--cell-size", "2000", "--no-tiles"],
        "macro": ["macro", "--draws", "20", "--no-tiles"],
        "run": ["run", macro_scenario],
    }[name]
    before = snapshot(work)
    child = start([*argv, "-q", "--out", "run1"], work, tmp_path / "logs")
    wait_for(child, staging_of(work, "run1"), "staging folder")
    child.proc.send_signal(signal.SIGTERM)
    assert_stopped(child, signal.SIGTERM, before, work)


@pytest.mark.slow
def test_sigterm_before_any_output(work, tmp_path):
    before = snapshot(work)
    child = start(["micro", "--no-tiles", "-v", "--out", "run1"], work, tmp_path / "logs")
    wait_for(child, lambda: "read OSM data: done" in child.err(), "first finished step")
    child.proc.send_signal(signal.SIGTERM)
    assert_stopped(child, signal.SIGTERM, before, work)


@pytest.mark.slow
def test_sigterm_during_overwrite_keeps_the_previous_folder(work, tmp_path, nation_area):
    run1 = work / "run1"
    run1.mkdir()
    (run1 / "suitability.tif").write_bytes(b"previous result")
    doc = {"innosite_version": "0.1.0", "outputs": [{"file": "suitability.tif"}]}
    (run1 / "manifest.json").write_text(json.dumps(doc))
    before = snapshot(work)
    child = start([*national(nation_area), "--out", "run1", "--overwrite"], work, tmp_path / "l")
    wait_for(child, staging_of(work, "run1"), "staging folder")
    child.proc.send_signal(signal.SIGTERM)
    assert_stopped(child, signal.SIGTERM, before, work)


@pytest.mark.slow
def test_a_second_signal_does_not_stop_the_cleanup(work, tmp_path, nation_area):
    before = snapshot(work)
    child = start([*national(nation_area), "--out", "run1"], work, tmp_path / "logs")
    wait_for(child, staging_of(work, "run1"), "staging folder")
    child.proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    if child.proc.poll() is None:
        child.proc.send_signal(signal.SIGTERM)
    assert_stopped(child, signal.SIGTERM, before, work)


# ---------------------------------------------------------------------------- Dask
@pytest.mark.slow
def test_sigterm_closes_a_local_dask_cluster(work, tmp_path, nation_area):
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("distributed")
    before = snapshot(work)
    argv = ["national", "--area-file", nation_area, "--cell-size", "2000", "--memory-budget",
            "1MiB", "--no-tiles", "--engine", "dask", "--dask-scheduler", "local", "--workers",
            "2", "--out", "run1"]  # fmt: skip
    child = start(argv, work, tmp_path / "logs")
    parent = psutil.Process(child.proc.pid)
    # the window progress shows the cluster is up and computing
    wait_for(child, lambda: ": window " in child.err(), "windows computed on the cluster")
    workers = parent.children(recursive=True)
    child.proc.send_signal(signal.SIGTERM)
    code, err = child.finish()
    assert "Traceback" not in err, err
    assert code == 143, err
    assert "interrupted by SIGTERM" in err
    _, alive = psutil.wait_procs(workers, timeout=60)
    assert alive == [], alive
    assert_work_as_before(before, work)


# ---------------------------------------------------------------------------- SIGKILL
@pytest.mark.slow
def test_staging_left_by_sigkill_is_removed_by_the_next_run(work, tmp_path, nation_area):
    before = snapshot(work)
    child = start([*national(nation_area), "--out", "run1"], work, tmp_path / "logs")
    wait_for(child, staging_of(work, "run1"), "staging folder")
    child.proc.kill()
    child.proc.wait(timeout=60)
    left = staging_left(work)
    assert len(left) == 1  # SIGKILL cannot be caught: the next run cleans up
    again = start(["macro", "--draws", "20", "--no-tiles", "-q", "--out", "run1"], work,
                  tmp_path / "again")  # fmt: skip
    code, err = again.finish()
    assert code == 0, err
    assert f"removed {left[0]}" in err and f"process {child.proc.pid} has ended" in err
    assert staging_left(work) == []
    assert_work_as_before(before, work, skip=work / "run1")


# ---------------------------------------------------------------------------- in this process
@pytest.fixture
def own_handlers():
    """Put this process's signal handlers back after a test that receives a signal."""
    import logging

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    loggers += [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    enabled = [lg for lg in loggers if not lg.disabled]
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)
    for lg in enabled:  # a stop silences the shutdown logs of Dask and its event loops
        lg.disabled = False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_becomes_interrupted(sig, own_handlers):
    with pytest.raises(Interrupted) as info, stop_on_signals() as received:
        os.kill(os.getpid(), sig)
        time.sleep(5)
    assert (info.value.signum, info.value.name, received) == (sig.value, sig.name, [sig.value])
    assert signal.getsignal(sig) == signal.SIG_IGN  # later signals wait for the exit


def test_handlers_are_restored_after_a_run_without_signal(own_handlers):
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as received:
        assert signal.getsignal(signal.SIGTERM) != before
    assert received == [] and signal.getsignal(signal.SIGTERM) == before


def test_a_stop_swallowed_by_a_finaliser_is_sent_again(own_handlers):
    class Finaliser:
        def __del__(self):
            time.sleep(1)  # the signal lands here; Python ignores exceptions of __del__

    with pytest.raises(Interrupted), stop_on_signals() as received:
        obj = Finaliser()
        timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        del obj
        time.sleep(5)
    timer.join()
    assert received == [signal.SIGTERM, signal.SIGTERM]


def test_a_stop_after_the_outputs_were_complete_says_so(tmp_path, capsys):
    import argparse

    from layers.cli.options import run_command

    out = tmp_path / "run1"

    def finished_then_stopped(args):
        out.mkdir()
        (out / "manifest.json").write_text("{}")
        raise Interrupted(signal.SIGTERM)

    def stopped(args):
        raise Interrupted(signal.SIGHUP)

    args = argparse.Namespace(out=str(out))
    assert run_command(finished_then_stopped, args, prog="innosite x") == 143
    assert capsys.readouterr().err == (
        f"innosite x: interrupted by SIGTERM after the outputs were complete in {out}\n"
    )
    args = argparse.Namespace(out=str(tmp_path / "run2"))
    assert run_command(stopped, args, prog="innosite x") == 129
    assert capsys.readouterr().err == (
        "innosite x: interrupted by SIGHUP; staging removed, nothing half-written was left\n"
    )


def test_a_stop_in_an_event_loop_callback_is_sent_again(own_handlers):
    import asyncio

    def callback():
        time.sleep(1)  # the signal lands here; the loop would log the stop and go on

    async def main():
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(5)

    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
    started = time.monotonic()
    with pytest.raises(Interrupted), stop_on_signals() as received:
        timer.start()
        asyncio.run(main())
    timer.join()
    assert received[:2] == [signal.SIGTERM, signal.SIGTERM]
    assert 1.0 <= time.monotonic() - started < 4.0  # raised after the callback, not lost
