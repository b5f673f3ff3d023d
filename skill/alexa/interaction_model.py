"""The Alexa interaction model (en-US) and skill manifest, from the catalog and the grammar.

The question intents' samples come from the same hassil grammar the text detector reads
(``policy/grammars/en-US.yaml``), so the two cannot drift; consent commands are listed here.

Intent and slot names live here; the Alexa handlers import them, so the model and the
handlers cannot drift apart. ``askfirst skill model`` writes the ASK CLI project layout.
"""

from __future__ import annotations

import json
import logging
import random
import re
import unicodedata
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from askfirst.policy.config import Policy
from askfirst.policy.grammar import grammar_for
from askfirst.policy.values import CatalogEntry, OfferKind, QuestionKind
from askfirst.skill.errors import SkillError

logger = logging.getLogger(__name__)

LOCALE = "en-US"
DEFAULT_INVOCATION_NAME = "ask first shop"
PRODUCT_SLOT = "product"
CATALOG_SLOT_TYPE = "CATALOG_ITEM"

PRODUCT_QUESTION_INTENT = "ProductQuestionIntent"
DEAL_QUESTION_INTENT = "DealQuestionIntent"
PRICE_QUESTION_INTENT = "PriceQuestionIntent"
WHAT_CAN_I_BUY_INTENT = "WhatCanIBuyIntent"
OPT_OUT_INTENT = "OptOutIntent"
OPT_IN_INTENT = "OptInIntent"
WHY_SUGGEST_INTENT = "WhySuggestIntent"
BUILT_IN_INTENTS = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
)

AVAILABILITY_QUESTION_INTENT = "AvailabilityQuestionIntent"
REQUEST_QUESTION_INTENT = "RequestQuestionIntent"
QUESTION_INTENT_FOR_KIND: dict[QuestionKind, str] = {
    QuestionKind.RECOMMENDATION: PRODUCT_QUESTION_INTENT,
    QuestionKind.DEAL: DEAL_QUESTION_INTENT,
    QuestionKind.PRICE: PRICE_QUESTION_INTENT,
    QuestionKind.AVAILABILITY: AVAILABILITY_QUESTION_INTENT,
    QuestionKind.REQUEST: REQUEST_QUESTION_INTENT,
    QuestionKind.BROWSE: WHAT_CAN_I_BUY_INTENT,
}
"""One Alexa intent per question kind, so an Alexa request and the same words typed get the same
kind (the handlers map each intent back to its kind)."""
SAMPLES_PER_TEMPLATE = 6
"""Seeded random samples drawn from each grammar template, besides its plainest sentence."""
MAX_SAMPLES_PER_INTENT = 160
_ALEXA_SAMPLE = re.compile(r"[a-z][a-z' .]*(\{product\}[a-z' .]*)?")

PLAIN_SAMPLES: dict[str, tuple[str, ...]] = {
    OPT_OUT_INTENT: (
        "stop offering me deals",
        "stop offering me things",
        "stop suggesting products",
        "don't offer me deals",
        "no more deals",
        "no more offers",
        "I don't want any offers",
        "opt out of offers",
        "turn off offers",
    ),
    OPT_IN_INTENT: (
        "start offering me deals again",
        "you can offer me deals again",
        "I want offers again",
        "opt back in",
        "opt in to offers",
        "turn on offers",
        "resume offers",
    ),
    WHY_SUGGEST_INTENT: (
        "why did you suggest that",
        "why did you recommend that",
        "why did you offer me that",
        "why are you suggesting that",
        "why did I get that offer",
        "why that suggestion",
    ),
}

MAX_SLOT_VALUE_CHARS = 140
_INVOCATION = re.compile(r"[a-z][a-z' .]*[a-z]")
_BAD_SLOT_CHARS = re.compile(r"[{}\[\]<>\"\\]")


class InteractionModelError(SkillError):
    """A catalog or invocation name that cannot become a valid Alexa interaction model."""

    code = "interaction_model"


def _check_invocation_name(name: str) -> None:
    if not _INVOCATION.fullmatch(name) or len(name.split()) < 2:
        raise InteractionModelError(
            f"invocation name: expected two or more lower-case words (letters, spaces, "
            f"apostrophes, periods), got {name!r}"
        )


