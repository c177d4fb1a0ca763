"""Processing algorithms built from the descriptions of innosite's commands.

Each algorithm (micro, meso, national, macro, run scenario) is one
:class:`InnositeAlgorithm` built from an entry of ``algorithms`` in the plugin's
``innosite.json``, which ``innosite qgis install`` derives from the command line's
own option declarations. Running one converts the parameter values into the
arguments of ``python -m layers.cli COMMAND`` (layers from the project are written to
temporary files when innosite cannot read them as they are), runs that command in
innosite's own interpreter, streams its steps and percentage into the feedback and
stops it on cancel. Afterwards the run's layers are added to the project with their
styles, in the groups of the run's ``project.qgz``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterPoint,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import results, runner

__all__ = ["InnositeAlgorithm"]

_WGS84 = "EPSG:4326"
_VECTOR_FORMATS = ["gpkg", "shp", "geojson", "json", "fgb"]
_TABLE_FORMATS = ["gpkg", "shp", "csv"]


def _definition(p: dict[str, Any]) -> Any:
    """The QGIS parameter of one described parameter."""
    name, label, kind = p["name"], p.get("label") or p["name"], p["type"]
    optional = bool(p.get("optional", True))
    default = p.get("default")
    if kind in ("number", "weight"):
        integer = p.get("data") == "integer"
        d = QgsProcessingParameterNumber(
            name,
            label,
            QgsProcessingParameterNumber.Integer
            if integer
            else QgsProcessingParameterNumber.Double,
            default,
            optional,
        )
        if p.get("min") is not None:
            d.setMinimum(p["min"])
        if p.get("max") is not None:
            d.setMaximum(p["max"])
    elif kind == "enum":
        d = QgsProcessingParameterEnum(
            name, label, [str(o) for o in p["options"]], False,
            None if default is None else str(default), optional, True,
        )  # fmt: skip
    elif kind == "bool":
        d = QgsProcessingParameterBoolean(name, label, bool(default), True)
    elif kind == "file":
        d = QgsProcessingParameterFile(
            name, label, QgsProcessingParameterFile.File, "", None, optional,
            p.get("filter") or "",
        )  # fmt: skip
    elif kind == "vector":
        types = (
            [QgsProcessing.TypeVector]
            if p.get("table")
            else [QgsProcessing.TypeVectorPolygon]
            if p.get("polygons", True)
            else [QgsProcessing.TypeVectorAnyGeometry]
        )
        d = QgsProcessingParameterFeatureSource(name, label, types, None, optional)
    elif kind == "raster":
        d = QgsProcessingParameterRasterLayer(name, label, None, optional)
    elif kind == "extent":
        d = QgsProcessingParameterExtent(name, label, None, optional)
    elif kind == "crs":
        d = QgsProcessingParameterCrs(name, label, None, optional)
    elif kind == "point":
        d = QgsProcessingParameterPoint(name, label, None, optional)
    elif kind == "field":
        d = QgsProcessingParameterField(
            name, label, None, p.get("parent") or "", QgsProcessingParameterField.Any,
            bool(p.get("multiple")), optional,
        )  # fmt: skip
    else:  # string, weights, lines
        d = QgsProcessingParameterString(
            name, label, None if default is None else str(default), kind == "lines", optional
        )
    if p.get("advanced"):
        d.setFlags(d.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    if p.get("help") and hasattr(d, "setHelp"):
        d.setHelp(p["help"])
    return d


def _given(parameters: dict[str, Any], name: str) -> bool:
    raw = parameters.get(name)
    if raw is None or raw == "":
        return False
    is_null = getattr(raw, "isNull", None)
    return not (callable(is_null) and is_null())


class InnositeAlgorithm(QgsProcessingAlgorithm):
    """One innosite command as a Processing algorithm."""

    def __init__(self, spec: dict[str, Any], config: dict[str, Any], python: Any = None):
        super().__init__()
        self._spec = spec
        self._config = config
        self._python = python  # callable returning the interpreter set in the options
        self._folder = ""

    # ------------------------------------------------------------------ identity
    def createInstance(self) -> InnositeAlgorithm:
        return InnositeAlgorithm(self._spec, self._config, self._python)

    def name(self) -> str:
        return str(self._spec["id"])

    def displayName(self) -> str:
        return str(self._spec["title"])

    def group(self) -> str:
        return str(self._spec.get("group", "Location choice"))

    def groupId(self) -> str:
        return str(self._spec.get("group_id", "location_choice"))

    def shortHelpString(self) -> str:
        return str(self._spec.get("help", ""))

    # ------------------------------------------------------------------ parameters
    def initAlgorithm(self, config: Any = None) -> None:
        for p in self._spec["params"]:
            self.addParameter(_definition(p))
        self.addParameter(
            QgsProcessingParameterBoolean(
                "OVERWRITE", "Replace a non-empty output folder", False, True
            )
        )
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Output folder"))
        for o in self._spec.get("outputs", []):
            cls = QgsProcessingOutputRasterLayer if o["type"] == "raster" else None
            cls = cls or QgsProcessingOutputVectorLayer
            self.addOutput(cls(o["name"], o.get("label") or o["name"]))

    def _value(self, p: dict[str, Any], parameters: dict[str, Any], context: Any, feedback: Any):
        """The plain value of parameter ``p`` (None when not given)."""
        name, kind = p["name"], p["type"]
        if not _given(parameters, name):
            return None
        if kind == "bool":
            return self.parameterAsBoolean(parameters, name, context)
        if kind in ("number", "weight"):
            if p.get("data") == "integer":
                return self.parameterAsInt(parameters, name, context)
            return self.parameterAsDouble(parameters, name, context)
        if kind == "enum":
            return self.parameterAsEnumString(parameters, name, context)
        if kind == "file":
            return self.parameterAsFile(parameters, name, context)
        if kind == "vector":
            formats = _TABLE_FORMATS if p.get("table") else _VECTOR_FORMATS
            path = self.parameterAsCompatibleSourceLayerPath(
                parameters, name, context, formats, "gpkg", feedback
            )
            return path or None
        if kind == "raster":
            layer = self.parameterAsRasterLayer(parameters, name, context)
            if layer is None:
                return None
            if layer.providerType() != "gdal":
                raise QgsProcessingException(f"{p['label']}: give a raster file (GeoTIFF ...)")
            return layer.source()
        if kind == "extent":
            crs = QgsCoordinateReferenceSystem(_WGS84)
            r = self.parameterAsExtent(parameters, name, context, crs)
            if r.isNull():
                return None
            return [r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum()]
        if kind == "crs":
            crs = self.parameterAsCrs(parameters, name, context)
            if not crs.isValid():
                return None
            return crs.authid() or crs.toWkt()
        if kind == "point":
            crs = QgsCoordinateReferenceSystem(_WGS84)
            pt = self.parameterAsPoint(parameters, name, context, crs)
            return [pt.x(), pt.y()]
        if kind == "field":
            fields = self.parameterAsFields(parameters, name, context)
            return ",".join(fields) if fields else None
        return self.parameterAsString(parameters, name, context)

    def command(self, parameters: dict[str, Any], context: Any, feedback: Any) -> list[str]:
        """The whole command line of this run (interpreter, module, command, arguments)."""
        values = {
            p["name"]: self._value(p, parameters, context, feedback) for p in self._spec["params"]
        }
        folder = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        if not folder:
            raise QgsProcessingException("give an output folder")
        self._folder = folder
        args = runner.command_args(self._spec["params"], values)
        args += ["--out", folder]
        if self.parameterAsBoolean(parameters, "OVERWRITE", context):
            args.append("--overwrite")
        python = self._python() if callable(self._python) else None
        return [
            *runner.python_command(self._config, python),
            *self._spec["command"],
            *args,
            *self._spec.get("extra", []),
        ]

    # ------------------------------------------------------------------ running
    def processAlgorithm(self, parameters: Any, context: Any, feedback: Any) -> dict[str, Any]:
        try:
            command = self.command(dict(parameters), context, feedback)
        except runner.ChildFailed as exc:
            raise QgsProcessingException(str(exc)) from None
        feedback.pushCommandInfo(" ".join(_quote(a) for a in command))
        try:
            runner.run_streaming(
                command,
                env=runner.child_environment(self._config),
                on_line=feedback.pushConsoleInfo,
                on_progress=feedback.setProgress,
                is_cancelled=feedback.isCanceled,
            )
        except runner.Cancelled as exc:
            feedback.reportError(str(exc))
            raise QgsProcessingException(str(exc)) from None
        except runner.ChildFailed as exc:
            raise QgsProcessingException(str(exc)) from None
        except OSError as exc:
            raise QgsProcessingException(f"cannot start {command[0]}: {exc}") from None
        feedback.setProgress(100)
        out: dict[str, Any] = {"OUTPUT": self._folder}
        for o in self._spec.get("outputs", []):
            path = Path(self._folder) / o["file"]
            out[o["name"]] = str(path) if path.exists() else None
        return out

    def postProcessAlgorithm(self, context: Any, feedback: Any) -> dict[str, Any]:
        project = context.project()
        if project is not None and self._folder and Path(self._folder).is_dir():
            title = f"innosite {self._spec['id']} — {Path(self._folder).name}"
            try:
                results.load_run(project, Path(self._folder), title=title)
            except Exception as exc:  # loading is a convenience: never fail the run
                feedback.reportError(f"could not add the results to the project: {exc}")
        return {}


def _quote(arg: str) -> str:
    return f'"{arg}"' if (" " in arg or not arg) else arg
