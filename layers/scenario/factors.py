"""Factors in scenario files: ``[[factors]]``, their criteria, weights and AHP matrices.

A criterion names a measure of the registry :data:`layers.measures.MEASURES`; its
``measure_params`` are the parameters that registration declares (a missing one takes
the registered default when the measure runs, :func:`layers.measures.measure_params`).
A measure added with :func:`layers.measures.register_measure` is accepted here without
any change to this module. Criteria and factors become :class:`layers.spec.Criterion`
and :class:`layers.spec.Factor`.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gis.errors import DataSourceError, InputError
from layers.options import type_name
from layers.scenario.check import Checker, KeyPath, is_number

__all__ = [
    "RESERVED",
    "check_aggregation_options",
    "check_ahp",
    "check_criterion",
    "check_factors",
    "check_source",
    "check_tags",
    "check_transform",
    "check_weights",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PERCENTILE = re.compile(r"^p(\d+(\.\d+)?)$")
#: Column names of the candidate layer that a factor name may not take.
RESERVED = {"rank", "area_ha", "n_cells", "mean_score", "max_score", "geometry", "suitability"}
_RESCALE_ARGS = (
    "lower_threshold",
    "upper_threshold",
    "value_below",
    "value_above",
    "from_scale",
    "to_scale",
)
#: Keys of a ``[[factors.criteria]]`` table.
CRITERION_KEYS = (
    "name", "description", "source", "tags", "measure", "measure_params", "transform",
    "transform_params", "weight", "when_empty", "absolute_params",
)  # fmt: skip
#: Measures whose features are not selected by OSM tags, and their data source.
_SOURCES = {"center_distance": "centre"}


def check_aggregation_options(
    c: Checker, method: str | None, value: Any, n_factors: int
) -> dict[str, Any] | None:
    """Keyword options of an aggregation method, checked against the run's ``n_factors``."""
    from gis.overlay import AGGREGATIONS
    from layers.decision import check_aggregation

    path = ("model", "aggregation_options")
    if method not in AGGREGATIONS:
        return None
    params = inspect.signature(AGGREGATIONS[method]).parameters
    allowed = [k for k in params if k not in ("scores", "weights", "chunk_rows")]
    table = c.table(value, path, allowed or ["(none)"], what=f"aggregation {method!r}")
    if len(table) != (len(value) if isinstance(value, dict) else -1):
        return None
    try:
        check_aggregation(method, table, n_factors)
    except (InputError, TypeError, ValueError) as exc:
        c.error(path, str(exc))
        return None
    return dict(table)


def check_tags(c: Checker, value: Any, path: KeyPath) -> dict[str, Any] | None:
    """An OSM tag filter: key = true (any value) or a list of values."""
    if not isinstance(value, dict):
        c.error(
            path, f"must be a table of OSM key = true or a list of values; got {type_name(value)}"
        )
        return None
    out: dict[str, Any] = {}
    bad = False
    for key, spec in value.items():
        if spec is True:
            out[key] = True
        elif isinstance(spec, str):
            out[key] = [spec]
        elif isinstance(spec, list) and spec and all(isinstance(v, str) for v in spec):
            out[key] = list(spec)
        else:
            c.error(
                (*path, key),
                f"must be true (any value) or a non-empty list of values in quotes; got {spec!r}",
            )
            bad = True
    return None if bad else out


