"""Locale data for the detector: negations, reported speech, hedges, fillers, commands, plurals.

The questions themselves are the hassil grammar (``policy/grammars/<locale>.yaml``, see
``policy/grammar.py``); this file's data decides what vetoes one and where clauses end.

Text is cut into clauses at sentence and clause punctuation (``. ! ? ; : , -- —`` and the
CJK forms), before the locale's conjunction words ("and", "so", "그래서"; the word goes) and
after its clause-final endings (Korean "-는데", "-으니까"; the word stays).

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

from askfirst.core.text import normalise
from askfirst.policy.errors import PolicyConfigError, UnknownLocaleError
from askfirst.policy.patterns import TOPIC, Pattern, PatternError, compile_pattern
from askfirst.policy.schema import LocaleModel
from askfirst.policy.validation import config_error

_LOCALE_NAME = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
_CLAUSE_BREAK = re.compile(r"[.?!;:,…。？！；：，、]+|\s-+\s|--+|[–—]+")


@dataclass(frozen=True, slots=True)
class Edges:
    """Phrases to strip from either end of a text, indexed by their first and last word."""

    by_first: dict[str, tuple[str, ...]]
    by_last: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, starts: tuple[str, ...], ends: tuple[str, ...]) -> Edges:
        """Strip ``starts`` at the start, ``ends`` at the end; of several phrases that share the
        word, the earlier is tried first."""
        by_first: dict[str, tuple[str, ...]] = {}
        by_last: dict[str, tuple[str, ...]] = {}
        for phrase in starts:
            first = phrase.split()[0]
            by_first[first] = (*by_first.get(first, ()), phrase)
        for phrase in ends:
            last = phrase.split()[-1]
            by_last[last] = (*by_last.get(last, ()), phrase)
        return cls(by_first, by_last)

    def strip(self, text: str) -> str:
        """``text`` without any of the phrases at its start or end, repeatedly."""
        while text:
            for phrase in self.by_first.get(text.partition(" ")[0], ()):
                if text == phrase:
                    return ""
                if text.startswith(phrase + " "):
                    text = text[len(phrase) + 1 :]
                    break
            else:
                break
        while text:
            for phrase in self.by_last.get(text.rpartition(" ")[2], ()):
                if text == phrase:
                    return ""
                if text.endswith(" " + phrase):
                    text = text[: -len(phrase) - 1]
                    break
            else:
                break
        return text


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
    conjunctions: dict[str, tuple[tuple[str, ...], ...]]
    """Words or phrases that start a new clause and belong to neither ("and", "so"): by first
    word, longest first."""
    clause_endings: tuple[str, ...]
    """Word endings that close a clause, the word kept in it (Korean "떨어졌*는데*")."""
    inflections: tuple[tuple[str, str], ...]
    min_stem: int
    inflection_passes: int
    hedges: frozenset[str]
    not_modifiers: frozenset[str]
    """Function words never set aside as describing words before a product ("on", "my")."""
    inner_fillers: tuple[str, ...]
    """Words said as filler inside a clause ("like" in "can you like recommend ..."), set aside
    only when the clause matches nothing as it was said."""
    """Whole clauses that hedge a question ("i am not sure") and so do not veto it."""
    commands: tuple[tuple[str, tuple[Pattern, ...]], ...]
    """(command name, its patterns), in file order."""
    clause_edges: Edges
    """Vocatives and leading fillers at a clause's start, vocatives and trailing fillers at its
    end."""
    topic_edges: Edges
    """Stop words and trailing fillers at either end of a topic."""

    def normalise(self, text: str) -> str:
        """The shared normaliser (``askfirst.core.text``) with this locale's language."""
        return normalise(text, language=self.name)

    def clauses(self, text: str) -> tuple[str, ...]:
        """The normalised clauses of ``text`` with vocatives and fillers stripped at both ends."""
        return self.split(text)[1]

    def split(self, text: str) -> tuple[str, tuple[str, ...]]:
        """``normalise(text)`` and ``clauses(text)``, normalising each piece only once."""
        pieces = [self.normalise(raw) for raw in _CLAUSE_BREAK.split(text)]
        found = []
        for piece in pieces:
            for words in self._split_words(piece.split()):
                clause = self.strip_edges(" ".join(words))
                if clause:
                    found.append(clause)
        return " ".join(piece for piece in pieces if piece), tuple(found)

    def _split_words(self, words: list[str]) -> list[list[str]]:
        parts: list[list[str]] = [[]]
        index = 0
        while index < len(words):
            word = words[index]
            phrases = self.conjunctions.get(word, ())
            phrase = next((p for p in phrases if _starts(words, index, p)), None)
            if phrase is not None:
                parts.append([])
                index += len(phrase)
                continue
            parts[-1].append(word)
            if word.endswith(self.clause_endings) and word not in self.clause_endings:
                parts.append([])
            index += 1
        return parts

    def strip_edges(self, clause: str) -> str:
        """Drop leading vocatives/fillers ("alexa", "hey") and trailing ones ("please")."""
        return self.clause_edges.strip(clause)

    def is_negated(self, normalised: str) -> bool:
        return self.negation_in(normalised) is not None

    def is_reported(self, normalised: str) -> bool:
        return self.reported_in(normalised) is not None

    def negation_in(self, normalised: str) -> str | None:
        """The first negation word or fragment in a normalised text, if any."""
        return _phrase_in(normalised, self.negations) or next(
            (fragment for fragment in self.negation_fragments if fragment in normalised), None
        )

    def reported_in(self, normalised: str) -> str | None:
        """The first reported-speech marker in a normalised text, if any."""
        return _phrase_in(normalised, self.reported_speech) or next(
            (f for f in self.reported_speech_fragments if f in normalised), None
        )

    def without_inner_fillers(self, clause: str) -> str:
        """The clause without its inner fillers (whole words or phrases), or as it was."""
        if not self.inner_fillers or _phrase_in(clause, self.inner_fillers) is None:
            return clause
        padded = f" {clause} "
        for phrase in self.inner_fillers:
            padded = padded.replace(f" {phrase} ", " ")
        return " ".join(padded.split())

    def clean_topic(self, topic: str) -> str:
        """The topic without leading or trailing stop words ("a good", "for me")."""
        return self.topic_edges.strip(topic)

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


