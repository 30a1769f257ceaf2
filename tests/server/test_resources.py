"""Resources per the MCP spec: subscriptions, updates only to subscribers, not-found codes,
and capabilities that promise only what the server delivers (both protocol eras)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from agentdeck.server import build_server, conversation_uri
from tests.notifications import legacy_subscription, subscribed, watched
from tests.support import call_ok, make_settings, ok

pytestmark = pytest.mark.anyio


async def _echo_agent(client: Client) -> str:
    created = await client.call_tool(
        "create_agent", {"backend": "local", "name": "Echo", "model": "echo"}
    )
    return ok(created)["ref"]


async def _continue(client: Client, agent: str, first: dict[str, Any], message: str) -> None:
    """Another turn in ``first``'s conversation, however ``chat`` names that parameter."""
    chat = next(t for t in (await client.list_tools()).tools if t.name == "chat")
    if "conversation" in chat.input_schema["properties"]:
        arguments = {"conversation": first["conversation"]}
    else:
        arguments = {"conversation_id": first["conversation_id"]}
    await call_ok(client, "chat", {"agent": agent, "message": message, **arguments})


def _uri(result: dict[str, Any]) -> str:
    backend, _, conversation_id = result["conversation"].partition(":")
    return conversation_uri(backend, conversation_id)


async def test_transcript_updates_reach_only_its_subscribers(mode: str) -> None:
    async with watched(make_settings(), mode) as (client, changes):
        agent = await _echo_agent(client)
        first = await call_ok(client, "chat", {"agent": agent, "message": "one"})
        uri = _uri(first)
        await changes.settle()
        assert uri not in changes.seen  # nobody subscribed: nothing is sent

        async with subscribed(client, mode, changes, uri):
            await _continue(client, agent, first, "two")
            await changes.wait_for(uri)
        assert changes.seen.count(uri) == 1

        await _continue(client, agent, first, "three")  # unsubscribed again
        await changes.settle()
        assert changes.seen.count(uri) == 1


async def test_legacy_clients_are_told_resources_can_be_subscribed_to() -> None:
    async with Client(build_server(make_settings()), mode="legacy") as client:
        capabilities = client.server_capabilities
        assert capabilities.resources is not None
        assert capabilities.resources.subscribe is True
        assert capabilities.resources.list_changed is True
        assert capabilities.tools is not None and capabilities.tools.list_changed is True


async def test_stateless_mode_promises_legacy_clients_no_notifications() -> None:
    async with Client(build_server(make_settings(), stateless=True), mode="legacy") as client:
        capabilities = client.server_capabilities
        assert capabilities.resources is not None
        assert not capabilities.resources.subscribe
        assert not capabilities.resources.list_changed
        assert capabilities.tools is not None and not capabilities.tools.list_changed
        with pytest.raises(MCPError) as raised:
            await legacy_subscription(client, "agentdeck://local/x", subscribe=True)
        assert raised.value.code == -32601


@pytest.mark.parametrize(
    "uri",
    [
        "agentdeck://local/conversations/no-such-conversation",
        "agentdeck://local/agents/no-such-agent",
        "agentdeck://nowhere/conversations/x",
        "agentdeck://local/no-such-kind",
    ],
)
async def test_a_missing_resource_answers_resource_not_found(mode: str, uri: str) -> None:
    async with Client(build_server(make_settings()), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
    # 2025-11-25 says -32002; 2026-07-28 retired it for -32602 (SEP-2164).
    assert raised.value.code == (-32002 if mode == "legacy" else -32602)
    assert "Error" not in raised.value.message or "no " in raised.value.message


async def test_a_transcript_can_be_read_after_a_chat(mode: str) -> None:
    async with Client(build_server(make_settings()), mode=mode) as client:  # type: ignore[arg-type]
        agent = await _echo_agent(client)
        first = await call_ok(client, "chat", {"agent": agent, "message": "hello there"})
        read = await client.read_resource(_uri(first))
    assert "hello there" in read.contents[0].text  # type: ignore[union-attr]
