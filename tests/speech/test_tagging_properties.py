"""Invariants of tagging over generated transcripts, triggers, windows and broadcast flags."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.tags import UtteranceTag
from askfirst.core.text import fold
from askfirst.core.windows import ListeningWindow, open_window, window_admits
from askfirst.speech.locale import SpeechLocale, load_locale
from askfirst.speech.tagging import PROMPTING_REASONS, TagReason, TagResult, tag_utterance

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DEVICE = "d1"
EN = load_locale("en-US")
KO = load_locale("ko-KR")

VOCAB = sorted(
    {
        *EN.wake_words,
        *EN.wake_prefixes,
        *EN.address_openers,
        *EN.about_words,
        *EN.reported_speech_words,
        *EN.competing_phrases,
        *KO.wake_words,
        *KO.wake_prefixes,
        *KO.address_openers,
        *KO.about_words,
        *KO.reported_speech_words,
        *KO.competing_phrases,
        "alexa's",
        "Alexa,",
        "ALEXA!",
        "alexa?",
        "아리아가",
        "아리아야",
        "아리아한테",
        "아리아,",
        "추천해",
        "줘",
        "달라고",
        "coffee",
        "shoes",
        "deals",
        "me",
        "a",
        "on",
        ",",
        "?",
        "!",
        "...",
    }
)
words = st.one_of(
    st.sampled_from(VOCAB),
    st.text(max_size=8),
)
texts = st.lists(words, max_size=8).map(" ".join)
locales = st.sampled_from([EN, KO])
spots = st.sampled_from([None, True, False])
WINDOW_CASES = {
    "open": -3.0,
    "expired": -9.0,
    "at_expiry": -8.0,
    "early": 1.0,
}
windows = st.sampled_from([None, "open", "expired", "at_expiry", "early", "other"])


def make_window(case: str | None) -> ListeningWindow | None:
    if case is None:
        return None
    device = "other-device" if case == "other" else DEVICE
    offset = WINDOW_CASES.get(case, -1.0)
    return open_window(
        window_id="w1", device_id=device, prompt_ended_at=T0 + timedelta(seconds=offset)
    )


def tag(
    trigger: Trigger,
    text: str,
    locale: SpeechLocale,
    *,
    window: ListeningWindow | None = None,
    spotted: bool | None = None,
    broadcast: bool = False,
) -> TagResult:
    capture = CaptureContext(
        trigger=trigger, device_id=DEVICE, start=T0, end=T0 + timedelta(seconds=2)
    )
    return tag_utterance(
        capture=capture,
        text=text,
        locale=locale,
        window=window,
        wake_word_spotted=spotted,
        broadcast=broadcast,
    )


def plain_words(text: str) -> list[str]:
    """An independent, simpler reading: folded words with marks turned into spaces."""
    cleaned = "".join(
        " " if unicodedata.category(ch)[0] in "PSZC" and ch != "'" else ch for ch in fold(text)
    )
    return [w.strip("'") for w in cleaned.split() if w.strip("'")]


def opens_with_wake_word_and_more(text: str, locale: SpeechLocale) -> bool:
    """The addressing precondition: a (possibly vocative) wake word first, then more words."""
    ws = plain_words(text)
    for start in range(len(ws)):
        for wake in locale.wake_words:
            parts = wake.split()
            head = ws[start : start + len(parts)]
            if (
                head[:-1] == parts[:-1]
                and head
                and head[-1]
                in {
                    parts[-1],
                    *(parts[-1] + s for s in locale.vocative_suffixes),
                }
            ):
                return len(ws) > start + len(parts)
        if ws[start] not in locale.wake_prefixes:
            return False
    return False


def check_shape(result: TagResult) -> None:
    assert result.reasons, "every tag carries at least one reason"
    assert all(r in {t.value for t in TagReason} for r in result.reasons)
    assert len(set(result.reasons)) == len(result.reasons)
    if result.tag is UtteranceTag.PROMPTED:
        assert len(result.reasons) == 1 and result.reasons[0] in PROMPTING_REASONS
    else:
        assert not PROMPTING_REASONS.intersection(result.reasons)
        assert result.window_used is None
    assert (result.window_used is not None) == (result.reasons == ("follow_up_in_window",))


@settings(max_examples=1000, deadline=None)
@given(text=texts, locale=locales, spotted=spots)
def test_continuous_capture_is_prompted_only_by_an_addressing_opening_wake_word(
    text: str, locale: SpeechLocale, spotted: bool | None
) -> None:
    result = tag(Trigger.NONE, text, locale, spotted=spotted)
    check_shape(result)
    if result.prompted:
        assert result.reasons == ("wake_word_addressed",)
        assert opens_with_wake_word_and_more(text, locale)
        assert spotted is not False


@settings(max_examples=1000, deadline=None)
@given(text=texts, locale=locales, spotted=spots, case=windows)
def test_a_follow_up_is_never_prompted_without_an_admitting_window(
    text: str, locale: SpeechLocale, spotted: bool | None, case: str | None
) -> None:
    window = make_window(case)
    result = tag(Trigger.FOLLOW_UP, text, locale, window=window, spotted=spotted)
    check_shape(result)
    refused = window_admits(window, device_id=DEVICE, at=T0)
    if refused is not None:
        assert not result.prompted
        assert result.reasons in {(refused,), ("empty_transcript",)}
    if result.prompted:
        assert window is not None and result.window_used == window.id


@settings(max_examples=1000, deadline=None)
@given(
    text=texts,
    locale=locales,
    spotted=spots,
    case=windows,
    trigger=st.sampled_from(list(Trigger)),
)
def test_broadcast_is_never_prompted_except_push_to_talk(
    text: str, locale: SpeechLocale, spotted: bool | None, case: str | None, trigger: Trigger
) -> None:
    window = make_window(case)
    heard_alone = tag(trigger, text, locale, window=window, spotted=spotted)
    broadcast = tag(trigger, text, locale, window=window, spotted=spotted, broadcast=True)
    check_shape(broadcast)
    if trigger is Trigger.PUSH_TO_TALK:
        assert broadcast == heard_alone
    else:
        assert not broadcast.prompted
        assert broadcast.reasons[-1] == "broadcast"
        if not heard_alone.prompted:
            assert broadcast.reasons == (*heard_alone.reasons, "broadcast")


@settings(max_examples=1000, deadline=None)
@given(text=texts, locale=locales, trigger=st.sampled_from([Trigger.WAKE_WORD, Trigger.NONE]))
def test_a_failed_spotting_is_never_prompted(
    text: str, locale: SpeechLocale, trigger: Trigger
) -> None:
    result = tag(trigger, text, locale, spotted=False)
    check_shape(result)
    assert not result.prompted
    if trigger is Trigger.WAKE_WORD:
        assert result.reasons[0] in {"false_trigger", "empty_transcript"}


@settings(max_examples=1000, deadline=None)
@given(text=texts, locale=locales, spotted=spots, case=windows, b=st.booleans())
def test_transcripts_only_downgrade_what_the_capture_events_allow(
    text: str, locale: SpeechLocale, spotted: bool | None, case: str | None, b: bool
) -> None:
    """Prompted needs a qualifying capture event; the same text can't rescue a failed one."""
    window = make_window(case)
    for trigger in Trigger:
        result = tag(trigger, text, locale, window=window, spotted=spotted, broadcast=b)
        check_shape(result)
        if not result.prompted:
            continue
        if trigger is Trigger.WAKE_WORD:
            assert spotted is True or (
                spotted is None and opens_with_wake_word_or_bare(text, locale)
            )
        if trigger is Trigger.FOLLOW_UP:
            assert window_admits(window, device_id=DEVICE, at=T0) is None
        if trigger is not Trigger.PUSH_TO_TALK:
            assert not b
        assert plain_words(text), "an empty transcript is never prompted"


def opens_with_wake_word_or_bare(text: str, locale: SpeechLocale) -> bool:
    return opens_with_wake_word_and_more(text + " x", locale)


@settings(max_examples=1000, deadline=None)
@given(
    text=texts,
    locale=locales,
    spotted=spots,
    case=windows,
    trigger=st.sampled_from(list(Trigger)),
    b=st.booleans(),
)
def test_tagging_is_deterministic(
    text: str,
    locale: SpeechLocale,
    spotted: bool | None,
    case: str | None,
    trigger: Trigger,
    b: bool,
) -> None:
    window = make_window(case)
    first = tag(trigger, text, locale, window=window, spotted=spotted, broadcast=b)
    second = tag(trigger, text, locale, window=window, spotted=spotted, broadcast=b)
    assert first == second
    check_shape(first)
