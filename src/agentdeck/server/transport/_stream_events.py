"""Resumable Streamable HTTP streams (SEP-1699): a client whose connection dropped
mid-chat reconnects with ``Last-Event-ID`` and receives the rest of the progress and
the result, each exactly once.

The SDK's transport does the wire part once it has an event store: each request's
SSE stream opens with a priming event (an event id, empty data and a ``retry:`` hint),
every message carries the id it was stored under, and a GET with ``Last-Event-ID``
asks the store to replay what followed. This module is that store, kept in the
server's database (:mod:`agentdeck.store._stream_events`), and it adds three things
the SDK leaves to it:

- **one store per session.** The SDK names streams by request id ("1", "2", its GET
  stream), which every session reuses; each session's transport gets a
  :class:`SessionEvents` of its own (``server.sdk_seams.event_store_per_session``), so a
  ``Last-Event-ID`` from another session replays nothing.
- **a request's stream is followed to its answer here.** After a replay the SDK would
  register the stream for live messages only after two more awaits, and whatever the
  chat sent in between was stored but never sent. Instead the replay keeps reading
  the store, woken by every new event of the session, until the request's answer has
  gone out; then the resumed stream ends as the original would have.
- **a request's priming event is kept in no row.** Its id names its stream (after a
  mark of the session's own): request ids are never reused within a session, so what
  follows it is every event of that stream. A chat's HTTP request writes one row (its
  answer), not two. The GET stream, which the session reopens, is primed with a row.
- **the store never ends a session.** A failed write is logged and the message still
  goes out live, without an id; old events are pruned after the runs' retention.

Only 2025-11-25 sessions resume: the SDK primes no stream of an older protocol (their
clients cannot read an empty event) and the 2026-07-28 era has no resumable streams.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections.abc import Callable

import anyio
from mcp.server.streamable_http import (
    GET_STREAM_KEY,
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamId,
)
from mcp.types import JSONRPCError, JSONRPCMessage, JSONRPCResponse, jsonrpc_message_adapter

from agentdeck.store import Store

logger = logging.getLogger("agentdeck.server.stream_events")

#: What the priming event's ``retry:`` tells a client to wait before reconnecting (ms):
#: the SDK client's own default, said out loud.
RETRY_MILLISECONDS = 1000
#: Old events are pruned at most this often (seconds).
_PRUNE_EVERY = 60.0
#: A replay following a request's stream checks this often that its session still lives.
_SESSION_CHECK_EVERY = 1.0
#: Event ids are the store's sequence numbers; longer digit strings are no id of ours.
_MAX_ID_DIGITS = 18
#: The streams a priming event's id may name: request ids of a plain form (any other, and
#: the session's GET stream, are primed with a row).
_NAMEABLE_STREAM = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StreamEvents:
    """The stream events of every session of one server, in its store."""

    def __init__(self, store: Callable[[], Store], *, keep_seconds: float) -> None:
        self._store = store
        self._keep_seconds = keep_seconds
        self._pruned_at = -math.inf

    def for_session(self, session_id: str, ended: Callable[[], bool]) -> SessionEvents:
        """The event store of one session; ``ended()`` says whether it was terminated."""
        return SessionEvents(self, session_id, ended)

    @property
    def store(self) -> Store:
        return self._store()

    async def prune_now_and_then(self) -> None:
        """Drop the events older than the runs' retention, once a minute at most (timed
        with the monotonic clock, which asyncio's is, without asking anyio for it)."""
        clock = time.monotonic()
        if clock - self._pruned_at < min(_PRUNE_EVERY, self._keep_seconds):
            return
        self._pruned_at = clock
        dropped = await self.store.prune_stream_events(self._keep_seconds)
        if dropped:
            logger.debug("pruned %d stream events older than %g s", dropped, self._keep_seconds)


class SessionEvents(EventStore):
    """The events of one session's streams: stored as they are sent, replayed on resume."""

    def __init__(self, events: StreamEvents, session_id: str, ended: Callable[[], bool]) -> None:
        self._events = events
        self._session = session_id
        self._ended = ended
        #: set when an event is stored; made only when a replay waits for one
        self._changed: anyio.Event | None = None
        #: what this session's priming event ids start with (another session's are not its)
        self._mark = secrets.token_hex(4)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        """Keep ``message`` (None: a priming event); its event id, or "" (no id) if the
        store failed: the message then still goes out, it just cannot be resumed after."""
        if message is None and _nameable(stream_id):
            return f"{self._mark}.{stream_id}"  # a request's stream: see the module's docstring
        data = (
            None if message is None else message.model_dump_json(by_alias=True, exclude_unset=True)
        )
        try:
            seq = await self._events.store.add_stream_event(self._session, str(stream_id), data)
        except Exception as exc:  # the SDK's message router would end the session
            logger.warning("could not keep a stream event for resumption: %s", exc)
            return ""
        finally:
            if self._changed is not None:
                self._changed.set()
                self._changed = None
        try:
            await self._events.prune_now_and_then()
        except Exception as exc:  # kept events outlive their retention a minute more
            logger.warning("could not prune old stream events: %s", exc)
        return str(seq)

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        """Send what followed ``last_event_id`` on its stream. A request's stream is followed
        until its answer went out (returns None: the stream ends); the session's GET stream
        is handed back to the SDK (returns its id), which carries it on live."""
        try:
            start = await self._start_of(last_event_id)
            if start is None:
                return None
            stream, after = start
            while True:
                changed = self._changed
                if changed is None:
                    changed = self._changed = anyio.Event()
                for row in await self._events.store.stream_events_after(
                    self._session, stream, after
                ):
                    after = row["seq"]
                    if row["message"] is None:
                        continue  # a priming event: nothing to send
                    message = jsonrpc_message_adapter.validate_json(row["message"])
                    await send_callback(EventMessage(message, str(after)))
                    if isinstance(message, JSONRPCResponse | JSONRPCError):
                        return None
                if stream == GET_STREAM_KEY:
                    return stream
                with anyio.move_on_after(_SESSION_CHECK_EVERY):
                    await changed.wait()
                if self._ended():
                    return None
        except Exception as exc:  # the SDK would log a traceback and end the stream anyway
            logger.warning("could not replay stream events after %s: %s", last_event_id, exc)
            return None

    async def _start_of(self, event_id: EventId) -> tuple[str, int] | None:
        """The stream an event id of this session is on, and the sequence number what
        follows it comes after (a priming event without a row: all the stream's); None
        for an id that is not this session's."""
        mark, dot, stream = event_id.partition(".")
        if dot and mark == self._mark and _nameable(stream):
            return stream, 0
        if not (event_id.isascii() and event_id.isdigit()) or len(event_id) > _MAX_ID_DIGITS:
            return None
        seq = int(event_id)
        stream_of = await self._events.store.stream_of_event(self._session, seq)
        return None if stream_of is None else (stream_of, seq)


def _nameable(stream_id: str) -> bool:
    """Whether a priming event on ``stream_id`` can name it in its id instead of a row."""
    return stream_id != GET_STREAM_KEY and _NAMEABLE_STREAM.fullmatch(stream_id) is not None
