"""The PostgreSQL store: the same data as the SQLite one, in a database that several
agentdeck replicas share.

Connections come from a small pool (psycopg 3, async). Reads run in autocommit; a
write that touches two rows runs in one transaction; each method returns once its
write is committed. Locks, U+0000 and failures: :mod:`agentdeck.store.postgres_pool`.
The schema is versioned in ``schema_version`` and migrated on start under an advisory
lock, so replicas starting together migrate once, in turn.

The ``runs`` table is keyed by run id and written by the replica that drives the
run. Migration 2 adds what replicas share about a run in flight — its owner, a
snapshot of its result so far, a cancel request — and the ``replicas`` table of
leases; :mod:`agentdeck.runs.replicas` drives them, through the methods of
:mod:`agentdeck.store.postgres_sharing`. Every write to a run's shared state sends a
notification on its ``RUN_CHANNEL`` (payload: the run id) at commit; a cancel request
one on its ``CANCEL_CHANNEL``. The run history is :mod:`agentdeck.store._postgres_runs`.
The leases are kept on a connection of their own
(:mod:`agentdeck.store.postgres_leases`).

A public module, imported on its own rather than from :mod:`agentdeck.store`, and only
when the database is PostgreSQL: it loads the PostgreSQL driver, which an install
without the ``postgresql`` extra lacks. So are the other ``postgres_*`` modules.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agentdeck.errors import ConfigError
from agentdeck.store._local_writes import LocalQueries, LocalWrites
from agentdeck.store._platform_keys import POSTGRES_SCHEMA as PLATFORM_KEYS_SCHEMA
from agentdeck.store._platform_keys import PostgresPlatformKeys
from agentdeck.store._postgres_runs import PostgresRunHistory
from agentdeck.store._staged import StagedConversations
from agentdeck.store._stream_events import POSTGRES_SCHEMA, PostgresStreamEvents
from agentdeck.store.owners import POSTGRES_SCHEMA as OWNERS_SCHEMA
from agentdeck.store.owners import mine
from agentdeck.store.postgres_pool import (
    CONNECT_TIMEOUT,
    closed_after,
    lock_timeout,
    reason,
    row_of,
    storable,
)
from agentdeck.store.postgres_sharing import PostgresRunSharing
from agentdeck.store.shared import (
    DEFAULT_WAIT_SECONDS,
    ConversationQuery,
    NewAgent,
    Pruning,
    RunKeeping,
    new_id,
    now,
    redacted,
)

logger = logging.getLogger("agentdeck.store")
#: Every agentdeck replica migrating this database takes this advisory lock first.
_MIGRATION_LOCK = 0x61676E746465636B  # "agntdeck"
_POOL_MAX = 10

#: Migration N brings the schema from version N-1 to N; each runs in one transaction.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE agents (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            instructions TEXT,
            model TEXT,
            options JSONB NOT NULL DEFAULT '{}',
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            title TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX conversations_by_agent ON conversations (agent_id, updated_at)",
        """CREATE TABLE messages (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX messages_by_conversation ON messages (conversation_id, seq)",
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            backend TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            conversation_id TEXT,
            status TEXT NOT NULL,
            message TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            error TEXT,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        )""",
        "CREATE INDEX runs_by_conversation ON runs (backend, conversation_id, started_at)",
    ),
    (
        "ALTER TABLE runs ADD COLUMN owner TEXT, ADD COLUMN updated_at TIMESTAMPTZ,"
        " ADD COLUMN snapshot JSONB, ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE",
        "CREATE INDEX runs_running_by_owner ON runs (owner) WHERE status = 'running'",
        "CREATE TABLE replicas (id TEXT PRIMARY KEY, lease_until TIMESTAMPTZ NOT NULL)",
    ),
    POSTGRES_SCHEMA,
    (
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            run_id TEXT NOT NULL,
            status TEXT NOT NULL,
            result TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX tasks_by_owner ON tasks (owner, created_at)",
    ),
    PLATFORM_KEYS_SCHEMA,
    OWNERS_SCHEMA,
)
#: The columns ``update_agent`` may change; anything else is a programming error.
_AGENT_COLUMNS = frozenset({"name", "description", "instructions", "model", "options"})


class PostgresStore(
    PostgresRunHistory, LocalWrites, PostgresRunSharing, PostgresStreamEvents, PostgresPlatformKeys
):
    """All of agentdeck's persistent state in a PostgreSQL database."""

    _local_queries = LocalQueries("%s", returning=True)

    @staticmethod
    def _json(value: dict[str, Any]) -> Jsonb:
        return Jsonb(value)

    @staticmethod
    def _title(content: str) -> str:
        """Cut once the U+0000 PostgreSQL refuses is out, so that 80 characters stay."""
        title: str = storable(content)
        return title[:80]

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        location: str,
        url: str,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        keeping: RunKeeping | None = None,
    ) -> None:
        super().__init__(pool, location, wait_seconds)
        self._url = url
        self._pruning = Pruning(keeping)
        self._staged = StagedConversations()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        keeping: RunKeeping | None = None,
    ) -> AsyncIterator[PostgresStore]:
        """Connect, migrate the schema, and keep a pool open until exit."""
        location = redacted(url)
        try:
            connection = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, row_factory=dict_row
            )
            async with closed_after(connection):
                await _migrate(connection, location)
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot use the database {location}: {reason(exc, url)}. "
                "Check [server] database in the config and that PostgreSQL is reachable."
            ) from None
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=_POOL_MAX,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=lock_timeout(wait_seconds),
            check=AsyncConnectionPool.check_connection,
            open=False,
            name="agentdeck",
        )
        await pool.open()
        try:
            yield cls(pool, location, url, wait_seconds=wait_seconds, keeping=keeping)
        finally:
            await pool.close()

    # ---- agents ----------------------------------------------------------------------

    async def create_agent(self, agent: NewAgent) -> dict[str, Any]:
        row = await self._one(*self._agent_statement(new_id(), agent))
        assert row is not None
        return row

    async def get_agent(self, agent_id: str, owner: str | None = None) -> dict[str, Any] | None:
        theirs, param = mine(owner, mark="%s")
        return await self._one(f"SELECT * FROM agents WHERE id = %s{theirs}", (agent_id, *param))

    async def list_agents(
        self, *, limit: int, offset: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, param = mine(owner, mark="%s")
        return await self._rows(
            f"SELECT * FROM agents WHERE TRUE{theirs} ORDER BY created_at, id LIMIT %s OFFSET %s",
            (*param, limit, offset),
        )

    async def update_agent(
        self, agent_id: str, changes: dict[str, Any], owner: str | None = None
    ) -> dict[str, Any] | None:
        if not changes:
            return await self.get_agent(agent_id, owner)
        unknown = set(changes) - _AGENT_COLUMNS
        if unknown:
            raise ValueError(f"not agent columns: {sorted(unknown)}")
        values = {k: Jsonb(v) if k == "options" else v for k, v in changes.items()}
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
            for column in values
        )
        theirs, _ = mine(owner, mark="%(owner)s")
        query = sql.SQL(
            "UPDATE agents SET {}, updated_at = %(stamp)s WHERE id = %(id)s"
            + theirs
            + " RETURNING *"
        ).format(assignments)
        return await self._one(query, {**values, "stamp": now(), "id": agent_id, "owner": owner})

    async def delete_agent(self, agent_id: str, owner: str | None = None) -> bool:
        theirs, param = mine(owner, mark="%s")
        return (
            await self._write(f"DELETE FROM agents WHERE id = %s{theirs}", (agent_id, *param)) > 0
        )

    # ---- conversations (the local backend's own) -------------------------------------

    async def get_conversation(
        self, conversation_id: str, owner: str | None = None
    ) -> dict[str, Any] | None:
        theirs, param = mine(owner, "c.principal", "%s")
        return await self._one(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            f" AS message_count FROM conversations c WHERE c.id = %s{theirs}",
            (conversation_id, *param),
        )

    async def list_conversations(self, query: ConversationQuery) -> list[dict[str, Any]]:
        theirs, _ = mine(query.owner, "c.principal", "%(owner)s")
        return await self._rows(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c"
            f" WHERE (%(agent)s::text IS NULL OR c.agent_id = %(agent)s){theirs}"
            " ORDER BY c.updated_at DESC, c.id LIMIT %(limit)s OFFSET %(offset)s",
            {
                "agent": query.agent_id,
                "limit": query.limit,
                "offset": query.offset,
                "owner": query.owner,
            },
        )

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = %s"
            " ORDER BY seq",
            (conversation_id,),
        )

    async def recent_messages(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = %s"
            " ORDER BY seq DESC LIMIT %s",
            (conversation_id, limit),
        )
        return rows[::-1]

    async def conversation_agent(
        self, conversation_id: str, owner: str | None = None
    ) -> str | None:
        theirs, param = mine(owner, mark="%s")
        row = await self._one(
            f"SELECT agent_id FROM conversations WHERE id = %s{theirs}", (conversation_id, *param)
        )
        return row["agent_id"] if row else None

    # ---- tasks (MCP tasks over runs) -------------------------------------------------

    async def create_task(
        self, *, task_id: str, owner: str, run_id: str, ttl_seconds: float
    ) -> dict[str, Any]:
        async with self._connection() as connection, connection.transaction():
            await connection.execute("DELETE FROM tasks WHERE expires_at <= now()")
            cursor = await connection.execute(
                "INSERT INTO tasks VALUES (%s, %s, %s, 'working', NULL, now(), now(),"
                " now() + make_interval(secs => %s)) RETURNING *",
                storable((task_id, owner, run_id, ttl_seconds)),
            )
            row = await cursor.fetchone()
        assert row is not None
        return row_of(row)

    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        return await self._one(
            "SELECT * FROM tasks WHERE id = %s AND expires_at > now()", (task_id,)
        )

    async def finish_task(self, task_id: str, *, status: str, result: str) -> bool:
        return (
            await self._write(
                "UPDATE tasks SET status = %s, result = %s, updated_at = now()"
                " WHERE id = %s AND status = 'working'",
                (status, result, task_id),
            )
            > 0
        )

    async def list_tasks(self, owner: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT * FROM tasks WHERE owner = %s AND expires_at > now()"
            " ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
            (owner, limit, offset),
        )


async def _migrate(connection: psycopg.AsyncConnection[Any], location: str) -> None:
    """Bring the schema to the newest version, one replica at a time."""
    await connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        cursor = await connection.execute("SELECT MAX(version) AS version FROM schema_version")
        found = await cursor.fetchone()
        current = (found or {}).get("version") or 0
        if current > len(_MIGRATIONS):
            raise ConfigError(
                f"the database {location} has schema version {current}, newer than this "
                f"agentdeck knows ({len(_MIGRATIONS)}). Upgrade agentdeck on every replica."
            )
        for version, statements in enumerate(_MIGRATIONS[current:], start=current + 1):
            async with connection.transaction():
                for statement in statements:
                    await connection.execute(statement)
                await connection.execute("INSERT INTO schema_version VALUES (%s)", (version,))
    finally:
        await connection.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
