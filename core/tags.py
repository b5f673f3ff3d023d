"""The tag every utterance carries: prompted (the user addressed the assistant) or ambient."""

from __future__ import annotations

from enum import StrEnum


class UtteranceTag(StrEnum):
    """Whether the user deliberately addressed the assistant."""

    PROMPTED = "prompted"
    AMBIENT = "ambient"
