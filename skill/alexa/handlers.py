"""The Alexa skill on ask-sdk-core: thin handlers, logging interceptors, one exception handler.

Handlers gather facts (``skill.alexa_facts``), let the pipeline and the policy decide, and
render the result with words from ``skill.replies``. An Alexa request is prompted by
construction: Alexa heard its own wake word and routed an intent to this skill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_model.canfulfill.can_fulfill_intent import CanFulfillIntent
from ask_sdk_model.canfulfill.can_fulfill_intent_values import CanFulfillIntentValues
from ask_sdk_model.canfulfill.can_fulfill_slot import CanFulfillSlot
from ask_sdk_model.canfulfill.can_fulfill_slot_values import CanFulfillSlotValues
from ask_sdk_model.canfulfill.can_understand_slot_values import CanUnderstandSlotValues
from ask_sdk_model.interfaces.connections.send_request_directive import SendRequestDirective
from ask_sdk_model.response import Response
from ask_sdk_model.session_ended_request import SessionEndedRequest

from askfirst.policy.detector import Command, match_catalog
from askfirst.policy.errors import PolicyError
from askfirst.policy.explain import explain
from askfirst.policy.values import (
    CatalogEntry,
    Decision,
    OfferKind,
    Question,
    QuestionKind,
    RequestFacts,
)
from askfirst.skill import replies
from askfirst.skill.alexa import interaction_model as model
from askfirst.skill.alexa.facts import AlexaFacts, AlexaRequestError, read_facts
from askfirst.skill.api.errors import spoken_error
from askfirst.skill.request_text import find_bad_text
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import IntentInput, TurnResult

logger = logging.getLogger(__name__)

ENVELOPE_TYPE = "ask_sdk_model.request_envelope.RequestEnvelope"
MAX_RESPONSE_BYTES = 24 * 1024
"""Alexa refuses responses larger than 24 KB."""
UNKNOWN_DEVICE = "alexa:unknown-device"

QUESTION_INTENTS: dict[str, QuestionKind] = {
    name: kind for kind, name in model.QUESTION_INTENT_FOR_KIND.items()
}
COMMAND_INTENTS: dict[str, Command] = {
    model.OPT_OUT_INTENT: Command.OPT_OUT,
    model.OPT_IN_INTENT: Command.OPT_IN,
}
STATIC_INTENTS: dict[str, Callable[[], replies.Reply]] = {
    "AMAZON.HelpIntent": replies.help_,
    "AMAZON.StopIntent": replies.goodbye,
    "AMAZON.CancelIntent": replies.goodbye,
    "AMAZON.NavigateHomeIntent": replies.goodbye,
    "AMAZON.FallbackIntent": replies.fallback,
}
KNOWN_INTENTS = frozenset(
    {*QUESTION_INTENTS, *COMMAND_INTENTS, model.WHY_SUGGEST_INTENT, *STATIC_INTENTS}
)
REQUEST_TYPES = (
    "LaunchRequest",
    "IntentRequest",
    "SessionEndedRequest",
    "CanFulfillIntentRequest",
    "Connections.Response",
)


def facts_of(handler_input: HandlerInput) -> AlexaFacts:
    """The facts ``AlexaEndpoint`` read from the raw envelope, passed as the dispatch context."""
    facts: AlexaFacts = handler_input.context
    return facts


def render(handler_input: HandlerInput, reply: replies.Reply) -> Response:
    builder = handler_input.response_builder
    builder.speak(escape(reply.speech))
    if reply.reprompt is not None:
        builder.ask(escape(reply.reprompt))
    else:
        builder.set_should_end_session(True)
    return builder.response


def _user_key(facts: AlexaFacts) -> str:
    return Pipeline.user_key(user_id=facts.user_id, device_id=facts.device_id or UNKNOWN_DEVICE)


def _intent_input(
    facts: AlexaFacts, *, kind: QuestionKind | None, command: Command | None
) -> IntentInput:
    slot = facts.slot(model.PRODUCT_SLOT)
    return IntentInput(
        utterance_id=facts.request_id,
        device_id=facts.device_id or UNKNOWN_DEVICE,
        user_id=facts.user_id,
        session_id=facts.session_id,
        locale=facts.locale,
        at=facts.timestamp,
        intent_name=facts.intent_name or "",
        kind=kind,
        topic=None if slot is None else slot.topic,
        command=command,
        request=RequestFacts(limit_ad_tracking=facts.limit_ad_tracking),
        slots={
            name: filled.value for name, filled in facts.slots.items() if filled.value is not None
        },
    )


class LaunchHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return render(handler_input, replies.launch())


class QuestionHandler(AbstractRequestHandler):
    """A product, deal, price or "what can I buy" question: the intent and slot are the question."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(is_intent_name(name)(handler_input) for name in QUESTION_INTENTS)

    def handle(self, handler_input: HandlerInput) -> Response:
        facts = facts_of(handler_input)
        kind = QUESTION_INTENTS[facts.intent_name or ""]
        slot = facts.slot(model.PRODUCT_SLOT)
        topic = None if slot is None else slot.value  # the user's own words, never the catalog's

        def asks_back(decision: Decision, question: Question | None) -> bool:
            answer = _answer(decision, question, topic)
            return isinstance(answer, replies.Reply) and answer.keeps_listening

        result = self._pipeline.handle_intent(
            _intent_input(facts, kind=kind, command=None),
            # The follow-up window opens with the decision, in one transaction.
            asks_back=None if facts.device_id is None else asks_back,
        )
        answer = _answer(result.decided(), result.question, topic)
        if isinstance(answer, CatalogEntry):
            return _upsell(handler_input, answer, result)
        return render(handler_input, answer)


