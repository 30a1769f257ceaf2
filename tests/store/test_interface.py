"""The store interface, the same in SQLite and PostgreSQL: rows, run history, schema versions."""

from datetime import UTC, datetime

import anyio
import pytest

from agentdeck.config import parse_settings
from agentdeck.errors import ConfigError
from agentdeck.store import (
    ConversationQuery,
    NewAgent,
    NewMessage,
    RunEnd,
    RunStart,
    open_store,
    redacted,
)

pytestmark = pytest.mark.anyio


async def test_an_agent_row_round_trips_with_its_options(database: str) -> None:
    async with open_store(database) as store:
        created = await store.create_agent(
            NewAgent(
                name="A",
                description=None,
                instructions="Be kind.",
                model="echo",
                options={"k": [1]},
            )
        )
        changed = await store.update_agent(created["id"], {"name": "B", "options": {"k": 2}})
        assert changed is not None
        assert (changed["name"], changed["instructions"], changed["options"]) == (
            "B",
            "Be kind.",
            {"k": 2},
        )
        assert changed["created_at"] == created["created_at"]
        assert changed["updated_at"] > created["updated_at"]
        assert await store.delete_agent(created["id"])
        assert not await store.delete_agent(created["id"])
        assert await store.get_agent(created["id"]) is None


async def test_recent_messages_are_the_last_ones_oldest_first(database: str) -> None:
    async with open_store(database) as store:
        conversation, other = "c1", "c2"
        for i in range(7):
            role, new_for = ("user" if i % 2 == 0 else "assistant"), ("a1" if i == 0 else None)
            await store.add_message(NewMessage(conversation, role, f"m{i}", new_for=new_for))
        await store.add_message(NewMessage(other, "user", "elsewhere", new_for="a2"))
        recent = await store.recent_messages(conversation, 3)
        assert [(m["role"], m["content"]) for m in recent] == [
            ("user", "m4"),
            ("assistant", "m5"),
            ("user", "m6"),
        ]
        assert len(await store.recent_messages(conversation, 100)) == 7
        assert await store.conversation_agent(conversation) == "a1"
        assert await store.conversation_agent("missing") is None


async def test_a_new_conversations_staged_turn_is_committed_when_handed_out_or_ended(
    database: str,
) -> None:
    """Staged messages are nowhere until the conversation is handed out (then they are
    committed, and later ones at once) or its run ends (then they go with the end)."""

    def start(run_id: str) -> RunStart:
        return RunStart(
            run_id=run_id,
            backend="local",
            agent_id="a1",
            conversation_id=None,
            message="hi",
            owner=None,
            principal=None,
            started_at=datetime.now(UTC),
        )

    async with open_store(database) as store:

        async def contents(conversation: str) -> list[str]:
            return [m["content"] for m in await store.messages(conversation)]

        await store.stage_message(NewMessage("ended", "user", "hi", new_for="a1"))
        await store.stage_message(NewMessage("ended", "assistant", "hello"))
        assert await store.conversation_agent("ended") is None
        assert await contents("ended") == []
        end = {"status": "completed", "text": "hello", "error": None}
        assert await store.record_run_end(
            RunEnd("r1", **end, conversation_id="ended", start=start("r1"))
        )
        assert await store.conversation_agent("ended") == "a1"
        assert await contents("ended") == ["hi", "hello"]
        # one insert of both messages, and the conversation created with the times of its
        # first and last: as when each message was written on its own
        first, last = await store.messages("ended")
        conversation = await store.get_conversation("ended")
        assert conversation is not None and conversation["message_count"] == 2
        assert first["created_at"] <= last["created_at"]
        assert (conversation["created_at"], conversation["updated_at"]) == (
            first["created_at"],
            last["created_at"],
        )

        await store.stage_message(NewMessage("out", "user", "hi", new_for="a1"))
        await store.write_staged("out")
        assert await contents("out") == ["hi"]
        await store.stage_message(NewMessage("out", "assistant", "hello"))
        assert await contents("out") == ["hi", "hello"]
        await store.write_staged("out")
        await store.write_staged(None)
        assert await store.record_run_end(
            RunEnd("r2", **end, conversation_id="out", start=start("r2"))
        )
        assert await contents("out") == ["hi", "hello"]
        assert [r["conversation_id"] for r in await store.history_runs("local", "out")] == ["out"]


