"""A chat that pauses on an approval or a question asks the user right there (elicitation),
in both protocol eras; without elicitation, or on a decline, the pause is returned."""

import json

import anyio
import pytest

from agentdeck.config import Settings
from tests.backends.agentflow.runs import AGENT, EDITED, question_answered_in_chat
from tests.fakes.agentflow import FakeAgentFlow
from tests.support import answering, call_ok, connect, decline

pytestmark = pytest.mark.anyio


async def test_an_approval_is_asked_and_the_run_goes_on_with_edited_arguments(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "approval"
    asked: list[str] = []
    answer = {"decision": "approve", "arguments": json.dumps(EDITED), "reason": "looks fine"}
    async with connect(settings, mode, elicitation_callback=answering(answer, asked)) as client:
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": AGENT, "message": "mail"})
    assert result["status"] == "completed"
    assert "boss@example.com" in result["text"] and "Edited" in result["text"]
    assert result["pending_approvals"] == []
    (question,) = asked
    assert "flow:agent_research" in question and "send_email" in question
    assert "team@example.com" in question
    (respond,) = fake.requests_to("/respond", "POST")
    assert respond.body == {
        "decision": "approve",
        "modified_arguments": EDITED,
        "reason": "looks fine",
    }


async def test_a_declined_question_leaves_the_approval_pending_for_the_model(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "approval"
    async with connect(settings, mode, elicitation_callback=decline) as client:
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": AGENT, "message": "mail"})
        (pending,) = result["pending_approvals"]
        again = await call_ok(client, "get_run", {"run_id": result["run_id"]})
        await call_ok(client, "cancel_run", {"run_id": result["run_id"]})
    assert result["status"] == "running"
    assert pending["tool"] == "send_email"
    assert again["pending_approvals"] == [pending], "asked once: get_run does not ask again"
    assert fake.requests_to("/respond", "POST") == []


async def test_without_elicitation_the_pause_is_returned_at_once(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    fake.next_stream = "approval"
    async with connect(settings, mode) as client:
        with anyio.fail_after(10):
            result = await call_ok(client, "chat", {"agent": AGENT, "message": "mail"})
        await call_ok(client, "cancel_run", {"run_id": result["run_id"]})
    assert result["status"] == "running"
    assert result["pending_approvals"][0]["ref"].startswith("flow:")


async def test_a_question_is_asked_and_answered_through_elicitation(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    result, asked = await question_answered_in_chat(fake, settings, mode, "detailed")
    assert result["status"] == "completed"
    assert result["text"].startswith("You answered: detailed. ")
    assert asked == [
        "The agent flow:agent_research asks: Which format do you want? (options: short, detailed)"
    ]
