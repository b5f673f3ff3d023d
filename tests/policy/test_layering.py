"""policy/ stays pure: no web framework, Alexa SDK, speech engine, database, or outer package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import policy

FORBIDDEN = ("flask", "ask_sdk", "vosk", "sqlalchemy", "psycopg", "skill", "speech", "store")
POLICY_DIR = Path(policy.__file__).parent
MODULES = sorted(POLICY_DIR.rglob("*.py"))


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_forbidden(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    return top in FORBIDDEN or top.startswith("ask_sdk")


def test_every_module_is_checked() -> None:
    names = {path.name for path in MODULES}
    assert {"engine.py", "detector.py", "config.py", "rules.py", "explain.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(POLICY_DIR)))
def test_policy_imports_nothing_forbidden(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path.read_text(encoding="utf-8")) if is_forbidden(m))
    assert bad == [], f"{path.name} imports {bad!r}; policy/ must stay pure"


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("import flask", True),
        ("from ask_sdk_core.skill_builder import SkillBuilder", True),
        ("import vosk", True),
        ("from sqlalchemy import select", True),
        ("import psycopg", True),
        ("from skill.pipeline import Pipeline", True),
        ("import speech.audio", True),
        ("from store import base", True),
        ("import json", False),
        ("from policy.values import Decision", False),
        ("import skillful", False),
    ],
)
def test_the_checker_itself(source: str, forbidden: bool) -> None:
    assert any(is_forbidden(m) for m in imported_modules(source)) is forbidden