def _check_no_clause_break(
    source: str,
    rules: LocaleRules,
    conjunctions: dict[str, tuple[tuple[str, ...], ...]],
    endings: tuple[str, ...],
) -> None:
    """A pattern is matched within one clause, so a clause break inside it could never match."""
    words = rules.normalise(source.replace(TOPIC, " ").replace("|", " ")).split()
    for index, word in enumerate(words):
        if any(_starts(words, index, phrase) for phrase in conjunctions.get(word, ())):
            raise PatternError(f"expected no conjunction in a pattern, got {word!r} in {source!r}")
        if word.endswith(endings) and word not in endings:
            raise PatternError(
                f"expected no clause-final ending in a pattern, got {word!r} in {source!r}"
            )


def _starts(words: list[str], index: int, phrase: tuple[str, ...]) -> bool:
    return tuple(words[index : index + len(phrase)]) == phrase


def _phrase_in(text: str, phrases: tuple[str, ...]) -> str | None:
    padded = f" {text} "
    return next((phrase for phrase in phrases if f" {phrase} " in padded), None)


@functools.cache
def available_locales() -> tuple[str, ...]:
    """The locales that have a data file, sorted."""
    folder = resources.files("askfirst.policy.locales")
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
    text = resources.files("askfirst.policy.locales").joinpath(f"{name}.toml").read_text("utf-8")
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
        conjunctions={},
        clause_endings=(),
        inflections=tuple((item.suffix, item.replace) for item in model.inflections),
        min_stem=model.min_stem,
        inflection_passes=model.inflection_passes,
        hedges=frozenset(),
        not_modifiers=frozenset(),
        inner_fillers=(),
        commands=(),
        clause_edges=Edges({}, {}),
        topic_edges=Edges({}, {}),
    )

    def phrases(items: list[str]) -> tuple[str, ...]:
        return _by_length(tuple(filter(None, (rules.normalise(item) for item in items))))

    vocatives = phrases(model.vocatives)
    leading_fillers = phrases(model.leading_fillers)
    trailing_fillers = phrases(model.trailing_fillers)
    topic_stopwords = phrases(model.topic_stopwords)
    conjunctions: dict[str, tuple[tuple[str, ...], ...]] = {}
    for phrase in phrases(model.conjunctions):
        words = tuple(phrase.split())
        conjunctions[words[0]] = (*conjunctions.get(words[0], ()), words)
    clause_endings = tuple(item.casefold() for item in model.clause_endings)

    def compile_all(items: list[str], field: str) -> tuple[Pattern, ...]:
        compiled = []
        for index, item in enumerate(items):
            try:
                compiled.append(compile_pattern(item, rules.normalise))
                _check_no_clause_break(item, rules, conjunctions, clause_endings)
            except PatternError as exc:
                raise PolicyConfigError(source, f"{field}[{index}]", str(exc)) from exc
        return tuple(compiled)

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
        vocatives=vocatives,
        leading_fillers=leading_fillers,
        trailing_fillers=trailing_fillers,
        negations=phrases(model.negations),
        negation_fragments=tuple(item.casefold() for item in model.negation_fragments),
        reported_speech=phrases(model.reported_speech),
        reported_speech_fragments=tuple(
            item.casefold() for item in model.reported_speech_fragments
        ),
        topic_stopwords=topic_stopwords,
        vague_topics=frozenset(phrases(model.vague_topics)),
        topic_joiners=frozenset(phrases(model.topic_joiners)),
        conjunctions=conjunctions,
        clause_endings=clause_endings,
        inflections=rules.inflections,
        min_stem=rules.min_stem,
        inflection_passes=rules.inflection_passes,
        hedges=frozenset(phrases(model.hedges)),
        not_modifiers=frozenset(phrases(model.not_modifiers)),
        inner_fillers=tuple(sorted(phrases(model.inner_fillers), key=len, reverse=True)),
        commands=tuple(commands),
        clause_edges=Edges.of(vocatives + leading_fillers, vocatives + trailing_fillers),
        topic_edges=Edges.of(
            topic_stopwords + trailing_fillers, topic_stopwords + trailing_fillers
        ),
    )
