"""Explicit product-question and consent-command detection: rule based, offline, explainable.

A question is recognised only when a whole clause matches one of the locale's cue patterns
(``policy/locales/<locale>.toml``), and never when the text holds a negation ("don't
recommend anything") or reported speech ("she asked Alexa about shoes"). The pattern that
matched is kept as the question's ``cue``, so every detection can be explained.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum

from policy.locale import Cue, LocaleRules, load_locale
from policy.matching import match_catalog
from policy.values import CatalogEntry, Question, QuestionKind

logger = logging.getLogger(__name__)

__all__ = [
    "Command",
    "ConsentCommand",
    "detect_command",
    "detect_question",
    "match_catalog",
    "question_for_topic",
]


class Command(StrEnum):
    """A spoken consent or transparency command."""

    OPT_OUT = "opt_out"
    """"stop offering me deals"."""
    OPT_IN = "opt_in"
    """"you can offer me deals again"."""
    WHY = "why"
    """"why did you suggest that"."""


ConsentCommand = Command
"""The name docs/architecture.md uses for :class:`Command`."""


def detect_question(
    *, text: str, utterance_id: str, locale: str, catalog: Sequence[CatalogEntry]
) -> Question | None:
    """The explicit product question in ``text``, or None when there is none."""
    rules = load_locale(locale)
    whole = rules.normalise(text)
    if not whole or rules.is_negated(whole) or rules.is_reported(whole):
        return None
    for clause in rules.clauses(text):
        for cue in rules.cues:
            question = _question(cue, clause, rules, utterance_id, catalog)
            if question is not None:
                return question
    return None


def _question(
    cue: Cue,
    clause: str,
    rules: LocaleRules,
    utterance_id: str,
    catalog: Sequence[CatalogEntry],
) -> Question | None:
    topic = cue.pattern.match(clause)
    if topic is None:
        return None
    if cue.kind is not QuestionKind.BROWSE:
        topic = rules.clean_topic(topic)
        if topic and topic not in rules.vague_topics:
            ids = match_catalog(topic, catalog, locale=rules.name)
            if not ids and cue.needs_catalog_match:
                return None
            return Question(utterance_id, cue.kind, topic, ids, cue.pattern.source)
        if cue.needs_catalog_match:
            return None
    return _browse(utterance_id, catalog, cue.pattern.source)


def _browse(utterance_id: str, catalog: Sequence[CatalogEntry], cue: str) -> Question:
    ids = tuple(entry.id for entry in catalog)
    return Question(utterance_id, QuestionKind.BROWSE, None, ids, cue)


def question_for_topic(
    *,
    kind: QuestionKind,
    topic: str | None,
    utterance_id: str,
    catalog: Sequence[CatalogEntry],
    locale: str = "en-US",
) -> Question:
    """The question an Alexa intent asks when its slot already carries the topic.

    A browse intent, or a vague topic ("anything"), makes a browse question; a missing topic
    for any other intent makes a question that matches nothing (which the engine denies).
    """
    cue = f"alexa intent ({kind.value})"
    rules = load_locale(locale)
    cleaned = rules.clean_topic(rules.normalise(topic)) if topic else ""
    if kind is QuestionKind.BROWSE or (cleaned and cleaned in rules.vague_topics):
        return _browse(utterance_id, catalog, cue)
    if not cleaned:
        return Question(utterance_id, kind, None, (), cue)
    ids = match_catalog(cleaned, catalog, locale=locale)
    return Question(utterance_id, kind, cleaned, ids, cue)


def detect_command(*, text: str, locale: str) -> Command | None:
    """The consent or "why" command ``text`` is, if it is one."""
    rules = load_locale(locale)
    if rules.is_reported(rules.normalise(text)):
        return None
    for clause in rules.clauses(text):
        for name, patterns in rules.commands:
            if any(pattern.match(clause) is not None for pattern in patterns):
                return Command(name)
    return None
