"""The layers of docs/architecture.md hold: links, imports between layers, frameworks, docstrings.

Each module is parsed with ``ast`` and every import in it counts: module level, inside a
function, under ``TYPE_CHECKING``, and ``importlib.import_module`` / ``__import__`` of a literal
name. The rules, from docs/architecture.md ("The layers" and "Packages and their public API"):

- ``src/askfirst/<layer>`` is a link to ``../../<layer>``, and nothing else is in the namespace;
- a layer imports only itself and the layers below it; policy and speech never import each
  other; store may import policy (it records Decisions) but not speech; turn imports no edge;
- everything imports as ``askfirst.…``, never a bare ``policy``;
- vosk only in ``speech/vosk_engine.py``; flask, ask-sdk and gunicorn only in ``skill/``;
  policy never imports sqlalchemy; turn never imports prometheus_client;
- every package ``__init__.py`` has a docstring.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = REPO / "src" / "askfirst"

#: Each layer, lowest first, with the layers it may import besides itself.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "core": (),
    "policy": ("core",),
    "speech": ("core",),
    "store": ("core", "policy"),
    "turn": ("core", "policy", "speech", "store"),
    "skill": ("core", "policy", "speech", "store", "turn"),
}
LAYERS = tuple(MAY_IMPORT)


@dataclass(frozen=True)
class Ban:
    """A framework some modules must not import."""

    framework: str
    rule: str
    only_in: tuple[str, ...] = ()
    """Modules (or packages, by prefix) that alone may import it; empty: no such limit."""
    never_in: tuple[str, ...] = ()
    """Layers that must never import it."""

    def forbids(self, module: str) -> bool:
        """Whether ``module`` (dotted, under askfirst) may not import the framework."""
        if self.only_in and not any(within(module, allowed) for allowed in self.only_in):
            return True
        return layer_of(module) in self.never_in


BANS = (
    Ban("vosk", "vosk only in speech/vosk_engine.py", only_in=("askfirst.speech.vosk_engine",)),
    Ban("flask", "flask/ask-sdk/gunicorn only in skill/", only_in=("askfirst.skill",)),
    Ban("ask_sdk", "flask/ask-sdk/gunicorn only in skill/", only_in=("askfirst.skill",)),
    Ban("gunicorn", "flask/ask-sdk/gunicorn only in skill/", only_in=("askfirst.skill",)),
    Ban("sqlalchemy", "policy never imports sqlalchemy", never_in=("policy",)),
    Ban("prometheus_client", "turn never imports prometheus_client", never_in=("turn",)),
)


def within(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or inside it."""
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> str | None:
    """The layer an ``askfirst.<layer>…`` name belongs to, else None."""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "askfirst" and parts[1] in MAY_IMPORT:
        return parts[1]
    return None


def framework_of(module: str) -> str | None:
    """The banned framework a module name belongs to (``ask_sdk_core`` is ask_sdk), else None."""
    top = module.split(".", maxsplit=1)[0]
    if top.startswith("ask_sdk"):
        return "ask_sdk"
    return top if any(ban.framework == top for ban in BANS) else None


@dataclass(frozen=True)
class Import:
    """One name a module imports, resolved to an absolute dotted name."""

    target: str
    line: int
    level: int = 0
    """The relative import's level (0: absolute)."""


