"""The pipeline end to end on a real SQLite store: tags, decisions, records, and privacy."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.peers import PeerCapture
from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.detector import Command
from askfirst.policy.explain import explain
from askfirst.policy.values import (
    CatalogEntry,
    Decision,
    NoReason,
    OfferKind,
    Question,
    QuestionKind,
)
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.turn.errors import TurnError
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from askfirst.turn.values import IntentInput, TurnInput, TurnResult

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


def offered(result: TurnResult) -> CatalogEntry:
    """The decided offer candidate of ``result`` (the test fails when there is none)."""
    offer = result.decided().offer
    assert offer is not None
    return offer


class Clock:
    """A settable clock: the pipeline's notion of now."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _db_files(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "askfirst.db"


@pytest.fixture
def pipeline(db: Path, clock: Clock) -> Iterator[Pipeline]:
    ids = iter(range(1_000_000))
    sleeps: list[float] = []
    p = Pipeline(
        policy=load_policy(EXAMPLE_POLICY_PATH),
        store=open_store(f"sqlite:///{db}"),
        transcribers=TranscriberSet(),
        config=Settings(broadcast_key="k" * 32).turn_config(),
        clock=clock,
        sleep=sleeps.append,
        new_id=lambda: f"id{next(ids)}",
    )
    yield p
    p.close()


def say(
    pipeline: Pipeline,
    text: str,
    *,
    trigger: Trigger,
    at: float = 0.0,
    device: str = "kitchen",
    user: str | None = "anna",
    session: str | None = "s1",
) -> TurnInput:
    start = T0 + timedelta(seconds=at)
    return TurnInput(
        device_id=device,
        capture=CaptureContext(
            trigger=trigger, device_id=device, start=start, end=start + timedelta(seconds=2)
        ),
        text=text,
        user_id=user,
        session_id=session,
    )


def test_a_question_addressed_to_the_assistant_gets_an_offer_with_its_obligations(
    pipeline: Pipeline,
) -> None:
    result = pipeline.handle(
        say(pipeline, "Alexa, do you have any deals on coffee?", trigger=Trigger.WAKE_WORD)
    )
    assert result.tag.tag is UtteranceTag.PROMPTED
    assert result.question is not None and result.question.kind is QuestionKind.DEAL
    assert result.decided().permit and result.decided().rule == "permit"
    assert result.decided().offer is not None
    assert offered(result).id == "coffee-morning-roast"
    assert {o.code for o in result.decided().obligations} >= {"disclose", "confirm_before_purchase"}
    body = result.to_json()
    assert body["offer"]["id"] == "coffee-morning-roast"
    assert body["offer"]["disclosure"].startswith("Sponsored")
    assert pipeline.get_decision(result.decided().id) == result.decision


def test_a_task_command_is_no_question_and_the_recorded_decision_says_why(
    pipeline: Pipeline,
) -> None:
    result = pipeline.handle(
        say(pipeline, "Alexa, add coffee to my shopping list", trigger=Trigger.WAKE_WORD)
    )
    assert result.tag.tag is UtteranceTag.PROMPTED
    assert result.question is None and not result.decided().permit
    assert result.no_question is not None
    assert (result.no_question.reason, result.no_question.detail) == (
        NoReason.TASK_COMMAND,
        "shopping_list",
    )
    assert result.to_json()["no_question"]["reason"] == "task_command"
    stored = pipeline.get_decision(result.decided().id)
    assert stored is not None
    r2 = next(r for r in stored.results if r.rule == "R2.explicit_question")
    assert "task_command" in r2.reason and "'shopping_list'" in r2.reason
    assert "task_command" in explain(stored)


def test_overheard_product_talk_is_ambient_denied_and_never_stored(
    pipeline: Pipeline, db: Path
) -> None:
    text = "I really need new running shoes, mine are falling apart"
    result = pipeline.handle(say(pipeline, text, trigger=Trigger.NONE))
    assert result.tag.tag is UtteranceTag.AMBIENT
    assert not result.decided().permit
    assert result.decided().rule == "R1.prompted"
    assert result.question is None
    assert result.to_json()["offer"] is None
    out = io.StringIO()
    pipeline.store.audit_export(out)
    assert "falling apart" not in out.getvalue()
    assert b"falling apart" not in _db_files(db)
    stored = pipeline.get_decision(result.decided().id)
    assert stored is not None and not stored.permit