def check_transform(c: Checker, name: str, params: Any, params_path: KeyPath) -> dict | None:
    """Parameters of the transform ``name``: numbers or percentiles ``'pNN'``."""
    import numpy as np

    from gis.transforms import TRANSFORMS, rescale

    accepted = [*_RESCALE_ARGS]
    if name in TRANSFORMS:
        accepted += [k for k in inspect.signature(TRANSFORMS[name]).parameters if k != "values"]
    table = c.table(params, params_path, accepted, what=f"transform {name!r}")
    out: dict[str, Any] = {}
    percentile = False
    for key, value in table.items():
        if isinstance(value, str):
            m = _PERCENTILE.match(value)
            if not m or not 0 <= float(m.group(1)) <= 100:
                c.error(
                    (*params_path, key),
                    f"must be a number or a percentile 'p0'..'p100' of the measure; got {value!r}",
                )
                continue
            percentile = True
            out[key] = value
        elif is_number(value):
            out[key] = value
        else:
            c.error(
                (*params_path, key), f"must be a number or 'pNN'; got {type_name(value)} {value!r}"
            )
    if len(out) != len(table):
        return None
    lo, hi = out.get("lower_threshold"), out.get("upper_threshold")
    if isinstance(lo, str) and isinstance(hi, str):
        if float(lo[1:]) >= float(hi[1:]):
            c.error(params_path, f"lower_threshold {lo!r} must be a lower percentile than {hi!r}")
            return None
    if not percentile:
        sample = np.linspace(0.0, 1.0, 11)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo < hi:
            sample = np.linspace(float(lo), float(hi), 11)
        try:
            rescale(sample, name, **out)
        except InputError as exc:
            c.error(params_path, str(exc).removeprefix("rescale: "))
            return None
    return out


def _measure_params(c: Checker, measure: str, given: Any, where: KeyPath) -> dict | None:
    """``measure_params`` of a criterion: the parameters the measure's registration declares."""
    from layers.measures import MEASURES

    defaults = MEASURES[measure].params
    allowed = list(defaults) or ["(no parameters)"]
    table = c.table(given, where, allowed, what=f"measure {measure!r}")
    ok = isinstance(given, dict) and len(table) == len(given)
    out: dict[str, Any] = {}
    for key, v in table.items():
        default = defaults[key]
        got: Any
        if isinstance(default, bool):
            got = c.boolean(v, (*where, key))
        elif is_number(default):
            got = c.number(v, (*where, key), low=0, low_open=default > 0)
            got = None if got is None else v
        elif isinstance(default, str):
            got = c.string(v, (*where, key))
        else:
            got = v
        if got is None:
            ok = False
        else:
            out[key] = got
    return out if ok else None


def check_source(c: Checker, value: Any, path: KeyPath) -> tuple[str | None, Any]:
    """A ``[factors.criteria.source]`` table: the source's name and its
    :class:`layers.sources.SourceSpec` (None if invalid)."""
    from gis.coords import DATUMS
    from layers.sources import (
        RESAMPLING,
        SOURCE_KEYS,
        SOURCE_KINDS,
        SourceSpec,
        guess_kind,
        parse_filter,
    )

    t = c.table(value, path, SOURCE_KEYS, what="a source")
    if not isinstance(value, dict):
        return None, None
    ok = len(t) == len(value)
    name = t.get("name")
    if name is not None and (c.string(name, (*path, "name")) is None or not _NAME.match(name)):
        if isinstance(name, str):
            c.error((*path, "name"), f"must be letters, digits and _; got {name!r}")
        ok, name = False, None
    if "path" not in t:
        c.error(path, "missing key 'path' (the vector, CSV or raster file)")
        return name, None
    file = c.file(t["path"], (*path, "path"), what="source file")
    kw: dict[str, Any] = {"path": file}
    kind = t.get("kind", guess_kind(file) if file else None)
    if c.string(kind, (*path, "kind"), choices=list(SOURCE_KINDS)) is None:
        ok = False
    kw["kind"] = kind
    datum = t.get("datum", "wgs84")
    if c.string(datum, (*path, "datum"), choices=list(DATUMS)) is None:
        ok = False
    resampling = t.get("resampling", "average")
    if c.string(resampling, (*path, "resampling"), choices=list(RESAMPLING)) is None:
        ok = False
    for key in ("layer", "filter", "lon", "lat", "weight", "category"):
        if key in t:
            if c.string(t[key], (*path, key)) is None:
                ok = False
            else:
                kw[key] = t[key]
    if "filter" in kw:
        try:
            parse_filter(kw["filter"])
        except InputError as exc:
            c.error((*path, "filter"), str(exc))
            ok = False
    if "band" in t:
        band = c.number(t["band"], (*path, "band"), low=1)
        if band is None or int(band) != band:
            if band is not None:
                c.error((*path, "band"), f"must be a whole number >= 1; got {t['band']!r}")
            ok = False
        else:
            kw["band"] = int(band)
    if not ok or file is None:
        return name, None
    return name, SourceSpec(datum=datum, resampling=resampling, **kw)


