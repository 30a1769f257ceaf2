"""Issue 18.6 and 18.12: slow or abandoned HTTP clients cannot hold `agentdeck serve` hostage.

A real `agentdeck serve --transport http` with small limits, spoken to over raw sockets
on 127.0.0.1 where a well-behaved HTTP client would not misbehave enough.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.reliability.subprocesses import HttpServer
from tests.support import INITIALIZE, call_ok

pytestmark = pytest.mark.anyio

READ_TIMEOUT = 1.0
MAX_CONNECTIONS = 6
SESSION_IDLE = 1.0
MAX_SESSIONS = 2
SLACK = 2.0  # how late a timer may fire on a loaded machine
CONFIG = f"""
[server]
http_read_timeout_seconds = {READ_TIMEOUT}
http_max_connections = {MAX_CONNECTIONS}
http_session_idle_seconds = {SESSION_IDLE}
http_max_sessions = {MAX_SESSIONS}

[backends.local]
kind = "local"
database = ":memory:"
model = "echo"
"""
HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def server(tmp_path: Path) -> HttpServer:
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG)
    return HttpServer(config)


def connect(server: HttpServer, sent: bytes) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(sent)
    return sock


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection; fails past ``deadline``
    (a ``time.monotonic()`` value)."""
    received = b""
    with sock:
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                raise AssertionError(f"the connection is still open; got {received!r}") from None
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


def test_18_6_slow_requests_are_closed_in_time_and_connections_are_capped(
    server: HttpServer,
) -> None:
    """18.6: a connection whose headers (or body) stop arriving is closed within the read
    timeout, headers answered 408; past the connection cap a new connection is answered
    503 at once, while a kept-alive connection still gets /healthz; once the slow ones are
    closed, new clients are served again."""
    with server, httpx2.Client(base_url=server.url) as kept:
        assert kept.get("/healthz").status_code == 200
        started = time.monotonic()
        half_headers = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz"
        slow = [connect(server, half_headers) for _ in range(MAX_CONNECTIONS - 2)]
        half_body = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 90\r\n\r\n{"
        slow_body = connect(server, half_body)

        refused = read_until_closed(connect(server, b""), time.monotonic() + 1.0)
        assert refused.startswith(b"HTTP/1.1 503 "), refused
        assert kept.get("/healthz").status_code == 200

        deadline = started + READ_TIMEOUT + SLACK
        for sock in slow:
            assert read_until_closed(sock, deadline).startswith(b"HTTP/1.1 408 ")
        read_until_closed(slow_body, deadline)
        assert time.monotonic() - started >= READ_TIMEOUT * 0.9  # the timeout, not a refusal
        assert httpx2.get(f"{server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(("hard", "room"), [(None, 1000), (400, 400 - 256)])
def test_18_6_the_connection_cap_fits_the_open_file_limit(hard: int | None, room: int) -> None:
    """18.6: the soft open-file limit is raised to fit the connection cap (with room for
    the database and backends); where the hard limit forbids it, the cap shrinks to fit,
    so accept() never fails for want of descriptors."""
    import resource

    current = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard is None and current != resource.RLIM_INFINITY and current < 1256:
        pytest.skip("the hard open-file limit is below what the test raises to")
    limit = hard or current
    script = (
        "import resource\n"
        "from agentdeck.server.transport import fit_open_files\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, (300, {limit}))\n"
        "print(fit_open_files(1000), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    fitted, soft = map(int, result.stdout.split())
    assert fitted == room, result.stderr
    assert soft == (hard or 1256)


async def test_18_12_idle_sessions_end_and_free_room_for_new_clients(server: HttpServer) -> None:
    """18.12: a 2025-11-25 session with no request in flight closes after the idle timeout
    (its id then answers 404), so a cap full of abandoned sessions (503 for a newcomer)
    frees itself; 2026-07-28 clients hold no session and are served meanwhile."""
    with server, anyio.fail_after(30):
        async with httpx2.AsyncClient(base_url=server.url, headers=HEADERS, timeout=5) as http:
            opened = [await http.post("/mcp", json=INITIALIZE) for _ in range(MAX_SESSIONS)]
            assert [answer.status_code for answer in opened] == [200] * MAX_SESSIONS
            assert (await http.post("/mcp", json=INITIALIZE)).status_code == 503
            started = time.monotonic()

            async with Client(streamable_http_client(f"{server.url}/mcp")) as modern:
                assert (await call_ok(modern, "list_backends", {}))["backends"]

            # a request without a session is admitted, refused and forgotten once there is room
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            while (await http.post("/mcp", json=ping)).status_code == 503:
                assert time.monotonic() - started < SESSION_IDLE + SLACK, "no session expired"
                await anyio.sleep(0.05)
            assert time.monotonic() - started >= SESSION_IDLE * 0.5
            abandoned = opened[0].headers["mcp-session-id"]
            headers = {"mcp-session-id": abandoned, "mcp-protocol-version": "2025-11-25"}
            assert (await http.post("/mcp", json=ping, headers=headers)).status_code == 404

        async with Client(streamable_http_client(f"{server.url}/mcp"), mode="legacy") as legacy:
            assert (await call_ok(legacy, "list_backends", {}))["backends"]
