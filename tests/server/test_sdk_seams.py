"""The SDK's private parts agentdeck reaches into (server/sdk_seams.py) are still there.

Each seam is a public-looking function over one private attribute of the mcp SDK. If an
SDK release moves one, these tests fail here, naming the seam, instead of the server
failing somewhere downstream (issue 13: no silent breakage within ``mcp>=2.3,<3``).
"""

import warnings
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.streamable_http import EventCallback, EventStore
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import JSONRPCMessage

from agentdeck.server.sdk_seams import (
    ListenHandler,
    add_built_tool,
    advertise_list_changes,
    amend_acknowledgement,
    connection_of,
    event_store_per_session,
    lowlevel_server,
    progress_wanted,
    serve_logging_level,
    tool_manager,
    wrap_listen,
)
from tests.fakes.base import serve
from tests.support import INITIALIZE

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


async def test_legacy_clients_may_set_a_log_level_and_modern_ones_are_not_offered_it() -> None:
    levels: list[str] = []

    async def remember(ctx: Any, level: str) -> None:
        levels.append(level)

    server = a_server()
    serve_logging_level(server, remember)
    async with Client(server, mode="legacy") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await client.set_logging_level("error")
        legacy = client.server_capabilities
    async with Client(server) as client:
        modern = client.server_capabilities
    assert levels == ["error"]
    assert legacy.logging is not None and modern.logging is None


class Numbered(EventStore):
    """An event store numbering what it is given, in memory."""

    def __init__(self) -> None:
        self.kept: list[JSONRPCMessage | None] = []

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        self.kept.append(message)
        return str(len(self.kept))

    async def replay_events_after(self, last_event_id: str, send: EventCallback) -> str | None:
        return None


async def test_each_http_session_gets_an_event_store_of_its_own() -> None:
    server = a_server()
    app = server.streamable_http_app(retry_interval=1000)
    stores: dict[str, Numbered] = {}

    def for_session(session_id: str, ended: Callable[[], bool]) -> EventStore:
        assert not ended()
        return stores.setdefault(session_id, Numbered())

    event_store_per_session(server, for_session)
    headers = {"Accept": "application/json, text/event-stream"}
    async with server.session_manager.run():
        transport = httpx2.ASGITransport(app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as http:
            sessions = [
                (await http.post("/mcp", json=INITIALIZE, headers=headers)).headers[
                    "mcp-session-id"
                ]
                for _ in range(2)
            ]
    assert sorted(stores) == sorted(sessions) and len(set(sessions)) == 2
    assert all(store.kept[0] is None and len(store.kept) == 2 for store in stores.values())


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


def a_progress_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("seams")

    @server.tool()
    async def wanted(ctx: Context) -> bool:
        """Say whether progress from this request reaches anyone."""
        return progress_wanted(ctx.session)

    return server


async def wanted_by(client: Client, *, callback: bool) -> bool:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        return None

    result = await client.call_tool(
        "wanted", {}, progress_callback=on_progress if callback else None
    )
    return result.structured_content == {"result": True}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_progress_is_wanted_exactly_when_the_caller_asked_for_it(mode: str) -> None:
    """In process (a progress callback) and over HTTP (a progress token), in both eras."""
    server = a_progress_server()
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        assert await wanted_by(client, callback=True)
        assert not await wanted_by(client, callback=False)
    app = a_progress_server().streamable_http_app()
    with serve(app, lifespan=True) as base:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client,  # type: ignore[arg-type]
        ):
            assert await wanted_by(client, callback=True)
            assert not await wanted_by(client, callback=False)
