"""The pipeline's observer hook: told of every decided turn; its failures never fail a turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from askfirst.core.capture import Trigger
from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.turn.observer import TurnObserver
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from askfirst.turn.values import IntentInput, TurnResult
from tests.turn.test_pipeline import T0, Clock, say


class Recorder(TurnObserver):
    """Keeps what it is told; raises when asked to."""

    def __init__(self, *, fail: bool = False) -> None:
        self.decided: list[TurnResult] = []
        self.fail = fail

    def turn_decided(self, result: TurnResult) -> None:
        self.decided.append(result)
        if self.fail:
            raise RuntimeError("observer broke")

    def transcribed(self, *, locale: str, audio_seconds: float, seconds: float) -> None:
        raise AssertionError("text turns are not transcribed")


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[[TurnObserver], Pipeline]]:
    made: list[Pipeline] = []

    def build(observer: TurnObserver) -> Pipeline:
        pipeline = Pipeline(
            policy=load_policy(EXAMPLE_POLICY_PATH),
            store=open_store(f"sqlite:///{tmp_path / f'{len(made)}.db'}"),
            transcribers=TranscriberSet(),
            config=Settings(broadcast_key="k" * 32).turn_config(),
            clock=Clock(),
            sleep=lambda _s: None,
            observer=observer,
        )
        made.append(pipeline)
        return pipeline

    yield build
    for pipeline in made:
        pipeline.close()


def test_every_decided_turn_is_reported_once(make: Callable[[TurnObserver], Pipeline]) -> None:
    recorder = Recorder()
    pipeline = make(recorder)
    spoken = pipeline.handle(
        say(pipeline, "Alexa, do you have any deals on coffee?", trigger=Trigger.WAKE_WORD)
    )
    intent = pipeline.handle_intent(
        IntentInput(
            intent_name="AskForRecommendationIntent",
            utterance_id="i1",
            device_id="kitchen",
            user_id="anna",
            session_id="s1",
            locale="en-US",
            at=T0,
            kind=None,
            topic=None,
            command=None,
        )
    )
    assert recorder.decided == [spoken, intent]


def test_a_failing_observer_never_fails_the_turn(
    make: Callable[[TurnObserver], Pipeline], caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = make(Recorder(fail=True))
    result = pipeline.handle(
        say(pipeline, "Alexa, do you have any deals on coffee?", trigger=Trigger.WAKE_WORD)
    )
    assert result.decided().permit
    assert pipeline.get_decision(result.decided().id) == result.decision
    assert "turn observer failed" in caplog.text


def test_the_turn_layer_never_imports_prometheus_or_flask() -> None:
    """Metrics are the edges' business: turn/ only reports facts to its observer."""
    import ast

    folder = Path(__file__).resolve().parents[2] / "turn"
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in ("prometheus_client", "flask")
            ]
    assert found == []
