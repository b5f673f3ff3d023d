"""Matching a question's topic to catalog entries by title, category and synonyms.

Case, punctuation and plural tolerant: both sides are normalised and stemmed with the
locale's rules, then compared word by word. Scores, best first:

3. the topic is exactly a title, category or synonym ("running shoes");
2. the topic ends with one ("cheap running shoes") or has it before a joiner word
   ("headphones for running"); "coffee maker" does not match "coffee";
1. the topic is a run of words inside one ("shoes" in "trailblazer running shoes").

Ties keep catalog order.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from askfirst.policy.locale import LocaleRules, load_locale
from askfirst.policy.values import CatalogEntry

_Words = tuple[str, ...]


def _words(text: str, rules: LocaleRules) -> _Words:
    return tuple(rules.stem(word) for word in rules.normalise(text).split())


@functools.lru_cache(maxsize=64)
def _index(
    catalog: tuple[CatalogEntry, ...], locale: str
) -> tuple[tuple[str, tuple[_Words, ...]], ...]:
    rules = load_locale(locale)
    index = []
    for entry in catalog:
        names = (entry.title, entry.category, *entry.synonyms)
        terms = tuple(dict.fromkeys(words for words in (_words(n, rules) for n in names) if words))
        index.append((entry.id, terms))
    return tuple(index)


def _find(outer: _Words, inner: _Words) -> list[int]:
    size = len(inner)
    return [i for i in range(len(outer) - size + 1) if outer[i : i + size] == inner]


def _score(topic: _Words, term: _Words, joiners: frozenset[str]) -> int:
    if topic == term:
        return 3
    for start in _find(topic, term):
        end = start + len(term)
        if end == len(topic) or topic[end] in joiners:
            return 2
    if _find(term, topic):
        return 1
    return 0


def match_catalog(
    topic: str, catalog: Sequence[CatalogEntry], *, locale: str = "en-US"
) -> tuple[str, ...]:
    """The ids of the catalog entries ``topic`` names, best match first."""
    rules = load_locale(locale)
    words = _words(rules.clean_topic(rules.normalise(topic)), rules)
    if not words:
        return ()
    scored = []
    for position, (entry_id, terms) in enumerate(_index(tuple(catalog), rules.name)):
        score = max((_score(words, term, rules.topic_joiners) for term in terms), default=0)
        if score:
            scored.append((-score, position, entry_id))
    return tuple(entry_id for _, _, entry_id in sorted(scored))
