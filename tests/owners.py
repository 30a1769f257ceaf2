"""Users for the tests of issue 23.2: agentdeck over HTTP in-process, behind the SDK's own
bearer authentication with a verifier that knows a few fixed tokens, one per user.

The real verifier (JWT, JWKS, introspection) is tested on its own; here only who the
caller is matters, and the SDK's middleware puts it where ``current_principal`` reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.types import ASGIApp

from agentdeck.config import Settings
from agentdeck.server import build_server
from agentdeck.server.transport import build_http_app
from tests.fakes.base import serve

ISSUER = "https://id.example.test/realms/team"
#: user (the subject) → their token; both come from one issuer and one OAuth client
USERS = {"alice": "token-of-alice", "bob": "token-of-bob"}


class FixedTokens:
    """A ``TokenVerifier`` that knows the tokens of :data:`USERS`."""

    async def verify_token(self, token: str) -> AccessToken | None:
        subject = next((user for user, known in USERS.items() if known == token), None)
        if subject is None:
            return None
        return AccessToken(
            token=token,
            client_id="one-client",
            scopes=["agentdeck:read", "agentdeck:chat", "agentdeck:manage"],
            subject=subject,
            claims={"iss": ISSUER},
        )


def with_users(app: ASGIApp) -> ASGIApp:
    """``app`` behind the SDK's bearer authentication, as the OAuth mode puts it."""
    return AuthenticationMiddleware(
        AuthContextMiddleware(app), backend=BearerAuthBackend(FixedTokens())
    )


@contextmanager
def serving(settings: Settings, *, stateless: bool) -> Iterator[str]:
    """agentdeck for ``settings`` over HTTP on a free 127.0.0.1 port, in a thread, with
    :func:`with_users`; yields its base URL."""
    server = build_server(settings, stateless=stateless)
    app = build_http_app(server, host="127.0.0.1", token=None, stateless=stateless)
    with serve(with_users(app), lifespan=True) as base:
        yield base


@asynccontextmanager
async def as_user(base: str, user: str, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    """An MCP client of agentdeck at ``base`` that sends ``user``'s token."""
    headers = {"Authorization": f"Bearer {USERS[user]}"}
    async with (
        httpx2.AsyncClient(timeout=30, headers=headers) as http,
        Client(
            streamable_http_client(f"{base}/mcp", http_client=http), mode=mode, **kwargs
        ) as client,
    ):
        yield client
