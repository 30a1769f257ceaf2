"""Prompts: offered only where their tools are served, and a client's mistake is answered
-32602 with a readable message (issue 19, items 8 and 11)."""

import logging
import re
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from agentdeck.server import all_tools
from agentdeck.server.docs import every_platform_settings
from tests.support import connect, make_settings

pytestmark = pytest.mark.anyio

#: Something for every argument a prompt may take.
ARGUMENTS = {
    "task": "Sum up the week.",
    "backend": "local",
    "agent": "local:a1",
    "conversation": "local:c1",
    "approval": "flow:ap1",
}
TOOL_NAMES = {spec.name for spec in all_tools()}


async def offered(settings: Any, mode: str) -> dict[str, str]:
    """The prompts a client is offered, by name, each rendered with every argument, and
    the names of the tools it is served (under the key ``tools``)."""
    async with connect(settings, mode) as client:
        served = {tool.name for tool in (await client.list_tools()).tools}
        rendered = {"tools": " ".join(served)}
        for prompt in (await client.list_prompts()).prompts:
            arguments = {a.name: ARGUMENTS[a.name] for a in prompt.arguments or []}
            result = await client.get_prompt(prompt.name, arguments)
            rendered[prompt.name] = " ".join(
                getattr(m.content, "text", "") for m in result.messages
            )
    return rendered


def named_tools(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z_]+", text) if word in TOOL_NAMES}


async def test_a_local_only_config_offers_no_prompt_about_approvals(mode: str) -> None:
    """19.8: the local backend has no approvals, so review_approvals is not offered, and
    delegate_task does not mention answering approvals."""
    rendered = await offered(make_settings(), mode)
    assert set(rendered) - {"tools"} == {"delegate_task", "continue_conversation"}
    assert "respond_to_approval" not in rendered["delegate_task"]


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({}, {"delegate_task", "review_approvals", "continue_conversation"}),
        ({"read_only": True}, {"delegate_task", "continue_conversation"}),
        ({"toolsets": ["agents", "approvals"]}, {"review_approvals"}),
        ({"toolsets": ["agents", "chat"]}, {"delegate_task"}),
    ],
)
async def test_prompts_follow_the_tool_surface(server: dict[str, Any], expected: set[str]) -> None:
    """19.8: a prompt is offered exactly when the tools it relies on are served (backends,
    read-only mode, toolsets), and never names a tool that is not served."""
    rendered = await offered(every_platform_settings(**server), "auto")
    served = set(rendered.pop("tools").split())
    assert set(rendered) == expected
    for name, text in rendered.items():
        assert named_tools(text) <= served, name


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("no_such_prompt", {}, "Unknown prompt 'no_such_prompt'; the prompts here are: "),
        ("delegate_task", {}, "prompt 'delegate_task' needs the argument 'task'."),
        ("delegate_task", {"task": "x", "flow": "y"}, "prompt 'delegate_task' has no argument"),
        ("review_approvals", {}, "Unknown prompt 'review_approvals'"),
    ],
)
async def test_a_wrong_prompt_request_answers_invalid_params_without_a_traceback(
    mode: str,
    name: str,
    arguments: dict[str, str],
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """19.11: -32602 with a message naming the prompt and the arguments (not error code 0
    with a Python set in it), and nothing logged above info for a client's mistake."""
    caplog.set_level(logging.INFO)
    async with connect(make_settings(), mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.get_prompt(name, arguments)
    assert raised.value.code == -32602
    assert raised.value.message.startswith(message)
    assert "{" not in raised.value.message
    assert not [r for r in caplog.records if r.levelno > logging.INFO or r.exc_info]
