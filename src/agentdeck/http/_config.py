"""What a backend's pooled client is made of: where the platform is (:class:`Connection`),
the retry policy, the shared TLS context, the ``httpx2.AsyncClient`` itself, what a
request may say (:class:`RequestOptions`) and the complete answer it returns
(:class:`Reply`)."""

from __future__ import annotations

import email.utils
import functools
import json as _json
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx2

from agentdeck.errors import ProtocolError, UpstreamError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})

#: A backend's ``explain``: the error to raise for a platform error, given the call's context.
Explain = Callable[..., UpstreamError]


class StreamOptions(TypedDict, total=False):
    """What a request or stream may say besides its method and path: ``operation`` names
    it in messages; ``context`` is handed to the backend's ``explain`` with an error
    (:meth:`HttpClient.explained_by`)."""

    params: Mapping[str, Any] | None
    json: Any
    headers: Mapping[str, str] | None
    operation: str | None
    context: Mapping[str, Any] | None


class RequestOptions(StreamOptions, total=False):
    """A request's options: ``long`` gives the call the chat read timeout
    (``stream_timeout``) for answers that arrive in one piece after the agent has
    finished; ``max_bytes`` lowers the size cap for this call."""

    long: bool
    max_bytes: int | None


@dataclass(frozen=True)
class Connection:
    """How to reach a platform: what a backend class tells the registry to build its client."""

    base_url: str
    auth: httpx2.Auth | None
    secrets: tuple[str, ...] = ()
    #: What to check when the platform answers 401, naming the config key (never its value).
    credential_hint: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_wait: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Jittered exponential backoff for retry number ``attempt`` (0-based)."""
        delay = min(self.base_delay * 2.0**attempt, self.max_delay)
        return delay * random.uniform(0.5, 1.0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every backend's client shares (httpx2's default one).

    Making one loads the system's CA certificates, about 17 ms: a context per client cost
    that again at start for every configured platform.
    """
    return httpx2.create_ssl_context()


def build_async_client(
    base_url: str, *, auth: httpx2.Auth | None, timeout: float, max_connections: int = 100
) -> httpx2.AsyncClient:
    """The pooled client of one backend; built in the server's lifespan, closed at its end.

    A streaming chat holds its connection to the end, so ``max_connections`` is how many
    chats with the backend can stream at once; the rest wait for a free one. All of them
    may stay open between requests, so a burst of chats reconnects nothing.
    """
    return httpx2.AsyncClient(
        base_url=base_url.rstrip("/"),
        verify=tls_context(),
        auth=auth,
        timeout=httpx2.Timeout(timeout),
        headers={"User-Agent": "agentdeck/0.1", "Accept": "application/json"},
        follow_redirects=False,
        limits=httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )


@dataclass(frozen=True)
class Reply:
    """A complete answer read by :meth:`HttpClient.exchange`."""

    status: int
    headers: httpx2.Headers
    content: bytes
    #: The answer was longer than the byte cap and only its beginning was kept.
    truncated: bool = False

    def decoded(self, operation: str, *, backend: str, strict: bool = True) -> Any:
        """The JSON body (None when empty); text when it is not JSON.

        ``strict``: an answer declared as JSON that does not parse is a :class:`ProtocolError`.
        """
        if not self.content.strip():
            return None
        try:
            return _json.loads(self.content)
        except ValueError:
            declared = "json" in self.headers.get("content-type", "")
            if strict and declared and not self.truncated:
                raise ProtocolError(
                    f"{operation} answered with malformed JSON.", backend=backend
                ) from None
            return self.content.decode("utf-8", errors="replace")
