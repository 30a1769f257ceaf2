"""What OAuth (``[server.auth]``) costs, beside the static ``--token`` measured in the same run.

    python bench/oauth.py [--sessions 50] [--rounds 2] [--requests 5000]

- ``verify``: the authentication of one request in the server process, in-process ASGI
  calls to a trivial app behind each guard: the static token's middleware, and the
  OAuth stack (the SDK's authentication middleware, our JWT verifier with the issuer's
  key set cached, the scope gate) with an RS256 token; and how often the key set was
  fetched meanwhile (the goal: under 0.2 ms a request, no network per request).
- ``sessions``: ``agentdeck serve --transport http`` as a subprocess, once per mode;
  ``--sessions`` clients connect at once (each with its own user's token under OAuth)
  and each streams one chat from a local agent on a fake model sending a delta every
  50 ms; p50/p99 from a delta leaving the model to its progress notification arriving
  at the client, and the server's RSS after.

The issuer is the test authorization server (``tests/server/oauth_issuer.py``) and the model a
fake, both on 127.0.0.1 in this process; every client too, so on a small machine the
clients' own work shows in the latencies: read the two modes side by side. Numbers are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from contenders import memory_of
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agentdeck.config import AuthSettings
from agentdeck.server.oauth import JwtVerifier, ScopePolicy, protect
from agentdeck.server.transport import BearerTokenMiddleware
from tests.fakes.base import serve
from tests.server.oauth_issuer import SCOPES, TestIssuer

STATIC_TOKEN = "bench-static-token-0123456789"
DELTAS = 10
DELTA_SECONDS = 0.05
_STAMP = re.compile(r"t(\d+\.\d+)")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# ---- verify ---------------------------------------------------------------------------


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _per_request(app: ASGIApp, tokens: list[str], requests: int) -> float:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    scopes = [
        {
            "type": "http",
            "method": "POST",
            "path": "/mcp",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "query_string": b"",
        }
        for token in tokens
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for i in range(requests):
        await app(dict(scopes[i % len(scopes)]), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / requests


async def section_verify(requests: int) -> None:
    print(f"\n## Authenticating one request ({requests} requests, in process)")
    with TestIssuer().running() as issuer:
        audience = "http://127.0.0.1:9/mcp"
        settings = AuthSettings(issuer=issuer.url, audience=audience, jwks_url=f"{issuer.url}/jwks")
        policy = ScopePolicy.of(settings, [])
        oauth = protect(_ok, settings, policy, JwtVerifier(settings))
        token = [issuer.mint(issuer.claims("alice", SCOPES, audience))]
        static = BearerTokenMiddleware(_ok, STATIC_TOKEN)
        await _per_request(oauth, token, 10)  # fetches the key set once
        fetched = issuer.jwks_fetches
        rounds: dict[str, list[float]] = {"static token": [], "OAuth JWT": [], "first sight": []}
        each = requests // 5
        for _ in range(5):  # interleaved
            fresh = [
                issuer.mint(issuer.claims("u", SCOPES, audience, jti=uuid.uuid4().hex))
                for _ in range(200)
            ]
            rounds["static token"].append(await _per_request(static, [STATIC_TOKEN], each))
            rounds["OAuth JWT"].append(await _per_request(oauth, token, each))
            rounds["first sight"].append(await _per_request(oauth, fresh, len(fresh)))
        for name, values in rounds.items():
            print(f"  {name:14} {statistics.median(values) * 1e6:8.1f} µs a request")
        print("  (first sight: each token new, its signature checked; then it is remembered)")
        print(f"  key set fetched during the run: {issuer.jwks_fetches - fetched} times")


# ---- sessions -------------------------------------------------------------------------


def _model() -> Starlette:
    """An OpenAI-style model streaming ``DELTAS`` deltas, each naming when it was sent."""

    async def completions(request: Request) -> StreamingResponse:
        await request.body()

        async def deltas() -> AsyncIterator[bytes]:
            for _ in range(DELTAS):
                await anyio.sleep(DELTA_SECONDS)
                delta = {"content": f" t{time.perf_counter():.6f}"}
                yield f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\n".encode()
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode()

        return StreamingResponse(deltas(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _config(folder: Path, model: str, auth: str) -> Path:
    path = folder / "agentdeck.toml"
    path.write_text(
        f'{auth}\n[backends.local]\nkind = "local"\ndatabase = "{folder / "local.db"}"\n'
        f'model = "openai"\nopenai_base_url = "{model}/v1"\nopenai_model = "b"\n'
    )
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _one_session(url: str, token: str, delays: list[float], failed: list[str]) -> None:
    """One user's session: makes their own local agent (under OAuth an agent is its
    maker's), then streams one chat with it."""

    async def on_progress(progress: float, total: float | None, text: str | None) -> None:
        stamps = _STAMP.findall(text or "")
        if stamps:
            delays.append(time.perf_counter() - float(stamps[-1]))

    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            made = await client.call_tool("create_agent", {"backend": "local", "name": "Bench"})
            agent = made.structured_content["ref"]  # type: ignore[index]
            await client.call_tool(
                "chat", {"agent": agent, "message": "go"}, progress_callback=on_progress
            )
    except Exception as exc:  # counted and shown: a loaded machine may time one out
        failed.append(repr(exc)[:200])


