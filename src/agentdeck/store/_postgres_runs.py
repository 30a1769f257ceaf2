"""The PostgreSQL store's run history: every backend's runs, written as they start and
end, pruned as :class:`~agentdeck.store.shared.RunKeeping` says, and grouped into
conversations for the platforms without a conversation API (see
:mod:`agentdeck.store.postgres`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from agentdeck.errors import DatabaseError
from agentdeck.store._run_writes import RunQueries, RunWrites
from agentdeck.store.owners import mine
from agentdeck.store.postgres_pool import PostgresPool
from agentdeck.store.shared import ConversationQuery

logger = logging.getLogger("agentdeck.store")
#: The run-history columns (the shared-state columns stay out of history rows).
_HISTORY_COLUMNS = (
    "id, backend, agent_id, conversation_id, status, message, text, error, started_at, finished_at"
)


class PostgresRunHistory(PostgresPool, RunWrites):
    """The run history of :class:`~agentdeck.store.postgres.PostgresStore`."""

    _run_queries = RunQueries("%s")

    @staticmethod
    def _time(moment: datetime) -> datetime:
        return moment

    async def _prune_runs(self) -> None:
        """Forget finished runs as :class:`RunKeeping` says (a transcript's runs lose only
        their snapshot). Every replica prunes; a failure is logged, the next catches up."""
        keeping = self._pruning.keeping
        assert keeping is not None
        old = (
            "SELECT id FROM runs WHERE status <> 'running'"
            " AND (finished_at < now() - make_interval(secs => %(seconds)s) OR id NOT IN"
            "  (SELECT id FROM runs WHERE status <> 'running'"
            "   ORDER BY finished_at DESC, id DESC LIMIT %(count)s))"
        )
        prunable = "conversation_id IS NULL OR backend = ANY(%(own)s::text[])"
        params = {
            "seconds": keeping.seconds,
            "count": keeping.count,
            "own": sorted(keeping.conversation_api),
        }
        try:
            async with self._connection() as connection, connection.transaction():
                await connection.execute("SET LOCAL lock_timeout = '100ms'")  # skip, not wait
                await connection.execute(
                    f"DELETE FROM runs WHERE id IN ({old}) AND ({prunable})", params
                )
                await connection.execute(
                    f"UPDATE runs SET snapshot = NULL WHERE id IN ({old}) AND snapshot IS NOT NULL",
                    params,
                )
        except DatabaseError as exc:
            logger.warning("pruning the run history failed: %s", exc)
        self._pruning.done()

    async def fail_unfinished_runs(self, error: str) -> int:
        """Nothing to do at start: replicas share this database, so a ``running`` row may
        belong to a live replica; runs of a replica that stopped are failed when its lease
        expires instead."""
        return 0

    async def history_conversations(
        self, backend: str, query: ConversationQuery
    ) -> list[dict[str, Any]]:
        theirs, _ = mine(query.owner, mark="%(owner)s")
        return await self._rows(
            "SELECT conversation_id AS id,"
            " (array_agg(agent_id ORDER BY started_at, id))[1] AS agent_id,"
            " (array_agg(message ORDER BY started_at, id))[1] AS title,"
            " MIN(started_at) AS created_at, MAX(started_at) AS updated_at,"
            " COUNT(*) AS runs FROM runs"
            " WHERE backend = %(backend)s AND conversation_id IS NOT NULL"
            f" AND (%(agent)s::text IS NULL OR agent_id = %(agent)s){theirs}"
            " GROUP BY conversation_id ORDER BY updated_at DESC, id"
            " LIMIT %(limit)s OFFSET %(offset)s",
            {
                "backend": backend,
                "agent": query.agent_id,
                "limit": query.limit,
                "offset": query.offset,
                "owner": query.owner,
            },
        )

    async def history_runs(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, param = mine(owner, mark="%s")
        return await self._rows(
            f"SELECT {_HISTORY_COLUMNS} FROM runs WHERE backend = %s AND conversation_id = %s"
            f"{theirs} ORDER BY started_at, id",
            (backend, conversation_id, *param),
        )

    async def history_agent(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> str | None:
        theirs, param = mine(owner, mark="%s")
        row = await self._one(
            "SELECT agent_id FROM runs WHERE backend = %s AND conversation_id = %s"
            f"{theirs} ORDER BY started_at, id LIMIT 1",
            (backend, conversation_id, *param),
        )
        return str(row["agent_id"]) if row else None
