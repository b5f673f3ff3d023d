"""askfirst's side of the Wyoming vocabulary: what ``describe`` answers, and how a decided turn
becomes ``handled`` or ``not-handled``.

Every word spoken comes from ``skill/replies.py``; this module only picks the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import AsrModel, AsrProgram, Attribution, HandleModel, HandleProgram, Info

from askfirst.policy.detector import Command
from askfirst.policy.explain import explain
from askfirst.policy.values import Decision
from askfirst.skill import replies
from askfirst.speech.locale import known_locales
from askfirst.turn.values import TurnResult

logger = logging.getLogger(__name__)

PROGRAM = "askfirst"
CONTEXT_KEY = "askfirst"
"""The key of askfirst's own entry in a ``context``."""
ATTRIBUTION = Attribution(name="askfirst", url="https://github.com/askfirst/askfirst")
VOSK = Attribution(name="Alpha Cephei (Vosk)", url="https://alphacephei.com/vosk/models")


def _version() -> str | None:
    try:
        return version("askfirst")
    except PackageNotFoundError:  # running from a source tree without an install
        return None


def languages(locales: Iterable[str]) -> list[str]:
    """Each locale and its bare language ("ko-KR" -> "ko-KR", "ko"): Home Assistant offers
    a pipeline language when it matches either."""
    out: list[str] = []
    for locale in locales:
        for name in (locale, locale.split("-")[0]):
            if name not in out:
                out.append(name)
    return out


def locale_for(language: str | None, *, known: Iterable[str], default: str) -> str:
    """The askfirst locale for a Wyoming ``language`` ("ko", "ko-KR", "ko_kr"); ``default``
    when none was given or none matches."""
    if not language:
        return default
    wanted = language.replace("_", "-").casefold()
    candidates = list(known)
    for locale in candidates:
        if locale.casefold() == wanted:
            return locale
    for locale in candidates:
        if locale.split("-")[0].casefold() == wanted.split("-")[0]:
            return locale
    return default


def build_info(*, asr_locales: Iterable[str]) -> Info:
    """The ``info`` answer: an ASR program (one model per configured locale, streaming) and a
    handle program (the consent-first conversation agent, no home control)."""
    ours = _version()
    models = [
        AsrModel(
            name=f"vosk-{locale}",
            attribution=VOSK,
            installed=True,
            description=f"Vosk model for {locale}",
            version=None,
            languages=languages([locale]),
        )
        for locale in asr_locales
    ]
    asr = [
        AsrProgram(
            name=PROGRAM,
            attribution=ATTRIBUTION,
            installed=True,
            description="askfirst speech-to-text (Vosk, streaming)",
            version=ours,
            models=models,
            supports_transcript_streaming=True,
        )
    ]
    handle = HandleProgram(
        name=PROGRAM,
        attribution=ATTRIBUTION,
        installed=True,
        description="askfirst: product answers and offers only when asked",
        version=ours,
        models=[
            HandleModel(
                name="askfirst-policy",
                attribution=ATTRIBUTION,
                installed=True,
                description="consent-first offers, decided and audited per turn",
                version=ours,
                languages=languages(known_locales()),
            )
        ],
        supports_handled_streaming=False,
        supports_home_control=False,
    )
    return Info(asr=asr if models else [], handle=[handle])


def about(result: TurnResult) -> dict[str, object]:
    """What askfirst decided, returned in the reply's ``context`` (never spoken)."""
    decision = result.decision
    return {
        "utterance_id": result.utterance.id,
        "decision_id": None if decision is None else decision.id,
        "device_id": result.utterance.device_id,
        "tag": result.tag.tag.value,
        "tag_reasons": list(result.tag.reasons),
        "outcome": result.hearing.outcome.value,
        "permit": decision is not None and decision.permit,
        "offer_id": decision.offer.id
        if decision is not None and result.offer_permitted and decision.offer
        else None,
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """What one conversation turn says back, and whether it asks something back."""

    event: Event
    handled: bool
    asks_back: bool


def answer(
    result: TurnResult, *, context: dict[str, object] | None, last: Decision | None
) -> Answer:
    """``handled`` for a product question or a consent command (``last`` is the decision a
    "why did you suggest that" explains); ``not-handled`` with a sentence for anything else."""
    context = {**(context or {}), CONTEXT_KEY: about(result)}
    reply: replies.Reply | None = None
    if result.command is Command.OPT_OUT:
        reply = replies.opted_out()
    elif result.command is Command.OPT_IN:
        reply = replies.opted_in()
    elif result.command is Command.WHY:
        reply = replies.nothing_to_explain() if last is None else replies.why(explain(last))
    elif result.question is not None:
        reply = replies.product_answer(result.decided(), question=result.question, topic=None)
    if reply is None:
        return Answer(
            NotHandled(text=replies.not_for_me().speech, context=context).event(),
            handled=False,
            asks_back=False,
        )
    return Answer(
        Handled(text=reply.speech, context=context).event(),
        handled=True,
        asks_back=reply.keeps_listening,
    )
