"""Listening: a ``tcp://`` or ``unix://`` URI, one :class:`Connection` per peer.

The server is ``asyncio.start_server`` with the header-line limit the reader enforces (the
``wyoming`` library's own servers take no limit and read events without bounds).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from urllib.parse import urlparse

from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.handler import Connection
from askfirst.skill.wyoming.reader import MAX_HEADER_BYTES
from askfirst.skill.wyoming.service import Service

logger = logging.getLogger(__name__)


async def _serve_connection(
    service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    connection = Connection(service, reader, writer)
    try:
        await connection.run()
    except Exception:  # a connection's failure is its own; the server keeps serving
        logger.exception("wyoming: connection from %s failed", connection.peer)


async def start(service: Service, uri: str) -> asyncio.Server:
    """Start listening on ``uri``; returns the running server (its sockets give the port)."""
    parsed = urlparse(uri)
    callback = partial(_serve_connection, service)
    if parsed.scheme == "tcp":
        if parsed.hostname is None or parsed.port is None:
            raise WyomingError(
                f"--uri: expected tcp://HOST:PORT, got {uri!r}", code="bad-uri", closes=True
            )
        return await asyncio.start_server(
            callback, host=parsed.hostname, port=parsed.port, limit=MAX_HEADER_BYTES
        )
    if parsed.scheme == "unix" and parsed.path:
        return await asyncio.start_unix_server(callback, path=parsed.path, limit=MAX_HEADER_BYTES)
    raise WyomingError(
        f"--uri: expected tcp://HOST:PORT or unix:///PATH, got {uri!r}", code="bad-uri", closes=True
    )


async def serve(service: Service, uri: str) -> None:
    """Serve until cancelled."""
    server = await start(service, uri)
    logger.warning("askfirst wyoming: listening on %s", uri)
    async with server:
        await server.serve_forever()