def imports_in(source: str, *, module: str, is_package: bool) -> Iterator[Import]:
    """Every import in ``source``, wherever it stands; relative ones resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, filename=module)):
        if isinstance(node, ast.Import):
            yield from (Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                keep = len(parts) - (node.level - 1)
                if keep <= 0:  # climbs above askfirst: an empty target, reported by violations()
                    yield Import("", node.lineno, node.level)
                    continue
                base = ".".join([*parts[:keep], *filter(None, [node.module])])
            if base == "askfirst":  # from askfirst import policy: the names are the layers
                for alias in node.names:
                    yield Import(f"askfirst.{alias.name}", node.lineno, node.level)
            else:
                yield Import(base, node.lineno, node.level)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield Import(first.value, node.lineno)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def violations(source: str, *, module: str, is_package: bool = False) -> list[str]:
    """What in ``source`` (the text of ``module``, e.g. askfirst.store.sql) breaks the layering."""
    layer = layer_of(module)
    if layer is None:
        raise ValueError(f"expected a module of one of the layers {LAYERS}, got {module!r}")
    allowed = MAY_IMPORT[layer]
    found: list[str] = []
    for imp in imports_in(source, module=module, is_package=is_package):
        where = f"{module} (line {imp.line}) imports {imp.target or '<above askfirst>'!r}"
        if imp.level and not imp.target:
            found.append(
                f"{where}: expected a relative import that stays inside askfirst, found one "
                f"{imp.level} levels up; rule: everything imports as askfirst.…"
            )
            continue
        top = imp.target.split(".")[0]
        if top in MAY_IMPORT:
            found.append(
                f"{where}: expected 'askfirst.{imp.target}', found the bare top-level {top!r}; "
                "rule: everything imports as askfirst.…, never a bare layer"
            )
            continue
        target = layer_of(imp.target)
        if target is not None and target != layer and target not in allowed:
            below = ", ".join(allowed) or "nothing of ours"
            found.append(
                f"{where}: expected only {layer} itself or {below}, found layer {target!r}; "
                f"rule: {layer} may import {below} (docs/architecture.md, 'The layers')"
            )
        framework = framework_of(imp.target)
        for ban in BANS:
            if ban.framework == framework and ban.forbids(module):
                found.append(
                    f"{where}: expected no {framework} in {module}, found it; rule: {ban.rule}"
                )
    return found


@dataclass(frozen=True)
class Module:
    """One source file of a layer."""

    name: str
    path: Path
    is_package: bool


def modules(layer: str) -> list[Module]:
    """Every ``.py`` file under the layer's folder, named as ``askfirst.<layer>.…`` imports it."""
    found = []
    for path in sorted((REPO / layer).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(("askfirst", *(parts[:-1] if is_package else parts)))
        found.append(Module(name, path, is_package))
    return found


# --- the repository -------------------------------------------------------------------------


def test_the_namespace_links_each_layer_to_its_folder_and_holds_nothing_else() -> None:
    entries = {p.name for p in NAMESPACE.iterdir()} - {"__pycache__"}
    expected = {"__init__.py", *LAYERS}
    assert entries == expected, (
        f"expected src/askfirst/ to hold {sorted(expected)}, found {sorted(entries)}"
    )
    for layer in LAYERS:
        link = NAMESPACE / layer
        assert link.is_symlink(), f"expected src/askfirst/{layer} to be a link, found a plain entry"
        target = os.readlink(link)
        assert target == f"../../{layer}", (
            f"expected src/askfirst/{layer} -> ../../{layer}, found -> {target!r}"
        )
        assert link.resolve() == REPO / layer, (
            f"expected src/askfirst/{layer} to resolve to {REPO / layer}, found {link.resolve()}"
        )


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_of_the_layer_imports_only_what_the_layering_allows(layer: str) -> None:
    found = modules(layer)
    assert len(found) > 0, f"expected modules under {REPO / layer}, found none"
    broken = [
        message
        for module in found
        for message in violations(
            module.path.read_text(encoding="utf-8"),
            module=module.name,
            is_package=module.is_package,
        )
    ]
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize("layer", LAYERS)
def test_every_package_of_the_layer_has_a_docstring(layer: str) -> None:
    packages = [module for module in modules(layer) if module.is_package]
    assert len(packages) > 0, f"expected at least {layer}/__init__.py, found no package"
    missing = [
        str(module.path.relative_to(REPO))
        for module in packages
        if not ast.get_docstring(ast.parse(module.path.read_text(encoding="utf-8")))
    ]
    assert missing == [], (
        f"expected a docstring in every package __init__.py, found none: {missing}"
    )


# --- the checker itself, on small sources -----------------------------------------------------


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("core", "policy", False),
        ("policy", "core", True),
        ("policy", "speech", False),
        ("speech", "policy", False),
        ("policy", "store", False),
        ("store", "policy", True),
        ("store", "speech", False),
        ("speech", "store", False),
        ("turn", "store", True),
        ("turn", "speech", True),
        ("turn", "skill", False),
        ("store", "turn", False),
        ("skill", "turn", True),
        ("skill", "core", True),
        ("core", "core", True),
    ],
)
def test_a_layer_may_import_only_those_below_it(
    importer: str, imported: str, allowed: bool
) -> None:
    found = violations(f"from askfirst.{imported}.x import y\n", module=f"askfirst.{importer}.m")
    assert (found == []) == allowed, found


