"""Several `agentdeck serve --transport http --stateless` replicas sharing one database.

The replicas are real subprocesses on their own ports, started at the same moment
on an empty database, so they also race to create the schema. With PostgreSQL that
is the deployment docs/deploy.md describes; with one SQLite file it is two
processes on one machine, which the SQLite store supports too.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.pg import free_port
from tests.support import conversation_id, ok

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


@contextmanager
def replicas(config: Path, database: str, count: int) -> Iterator[list[str]]:
    """``count`` stateless HTTP replicas started together; their base URLs once all are healthy."""
    env = {**os.environ, "AGENTDECK_CONFIG": "", "AGENTDECK_TEST_DATABASE": database}
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "agentdeck", "serve", "--config", str(config)),
                    *("--transport", "http", "--stateless", "--port", str(port)),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 60
        for process, base in started:
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
                time.sleep(0.05)
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()


def _healthy(base: str) -> bool:
    try:
        return httpx2.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


@asynccontextmanager
async def client(base: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as connected,
    ):
        yield connected


async def test_what_one_replica_writes_every_replica_reads(
    shared_database: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG)
    with replicas(config, shared_database, 2) as (a, b), anyio.fail_after(60):
        health = [httpx2.get(f"{base}/healthz").json() for base in (a, b)]
        assert health == [{"status": "ok", "database": "ok"}] * 2
        async with client(a) as on_a, client(b) as on_b:
            agent = ok(
                await on_a.call_tool(
                    "create_agent", {"backend": "local", "name": "Shared", "model": "echo"}
                )
            )
            listed = ok(await on_b.call_tool("list_agents", {"backend": "local"}))
            assert [item["ref"] for item in listed["items"]] == [agent["ref"]]

            first = ok(await on_b.call_tool("chat", {"agent": agent["ref"], "message": "apples"}))
            second = ok(
                await on_a.call_tool(
                    "chat",
                    {
                        "agent": agent["ref"],
                        "message": "pears",
                        "conversation": first["conversation"],
                    },
                )
            )
            assert second["text"] == "You said: pears (turn 2; earlier you said: apples)"

            seen = []
            for replica in (on_a, on_b):
                conversation = ok(
                    await replica.call_tool(
                        "get_conversation", {"conversation": first["conversation"]}
                    )
                )
                transcript = await replica.read_resource(
                    f"agentdeck://local/conversations/{conversation_id(first)}"
                )
                conversations = ok(await replica.call_tool("list_conversations", {}))
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
