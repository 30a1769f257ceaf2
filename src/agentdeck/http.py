"""The shared HTTP layer: pooled clients, auth, timeouts, retries, size caps, redaction.

Every backend talks to its platform through one :class:`HttpClient`, which wraps
the pooled ``httpx2.AsyncClient`` built for that backend when the server starts.
This is the only place where HTTP status codes and transport exceptions become
agentdeck errors (:func:`error_for_status`, :func:`error_for_transport`), and the
only place that retries:

- idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried on connect
  errors, timeouts, 408, 429, 502, 503 and 504 with jittered exponential backoff,
  honouring ``Retry-After`` up to ``retry_max_wait``;
- any method is retried when the connection failed before the request was sent
  (``httpx2.ConnectError``/``ConnectTimeout``): the server provably never saw it;
- a POST or PATCH that may have reached the server is never repeated.

Secrets (keys, tokens) are redacted from every message and log line.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Generator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from agentdeck.errors import (
    AgentDisabledError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamValidationError,
)

logger = logging.getLogger("agentdeck.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_MAX_ERROR_TEXT = 300
_DRAIN_SECONDS = 0.5


# ---- auth -------------------------------------------------------------------------------


class BearerAuth(httpx2.Auth):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        self._value = f"{scheme} {token}"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = self._value
        yield request


class TokenAuth(BearerAuth):
    """``Authorization: Token <token>`` (Make)."""

    def __init__(self, token: str) -> None:
        super().__init__(token, scheme="Token")


class ApiKeyAuth(httpx2.Auth):
    """An API key sent as a query parameter on reads and in the JSON body on writes (Roboflow)."""

    requires_request_body = True

    def __init__(self, key: str, name: str = "api_key") -> None:
        self._key = key
        self._name = name

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        content_type = request.headers.get("content-type", "")
        if request.method in {"POST", "PUT", "PATCH"} and content_type.startswith(
            "application/json"
        ):
            body = json.loads(request.content or b"{}")
            if isinstance(body, dict):
                body[self._name] = self._key
                headers = {
                    k: v for k, v in request.headers.items() if k.lower() != "content-length"
                }
                yield httpx2.Request(
                    request.method,
                    request.url,
                    headers=headers,
                    json=body,
                    extensions=request.extensions,
                )
                return
        request.url = request.url.copy_merge_params({self._name: self._key})
        yield request


# ---- redaction --------------------------------------------------------------------------


class _SecretLogFilter(logging.Filter):
    """Redacts every configured secret from log records of httpx2 and agentdeck.

    httpx2 logs each request's full URL at INFO level, and some platforms (Roboflow)
    take their key as a query parameter, so secrets must be scrubbed from log lines
    too, not only from error messages.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            redacted = Redactor(self.secrets)(text)
            if redacted != text:
                record.msg, record.args = redacted, None
        return True


_LOG_FILTER = _SecretLogFilter()
for _name in ("httpx2", "agentdeck"):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


