"""Locale files: the shipped ones compile, and bad locale data is a clear error."""

from __future__ import annotations

import pytest

from askfirst.policy.errors import PolicyConfigError
from askfirst.policy.grammar import grammar_source
from askfirst.policy.locale import available_locales, load_locale, parse_locale, resolve_locale
from askfirst.policy.patterns import PatternError, compile_pattern
from askfirst.policy.values import QuestionKind

MINIMAL = """
locale = "xx-XX"
[commands]
opt_out = [{pattern!r}]
opt_in = ["start"]
why = ["why"]
"""


def test_shipped_locales_compile() -> None:
    assert available_locales() == ("en-US", "ko-KR")
    for name in available_locales():
        rules = load_locale(name)
        assert rules.name == name
        assert rules.commands and rules.negations


def test_language_fallback() -> None:
    assert resolve_locale("en-GB") == "en-US"
    assert resolve_locale("en_AU") == "en-US"
    assert resolve_locale("ko-KR") == "ko-KR"


def test_every_question_kind_has_a_grammar_intent() -> None:
    for name in available_locales():
        intents = grammar_source(name)["intents"]
        kinds = {d["metadata"].get("kind") for i in intents.values() for d in i["data"]}
        kinds.discard(None)
        assert {kind.value for kind in QuestionKind} <= kinds, name


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("stop (offers|deals", "expected balanced brackets"),
        ("stop [|offers] now", "expected non-empty alternatives"),
        ("stop offering {topic}", "expected a pattern without {topic}"),
    ],
)
def test_bad_patterns_name_the_field(pattern: str, message: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        parse_locale(MINIMAL.format(pattern=pattern), source="xx.toml")
    assert str(caught.value).startswith("xx.toml: commands.opt_out[0]: ")
    assert message in str(caught.value)


def test_bad_locale_fields_name_the_field() -> None:
    text = MINIMAL.format(pattern="stop").replace("[commands]", "hedges = 3\n[commands]")
    with pytest.raises(PolicyConfigError, match=r"xx.toml: hedges: "):
        parse_locale(text, source="xx.toml")
    with pytest.raises(PolicyConfigError, match="expected TOML"):
        parse_locale("locale = ", source="xx.toml")


def test_a_clause_break_inside_a_pattern_is_an_error() -> None:
    conjunction = MINIMAL.format(pattern="stop deals and more")
    conjunction = conjunction.replace(
        'locale = "xx-XX"', 'locale = "xx-XX"\nconjunctions = ["and"]'
    )
    with pytest.raises(PolicyConfigError, match=r"opt_out\[0\]: expected no conj"):
        parse_locale(conjunction, source="xx.toml")
    ending = MINIMAL.format(pattern="그만 있습니까")
    ending = ending.replace('locale = "xx-XX"', 'locale = "xx-XX"\nclause_endings = ["니까"]')
    with pytest.raises(PolicyConfigError, match="expected no clause-final ending"):
        parse_locale(ending, source="xx.toml")


def test_first_words_of_a_pattern() -> None:
    rules = load_locale("en-US")
    pattern = compile_pattern("[do you have] any (deals|offers) on {topic}", rules.normalise)
    assert pattern.first_words == frozenset({"do", "any"})
    assert compile_pattern("don't (stop|quit)", rules.normalise).first_words == frozenset({"do"})
    assert compile_pattern("[any] {topic} deals", rules.normalise).first_words is None
    assert compile_pattern("[please] [now]", rules.normalise).first_words is None


def test_pattern_language() -> None:
    rules = load_locale("en-US")
    pattern = compile_pattern("(do|does) you have [any] deals on {topic}", rules.normalise)
    assert pattern.match("do you have deals on running shoes") == "running shoes"
    assert pattern.match("does you have any deals on tea") == "tea"
    assert pattern.match("do you have deals on") is None
    assert pattern.match("so do you have deals on tea") is None
    contraction = compile_pattern("don't recommend anything", rules.normalise)
    assert contraction.match("do not recommend anything") == ""
    with pytest.raises(PatternError):
        compile_pattern("", rules.normalise)
