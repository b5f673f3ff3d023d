"""Every word askfirst speaks through Alexa: replies, reprompts, upsell messages, apologies.

Pure functions from decisions to text. Prices are never spoken here: an upsell names the
product and its disclosure, and Alexa's purchase flow states the price itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from askfirst.policy.values import CatalogEntry, Decision, OfferKind, Question, QuestionKind

SKILL_NAME = "Ask First"
ANYTHING_ELSE = "Is there anything else you'd like to ask?"
EXAMPLES = "what coffee do you recommend, or what can I buy"
CONSENT_RULE = "R6.consent"
"""The policy rule that denies because the user opted out of offers."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What to say, and whether to keep listening afterwards."""

    speech: str
    reprompt: str | None = None
    """Said if the user stays silent; None ends the session after ``speech``."""

    @property
    def keeps_listening(self) -> bool:
        """True when the reply ends in a question and the session stays open."""
        return self.reprompt is not None


def launch() -> Reply:
    return Reply(
        f"Welcome to {SKILL_NAME}. I only suggest products when you ask me. "
        f"You can ask things like: {EXAMPLES}. What would you like to know?",
        reprompt=f"You can ask: {EXAMPLES}. What would you like to know?",
    )


def help_() -> Reply:
    return Reply(
        "You can ask me about a product, like: what running shoes do you recommend. "
        "Ask: what can I buy, to hear what I know about. Say: stop offering me deals, "
        "and I won't suggest anything again. Say: why did you suggest that, and I'll explain. "
        "What would you like to do?",
        reprompt="What would you like to know?",
    )


def goodbye() -> Reply:
    return Reply("Goodbye.")


def fallback() -> Reply:
    return Reply(
        f"Sorry, I can't help with that. You can ask: {EXAMPLES}. What would you like to know?",
        reprompt="What would you like to know?",
    )


def _topic(question: Question | None, topic: str | None) -> str:
    if topic:
        return topic
    if question is not None and question.topic:
        return question.topic
    return "that"


def _deal_sentence(entry: CatalogEntry) -> str:
    pitch = f" {entry.pitch.strip()}" if entry.pitch.strip() else ""
    return f"{entry.disclosure.strip()}{pitch}"


def _no_offer(decision: Decision | None, question: Question | None, topic: str | None) -> str:
    about = _topic(question, topic)
    if question is not None and question.kind is QuestionKind.BROWSE:
        return "I don't have anything to suggest right now."
    if decision is not None and decision.rule == CONSENT_RULE:
        return f"You asked me not to suggest products, so I won't suggest anything for {about}."
    if decision is None or decision.offer is None:
        return f"I don't have anything to suggest for {about}."
    return f"I won't suggest anything for {about} right now."


def product_answer(
    decision: Decision | None, *, question: Question | None, topic: str | None
) -> Reply:
    """The answer to a product question; a permitted spoken deal is spoken with its disclosure.

    A denied offer still answers: the user hears that there is nothing to suggest, never the
    denied product.
    """
    if decision is not None and decision.permit and decision.offer is not None:
        entry = decision.offer
        if entry.kind is OfferKind.SPOKEN_DEAL:
            return Reply(
                f"Since you asked about {entry.category}: {_deal_sentence(entry)} {ANYTHING_ELSE}",
                reprompt=ANYTHING_ELSE,
            )
    return Reply(f"{_no_offer(decision, question, topic)} {ANYTHING_ELSE}", reprompt=ANYTHING_ELSE)


def upsell_message(entry: CatalogEntry) -> str:
    """The message Alexa reads before its purchase prompt; names no price.

    It names the catalog's category, never the user's own words, which could carry a price
    ("coffee under five dollars"); catalog texts are checked for prices when the policy loads.
    """
    return f"Since you asked about {entry.category}: {_deal_sentence(entry)} Want to learn more?"


def opted_out() -> Reply:
    return Reply(
        "Okay. I won't suggest any products or deals from now on. "
        "You can say: start offering me deals, to change that."
    )


def opted_in() -> Reply:
    return Reply(
        "Okay. When you ask me about a product, I may suggest a deal again. "
        "I'll still only do it when you ask."
    )


def why(explanation: str) -> Reply:
    """``explanation`` is ``policy.explain.explain(decision)``, already in plain words."""
    return Reply(f"{explanation.strip()} {ANYTHING_ELSE}", reprompt=ANYTHING_ELSE)


def nothing_to_explain() -> Reply:
    return Reply(
        f"I haven't suggested anything to you, so there's nothing to explain. {ANYTHING_ELSE}",
        reprompt=ANYTHING_ELSE,
    )


def purchase_accepted(title: str | None) -> Reply:
    name = title or "it"
    return Reply(f"Thanks. {name} is ready for you. {ANYTHING_ELSE}", reprompt=ANYTHING_ELSE)


def purchase_declined() -> Reply:
    return Reply(f"No problem. I won't suggest that again. {ANYTHING_ELSE}", reprompt=ANYTHING_ELSE)


def already_purchased(title: str | None) -> Reply:
    name = title or "that"
    return Reply(f"You already own {name}. {ANYTHING_ELSE}", reprompt=ANYTHING_ELSE)


def purchase_error() -> Reply:
    return Reply(
        f"Sorry, the purchase didn't go through, and you haven't been charged. {ANYTHING_ELSE}",
        reprompt=ANYTHING_ELSE,
    )


def not_for_me() -> Reply:
    """A voice stack's conversation turn that is not about products or offers consent.

    Home Assistant speaks this as a failure and passes the turn to no other agent, so it says
    what askfirst is for rather than nothing."""
    return Reply(
        "Sorry, I can only help with questions about products and deals, "
        "like: what coffee do you recommend."
    )


def apology() -> Reply:
    """Said when something inside the skill failed; never carries an offer."""
    return Reply("Sorry, something went wrong on my side. Please try again in a moment.")


def store_unavailable() -> Reply:
    return Reply("Sorry, I can't answer that right now. Please try again in a little while.")
