"""Replicas as real processes: `agentdeck serve --transport http --stateless` on ports of
their own, sharing one database, for the tests of runs shared between replicas and the
replica benchmark."""

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.pg import free_port

#: A local agent on a fake OpenAI-compatible model, and a short lease (a killed replica's
#: runs fail within about 2.7 s instead of 13).
SLOW_MODEL_CONFIG = """
[server]
database = "${AGENTDECK_TEST_DATABASE}"
lease_seconds = 2

[backends.local]
kind = "local"
model = "tiny-llama"
openai_base_url = "${AGENTDECK_TEST_MODEL}/v1"
"""


@contextmanager
def replicas(
    config: Path, database: str, count: int, env: dict[str, str] | None = None
) -> Iterator[list[str]]:
    """``count`` stateless HTTP replicas started together; their base URLs once all are healthy."""
    with replica_processes(config, database, count, env) as started:
        yield [base for _, base in started]


@contextmanager
def replica_processes(
    config: Path, database: str, count: int, extra_env: dict[str, str] | None = None
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """The replicas as (process, base URL) pairs, for tests that kill one."""
    env = {
        **os.environ,
        "AGENTDECK_CONFIG": "",
        "AGENTDECK_TEST_DATABASE": database,
        **(extra_env or {}),
    }
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
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
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


async def until(condition: Callable[[], bool], seconds: float = 15) -> None:
    """Return once ``condition()`` holds; fail after ``seconds``."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110 (the fake runs in another thread)
            await anyio.sleep(0.02)
