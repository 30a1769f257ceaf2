"""The events of Streamable HTTP streams, kept so a client that lost its connection can
resume a stream with ``Last-Event-ID`` (:mod:`agentdeck.server.transport` drives them).

One row per message the server sent on a stream — and one with no message for each
priming event, the cursor a stream starts from. Rows are keyed by a sequence number
(the event id the client sees) and belong to one session's stream: the SDK names
streams by request id, which every session reuses, so the session is part of every
lookup. They are transient: :meth:`prune_stream_events` drops them after the runs'
retention (``run_keep_seconds``).

Its own module, mixed into both stores, so the store classes grow by one base class
and one migration each. On SQLite these statements run as the store's own do (single
autocommitted statements, retried while another program holds the file locked; see
:mod:`agentdeck.store._sqlite_connection`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from agentdeck.store.shared import now

T = TypeVar("T")

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
        self.stream_of = (
            f"SELECT stream_id FROM stream_events WHERE seq = {mark} AND session_id = {mark}"
        )
        self.after = (
            "SELECT seq, message FROM stream_events"
            f" WHERE session_id = {mark} AND stream_id = {mark} AND seq > {mark} ORDER BY seq"
        )


class _StreamEvents:
    """What both stores do alike but for the placeholder (:attr:`_event_queries`)."""

    _event_queries: ClassVar[_EventQueries]

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> Sequence[Any]: ...

    async def stream_of_event(self, session_id: str, seq: int) -> str | None:
        """The stream event ``seq`` of ``session_id`` belongs to; None when it has no such event."""
        rows = await self._rows(self._event_queries.stream_of, (seq, session_id))
        return str(rows[0]["stream_id"]) if rows else None

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

        async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

        def _commit_done(self) -> None: ...

    async def _on_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the store's connection, as every statement of the store runs
        (:class:`~agentdeck.store._sqlite_connection.SqliteConnection`)."""
        return await self._run(work)

    async def add_stream_event(self, session_id: str, stream_id: str, message: str | None) -> int:
        """Keep ``message`` (JSON; None for a priming event); its sequence number."""
        row = (session_id, stream_id, message, now().isoformat())

        def insert(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "INSERT INTO stream_events (session_id, stream_id, message, created_at)"
                " VALUES (?, ?, ?, ?)",
                row,
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        seq = await self._on_connection(insert)
        self._commit_done()
        return seq

    async def prune_stream_events(self, older_than_seconds: float) -> int:
        """Drop the events older than ``older_than_seconds``; how many there were."""
        cutoff = (now() - timedelta(seconds=older_than_seconds)).isoformat()
        dropped = await self._on_connection(
            lambda db: (
                db.execute("DELETE FROM stream_events WHERE created_at < ?", (cutoff,)).rowcount
            )
        )
        self._commit_done()
        return dropped


class PostgresStreamEvents(_StreamEvents):
    """The stream events of :class:`~agentdeck.store.postgres.PostgresStore`."""

    _event_queries = _EventQueries("%s")

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> list[dict[str, Any]]: ...

        async def _write(self, query: Any, params: Any = ()) -> int: ...

    async def add_stream_event(self, session_id: str, stream_id: str, message: str | None) -> int:
        rows = await self._rows(
            "INSERT INTO stream_events (session_id, stream_id, message) VALUES (%s, %s, %s)"
            " RETURNING seq",
            (session_id, stream_id, message),
        )
        return int(rows[0]["seq"])

    async def prune_stream_events(self, older_than_seconds: float) -> int:
        return await self._write(
            "DELETE FROM stream_events WHERE created_at < now() - make_interval(secs => %s)",
            (older_than_seconds,),
        )