def test_overheard_talk_does_not_carry_into_a_later_question(pipeline: Pipeline) -> None:
    pipeline.handle(say(pipeline, "we are out of coffee again", trigger=Trigger.NONE))
    later = pipeline.handle(
        say(pipeline, "Alexa, what's the weather tomorrow?", trigger=Trigger.WAKE_WORD, at=20)
    )
    assert later.tag.tag is UtteranceTag.PROMPTED
    assert later.question is None
    assert not later.decided().permit


def test_an_offer_is_not_repeated_in_a_later_unrelated_turn(pipeline: Pipeline) -> None:
    first = pipeline.handle(
        say(pipeline, "Alexa, find me a deal on headphones", trigger=Trigger.WAKE_WORD)
    )
    assert first.decided().permit
    later = pipeline.handle(
        say(pipeline, "Alexa, set a timer for ten minutes", trigger=Trigger.WAKE_WORD, at=30)
    )
    assert not later.decided().permit
    assert later.to_json()["offer"] is None


def test_follow_up_is_prompted_once_inside_the_window_and_ambient_after(
    pipeline: Pipeline,
) -> None:
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0)
    inside = pipeline.handle(
        say(pipeline, "what headphones do you recommend", trigger=Trigger.FOLLOW_UP, at=3)
    )
    assert inside.tag.tag is UtteranceTag.PROMPTED
    again = pipeline.handle(
        say(pipeline, "what headphones do you recommend", trigger=Trigger.FOLLOW_UP, at=4)
    )
    assert again.tag.tag is UtteranceTag.AMBIENT, "a window is single use"
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0 + timedelta(seconds=10))
    late = pipeline.handle(
        say(pipeline, "what coffee do you recommend", trigger=Trigger.FOLLOW_UP, at=30)
    )
    assert late.tag.tag is UtteranceTag.AMBIENT
    assert "window_expired" in late.tag.reasons
    assert not late.decided().permit


def test_a_window_belongs_to_its_device(pipeline: Pipeline) -> None:
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0)
    other = pipeline.handle(
        say(pipeline, "what coffee do you recommend", trigger=Trigger.FOLLOW_UP, device="den")
    )
    assert other.tag.tag is UtteranceTag.AMBIENT


def test_a_broadcast_wake_word_heard_by_several_devices_is_ambient_on_all(
    pipeline: Pipeline,
) -> None:
    text = "Alexa, what running shoes do you recommend?"
    heard = [
        pipeline.hear(say(pipeline, text, trigger=Trigger.WAKE_WORD, device=d, at=i * 0.1))
        for i, d in enumerate(["kitchen", "den", "bedroom"])
    ]
    results = [pipeline.decide(h) for h in heard]
    assert all(r.tag.tag is UtteranceTag.AMBIENT for r in results)
    assert all("broadcast" in r.tag.reasons for r in results)
    assert not any(r.decided().permit for r in results)


def test_handle_holds_wake_word_turns_for_the_broadcast_window(db: Path, clock: Clock) -> None:
    sleeps: list[float] = []
    p = Pipeline(
        policy=load_policy(EXAMPLE_POLICY_PATH),
        store=open_store(f"sqlite:///{db}"),
        transcribers=TranscriberSet(),
        config=Settings(broadcast_key="k" * 32, broadcast_hold_seconds=0.3).turn_config(),
        clock=clock,
        sleep=sleeps.append,
    )
    try:
        p.handle(say(p, "Alexa, what coffee do you recommend", trigger=Trigger.WAKE_WORD))
        p.handle(say(p, "what coffee do you recommend", trigger=Trigger.PUSH_TO_TALK))
    finally:
        p.close()
    assert len(sleeps) == 1, "only triggers a loudspeaker can fake wait for peers"
    assert 0.2 < sleeps[0] <= 0.3, "the hold counts from arrival, hearing included"


