"""The interaction model built from the catalog, the skill package, `askfirst skill model`."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.detector import Command, detect_command, detect_question
from askfirst.policy.values import CatalogEntry, OfferKind
from askfirst.skill.alexa import interaction_model as im
from askfirst.skill.cli.main import main
from askfirst.skill.cli.skill import run_model

REPO = Path(__file__).parents[2]
COMMITTED_PACKAGE = REPO / "skill-package"

SLOTTED = (
    im.PRODUCT_QUESTION_INTENT,
    im.DEAL_QUESTION_INTENT,
    im.PRICE_QUESTION_INTENT,
    im.AVAILABILITY_QUESTION_INTENT,
    im.REQUEST_QUESTION_INTENT,
)
UNSLOTTED = (im.WHAT_CAN_I_BUY_INTENT, im.OPT_OUT_INTENT, im.OPT_IN_INTENT, im.WHY_SUGGEST_INTENT)
SAMPLE_CHARS = re.compile(r"[A-Za-z' .{}]+")


def entry(
    entry_id: str = "coffee",
    *,
    title: str = "Morning Roast Coffee",
    category: str = "coffee",
    synonyms: tuple[str, ...] = ("coffee beans", "espresso"),
    kind: OfferKind = OfferKind.SPOKEN_DEAL,
) -> CatalogEntry:
    return CatalogEntry(
        id=entry_id,
        title=title,
        category=category,
        synonyms=synonyms,
        kind=kind,
        disclosure="Sponsored.",
    )


def language_model(catalog: tuple[CatalogEntry, ...] = (entry(),)) -> dict[str, Any]:
    model: dict[str, Any] = im.model_for_catalog(catalog)["interactionModel"]["languageModel"]
    return model


def intents_by_name(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {intent["name"]: intent for intent in model["intents"]}


def test_the_model_has_every_intent_the_handlers_use() -> None:
    model = language_model()
    assert model["invocationName"] == "ask first shop"
    assert set(intents_by_name(model)) == {*SLOTTED, *UNSLOTTED, *im.BUILT_IN_INTENTS}
    assert {
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.FallbackIntent",
        "AMAZON.NavigateHomeIntent",
    } <= set(intents_by_name(model))


def test_question_intents_carry_the_catalog_slot_in_every_sample() -> None:
    intents = intents_by_name(language_model())
    for name in SLOTTED:
        assert intents[name]["slots"] == [{"name": "product", "type": "CATALOG_ITEM"}]
        assert intents[name]["samples"]
        for sample in intents[name]["samples"]:
            assert "{product}" in sample, (name, sample)
    for name in UNSLOTTED:
        assert "slots" not in intents[name]
        assert all("{" not in s for s in intents[name]["samples"])


def test_the_documented_phrases_are_samples() -> None:
    intents = intents_by_name(language_model())
    expected = {
        im.PRODUCT_QUESTION_INTENT: ["what {product} do you recommend", "recommend {product}"],
        im.DEAL_QUESTION_INTENT: ["is {product} on sale"],
        im.PRICE_QUESTION_INTENT: ["how much is {product}"],
        im.AVAILABILITY_QUESTION_INTENT: ["do you sell {product}"],
        im.REQUEST_QUESTION_INTENT: ["i want to buy {product}"],
        im.WHAT_CAN_I_BUY_INTENT: ["what can i buy", "what do you sell", "what do you have"],
        im.OPT_OUT_INTENT: ["stop offering me deals"],
        im.WHY_SUGGEST_INTENT: ["why did you suggest that"],
    }
    for name, samples in expected.items():
        assert set(samples) <= set(intents[name]["samples"]), name
    assert intents[im.OPT_IN_INTENT]["samples"]


def test_every_sample_means_to_the_text_detector_what_it_means_to_alexa() -> None:
    """One grammar, two consumers: a sample said as text gets its intent's kind or command."""
    policy = load_policy(EXAMPLE_POLICY_PATH)
    intents = intents_by_name(
        im.build_interaction_model(policy)["interactionModel"]["languageModel"]
    )
    kinds = {name: kind for kind, name in im.QUESTION_INTENT_FOR_KIND.items()}
    commands = {im.OPT_OUT_INTENT: Command.OPT_OUT, im.OPT_IN_INTENT: Command.OPT_IN}
    wrong: list[tuple[str, str, object]] = []
    for name, intent in intents.items():
        for sample in intent["samples"]:
            text = sample.replace("{product}", "running shoes")
            if name in kinds:
                question = detect_question(
                    text=text, utterance_id="u", locale="en-US", catalog=policy.catalog
                )
                if question is None or question.kind is not kinds[name]:
                    wrong.append((name, sample, question and question.kind))
            elif (
                name in commands and detect_command(text=text, locale="en-US") is not commands[name]
            ):
                wrong.append((name, sample, detect_command(text=text, locale="en-US")))
    assert wrong == []


def test_samples_are_unique_across_intents_and_use_only_allowed_characters() -> None:
    seen: dict[str, str] = {}
    for intent in language_model()["intents"]:
        for sample in intent["samples"]:
            assert SAMPLE_CHARS.fullmatch(sample), sample
            key = sample.lower()
            assert key not in seen, f"{sample!r} in {intent['name']} and {seen[key]}"
            seen[key] = intent["name"]


