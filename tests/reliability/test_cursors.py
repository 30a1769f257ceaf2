"""Defect 9: a cursor agentdeck did not hand out is a clear error on every list tool."""

from collections.abc import Iterator

import pytest

from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.platforms import agentflow_settings
from tests.support import call_error, call_ok, connect, error_text, make_settings

pytestmark = pytest.mark.anyio

BAD_CURSORS = [
    "o:99999999999999999999",  # overflowed SQLite's 64-bit OFFSET
    "o:²",  # isdigit() but not int()-able
    "o:-1",
    "o:",
    "garbage",
    "local|o:²",  # the all-backends cursor wrapping a bad inner one
    "nosuch|o:1",
]
INVALID = "this cursor is not valid; start again without one"


@pytest.fixture
def flow_url() -> Iterator[str]:
    with serve(FakeAgentFlow().app) as url:
        yield url


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_defect_9_bad_cursors_on_local_list_tools_are_clear_errors(
    cursor: str, mode: str
) -> None:
    async with connect(make_settings(), mode) as client:
        for tool, arguments in [
            ("list_agents", {}),
            ("list_agents", {"backend": "local"}),
            ("list_conversations", {}),
            ("list_conversations", {"backend": "local"}),
        ]:
            result = await client.call_tool(tool, {**arguments, "cursor": cursor})
            text = error_text(result)
            assert INVALID in text, (tool, arguments, text)
        assert (await call_ok(client, "list_backends", {}))["backends"]


@pytest.mark.parametrize("cursor", ["o:99999999999999999999", "o:²", "garbage"])
async def test_defect_9_bad_cursors_on_a_platform_are_clear_errors(
    flow_url: str, cursor: str
) -> None:
    async with connect(agentflow_settings(flow_url)) as client:
        for tool, arguments in [
            ("list_agents", {"backend": "flow"}),
            ("list_conversations", {"backend": "flow"}),
            ("list_approvals", {"backend": "flow"}),
            ("list_knowledge_bases", {"backend": "flow"}),
            ("list_subagents", {"agent": "flow:agent_research"}),
        ]:
            text = await call_error(client, tool, {**arguments, "cursor": cursor})
            assert INVALID in text, (tool, text)
        page = await call_ok(client, "list_agents", {"backend": "flow", "limit": 1})
        assert page["next_cursor"] and page["items"]
