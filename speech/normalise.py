"""The one normal form of a transcript that broadcast matching and known media compare."""

from __future__ import annotations

import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalise_transcript(text: str) -> str:
    """Case-, width-, punctuation- and spacing-insensitive form of ``text``."""
    folded = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    kept = "".join(
        " " if unicodedata.category(ch)[0] in "PSZC" and ch != "'" else ch for ch in folded
    )
    return " ".join(kept.replace("'", "").split())
