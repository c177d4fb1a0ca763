"""innosite's domain: the factor layers of Zhang (2022) and the presets for each scale.

One raster pipeline (:mod:`layers.pipeline`) serves the micro, meso and national scales; a
scale is a preset — its factors (:mod:`layers.micro.factors`, :mod:`layers.meso.factors`), data
sources and defaults. Factors are :class:`~layers.spec.Factor` objects made of
:class:`~layers.spec.Criterion` objects, each naming a measure of the one registry
(:data:`~layers.measures.MEASURES`) and where its features come from (OpenStreetMap or a user
source, :mod:`layers.sources`). The macro scale tiers cities (:mod:`layers.macro`).

The names below are the curated public API, importable from ``layers`` directly and loaded on
first use.

Examples
--------
>>> import layers
>>> layers.MicroConfig().cell_size, layers.MEASURES["density"].units
(25.0, 'features/km2')
"""

from __future__ import annotations

from gis.lazy import lazy_exports

#: Public name -> module that defines it.
_API: dict[str, str] = {
    **dict.fromkeys(["MicroConfig", "compute_micro", "load_micro_data", "run_micro"],
                    "layers.micro.run"),
    **dict.fromkeys(["MesoConfig", "compute_meso", "load_meso_data", "run_meso"],
                    "layers.meso.run"),
    **dict.fromkeys(["NationalConfig", "compute_national", "run_national"],
                    "layers.national.run"),
    "run_macro": "layers.macro.run",
    "MacroOptions": "layers.macro.options",
    **dict.fromkeys(["Criterion", "Factor", "with_weights"], "layers.spec"),
    **dict.fromkeys(["MEASURES", "EmptyMeasure", "Measure", "MeasureContext", "Measured",
                     "register_measure"], "layers.measures"),
    "MICRO_FACTORS": "layers.micro.factors",
    **dict.fromkeys(["MESO_FACTORS", "NATIONAL_FACTORS"], "layers.meso.factors"),
    "DecisionOptions": "layers.decision",
    **dict.fromkeys(["load_scenario", "run_scenario"], "layers.scenario"),
    **dict.fromkeys(["SourceSpec", "load_source"], "layers.sources"),
}  # fmt: skip

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API, globals())
