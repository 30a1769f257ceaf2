"""A test OAuth 2.1 authorization server: the MCP SDK's authorization-server routes
(metadata, dynamic client registration, authorize with PKCE, token) over a provider that
approves every request at once as :attr:`TestIssuer.user` and issues RS256 JWTs, plus its
JWKS and an RFC 7662 introspection endpoint. It runs on 127.0.0.1 in the test process.

:meth:`TestIssuer.mint` signs any token the refusal tests need (other issuer, audience,
times, keys, algorithms) without the flow.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.fakes.base import serve

SCOPES = ["agentdeck:read", "agentdeck:chat", "agentdeck:manage"]
INTROSPECTION_CLIENT = ("agentdeck", "introspection-secret-0123")


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class TestIssuer:
    """The authorization server; ``url`` is set while :meth:`running`."""

    __test__ = False

    url: str = ""
    #: who approves the next authorization, and which of the requested scopes they grant
    user: str = "alice"
    grantable: list[str] = field(default_factory=lambda: list(SCOPES))
    #: what the next authorizations grant at most, one list each, before ``grantable``
    next_grants: list[list[str]] = field(default_factory=list)
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    jwks_fetches: int = 0
    jwks_down: bool = False  # answer the key set with 503
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> claims
    _app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @contextmanager
    def running(self) -> Iterator[TestIssuer]:
        if not self.keys:
            self.keys["k1"] = rsa_key()
        with serve(self) as url:
            self.url = url
            routes = create_auth_routes(
                self,
                AnyHttpUrl(url),
                client_registration_options=ClientRegistrationOptions(
                    enabled=True, valid_scopes=SCOPES
                ),
            )
            routes.append(Route("/.well-known/openid-configuration", self._openid))
            routes.append(Route("/jwks", self._jwks))
            routes.append(Route("/introspect", self._introspect, methods=["POST"]))
            self._app = Starlette(routes=routes)
            yield self

    # tokens

    def claims(self, subject: str, scopes: list[str], audience: str, **extra: Any) -> dict:
        now = int(time.time())
        return {
            "iss": self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "scope": " ".join(scopes),
            "client_id": "test-client",
            **extra,
        }

    def mint(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = "k1",
        key: Any = None,
        algorithm: str = "RS256",
    ) -> str:
        """``claims`` signed with ``key`` (default: the key ``kid`` names) and ``algorithm``."""
        signing = key if key is not None else self.keys[kid or "k1"]
        headers = {"kid": kid} if kid is not None else {}
        return jwt.encode(claims, signing, algorithm=algorithm, headers=headers)

    async def _openid(self, _: Request) -> JSONResponse:
        """OpenID Connect discovery: what names the JWKS (the RFC 8414 document does not)."""
        return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/jwks"})

    async def _jwks(self, _: Request) -> JSONResponse:
        self.jwks_fetches += 1
        if self.jwks_down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse({"keys": [public_jwk(k, kid) for kid, k in self.keys.items()]})

    async def _introspect(self, request: Request) -> JSONResponse:
        given = request.headers.get("authorization", "")
        expected = base64.b64encode(":".join(INTROSPECTION_CLIENT).encode()).decode()
        if given != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = str((await request.form()).get("token", ""))
        claims = self.issued.get(token)
        if claims is None or claims["exp"] < time.time():
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, **claims})

    # the SDK's OAuthAuthorizationServerProvider

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        code = secrets.token_urlsafe(16)
        grantable = self.next_grants.pop(0) if self.next_grants else self.grantable
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=[s for s in params.scopes or grantable if s in grantable],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=self.user,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        del self.codes[authorization_code.code]
        assert authorization_code.resource, "the client sent no resource (RFC 8707)"
        claims = self.claims(
            authorization_code.subject or "nobody",
            authorization_code.scopes,
            authorization_code.resource,
            client_id=client.client_id,
        )
        token = self.mint(claims)
        self.issued[token] = claims
        return OAuthToken(access_token=token, expires_in=600, scope=claims["scope"])

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return None

    async def exchange_refresh_token(
        self,
        client: OAuthClientInformationFull,
        refresh_token: RefreshToken,
        scopes: list[str],
    ) -> OAuthToken:
        raise NotImplementedError

    async def load_access_token(self, token: str) -> AccessToken | None:
        return None

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        return None