async def test_run_history_groups_runs_into_conversations_newest_first(database: str) -> None:
    async with open_store(database) as store:
        for run_id, conversation, agent in [
            ("r1", "c1", "a1"),
            ("r2", "c2", "a2"),
            ("r3", "c1", "a1"),
        ]:
            await store.record_run_start(
                RunStart(
                    run_id=run_id,
                    backend="make",
                    agent_id=agent,
                    conversation_id=conversation,
                    message=f"say {run_id}",
                )
            )
            await store.record_run_end(
                RunEnd(
                    run_id,
                    status="completed",
                    text=f"did {run_id}",
                    error=None,
                    conversation_id=None,
                )
            )
        await store.record_run_start(
            RunStart(
                run_id="other", backend="else", agent_id="a1", conversation_id="c1", message="x"
            )
        )
        listed = await store.history_conversations("make", ConversationQuery(None, 10, 0))
        mine = await store.history_conversations("make", ConversationQuery("a2", 10, 0))
        runs = await store.history_runs("make", "c1")
        owners = [await store.history_agent("make", c) for c in ("c1", "c2", "unseen")]
    assert owners == ["a1", "a2", None]
    assert [(c["id"], c["title"], c["runs"]) for c in listed] == [
        ("c1", "say r1", 2),
        ("c2", "say r2", 1),
    ]
    assert [c["id"] for c in mine] == ["c2"]
    assert [(r["id"], r["status"], r["text"]) for r in runs] == [
        ("r1", "completed", "did r1"),
        ("r3", "completed", "did r3"),
    ]


async def test_a_reopened_database_keeps_its_data_and_schema_version(
    database: str, tmp_path
) -> None:
    if database == ":memory:":
        database = str(tmp_path / "local.db")
    async with open_store(database) as store:
        await store.create_agent(
            NewAgent(name="Kept", description=None, instructions=None, model=None, options={})
        )
    async with open_store(database) as store:
        assert [a["name"] for a in await store.list_agents(limit=5, offset=0)] == ["Kept"]


async def test_replicas_starting_at_once_migrate_once(postgres_url: str) -> None:
    import psycopg

    async def start() -> None:
        async with open_store(postgres_url) as store:
            await store.ping()

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(start)
    async with await psycopg.AsyncConnection.connect(postgres_url) as connection:
        cursor = await connection.execute("SELECT version FROM schema_version ORDER BY version")
        versions = [row[0] for row in await cursor.fetchall()]
        assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 3  # each once


async def test_a_database_newer_than_agentdeck_is_refused(postgres_url: str) -> None:
    import psycopg

    async with open_store(postgres_url):
        pass
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as connection:
        await connection.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(ConfigError, match="schema version 99"):
        async with open_store(postgres_url):
            pass


async def test_an_unreachable_database_is_a_config_error_without_the_password(
    postgres_server: str,
) -> None:
    port = postgres_server.rsplit(":", 1)[1].split("/")[0]
    url = f"postgresql://agentdeck:hunter2secret@127.0.0.1:{port}/no_such_database"
    with pytest.raises(ConfigError) as caught:
        async with open_store(url):
            pass
    message = str(caught.value)
    assert "no_such_database" in message and "[server] database" in message
    assert "hunter2secret" not in message
    assert redacted(url) in message


def test_server_database_wins_and_conflicts_with_the_local_file() -> None:
    url = "postgresql://deck:${PGPASSWORD}@db:5432/agentdeck"
    settings = parse_settings(
        {"server": {"database": url}}, source="t", environ={"PGPASSWORD": "s3cret"}
    )
    assert settings.database() == "postgresql://deck:s3cret@db:5432/agentdeck"
    assert "s3cret" not in repr(settings)
    assert parse_settings({}, source="t", environ={}).database().endswith("local.db")
    with pytest.raises(ConfigError, match=r"keep only server\.database"):
        parse_settings(
            {
                "server": {"database": url},
                "backends": {"local": {"kind": "local", "database": "/tmp/x.db"}},
            },
            source="t",
            environ={"PGPASSWORD": "s3cret"},
        )
