"""Locale data for the detector: cues, negations, reported speech, fillers, plural rules.

Each locale is one TOML file in ``policy/locales/``; adding a locale means adding a file.
A locale without its own file falls back to another of the same language (en-GB -> en-US).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from pydantic import ValidationError

from policy.errors import PolicyConfigError, UnknownLocaleError
from policy.patterns import Pattern, PatternError, compile_pattern
from policy.schema import LocaleModel
from policy.validation import config_error
from policy.values import QuestionKind

_LOCALE_NAME = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
_NON_WORD = re.compile(r"[^\w\s']+")
_CLAUSE_BREAK = re.compile(r"[.?!;。？！]+")


@dataclass(frozen=True, slots=True)
class Cue:
    """A compiled question pattern with what it means."""

    pattern: Pattern
    kind: QuestionKind
    needs_catalog_match: bool
    """True for generic wording ("do you have X") that is a product question only when X
    names something in the catalog; False for wording that is commercial by itself."""


@dataclass(frozen=True, slots=True)
class LocaleRules:
    """Everything the detector knows about one locale, compiled."""

    name: str
    vocatives: tuple[str, ...]
    leading_fillers: tuple[str, ...]
    trailing_fillers: tuple[str, ...]
    negations: tuple[str, ...]
    negation_fragments: tuple[str, ...]
    reported_speech: tuple[str, ...]
    reported_speech_fragments: tuple[str, ...]
    topic_stopwords: tuple[str, ...]
    vague_topics: frozenset[str]
    topic_joiners: frozenset[str]
    """Words that may follow a catalog term inside a longer topic ("headphones *for* running")."""
    contractions: dict[str, str]
    suffix_expansions: tuple[tuple[str, str], ...]
    inflections: tuple[tuple[str, str], ...]
    min_stem: int
    inflection_passes: int
    cues: tuple[Cue, ...]
    commands: tuple[tuple[str, tuple[Pattern, ...]], ...]
    """(command name, its patterns), in file order."""

    def normalise(self, text: str) -> str:
        """Casefold, drop punctuation, expand contractions; words joined by single spaces."""
        lowered = text.casefold().replace("\u2019", "'").replace("\u2018", "'")
        words: list[str] = []
        for raw in _NON_WORD.sub(" ", lowered).split():
            word = raw.strip("'")
            if not word:
                continue
            expanded = self.contractions.get(word)
            if expanded is None:
                expanded = word
                for suffix, replacement in self.suffix_expansions:
                    if word.endswith(suffix) and len(word) > len(suffix):
                        expanded = word[: -len(suffix)] + replacement
                        break
            words.append(expanded)
        return " ".join(" ".join(words).split())

    def clauses(self, text: str) -> tuple[str, ...]:
        """The normalised clauses of ``text`` with vocatives and fillers stripped at both ends."""
        found = []
        for raw in _CLAUSE_BREAK.split(text):
            clause = self.strip_edges(self.normalise(raw))
            if clause:
                found.append(clause)
        return tuple(found)

    def strip_edges(self, clause: str) -> str:
        """Drop leading vocatives/fillers ("alexa", "hey") and trailing ones ("please")."""
        clause = _strip_start(clause, self.vocatives + self.leading_fillers)
        return _strip_end(clause, self.vocatives + self.trailing_fillers)

    def is_negated(self, normalised: str) -> bool:
        return _has_phrase(normalised, self.negations) or any(
            fragment in normalised for fragment in self.negation_fragments
        )

    def is_reported(self, normalised: str) -> bool:
        return _has_phrase(normalised, self.reported_speech) or any(
            fragment in normalised for fragment in self.reported_speech_fragments
        )

    def clean_topic(self, topic: str) -> str:
        """The topic without leading or trailing stop words ("a good", "for me")."""
        stops = self.topic_stopwords + self.trailing_fillers
        return _strip_end(_strip_start(topic, stops), stops)

    def stem(self, word: str) -> str:
        """The word with a plural ending or particle removed, by the locale's suffix rules."""
        for _ in range(self.inflection_passes):
            for suffix, replacement in self.inflections:
                if word.endswith(suffix) and len(word) - len(suffix) >= self.min_stem:
                    word = word[: -len(suffix)] + replacement
                    break
            else:
                break
        return word


def _by_length(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(phrases), key=lambda phrase: (-len(phrase), phrase)))


def _strip_start(text: str, phrases: tuple[str, ...]) -> str:
    changed = True
    while changed and text:
        changed = False
        for phrase in phrases:
            if text == phrase:
                return ""
            if text.startswith(phrase + " "):
                text = text[len(phrase) + 1 :]
                changed = True
                break
    return text


def _strip_end(text: str, phrases: tuple[str, ...]) -> str:
    changed = True
    while changed and text:
        changed = False
        for phrase in phrases:
            if text == phrase:
                return ""
            if text.endswith(" " + phrase):
                text = text[: -len(phrase) - 1]
                changed = True
                break
    return text


