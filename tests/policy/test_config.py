"""The policy file: the bundled example, round trips, the content hash, and bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.policy.config import (
    EXAMPLE_POLICY_PATH,
    Caps,
    ObligationTexts,
    Policy,
    dump_policy,
    load_policy,
    parse_policy,
)
from askfirst.policy.errors import PolicyConfigError, PolicyError
from askfirst.policy.values import CatalogEntry, OfferKind

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = EXAMPLE_POLICY_PATH.read_text(encoding="utf-8")


def test_example_policy_loads(policy: Policy) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", policy.hash)
    assert policy.locales == ("en-US", "ko-KR")
    assert policy.caps == Caps(per_session=1, per_user_per_day=3)
    assert not policy.child_directed_skill
    kinds = {entry.id: entry.kind for entry in policy.catalog}
    assert kinds["coffee-morning-roast"] is OfferKind.SPOKEN_DEAL
    pack = policy.entry("premium-recipe-pack")
    assert pack is not None and pack.kind is OfferKind.IN_SKILL_PRODUCT
    assert pack.product_id is not None and pack.product_id.startswith("amzn1.adg.product.")
    assert policy.entry("nope") is None
    tea = policy.entry("tea-green-leaf")
    assert tea is not None and tea.disclosure == policy.obligations.disclosure


def test_examples_policy_is_a_link_to_the_bundled_file(policy: Policy) -> None:
    link = REPO / "examples" / "policy.toml"
    assert link.is_symlink()
    assert link.resolve() == EXAMPLE_POLICY_PATH.resolve()
    assert load_policy(link) == policy


def test_dump_and_parse_round_trip(policy: Policy) -> None:
    again = parse_policy(dump_policy(policy), source="dumped")
    assert again == policy
    assert again.hash == policy.hash


def test_hash_covers_content_not_formatting() -> None:
    reformatted = "# a comment\n" + EXAMPLE.replace("per_session = 1", "per_session   =   1")
    changed = EXAMPLE.replace("per_session = 1", "per_session = 2")
    base = parse_policy(EXAMPLE, source="a").hash
    assert parse_policy(reformatted, source="b").hash == base
    assert parse_policy(changed, source="c").hash != base


# Texts with what TOML must escape (quotes, backslash, newline, tab, DEL) and non-ASCII.
TEXTS = [
    "coffee",
    'say "hi"',
    "back\\slash",
    "two\nlines",
    "tab\there",
    "del\x7f",
    "커피 원두",
    "é",
]
ENTRY_POOL = [
    CatalogEntry(
        id=f"entry-{n}",
        title=TEXTS[n % len(TEXTS)],
        category=TEXTS[(n // 2) % len(TEXTS)],
        synonyms=tuple(f"{text} {n}" for text in TEXTS[: n % 4]),  # no synonym is shared
        kind=kind,
        disclosure=TEXTS[(n + 3) % len(TEXTS)],
        pitch="" if n % 3 == 0 else TEXTS[(n + 5) % len(TEXTS)],
        product_id=f"amzn1.adg.product.{n}" if kind is OfferKind.IN_SKILL_PRODUCT else None,
    )
    for n in range(40)
    for kind in OfferKind
]


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    picks = draw(
        st.lists(st.sampled_from(ENTRY_POOL), min_size=1, max_size=4, unique_by=lambda e: e.id)
    )
    texts = st.sampled_from(TEXTS)
    return Policy(
        catalog=tuple(picks),
        caps=Caps(draw(st.integers(0, 9)), draw(st.integers(0, 99))),
        locales=draw(st.sampled_from([("en-US",), ("ko-KR",), ("en-US", "ko-KR")])),
        child_directed_skill=draw(st.booleans()),
        obligations=ObligationTexts(draw(texts), draw(texts), draw(texts)),
    )


@settings(max_examples=1000, deadline=None)
@given(original=policies())
def test_any_policy_round_trips(original: Policy) -> None:
    again = parse_policy(dump_policy(original), source="again")
    assert again == original
    assert again.hash == original.hash


BAD_FILES = [
    (
        "unknown kind",
        EXAMPLE.replace(
            'kind = "spoken_deal"\ndisclosure = "Sponsored by QuietWave."',
            'kind = "banner"\ndisclosure = "x"',
        ),
        "catalog[2].kind: expected one of 'spoken_deal', 'in_skill_product', got 'banner'",
    ),
    (
        "wrong type",
        EXAMPLE.replace("per_session = 1", 'per_session = "one"'),
        "caps.per_session: expected an integer, got 'one'",
    ),
    (
        "a bool is not a number",
        EXAMPLE.replace("per_user_per_day = 3", "per_user_per_day = true"),
        "caps.per_user_per_day: expected an integer, got True",
    ),
    (
        "negative cap",
        EXAMPLE.replace("per_session = 1", "per_session = -1"),
        "caps.per_session: expected a number >= 0, got -1",
    ),
    (
        "missing field",
        EXAMPLE.replace('title = "Trailblazer Running Shoes"\n', ""),
        "catalog[1].title: expected this required field, got nothing",
    ),
    (
        "missing table",
        EXAMPLE.replace("[caps]", "[limits]"),
        "caps: expected this required field, got nothing",
    ),
    (
        "unknown field",
        EXAMPLE.replace('category = "tea"', 'category = "tea"\ncolour = "green"'),
        "catalog[3].colour: expected no such field (unknown name), got 'green'",
    ),
    (
        "duplicate ids",
        EXAMPLE.replace('id = "tea-green-leaf"', 'id = "coffee-morning-roast"'),
        "catalog[3].id: expected a unique id, got 'coffee-morning-roast' again "
        "(first at catalog[0])",
    ),
    (
        "in-skill product without a product id",
        re.sub(r'product_id = "[^"]+"\n', "", EXAMPLE),
        "catalog[4].product_id: expected an in-skill product id starting 'amzn1.adg.product.'",
    ),
    (
        "price in a pitch",
        EXAMPLE.replace("has a deal on its organic green tea.", "costs only $4.99 today."),
        "catalog[3].pitch: expected no price (obligation no_price_in_upsell), got",
    ),
    (
        "unknown locale",
        EXAMPLE.replace('locales = ["en-US", "ko-KR"]', 'locales = ["en-US", "fr-FR"]'),
        "locales[1]: expected one of 'en-US', 'ko-KR', got 'fr-FR'",
    ),
    (
        "empty catalog",
        EXAMPLE.split("[[catalog]]")[0],
        "catalog: expected this required field, got nothing",
    ),
    (
        "bad id",
        EXAMPLE.replace('id = "tea-green-leaf"', 'id = "Tea Leaf!"'),
        "catalog[3].id: expected text matching",
    ),
    ("not TOML", "this is = = not toml [", ": expected TOML, got a syntax error"),
    ("YAML instead of TOML", "caps:\n  per_session: 1\n", ": expected TOML, got a syntax error"),
]


@pytest.mark.parametrize(("label", "text", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_name_file_field_and_problem(
    tmp_path: Path, label: str, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyConfigError) as caught:
        load_policy(path)
    assert isinstance(caught.value, PolicyError)
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(f"{path}: "), first_line
    assert message in first_line, first_line


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = EXAMPLE.replace("per_session = 1", 'per_session = "x"').replace(
        "per_user_per_day = 3", 'per_user_per_day = "y"'
    )
    with pytest.raises(PolicyConfigError) as caught:
        parse_policy(text, source="two.toml")
    lines = str(caught.value).splitlines()
    assert lines == [
        "two.toml: caps.per_session: expected an integer, got 'x'",
        "two.toml: caps.per_user_per_day: expected an integer, got 'y'",
    ]
    assert caught.value.field == "caps.per_session"


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(PolicyConfigError, match=r"missing\.toml: expected a readable UTF-8"):
        load_policy(missing)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PolicyConfigError, match="UnicodeDecodeError"):
        load_policy(binary)
