"""The server compiles the question grammars at start, in the background (skill/wiring.py)."""

from __future__ import annotations

import time

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.detector import detect
from askfirst.policy.grammar import grammar_for
from askfirst.skill.wiring import warm_policy


def test_warming_compiles_every_locale_so_the_first_question_is_fast() -> None:
    policy = load_policy(EXAMPLE_POLICY_PATH)
    grammar_for.cache_clear()
    thread = warm_policy(policy)
    assert thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
    for locale in policy.locales:
        grammar = grammar_for(locale, policy.catalog)
        assert "_loose" in vars(grammar), locale  # the lazy matcher is compiled too
    assert grammar_for.cache_info().currsize == len(policy.locales)
    started = time.perf_counter()
    found = detect(
        text="any deals on coffee", utterance_id="u", locale="en-US", catalog=policy.catalog
    )
    assert found.question is not None
    assert time.perf_counter() - started < 0.2  # no compile on the first question
    assert grammar_for.cache_info().currsize == len(policy.locales)  # nothing new compiled
