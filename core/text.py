"""The one text normaliser every layer uses: what two texts must share to count as the same words.

``normalise`` is NFKC (which also composes decomposed Korean, NFD "커피" typed on some keyboards),
case folding, every apostrophe as ``'``, punctuation, symbols and control characters as spaces,
single spaces between words. With a ``language`` its contractions are expanded as well ("what's"
-> "what is", "dont" -> "do not"; Korean glued forms "추천해줘" -> "추천해 줘"); without one the
apostrophes are dropped ("don't" -> "dont"), which is the form broadcast fingerprints compare.

``fold`` is the lighter form for word lists that keep their punctuation (wake words, markers):
NFKC, case folded, one apostrophe, single spaces.

The detector (``policy/``), the tagger and broadcast matching (``speech/``) all call these, so
they cannot disagree about whether two transcripts say the same thing.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TextRules", "fold", "normalise", "rules_for", "words"]

_APOSTROPHES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'", "\u0060": "'", "\u00b4": "'"}
)


@dataclass(frozen=True, slots=True)
class TextRules:
    """One language's normalisation rules beyond Unicode: contractions and glued forms."""

    language: str
    contractions: Mapping[str, str]
    """Whole words replaced by their expansion ("what's" -> "what is", "im" -> "i am")."""
    suffix_expansions: tuple[tuple[str, str], ...] = ()
    """Word endings replaced when the whole word is not listed ("shouldn't" -> "should not")."""


_EN = TextRules(
    language="en",
    contractions={
        "what's": "what is",
        "whats": "what is",
        "what're": "what are",
        "that's": "that is",
        "thats": "that is",
        "there's": "there is",
        "theres": "there is",
        "it's": "it is",
        "here's": "here is",
        "where's": "where is",
        "wheres": "where is",
        "who's": "who is",
        "how's": "how is",
        "when's": "when is",
        "he's": "he is",
        "she's": "she is",
        "let's": "let us",
        "can't": "can not",
        "cant": "can not",
        "cannot": "can not",
        "won't": "will not",
        "wont": "will not",
        "dont": "do not",
        "doesnt": "does not",
        "didnt": "did not",
        "isnt": "is not",
        "arent": "are not",
        "wasnt": "was not",
        "shouldnt": "should not",
        "couldnt": "could not",
        "wouldnt": "would not",
        "im": "i am",
        "id": "i would",
        "ive": "i have",
        "youre": "you are",
        "wanna": "want to",
        "gonna": "going to",
        "gotta": "got to",
        "lemme": "let me",
        "gimme": "give me",
        "y'all": "you all",
    },
    suffix_expansions=(
        ("n't", " not"),
        ("'re", " are"),
        ("'m", " am"),
        ("'ll", " will"),
        ("'ve", " have"),
        ("'d", " would"),
        ("'s", ""),
    ),
)

_KO = TextRules(
    language="ko",
    contractions={
        "추천해줘": "추천해 줘",
        "추천해주세요": "추천해 주세요",
        "추천해줄래": "추천해 줄래",
        "추천해줄래요": "추천해 줄래요",
        "찾아줘": "찾아 줘",
        "찾아주세요": "찾아 주세요",
        "알려줘": "알려 줘",
        "알려주세요": "알려 주세요",
        "보여줘": "보여 줘",
        "보여주세요": "보여 주세요",
        "사줘": "사 줘",
        "사주세요": "사 주세요",
        "주문해줘": "주문해 줘",
        "주문해주세요": "주문해 주세요",
        "그만해줘": "그만해 줘",
        "해줘": "해 줘",
        "해주세요": "해 주세요",
        "살수": "살 수",
        "있는거": "있는 거",
        "하는거": "하는 거",
        "중인거": "중인 거",
    },
)

_NEUTRAL = TextRules(language="", contractions={})
_RULES = {"en": _EN, "ko": _KO}


def rules_for(language: str | None) -> TextRules:
    """The rules of ``language`` ("en", "en-US" and "en_us" alike); neutral rules when unknown."""
    if not language:
        return _NEUTRAL
    base = language.replace("_", "-").split("-", 1)[0].casefold()
    return _RULES.get(base, _NEUTRAL)


def fold(text: str) -> str:
    """NFKC, case-folded, one kind of apostrophe, words joined by single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold().split())


@functools.lru_cache(maxsize=4096)
def _blank_punctuation(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return "".join(
        " " if unicodedata.category(ch)[0] in "PSZC" and ch != "'" else ch for ch in folded
    )


def words(text: str, *, language: str | None = None) -> tuple[str, ...]:
    """The normalised words of ``text`` (see :func:`normalise`)."""
    rules = rules_for(language)
    out: list[str] = []
    for raw in _blank_punctuation(text).split():
        word = raw.strip("'")
        if not word:
            continue
        expanded = rules.contractions.get(word)
        if expanded is None:
            expanded = word
            if "'" in word:
                for suffix, replacement in rules.suffix_expansions:
                    if word.endswith(suffix) and len(word) > len(suffix):
                        expanded = word[: -len(suffix)] + replacement
                        break
        out.extend(expanded.replace("'", "").split())
    return tuple(out)


def normalise(text: str, *, language: str | None = None) -> str:
    """``text`` as words compared across layers: NFKC (Korean NFD composed), case folded,
    punctuation and symbols gone, the language's contractions expanded, single spaces."""
    return " ".join(words(text, language=language))
