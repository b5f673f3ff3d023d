"""A size-checked Wyoming event reader.

``wyoming.event.async_read_event`` reads ``payload_length`` bytes with no upper bound (a 20 MB
``audio-chunk`` is buffered whole before anyone looks at it) and closes the connection silently
on a header that is not JSON. This reader checks the header first: an oversized data block or
payload is read and thrown away in small pieces, so memory stays bounded and the stream stays in
step, and the caller gets a :class:`WyomingError` to send back; a header that cannot be parsed
is a :class:`FramingError`, because nothing after it can be found.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event

from askfirst.skill.wyoming.errors import FramingError, WyomingError

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
"""The longest header line; also the ``limit`` the server gives each ``StreamReader``."""
DISCARD_PIECE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How large one event's parts may be."""

    max_payload: int = 1024 * 1024
    """Bytes of binary payload; Home Assistant and satellites send 2 KiB audio chunks."""
    max_data: int = 64 * 1024
    """Bytes of the JSON data block that follows the header."""


def _length(header: dict[str, Any], name: str) -> int:
    value = header.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FramingError(
            f"event header {name}: expected a non-negative integer, got {value!r}",
            code="bad-header",
        )
    return value


def _parse_header(line: bytes) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FramingError(
            f"expected an event header (one JSON object per line), got {line[:80]!r}"
        ) from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise FramingError(
            "expected an event header with a string 'type', got "
            f"{type(header).__name__ if not isinstance(header, dict) else header.get('type')!r}"
        )
    data = header.get("data")
    if data is not None and not isinstance(data, dict):
        raise FramingError(f"event header data: expected a JSON object, got {data!r}")
    return header


async def discard(reader: asyncio.StreamReader, count: int) -> None:
    """Read and drop ``count`` bytes in small pieces; IncompleteReadError at end of stream."""
    left = count
    while left > 0:
        piece = await reader.read(min(left, DISCARD_PIECE))
        if not piece:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(piece)


async def read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    """The next event, or None at end of stream.

    Raises :class:`WyomingError` (connection still in step) for an oversized part, and
    :class:`FramingError` for a header that cannot be read. ``asyncio.IncompleteReadError``
    means the peer went away in the middle of an event.
    """
    try:
        line = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError):
        raise FramingError(
            f"expected an event header line of at most {MAX_HEADER_BYTES} bytes, got a longer one",
            code="header-too-long",
        ) from None
    if not line:
        return None
    if not line.strip():
        raise FramingError("expected an event header, got an empty line")
    header = _parse_header(line)
    data_length = _length(header, "data_length")
    payload_length = _length(header, "payload_length")
    kind = header["type"]
    if data_length > limits.max_data or payload_length > limits.max_payload:
        await discard(reader, data_length + payload_length)
        if payload_length > limits.max_payload:
            raise WyomingError(
                f"{kind}: expected a payload of at most {limits.max_payload} bytes, got "
                f"payload_length {payload_length} (send audio in smaller chunks)",
                code="payload-too-large",
            )
        raise WyomingError(
            f"{kind}: expected a data block of at most {limits.max_data} bytes, got "
            f"data_length {data_length}",
            code="data-too-large",
        )
    data: dict[str, Any] = dict(header.get("data") or {})
    if data_length:
        block = await reader.readexactly(data_length)
        try:
            extra = json.loads(block)
        except (UnicodeDecodeError, ValueError, RecursionError):
            extra = None
        if not isinstance(extra, dict):
            await discard(reader, payload_length)
            raise WyomingError(
                f"{kind}: expected a JSON object in the data block, got {block[:80]!r}",
                code="bad-data",
            )
        data.update(extra)
    payload = await reader.readexactly(payload_length) if payload_length else None
    return Event(type=kind, data=data, payload=payload)