def check_criterion(c: Checker, value: Any, path: KeyPath, seen: set[str]) -> Any:
    """A ``[[factors.criteria]]`` table as a :class:`layers.spec.Criterion` (None if invalid)."""
    from gis.transforms import TRANSFORMS
    from layers.measures import MEASURES
    from layers.spec import EMPTY_RULES, Criterion

    t = c.table(value, path, CRITERION_KEYS, what="a criterion")
    if not t and not isinstance(value, dict):
        return None
    ok = True
    name = t.get("name")
    if name is None:
        c.error(path, "missing key 'name'")
        ok = False
    elif c.string(name, (*path, "name")) is None:
        ok = False
    elif not _NAME.match(name):
        c.error((*path, "name"), f"must be letters, digits and _ (a file name); got {name!r}")
        ok = False
    elif name in seen:
        c.error((*path, "name"), f"criterion {name!r} is defined twice; names must be unique")
        ok = False
    else:
        seen.add(name)
        c.labels[path] = name
    measure = t.get("measure")
    if measure is None:
        c.error(path, f"missing key 'measure' (one of {', '.join(MEASURES)})")
        ok = False
    elif c.string(measure, (*path, "measure"), choices=list(MEASURES)) is None:
        ok = False
    transform = t.get("transform")
    if transform is None:
        c.error(path, "missing key 'transform' (e.g. 'linear')")
        ok = False
    elif c.string(transform, (*path, "transform"), choices=sorted(TRANSFORMS)) is None:
        ok = False
    tags: dict[str, Any] | None = {}
    if "tags" in t:
        tags = check_tags(c, t["tags"], (*path, "tags"))
        ok = ok and tags is not None
    source = _SOURCES.get(measure, "osm") if isinstance(measure, str) else "osm"
    data = None
    if "source" in t:
        source_name, data = check_source(c, t["source"], (*path, "source"))
        ok = ok and data is not None
        if data is not None:
            source = source_name or (name if isinstance(name, str) else "osm")
        if data is not None and tags:
            c.error((*path, "tags"), "give OSM tags or a source, not both")
            ok = False
    elif measure == "raster_value":
        c.error(path, "measure 'raster_value' needs a [source] table with a raster file")
        ok = False
    if ok and source == "osm" and not tags and data is None:
        c.error(
            path,
            f"no data source: measure {measure!r} needs 'tags', the OSM features it measures "
            '(e.g. tags = { amenity = ["university"] })',
        )
        ok = False
    mparams: dict[str, Any] | None = {}
    if "measure_params" in t and measure in MEASURES:
        mparams = _measure_params(c, measure, t["measure_params"], (*path, "measure_params"))
        ok = ok and mparams is not None
    tparams: dict[str, Any] | None = {}
    if transform in TRANSFORMS:
        tparams = check_transform(
            c, transform, t.get("transform_params", {}), (*path, "transform_params")
        )
        ok = ok and tparams is not None
    absolute: dict[str, Any] | None = None
    if "absolute_params" in t and tparams is not None:
        path_a = (*path, "absolute_params")
        table = c.table(t["absolute_params"], path_a, sorted(tparams), what="absolute_params")
        absolute = {}
        for key, value in table.items():
            number = c.number(value, (*path_a, key))
            if number is None:
                ok = False
            else:
                absolute[key] = number
        if len(table) != len(t["absolute_params"]):
            ok = False
    weight = 1.0
    if "weight" in t:
        w = c.number(t["weight"], (*path, "weight"), low=0)
        ok = ok and w is not None
        weight = w if w is not None else 1.0
    when_empty = t.get("when_empty")
    if (
        when_empty is not None
        and c.string(when_empty, (*path, "when_empty"), choices=list(EMPTY_RULES)) is None
    ):
        ok = False
    description = t.get("description", "")
    if c.string(description, (*path, "description")) is None:
        ok = False
    if not ok or not isinstance(name, str) or not isinstance(measure, str):
        return None
    return Criterion(
        name=name,
        source=source,
        data=data,
        tags=tags or None,
        measure=measure,
        transform=transform,
        transform_params=tparams or {},
        measure_params=mparams or {},
        weight=weight,
        when_empty=when_empty,
        description=description,
        absolute_params=absolute or None,
    )


