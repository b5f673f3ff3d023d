"""A bound on how deeply a request's JSON may nest, checked before anything recurses into it.

``json.loads`` accepts nesting up to Python's recursion limit, but ask-sdk copies
``session.attributes`` recursively and fails with a RecursionError (a 500) a few hundred levels
down. No real request nests more than a dozen levels, so anything past :data:`MAX_JSON_DEPTH` is
refused as malformed (400) at the edge.
"""

from __future__ import annotations

from askfirst.skill.errors import SkillError

MAX_JSON_DEPTH = 64


def check_depth(value: object, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise a 400 when ``value`` nests objects or arrays more than ``limit`` levels deep.

    Iterative, so the check itself cannot exhaust the stack.
    """
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: list[object] = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise SkillError(
                f"expected JSON nested at most {limit} levels deep, got deeper nesting",
                code="malformed_json",
                status=400,
            )
        pending.extend((child, depth + 1) for child in children)
