"""Chats with the AgentFlow fake's research agent that pause, and the ends of their runs."""

from typing import Any

import anyio
from mcp import Client

from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.support import answering, call_ok, connect

AGENT = "flow:agent_research"
#: send_email's arguments as the tests edit them when they approve the mail.
EDITED = {"to": "boss@example.com", "subject": "Edited", "body": "ship it"}


async def paused_chat(
    client: Client, fake: FakeAgentFlow, pause: str, wait_seconds: float
) -> dict[str, Any]:
    """A chat whose run pauses on the fake's next ``pause`` ("approval": send_email asks for
    one; "question": the agent asks which format) and is still running."""
    fake.next_stream = pause
    message = {"approval": "mail", "question": "summarize"}[pause]
    with anyio.fail_after(15):
        paused = await call_ok(
            client, "chat", {"agent": AGENT, "message": message, "wait_seconds": wait_seconds}
        )
    assert paused["status"] == "running"
    return paused


async def one_pending(
    client: Client, fake: FakeAgentFlow, pause: str, wait_seconds: float
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A chat paused on its one pending item: the approval send_email asks for (to
    team@example.com) or the question which format. The run, the item, and its platform id."""
    paused = await paused_chat(client, fake, pause, wait_seconds)
    if pause == "approval":
        (pending,) = paused["pending_approvals"]
        assert pending["tool"] == "send_email"
        assert pending["arguments"]["to"] == "team@example.com"
    else:
        (pending,) = paused["pending_questions"]
        assert pending["question"] == "Which format do you want? (options: short, detailed)"
    return paused, pending, pending["ref"].removeprefix("flow:")


async def approve_edited(client: Client, pending: dict[str, Any]) -> dict[str, Any]:
    """Approves ``pending`` with ``EDITED`` as the mail's arguments: the answer, approved."""
    arguments = {"approval": pending["ref"], "decision": "approve", "arguments": EDITED}
    answered = await call_ok(client, "respond_to_approval", arguments)
    assert answered["status"] == "approved"
    return answered


async def run_end(client: Client, paused: dict[str, Any]) -> dict[str, Any]:
    """The run of ``paused`` once it ends (get_run waiting up to 10 s)."""
    with anyio.fail_after(15):
        return await call_ok(client, "get_run", {"run_id": paused["run_id"], "wait_seconds": 10})


async def question_answered_in_chat(
    fake: FakeAgentFlow, settings: Settings, mode: str, answer: str
) -> tuple[dict[str, Any], list[str]]:
    """A chat whose agent asks which format (the fake's "question"), answered ``answer`` by
    the client through elicitation: the chat's result, and the questions the client saw."""
    fake.next_stream = "question"
    asked: list[str] = []
    callback = answering({"answer": answer}, asked)
    async with connect(settings, mode, elicitation_callback=callback) as client:
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": AGENT, "message": "summarize"})
    return result, asked
