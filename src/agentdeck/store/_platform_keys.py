"""The platform keys users connect to per-user backends, and the one-time states of the
page where they connect them (:mod:`agentdeck.credentials` seals and opens the keys).

A key row holds only the sealed key (AES-GCM, bound to its owner and backend); this
module never sees a plaintext key. A state row is keyed by a digest of the state, so
the database never holds a state that could be used; it is taken (read and deleted in
one statement) when the page's form is sent, so it works once.

Its own module, mixed into both stores, so the store classes grow by one base class
and one migration each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from agentdeck.store.shared import now

T = TypeVar("T")

#: The tables, the same in both stores but for the time type.
SQLITE_SCHEMA = """
CREATE TABLE platform_keys (
    owner TEXT NOT NULL,
    backend TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, backend)
);
CREATE TABLE connect_states (
    digest TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    backend TEXT NOT NULL,
    expires_at TEXT NOT NULL
)
"""
POSTGRES_SCHEMA = (
    """CREATE TABLE platform_keys (
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        sealed TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (owner, backend)
    )""",
    """CREATE TABLE connect_states (
        digest TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
)


class _KeyQueries:
    """Reading and forgetting a key, with a driver's placeholder (``?`` or ``%s``)."""

    def __init__(self, mark: str) -> None:
        self.read = f"SELECT sealed FROM platform_keys WHERE owner = {mark} AND backend = {mark}"
        self.forget = f"DELETE FROM platform_keys WHERE owner = {mark} AND backend = {mark}"


class _PlatformKeys:
    """What both stores do alike but for the placeholder (:attr:`_key_queries`)."""

    _key_queries: ClassVar[_KeyQueries]

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> Sequence[Any]: ...

        async def _commit(self, *statements: tuple[Any, Any]) -> int: ...

    async def platform_key(self, owner: str, backend: str) -> str | None:
        """The sealed key ``owner`` connected to ``backend``; None when there is none."""
        rows = await self._rows(self._key_queries.read, (owner, backend))
        return str(rows[0]["sealed"]) if rows else None

    async def forget_platform_key(self, owner: str, backend: str) -> bool:
        return await self._commit((self._key_queries.forget, (owner, backend))) > 0


class SqlitePlatformKeys(_PlatformKeys):
    """The platform keys of :class:`~agentdeck.store.sqlite.SqliteStore`, through its
    connection's statements (:class:`~agentdeck.store._sqlite_connection.SqliteConnection`)."""

    _key_queries = _KeyQueries("?")

    if TYPE_CHECKING:

        async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

        async def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]: ...

        async def _write(self, *statements: tuple[str, tuple[Any, ...]]) -> int: ...

        def _commit_done(self) -> None: ...

    async def save_platform_key(self, owner: str, backend: str, sealed: str) -> None:
        await self._write(
            (
                "INSERT INTO platform_keys (owner, backend, sealed, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (owner, backend) DO UPDATE SET"
                " sealed = excluded.sealed, created_at = excluded.created_at",
                (owner, backend, sealed, now().isoformat()),
            )
        )

    async def add_connect_state(
        self, digest: str, owner: str, backend: str, expires_at: datetime
    ) -> None:
        """Keep a state until ``expires_at``; the expired ones go now."""
        await self._write(
            (
                "INSERT INTO connect_states (digest, owner, backend, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (digest, owner, backend, expires_at.isoformat()),
            ),
            ("DELETE FROM connect_states WHERE expires_at < ?", (now().isoformat(),)),
        )

    async def connect_state(self, digest: str, *, take: bool) -> dict[str, Any] | None:
        """The unexpired state ``digest`` names (``owner``, ``backend``); ``take``: deleted
        in the same statement, so two form posts cannot both have it."""
        params = (digest, now().isoformat())
        if not take:
            rows = await self._rows(
                "SELECT owner, backend FROM connect_states WHERE digest = ? AND expires_at >= ?",
                params,
            )
            return dict(rows[0]) if rows else None
        taken = await self._run(
            lambda db: db.execute(
                "DELETE FROM connect_states WHERE digest = ? AND expires_at >= ?"
                " RETURNING owner, backend",
                params,
            ).fetchall()
        )
        self._commit_done()
        return dict(taken[0]) if taken else None


class PostgresPlatformKeys(_PlatformKeys):
    """The platform keys of :class:`~agentdeck.store.postgres.PostgresStore`."""

    _key_queries = _KeyQueries("%s")

    if TYPE_CHECKING:

        async def _rows(self, query: Any, params: Any = ()) -> list[dict[str, Any]]: ...

        async def _write(self, query: Any, params: Any = ()) -> int: ...

    async def save_platform_key(self, owner: str, backend: str, sealed: str) -> None:
        await self._write(
            "INSERT INTO platform_keys (owner, backend, sealed) VALUES (%s, %s, %s)"
            " ON CONFLICT (owner, backend) DO UPDATE SET sealed = excluded.sealed,"
            " created_at = now()",
            (owner, backend, sealed),
        )

    async def add_connect_state(
        self, digest: str, owner: str, backend: str, expires_at: datetime
    ) -> None:
        await self._write("DELETE FROM connect_states WHERE expires_at < now()")
        await self._write(
            "INSERT INTO connect_states (digest, owner, backend, expires_at)"
            " VALUES (%s, %s, %s, %s)",
            (digest, owner, backend, expires_at),
        )

    async def connect_state(self, digest: str, *, take: bool) -> dict[str, Any] | None:
        if take:
            query = (
                "DELETE FROM connect_states WHERE digest = %s AND expires_at >= now()"
                " RETURNING owner, backend"
            )
        else:
            query = (
                "SELECT owner, backend FROM connect_states WHERE digest = %s"
                " AND expires_at >= now()"
            )
        rows = await self._rows(query, (digest,))
        return rows[0] if rows else None
