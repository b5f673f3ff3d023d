"""Policy hashes cover the canonical text; ``diff_policies`` names every change."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from askfirst.policy.config import (
    EXAMPLE_POLICY_PATH,
    Caps,
    Policy,
    load_policy,
    parse_policy,
    policy_from_canonical,
)
from askfirst.policy.diff import diff_policies
from askfirst.policy.errors import PolicyConfigError


@pytest.fixture
def example() -> Policy:
    return load_policy(EXAMPLE_POLICY_PATH)


def test_the_hash_is_the_sha256_of_the_canonical_text_not_of_the_file(example: Policy) -> None:
    assert hashlib.sha256(example.canonical.encode("utf-8")).hexdigest() == example.hash
    file_hash = hashlib.sha256(EXAMPLE_POLICY_PATH.read_bytes()).hexdigest()
    assert file_hash != example.hash  # comments and layout are not part of the policy
    reformatted = "# another comment\n" + EXAMPLE_POLICY_PATH.read_text("utf-8")
    assert parse_policy(reformatted, source="x").hash == example.hash


def test_the_canonical_text_round_trips_and_an_edit_is_refused(example: Policy) -> None:
    assert policy_from_canonical(example.canonical, source="kept") == example
    edited = example.canonical.replace('"per_user_per_day":3', '"per_user_per_day": 9')
    with pytest.raises(PolicyConfigError, match="not in canonical form"):
        policy_from_canonical(edited, source="kept")
    with pytest.raises(PolicyConfigError, match="canonical JSON of a policy"):
        policy_from_canonical("{", source="kept")


def test_diff_names_entries_synonyms_pitches_disclosures_caps_and_locales(
    example: Policy,
) -> None:
    coffee, shoes, *rest = example.catalog
    changed = replace(
        example,
        catalog=(
            replace(
                coffee,
                synonyms=(*coffee.synonyms[1:], "cold brew"),
                pitch="Morning Roast has a new blend.",
                disclosure="Paid for by Morning Roast.",
            ),
            *rest,
        ),
        caps=Caps(per_session=1, per_user_per_day=2),
        locales=("en-US",),
    )
    lines = [c.line() for c in diff_policies(example, changed)]
    assert lines == [
        "catalog: - shoes-trailblazer ('Trailblazer Running Shoes')",
        "catalog.coffee-morning-roast.disclosure: 'Sponsored by Morning Roast.' -> "
        "'Paid for by Morning Roast.'",
        "catalog.coffee-morning-roast.pitch: 'Morning Roast has a deal on its fresh house "
        "blend this week.' -> 'Morning Roast has a new blend.'",
        "catalog.coffee-morning-roast.synonyms: + 'cold brew'",
        "catalog.coffee-morning-roast.synonyms: - 'coffee beans'",
        "caps.per_user_per_day: 3 -> 2",
        "locales: - 'ko-KR'",
    ]
    assert diff_policies(example, example) == []
    assert shoes.id not in {e.id for e in changed.catalog}
