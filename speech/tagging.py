"""Prompted or ambient: the tag of one utterance, with machine-readable reason codes.

Prompted is decided from capture events only (a button press, the device's wake-word
detector, a follow-up inside an open listening window, or - on continuous capture - a wake
word that opens the utterance and addresses the assistant). Transcript and audio checks may
only downgrade to ambient, never upgrade; anything not positively prompted is ambient.

Broadcast (another device heard the same words at the same moment) makes an utterance ambient
for every trigger except push-to-talk: a physical press is a person at the device, not a TV.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.tags import UtteranceTag
from askfirst.core.text import fold
from askfirst.core.windows import ListeningWindow, window_admits
from askfirst.speech.errors import SpeechError
from askfirst.speech.locale import SpeechLocale

logger = logging.getLogger(__name__)


class TaggingError(SpeechError):
    """Tagging was called with arguments of the wrong kind."""

    code = "bad_tagging_input"


class TagReason(StrEnum):
    """Why an utterance got its tag. The first four make it prompted; the rest ambient."""

    PUSH_TO_TALK = "push_to_talk"
    WAKE_WORD_VERIFIED = "wake_word_verified"
    """The device's wake-word trigger was confirmed at the start of the utterance."""
    WAKE_WORD_ADDRESSED = "wake_word_addressed"
    """Continuous capture: the utterance opens with the wake word and addresses the assistant."""
    FOLLOW_UP_IN_WINDOW = "follow_up_in_window"
    NO_TRIGGER = "no_trigger"
    """Continuous capture with no wake word at all."""
    FALSE_TRIGGER = "false_trigger"
    """The device fired, but the wake word is not at the start of the utterance."""
    WAKE_WORD_NOT_SPOTTED = "wake_word_not_spotted"
    """Continuous capture: spotting on the audio found no wake word at the start."""
    WAKE_WORD_NOT_AT_START = "wake_word_not_at_start"
    WAKE_WORD_ONLY = "wake_word_only"
    """Nothing but the wake word: no request to answer."""
    NOT_ADDRESSED = "not_addressed"
    """Continuous capture: the wake word opens the utterance but no request or question follows."""
    TALK_ABOUT_ASSISTANT = "talk_about_assistant"
    REPORTED_SPEECH = "reported_speech"
    BROADCAST = "broadcast"
    """Devices in other households heard the same sound at the same moment: a loudspeaker."""
    KNOWN_MEDIA = "known_media"
    """The sound matches an advert or programme the operator registered."""
    NO_OPEN_WINDOW = "no_open_window"
    WINDOW_EXPIRED = "window_expired"
    WINDOW_OTHER_DEVICE = "window_other_device"
    WINDOW_NOT_YET_OPEN = "window_not_yet_open"
    EMPTY_TRANSCRIPT = "empty_transcript"


PROMPTING_REASONS = frozenset(
    {
        TagReason.PUSH_TO_TALK,
        TagReason.WAKE_WORD_VERIFIED,
        TagReason.WAKE_WORD_ADDRESSED,
        TagReason.FOLLOW_UP_IN_WINDOW,
    }
)


@dataclass(frozen=True, slots=True)
class TagResult:
    """The tag, its reasons (the deciding one first) and the listening window it consumed."""

    tag: UtteranceTag
    reasons: tuple[str, ...]
    """A prompted tag has exactly one reason; an ambient one every downgrade that applied."""
    window_used: str | None
    """The id of the window that admitted a follow-up; the store must close it."""

    @property
    def prompted(self) -> bool:
        return self.tag is UtteranceTag.PROMPTED


class _Wake(StrEnum):
    PLAIN = "plain"
    VOCATIVE = "vocative"
    ABOUT = "about"


