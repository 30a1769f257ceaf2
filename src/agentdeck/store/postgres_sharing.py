"""Runs shared between replicas through PostgreSQL (see :mod:`agentdeck.runs.replicas`): who
drives a run, its state so far for the others to follow, and cancel requests, with a
listening connection of its own for the notifications.

Public, imported on its own (the replicas listen on :data:`CANCEL_CHANNEL`): it loads
the PostgreSQL driver, which the package never does until a PostgreSQL store is opened.
"""

from __future__ import annotations

from typing import Any

import anyio
import psycopg

from agentdeck.errors import DatabaseError
from agentdeck.store.owners import mine
from agentdeck.store.postgres_pool import CONNECT_TIMEOUT, PostgresPool, json_storable, reason

#: Notified with a run id whenever that run's shared state changed.
RUN_CHANNEL = "agentdeck_run"
#: Notified with a run id when someone asked to cancel it.
CANCEL_CHANNEL = "agentdeck_cancel"


class PostgresRunSharing(PostgresPool):
    """The replicas' shared runs of :class:`~agentdeck.store.postgres.PostgresStore`."""

    _url: str

    async def listener(self) -> psycopg.AsyncConnection[Any]:
        """A connection of its own, outside the pool, listening on both run channels.

        Never left half-open: a connect cut off part-way (the server stopping) would leave
        a socket nobody closes, so the connect is shielded (it is bounded by its own
        timeout), and a connection whose LISTEN failed or was cancelled is closed."""
        try:
            with anyio.CancelScope(shield=True):
                connection = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
        except psycopg.Error as exc:
            raise self._failed(exc) from None
        try:
            await connection.execute(f"LISTEN {RUN_CHANNEL}")
            await connection.execute(f"LISTEN {CANCEL_CHANNEL}")
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await connection.close()
            if isinstance(exc, psycopg.Error):
                raise self._failed(exc) from None
            raise
        return connection

    def _failed(self, exc: psycopg.Error) -> DatabaseError:
        return DatabaseError(f"the database {self.location} failed: {reason(exc, self._url)}.")

    async def claim_run(self, run_id: str, replica: str, snapshot: str) -> None:
        """The run (its row written by ``record_run_start``) is driven by ``replica``."""
        await self._write(
            "UPDATE runs SET owner = %s, snapshot = %s::jsonb, updated_at = now()"
            " WHERE id = %s AND status = 'running'",
            (replica, json_storable(snapshot), run_id),
        )

    async def write_progress(self, run_id: str, snapshot: str, *, final: bool = False) -> None:
        """Store the run's result so far (JSON) and tell the replicas following it. Progress
        never overwrites an ended run (a late batch, or a run failed for a lost lease); the
        final snapshot is written once, and only when it is the end the row records (not
        over a failure another replica wrote)."""
        await self._rows(
            "WITH changed AS (UPDATE runs SET snapshot = %(snapshot)s::jsonb, updated_at = now()"
            " WHERE id = %(id)s AND (status = 'running' OR (%(final)s"
            "  AND COALESCE(snapshot->>'status', 'running') = 'running'"
            "  AND status = %(snapshot)s::jsonb->>'status')) RETURNING id)"
            f" SELECT pg_notify('{RUN_CHANNEL}', id) FROM changed",
            {"snapshot": json_storable(snapshot), "id": run_id, "final": final},
        )

    async def shared_run(self, run_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """The run's backend, owner, status and snapshot (None before it was claimed, and
        for a run of another principal than ``owner``)."""
        theirs, param = mine(owner, mark="%s")
        return await self._one(
            "SELECT backend, owner, status, snapshot FROM runs"
            f" WHERE id = %s AND snapshot IS NOT NULL{theirs}",
            (run_id, *param),
        )

    async def request_cancel(self, run_id: str) -> None:
        """Ask the run's owner to cancel it (it listens on the cancel channel)."""
        await self._rows(
            "WITH asked AS (UPDATE runs SET cancel_requested = TRUE"
            " WHERE id = %s AND status = 'running' RETURNING id)"
            f" SELECT pg_notify('{CANCEL_CHANNEL}', id) FROM asked",
            (run_id,),
        )

    async def cancels_requested(self, replica: str) -> list[str]:
        """Running runs of ``replica`` someone asked to cancel (read after a lost listener)."""
        rows = await self._rows(
            "SELECT id FROM runs WHERE owner = %s AND status = 'running' AND cancel_requested",
            (replica,),
        )
        return [row["id"] for row in rows]
