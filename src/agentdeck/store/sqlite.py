"""The SQLite store: the local backend's agents, conversations and messages, and the
run history of every backend, in one file on one machine.

One file (WAL mode) under the user's data directory, or ``:memory:`` for tests.
Every write is committed before the method returns, so whatever a tool answered
survives a killed process; the rows of one step (a message and its conversation's
time) go in one transaction.

No call waits on the event loop: see :mod:`agentdeck.store._sqlite_connection`.

The run history (:mod:`agentdeck.store._sqlite_runs`) is what lets
``list_conversations`` and the transcript resource work for platforms that have no
conversation API of their own (Make).

Public, imported on its own like :mod:`agentdeck.store.postgres`: the package loads only
the store the configuration names (:func:`~agentdeck.store.open_store`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentdeck.errors import ConfigError
from agentdeck.store._local_writes import LocalQueries, LocalWrites
from agentdeck.store._platform_keys import SQLITE_SCHEMA as PLATFORM_KEYS_SCHEMA
from agentdeck.store._platform_keys import SqlitePlatformKeys
from agentdeck.store._sqlite_runs import SqliteRunHistory
from agentdeck.store._staged import StagedConversations
from agentdeck.store._stream_events import SQLITE_SCHEMA, SqliteStreamEvents
from agentdeck.store.owners import SQLITE_SCHEMA as OWNERS_SCHEMA
from agentdeck.store.owners import mine
from agentdeck.store.shared import (
    DEFAULT_WAIT_SECONDS,
    ConversationQuery,
    NewAgent,
    Pruning,
    RunKeeping,
    iso_now,
    new_id,
    now,
)

logger = logging.getLogger("agentdeck.store")

#: Migration N brings the schema from version N-1 to N. Version 1 is the schema from
#: before versioning, hence ``IF NOT EXISTS``: a file from then is adopted as it is.
_MIGRATIONS = (
    """
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    instructions TEXT,
    model TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    title TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_agent ON conversations (agent_id, updated_at);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, seq);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    conversation_id TEXT,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_conversation ON runs (backend, conversation_id, started_at);
""",
    SQLITE_SCHEMA,
    # which process drives a run, and the leases of the processes sharing the file
    # (agentdeck.runs._leases); ``lease_until`` is a Julian day on SQLite's clock
    """
ALTER TABLE runs ADD COLUMN owner TEXT;
CREATE TABLE replicas (id TEXT PRIMARY KEY, lease_until REAL NOT NULL);
""",
    """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX tasks_by_owner ON tasks (owner, created_at);
