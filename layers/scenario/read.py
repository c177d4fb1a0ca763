"""Reading scenario files: TOML, YAML or JSON text, and the line of every key.

:func:`toml_lines` and :func:`yaml_lines` map each key path of a document to its line,
so that every problem a check finds can name the line it is on.

Examples
--------
>>> doc, lines = parse_text("[grid]\\ncell_size = 50\\n", "toml", "s.toml")
>>> doc["grid"], lines[("grid", "cell_size")]
({'cell_size': 50}, 2)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gis.errors import DataSourceError
from layers.scenario.check import KeyPath, Problem, ScenarioError

__all__ = ["FORMATS", "parse_text", "read_text", "toml_lines", "yaml_lines"]

#: Scenario formats by file suffix.
FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def _strip_strings(line: str, state: dict[str, str | None]) -> str:
    """``line`` with string contents and comments removed (multi-line strings tracked)."""
    out = []
    i = 0
    quote = state.get("quote")
    while i < len(line):
        if quote:
            if quote in ('"""', "'''") and line.startswith(quote, i):
                quote, i = None, i + 3
                out.append('""')
                continue
            if quote == '"' and line[i] == "\\":
                i += 2
                continue
            if len(quote) == 1 and line[i] == quote:
                quote = None
                out.append('""')
            i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            quote, i = line[i : i + 3], i + 3
            continue
        if ch in "\"'":
            quote = ch
        else:
            out.append(ch)
        i += 1
    if quote in ('"', "'"):
        quote = None  # an unterminated one-line string: tomllib reports it
    state["quote"] = quote
    return "".join(out)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*$")
_SIMPLE_KEY = r"(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')"
_KEY = re.compile(rf"^\s*({_SIMPLE_KEY}(?:\s*\.\s*{_SIMPLE_KEY})*)\s*=")


def _key_parts(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text)]


def toml_lines(text: str) -> dict[KeyPath, int]:
    """Line (1-based) of every table header and key of a TOML document, by key path.

    Arrays of tables are indexed: the second ``[[factors]]`` is ``("factors", 1)``.

    Examples
    --------
    >>> toml_lines('a = 1\\n[[f]]\\nx = 2\\n[[f]]\\nx = 3\\n[f.t]\\ny = 4\\n')[("f", 1, "t", "y")]
    7
    """
    lines: dict[KeyPath, int] = {}
    arrays: dict[KeyPath, int] = {}  # array-of-tables path -> last index
    table: KeyPath = ()
    depth = 0
    state: dict[str, str | None] = {"quote": None}
    raw_text = text.splitlines()
    for number, raw in enumerate(raw_text, start=1):
        in_string = state.get("quote") is not None
        code = _strip_strings(raw, state)
        if depth == 0 and not in_string:
            header = _HEADER.match(code)
            if header:
                parts = _key_parts(header.group(2))
                path: list[str | int] = []
                for part in parts[:-1]:
                    path.append(part)
                    if tuple(path) in arrays:
                        path.append(arrays[tuple(path)])
                path.append(parts[-1])
                if header.group(1) == "[[":
                    key = tuple(path)
                    arrays[key] = arrays.get(key, -1) + 1
                    # a new element forgets the sub-arrays of the previous one
                    for sub in [k for k in arrays if len(k) > len(key) and k[: len(key)] == key]:
                        del arrays[sub]
                    path.append(arrays[key])
                table = tuple(path)
                lines.setdefault(table, number)
                continue
            match = _KEY.match(code)
            if match:
                lines.setdefault((*table, *_key_parts(match.group(1))), number)
        depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
        depth = max(depth, 0)
    return lines


def yaml_lines(text: str) -> dict[KeyPath, int]:
    """Line (1-based) of every key and list item of a YAML document, by key path."""
    import yaml

    lines: dict[KeyPath, int] = {}

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = (*path, str(key_node.value))
                lines.setdefault(sub, key_node.start_mark.line + 1)
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


# ---------------------------------------------------------------------------- reading
def read_text(path: Path) -> str:
    """The UTF-8 text of a scenario file (clear errors for a missing or binary file)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataSourceError(f"scenario file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(path), [Problem("", f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise DataSourceError(f"cannot read scenario file {path}: {exc}") from None


def parse_text(text: str, fmt: str, name: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse ``text``; syntax errors become a ScenarioError with the line."""
    if fmt == "toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            match = re.search(r"\(at line (\d+), column (\d+)\)", msg)
            line = int(match.group(1)) if match else None
            msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
            col = f" (column {match.group(2)})" if match else ""
            raise ScenarioError(
                name, [Problem("", f"TOML syntax error: {msg}{col}", line)]
            ) from None
        return data, toml_lines(text)
    if fmt == "yaml":
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML is a dependency
            raise ScenarioError(name, [Problem("", "YAML scenarios need PyYAML")]) from None
        try:
            data = yaml.safe_load(text)
            return data, yaml_lines(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
            raise ScenarioError(name, [Problem("", f"YAML syntax error: {what}", line)]) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(name, [Problem("", f"YAML syntax error: {exc}")]) from None
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            name, [Problem("", f"JSON syntax error: {exc.msg}", exc.lineno)]
        ) from None
