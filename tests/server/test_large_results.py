"""18.9: big results reach the Python SDK client over Streamable HTTP, whose server-sent
events are capped at 1 MiB: a result carries its payload once in full (the text is a
preview above 64 KiB), and conversations are read a page at a time, newest first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from agentdeck.server.toolkit import TEXT_LIMIT
from tests.support import call_ok, connect, make_settings, ok
from tests.test_end_to_end import CONFIG, http_server

pytestmark = pytest.mark.anyio

#: A bit over half the SDK client's 1 MiB event limit: one copy fits, two do not.
BIG = 540_000


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("large")
    config = folder / "agentdeck.toml"
    config.write_text(CONFIG.format(database=folder / "local.db"))
    with http_server(Path(config)) as base:
        yield f"{base}/mcp"


async def _echo_agent(client: Client) -> str:
    created = await client.call_tool("create_agent", {"backend": "local", "name": "Echo"})
    return ok(created)["ref"]


async def test_a_small_result_repeats_itself_as_json_text(mode: str) -> None:
    """18.9: up to 64 KiB, the text is the structured content as JSON, as the MCP spec asks
    of a tool with an output schema (for clients that read only ``content``)."""
    async with connect(make_settings(), mode) as client:
        result = await client.call_tool("list_backends", {})
    [text] = result.content
    assert json.loads(text.text) == ok(result)  # type: ignore[union-attr]


async def test_a_big_chat_answer_arrives_once_in_full(mcp_url: str, mode: str) -> None:
    """18.9: a ~540 KB answer arrives; its text is a bounded preview pointing at the rest."""
    with anyio.fail_after(60):
        async with Client(mcp_url, mode=mode) as client:  # type: ignore[arg-type]
            agent = await _echo_agent(client)
            result = await client.call_tool("chat", {"agent": agent, "message": "x" * BIG})
            answer = ok(result)
            newest = await call_ok(
                client, "get_conversation", {"conversation": answer["conversation"]}
            )
            older = await call_ok(
                client,
                "get_conversation",
                {"conversation": answer["conversation"], "cursor": newest["next_cursor"]},
            )
    assert answer["text"] == "You said: " + "x" * BIG
    [preview] = result.content
    assert len(preview.text.encode()) <= TEXT_LIMIT  # type: ignore[union-attr]
    assert "more characters in structuredContent" in preview.text  # type: ignore[union-attr]
    assert json.loads(preview.text)["run_id"] == answer["run_id"]  # type: ignore[union-attr]
    # the page stops at its byte budget: one big message each, newest first
    assert [m["role"] for m in newest["messages"]] == ["assistant"]
    assert [m["content"] for m in older["messages"]] == ["x" * BIG]
    assert newest["message_count"] == older["message_count"] == 2
    assert "next_cursor" not in older


async def test_a_long_conversation_is_read_page_by_page(mcp_url: str, mode: str) -> None:
    """18.9: a conversation of about 1 MB reads in pages (newest first, each in order, with
    the total), through the tool and through the transcript resource."""
    turns = 12
    with anyio.fail_after(120):
        async with Client(mcp_url, mode=mode) as client:  # type: ignore[arg-type]
            agent = await _echo_agent(client)
            conversation = None
            for turn in range(turns):
                arguments = {"agent": agent, "message": f"{turn:03}" + "y" * 16_000}
                if conversation:
                    arguments["conversation"] = conversation
                conversation = (await call_ok(client, "chat", arguments))["conversation"]
            assert conversation is not None
            pages = []
            cursor = None
            while True:
                page = await call_ok(
                    client,
                    "get_conversation",
                    {"conversation": conversation, "limit": 200}
                    | ({"cursor": cursor} if cursor else {}),
                )
                pages.append(page)
                cursor = page.get("next_cursor")
                if cursor is None:
                    break
            first = await call_ok(client, "get_conversation", {"conversation": conversation})
            backend, _, conversation_id = conversation.partition(":")
            transcript = await client.read_resource(
                f"agentdeck://{backend}/conversations/{conversation_id}?limit=4"
            )
    messages = [m for page in reversed(pages) for m in page["messages"]]
    assert len(pages) > 1 and all(page["message_count"] == 2 * turns for page in pages)
    assert [m["content"][:3] for m in messages[::2]] == [f"{t:03}" for t in range(turns)]
    assert first == pages[0]  # the default page: the newest, up to the page's byte budget
    text = transcript.contents[0].text  # type: ignore[union-attr]
    assert f"messages: {2 * turns - 3}–{2 * turns} of {2 * turns}" in text
    assert "?limit=4&cursor=o:4>" in text
