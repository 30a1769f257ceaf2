"""The events of Streamable HTTP streams, kept so a client that lost its connection can
resume a stream with ``Last-Event-ID`` (:mod:`agentdeck.server.transport` drives them).

One row per message the server sent on a stream, written in batches after the messages
went out. Rows are in the order of their sequence numbers and belong to one session's
stream: the SDK names streams by request id, which every session reuses, so the session
is part of every lookup. They are transient: :meth:`prune_stream_events` drops them
after the runs' retention (``run_keep_seconds``). (Rows with no message are priming
events of older versions; none are written now.)

Its own module, mixed into both stores, so the store classes grow by one base class
and one migration each. On SQLite these statements run as the store's own do (retried while
another program holds the file locked; see :mod:`agentdeck.store._sqlite_connection`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from agentdeck.store.shared import NewStreamEvent, now

#: The most events one statement writes on PostgreSQL (three parameters each, of at
#: most 65,535 a statement); more are written in several.
_POSTGRES_BATCH = 1000

#: The table and its indexes, the same in both stores but for the key and time types.
SQLITE_SCHEMA = """
CREATE TABLE stream_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    message TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX stream_events_by_stream ON stream_events (session_id, stream_id, seq);
CREATE INDEX stream_events_by_age ON stream_events (created_at);
"""
POSTGRES_SCHEMA = (
    """CREATE TABLE stream_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        message TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX stream_events_by_stream ON stream_events (session_id, stream_id, seq)",
    "CREATE INDEX stream_events_by_age ON stream_events (created_at)",
)


class _EventQueries:
    """Reading events back, with a driver's placeholder (``?`` or ``%s``)."""

    def __init__(self, mark: str) -> None:
        self.after = (
            "SELECT seq, message FROM stream_events"
            f" WHERE session_id = {mark} AND stream_id = {mark} AND seq > {mark} ORDER BY seq"
        )


class _StreamEvents:
    """What both stores do alike but for the placeholder (:attr:`_event_queries`)."""

    _event_queries: ClassVar[_EventQueries]

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> Sequence[Any]: ...

    async def stream_events_after(
        self, session_id: str, stream_id: str, seq: int
    ) -> list[dict[str, Any]]:
        """The events of the stream after ``seq``, oldest first: ``seq`` and ``message``."""
        rows = await self._rows(self._event_queries.after, (session_id, stream_id, seq))
        return [dict(row) for row in rows]


class SqliteStreamEvents(_StreamEvents):
    """The stream events of :class:`~agentdeck.store.sqlite.SqliteStore`."""

    _event_queries = _EventQueries("?")

    if TYPE_CHECKING:

        async def _write(self, *statements: tuple[str, tuple[Any, ...]]) -> int:
            """Run ``statements`` in one committed transaction, as every statement of the
            store runs (:class:`~agentdeck.store._sqlite_connection.SqliteConnection`);
            the first one's row count."""
            ...

    async def add_stream_events(self, events: Sequence[NewStreamEvent]) -> None:
        """Keep ``events``, in this order, in one transaction."""
        created = now().isoformat()
        query = (
            "INSERT INTO stream_events (session_id, stream_id, message, created_at)"
            " VALUES (?, ?, ?, ?)"
        )
        await self._write(*((query, (*event, created)) for event in events))

    async def prune_stream_events(self, older_than_seconds: float) -> int:
        """Drop the events older than ``older_than_seconds``; how many there were."""
        cutoff = (now() - timedelta(seconds=older_than_seconds)).isoformat()
        return await self._write(("DELETE FROM stream_events WHERE created_at < ?", (cutoff,)))


class PostgresStreamEvents(_StreamEvents):
    """The stream events of :class:`~agentdeck.store.postgres.PostgresStore`."""

    _event_queries = _EventQueries("%s")

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> list[dict[str, Any]]: ...

        async def _write(self, query: Any, params: Any = ()) -> int: ...

    async def add_stream_events(self, events: Sequence[NewStreamEvent]) -> None:
        for start in range(0, len(events), _POSTGRES_BATCH):
            batch = events[start : start + _POSTGRES_BATCH]
            rows = ", ".join(["(%s, %s, %s)"] * len(batch))
            await self._write(
                f"INSERT INTO stream_events (session_id, stream_id, message) VALUES {rows}",
                tuple(value for event in batch for value in event),
            )

    async def prune_stream_events(self, older_than_seconds: float) -> int:
        return await self._write(
            "DELETE FROM stream_events WHERE created_at < now() - make_interval(secs => %s)",
            (older_than_seconds,),
        )
