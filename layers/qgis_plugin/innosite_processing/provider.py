"""The innosite Processing provider: its algorithms and the interpreter setting."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider

from . import runner
from .algorithms import InnositeAlgorithm

__all__ = ["PYTHON_SETTING", "InnositeProvider", "configured_python"]

#: Processing option (Settings > Options > Processing > Providers > innosite) holding the
#: Python interpreter that has innosite installed; empty: the one recorded at install.
PYTHON_SETTING = "INNOSITE_PYTHON"


def _setting(name: str) -> str:
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:  # the Processing plugin is not loaded
        return ""
    return str(ProcessingConfig.getSetting(name) or "")


def configured_python() -> str:
    """The interpreter that runs innosite: the provider's option, ``INNOSITE_PYTHON`` or the
    interpreter recorded by ``innosite qgis install``."""
    return (
        _setting(PYTHON_SETTING)
        or os.environ.get("INNOSITE_PYTHON", "")
        or str(runner.load_config().get("python") or "")
    )


class InnositeProvider(QgsProcessingProvider):
    """innosite's algorithms: micro, meso, national, macro and run scenario."""

    def __init__(self) -> None:
        super().__init__()
        self._config = runner.load_config()

    def id(self) -> str:
        return "innosite"

    def name(self) -> str:
        return "innosite"

    def longName(self) -> str:
        return f"innosite {self._config.get('version', '')}".strip()

    def load(self) -> bool:
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except ImportError:
            return super().load()
        ProcessingConfig.addSetting(
            Setting(
                self.name(),
                PYTHON_SETTING,
                "Python interpreter with innosite installed (empty: the one recorded by "
                "'innosite qgis install')",
                "",
                valuetype=Setting.FILE,
            )
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:
            return
        ProcessingConfig.removeSetting(PYTHON_SETTING)

    def loadAlgorithms(self) -> None:
        for spec in self._config.get("algorithms", []):
            self.addAlgorithm(InnositeAlgorithm(spec, self._config, configured_python))
