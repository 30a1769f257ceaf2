"""Log messages to clients: ``logging/setLevel`` on 2025-11-25 sessions, and the warnings
that concern the person reaching them at the level they set, redacted (issue 19, item 12)."""

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import LoggingLevel, LoggingMessageNotificationParams

from agentdeck.server import build_server
from tests.fakes.base import Served, serve
from tests.fakes.make import FakeMake
from tests.fakes.openai import FakeOpenAI
from tests.support import FAST_HTTP, call_ok, connect, make_settings

pytestmark = pytest.mark.anyio

SECRET = "sk-log-0123456789abcdef"


class Messages:
    """The ``notifications/message`` a client receives, with a bounded wait for them."""

    def __init__(self) -> None:
        self.received: list[LoggingMessageNotificationParams] = []
        self._arrived = anyio.Event()

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.received.append(params)
        self._arrived.set()

    async def next(self) -> LoggingMessageNotificationParams:
        with anyio.fail_after(5):
            while not self.received:
                await self._arrived.wait()
                self._arrived = anyio.Event()
        return self.received.pop(0)


async def set_level(client: Client, level: LoggingLevel) -> None:
    with warnings.catch_warnings():  # the SDK marks the (2025-11-25) capability deprecated
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await client.set_logging_level(level)


@asynccontextmanager
async def leaky_model_client(messages: Messages) -> AsyncIterator[tuple[FakeOpenAI, Client]]:
    """A 2025-11-25 client of a local backend on a model whose stream has a malformed
    chunk quoting the key."""
    fake = FakeOpenAI(api_key=SECRET)
    with serve(fake.app) as url:
        local = {
            "model": "openai",
            "openai_base_url": f"{url}/v1",
            "openai_api_key": SECRET,
            "openai_model": "tiny-llama",
            **FAST_HTTP,
        }
        async with connect(make_settings(local=local), "legacy", logging_callback=messages) as c:
            yield fake, c


async def chat_once(client: Client, fake: FakeOpenAI) -> None:
    fake.next_stream = "leaky"
    agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Leaky"})
    await call_ok(client, "chat", {"agent": agent["ref"], "message": "hi"})


async def test_a_skipped_malformed_event_reaches_a_client_at_its_level_redacted() -> None:
    """19.12: a 2025-11-25 client that set the level to warning hears of the malformed
    chunk its chat skipped, as a notifications/message with the key redacted."""
    messages = Messages()
    async with leaky_model_client(messages) as (fake, client):
        assert client.server_capabilities.logging is not None
        await set_level(client, "warning")
        await chat_once(client, fake)
        message = await messages.next()
    assert message.level == "warning" and message.logger == "agentdeck.runs"
    assert "skipped a malformed model chunk" in message.data
    assert SECRET[:8] not in message.data and "Authorization" in message.data


async def test_a_client_hears_nothing_below_its_level() -> None:
    """19.12: at level error the same warning is not sent; lowered to warning, the next one
    is (and only that one: the first was dropped, not delayed)."""
    messages = Messages()
    async with leaky_model_client(messages) as (fake, client):
        await set_level(client, "error")
        await chat_once(client, fake)
        await set_level(client, "warning")
        await chat_once(client, fake)
        await messages.next()
        await anyio.sleep(0.05)
    assert messages.received == []


async def test_a_backend_unreachable_at_refresh_is_told_to_the_client(served: Served) -> None:
    """19.12: keeping the last known agent tools of a backend that could not be reached
    is a warning the client hears of; a client that set no level hears nothing."""
    fake = FakeMake()
    heard, silent = Messages(), Messages()
    url = served(fake)
    ops = {"kind": "make", "base_url": f"{url}/api/v2", "token": fake.token, "team_id": 1}
    settings = make_settings({"ops": {**ops, "expose_agents": True, **FAST_HTTP}})
    async with connect(settings, "legacy", logging_callback=heard) as client:
        await set_level(client, "info")
        fake.server_error(path_contains="/agents", times=10)
        await call_ok(client, "refresh_agents", {"backend": "ops"})
        message = await heard.next()
    fake.clear_failures()
    async with connect(settings, "legacy", logging_callback=silent) as client:
        fake.server_error(path_contains="/agents", times=10)
        await call_ok(client, "refresh_agents", {"backend": "ops"})
        await anyio.sleep(0.05)
    assert message.level == "warning"
    assert "keeping the last known agent tools of ops" in message.data
    assert silent.received == []


async def test_only_2025_sessions_with_sessions_are_offered_logging(mode: str) -> None:
    """19.12: 2026-07-28 deprecated logging (SEP-2577): not declared there, and
    logging/setLevel is not a method; stateless HTTP cannot reach a 2025-11-25 client
    outside its requests, so it is not offered there either."""
    async with connect(make_settings(), mode) as client:
        declared = client.server_capabilities.logging is not None
        if mode == "auto":
            with pytest.raises(MCPError) as raised:
                await set_level(client, "warning")
            assert raised.value.code == -32601
    assert declared is (mode == "legacy")
    async with Client(build_server(make_settings(), stateless=True), mode=mode) as client:  # type: ignore[arg-type]
        assert client.server_capabilities.logging is None
