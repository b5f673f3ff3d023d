"""The question detector on labelled sentences: >= 60 questions, >= 60 non-questions."""

from __future__ import annotations

import pytest

from askfirst.policy.config import Policy
from askfirst.policy.detector import detect, detect_question
from askfirst.policy.values import NoQuestion, NoReason
from askfirst.policy.values import QuestionKind as K

COFFEE = "coffee-morning-roast"
SHOES = "shoes-trailblazer"
PHONES = "headphones-quietwave"
TEA = "tea-green-leaf"
PACK = "premium-recipe-pack"
ANY = "*"  # a browse: the whole catalog

# (sentence, kind, topic, best catalog match or None when nothing in the catalog matches)
QUESTIONS: list[tuple[str, K, str | None, str | None]] = [
    # from the issue
    ("what running shoes do you recommend", K.RECOMMENDATION, "running shoes", SHOES),
    ("do you have any deals on coffee", K.DEAL, "coffee", COFFEE),
    ("find me a deal on headphones", K.REQUEST, "headphones", PHONES),
    ("what can I buy", K.BROWSE, None, ANY),
    ("how much is the premium pack", K.PRICE, "premium pack", PACK),
    # vocatives, fillers, case and punctuation
    ("Alexa, what running shoes do you recommend?", K.RECOMMENDATION, "running shoes", SHOES),
    ("ALEXA DO YOU HAVE ANY DEALS ON COFFEE", K.DEAL, "coffee", COFFEE),
    ("Hey Alexa, find me a deal on headphones.", K.REQUEST, "headphones", PHONES),
    ("Okay Alexa, what can I buy here?", K.BROWSE, None, ANY),
    ("Alexa... how much is the Premium Pack?!", K.PRICE, "premium pack", PACK),
    ("what running shoes do you recommend, Alexa?", K.RECOMMENDATION, "running shoes", SHOES),
    ("um, any deals on coffee today?", K.DEAL, "coffee", COFFEE),
    ("Echo, is there a deal on tea?", K.DEAL, "tea", TEA),
    ("what’s the best coffee?", K.RECOMMENDATION, "coffee", COFFEE),
    ("whats the best coffee", K.RECOMMENDATION, "coffee", COFFEE),
    # recommendation
    ("which headphones would you recommend", K.RECOMMENDATION, "headphones", PHONES),
    ("can you recommend some good running shoes", K.RECOMMENDATION, "running shoes", SHOES),
    ("could you suggest a tea", K.RECOMMENDATION, "tea", TEA),
    ("recommend me some earbuds", K.RECOMMENDATION, "earbuds", PHONES),
    ("what are the best sneakers", K.RECOMMENDATION, "sneakers", SHOES),
    ("what is a good espresso", K.RECOMMENDATION, "espresso", COFFEE),
    ("which trainers should I buy", K.RECOMMENDATION, "trainers", SHOES),
    (
        "any recommendations for noise cancelling headphones",
        K.RECOMMENDATION,
        "noise cancelling headphones",
        PHONES,
    ),
    ("do you have any suggestions for green tea", K.RECOMMENDATION, "green tea", TEA),
    ("what do you recommend for coffee", K.RECOMMENDATION, "coffee", COFFEE),
    ("which headphones are the best", K.RECOMMENDATION, "headphones", PHONES),
    ("what coffee beans should I try", K.RECOMMENDATION, "coffee beans", COFFEE),
    ("I'd like a recommendation for running shoes", K.RECOMMENDATION, "running shoes", SHOES),
    ("what kind of headphones do you suggest", K.RECOMMENDATION, "headphones", PHONES),
    # deals
    ("are there any deals on headphones", K.DEAL, "headphones", PHONES),
    ("do you have a discount on running shoes", K.DEAL, "running shoes", SHOES),
    ("any coffee deals", K.DEAL, "coffee", COFFEE),
    ("is coffee on sale", K.DEAL, "coffee", COFFEE),
    ("are running shoes on sale this week", K.DEAL, "running shoes", SHOES),
    ("what deals do you have on tea", K.DEAL, "tea", TEA),
    ("got any deals on earphones", K.DEAL, "earphones", PHONES),
    ("is there a headphone deal", K.DEAL, "headphone", PHONES),
    ("what are the deals on sneakers", K.DEAL, "sneakers", SHOES),
    ("do you have any coupons for coffee", K.DEAL, "coffee", COFFEE),
    ("where can I get a good deal on headphones", K.DEAL, "headphones", PHONES),
    # requests
    ("show me deals on running shoes", K.DEAL, "running shoes", SHOES),
    ("I want to buy coffee", K.REQUEST, "coffee", COFFEE),
    ("I'd like to order some tea bags", K.REQUEST, "tea bags", TEA),
    ("I'm looking to buy new headphones", K.REQUEST, "headphones", PHONES),
    ("buy me some coffee", K.REQUEST, "coffee", COFFEE),
    ("order the recipe pack", K.REQUEST, "recipe pack", PACK),
    ("can you find me running shoes", K.REQUEST, "running shoes", SHOES),
    ("I'm shopping for headphones", K.REQUEST, "headphones", PHONES),
    ("help me find a good pair of running shoes", K.REQUEST, "running shoes", SHOES),
    (
        "I'm looking for noise cancelling headphones",
        K.REQUEST,
        "noise cancelling headphones",
        PHONES,
    ),
    ("add coffee to my cart", K.REQUEST, "coffee", COFFEE),
    ("get me a discount on earbuds", K.REQUEST, "earbuds", PHONES),
    # availability
    ("do you sell headphones", K.AVAILABILITY, "headphones", PHONES),
    ("do you have green tea", K.AVAILABILITY, "green tea", TEA),
    ("can I buy the premium recipe pack here", K.AVAILABILITY, "premium recipe pack", PACK),
    ("where can I buy running shoes", K.AVAILABILITY, "running shoes", SHOES),
    ("what headphones do you have", K.AVAILABILITY, "headphones", PHONES),
    ("is the recipe pack available", K.AVAILABILITY, "recipe pack", PACK),
    ("do you carry espresso", K.AVAILABILITY, "espresso", COFFEE),
    ("have you got any trainers", K.AVAILABILITY, "trainers", SHOES),
    ("is espresso in stock", K.AVAILABILITY, "espresso", COFFEE),
    # price
    ("how much are the running shoes", K.PRICE, "running shoes", SHOES),
    ("what does the recipe pack cost", K.PRICE, "recipe pack", PACK),
    ("how much do QuietWave headphones cost", K.PRICE, "quietwave headphones", PHONES),
    ("what's the price of coffee beans", K.PRICE, "coffee beans", COFFEE),
    ("how expensive are the headphones", K.PRICE, "headphones", PHONES),
    # browse
    ("what do you sell", K.BROWSE, None, ANY),
    ("what deals do you have today", K.BROWSE, None, ANY),
    ("any deals today", K.BROWSE, None, ANY),
    ("what's on sale", K.BROWSE, None, ANY),
    ("what are today's deals", K.BROWSE, None, ANY),
    ("can you recommend a product", K.BROWSE, None, ANY),
    ("do you sell anything", K.BROWSE, None, ANY),
    ("what products do you have", K.BROWSE, None, ANY),
    # a statement, then the question in its own sentence
    ("I'm out of coffee. Do you have any deals on coffee?", K.DEAL, "coffee", COFFEE),
]

