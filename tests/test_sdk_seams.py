"""The SDK's private parts agentdeck reaches into (server/sdk_seams.py) are still there.

Each seam is a public-looking function over one private attribute of the mcp SDK. If an
SDK release moves one, these tests fail here, naming the seam, instead of the server
failing somewhere downstream (issue 13: no silent breakage within ``mcp>=2.3,<3``).
"""

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool

from agentdeck.server.sdk_seams import (
    ListenHandler,
    add_built_tool,
    advertise_list_changes,
    amend_acknowledgement,
    connection_of,
    lowlevel_server,
    tool_manager,
    wrap_listen,
)

pytestmark = pytest.mark.anyio


def a_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("seams")

    @server.tool()
    async def where(ctx: Context) -> str:
        """Name the class of the connection this request's session belongs to."""
        return type(connection_of(ctx.session)).__name__

    return server


def test_the_low_level_server_and_the_tool_registry_are_found() -> None:
    server = a_server()
    assert isinstance(lowlevel_server(server), Server)
    assert tool_manager(server).get_tool("where") is not None


async def test_a_built_tool_is_served_and_a_session_has_its_connection() -> None:
    server = a_server()
    copy = Tool.from_function(tool_manager(server).get_tool("where").fn, name="where_too")  # type: ignore[union-attr]
    add_built_tool(server, copy)
    async with Client(server, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        answer = await client.call_tool("where_too", {})
    assert names == {"where", "where_too"}
    assert not answer.is_error and Connection.__name__ in str(answer.content[0])


async def test_legacy_clients_are_told_the_lists_change() -> None:
    server = a_server()
    advertise_list_changes(server)
    async with Client(server, mode="legacy") as client:
        capabilities = client.session.server_capabilities  # type: ignore[attr-defined]
    assert capabilities.tools.list_changed is True
    assert capabilities.resources.list_changed is True


async def test_a_wrapped_listen_stream_acknowledges_more_and_ends_with_its_client() -> None:
    server = a_server()
    acknowledged_before_the_end: list[bool] = []
    ended = anyio.Event()

    def wrap(sdk_listen: ListenHandler) -> ListenHandler:
        async def listen(ctx: ServerRequestContext[Any, Any], params: Any) -> Any:
            acknowledged = anyio.Event()
            try:
                async with anyio.create_task_group() as beside:
                    beside.start_soon(anyio.sleep_forever)  # what the wrapper adds
                    extra = {"taskIds": ["t1"]}
                    return await sdk_listen(amend_acknowledgement(ctx, extra, acknowledged), params)
            finally:
                acknowledged_before_the_end.append(acknowledged.is_set())
                ended.set()

        return listen

    wrap_listen(server, wrap)
    async with Client(server) as client:
        async with client.listen(tools_list_changed=True) as subscription:
            honored = subscription.honored
        with anyio.fail_after(5):
            await ended.wait()  # the client went away: the handler and its tasks ended
    assert honored is not None and honored.tools_list_changed is True
    assert (honored.model_extra or {}).get("taskIds") == ["t1"]
    assert acknowledged_before_the_end == [True]
