"""innosite as a QGIS plugin: install it into a QGIS profile or build a plugin zip.

The plugin folder :data:`PLUGIN_SOURCE` (``innosite_processing``) is package data: a
QGIS plugin whose Processing provider runs innosite's commands in innosite's own
interpreter. :func:`install_plugin` copies it into a profile's ``python/plugins``
with an ``innosite.json`` that records that interpreter and the algorithms, and
enables it; :func:`build_plugin_zip` writes the same folder as a zip that the QGIS
plugin manager installs.
"""

from layers.qgis_plugin.install import (
    PLUGIN_NAME,
    PLUGIN_SOURCE,
    build_plugin_zip,
    default_profile_dir,
    enable_plugin,
    install_plugin,
    plugin_config,
)

__all__ = [
    "PLUGIN_NAME",
    "PLUGIN_SOURCE",
    "build_plugin_zip",
    "default_profile_dir",
    "enable_plugin",
    "install_plugin",
    "plugin_config",
]
