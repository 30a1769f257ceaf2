"""Change notifications to clients of both protocol eras.

2026-07-28 clients listen on ``subscriptions/listen``, fed by the server's
subscription bus, which delivers each event only to the streams that asked for it;
2025-11-25 clients get notifications on their connection, which agentdeck remembers
(weakly: a closed connection drops out) from their requests, so changes found
outside any request (a periodic refresh) reach them too.

A resource update goes, per the spec, only to those who subscribed to that URI:
listen streams naming it, and 2025-11-25 sessions that sent ``resources/subscribe``
for it (kept here until they unsubscribe or close).

With OAuth a resource update is also only for the principal whose thing changed (a
transcript is its owner's): listen streams and legacy subscriptions remember who
opened them, and an update with an owner reaches only that owner's ones, so another
user subscribing to the same URI hears nothing, as for a conversation that never was.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import anyio.lowlevel
from mcp.server.mcpserver import Context
from mcp.server.subscriptions import (
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

from agentdeck.server.client._abilities import is_modern
from agentdeck.server.oauth import current_principal
from agentdeck.server.sdk_seams import connection_of

logger = logging.getLogger("agentdeck.notify")


class OwnedBus:
    """The subscription bus, with each listen stream kept with the principal that opened
    it (``subscribe`` runs in the listen request's context), so :meth:`publish_for` can
    reach only one principal's streams. Without OAuth every stream is everyone's.

    It keeps every listener itself, in subscription order, so an event nobody listens
    for costs no turn of the event loop: the SDK's bus ends every publish with a
    checkpoint (letting listen streams drain between a burst of events), which here
    comes only after a listener was handed the event. A chat announces its transcript's
    update each turn, mostly to nobody."""

    def __init__(self) -> None:
        #: each listener with the principal that opened its stream (None: everyone's)
        self._owned: dict[object, tuple[str | None, Callable[[ServerEvent], None]]] = {}

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._owned[token] = (current_principal(), listener)

        def unsubscribe() -> None:
            self._owned.pop(token, None)

        return unsubscribe

    async def publish(self, event: ServerEvent) -> None:
        await self.publish_for(event, None)

    async def publish_for(self, event: ServerEvent, owner: str | None) -> None:
        """Deliver ``event`` to the streams of ``owner``; to every stream when None."""
        delivered = False
        for holder, listener in list(self._owned.values()):
            if owner is None or holder == owner:
                delivered = True
                try:
                    listener(event)
                except Exception:  # one bad listener must not starve the others
                    logger.exception("subscription listener raised; continuing")
        if delivered:
            await anyio.lowlevel.checkpoint()


class Notifier:
    """Sends list-changed notifications to every connected client, and resource updates
    to their subscribers."""

    def __init__(self, bus: OwnedBus) -> None:
        self._bus = bus
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        #: legacy subscriptions by (the principal that subscribed, uri)
        self._subscribers: dict[tuple[str | None, str], weakref.WeakSet[Any]] = {}

    def remember(self, ctx: Context) -> None:
        """Keep the request's legacy connection so later changes reach it too."""
        if not is_modern(ctx):
            self._connections.add(connection_of(ctx.session))

    def subscribe(self, session: Any, uri: str) -> None:
        """The 2025-11-25 client of ``session`` asked for updates of ``uri``."""
        key = (current_principal(), uri)
        self._subscribers.setdefault(key, weakref.WeakSet()).add(connection_of(session))

    def unsubscribe(self, session: Any, uri: str) -> None:
        self._forget(connection_of(session), (current_principal(), uri))

    def _forget(self, connection: Any, key: tuple[str | None, str]) -> None:
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._subscribers[key]

    async def tools_changed(self) -> None:
        await self._bus.publish(ToolsListChanged())
        for connection in list(self._connections):
            try:
                await connection.send_tool_list_changed()
            except Exception as exc:  # a closed connection must not stop the others
                logger.debug("could not notify a client: %s", exc)
                self._connections.discard(connection)

    async def resource_updated(self, uri: str, owner: str | None) -> None:
        """Tell the subscribers of ``uri`` (and only them) that it changed; with OAuth only
        those of ``owner``, whose thing it is."""
        await self._bus.publish_for(ResourceUpdated(uri=uri), owner)
        key = (owner, uri)
        for connection in list(self._subscribers.get(key, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception as exc:  # a closed connection must not stop the others
                logger.debug("could not announce %s: %s", uri, exc)
                self._forget(connection, key)


async def announce_resource_updated(ctx: Context[Any, Any], uri: str, owner: str | None) -> None:
    """Tell the resource's subscribers it changed (``owner``'s transcript after a chat turn)."""
    notifier: Notifier = ctx.request_context.lifespan_context.notifier
    try:
        await notifier.resource_updated(uri, owner)
    except Exception as exc:  # notifying is a courtesy; the tool's answer matters more
        logger.debug("could not announce %s: %s", uri, exc)
