"""Explicit product-question and consent-command detection: rule based, offline, explainable.

The rule, in order:

1. The whole text is normalised. A negation ("don't", "no", "never") or a reported-speech
   marker ("asked", "said", "wants to know") *anywhere* in it -- in any sentence or clause,
   before or after the question -- means there is no question. Scoping either to one clause
   would let "don't tell me, what coffee do you recommend" or "do you have deals on coffee,
   she asked" through; when in doubt, it is not a question.
2. Otherwise the text is cut into clauses (:meth:`LocaleRules.clauses`: sentence and clause
   punctuation, the locale's conjunction words and clause-final endings) and each clause, in
   order, is matched as a whole against the locale's cue patterns
   (``policy/locales/<locale>.toml``). The first clause that matches is the question: its topic
   is that clause's topic, and the pattern that matched is the question's ``cue``, so every
   detection can be explained. Clauses are never joined, so a topic cannot run from one clause
   into the next ("tell me about the weather, I'm out of coffee" is not about coffee).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum

from askfirst.policy.locale import Cue, LocaleRules, load_locale
from askfirst.policy.matching import match_catalog
from askfirst.policy.values import CatalogEntry, Question, QuestionKind

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
    whole, clauses = rules.split(text)
    if not whole or rules.is_negated(whole) or rules.is_reported(whole):
        return None
    for clause in clauses:
        for cue in rules.cues_for(clause):
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
    """The consent or "why" command in ``text``, if it holds one.

    Any clause may hold it ("ugh, stop offering me deals"); reported speech anywhere means no
    command. An opt-out in any clause wins over everything else, and an opt-in is not taken
    from a text holding a negation ("no, you can offer me deals again").
    """
    rules = load_locale(locale)
    whole, clauses = rules.split(text)
    if rules.is_reported(whole):
        return None
    for name, patterns in rules.commands:
        if name == Command.OPT_IN and rules.is_negated(whole):
            continue
        if any(pattern.match(clause) is not None for clause in clauses for pattern in patterns):
            return Command(name)
    return None