def test_slot_values_come_from_the_catalog() -> None:
    catalog = (
        entry(),
        entry(
            "pack",
            title="Premium Recipe Pack",
            category="recipes",
            synonyms=("premium pack", "Premium Recipe Pack", "레시피"),
            kind=OfferKind.IN_SKILL_PRODUCT,
        ),
    )
    (slot_type,) = language_model(catalog)["types"]
    assert slot_type == {
        "name": "CATALOG_ITEM",
        "values": [
            {
                "id": "coffee",
                "name": {
                    "value": "Morning Roast Coffee",
                    "synonyms": ["coffee beans", "espresso", "coffee"],
                },
            },
            {
                "id": "pack",
                "name": {"value": "Premium Recipe Pack", "synonyms": ["premium pack", "recipes"]},
            },
        ],
    }


@pytest.mark.parametrize(
    ("catalog", "problem"),
    [
        ((), "expected at least one entry, got none"),
        ((entry(), entry()), "expected unique entry ids, got 'coffee' twice"),
        ((entry(title="Coffee {deal}"),), "'coffee' title: expected 1..140 characters"),
        ((entry(title="커피"),), "'coffee' title: expected Latin script for en-US, got '커피'"),
        ((entry(synonyms=("  ",)),), "'coffee' synonyms: expected 1..140 characters"),
        ((entry(category="x" * 141),), "'coffee' category: expected 1..140"),
    ],
)
def test_catalogs_that_cannot_be_slot_values_are_refused(
    catalog: tuple[CatalogEntry, ...], problem: str
) -> None:
    with pytest.raises(im.InteractionModelError) as info:
        im.model_for_catalog(catalog)
    assert problem in info.value.message


@pytest.mark.parametrize("name", ["Ask First", "shop", "ask first 2", "ask-first shop", ""])
def test_bad_invocation_names_are_refused(name: str) -> None:
    with pytest.raises(im.InteractionModelError, match="invocation name: expected two or more"):
        im.model_for_catalog((entry(),), invocation_name=name)


def test_the_manifest_declares_purchases_ads_and_can_fulfill() -> None:
    deals_only = im.build_manifest((entry(),))["manifest"]
    assert deals_only["privacyAndCompliance"]["containsAds"] is True
    assert deals_only["privacyAndCompliance"]["allowsPurchases"] is False
    assert {"type": "CAN_FULFILL_INTENT_REQUEST"} in deals_only["apis"]["custom"]["interfaces"]
    isp = im.build_manifest((entry(kind=OfferKind.IN_SKILL_PRODUCT),))["manifest"]
    assert isp["privacyAndCompliance"]["allowsPurchases"] is True
    assert isp["privacyAndCompliance"]["containsAds"] is False


def test_the_example_policy_gives_a_model_matching_the_catalog() -> None:
    policy = load_policy(EXAMPLE_POLICY_PATH)
    model = im.build_interaction_model(policy)
    values = model["interactionModel"]["languageModel"]["types"][0]["values"]
    assert [v["id"] for v in values] == [e.id for e in policy.catalog]
    assert json.loads(im.render_json(model)) == model


def test_write_skill_package_keeps_an_edited_manifest(tmp_path: Path) -> None:
    policy = load_policy(EXAMPLE_POLICY_PATH)
    written = im.write_skill_package(policy, tmp_path)
    assert written == [tmp_path / "interactionModels/custom/en-US.json", tmp_path / "skill.json"]
    (tmp_path / "skill.json").write_text('{"manifest": {"edited": true}}\n')
    assert im.write_skill_package(policy, tmp_path) == [written[0]]
    assert json.loads((tmp_path / "skill.json").read_text()) == {"manifest": {"edited": True}}
    assert json.loads(written[0].read_text()) == im.build_interaction_model(policy)


def test_the_committed_skill_package_is_up_to_date() -> None:
    policy = load_policy(EXAMPLE_POLICY_PATH)
    committed = im.model_path(COMMITTED_PACKAGE).read_text(encoding="utf-8")
    assert committed == im.render_json(im.build_interaction_model(policy)), (
        "skill-package is stale: run `askfirst skill model`"
    )
    manifest = json.loads((COMMITTED_PACKAGE / "skill.json").read_text(encoding="utf-8"))
    assert manifest["manifest"]["apis"]["custom"]["endpoint"]["uri"].startswith("https://")


def test_cli_writes_then_checks_the_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["skill", "model", "--out", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["skill", "model", "--out", str(tmp_path), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out

    path = im.model_path(tmp_path)
    path.write_text(path.read_text().replace('"Green Leaf Tea"', '"Old Tea"'))
    assert main(["skill", "model", "--out", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err
    assert re.search(r'^-\s+"value": "Old Tea",$', err, re.MULTILINE)
    assert re.search(r'^\+\s+"value": "Green Leaf Tea",$', err, re.MULTILINE)


def test_cli_check_without_a_package_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["skill", "model", "--out", str(tmp_path / "none"), "--check"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_cli_reports_an_unusable_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("catalog = 3\n")
    assert main(["skill", "model", "--policy", str(bad), "--out", str(tmp_path)]) == 2
    assert "askfirst skill model:" in capsys.readouterr().err
    assert not im.model_path(tmp_path).exists()


def test_run_model_writes_to_given_streams(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(
        policy=EXAMPLE_POLICY_PATH,
        out=tmp_path,
        invocation_name=im.DEFAULT_INVOCATION_NAME,
        check=False,
    )
    assert run_model(args, out, err) == 0
    assert str(im.model_path(tmp_path)) in out.getvalue()
    assert err.getvalue() == ""