def _answer(
    decision: Decision, question: Question | None, topic: str | None
) -> replies.Reply | CatalogEntry:
    """The spoken answer, or the in-skill product a permitted offer hands to Alexa's Upsell."""
    entry = decision.offer
    if decision.permit and entry is not None and _is_upsell(entry):
        return entry
    return replies.product_answer(decision, question=question, topic=topic)


def _is_upsell(entry: CatalogEntry) -> bool:
    return entry.kind is OfferKind.IN_SKILL_PRODUCT and bool(entry.product_id)


def _upsell(handler_input: HandlerInput, entry: CatalogEntry, result: TurnResult) -> Response:
    """A permitted in-skill product: Alexa's Upsell flow, tokened with the decision id."""
    message = replies.upsell_message(entry)
    directive = SendRequestDirective(
        name="Upsell",
        payload={"InSkillProduct": {"productId": entry.product_id}, "upsellMessage": message},
        token=result.decided().id,
    )
    return handler_input.response_builder.add_directive(directive).response


class CommandHandler(AbstractRequestHandler):
    """Opting out of offers, or back in; recorded through the pipeline like any turn."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(is_intent_name(name)(handler_input) for name in COMMAND_INTENTS)

    def handle(self, handler_input: HandlerInput) -> Response:
        facts = facts_of(handler_input)
        command = COMMAND_INTENTS[facts.intent_name or ""]
        self._pipeline.handle_intent(_intent_input(facts, kind=None, command=command))
        reply = replies.opted_out() if command is Command.OPT_OUT else replies.opted_in()
        return render(handler_input, reply)


class WhyHandler(AbstractRequestHandler):
    """ "Why did you suggest that": the last decision, in plain words. Changes nothing."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name(model.WHY_SUGGEST_INTENT)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        facts = facts_of(handler_input)
        user = _user_key(facts)
        decision = self._pipeline.last_decision(user_id=user, session_id=facts.session_id)
        if decision is None and facts.session_id is not None:
            decision = self._pipeline.last_decision(user_id=user, session_id=None)
        reply = replies.nothing_to_explain() if decision is None else replies.why(explain(decision))
        return render(handler_input, reply)


class StaticHandler(AbstractRequestHandler):
    """Help, stop, cancel, navigate home, fallback, and intents this skill does not know."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("IntentRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        name = facts_of(handler_input).intent_name or ""
        return render(handler_input, STATIC_INTENTS.get(name, replies.fallback)())


class CanFulfillHandler(AbstractRequestHandler):
    """Whether this skill could answer an intent; no side effects, no state change."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("CanFulfillIntentRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        facts = facts_of(handler_input)
        known = facts.intent_name in KNOWN_INTENTS
        slots: dict[str, CanFulfillSlot] = {}
        all_understood = True
        for name, slot in facts.slots.items():
            understood = name == model.PRODUCT_SLOT and self._knows(
                slot.resolved_id, slot.topic, facts.locale
            )
            all_understood = all_understood and understood
            slots[name] = CanFulfillSlot(
                can_understand=CanUnderstandSlotValues.YES
                if understood
                else CanUnderstandSlotValues.NO,
                can_fulfill=CanFulfillSlotValues.YES if understood else CanFulfillSlotValues.NO,
            )
        verdict = (
            CanFulfillIntentValues.YES if known and all_understood else CanFulfillIntentValues.NO
        )
        answer = CanFulfillIntent(can_fulfill=verdict, slots=slots or None)
        return handler_input.response_builder.set_can_fulfill_intent(answer).response

    def _knows(self, resolved_id: str | None, topic: str | None, locale: str) -> bool:
        """Whether the slot names a catalog entry, matched as a question's topic would be."""
        catalog = self._pipeline.policy.catalog
        if resolved_id is not None and any(entry.id == resolved_id for entry in catalog):
            return True
        if not topic:
            return False
        try:
            return bool(match_catalog(topic, catalog, locale=locale))
        except PolicyError:  # a locale the policy has no data for: we cannot fulfil it
            return False


