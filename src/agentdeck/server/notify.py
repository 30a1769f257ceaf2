"""Change notifications to clients of both protocol eras.

2026-07-28 clients listen on ``subscriptions/listen``, fed by the server's
subscription bus, which delivers each event only to the streams that asked for it;
2025-11-25 clients get notifications on their connection, which agentdeck remembers
(weakly: a closed connection drops out) from their requests, so changes found
outside any request (a periodic refresh) reach them too.

A resource update goes, per the spec, only to those who subscribed to that URI:
listen streams naming it, and 2025-11-25 sessions that sent ``resources/subscribe``
for it (kept here until they unsubscribe or close).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ToolsListChanged

from agentdeck.server.sdk_seams import connection_of

logger = logging.getLogger("agentdeck.notify")


class Notifier:
    """Sends list-changed notifications to every connected client, and resource updates
    to their subscribers."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        self._bus = bus
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._subscribers: dict[str, weakref.WeakSet[Any]] = {}

    def remember(self, ctx: Context) -> None:
        """Keep the request's legacy connection so later changes reach it too."""
        if not is_modern(ctx):
            self._connections.add(connection_of(ctx.session))

    def subscribe(self, session: Any, uri: str) -> None:
        """The 2025-11-25 client of ``session`` asked for updates of ``uri``."""
        self._subscribers.setdefault(uri, weakref.WeakSet()).add(connection_of(session))

    def unsubscribe(self, session: Any, uri: str) -> None:
        self._forget(connection_of(session), uri)

    def _forget(self, connection: Any, uri: str) -> None:
        subscribers = self._subscribers.get(uri)
        if subscribers is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._subscribers[uri]

    async def tools_changed(self) -> None:
        await self._bus.publish(ToolsListChanged())
        for connection in list(self._connections):
            try:
                await connection.send_tool_list_changed()
            except Exception as exc:  # a closed connection must not stop the others
                logger.debug("could not notify a client: %s", exc)
                self._connections.discard(connection)

    async def resource_updated(self, uri: str) -> None:
        """Tell the subscribers of ``uri`` (and only them) that it changed."""
        await self._bus.publish(ResourceUpdated(uri=uri))
        for connection in list(self._subscribers.get(uri, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception as exc:  # a closed connection must not stop the others
                logger.debug("could not announce %s: %s", uri, exc)
                self._forget(connection, uri)


def is_modern(ctx: Context) -> bool:
    """Whether the request speaks 2026-07-28 or later (no server-to-client requests)."""
    version = ctx.protocol_version or ""
    return version >= "2026-07-28"


async def announce_resource_updated(ctx: Context[Any, Any], uri: str) -> None:
    """Tell the resource's subscribers it changed (a transcript after a chat turn)."""
    notifier: Notifier = ctx.request_context.lifespan_context.notifier
    try:
        await notifier.resource_updated(uri)
    except Exception as exc:  # notifying is a courtesy; the tool's answer matters more
        logger.debug("could not announce %s: %s", uri, exc)
