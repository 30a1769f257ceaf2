"""The SQLite store: the local backend's agents, conversations and messages, and the
run history of every backend, in one file on one machine.

One file (WAL mode) under the user's data directory, or ``:memory:`` for tests.
Every write is committed before the method returns, so whatever a tool answered
survives a killed process; the rows of one step (a message and its conversation's
time) go in one transaction.

No call waits on the event loop: see :mod:`agentdeck.store.sqlite_connection`.

The run history is what lets ``list_conversations`` and the transcript resource
work for platforms that have no conversation API of their own (Make).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agentdeck.errors import ConfigError, DatabaseError
from agentdeck.store.owners import SQLITE_SCHEMA as OWNERS_SCHEMA
from agentdeck.store.owners import mine
from agentdeck.store.platform_keys import SQLITE_SCHEMA as PLATFORM_KEYS_SCHEMA
from agentdeck.store.platform_keys import SqlitePlatformKeys
from agentdeck.store.shared import (
    DEFAULT_WAIT_SECONDS,
    END_OVER_START,
    Pruning,
    RunKeeping,
    RunStart,
    new_id,
    now,
)
from agentdeck.store.sqlite_connection import SqliteConnection
from agentdeck.store.stream_events import SQLITE_SCHEMA, SqliteStreamEvents

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
    # (agentdeck.leases); ``lease_until`` is a Julian day on SQLite's clock
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


def _stamp() -> str:
    return now().isoformat()


class SqliteStore(SqliteConnection, SqliteStreamEvents, SqlitePlatformKeys):
    """All of agentdeck's persistent state in one SQLite file."""

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
        agent_id, stamp = new_id(), _stamp()
        await self._write(
            (
                "INSERT INTO agents (id, name, description, instructions, model, options,"
                " created_at, updated_at, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agent_id,
                    name,
                    description,
                    instructions,
                    model,
                    json.dumps(options),
                    stamp,
                    stamp,
                    owner,
                ),
            )
        )
        created = await self.get_agent(agent_id)
        assert created is not None  # written just above, and nothing ran in between
        return created

    async def get_agent(self, agent_id: str, owner: str | None = None) -> dict[str, Any] | None:
        theirs, param = mine(owner)
        row = await self._one(f"SELECT * FROM agents WHERE id = ?{theirs}", (agent_id, *param))
        return _agent(row) if row else None

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
            await self._write(
                (
                    f"UPDATE agents SET {columns}, updated_at = ? WHERE id = ?{theirs}",
                    (*changes.values(), _stamp(), agent_id, *param),
                )
            )
        return await self.get_agent(agent_id, owner)

    async def delete_agent(self, agent_id: str, owner: str | None = None) -> bool:
        theirs, param = mine(owner)
        return (
            await self._write((f"DELETE FROM agents WHERE id = ?{theirs}", (agent_id, *param))) > 0
        )

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

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, offset: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        theirs, param = mine(owner, "c.principal")
        rows = await self._rows(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c"
            f" WHERE (? IS NULL OR c.agent_id = ?){theirs} ORDER BY c.updated_at DESC, c.id"
            " LIMIT ? OFFSET ?",
            (agent_id, agent_id, *param, limit, offset),
        )
        return [dict(row) for row in rows]

    async def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        new_for: str | None = None,
        owner: str | None = None,
    ) -> None:
        stamp = _stamp()
        conversation: tuple[str, tuple[Any, ...]]
        message = (
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
            (conversation_id, role, content, stamp),
        )
        if new_for is not None:
            conversation = (
                "INSERT INTO conversations (id, agent_id, title, created_at, updated_at,"
                " principal) VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, new_for, content[:80], stamp, stamp, owner),
            )
        else:
            conversation = (
                "UPDATE conversations SET updated_at = ? WHERE id = ?",
                (stamp, conversation_id),
            )
        await self._write(conversation, message)

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
        stamp = (started_at or now()).isoformat()
        await self._write(
            (
                "INSERT INTO runs (id, backend, agent_id, conversation_id, status, message,"
                " started_at, owner, principal) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (run_id, backend, agent_id, conversation_id, message, stamp, owner, principal),
            )
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
        ended = (status, text, error, _stamp())
        statement: tuple[str, tuple[Any, ...]]
        if start is None:
            statement = (
                "UPDATE runs SET status = ?, text = ?, error = ?, finished_at = ?,"
                " conversation_id = COALESCE(?, conversation_id)"
                " WHERE id = ? AND status = 'running'",
                (*ended, conversation_id, run_id),
            )
        else:
            statement = (
                "INSERT INTO runs (status, text, error, finished_at, conversation_id, id,"
                " backend, agent_id, message, started_at, owner, principal)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT (id) DO UPDATE SET {END_OVER_START}"
                " WHERE runs.status = 'running'",
                (
                    *ended,
                    conversation_id or start["conversation_id"],
                    run_id,
                    start["backend"],
                    start["agent_id"],
                    start["message"],
                    start["started_at"].isoformat(),
                    start["owner"],
                    start["principal"],
                ),
            )
        wrote = await self._write(statement)
        if self._pruning.ended():
            await self._prune_runs()
        return wrote > 0

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
        their lease runs out (:mod:`agentdeck.leases`), live ones are left alone.
        """
        return await self._write(
            (
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
                " WHERE status = 'running'"
                " AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))",
                (error, _stamp()),
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
                    (error, _stamp()),
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
        self,
        backend: str,
        *,
        agent_id: str | None,
        limit: int,
        offset: int,
        owner: str | None = None,
    ) -> list[dict[str, Any]]:
        """Conversations of ``backend`` as seen through agentdeck's runs, newest first."""
        theirs, param = mine(owner)
        first_theirs, _ = mine(owner, "first.principal")
        rows = await self._rows(
            "SELECT conversation_id AS id, agent_id,"
            " (SELECT first.message FROM runs first WHERE first.backend = runs.backend"
            f"  AND first.conversation_id = runs.conversation_id{first_theirs}"
            "  ORDER BY first.started_at LIMIT 1) AS title,"
            " MIN(started_at) AS created_at, MAX(started_at) AS updated_at,"
            " COUNT(*) AS runs FROM runs"
            " WHERE backend = ? AND conversation_id IS NOT NULL AND (? IS NULL OR agent_id = ?)"
            f"{theirs} GROUP BY conversation_id ORDER BY updated_at DESC LIMIT ? OFFSET ?",
            (*param, backend, agent_id, agent_id, *param, limit, offset),
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
            "SELECT * FROM tasks WHERE id = ? AND expires_at > ?", (task_id, _stamp())
        )
        return dict(row) if row else None

    async def finish_task(self, task_id: str, *, status: str, result: str) -> bool:
        written = await self._write(
            (
                "UPDATE tasks SET status = ?, result = ?, updated_at = ?"
                " WHERE id = ? AND status = 'working'",
                (status, result, _stamp(), task_id),
            )
        )
        return written > 0

    async def list_tasks(self, owner: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT * FROM tasks WHERE owner = ? AND expires_at > ?"
            " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (owner, _stamp(), limit, offset),
        )
        return [dict(row) for row in rows]


def _agent(row: sqlite3.Row) -> dict[str, Any]:
    agent = dict(row)
    agent["options"] = json.loads(agent["options"] or "{}")
    return agent
