"""Bad arguments answer one plain line per problem, naming the parameter (issue 11, item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.platforms import agentflow_settings
from tests.support import call_error, connect, error_once, make_settings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("chat", {"agent": "local:x"}, ['chat: "message" is required']),
        (
            "chat",
            {"agent": "local:x", "message": ""},
            ['chat: "message" must be a non-empty string'],
        ),
        ("list_agents", {"limit": 500}, ['list_agents: "limit" must be an integer from 1 to 200']),
        (
            "list_agents",
            {"limit": "many"},
            ['list_agents: "limit" must be an integer from 1 to 200'],
        ),
        (
            "list_agents",
            {"limit": 0, "cursor": 7},
            [
                'list_agents: "limit" must be an integer from 1 to 200',
                'list_agents: "cursor" must be a string',
            ],
        ),
        (
            "respond_to_approval",
            {"approval": "local:a", "decision": "maybe"},
            ['respond_to_approval: "decision" must be one of "approve", "deny"'],
        ),
        ("get_agent", {}, ['get_agent: "agent" is required']),
    ],
)
async def test_bad_arguments_are_explained_per_parameter(
    mode: str, tool: str, arguments: dict[str, Any], expected: list[str]
) -> None:
    # an AgentFlow backend (never called: the arguments are refused first) serves approvals
    settings = agentflow_settings("http://127.0.0.1:9")
    text = await error_once(settings, tool, arguments, mode)
    assert text.splitlines() == expected
    assert "pydantic" not in text and "validation error" not in text


async def test_a_per_agent_tool_explains_its_arguments_too(mode: str) -> None:
    settings = make_settings(local={"expose_agents": True})
    async with connect(settings, mode) as client:
        await client.call_tool("create_agent", {"backend": "local", "name": "Helper"})
        names = {t.name for t in (await client.list_tools()).tools}
        assert "local_helper" in names
        text = await call_error(client, "local_helper", {"wait_seconds": -1})
    assert text.splitlines() == [
        'local_helper: "message" is required',
        'local_helper: "wait_seconds" must be a number from 0 to 600',
    ]


async def test_a_tool_error_that_is_not_about_arguments_keeps_its_text(mode: str) -> None:
    text = await error_once(make_settings(), "get_agent", {"agent": "local:missing"}, mode)
    assert "there is no local agent 'missing'" in text


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "create_agent",
            {"backend": "local", "name": "n" * 201},
            'create_agent: "name" must be a non-empty string of at most 200 characters',
        ),
        (
            "create_agent",
            {"backend": "local", "name": "n" * 100_000},
            'create_agent: "name" must be a non-empty string of at most 200 characters',
        ),
        (
            "update_agent",
            {"agent": "local:x", "name": "n" * 201},
            'update_agent: "name" must be a non-empty string of at most 200 characters',
        ),
        (
            "respond_to_approval",
            {"approval": "flow:a", "decision": "deny", "reason": "r" * 2001},
            'respond_to_approval: "reason" must be a string of at most 2000 characters',
        ),
        (
            "respond_to_approvals",
            {"approvals": [f"flow:{i}" for i in range(101)], "decision": "deny"},
            'respond_to_approvals: "approvals" must be a non-empty list of at most 100 items',
        ),
    ],
)
async def test_a_value_over_its_length_limit_is_told_the_limit(
    mode: str, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    """18.8: a name of 201 or 100,000 characters (or any value over its limit) hears the
    limit, not just what kind of value it should be."""
    text = await error_once(agentflow_settings("http://127.0.0.1:9"), tool, arguments, mode)
    assert text.splitlines() == [expected]
