"""Fixtures of the fault cases."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def work(tmp_path) -> Path:
    """The user's working folder, with a file of theirs in it."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    return folder
