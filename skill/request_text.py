"""Strings a request may carry into the store: no NUL characters, no unpaired surrogates.

JSON allows both (``"\\u0000"``, ``"\\ud800"``), but neither can be stored: UTF-8 has no
encoding for a lone surrogate and PostgreSQL text cannot hold NUL. Refusing them at the edge
turns what would be a 500 (or a 503 blaming the store) into a 4xx naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BadText:
    """The first unstorable string found in a decoded JSON value."""

    where: str
    """A path like ``capture.trigger`` or ``intent.slots[0]``; a key is reported as itself."""
    value: str

    def message(self) -> str:
        """What was wrong and where, never the text itself (it may be a transcript)."""
        index, char = next((i, c) for i, c in enumerate(self.value) if not _storable(c))
        return (
            f"{self.where}: expected text without NUL characters or unpaired surrogates, "
            f"got {len(self.value)} characters with U+{ord(char):04X} at index {index}"
        )


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_bad_text(value: object, where: str = "body") -> BadText | None:
    """The first string (key or value) in ``value`` that cannot be stored, else None.

    Iterative, so a deeply nested body that ``json.loads`` accepted cannot exhaust the stack.
    """
    pending: list[tuple[object, str]] = [(value, where)]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            if not _storable(node):
                return BadText(path, node)
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and not _storable(key):
                    return BadText(f"{path} key", key)
                pending.append((child, f"{path}.{key}"))
        elif isinstance(node, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(node))
    return None
