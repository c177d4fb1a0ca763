"""One output writer for a run of any raster scale (micro, meso, national).

A run leaves, all through one staging folder (:func:`gis.io.output_folder`):
``suitability.tif``, ``<factor>.tif``, ``raw/<criterion>.tif`` (COG through
:mod:`gis.io`, each with a QGIS ``.qml`` style), ``candidates.gpkg`` with its style,
the decision outputs (``sensitivity/``), ``map.html`` (honouring ``tiles`` and
``map_assets``), ``report.html`` and ``manifest.json``. A scale preset contributes
only what is its own (:class:`OutputSpec`): titles, tags, popup fields, map notes,
manifest inputs, parameters and extra fields.

An in-memory run hands its arrays; a windowed run has written its rasters already
(``written``) and the map and report draw from their overviews.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from gis.grid import Grid
from gis.io import output_folder, write_geopackage, write_geotiff, write_manifest
from gis.qgis_project import ProjectLayer, write_qgis_project
from layers.decision import decision_map_files, decision_map_layers, write_decision_outputs
from layers.i18n import localise, page_font_css, text
from layers.measures import MEASURES
from layers.outputs.styles import candidate_aliases, candidates_qml, raster_style

__all__ = [
    "DECISION_LAYER_NAMES",
    "EXPLANATION_PREFIXES",
    "PROJECT_GROUPS",
    "OutputSpec",
    "popup_fields",
    "project_layers",
    "write_outputs",
    "write_run",
]

#: Candidate columns that explain a site (decision steps): shown in the map popups.
EXPLANATION_PREFIXES: tuple[str, ...] = ("contrib_", "weight_", "raw_", "mc_")


@dataclass(kw_only=True)
class OutputSpec:
    """What a scale preset adds to the outputs of its runs.

    Parameters
    ----------
    scale
        ``"micro"``, ``"meso"`` or ``"national"`` (manifest, report).
    config
        The run's configuration (the report reads it).
    parameters
        The run parameters as JSON-ready values (manifest).
    inputs
        Manifest inputs (files with roles; checksums are added by the manifest).
    extra
        Manifest fields of the scale, beside ``scale``, ``grid``, ``weights_used``,
        ``candidates`` and ``decision`` that every run has.
    grid_extra
        More fields of the manifest's ``grid``.
    title
        Map title.
    suitability_description, suitability_tags
        Band description and tags of ``suitability.tif``.
    factor_tag, raw_tag
        The tag that names the factor (criterion) in its GeoTIFF.
    popup_fields
        Candidate columns of the map popups (None: every column).
    notes
        Lines under the map's legend.
    tiles, map_assets
        Base tiles (None: none) and ``"cdn"``/``"inline"`` map assets.
    lang
        Language of the map, report and QGIS project (:data:`layers.i18n.LANGS`).
    command
        The command line, for the manifest and report.
    memory_budget
        Bytes a windowed run's raster statistics may read at once (None: the default).
    """

    scale: str
    config: Any
    parameters: Mapping[str, Any]
    inputs: Sequence[Mapping[str, Any]] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    grid_extra: Mapping[str, Any] = field(default_factory=dict)
    title: str = "Innovation suitability"
    suitability_description: str = "suitability (0-1)"
    suitability_tags: Mapping[str, str] = field(default_factory=dict)
    factor_tag: str = "factor"
    raw_tag: str = "criterion"
    popup_fields: Sequence[str] | None = None
    notes: Sequence[str] = ()
    tiles: str | None = None
    map_assets: str = "inline"
    lang: str = "en"
    command: str | None = None
    memory_budget: int | None = None


#: Layer-tree groups of a run's ``project.qgz`` by role prefix, in their order (under the
#: candidates and the suitability): keys of their names in :data:`layers.i18n.TEXTS`.
PROJECT_GROUPS: dict[str, str] = {
    "factor:": "group.factor",
    "raw:": "group.raw",
    "sensitivity:": "group.decision",
}

#: QGIS layer names of the decision outputs, by role: keys of :data:`layers.i18n.TEXTS`.
DECISION_LAYER_NAMES: dict[str, str] = {
    "sensitivity:mean": "decision.mean",
    "sensitivity:std": "decision.std",
    "sensitivity:probability": "decision.probability",
}


def project_layers(
    rel: Mapping[str, str], titles: Mapping[str, str], *, lang: str = "en"
) -> list[ProjectLayer]:
    """The layers of a run's QGIS project, top first, from its outputs (role -> file).

    Candidate sites, then the suitability, then the groups of :data:`PROJECT_GROUPS`
    (factor scores, raw measures, decision outputs), each in the order of ``rel``;
    only the candidates and the suitability are switched on. Tables (CSV) are not layers.
    Names and groups are in ``lang``; ``titles`` (factor name -> title) are used as given.

    Examples
    --------
    >>> rel = {"suitability": "suitability.tif", "factor:green": "green.tif",
    ...        "raw:park": "raw/park.tif", "candidates": "candidates.gpkg",
    ...        "sensitivity:weights": "sensitivity/weights.csv"}
    >>> layers = project_layers(rel, {"green": "Green space"})
    >>> [p.name for p in layers]
    ['Candidate sites', 'Suitability', 'Green space', 'park']
    >>> [p.group for p in layers]
    [None, None, 'Factor scores', 'Raw measures']
    >>> [p.name for p in project_layers(rel, {"green": "绿地"}, lang="zh")]
    ['候选地块', '适宜性', '绿地', 'park']
    """
    out: list[ProjectLayer] = []
    if "candidates" in rel:
        name = text("map.candidates", lang)
        out.append(ProjectLayer(rel["candidates"], name, layer="candidates"))
    if "suitability" in rel:
        out.append(ProjectLayer(rel["suitability"], text("layer.suitability", lang)))
    if "coverage" in rel:
        out.append(ProjectLayer(rel["coverage"], text("layer.coverage", lang), visible=False))
    for prefix, group_key in PROJECT_GROUPS.items():
        group = text(group_key, lang)
        for role, name in rel.items():
            if not role.startswith(prefix) or not name.endswith((".tif", ".gpkg")):
                continue
            key = role.removeprefix(prefix)
            decision = DECISION_LAYER_NAMES.get(role)
            title = {"factor:": titles.get(key, key), "raw:": key}.get(
                prefix, key if decision is None else text(decision, lang)
            )
            out.append(ProjectLayer(name, title, group=group, visible=False))
    return out


def popup_fields(candidates: Any, fields: Sequence[str]) -> list[str]:
    """``fields`` that the candidates have, then their explanation columns."""
    return [f for f in fields if f in candidates.columns] + [
        c for c in candidates.columns if c.startswith(EXPLANATION_PREFIXES)
    ]


def write_run(
    result: Any, spec: OutputSpec, *, out: Path, overwrite: bool = False
) -> dict[str, Path]:
    """Write every output of an in-memory run into ``out``, all or nothing.

    Returns
    -------
    dict
        Role -> final path (``suitability``, ``candidates``, ``map``, ``report``,
        ``manifest``, ``factor:<name>``, ``raw:<name>``, ``sensitivity:<role>``).
    """
    with output_folder(out, overwrite=overwrite) as stage:
        rel = write_outputs(result, spec, stage=stage)
    return {role: Path(out) / name for role, name in rel.items()}


def _masked(array: np.ndarray, inside: np.ndarray) -> np.ndarray:
    return np.where(inside, array, np.float32(np.nan)).astype("float32", copy=False)


def write_outputs(
    result: Any,
    spec: OutputSpec,
    *,
    stage: Path,
    written: Mapping[str, Path] | None = None,
) -> dict[str, str]:
    """Write the outputs of a run into the staging folder ``stage``.

    Parameters
    ----------
    result
        The run's result: ``grid``, ``weights``, ``candidates``, ``decision`` and, for an
        in-memory run, ``inside``, ``suitability`` and ``factors``
        (:class:`layers.spec.FactorResult`).
    spec
        What the scale adds.
    stage
        The staging folder.
    written
        Role -> file of the rasters a windowed run wrote into ``stage`` already
        (``suitability``, ``factor:<name>``, ``raw:<name>``); None for an in-memory run.

    Returns
    -------
    dict
        Role -> path relative to ``stage``.
    """
    from gis.maps import suitability_map
    from layers.outputs.report_html import write_report

    grid: Grid = result.grid
    lang = spec.lang
    if written is None:
        rel, titles = _write_rasters(result, spec, stage)
    else:
        rel, titles = _style_rasters(result, written, stage, spec.memory_budget)
    titles = {name: localise(title, lang) for name, title in titles.items()}
    title = localise(spec.title, lang)
    factor_titles = {k: v for k, v in titles.items() if k in result.candidates.columns}
    write_geopackage(
        stage / "candidates.gpkg", result.candidates, layer="candidates",
        style_qml=candidates_qml(factor_titles, lang=lang), style_name="innosite candidates",
    )  # fmt: skip
    rel["candidates"] = "candidates.gpkg"
    rel.update(write_decision_outputs(stage, result, grid))
    write_qgis_project(stage / "project.qgz", project_layers(rel, titles, lang=lang),
                       crs=grid.crs, title=title)  # fmt: skip
    rel["project"] = "project.qgz"
    notes = [localise(note, lang) for note in spec.notes]
    no_data = None
    if written is None:
        view = result
        map_grid, composite = grid, result.suitability
        covered = getattr(result, "covered", None)
        if covered is not None:
            no_data = result.inside & ~covered
        layers = {titles[fr.factor.name]: _masked(fr.score, result.inside)
                  for fr in result.factors if fr.score is not None}  # fmt: skip
        layers.update(decision_map_layers(result, lang=lang))
    else:
        composite, map_grid = _overview(stage / rel["suitability"], grid)
        overviews = {name: _overview(stage / rel[f"factor:{name}"], grid)[0]
                     for name in titles if f"factor:{name}" in rel}  # fmt: skip
        layers = {titles[name]: array for name, array in overviews.items()}
        for layer_title, name in decision_map_files(result, lang=lang).items():
            layers[layer_title] = _overview(stage / name, grid)[0]
        notes.append(text("map.overview_note", lang, km=f"{map_grid.cell_size / 1000:.1f}"))
        if "coverage" in rel:
            cov = _overview(stage / rel["coverage"], grid)[0]
            no_data = np.isfinite(cov) & (cov < 0.5)
        view = _overview_view(result, spec, map_grid, composite, overviews)
    fields = None if spec.popup_fields is None else popup_fields(result.candidates,
                                                                 spec.popup_fields)  # fmt: skip
    suitability_map(
        stage / "map.html", map_grid, composite=composite, layers=layers,
        candidates=result.candidates, candidate_fields=fields, title=title,
        tiles=spec.tiles, notes=notes or None, assets=spec.map_assets, no_data=no_data,
        labels={k: text(f"map.{k}", lang)
                for k in ("composite", "legend", "candidates", "rank", "no_data")}
        | {"yes": text("word.yes", lang), "no": text("word.no", lang)},
        field_aliases=candidate_aliases(factor_titles, lang=lang), page_css=page_font_css,
    )  # fmt: skip
    rel["map"] = "map.html"
    write_report(stage / "report.html", view, spec.config, scale=spec.scale,
                 files={**rel, "manifest": "manifest.json"}, command=spec.command,
                 lang=lang)  # fmt: skip
    rel["report"] = "report.html"
    tifs = [n for n in rel.values() if n.endswith(".tif")]
    decision = getattr(result, "decision", None)
    write_manifest(
        stage / "manifest.json",
        command=spec.command,
        inputs=[dict(i) for i in spec.inputs],
        parameters=dict(spec.parameters),
        outputs=sorted([*rel.values(), *(Path(n).with_suffix(".qml").as_posix() for n in tifs)]),
        extra={
            "scale": spec.scale,
            "grid": {
                "crs": grid.crs.to_string(),
                "cell_size_m": grid.cell_size,
                "shape": list(grid.shape),
                "bounds": list(grid.bounds),
                **spec.grid_extra,
            },
            "weights_used": result.weights,
            "candidates": len(result.candidates),
            **spec.extra,
            "decision": decision.info if decision is not None else None,
        },
    )
    rel["manifest"] = "manifest.json"
    return rel


def _write_rasters(
    result: Any, spec: OutputSpec, stage: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """GeoTIFFs and styles of an in-memory run: suitability, factor scores, raw measures."""
    grid, inside = result.grid, result.inside
    rel: dict[str, str] = {}
    (stage / "raw").mkdir()
    write_geotiff(stage / "suitability.tif", result.suitability, grid,
                  description=spec.suitability_description, units="score",
                  tags={"weights": str(result.weights), **spec.suitability_tags})  # fmt: skip
    raster_style(stage / "suitability.tif", result.suitability, score=True)
    rel["suitability"] = "suitability.tif"
    covered = getattr(result, "covered", None)
    if covered is not None:
        rule = (getattr(result, "checks", None) or {}).get("data_coverage") or {}
        write_geotiff(stage / "coverage.tif", _masked(covered.astype("float32"), inside), grid,
                      description=f"data coverage: 1 = {rule.get('rule', 'data')}, 0 = no data",
                      units="0/1", tags={"coverage": str(rule.get("rule", ""))})  # fmt: skip
        raster_style(stage / "coverage.tif", np.empty(0), score=True)
        rel["coverage"] = "coverage.tif"
    for fr in result.factors:
        if fr.score is not None:
            name = f"{fr.factor.name}.tif"
            write_geotiff(
                stage / name, _masked(fr.score, inside), grid,
                description=f"{fr.factor.title} score (0-1)", units="score",
                tags={spec.factor_tag: fr.factor.name, "status": fr.status,
                      "weight": f"{result.weights.get(fr.factor.name, 0.0):.6f}"},
            )  # fmt: skip
            raster_style(stage / name, fr.score, score=True)
            rel[f"factor:{fr.factor.name}"] = name
        for cr in fr.criteria:
            raws = {}
            if cr.raw is not None:
                what = cr.criterion.description or cr.criterion.name
                raws[cr.criterion.name] = (cr.raw, MEASURES[cr.criterion.measure].units, what)
            raws.update(cr.extra)
            for raw_name, (array, units, description) in raws.items():
                name = f"raw/{raw_name}.tif"
                masked = _masked(array, inside)
                write_geotiff(stage / name, masked, grid, description=description, units=units,
                              tags={spec.raw_tag: raw_name, "features": str(cr.count)})  # fmt: skip
                raster_style(stage / name, masked, score=False)
                del masked
                rel[f"raw:{raw_name}"] = name
    titles = {fr.factor.name: fr.factor.title for fr in result.factors}
    return rel, titles


def _style_rasters(
    result: Any, written: Mapping[str, Path], stage: Path, memory_budget: int | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Styles of the rasters a windowed run wrote (raw ranges from window statistics)."""
    from gis.windowed import raster_statistics

    rel: dict[str, str] = {}
    for role, path in written.items():
        if role.startswith("raw:"):
            st = raster_statistics(path, memory_budget=memory_budget)
            span = np.array([st["min"], st["max"]], dtype="float64")
            raster_style(Path(path), span, score=False)
        else:
            raster_style(Path(path), np.empty(0), score=True)
        rel[role] = Path(path).relative_to(stage).as_posix()
    titles = {row["layer"]: row["title"] for row in result.layers}
    return rel, titles


