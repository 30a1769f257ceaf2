"""Recording the change notifications a client receives, the same way in both eras."""

import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp.types as types
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.subscriptions import ResourceUpdated, ToolsListChanged

from agentdeck.server import conversation_uri
from tests.support import connect, ok

#: The agent whose transcript updates mark "everything sent before has arrived"; a test
#: with exposed agents excludes it (``exclude_agents``) so it never becomes a tool.
MARKER_AGENT = "Marker"


@dataclass
class Changes:
    """What the server told the client: 'tools' for a list change, or a resource URI."""

    seen: list[str] = field(default_factory=list)
    marks: int = 0
    _arrived: anyio.Event = field(default_factory=anyio.Event)
    _marker_uri: str = ""
    _mark: Callable[[], Awaitable[None]] | None = None

    def add(self, what: str) -> None:
        if what == self._marker_uri:
            self.marks += 1
        else:
            self.seen.append(what)
        self._arrived.set()
        self._arrived = anyio.Event()

    async def wait_for(self, what: str, seconds: float = 5.0) -> None:
        with anyio.fail_after(seconds):
            while what not in self.seen:
                await self._arrived.wait()

    async def settle(self, seconds: float = 5.0) -> None:
        """Wait until every notification sent so far has arrived: the server sends a
        marker (an update of a transcript this client subscribed to, on the same stream,
        after all of them) and this waits for it."""
        assert self._mark is not None, "watched() sets up the marker"
        before = self.marks
        await self._mark()
        with anyio.fail_after(seconds):
            while self.marks <= before:
                await self._arrived.wait()


async def _marker(client: Client, changes: Changes) -> str:
    """Start the marker conversation; ``changes`` can then send a marker; its URI."""
    created = await client.call_tool(
        "create_agent", {"backend": "local", "name": MARKER_AGENT, "model": "echo"}
    )
    agent = ok(created)["ref"]
    first = ok(await client.call_tool("chat", {"agent": agent, "message": "mark"}))
    backend, _, conversation_id = first["conversation"].partition(":")

    async def mark() -> None:
        arguments = {"agent": agent, "message": "mark", "conversation": first["conversation"]}
        ok(await client.call_tool("chat", arguments))

    changes._marker_uri = conversation_uri(backend, conversation_id)
    changes._mark = mark
    return changes._marker_uri


@asynccontextmanager
async def watched(
    settings: Any, mode: str, resources: tuple[str, ...] = (), **kwargs: Any
) -> AsyncIterator[tuple[Client, Changes]]:
    """A connected client and the changes it is told about (see :meth:`Changes.settle`)."""
    changes = Changes()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changes.add("tools")
        elif isinstance(message, types.ResourceUpdatedNotification):
            changes.add(str(message.params.uri))

    if mode == "legacy":
        async with connect(settings, mode, message_handler=on_message, **kwargs) as client:
            for uri in (*resources, await _marker(client, changes)):
                await legacy_subscription(client, uri, subscribe=True)
            yield client, changes
        return
    async with connect(settings, mode, **kwargs) as client:
        marker = await _marker(client, changes)
        async with (
            client.listen(
                tools_list_changed=True, resource_subscriptions=(*resources, marker)
            ) as sub,
            anyio.create_task_group() as group,
        ):

            async def pump() -> None:
                async for event in sub:
                    if isinstance(event, ToolsListChanged):
                        changes.add("tools")
                    elif isinstance(event, ResourceUpdated):
                        changes.add(event.uri)

            group.start_soon(pump)
            yield client, changes
            group.cancel_scope.cancel()


@asynccontextmanager
async def subscribed(client: Client, mode: str, changes: Changes, uri: str) -> AsyncIterator[None]:
    """Subscribe a client made by :func:`watched` to one more resource, for the block.

    Legacy: ``resources/subscribe`` (and unsubscribe after); 2026: a listen stream for it.
    """
    if mode == "legacy":
        await legacy_subscription(client, uri, subscribe=True)
        yield
        await legacy_subscription(client, uri, subscribe=False)
        return
    async with (
        client.listen(resource_subscriptions=[uri]) as sub,
        anyio.create_task_group() as group,
    ):

        async def pump() -> None:
            async for event in sub:
                if isinstance(event, ResourceUpdated):
                    changes.add(event.uri)

        group.start_soon(pump)
        yield
        group.cancel_scope.cancel()


async def legacy_subscription(client: Client, uri: str, *, subscribe: bool) -> None:
    """``resources/subscribe`` or ``unsubscribe`` (2025-11-25; the SDK warns it is legacy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        if subscribe:
            await client.subscribe_resource(uri)
        else:
            await client.unsubscribe_resource(uri)
