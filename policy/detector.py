"""Explicit product-question and consent-command detection: rule based, offline, explainable.

The rule, in order:

1. The whole text is normalised (``askfirst.core.text``) and cut into clauses
   (:meth:`LocaleRules.clauses`: punctuation, the locale's conjunctions and clause endings).
   A clause that is exactly a hedge ("I'm not sure") is dropped.
2. A negation ("don't", "no", "never") or a reported-speech marker ("asked", "said") *anywhere*
   in what is left means no question (reason ``negated`` / ``reported`` with the word): scoping
   either to one clause would let "don't tell me, what coffee do you recommend" through.
3. Each clause is matched against the locale's hassil grammar
   (``policy/grammars/<locale>.yaml``, :mod:`askfirst.policy.grammar`). A task command in any of
   them ("add coffee to my shopping list") means no question (``task_command`` and which). Else
   the first question match is the question (read together with the next clause when the two
   match one question template: "I need headphones, what do you recommend" is a recommendation):
   its kind is the intent's, its catalog entry the ``product`` slot's, and its ``cue`` names the
   intent, the template and the slot words.
4. No match: two neighbouring clauses are tried as one, for question templates only ("헤드폰
   사려는데 뭐가 좋아?" is cut at "-는데"). Still none: the locale's inner fillers are set aside
   ("can you like recommend ..."). Still none: one or two describing words right
   before a product name are set aside and the clause tried again ("what wireless headphones
   do you recommend"); the product must stay the head noun ("coffee maker" is no coffee), and
   function words are never set aside.
5. No match: ``no_product`` when a question template matches with unknown words as the product
   ("any deals on lawnmowers"), else ``not_a_question``. Deny by default.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from askfirst.policy.grammar import PRODUCT, Grammar, GrammarMatch, grammar_for
from askfirst.policy.locale import load_locale
from askfirst.policy.matching import match_catalog
from askfirst.policy.values import CatalogEntry, NoQuestion, NoReason, Question, QuestionKind

logger = logging.getLogger(__name__)

__all__ = [
    "Command",
    "ConsentCommand",
    "Detection",
    "detect",
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


@dataclass(frozen=True, slots=True)
class Detection:
    """What the detector found in one text: a question, or why there is none."""

    question: Question | None
    no: NoQuestion | None
    """Set exactly when ``question`` is None."""


def detect(
    *, text: str, utterance_id: str, locale: str, catalog: Sequence[CatalogEntry]
) -> Detection:
    """The explicit product question in ``text``, or the reason there is none."""
    rules = load_locale(locale)
    whole, clauses = rules.split(text)
    if not whole:
        return _no(NoReason.NOT_A_QUESTION)
    kept = tuple(clause for clause in clauses if clause not in rules.hedges)
    vetted = " ".join(kept) if len(kept) != len(clauses) else whole
    word = rules.negation_in(vetted)
    if word is not None:
        return _no(NoReason.NEGATED, word)
    marker = rules.reported_in(vetted)
    if marker is not None:
        return _no(NoReason.REPORTED, marker)
    grammar = grammar_for(rules.name, tuple(catalog))
    candidates = kept  # never the whole text: a wildcard would run across clauses
    question: Question | None = None
    for index, clause in enumerate(candidates):
        found = grammar.match(clause)
        if found is None:
            continue
        if found.template.task is not None:
            # a task command anywhere wins: when in doubt, no offer
            return _no(NoReason.TASK_COMMAND, found.template.task, _cue(found, ()))
        if question is None:
            # the longer reading wins: "I need headphones, what do you recommend" is one question
            joined = _joined_question(grammar, candidates, index)
            question = _question(joined or found, grammar, utterance_id, catalog)
    if question is not None:
        return Detection(question, None)
    # A question said across two clauses ("I need new headphones, what do you recommend?",
    # "헤드폰 사려는데 뭐가 좋아?"): neighbouring clauses joined, question templates only.
    for first, second in itertools.pairwise(candidates):
        found = grammar.match(f"{first} {second}")
        if found is not None and found.template.kind is not None:
            return Detection(_question(found, grammar, utterance_id, catalog), None)
    for clause in candidates:
        plain = rules.without_inner_fillers(clause)
        found = grammar.match(plain) if plain != clause else None
        if found is not None and found.template.kind is not None:
            return Detection(_question(found, grammar, utterance_id, catalog), None)
    for clause in candidates:
        for shorter, dropped in grammar.without_modifiers(clause, rules.not_modifiers):
            found = grammar.match(shorter)
            if found is not None and found.template.kind is not None:
                described = _question(found, grammar, utterance_id, catalog)
                cue = f"{described.cue} (describing words {dropped!r} set aside)"
                return Detection(replace(described, cue=cue), None)
    for clause in candidates:
        loose = grammar.match_unknown_product(clause)
        if loose is not None:
            return _no(NoReason.NO_PRODUCT, loose.slot(PRODUCT) or "", _cue(loose, ()))
    return _no(NoReason.NOT_A_QUESTION)


def _joined_question(grammar: Grammar, clauses: Sequence[str], index: int) -> GrammarMatch | None:
    """The question template matching clause ``index`` joined with the next one, if any; only
    a reading without wildcards, so that no wildcard runs across two clauses."""
    if index + 1 >= len(clauses):
        return None
    found = grammar.match(f"{clauses[index]} {clauses[index + 1]}")
    if found is None or found.template.kind is None:
        return None
    return found if all(name == PRODUCT for name, _ in found.slots) else None


def detect_question(
    *, text: str, utterance_id: str, locale: str, catalog: Sequence[CatalogEntry]
) -> Question | None:
    """The explicit product question in ``text``, or None when there is none."""
    return detect(text=text, utterance_id=utterance_id, locale=locale, catalog=catalog).question


def _no(reason: NoReason, detail: str = "", template: str = "") -> Detection:
    return Detection(None, NoQuestion(reason, detail, template))


def _cue(found: GrammarMatch, ids: tuple[str, ...]) -> str:
    """The intent, the template and each slot's words: why a reviewer sees a question."""
    slots = ", ".join(
        f"{name}={words!r}" + (f" -> {ids[0]}" if name == PRODUCT and ids else "")
        for name, words in found.slots
    )
    return f"{found.template.intent}: {found.template.text}" + (f" [{slots}]" if slots else "")


def _question(
    found: GrammarMatch,
    grammar: Grammar,
    utterance_id: str,
    catalog: Sequence[CatalogEntry],
) -> Question:
    kind = found.template.kind
    words = found.slot(PRODUCT)
    if kind is None or kind is QuestionKind.BROWSE or words is None:
        return _browse(utterance_id, catalog, _cue(found, ()))
    ids = grammar.catalog_ids(words)
    return Question(utterance_id, kind, words, ids, _cue(found, ids))


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
