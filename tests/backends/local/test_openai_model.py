"""Local agents on the `openai` model, against a fake OpenAI-compatible server over HTTP."""

import anyio
import pytest
from mcp.types import CallToolResult

from agentdeck.config import Settings
from tests.backends.streams import assert_completed_with_a_warning
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.platforms import OPENAI_KEY, openai_settings
from tests.support import call_ok, connect, error_text, local_agent, ok

pytestmark = pytest.mark.anyio


async def chat_with_a_new_agent(settings: Settings, message: str) -> CallToolResult:
    """One chat turn with a new local agent, by a client connected for it alone: the raw
    result, for ``ok`` or ``error_text``."""
    async with connect(settings) as client:
        return await client.call_tool(
            "chat", {"agent": await local_agent(client), "message": message}
        )


async def test_an_agent_may_name_its_own_model(settings: Settings) -> None:
    async with connect(settings) as client:
        agent = await call_ok(
            client, "create_agent", {"backend": "local", "name": "A", "model": "qwen-7b"}
        )
        result = await call_ok(client, "chat", {"agent": agent["ref"], "message": "x"})
    assert result["text"].startswith("[qwen-7b]")


async def test_a_stream_cut_off_mid_way_keeps_what_came_and_says_what_happened(
    fake: FakeOpenAI, settings: Settings
) -> None:
    fake.next_stream = "cut_off"
    async with connect(settings) as client:
        agent = await local_agent(client)
        result = await call_ok(client, "chat", {"agent": agent, "message": "hi"})
        assert result["status"] == "failed"
        assert result["text"] == "[tiny-llama] heard 'hi'"
        assert "cut off" in result["error"]
        conversation = await call_ok(
            client, "get_conversation", {"conversation": result["conversation"]}
        )
    # the user's message is kept; the broken answer is not stored as if it were complete
    assert [m["role"] for m in conversation["messages"]] == ["user"]


async def test_a_malformed_chunk_is_skipped_with_a_warning(
    fake: FakeOpenAI, settings: Settings
) -> None:
    fake.next_stream = "malformed"
    result = ok(await chat_with_a_new_agent(settings, "hi"))
    heard = "[tiny-llama] heard 'hi' after 0 earlier messages"
    assert_completed_with_a_warning(result, heard, "malformed")


async def test_a_rejected_key_names_the_setting_and_never_the_key(
    fake: FakeOpenAI, settings: Settings
) -> None:
    fake.api_key = "the-right-key"
    text = error_text(await chat_with_a_new_agent(settings, "x"))
    assert "HTTP 401" in text and "Incorrect API key" in text
    assert "openai_api_key" in text
    assert OPENAI_KEY not in text


async def test_an_unreachable_model_server_is_a_clear_error() -> None:
    with serve(FakeOpenAI().app) as url:
        pass  # the port is closed again: nothing listens there now
    text = error_text(await chat_with_a_new_agent(openai_settings(url), "x"))
    assert "could not connect" in text and "base_url" in text


@pytest.mark.parametrize(
    ("max_connections", "chats", "expected"), [(None, 40, 40), (4, 8, 4)], ids=["default", "4"]
)
async def test_concurrent_chats_reach_the_model_at_once_up_to_max_connections(
    fake: FakeOpenAI, url: str, max_connections: int | None, chats: int, expected: int
) -> None:
    """Each streaming chat holds a connection: 40 chats at once are 40 requests at once
    (by default), or ``max_connections`` of them while the rest wait for one. The model
    takes a second, so a loaded machine still gets every request in while the first waits."""
    fake.latency = 1.0
    extra = {} if max_connections is None else {"max_connections": max_connections}
    async with connect(openai_settings(url, **extra)) as client:
        agent = await local_agent(client)

        async def chat() -> None:
            await call_ok(client, "chat", {"agent": agent, "message": "hi"})

        async with anyio.create_task_group() as group:
            for _ in range(chats):
                group.start_soon(chat)
    assert fake.most_waiting == expected