def test_opting_out_by_voice_stops_offers_and_opting_in_restores_them(
    pipeline: Pipeline,
) -> None:
    out = pipeline.handle(say(pipeline, "Alexa, stop offering me deals", trigger=Trigger.WAKE_WORD))
    assert out.command is Command.OPT_OUT
    asked = pipeline.handle(
        say(
            pipeline,
            "Alexa, what running shoes do you recommend",
            trigger=Trigger.WAKE_WORD,
            at=30,
            session="s2",
        )
    )
    assert not asked.decided().permit
    assert asked.decided().rule == "R6.consent"
    pipeline.handle(
        say(pipeline, "Alexa, you can offer me deals again", trigger=Trigger.WAKE_WORD, at=60)
    )
    again = pipeline.handle(
        say(
            pipeline,
            "Alexa, what running shoes do you recommend",
            trigger=Trigger.WAKE_WORD,
            at=90,
            session="s3",
        )
    )
    assert again.decided().permit


def test_a_declined_offer_is_not_offered_again(pipeline: Pipeline) -> None:
    first = pipeline.handle(
        say(pipeline, "Alexa, how much is the premium pack", trigger=Trigger.WAKE_WORD)
    )
    assert first.decided().permit and first.decided().offer is not None
    assert offered(first).kind is OfferKind.IN_SKILL_PRODUCT
    pipeline.declined(user_id="anna", offer_id=offered(first).id, decision_id=None)
    second = pipeline.handle(
        say(
            pipeline,
            "Alexa, how much is the premium pack",
            trigger=Trigger.WAKE_WORD,
            at=40,
            session="s2",
        )
    )
    assert not second.decided().permit
    assert second.decided().rule == "R8.declined"


def test_an_alexa_intent_is_prompted_and_its_evidence_cites_its_own_request(
    pipeline: Pipeline,
) -> None:
    result = pipeline.handle_intent(intent(1))
    assert result.tag.tag is UtteranceTag.PROMPTED
    assert result.decided().permit
    assert result.decided().evidence_ids == ("amzn1.echo-api.request.1/utterance",)
    assert result.decided().offer is not None and offered(result).category == "coffee"
    last = pipeline.last_decision(
        user_id="amzn1.ask.account.A", session_id="amzn1.echo-api.session.1"
    )
    assert last == result.decision


def intent(n: int, *, topic: str = "coffee", locale: str = "en-US") -> IntentInput:
    """A ProductQuestionIntent as the Alexa handler hands it to the pipeline."""
    return IntentInput(
        utterance_id=f"amzn1.echo-api.request.{n}",
        device_id="echo-1",
        user_id="amzn1.ask.account.A",
        session_id="amzn1.echo-api.session.1",
        locale=locale,
        at=T0,
        intent_name="ProductQuestionIntent",
        kind=QuestionKind.RECOMMENDATION,
        topic=topic,
        command=None,
    )


def test_a_reply_that_asks_back_opens_the_window_in_the_same_turn(pipeline: Pipeline) -> None:
    seen: list[tuple[str, str | None]] = []

    def asks_back(decision: Decision, question: Question | None) -> bool:
        seen.append((decision.id, None if question is None else question.topic))
        return True

    result = pipeline.handle_intent(intent(1), asks_back=asks_back)
    assert seen == [(result.decided().id, "coffee")]
    window = pipeline.store.take_window(device_id="echo-1", now=pipeline._clock())
    assert window is not None
    assert window.opened_at == pipeline._clock()
    assert window.expires_at - window.opened_at == timedelta(
        seconds=pipeline.config.listening_window_seconds
    )


def test_a_reply_that_does_not_ask_back_opens_no_window(pipeline: Pipeline) -> None:
    pipeline.handle_intent(intent(1), asks_back=lambda decision, question: False)
    pipeline.handle_intent(intent(2))
    assert pipeline.store.take_window(device_id="echo-1", now=pipeline._clock()) is None


def test_audio_without_a_model_for_the_locale_is_a_clear_422(pipeline: Pipeline) -> None:
    from askfirst.speech.audio import Audio

    turn = TurnInput(
        device_id="kitchen",
        capture=CaptureContext(trigger=Trigger.WAKE_WORD, device_id="kitchen", start=T0, end=T0),
        audio=Audio(pcm=b"\0\0" * 1600, sample_rate=16000),
    )
    with pytest.raises(TurnError) as caught:
        pipeline.handle(turn)
    assert caught.value.status == 422
    assert caught.value.code == "no_model_for_locale"


