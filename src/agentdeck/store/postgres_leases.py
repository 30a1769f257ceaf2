"""The leases of replicas sharing a PostgreSQL database (:mod:`agentdeck.runs._leases`).

They are kept on a connection of their own, outside the store's pool: over an outage
the pool reconnects with a backoff that grows to many seconds, and a replica must
renew within a third of its lease of the database coming back, or the others would
take it for stopped. This connection is reopened at the next call after any failure.
Every time here is the database's ``now()``.

Public, imported on its own by the server when the database is PostgreSQL: it loads the
PostgreSQL driver, which the package never does until then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
from psycopg.rows import dict_row

from agentdeck.errors import DatabaseError
from agentdeck.store.postgres_pool import CONNECT_TIMEOUT, reason
from agentdeck.store.postgres_sharing import RUN_CHANNEL
from agentdeck.store.shared import redacted


class PostgresLeases:
    """The ``replicas`` table, on a connection of its own."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._location = redacted(url)
        self._connection: psycopg.AsyncConnection[dict[str, Any]] | None = None
        self._connecting = anyio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[PostgresLeases]:
        leases = cls(url)
        try:
            yield leases
        finally:
            await leases._drop_connection()

    async def renew_lease(self, replica: str, seconds: float) -> None:
        """``replica`` is alive for ``seconds`` more."""
        await self._rows(
            "INSERT INTO replicas VALUES (%(id)s, now() + make_interval(secs => %(secs)s))"
            " ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
            {"id": replica, "secs": seconds},
        )

    async def drop_lease(self, replica: str) -> None:
        await self._rows("DELETE FROM replicas WHERE id = %(id)s", {"id": replica})

    async def fail_runs_of_expired_replicas(self, error: str) -> list[str]:
        """Fail the running runs whose owner holds no live lease (it ran out, or the owner
        gave it back with a run's end still unwritten), forget expired leases, tell the
        replicas following those runs; return the failed runs' ids."""
        rows = await self._rows(
            "WITH expired AS (DELETE FROM replicas WHERE lease_until < now()),"
            " failed AS (UPDATE runs SET status = 'failed', error = %(error)s,"
            "  finished_at = now(), updated_at = now(),"
            "  snapshot = COALESCE(snapshot, '{}') || jsonb_build_object("
            "   'status', 'failed', 'error', %(error)s::text, 'finished_at', now(),"
            "   'pending_approvals', '[]'::jsonb, 'pending_questions', '[]'::jsonb)"
            "  WHERE status = 'running' AND owner IS NOT NULL AND owner NOT IN"
            "   (SELECT id FROM replicas WHERE lease_until >= now()) RETURNING id)"
            f" SELECT id, pg_notify('{RUN_CHANNEL}', id) FROM failed",
            {"error": error},
        )
        return [row["id"] for row in rows]

    async def _rows(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            connection = await self._connected()
            cursor = await connection.execute(query, params)
            return await cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            await self._drop_connection()
            raise DatabaseError(
                f"the database {self._location} failed: {reason(exc, self._url)}."
            ) from None
        except BaseException:  # cancelled mid-query: the connection's state is unknown
            await self._drop_connection()
            raise

    async def _connected(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        """The lease connection, opened if there is none.

        One caller at a time: two calls at once (a renewal, and the lease given back at
        exit) would each open one, and the first would be left to the garbage collector.
        Shielded (bounded by its own timeout): a connect cut off part-way would leave a
        socket nobody closes."""
        with anyio.CancelScope(shield=True):
            async with self._connecting:
                connection = self._connection
                if connection is None or connection.closed:
                    connection = await psycopg.AsyncConnection.connect(
                        self._url,
                        autocommit=True,
                        connect_timeout=CONNECT_TIMEOUT,
                        row_factory=dict_row,
                    )
                    self._connection = connection
        assert connection is not None  # a shielded scope is never cancelled
        return connection

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with anyio.CancelScope(shield=True):
                await connection.close()
