"""The shared HTTP layer against a local test server: retries, errors, redaction, caps."""

import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentdeck.backends.make.auth import TokenAuth
from agentdeck.backends.roboflow.auth import ApiKeyAuth
from agentdeck.errors import (
    AgentDisabledError,
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamValidationError,
)
from agentdeck.http import HttpClient, RetryPolicy, build_async_client, tls_context
from tests.fakes.base import FakePlatform, Served, serve

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-token-value"


@dataclass
class EchoServer(FakePlatform):
    """Answers every path with what it received; failures are queued with fail_next."""

    def build_app(self) -> Starlette:
        async def echo(request: Request) -> Response:
            body = await request.body()
            if request.url.path == "/big":
                return Response(b"x" * 5000, media_type="text/plain")
            return JSONResponse(
                {
                    "path": request.url.path,
                    "query": dict(request.query_params),
                    "auth": request.headers.get("authorization"),
                    "body": body.decode() or None,
                }
            )

        return Starlette(
            routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"])]
        )


@pytest.fixture
def server() -> EchoServer:
    return EchoServer()


@pytest.fixture
def url(server: EchoServer, served: Served) -> str:
    return served(server)


@asynccontextmanager
async def client_for(
    url: str, auth: httpx2.Auth | None = None, **kwargs
) -> AsyncIterator[HttpClient]:
    """A backend's HttpClient for ``url``; its httpx2 client closes with the block."""
    async with build_async_client(url, auth=auth, timeout=5) as client:
        yield HttpClient(
            client,
            backend="ops",
            secrets=[SECRET],
            retry=RetryPolicy(max_retries=2, base_delay=0.01),
            credential_hint="Check `token` of backend 'ops' in the config.",
            **kwargs,
        )


async def test_a_get_answered_503_with_retry_after_is_retried(server: EchoServer, url: str) -> None:
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "0"})
    async with client_for(url) as http:
        answer = await http.request("GET", "/things", params={"a": 1, "skip": None})
    assert answer["query"] == {"a": "1"}
    assert len(server.requests) == 2


@pytest.mark.parametrize("prefix", ["/api/v1", "/api/v1/"])
async def test_paths_join_the_base_url_s_path_the_same_on_every_call(url: str, prefix: str) -> None:
    """Paths are parsed once per client and kept: the second call of a path must reach
    the same place as the first, with its own query."""
    async with client_for(url + prefix) as http:
        for attempt in ("1", "2"):
            nested = await http.request("GET", "/agents/a b", params={"n": attempt})
            bare = await http.request("GET", f"runs?state=open&n={attempt}")
            assert (nested["path"], nested["query"]) == ("/api/v1/agents/a b", {"n": attempt})
            assert (bare["path"], bare["query"]) == (
                "/api/v1/runs",
                {"state": "open", "n": attempt},
            )


async def test_a_post_answered_503_is_not_retried(server: EchoServer, url: str) -> None:
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "0"})
    async with client_for(url) as http:
        with pytest.raises(ServerError) as caught:
            await http.request("POST", "/run", json={"x": 1})
    assert len(server.requests) == 1
    assert "HTTP 503: busy" in str(caught.value)


async def test_a_401_is_not_retried_and_names_the_setting_not_the_secret(
    server: EchoServer, url: str
) -> None:
    server.fail_next(401, {"message": f"token {SECRET} is invalid"})
    async with client_for(url, auth=TokenAuth(SECRET)) as http:
        with pytest.raises(AuthenticationError) as caught:
            await http.request("GET", "/agents")
    text = str(caught.value)
    assert len(server.requests) == 1
    assert server.requests[0].headers["authorization"] == f"Token {SECRET}"
    assert SECRET not in text
    assert "backend 'ops'" in text and "HTTP 401" in text and "`token`" in text


async def test_rate_limits_that_outlast_the_retries_say_when_to_try_again(
    server: EchoServer, url: str
) -> None:
    server.fail_next(429, {"error": "slow down"}, headers={"Retry-After": "0"}, times=3)
    async with client_for(url) as http:
        with pytest.raises(RateLimitedError) as caught:
            await http.request("GET", "/agents")
    assert len(server.requests) == 3
    assert caught.value.retry_after == 0
    assert "Retried 2 times" in str(caught.value)


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(server: EchoServer, url: str) -> None:
    server.fail_next(429, {"error": "slow down"}, headers={"Retry-After": "3600"})
    async with client_for(url) as http:
        with pytest.raises(RateLimitedError) as caught:
            await http.request("GET", "/agents")
    assert len(server.requests) == 1
    assert "Try again after 3600 s" in str(caught.value)


