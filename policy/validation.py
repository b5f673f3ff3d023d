"""Turns pydantic validation errors into one PolicyConfigError naming file, field and problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from askfirst.policy.errors import PolicyConfigError

_EXPECTED: dict[str, str] = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "string_too_short": "a non-empty string",
}


def field_path(loc: Sequence[int | str]) -> str:
    """``("catalog", 2, "kind")`` -> ``"catalog[2].kind"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe(error: Any) -> str:
    """One pydantic error as "expected X, got Y"."""
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    got = f", got {error['input']!r}"
    if kind == "missing":
        return "expected this required field, got nothing"
    if kind == "extra_forbidden":
        return f"expected no such field (unknown name){got}"
    if kind == "literal_error":
        options = str(ctx.get("expected", "")).replace(" or ", ", ")
        return f"expected one of {options}{got}"
    if kind == "greater_than_equal":
        return f"expected a number >= {ctx.get('ge')!r}{got}"
    if kind == "less_than_equal":
        return f"expected a number <= {ctx.get('le')!r}{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')!r} item(s){got}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')!r}{got}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}{got}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}{got}"


def config_error(source: str, exc: ValidationError) -> PolicyConfigError:
    """The first problem in ``exc`` as a PolicyConfigError; the others follow on extra lines."""
    errors = exc.errors()
    first = errors[0]
    error = PolicyConfigError(source, field_path(first["loc"]), describe(first))
    if len(errors) > 1:
        more = "\n".join(
            f"{source}: {field_path(other['loc'])}: {describe(other)}" for other in errors[1:]
        )
        error.args = (f"{error.args[0]}\n{more}",)
    return error
