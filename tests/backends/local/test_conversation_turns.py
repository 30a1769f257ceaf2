"""Turns on one local conversation run one after another (issue 10, defect 11)."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from tests.fakes.base import Served
from tests.fakes.openai import FakeOpenAI
from tests.support import call_ok, connect, local_agent, model_settings

pytestmark = pytest.mark.anyio

TURNS = 20


async def start_conversation(client: Any) -> tuple[str, str]:
    agent = await local_agent(client)
    first = await call_ok(client, "chat", {"agent": agent, "message": "turn 0"})
    return agent, first["conversation"]


async def test_defect_11_concurrent_turns_on_one_conversation_alternate_and_see_each_other(
    served: Served,
    mode: str,
) -> None:
    fake = FakeOpenAI(chunk_delay=0.01)
    url = served(fake)
    async with connect(model_settings(url, "m"), mode) as client:
        agent, conversation = await start_conversation(client)

        async def turn(index: int) -> None:
            args = {"agent": agent, "message": f"turn {index}", "conversation": conversation}
            assert (await call_ok(client, "chat", args))["status"] == "completed"

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for index in range(1, TURNS + 1):
                    group.start_soon(turn, index)
        transcript = await call_ok(client, "get_conversation", {"conversation": conversation})
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["user", "assistant"] * (TURNS + 1)
    # every model call saw the whole conversation before its turn, in the stored order
    stored = [{"role": m["role"], "content": m["content"]} for m in transcript["messages"]]
    calls = sorted(fake.bodies, key=lambda body: len(body["messages"]))
    assert [len(body["messages"]) for body in calls] == [2 * i + 1 for i in range(TURNS + 1)]
    for body in calls:
        assert body["messages"] == stored[: len(body["messages"])]


async def test_defect_11_a_turn_queued_past_its_budget_answers_running_then_completes(
    served: Served,
    mode: str,
) -> None:
    url = served(FakeOpenAI(chunk_delay=0.05))
    async with connect(model_settings(url, "m"), mode) as client:
        agent, conversation = await start_conversation(client)
        base = {"agent": agent, "conversation": conversation}
        first = await call_ok(client, "chat", {**base, "message": "slow", "wait_seconds": 0.1})
        with anyio.fail_after(5):
            queued = await call_ok(client, "chat", {**base, "message": "next", "wait_seconds": 0.1})
        assert first["status"] == queued["status"] == "running"
        assert queued["text"] == ""
        done = await call_ok(client, "get_run", {"run_id": queued["run_id"], "wait_seconds": 20})
    assert done["status"] == "completed"
    assert done["text"] == "[m] heard 'next' after 4 earlier messages"


async def test_a_new_conversation_handed_out_mid_turn_can_be_read_and_continued_at_once(
    served: Served,
    mode: str,
) -> None:
    """A new conversation's first turn is committed with the run's end, or before the run
    hands its id out, when its wait ends first: the conversation is there to read and to
    continue from the moment a client has its ref."""
    hold = threading.Event()
    url = served(FakeOpenAI(hold=hold))
    async with connect(model_settings(url, "m"), mode) as client:
        agent = await local_agent(client)
        with anyio.fail_after(20):
            first = await call_ok(
                client, "chat", {"agent": agent, "message": "first", "wait_seconds": 0.5}
            )
            ref = first["conversation"]
            held = await call_ok(client, "get_conversation", {"conversation": ref})
            hold.set()
            second = await call_ok(
                client, "chat", {"agent": agent, "message": "second", "conversation": ref}
            )
            answered = await call_ok(client, "get_run", {"run_id": first["run_id"]})
            transcript = await call_ok(client, "get_conversation", {"conversation": ref})
    assert first["status"] == "running" and ref
    assert [m["content"] for m in held["messages"]] == ["first"]
    assert second["text"] == "[m] heard 'second' after 2 earlier messages"
    assert [m["content"] for m in transcript["messages"]] == [
        "first",
        answered["text"],
        "second",
        second["text"],
    ]
