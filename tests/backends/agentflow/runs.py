"""Chats with the AgentFlow fake's research agent that pause, and the ends of their runs."""

from typing import Any

import anyio
from mcp import Client

from tests.fakes.agentflow import FakeAgentFlow
from tests.support import call_ok

AGENT = "flow:agent_research"


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


async def run_end(client: Client, paused: dict[str, Any]) -> dict[str, Any]:
    """The run of ``paused`` once it ends (get_run waiting up to 10 s)."""
    with anyio.fail_after(15):
        return await call_ok(client, "get_run", {"run_id": paused["run_id"], "wait_seconds": 10})
