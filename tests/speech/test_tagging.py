"""Table-driven tagging tests over every capture-context case, en-US and ko-KR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.tags import UtteranceTag
from askfirst.core.windows import ListeningWindow, open_window
from askfirst.speech.audio import Audio
from askfirst.speech.errors import SpeechError
from askfirst.speech.locale import load_locale
from askfirst.speech.tagging import (
    TaggingError,
    TagReason,
    TagResult,
    tag_utterance,
    wake_word_opens,
)
from tests.speech.fakes import FakeTranscriber

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DEVICE = "kitchen-echo"
P = UtteranceTag.PROMPTED
A = UtteranceTag.AMBIENT
R = TagReason


def window_for(case: str) -> ListeningWindow | None:
    """The window the store would hand out, relative to an utterance starting at T0."""
    if case == "none":
        return None
    if case == "open":
        return open_window(
            window_id="w1", device_id=DEVICE, prompt_ended_at=T0 - timedelta(seconds=3)
        )
    if case == "expired":
        return open_window(
            window_id="w1", device_id=DEVICE, prompt_ended_at=T0 - timedelta(seconds=9)
        )
    if case == "at_expiry":
        return open_window(
            window_id="w1", device_id=DEVICE, prompt_ended_at=T0 - timedelta(seconds=8)
        )
    if case == "other":
        return open_window(
            window_id="w1", device_id="bedroom", prompt_ended_at=T0 - timedelta(seconds=1)
        )
    if case == "early":
        return open_window(
            window_id="w1", device_id=DEVICE, prompt_ended_at=T0 + timedelta(seconds=1)
        )
    raise AssertionError(f"unknown window case {case!r}")


@dataclass(frozen=True)
class Row:
    id: str
    locale: str
    trigger: Trigger
    text: str
    tag: UtteranceTag
    reasons: tuple[TagReason, ...]
    spotted: bool | None = None
    window: str = "none"
    broadcast: bool = False


def row(
    id: str,
    trigger: str,
    text: str,
    tag: UtteranceTag,
    *reasons: TagReason,
    locale: str = "en-US",
    spotted: bool | None = None,
    window: str = "none",
    broadcast: bool = False,
) -> Row:
    return Row(id, locale, Trigger(trigger), text, tag, reasons, spotted, window, broadcast)


PTT, WAKE, NONE, FOLLOW = "push_to_talk", "wake_word", "none", "follow_up"
KO = "ko-KR"

ROWS = [
    # push to talk: a physical press is prompted unless nothing was said
    row("ptt-question", PTT, "what deals on coffee", P, R.PUSH_TO_TALK),
    row("ptt-broadcast", PTT, "what deals on coffee", P, R.PUSH_TO_TALK, broadcast=True),
    row("ptt-empty", PTT, "", A, R.EMPTY_TRANSCRIPT),
    row("ptt-punctuation-only", PTT, "  ,. ?! ", A, R.EMPTY_TRANSCRIPT),
    row("ptt-talk-about", PTT, "alexa is so annoying", P, R.PUSH_TO_TALK),
    row("ptt-not-spotted", PTT, "find me shoes", P, R.PUSH_TO_TALK, spotted=False),
    row("ptt-expired-window", PTT, "find me shoes", P, R.PUSH_TO_TALK, window="expired"),
    row("ptt-open-window", PTT, "find me shoes", P, R.PUSH_TO_TALK, window="open"),
    # wake word trigger: the wake word must open the utterance, and not be talked about
    row("wake-question", WAKE, "alexa what deals on coffee", P, R.WAKE_WORD_VERIFIED),
    row("wake-comma", WAKE, "Alexa, find me running shoes", P, R.WAKE_WORD_VERIFIED),
    row("wake-hey", WAKE, "hey alexa do you have any deals", P, R.WAKE_WORD_VERIFIED),
    row("wake-shouted", WAKE, "ALEXA! What's the weather?", P, R.WAKE_WORD_VERIFIED),
    row("wake-no-command-cue", WAKE, "alexa coffee deals", P, R.WAKE_WORD_VERIFIED),
    row("wake-absent", WAKE, "what deals on coffee", A, R.FALSE_TRIGGER),
    row(
        "wake-stripped-spotted", WAKE, "what deals on coffee", P, R.WAKE_WORD_VERIFIED, spotted=True
    ),
    row("wake-spotted-false", WAKE, "alexa what deals", A, R.FALSE_TRIGGER, spotted=False),
    row("wake-spotted-true", WAKE, "alexa what deals", P, R.WAKE_WORD_VERIFIED, spotted=True),
    row(
        "wake-mid-reported",
        WAKE,
        "I told alexa to order coffee",
        A,
        R.FALSE_TRIGGER,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
    ),
    row(
        "wake-mid-ad",
        WAKE,
        "the ad said alexa find me shoes",
        A,
        R.FALSE_TRIGGER,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
        spotted=False,
    ),
    row(
        "wake-mid-plain",
        WAKE,
        "we should ask the alexa",
        A,
        R.FALSE_TRIGGER,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
    ),
    row(
        "wake-mid-spotted-true",
        WAKE,
        "i told alexa to order coffee",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
        spotted=True,
    ),
    row("wake-annoying", WAKE, "Alexa is so annoying", A, R.TALK_ABOUT_ASSISTANT, spotted=True),
    row("wake-said", WAKE, "alexa said it would rain", A, R.TALK_ABOUT_ASSISTANT),
    row("wake-keeps", WAKE, "Alexa keeps ordering stuff", A, R.TALK_ABOUT_ASSISTANT),
    row("wake-possessive", WAKE, "alexa's voice is weird", A, R.TALK_ABOUT_ASSISTANT),
    row("wake-curly-possessive", WAKE, "Alexa\u2019s voice is weird", A, R.TALK_ABOUT_ASSISTANT),
    row("wake-and", WAKE, "alexa and i went shopping", A, R.TALK_ABOUT_ASSISTANT),
    row("wake-bare", WAKE, "alexa", A, R.WAKE_WORD_ONLY),
    row("wake-stripped-annoying", WAKE, "is so annoying", A, R.TALK_ABOUT_ASSISTANT, spotted=True),
    row("wake-competitor", WAKE, "alexander the great", A, R.FALSE_TRIGGER),
    row("wake-broadcast", WAKE, "alexa what deals", A, R.BROADCAST, broadcast=True),
    row(
        "wake-mid-broadcast",
        WAKE,
        "I told alexa",
        A,
        R.FALSE_TRIGGER,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
        R.BROADCAST,
        broadcast=True,
    ),
    row("wake-open-window", WAKE, "alexa find me shoes", P, R.WAKE_WORD_VERIFIED, window="open"),
    row("wake-empty", WAKE, "", A, R.EMPTY_TRANSCRIPT, spotted=True),
    row("wake-empty-broadcast", WAKE, "", A, R.EMPTY_TRANSCRIPT, R.BROADCAST, broadcast=True),
    # continuous capture: only an opening wake word that addresses the assistant counts
    row("none-question", NONE, "Alexa, what deals on coffee?", P, R.WAKE_WORD_ADDRESSED),
    row("none-find", NONE, "alexa find me running shoes", P, R.WAKE_WORD_ADDRESSED),
    row("none-do-you", NONE, "Alexa do you have any deals on coffee", P, R.WAKE_WORD_ADDRESSED),
    row(
        "none-hey-is-there",
        NONE,
        "hey alexa is there a deal on headphones",
        P,
        R.WAKE_WORD_ADDRESSED,
    ),
    row("none-is-it", NONE, "Alexa is it going to rain", P, R.WAKE_WORD_ADDRESSED),
    row("none-comma-pause", NONE, "alexa, coffee deals", P, R.WAKE_WORD_ADDRESSED),
    row("none-question-mark", NONE, "alexa coffee deals?", P, R.WAKE_WORD_ADDRESSED),
    row("none-no-cue", NONE, "alexa coffee deals", A, R.NOT_ADDRESSED),
    row("none-annoying", NONE, "Alexa is so annoying", A, R.TALK_ABOUT_ASSISTANT),
    row("none-comma-annoying", NONE, "alexa, is so annoying", A, R.TALK_ABOUT_ASSISTANT),
    row("none-told", NONE, "I told Alexa to order", A, R.WAKE_WORD_NOT_AT_START, R.REPORTED_SPEECH),
    row(
        "none-asked",
        NONE,
        "she asked Alexa about shoes",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
    ),
    row(
        "none-ad",
        NONE,
        "the ad said Alexa find me shoes",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
    ),
    row(
        "none-my-alexa",
        NONE,
        "my alexa is broken",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.TALK_ABOUT_ASSISTANT,
    ),
    row("none-bare", NONE, "Alexa", A, R.WAKE_WORD_ONLY),
    row("none-bare-period", NONE, "Alexa.", A, R.WAKE_WORD_ONLY),
    row("none-no-wake", NONE, "what deals on coffee", A, R.NO_TRIGGER),
    row("none-competitor", NONE, "alexander find me shoes", A, R.NO_TRIGGER),
    row("none-not-spotted", NONE, "alexa what deals", A, R.WAKE_WORD_NOT_SPOTTED, spotted=False),
    row("none-spotted", NONE, "alexa what deals", P, R.WAKE_WORD_ADDRESSED, spotted=True),
    row("none-spotted-no-text", NONE, "what deals", A, R.NO_TRIGGER, spotted=True),
    row("none-broadcast", NONE, "alexa what deals", A, R.BROADCAST, broadcast=True),
    row("none-empty", NONE, "", A, R.EMPTY_TRANSCRIPT),
    row("none-open-window", NONE, "yes please", A, R.NO_TRIGGER, window="open"),
    # follow-up: prompted only inside an open window of the same device
    row("follow-open", FOLLOW, "yes please", P, R.FOLLOW_UP_IN_WINDOW, window="open"),
    row("follow-expired", FOLLOW, "yes please", A, R.WINDOW_EXPIRED, window="expired"),
    row("follow-at-expiry", FOLLOW, "yes please", A, R.WINDOW_EXPIRED, window="at_expiry"),
    row("follow-other-device", FOLLOW, "yes please", A, R.WINDOW_OTHER_DEVICE, window="other"),
    row("follow-no-window", FOLLOW, "yes please", A, R.NO_OPEN_WINDOW),
    row("follow-early", FOLLOW, "yes please", A, R.WINDOW_NOT_YET_OPEN, window="early"),
    row("follow-broadcast", FOLLOW, "yes please", A, R.BROADCAST, window="open", broadcast=True),
    row(
        "follow-expired-broadcast",
        FOLLOW,
        "yes please",
        A,
        R.WINDOW_EXPIRED,
        R.BROADCAST,
        window="expired",
        broadcast=True,
    ),
    row(
        "follow-talk-about",
        FOLLOW,
        "alexa is so annoying",
        A,
        R.TALK_ABOUT_ASSISTANT,
        window="open",
    ),
    row("follow-empty", FOLLOW, "", A, R.EMPTY_TRANSCRIPT, window="open"),
    row(
        "follow-not-spotted",
        FOLLOW,
        "the blue one",
        P,
        R.FOLLOW_UP_IN_WINDOW,
        window="open",
        spotted=False,
    ),
    row("follow-with-wake", FOLLOW, "alexa, the blue one", P, R.FOLLOW_UP_IN_WINDOW, window="open"),
    # Korean: wake word 아리아; particles glued to it say whether it is addressed
    row("ko-none-comma", NONE, "아리아, 커피 추천해 줘", P, R.WAKE_WORD_ADDRESSED, locale=KO),
    row("ko-none-ending", NONE, "아리아 커피 추천해 줘", P, R.WAKE_WORD_ADDRESSED, locale=KO),
    row("ko-none-vocative", NONE, "아리아야 음악 틀어줘", P, R.WAKE_WORD_ADDRESSED, locale=KO),
    row("ko-none-opener", NONE, "아리아 혹시 커피 할인 있어", P, R.WAKE_WORD_ADDRESSED, locale=KO),
    row("ko-none-question", NONE, "아리아 커피 할인 있어?", P, R.WAKE_WORD_ADDRESSED, locale=KO),
    row(
        "ko-none-fullwidth-question",
        NONE,
        "아리아 커피 할인 있어？",
        P,
        R.WAKE_WORD_ADDRESSED,
        locale=KO,
    ),
    row("ko-none-subject", NONE, "아리아가 너무 시끄러워", A, R.TALK_ABOUT_ASSISTANT, locale=KO),
    row("ko-none-topic", NONE, "아리아는 별로야", A, R.TALK_ABOUT_ASSISTANT, locale=KO),
    row(
        "ko-none-dropped-particle", NONE, "아리아 진짜 짜증나", A, R.TALK_ABOUT_ASSISTANT, locale=KO
    ),
    row(
        "ko-none-dative",
        NONE,
        "엄마가 아리아한테 커피 물어봤어",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.TALK_ABOUT_ASSISTANT,
        locale=KO,
    ),
    row(
        "ko-none-quoted",
        NONE,
        "광고에서 아리아 커피 추천해 달라고 했어",
        A,
        R.WAKE_WORD_NOT_AT_START,
        R.REPORTED_SPEECH,
        locale=KO,
    ),
    row(
        "ko-none-reported-after-comma",
        NONE,
        "아리아, 엄마가 커피 사라고 했어",
        A,
        R.REPORTED_SPEECH,
        locale=KO,
    ),
    row("ko-none-bare", NONE, "아리아", A, R.WAKE_WORD_ONLY, locale=KO),
    row("ko-none-no-cue", NONE, "아리아 오늘 날씨", A, R.NOT_ADDRESSED, locale=KO),
    row("ko-none-no-wake", NONE, "커피 추천해 줘", A, R.NO_TRIGGER, locale=KO),
    row("ko-none-arirang", NONE, "아리랑 노래 틀어줘", A, R.NO_TRIGGER, locale=KO),
    row("ko-none-maria", NONE, "마리아 커피 추천해 줘", A, R.NO_TRIGGER, locale=KO),
    row(
        "ko-none-broadcast",
        NONE,
        "아리아 커피 추천해 줘",
        A,
        R.BROADCAST,
        locale=KO,
        broadcast=True,
    ),
    row("ko-wake-verified", WAKE, "아리아 커피 추천해 줘", P, R.WAKE_WORD_VERIFIED, locale=KO),
    row("ko-wake-absent", WAKE, "커피 추천해 줘", A, R.FALSE_TRIGGER, locale=KO),
    row(
        "ko-wake-not-spotted",
        WAKE,
        "아리아 커피 추천해 줘",
        A,
        R.FALSE_TRIGGER,
        locale=KO,
        spotted=False,
    ),
    row("ko-wake-topic", WAKE, "아리아는 별로야", A, R.TALK_ABOUT_ASSISTANT, locale=KO),
    row("ko-ptt", PTT, "커피 추천해 줘", P, R.PUSH_TO_TALK, locale=KO),
    row("ko-follow-open", FOLLOW, "응 좋아", P, R.FOLLOW_UP_IN_WINDOW, locale=KO, window="open"),
    row("ko-follow-expired", FOLLOW, "응 좋아", A, R.WINDOW_EXPIRED, locale=KO, window="expired"),
]


def tag_row(r: Row) -> TagResult:
    capture = CaptureContext(
        trigger=r.trigger, device_id=DEVICE, start=T0, end=T0 + timedelta(seconds=2)
    )
    return tag_utterance(
        capture=capture,
        text=r.text,
        locale=load_locale(r.locale),
        window=window_for(r.window),
        wake_word_spotted=r.spotted,
        broadcast=r.broadcast,
    )


def test_the_table_covers_every_trigger_window_and_locale() -> None:
    assert len(ROWS) >= 60
    assert {r.trigger for r in ROWS} == set(Trigger)
    assert {r.window for r in ROWS} == {"none", "open", "expired", "at_expiry", "other", "early"}
    assert {r.locale for r in ROWS} == {"en-US", "ko-KR"}
    assert len({r.id for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("r", ROWS, ids=[r.id for r in ROWS])
def test_tagging_table(r: Row) -> None:
    result = tag_row(r)
    assert (result.tag, result.reasons) == (r.tag, tuple(x.value for x in r.reasons))
    expected_window = "w1" if R.FOLLOW_UP_IN_WINDOW in r.reasons else None
    assert result.window_used == expected_window


def test_reasons_are_plain_strings() -> None:
    result = tag_row(ROWS[0])
    assert [type(x) for x in result.reasons] == [str]
    assert result.prompted


@pytest.mark.parametrize(
    ("spot_text", "expected"),
    [
        ("alexa", True),
        ("hey alexa", False),
        ("alex", False),
        ("[unk] alexa", False),
        ("alexa's", False),
        ("", False),
        ("Alexa electra", True),
    ],
)
def test_wake_word_opens_reads_a_spotting_result(spot_text: str, expected: bool) -> None:
    assert wake_word_opens(spot_text, load_locale("en-US")) is expected


def test_wake_word_opens_in_korean() -> None:
    ko = load_locale("ko-KR")
    assert wake_word_opens("아리아", ko)
    assert wake_word_opens("아리아 알려줘", ko)
    assert not wake_word_opens("<UNK> 아리아", ko)
    assert not wake_word_opens("마리아", ko)


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_no_competing_phrase_reads_as_the_wake_word(locale: str) -> None:
    """A competitor winning the spotting grammar must never confirm a wake-word trigger."""
    loaded = load_locale(locale)
    for phrase in loaded.competing_phrases:
        assert not wake_word_opens(phrase, loaded), phrase
        assert not wake_word_opens(f"{phrase} {loaded.wake_words[0]}", loaded), phrase


AUDIO_WAKE = Audio(pcm=b"\x01\x00" * 1600, sample_rate=16000)
AUDIO_MARIA = Audio(pcm=b"\x02\x00" * 1600, sample_rate=16000)
AUDIO_MID = Audio(pcm=b"\x03\x00" * 1600, sample_rate=16000)
AUDIO_SILENCE = Audio(pcm=b"\x00\x00" * 1600, sample_rate=16000)


@pytest.mark.parametrize(
    ("audio", "tag", "reasons"),
    [
        (AUDIO_WAKE, P, ("wake_word_verified",)),
        (AUDIO_MARIA, A, ("false_trigger",)),
        (AUDIO_MID, A, ("false_trigger", "wake_word_not_at_start", "reported_speech")),
        (AUDIO_SILENCE, A, ("empty_transcript",)),
    ],
)
def test_tagging_from_a_transcriber_with_spotting(
    audio: Audio, tag: UtteranceTag, reasons: tuple[str, ...]
) -> None:
    """The pipeline's path: transcribe, spot the opening with the locale's grammar, tag."""
    ko = load_locale("ko-KR")
    fake = FakeTranscriber(
        transcripts={
            AUDIO_WAKE.pcm: "아리아 커피 추천해 줘",
            AUDIO_MARIA.pcm: "마리아 커피 추천해 줘",
            AUDIO_MID.pcm: "광고에서 아리아 커피 추천해 달라고 했어",
        },
        spots={AUDIO_WAKE.pcm: "아리아", AUDIO_MARIA.pcm: "마리아", AUDIO_MID.pcm: "<UNK> 아리아"},
    )
    transcript = fake.transcribe(audio)
    spotted = fake.spot(audio, phrases=ko.spotting_phrases, seconds=ko.spot_seconds)
    capture = CaptureContext(
        trigger=Trigger.WAKE_WORD, device_id=DEVICE, start=T0, end=T0 + timedelta(seconds=2)
    )
    result = tag_utterance(
        capture=capture,
        text=transcript.text,
        locale=ko,
        window=None,
        wake_word_spotted=wake_word_opens(spotted.text, ko),
        broadcast=False,
    )
    assert (result.tag, result.reasons) == (tag, reasons)
    assert fake.spot_calls == [(ko.spotting_phrases, ko.spot_seconds)]
    assert ko.spotting_phrases[0] == "아리아"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("capture", "wake_word", "capture: expected a CaptureContext"),
        ("text", b"alexa", "text: expected a string, got 'bytes'"),
        ("locale", "en-US", "locale: expected a SpeechLocale, got 'en-US'"),
        ("window", "w1", "window: expected a ListeningWindow or None, got 'w1'"),
        ("wake_word_spotted", "yes", "wake_word_spotted: expected True, False or None, got 'yes'"),
        ("broadcast", None, "broadcast: expected True or False, got None"),
    ],
)
def test_bad_arguments_name_what_was_expected(field: str, value: object, expected: str) -> None:
    kwargs: dict[str, object] = {
        "capture": CaptureContext(
            trigger=Trigger.NONE, device_id=DEVICE, start=T0, end=T0 + timedelta(seconds=1)
        ),
        "text": "alexa what",
        "locale": load_locale("en-US"),
        "window": None,
        "wake_word_spotted": None,
        "broadcast": False,
    }
    kwargs[field] = value
    with pytest.raises(TaggingError, match=expected) as info:
        tag_utterance(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, SpeechError)
    assert info.value.code == "bad_tagging_input"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I was telling Alexa about coffee, any deals on coffee?", "reported_speech"),
        ("I was talking to alexa yesterday, any deals on coffee", "reported_speech"),
        ("my sister told Alexa to find shoes, what shoes do you recommend", "reported_speech"),
        ("honestly Alexa is so annoying, any deals on headphones", "talk_about_assistant"),
    ],
)
def test_talk_about_the_assistant_inside_a_follow_up_window_is_ambient(
    text: str, reason: str
) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    window = open_window(window_id="w1", device_id="kitchen", prompt_ended_at=t0)
    capture = CaptureContext(
        trigger=Trigger.FOLLOW_UP,
        device_id="kitchen",
        start=t0 + timedelta(seconds=2),
        end=t0 + timedelta(seconds=4),
    )
    result = tag_utterance(
        capture=capture,
        text=text,
        locale=load_locale("en-US"),
        window=window,
        wake_word_spotted=None,
        broadcast=False,
    )
    assert result.tag is UtteranceTag.AMBIENT
    assert reason in result.reasons
    assert result.window_used is None
