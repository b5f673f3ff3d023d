"""The cue pattern language of the locale files, compiled to regular expressions.

A pattern is matched against a whole normalised clause. Its parts:

- ``word``       a literal word;
- ``(a|b c)``    exactly one of the alternatives (an alternative may be several words);
- ``[a|b c]``    optionally one of the alternatives;
- ``{topic}``    the product words (one to eight words), captured as the topic.

Literal words go through the locale's normaliser, so ``don't`` in a pattern matches
"do not" in a transcript.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

TOPIC = "{topic}"
_PART = re.compile(r"\[[^\[\]]*\]|\([^()]*\)|\{topic\}|[^\s\[\](){}]+|\S")
_MAX_TOPIC_WORDS = 8


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One compiled cue pattern."""

    source: str
    """The pattern as written in the locale file; shown as the question's cue."""
    regex: re.Pattern[str]
    has_topic: bool
    first_words: frozenset[str] | None = None
    """The words a matching clause can start with; None when it can start with any word."""

    def match(self, clause: str) -> str | None:
        """The topic words when the whole clause matches ("" without a topic), else None."""
        found = self.regex.fullmatch(clause + " ")
        if found is None:
            return None
        return found.group("topic").strip() if self.has_topic else ""


def _alternatives(inner: str, normalise: Callable[[str], str], source: str) -> str:
    options = [normalise(option) for option in inner.split("|")]
    if any(not option for option in options):
        raise PatternError(f"expected non-empty alternatives in {source!r}, got {inner!r}")
    return "|".join(re.escape(option) + " " for option in options)


def compile_pattern(source: str, normalise: Callable[[str], str]) -> Pattern:
    """Compile ``source``; ``normalise`` is the locale's text normaliser."""
    pieces: list[str] = []
    has_topic = False
    first: set[str] | None = set()
    starting = True
    for part in _PART.findall(source):
        if starting and first is not None:
            first, starting = _first_words(part, normalise, first)
        if part == TOPIC:
            if has_topic:
                raise PatternError(f"expected at most one {TOPIC} in a pattern, got {source!r}")
            has_topic = True
            pieces.append(rf"(?P<topic>(?:\S+ ){{1,{_MAX_TOPIC_WORDS}}}?)")
        elif part.startswith("(") and part.endswith(")"):
            pieces.append(f"(?:{_alternatives(part[1:-1], normalise, source)})")
        elif part.startswith("[") and part.endswith("]"):
            pieces.append(f"(?:{_alternatives(part[1:-1], normalise, source)})?")
        elif part in "[](){}":
            raise PatternError(f"expected balanced brackets in the pattern, got {source!r}")
        else:
            word = normalise(part)
            if not word:
                raise PatternError(f"expected a word in the pattern, got {part!r} in {source!r}")
            pieces.append(re.escape(word) + " ")
    if not pieces:
        raise PatternError(f"expected a non-empty pattern, got {source!r}")
    return Pattern(
        source=source,
        regex=re.compile("".join(pieces)),
        has_topic=has_topic,
        first_words=None if first is None or starting else frozenset(first),
    )


def _first_words(
    part: str, normalise: Callable[[str], str], first: set[str]
) -> tuple[set[str] | None, bool]:
    """``first`` with the words ``part`` can start with; and whether the next part can start
    the clause too (``part`` is optional). None: any word can."""
    if part == TOPIC:
        return None, False
    if part[:1] in "[(" and part[-1:] in "])":
        options = (normalise(option).split() for option in part[1:-1].split("|"))
        return first | {option[0] for option in options if option}, part.startswith("[")
    literal = normalise(part).split()
    return first | set(literal[:1]), not literal
