"""The ``innosite`` command line: one module per command, shared options; no analysis here."""

from layers.cli.main import main

__all__ = ["main"]
