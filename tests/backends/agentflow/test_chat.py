"""AgentFlow chat (SSE), paused runs (approvals, questions), cancellation and conversations."""

from typing import Any

import anyio
import pytest

from agentdeck.config import Settings
from tests.backends.agentflow.runs import (
    EDITED,
    approve_edited,
    one_pending,
    paused_chat,
    run_end,
)
from tests.backends.streams import assert_completed_with_a_warning
from tests.fakes.agentflow import FakeAgentFlow
from tests.support import call_error, call_ok, call_once, connect, conversation_id, error_once

pytestmark = pytest.mark.anyio

AGENT = "flow:agent_research"
REPLY = "[Research Assistant] Echo: {message} (turn {turn})"


async def test_chat_streams_the_answer_and_continues_the_conversation(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(settings, mode) as client:
        first = await call_ok(
            client,
            "chat",
            {"agent": AGENT, "message": "hello there"},
            progress_callback=on_progress,
        )
        assert first["status"] == "completed"
        assert first["text"] == REPLY.format(message="hello there", turn=1)
        assert "".join(m or "" for m in progress) == first["text"]
        conversation = conversation_id(first)
        assert conversation in fake.conversations
        assert first["conversation"] == f"flow:{conversation}"
        assert first["details"]["call_id"] in fake.calls
        second = await call_ok(
            client,
            "chat",
            {"agent": AGENT, "message": "again", "conversation": first["conversation"]},
        )
    assert second["text"] == REPLY.format(message="again", turn=2)
    assert second["conversation"] == first["conversation"]
    chats = fake.requests_to("/chat", "POST")
    assert [c.path for c in chats] == ["/api/v1/agent/agent_research/chat"] * 2
    assert chats[0].body == {"message": "hello there", "stream": True}
    assert chats[0].headers["accept"] == "text/event-stream"
    assert chats[1].body == {"message": "again", "stream": True, "conversation_id": conversation}


async def test_tool_events_become_tool_calls_with_results(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.next_stream = "tool"
    result = await call_once(settings, "chat", {"agent": AGENT, "message": "approvals"})
    (call,) = result["tool_calls"]
    assert call["name"] == "search_knowledge"
    assert call["arguments"] == {"query": "approvals"}
    assert call["result"]["results"][0]["document_id"] == "doc_2"


async def test_an_approval_pauses_the_run_until_approved_with_edited_arguments(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        paused, pending, approval_id = await one_pending(client, fake, "approval", 1)
        assert fake.approvals[approval_id]["status"] == "pending"

        answered = await approve_edited(client, pending)
        assert answered["details"]["modified_arguments"] == EDITED
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert "boss@example.com" in done["text"] and "Edited" in done["text"]
    assert done["pending_approvals"] == []
    (respond,) = fake.requests_to("/respond", "POST")
    assert respond.path == f"/api/v1/approvals/{approval_id}/respond"
    assert respond.body == {"decision": "approve", "modified_arguments": EDITED}


async def test_a_denied_approval_is_reported_to_the_agent_with_the_reason(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        paused, pending, _ = await one_pending(client, fake, "approval", 0.5)
        answer = {"approval": pending["ref"], "decision": "deny", "reason": "not now"}
        denied = await call_ok(client, "respond_to_approval", answer)
        assert denied["status"] == "denied"
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert done["text"].startswith("Did not run send_email: approval denied (not now).")
    assert fake.requests_to("/respond")[0].body == {"decision": "deny", "reason": "not now"}


async def test_cancel_run_closes_the_stream_and_cancels_the_call_upstream(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        paused = await paused_chat(client, fake, "approval", 0.5)
        with anyio.fail_after(15):
            cancelled = await call_ok(client, "cancel_run", {"run_id": paused["run_id"]})
    assert cancelled["status"] == "cancelled"
    (call_id,) = fake.calls
    (cancel,) = fake.requests_to("/api/v1/cancel/", "POST")
    assert cancel.path == f"/api/v1/cancel/{call_id}"
    assert cancel.headers["authorization"] == "Bearer test-token"
    assert fake.calls[call_id]["status"] == "cancelled"
    assert [a["status"] for a in fake.approvals.values()] == ["cancelled"]


async def test_a_question_pauses_the_run_until_answered(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        paused, question, question_id = await one_pending(client, fake, "question", 0.5)
        answered = await call_ok(
            client, "answer_question", {"question": question["ref"], "answer": "short"}
        )
        assert answered["status"] == "answered"
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert done["text"].startswith("You answered: short. ")
    (respond,) = fake.requests_to("/questions/")
    assert respond.path == f"/api/v1/questions/{question_id}/respond"
    assert respond.body == {"answer": "short"}


async def test_a_cut_off_stream_fails_the_run_and_keeps_the_text(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "cut_off"
    result = await call_once(settings, "chat", {"agent": AGENT, "message": "hello"}, mode)
    assert result["status"] == "failed"
    assert result["text"] == "[ResearchAssistant]"
    assert "cut off" in result["error"] and "backend 'flow'" in result["error"]


async def test_a_malformed_event_is_a_warning_and_the_answer_completes(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.next_stream = "malformed"
    result = await call_once(settings, "chat", {"agent": AGENT, "message": "hello"})
    heard = REPLY.format(message="hello", turn=1)
    assert_completed_with_a_warning(result, heard, "malformed 'text' event")


async def test_an_error_event_fails_the_run_with_the_platform_message(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.next_stream = "error"
    result = await call_once(settings, "chat", {"agent": AGENT, "message": "hello"})
    assert result["status"] == "failed"
    assert result["text"] == "[Research "
    assert result["error"] == (
        "the agent reported an error (internal_error): The model provider failed"
    )


async def test_a_stream_without_done_is_reported_as_incomplete(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.next_stream = [
        ("start", {"call_id": "call_x", "conversation_id": "c"}),
        ("text", {"content": "Hal"}),
    ]
    result = await call_once(settings, "chat", {"agent": AGENT, "message": "hello"})
    assert result["status"] == "failed"
    assert result["text"] == "Hal"
    assert "ended before the agent finished" in result["error"]


async def test_stream_false_answers_in_one_piece(fake: FakeAgentFlow, settings: Settings) -> None:
    fake.next_stream = "tool"
    result = await call_once(
        settings, "chat", {"agent": AGENT, "message": "install", "options": {"stream": False}}
    )
    assert result["status"] == "completed"
    assert result["text"] == REPLY.format(message="install", turn=1)
    assert result["tool_calls"][0]["name"] == "search_knowledge"
    assert conversation_id(result) in fake.conversations
    assert fake.requests_to("/chat")[0].body == {"message": "install", "stream": False}


async def test_the_title_option_creates_the_conversation_first(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    result = await call_once(
        settings, "chat", {"agent": AGENT, "message": "hi", "options": {"title": "Launch plan"}}
    )
    (created,) = fake.requests_to("/api/v1/conversations", "POST")
    assert created.body == {"agent_id": "agent_research", "title": "Launch plan"}
    assert fake.conversations[conversation_id(result)]["title"] == "Launch plan"
    assert fake.requests_to("/chat")[0].body["conversation_id"] == conversation_id(result)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"temperature": 1}, "accepted: stream, title"),
        ({"stream": "yes"}, "options.stream must be true or false"),
    ],
)
async def test_bad_chat_options_are_refused_before_any_request(
    fake: FakeAgentFlow, settings: Settings, options: dict[str, Any], expected: str
) -> None:
    text = await error_once(settings, "chat", {"agent": AGENT, "message": "hi", "options": options})
    assert expected in text
    assert fake.requests == []


async def test_a_chat_that_answers_500_is_a_tool_error_sent_once(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.server_error(path_contains="/chat")
    text = await error_once(settings, "chat", {"agent": AGENT, "message": "hi"})
    assert "HTTP 500" in text and "Internal server error" in text and "backend 'flow'" in text
    assert len(fake.requests_to("/chat")) == 1


async def test_conversations_are_listed_searched_read_and_served_as_transcripts(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        first = await call_ok(client, "chat", {"agent": AGENT, "message": "apples"})
        await call_ok(client, "chat", {"agent": "flow:agent_support", "message": "pears"})

        listed = await call_ok(client, "list_conversations", {"backend": "flow", "limit": 1})
        assert len(listed["items"]) == 1 and listed["next_cursor"]
        mine = await call_ok(client, "list_conversations", {"agent": AGENT})
        assert [c["ref"] for c in mine["items"]] == [first["conversation"]]
        assert mine["items"][0]["agent"] == AGENT
        assert mine["items"][0]["message_count"] == 2
        found = await call_ok(
            client, "list_conversations", {"backend": "flow", "options": {"search": "pears"}}
        )
        assert [c["agent"] for c in found["items"]] == ["flow:agent_support"]

        conversation = await call_ok(
            client, "get_conversation", {"conversation": first["conversation"]}
        )
        assert [(m["role"], m["content"]) for m in conversation["messages"]] == [
            ("user", "apples"),
            ("assistant", REPLY.format(message="apples", turn=1)),
        ]
        resource = await client.read_resource(
            f"agentdeck://flow/conversations/{conversation_id(first)}"
        )
        transcript = resource.contents[0].text
        bad = await call_error(
            client, "list_conversations", {"backend": "flow", "options": {"search": ["x"]}}
        )
    assert "## user" in transcript and "apples" in transcript and "Echo: apples" in transcript
    assert "options.search must be a string" in bad
    lists = fake.requests_to("/api/v1/conversations", "GET")
    assert lists[0].query == {"limit": "2", "offset": "0"}
    assert lists[1].query["agent_id"] == "agent_research"
    (search,) = fake.requests_to("/conversations/search")
    assert search.query["q"] == "pears"
    assert fake.requests_to("/messages", "GET")
