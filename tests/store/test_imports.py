"""The store's modules import each other without a cycle (function-level imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "store"


def edges() -> dict[str, set[str]]:
    """module -> the store modules it imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for path in STORE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("askfirst.store."):
                    found.add(node.module.removeprefix("askfirst.store."))
                elif node.module == "askfirst.store":
                    found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("askfirst.store."):
                        found.add(alias.name.removeprefix("askfirst.store."))
        graph[path.stem] = found - {path.stem}
    return graph


def test_no_store_module_imports_itself_through_another() -> None:
    graph = edges()
    cycles = []

    def walk(module: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(module, ())):
            if nxt == trail[0]:
                cycles.append(" -> ".join([*trail, nxt]))
            elif nxt not in trail:
                walk(nxt, [*trail, nxt])

    for module in sorted(graph):
        walk(module, [module])
    assert cycles == []
