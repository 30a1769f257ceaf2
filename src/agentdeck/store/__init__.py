"""The store: everything durable agentdeck keeps, behind one async interface.

Two implementations hold the same data — the local backend's agents, conversations
and messages, and the run history of every backend:

- :class:`~agentdeck.store.sqlite.SqliteStore`, one file on one machine (the default);
- :class:`~agentdeck.store.postgres.PostgresStore`, a PostgreSQL database that several
  replicas share.

``[server] database`` chooses: a ``postgresql://`` URL means PostgreSQL; a file path (or
nothing, which falls back to ``[backends.local] database``) means SQLite.
Each is a public module imported on its own, and only the one chosen is loaded
(:func:`open_store`): the PostgreSQL one loads its driver, which is an optional extra.

The interface is async because PostgreSQL is a network hop; the SQLite store runs a
statement in place (microseconds, cheaper than a hop to a worker thread) and never waits
on the event loop: a database another program holds locked is retried with async
sleeps. Both commit every write before the method returns, so whatever a tool answered
survives a killed process. A call that waited ``[server] database_wait_seconds`` for a
lock in vain fails with :class:`~agentdeck.errors.DatabaseLocked`, any other database
failure with :class:`~agentdeck.errors.DatabaseError`: that call only.

Finished runs are pruned from the run history as :class:`RunKeeping` says.

Rows are plain dicts: timestamps are ISO 8601 strings in UTC, ``options`` a dict.

Agents, conversations and runs belong to an ``owner`` (the principal that made them,
:mod:`agentdeck.store.owners`): a method given one reads and changes only that owner's
rows, so another's read exactly like a missing one; None (no OAuth) means no filter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from agentdeck.errors import ConfigError
from agentdeck.store.shared import (
    DEFAULT_WAIT_SECONDS,
    ConversationQuery,
    NewAgent,
    NewMessage,
    NewStreamEvent,
    RunEnd,
    RunKeeping,
    RunStart,
    redacted,
)

__all__ = [
    "POSTGRES_SCHEMES",
    "ConversationQuery",
    "NewAgent",
    "NewMessage",
    "NewStreamEvent",
    "RunEnd",
    "RunKeeping",
    "RunStart",
    "Store",
    "is_postgres_url",
    "open_store",
    "redacted",
]

POSTGRES_SCHEMES = ("postgresql", "postgres")


class Store(Protocol):
    """What the local backend, the run manager and the history read and write."""

    @property
    def location(self) -> str:
        """Where the data lives, safe to show (a file path, or a URL without its password)."""
        ...

    async def ping(self) -> None:
        """Return when the database answers; raise ``DatabaseError`` when it does not."""
        ...

    # ---- agents ----------------------------------------------------------------------

    async def create_agent(self, agent: NewAgent) -> dict[str, Any]: ...

    async def get_agent(self, agent_id: str, owner: str | None = None) -> dict[str, Any] | None: ...

    async def list_agents(
        self, *, limit: int, offset: int, owner: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def update_agent(
        self, agent_id: str, changes: dict[str, Any], owner: str | None = None
    ) -> dict[str, Any] | None: ...

    async def delete_agent(self, agent_id: str, owner: str | None = None) -> bool: ...

    # ---- conversations (the local backend's own) -------------------------------------

    async def get_conversation(
        self, conversation_id: str, owner: str | None = None
    ) -> dict[str, Any] | None: ...

    async def list_conversations(self, query: ConversationQuery) -> list[dict[str, Any]]: ...

    async def add_message(self, message: NewMessage) -> None:
        """Append a message and touch its conversation (or create it: see
        :class:`NewMessage`), in one transaction."""
        ...

    async def stage_message(self, message: NewMessage) -> None:
        """``add_message`` (as of now) for a new conversation nobody has been told of yet,
        held in memory: committed with the end of the run in that conversation
        (``record_run_end`` naming it), or by ``write_staged`` when the conversation is
        handed out before; once it was, written at once. One transaction for a turn
        instead of one per message."""
        ...

    async def write_staged(self, conversation_id: str | None) -> None:
        """Commit what ``stage_message`` holds for the conversation, which is being handed
        out (nothing held: nothing to do)."""
        ...

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]: ...

    async def recent_messages(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` messages, oldest first: one indexed read however long the
        conversation is (what a model call sends)."""
        ...

    async def conversation_agent(
        self, conversation_id: str, owner: str | None = None
    ) -> str | None:
        """The id of the agent a conversation belongs to; None when there is no such one.
        (``get_conversation`` also counts its messages, which a chat turn does not need.)"""
        ...

    # ---- run history (every backend) -------------------------------------------------

    async def record_run_start(self, start: RunStart) -> None:
        """A run of ``start.principal`` began, driven by the process whose lease is
        ``start.owner`` (written once: a second call, or one after the run's end, changes
        nothing)."""
        ...

    async def record_run_end(self, end: RunEnd) -> bool:
        """Write a run's end; False when the row was already final (it never changes then).
        With ``end.start``, a run whose start was never written gets its whole row. What
        ``stage_message`` holds for ``end.conversation_id`` is committed with it. Now and
        then also prune the run history (see :class:`RunKeeping`: a pruning that fails is
        logged, never this call's error)."""
        ...

    async def fail_unfinished_runs(self, error: str) -> int:
        """Mark the runs a stopped process left ``running`` as failed with ``error``; return
        how many there were. Called when a server starts."""
        ...

    async def history_conversations(
        self, backend: str, query: ConversationQuery
    ) -> list[dict[str, Any]]:
        """Conversations of ``backend`` as seen through agentdeck's runs, newest first."""
        ...

    async def history_runs(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def history_agent(
        self, backend: str, conversation_id: str, owner: str | None = None
    ) -> str | None:
        """The agent of the first run agentdeck recorded in a platform conversation (one
        indexed row, however long the conversation), or None when it recorded none."""
        ...

    # ---- Streamable HTTP stream events (agentdeck.store._stream_events) ---------------

    async def add_stream_events(self, events: Sequence[NewStreamEvent]) -> None:
        """Keep ``events`` (session, stream, message), in this order."""
        ...

    async def stream_events_after(
        self, session_id: str, stream_id: str, seq: int
    ) -> list[dict[str, Any]]: ...

    async def prune_stream_events(self, older_than_seconds: float) -> int: ...

    # ---- tasks (MCP tasks over runs; rows past their TTL are gone) ------------------

    async def create_task(
        self, *, task_id: str, owner: str, run_id: str, ttl_seconds: float
    ) -> dict[str, Any]:
        """A new ``working`` task over a run, kept for ``ttl_seconds``; expired ones go."""
        ...

    async def get_task(self, task_id: str) -> dict[str, Any] | None: ...

    async def finish_task(self, task_id: str, *, status: str, result: str) -> bool:
        """Write a task's final status and result (JSON), unless it has one already: a
        final task never changes. Whether this call wrote it."""
        ...

    async def list_tasks(self, owner: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        """The tasks of ``owner``, newest first."""
        ...

    # ---- users' platform keys (agentdeck.store._platform_keys) ------------------------

    async def save_platform_key(self, owner: str, backend: str, sealed: str) -> None: ...

    async def platform_key(self, owner: str, backend: str) -> str | None: ...

    async def forget_platform_key(self, owner: str, backend: str) -> bool: ...

    async def add_connect_state(
        self, digest: str, owner: str, backend: str, expires_at: datetime
    ) -> None: ...

    async def connect_state(self, digest: str, *, take: bool) -> dict[str, Any] | None: ...


def is_postgres_url(database: str) -> bool:
    return urlsplit(database).scheme in POSTGRES_SCHEMES


@asynccontextmanager
async def open_store(
    database: str,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    keeping: RunKeeping | None = None,
) -> AsyncIterator[Store]:
    """The store ``database`` names, created or migrated, closed at exit. A call waits at
    most ``wait_seconds`` for a lock another program holds; ``keeping`` (None: keep all)
    says which finished runs the run history keeps."""
    if is_postgres_url(database):
        try:
            from agentdeck.store.postgres import PostgresStore  # psycopg only when used
        except ImportError:
            raise ConfigError(
                "[server] database is a PostgreSQL URL, but the PostgreSQL driver is not "
                "installed. Install it with: pip install 'agentdeck[postgresql]'."
            ) from None
        async with PostgresStore.open(
            database, wait_seconds=wait_seconds, keeping=keeping
        ) as store:
            yield store
        return
    from agentdeck.store.sqlite import SqliteStore

    sqlite_store = SqliteStore(database, wait_seconds=wait_seconds, keeping=keeping)
    try:
        yield sqlite_store
    finally:
        sqlite_store.close()
