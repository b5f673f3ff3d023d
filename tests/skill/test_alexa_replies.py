"""The wording of spoken replies: disclosures spoken, denied offers never named, no prices."""

from __future__ import annotations

import re

import pytest

from askfirst.policy.values import CatalogEntry, Decision, OfferKind, Question, QuestionKind
from askfirst.skill import replies

DEAL = CatalogEntry(
    id="coffee",
    title="House Blend Coffee",
    category="coffee",
    synonyms=("coffee beans",),
    kind=OfferKind.SPOKEN_DEAL,
    disclosure="Sponsored: Acme Coffee pays us when you buy.",
    pitch="House Blend is twenty percent off this week.",
)
PACK = CatalogEntry(
    id="premium",
    title="Premium Pack",
    category="skill content",
    synonyms=(),
    kind=OfferKind.IN_SKILL_PRODUCT,
    disclosure="This is a paid add-on from Ask First.",
    pitch="It adds expert buying guides.",
    product_id="amzn1.adg.product.premium",
)
QUESTION = Question(
    utterance_id="u1",
    kind=QuestionKind.DEAL,
    topic="coffee",
    catalog_ids=("coffee",),
    cue="deals on",
)


def _decision(entry: CatalogEntry | None, *, permit: bool, rule: str = "permit") -> Decision:
    return Decision(
        id="d1",
        utterance_id="u1",
        permit=permit,
        rule=rule,
        results=(),
        evidence_ids=(),
        obligations=(),
        offer=entry,
        policy_hash="h",
    )


def test_permitted_deal_is_spoken_with_its_disclosure_and_keeps_listening() -> None:
    reply = replies.product_answer(_decision(DEAL, permit=True), question=QUESTION, topic="coffee")
    assert DEAL.disclosure in reply.speech
    assert DEAL.pitch in reply.speech
    assert reply.keeps_listening


@pytest.mark.parametrize("rule", ["R6.consent", "R9.frequency_cap", "R10.limit_ad_tracking"])
def test_denied_offer_answers_without_naming_the_product(rule: str) -> None:
    reply = replies.product_answer(
        _decision(DEAL, permit=False, rule=rule), question=QUESTION, topic="coffee"
    )
    assert "coffee" in reply.speech
    assert DEAL.title not in reply.speech
    assert DEAL.pitch not in reply.speech
    assert DEAL.disclosure not in reply.speech


def test_no_decision_still_answers() -> None:
    reply = replies.product_answer(None, question=None, topic="kayaks")
    assert "kayaks" in reply.speech


def test_upsell_message_discloses_and_names_no_price() -> None:
    message = replies.upsell_message(PACK)
    assert PACK.disclosure in message
    assert PACK.category in message
    assert not re.search(r"[$€£]|\d+(\.\d+)?\s*(dollars|cents)|price", message, re.IGNORECASE)


@pytest.mark.parametrize(
    "reply",
    [
        replies.launch(),
        replies.help_(),
        replies.fallback(),
        replies.why("The offer was made because you asked."),
        replies.nothing_to_explain(),
        replies.purchase_declined(),
    ],
)
def test_replies_that_ask_have_a_reprompt(reply: replies.Reply) -> None:
    assert reply.speech.rstrip().endswith("?")
    assert reply.reprompt


@pytest.mark.parametrize(
    "reply",
    [replies.goodbye(), replies.opted_out(), replies.apology(), replies.store_unavailable()],
)
def test_closing_replies_end_the_session(reply: replies.Reply) -> None:
    assert reply.reprompt is None
    assert not reply.keeps_listening