NOT_QUESTIONS: list[tuple[str, str]] = [
    # statements and mentions
    ("I'm out of coffee again", "statement"),
    ("my shoes are falling apart", "statement"),
    ("coffee is my favourite drink", "statement"),
    ("these headphones are great", "statement"),
    ("I bought new running shoes yesterday", "statement"),
    ("we should buy more coffee", "statement"),
    ("I need new headphones", "statement of need"),
    ("the coffee deal ended last week", "statement"),
    ("I have a coupon for coffee", "statement"),
    ("my headphones broke", "statement"),
    ("running shoes are expensive", "statement"),
    ("I love green tea", "statement"),
    ("the premium pack looks nice", "statement"),
    ("I was thinking about coffee", "statement"),
    ("coffee", "bare mention"),
    ("headphones", "bare mention"),
    ("deals", "bare mention"),
    ("that is a good deal", "statement"),
    ("I'm drinking coffee", "statement"),
    ("put on your running shoes", "statement"),
    # negations
    ("don't recommend anything", "negation"),
    ("do not suggest products", "negation"),
    ("I don't want any deals on coffee", "negation"),
    ("I'm not looking for headphones", "negation"),
    ("no deals please", "negation"),
    ("never show me offers for running shoes", "negation"),
    ("stop recommending coffee", "negation"),
    ("I don't need new shoes", "negation"),
    ("don't find me a deal on headphones", "negation"),
    ("do you have any deals on coffee? no, forget it", "negation"),
    ("I can't afford headphones", "negation"),
    ("nothing for me thanks", "negation"),
    # questions that are not about products
    ("what's the weather", "not a product"),
    ("what time is it", "not a product"),
    ("how much is ten plus ten", "not a product"),
    ("what is the capital of France", "not a product"),
    ("play some music", "not a product"),
    ("set a timer for ten minutes", "not a product"),
    ("what movie do you recommend", "not in the catalog"),
    ("can you recommend a good book", "not in the catalog"),
    ("what is the best time to run", "not a product"),
    ("how much coffee should I drink a day", "not a product"),
    ("do you have the time", "not a product"),
    ("what do you recommend for dinner", "not in the catalog"),
    ("how are you", "not a product"),
    ("turn on the lights", "not a product"),
    ("what's the news", "not a product"),
    ("show me the weather forecast", "not a product"),
    ("can I get a ride to the station", "not a product"),
    ("do you like coffee", "not a product question"),
    ("who makes the best coffee in town", "not a product question"),
    ("how do I clean my headphones", "not a product question"),
    ("what can I cook tonight", "not a product"),
    ("recommend something", "vague, not commercial"),
    ("", "empty"),
    ("   ", "blank"),
    ("?!", "punctuation only"),
    # reported speech
    ("she asked Alexa about shoes", "reported speech"),
    ("he asked what running shoes you recommend", "reported speech"),
    ("my wife said find me a deal on coffee", "reported speech"),
    ("he wants to know if you have any deals on coffee", "reported speech"),
    ("she told me to buy headphones", "reported speech"),
    ("the ad says do you have any deals on coffee", "reported speech"),
    ("they were asking about deals on headphones", "reported speech"),
    ("I asked Alexa what coffee she recommends", "reported speech"),
    ("you said there is a deal on coffee", "reported speech"),
    ("according to the radio there are deals on tea", "reported speech"),
]


