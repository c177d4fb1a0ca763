"""``innosite qgis``: install the QGIS Processing provider, build its zip, describe it.

``innosite qgis install`` copies the plugin (:mod:`layers.qgis_plugin`) into a QGIS
profile, records this interpreter and enables it; ``innosite qgis zip OUT.zip`` writes
it as a zip for *Plugins > Install from ZIP*; ``innosite qgis describe`` prints the
algorithms as JSON. The algorithms' parameters are derived here from the commands'
own arguments (:func:`algorithm_specs`), so every option a command offers, with its
default, range, choices and help, is the same in QGIS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["ALGORITHMS", "add_parser", "algorithm_specs", "check_interpreter", "command_specs"]

#: Algorithm id -> (command, title, outputs as (name, type, file)).
ALGORITHMS: dict[str, tuple[str, str, tuple[tuple[str, str, str], ...]]] = {
    "micro": ("micro", "Micro: innovation districts in a city", (
        ("SUITABILITY", "raster", "suitability.tif"), ("CANDIDATES", "vector", "candidates.gpkg"),
    )),
    "meso": ("meso", "Meso: innovation centres in a metropolitan region", (
        ("SUITABILITY", "raster", "suitability.tif"), ("CANDIDATES", "vector", "candidates.gpkg"),
    )),
    "national": ("national", "National: candidate zones across the country", (
        ("SUITABILITY", "raster", "suitability.tif"), ("CANDIDATES", "vector", "candidates.gpkg"),
    )),
    "macro": ("macro", "Macro: tiers of innovation centres", (
        ("TIERS", "vector", "tiers.gpkg"), ("LINKS", "vector", "links.gpkg"),
    )),
    "scenario": ("run", "Run a scenario file", (
        ("SUITABILITY", "raster", "suitability.tif"), ("CANDIDATES", "vector", "candidates.gpkg"),
        ("TIERS", "vector", "tiers.gpkg"),
    )),
}  # fmt: skip

#: Flags that are not algorithm parameters: output and verbosity (the algorithm sets
#: them), former flags kept for compatibility and listings.
_SKIP = {
    "--help", "--version", "--out", "--overwrite", "--quiet", "--verbose", "--offline-map",
    "--list-regions",
}  # fmt: skip

#: Parameters shown without opening *Advanced parameters*.
_BASIC = {
    "--place", "--bbox", "--area-file", "--osm-file", "--region", "--cell-size", "--crs",
    "--weight", "--exclude", "--no-constraints", "--top-percent", "--threshold", "--min-area",
    "--aggregation", "--table", "--national", "--unit-column", "--indicators", "--cost",
    "--normalization", "--weights", "--composite", "--breaks", "--tiers", "--no-tiles",
    "scenario",
}  # fmt: skip

#: Parameters that take a layer of the project, a field of one, an extent, a CRS or a point.
_TYPED: dict[str, dict[str, Any]] = {
    "--area-file": {"type": "vector", "polygons": True},
    "--exclude": {"type": "vector", "polygons": True},
    "--existing": {"type": "vector", "polygons": True},
    "--geometry": {"type": "vector", "polygons": False},
    "--table": {"type": "vector", "table": True},
    "--population": {"type": "raster"},
    "--bbox": {"type": "extent"},
    "--crs": {"type": "crs"},
    "--center": {"type": "point"},
    "--unit-column": {"type": "field", "parent": "TABLE"},
    "--code-column": {"type": "field", "parent": "TABLE"},
    "--population-column": {"type": "field", "parent": "TABLE"},
    "--indicators": {"type": "field", "parent": "TABLE", "multiple": True},
    "--cost": {"type": "field", "parent": "TABLE", "multiple": True},
    "--geometry-key": {"type": "field", "parent": "GEOMETRY"},
    "--osm-file": {"type": "file", "filter": "OpenStreetMap (*.osm *.pbf *.bz2 *.gz)"},
    "--ahp": {"type": "file", "filter": "CSV (*.csv)"},
    "--hubs": {"type": "file", "filter": "CSV (*.csv)"},
    "--travel-time": {"type": "file", "filter": "CSV (*.csv)"},
    "--macro-tiers": {"type": "file", "filter": "Tiers (*.csv *.gpkg)"},
    "scenario": {"type": "file", "filter": "Scenario (*.toml *.yaml *.yml *.json)"},
}


def _option_specs(command: str) -> dict[str, Any]:
    """Declared options of ``command`` by flag (config, decision, aggregation, engine)."""
    from layers.decision import DecisionOptions
    from layers.options import AGGREGATION_OPTIONS, ENGINE_OPTIONS, options_of

    configs: dict[str, Any] = {}
    if command == "micro":
        from layers.micro.run import MicroConfig

        configs = options_of(MicroConfig)
    elif command == "meso":
        from layers.meso.run import MesoConfig

        configs = options_of(MesoConfig)
    elif command == "national":
        from layers.national.run import NationalConfig

        configs = options_of(NationalConfig)
    elif command == "macro":
        from layers.macro.options import MacroOptions

        configs = options_of(MacroOptions)
    out: dict[str, Any] = {}
    tables: list[Mapping[str, Any]] = [ENGINE_OPTIONS, AGGREGATION_OPTIONS]
    if command != "macro":
        tables.append(options_of(DecisionOptions))
    for table in [*tables, configs]:  # the command's own declarations last: they win
        for spec in table.values():
            for flag in spec.flags:
                out[flag] = spec
    return out


def _factors(command: str) -> list[tuple[str, float]]:
    """(name, default weight) of the factors of a raster command."""
    if command == "micro":
        from layers.micro.factors import MICRO_FACTORS as factors
    elif command == "meso":
        from layers.meso.factors import MESO_FACTORS as factors
    elif command == "national":
        from layers.meso.factors import NATIONAL_FACTORS as factors
    else:
        return []
    return [(f.name, float(f.weight)) for f in factors]


def _bound(value: Any) -> float | None:
    value = value() if callable(value) else value
    return None if value is None else float(value)


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    if action.help in (None, argparse.SUPPRESS):
        return ""
    return text.replace("%(default)s", str(action.default)).replace("%%", "%")


def _param(action: argparse.Action, spec: Any, flag: str) -> dict[str, Any]:
    """The description of one argument as an algorithm parameter."""
    positional = not action.option_strings
    name = (action.dest if positional else flag.lstrip("-")).replace("-", "_").upper()
    label = spec.label if spec is not None and spec.label else name.replace("_", " ").lower()
    p: dict[str, Any] = {"name": name, "flag": flag, "label": label[:1].upper() + label[1:]}
    p["help"] = _help(action)
    p["advanced"] = flag not in _BASIC
    p["optional"] = not positional
    if positional:
        p["positional"] = True
    default = spec.default if spec is not None else None
    if spec is not None:
        p["kind"] = spec.kind  # what the command reads from the text
    if flag in _TYPED:
        p.update(_TYPED[flag])
    elif action.nargs == 0:  # store_true / store_const: a switch
        p["type"] = "bool"
        switch = _help(action).split(";")[0].split(" (")[0].strip()
        p["label"] = (switch[:1].upper() + switch[1:]) if switch else p["label"]
        default = None
    elif action.choices is not None:
        p["type"] = "enum"
        p["options"] = [str(c) for c in action.choices]
        default = None if default is None else str(default)
    elif spec is not None and spec.kind in ("number", "integer"):
        p["type"] = "number"
        p["data"] = "integer" if spec.kind == "integer" else "double"
        check = spec.check
        if check is not None and check.choices is None:
            low, high = _bound(check.low), _bound(check.high)
            if low is not None and not check.low_open:
                p["min"] = low
            if high is not None:
                p["max"] = high
    else:
        p["type"] = "string"
    if p["type"] in ("number", "enum", "string") and default is not None:
        p["default"] = default
    if isinstance(p.get("default"), tuple | list):
        p["default"] = ",".join(map(str, p["default"]))
    return p


def command_specs(parser: argparse.ArgumentParser, command: str) -> list[dict[str, Any]]:
    """The parameters of one command, in the order of its ``--help``."""
    specs = _option_specs(command)
    params: list[dict[str, Any]] = []
    for action in parser._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        flag = longs[0] if longs else (action.option_strings or [action.dest])[0]
        if flag in _SKIP or isinstance(action, argparse._HelpAction):
            continue
        if flag == "--weight":
            factors = _factors(command)
            for factor, weight in factors:
                params.append({
                    "name": f"WEIGHT_{factor.upper()}", "flag": "--weight", "type": "weight",
                    "factor": factor, "default": weight, "data": "double", "min": 0.0,
                    "label": f"Weight of {factor}", "advanced": False, "optional": True,
                    "help": "factor weight; the weights are normalised to sum 1",
                })  # fmt: skip
            if not factors:
                params.append({
                    "name": "USER_WEIGHTS", "flag": "--weight", "type": "weights",
                    "label": "User weights (NAME=VALUE, comma-separated)", "advanced": False,
                    "optional": True, "help": _help(action),
                })  # fmt: skip
            continue
        if flag == "--layer" and command == "macro":
            continue  # the layer of a multi-layer --table: the plugin exports the one chosen
        if flag == "--layer":  # user layers: one NAME=FILE[:key=value,...] per line
            params.append({
                "name": "LAYERS", "flag": "--layer", "type": "lines", "advanced": True,
                "label": "User layers (one NAME=FILE[:key=value,...] per line)",
                "optional": True, "help": _help(action),
            })  # fmt: skip
            continue
        params.append(_param(action, specs.get(flag), flag))
    names = [p["name"] for p in params]
    if len(set(names)) != len(names):  # pragma: no cover - a new flag clashing with another
        raise RuntimeError(f"parameter names clash in {command}: {names}")
    return params


def algorithm_specs() -> list[dict[str, Any]]:
    """Every algorithm of the QGIS provider: id, title, command, help, parameters, outputs."""
    from layers.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for algorithm_id, (command, title, outputs) in ALGORITHMS.items():
        p = sub.choices[command]
        out.append({
            "id": algorithm_id, "title": title, "command": [command],
            "group": "Location choice (Zhang 2022)", "group_id": "location_choice",
            "help": p.description or "", "params": command_specs(p, command),
            "outputs": [{"name": n, "type": t, "file": f} for n, t, f in outputs],
            "extra": ["--verbose"],
        })  # fmt: skip
    return out


# ---------------------------------------------------------------------------- the command
def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite qgis`` with its ``install``, ``zip`` and ``describe`` commands."""
    p = subparsers.add_parser(
        "qgis",
        help="install innosite's Processing provider into QGIS, or build it as a plugin zip",
        description="innosite's analyses as QGIS Processing algorithms (micro, meso, national, "
        "macro, run scenario). The plugin runs them in this Python interpreter.",
    )
    sub = p.add_subparsers(dest="qgis_command", metavar="ACTION", required=True)
    install = sub.add_parser(
        "install",
        help="copy the plugin into a QGIS profile, record this interpreter and enable it",
    )
    install.add_argument(
        "--profile-dir",
        help="QGIS user profile (default: the 'default' profile, or "
        "$QGIS_CUSTOM_CONFIG_PATH/profiles/default)",
    )
    install.add_argument(
        "--python", help="interpreter that runs innosite (default: this one, %(default)s)",
        default=sys.executable,
    )  # fmt: skip
    install.add_argument(
        "--no-enable", action="store_true", help="copy the plugin but do not enable it"
    )
    install.set_defaults(func=run_install)
    zipped = sub.add_parser("zip", help="write the plugin as a zip (Plugins > Install from ZIP)")
    zipped.add_argument("zip", metavar="OUT.zip", help="zip file to write")
    zipped.add_argument(
        "--python", default=sys.executable,
        help="interpreter recorded in the plugin (default: this one, %(default)s; empty: "
        "set it in QGIS's Processing options)",
    )  # fmt: skip
    zipped.set_defaults(func=run_zip)
    describe = sub.add_parser("describe", help="print the algorithms and parameters as JSON")
    describe.set_defaults(func=run_describe)


