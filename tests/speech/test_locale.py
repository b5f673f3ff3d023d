"""Speech locales: the bundled TOML files, the unknown-locale error, and a third locale as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import askfirst.speech
from askfirst.core.capture import CaptureContext, Trigger
from askfirst.speech.locale import (
    DEFAULT_SPOT_SECONDS,
    MAX_SPOT_SECONDS,
    LocaleError,
    known_locales,
    load_locale,
    parse_locale,
)
from askfirst.speech.tagging import tag_utterance

LOCALES_DIR = Path(askfirst.speech.__file__).parent / "locales"


def test_bundled_locales() -> None:
    assert known_locales() == ("en-US", "ko-KR")
    en = load_locale("en-US")
    assert en.wake_words == ("alexa",)
    assert {"echo", "computer", "amazon"} <= set(en.alternate_wake_words)
    ko = load_locale("ko-KR")
    assert ko.wake_words == ("아리아",)
    assert {"아리랑", "마리아", "알려줘", "아리수"} <= set(ko.competing_phrases)
    assert ko.spotting_phrases[0] == "아리아"
    assert "아리아" not in ko.spotting_phrases[1:]
    assert en.spot_seconds == DEFAULT_SPOT_SECONDS == 2.0
    assert 0 < ko.spot_seconds <= MAX_SPOT_SECONDS


def test_loading_is_cached_and_forgiving_about_spelling() -> None:
    assert load_locale("ko-KR") is load_locale("ko-KR")
    assert load_locale("en_us") == load_locale("en-US")


def test_unknown_locale_names_the_known_ones() -> None:
    with pytest.raises(
        LocaleError, match=r"locale: expected one of \['en-US', 'ko-KR'\], got 'fr-FR'"
    ) as info:
        load_locale("fr-FR")
    assert info.value.code == "bad_locale"


def test_alternate_wake_words_are_switched_on_explicitly() -> None:
    en = load_locale("en-US").with_wake_words(["Computer", "alexa"])
    assert en.wake_words == ("computer", "alexa")
    assert load_locale("en-US").wake_words == ("alexa",)
    with pytest.raises(LocaleError, match=r"expected a non-empty list of words, got \[\]"):
        en.with_wake_words([])
    with pytest.raises(LocaleError, match=r"expected a non-empty list of words, got 'echo'"):
        en.with_wake_words("echo")


def test_a_multi_word_alternate_wake_word_tags_like_the_default() -> None:
    en = load_locale("en-US").with_wake_words(["hey computer"])
    capture = CaptureContext(
        trigger=Trigger.NONE,
        device_id="d",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=1),
    )
    result = tag_utterance(
        capture=capture,
        text="Hey computer, find me shoes",
        locale=en,
        window=None,
        wake_word_spotted=None,
        broadcast=False,
    )
    assert result.reasons == ("wake_word_addressed",)
    result = tag_utterance(
        capture=capture,
        text="alexa find me shoes",
        locale=en,
        window=None,
        wake_word_spotted=None,
        broadcast=False,
    )
    assert result.reasons == ("no_trigger",)


GERMAN = """
code = "de-DE"
name = "Deutsch"
wake_words = ["Alexa"]
alternate_wake_words = []
wake_prefixes = ["hey"]
competing_phrases = ["alex", "alexander"]
pause_marks = [","]
question_marks = ["?"]
vocative_suffixes = []
about_suffixes = ["s"]
address_openers = ["was", "wie", "zeig", "such", "finde", "hast du", "gibt es"]
about_words = ["ist", "hat", "sagt", "nervt"]
address_endings = []
reported_speech_words = ["gesagt", "gefragt", "sagte"]
reported_speech_suffixes = []
"""


def test_a_third_locale_is_one_data_file() -> None:
    de = parse_locale(GERMAN, source="de-DE.toml")
    capture = CaptureContext(
        trigger=Trigger.NONE,
        device_id="d",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 1, tzinfo=UTC),
    )

    def reasons(text: str) -> tuple[str, ...]:
        return tag_utterance(
            capture=capture,
            text=text,
            locale=de,
            window=None,
            wake_word_spotted=None,
            broadcast=False,
        ).reasons

    assert reasons("Alexa, gibt es Angebote für Kaffee?") == ("wake_word_addressed",)
    assert reasons("Alexa nervt total") == ("talk_about_assistant",)
    assert reasons("ich habe Alexa gefragt") == ("wake_word_not_at_start",)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('code = "de-DE"', "code = 7"), r"de.toml: code: expected a non-empty string, got 7"),
        (
            ('wake_words = ["Alexa"]', "wake_words = []"),
            r"de.toml: wake_words: expected at least one entry, got an empty list",
        ),
        (
            ('wake_words = ["Alexa"]', 'wake_words = "Alexa"'),
            r"de.toml: wake_words: expected a list of strings, got 'Alexa'",
        ),
        (
            ('competing_phrases = ["alex", "alexander"]', 'competing_phrases = ["alex", 3]'),
            r"competing_phrases: expected non-empty strings, got the item 3",
        ),
        (
            ('pause_marks = [","]', 'pause_marks = [","]\nshout = []'),
            r"expected only the keys .*, got \['shout'\]",
        ),
        (('question_marks = ["?"]\n', ""), r"de.toml: missing required keys \['question_marks'\]"),
        (
            ('about_words = ["ist",', 'about_words = ["was", "ist",'),
            r"expected address_openers and about_words to be disjoint, "
            r"got both containing \['was'\]",
        ),
        (('name = "Deutsch"', "name = "), r"de.toml: expected valid TOML, got a syntax error"),
        *(
            (
                ('name = "Deutsch"', f'name = "Deutsch"\nspot_seconds = {bad}'),
                rf"de.toml: spot_seconds: expected a number of seconds in \(0, 10.0\], got {got}",
            )
            for bad, got in [
                ("0", "0"),
                ("-1.5", "-1.5"),
                ("10.5", "10.5"),
                ("nan", "nan"),
                ("inf", "inf"),
                ("true", "True"),
                ('"2"', "'2'"),
            ]
        ),
    ],
)
def test_bad_locale_files_are_refused_clearly(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GERMAN
    with pytest.raises(LocaleError, match=expected):
        parse_locale(GERMAN.replace(old, new), source="de.toml")


def test_spot_seconds_is_optional_and_read_when_given() -> None:
    assert parse_locale(GERMAN, source="de.toml").spot_seconds == DEFAULT_SPOT_SECONDS
    de = parse_locale(GERMAN + "spot_seconds = 1\n", source="de.toml")
    assert de.spot_seconds == 1.0 and isinstance(de.spot_seconds, float)
    assert de.with_wake_words(["computer"]).spot_seconds == 1.0


@pytest.mark.parametrize("path", sorted(LOCALES_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_file_parses_and_is_named_for_its_code(path: Path) -> None:
    locale = parse_locale(path.read_text(encoding="utf-8"), source=path.name)
    assert f"{locale.code}.toml" == path.name
    assert locale.wake_words[0] not in locale.competing_phrases
