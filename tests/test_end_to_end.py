"""agentdeck as its users run it: `agentdeck serve` over stdio and over HTTP, as subprocesses."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters

from tests.support import call_ok, run_agentdeck

pytestmark = pytest.mark.anyio

CONFIG = """
[backends.local]
kind = "local"
database = "{database}"
model = "echo"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "agentdeck.toml"
    path.write_text(CONFIG.format(database=tmp_path / "local.db"))
    return path


def stdio_params(config: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentdeck", "serve", "--config", str(config)],
        env={**os.environ, "AGENTDECK_CONFIG": ""},
    )


async def test_stdio_server_keeps_what_it_answered_across_a_restart(config_file: Path) -> None:
    with anyio.fail_after(60):
        async with Client(stdio_params(config_file), mode="legacy") as client:
            agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Keeper"})
            reply = await call_ok(client, "chat", {"agent": agent["ref"], "message": "note"})
        async with Client(stdio_params(config_file)) as client:
            listed = await call_ok(client, "list_agents", {"backend": "local"})
            conversation = await call_ok(
                client, "get_conversation", {"conversation": reply["conversation"]}
            )
    assert [a["name"] for a in listed["items"]] == ["Keeper"]
    assert [m["content"] for m in conversation["messages"]] == ["note", "You said: note"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def http_server(
    config: Path, *extra: str, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentdeck",
            "serve",
            "--config",
            str(config),
            "--transport",
            "http",
            "--port",
            str(port),
            *extra,
        ],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()  # else a server still starting keeps stderr open: no EOF
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


async def test_http_server_requires_its_token_and_checks_the_host(config_file: Path) -> None:
    token = "http-test-token-123"
    with http_server(config_file, env={"AGENTDECK_HTTP_TOKEN": token}) as base:
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream"}
        assert httpx2.post(f"{base}/mcp", json=initialize, headers=headers).status_code == 401
        foreign = httpx2.post(
            f"{base}/mcp",
            json=initialize,
            headers={**headers, "Authorization": f"Bearer {token}", "Host": "evil.example:80"},
        )
        assert foreign.status_code == 421
        cross_site = httpx2.post(
            f"{base}/mcp",
            json=initialize,
            headers={
                **headers,
                "Authorization": f"Bearer {token}",
                "Origin": "https://evil.example",
            },
        )
        assert cross_site.status_code == 403
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=auth, timeout=30) as http:
            from mcp.client.streamable_http import streamable_http_client

            with anyio.fail_after(30):
                async with Client(
                    streamable_http_client(f"{base}/mcp", http_client=http)
                ) as client:
                    backends = await call_ok(client, "list_backends", {})
    assert [b["name"] for b in backends["backends"]] == ["local"]


def test_a_public_bind_without_a_token_refuses_to_start(config_file: Path) -> None:
    result = run_agentdeck(
        "serve",
        "--config",
        str(config_file),
        "--transport",
        "http",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
        env={k: v for k, v in os.environ.items() if k != "AGENTDECK_HTTP_TOKEN"},
    )
    assert result.returncode == 2
    assert "without a bearer token" in result.stderr


def test_check_and_tools_commands_describe_the_configuration(config_file: Path) -> None:
    check = run_agentdeck("check", "--config", str(config_file))
    assert check.returncode == 0, check.stderr
    assert "ok   local" in check.stdout and "default model 'echo'" in check.stdout
    tools = run_agentdeck("tools", "--read-only", "--config", str(config_file))
    assert "list_agents" in tools.stdout and "delete_agent" not in tools.stdout


def test_the_tools_command_lists_exposed_agents_as_tools(tmp_path: Path) -> None:
    from agentdeck.store import NewAgent, open_store

    database = tmp_path / "local.db"

    async def add_agent() -> None:
        async with open_store(str(database)) as store:
            await store.create_agent(
                NewAgent(
                    name="Travel Planner",
                    description=None,
                    instructions=None,
                    model="echo",
                    options={},
                )
            )

    anyio.run(add_agent)
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG.format(database=database) + "expose_agents = true\n")
    listed = run_agentdeck("tools", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "local_travel_planner" in listed.stdout and "agent tool" in listed.stdout
