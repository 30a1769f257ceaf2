"""Limits on HTTP connections: how long a request may take to arrive, and how many at once.

uvicorn (h11) sets no deadline on reading a request: a client that sends half a request
line or half its headers and then nothing holds its connection for good. The bearer
token can only be checked once the headers are complete, so anyone who reaches a public
bind could open such connections until the process ran out of file descriptors, after
which ``accept()`` failed for everyone, ``/healthz`` included. So:

- each request (line, headers and body) must arrive within ``read_timeout`` seconds of
  the connection opening or, on a kept-alive connection, of its first byte; else the
  connection is closed (answered 408 when the headers were still arriving). Answering
  takes as long as it takes: a chat's stream stays open while the chat runs;
- past ``max_connections`` open connections a new one is answered 503 and closed at
  once, so the process never reaches its open-file limit, which is raised at start to
  fit the connections where the system allows.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("agentdeck.server.http_limits")

#: Descriptors kept for everything but client connections: the database, the backends'
#: upstream connections, log files.
RESERVED_FILES = 256
_WARN_EVERY = 60.0


def _response(status: bytes, body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 " + status, b"content-type: text/plain; charset=utf-8", *extra]
    head += [b"content-length: %d" % len(body), b"connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_TOO_MANY = _response(
    b"503 Service Unavailable", b"Too many open connections; try again.\n", b"retry-after: 1"
)
_TOO_SLOW = _response(b"408 Request Timeout", b"The request did not arrive in time.\n")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on reading each request and a connection cap.

    Make one with :func:`guarded_protocol`; the limits are class attributes because
    uvicorn builds each connection's protocol itself.
    """

    read_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 1000
    _warned_at: ClassVar[float] = -math.inf
    _read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse()
            return
        self._watch_request()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _watch_request(self) -> None:
        """Start the deadline when a request starts to arrive; stop it once it has.

        A request is arriving while its body is (``SEND_BODY``), or while no request has
        come yet outside uvicorn's keep-alive wait (which closes idle connections itself
        and ends when the next request's first byte arrives).
        """
        state = self.conn.their_state
        arriving = state is h11.SEND_BODY or (
            state is h11.IDLE and self.timeout_keep_alive_task is None
        )
        if not arriving or self.transport.is_closing():
            self._stop_deadline()
        elif self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        logger.info("closing a connection whose request did not arrive in %g s", self.read_timeout)
        partial_headers, _ = self.conn.trailing_data
        if self.conn.their_state is h11.IDLE and partial_headers:
            self.transport.write(_TOO_SLOW)
        self.transport.close()

    def _refuse(self) -> None:
        now = time.monotonic()
        if now - GuardedH11Protocol._warned_at >= _WARN_EVERY:
            GuardedH11Protocol._warned_at = now
            logger.warning(
                "refusing new connections: %d are open ([server] http_max_connections)",
                self.max_connections,
            )
        self.transport.write(_TOO_MANY)
        self.transport.close()


def guarded_protocol(read_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn should build connections with, holding these limits."""
    limits = {"read_timeout": read_timeout, "max_connections": max_connections}
    return type("GuardedH11Protocol", (GuardedH11Protocol,), limits)


def fit_open_files(max_connections: int) -> int:
    """How many connections this process can hold open: ``max_connections`` once the soft
    open-file limit is raised to fit them (up to the hard limit), else fewer, with a warning.
    """
    if sys.platform == "win32":  # no such limit to raise there
        return max_connections
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return max_connections
    room = max(soft - RESERVED_FILES, 1)
    logger.warning(
        "the open-file limit (%d) leaves room for %d HTTP connections, not the %d of "
        "[server] http_max_connections; raise it (ulimit -n) to serve more",
        soft,
        room,
        max_connections,
    )
    return room
