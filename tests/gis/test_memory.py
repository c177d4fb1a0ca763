"""gis.memory.keep_freed_memory: freed arrays are reused instead of faulted in again (glibc).

The allocator setting is global to a process, so the page-fault checks run in a fresh Python
(``subprocess``) and leave the test process as it was.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gis import memory, settings
from layers.cli.main import main


def _is_glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError):
        return False


ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20
SIZE = 16 * MIB  # one float32 array, below the kept mmap threshold (32 MiB)
ROUNDS = 20
# Fresh memory costs a minor fault per page: 20 x 16 MiB in 4 KiB pages is 81,920 faults, and
# still 160 when numpy's madvise gets 2 MiB transparent huge pages (THP "madvise" or "always").
FRESH_HUGE_PAGE_FAULTS = ROUNDS * SIZE // (2 * MIB)  # 160
# Reused memory is already mapped: after one warm-up array the rounds should fault hardly at
# all; fewer than four fresh arrays on huge pages (32) leaves room for stray interpreter
# allocations and still cannot pass with fresh pages of any size.
REUSED_MAX_FAULTS = 4 * SIZE // (2 * MIB)  # 32

SCRIPT = f"""
import json, resource
import numpy as np
from gis.memory import keep_freed_memory

def faults():
    a = np.empty({SIZE // 4}, dtype=np.float32); a.fill(1.0); del a  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range({ROUNDS}):
        a = np.empty({SIZE // 4}, dtype=np.float32); a.fill(1.0); del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

kept = keep_freed_memory()
kept_faults = faults()
restored = keep_freed_memory(False)
restored_faults = faults()
print(json.dumps(dict(kept=kept, kept_faults=kept_faults,
                      restored=restored, restored_faults=restored_faults)))
"""


def _run_in_fresh_python() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not _is_glibc(), reason="mallopt thresholds are glibc's")
def test_freed_arrays_are_reused_and_faulted_in_again_once_restored():
    r = _run_in_fresh_python()
    assert r["kept"] is True and r["restored"] is True, r
    assert r["kept_faults"] < REUSED_MAX_FAULTS, r
    assert r["restored_faults"] > FRESH_HUGE_PAGE_FAULTS, r


def test_without_glibc_nothing_is_set_and_nothing_raised(monkeypatch):
    def no_confstr(name):
        raise ValueError(f"unrecognized configuration name: {name}")

    monkeypatch.setattr(os, "confstr", no_confstr)
    assert memory.keep_freed_memory() is False
    monkeypatch.setattr(os, "confstr", lambda name: None)  # glibc's name unknown (musl)
    assert memory.keep_freed_memory() is False


def test_a_libc_without_mallopt_or_unloadable_gives_false(monkeypatch):
    monkeypatch.setattr(os, "confstr", lambda name: "glibc 2.36")

    class NoMallopt:
        def __init__(self, name):
            pass

    monkeypatch.setattr(ctypes, "CDLL", NoMallopt)
    assert memory.keep_freed_memory() is False

    def unloadable(name):
        raise OSError("cannot load")

    monkeypatch.setattr(ctypes, "CDLL", unloadable)
    assert memory.keep_freed_memory(False) is False


@pytest.mark.parametrize("enabled", [True, False])
def test_the_command_keeps_freed_memory_unless_turned_off(enabled, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda enable=True: calls.append(enable))
    monkeypatch.setattr(settings, "keep_freed_memory", enabled)
    assert main([]) == 2  # no subcommand: help
    assert calls == ([True] if enabled else [])
