"""Size limits on every field the store keeps, checked before anything is written.

Limits are in UTF-8 bytes, the unit the databases index in: a PostgreSQL btree entry holds at most
about 2.7 KB, so an unbounded id would fail inside the database (a 503 logged as an outage)
instead of being refused as the bad input it is.
"""

from __future__ import annotations

import logging

from askfirst.store.errors import FieldTooLarge

logger = logging.getLogger(__name__)

MAX_ID_BYTES = 200
"""Ids: user, session, device, utterance, decision, offer, window, fingerprint, rule, policy."""
MAX_TEXT_BYTES = 4096
"""A transcript: about 700 English words or 1,300 Korean syllables, far beyond one turn's speech."""
MAX_SHORT_BYTES = 64
"""Locales, tags, tag reasons, window reasons."""
MAX_LIST_ITEMS = 32
"""Tag reasons per utterance."""
MAX_PAYLOAD_BYTES = 65536
"""One audit record's canonical payload (a decision with its results, offer and consent)."""


def check_size(value: str | None, field: str, limit: int = MAX_ID_BYTES) -> None:
    """Refuse ``value`` when its UTF-8 form is longer than ``limit`` bytes (None passes)."""
    if value is None:
        return
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise FieldTooLarge(
            f"{field}: expected at most {limit} bytes (UTF-8), got {size} bytes; nothing written",
            field=field,
            limit=limit,
        )


def check_items(values: tuple[str, ...] | list[str], field: str, *, each: int) -> None:
    """Refuse a list with more than ``MAX_LIST_ITEMS`` entries or any entry over ``each`` bytes."""
    if len(values) > MAX_LIST_ITEMS:
        raise FieldTooLarge(
            f"{field}: expected at most {MAX_LIST_ITEMS} entries, got {len(values)}; "
            "nothing written",
            field=field,
            limit=MAX_LIST_ITEMS,
        )
    for i, value in enumerate(values):
        check_size(value, f"{field}[{i}]", each)
