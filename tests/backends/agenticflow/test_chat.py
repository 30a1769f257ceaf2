"""Chat with AgenticFlow agents (data stream v1) through a real MCP client."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from agentdeck.config import Settings
from tests.backends.agenticflow.refs import AGENT, FOREIGN_AGENT, PUBLIC_AGENT
from tests.backends.streams import assert_completed_with_a_warning
from tests.fakes.agenticflow import API_KEY, PRIVATE_AGENT_ID, PUBLIC_AGENT_ID, FakeAgenticFlow
from tests.platforms import agenticflow_settings
from tests.support import call_error, call_ok, call_once, connect, conversation_id, error_text, ok

pytestmark = pytest.mark.anyio


def line(prefix: str, value: Any) -> str:
    return f"{prefix}:{json.dumps(value)}"


async def chat(client: Any, message: str, **arguments: Any) -> dict[str, Any]:
    with anyio.fail_after(15):
        return await client.call_tool("chat", {"agent": AGENT, "message": message, **arguments})


async def test_a_chat_streams_text_reasoning_and_tools_and_threads_the_conversation(
    fake: FakeAgenticFlow,
    settings: Settings,
    mode: str,
) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(settings, mode) as client:
        with anyio.fail_after(15):
            first = await call_ok(
                client,
                "chat",
                {"agent": AGENT, "message": "hello there"},
                progress_callback=on_progress,
            )
        second = ok(await chat(client, "and again", conversation=first["conversation"]))
        listed = await call_ok(client, "list_conversations", {"backend": "af"})

    assert first["status"] == "completed" and "error" not in first
    assert first["text"] == "Echo: hello there (turn 1)"
    assert first["reasoning"] == "Support Bot will echo the user's 2 words."
    assert first["tool_calls"] == [
        {
            "id": first["tool_calls"][0]["id"],
            "name": "echo",
            "arguments": {"text": "hello there"},
            "result": {"echo": "hello there"},
        }
    ]
    assert first["usage"] == {"promptTokens": 2, "completionTokens": 5}
    assert first["details"]["finishReason"] == "stop"
    assert first["details"]["user_message_id"]
    assert first["warnings"] == []  # the unknown "8:" part is skipped silently
    assert "[calling tool echo]" in progress
    assert "".join(m for m in progress if m and not m.startswith("[")) == first["text"]

    thread = conversation_id(first)
    assert first["conversation"] == f"af:{thread}"
    assert second["conversation"] == first["conversation"]
    assert second["text"] == "Echo: and again (turn 2)"
    assert [c["id"] for c in listed["items"]] == [thread]

    streams = fake.requests_to(f"/v1/agents/{PRIVATE_AGENT_ID}/stream", "POST")
    assert [s.body for s in streams] == [
        {"id": thread, "messages": [{"role": "user", "content": "hello there"}]},
        {"id": thread, "messages": [{"role": "user", "content": "and again"}]},
    ]
    assert streams[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert [m["role"] for m in fake.threads[thread]["messages"]] == ["user", "assistant"] * 2


async def test_image_attachments_are_sent_with_the_message(
    fake: FakeAgenticFlow, url: str, settings: Settings
) -> None:
    urls = ["https://example.com/cat.jpg", "https://example.com/dog.png"]
    async with connect(settings) as client:
        result = ok(await chat(client, "Describe these.", options={"attachments": urls}))
    assert result["text"].endswith(f"[attachments: {', '.join(urls)}]")
    sent = fake.requests_to("/stream")[0].body["messages"][0]
    assert sent["experimental_attachments"] == [{"url": u} for u in urls]


async def test_wrong_chat_options_are_refused_before_any_request(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        files = error_text(await chat(client, "x", options={"attachments": ["/etc/passwd"]}))
        unknown = error_text(await chat(client, "x", options={"stream": False}))
        bad_ref = await call_error(client, "chat", {"agent": "af:support", "message": "x"})
    assert "options.attachments[0] must be an http(s) or data: URL" in files
    assert "stream are not AgenticFlow chat options" in unknown
    assert "not an AgenticFlow agent id" in bad_ref
    assert fake.requests == []


async def test_every_stream_part_is_decoded_and_an_error_part_fails_the_run(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    usage = {"promptTokens": 3, "completionTokens": 2}
    fake.next_stream = [
        line("2", [{"type": "thread_info", "thread_id": "server-thread", "user_message_id": "u1"}]),
        line("2", [{"type": "progress", "value": 1}]),
        line("f", {"messageId": "m1"}),
        line("g", "Looking it up."),
        line("9", {"toolCallId": "c1", "toolName": "lookup", "args": {"q": "tides"}}),
        line("a", {"toolCallId": "c1", "result": {"high": "06:10"}}),
        line("9", {"toolCallId": "c2", "toolName": "clock", "args": {}}),
        line("a", "noon"),
        line("e", {"finishReason": "tool-calls", "usage": usage, "isContinued": False}),
        line("f", {"messageId": "m2"}),
        line("0", "High tide "),
        line("x", {"future": "part"}),
        line("b", {"toolCallId": "c3", "toolName": "streamed"}),
        line("0", "is at 06:10."),
        line("3", "The model provider returned an error."),
        line("e", {"finishReason": "error", "usage": usage, "isContinued": False}),
        line("d", {"finishReason": "error", "usage": usage}),
    ]
    async with connect(settings) as client:
        result = ok(await chat(client, "When is high tide?"))
    assert result["status"] == "failed"
    assert result["error"] == "the agent reported an error: The model provider returned an error."
    assert result["text"] == "High tide is at 06:10."
    assert result["reasoning"] == "Looking it up."
    assert [(t.get("name"), t.get("result")) for t in result["tool_calls"]] == [
        ("lookup", {"high": "06:10"}),
        ("clock", None),
        (None, "noon"),
    ]
    assert result["conversation"] == "af:server-thread"  # the platform's thread_info wins
    assert result["usage"] == usage
    assert result["details"]["user_message_id"] == "u1"
    assert result["warnings"] == []


async def test_an_error_in_the_finish_part_fails_the_run_and_keeps_the_text(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "finish_error"
    fake.stream_error = "Out of credits for model."
    async with connect(settings, mode) as client:
        result = ok(await chat(client, "hello world"))
    assert result["status"] == "failed"
    assert result["error"] == "the agent reported an error: Out of credits for model."
    assert result["text"] == "Echo: "
    assert result["conversation"]


async def test_a_stream_cut_mid_line_fails_the_run_and_keeps_what_came(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "cut_off"
    async with connect(settings, mode) as client:
        result = ok(await chat(client, "one two three"))
    assert result["status"] == "failed"
    assert result["text"] == "Echo: one "
    assert "was cut off" in result["error"] and "backend 'af'" in result["error"]
    assert len(fake.requests_to("/stream")) == 1  # a chat is never re-sent


async def test_a_stream_that_ends_without_finishing_fails_the_run(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    fake.next_stream = [line("0", "Half an ans"), '0:"wer']
    async with connect(settings) as client:
        result = ok(await chat(client, "hi"))
    assert result["status"] == "failed"
    assert result["text"] == "Half an ans"
    assert "ended before the agent finished" in result["error"]
    assert any("malformed" in w for w in result["warnings"])


async def test_a_malformed_line_is_a_warning_and_the_answer_still_completes(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    fake.next_stream = "malformed"
    async with connect(settings) as client:
        result = ok(await chat(client, "hello there"))
    assert_completed_with_a_warning(result, "Echo: hello there (turn 1)", "malformed '0:' line")


async def test_a_long_chat_answers_running_and_can_be_waited_on_or_cancelled(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    fake.next_stream = "slow"
    fake.stream_delay = 0.05
    async with connect(settings) as client:
        running = ok(await chat(client, "a b c d e f g h", wait_seconds=0.1))
        with anyio.fail_after(15):
            finished = await call_ok(
                client, "get_run", {"run_id": running["run_id"], "wait_seconds": 10}
            )
        fake.next_stream, fake.stream_delay = "slow", 1.0
        second = ok(await chat(client, "slow one", wait_seconds=0.1))
        with anyio.fail_after(15):
            cancelled = await call_ok(client, "cancel_run", {"run_id": second["run_id"]})
    assert running["status"] == "running"
    assert finished["status"] == "completed"
    assert finished["text"] == "Echo: a b c d e f g h (turn 1)"
    assert cancelled["status"] == "cancelled"


async def test_forbidden_and_missing_agents_fail_the_chat_with_the_reason(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        foreign = await call_error(client, "chat", {"agent": FOREIGN_AGENT, "message": "hi"})
        fake.rate_limited(retry_after=1, path_contains="/stream")
        limited = error_text(await chat(client, "hi"))
    assert "HTTP 403" in foreign and "bound to one project" in foreign
    assert "HTTP 429" in limited and "Try again after 1 s." in limited
    assert len(fake.requests_to(f"/v1/agents/{PRIVATE_AGENT_ID}/stream")) == 1


async def test_public_agents_are_chatted_with_anonymously(
    fake: FakeAgenticFlow, url: str, settings: Settings
) -> None:
    chosen = await call_once(
        settings,
        "chat",
        {
            "agent": PUBLIC_AGENT,
            "message": "hi",
            "options": {"anonymous": True},
        },
    )
    async with connect(agenticflow_settings(url, api_key=None)) as client:
        keyless = await call_ok(client, "chat", {"agent": PUBLIC_AGENT, "message": "yo"})
        private = error_text(await chat(client, "hi"))
    assert chosen["text"] == "Echo: hi (turn 1)" and keyless["text"] == "Echo: yo (turn 1)"
    assert "HTTP 403" in private and "private: set `api_key`" in private
    anonymous = fake.requests_to("/v1/agents/anonymous/")
    assert [r.path for r in anonymous] == [
        f"/v1/agents/anonymous/{PUBLIC_AGENT_ID}/stream",
        f"/v1/agents/anonymous/{PUBLIC_AGENT_ID}/stream",
        f"/v1/agents/anonymous/{PRIVATE_AGENT_ID}/stream",
    ]
    assert all("authorization" not in r.headers for r in anonymous)
    assert all("x-agentdeck-without-key" not in r.headers for r in fake.requests)
