"""A client's mistakes answer the spec's JSON-RPC error, with no traceback in the log (issue
19, item 11; the prompts' part is in test_prompts.py)."""

import logging

import pytest
from mcp.shared.exceptions import MCPError

from tests.support import connect, make_settings

pytestmark = pytest.mark.anyio


async def test_calling_a_tool_that_is_not_served_is_a_protocol_error(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """19.11: an unknown tool answers -32602 "Unknown tool: <name>" (the spec's protocol
    error, both eras), not a failed tool result; a served one still runs."""
    caplog.set_level(logging.INFO)
    async with connect(make_settings(), mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("list_approvals", {})
        listed = await client.call_tool("list_backends", {})
    assert raised.value.code == -32602
    assert raised.value.message == "Unknown tool: list_approvals"
    assert not listed.is_error
    assert not [r for r in caplog.records if r.levelno > logging.INFO or r.exc_info]


async def test_reading_an_unknown_resource_is_resource_not_found_without_a_traceback(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """19.11: resource not found is -32002 for 2025-11-25 clients and -32602 for 2026-07-28
    ones (SEP-2164), with the URI as data; a client's mistake logs no traceback."""
    caplog.set_level(logging.INFO)
    uri = "agentdeck://local/no-such-kind/x"
    async with connect(make_settings(), mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
    assert raised.value.code == (-32002 if mode == "legacy" else -32602)
    assert raised.value.data == {"uri": uri}
    assert not [r for r in caplog.records if r.levelno > logging.INFO or r.exc_info]
