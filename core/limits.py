"""Size limits of the strings a turn carries, defined once: the HTTP edge's request bodies, their
OpenAPI document and the store all read them from here.

Every limit counts **UTF-8 bytes, not characters**. Bytes are what the databases keep and index
(a PostgreSQL btree entry holds at most about 2.7 KB), and characters would make a limit's cost
depend on the script: 2,000 characters are 2,000 bytes of English but 6,000 of Korean (three
bytes a syllable) and up to 8,000 of emoji. A byte limit is the same budget for every language;
what it means in characters is stated with each limit.

The store keeps some ids with a namespace the server adds (``household:<home>:<id>`` for a
device-API user, ``<device>/<id>`` for an utterance): it checks those *keys* against
:data:`MAX_KEY_BYTES`, which is derived from the limits of their parts, so no id an edge accepts
can be refused by the store once namespaced.
"""

from __future__ import annotations

from askfirst.core.errors import CoreError

MAX_ID_BYTES = 128
"""An id a client sends (user, session, utterance, offer, decision, window): 128 ASCII
characters, 42 Korean ones; more than any UUID (36) or Alexa request or session id needs."""
MAX_NAME_BYTES = 64
"""A configured device id or household (the device API's token map)."""
MAX_TEXT_BYTES = 4096
"""A transcript: 4,096 ASCII characters (about 700 English words) or 1,365 Korean syllables,
well beyond a minute of speech in either."""
MAX_LOCALE_BYTES = 35
"""A locale tag: the longest BCP 47 tag worth accepting (RFC 5646 recommends 35)."""
MAX_SHORT_BYTES = 64
"""Words the server writes itself: tags, tag reasons, window reasons."""
MAX_LIST_ITEMS = 32
"""Tag reasons per utterance."""
MAX_PAYLOAD_BYTES = 65536
"""One audit record's canonical payload (a decision with its results, offer and consent)."""

ALEXA_ID_BYTES = 255
"""Amazon's bound on an Alexa ``userId`` or ``deviceId``, which the store keeps as they come."""
MAX_KEY_BYTES = max(
    ALEXA_ID_BYTES,
    len("household:") + MAX_NAME_BYTES + len(":") + MAX_ID_BYTES,
    3 * MAX_NAME_BYTES + len("/") + MAX_ID_BYTES,  # a percent-encoded device id, then the id
)
"""A key the store keeps for a user, device or utterance: the longest namespaced form of an
accepted id (an utterance id scoped by a percent-encoded device id: 321 bytes), or an Alexa id."""


class FieldTooLarge(CoreError):  # noqa: N818 - named for what it says, like the store's
    """A string longer than its limit; nothing was written."""

    code = "field_too_large"

    def __init__(self, *, field: str, limit: int, size: int, characters: int) -> None:
        super().__init__(describe(field=field, limit=limit, size=size, characters=characters))
        self.field = field
        self.limit = limit
        self.size = size


def describe(*, field: str, limit: int, size: int, characters: int) -> str:
    """The one wording of a too-large field, at every layer: the field, its limit, what came."""
    return (
        f"{field}: expected at most {limit} bytes of UTF-8, got {size} bytes "
        f"({characters} characters)"
    )


def utf8_size(value: str) -> int:
    """The UTF-8 length of ``value``; an unpaired surrogate counts its three bytes."""
    return len(value.encode("utf-8", "surrogatepass"))


def too_large(value: str | None, field: str, limit: int) -> FieldTooLarge | None:
    """The error for ``value`` when its UTF-8 form is over ``limit`` bytes (None passes)."""
    if value is None:
        return None
    size = utf8_size(value)
    if size <= limit:
        return None
    return FieldTooLarge(field=field, limit=limit, size=size, characters=len(value))