def test_text_and_audio_together_are_refused(pipeline: Pipeline) -> None:
    from askfirst.speech.audio import Audio

    turn = TurnInput(
        device_id="kitchen",
        capture=CaptureContext(trigger=Trigger.WAKE_WORD, device_id="kitchen", start=T0, end=T0),
        text="hello",
        audio=Audio(pcm=b"\0\0", sample_rate=16000),
    )
    with pytest.raises(TurnError, match="exactly one of 'text' or 'audio', got both"):
        pipeline.hear(turn)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(
        alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz ,?!'"), min_size=1, max_size=60
    ).filter(lambda t: t.strip() != ""),
    trigger=st.sampled_from([Trigger.NONE, Trigger.FOLLOW_UP]),
)
def test_unaddressed_speech_never_gets_an_offer_and_never_leaves_text_behind(
    pipeline: Pipeline, db: Path, text: str, trigger: Trigger
) -> None:
    # No window is open and nothing opens with the wake word, so every turn is ambient.
    result = pipeline.handle(say(pipeline, text.replace("alexa", "alex"), trigger=trigger))
    assert result.tag.tag is UtteranceTag.AMBIENT
    assert not result.decided().permit
    assert result.to_json()["offer"] is None
    marker = text.strip()
    if len(marker) >= 12:
        out = io.StringIO()
        pipeline.store.audit_export(out)
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert all(marker not in json.dumps(row) for row in rows)


@pytest.mark.parametrize(
    ("text", "trigger", "kept"),
    [
        ("we should buy new running shoes", Trigger.NONE, False),
        ("Alexa, find me a deal on headphones", Trigger.NONE, True),
        ("I told Alexa to order coffee", Trigger.NONE, True),
        ("find me a deal on headphones", Trigger.WAKE_WORD, True),
        ("do you have any deals on coffee", Trigger.FOLLOW_UP, True),
        ("Alexa, find me a deal on headphones", Trigger.PUSH_TO_TALK, False),
    ],
)
def test_only_captures_a_loudspeaker_could_have_prompted_are_fingerprinted(
    pipeline: Pipeline, text: str, trigger: Trigger, kept: bool
) -> None:
    heard = pipeline.hear(say(pipeline, text, trigger=trigger))
    assert (heard.peer is not None) is kept
    peers = pipeline.store.peers(around=T0, seconds=5, exclude_device="elsewhere")
    assert (len(peers) == 1) is kept
    for peer in peers:
        assert text.encode() not in peer.text_print, "keyed hashes only, never the words"


@pytest.mark.parametrize(
    "offset", [timedelta(hours=-1), timedelta(days=3000), timedelta(days=-700000)]
)
def test_a_device_clock_far_from_the_servers_is_refused(
    pipeline: Pipeline, offset: timedelta
) -> None:
    start = T0 + offset
    turn = TurnInput(
        device_id="kitchen",
        capture=CaptureContext(
            trigger=Trigger.WAKE_WORD, device_id="kitchen", start=start, end=start
        ),
        text="Alexa, what coffee do you recommend",
    )
    with pytest.raises(TurnError, match=r"capture\.start: expected a time within 300 s") as caught:
        pipeline.handle(turn)
    assert (caught.value.status, caught.value.code) == (422, "time_out_of_range")
    with pytest.raises(TurnError, match="prompt_ended_at: expected a time within"):
        pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=start)


def test_an_alexa_slot_is_matched_with_its_locales_rules(pipeline: Pipeline) -> None:
    result = pipeline.handle_intent(intent(2, topic="커피를", locale="ko-KR"))
    assert result.question is not None
    assert result.question.catalog_ids == ("coffee-morning-roast",)


def test_declining_an_offer_the_catalog_does_not_have_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(TurnError, match="offer_id: expected the id of a catalog entry") as caught:
        pipeline.declined(user_id="anna", offer_id="no-such-offer", decision_id=None)
    assert (caught.value.status, caught.value.code) == (422, "unknown_offer")