def check_factors(
    c: Checker, value: Any, path: KeyPath, preset_factors: Sequence[Any]
) -> tuple[Any, ...] | None:
    """``[[factors]]`` tables as :class:`layers.spec.Factor` objects (None if invalid).

    A factor named like one of ``preset_factors`` takes that factor's criteria,
    title, weight and rationale unless the table gives them.
    """
    from layers.spec import Factor

    preset = {f.name: f for f in preset_factors}
    if not isinstance(value, list) or not value:
        c.error(path, "must be one or more [[factors]] tables")
        return None
    factors = []
    names: set[str] = set()
    crit_names: set[str] = set()
    ok = True
    for i, item in enumerate(value):
        fpath = (*path, i)
        keys = ("name", "title", "weight", "rationale", "criteria")
        t = c.table(item, fpath, keys, what="a factor")
        if not isinstance(item, dict):
            ok = False
            continue
        name = t.get("name")
        if name is None:
            c.error(fpath, "missing key 'name'")
            ok = False
            continue
        if c.string(name, (*fpath, "name")) is None:
            ok = False
            continue
        if not _NAME.match(name) or name in RESERVED:
            c.error(
                (*fpath, "name"),
                f"must be letters, digits and _ and not one of {sorted(RESERVED)}; got {name!r}",
            )
            ok = False
            continue
        if name in names:
            c.error((*fpath, "name"), f"factor {name!r} is defined twice; names must be unique")
            ok = False
            continue
        names.add(name)
        c.labels[fpath] = name
        base = preset.get(name)
        if "criteria" in t:
            crits_value = t["criteria"]
            if not isinstance(crits_value, list) or not crits_value:
                c.error((*fpath, "criteria"), "must be one or more [[factors.criteria]] tables")
                ok = False
                continue
            crits = [
                check_criterion(c, cv, (*fpath, "criteria", j), crit_names)
                for j, cv in enumerate(crits_value)
            ]
            if any(x is None for x in crits):
                ok = False
                continue
            if sum(x.weight for x in crits) <= 0:
                c.error((*fpath, "criteria"), "criterion weights are all zero; give one > 0")
                ok = False
                continue
            criteria = tuple(crits)
        elif base is not None:
            criteria = base.criteria
            for crit in criteria:
                if crit.name in crit_names:
                    c.error(
                        fpath, f"criterion {crit.name!r} of preset factor {name!r} is defined twice"
                    )
                    ok = False
                crit_names.add(crit.name)
        else:
            c.error(
                fpath,
                f"factor {name!r} has no criteria and is not a preset factor "
                f"({', '.join(preset)}); add [[factors.criteria]] tables",
            )
            ok = False
            continue
        weight = base.weight if base is not None else None
        if "weight" in t:
            weight = c.number(t["weight"], (*fpath, "weight"), low=0)
            if weight is None:
                ok = False
                continue
        elif weight is None:
            c.error(fpath, "missing key 'weight' (a number >= 0)")
            ok = False
            continue
        title = t.get("title", base.title if base is not None else name)
        rationale = t.get("rationale", base.rationale if base is not None else "")
        if (
            c.string(title, (*fpath, "title")) is None
            or c.string(rationale, (*fpath, "rationale")) is None
        ):
            ok = False
            continue
        factors.append(
            Factor(name=name, title=title, weight=float(weight), criteria=criteria,
                   rationale=rationale)
        )  # fmt: skip
    return tuple(factors) if ok else None


def check_weights(
    c: Checker, table: Any, factors: Sequence[Any], *, what: str = "factor"
) -> dict[str, float]:
    """A ``[weights]`` table (factor = weight) of ``factors``; zero weights everywhere fail."""
    names = [f.name for f in factors]
    weights: dict[str, float] = {}
    if not isinstance(table, dict):
        c.error(("weights",), f"must be a table of {what} = weight; got {type_name(table)}")
        return weights
    for key, v in table.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            c.error(("weights", key), f"unknown {what}; {hint}{what}s are {', '.join(names)}")
            continue
        w = c.number(v, ("weights", key), low=0)
        if w is not None:
            weights[key] = w
    return weights


