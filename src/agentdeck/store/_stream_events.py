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
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

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


class SqliteStreamEvents:
    """The stream events of :class:`~agentdeck.store.sqlite.SqliteStore`."""

    if TYPE_CHECKING:

        async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

        def _commit_done(self) -> None: ...

    async def _on_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the store's connection, as every statement of the store runs
        (:class:`~agentdeck.store._sqlite_connection.SqliteConnection`): every statement
        of this class runs through here."""
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

    async def stream_of_event(self, session_id: str, seq: int) -> str | None:
        """The stream event ``seq`` of ``session_id`` belongs to; None when it has no such event."""
        rows = await self._select(
            "SELECT stream_id FROM stream_events WHERE seq = ? AND session_id = ?",
            (seq, session_id),
        )
        return str(rows[0]["stream_id"]) if rows else None

    async def stream_events_after(
        self, session_id: str, stream_id: str, seq: int
    ) -> list[dict[str, Any]]:
        """The events of the stream after ``seq``, oldest first: ``seq`` and ``message``."""
        return await self._select(
            "SELECT seq, message FROM stream_events"
            " WHERE session_id = ? AND stream_id = ? AND seq > ? ORDER BY seq",
            (session_id, stream_id, seq),
        )

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

    async def _select(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        return await self._on_connection(
            lambda db: [dict(row) for row in db.execute(query, params).fetchall()]
        )


class PostgresStreamEvents:
    """The stream events of :class:`~agentdeck.store.postgres.PostgresStore`."""

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

    async def stream_of_event(self, session_id: str, seq: int) -> str | None:
        rows = await self._rows(
            "SELECT stream_id FROM stream_events WHERE seq = %s AND session_id = %s",
            (seq, session_id),
        )
        return str(rows[0]["stream_id"]) if rows else None

    async def stream_events_after(
        self, session_id: str, stream_id: str, seq: int
    ) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT seq, message FROM stream_events"
            " WHERE session_id = %s AND stream_id = %s AND seq > %s ORDER BY seq",
            (session_id, stream_id, seq),
        )

    async def prune_stream_events(self, older_than_seconds: float) -> int:
        return await self._write(
            "DELETE FROM stream_events WHERE created_at < now() - make_interval(secs => %s)",
            (older_than_seconds,),
        )
