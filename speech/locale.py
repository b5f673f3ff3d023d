"""Speech locales as data: wake words, spotting competitors and addressing cues per language.

Each locale is one TOML file in ``speech/locales/<code>.toml``; a new language is a new file,
not new code. Every word list is compared after ``fold`` (NFKC, case-folded, one apostrophe),
the shared normaliser's light form (``askfirst.core.text``).
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from importlib import resources

from askfirst.core.text import fold
from askfirst.speech.errors import SpeechError

logger = logging.getLogger(__name__)

DEFAULT_SPOT_SECONDS = 2.0
"""How much of an utterance's opening the wake-word spotter decodes, unless a locale says."""
MAX_SPOT_SECONDS = 10.0


class LocaleError(SpeechError):
    """An unknown locale, or a locale file that is not what askfirst expects."""

    code = "bad_locale"


@dataclass(frozen=True, slots=True)
class SpeechLocale:
    """Everything language-specific that tagging needs; all words already folded."""

    code: str
    """BCP 47 tag, e.g. "en-US"."""
    name: str
    wake_words: tuple[str, ...]
    """Active wake words, the default first; a wake word may be several words."""
    alternate_wake_words: tuple[str, ...]
    """Wake words a deployment may switch on with ``with_wake_words``."""
    wake_prefixes: tuple[str, ...]
    """Words that may come before the wake word and still leave it at the start ("hey")."""
    competing_phrases: tuple[str, ...]
    """Sound-alikes put in the spotting grammar so the wake word is not forced on noise."""
    pause_marks: tuple[str, ...]
    """Punctuation after the wake word that marks a vocative pause ("Alexa, ...")."""
    question_marks: tuple[str, ...]
    """Punctuation that, ending the utterance, makes it a question."""
    vocative_suffixes: tuple[str, ...]
    """Endings glued to the wake word that address it (Korean "아리아야")."""
    about_suffixes: tuple[str, ...]
    """Endings glued to the wake word that talk about it ("alexa's", Korean "아리아가")."""
    address_openers: tuple[str, ...]
    """Words or phrases that, right after the wake word, ask or command ("what", "find")."""
    about_words: tuple[str, ...]
    """Words that, right after the wake word, talk about it ("is", "said", "keeps")."""
    address_endings: tuple[str, ...]
    """Endings of the last word that make a request or question (Korean "줘", "까")."""
    reported_speech_words: tuple[str, ...]
    """Words shortly before a wake word that report speech ("told", "asked", "said")."""
    reported_speech_suffixes: tuple[str, ...]
    """Word endings that quote speech (Korean "라고", "다고")."""
    spot_seconds: float = DEFAULT_SPOT_SECONDS
    """How many opening seconds of the audio the wake-word spotter decodes."""

    def __repr__(self) -> str:
        return f"SpeechLocale(code={self.code!r}, wake_words={self.wake_words!r})"

    def with_wake_words(self, words: Sequence[str]) -> SpeechLocale:
        """This locale listening for ``words`` instead of its default wake words."""
        if isinstance(words, str) or not words:
            raise LocaleError(f"wake words: expected a non-empty list of words, got {words!r}")
        folded = _strings(list(words), field="wake_words", source=self.code, allow_empty=False)
        return replace(self, wake_words=folded)

    @property
    def spotting_phrases(self) -> tuple[str, ...]:
        """The grammar for wake-word spotting: the wake words, then their competitors."""
        return self.wake_words + tuple(
            p for p in self.competing_phrases if p not in self.wake_words
        )


_SCALAR_FIELDS = ("code", "name", "spot_seconds")
_LIST_FIELDS = tuple(f.name for f in fields(SpeechLocale) if f.name not in _SCALAR_FIELDS)
_OPTIONAL_FIELDS = frozenset({"spot_seconds"})
_MAY_BE_EMPTY = frozenset(
    {
        "alternate_wake_words",
        "wake_prefixes",
        "vocative_suffixes",
        "about_suffixes",
        "address_endings",
        "reported_speech_words",
        "reported_speech_suffixes",
        "question_marks",
    }
)


def _strings(value: object, *, field: str, source: str, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise LocaleError(f"{source}: {field}: expected a list of strings, got {value!r}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not fold(item):
            raise LocaleError(
                f"{source}: {field}: expected non-empty strings, got the item {item!r}"
            )
        word = fold(item)
        if word not in out:
            out.append(word)
    if not out and not allow_empty:
        raise LocaleError(f"{source}: {field}: expected at least one entry, got an empty list")
    return tuple(out)


def parse_locale(text: str, *, source: str) -> SpeechLocale:
    """Build a locale from TOML ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocaleError(f"{source}: expected valid TOML, got a syntax error: {exc}") from None
    expected = {*_SCALAR_FIELDS, *_LIST_FIELDS}
    unknown = sorted(set(data) - expected)
    if unknown:
        raise LocaleError(f"{source}: expected only the keys {sorted(expected)!r}, got {unknown!r}")
    missing = sorted(expected - _OPTIONAL_FIELDS - set(data))
    if missing:
        raise LocaleError(f"{source}: missing required keys {missing!r}")
    for key in ("code", "name"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise LocaleError(f"{source}: {key}: expected a non-empty string, got {data[key]!r}")
    lists = {
        key: _strings(data[key], field=key, source=source, allow_empty=key in _MAY_BE_EMPTY)
        for key in _LIST_FIELDS
    }
    clash = sorted(set(lists["address_openers"]) & set(lists["about_words"]))
    if clash:
        raise LocaleError(
            f"{source}: expected address_openers and about_words to be disjoint, "
            f"got both containing {clash!r}"
        )
    return SpeechLocale(
        code=data["code"],
        name=data["name"],
        spot_seconds=_spot_seconds(data.get("spot_seconds", DEFAULT_SPOT_SECONDS), source=source),
        **lists,
    )


def _spot_seconds(value: object, *, source: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_SPOT_SECONDS
    ):
        raise LocaleError(
            f"{source}: spot_seconds: expected a number of seconds in (0, {MAX_SPOT_SECONDS}],"
            f" got {value!r}"
        )
    return float(value)


def known_locales() -> tuple[str, ...]:
    """Codes of the locales bundled in ``speech/locales``."""
    folder = resources.files("askfirst.speech.locales")
    return tuple(
        sorted(
            entry.name.removesuffix(".toml")
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        )
    )


@functools.cache
def load_locale(code: str) -> SpeechLocale:
    """The bundled locale ``code`` (case-insensitive; "en_US" works too), loaded once."""
    known = known_locales()
    wanted = str(code).replace("_", "-").casefold()
    match = next((k for k in known if k.casefold() == wanted), None)
    if match is None:
        raise LocaleError(f"locale: expected one of {list(known)!r}, got {code!r}")
    resource = resources.files("askfirst.speech.locales").joinpath(f"{match}.toml")
    locale = parse_locale(resource.read_text(encoding="utf-8"), source=f"{match}.toml")
    if locale.code != match:
        raise LocaleError(f"{match}.toml: code: expected {match!r}, got {locale.code!r}")
    logger.debug("loaded speech locale %s", match)
    return locale
