"""The detector on multi-clause utterances: a question in any clause, unless negation or
reported speech anywhere in the utterance blocks it (policy/detector.py states the rule)."""

from __future__ import annotations

import pytest

from askfirst.policy.config import Policy
from askfirst.policy.detector import detect_question
from askfirst.policy.locale import load_locale
from askfirst.policy.values import QuestionKind as K
from tests.policy.test_detector import ANY, COFFEE, PACK, PHONES, SHOES, TEA

# (sentence, kind, topic, best catalog match), as in test_detector.QUESTIONS
MULTI_QUESTIONS: list[tuple[str, K, str | None, str | None]] = [
    ("I'm out of coffee, do you have any deals on coffee?", K.DEAL, "coffee", COFFEE),
    (
        "Alexa, my shoes are worn out, what running shoes do you recommend",
        K.RECOMMENDATION,
        "running shoes",
        SHOES,
    ),
    ("ok so, find me a deal on headphones", K.REQUEST, "headphones", PHONES),
    ("I'm out of coffee so do you have any deals on coffee", K.DEAL, "coffee", COFFEE),
    ("my headphones broke and I'm looking for new headphones", K.REQUEST, "headphones", PHONES),
    ("my headphones broke, I want to buy headphones", K.REQUEST, "headphones", PHONES),
    ("do you have any deals on coffee, I'm out", K.DEAL, "coffee", COFFEE),
    (
        "what running shoes do you recommend, mine are worn out",
        K.RECOMMENDATION,
        "running shoes",
        SHOES,
    ),
    ("I'm out of coffee, any deals?", K.BROWSE, None, ANY),
    ("quick question: how much is the premium pack", K.PRICE, "premium pack", PACK),
    (
        "my shoes are falling apart — which trainers should I buy",
        K.RECOMMENDATION,
        "trainers",
        SHOES,
    ),
    ("it's cold today; what tea would you recommend", K.RECOMMENDATION, "tea", TEA),
    ("I just got home, and, um, is there a deal on tea?", K.DEAL, "tea", TEA),
    (
        "I'm going running tomorrow, can you recommend some good running shoes",
        K.RECOMMENDATION,
        "running shoes",
        SHOES,
    ),
    ("we're having guests, how much is the recipe pack", K.PRICE, "recipe pack", PACK),
    ("my earbuds are broken but do you sell headphones", K.AVAILABILITY, "headphones", PHONES),
    # "and" ends a clause, so the first one asks ("between the earbuds" / "compare the headphones")
    (
        "what's the difference between the earbuds and the headphones",
        K.RECOMMENDATION,
        "earbuds",
        PHONES,
    ),
    ("compare the headphones and earbuds", K.RECOMMENDATION, "headphones", PHONES),
    ("I drink a lot of tea, what's the best green tea", K.RECOMMENDATION, "green tea", TEA),
    (
        "the old ones hurt my feet - are running shoes on sale this week",
        K.DEAL,
        "running shoes",
        SHOES,
    ),
    ("I've been meaning to ask, what do you sell", K.BROWSE, None, ANY),
    ("Echo, I finished the last bag of coffee, add coffee to my cart", K.REQUEST, "coffee", COFFEE),
    ("it's my mum's birthday, I want to buy headphones", K.REQUEST, "headphones", PHONES),
    ("anyway, is espresso in stock", K.AVAILABILITY, "espresso", COFFEE),
    (
        "I'm training for a marathon, so which trainers should I buy",
        K.RECOMMENDATION,
        "trainers",
        SHOES,
    ),
    ("sorry, one more thing, what's the price of coffee beans", K.PRICE, "coffee beans", COFFEE),
    (
        "thanks for the weather, and do you have any deals on headphones",
        K.DEAL,
        "headphones",
        PHONES,
    ),
    (
        "I'm out of coffee. And my shoes are worn out, so what running shoes do you recommend?",
        K.RECOMMENDATION,
        "running shoes",
        SHOES,
    ),
    ("I like jogging, got any deals on sneakers", K.DEAL, "sneakers", SHOES),
    ("we ran out at the office — do you carry espresso", K.AVAILABILITY, "espresso", COFFEE),
    ("I'm cooking tonight, show me deals on the recipe pack", K.DEAL, "recipe pack", PACK),
    # the first question clause wins; "and" ends it ("or" does not: it joins topics)
    ("find me a deal on headphones and running shoes", K.REQUEST, "headphones", PHONES),
    ("is coffee or tea on sale", K.DEAL, "coffee", COFFEE),
]

