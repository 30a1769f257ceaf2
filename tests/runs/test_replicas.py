"""Several `agentdeck serve --transport http --stateless` replicas sharing one database.

The replicas are real subprocesses on their own ports, started at the same moment
on an empty database, so they also race to create the schema. With PostgreSQL that
is the deployment docs/deploy.md describes; with one SQLite file it is two
processes on one machine, which the SQLite store supports too.
"""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CreateMessageResult, TextContent

from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.runs.replicas import SLOW_MODEL_CONFIG, client, replica_processes, replicas, until
from tests.support import call_ok, conversation_id, error_text, two_turns

pytestmark = pytest.mark.anyio

CONFIG = """
[server]
database = "${AGENTDECK_TEST_DATABASE}"

[backends.local]
kind = "local"
model = "echo"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    return request.getfixturevalue("postgres_url")


async def test_what_one_replica_writes_every_replica_reads(
    shared_database: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG)
    with replicas(config, shared_database, 2) as (a, b), anyio.fail_after(60):
        health = [httpx2.get(f"{base}/healthz").json() for base in (a, b)]
        assert health == [{"status": "ok", "database": "ok"}] * 2
        async with client(a) as on_a, client(b) as on_b:
            agent = await call_ok(
                on_a, "create_agent", {"backend": "local", "name": "Shared", "model": "echo"}
            )
            listed = await call_ok(on_b, "list_agents", {"backend": "local"})
            assert [item["ref"] for item in listed["items"]] == [agent["ref"]]

            first, second = await two_turns(on_b, agent["ref"], "apples", "pears", then=on_a)
            assert second["text"] == "You said: pears (turn 2; earlier you said: apples)"

            seen = []
            for replica in (on_a, on_b):
                conversation = await call_ok(
                    replica, "get_conversation", {"conversation": first["conversation"]}
                )
                transcript = await replica.read_resource(
                    f"agentdeck://local/conversations/{conversation_id(first)}"
                )
                conversations = await call_ok(replica, "list_conversations", {})
                seen.append((conversation, transcript.contents[0].text, conversations))
    assert seen[0] == seen[1]
    conversation, transcript, conversations = seen[0]
    assert [m["content"] for m in conversation["messages"]] == [
        "apples",
        "You said: apples",
        "pears",
        second["text"],
    ]
    assert "You said: apples" in transcript and second["text"] in transcript
    assert [c["id"] for c in conversations["items"]] == [conversation_id(first)]


async def test_health_reports_a_database_that_stopped_answering(
    postgres_server: str, tmp_path: Path
) -> None:
    import psycopg

    database = f"replica_health_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = postgres_server.rsplit("/", 1)[0] + f"/{database}"
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG)
    with replicas(config, url, 1) as (base,):
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {database} WITH (FORCE)")
        answer = httpx2.get(f"{base}/healthz", timeout=20)
    assert answer.status_code == 503
    body = json.loads(answer.text)
    assert body["status"] == "unavailable" and database in body["database"]


@pytest.fixture
def slow_model() -> Iterator[tuple[FakeOpenAI, str]]:
    """A model answering one word every 0.15 s, and its URL."""
    fake = FakeOpenAI(chunk_delay=0.15)
    with serve(fake.app) as url:
        yield fake, url


async def test_a_run_started_on_one_replica_is_followed_and_cancelled_from_the_others(
    shared_database: str, tmp_path: Path, slow_model: tuple[FakeOpenAI, str]
) -> None:
    """PostgreSQL: three replicas, each call on another. SQLite (one replica): the same calls."""
    fake, model_url = slow_model
    config = tmp_path / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG)
    count = 1 if shared_database.endswith(".db") else 3
    env = {"AGENTDECK_TEST_MODEL": model_url}
    with replicas(config, shared_database, count, env) as bases, anyio.fail_after(60):
        a, b, c = (bases * 3)[:3]
        async with client(a) as on_a, client(b) as on_b, client(c) as on_c:
            agent = await call_ok(on_a, "create_agent", {"backend": "local", "name": "Slow"})

            started = await call_ok(
                on_a, "chat", {"agent": agent["ref"], "message": "plums", "wait_seconds": 0}
            )
            assert started["status"] == "running"
            progress: list[str] = []

            async def heard(step: float, total: float | None, message: str | None) -> None:
                progress.append(message or "")

            finished = await call_ok(
                on_c,
                "get_run",
                {"run_id": started["run_id"], "wait_seconds": 30},
                progress_callback=heard,
            )
            expected = "[tiny-llama] heard 'plums' after 0 earlier messages"
            assert finished["status"] == "completed" and finished["text"] == expected
            assert finished["conversation"] is not None
            assert progress and "".join(progress) in expected  # what streamed after C joined

            fake.next_stream = "hang"  # two words, then nothing until the client hangs up
            hanging = await call_ok(
                on_a, "chat", {"agent": agent["ref"], "message": "figs", "wait_seconds": 0}
            )
            await until(lambda: fake.open_streams == 1)
            cancelled = await call_ok(on_b, "cancel_run", {"run_id": hanging["run_id"]})
            assert cancelled["status"] == "cancelled"
            await until(lambda: fake.open_streams == 0)  # the upstream connection is closed
            seen_on_c = await call_ok(on_c, "get_run", {"run_id": hanging["run_id"]})
            assert seen_on_c["status"] == "cancelled"


async def test_the_runs_of_a_killed_replica_fail_on_the_others_within_the_lease(
    postgres_url: str, tmp_path: Path, slow_model: tuple[FakeOpenAI, str]
) -> None:
    fake, model_url = slow_model
    fake.next_stream = "hang"
    config = tmp_path / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG)
    env = {"AGENTDECK_TEST_MODEL": model_url}
    with replica_processes(config, postgres_url, 2, env) as started, anyio.fail_after(60):
        (doomed, a), (_, b) = started
        async with client(b) as on_b:
            agent = await call_ok(on_b, "create_agent", {"backend": "local", "name": "Doomed"})
            async with client(a) as on_a:
                run = await call_ok(
                    on_a, "chat", {"agent": agent["ref"], "message": "kiwis", "wait_seconds": 0}
                )
            await until(lambda: fake.open_streams == 1)
            doomed.kill()
            doomed.wait()
            ended = await on_b.call_tool("get_run", {"run_id": run["run_id"], "wait_seconds": 20})
    # the run had streamed nothing yet or only its first words: a failure either way
    said = ended.structured_content if not ended.is_error else {"error": error_text(ended)}
    assert said.get("status", "failed") == "failed"
    assert "the replica running this chat stopped" in said["error"]


async def test_an_input_round_asked_on_one_replica_is_answered_on_another(
    postgres_url: str, tmp_path: Path
) -> None:
    """2026-07-28: the sampling round's state is sealed on A and unsealed on B."""
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG.replace('model = "echo"', 'model = "sampling"'))
    asked_on: list[str] = []

    async def sampling(context: Any, params: Any) -> CreateMessageResult:
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="sampled"), model="m"
        )

    with replicas(config, postgres_url, 2) as (a, b), anyio.fail_after(60):
        transport = AlternatingTransport([a, b], asked_on)
        async with (
            httpx2.AsyncClient(timeout=30, transport=transport) as http,
            Client(
                streamable_http_client(f"{a}/mcp", http_client=http),
                mode="auto",
                sampling_callback=sampling,
            ) as alternating,
        ):
            agent = await call_ok(alternating, "create_agent", {"backend": "local", "name": "S"})
            asked_on.clear()
            answer = await call_ok(alternating, "chat", {"agent": agent["ref"], "message": "?"})
    assert answer["text"] == "sampled"
    assert len(set(asked_on)) == 2  # the round and its answer went to different replicas


class AlternatingTransport(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica in turn, noting which one got each tool call."""

    def __init__(self, bases: list[str], tool_calls_to: list[str]) -> None:
        self._ports = [httpx2.URL(base).port for base in bases]
        self._turn = 0
        self._tool_calls_to = tool_calls_to
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self._ports[self._turn % len(self._ports)]
        self._turn += 1
        request.url = request.url.copy_with(port=port)
        if b'"tools/call"' in request.content:
            self._tool_calls_to.append(str(port))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
