"""The fault harness itself catches what it must."""

from __future__ import annotations

import pytest

from tests.faults.harness import (
    Outcome,
    assert_clean_error,
    assert_nothing_lost,
    run_cli,
    snapshot,
)

pytestmark = pytest.mark.faults


def test_unknown_command_is_a_usage_error(tmp_path):
    outcome = run_cli(["no-such-command"], cwd=tmp_path)
    assert outcome.code == 2
    assert "Traceback" not in outcome.err


def test_assert_clean_error_rejects_a_traceback():
    bad = Outcome(2, "", "Traceback (most recent call last):\ninnosite micro: error: x\n")
    with pytest.raises(AssertionError):
        assert_clean_error(bad, "x")


def test_assert_clean_error_rejects_two_error_lines():
    bad = Outcome(2, "", "innosite micro: error: x\ninnosite micro: error: y\n")
    with pytest.raises(AssertionError):
        assert_clean_error(bad, "x")


def test_assert_nothing_lost_sees_a_changed_file(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    before = snapshot(tmp_path)
    (tmp_path / "a.txt").write_text("two")
    with pytest.raises(AssertionError):
        assert_nothing_lost(before, tmp_path)


def test_assert_nothing_lost_sees_staging(tmp_path):
    before = snapshot(tmp_path)
    (tmp_path / ".out.partial-abc").mkdir()
    with pytest.raises(AssertionError):
        assert_nothing_lost(before, tmp_path)