MULTI_NOT_QUESTIONS: list[tuple[str, str]] = [
    # statements joined by commas and conjunctions
    ("I'm out of coffee, my shoes are worn out", "statements"),
    ("my headphones broke, and I need new headphones", "statements"),
    ("coffee, tea, headphones", "bare mentions"),
    ("I bought running shoes yesterday, they were on sale", "statements"),
    ("I love green tea, but coffee is my favourite drink", "statements"),
    ("the coffee deal ended last week, so I'm drinking tea", "statements"),
    ("I'm out of coffee so I'll drink tea", "statements"),
    # reported speech, before or after the question clause
    ("she asked Alexa, do you have any deals on shoes", "reported speech"),
    ("my sister said, what running shoes do you recommend", "reported speech"),
    ("do you have any deals on coffee, she asked", "reported speech after the question"),
    ("he was like, find me a deal on headphones", "reported speech"),
    ("the ad on the radio says, any deals on coffee", "reported speech"),
    ("my kids keep asking, can you buy me headphones", "reported speech"),
    ("I'm out of coffee, my wife told me, so what coffee do you recommend", "reported speech"),
    # a negation anywhere in the utterance
    ("don't tell me, what coffee do you recommend", "negation"),
    ("no thanks, do you have any deals on coffee", "negation"),
    ("I don't need shoes, but do you have any deals on headphones", "negation"),
    ("never mind, find me a deal on headphones", "negation"),
    ("do you have any deals on coffee - no, not today", "negation after the question"),
    ("stop, what's the price of coffee beans", "negation"),
    # questions about things that are not products
    ("I'm bored, what movie do you recommend", "not in the catalog"),
    ("I'm hungry, what do you recommend for dinner", "not in the catalog"),
    ("it's late, what time is it", "not a product"),
    ("Alexa, I'm going out, what's the weather", "not a product"),
    # a product in one clause, a question about something else in another
    ("I'm out of coffee, what's the weather", "product mention, weather question"),
    ("tell me about the weather, I'm out of coffee", "topic must not run into the next clause"),
    ("show me the forecast, and I need new running shoes", "topic must not run on"),
    ("I'm drinking coffee, what time is it", "product mention, time question"),
    ("coffee, what time is it", "product mention, time question"),
    ("I'm out of coffee, play some music", "product mention, music"),
    ("I have a coupon for coffee, set a timer for ten minutes", "product mention, timer"),
    ("my headphones are dirty, how do I clean them", "not a product question"),
]

KO_MULTI_QUESTIONS: list[tuple[str, K, str]] = [
    ("커피 다 떨어졌어, 커피 할인 있어?", K.DEAL, COFFEE),
    ("커피 다 떨어졌는데 커피 할인 있어?", K.DEAL, COFFEE),
    ("알렉사, 신발이 다 해져서 러닝화 추천해 줘", K.RECOMMENDATION, SHOES),
    ("내 신발이 다 해졌어. 그래서 운동화 추천해 줘", K.RECOMMENDATION, SHOES),
    ("헤드폰이 고장 났으니까 헤드폰 사고 싶어", K.REQUEST, PHONES),
    ("오늘 좀 피곤한데 녹차 추천해 줘", K.RECOMMENDATION, TEA),
    ("아리아야, 음, 프리미엄 팩 얼마야?", K.PRICE, PACK),
    ("이어폰을 잃어버렸어, 그런데 이어폰 팔아요?", K.AVAILABILITY, PHONES),
]

KO_MULTI_NOT_QUESTIONS = [
    "커피 다 떨어졌는데 오늘 날씨 어때?",  # product mention, weather question
    "커피 다 떨어졌어, 영화 추천해 줘",  # not in the catalog
    "엄마가 그러는데, 커피 추천해 줘",  # reported speech
    "친구가 알렉사에게, 헤드폰 할인 있어, 라고 물어봤어",  # reported speech
    "커피 추천해 줘, 라고 했어",  # reported speech after the question
    "커피는 필요 없어, 근데 헤드폰 할인 있어?",  # negation
    "신발이 다 해졌어, 그리고 커피도 다 떨어졌어",  # statements
    "이어폰 잃어버렸는데 그래도 음악 틀어 줘",  # product mention, music
]


