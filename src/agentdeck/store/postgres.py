"""The PostgreSQL store: the same data as the SQLite one, in a database that several
agentdeck replicas share.

Connections come from a small pool (psycopg 3, async). Reads run in autocommit; a
write that touches two rows runs in one transaction; each method returns once its
write is committed. Locks, U+0000 and failures: :mod:`agentdeck.store.postgres_pool`. The schema is versioned in ``schema_version`` and migrated on
start under an advisory lock, so replicas starting together migrate once, in turn.

The ``runs`` table is keyed by run id and written by the replica that drives the
run. Migration 2 adds what replicas share about a run in flight — its owner, a
snapshot of its result so far, a cancel request — and the ``replicas`` table of
leases; :mod:`agentdeck.replicas` drives them, through the methods at the end of
:class:`PostgresStore`. Every write to a run's shared state sends a notification
on :data:`RUN_CHANNEL` (payload: the run id) at commit; a cancel request one on
:data:`CANCEL_CHANNEL`. The leases are kept on a connection of their own
(:mod:`agentdeck.store.postgres_leases`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agentdeck.errors import ConfigError, DatabaseError
from agentdeck.store.owners import POSTGRES_SCHEMA as OWNERS_SCHEMA
from agentdeck.store.owners import mine
from agentdeck.store.platform_keys import POSTGRES_SCHEMA as PLATFORM_KEYS_SCHEMA
from agentdeck.store.platform_keys import PostgresPlatformKeys
from agentdeck.store.postgres_pool import (
    PostgresPool,
    closed_after,
    json_storable,
    lock_timeout,
    reason,
    row_of,
    storable,
)
from agentdeck.store.shared import (
    DEFAULT_WAIT_SECONDS,
    END_OVER_START,
    Pruning,
    RunKeeping,
    RunStart,
    new_id,
    now,
    redacted,
)
from agentdeck.store.stream_events import POSTGRES_SCHEMA, PostgresStreamEvents

logger = logging.getLogger("agentdeck.store")
#: Every agentdeck replica migrating this database takes this advisory lock first.
_MIGRATION_LOCK = 0x61676E746465636B  # "agntdeck"
_CONNECT_TIMEOUT = 10
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
#: Notified with a run id whenever that run's shared state changed.
RUN_CHANNEL = "agentdeck_run"
#: Notified with a run id when someone asked to cancel it.
CANCEL_CHANNEL = "agentdeck_cancel"
#: The run-history columns (the shared-state columns stay out of history rows).
_HISTORY_COLUMNS = (
    "id, backend, agent_id, conversation_id, status, message, text, error, started_at, finished_at"
)
#: The columns ``update_agent`` may change; anything else is a programming error.
_AGENT_COLUMNS = frozenset({"name", "description", "instructions", "model", "options"})


class PostgresStore(PostgresPool, PostgresStreamEvents, PostgresPlatformKeys):
    """All of agentdeck's persistent state in a PostgreSQL database."""

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
                url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT, row_factory=dict_row
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

    async def create_agent(
        self,
        *,
        name: str,
        description: str | None,
        instructions: str | None,
        model: str | None,
        options: dict[str, Any],
        owner: str | None = None,
    ) -> dict[str, Any]:
        stamp = now()
        row = await self._one(
            "INSERT INTO agents (id, name, description, instructions, model, options,"
            " created_at, updated_at, principal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING *",
            (new_id(), name, description, instructions, model, Jsonb(options), stamp, stamp, owner),
        )
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

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, offset: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, _ = mine(owner, "c.principal", "%(owner)s")
        return await self._rows(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c"
            f" WHERE (%(agent)s::text IS NULL OR c.agent_id = %(agent)s){theirs}"
            " ORDER BY c.updated_at DESC, c.id LIMIT %(limit)s OFFSET %(offset)s",
            {"agent": agent_id, "limit": limit, "offset": offset, "owner": owner},
        )

    async def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        new_for: str | None = None,
        owner: str | None = None,
    ) -> None:
        stamp, content = now(), storable(content)
        async with self._connection() as connection, connection.transaction():
            if new_for is not None:
                await connection.execute(
                    "INSERT INTO conversations (id, agent_id, title, created_at, updated_at,"
                    " principal) VALUES (%s, %s, %s, %s, %s, %s)",
                    (conversation_id, new_for, content[:80], stamp, stamp, owner),
                )
            else:
                await connection.execute(
                    "UPDATE conversations SET updated_at = %s WHERE id = %s",
                    (stamp, conversation_id),
                )
            await connection.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at)"
                " VALUES (%s, %s, %s, %s)",
                (conversation_id, role, content, stamp),
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

    # ---- run history (every backend) -------------------------------------------------

    async def record_run_start(
        self,
        *,
        run_id: str,
        backend: str,
        agent_id: str,
        conversation_id: str | None,
        message: str,
        owner: str | None = None,
        principal: str | None = None,
        started_at: datetime | None = None,
    ) -> None:
        await self._write(
            "INSERT INTO runs (id, backend, agent_id, conversation_id, status, message,"
            " started_at, owner, principal) VALUES (%s, %s, %s, %s, 'running', %s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            (
                run_id,
                backend,
                agent_id,
                conversation_id,
                message,
                started_at or now(),
                owner,
                principal,
            ),
        )

    async def record_run_end(
        self,
        run_id: str,
        *,
        status: str,
        text: str,
        error: str | None,
        conversation_id: str | None,
        start: RunStart | None = None,
    ) -> bool:
        ended = (status, text, error, now())
        if start is None:
            written = await self._write(
                "UPDATE runs SET status = %s, text = %s, error = %s, finished_at = %s,"
                " conversation_id = COALESCE(%s, conversation_id)"
                " WHERE id = %s AND status = 'running'",
                (*ended, conversation_id, run_id),
            )
        else:
            written = await self._write(
                "INSERT INTO runs (status, text, error, finished_at, conversation_id, id,"
                " backend, agent_id, message, started_at, owner, principal)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT (id) DO UPDATE SET {END_OVER_START}"
                " WHERE runs.status = 'running'",
                (
                    *ended,
                    conversation_id or start["conversation_id"],
                    run_id,
                    start["backend"],
                    start["agent_id"],
                    start["message"],
                    start["started_at"],
                    start["owner"],
                    start["principal"],
                ),
            )
        if self._pruning.ended():
            await self._prune_runs()
        return written > 0

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
        self,
        backend: str,
        *,
        agent_id: str | None,
        limit: int,
        offset: int,
        owner: str | None = None,
    ) -> list[dict[str, Any]]:
        theirs, _ = mine(owner, mark="%(owner)s")
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
                "agent": agent_id,
                "limit": limit,
                "offset": offset,
                "owner": owner,
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

    # ---- runs shared between replicas (see agentdeck.replicas) -----------------------

    async def listener(self) -> psycopg.AsyncConnection[Any]:
        """A connection of its own, outside the pool, listening on both run channels.

        Never left half-open: a connect cut off part-way (the server stopping) would leave
        a socket nobody closes, so the connect is shielded (it is bounded by its own
        timeout), and a connection whose LISTEN failed or was cancelled is closed."""
        try:
            with anyio.CancelScope(shield=True):
                connection = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT
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
