"""The store under faults (issue 18): a database another program holds locked, U+0000 in
text, and a run history that must not grow without end — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult, CreateMessageResult, TextContent

from agentdeck.errors import DatabaseLocked
from agentdeck.store import (
    ConversationQuery,
    NewAgent,
    NewMessage,
    RunEnd,
    RunKeeping,
    RunStart,
    is_postgres_url,
    open_store,
)
from tests.support import (
    call_error,
    call_ok,
    connect,
    conversation_id,
    error_text,
    make_settings,
)

pytestmark = pytest.mark.anyio


def on_disk(database: str, tmp_path: Path) -> str:
    """``database``, with in-memory SQLite made a file another connection can share."""
    return str(tmp_path / "agentdeck.db") if database == ":memory:" else database


@contextmanager
def write_locked(database: str) -> Iterator[None]:
    """Another program holding the database's write lock (reads stay possible), as a
    database browser or a backup does, until the block ends."""
    if is_postgres_url(database):
        import psycopg

        with psycopg.connect(database) as holder:  # a transaction until the block ends
            holder.execute("LOCK TABLE agents, runs IN EXCLUSIVE MODE")
            yield
            holder.rollback()
        return
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE agents SET name = name")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


async def test_a_locked_database_fails_only_the_write_that_waited_and_never_stalls_the_loop(
    mode: str, database: str, tmp_path: Path
) -> None:
    """18.1: while another program holds the write lock, a write waits (off the event
    loop) and then fails with an error saying what holds it and what to do; a read made
    meanwhile answers at once; once the lock is gone, writes work again."""
    database = on_disk(database, tmp_path)
    settings = make_settings(database=database, server={"database_wait_seconds": 1.5})
    async with connect(settings, mode) as client:
        with anyio.fail_after(10):
            await call_ok(client, "create_agent", {"backend": "local", "name": "before"})
            written: list[CallToolResult] = []

            async def write() -> None:
                written.append(
                    await client.call_tool("create_agent", {"backend": "local", "name": "waits"})
                )

            with write_locked(database):
                async with anyio.create_task_group() as group:
                    began = anyio.current_time()
                    group.start_soon(write)
                    await anyio.sleep(0.1)
                    listed = await call_ok(client, "list_agents", {"backend": "local"})
                    read_at = anyio.current_time() - began
                    assert not written, "the write should still be waiting for the lock"
            assert read_at < 1.5  # within the write's wait, which it did not wait for
            assert [agent["name"] for agent in listed["items"]] == ["before"]
            error = error_text(written[0])
            assert "locked by another program" in error
            assert "database_wait_seconds" in error
            await call_ok(client, "create_agent", {"backend": "local", "name": "after"})


async def test_a_staged_turn_whose_end_is_not_written_is_kept_for_the_next_try(
    database: str, tmp_path: Path
) -> None:
    """A new conversation's staged messages go with its run's end: when that write fails
    (the database locked), they are kept, and the next try writes them with the end."""
    database = on_disk(database, tmp_path)
    start = RunStart(
        run_id="r",
        backend="local",
        agent_id="a",
        conversation_id=None,
        message="hi",
        owner=None,
        principal=None,
        started_at=datetime.now(UTC),
    )
    end: dict[str, Any] = {"status": "completed", "text": "ok", "error": None, "start": start}
    async with open_store(database, wait_seconds=0.3) as store:
        with anyio.fail_after(20):
            await store.stage_message(NewMessage("c", "user", "hi", new_for="a"))
            await store.stage_message(NewMessage("c", "assistant", "ok"))
            with write_locked(database), pytest.raises(DatabaseLocked):
                await store.record_run_end(RunEnd("r", conversation_id="c", **end))
            assert await store.messages("c") == []
            assert await store.record_run_end(RunEnd("r", conversation_id="c", **end))
            assert [m["content"] for m in await store.messages("c")] == ["hi", "ok"]


async def test_nul_in_a_model_reply_is_left_out_and_the_run_says_so(
    mode: str, database: str
) -> None:
    """18.2: a reply with U+0000 (from the client's model here) completes: its text, the
    stored transcript and the run history have the NUL left out, and the run's warnings
    say so (PostgreSQL refused such text and took the server down)."""

    async def sampling(context: Any, params: Any) -> CreateMessageResult:
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="a\x00b"), model="m"
        )

    settings = make_settings(database=database)
    async with connect(settings, mode, sampling_callback=sampling) as client:
        with anyio.fail_after(10):
            agent = await call_ok(
                client, "create_agent", {"backend": "local", "name": "S", "model": "sampling"}
            )
            reply = await call_ok(client, "chat", {"agent": agent["ref"], "message": "hi"})
            again = await call_ok(client, "get_run", {"run_id": reply["run_id"]})
            transcript = await call_ok(
                client, "get_conversation", {"conversation": reply["conversation"]}
            )
    assert (reply["status"], reply["text"]) == ("completed", "ab")
    assert any("U+0000" in warning for warning in reply["warnings"])
    assert again["warnings"] == reply["warnings"]
    assert [m["content"] for m in transcript["messages"]] == ["hi", "ab"]


async def test_postgresql_stores_every_text_without_nul(postgres_url: str) -> None:
    """18.2: every text the PostgreSQL store writes — an agent's fields and options, a
    message, a run's message, text and error, a shared snapshot — has U+0000 left out
    instead of failing with psycopg.DataError."""
    async with open_store(postgres_url) as store:
        agent = await store.create_agent(
            NewAgent(
                name="n\x00",
                description="d\x00",
                instructions=None,
                model=None,
                options={"k": "v\x00"},
            )
        )
        await store.add_message(NewMessage("c1", "user", "m\x00", new_for=agent["id"]))
        await store.record_run_start(
            RunStart(
                run_id="r1", backend="make", agent_id="a", conversation_id="c1", message="q\x00"
            )
        )
        await store.claim_run("r1", "replica", '{"text": "x\\u0000", "path": "\\\\u0000"}')
        await store.write_progress("r1", '{"text": "y\\u0000z"}')
        await store.record_run_end(
            RunEnd("r1", status="failed", text="t\x00", error="e\x00", conversation_id=None)
        )
        shared = await store.shared_run("r1")
        runs = await store.history_runs("make", "c1")
        messages = await store.messages("c1")
    assert (agent["name"], agent["description"], agent["options"]) == ("n", "d", {"k": "v"})
    assert [m["content"] for m in messages] == ["m"]
    assert [(r["message"], r["text"], r["error"]) for r in runs] == [("q", "t", "e")]
    assert shared is not None and shared["snapshot"] == {"text": "yz"}


@pytest.mark.parametrize(
    ("tool", "arguments", "where"),
    [
        ("create_agent", {"backend": "local", "name": "bad\x00name"}, '"name"'),
        ("chat", {"agent": "local:x", "message": "hi\x00"}, '"message"'),
        ("update_agent", {"agent": "local:x", "changes": {"description": "\x00"}}, "description"),
    ],
)
async def test_nul_in_an_argument_is_refused_naming_the_character(
    mode: str, database: str, tool: str, arguments: dict[str, Any], where: str
) -> None:
    """18.3: U+0000 in a name, a message or any other text argument is a clear error that
    names the character and the argument, before any tool runs, on either store."""
    async with connect(make_settings(database=database), mode) as client:
        error = await call_error(client, tool, arguments)
        listed = await call_ok(client, "list_agents", {"backend": "local"})
    assert "U+0000" in error and where in error and tool in error
    assert listed["items"] == []


async def test_finished_runs_are_pruned_to_the_keep_count(
    mode: str, database: str, tmp_path: Path
) -> None:
    """18.11: the run history keeps the newest ``run_keep_count`` finished runs (it grew
    without end); the local conversations it does not need stay listed."""
    database = on_disk(database, tmp_path)
    settings = make_settings(
        database=database, server={"run_keep_count": 2, "run_keep_seconds": 3600}
    )
    async with connect(settings, mode) as client:
        agent = await call_ok(
            client, "create_agent", {"backend": "local", "name": "E", "model": "echo"}
        )
        replies = [
            await call_ok(client, "chat", {"agent": agent["ref"], "message": f"m{i}"})
            for i in range(6)
        ]
        listed = await call_ok(client, "list_conversations", {"backend": "local"})
    assert len(listed["items"]) == 6
    async with open_store(database) as store:
        kept = [
            run["message"]
            for reply in replies
            for run in await store.history_runs("local", conversation_id(reply))
        ]
    assert kept == ["m4", "m5"]


async def test_pruning_follows_the_keep_time_and_keeps_transcripts(database: str) -> None:
    """18.11: runs older than ``run_keep_seconds`` go too, except the conversation runs of
    a backend without a conversation API (its transcripts, which list_conversations and
    get_conversation read); on PostgreSQL those lose the snapshot other replicas read."""
    keeping = RunKeeping(seconds=0.05, count=100, conversation_api=frozenset({"local"}))
    shared = is_postgres_url(database)
    async with open_store(database, keeping=keeping) as store:

        async def run(run_id: str, backend: str, conversation: str | None) -> None:
            await store.record_run_start(
                RunStart(
                    run_id=run_id,
                    backend=backend,
                    agent_id="a",
                    conversation_id=conversation,
                    message=run_id,
                )
            )
            if shared:  # what other replicas read of a live run: pruned as get_run is
                await store.claim_run(run_id, "replica", '{"text": "ok"}')  # type: ignore[attr-defined]
            await store.record_run_end(
                RunEnd(run_id, status="completed", text="ok", error=None, conversation_id=None)
            )

        for run_id in ("old-local", "old-make"):
            await run(run_id, run_id.split("-")[1], "c1")
        await anyio.sleep(0.1)
        await run("new-local", "local", "c1")
        local = [r["id"] for r in await store.history_runs("local", "c1")]
        make = [r["id"] for r in await store.history_runs("make", "c1")]
        listed = await store.history_conversations(
            "make", ConversationQuery(None, limit=5, offset=0)
        )
        if shared:
            assert await store.shared_run("old-make") is None  # type: ignore[attr-defined]
            assert await store.shared_run("new-local") is not None  # type: ignore[attr-defined]
    assert local == ["new-local"]
    assert make == ["old-make"]
    assert [(c["id"], c["runs"]) for c in listed] == [("c1", 1)]


async def test_the_log_is_checkpointed_off_the_loop_as_writes_go_on(tmp_path: Path) -> None:
    """18.1: SQLite's own checkpoint (a disk sync, on whichever commit fills the log) is
    off; agentdeck's starts in a worker thread every so many commits, so the log is
    copied into the database file as writes go on, long before the log is full."""
    database = tmp_path / "agentdeck.db"
    async with open_store(str(database)) as store:
        for i in range(260):
            await store.record_run_start(
                RunStart(
                    run_id=f"r{i}",
                    backend="b",
                    agent_id="a",
                    conversation_id=None,
                    message="x" * 100,
                )
            )
        with anyio.fail_after(5):
            while True:  # a file's size has no event to wait on
                if database.stat().st_size > 40_000:  # the checkpoint's work, once done
                    break
                await anyio.sleep(0.01)


async def test_a_connection_of_its_own_is_closed_when_its_user_is_cancelled(
    postgres_url: str,
) -> None:
    """The connections outside the pool (the schema migration's, the run listener's) are
    closed when the server stops while they are in use, mid-transaction included."""
    import psycopg

    from agentdeck.store.postgres_pool import closed_after

    connection = await psycopg.AsyncConnection.connect(postgres_url, autocommit=True)
    with anyio.move_on_after(0.2) as scope:
        async with closed_after(connection), connection.transaction():
            await connection.execute("SELECT pg_sleep(5)")
    assert scope.cancelled_caught
    assert connection.closed
