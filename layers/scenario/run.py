"""Running a validated scenario at its scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gis.errors import InputError
from layers.scenario.build import Scenario
from layers.scenario.macro import run_macro_scenario

__all__ = ["run_scenario"]


def run_scenario(
    scenario: Scenario,
    *,
    out: str | Path | None = None,
    overwrite: bool | None = None,
    command: str | None = None,
) -> tuple[Any, dict[str, Path]]:
    """Run a validated scenario and write its outputs.

    Parameters
    ----------
    scenario
        From :func:`load_scenario` or :func:`parse_scenario`.
    out
        Output folder; the scenario's ``[output] folder`` by default.
    overwrite
        Replace a non-empty output folder; the scenario's setting by default.
    command
        The command line, recorded in the manifest.

    Returns
    -------
    result, paths
        As :func:`layers.micro.run.run_micro` or :func:`layers.meso.run.run_meso`; the
        :class:`layers.national.run.NationalResult` and its paths; the macro result and
        its files.
    """
    folder = Path(out) if out is not None else scenario.out
    if folder is None:
        raise InputError(
            f"{scenario.source} names no output folder; set [output] folder or pass --out"
        )
    allow = scenario.overwrite if overwrite is None else overwrite
    if scenario.scale == "macro":
        return run_macro_scenario(scenario, out=folder, overwrite=allow, command=command)
    if scenario.scale == "national":
        from layers.national.run import run_national

        result = run_national(scenario.config, out=folder, overwrite=allow, command=command)
        return result, dict(result.paths)
    if scenario.scale == "meso":
        from layers.meso.run import run_meso

        return run_meso(scenario.config, out=folder, overwrite=allow, command=command)
    from layers.micro.run import run_micro

    return run_micro(scenario.config, out=folder, overwrite=allow, command=command)