async def test_agent_disabled_and_validation_errors_get_their_own_classes(
    server: EchoServer, url: str
) -> None:
    server.fail_next(403, {"error": "Agent is disabled", "error_type": "AGENT_DISABLED"})
    server.fail_next(
        422, {"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]}
    )
    async with client_for(url) as http:
        with pytest.raises(AgentDisabledError) as disabled:
            await http.request("POST", "/chat", json={})
        with pytest.raises(UpstreamValidationError) as invalid:
            await http.request("POST", "/agents", json={})
    assert "enable them" in str(disabled.value)
    assert "name: Field required" in str(invalid.value)


async def test_the_api_key_goes_in_the_query_on_reads_and_in_the_body_on_writes(
    server: EchoServer, url: str
) -> None:
    async with client_for(url, auth=ApiKeyAuth(SECRET)) as http:
        read = await http.request("GET", "/workflows")
        write = await http.request("POST", "/chat", json={"message": "hi"})
    assert read["query"] == {"api_key": SECRET}
    assert write["query"] == {}
    assert server.requests[1].body == {"message": "hi", "api_key": SECRET}


async def test_an_answer_over_the_size_cap_is_refused(server: EchoServer, url: str) -> None:
    async with client_for(url, max_response_bytes=1000) as http:
        with pytest.raises(ProtocolError) as caught:
            await http.request("GET", "/big")
    assert "more than 1000 bytes" in str(caught.value)


def explain_for_test(error: UpstreamError, *, agent_id: str = "") -> UpstreamError:
    """A backend's ``explain``: says which agent the failed call was about."""
    return error.refined(hint=f"explained for '{agent_id}'")


async def test_a_backend_s_explain_words_every_failed_call_with_the_call_s_context() -> None:
    server = EchoServer()
    server.fail_next(404, {"error": "gone"}, times=3)
    with serve(server.app) as url:
        async with client_for(url, max_response_bytes=1000) as plain:
            http = plain.explained_by(explain_for_test)
            with pytest.raises(NotFoundError) as asked:
                await http.request("GET", "/agents/a1", context={"agent_id": "a1"})
            with pytest.raises(NotFoundError) as opened:
                async with http.stream("POST", "/agents/a2/run", context={"agent_id": "a2"}):
                    pass
            with pytest.raises(NotFoundError) as unexplained:
                await plain.request("GET", "/agents/a4")
            with pytest.raises(ProtocolError) as read:
                async with http.stream("GET", "/big", context={"agent_id": "a3"}) as response:
                    async for _ in response.aiter_bytes():
                        pass
    assert asked.value.hint == "explained for 'a1'"
    assert isinstance(asked.value.__cause__, NotFoundError)
    assert opened.value.hint == "explained for 'a2'"
    assert read.value.hint == "explained for 'a3'"
    assert "explained" not in str(unexplained.value)


async def test_a_refused_connection_is_retried_then_reported_without_secrets() -> None:
    with serve(EchoServer().app) as url:
        pass
    async with client_for(f"{url}/?api_key={SECRET}") as http:
        with pytest.raises(UpstreamConnectError) as caught:
            await http.request("POST", "/run", json={})
        assert "could not connect" in str(caught.value)
        assert SECRET not in str(caught.value)


# ---- defect 7: one retry loop, at most 1 + max_retries attempts ----------------------------


@dataclass
class SlowServer(FakePlatform):
    """Answers /slow after ``delay`` seconds (longer than the client's read timeout)."""

    delay: float = 2.0

    def build_app(self) -> Starlette:
        async def slow(request: Request) -> Response:
            await anyio.sleep(self.delay)
            return JSONResponse({"late": True})

        return Starlette(routes=[Route("/slow", slow, methods=["GET", "POST"])])


@asynccontextmanager
async def counting_client(
    url: str, attempts: list[str], *, read_timeout: float = 5, **kwargs
) -> AsyncIterator[HttpClient]:
    """A client whose pooled httpx2 client counts every request it tries to send."""

    async def count(request: httpx2.Request) -> None:
        attempts.append(request.method)

    async with httpx2.AsyncClient(
        base_url=url, timeout=httpx2.Timeout(read_timeout), event_hooks={"request": [count]}
    ) as client:
        retry = RetryPolicy(max_retries=2, base_delay=0.01, max_wait=5)
        yield HttpClient(client, backend="ops", retry=retry, **kwargs)


@contextmanager
def unanswered_port() -> Iterator[str]:
    """A port whose accept queue is full, so a new connection attempt times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_defect_7_a_refused_connection_is_tried_1_plus_max_retries_times() -> None:
    with serve(EchoServer().app) as url:
        pass  # nothing listens there any more
    attempts: list[str] = []
    async with counting_client(url, attempts) as http:
        with pytest.raises(UpstreamConnectError):
            await http.request("GET", "/x")
    assert len(attempts) == 3


async def test_defect_7_a_connect_timeout_is_tried_1_plus_max_retries_times() -> None:
    attempts: list[str] = []
    with unanswered_port() as url:
        async with counting_client(url, attempts, read_timeout=0.2) as http:
            with pytest.raises(UpstreamTimeoutError) as caught:
                await http.request("GET", "/x")
    assert len(attempts) == 3  # was 9: the inner and the outer loop both retried
    assert "`timeout`" in str(caught.value)


async def test_defect_7_a_read_timeout_is_tried_1_plus_max_retries_times() -> None:
    server = SlowServer()
    attempts: list[str] = []
    with serve(server.app) as url:
        async with counting_client(url, attempts, read_timeout=0.2) as http:
            with pytest.raises(UpstreamTimeoutError):
                await http.request("GET", "/slow")
    assert len(attempts) == 3 and len(server.requests) == 3


async def test_defect_7_a_lasting_503_is_tried_1_plus_max_retries_times(
    server: EchoServer, url: str
) -> None:
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "0"}, times=10)
    attempts: list[str] = []
    async with counting_client(url, attempts) as http:
        with pytest.raises(ServerError) as caught:
            await http.request("GET", "/things")
    assert len(attempts) == 3 and len(server.requests) == 3
    assert "tried 3 times" in str(caught.value)


# ---- defect 8: per-call read timeout and byte cap, so backends need no reading of their own --


async def test_defect_8_a_long_call_gets_the_stream_timeout_instead_of_timeout() -> None:
    server = SlowServer(delay=0.5)
    with serve(server.app) as url:
        async with counting_client(url, [], read_timeout=0.2, stream_timeout=5) as http:
            answer = await http.request("POST", "/slow", json={}, long=True)
            with pytest.raises(UpstreamTimeoutError) as caught:
                await http.request("POST", "/slow", json={})
    assert answer == {"late": True}
    assert "raise `timeout`" in str(caught.value)


async def test_defect_8_a_call_may_lower_the_size_cap_or_keep_the_start(
    server: EchoServer, url: str
) -> None:
    async with client_for(url) as http:
        with pytest.raises(ProtocolError) as caught:
            await http.request("GET", "/big", max_bytes=100)
        reply = await http.exchange("GET", "/big", max_bytes=100, truncate=True)
    assert "more than 100 bytes" in str(caught.value)
    assert reply.truncated and reply.content == b"x" * 100 and reply.status == 200


# ---- defect 14 ---------------------------------------------------------------------------


async def test_defect_14_a_stream_read_timeout_names_stream_timeout() -> None:
    server = SlowServer(delay=2)
    with serve(server.app) as url:
        async with counting_client(url, [], read_timeout=5, stream_timeout=0.2) as http:
            with pytest.raises(UpstreamTimeoutError) as caught:
                async with http.stream("GET", "/slow"):
                    pass
    assert "raise `stream_timeout`" in str(caught.value)


async def test_defect_7_no_retry_starts_past_the_calls_time_bound(
    server: EchoServer, url: str
) -> None:
    # the bound is the read timeout (0.2 s) plus retry_max_wait (1 s): a second wait of
    # 1 s would end past it, so the call gives up after two attempts instead of four
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "1"}, times=10)
    async with httpx2.AsyncClient(base_url=url, timeout=httpx2.Timeout(0.2)) as client:
        http = HttpClient(client, backend="ops", retry=RetryPolicy(max_retries=3, max_wait=1))
        with pytest.raises(ServerError):
            await http.request("GET", "/things")
    assert len(server.requests) == 2


def test_the_tls_context_every_backend_shares_verifies_certificates_and_hosts() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert tls_context() is context, "made once, not once per backend"