def check_ahp(
    c: Checker, value: Any, path: KeyPath, names: Sequence[str]
) -> dict[str, float] | None:
    """Factor weights from an ``[ahp]`` table: a matrix, or a CSV ``file``."""
    t = c.table(value, path, ("file", "factors", "matrix", "allow_inconsistent"))
    if not isinstance(value, dict):
        return None
    if "file" in t:
        return _check_ahp_file(c, t, path, names)
    order = t.get("factors")
    matrix = t.get("matrix")
    if order is None or matrix is None:
        c.error(
            path,
            "needs 'factors' (names in row order) and 'matrix' (pairwise comparisons), "
            "or 'file' (a CSV pairwise matrix)",
        )
        return None
    if not (isinstance(order, list) and all(isinstance(n, str) for n in order)):
        c.error((*path, "factors"), f"must be a list of factor names; got {order!r}")
        return None
    missing = [n for n in names if n not in order]
    unknown = [n for n in order if n not in names]
    if unknown or missing or len(set(order)) != len(order):
        parts = []
        if unknown:
            parts.append(f"unknown factor(s) {', '.join(unknown)}")
        if missing:
            parts.append(f"missing factor(s) {', '.join(missing)}")
        if len(set(order)) != len(order):
            parts.append("a factor is listed twice")
        c.error(
            (*path, "factors"),
            f"{'; '.join(parts)}; list every factor once: {', '.join(names)}",
        )
        return None
    n = len(order)
    rows: list[list[float]] = []
    if not isinstance(matrix, list) or len(matrix) != n:
        c.error((*path, "matrix"), f"must be {n} rows of {n} numbers (one per factor)")
        return None
    for i, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != n:
            c.error((*path, "matrix"), f"row {i + 1} ({order[i]}) must have {n} numbers")
            return None
        values = []
        for j, cell in enumerate(row):
            v = cell
            if isinstance(cell, str):
                m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*", cell)
                v = float(m.group(1)) / float(m.group(2)) if m and float(m.group(2)) else None
            if not is_number(v) or not math.isfinite(v) or v <= 0:
                c.error(
                    (*path, "matrix"),
                    f"row {i + 1}, column {j + 1} must be a positive number or a fraction "
                    f"like '1/3'; got {cell!r}",
                )
                return None
            values.append(float(v))
        rows.append(values)
    allow = t.get("allow_inconsistent", False)
    if c.boolean(allow, (*path, "allow_inconsistent")) is None:
        return None
    from gis.weights import ahp

    try:
        result = ahp(rows, allow_inconsistent=allow, labels=order)
    except InputError as exc:
        c.error(
            (*path, "matrix"),
            str(exc).replace("allow_inconsistent=True", "allow_inconsistent = true"),
        )
        return None
    return {name: float(w) for name, w in zip(order, result.weights, strict=True)}


def _check_ahp_file(
    c: Checker, t: Mapping[str, Any], path: KeyPath, names: Sequence[str]
) -> dict[str, float] | None:
    """Weights from ``[ahp] file``; remembers the file in ``c.ahp_file`` for the run."""
    from layers.decision import ahp_weights_from_file

    both = [k for k in ("factors", "matrix") if k in t]
    if both:
        c.error((*path, both[0]), "give the matrix either in 'file' or as factors and matrix")
        return None
    allow = t.get("allow_inconsistent", False)
    if c.boolean(allow, (*path, "allow_inconsistent")) is None:
        return None
    file = c.file(t["file"], (*path, "file"), what="AHP matrix file")
    if file is None:
        return None
    try:
        weights, _ = ahp_weights_from_file(file, names, allow_inconsistent=allow)
    except (InputError, DataSourceError) as exc:
        c.error(
            (*path, "file"),
            str(exc).replace("allow_inconsistent=True", "allow_inconsistent = true"),
        )
        return None
    c.ahp_file = (file, allow)
    return weights
