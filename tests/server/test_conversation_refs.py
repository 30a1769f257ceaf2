"""Conversations are named by refs everywhere, and a wrong one is an error, never a new
conversation (issue 10 defect 10, issue 11 item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.agenticflow import PUBLIC_AGENT_ID, FakeAgenticFlow
from tests.fakes.base import Served
from tests.platforms import agenticflow_settings
from tests.support import call_error, call_ok, connect, make_settings

pytestmark = pytest.mark.anyio


async def echo_agent(client: Any, name: str = "A") -> str:
    created = await call_ok(
        client, "create_agent", {"backend": "local", "name": name, "model": "echo"}
    )
    return created["ref"]


async def conversation_count(client: Any) -> int:
    return len((await call_ok(client, "list_conversations", {"backend": "local"}))["items"])


async def test_defect_10_chat_continues_a_conversation_by_the_ref_its_result_gave(
    mode: str,
) -> None:
    async with connect(make_settings(), mode) as client:
        agent = await echo_agent(client)
        first = await call_ok(client, "chat", {"agent": agent, "message": "apples"})
        args = {"agent": agent, "message": "pears", "conversation": first["conversation"]}
        second = await call_ok(client, "chat", args)
    assert "conversation_id" not in first
    assert second["conversation"] == first["conversation"]
    assert "earlier you said: apples" in second["text"]


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        ("local:typo-of-a-real-id", "no local conversation 'typo-of-a-real-id'"),
        ("local:../../etc/passwd", "no local conversation '../../etc/passwd'"),
        ("2a45f0", "'2a45f0' is not a conversation ref"),
        ("elsewhere:2a45f0", "is on backend 'elsewhere', but the agent"),
    ],
)
async def test_defect_10_an_unknown_conversation_is_an_error_not_a_new_one(
    conversation: str, expected: str
) -> None:
    async with connect(make_settings()) as client:
        agent = await echo_agent(client)
        args = {"agent": agent, "message": "hi", "conversation": conversation}
        text = await call_error(client, "chat", args)
        assert await conversation_count(client) == 0
    assert expected in text
    assert "leave it out to start a new one" in text or "list_" in text


async def test_defect_10_another_agents_conversation_is_refused() -> None:
    async with connect(make_settings()) as client:
        mine, theirs = await echo_agent(client, "Mine"), await echo_agent(client, "Theirs")
        other = await call_ok(client, "chat", {"agent": theirs, "message": "secret"})
        args = {"agent": mine, "message": "hi", "conversation": other["conversation"]}
        text = await call_error(client, "chat", args)
        transcript = await call_ok(
            client, "get_conversation", {"conversation": other["conversation"]}
        )
    assert f"belongs to the agent {theirs}, not {mine}" in text
    assert [m["content"] for m in transcript["messages"] if m["role"] == "user"] == ["secret"]


async def test_defect_10_a_conversation_of_another_backend_is_refused(served: Served) -> None:
    fake = FakeAgenticFlow()
    url = served(fake)
    async with connect(agenticflow_settings(url)) as client:
        agent = await echo_agent(client)
        local = await call_ok(client, "chat", {"agent": agent, "message": "hi"})
        args = {
            "agent": f"af:{PUBLIC_AGENT_ID}",
            "message": "hi",
            "conversation": local["conversation"],
        }
        text = await call_error(client, "chat", args)
    assert "is on backend 'local', but the agent" in text
    assert not [r for r in fake.requests if r.method == "POST"]


async def test_defect_10_an_unseen_thread_is_refused_on_a_platform_without_conversations(
    served: Served,
) -> None:
    fake = FakeAgenticFlow()
    url = served(fake)
    async with connect(agenticflow_settings(url)) as client:
        args = {
            "agent": f"af:{PUBLIC_AGENT_ID}",
            "message": "hi",
            "conversation": "af:4f1c9a0e-0000-4000-8000-000000000000",
        }
        text = await call_error(client, "chat", args)
        listed = await call_ok(client, "list_conversations", {"backend": "af"})
    assert "no record of the conversation" in text
    assert listed["items"] == []
    assert not [r for r in fake.requests if r.method == "POST"]


async def test_the_chat_tools_and_prompts_take_conversation_refs(mode: str) -> None:
    settings = make_settings(local={"expose_agents": True})
    async with connect(settings, mode) as client:
        await echo_agent(client, "Planner")
        await call_ok(client, "refresh_agents", {})
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        answer = await call_ok(client, "local_planner", {"message": "hi"})
    for name in ("chat", "local_planner"):
        properties = tools[name].input_schema["properties"]
        assert "conversation" in properties and "conversation_id" not in properties
    assert "conversation_id" not in tools["chat"].output_schema["properties"]
    assert answer["conversation"].startswith("local:") and "conversation_id" not in answer
    for prompt in prompts.values():
        assert prompt.arguments and all(a.description for a in prompt.arguments)
    arguments = {a.name: a for a in prompts["continue_conversation"].arguments or []}
    assert "'<backend>:<id>'" in (arguments["conversation"].description or "")
