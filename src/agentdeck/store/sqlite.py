"""The SQLite store: the local backend's agents, conversations and messages, and the
run history of every backend, in one file on one machine.

One file (WAL mode) under the user's data directory, or ``:memory:`` for tests.
Every write is committed before the method returns, so whatever a tool answered
survives a killed process. The methods are async to share the :class:`Store`
interface with PostgreSQL, but run the query in place: each is a few hundred
microseconds on a local file, cheaper than a hop to a worker thread.

The run history is what lets ``list_conversations`` and the transcript resource
work for platforms that have no conversation API of their own (Make).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from agentdeck.errors import ConfigError, DatabaseError
from agentdeck.store.shared import new_id, now
from agentdeck.store.stream_events import SQLITE_SCHEMA, SqliteStreamEvents

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
)


def _stamp() -> str:
    return now().isoformat()


class SqliteStore(SqliteStreamEvents):
    """All of agentdeck's persistent state in one SQLite file."""

    def __init__(self, database: str) -> None:
        self.location = database
        path = database if database == ":memory:" else str(Path(database).expanduser())
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the folder of the local database {path}: {exc.strerror}."
                ) from None
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout=5000")  # first: another process may hold it
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
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

    def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise DatabaseError(f"the local database {self.location} failed: {exc}.") from None

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._db:  # one committed transaction per write
            return self._db.execute(sql, params).rowcount

    # ---- agents ----------------------------------------------------------------------

    async def create_agent(
        self,
        *,
        name: str,
        description: str | None,
        instructions: str | None,
        model: str | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        agent_id, stamp = new_id(), _stamp()
        self._write(
            "INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (agent_id, name, description, instructions, model, json.dumps(options), stamp, stamp),
        )
        created = await self.get_agent(agent_id)
        assert created is not None  # written just above, and nothing ran in between
        return created

    async def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return _agent(row) if row else None

    async def list_agents(self, *, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM agents ORDER BY created_at, id LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [_agent(row) for row in rows]

    async def update_agent(self, agent_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        if changes:
            if "options" in changes:
                changes = {**changes, "options": json.dumps(changes["options"])}
            columns = ", ".join(f"{column} = ?" for column in changes)
            self._write(
                f"UPDATE agents SET {columns}, updated_at = ? WHERE id = ?",
                (*changes.values(), _stamp(), agent_id),
            )
        return await self.get_agent(agent_id)

    async def delete_agent(self, agent_id: str) -> bool:
        return self._write("DELETE FROM agents WHERE id = ?", (agent_id,)) > 0

    # ---- conversations (the local backend's own) -------------------------------------

    async def ensure_conversation(
        self, conversation_id: str | None, agent_id: str, title: str
    ) -> str:
        """The conversation to continue, created when new; returns its id."""
        conversation_id = conversation_id or new_id()
        stamp = _stamp()
        self._write(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (conversation_id, agent_id, title[:80], stamp, stamp),
        )
        return conversation_id

    async def get_conversation(self, conversation_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        return dict(row) if row else None

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c"
            " WHERE (? IS NULL OR c.agent_id = ?) ORDER BY c.updated_at DESC, c.id"
            " LIMIT ? OFFSET ?",
            (agent_id, agent_id, limit, offset),
        ).fetchall()
        return [dict(row) for row in rows]

    async def add_message(self, conversation_id: str, role: str, content: str) -> None:
        stamp = _stamp()
        with self._db:
            self._db.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at)"
                " VALUES (?, ?, ?, ?)",
                (conversation_id, role, content, stamp),
            )
            self._db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, conversation_id)
            )

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        ).fetchall()
        return [dict(row) for row in rows]

    async def recent_messages(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT role, content, created_at FROM messages WHERE conversation_id = ?"
            " ORDER BY seq DESC LIMIT ?",
            (conversation_id, limit),
        ).fetchall()
        return [dict(row) for row in reversed(rows)]

    async def conversation_agent(self, conversation_id: str) -> str | None:
        row = self._db.execute(
            "SELECT agent_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
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
    ) -> None:
        self._write(
            "INSERT INTO runs (id, backend, agent_id, conversation_id, status, message,"
            " started_at, owner) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
            (run_id, backend, agent_id, conversation_id, message, _stamp(), owner),
        )

    async def record_run_end(
        self,
        run_id: str,
        *,
        status: str,
        text: str,
        error: str | None,
        conversation_id: str | None,
    ) -> bool:
        return (
            self._write(
                "UPDATE runs SET status = ?, text = ?, error = ?, finished_at = ?,"
                " conversation_id = COALESCE(?, conversation_id)"
                " WHERE id = ? AND status = 'running'",
                (status, text, error, _stamp(), conversation_id, run_id),
            )
            > 0
        )

    async def fail_unfinished_runs(self, error: str) -> int:
        """Mark the runs a stopped process left ``running`` as failed with ``error``; how
        many there were.

        Called when a server starts: a ``running`` row whose owner holds no lease (it gave
        it back, or wrote no owner) is one a previous process left behind. The runs of
        other processes sharing the file hold a lease: those that stopped are failed once
        their lease runs out (:mod:`agentdeck.leases`), live ones are left alone.
        """
        return self._write(
            "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
            " WHERE status = 'running' AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))",
            (error, _stamp()),
        )

    async def renew_lease(self, replica: str, seconds: float) -> None:
        self._write(
            "INSERT INTO replicas VALUES (?, julianday('now') + ? / 86400.0)"
            " ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
            (replica, seconds),
        )

    async def drop_lease(self, replica: str) -> None:
        self._write("DELETE FROM replicas WHERE id = ?", (replica,))

    async def fail_runs_of_expired_replicas(self, error: str) -> list[str]:
        with self._db:
            failed = self._db.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
                " WHERE status = 'running' AND owner IS NOT NULL AND owner NOT IN"
                " (SELECT id FROM replicas WHERE lease_until >= julianday('now')) RETURNING id",
                (error, _stamp()),
            ).fetchall()
            self._db.execute("DELETE FROM replicas WHERE lease_until < julianday('now')")
        return [row[0] for row in failed]

    async def history_conversations(
        self, backend: str, *, agent_id: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Conversations of ``backend`` as seen through agentdeck's runs, newest first."""
        rows = self._db.execute(
            "SELECT conversation_id AS id, agent_id,"
            " (SELECT first.message FROM runs first WHERE first.backend = runs.backend"
            "  AND first.conversation_id = runs.conversation_id"
            "  ORDER BY first.started_at LIMIT 1) AS title,"
            " MIN(started_at) AS created_at, MAX(started_at) AS updated_at,"
            " COUNT(*) AS runs FROM runs"
            " WHERE backend = ? AND conversation_id IS NOT NULL AND (? IS NULL OR agent_id = ?)"
            " GROUP BY conversation_id ORDER BY updated_at DESC LIMIT ? OFFSET ?",
            (backend, agent_id, agent_id, limit, offset),
        ).fetchall()
        return [dict(row) for row in rows]

    async def history_runs(self, backend: str, conversation_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM runs WHERE backend = ? AND conversation_id = ? ORDER BY started_at, id",
            (backend, conversation_id),
        ).fetchall()
        return [dict(row) for row in rows]

    async def history_agent(self, backend: str, conversation_id: str) -> str | None:
        row = self._db.execute(
            "SELECT agent_id FROM runs WHERE backend = ? AND conversation_id = ?"
            " ORDER BY started_at, id LIMIT 1",
            (backend, conversation_id),
        ).fetchone()
        return str(row["agent_id"]) if row else None


def _agent(row: sqlite3.Row) -> dict[str, Any]:
    agent = dict(row)
    agent["options"] = json.loads(agent["options"] or "{}")
    return agent
