"""Defect 12: SIGINT and SIGTERM stop `agentdeck serve` on stdio and HTTP, quietly, cancelling
the runs in flight upstream and closing the store."""

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.reliability.subprocesses import (
    HttpServer,
    StdioServer,
    exit_code_within,
    wait_until,
)
from tests.support import call_ok

pytestmark = pytest.mark.anyio

STOP_BOUND = 10.0  # a hang detector, not a timing target
CONFIG = """
[backends.local]
kind = "local"
database = "{database}"
model = "openai"
openai_base_url = "{url}/v1"
openai_model = "slow-model"
"""


@pytest.fixture
def slow_model() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI(chunk_delay=2.0)  # a dozen words: the answer streams for ~25 s
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def config(tmp_path: Path, slow_model: tuple[FakeOpenAI, str]) -> Path:
    path = tmp_path / "agentdeck.toml"
    path.write_text(CONFIG.format(database=tmp_path / "local.db", url=slow_model[1]))
    return path


def stopped_by(stop: signal.Signals) -> tuple[int, ...]:
    """The exit codes of a deliberate stop: 0, the shell's 128+N, or the signal re-raised."""
    return (0, 128 + stop, -stop)


def assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


def assert_store_closed_cleanly(database: Path) -> None:
    """The store was closed: no WAL left behind, and the database reads as intact."""
    assert not database.with_name(database.name + "-wal").exists() or (
        database.with_name(database.name + "-wal").stat().st_size == 0
    )
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_defect_12_a_signal_stops_the_stdio_server_and_cancels_its_runs(
    config: Path, slow_model: tuple[FakeOpenAI, str], stop: signal.Signals
) -> None:
    fake, _ = slow_model
    server = StdioServer(config)
    try:
        server.initialize()
        agent = server.tool("create_agent", {"backend": "local", "name": "Slow"})
        server.send(
            "tools/call", {"name": "chat", "arguments": {"agent": agent["ref"], "message": "hi"}}
        )
        wait_until(lambda: fake.open_streams == 1, STOP_BOUND, "the model stream to open")
        server.process.send_signal(stop)
        code = exit_code_within(server.process, STOP_BOUND)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert code in stopped_by(stop)
    assert_quiet(server.stderr())
    wait_until(lambda: fake.closed_early == 1, STOP_BOUND, "the upstream stream to be closed")
    assert fake.open_streams == 0
    assert_store_closed_cleanly(config.parent / "local.db")


def test_defect_12_stdin_closing_still_ends_the_stdio_server(config: Path) -> None:
    server = StdioServer(config)
    server.initialize()
    server.stdin.close()
    assert exit_code_within(server.process, STOP_BOUND) == 0
    assert_quiet(server.stderr())


def test_the_client_closing_its_end_of_stdout_ends_the_stdio_server_quietly(
    config: Path,
) -> None:
    """A client gone before it read its answer: the server's write finds the wire closed
    and ends the server as stdin closing does, without a traceback."""
    server = StdioServer(config)
    server.initialize()
    assert server.process.stdout is not None
    server.process.stdout.close()
    server.send("ping")  # its answer meets the closed wire
    assert exit_code_within(server.process, STOP_BOUND) == 0
    assert_quiet(server.stderr())


async def chat_until_stopped(client: Client, agent: str) -> None:
    """A chat the server is stopped in the middle of (answered as cancelled, or cut off)."""
    with suppress(MCPError):
        await client.call_tool("chat", {"agent": agent, "message": "hi"})


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
async def test_defect_12_a_signal_stops_the_http_server_and_cancels_its_runs(
    config: Path, slow_model: tuple[FakeOpenAI, str], stop: signal.Signals
) -> None:
    fake, _ = slow_model
    with HttpServer(config) as server:
        with anyio.fail_after(30):
            async with (
                httpx2.AsyncClient(timeout=30) as http,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
                anyio.create_task_group() as group,
            ):
                agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Slow"})
                group.start_soon(chat_until_stopped, client, agent["ref"])
                await anyio.to_thread.run_sync(
                    wait_until, lambda: fake.open_streams == 1, STOP_BOUND, "the stream to open"
                )
                server.process.send_signal(stop)
                code = await anyio.to_thread.run_sync(exit_code_within, server.process, STOP_BOUND)
    assert code in stopped_by(stop)
    assert_quiet(server.stderr())
    wait_until(lambda: fake.closed_early == 1, STOP_BOUND, "the upstream stream to be closed")
