"""The HTTP side of ``[server.auth]``: agentdeck as an OAuth 2.1 resource server (MCP
authorization spec 2025-11-25 and 2026-07-28; docs/remote.md).

Built on the SDK's pieces: its ``AuthenticationMiddleware`` with ``BearerAuthBackend``
turns a bearer token into the request's user through our ``TokenVerifier``
(``_tokens``), its ``AuthContextMiddleware`` makes the token reachable in the
handlers (``current_principal``, ``granted_scopes``), and its protected-resource metadata
handler answers RFC 9728 discovery. What the SDK's own ``RequireAuthMiddleware`` does not
do is done by :class:`ScopeGate`: a 401 carries ``error="invalid_token"`` only when a
token was sent (RFC 6750 §3.1), and a JSON-RPC request beyond the token's scopes is a 403
``insufficient_scope`` naming the scopes it needs, before it reaches the MCP server, so a
client can ask its user for more (step-up authorization).

The metadata is served at the root (``/.well-known/oauth-protected-resource``) and with the
resource's path appended (RFC 9728 §3.1, ``…/mcp``), where the 401 points.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.config import AuthSettings
from agentdeck.server.oauth._scopes import ScopePolicy

METADATA_ROOT = "/.well-known/oauth-protected-resource"
#: What the token guards: the MCP endpoint. Other routes (``/healthz``, pages a user opens
#: in a browser) carry no bearer token and guard themselves.
_PROTECTED_PATH = "/mcp"


def metadata_paths(audience: str) -> list[str]:
    """Where the protected-resource metadata is served: the root form, the form for
    ``/mcp``, and the form for the audience's own path (behind a proxy's prefix)."""
    suffixed = str(build_resource_metadata_url(AnyHttpUrl(audience)))
    own = "/" + suffixed.split("://", 1)[1].partition("/")[2]
    return list(dict.fromkeys([METADATA_ROOT, f"{METADATA_ROOT}/mcp", own]))


def _challenge(metadata_url: str, **params: str) -> str:
    parts = [f'resource_metadata="{metadata_url}"']
    parts += [f'{name}="{value}"' for name, value in params.items()]
    return "Bearer " + ", ".join(parts)


class ScopeGate:
    """Lets through to ``/mcp`` only requests with a valid token whose scopes cover what
    they ask; serves the metadata."""

    def __init__(self, app: ASGIApp, settings: AuthSettings, policy: ScopePolicy) -> None:
        self._app = app
        self._policy = policy
        self._metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.audience)))
        metadata = ProtectedResourceMetadata.model_validate(
            {
                "resource": settings.audience,
                "authorization_servers": [settings.issuer],
                "scopes_supported": policy.names,
                "resource_name": "agentdeck",
            }
        )
        self._metadata = cors_middleware(
            ProtectedResourceMetadataHandler(metadata).handle, ["GET", "OPTIONS"]
        )
        self._metadata_paths = frozenset(metadata_paths(settings.audience))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._metadata_paths:
            await self._metadata(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"].rstrip("/") != _PROTECTED_PATH:
            await self._app(scope, receive, send)
            return
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            sent = "authorization" in HTTPConnection(scope).headers
            params = {"error": "invalid_token"} if sent else {}
            message = "The access token is invalid or expired." if sent else "Sign in."
            await self._refuse(scope, receive, send, 401, message, params)
            return
        message_in: Any = None  # a GET stream or a DELETE: what every request needs
        replay = receive
        if scope["method"] == "POST":
            body, replay = await _read_body(receive)
            if body is None:
                await self._refuse(scope, receive, send, 413, "The request is too large.", {})
                return
            with contextlib.suppress(ValueError):  # the MCP server answers a parse error
                message_in = json.loads(body)
        granted = set(user.scopes)
        needed = self._policy.request_scopes(message_in)
        if not all(s in granted for s in needed):
            params = {"error": "insufficient_scope", "scope": " ".join(needed)}
            missing = ", ".join(s for s in needed if s not in granted)
            text = f"This needs the scope {missing}; sign in again granting it."
            await self._refuse(scope, receive, send, 403, text, params)
            return
        await self._app(scope, replay, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        text: str,
        params: dict[str, str],
    ) -> None:
        error = params.get("error", "unauthorized" if status == 401 else "too_large")
        response = JSONResponse(
            {"error": error, "error_description": text},
            status_code=status,
            headers={"WWW-Authenticate": _challenge(self._metadata_url, **params)},
        )
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (None past the SDK's size limit) and a ``receive`` that
    hands it on as it came."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > DEFAULT_MAX_REQUEST_BODY_SIZE:
            return None, receive
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def protect(
    app: ASGIApp, settings: AuthSettings, policy: ScopePolicy, verifier: TokenVerifier
) -> ASGIApp:
    """``app`` behind the token check and the scope gate of ``settings``."""
    gated: Any = ScopeGate(app, settings, policy)
    with_context = AuthContextMiddleware(gated)
    return AuthenticationMiddleware(with_context, backend=BearerAuthBackend(verifier))
