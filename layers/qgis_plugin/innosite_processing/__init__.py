"""innosite for QGIS: the analyses of innosite as Processing algorithms.

A QGIS plugin folder (``metadata.txt``, this ``classFactory``). The algorithms run
innosite in its own Python interpreter as a child process; the plugin itself needs
only QGIS. Install it with ``innosite qgis install`` (or ``innosite qgis zip``),
which records the interpreter in ``innosite.json`` next to this file.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:
    """The plugin object QGIS asks for when it loads the plugin."""
    from .plugin import InnositePlugin

    return InnositePlugin(iface)