def test_enough_multi_clause_sentences() -> None:
    assert len(MULTI_QUESTIONS) >= 20
    assert len(MULTI_NOT_QUESTIONS) >= 20
    assert len(KO_MULTI_QUESTIONS) >= 5
    assert len(KO_MULTI_NOT_QUESTIONS) >= 5


@pytest.mark.parametrize(("text", "kind", "topic", "best"), MULTI_QUESTIONS)
def test_a_question_in_any_clause_is_detected(
    policy: Policy, text: str, kind: K, topic: str | None, best: str | None
) -> None:
    question = detect_question(
        text=text, utterance_id="u-1", locale="en-US", catalog=policy.catalog
    )
    assert question is not None, f"expected a question in {text!r}"
    assert (question.kind, question.topic) == (kind, topic)
    if best == ANY:
        assert question.catalog_ids == tuple(entry.id for entry in policy.catalog)
    else:
        assert question.catalog_ids[:1] == (best,)


@pytest.mark.parametrize(("text", "why"), MULTI_NOT_QUESTIONS)
def test_multi_clause_non_questions_are_rejected(policy: Policy, text: str, why: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-1", locale="en-US", catalog=policy.catalog
    )
    assert question is None, f"{why}: {text!r} was taken for {question!r}"


@pytest.mark.parametrize(("text", "kind", "best"), KO_MULTI_QUESTIONS)
def test_korean_multi_clause_questions(policy: Policy, text: str, kind: K, best: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-ko", locale="ko-KR", catalog=policy.catalog
    )
    assert question is not None, f"expected a question in {text!r}"
    assert question.kind is kind
    assert question.catalog_ids[:1] == (best,)


@pytest.mark.parametrize("text", KO_MULTI_NOT_QUESTIONS)
def test_korean_multi_clause_non_questions(policy: Policy, text: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-ko", locale="ko-KR", catalog=policy.catalog
    )
    assert question is None, f"{text!r} was taken for {question!r}"


def test_the_cue_names_the_pattern_the_question_clause_matched(policy: Policy) -> None:
    question = detect_question(
        text="I'm out of coffee, what running shoes do you recommend?",
        utterance_id="u-1",
        locale="en-US",
        catalog=policy.catalog,
    )
    assert question is not None
    assert question.cue == (
        "AskRecommendation: (what|which) [<good>|kind of|type of] <p> (do|would) you [guys|all]"
        " <recommend> <for_use> [product='running shoes' -> shoes-trailblazer]"
    )
    assert question.topic == "running shoes"


def test_korean_instead_of_is_a_question_not_a_negation(policy: Policy) -> None:
    """ "X 말고 Y" is "Y instead of X" (narrowed veto, issue 10); "추천하지 말고" still vetoes."""
    question = detect_question(
        text="커피 말고, 녹차 추천해 줘",
        utterance_id="u-ko",
        locale="ko-KR",
        catalog=policy.catalog,
    )
    assert question is not None and question.catalog_ids[:1] == ("tea-green-leaf",)
    assert (
        detect_question(
            text="녹차 추천하지 말고", utterance_id="u-ko", locale="ko-KR", catalog=policy.catalog
        )
        is None
    )


@pytest.mark.parametrize(
    ("locale", "text", "clauses"),
    [
        (
            "en-US",
            "Alexa, I'm out of coffee, so, um, any deals?",
            ("i am out of coffee", "any deals"),
        ),
        (
            "en-US",
            "my shoes broke and then - well - find me some",
            ("my shoes broke", "find me some"),
        ),
        (
            "en-US",
            "noise-cancelling headphones; tea: coffee",
            ("noise cancelling headphones", "tea", "coffee"),
        ),
        ("en-US", "coffee or tea, because cheap", ("coffee or tea", "cheap")),
        ("en-US", "deals… on coffee—thanks", ("deals", "on coffee")),
        ("ko-KR", "커피 다 떨어졌는데 커피 할인 있어？", ("커피 다 떨어졌는데", "커피 할인 있어")),
        ("ko-KR", "신발이 해져서 그래서 운동화", ("신발이 해져서", "운동화")),
        ("ko-KR", "할인 상품 있습니까", ("할인 상품 있습니까",)),
        ("ko-KR", "알렉사야，커피、녹차", ("커피", "녹차")),
    ],
)
def test_clauses(locale: str, text: str, clauses: tuple[str, ...]) -> None:
    rules = load_locale(locale)
    assert rules.clauses(text) == clauses
    assert rules.split(text) == (rules.normalise(text), clauses)
