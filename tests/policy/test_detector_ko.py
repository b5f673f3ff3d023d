"""Korean questions and commands: a second locale is data only (policy/locales/ko-KR.toml)."""

from __future__ import annotations

import pytest

from askfirst.policy.config import Policy
from askfirst.policy.detector import Command, detect_command, detect_question
from askfirst.policy.values import QuestionKind as K

KO_QUESTIONS: list[tuple[str, K, str]] = [
    ("커피 추천해 줘", K.RECOMMENDATION, "coffee-morning-roast"),
    ("아리아, 커피 추천해줘", K.RECOMMENDATION, "coffee-morning-roast"),
    ("알렉사 헤드폰 할인 있어?", K.DEAL, "headphones-quietwave"),
    ("헤드폰 할인 있어", K.DEAL, "headphones-quietwave"),
    ("운동화 할인 있어?", K.DEAL, "shoes-trailblazer"),
    ("혹시 커피에 대한 할인 있어요?", K.DEAL, "coffee-morning-roast"),
    ("어떤 헤드폰이 좋아?", K.RECOMMENDATION, "headphones-quietwave"),
    ("러닝화 뭐 추천해?", K.RECOMMENDATION, "shoes-trailblazer"),
    ("프리미엄 팩 얼마야?", K.PRICE, "premium-recipe-pack"),
    ("녹차 가격 알려 줘", K.PRICE, "tea-green-leaf"),
    ("커피 원두 사고 싶어", K.REQUEST, "coffee-morning-roast"),
    ("이어폰 팔아요?", K.AVAILABILITY, "headphones-quietwave"),
    ("헤드폰을 추천해 주세요", K.RECOMMENDATION, "headphones-quietwave"),
    ("신발 좀 추천해 줘", K.RECOMMENDATION, "shoes-trailblazer"),
]

KO_NOT_QUESTIONS = [
    "오늘 날씨 어때?",  # weather
    "저녁에 뭐 먹을까",  # dinner
    "음악 틀어 줘",  # music
    "어제 내가 아리아 한테 물어봤어",  # reported speech
    "그녀가 알렉사에게 신발에 대해 물어봤어",  # reported speech
    "커피 추천하지 마",  # negation
    "헤드폰 필요 없어",  # negation
    "커피 다 떨어졌어",  # statement: out of coffee
    "내 신발이 다 해졌어",  # statement: my shoes are worn out
    "커피 좋아해",  # statement
    "영화 추천해 줘",  # not in the catalog
    "",
]


@pytest.mark.parametrize(("text", "kind", "best"), KO_QUESTIONS)
def test_korean_questions(policy: Policy, text: str, kind: K, best: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-ko", locale="ko-KR", catalog=policy.catalog
    )
    assert question is not None, f"expected a question in {text!r}"
    assert question.kind is kind
    assert question.catalog_ids[:1] == (best,)


@pytest.mark.parametrize("text", KO_NOT_QUESTIONS)
def test_korean_non_questions(policy: Policy, text: str) -> None:
    question = detect_question(
        text=text, utterance_id="u-ko", locale="ko-KR", catalog=policy.catalog
    )
    assert question is None, f"{text!r} was taken for {question!r}"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("광고 그만해", Command.OPT_OUT),
        ("이제 상품 추천 하지 마", Command.OPT_OUT),
        ("추천 다시 해 줘", Command.OPT_IN),
        ("왜 그거 추천했어?", Command.WHY),
        ("커피 추천해 줘", None),
    ],
)
def test_korean_commands(text: str, command: Command | None) -> None:
    assert detect_command(text=text, locale="ko-KR") is command