def test_enough_labelled_sentences() -> None:
    assert len(QUESTIONS) >= 60
    assert len(NOT_QUESTIONS) >= 60


@pytest.mark.parametrize(("text", "kind", "topic", "best"), QUESTIONS)
def test_questions_are_detected(
    policy: Policy, text: str, kind: K, topic: str | None, best: str | None
) -> None:
    question = detect_question(
        text=text, utterance_id="u-1", locale="en-US", catalog=policy.catalog
    )
    assert question is not None, f"expected a question in {text!r}"
    assert question.utterance_id == "u-1"
    assert question.kind is kind
    assert question.topic == topic
    assert question.cue
    if best is None:
        assert question.catalog_ids == ()
    elif best == ANY:
        assert question.catalog_ids == tuple(entry.id for entry in policy.catalog)
    else:
        assert question.catalog_ids[:1] == (best,)


# A question's shape about something the catalog does not have was a question that matched
# nothing (denied by R3); it is now no question at all, and says why (issue 10).
UNKNOWN_PRODUCTS = [
    ("are there any deals on lawn mowers", "lawn mowers"),
    ("I want to buy a kayak", "kayak"),
    ("what is the price of a surfboard", "surfboard"),
]


@pytest.mark.parametrize(("text", "words"), UNKNOWN_PRODUCTS)
def test_questions_about_unknown_products_say_so(policy: Policy, text: str, words: str) -> None:
    found = detect(text=text, utterance_id="u-1", locale="en-US", catalog=policy.catalog)
    assert found.question is None
    assert found.no == NoQuestion(NoReason.NO_PRODUCT, words, found.no.template if found.no else "")
    assert found.no is not None and found.no.template.startswith("Ask")


@pytest.mark.parametrize(("text", "why"), NOT_QUESTIONS)
def test_non_questions_are_rejected(policy: Policy, text: str, why: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-1", locale="en-US", catalog=policy.catalog
    )
    assert question is None, f"{why}: {text!r} was taken for {question!r}"