def _overview(path: Path, grid: Grid, max_side: int = 1600) -> tuple[np.ndarray, Grid]:
    """A raster averaged by an integer factor (from its overviews) and the matching grid.

    The last rows and columns that do not fill a whole coarse cell are left out.
    """
    import rasterio
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.windows import Window as RioWindow

    f = max(1, math.ceil(max(grid.shape) / max_side))
    h, w = max(1, grid.height // f), max(1, grid.width // f)
    with rasterio.open(path) as src:
        arr = src.read(1, window=RioWindow(0, 0, w * f, h * f), out_shape=(h, w),
                       resampling=Resampling.average, out_dtype="float32",
                       masked=True)  # fmt: skip
    t = grid.transform @ Affine.scale(f, f)
    return arr.filled(np.nan), Grid(grid.crs, t, w, h)


def _overview_view(
    result: Any,
    spec: OutputSpec,
    grid: Grid,
    composite: np.ndarray,
    overviews: Mapping[str, np.ndarray],
) -> Any:
    """What the report of a windowed run shows: the overviews the map shows."""
    from layers.spec import FactorResult

    factors = {f.name: f for f in spec.config.factors}
    return SimpleNamespace(
        grid=grid, inside=np.isfinite(composite), suitability=composite,
        candidates=result.candidates, weights=result.weights, data=result.data,
        checks=getattr(result, "checks", None) or {},
        factors=[FactorResult(factors[name], [], score, "ok") for name, score in overviews.items()],
    )  # fmt: skip
