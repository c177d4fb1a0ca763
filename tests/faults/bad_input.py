"""Shared steps of the bad-input fault cases: refuse before work, and tiny inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layers.options import check_value, options_of
from tests.faults.harness import (
    Outcome,
    assert_clean_error,
    assert_nothing_lost,
    run_cli,
    snapshot,
)

#: A hand-made OSM XML file as an editor writes it: IDs out of order and negative
#: (JOSM's objects not yet uploaded), one café, one park, two walkable streets.
UNSORTED_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="JOSM">
  <bounds minlat="60.160" minlon="24.930" maxlat="60.180" maxlon="24.950"/>
  <node id="-3" lat="60.170" lon="24.945"><tag k="amenity" v="cafe"/></node>
  <node id="5" lat="60.165" lon="24.935"/>
  <node id="-1" lat="60.165" lon="24.940"/>
  <node id="2" lat="60.175" lon="24.940"/>
  <way id="-7"><nd ref="-1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
  <way id="3"><nd ref="5"/><nd ref="-1"/><tag k="highway" v="residential"/></way>
  <way id="-2"><nd ref="5"/><nd ref="2"/><nd ref="-1"/><nd ref="5"/>
    <tag k="leisure" v="park"/></way>
</osm>
"""


def refuse(
    tmp_path: Path, argv: list[str], pattern: str, *, out: bool = True, quiet: bool = True
) -> Outcome:
    """Run ``innosite ARGV`` in ``tmp_path``; assert one clean error and nothing changed.

    The output folder ``tmp_path/out`` (added unless ``out`` is False) must not exist
    afterwards, every other file under ``tmp_path`` must be as it was and no staging
    folder may be left.
    """
    target = tmp_path / "out"
    argv = [*argv, *(["--out", str(target)] if out else []), *(["-q"] if quiet else [])]
    before = snapshot(tmp_path)
    outcome = run_cli(argv, cwd=tmp_path)
    assert_clean_error(outcome, pattern)
    assert_nothing_lost(before, tmp_path)
    assert not target.exists()
    return outcome


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``folder/name`` and return the path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def out_of_range(cls: Any) -> Iterator[tuple[str, float, str]]:
    """``(flag, bad value, expected message)`` for every declared numeric range of ``cls``.

    The value is one above the upper bound, else the open lower bound itself, else one below
    the lower bound; the message is the option's label and its check's refusal.
    """
    for spec in options_of(cls).values():
        check = spec.check
        if not spec.flags or check is None or check.choices is not None:
            continue
        if spec.kind not in ("number", "integer"):
            continue
        low = check.low() if callable(check.low) else check.low
        high = check.high() if callable(check.high) else check.high
        if high is not None:
            value = high + 1
        elif low is not None:
            value = low if check.low_open else low - 1
        else:
            continue
        if spec.kind == "integer":
            value = int(value)
        yield spec.flags[0], value, f"{spec.label} {check_value(spec, value)}"