async def _sessions(url: str, tokens: list[str], failed: list[str]) -> list[float]:
    delays: list[float] = []
    async with anyio.create_task_group() as group:
        for token in tokens:
            group.start_soon(_one_session, url, token, delays, failed)
    return delays


async def _serve_and_chat(
    folder: Path, model: str, issuer: TestIssuer, mode: str, count: int, failed: list[str]
) -> tuple[list[float], dict[str, float]]:
    """One server in ``mode``, ``count`` sessions chatting at once: the delays, its RSS."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    auth, extra = "", ["--token", STATIC_TOKEN]
    tokens = [STATIC_TOKEN] * count
    if mode == "OAuth JWT":
        auth = f'[server.auth]\nissuer = "{issuer.url}"\naudience = "{url}"\n'
        extra = []
        tokens = [issuer.mint(issuer.claims(f"user-{i}", SCOPES, url)) for i in range(count)]
    command = [sys.executable, "-m", "agentdeck", "serve"]
    command += ["--config", str(_config(folder, model, auth))]
    command += ["--transport", "http", "--port", str(port), *extra]
    env = {k: v for k, v in os.environ.items() if k != "AGENTDECK_HTTP_TOKEN"}
    async with await anyio.open_process(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            await _ready(url, tokens[0])
            delays = await _sessions(url, tokens, failed)
            return delays, memory_of(process.pid)
        finally:
            process.terminate()


async def section_sessions(count: int, rounds: int) -> None:
    print(
        f"\n## {count} sessions at once, each streaming one chat (a delta every 50 ms), "
        f"{rounds} rounds per mode, interleaved"
    )
    delays: dict[str, list[float]] = {"static token": [], "OAuth JWT": []}
    rss: dict[str, float] = dict.fromkeys(delays, 0.0)
    failed: dict[str, list[str]] = {mode: [] for mode in delays}
    with (
        tempfile.TemporaryDirectory() as scratch,
        serve(_model()) as model,
        TestIssuer().running() as issuer,
    ):
        for round_ in range(rounds):
            for mode in delays:
                folder = Path(scratch) / f"{mode.replace(' ', '-')}-{round_}"
                folder.mkdir()
                got, memory = await _serve_and_chat(
                    folder, model, issuer, mode, count, failed[mode]
                )
                delays[mode] += got
                rss[mode] = max(rss[mode], memory["VmHWM"])
    for mode, values in delays.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"  {mode:14} delta->progress p50 {ms(statistics.median(values))}  p99 {ms(p99)}"
            f"  ({len(values)} deltas)  server peak RSS {rss[mode]:.0f} MB"
            + (f"  {len(failed[mode])} sessions failed: {failed[mode][0]}" if failed[mode] else "")
        )


async def _ready(url: str, token: str) -> None:
    """Waits for the server, then sends it one authenticated request: under OAuth that
    fetches the issuer's keys before the sessions start (the issuer shares this busy
    process with the clients)."""
    async with httpx2.AsyncClient(timeout=30) as http:
        with anyio.fail_after(60):
            while True:
                try:
                    if (await http.get(url.replace("/mcp", "/healthz"))).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                await anyio.sleep(0.1)
        ping = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        }
        await http.post(url, json=ping, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--only", choices=["verify", "sessions"])
    args = parser.parse_args()
    if args.only in (None, "verify"):
        anyio.run(section_verify, args.requests)
    if args.only in (None, "sessions"):
        anyio.run(section_sessions, args.sessions, args.rounds)


if __name__ == "__main__":
    main()