@dataclass(frozen=True, slots=True)
class _Token:
    word: str
    pause: bool
    """A pause mark (comma, exclamation...) followed this word."""


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the transcript says about addressing, independent of the trigger."""

    empty: bool
    opening: TagReason | None
    """How the wake word that opens the text is used; None when none opens it."""
    elsewhere: tuple[TagReason, ...]
    """Reasons for a wake word found later in the text (empty when there is none)."""
    headless: TagReason
    """How the whole text reads as the words after a wake word the device already removed."""


def _is_mark(ch: str) -> bool:
    """Punctuation, a symbol or a control character; not the apostrophe words keep ("what's")."""
    return ch != "'" and unicodedata.category(ch)[0] in "PSC"


def _tokens(text: str, locale: SpeechLocale) -> list[_Token]:
    """Folded words; every mark becomes its own piece so "alexa,what" splits at the comma."""
    spaced = "".join(f" {ch} " if _is_mark(ch) else ch for ch in fold(text))
    out: list[_Token] = []
    for piece in spaced.split():
        if len(piece) == 1 and _is_mark(piece):
            if piece in locale.pause_marks and out:
                out[-1] = _Token(out[-1].word, pause=True)
        elif piece.strip("'"):
            out.append(_Token(piece.strip("'"), pause=False))
    return out


def _wake_at(words: list[str], i: int, locale: SpeechLocale) -> tuple[int, _Wake] | None:
    """(index after the wake word, how it is used) if a wake word starts at ``i``; longest wins."""
    best: tuple[int, _Wake] | None = None
    for wake in locale.wake_words:
        parts = wake.split()
        end = i + len(parts)
        if end > len(words) or words[i : end - 1] != parts[:-1]:
            continue
        last, stem = words[end - 1], parts[-1]
        if last == stem:
            kind = _Wake.PLAIN
        elif last.startswith(stem) and last[len(stem) :] in locale.vocative_suffixes:
            kind = _Wake.VOCATIVE
        elif last.startswith(stem) and last[len(stem) :] in locale.about_suffixes:
            kind = _Wake.ABOUT
        else:
            continue
        if best is None or end > best[0]:
            best = (end, kind)
    return best


def _starts_with(words: list[str], phrases: tuple[str, ...]) -> bool:
    return any(words[: len(p.split())] == p.split() for p in phrases)


def _judge(
    rest: list[str], *, kind: _Wake, pause: bool, question: bool, locale: SpeechLocale
) -> TagReason:
    """How the words after a wake word use it: addressed, or why not."""
    if kind is _Wake.ABOUT:
        return TagReason.TALK_ABOUT_ASSISTANT
    if not rest:
        return TagReason.WAKE_WORD_ONLY
    if _starts_with(rest, locale.address_openers):
        return TagReason.WAKE_WORD_ADDRESSED
    if rest[0] in locale.about_words:
        return TagReason.TALK_ABOUT_ASSISTANT
    if any(w.endswith(s) for w in rest for s in locale.reported_speech_suffixes):
        return TagReason.REPORTED_SPEECH
    if pause or kind is _Wake.VOCATIVE or question:
        return TagReason.WAKE_WORD_ADDRESSED
    if any(rest[-1].endswith(e) for e in locale.address_endings):
        return TagReason.WAKE_WORD_ADDRESSED
    return TagReason.NOT_ADDRESSED


def _read(text: str, locale: SpeechLocale) -> _Reading:
    tokens = _tokens(text, locale)
    words = [t.word for t in tokens]
    folded = fold(text)
    question = bool(folded) and folded[-1] in locale.question_marks
    start = 0
    while start < len(words) and words[start] in locale.wake_prefixes:
        start += 1
    headless = _judge(
        words[start:], kind=_Wake.PLAIN, pause=False, question=question, locale=locale
    )
    if not words:
        return _Reading(empty=True, opening=None, elsewhere=(), headless=headless)
    # "hey computer" may itself be a wake word that starts with a prefix: try before skipping.
    opening = next(
        (found for i in range(start + 1) if (found := _wake_at(words, i, locale)) is not None),
        None,
    )
    if opening is not None:
        end, kind = opening
        judged = _judge(
            words[end:], kind=kind, pause=tokens[end - 1].pause, question=question, locale=locale
        )
        return _Reading(empty=False, opening=judged, elsewhere=(), headless=headless)
    for i in range(start + 1, len(words)):
        found = _wake_at(words, i, locale)
        if found is None:
            continue
        end, kind = found
        reasons = [TagReason.WAKE_WORD_NOT_AT_START]
        before = words[max(0, i - 3) : i]
        after = words[end:]
        if any(w in locale.reported_speech_words for w in before) or any(
            w.endswith(s) for w in after for s in locale.reported_speech_suffixes
        ):
            reasons.append(TagReason.REPORTED_SPEECH)
        if kind is _Wake.ABOUT or (after and after[0] in locale.about_words):
            reasons.append(TagReason.TALK_ABOUT_ASSISTANT)
        return _Reading(empty=False, opening=None, elsewhere=tuple(reasons), headless=headless)
    return _Reading(empty=False, opening=None, elsewhere=(), headless=headless)


def mentions_wake_word(text: str, locale: SpeechLocale) -> bool:
    """Whether a wake word occurs anywhere in ``text`` (in any of its forms)."""
    words = [t.word for t in _tokens(text, locale)]
    return any(_wake_at(words, i, locale) is not None for i in range(len(words)))


def wake_word_opens(spotted_text: str, locale: SpeechLocale) -> bool:
    """Whether a spotting result (``Transcriber.spot`` over ``locale.spotting_phrases``) opens
    with one of the locale's wake words; this is the ``wake_word_spotted`` fact for tagging."""
    words = [t.word for t in _tokens(spotted_text, locale)]
    found = _wake_at(words, 0, locale) if words else None
    return found is not None and found[1] is not _Wake.ABOUT


_DOWNGRADES = frozenset(
    {TagReason.TALK_ABOUT_ASSISTANT, TagReason.REPORTED_SPEECH, TagReason.WAKE_WORD_ONLY}
)


