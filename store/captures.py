"""The broadcast registry in SQL: keyed prints of recent captures, and which were answered."""

from __future__ import annotations

from sqlalchemy import Connection, update

from askfirst.store.limits import check_size
from askfirst.store.schema import peers


def mark_answered(conn: Connection, *, device_id: str, utterance_id: str) -> None:
    """This device's capture was answered: its household peers must not answer it too."""
    check_size(device_id, "device_id")
    check_size(utterance_id, "utterance_id")
    conn.execute(
        update(peers)
        .where(peers.c.device_id == device_id, peers.c.utterance_id == utterance_id)
        .values(answered=True)
    )
