"""The pydantic models of the two file formats: the policy file and the locale files.

Strict: no type coercion ("1" is not 1, true is not 1) and no unknown fields, so a typo in
a file is an error that names the field rather than a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1)]
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]

DEFAULT_DISCLOSURE = "Sponsored."
DEFAULT_CONFIRM = "Ask a yes/no question and wait for yes before starting any purchase flow."
DEFAULT_NO_PRICE = "Do not say a price inside the upsell message."


class Strict(BaseModel):
    """Strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---- the policy file ---------------------------------------------------------------------


class EntryModel(Strict):
    """One ``[[catalog]]`` table."""

    id: Id
    title: Text
    category: Text
    synonyms: list[Text] = []
    kind: Literal["spoken_deal", "in_skill_product"]
    disclosure: Text | None = None
    pitch: str = ""
    product_id: Text | None = None


class CapsModel(Strict):
    """The ``[caps]`` table."""

    per_session: int = Field(ge=0)
    per_user_per_day: int = Field(ge=0)


class ObligationsModel(Strict):
    """The ``[obligations]`` table: wording of what a permitted offer obliges."""

    disclosure: Text = DEFAULT_DISCLOSURE
    confirm_before_purchase: Text = DEFAULT_CONFIRM
    no_price_in_upsell: Text = DEFAULT_NO_PRICE


class PolicyModel(Strict):
    """A whole policy file."""

    locales: list[Text] = Field(min_length=1)
    child_directed_skill: bool = False
    caps: CapsModel
    obligations: ObligationsModel = ObligationsModel()
    catalog: list[EntryModel] = Field(min_length=1)


# ---- a locale file -----------------------------------------------------------------------
class CommandsModel(Strict):
    """The ``[commands]`` table."""

    opt_out: list[Text] = Field(min_length=1)
    opt_in: list[Text] = Field(min_length=1)
    why: list[Text] = Field(min_length=1)


class InflectionModel(Strict):
    """One suffix rule (a plural ending or a particle)."""

    suffix: Text
    replace: str = ""


class LocaleModel(Strict):
    """A whole locale file (see policy/locales/en-US.toml for each field's meaning)."""

    locale: Text
    vocatives: list[Text] = []
    leading_fillers: list[Text] = []
    trailing_fillers: list[Text] = []
    negations: list[Text] = []
    hedges: list[Text] = []
    not_modifiers: list[Text] = []
    inner_fillers: list[Text] = []
    negation_fragments: list[Text] = []
    reported_speech: list[Text] = []
    reported_speech_fragments: list[Text] = []
    topic_stopwords: list[Text] = []
    vague_topics: list[Text] = []
    topic_joiners: list[Text] = []
    conjunctions: list[Text] = []
    clause_endings: list[Text] = []
    inflections: list[InflectionModel] = []
    min_stem: int = Field(default=1, ge=1)
    inflection_passes: int = Field(default=1, ge=1, le=3)
    commands: CommandsModel
