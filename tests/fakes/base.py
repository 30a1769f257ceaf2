"""What every fake shares: serving over real HTTP, recording requests, injecting failures.

A fake is a :class:`FakePlatform` subclass that builds a Starlette app. Tests
serve it with :func:`serve` on a free 127.0.0.1 port, point agentdeck at the
URL, and afterwards read :attr:`FakePlatform.requests` to check what the
platform received (method, path, query, headers, JSON body).

Failures are queued with :meth:`FakePlatform.fail_next`; the next matching
request gets that response instead of the real route, so a test can say
"the next call answers 429 with Retry-After: 1" without touching route code.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    raw_body: bytes = b""


@dataclass
class QueuedFailure:
    status: int
    body: Any
    headers: dict[str, str]
    path_contains: str | None
    remaining: int


@dataclass
class FakePlatform:
    """Base class: subclasses implement :meth:`routes` and keep their own state."""

    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[QueuedFailure] = field(default_factory=list)

    def build_app(self) -> Starlette:
        raise NotImplementedError

    @property
    def app(self) -> ASGIApp:
        return _RecordingMiddleware(self.build_app(), self)

    def fail_next(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests (whose path contains ``path_contains``) with this."""
        self._failures.append(QueuedFailure(status, body, headers or {}, path_contains, times))

    def clear_failures(self) -> None:
        """Drop the queued failures: the platform is healthy again."""
        self._failures.clear()

    def take_failure(self, path: str) -> QueuedFailure | None:
        for failure in self._failures:
            if failure.path_contains is None or failure.path_contains in path:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if path_contains in r.path and (method is None or r.method == method)
        ]


class _RecordingMiddleware:
    """Records each HTTP request and answers queued failures before the routes see it."""

    def __init__(self, app: ASGIApp, fake: FakePlatform) -> None:
        self._app = app
        self._fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._fake.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                raw_body=raw,
            )
        )
        failure = self._fake.take_failure(request.url.path)
        if failure is not None:
            response: Response = (
                JSONResponse(failure.body, failure.status, headers=failure.headers)
                if failure.body is not None
                else Response(status_code=failure.status, headers=failure.headers)
            )
            await response(scope, receive, send)
            return

        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)


class _FakeServer(uvicorn.Server):
    """uvicorn, started and stopped on events instead of its 0.1 s ticks and pauses.

    Tests start and stop hundreds of fakes; uvicorn's polling would cost each one
    about 0.2 s of nothing.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await super().startup(sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers, as uvicorn's first tick does
        assert self._stop is not None
        await self._stop.wait()

    def stop(self) -> None:
        """Ask the server (from another thread) to shut down."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        else:
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the listener and the connections, and end what is still streaming: the
        test that served it is over, so nobody waits for the rest."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        running = list(self.server_state.tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for server in self.servers:
            await server.wait_closed()
        if self.config.lifespan == "on":
            await self.lifespan.shutdown()


@contextmanager
def serve(app: ASGIApp, *, lifespan: bool = False) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a background thread; yield its base URL.
    With ``lifespan``, the app's lifespan runs too (agentdeck's own app in process)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="critical",
        lifespan="on" if lifespan else "off",
        timeout_graceful_shutdown=1,
    )
    server = _FakeServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not server.ready.wait(timeout=10):
            raise RuntimeError("fake server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        thread.join(timeout=5)
        sock.close()


Served = Callable[[FakePlatform], str]
"""The ``served`` fixture (tests/conftest.py): serves a fake until the test ends, gives its URL."""


class Swappable:
    """An app served before it is known: set ``app`` later, to each test's own fake behind one
    server for a module, or to an app that needs the server's base URL first."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


class StreamCut(Exception):
    """Raised inside a streaming body to drop the connection mid-stream, as a crashed upstream would."""


async def cut_off_after(chunks: list[str], delay: float = 0.0):
    """Stream ``chunks`` and then drop the connection without finishing the response."""
    import anyio

    for chunk in chunks:
        yield chunk.encode()
        if delay:
            await anyio.sleep(delay)
    raise StreamCut("the fake drops the connection here")