def test_a_locale_is_taken_in_its_canonical_spelling(pipeline: Pipeline) -> None:
    turn = say(pipeline, "Alexa, do you have any deals on coffee?", trigger=Trigger.WAKE_WORD)
    result = pipeline.handle(dataclasses.replace(turn, locale="en_us"))
    assert result.utterance.locale == "en-US"
    assert result.decided().permit


def test_a_retried_request_is_not_decided_twice(pipeline: Pipeline) -> None:
    first = pipeline.handle_intent(intent(7))
    assert first.decided().permit
    with pytest.raises(TurnError, match="already decided as") as caught:
        pipeline.handle_intent(intent(7))
    assert (caught.value.status, caught.value.code) == (409, "duplicate_utterance")
    out = io.StringIO()
    assert pipeline.store.audit_export(out) == 1, "the retry left no record"
    turn = dataclasses.replace(
        say(pipeline, "Alexa, what coffee do you recommend", trigger=Trigger.WAKE_WORD),
        utterance_id="device-utterance-1",
    )
    pipeline.handle(turn)
    with pytest.raises(TurnError, match="already decided as"):
        pipeline.handle(turn)


def test_a_refused_retry_leaves_the_follow_up_window_for_the_real_follow_up(
    pipeline: Pipeline,
) -> None:
    asked = dataclasses.replace(
        say(pipeline, "Alexa, what coffee do you recommend", trigger=Trigger.WAKE_WORD),
        utterance_id="device-utterance-1",
    )
    pipeline.handle(asked)
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0 + timedelta(seconds=2))
    retry = dataclasses.replace(
        asked, capture=dataclasses.replace(asked.capture, trigger=Trigger.FOLLOW_UP)
    )
    with pytest.raises(TurnError) as caught:
        pipeline.handle(retry)
    assert caught.value.status == 409
    follow_up = pipeline.handle(
        say(pipeline, "what headphones do you recommend", trigger=Trigger.FOLLOW_UP, at=3)
    )
    assert follow_up.tag.tag is UtteranceTag.PROMPTED, follow_up.tag.reasons


def test_a_retry_racing_past_the_early_check_still_changes_nothing(pipeline: Pipeline) -> None:
    """The turn's own transaction refuses a retry the early check missed, and rolls back."""
    first = dataclasses.replace(
        say(pipeline, "what headphones do you recommend", trigger=Trigger.FOLLOW_UP, at=3),
        utterance_id="device-utterance-2",
    )
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0)
    heard = pipeline.hear(first)  # heard before the first one was decided
    assert pipeline.decide(heard).tag.tag is UtteranceTag.PROMPTED
    pipeline.assistant_asked(device_id="kitchen", prompt_ended_at=T0 + timedelta(seconds=5))
    with pytest.raises(TurnError) as caught:
        pipeline.decide(heard)
    assert caught.value.code == "duplicate_utterance"
    later = pipeline.handle(
        say(pipeline, "what coffee do you recommend", trigger=Trigger.FOLLOW_UP, at=6)
    )
    assert later.tag.tag is UtteranceTag.PROMPTED
    out = io.StringIO()
    assert pipeline.store.audit_export(out) == 2


def test_a_broadcast_storm_is_settled_without_reading_every_registration(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 homes heard the advert: the turn reads the registry a page at a time and stops once
    the broadcast is certain, far short of all 500."""
    text = "Alexa, what running shoes do you recommend?"
    for n in range(500):
        pipeline.hear(
            dataclasses.replace(
                say(
                    pipeline, text, trigger=Trigger.WAKE_WORD, device=f"tv-{n}", at=0.01 * (n % 50)
                ),
                utterance_id=f"tv-{n}-1",
            )
        )
    read: list[int] = []
    real = pipeline.store.peers

    def counting(**kwargs: Any) -> list[PeerCapture]:
        page = real(**kwargs)
        read.append(len(page))
        return page

    monkeypatch.setattr(pipeline.store, "peers", counting)
    result = pipeline.decide(pipeline.hear(say(pipeline, text, trigger=Trigger.WAKE_WORD)))
    assert result.tag.tag is UtteranceTag.AMBIENT and "broadcast" in result.tag.reasons
    assert 0 < sum(read) <= 128, read
