"""Change notifications to clients of both protocol eras.

2026-07-28 clients listen on ``subscriptions/listen``, fed by the server's
subscription bus; 2025-11-25 clients get notifications on their session. Inside a
request both are reachable through the context; from outside a request (a
periodic refresh) the bus reaches the listeners and the sessions agentdeck has
seen are sent to directly.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.subscriptions import InMemorySubscriptionBus, ToolsListChanged

logger = logging.getLogger("agentdeck.notify")


class Notifier:
    """Sends list-changed notifications to every connected client."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        self._bus = bus
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()

    def remember(self, ctx: Context) -> None:
        """Keep the request's legacy session so later changes reach it too."""
        if not is_modern(ctx):
            self._sessions.add(ctx.session)

    async def tools_changed(self) -> None:
        await self._bus.publish(ToolsListChanged())
        for session in list(self._sessions):
            try:
                await session.send_tool_list_changed()
            except Exception as exc:  # a closed session must not stop the others
                logger.debug("could not notify a session: %s", exc)
                self._sessions.discard(session)


def is_modern(ctx: Context) -> bool:
    """Whether the request speaks 2026-07-28 or later (no server-to-client requests)."""
    version = ctx.protocol_version or ""
    return version >= "2026-07-28"


async def announce_resource_updated(ctx: Context, uri: str) -> None:
    """Tell the client a resource changed (a transcript after a chat turn), in either era."""
    try:
        await ctx.notify_resource_updated(uri)
        if not is_modern(ctx):
            await ctx.session.send_resource_updated(uri)
    except Exception as exc:  # notifying is a courtesy; the tool's answer matters more
        logger.debug("could not announce %s: %s", uri, exc)
