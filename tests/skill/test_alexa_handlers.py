"""The Alexa handlers through the real Flask client, with signed, authentic envelopes."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.policy.config import load_policy
from askfirst.policy.explain import explain
from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill import envelopes as env
from tests.skill.ca import TestCA
from tests.skill.conftest import Alexa, speech_of

COFFEE = "coffee-morning-roast"
PACK = "premium-recipe-pack"
PACK_PRODUCT = "amzn1.adg.product.5e3c1f0a-7b2d-4c8e-9a61-2f4d8b0c9e17"


def coffee_slot() -> dict[str, dict[str, Any]]:
    return {
        "product": env.product_slot(
            "coffee", resolved_id=COFFEE, resolved_name="Morning Roast Coffee"
        )
    }


def pack_slot() -> dict[str, dict[str, Any]]:
    return {
        "product": env.product_slot(
            "premium pack", resolved_id=PACK, resolved_name="Premium Recipe Pack"
        )
    }


def test_launch_welcomes_and_keeps_the_session_open(alexa: Alexa) -> None:
    reply = alexa.ask(env.launch_request())
    assert "Welcome" in speech_of(reply)
    assert reply["response"]["shouldEndSession"] is False
    assert reply["response"]["reprompt"]["outputSpeech"]


def test_deal_question_gets_the_deal_with_its_disclosure(alexa: Alexa, pipeline: Pipeline) -> None:
    reply = alexa.ask(env.intent_request("DealQuestionIntent", slots=coffee_slot()))
    words = speech_of(reply)
    assert "Sponsored by Morning Roast." in words
    assert "house blend" in words
    assert reply["response"]["shouldEndSession"] is False
    # The reply asked "anything else?", so the device has a follow-up window open.
    assert pipeline.store.take_window(device_id=env.DEVICE_ID, now=pipeline._clock()) is not None


def test_second_question_in_the_session_is_answered_without_an_offer(alexa: Alexa) -> None:
    session = "amzn1.echo-api.session.CAP"
    alexa.ask(env.intent_request("DealQuestionIntent", slots=coffee_slot(), session_id=session))
    slot = {
        "product": env.product_slot(
            "shoes", resolved_id="shoes-trailblazer", resolved_name="Trailblazer Running Shoes"
        )
    }
    reply = alexa.ask(env.intent_request("ProductQuestionIntent", slots=slot, session_id=session))
    words = speech_of(reply)
    assert "shoes" in words  # the question is answered in the user's words...
    assert "Sponsored" not in words  # ...but nothing is offered beyond the session cap


def test_in_skill_product_becomes_an_upsell_directive(alexa: Alexa, pipeline: Pipeline) -> None:
    reply = alexa.ask(env.intent_request("ProductQuestionIntent", slots=pack_slot()))
    response = reply["response"]
    assert "outputSpeech" not in response
    (directive,) = response["directives"]
    assert directive["type"] == "Connections.SendRequest"
    assert directive["name"] == "Upsell"
    assert directive["payload"]["InSkillProduct"] == {"productId": PACK_PRODUCT}
    message = directive["payload"]["upsellMessage"]
    assert "This is a paid add-on for this skill." in message
    assert not re.search(r"[$€£]|\d|price", message, re.IGNORECASE)
    decision = pipeline.get_decision(directive["token"])
    assert decision is not None
    assert decision.permit
    assert decision.offer is not None and decision.offer.id == PACK
    # Alexa's purchase flow takes over: no follow-up window opens on the device.
    assert pipeline.store.take_window(device_id=env.DEVICE_ID, now=pipeline._clock()) is None


def test_limit_ad_tracking_answers_without_an_offer(alexa: Alexa) -> None:
    reply = alexa.ask(
        env.intent_request("DealQuestionIntent", slots=coffee_slot(), limit_ad_tracking=True)
    )
    assert "Sponsored" not in speech_of(reply)
    assert "directives" not in reply["response"]


def test_unresolved_product_is_answered_without_an_offer(alexa: Alexa) -> None:
    slots = {"product": env.product_slot("kayaks")}
    reply = alexa.ask(env.intent_request("DealQuestionIntent", slots=slots))
    assert "kayaks" in speech_of(reply)
    assert "Sponsored" not in speech_of(reply)


def test_what_can_i_buy_without_a_slot(alexa: Alexa) -> None:
    reply = alexa.ask(env.intent_request("WhatCanIBuyIntent"))
    assert reply["response"]["outputSpeech"]


def test_opt_out_then_no_offers_then_opt_in(alexa: Alexa) -> None:
    out = alexa.ask(env.intent_request("OptOutIntent"))
    assert "won't suggest" in speech_of(out)
    denied = alexa.ask(env.intent_request("DealQuestionIntent", slots=coffee_slot()))
    assert "Sponsored" not in speech_of(denied)
    assert "not to suggest" in speech_of(denied)
    alexa.ask(env.intent_request("OptInIntent"))
    permitted = alexa.ask(env.intent_request("DealQuestionIntent", slots=coffee_slot()))
    assert "Sponsored by Morning Roast." in speech_of(permitted)


def test_why_explains_the_last_decision(alexa: Alexa, pipeline: Pipeline) -> None:
    session = "amzn1.echo-api.session.WHY"
    alexa.ask(env.intent_request("DealQuestionIntent", slots=coffee_slot(), session_id=session))
    decision = pipeline.last_decision(user_id=env.USER_ID, session_id=session)
    assert decision is not None
    reply = alexa.ask(env.intent_request("WhySuggestIntent", session_id=session))
    assert explain(decision).strip() in speech_of(reply).replace("&apos;", "'")


def test_why_with_nothing_suggested(alexa: Alexa) -> None:
    reply = alexa.ask(env.intent_request("WhySuggestIntent"))
    assert "nothing to explain" in speech_of(reply)


@pytest.mark.parametrize(
    ("intent", "words", "ends"),
    [
        ("AMAZON.HelpIntent", "You can ask me about a product", False),
        ("AMAZON.StopIntent", "Goodbye", True),
        ("AMAZON.CancelIntent", "Goodbye", True),
        ("AMAZON.NavigateHomeIntent", "Goodbye", True),
        ("AMAZON.FallbackIntent", "can't help with that", False),
        ("SomeIntentFromAnOldModel", "can't help with that", False),
    ],
)
def test_built_in_intents(alexa: Alexa, intent: str, words: str, ends: bool) -> None:
    reply = alexa.ask(env.intent_request(intent))
    assert words in speech_of(reply).replace("&apos;", "'")
    assert reply["response"]["shouldEndSession"] is ends


def test_session_ended_gets_an_empty_response(alexa: Alexa) -> None:
    for reason in ("USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", "ERROR"):
        reply = alexa.ask(env.session_ended_request(reason=reason))
        assert "outputSpeech" not in reply["response"]


@pytest.mark.parametrize(
    ("intent", "slots", "verdict"),
    [
        ("DealQuestionIntent", coffee_slot(), "YES"),
        ("ProductQuestionIntent", {"product": env.product_slot("espresso")}, "YES"),
        ("WhatCanIBuyIntent", None, "YES"),
        ("AMAZON.HelpIntent", None, "YES"),
        ("DealQuestionIntent", {"product": env.product_slot("kayaks")}, "NO"),
        # Matched as a question's topic is: plural, case and punctuation tolerant.
        ("ProductQuestionIntent", {"product": env.product_slot("Running Shoe")}, "YES"),
        ("DealQuestionIntent", {"product": env.product_slot("Coffee!")}, "YES"),
        ("OrderPizzaIntent", None, "NO"),
    ],
)
def test_can_fulfill(
    alexa: Alexa, pipeline: Pipeline, intent: str, slots: dict[str, Any] | None, verdict: str
) -> None:
    reply = alexa.ask(env.can_fulfill_request(intent, slots=slots))
    answer = reply["response"]["canFulfillIntent"]
    assert answer["canFulfill"] == verdict
    for slot in (slots or {}).values():
        assert answer["slots"][slot["name"]]["canUnderstand"] == verdict
    assert "outputSpeech" not in reply["response"]
    # No side effects: nothing decided, nothing recorded.
    assert pipeline.last_decision(user_id=env.USER_ID, session_id=None) is None


def test_declined_upsell_is_not_offered_again(alexa: Alexa) -> None:
    upsell = alexa.ask(env.intent_request("ProductQuestionIntent", slots=pack_slot()))
    token = upsell["response"]["directives"][0]["token"]
    reply = alexa.ask(
        env.connections_response(purchase_result="DECLINED", product_id=PACK_PRODUCT, token=token)
    )
    assert "won't suggest that again" in speech_of(reply).replace("&apos;", "'")
    again = alexa.ask(
        env.intent_request(
            "ProductQuestionIntent", slots=pack_slot(), session_id="amzn1.echo-api.session.NEW"
        )
    )
    assert "directives" not in again["response"]
    assert "premium pack" in speech_of(again)


@pytest.mark.parametrize(
    ("result", "status", "words"),
    [
        ("ACCEPTED", "200", "Premium Recipe Pack is ready"),
        ("ALREADY_PURCHASED", "200", "already own Premium Recipe Pack"),
        ("ERROR", "200", "didn't go through"),
        ("ACCEPTED", "500", "didn't go through"),
    ],
)
def test_purchase_results(alexa: Alexa, result: str, status: str, words: str) -> None:
    reply = alexa.ask(
        env.connections_response(
            purchase_result=result,
            product_id=PACK_PRODUCT,
            token="unknown-decision",
            status_code=status,
        )
    )
    assert words in speech_of(reply).replace("&apos;", "'")


def test_store_locked_fails_closed_with_a_spoken_apology(
    settings: Settings, ca: TestCA, tmp_path: Path
) -> None:
    db = tmp_path / "locked.db"
    store = open_store(f"sqlite:///{db}", lock_timeout=0.2)
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=store,
        transcribers=TranscriberSet(),
        config=settings.turn_config(),
    )
    client: FlaskClient = create_app(settings, pipeline=pipeline).test_client()
    blocker = sqlite3.connect(db, timeout=0.1, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        reply = Alexa(client, ca).ask(env.intent_request("DealQuestionIntent", slots=coffee_slot()))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        pipeline.close()
    words = speech_of(reply)
    assert "can't answer that right now" in words
    assert "Sponsored" not in words
    assert "directives" not in reply["response"]