class PurchaseResultHandler(AbstractRequestHandler):
    """The outcome of an Upsell or Buy: a decline is remembered so it is never offered again."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("Connections.Response")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        facts = facts_of(handler_input)
        connection = facts.connection
        assert connection is not None  # read_facts fills it for Connections.Response
        entry = self._entry(connection.token, connection.product_id)
        title = None if entry is None else entry.title
        result = connection.purchase_result if connection.status_code == "200" else "ERROR"
        if result == "DECLINED":
            if entry is not None:
                self._pipeline.declined(
                    user_id=_user_key(facts), offer_id=entry.id, decision_id=connection.token
                )
            else:
                logger.warning(
                    "declined product %r matches no catalog entry", connection.product_id
                )
            reply = replies.purchase_declined()
        elif result == "ACCEPTED":
            reply = replies.purchase_accepted(title)
        elif result == "ALREADY_PURCHASED":
            reply = replies.already_purchased(title)
        else:
            logger.warning(
                "%s failed: status %r, result %r", connection.name, connection.status_code, result
            )
            reply = replies.purchase_error()
        return render(handler_input, reply)

    def _entry(self, token: str | None, product_id: str | None) -> CatalogEntry | None:
        if token:
            decision = self._pipeline.get_decision(token)
            if decision is not None and decision.offer is not None:
                return decision.offer
        for entry in self._pipeline.policy.catalog:
            if product_id and entry.product_id == product_id:
                return entry
        return None


class SessionEndedHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("SessionEndedRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        if isinstance(request, SessionEndedRequest):
            logger.info("session ended: reason %s, error %s", request.reason, request.error)
        return handler_input.response_builder.response


class ApologyHandler(AbstractExceptionHandler):
    """Any exception in a handler becomes a spoken apology and a log line, never an offer."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        builder = handler_input.response_builder
        builder.response.directives = None
        return render(handler_input, spoken_error(exception))


class RequestLogger(AbstractRequestInterceptor):
    def process(self, handler_input: HandlerInput) -> None:
        facts = facts_of(handler_input)
        logger.debug(
            "alexa %s %s %s", facts.request_type, facts.intent_name or "-", facts.request_id
        )


class ResponseLogger(AbstractResponseInterceptor):
    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        facts = facts_of(handler_input)
        ends = None if response is None else response.should_end_session
        logger.debug("alexa %s answered, ends session: %s", facts.request_id, ends)


class AlexaEndpoint:
    """A verified Alexa request body in, an Alexa response envelope (as JSON data) out."""

    def __init__(self, *, pipeline: Pipeline) -> None:
        builder = SkillBuilder()
        for handler in (
            LaunchHandler(),
            QuestionHandler(pipeline),
            CommandHandler(pipeline),
            WhyHandler(pipeline),
            CanFulfillHandler(pipeline),
            PurchaseResultHandler(pipeline),
            SessionEndedHandler(),
            StaticHandler(),
        ):
            builder.add_request_handler(handler)
        builder.add_exception_handler(ApologyHandler())
        builder.add_global_request_interceptor(RequestLogger())
        builder.add_global_response_interceptor(ResponseLogger())
        self._skill = builder.create()
        self._serializer = DefaultSerializer()

    def respond(self, body: dict[str, Any], raw: str) -> dict[str, Any]:
        """Dispatch one request; ``raw`` is the body text ``body`` was parsed from."""
        bad = find_bad_text(body)
        if bad is not None:
            raise AlexaRequestError(bad.message(), code="invalid_text")
        facts = read_facts(body)
        if facts.request_type not in REQUEST_TYPES:
            raise AlexaRequestError(
                f"request.type: expected one of {list(REQUEST_TYPES)!r}, "
                f"got {facts.request_type!r}",
                code="unsupported_request_type",
            )
        try:
            envelope = self._serializer.deserialize(raw, ENVELOPE_TYPE)
        except SerializationException as exc:
            raise AlexaRequestError(
                f"expected an Alexa request envelope, got one that {exc}"
            ) from None
        response = self._serializer.serialize(
            self._skill.invoke(request_envelope=envelope, context=facts)
        )
        if not isinstance(response, dict):
            raise TypeError(f"expected the skill to answer with a JSON object, got {response!r}")
        return response
