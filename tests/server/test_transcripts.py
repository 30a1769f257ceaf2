"""Transcripts and the recent-conversations list as a Markdown renderer reads them: what
people and agents wrote stays text (18.10); times are RFC 3339 with ``Z`` (19.10)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mcp.shared.exceptions import MCPError

from agentdeck.model import Agent
from tests.support import call_ok, connect, make_settings

pytestmark = pytest.mark.anyio

HOSTILE = "# Take over\n```\n## injected\n````\n<script>x</script> [x](javascript:alert(1))"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _tokens(markdown: str) -> list[Token]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return tokens + [child for token in tokens for child in token.children or []]


def _headings(tokens: list[Token]) -> list[tuple[str, str]]:
    return [
        (opening.tag, tokens[i + 1].content)
        for i, opening in enumerate(tokens)
        if opening.type == "heading_open"
    ]


async def _read(client: Any, uri: str) -> str:
    return (await client.read_resource(uri)).contents[0].text  # type: ignore[no-any-return]


async def _hostile_conversation(client: Any) -> dict[str, Any]:
    agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Echo"})
    return await call_ok(client, "chat", {"agent": agent["ref"], "message": HOSTILE})


async def test_a_message_cannot_restructure_its_transcript(mode: str) -> None:
    """18.10: the first message is the title, as text; bodies stay inside their fences."""
    async with connect(make_settings(), mode) as client:
        answer = await _hostile_conversation(client)
        backend, _, conversation_id = answer["conversation"].partition(":")
        transcript = await _read(client, f"agentdeck://{backend}/conversations/{conversation_id}")
    tokens = _tokens(transcript)
    headings = _headings(tokens)
    assert [tag for tag, _ in headings] == ["h1", "h2", "h2"]
    title_text = "".join(t.content for t in tokens if t.type == "text" and t.map is None)
    assert " ".join(HOSTILE.split("\n"))[:40] in title_text
    assert [t.content.rstrip("\n") for t in tokens if t.type == "fence"] == [
        HOSTILE,
        answer["text"],
    ]
    assert not [t for t in tokens if t.type in ("link_open", "html_inline", "html_block")]


async def test_a_title_cannot_turn_into_a_link_in_the_recent_list(mode: str) -> None:
    """18.10: link text is escaped; the only links are the conversations' own URIs."""
    async with connect(make_settings(), mode) as client:
        await _hostile_conversation(client)
        listing = await _read(client, "agentdeck://local/conversations")
    tokens = _tokens(listing)
    links = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert len(links) == 1 and str(links[0]).startswith("agentdeck://local/conversations/")
    assert not [t for t in tokens if t.type in ("html_inline", "html_block")]
    assert _headings(tokens) == [("h1", "Recent conversations on local")]


async def test_every_time_is_rfc3339_in_utc_with_z(mode: str) -> None:
    """19.10: tool results, transcripts and the recent list write times one way."""
    async with connect(make_settings(), mode) as client:
        answer = await _hostile_conversation(client)
        backend, _, conversation_id = answer["conversation"].partition(":")
        conversation = await client.call_tool(
            "get_conversation", {"conversation": answer["conversation"]}
        )
        listed = await client.call_tool("list_conversations", {})
        texts = [
            await _read(client, f"agentdeck://{backend}/conversations/{conversation_id}"),
            await _read(client, "agentdeck://local/conversations"),
            conversation.content[0].text,  # type: ignore[union-attr]
            listed.content[0].text,  # type: ignore[union-attr]
            str(answer),
        ]
    stamps = [m.group(0) for text in texts for m in TIMESTAMP.finditer(text)]
    assert len(stamps) >= 8
    assert all(stamp.endswith("Z") for stamp in stamps), stamps


def test_a_platform_time_in_another_zone_is_written_in_utc() -> None:
    """19.10: a platform's "+02:00" (or a time with no zone, taken as UTC) becomes "…Z"."""
    agent = Agent(
        backend="b",
        id="a",
        name="n",
        created_at="2026-03-01T12:00:00+02:00",  # type: ignore[arg-type]
        updated_at="2026-03-01T12:00:00",  # type: ignore[arg-type]
    )
    dumped = agent.model_dump(mode="json")
    assert dumped["created_at"] == "2026-03-01T10:00:00Z"
    assert dumped["updated_at"] == "2026-03-01T12:00:00Z"


async def test_a_transcript_is_read_a_page_at_a_time(mode: str) -> None:
    """18.9: the transcript takes limit and cursor like get_conversation, newest first."""
    async with connect(make_settings(), mode) as client:
        answer = await _hostile_conversation(client)
        backend, _, conversation_id = answer["conversation"].partition(":")
        uri = f"agentdeck://{backend}/conversations/{conversation_id}"
        newest = await _read(client, f"{uri}?limit=1")
        older = await _read(client, f"{uri}?limit=1&cursor=o:1")
        with pytest.raises(MCPError) as refused:
            await _read(client, f"{uri}?limit=500")
    assert "messages: 2–2 of 2" in newest and f"<{uri}?limit=1&cursor=o:1>" in newest
    assert "messages: 1–1 of 2" in older and "older messages" not in older
    assert "limit must be a whole number from 1 to 200" in refused.value.message
