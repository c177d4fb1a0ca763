"""The package's shape: no import cycles, no private cross-imports, layers import downwards only.

Every module of ``gis`` and ``layers`` is parsed (not imported); imports inside functions count
too, because a lazy import only hides a cycle. The rules:

* no cycle among the modules;
* no module imports another module's underscore names, neither ``from m import _x`` nor
  ``m._x`` on an imported module (private modules such as ``gis._validate`` are for sharing);
* ``gis`` never imports ``layers``; the scale packages never import ``layers.scenario`` or
  ``layers.cli``; only ``layers.cli`` imports ``argparse``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gis", "layers")


def module_name(path: Path) -> str:
    """Dotted name of a source file below ROOT (``gis/io/raster.py`` -> ``gis.io.raster``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the packages by dotted name."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[module_name(path)] = path
    return out


MODULES = all_modules()


def _resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute module named by an import statement (``from ..x import y`` included)."""
    if level == 0:
        return target or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


class Imports(ast.NodeVisitor):
    """Imports of one module: target modules, private names taken, and argparse use."""

    def __init__(self, name: str, is_package: bool) -> None:
        self.name, self.is_package = name, is_package
        self.edges: set[str] = set()
        self.private: list[str] = []
        self.aliases: dict[str, str] = {}  # local name -> our module it stands for
        self.argparse = False

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "argparse":
                self.argparse = True
            if alias.name in MODULES:
                self.edges.add(alias.name)
                if alias.asname:
                    self.aliases[alias.asname] = alias.name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = _resolve(self.name, self.is_package, node.level, node.module)
        if source == "argparse":
            self.argparse = True
        if source not in MODULES:
            return
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if sub in MODULES:  # a submodule
                self.edges.add(sub)
                self.aliases[alias.asname or alias.name] = sub
                continue
            self.edges.add(source)
            private_source = any(p.startswith("_") for p in source.split(".")[1:])
            if (
                alias.name.startswith("_")
                and not alias.name.startswith("__")
                and not private_source
            ):
                self.private.append(f"line {node.lineno}: from {source} import {alias.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            module = self.aliases[node.value.id]
            self.private.append(f"line {node.lineno}: {module}.{node.attr}")
        self.generic_visit(node)


def scan(name: str) -> Imports:
    """The imports of module ``name``."""
    path = MODULES[name]
    visitor = Imports(name, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    visitor.edges.discard(name)
    return visitor


SCANS = {name: scan(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        yield sorted(component)


def test_the_scanner_sees_the_packages():
    assert "gis.grid" in MODULES and "layers.cli" in MODULES
    assert "gis.grid" in SCANS["gis.engine"].edges


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert list(cycles(graph)) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = {name: s.edges for name, s in SCANS.items()}
    found = list(cycles(graph))
    assert found == [], f"import cycles: {found}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_of_other_modules(name):
    assert SCANS[name].private == [], f"{name} uses private names: {SCANS[name].private}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("gis")))
def test_gis_never_imports_layers(name):
    upward = sorted(e for e in SCANS[name].edges if e.startswith("layers"))
    assert upward == [], f"{name} imports {upward}"


@pytest.mark.parametrize(
    "name",
    sorted(n for n in MODULES if n.startswith("layers") and not n.startswith("layers.cli")),
)
def test_layers_import_downwards(name):
    higher = ["layers.cli"] + ([] if name.startswith("layers.scenario") else ["layers.scenario"])
    upward = sorted(e for e in SCANS[name].edges if any(e.startswith(h) for h in higher))
    assert upward == [], f"{name} imports {upward}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("layers.cli")))
def test_only_the_command_line_imports_argparse(name):
    assert not SCANS[name].argparse, f"{name} imports argparse"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_curated_api_shadows_no_module(package):
    import importlib

    api = importlib.import_module(package)
    modules = {name.split(".")[1] for name in MODULES if name.startswith(f"{package}.")}
    assert modules.isdisjoint(api.__all__), sorted(modules & set(api.__all__))
    for name in api.__all__:
        assert getattr(api, name) is not None
