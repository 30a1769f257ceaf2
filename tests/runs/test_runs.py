"""Chat runs that outlive their tool call: wait budget, get_run, cancel_run, request cancel."""

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from mcp.types import CallToolResult

from agentdeck.model import ApprovalRequired, PauseKey, QuestionAsked
from agentdeck.store import RunEnd, RunStart
from agentdeck.store.sqlite import SqliteStore
from tests.fakes.base import Served, serve
from tests.fakes.openai import FakeOpenAI
from tests.support import (
    FAST_HTTP,
    call_error,
    call_ok,
    connect,
    error_once,
    local_agent,
    make_settings,
    model_settings,
    ok,
)

pytestmark = pytest.mark.anyio


async def wait_until(condition, seconds: float = 5.0) -> None:
    """Poll a fake's counter (it lives in the server thread, so there is no event to await)."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def test_a_slow_chat_answers_running_and_get_run_completes_it(
    served: Served, mode: str
) -> None:
    url = served(FakeOpenAI(chunk_delay=0.1))
    async with connect(model_settings(url), mode) as client:
        agent = await local_agent(client)
        with anyio.fail_after(5):
            started = await call_ok(
                client, "chat", {"agent": agent, "message": "hi", "wait_seconds": 0.3}
            )
        assert started["status"] == "running"
        assert "finished_at" not in started
        finished = await call_ok(
            client, "get_run", {"run_id": started["run_id"], "wait_seconds": 10}
        )
    assert finished["status"] == "completed"
    assert finished["text"] == "[slow] heard 'hi' after 0 earlier messages"
    assert finished["text"].startswith(started["text"])


async def test_cancel_run_stops_the_run_and_closes_the_upstream_stream(mode: str) -> None:
    fake = FakeOpenAI(chunk_delay=0.2)
    with serve(fake.app) as url:
        async with connect(model_settings(url), mode) as client:
            agent = await local_agent(client)
            started = await call_ok(
                client, "chat", {"agent": agent, "message": "hi", "wait_seconds": 0.3}
            )
            assert fake.open_streams == 1
            cancelled = await call_ok(client, "cancel_run", {"run_id": started["run_id"]})
            assert cancelled["status"] == "cancelled"
            again = await call_ok(client, "get_run", {"run_id": started["run_id"]})
            assert again["status"] == "cancelled"
            await wait_until(lambda: fake.open_streams == 0)
    assert fake.closed_early == 1


async def test_cancelling_the_mcp_request_cancels_its_run(mode: str) -> None:
    fake = FakeOpenAI(chunk_delay=0.2)
    with serve(fake.app) as url:
        async with connect(model_settings(url), mode) as client:
            agent = await local_agent(client)
            with anyio.move_on_after(0.5):
                await client.call_tool("chat", {"agent": agent, "message": "hi"})
            await wait_until(lambda: fake.open_streams == 0)
            listed = await call_ok(client, "list_conversations", {})
    assert fake.closed_early == 1
    assert listed["items"][0]["message_count"] == 1  # the question is kept, no half answer


async def test_an_unknown_run_id_says_how_long_runs_are_kept() -> None:
    text = await error_once(make_settings(), "get_run", {"run_id": "nope"})
    assert "no run 'nope'" in text and "kept for" in text


async def test_finished_runs_beyond_the_kept_count_are_forgotten() -> None:
    settings = make_settings(server={"run_keep_count": 2})
    async with connect(settings) as client:
        agent = await call_ok(
            client, "create_agent", {"backend": "local", "name": "A", "model": "echo"}
        )
        results: list[CallToolResult] = [
            await client.call_tool("chat", {"agent": agent["ref"], "message": str(i)})
            for i in range(4)
        ]
        run_ids = [ok(r)["run_id"] for r in results]
        assert await call_error(client, "get_run", {"run_id": run_ids[0]})
        assert (await call_ok(client, "get_run", {"run_id": run_ids[-1]}))["text"]


async def test_defect_15_runs_a_killed_server_left_running_are_marked_failed_on_start(
    tmp_path: Path,
) -> None:
    database = tmp_path / "agentdeck.db"
    before = SqliteStore(str(database))
    for run_id in ("finished", "left-running"):
        await before.record_run_start(
            RunStart(
                run_id=run_id, backend="local", agent_id="a", conversation_id="c", message=run_id
            )
        )
    await before.record_run_end(
        RunEnd("finished", status="completed", text="ok", error=None, conversation_id="c")
    )
    before.close()  # like a process killed mid-run: the row stays 'running'

    async with connect(make_settings(database=str(database))) as client:
        await call_ok(client, "list_backends", {})

    after = SqliteStore(str(database))
    runs = {r["id"]: r for r in await after.history_runs("local", "c")}
    after.close()
    assert runs["left-running"]["status"] == "failed"
    assert "the server stopped during this run" in runs["left-running"]["error"]
    assert runs["left-running"]["finished_at"]
    assert (runs["finished"]["status"], runs["finished"]["error"]) == ("completed", None)


async def test_finished_runs_past_their_keep_time_are_forgotten() -> None:
    """Speed stays: pruning reads only the oldest ends, and still forgets every run kept
    past ``run_keep_seconds`` at the next chat, the newest kept."""
    async with connect(make_settings(server={"run_keep_seconds": 0.3})) as client:
        agent = await call_ok(
            client, "create_agent", {"backend": "local", "name": "A", "model": "echo"}
        )
        chat = {"agent": agent["ref"], "message": "hi"}
        first = (await call_ok(client, "chat", chat))["run_id"]
        assert (await call_ok(client, "get_run", {"run_id": first}))["text"]
        await anyio.sleep(0.4)
        last = (await call_ok(client, "chat", chat))["run_id"]
        assert "no run" in (await call_error(client, "get_run", {"run_id": first}))
        assert (await call_ok(client, "get_run", {"run_id": last}))["text"]


def run_status(database: Path, run_id: str) -> str | None:
    with closing(sqlite3.connect(database)) as reader:
        row = reader.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None


async def test_a_run_is_in_the_history_before_its_id_is_handed_out(
    served: Served, tmp_path: Path
) -> None:
    """A chat still running when its wait ends has its row written before the answer names
    it; one that ends within its wait has its row written whole, with its end."""
    database = tmp_path / "agentdeck.db"
    url = served(FakeOpenAI(chunk_delay=0.1))
    local = {"model": "openai", "openai_base_url": f"{url}/v1", "openai_model": "slow"}
    settings = make_settings(database=str(database), local={**local, **FAST_HTTP})
    async with connect(settings) as client:
        agent = await local_agent(client)
        chat = {"agent": agent, "message": "hi"}
        running = await call_ok(client, "chat", {**chat, "wait_seconds": 0.3})
        assert running["status"] == "running"
        assert run_status(database, running["run_id"]) == "running"
        await call_ok(client, "get_run", {"run_id": running["run_id"], "wait_seconds": 10})
        assert run_status(database, running["run_id"]) == "completed"
        whole = await call_ok(client, "chat", {**chat, "wait_seconds": 10})
        assert whole["status"] == "completed"
        assert run_status(database, whole["run_id"]) == "completed"


def test_a_pause_key_reads_back_from_the_text_an_input_round_carries() -> None:
    approval = PauseKey.of(ApprovalRequired(approval_id="a:1"))
    question = PauseKey.of(QuestionAsked(question_id="q-7", question="Which one?"))
    assert (approval, question) == (PauseKey("approval", "a:1"), PauseKey("question", "q-7"))
    assert [PauseKey.parse(str(key)) for key in (approval, question)] == [approval, question]
    assert [PauseKey.parse(text) for text in ("tool:x", "approval:", "question", "")] == [None] * 4
