"""Per-user platform keys: sealed at rest, opened for the calls of the user who connected them.

A backend with ``credentials = "per_user"`` is built once, like any other, with one
pooled HTTP client; only that client's auth differs: :class:`PerUserAuth` looks up, at
each request, the key the calling user connected and hands the request to the
backend's own scheme (``Token``, ``Bearer``, a query parameter) built with that key.
The backends stay as they are and never hold a user's key; the alternative, a backend
instance per user, would keep a connection pool per user and need evicting.

Keys are sealed with AES-GCM (``cryptography``) under a key derived from ``[server]
secret_key``; the owner and backend are the associated data, so a sealed key copied to
another user's row does not open. The page where users connect a key (``/connect``,
served by :mod:`agentdeck.server.transport`) is reached through a one-time state: random,
kept as a digest, bound to one user and backend, valid for :data:`STATE_SECONDS`, taken
when the form is sent.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import timedelta

import httpx2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentdeck.errors import CredentialsRequiredError
from agentdeck.redaction import SECRETS
from agentdeck.store import Store
from agentdeck.store.shared import now

#: How long a connect link works.
STATE_SECONDS = 600
#: How long an opened key is kept in memory before the store is asked again (a key
#: forgotten on another replica stops working here within this long).
_CACHE_SECONDS = 30
_VERSION = "v1."

#: A key being checked on the connect page, used in place of the caller's stored one.
_trying: ContextVar[str | None] = ContextVar("agentdeck_trying_key", default=None)


class Keyring:
    """The users' platform keys in the store, sealed; and the connect page's states."""

    def __init__(self, store: Store, secret: str) -> None:
        derived = HKDF(
            algorithm=SHA256(), length=32, salt=None, info=b"agentdeck platform keys"
        ).derive(secret.encode())
        self._aead = AESGCM(derived)
        self._store = store
        self._opened: dict[tuple[str, str], tuple[float, str]] = {}

    async def key(self, owner: str, backend: str) -> str | None:
        """The key ``owner`` connected to ``backend``; None when there is none (or it was
        sealed under another ``secret_key``, which makes it unreadable)."""
        cached = self._opened.get((owner, backend))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        sealed = await self._store.platform_key(owner, backend)
        key = self._open(owner, backend, sealed) if sealed else None
        if key is not None:
            self._remember(owner, backend, key)
        return key

    async def save(self, owner: str, backend: str, key: str) -> None:
        await self._store.save_platform_key(owner, backend, self._seal(owner, backend, key))
        self._remember(owner, backend, key)

    async def forget(self, owner: str, backend: str) -> bool:
        """Drop the key; whether there was one."""
        self._opened.pop((owner, backend), None)
        return await self._store.forget_platform_key(owner, backend)

    async def new_state(self, owner: str, backend: str) -> str:
        """A one-time state for ``owner`` to connect a key to ``backend``."""
        state = secrets.token_urlsafe(32)
        expires = now() + timedelta(seconds=STATE_SECONDS)
        await self._store.add_connect_state(_digest(state), owner, backend, expires)
        return state

    async def state(self, state: str, backend: str, *, take: bool) -> str | None:
        """The owner of ``state`` if it is unexpired, unused and for ``backend``; ``take``
        uses it up."""
        row = await self._store.connect_state(_digest(state), take=take)
        if row is None or row["backend"] != backend:
            return None
        return str(row["owner"])

    @staticmethod
    @asynccontextmanager
    async def trying(key: str) -> AsyncIterator[None]:
        """Within: a per-user backend's requests carry ``key`` (checking it before saving),
        and it is redacted. A key tried once is forgotten by the redactor afterwards (saving
        it adds it again): refused keys, whatever a user typed, would otherwise mask that
        text in every output of the process for good."""
        known = key in SECRETS
        SECRETS.add([key])
        token = _trying.set(key)
        try:
            yield
        finally:
            _trying.reset(token)
            if not known:
                SECRETS.discard(key)

    def _remember(self, owner: str, backend: str, key: str) -> None:
        SECRETS.add([key])
        self._opened[(owner, backend)] = (time.monotonic() + _CACHE_SECONDS, key)

    def _seal(self, owner: str, backend: str, key: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, key.encode(), _bound_to(owner, backend))
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def _open(self, owner: str, backend: str, sealed: str) -> str | None:
        if not sealed.startswith(_VERSION):
            return None
        raw = base64.urlsafe_b64decode(sealed.removeprefix(_VERSION))
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _bound_to(owner, backend)).decode()
        except InvalidTag:
            return None


class PerUserAuth(httpx2.Auth):
    """The auth of a per-user backend's client: the calling user's key in the backend's
    own scheme (``scheme(key)``); a user without one gets ``CredentialsRequiredError``."""

    requires_request_body = True  # a scheme may put the key in a JSON body (Roboflow)

    def __init__(
        self,
        backend: str,
        keyring: Keyring,
        owner: Callable[[], str | None],
        scheme: Callable[[str], httpx2.Auth | None],
    ) -> None:
        self._backend = backend
        self._keyring = keyring
        self._owner = owner
        self._scheme = scheme

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        key = _trying.get()
        if key is None:
            owner = self._owner()
            key = await self._keyring.key(owner, self._backend) if owner else None
            if key is None:
                raise CredentialsRequiredError(self._backend, owner)
        auth = self._scheme(key)
        if auth is None:
            yield request
            return
        flow = auth.async_auth_flow(request)
        request = await flow.__anext__()
        while True:
            response = yield request
            try:
                request = await flow.asend(response)
            except StopAsyncIteration:
                return


def _bound_to(owner: str, backend: str) -> bytes:
    return f"{owner}\0{backend}".encode()


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
