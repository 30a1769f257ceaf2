"""The SQLite store's run history: every backend's runs, written as they start and end,
pruned as :class:`~agentdeck.store.shared.RunKeeping` says, grouped into conversations
for the platforms without a conversation API; and the leases of the processes sharing
the file (see :mod:`agentdeck.store.sqlite`)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any

from agentdeck.errors import DatabaseError
from agentdeck.store._run_writes import RunQueries, RunWrites
from agentdeck.store._sqlite_connection import SqliteConnection
from agentdeck.store._staged import Statement
from agentdeck.store.owners import mine
from agentdeck.store.shared import ConversationQuery, iso_now, now

logger = logging.getLogger("agentdeck.store")


class SqliteRunHistory(SqliteConnection, RunWrites):
    """The run history of :class:`~agentdeck.store.sqlite.SqliteStore`."""

    _run_queries = RunQueries("?")

    @staticmethod
    def _time(moment: datetime) -> str:
        return moment.isoformat()

    async def _commit(self, *statements: Statement) -> int:
        return await self._write(*statements)

    async def _prune_runs(self) -> None:
        """Forget finished runs as :class:`RunKeeping` says. A locked database skips a
        pruning (the next one catches up) rather than wait."""
        keeping = self._pruning.keeping
        assert keeping is not None
        own = sorted(keeping.conversation_api)
        cutoff = (now() - keeping.age).isoformat()
        try:
            await self._write(
                (
                    "DELETE FROM runs WHERE status <> 'running' AND (finished_at < ? OR id NOT IN"
                    " (SELECT id FROM runs WHERE status <> 'running'"
                    "  ORDER BY finished_at DESC, id DESC LIMIT ?))"
                    " AND (conversation_id IS NULL"
                    f" OR backend IN ({', '.join('?' * len(own))}))",
                    (cutoff, keeping.count, *own),
                ),
                wait_seconds=0,
            )
        except DatabaseError as exc:
            logger.warning("pruning the run history failed: %s", exc)
        self._pruning.done()

    async def fail_unfinished_runs(self, error: str) -> int:
        """Mark the runs a stopped process left ``running`` as failed with ``error``; how
        many there were.

        Called when a server starts: a ``running`` row whose owner holds no lease (it gave
        it back, or wrote no owner) is one a previous process left behind. The runs of
        other processes sharing the file hold a lease: those that stopped are failed once
        their lease runs out (:mod:`agentdeck.runs._leases`), live ones are left alone.
        """
        return await self._write(
            (
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
                " WHERE status = 'running'"
                " AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))",
                (error, iso_now()),
            )
        )

    async def renew_lease(self, replica: str, seconds: float) -> None:
        await self._write(
            (
                "INSERT INTO replicas VALUES (?, julianday('now') + ? / 86400.0)"
                " ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
                (replica, seconds),
            )
        )

    async def drop_lease(self, replica: str) -> None:
        await self._write(("DELETE FROM replicas WHERE id = ?", (replica,)))

    async def fail_runs_of_expired_replicas(self, error: str) -> list[str]:
        def fail(db: sqlite3.Connection) -> list[str]:
            db.execute("BEGIN IMMEDIATE")  # locked: fails here, before anything is written
            try:
                failed = db.execute(
                    "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
                    " WHERE status = 'running' AND owner IS NOT NULL AND owner NOT IN"
                    " (SELECT id FROM replicas WHERE lease_until >= julianday('now'))"
                    " RETURNING id",
                    (error, iso_now()),
                ).fetchall()
                db.execute("DELETE FROM replicas WHERE lease_until < julianday('now')")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return [row[0] for row in failed]

        failed = await self._run(fail)
        self._commit_done()
        return failed

    async def history_conversations(
        self, backend: str, query: ConversationQuery
    ) -> list[dict[str, Any]]:
        """Conversations of ``backend`` as seen through agentdeck's runs, newest first."""
        theirs, param = mine(query.owner)
        first_theirs, _ = mine(query.owner, "first.principal")
        rows = await self._rows(
            "SELECT conversation_id AS id, agent_id,"
            " (SELECT first.message FROM runs first WHERE first.backend = runs.backend"
            f"  AND first.conversation_id = runs.conversation_id{first_theirs}"
            "  ORDER BY first.started_at LIMIT 1) AS title,"
            " MIN(started_at) AS created_at, MAX(started_at) AS updated_at,"
            " COUNT(*) AS runs FROM runs"
            " WHERE backend = ? AND conversation_id IS NOT NULL AND (? IS NULL OR agent_id = ?)"
            f"{theirs} GROUP BY conversation_id ORDER BY updated_at DESC LIMIT ? OFFSET ?",
            (*param, backend, query.agent_id, query.agent_id, *param, query.limit, query.offset),
        )
        return [dict(row) for row in rows]

    async def history_runs(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, param = mine(owner)
        rows = await self._rows(
            f"SELECT * FROM runs WHERE backend = ? AND conversation_id = ?{theirs}"
            " ORDER BY started_at, id",
            (backend, conversation_id, *param),
        )
        return [dict(row) for row in rows]

    async def history_agent(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> str | None:
        theirs, param = mine(owner)
        row = await self._one(
            f"SELECT agent_id FROM runs WHERE backend = ? AND conversation_id = ?{theirs}"
            " ORDER BY started_at, id LIMIT 1",
            (backend, conversation_id, *param),
        )
        return str(row["agent_id"]) if row else None
