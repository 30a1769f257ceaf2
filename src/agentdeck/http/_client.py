"""The shared HTTP layer: pooled clients, auth, timeouts, retries, size caps, redaction.

Every backend talks to its platform through one :class:`HttpClient`, which wraps
the pooled ``httpx2.AsyncClient`` built for that backend when the server starts.
It is the only caller of the one translation from HTTP statuses and transport
exceptions to agentdeck errors (:mod:`agentdeck.http._errors`), and the only place
that retries:

- idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried on connect
  errors, timeouts, 408, 429, 502, 503 and 504 with jittered exponential backoff,
  honouring ``Retry-After`` up to ``retry_max_wait``;
- any method is retried when the connection failed before the request was sent
  (``httpx2.ConnectError``/``ConnectTimeout``): the server provably never saw it;
- a POST or PATCH that may have reached the server is never repeated;
- one loop decides all of it: at most ``1 + max_retries`` attempts per call, within
  the call's read timeout plus ``retry_max_wait`` in all.

Answers are capped at ``max_response_bytes``, streamed ones included. Secrets (keys,
tokens) are registered with :mod:`agentdeck.redaction`, which keeps them out of
every message and log line.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any, Unpack

import anyio
import httpx2

from agentdeck.errors import (
    ProtocolError,
    UpstreamError,
    UpstreamTimeoutError,
)
from agentdeck.http._config import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    Explain,
    Reply,
    RequestOptions,
    RetryPolicy,
    StreamOptions,
    parse_retry_after,
)
from agentdeck.http._errors import error_for_status, error_for_transport
from agentdeck.redaction import SECRETS

logger = logging.getLogger("agentdeck.http")

_DRAIN_SECONDS = 0.5
#: how many request paths a client keeps parsed (paths naming ids vary without end)
_URLS_KEPT = 256


class HttpClient:
    """One backend's requests: retries, size cap, error translation and redaction in one place.

    One loop decides every retry (:meth:`_exchange`): a call makes at most
    ``1 + max_retries`` attempts whatever fails, and gives up once its time bound
    (its read timeout plus ``retry_max_wait``) is spent.
    """

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
        SECRETS.add(secrets)
        self.redact = SECRETS
        self._retry = retry or RetryPolicy()
        self.stream_timeout = stream_timeout
        #: a chat stream's timeouts, built once: httpx2 checks a new ``Timeout``'s values
        #: against a runtime protocol, which costs more than the rest of building a request
        self._long_timeout = httpx2.Timeout(client.timeout.connect, read=stream_timeout)
        self.max_response_bytes = max_response_bytes
        self._credential_hint = credential_hint
        self._explain: Explain | None = None
        self._urls: dict[str, httpx2.URL] = {}

    def explained_by(self, explain: Explain) -> HttpClient:
        """This client (the same pooled connections) with ``explain`` wording its errors.

        Every failed request, stream or send raises ``explain(error, **context)`` from the
        error, ``context`` being what the call passed (e.g. ``{"agent_id": ...}``): how a
        backend says what a failure means on its platform without a funnel of its own.
        """
        view = copy.copy(self)
        view._explain = explain
        return view

    @contextmanager
    def _explaining(self, context: Mapping[str, Any] | None) -> Iterator[None]:
        try:
            yield
        except UpstreamError as exc:
            if self._explain is None:
                raise
            raise self._explain(exc, **(context or {})) from exc

    async def request(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """Send a request and return its decoded JSON body (None for an empty answer)."""
        with self._explaining(options.get("context")):
            reply = await self._whole(method, path, options)
            operation = options.get("operation") or f"{method} {path}"
            return reply.decoded(operation, backend=self.backend)

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        truncate: bool = False,
        repeatable: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> Reply:
        """Send a request and read its whole answer; error statuses raise.

        ``truncate`` keeps the first ``max_bytes`` of a longer answer instead of
        failing; ``repeatable=False`` forbids repeating a request that reached the
        server even when its method is idempotent (a webhook that starts a task).
        """
        with self._explaining(options.get("context")):
            return await self._whole(
                method, path, options, truncate=truncate, repeatable=repeatable
            )

    async def _whole(
        self,
        method: str,
        path: str,
        options: RequestOptions,
        *,
        truncate: bool = False,
        repeatable: bool | None = None,
    ) -> Reply:
        long = options.get("long", False)
        request = self._build(method, path, options, long=long)
        if repeatable is None:
            repeatable = request.method in IDEMPOTENT_METHODS
        reply = await self._exchange(
            request,
            options.get("operation") or f"{method} {path}",
            repeatable=repeatable,
            long=long,
            max_bytes=options.get("max_bytes") or self.max_response_bytes,
            truncate=truncate,
        )
        assert isinstance(reply, Reply)
        return reply

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        **options: Unpack[StreamOptions],
    ) -> AsyncIterator[httpx2.Response]:
        """Open a streamed answer (chat); error statuses raise, the body is read by the caller.

        A failure met while the caller reads the body (a cut-off stream, an error the
        platform streamed) is explained like one met when opening it.

        Streams are not retried once sent: a chat POST may already have started the run.
        The body is capped at ``max_response_bytes``: past it, reading raises a
        :class:`ProtocolError` and what was read before stays with the caller. The
        response is closed when the block exits, also on cancellation, which closes the
        upstream connection.
        """
        operation = options.get("operation") or f"{method} {path}"
        request = self._build(method, path, options, long=True)
        with self._explaining(options.get("context")):
            response = await self._open(request, operation, long=True, repeatable=False)
            try:
                yield response
                await self._drain(response)
            finally:
                await response.aclose()

    async def send(
        self, request: httpx2.Request, *, operation: str, long: bool = False
    ) -> httpx2.Response:
        """Send a request built elsewhere (by a protocol SDK's own client, as an httpx2
        transport does) with every other request's retries, timeouts, size cap and error
        translation. An event stream, or a ``long`` call (an answer that comes when the
        agent has finished), gets the chat read timeout; the body is left open."""
        long = long or "text/event-stream" in request.headers.get("accept", "")
        timeout = self._long_timeout if long else self._client.timeout
        request.extensions["timeout"] = timeout.as_dict()
        repeatable = request.method in IDEMPOTENT_METHODS and not long
        with self._explaining(None):
            return await self._open(request, operation, long=long, repeatable=repeatable)

    async def _open(
        self, request: httpx2.Request, operation: str, *, long: bool, repeatable: bool
    ) -> httpx2.Response:
        """The open response to ``request``, its body capped at ``max_response_bytes``."""
        response = await self._exchange(
            request,
            operation,
            repeatable=repeatable,
            long=long,
            max_bytes=self.max_response_bytes,
            open_stream=True,
        )
        assert isinstance(response, httpx2.Response)
        response.stream = _CappedStream(
            response.stream, self.max_response_bytes, partial(self._too_large, operation)
        )
        return response

    def _build(
        self, method: str, path: str, options: StreamOptions, *, long: bool
    ) -> httpx2.Request:
        timeout = self._long_timeout if long else httpx2.USE_CLIENT_DEFAULT
        return self._client.build_request(
            method,
            self._url(path),
            params=_clean(options.get("params")),
            json=options.get("json"),
            headers=options.get("headers"),
            timeout=timeout,
        )

    def _url(self, path: str) -> httpx2.URL:
        """``path`` on the client's base URL, as httpx2 joins them (the path appended to
        the base's), parsed once per path: httpx2 parses a path and its join with the base
        URL at every request, which costs more than the rest of building it."""
        url = self._urls.get(path)
        if url is None:
            url = httpx2.URL(path)
            if url.is_relative_url:
                base = self._client.base_url
                url = base.copy_with(raw_path=base.raw_path + url.raw_path.lstrip(b"/"))
            if len(self._urls) < _URLS_KEPT:
                self._urls[path] = url
        return url

    def _too_large(self, operation: str) -> ProtocolError:
        limit = self.max_response_bytes
        return ProtocolError(
            f"{operation}: the answer was larger than {limit} bytes; agentdeck stopped reading "
            "and kept what had arrived.",
            backend=self.backend,
            hint="Ask for a shorter answer, or raise `max_response_bytes` in the config.",
        )

    async def _drain(self, response: httpx2.Response) -> None:
        """Read what is left of a stream the caller finished with, so the pooled connection
        is reused; closing it half-read would cost a new connection on the next chat."""
        if response.is_closed or response.is_stream_consumed:
            return
        with anyio.move_on_after(_DRAIN_SECONDS):
            try:
                async for _ in response.aiter_raw():
                    pass
            except (httpx2.TransportError, ProtocolError):
                pass

    def translate(
        self, exc: Exception, operation: str, *, timeout_setting: str = "stream_timeout"
    ) -> UpstreamError:
        """Map a transport exception met while reading a stream (cut off, timed out)."""
        return error_for_transport(
            exc,
            backend=self.backend,
            operation=operation,
            redact=self.redact,
            timeout_setting=timeout_setting,
        )

    async def _exchange(
        self,
        request: httpx2.Request,
        operation: str,
        *,
        repeatable: bool,
        long: bool,
        max_bytes: int,
        truncate: bool = False,
        open_stream: bool = False,
    ) -> Reply | httpx2.Response:
        """The one retry loop: send, read, translate, and decide whether to try again.

        A connection that failed before the request was sent is retried for any
        method; anything else only when ``repeatable``. Returns a :class:`Reply`, or the
        open response when ``open_stream`` and the status is a success (the callers
        :meth:`_whole` and :meth:`_open` each ask for one of them).
        """
        timeout_setting = "stream_timeout" if long else "timeout"
        read_timeout = (
            self.stream_timeout if long else (self._client.timeout.read or self.stream_timeout)
        )
        budget = read_timeout + self._retry.max_wait
        attempts = 0
        with anyio.move_on_after(budget) as scope:
            deadline = scope.deadline  # now + budget: the clock read once
            while True:
                attempts += 1
                started = time.perf_counter()
                retry_after: float | None = None
                try:
                    response = await self._client.send(request, stream=True)
                    if open_stream and response.status_code < 400:
                        return response
                    try:
                        body, truncated = await self._read_capped(
                            response, operation, max_bytes, truncate=truncate
                        )
                    finally:
                        await response.aclose()
                except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                    error = self.translate(exc, operation, timeout_setting=timeout_setting)
                    retryable = True  # the server provably never saw the request
                except httpx2.TransportError as exc:
                    error = self.translate(exc, operation, timeout_setting=timeout_setting)
                    retryable = repeatable
                else:
                    logger.debug(
                        "%s %s -> %s in %.1f ms",
                        request.method,
                        self.redact(str(request.url.copy_with(query=None))),
                        response.status_code,
                        (time.perf_counter() - started) * 1000,
                    )
                    if response.status_code < 400:
                        return Reply(response.status_code, response.headers, body, truncated)
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    error = self._status_error(response, body, operation, attempts=attempts)
                    retryable = (
                        repeatable
                        and response.status_code in RETRY_STATUSES
                        and (retry_after is None or retry_after <= self._retry.max_wait)
                    )
                delay = (
                    retry_after if retry_after is not None else self._retry.backoff(attempts - 1)
                )
                if (
                    not retryable
                    or attempts > self._retry.max_retries
                    or anyio.current_time() + delay > deadline
                ):
                    raise error
                logger.info(
                    "%s: %s failed (%s); retrying in %.2f s",
                    self.backend,
                    operation,
                    error.message,
                    delay,
                )
                await anyio.sleep(delay)
        assert scope.cancelled_caught
        raise UpstreamTimeoutError(
            f"{operation} got no answer within {budget:g} s ({attempts} attempts).",
            backend=self.backend,
            hint=f"The platform is slow or unreachable; retry later, or raise `{timeout_setting}`.",
        )

    async def _read_capped(
        self, response: httpx2.Response, operation: str, max_bytes: int, *, truncate: bool
    ) -> tuple[bytes, bool]:
        """The body, at most ``max_bytes`` of it; transport errors propagate untranslated."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                if truncate:
                    chunks.append(chunk[: max_bytes - size + len(chunk)])
                    return b"".join(chunks), True
                raise ProtocolError(
                    f"{operation} answered more than {max_bytes} bytes; agentdeck stopped reading.",
                    backend=self.backend,
                    hint="Narrow the request (a smaller `limit`) or raise `max_response_bytes`.",
                )
            chunks.append(chunk)
        return b"".join(chunks), False

    def _status_error(
        self, response: httpx2.Response, body: bytes, operation: str, *, attempts: int
    ) -> UpstreamError:
        try:
            decoded: Any = json.loads(body) if body else None
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


class _CappedStream(httpx2.AsyncByteStream):
    """A response body that raises ``too_large()`` once more than ``limit`` bytes came in."""

    def __init__(self, inner: Any, limit: int, too_large: Callable[[], ProtocolError]) -> None:
        self._inner = inner
        self._limit = limit
        self._too_large = too_large

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._limit:
                raise self._too_large()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop None values so optional filters are simply left out of the query."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}
