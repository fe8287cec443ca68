"""The layout's rules, checked on the source: no import cycles, and vendor SQL only in `screenpop/storage/`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("screenpop", "genesys_app", "simulators")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports at any level (a module imported from a package counts as that module)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_itself_through_others() -> None:
    sources = _sources()
    known = set(sources)
    graph = {name: _imports(name, path, known) for name, path in sources.items()}
    # A package's __init__ importing its own modules is how a package exposes them, not a cycle of logic.
    for name in graph:
        graph[name] = {other for other in graph[name] if not (other.startswith(name + ".") and name in PACKAGES)}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# What writes SQL by hand: a cursor, a raw query, a vendor check that chooses between statements.
_VENDOR_SQL = re.compile(r"\.cursor\(|\.raw\(|\bRawSQL\(|\.extra\(|connection\.vendor|\bexecute\(\s*f?[\"']")


def test_vendor_sql_lives_in_storage_only() -> None:
    outside = []
    for name, path in _sources().items():
        if not name.startswith("screenpop.") or name.startswith("screenpop.storage"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _VENDOR_SQL.search(line) and name != "screenpop.health":  # readiness's `SELECT 1` is no vendor SQL
                outside.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert outside == []
