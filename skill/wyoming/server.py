"""Listening: a ``tcp://`` or ``unix://`` URI, one :class:`Connection` per peer.

The server is ``asyncio.start_server`` with the header-line limit the reader enforces (the
``wyoming`` library's own servers take no limit and read events without bounds). Closing it
lets the connections in flight finish their turn, so no decision is cut off half-recorded.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlparse

from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.handler import Connection
from askfirst.skill.wyoming.reader import MAX_HEADER_BYTES
from askfirst.skill.wyoming.service import Service

logger = logging.getLogger(__name__)

CLOSE_GRACE_SECONDS = 5.0
"""How long :meth:`Listening.close` waits for connections in flight before cancelling them."""


class Listening:
    """A started server and its connections."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (``sockets[0].getsockname()`` gives a port chosen by the OS)."""
        return () if self._server is None else tuple(self._server.sockets)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = Connection(self.service, reader, writer)
        try:
            await connection.run()
        except Exception:  # a connection's failure is its own; the server keeps serving
            logger.exception("wyoming: connection from %s failed", connection.peer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def start(self, uri: str) -> None:
        parsed = urlparse(uri)
        if parsed.scheme == "tcp":
            if parsed.hostname is None or parsed.port is None:
                raise WyomingError(
                    f"--uri: expected tcp://HOST:PORT, got {uri!r}", code="bad-uri", closes=True
                )
            self._server = await asyncio.start_server(
                self._serve_connection,
                host=parsed.hostname,
                port=parsed.port,
                limit=MAX_HEADER_BYTES,
            )
        elif parsed.scheme == "unix" and parsed.path:
            self._server = await asyncio.start_unix_server(
                self._serve_connection, path=parsed.path, limit=MAX_HEADER_BYTES
            )
        else:
            raise WyomingError(
                f"--uri: expected tcp://HOST:PORT or unix:///PATH, got {uri!r}",
                code="bad-uri",
                closes=True,
            )

    async def close(self, grace: float = CLOSE_GRACE_SECONDS) -> None:
        """Stop accepting; give open connections ``grace`` seconds, then cancel them."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        tasks = set(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def start(service: Service, uri: str) -> Listening:
    """Start listening on ``uri``; returns at once with the running server."""
    listening = Listening(service)
    await listening.start(uri)
    return listening
