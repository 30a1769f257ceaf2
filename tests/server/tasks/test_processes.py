"""Tasks across processes (issue 21): bound to their caller, durable across a restart,
and shared by replicas on PostgreSQL. The servers are real `agentdeck serve` processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.npm import JS
from tests.runs.replicas import SLOW_MODEL_CONFIG, replica_processes, until
from tests.server.tasks.client import CancelTask, TasksClient, get_task, raw_request, send
from tests.support import LOCAL_MODEL_CONFIG, call_ok
from tests.test_end_to_end import http_server

pytestmark = pytest.mark.anyio

SDK = JS / "node_modules" / "@modelcontextprotocol" / "sdk"
NODE = shutil.which("node")


@pytest.fixture
def slow_model():
    fake = FakeOpenAI(chunk_delay=0.2)
    with serve(fake.app) as url:
        yield fake, url


def write_config(tmp_path: Path, model_url: str) -> Path:
    config = tmp_path / "agentdeck.toml"
    config.write_text(LOCAL_MODEL_CONFIG.format(database=tmp_path / "shared.db", model=model_url))
    return config


@pytest.fixture
def config(tmp_path: Path, slow_model) -> Path:
    """agentdeck's config: the local backend on the slow model, the store in tmp_path."""
    return write_config(tmp_path, slow_model[1])


def stdio(config: Path) -> StdioServerParameters:
    args = ["-m", "agentdeck", "serve", "--config", str(config)]
    return StdioServerParameters(command=sys.executable, args=args, env={**os.environ})


async def start_task(client: Client, tasks: TasksClient, message: str = "hi") -> str:
    agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Slow"})
    await client.call_tool("chat", {"agent": agent["ref"], "message": message})
    assert tasks.created, "the slow chat was not answered with a task"
    return tasks.created[-1].task_id


async def test_a_task_is_invisible_to_another_stdio_server_on_the_same_file(
    config: Path,
) -> None:
    tasks = TasksClient(hand_back=True)
    async with (
        Client(stdio(config), extensions=[tasks]) as owner,
        Client(stdio(config), extensions=[TasksClient()]) as other,
    ):
        task_id = await start_task(owner, tasks)
        assert (await get_task(owner.session, task_id))["status"] == "working"
        with pytest.raises(MCPError) as foreign:
            await get_task(other.session, task_id)
        with pytest.raises(MCPError) as unknown:
            await get_task(other.session, task_id[::-1])
    assert foreign.value.error.code == unknown.value.error.code == -32602
    assert foreign.value.error.message.replace(task_id, "X") == unknown.value.error.message.replace(
        task_id[::-1], "X"
    )


async def test_a_legacy_session_sees_only_its_own_tasks(config: Path) -> None:
    with http_server(config) as base:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as a,
            Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as b,
        ):
            agent = await call_ok(a, "create_agent", {"backend": "local", "name": "Slow"})
            params = {"name": "chat", "arguments": {"agent": agent["ref"], "message": "hi"}}
            created = await raw_request(a.session, "tools/call", {**params, "task": {}})
            task_id = created["task"]["taskId"]
            mine = await raw_request(a.session, "tasks/list", {})
            theirs = await raw_request(b.session, "tasks/list", {})
            with pytest.raises(MCPError) as foreign:
                await raw_request(b.session, "tasks/get", {"taskId": task_id})
            with pytest.raises(MCPError) as cancel:
                await raw_request(b.session, "tasks/cancel", {"taskId": task_id})
            await raw_request(a.session, "tasks/cancel", {"taskId": task_id})
    assert [t["taskId"] for t in mine["tasks"]] == [task_id]
    assert theirs["tasks"] == []
    assert foreign.value.error.code == cancel.value.error.code == -32602


async def test_a_task_of_a_killed_server_is_failed_after_the_restart(
    tmp_path: Path, config: Path
) -> None:
    tasks = TasksClient(hand_back=True)
    with replica_processes(config, str(tmp_path / "shared.db"), 1) as [(process, base)]:
        async with Client(f"{base}/mcp", extensions=[tasks]) as client:
            task_id = await start_task(client, tasks)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    with replica_processes(config, str(tmp_path / "shared.db"), 1) as [(_, base)]:
        async with Client(f"{base}/mcp", extensions=[TasksClient()]) as client:
            state = await get_task(client.session, task_id)
    assert state["status"] == "failed"
    assert "server stopped" in state["error"]["message"]


async def test_a_task_created_on_one_replica_is_read_and_cancelled_on_another(
    tmp_path: Path, slow_model, postgres_url: str
) -> None:
    fake, model_url = slow_model
    config = tmp_path / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG)
    tasks = TasksClient(hand_back=True)
    env = {"AGENTDECK_TEST_MODEL": model_url}
    with replica_processes(config, postgres_url, 2, env) as [(_, a), (_, b)]:
        async with (
            Client(f"{a}/mcp", extensions=[tasks]) as on_a,
            Client(f"{b}/mcp", extensions=[TasksClient()]) as on_b,
        ):
            task_id = await start_task(on_a, tasks)
            seen_on_b = await get_task(on_b.session, task_id)
            await until(lambda: fake.open_streams == 1)
            await send(on_b.session, CancelTask, task_id)
            with anyio.fail_after(15):
                while (await get_task(on_a.session, task_id))["status"] != "cancelled":  # noqa: ASYNC110 (polling is the protocol)
                    await anyio.sleep(0.1)
            await until(lambda: fake.open_streams == 0)
    assert seen_on_b["status"] == "working"
    assert fake.closed_early == 1


@pytest.mark.skipif(NODE is None or not SDK.is_dir(), reason="node or tests/js packages missing")
def test_the_typescript_client_drives_tasks_of_the_2025_form(tmp_path: Path) -> None:
    model = FakeOpenAI(chunk_delay=0.1)
    flow = FakeAgentFlow()
    flow.next_stream = "approval"
    with serve(model.app) as model_url, serve(flow.app) as flow_url:
        config = write_config(tmp_path, model_url)
        config.write_text(
            config.read_text()
            + f'\n[backends.flow]\nkind = "agentflow"\nbase_url = "{flow_url}"\ntoken = "test-token"\n'
        )
        command = [sys.executable, "-m", "agentdeck", "serve", "--config", str(config)]
        done = subprocess.run(
            [str(NODE), "tasks.mjs", *command],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["taskSupport"] == "optional"
    assert seen["kinds"] == ["taskCreated", "taskStatus", "result"]
    assert "heard 'hi'" in seen["text"]
    assert seen["asked"] == 1 and "approval denied (not now)" in seen["flowText"]
    assert seen["cancelled"] == "cancelled"
    assert "completed" in seen["statuses"]
