"""Agents as tools: one tool per exposed agent, kept current, with list-changed notices."""

import json

import pytest
from mcp import Client

from agentdeck.server import build_server
from agentdeck.server.chat import MAX_NAME, tool_name
from tests.fakes.base import Served
from tests.fakes.make import FakeMake
from tests.notifications import MARKER_AGENT, watched
from tests.platforms import make_settings_for
from tests.support import accept, call_ok, connect, make_settings, ok

pytestmark = pytest.mark.anyio


def exposed(**local):
    """Local agents exposed as tools, except the notification marker's."""
    return make_settings(local={"expose_agents": True, "exclude_agents": [MARKER_AGENT], **local})


async def agent_tool_names(client) -> set[str]:
    tools = (await client.list_tools()).tools
    return {t.name for t in tools if t.name.startswith("local_")}


async def test_each_exposed_agent_becomes_a_tool_that_chats(mode: str) -> None:
    async with connect(exposed(), mode) as client:
        created = await call_ok(
            client,
            "create_agent",
            {
                "backend": "local",
                "name": "Travel Planner!",
                "description": "Plans trips.",
                "instructions": "Plan carefully.",
                "model": "echo",
            },
        )
        tools = {t.name: t for t in (await client.list_tools()).tools}
        tool = tools["local_travel_planner"]
        assert "Plans trips." in tool.description and "Plan carefully." in tool.description
        assert set(tool.input_schema["properties"]) == {
            "message",
            "conversation",
            "wait_seconds",
        }
        first = await call_ok(client, "local_travel_planner", {"message": "Rome"})
        again = await call_ok(
            client,
            "local_travel_planner",
            {"message": "Paris", "conversation": first["conversation"]},
        )
    assert first["agent"] == created["ref"]
    assert again["text"] == "You said: Paris (turn 2; earlier you said: Rome)"


async def test_an_agent_tool_answers_what_chat_answers_without_an_output_schema(
    mode: str,
) -> None:
    """No output schema, so a client lists many agent tools without compiling a validator
    for each; the answer is chat's, as structured content and as the same JSON text."""
    async with connect(exposed(), mode) as client:
        created = await call_ok(client, "create_agent", {"backend": "local", "name": "Echo"})
        tools = {t.name: t for t in (await client.list_tools()).tools}
        by_tool = await client.call_tool("local_echo", {"message": "hi"})
        by_chat = await client.call_tool("chat", {"agent": created["ref"], "message": "hi"})
    assert tools["local_echo"].output_schema is None
    assert tools["chat"].output_schema is not None
    assert ok(by_tool).keys() == ok(by_chat).keys()
    assert ok(by_tool)["text"] == ok(by_chat)["text"] and ok(by_tool)["agent"] == created["ref"]
    assert [c.type for c in by_tool.content] == [c.type for c in by_chat.content] == ["text"]
    assert json.loads(by_tool.content[0].text) == ok(by_tool)


async def test_create_and_delete_each_send_exactly_one_list_change(mode: str) -> None:
    async with watched(exposed(), mode, elicitation_callback=accept) as (client, changes):
        created = await call_ok(client, "create_agent", {"backend": "local", "name": "Scout"})
        await changes.wait_for("tools")
        await changes.settle()
        assert changes.seen == ["tools"]
        assert await agent_tool_names(client) == {"local_scout"}

        await call_ok(client, "update_agent", {"agent": created["ref"], "model": "echo"})
        await changes.settle()
        assert changes.seen == ["tools"], "an update that changes no tool sends nothing"

        await call_ok(client, "delete_agent", {"agent": created["ref"]})
        await changes.settle()
        assert changes.seen == ["tools", "tools"]
        assert await agent_tool_names(client) == set()


async def test_include_exclude_and_maximum_filter_the_agent_tools() -> None:
    settings = exposed(
        include_agents=["sales*", "support*"], exclude_agents=["*old*"], max_agent_tools=2
    )
    async with connect(settings) as client:
        for name in ["Sales A", "Sales Old", "Support", "Billing", "Sales B"]:
            await call_ok(client, "create_agent", {"backend": "local", "name": name})
        names = await agent_tool_names(client)
    assert len(names) == 2
    assert names <= {"local_sales_a", "local_support", "local_sales_b"}


async def test_agents_with_the_same_name_get_distinct_stable_tools() -> None:
    async with connect(exposed()) as client:
        for _ in range(2):
            await call_ok(client, "create_agent", {"backend": "local", "name": "Twin"})
        first = await agent_tool_names(client)
        refreshed = await call_ok(client, "refresh_agents", {})
    assert len(first) == 2 and "local_twin" in first
    assert refreshed["changed"] is False
    assert set(refreshed["agent_tools"]) == first


def test_tool_names_are_valid_and_fit_64_characters() -> None:
    name = tool_name("backend", "A very long agent name " * 5, "abcdef12")
    assert len(name) <= MAX_NAME and name.endswith("_abcdef12")
    assert tool_name("ops", "Ünïcode & Co.") == "ops_n_code_co"


async def test_read_only_mode_keeps_chat_and_the_agent_tools(mode: str) -> None:
    settings = make_settings(server={"read_only": True}, local={"expose_agents": True})
    async with connect(settings, mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "chat" in names and "get_run" in names
    assert "create_agent" not in names and "delete_agent" not in names


async def test_a_backend_that_is_down_at_refresh_keeps_its_last_tools(
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMake()
    settings = make_settings_for(f"{served(fake)}/api/v2", fake.token, expose_agents=True)
    async with connect(settings) as client:
        before = {t.name for t in (await client.list_tools()).tools if t.name.startswith("ops_")}
        fake.add_agent("Newcomer")
        fake.server_error(path_contains="/agents", times=10)
        refreshed = await call_ok(client, "refresh_agents", {"backend": "ops"})
        after = {t.name for t in (await client.list_tools()).tools if t.name.startswith("ops_")}
        fake.clear_failures()
        recovered = await call_ok(client, "refresh_agents", {"backend": "ops"})
    assert before == {"ops_seed_agent"}
    assert refreshed["changed"] is False and after == before
    assert "keeping the last known agent tools of ops" in caplog.text
    assert recovered["changed"] is True
    assert set(recovered["agent_tools"]) == {"ops_seed_agent", "ops_newcomer"}


async def test_legacy_clients_are_told_the_tool_list_can_change() -> None:
    async with connect(exposed(), "legacy") as client:
        capabilities = client.server_capabilities
    assert capabilities.tools is not None and capabilities.tools.list_changed is True
    assert capabilities.resources is not None and capabilities.resources.list_changed is True


async def test_the_prepared_list_follows_changes_and_shares_one_schema(mode: str) -> None:
    server = build_server(exposed())
    async with Client(server, mode=mode) as client:
        assert await agent_tool_names(client) == set(), "lists (and prepares) before any agent"
        for name in ("Alpha", "Beta"):
            await call_ok(client, "create_agent", {"backend": "local", "name": name})
        assert await agent_tool_names(client) == {"local_alpha", "local_beta"}
        served = {t.name: t for t in await server.list_tools()}
        alpha, beta = served["local_alpha"], served["local_beta"]
        assert alpha.input_schema is beta.input_schema
        answer = await call_ok(client, "local_beta", {"message": "hi"})
        assert answer["agent"] != (await call_ok(client, "local_alpha", {"message": "hi"}))["agent"]