def _by_trigger(
    capture: CaptureContext,
    reading: _Reading,
    window: ListeningWindow | None,
    spotted: bool | None,
) -> tuple[list[TagReason], str | None]:
    """The reasons from the trigger and the transcript, and the window a follow-up used."""
    trigger = capture.trigger
    if trigger is Trigger.PUSH_TO_TALK:
        return [TagReason.PUSH_TO_TALK], None
    if trigger is Trigger.FOLLOW_UP:
        refused = window_admits(window, device_id=capture.device_id, at=capture.start)
        if refused is not None:
            return [TagReason(refused)], None
        if reading.opening in _DOWNGRADES - {TagReason.WAKE_WORD_ONLY}:
            return [TagReason(reading.opening)], None
        # Talk about the assistant later in the sentence ("I was telling Alexa about coffee,
        # any deals?") is overheard conversation even inside the window.
        later = [r for r in reading.elsewhere if r in _DOWNGRADES - {TagReason.WAKE_WORD_ONLY}]
        if later:
            return later, None
        return [TagReason.FOLLOW_UP_IN_WINDOW], window.id if window is not None else None
    if trigger is Trigger.WAKE_WORD:
        if spotted is False or (spotted is None and reading.opening is None):
            return [TagReason.FALSE_TRIGGER, *reading.elsewhere], None
        if reading.opening is None and _DOWNGRADES.intersection(reading.elsewhere):
            return list(reading.elsewhere), None
        judged = reading.opening if reading.opening is not None else reading.headless
        if judged in _DOWNGRADES:
            return [TagReason(judged)], None
        return [TagReason.WAKE_WORD_VERIFIED], None
    # Trigger.NONE: continuous capture; only an opening, addressing wake word counts.
    if reading.opening is None:
        return list(reading.elsewhere) or [TagReason.NO_TRIGGER], None
    if reading.opening is not TagReason.WAKE_WORD_ADDRESSED:
        return [reading.opening], None
    if spotted is False:
        return [TagReason.WAKE_WORD_NOT_SPOTTED], None
    return [TagReason.WAKE_WORD_ADDRESSED], None


def tag_utterance(
    *,
    capture: CaptureContext,
    text: str,
    locale: SpeechLocale,
    window: ListeningWindow | None,
    wake_word_spotted: bool | None,
    broadcast: bool,
    known_media: bool = False,
) -> TagResult:
    """Tag one utterance prompted or ambient, with reasons.

    ``wake_word_spotted`` is the engine's grammar spotting on the opening seconds of the audio
    (None when it did not run; then the transcript's first words decide). ``window`` is the
    device's open listening window as the store handed it out; ``broadcast`` whether another
    device heard the same words at the same moment (``speech.broadcast.resolve``);
    ``known_media`` whether the sound matches a registered advert or programme.
    """
    if not isinstance(capture, CaptureContext):
        raise TaggingError(f"capture: expected a CaptureContext, got {capture!r}")
    if not isinstance(text, str):
        raise TaggingError(f"text: expected a string, got {type(text).__name__!r}")
    if not isinstance(locale, SpeechLocale):
        raise TaggingError(f"locale: expected a SpeechLocale, got {locale!r}")
    if window is not None and not isinstance(window, ListeningWindow):
        raise TaggingError(f"window: expected a ListeningWindow or None, got {window!r}")
    if wake_word_spotted is not None and not isinstance(wake_word_spotted, bool):
        raise TaggingError(
            f"wake_word_spotted: expected True, False or None, got {wake_word_spotted!r}"
        )
    if not isinstance(broadcast, bool):
        raise TaggingError(f"broadcast: expected True or False, got {broadcast!r}")
    if not isinstance(known_media, bool):
        raise TaggingError(f"known_media: expected True or False, got {known_media!r}")

    reading = _read(text, locale)
    if reading.empty:
        reasons, window_used = [TagReason.EMPTY_TRANSCRIPT], None
    else:
        reasons, window_used = _by_trigger(capture, reading, window, wake_word_spotted)
    prompted = len(reasons) == 1 and reasons[0] in PROMPTING_REASONS
    for applies, reason in ((known_media, TagReason.KNOWN_MEDIA), (broadcast, TagReason.BROADCAST)):
        if applies and capture.trigger is not Trigger.PUSH_TO_TALK:
            reasons = [reason] if prompted else [*reasons, reason]
            prompted, window_used = False, None
    result = TagResult(
        tag=UtteranceTag.PROMPTED if prompted else UtteranceTag.AMBIENT,
        reasons=tuple(r.value for r in reasons),
        window_used=window_used if prompted else None,
    )
    logger.debug(
        "tagged %s utterance on %r: %s %s",
        capture.trigger.value,
        capture.device_id,
        result.tag.value,
        ",".join(result.reasons),
    )
    return result
