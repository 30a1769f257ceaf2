"""Log messages to 2025-11-25 clients: ``logging/setLevel``, and the warnings that concern them.

A 2025-11-25 session that sends ``logging/setLevel`` receives, from then on, the records
marked for the client (``agentdeck.notices``) at or above that level, as
``notifications/message`` on its connection, whichever request or background task logged
them; a session that never set a level receives none. The text is redacted like every
other exit. 2026-07-28 deprecated the capability (SEP-2577): it is not declared to those
clients (``server.sdk_seams.serve_logging_level``), and they receive no log messages.

Logging is synchronous and sending is not: :meth:`ClientLog.emit` queues a record (and
drops it when the queue is full, so a burst never slows the server down) and a task of
the server's lifespan sends it. Only records logged on the event loop's thread are
forwarded; agentdeck logs the marked ones there.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Final, TypeVar, get_args

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.context import ServerRequestContext
from mcp.types import LoggingLevel

from agentdeck.notices import for_client
from agentdeck.redaction import redact
from agentdeck.server.sdk_seams import connection_of

logger = logging.getLogger("agentdeck.client_log")
S = TypeVar("S")
T = TypeVar("T")

#: The MCP levels, least severe first.
LEVELS: Final[tuple[LoggingLevel, ...]] = get_args(LoggingLevel)
#: Records waiting to be sent; more are dropped.
QUEUE_SIZE = 100


_BY_THRESHOLD: Final[tuple[tuple[int, LoggingLevel], ...]] = (
    (logging.CRITICAL, "critical"),
    (logging.ERROR, "error"),
    (logging.WARNING, "warning"),
    (logging.INFO, "info"),
)


def mcp_level(levelno: int) -> LoggingLevel:
    """The MCP level of a Python logging level."""
    return next((level for threshold, level in _BY_THRESHOLD if levelno >= threshold), "debug")


class ClientLog:
    """The log levels the sessions of one server set, and the forwarding to them."""

    def __init__(self) -> None:
        #: connection → the index in LEVELS of the least severe level it wants, and the
        #: state of the lifespan it is served under
        self._levels: weakref.WeakKeyDictionary[Any, tuple[int, Any]] = weakref.WeakKeyDictionary()

    async def set_level(self, ctx: ServerRequestContext[Any, Any], level: LoggingLevel) -> None:
        """The ``logging/setLevel`` handler: remember the level for the request's session."""
        self._levels[connection_of(ctx.session)] = (LEVELS.index(level), ctx.lifespan_context)

    def around(
        self, lifespan: Callable[[S], AbstractAsyncContextManager[T]]
    ) -> Callable[[S], AbstractAsyncContextManager[T]]:
        """``lifespan``, with the marked records of the ``agentdeck`` loggers forwarded
        while it runs."""

        @asynccontextmanager
        async def forwarding(server: S) -> AsyncIterator[T]:
            send, receive = anyio.create_memory_object_stream[logging.LogRecord](QUEUE_SIZE)
            handler = _Forwarder(self._levels, send)
            owner = logging.getLogger("agentdeck")
            async with anyio.create_task_group() as tasks, send, receive:
                owner.addHandler(handler)
                try:
                    async with lifespan(server) as state:
                        tasks.start_soon(self._deliver, receive, state)
                        yield state
                finally:
                    owner.removeHandler(handler)
                    tasks.cancel_scope.cancel()

        return forwarding

    async def _deliver(
        self, records: MemoryObjectReceiveStream[logging.LogRecord], state: object
    ) -> None:
        """Send each record to the sessions of the lifespan of ``state`` that want it (every
        lifespan running sees every record, so each session hears it once)."""
        async for record in records:
            level = mcp_level(record.levelno)
            params = {"level": level, "logger": record.name, "data": redact(record.getMessage())}
            for connection, (wanted, served_under) in list(self._levels.items()):
                if served_under is state and LEVELS.index(level) >= wanted:
                    try:
                        await connection.notify("notifications/message", params)
                    except Exception as exc:  # one client's trouble must not stop the others
                        logger.debug("could not send a log message to a client: %s", exc)


class _Forwarder(logging.Handler):
    """Queues the records marked for the client while some session wants log messages."""

    def __init__(
        self,
        levels: weakref.WeakKeyDictionary[Any, tuple[int, Any]],
        queue: MemoryObjectSendStream[logging.LogRecord],
    ) -> None:
        super().__init__()
        self._levels = levels
        self._queue = queue
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if not self._levels or not for_client(record) or threading.get_ident() != self._thread:
            return
        # a full queue (a burst) or a lifespan ending: the record stays in the log only
        with suppress(anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._queue.send_nowait(record)