def _in_locale_script(text: str) -> bool:
    """Whether ``text`` is written in the Latin script en-US slot values accept."""
    return all(ord(char) < 128 or "LATIN" in unicodedata.name(char, "") for char in text)


def _slot_text(entry: CatalogEntry, field: str, value: str) -> str:
    text = " ".join(value.split())
    if not _in_locale_script(text):
        raise InteractionModelError(
            f"catalog entry {entry.id!r} {field}: expected Latin script for {LOCALE}, got {value!r}"
        )
    if not text or len(text) > MAX_SLOT_VALUE_CHARS or _BAD_SLOT_CHARS.search(text):
        raise InteractionModelError(
            f"catalog entry {entry.id!r} {field}: expected 1..{MAX_SLOT_VALUE_CHARS} characters "
            f"without braces, brackets, quotes or backslashes, got {value!r}"
        )
    return text


def catalog_slot_type(catalog: Sequence[CatalogEntry]) -> dict[str, Any]:
    """The ``CATALOG_ITEM`` slot type: id = catalog id, value = title, synonyms + category."""
    values: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for entry in catalog:
        if entry.id in seen_ids:
            raise InteractionModelError(
                f"catalog: expected unique entry ids, got {entry.id!r} twice"
            )
        seen_ids.add(entry.id)
        title = _slot_text(entry, "title", entry.title)
        synonyms: list[str] = []
        known = {title.lower()}
        for field, words in [
            *(("synonyms", s) for s in entry.synonyms),
            ("category", entry.category),
        ]:
            if not _in_locale_script(words):
                continue  # a synonym for another locale (e.g. Korean) has no place in en-US
            text = _slot_text(entry, field, words)
            if text.lower() not in known:
                known.add(text.lower())
                synonyms.append(text)
        name: dict[str, Any] = {"value": title}
        if synonyms:
            name["synonyms"] = synonyms
        values.append({"id": entry.id, "name": name})
    if not values:
        raise InteractionModelError("catalog: expected at least one entry, got none")
    return {"name": CATALOG_SLOT_TYPE, "values": values}


def question_samples(catalog: Sequence[CatalogEntry]) -> dict[str, list[str]]:
    """Each question intent's samples, drawn from the text detector's grammar
    (``policy/grammars/en-US.yaml``): every template's plainest sentence and a few seeded random
    ones, kept when Alexa can take them (letters, apostrophes, periods, one ``{product}``, no
    other slot), each sample in one intent only. The Alexa path and the text path so read the
    same sentences the same way (``tests/skill/test_interaction_model.py`` checks it)."""
    grammar = grammar_for(LOCALE, tuple(catalog))
    taken: set[str] = set()
    samples: dict[str, list[str]] = {name: [] for name in QUESTION_INTENT_FOR_KIND.values()}
    for template, expression in grammar.templates:
        if template.kind is None:
            continue
        name = QUESTION_INTENT_FOR_KIND[template.kind]
        rng = random.Random(zlib.crc32(template.text.encode("utf-8")))  # noqa: S311 - sampling
        drawn = [grammar.sample(expression, None)]
        drawn += [grammar.sample(expression, rng) for _ in range(SAMPLES_PER_TEMPLATE)]
        for text in drawn:
            sample = text.lower()
            wants_slot = template.kind is not QuestionKind.BROWSE
            if (
                sample in taken
                or len(samples[name]) >= MAX_SAMPLES_PER_INTENT
                or not _ALEXA_SAMPLE.fullmatch(sample)
                or sample.count("{product}") != int(wants_slot)
            ):
                continue
            taken.add(sample)
            samples[name].append(sample)
    return samples


def _intents(catalog: Sequence[CatalogEntry]) -> list[dict[str, Any]]:
    slot = [{"name": PRODUCT_SLOT, "type": CATALOG_SLOT_TYPE}]
    intents: list[dict[str, Any]] = []
    for name, samples in question_samples(catalog).items():
        intent: dict[str, Any] = {"name": name}
        if name != WHAT_CAN_I_BUY_INTENT:
            intent["slots"] = slot
        intent["samples"] = samples
        intents.append(intent)
    intents += [{"name": name, "samples": list(samples)} for name, samples in PLAIN_SAMPLES.items()]
    intents += [{"name": name, "samples": []} for name in BUILT_IN_INTENTS]
    return intents