def check_interpreter(python: str) -> None:
    """Refuse an interpreter that cannot run innosite's command line.

    Raises
    ------
    InputError
        ``python`` does not start or cannot import :mod:`layers.cli`.
    """
    import os
    import subprocess

    from gis.errors import InputError
    from layers.qgis_plugin import plugin_config

    if python == sys.executable:
        return
    env = dict(os.environ)
    paths = plugin_config(python=python, algorithms=[])["pythonpath"]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        proc = subprocess.run(
            [python, "-c", "import layers.cli"], capture_output=True, env=env, timeout=120,
            check=False,
        )  # fmt: skip
    except OSError as exc:
        raise InputError(f"--python {python}: cannot start it ({exc.strerror})") from None
    if proc.returncode != 0:
        raise InputError(f"--python {python}: it cannot import innosite (pip install innosite)")


def run_install(args: argparse.Namespace) -> int:
    """``innosite qgis install``."""
    from layers.qgis_plugin import install_plugin

    check_interpreter(args.python)
    folder = install_plugin(
        args.profile_dir, python=args.python, algorithms=algorithm_specs(),
        enable=not args.no_enable,
    )  # fmt: skip
    print(folder)
    return 0


def run_zip(args: argparse.Namespace) -> int:
    """``innosite qgis zip OUT.zip``."""
    from layers.qgis_plugin import build_plugin_zip

    print(build_plugin_zip(args.zip, python=args.python, algorithms=algorithm_specs()))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    """``innosite qgis describe``."""
    print(json.dumps(algorithm_specs(), indent=1, ensure_ascii=False))
    return 0
