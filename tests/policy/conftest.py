"""Shared fixtures for the policy tests: the bundled example policy, loaded once."""

from __future__ import annotations

import pytest

from askfirst.policy.config import EXAMPLE_POLICY_PATH, Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY_PATH)
