"""The shared HTTP layer against a local test server: retries, errors, redaction, caps."""

from dataclasses import dataclass

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentdeck.errors import (
    AgentDisabledError,
    AuthenticationError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UpstreamConnectError,
    UpstreamValidationError,
)
from agentdeck.http import ApiKeyAuth, HttpClient, RetryPolicy, TokenAuth, build_async_client
from tests.fakes.base import FakePlatform, serve

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


def client_for(url: str, auth: httpx2.Auth | None = None, **kwargs) -> HttpClient:
    return HttpClient(
        build_async_client(url, auth=auth, timeout=5),
        backend="ops",
        secrets=[SECRET],
        retry=RetryPolicy(max_retries=2, base_delay=0.01),
        credential_hint="Check `token` of backend 'ops' in the config.",
        **kwargs,
    )


async def test_a_get_answered_503_with_retry_after_is_retried() -> None:
    server = EchoServer()
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "0"})
    with serve(server.app) as url:
        http = client_for(url)
        answer = await http.request("GET", "/things", params={"a": 1, "skip": None})
    assert answer["query"] == {"a": "1"}
    assert len(server.requests) == 2


async def test_a_post_answered_503_is_not_retried() -> None:
    server = EchoServer()
    server.fail_next(503, {"error": "busy"}, headers={"Retry-After": "0"})
    with serve(server.app) as url:
        http = client_for(url)
        with pytest.raises(ServerError) as caught:
            await http.request("POST", "/run", json={"x": 1})
    assert len(server.requests) == 1
    assert "HTTP 503: busy" in str(caught.value)


async def test_a_401_is_not_retried_and_names_the_setting_not_the_secret() -> None:
    server = EchoServer()
    server.fail_next(401, {"message": f"token {SECRET} is invalid"})
    with serve(server.app) as url:
        http = client_for(url, auth=TokenAuth(SECRET))
        with pytest.raises(AuthenticationError) as caught:
            await http.request("GET", "/agents")
    text = str(caught.value)
    assert len(server.requests) == 1
    assert server.requests[0].headers["authorization"] == f"Token {SECRET}"
    assert SECRET not in text
    assert "backend 'ops'" in text and "HTTP 401" in text and "`token`" in text


async def test_rate_limits_that_outlast_the_retries_say_when_to_try_again() -> None:
    server = EchoServer()
    server.fail_next(429, {"error": "slow down"}, headers={"Retry-After": "0"}, times=3)
    with serve(server.app) as url:
        http = client_for(url)
        with pytest.raises(RateLimitedError) as caught:
            await http.request("GET", "/agents")
    assert len(server.requests) == 3
    assert caught.value.retry_after == 0
    assert "Retried 2 times" in str(caught.value)


async def test_a_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    server = EchoServer()
    server.fail_next(429, {"error": "slow down"}, headers={"Retry-After": "3600"})
    with serve(server.app) as url:
        http = client_for(url)
        with pytest.raises(RateLimitedError) as caught:
            await http.request("GET", "/agents")
    assert len(server.requests) == 1
    assert "Try again after 3600 s" in str(caught.value)


async def test_agent_disabled_and_validation_errors_get_their_own_classes() -> None:
    server = EchoServer()
    server.fail_next(403, {"error": "Agent is disabled", "error_type": "AGENT_DISABLED"})
    server.fail_next(
        422, {"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]}
    )
    with serve(server.app) as url:
        http = client_for(url)
        with pytest.raises(AgentDisabledError) as disabled:
            await http.request("POST", "/chat", json={})
        with pytest.raises(UpstreamValidationError) as invalid:
            await http.request("POST", "/agents", json={})
    assert "enable them" in str(disabled.value)
    assert "name: Field required" in str(invalid.value)


async def test_the_api_key_goes_in_the_query_on_reads_and_in_the_body_on_writes() -> None:
    server = EchoServer()
    with serve(server.app) as url:
        http = client_for(url, auth=ApiKeyAuth(SECRET))
        read = await http.request("GET", "/workflows")
        write = await http.request("POST", "/chat", json={"message": "hi"})
    assert read["query"] == {"api_key": SECRET}
    assert write["query"] == {}
    assert server.requests[1].body == {"message": "hi", "api_key": SECRET}


async def test_an_answer_over_the_size_cap_is_refused() -> None:
    server = EchoServer()
    with serve(server.app) as url:
        http = client_for(url, max_response_bytes=1000)
        with pytest.raises(ProtocolError) as caught:
            await http.request("GET", "/big")
    assert "more than 1000 bytes" in str(caught.value)


async def test_a_refused_connection_is_retried_then_reported_without_secrets() -> None:
    with serve(EchoServer().app) as url:
        pass
    http = client_for(f"{url}/?api_key={SECRET}")
    with pytest.raises(UpstreamConnectError) as caught:
        await http.request("POST", "/run", json={})
    assert "could not connect" in str(caught.value)
    assert SECRET not in str(caught.value)