""",
    PLATFORM_KEYS_SCHEMA,
    OWNERS_SCHEMA,
)


#: agents' rows kept at most (``get_agent``); past it they are read again
_AGENTS_KEPT = 1000


class SqliteStore(SqliteRunHistory, LocalWrites, SqliteStreamEvents, SqlitePlatformKeys):
    """All of agentdeck's persistent state in one SQLite file."""

    _local_queries = LocalQueries("?")

    @staticmethod
    def _json(value: dict[str, Any]) -> str:
        return json.dumps(value)

    @staticmethod
    def _title(content: str) -> str:
        return content[:80]

    def __init__(
        self,
        database: str,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        keeping: RunKeeping | None = None,
    ) -> None:
        path = database if database == ":memory:" else str(Path(database).expanduser())
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the folder of the local database {path}: {exc.strerror}."
                ) from None
        self._pruning = Pruning(keeping)
        self._staged = StagedConversations()
        #: the agents' rows read so far, by (id, owner), as of ``data_version`` below
        self._agents: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._agents_version = -1
        try:
            super().__init__(path, database, wait_seconds)
            self._migrate()
            self._serve()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the local database {path}: {exc}.") from None

    def _migrate(self) -> None:
        """Bring the schema to the newest version; ``BEGIN IMMEDIATE`` keeps a second
        process opening the same file from migrating at the same time."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            current = current or 0
            if current > len(_MIGRATIONS):
                raise ConfigError(
                    f"the local database {self.location} has schema version {current}, newer "
                    f"than this agentdeck knows ({len(_MIGRATIONS)}). Upgrade agentdeck."
                )
            for version, script in enumerate(_MIGRATIONS[current:], start=current + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute("INSERT INTO schema_version VALUES (?)", (version,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def ping(self) -> None:
        await self._rows("SELECT 1")

    # ---- agents ----------------------------------------------------------------------

    async def create_agent(self, agent: NewAgent) -> dict[str, Any]:
        agent_id = new_id()
        await self._write(self._agent_statement(agent_id, agent))
        created = await self.get_agent(agent_id)
        assert created is not None  # written just above, and nothing ran in between
        return created

    async def get_agent(self, agent_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """The agent's row, read once and kept until an agent changes: here (this store's
        writes forget the kept rows) or in another process sharing the file (SQLite's
        ``data_version`` moves when another connection commits). A chat reads its agent
        at every turn."""
        version = (await self._rows("PRAGMA data_version"))[0][0]
        if version != self._agents_version or len(self._agents) > _AGENTS_KEPT:
            self._agents.clear()
            self._agents_version = version
        key = (agent_id, owner)
        agent = self._agents.get(key)
        if agent is None:
            theirs, param = mine(owner)
            row = await self._one(f"SELECT * FROM agents WHERE id = ?{theirs}", (agent_id, *param))
            if row is None:
                return None
            agent = self._agents[key] = _agent(row)
        return dict(agent)

    async def list_agents(
        self, *, limit: int, offset: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, param = mine(owner)
        rows = await self._rows(
            f"SELECT * FROM agents WHERE TRUE{theirs} ORDER BY created_at, id LIMIT ? OFFSET ?",
            (*param, limit, offset),
        )
        return [_agent(row) for row in rows]

    async def update_agent(
        self, agent_id: str, changes: dict[str, Any], owner: str | None = None
    ) -> dict[str, Any] | None:
        theirs, param = mine(owner)
        if changes:
            if "options" in changes:
                changes = {**changes, "options": json.dumps(changes["options"])}
            columns = ", ".join(f"{column} = ?" for column in changes)
            await self._change_agents(
                f"UPDATE agents SET {columns}, updated_at = ? WHERE id = ?{theirs}",
                (*changes.values(), iso_now(), agent_id, *param),
            )
        return await self.get_agent(agent_id, owner)

    async def delete_agent(self, agent_id: str, owner: str | None = None) -> bool:
        theirs, param = mine(owner)
        changed = await self._change_agents(
            f"DELETE FROM agents WHERE id = ?{theirs}", (agent_id, *param)
        )
        return changed > 0

    async def _change_agents(self, query: str, params: tuple[Any, ...]) -> int:
        """Run a statement changing agents, and forget the rows kept by ``get_agent``
        once it ran (a read while a locked write waits would keep the old row)."""
        try:
            return await self._write((query, params))
        finally:
            self._agents.clear()

    # ---- conversations (the local backend's own) -------------------------------------

    async def get_conversation(
        self, conversation_id: str, owner: str | None = None
    ) -> dict[str, Any] | None:
        theirs, param = mine(owner, "c.principal")
        row = await self._one(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            f" AS message_count FROM conversations c WHERE c.id = ?{theirs}",
            (conversation_id, *param),
        )
        return dict(row) if row else None

    async def list_conversations(self, query: ConversationQuery) -> list[dict[str, Any]]:
        theirs, param = mine(query.owner, "c.principal")
        rows = await self._rows(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c"
            f" WHERE (? IS NULL OR c.agent_id = ?){theirs} ORDER BY c.updated_at DESC, c.id"
            " LIMIT ? OFFSET ?",
            (query.agent_id, query.agent_id, *param, query.limit, query.offset),
        )
        return [dict(row) for row in rows]

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        return [dict(row) for row in rows]

    async def recent_messages(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = ?"
            " ORDER BY seq DESC LIMIT ?",
            (conversation_id, limit),
        )
        return [dict(row) for row in reversed(rows)]

    async def conversation_agent(
        self, conversation_id: str, owner: str | None = None
    ) -> str | None:
        theirs, param = mine(owner)
        row = await self._one(
            f"SELECT agent_id FROM conversations WHERE id = ?{theirs}", (conversation_id, *param)
        )
        return row[0] if row else None

    # ---- tasks (MCP tasks over runs) -------------------------------------------------

    async def create_task(
        self, *, task_id: str, owner: str, run_id: str, ttl_seconds: float
    ) -> dict[str, Any]:
        created = now()
        stamp, expires = created.isoformat(), (created + timedelta(seconds=ttl_seconds)).isoformat()
        await self._write(
            (
                "INSERT INTO tasks VALUES (?, ?, ?, 'working', NULL, ?, ?, ?)",
                (task_id, owner, run_id, stamp, stamp, expires),
            ),
            ("DELETE FROM tasks WHERE expires_at <= ?", (stamp,)),
        )
        task = await self.get_task(task_id)
        assert task is not None  # written just above
        return task

    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        row = await self._one(
            "SELECT * FROM tasks WHERE id = ? AND expires_at > ?", (task_id, iso_now())
        )
        return dict(row) if row else None

    async def finish_task(self, task_id: str, *, status: str, result: str) -> bool:
        written = await self._write(
            (
                "UPDATE tasks SET status = ?, result = ?, updated_at = ?"
                " WHERE id = ? AND status = 'working'",
                (status, result, iso_now(), task_id),
            )
        )
        return written > 0

    async def list_tasks(self, owner: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT * FROM tasks WHERE owner = ? AND expires_at > ?"
            " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (owner, iso_now(), limit, offset),
        )
        return [dict(row) for row in rows]


def _agent(row: sqlite3.Row) -> dict[str, Any]:
    agent = dict(row)
    agent["options"] = json.loads(agent["options"] or "{}")
    return agent
