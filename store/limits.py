"""The store's size checks, run before anything is written; the limits are ``core.limits``'.

Limits are in UTF-8 bytes, the unit the databases index in: a PostgreSQL btree entry holds at most
about 2.7 KB, so an unbounded id would fail inside the database (a 503 logged as an outage)
instead of being refused as the bad input it is. Ids the server namespaces (users, devices,
utterances) are checked as keys (``MAX_KEY_BYTES``), every other field against the same limit
the HTTP edge applies to it.
"""

from __future__ import annotations

import logging

from askfirst.core.limits import (
    MAX_ID_BYTES,
    MAX_KEY_BYTES,
    MAX_LIST_ITEMS,
    MAX_LOCALE_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_SHORT_BYTES,
    MAX_TEXT_BYTES,
    too_large,
)
from askfirst.store.errors import FieldTooLarge

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_ID_BYTES",
    "MAX_KEY_BYTES",
    "MAX_LIST_ITEMS",
    "MAX_LOCALE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SHORT_BYTES",
    "MAX_TEXT_BYTES",
    "check_items",
    "check_size",
]


def check_size(value: str | None, field: str, limit: int = MAX_ID_BYTES) -> None:
    """Refuse ``value`` when its UTF-8 form is longer than ``limit`` bytes (None passes)."""
    error = too_large(value, field, limit)
    if error is not None:
        raise FieldTooLarge(
            f"{error.message}; nothing written", field=field, limit=limit, size=error.size
        )


def check_items(values: tuple[str, ...] | list[str], field: str, *, each: int) -> None:
    """Refuse a list with more than ``MAX_LIST_ITEMS`` entries or any entry over ``each`` bytes."""
    if len(values) > MAX_LIST_ITEMS:
        raise FieldTooLarge(
            f"{field}: expected at most {MAX_LIST_ITEMS} entries, got {len(values)}; "
            "nothing written",
            field=field,
            limit=MAX_LIST_ITEMS,
            size=len(values),
        )
    for i, value in enumerate(values):
        check_size(value, f"{field}[{i}]", each)
