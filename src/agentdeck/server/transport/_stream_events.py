"""Resumable Streamable HTTP streams (SEP-1699): a client whose connection dropped
mid-chat reconnects with ``Last-Event-ID`` and receives the rest of the progress and
the result, each exactly once.

The SDK's transport does the wire part once it has an event store: each request's
SSE stream opens with a priming event (an event id, empty data and a ``retry:`` hint),
every message carries the id it was stored under, and a GET with ``Last-Event-ID``
asks the store to replay what followed. This module is that store, kept in the
server's database (:mod:`agentdeck.store._stream_events`), and it adds what the SDK
leaves to it:

- **one store per session.** The SDK names streams by request id ("1", "2", its GET
  stream), which every session reuses; each session's transport gets a
  :class:`SessionEvents` of its own (``server.sdk_seams.event_store_per_session``), so a
  ``Last-Event-ID`` from another session replays nothing.
- **an event id says where it is.** ``<session mark>.<stream>.<n>``: the n-th message of
  that stream (0: its priming event, which keeps no row). Request ids are never reused
  within a session, so the rows of a stream, in order, are its messages 1, 2, ...; a
  stream id of another form than a plain request id is named by a digest of it.
- **a message goes out before its row is written.** Messages are queued and written
  in batches by :meth:`StreamEvents.keep_writing`, a task of the server's, a moment
  after they went out: a chat's answer waits for no commit (or, on PostgreSQL, a round
  trip), nor for its second serialization, and concurrent chats share transactions.
  A replay writes what is queued first, so it reads every message sent before it.
- **a request's stream is followed to its answer here.** After a replay the SDK would
  register the stream for live messages only after two more awaits, and whatever the
  chat sent in between was stored but never sent. Instead the replay keeps reading
  the store, woken by every new event of the session, until the request's answer has
  gone out; then the resumed stream ends as the original would have.
- **the store never ends a session.** A batch that cannot be written is logged and
  its messages are marked lost in their sessions: a replay skips their numbers, so it
  sends every message that was kept, once, and none twice. Old events are pruned
  after the runs' retention.

Only 2025-11-25 sessions resume: the SDK primes no stream of an older protocol (their
clients cannot read an empty event) and the 2026-07-28 era has no resumable streams.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import NoReturn

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

from agentdeck.store import NewStreamEvent, Store

logger = logging.getLogger("agentdeck.server.stream_events")

#: What the priming event's ``retry:`` tells a client to wait before reconnecting (ms):
#: the SDK client's own default, said out loud.
RETRY_MILLISECONDS = 1000
#: Old events are pruned at most this often (seconds).
_PRUNE_EVERY = 60.0
#: A replay following a request's stream checks this often that its session still lives.
_SESSION_CHECK_EVERY = 1.0
#: How long the writer waits after an event is queued (seconds): long enough for the
#: message to be on its way to the client first, and for the events concurrent streams
#: send meanwhile to share the transaction.
_WRITE_AFTER = 0.002
#: Stream ids that name themselves in an event id; any other is named by its digest.
_PLAIN_STREAM = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StreamEvents:
    """The stream events of every session of one server, in its store."""

    def __init__(self, store: Callable[[], Store], *, keep_seconds: float) -> None:
        self._store = store
        self._keep_seconds = keep_seconds
        self._pruned_at = -math.inf
        #: sent and not written yet, oldest first: the session, the stream, the message
        #: and its number on the stream
        self._queued: list[tuple[SessionEvents, str, JSONRPCMessage, int]] = []
        #: set when an event is queued; made only while the writer waits for one
        self._wake: anyio.Event | None = None
        #: one batch written at a time, so rows are written in the order they were sent
        self._writing = anyio.Lock()

    def for_session(self, session_id: str, ended: Callable[[], bool]) -> SessionEvents:
        """The event store of one session; ``ended()`` says whether it was terminated."""
        return SessionEvents(self, session_id, ended)

    @property
    def store(self) -> Store:
        return self._store()

    def queue(
        self, session: SessionEvents, stream: str, message: JSONRPCMessage, number: int
    ) -> None:
        """Keep ``message``, numbered ``number`` on ``stream``, once it is sent."""
        self._queued.append((session, stream, message, number))
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    async def keep_writing(self) -> NoReturn:
        """Write what is queued, for as long as the server runs (a task of its lifespan)."""
        while True:
            if not self._queued:
                wake = self._wake = anyio.Event()
                await wake.wait()
            await anyio.sleep(_WRITE_AFTER)
            await self.write_queued()

    async def write_queued(self) -> None:
        """Write every event queued so far (a replay calls it first, to read them all)."""
        async with self._writing:
            batch, self._queued = self._queued, []
            if not batch:
                return
            try:
                await self.store.add_stream_events(
                    [_row(session, stream, message) for session, stream, message, _ in batch]
                )
            except Exception as exc:  # raised in the writer, it would end the server
                logger.warning(
                    "could not keep %d stream events for resumption: %s", len(batch), exc
                )
                for session, stream, _, number in batch:
                    session.mark_lost(stream, number)
        try:
            await self._prune_now_and_then()
        except Exception as exc:  # kept events outlive their retention a minute more
            logger.warning("could not prune old stream events: %s", exc)

    async def _prune_now_and_then(self) -> None:
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
    """The events of one session's streams: queued as they are sent, replayed on resume."""

    def __init__(self, events: StreamEvents, session_id: str, ended: Callable[[], bool]) -> None:
        self._events = events
        self.session_id = session_id
        self._ended = ended
        #: set when an event is queued; made only when a replay waits for one
        self._changed: anyio.Event | None = None
        #: what this session's event ids start with (another session's are not its)
        self._mark = secrets.token_hex(4)
        #: the messages sent so far on each stream still open (a request's until its answer)
        self._sent: dict[str, int] = {}
        #: the numbers of the messages whose rows could not be written, by stream
        self._lost: dict[str, set[int]] = {}

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        """The id of ``message`` (None: a priming event), queued to be written once sent."""
        stream = _name_of(stream_id)
        number = self._sent.get(stream, 0)
        if message is not None:
            number += 1
            if stream != GET_STREAM_KEY and isinstance(message, JSONRPCResponse | JSONRPCError):
                self._sent.pop(stream, None)  # the request's answer: its stream ends
            else:
                self._sent[stream] = number
            self._events.queue(self, stream, message, number)
            if self._changed is not None:
                self._changed.set()
                self._changed = None
        return f"{self._mark}.{stream}.{number}"

    def mark_lost(self, stream: str, number: int) -> None:
        """The row of message ``number`` of ``stream`` could not be written."""
        self._lost.setdefault(stream, set()).add(number)

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        """Send what followed ``last_event_id`` on its stream. A request's stream is followed
        until its answer went out (returns None: the stream ends); the session's GET stream
        is handed back to the SDK (returns its id), which carries it on live."""
        try:
            start = self._start_of(last_event_id)
            if start is None:
                return None
            stream, seen = start
            after, number = 0, 0  # the last row read, and its message's number
            while True:
                changed = self._changed
                if changed is None:
                    changed = self._changed = anyio.Event()
                await self._events.write_queued()
                for row in await self._events.store.stream_events_after(
                    self.session_id, stream, after
                ):
                    after, number = row["seq"], self._next_kept(stream, number)
                    if number <= seen:
                        continue
                    message = jsonrpc_message_adapter.validate_json(row["message"])
                    await send_callback(EventMessage(message, f"{self._mark}.{stream}.{number}"))
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

    def _start_of(self, event_id: EventId) -> tuple[str, int] | None:
        """The stream an event id of this session is on, and its message's number; None
        for an id that is not this session's."""
        mark, _, rest = event_id.partition(".")
        stream, _, number = rest.rpartition(".")
        if mark != self._mark or not _PLAIN_STREAM.fullmatch(stream):
            return None
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            return None
        return stream, int(number)

    def _next_kept(self, stream: str, number: int) -> int:
        """The number of the next message of ``stream`` after ``number`` that has a row."""
        lost = self._lost.get(stream, ())
        number += 1
        while number in lost:
            number += 1
        return number


def _row(session: SessionEvents, stream: str, message: JSONRPCMessage) -> NewStreamEvent:
    """The row of a sent message: its session, its stream and its JSON."""
    data = message.model_dump_json(by_alias=True, exclude_unset=True)
    return session.session_id, stream, data


def _name_of(stream_id: StreamId) -> str:
    """How ``stream_id`` is named in event ids and rows: as it is when plain (a request
    id, the GET stream), else by a digest (an id with dots, spaces or 200 characters)."""
    if _PLAIN_STREAM.fullmatch(stream_id):
        return stream_id
    return "_" + hashlib.blake2b(stream_id.encode(), digest_size=12).hexdigest()
