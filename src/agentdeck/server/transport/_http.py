"""Streamable HTTP: ``/mcp`` and ``/healthz``, with a bearer token and Host/Origin checks.

``/healthz`` answers 200 once the server has started and its database answers, else
503: what a load balancer needs to route around a replica that cannot serve.

Binding a non-loopback address requires a token (``--token`` or
``AGENTDECK_HTTP_TOKEN``) of at least 16 characters, or ``[server.auth]`` (OAuth 2.1, each
user with their own access token: ``server.oauth``); requests without a valid one
get 401. The two are exclusive: one person, or many. The SDK's DNS-rebinding
protection answers 421 to a Host header that is not on the allow-list: by
default the loopback names, plus the bound host for other addresses.

Slow clients, connections and sessions are bounded by the ``[server] http_*`` settings:
the sessions here, the connections in ``_limits``.
"""

from __future__ import annotations

import errno
import hmac
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.config import AuthSettings, ServerSettings
from agentdeck.errors import AgentdeckError, ConfigError, DatabaseError
from agentdeck.server.sdk_seams import event_store_per_session
from agentdeck.server.transport._limits import fit_open_files, guarded_protocol
from agentdeck.server.transport._stream_events import RETRY_MILLISECONDS, StreamEvents
from agentdeck.store import Store

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_PUBLIC_TOKEN_LENGTH = 16
_OPEN_PATHS = frozenset({"/healthz"})
_HEALTH_TIMEOUT = 10.0


def health_endpoint(
    store: Callable[[], Store | None],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The ``/healthz`` handler; ``store`` gives the running server's store (None before start)."""

    async def healthz(_: Request) -> JSONResponse:
        current = store()
        if current is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            with anyio.fail_after(_HEALTH_TIMEOUT):
                await current.ping()
        except DatabaseError as exc:
            return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
        except TimeoutError:
            problem = f"no answer within {_HEALTH_TIMEOUT:g} s"
            return JSONResponse({"status": "unavailable", "database": problem}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return healthz


class BearerTokenMiddleware:
    """Rejects every request but ``/healthz`` that lacks ``Authorization: Bearer <token>``.

    The scheme matches in any case (RFC 7235); two Authorization headers are a 400, since
    which one a proxy or framework honours differs; the token comparison is constant-time.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _OPEN_PATHS:
            supplied = [value for name, value in scope["headers"] if name == b"authorization"]
            if len(supplied) > 1:
                response = JSONResponse(
                    {"error": "bad_request", "message": "Send one Authorization header."},
                    status_code=400,
                )
                await response(scope, receive, send)
                return
            if not supplied or not self._accepts(supplied[0]):
                response = JSONResponse(
                    {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="agentdeck"'},
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _accepts(self, header: bytes) -> bool:
        scheme, _, credentials = header.strip().partition(b" ")
        matches = hmac.compare_digest(credentials.strip(), self._token)
        return scheme.lower() == b"bearer" and matches


def transport_security(host: str, allowed_hosts: list[str]) -> TransportSecuritySettings:
    hosts = [f"{name}:*" for name in ("127.0.0.1", "localhost", "[::1]")]
    if host not in LOOPBACK_HOSTS and host not in ("0.0.0.0", "::"):
        hosts.append(f"{host}:*")
    hosts += allowed_hosts
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def build_http_app(
    server: MCPServer[Any],
    *,
    host: str,
    token: str | None,
    allowed_hosts: list[str] | None = None,
    stateless: bool = False,
    limits: ServerSettings | None = None,
    events: StreamEvents | None = None,
) -> ASGIApp:
    """The ASGI app serving ``server`` at ``/mcp``; refuses a public bind without a token.

    ``limits`` bound the sessions: how long one may idle and how many may be open. With
    ``events``, the streams of stateful sessions are resumable (``Last-Event-ID``).
    """
    limits = limits or ServerSettings()
    if limits.auth is not None and token:
        raise ConfigError(
            "[server.auth] and a static token (--token or AGENTDECK_HTTP_TOKEN) both say who "
            "may connect: use [server.auth] for many users, the token for one; not both."
        )
    if host not in LOOPBACK_HOSTS and not token and limits.auth is None:
        raise ConfigError(
            f"refusing to serve on {host} without a bearer token: anyone who can reach it "
            "could use every configured backend. Pass --token or set AGENTDECK_HTTP_TOKEN, "
            "or configure [server.auth] (OAuth)."
        )
    if host not in LOOPBACK_HOSTS and token and len(token) < MIN_PUBLIC_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to serve on {host} with a bearer token shorter than "
            f"{MIN_PUBLIC_TOKEN_LENGTH} characters: it could be guessed. Use a longer one, "
            "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )

    app: ASGIApp = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=stateless,
        transport_security=transport_security(host, allowed_hosts or []),
        host=host,
        session_idle_timeout=limits.http_session_idle_seconds,
        max_sessions=limits.http_max_sessions,
        retry_interval=RETRY_MILLISECONDS if events else None,
    )
    if events is not None and not stateless:
        event_store_per_session(server, events.for_session)
    if token:
        app = BearerTokenMiddleware(app, token)
    if limits.auth is not None:
        app = _protected(app, server, limits.auth)
    return app


def _protected(app: ASGIApp, server: MCPServer[Any], settings: AuthSettings) -> ASGIApp:
    """``app`` as an OAuth resource server; the token and JOSE code is loaded only here."""
    from agentdeck.server.oauth import protect, verifier_for

    policy = getattr(server, "scope_policy", None)
    if policy is None:
        raise ConfigError("[server.auth] is set but the server was built without it")
    return protect(app, settings, policy, verifier_for(settings))


class _AppFirstServer(uvicorn.Server):
    """A uvicorn server that, on SIGINT/SIGTERM, ends the application before draining.

    uvicorn waits for open connections before it shuts the application down, but an MCP
    session's streams (a chat in flight, a client's GET stream) stay open until the
    application ends them: shutdown waited for the grace period and then cancelled them
    with a traceback. Ending the lifespan first cancels the runs in flight (closing their
    upstream connections) and closes the store, after which the connections drain at once.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if not self.force_exit:
            await self.lifespan.shutdown()  # a second call by uvicorn returns at once
        await super().shutdown(sockets)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, before anything says the server is up; one that
    cannot be had (the port taken, the address not this machine's) is a one-line error.
    Clients connecting before the server accepts wait in the socket's backlog.

    It is made a TCP socket by name: asyncio turns Nagle's algorithm off (``TCP_NODELAY``)
    only on connections whose socket says so. Left on, an SSE event written after the
    response headers (the priming event, a progress notification, the answer) waited for
    the client's delayed acknowledgement of the headers, up to 40 ms on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = (
            f"port {port} on {host} is already in use (another agentdeck, or another program)"
            if exc.errno == errno.EADDRINUSE
            else f"cannot listen on {host}:{port} ({exc.strerror or exc})"
        )
        raise AgentdeckError(
            f"nothing is serving: {reason}. Pick another port with --port"
            + ("." if exc.errno == errno.EADDRINUSE else ", or another address with --host.")
        ) from exc
    return sock


def serve_http(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    log_level: str,
    limits: ServerSettings | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then stop within about a second; on ``sock``
    when given (already listening on ``host:port``).

    ``limits`` bound the connections (see ``_limits``).
    """
    limits = limits or ServerSettings()
    protocol = guarded_protocol(
        limits.http_read_timeout_seconds, fit_open_files(limits.http_max_connections)
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=1,
        http=protocol,
    )
    _AppFirstServer(config).run(sockets=[sock] if sock else None)
