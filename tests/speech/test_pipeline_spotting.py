"""Wake-word spotting as the pipeline runs it: the locale's grammar and head length, real Vosk.

The device says its wake-word detector fired; the pipeline spots on the opening seconds of the
audio with ``ko-KR``'s spotting phrases and confirms the trigger only when "아리아" opens it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.peers import PeerCapture
from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.skill.settings import Settings
from askfirst.speech.audio import Audio, read_wav
from askfirst.speech.tagging import TagReason
from askfirst.speech.transcriber import Transcriber, Transcript, TranscriptStream
from askfirst.speech.vosk_engine import VoskTranscriber
from askfirst.store.base import open_store
from askfirst.store.interface import Store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from askfirst.turn.values import Deferred, TurnInput
from tests.speech.conftest import KO_DATA

pytestmark = pytest.mark.vosk

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(ko_transcriber: VoskTranscriber, tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline on a real SQLite store, sharing the session's dither-free Korean transcriber."""
    store = open_store(f"sqlite:///{tmp_path / 'askfirst.db'}")
    sleeps: list[float] = []
    yield Pipeline(
        policy=load_policy(EXAMPLE_POLICY_PATH),
        store=store,
        transcribers=TranscriberSet({"ko-KR": ko_transcriber}),
        config=Settings(broadcast_key="k" * 32).turn_config(),
        clock=lambda: T0,
        sleep=sleeps.append,
    )
    # Not Pipeline.close(): that would close the session's transcriber too.
    store.close()


def wake_word_turn(name: str) -> TurnInput:
    """The clip ``name`` as a device sends it after its wake-word detector fired."""
    audio = read_wav((KO_DATA / f"{name}.wav").read_bytes())
    end = T0 + timedelta(seconds=audio.duration)
    return TurnInput(
        device_id="living-room",
        capture=CaptureContext(
            trigger=Trigger.WAKE_WORD, device_id="living-room", start=T0, end=end
        ),
        locale="ko-KR",
        audio=audio,
        user_id="jiwoo",
    )


@pytest.mark.parametrize("name", ["wake_coffee", "wake_headphones", "wake_weather", "wake_music"])
def test_a_clip_opening_with_the_wake_word_confirms_the_trigger(
    pipeline: Pipeline, name: str
) -> None:
    heard = pipeline.hear(wake_word_turn(name))
    assert heard.wake_word_spotted is True, heard.transcript.text
    result = pipeline.decide(heard)
    assert result.tag.tag is UtteranceTag.PROMPTED
    assert result.tag.reasons == (TagReason.WAKE_WORD_VERIFIED.value,)


def test_wake_coffee_through_handle_is_prompted(pipeline: Pipeline) -> None:
    result = pipeline.handle(wake_word_turn("wake_coffee"))
    assert result.tag.tag is UtteranceTag.PROMPTED
    assert result.tag.reasons == ("wake_word_verified",)
    assert result.utterance.tag is UtteranceTag.PROMPTED


@pytest.mark.parametrize(
    "name", ["mid_wake", "plain_coffee", "plain_dinner", "plain_shoes", "plain_weather"]
)
def test_a_clip_not_opening_with_the_wake_word_is_a_false_trigger(
    pipeline: Pipeline, name: str
) -> None:
    result = pipeline.handle(wake_word_turn(name))
    assert result.tag.tag is UtteranceTag.AMBIENT
    assert result.tag.reasons[0] == TagReason.FALSE_TRIGGER.value, result.tag.reasons
    assert not result.decided().permit
    assert result.decided().rule == "R1.prompted"


class Watched(Transcriber):
    """The session's Vosk transcriber, noting what the store held when a transcription began."""

    def __init__(self, inner: Transcriber, store: Store) -> None:
        self.inner, self.store = inner, store
        self.registered_before: list[list[PeerCapture]] = []

    def transcribe(self, audio: Audio, *, alternatives: int = 0) -> Transcript:
        self.registered_before.append(
            self.store.peers(around=T0, seconds=60, exclude_device="nobody")
        )
        return self.inner.transcribe(audio, alternatives=alternatives)

    def spot(self, audio: Audio, *, phrases: Sequence[str], seconds: float = 2.0) -> Transcript:
        return self.inner.spot(audio, phrases=phrases, seconds=seconds)

    def stream(self, *, sample_rate: int) -> TranscriptStream:
        return self.inner.stream(sample_rate=sample_rate)

    @property
    def ready(self) -> bool:
        return self.inner.ready

    def close(self) -> None:
        """The session's transcriber stays open."""


def test_a_wake_word_recording_is_registered_before_it_is_transcribed(
    ko_transcriber: VoskTranscriber, tmp_path: Path
) -> None:
    """Its acoustic print is in the registry when the recogniser starts, so the wait for other
    devices runs during transcription; with ``Prefer: respond-async`` an audio turn is never
    deferred (a resend would transcribe it again): only what is left of the wait is slept."""
    store = open_store(f"sqlite:///{tmp_path / 'askfirst.db'}")
    watched = Watched(ko_transcriber, store)
    started = time.monotonic()
    sleeps: list[float] = []
    pipeline = Pipeline(
        policy=load_policy(EXAMPLE_POLICY_PATH),
        store=store,
        transcribers=TranscriberSet({"ko-KR": watched}),
        config=Settings(broadcast_key="k" * 32, broadcast_hold_seconds=0.5).turn_config(),
        clock=lambda: T0 + timedelta(seconds=time.monotonic() - started),
        sleep=sleeps.append,
    )
    try:
        result = pipeline.handle_or_defer(
            dataclasses.replace(wake_word_turn("wake_coffee"), utterance_id="lr-1")
        )
    finally:
        store.close()
    assert not isinstance(result, Deferred)
    assert result.tag.tag is UtteranceTag.PROMPTED
    [before] = watched.registered_before
    [entry] = before
    assert entry.device_id == "living-room" and entry.audio_print and not entry.text_print
    assert entry.utterance_id == result.utterance.id
    assert len(sleeps) <= 1 and all(0 <= s <= 0.5 for s in sleeps)