class Redactor:
    """Replaces every known secret in a text with ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


# ---- error translation: the one place ---------------------------------------------------


_STATUS_ERRORS: dict[int, tuple[type[UpstreamError], str]] = {
    400: (UpstreamValidationError, "Check the arguments against the tool's description."),
    401: (AuthenticationError, "Check the credential of this backend in the config."),
    402: (PaymentRequiredError, "The platform account is out of credits; add credits and retry."),
    403: (
        PermissionDeniedError,
        "The credential is valid but lacks permission for this; check its scopes.",
    ),
    404: (NotFoundError, "Check the ref; list tools show what exists."),
    409: (ConflictError, "The request conflicts with the current state; fetch it and retry."),
    422: (UpstreamValidationError, "Check the arguments against the tool's description."),
    429: (RateLimitedError, "Wait and retry."),
}


def platform_message(body: Any) -> str | None:
    """The platform's own error text from a JSON error body, in the common shapes."""
    if isinstance(body, str):
        return body.strip()[:_MAX_ERROR_TEXT] or None
    if not isinstance(body, Mapping):
        return None
    message, detail = body.get("message"), body.get("detail")
    if isinstance(message, str) and isinstance(detail, str) and message and detail != message:
        # e.g. Make: a generic message ("Permission denied") and the specific detail
        return f"{message}: {detail}"[:_MAX_ERROR_TEXT]
    for key in ("error", "message", "detail", "error_description", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:_MAX_ERROR_TEXT]
        if isinstance(value, Mapping):
            nested = platform_message(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # FastAPI's validation shape: [{"loc": [...], "msg": "...", "type": ...}, ...]
            parts = []
            for item in value[:5]:
                if isinstance(item, Mapping):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    msg = item.get("msg") or item.get("message") or ""
                    parts.append(f"{loc}: {msg}" if loc else str(msg))
                else:
                    parts.append(str(item))
            return "; ".join(parts)[:_MAX_ERROR_TEXT]
    return None


def error_for_status(
    *,
    backend: str,
    operation: str,
    status: int,
    body: Any,
    retry_after: float | None = None,
    attempts: int = 1,
    redact: Redactor | None = None,
    credential_hint: str | None = None,
) -> UpstreamError:
    """Build the agentdeck error for an HTTP error answer."""
    redact = redact or Redactor(())
    text = platform_message(body)
    text = redact(text) if text else None
    error_type = body.get("error_type") or body.get("code") if isinstance(body, Mapping) else None
    cls, hint = _STATUS_ERRORS.get(status, (ServerError if status >= 500 else UpstreamError, ""))
    if status == 401 and credential_hint:
        hint = credential_hint
    if status == 403 and error_type == "AGENT_DISABLED":
        cls = AgentDisabledError
        hint = "Agent features are turned off for this workspace; enable them in its settings."
    if status >= 500:
        hint = "The platform failed; retry later." + (
            f" (tried {attempts} times)" if attempts > 1 else ""
        )
    said = f": {text}" if text else ""
    message = f"{operation} answered HTTP {status}{said}."
    if cls is RateLimitedError:
        wait = f" Try again after {retry_after:g} s." if retry_after is not None else ""
        hint = f"Retried {attempts - 1} times.{wait}" if attempts > 1 else f"Wait and retry.{wait}"
        return RateLimitedError(
            message,
            backend=backend,
            hint=hint,
            status=status,
            platform_message=text,
            retry_after=retry_after,
        )
    return cls(message, backend=backend, hint=hint, status=status, platform_message=text)


def error_for_transport(
    exc: Exception, *, backend: str, operation: str, redact: Redactor
) -> UpstreamError:
    """Build the agentdeck error for an exception raised by httpx2."""
    detail = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        return UpstreamTimeoutError(
            f"{operation} timed out ({type(exc).__name__}).",
            backend=backend,
            hint="The platform is slow or unreachable; retry, or raise `timeout` in the config.",
        )
    if isinstance(exc, httpx2.ConnectError):
        return UpstreamConnectError(
            f"{operation} could not connect: {detail}.",
            backend=backend,
            hint="Check `base_url` in the config and that the platform is reachable.",
        )
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
        return ProtocolError(
            f"{operation} was cut off: the connection closed before the answer was complete.",
            backend=backend,
            hint="Retry; if it keeps happening the platform is failing mid-answer.",
        )
    return ProtocolError(f"{operation} failed: {detail}.", backend=backend)


@dataclass(frozen=True)
class Connection:
    """How to reach a platform: what a backend class tells the registry to build its client."""

    base_url: str
    auth: httpx2.Auth | None
    secrets: tuple[str, ...] = ()
    #: What to check when the platform answers 401, naming the config key (never its value).
    credential_hint: str | None = None


# ---- the client -------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_wait: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Jittered exponential backoff for retry number ``attempt`` (0-based)."""
        delay = min(self.base_delay * (2**attempt), self.max_delay)
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


def build_async_client(
    base_url: str, *, auth: httpx2.Auth | None, timeout: float
) -> httpx2.AsyncClient:
    """The pooled client of one backend; built in the server's lifespan, closed at its end."""
    return httpx2.AsyncClient(
        base_url=base_url.rstrip("/"),
        auth=auth,
        timeout=httpx2.Timeout(timeout),
        headers={"User-Agent": "agentdeck/0.1", "Accept": "application/json"},
        follow_redirects=False,
        limits=httpx2.Limits(max_connections=32, max_keepalive_connections=16),
    )


class HttpClient:
    """One backend's requests: retries, size cap, error translation and redaction in one place."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        *,
        backend: str,
        secrets: Iterable[str | None] = (),
        retry: RetryPolicy | None = None,
        stream_timeout: float = 300.0,
        max_response_bytes: int = 20_000_000,
        credential_hint: str | None = None,
    ) -> None:
        self._client = client
        self.backend = backend
        secrets = [secret for secret in secrets if secret]
        self.redact = Redactor(secrets)
        _LOG_FILTER.secrets.update(s for s in secrets if len(s) >= 4)
        self._retry = retry or RetryPolicy()
        self._stream_timeout = stream_timeout
        self._max_bytes = max_response_bytes
        self._credential_hint = credential_hint

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        operation: str | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON body (None for an empty answer)."""
        operation = operation or f"{method} {path}"
        request = self._client.build_request(
            method, path, params=_clean(params), json=json, headers=headers
        )
        response, body = await self._send_with_retries(request, operation)
        if not body:
            return None
        try:
            return _json.loads(body)
        except ValueError:
            content_type = response.headers.get("content-type", "")
            if "json" in content_type:
                raise ProtocolError(
                    f"{operation} answered with malformed JSON.", backend=self.backend
                ) from None
            return body.decode("utf-8", errors="replace")

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        operation: str | None = None,
    ) -> AsyncIterator[httpx2.Response]:
        """Open a streamed answer (chat); error statuses raise, the body is read by the caller.

        Streams are not retried once sent: a chat POST may already have started the run.
        The response is closed when the block exits, also on cancellation, which closes
        the upstream connection.
        """
        operation = operation or f"{method} {path}"
        timeout = httpx2.Timeout(self._client.timeout.connect, read=self._stream_timeout)
        request = self._client.build_request(
            method, path, params=_clean(params), json=json, headers=headers, timeout=timeout
        )
        response = await self._send(request, operation, attempt_limit=self._retry.max_retries)
        try:
            if response.status_code >= 400:
                body = await self._read_capped(response, operation)
                raise self._status_error(response, body, operation, attempts=1)
            yield response
            await self._drain(response)
        finally:
            await response.aclose()

    async def _drain(self, response: httpx2.Response) -> None:
        """Read what is left of a stream the caller finished with, so the pooled connection
        is reused; closing it half-read would cost a new connection on the next chat."""
        if response.is_closed or response.is_stream_consumed:
            return
        with anyio.move_on_after(_DRAIN_SECONDS):
            try:
                async for _ in response.aiter_raw():
                    pass
            except httpx2.TransportError:
                pass

    def translate(self, exc: Exception, operation: str) -> UpstreamError:
        """Map a transport exception met while reading a stream (cut off, timed out)."""
        return error_for_transport(
            exc, backend=self.backend, operation=operation, redact=self.redact
        )

    async def _send(
        self, request: httpx2.Request, operation: str, *, attempt_limit: int
    ) -> httpx2.Response:
        """Send once, retrying only connection failures that happened before sending."""
        for attempt in range(attempt_limit + 1):
            try:
                return await self._client.send(request, stream=True)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                if attempt >= attempt_limit:
                    raise self.translate(exc, operation) from exc
                await anyio.sleep(self._retry.backoff(attempt))
            except httpx2.TransportError as exc:
                raise self.translate(exc, operation) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_with_retries(
        self, request: httpx2.Request, operation: str
    ) -> tuple[httpx2.Response, bytes]:
        idempotent = request.method in IDEMPOTENT_METHODS
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                response = await self._send(
                    request, operation, attempt_limit=self._retry.max_retries
                )
                try:
                    body = await self._read_capped(response, operation)
                finally:
                    await response.aclose()
            except UpstreamTimeoutError:
                if idempotent and attempts <= self._retry.max_retries:
                    await anyio.sleep(self._retry.backoff(attempts - 1))
                    continue
                raise
            logger.debug(
                "%s %s -> %s in %.1f ms",
                request.method,
                self.redact(str(request.url.copy_with(query=None))),
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code < 400:
                return response, body
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if (
                idempotent
                and response.status_code in RETRY_STATUSES
                and attempts <= self._retry.max_retries
                and (retry_after is None or retry_after <= self._retry.max_wait)
            ):
                delay = (
                    retry_after if retry_after is not None else self._retry.backoff(attempts - 1)
                )
                logger.info(
                    "%s: %s answered %s; retrying in %.2f s",
                    self.backend,
                    operation,
                    response.status_code,
                    delay,
                )
                await anyio.sleep(delay)
                continue
            raise self._status_error(response, body, operation, attempts=attempts)

    async def _read_capped(self, response: httpx2.Response, operation: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise ProtocolError(
                        f"{operation} answered more than {self._max_bytes} bytes; "
                        "agentdeck stopped reading.",
                        backend=self.backend,
                        hint="Narrow the request (a smaller `limit`) or raise `max_response_bytes`.",
                    )
                chunks.append(chunk)
        except httpx2.TransportError as exc:
            raise self.translate(exc, operation) from exc
        return b"".join(chunks)

    def _status_error(
        self, response: httpx2.Response, body: bytes, operation: str, *, attempts: int
    ) -> UpstreamError:
        try:
            decoded: Any = _json.loads(body) if body else None
        except ValueError:
            decoded = body.decode("utf-8", errors="replace")
        return error_for_status(
            backend=self.backend,
            operation=operation,
            status=response.status_code,
            body=decoded,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            attempts=attempts,
            redact=self.redact,
            credential_hint=self._credential_hint,
        )


_json = json


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop None values so optional filters are simply left out of the query."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}
