"""AgentFlow's second reading of a pause: the chat stream ends with ``done`` whose status is
``awaiting_approval``/``awaiting_input``. The run stays paused with its pending approvals or
questions listed; once they are answered (respond_to_approval, respond_to_approvals,
answer_question or in-chat elicitation), the run ends on the agent's final answer, taken
from the respond answer's ``continuation`` or from the conversation's new messages.
(The first reading, a stream that stays open, is tested in test_chat.py and
test_approval_bridge.py.)"""

import json

import anyio
import pytest

from agentdeck.backends.agentflow.pauses import unseen_text
from agentdeck.config import Settings
from tests.backends.agentflow.runs import (
    AGENT,
    EDITED,
    approve_edited,
    one_pending,
    paused_chat,
    question_answered_in_chat,
    run_end,
)
from tests.fakes.agentflow import FakeAgentFlow
from tests.support import answering, call_ok, connect

pytestmark = pytest.mark.anyio

ECHO = "[Research Assistant] Echo: {message} (turn 1)"


@pytest.fixture(params=["respond", "messages"])
def fake(request: pytest.FixtureRequest) -> FakeAgentFlow:
    """The fake ending streams on pauses; the continuation comes back either way."""
    return FakeAgentFlow(pause_ends_stream=True, continuation_in=request.param)


def read_after_answer(fake: FakeAgentFlow, answer_path: str) -> bool:
    """Whether agentdeck read the conversation's messages after sending the answer."""
    paths = [r.path for r in fake.requests]
    answered = max(i for i, p in enumerate(paths) if p.endswith(answer_path))
    return any(p.endswith("/messages") for p in paths[answered:])


async def test_an_approval_that_ends_the_stream_is_listed_and_respond_gives_the_answer(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        paused, pending, approval_id = await one_pending(client, fake, "approval", 5)
        (call,) = fake.calls.values()
        assert call["status"] == "awaiting_approval"  # the stream ended; the call waits

        again = await call_ok(client, "get_run", {"run_id": paused["run_id"]})
        assert again["status"] == "running" and len(again["pending_approvals"]) == 1

        await approve_edited(client, pending)
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert done["text"].startswith('Ran send_email with {"body": "ship it", "subject": "Edited"')
    assert done["text"].endswith(ECHO.format(message="mail"))
    assert done["pending_approvals"] == []
    (tool_call,) = done["tool_calls"]
    assert tool_call["arguments"] == EDITED and tool_call["result"] is not None
    assert done["conversation"] == "flow:" + call["conversation_id"]
    assert read_after_answer(fake, f"/approvals/{approval_id}/respond") == (
        fake.continuation_in == "messages"
    )


async def test_an_approval_that_ends_the_stream_is_asked_in_the_chat(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "approval"
    asked: list[str] = []
    answer = {"decision": "deny", "reason": "not today"}
    async with connect(settings, mode, elicitation_callback=answering(answer, asked)) as client:
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": AGENT, "message": "mail"})
    assert result["status"] == "completed"
    assert result["text"] == "Did not run send_email: approval denied (not today). " + ECHO.format(
        message="mail"
    )
    assert result["pending_approvals"] == []
    (question,) = asked
    assert "send_email" in question and "team@example.com" in question
    (respond,) = fake.requests_to("/respond", "POST")
    assert respond.body == {"decision": "deny", "reason": "not today"}


async def test_a_question_that_ends_the_stream_is_listed_and_answer_question_gives_the_answer(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        paused, question, _ = await one_pending(client, fake, "question", 5)
        assert next(iter(fake.calls.values()))["status"] == "awaiting_input"
        await call_ok(
            client, "answer_question", {"question": question["ref"], "answer": "detailed"}
        )
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert done["text"] == "You answered: detailed. " + ECHO.format(message="summarize")
    assert done["pending_questions"] == []


async def test_a_question_that_ends_the_stream_is_asked_in_the_chat(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    result, asked = await question_answered_in_chat(fake, settings, mode, "short")
    assert result["status"] == "completed"
    assert result["text"] == "You answered: short. " + ECHO.format(message="summarize")
    assert len(asked) == 1 and "Which format" in asked[0]


async def test_approvals_answered_in_bulk_let_the_paused_run_finish(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        paused, pending, _ = await one_pending(client, fake, "approval", 5)
        answer = {"approvals": [pending["ref"]], "decision": "approve"}
        bulk = await call_ok(client, "respond_to_approvals", answer)
        assert bulk["succeeded"] == 1
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert done["text"].startswith('Ran send_email with {"body": "mail"')
    assert read_after_answer(fake, "/approvals/bulk-respond") == (
        fake.continuation_in == "messages"
    )


async def test_a_one_piece_answer_on_a_pause_finds_the_approval_and_waits_for_it(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.next_stream = "approval"
    async with connect(settings) as client:
        with anyio.fail_after(15):
            paused = await call_ok(
                client,
                "chat",
                {
                    "agent": AGENT,
                    "message": "mail",
                    "wait_seconds": 5,
                    "options": {"stream": False},
                },
            )
        assert paused["status"] == "running"
        (pending,) = paused["pending_approvals"]
        (listing,) = fake.requests_to("/approvals/pending")
        assert "flow:" + listing.query["conversation_id"] == paused["conversation"]
        await call_ok(
            client, "respond_to_approval", {"approval": pending["ref"], "decision": "approve"}
        )
        done = await run_end(client, paused)
    assert done["status"] == "completed"
    assert json.dumps({"to": "team@example.com"})[1:-1] in done["text"]


async def test_cancelling_a_paused_run_stops_the_wait_and_the_call_upstream(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        paused = await paused_chat(client, fake, "approval", 5)
        with anyio.fail_after(15):
            cancelled = await call_ok(client, "cancel_run", {"run_id": paused["run_id"]})
    assert cancelled["status"] == "cancelled"
    (call_id,) = fake.calls
    assert fake.calls[call_id]["status"] == "cancelled"
    assert [a["status"] for a in fake.approvals.values()] == ["cancelled"]


@pytest.mark.parametrize(
    ("content", "streamed", "expected"),
    [
        ("Let me check. Sent it.", "Let me check. ", "Sent it."),
        ("Let me check.", "Let me check.", ""),
        ("Sent it.", "", "Sent it."),
        ("Sent it.", "Something else", "Sent it."),
    ],
)
def test_a_continuation_message_does_not_repeat_what_streamed_before_the_pause(
    content: str, streamed: str, expected: str
) -> None:
    assert unseen_text({"role": "assistant", "content": content}, streamed) == expected