def model_for_catalog(
    catalog: Sequence[CatalogEntry], *, invocation_name: str = DEFAULT_INVOCATION_NAME
) -> dict[str, Any]:
    """The interaction model JSON document for a catalog (pure)."""
    _check_invocation_name(invocation_name)
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": invocation_name,
                "intents": _intents(catalog),
                "types": [catalog_slot_type(catalog)],
            }
        }
    }


def build_interaction_model(
    policy: Policy, *, invocation_name: str = DEFAULT_INVOCATION_NAME
) -> dict[str, Any]:
    """The en-US interaction model for the policy's catalog."""
    return model_for_catalog(policy.catalog, invocation_name=invocation_name)


def build_manifest(
    catalog: Sequence[CatalogEntry], *, invocation_name: str = DEFAULT_INVOCATION_NAME
) -> dict[str, Any]:
    """A starting ``skill.json``: edit the endpoint URI and the URLs before ``ask deploy``."""
    title = invocation_name.title()
    sells_products = any(e.kind is OfferKind.IN_SKILL_PRODUCT for e in catalog)
    speaks_deals = any(e.kind is OfferKind.SPOKEN_DEAL for e in catalog)
    return {
        "manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {
                "locales": {
                    LOCALE: {
                        "name": title,
                        "summary": "Answers your shopping questions; offers only when you ask.",
                        "description": (
                            f"{title} answers product questions you ask it. It suggests a deal "
                            "or product only as the answer to your question, never from "
                            "overheard speech. Say 'stop offering me deals' at any time."
                        ),
                        "examplePhrases": [
                            f"Alexa, open {invocation_name}",
                            f"Alexa, ask {invocation_name} what can I buy",
                            f"Alexa, ask {invocation_name} why did you suggest that",
                        ],
                        "keywords": ["shopping", "deals", "privacy"],
                    }
                },
                "isAvailableWorldwide": False,
                "distributionCountries": ["US"],
                "category": "SHOPPING",
                "testingInstructions": "Ask 'what can I buy', then a product question.",
            },
            "apis": {
                "custom": {
                    "endpoint": {
                        "uri": "https://askfirst.example.com/alexa",
                        "sslCertificateType": "Trusted",
                    },
                    "interfaces": [{"type": "CAN_FULFILL_INTENT_REQUEST"}],
                }
            },
            "privacyAndCompliance": {
                "allowsPurchases": sells_products,
                "usesPersonalInfo": False,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": speaks_deals,
                "locales": {
                    LOCALE: {
                        "privacyPolicyUrl": "https://askfirst.example.com/privacy",
                        "termsOfUseUrl": "https://askfirst.example.com/terms",
                    }
                },
            },
        }
    }


def render_json(document: dict[str, Any]) -> str:
    """The canonical text of a generated JSON file (what is committed and compared)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def model_path(out_dir: Path) -> Path:
    return out_dir / "interactionModels" / "custom" / f"{LOCALE}.json"


def write_skill_package(
    policy: Policy, out_dir: Path, *, invocation_name: str = DEFAULT_INVOCATION_NAME
) -> list[Path]:
    """Write ``interactionModels/custom/en-US.json`` (and ``skill.json`` if absent).

    Returns the files written. An existing ``skill.json`` is left alone: it holds the
    endpoint and publishing details a developer has edited.
    """
    model = build_interaction_model(policy, invocation_name=invocation_name)
    written: list[Path] = []
    path = model_path(out_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_json(model), encoding="utf-8")
        written.append(path)
        manifest = out_dir / "skill.json"
        if not manifest.exists():
            text = render_json(build_manifest(policy.catalog, invocation_name=invocation_name))
            manifest.write_text(text, encoding="utf-8")
            written.append(manifest)
    except OSError as exc:
        raise InteractionModelError(
            f"skill package: cannot write under {str(out_dir)!r}: {exc.strerror}"
        ) from exc
    logger.info("wrote %s", ", ".join(str(p) for p in written))
    return written