def test_a_violation_names_the_module_the_import_and_the_rule() -> None:
    source = "from __future__ import annotations\n\nfrom askfirst.store.base import Store\n"
    [message] = violations(source, module="askfirst.policy.engine")
    assert message.startswith("askfirst.policy.engine (line 3) imports 'askfirst.store.base'")
    assert "expected only policy itself or core, found layer 'store'" in message
    assert "rule: policy may import core" in message


def test_imports_inside_functions_and_type_checking_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from askfirst.speech.audio import Audio\n"
        "def f() -> None:\n"
        "    import askfirst.store.base\n"
        "    importlib.import_module('askfirst.skill.replies')\n"
    )
    found = violations(source, module="askfirst.policy.engine")
    assert [m.split(":")[0] for m in found] == [
        "askfirst.policy.engine (line 3) imports 'askfirst.speech.audio'",
        "askfirst.policy.engine (line 5) imports 'askfirst.store.base'",
        "askfirst.policy.engine (line 6) imports 'askfirst.skill.replies'",
    ]


@pytest.mark.parametrize(
    ("module", "is_package", "source", "target"),
    [
        ("askfirst.policy.engine", False, "from .values import Decision", "askfirst.policy.values"),
        ("askfirst.policy", True, "from .values import Decision", "askfirst.policy.values"),
        ("askfirst.policy.engine", False, "from . import values", "askfirst.policy"),
        ("askfirst.policy.engine", False, "from ..store import base", "askfirst.store"),
        ("askfirst.skill.api.routes", False, "from ...turn import values", "askfirst.turn"),
        ("askfirst.policy.engine", False, "from .. import store", "askfirst.store"),
        ("askfirst.policy.engine", False, "from ... import x", ""),
    ],
)
def test_relative_imports_resolve_against_the_module(
    module: str, is_package: bool, source: str, target: str
) -> None:
    [found] = imports_in(source, module=module, is_package=is_package)
    assert found.target == target


def test_a_relative_import_into_another_layer_is_caught_and_one_within_passes() -> None:
    assert violations("from .values import Decision", module="askfirst.policy.engine") == []
    [message] = violations("from ..store import base", module="askfirst.policy.engine")
    assert "imports 'askfirst.store'" in message
    assert "found layer 'store'" in message
    [message] = violations("from ... import x", module="askfirst.policy.engine")
    assert "stays inside askfirst, found one 3 levels up" in message


@pytest.mark.parametrize(
    "source", ["import policy", "from store.base import Store", "import core.capture"]
)
def test_a_bare_layer_import_is_caught(source: str) -> None:
    [message] = violations(source, module="askfirst.skill.cli.main")
    assert "found the bare top-level" in message
    assert "rule: everything imports as askfirst." in message


def test_from_askfirst_import_a_layer_counts_as_importing_it() -> None:
    [message] = violations("from askfirst import store", module="askfirst.policy.engine")
    assert "imports 'askfirst.store'" in message


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("askfirst.speech.vosk_engine", "import vosk", None),
        ("askfirst.speech.models", "import vosk", "vosk only in speech/vosk_engine.py"),
        ("askfirst.skill.cli.model", "from vosk import Model", "vosk only in speech/"),
        ("askfirst.skill.api.app", "from flask import Flask", None),
        ("askfirst.turn.pipeline", "import flask", "flask/ask-sdk/gunicorn only in skill/"),
        ("askfirst.turn.pipeline", "from ask_sdk_core.skill_builder import S", "ask-sdk"),
        ("askfirst.store.sql", "import gunicorn.app.base", "flask/ask-sdk/gunicorn only in skill/"),
        ("askfirst.store.sql", "import sqlalchemy", None),
        ("askfirst.policy.config", "from sqlalchemy import text", "never imports sqlalchemy"),
        ("askfirst.policy.config", "import flask", "flask/ask-sdk/gunicorn only in skill/"),
        ("askfirst.skill.metrics.registry", "import prometheus_client", None),
        ("askfirst.turn.observer", "import prometheus_client", "turn never imports prometheus"),
        ("askfirst.policy.grammar", "import hassil", None),
    ],
)
def test_frameworks_stay_in_the_layers_allowed_to_have_them(
    module: str, source: str, rule: str | None
) -> None:
    found = violations(source, module=module)
    if rule is None:
        assert found == []
    else:
        [message] = found
        assert message.startswith(f"{module} (line 1) imports")
        assert rule in message
