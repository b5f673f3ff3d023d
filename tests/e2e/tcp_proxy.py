"""A loopback TCP forwarder that can be cut and restored: takes a database away from a server.

Pointing a server's store URL at the proxy lets a test make PostgreSQL unreachable for that one
server (connections reset, new ones refused) while the database itself stays up for the others.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target``; ``cut()`` drops every connection and the port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()

    def freeze(self) -> None:
        """Keep every connection open but forward nothing: a stalled link, not a dead one."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, held bytes first."""
        self._flowing.set()

    def start(self) -> int:
        """Listen (on the same port as before after a ``cut``) and return the port."""
        if self._listener is not None:
            raise RuntimeError(f"expected a stopped proxy, got one listening on {self.port}")
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop = threading.Event()
        self._spawn(self._accept_loop, listener, self._stop)
        return self.port

    def cut(self) -> None:
        """Stop listening and reset every forwarded connection: the target looks down."""
        listener, self._listener = self._listener, None
        self._stop.set()
        if listener is not None:
            listener.close()
        with self._lock:
            doomed = list(self._sockets)
            self._sockets.clear()
        for sock in doomed:
            _close(sock)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=2)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        with self._lock:
            self._threads.append(thread)

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                logger.warning("proxy: cannot reach %s: %s", self.target, exc)
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if stop.is_set():
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
            self._spawn(_pump, client, upstream, self._flowing)
            self._spawn(_pump, upstream, client, self._flowing)


def _pump(source: socket.socket, sink: socket.socket, flowing: threading.Event) -> None:
    # OSError: the other direction or cut() closed the pair; it is torn down below.
    with contextlib.suppress(OSError):
        while data := source.recv(_CHUNK):
            flowing.wait()  # frozen: hold the bytes (the peer sees silence, not a reset)
            sink.sendall(data)
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down or never connected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