def _has_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {text} "
    return any(f" {phrase} " in padded for phrase in phrases)


@functools.cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a data file, sorted."""
    folder = resources.files("policy.locales")
    names = (item.name.removesuffix(".toml") for item in folder.iterdir())
    return tuple(sorted(name for name in names if _LOCALE_NAME.match(name)))


def resolve_locale(locale: str) -> str:
    """The data file's locale for ``locale``: itself, or one of the same language."""
    available = available_locales()
    if locale in available:
        return locale
    language = re.split(r"[-_]", locale, maxsplit=1)[0].lower()
    for name in available:
        if name.split("-")[0] == language:
            return name
    raise UnknownLocaleError(locale, available)


@functools.lru_cache(maxsize=16)
def load_locale(locale: str) -> LocaleRules:
    """The compiled rules for ``locale`` (cached; the files ship with the package)."""
    name = resolve_locale(locale)
    source = f"policy/locales/{name}.toml"
    text = resources.files("policy.locales").joinpath(f"{name}.toml").read_text("utf-8")
    return parse_locale(text, source=source)


def parse_locale(text: str, *, source: str) -> LocaleRules:
    """Validate and compile one locale file's text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyConfigError(source, None, f"expected TOML, got a syntax error: {exc}") from exc
    try:
        model = LocaleModel.model_validate(raw)
    except ValidationError as exc:
        raise config_error(source, exc) from exc
    return _compile(model, source)


def _compile(model: LocaleModel, source: str) -> LocaleRules:
    rules = LocaleRules(
        name=model.locale,
        vocatives=(),
        leading_fillers=(),
        trailing_fillers=(),
        negations=(),
        negation_fragments=(),
        reported_speech=(),
        reported_speech_fragments=(),
        topic_stopwords=(),
        vague_topics=frozenset(),
        topic_joiners=frozenset(),
        contractions={key.casefold(): text.casefold() for key, text in model.contractions.items()},
        suffix_expansions=tuple(model.suffix_expansions.items()),
        inflections=tuple((item.suffix, item.replace) for item in model.inflections),
        min_stem=model.min_stem,
        inflection_passes=model.inflection_passes,
        cues=(),
        commands=(),
    )

    def phrases(items: list[str]) -> tuple[str, ...]:
        return _by_length(tuple(filter(None, (rules.normalise(item) for item in items))))

    def compile_all(items: list[str], field: str) -> tuple[Pattern, ...]:
        compiled = []
        for index, item in enumerate(items):
            try:
                compiled.append(compile_pattern(item, rules.normalise))
            except PatternError as exc:
                raise PolicyConfigError(source, f"{field}[{index}]", str(exc)) from exc
        return tuple(compiled)

    cues: list[Cue] = []
    for index, cue in enumerate(model.cues):
        kind = QuestionKind(cue.kind)
        for position, pattern in enumerate(compile_all(cue.patterns, f"cues[{index}].patterns")):
            if pattern.has_topic is (kind is QuestionKind.BROWSE):
                wanted = "no {topic}" if kind is QuestionKind.BROWSE else "one {topic}"
                raise PolicyConfigError(
                    source,
                    f"cues[{index}].patterns[{position}]",
                    f"expected {wanted} for kind {kind.value!r}, got {pattern.source!r}",
                )
            cues.append(Cue(pattern, kind, cue.needs_catalog_match))
    commands = []
    for command in ("opt_out", "opt_in", "why"):
        patterns = compile_all(getattr(model.commands, command), f"commands.{command}")
        for position, pattern in enumerate(patterns):
            if pattern.has_topic:
                raise PolicyConfigError(
                    source,
                    f"commands.{command}[{position}]",
                    f"expected a pattern without {{topic}}, got {pattern.source!r}",
                )
        commands.append((command, patterns))
    return LocaleRules(
        name=model.locale,
        vocatives=phrases(model.vocatives),
        leading_fillers=phrases(model.leading_fillers),
        trailing_fillers=phrases(model.trailing_fillers),
        negations=phrases(model.negations),
        negation_fragments=tuple(item.casefold() for item in model.negation_fragments),
        reported_speech=phrases(model.reported_speech),
        reported_speech_fragments=tuple(
            item.casefold() for item in model.reported_speech_fragments
        ),
        topic_stopwords=phrases(model.topic_stopwords),
        vague_topics=frozenset(phrases(model.vague_topics)),
        topic_joiners=frozenset(phrases(model.topic_joiners)),
        contractions=rules.contractions,
        suffix_expansions=rules.suffix_expansions,
        inflections=rules.inflections,
        min_stem=rules.min_stem,
        inflection_passes=rules.inflection_passes,
        cues=tuple(cues),
        commands=tuple(commands),
    )
