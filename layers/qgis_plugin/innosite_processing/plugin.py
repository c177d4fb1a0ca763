"""The QGIS plugin object: registers the innosite Processing provider."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication

from .provider import InnositeProvider

__all__ = ["InnositePlugin"]


class InnositePlugin:
    """Adds the innosite provider to the Processing Toolbox (also in ``qgis_process``)."""

    def __init__(self, iface: Any = None) -> None:
        self.iface = iface
        self.provider: InnositeProvider | None = None

    def initProcessing(self) -> None:
        if self.provider is None:
            self.provider = InnositeProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
