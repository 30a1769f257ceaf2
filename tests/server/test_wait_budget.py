"""The wait budget holds whatever the stream or the client's model does (issue 10, defects 1, 2).

A chat answers within ``wait_seconds`` (plus a little) even when the client asks for
progress and the answer streams faster than notifications can be written; deltas that
pile up meanwhile go out together, so the notifications' text is the answer's text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CreateMessageResult, InputRequiredResult, TextContent

from agentdeck.config import Settings
from tests.fakes.base import Served
from tests.fakes.openai import FakeOpenAI
from tests.support import (
    call_ok,
    connect,
    local_agent,
    make_settings,
    model_settings,
    ok,
)

pytestmark = pytest.mark.anyio

#: generous on purpose: today's code takes 10-190 s here, a fixed one about wait_seconds
SLACK = 3.0


class Progress:
    """A progress callback that keeps every notification's message."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.messages.append(message or "")

    @property
    def text(self) -> str:
        return "".join(self.messages)

    async def chat(
        self, client: Client, agent: str, message: str, wait_seconds: float
    ) -> dict[str, Any]:
        """A chat turn with ``agent`` that must succeed, its progress kept here."""
        arguments = {"agent": agent, "message": message, "wait_seconds": wait_seconds}
        return await call_ok(client, "chat", arguments, progress_callback=self)


@asynccontextmanager
async def chatting(settings: Settings, mode: str) -> AsyncIterator[tuple[Client, str]]:
    """A client of agentdeck with ``settings``, and a new local agent to chat with."""
    async with connect(settings, mode) as client:
        yield client, await local_agent(client)


async def test_defect_1_a_huge_echo_with_a_progress_token_answers_within_the_budget(
    mode: str,
) -> None:
    progress = Progress()
    message = " ".join(f"w{i}" for i in range(50_000))
    async with chatting(make_settings(), mode) as (client, agent):
        with anyio.fail_after(1 + SLACK):
            result = await progress.chat(client, agent, message, wait_seconds=1)
        final = await call_ok(client, "get_run", {"run_id": result["run_id"], "wait_seconds": 30})
    assert final["status"] == "completed"
    deltas = len(final["text"].split(" "))
    assert final["text"].startswith(progress.text)
    assert 0 < len(progress.messages) < deltas


async def test_defect_1_an_endless_fast_stream_with_a_progress_token_answers_running_in_time(
    served: Served,
    mode: str,
) -> None:
    progress = Progress()
    url = served(FakeOpenAI(next_stream="endless"))
    async with chatting(model_settings(url, "m"), mode) as (client, agent):
        with anyio.fail_after(1 + SLACK):
            result = await progress.chat(client, agent, "go on", wait_seconds=1)
        assert result["status"] == "running"
        stopped = await call_ok(client, "cancel_run", {"run_id": result["run_id"]})
    assert stopped["status"] == "cancelled"
    deltas = len(stopped["text"].split(" "))
    assert progress.text and stopped["text"].startswith(progress.text)
    assert len(progress.messages) < deltas


async def test_defect_1_a_slow_stream_still_gets_one_notification_per_delta(
    served: Served, mode: str
) -> None:
    progress = Progress()
    url = served(FakeOpenAI(chunk_delay=0.1))
    async with chatting(model_settings(url, "m"), mode) as (client, agent):
        result = await progress.chat(client, agent, "hi", wait_seconds=20)
    assert result["status"] == "completed"
    words = result["text"].split(" ")
    assert progress.messages == [words[0], *(f" {w}" for w in words[1:])]


class SlowClientModel:
    """A client model that answers only once the test lets it (a model that takes a while)."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.asked = 0

    async def __call__(self, context: Any, params: Any) -> CreateMessageResult:
        self.asked += 1
        await self.release.wait()
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=f"sampled {len(params.messages)}"),
            model="client-model",
        )


async def sampling_agent(client: Any) -> str:
    agent = await call_ok(
        client, "create_agent", {"backend": "local", "name": "S", "model": "sampling"}
    )
    return agent["ref"]


async def test_defect_2_a_slow_client_model_leaves_the_chat_running_on_2025_11_25() -> None:
    model = SlowClientModel()
    async with connect(make_settings(), "legacy", sampling_callback=model) as client:
        agent = await sampling_agent(client)
        with anyio.fail_after(1 + SLACK):
            started = await call_ok(
                client, "chat", {"agent": agent, "message": "hi", "wait_seconds": 1}
            )
        assert started["status"] == "running" and started["run_id"]
        model.release.set()
        with anyio.fail_after(10):
            finished = await call_ok(
                client, "get_run", {"run_id": started["run_id"], "wait_seconds": 9}
            )
    assert finished["status"] == "completed"
    assert finished["text"] == "sampled 1"
    assert model.asked == 1


async def test_defect_2_on_2026_07_28_the_client_samples_between_rounds_and_the_run_is_quick() -> (
    None
):
    """A 2026-07-28 client cannot be sent requests: the first call answers at once with the
    sampling request, the client's model takes its time between the calls, and the call that
    brings the answer completes the chat (so no call waits on the client's model)."""
    model = SlowClientModel()  # declares sampling; the test answers the request itself
    async with connect(make_settings(), "auto", sampling_callback=model) as client:
        agent = await sampling_agent(client)
        arguments = {"agent": agent, "message": "hi", "wait_seconds": 1}
        with anyio.fail_after(SLACK):
            asked = await client.session.call_tool("chat", arguments, allow_input_required=True)
        assert isinstance(asked, InputRequiredResult)
        request = asked.input_requests["sample"]
        assert [m.content.text for m in request.params.messages] == ["hi"]
        answer = CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="sampled"), model="m"
        )
        with anyio.fail_after(SLACK):
            done = await client.session.call_tool(
                "chat",
                arguments,
                input_responses={"sample": answer},
                request_state=asked.request_state,
            )
    assert ok(done)["status"] == "completed" and ok(done)["text"] == "sampled"
    assert model.asked == 0
