"""Checking the access tokens of ``[server.auth]``: JWTs against the issuer's keys, or opaque
tokens through RFC 7662 introspection. Both are the SDK's ``TokenVerifier``: a token that
passes becomes an ``AccessToken`` (subject, issuer, scopes), any other becomes None and
the request a 401.

JWTs go through PyJWT (with ``cryptography``, already what the MCP SDK depends on): the
signature, ``iss``, ``aud``, ``exp`` and ``nbf``, with only asymmetric algorithms accepted,
so neither ``alg: none`` nor an HMAC signed with a public key passes. The key set is
fetched once and kept; a token naming a key id it lacks (the issuer rotated its keys)
fetches it again, at most once per :data:`REFETCH_FLOOR_SECONDS`, so a stream of made-up
key ids cannot make agentdeck hammer the issuer. Nothing per request goes to the network.
A token that passed is remembered (by its digest) until it expires or the key set is
fetched again, so a client's next request costs a hash and a look-up, not a signature
check.

This module is imported only when ``[server.auth]`` is configured.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier

from agentdeck.config import AuthSettings
from agentdeck.http import tls_context
from agentdeck.redaction import SECRETS

logger = logging.getLogger("agentdeck.server.oauth_tokens")

#: Signature algorithms a token may use: public-key ones only.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: The least time between two fetches of the key set for an unknown key id.
REFETCH_FLOOR_SECONDS = 30.0
#: The least time between two tries while no key set could be fetched at all.
RETRY_SECONDS = 2.0
_FETCH_TIMEOUT = 10.0
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{2,2048}")
#: How long an introspection answer is reused.
_INTROSPECTION_TTL = 30.0
#: How many checked tokens are remembered (all are forgotten when full).
_KEPT = 10_000


def _client() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        verify=tls_context(),
        timeout=httpx2.Timeout(_FETCH_TIMEOUT),
        headers={"User-Agent": "agentdeck/0.1", "Accept": "application/json"},
        follow_redirects=False,
    )


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the MCP authorization spec's order: RFC 8414
    and OpenID Connect discovery, the well-known part inserted before the issuer's path,
    then (OpenID Connect only) appended to it."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(well_known_path: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, well_known_path, "", ""))

    urls = [
        at(f"/.well-known/oauth-authorization-server{path}"),
        at(f"/.well-known/openid-configuration{path}"),
    ]
    if path:
        urls.append(at(f"{path}/.well-known/openid-configuration"))
    return urls


def _header(token: str) -> dict[str, Any] | None:
    """A JWT's header, read only to choose the key: ``jwt.decode`` checks the whole token
    again. (PyJWT's ``get_unverified_header`` would validate every segment character by
    character in Python first, doubling the cost of a token's first check.)"""
    segment = token.partition(".")[0]
    if not _SEGMENT.fullmatch(segment):
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def _scopes(claims: dict[str, Any]) -> list[str]:
    """The granted scopes: ``scope`` (RFC 9068, space-separated) or ``scp`` (Entra ID,
    Okta: a string or a list)."""
    granted = claims.get("scope", claims.get("scp", ""))
    if isinstance(granted, str):
        return granted.split()
    if isinstance(granted, list):
        return [str(s) for s in granted]
    return []


def _access_token(token: str, claims: dict[str, Any], audience: str) -> AccessToken | None:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return None
    client = claims.get("client_id") or claims.get("azp") or claims.get("appid") or "unknown"
    expires = claims.get("exp")
    return AccessToken(
        token=token,
        client_id=str(client),
        scopes=_scopes(claims),
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        resource=audience,
        subject=subject,
        claims=claims,
    )


class JwtVerifier(TokenVerifier):
    """JWT access tokens, checked against the issuer's JSON Web Key Set."""

    def __init__(
        self, settings: AuthSettings, refetch_floor: float = REFETCH_FLOOR_SECONDS
    ) -> None:
        self._settings = settings
        self._refetch_floor = refetch_floor
        self._jwks_url = settings.jwks_url
        #: by key id: the key and the algorithm it declares (``alg``), if any
        self._keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()
        self._passed: dict[bytes, AccessToken] = {}  # by the token's digest

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        passed = self._passed.get(digest)
        if passed is not None and (passed.expires_at or 0) > time.time():
            return passed
        verified = await self._verify(token)
        if verified is not None:
            if len(self._passed) >= _KEPT:
                self._passed.clear()
            self._passed[digest] = verified
        return verified

    async def _verify(self, token: str) -> AccessToken | None:
        header = _header(token)
        if header is None:
            return None
        algorithm = header.get("alg")
        if algorithm not in ASYMMETRIC:
            logger.info("refused a token signed with %r", algorithm)
            return None
        found = await self._key(header.get("kid"))
        if found is None or found[1] not in (None, algorithm):
            return None  # no such key, or the key is for another algorithm
        key = found[0]
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self._settings.token_audience or self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            logger.info("refused a token: %s", exc)
            return None
        return _access_token(token, claims, self._settings.audience)

    async def _key(self, kid: Any) -> tuple[jwt.PyJWK, str | None] | None:
        """The key ``kid`` names (the only key, when the token names none); fetched once
        more when unknown and the last fetch is older than the floor."""
        if self._fetched_at is None or (kid not in self._keys and self._may_refetch()):
            async with self._lock:
                if self._fetched_at is None or (kid not in self._keys and self._may_refetch()):
                    await self._fetch()
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(str(kid))

    def _may_refetch(self) -> bool:
        assert self._fetched_at is not None
        # with no keys at all (the issuer was unreachable), every token fails: try sooner
        floor = self._refetch_floor if self._keys else min(self._refetch_floor, RETRY_SECONDS)
        return time.monotonic() - self._fetched_at >= floor

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with _client() as client:
                if self._jwks_url is None:
                    self._jwks_url = await _discover_jwks(client, self._settings.issuer)
                answer = await client.get(self._jwks_url)
                answer.raise_for_status()
                listed = answer.json()["keys"]
                keys = {
                    str(jwk.get("kid")): (jwt.PyJWK(jwk), jwk.get("alg"))
                    for jwk in listed
                    if jwk.get("use") in (None, "sig") and jwk.get("kty") in ("RSA", "EC")
                }
        except (httpx2.HTTPError, ValueError, jwt.PyJWTError, LookupError, TypeError) as exc:
            logger.warning("could not fetch the issuer's keys: %s", exc)
            return
        self._keys = keys
        self._passed.clear()  # a key may have been withdrawn


async def _discover_jwks(client: httpx2.AsyncClient, issuer: str) -> str:
    """The ``jwks_uri`` of the issuer's metadata, whose ``issuer`` must be ``issuer``."""
    for url in metadata_urls(issuer):
        answer = await client.get(url)
        if answer.status_code != 200:
            continue
        metadata = answer.json()
        if str(metadata.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise ValueError(f"the metadata at {url} is another issuer's")
        if metadata.get("jwks_uri"):  # optional in RFC 8414: then try the next document
            return str(metadata["jwks_uri"])
    raise ValueError(f"no authorization server metadata naming a jwks_uri for {issuer}")


class IntrospectionVerifier(TokenVerifier):
    """Opaque access tokens, asked about at the issuer's RFC 7662 endpoint; an answer is
    reused for up to 30 s (never past the token's expiry)."""

    def __init__(self, settings: AuthSettings) -> None:
        assert settings.introspection_url and settings.client_id and settings.client_secret
        self._settings = settings
        self._url = settings.introspection_url
        secret = settings.client_secret.get_secret_value()
        SECRETS.add([secret])
        self._auth = httpx2.BasicAuth(settings.client_id, secret)
        self._client: httpx2.AsyncClient | None = None
        self._answers: dict[bytes, tuple[float, AccessToken | None]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        kept = self._answers.get(digest)
        now = time.monotonic()
        if kept is not None and kept[0] > now:
            return kept[1]
        verified = await self._ask(token)
        if len(self._answers) >= _KEPT:
            self._answers.clear()
        self._answers[digest] = (now + _INTROSPECTION_TTL, verified)
        return verified

    async def aclose(self) -> None:
        """Close the connection to the endpoint (made at the first question)."""
        if self._client is not None:
            await self._client.aclose()

    async def _ask(self, token: str) -> AccessToken | None:
        self._client = self._client or _client()
        try:
            answer = await self._client.post(self._url, data={"token": token}, auth=self._auth)
            answer.raise_for_status()
            claims = answer.json()
        except (httpx2.HTTPError, ValueError) as exc:
            logger.warning("token introspection failed: %s", exc)
            return None
        if not isinstance(claims, dict) or claims.get("active") is not True:
            return None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        expected = self._settings.token_audience or self._settings.audience
        if claims.get("iss") != self._settings.issuer or expected not in audiences:
            logger.info("refused an introspected token for another issuer or audience")
            return None
        leeway = self._settings.leeway_seconds
        if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > time.time() + leeway:
            return None
        return _access_token(token, claims, self._settings.audience)


def verifier_for(settings: AuthSettings) -> TokenVerifier:
    """The verifier ``settings`` call for: introspection when configured, else JWTs."""
    if settings.introspection_url:
        return IntrospectionVerifier(settings)
    return JwtVerifier(settings)
