"""The one place agentdeck reaches under MCPServer's public surface, and why.

MCPServer (mcp 2.x) has no setting for four things a 2025-11-25 client needs from
agentdeck: the ``tools.listChanged`` / ``resources.listChanged`` capabilities of the
handshake (it always reports them false, though agentdeck sends those notifications);
the ``resources/subscribe`` / ``resources/unsubscribe`` and ``logging/setLevel``
methods (it does not serve them), which live on the low-level server MCPServer keeps in
a private attribute; and
the client's connection, which outlives a request (a request's session does not) and
is what a later notification must be sent on. It also has no way to serve a tool built
ahead of time (``add_tool`` builds one from a function, a pydantic model per call):
the per-agent tools share one prepared template instead. Nor can it give each HTTP
session an event store of its own (every session shares the one it is handed, under
stream names every session reuses). Nor can an extension add to a
``subscriptions/listen`` stream (the tasks extension's ``taskIds``): the SDK's own
listen handler is wrapped, its acknowledgement amended on the way out. Everything that
reaches them is in this module, and
``tests/server/test_sdk_seams.py`` checks each seam directly, so an SDK release
that moves it fails those tests loudly instead of silently dropping a capability.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from types import MethodType
from typing import Any, TypeVar, cast

import anyio
import mcp.types as types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.session import ServerSession
from mcp.server.streamable_http import EventStore, StreamableHTTPServerTransport
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

T = TypeVar("T")
_UNKNOWN = object()
SubscriptionHandler = Callable[[ServerRequestContext[Any, Any], str], Awaitable[None]]
LevelHandler = Callable[[ServerRequestContext[Any, Any], types.LoggingLevel], Awaitable[None]]
ListenHandler = Callable[
    [ServerRequestContext[Any, Any], types.SubscriptionsListenRequestParams],
    Awaitable[types.SubscriptionsListenResult],
]


def _kept(owner: Any, attribute: str, kind: type[T], needed_by: str) -> T:
    """``owner``'s private ``attribute``, which must be a ``kind``; a clear error naming
    what agentdeck uses it for if this SDK keeps it elsewhere."""
    found = getattr(owner, attribute, None)
    if not isinstance(found, kind):
        raise RuntimeError(
            f"this version of the mcp SDK no longer keeps {type(owner).__name__}.{attribute}; "
            f"agentdeck's {needed_by} (server/sdk_seams.py) needs updating."
        )
    return found


def progress_wanted(session: ServerSession) -> bool:
    """Whether progress reported for the session's request reaches anyone: the caller
    sent a progress token (in process: a progress callback). The SDK answers this only by
    sending nothing; agentdeck asks so that a chat nobody streams to is followed without
    waking at every event. Each kind of dispatch context keeps it under its own name; one
    this SDK keeps elsewhere answers True, so progress is still sent."""
    outbound = getattr(session, "_request_outbound", None)
    while (inner := getattr(outbound, "_inner", None)) is not None:  # the modern-era wrapper
        outbound = inner
    for attribute in ("_progress_token", "progress_token", "_on_progress"):
        value = getattr(outbound, attribute, _UNKNOWN)
        if value is not _UNKNOWN:
            return value is not None
    return True


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """The low-level server inside ``server``."""
    return _kept(server, "_lowlevel_server", Server, "capability and subscription wiring")


def tool_manager(server: MCPServer[Any]) -> ToolManager:
    """The registry of tools inside ``server``."""
    manager = _kept(server, "_tool_manager", ToolManager, "prepared tool list")
    _kept(manager, "_tools", dict, "prepared tool list")
    return manager


def add_built_tool(server: MCPServer[Any], tool: Tool) -> None:
    """Serve ``tool`` as built (what ``MCPServer(tools=[...])`` does at construction),
    replacing a tool of the same name."""
    tool_manager(server)._tools[tool.name] = tool


def connection_of(session: Any) -> Connection:
    """The connection a request's session belongs to: where later notifications go."""
    return _kept(session, "_connection", Connection, "notification wiring")


def advertise_list_changes(server: MCPServer[Any]) -> None:
    """Declare ``tools.listChanged`` and ``resources.listChanged`` to 2025-11-25 clients.

    The handshake builds its capabilities from default notification options; this wraps
    the builder so they say what agentdeck delivers. 2026-07-28 clients learn it from
    ``subscriptions/listen`` being served and are unaffected (the SDK ignores the
    options for them).
    """
    lowlevel = lowlevel_server(server)
    build = lowlevel.get_capabilities

    def get_capabilities(
        notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
    ) -> types.ServerCapabilities:
        prompts_changed = notification_options.prompts_changed if notification_options else False
        options = NotificationOptions(
            prompts_changed=prompts_changed, tools_changed=True, resources_changed=True
        )
        return build(options, *args, **kwargs)

    lowlevel.get_capabilities = get_capabilities  # type: ignore[method-assign]


def advertise_tasks(server: MCPServer[Any], tasks: types.ServerTasksCapability) -> None:
    """Declare the 2025-11-25 ``tasks`` capability (the task methods are served by an
    extension, which the SDK advertises only under ``extensions``, for 2026-07-28)."""
    lowlevel = lowlevel_server(server)
    build = lowlevel.get_capabilities

    def get_capabilities(*args: Any, **kwargs: Any) -> types.ServerCapabilities:
        capabilities = build(*args, **kwargs)
        capabilities.tasks = tasks
        return capabilities

    lowlevel.get_capabilities = get_capabilities  # type: ignore[method-assign]


def serve_resource_subscriptions(
    server: MCPServer[Any], subscribe: SubscriptionHandler, unsubscribe: SubscriptionHandler
) -> None:
    """Serve 2025-11-25 ``resources/subscribe`` and ``resources/unsubscribe``.

    The low-level server advertises ``resources.subscribe`` to those clients once the
    method is served. 2026-07-28 clients subscribe on ``subscriptions/listen`` instead,
    which MCPServer serves itself.
    """
    lowlevel = lowlevel_server(server)

    async def on_subscribe(
        ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        await subscribe(ctx, str(params.uri))
        return types.EmptyResult()

    async def on_unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        await unsubscribe(ctx, str(params.uri))
        return types.EmptyResult()

    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, on_subscribe)
    lowlevel.add_request_handler(
        "resources/unsubscribe", types.UnsubscribeRequestParams, on_unsubscribe
    )


def serve_logging_level(server: MCPServer[Any], set_level: LevelHandler) -> None:
    """Serve 2025-11-25 ``logging/setLevel``, declaring ``logging`` to those clients only.

    The low-level server declares the capability to every era once the method is served;
    2026-07-28 deprecated it (SEP-2577) and no longer has the method (the SDK answers it
    "method not found" there), so its discovery result leaves it out.
    """
    lowlevel = lowlevel_server(server)

    async def on_set_level(
        ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
    ) -> types.EmptyResult:
        await set_level(ctx, params.level)
        return types.EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, on_set_level)
    build = lowlevel.get_capabilities

    def get_capabilities(*args: Any, **kwargs: Any) -> types.ServerCapabilities:
        capabilities = build(*args, **kwargs)
        if kwargs.get("protocol_version") in MODERN_PROTOCOL_VERSIONS:
            return capabilities.model_copy(update={"logging": None})
        return capabilities

    lowlevel.get_capabilities = get_capabilities  # type: ignore[method-assign]


def event_store_per_session(
    server: MCPServer[Any], for_session: Callable[[str, Callable[[], bool]], EventStore]
) -> None:
    """Give each stateful Streamable HTTP session an event store of its own:
    ``for_session(session_id, ended)``, where ``ended()`` says the session was terminated.

    The session manager (made by ``server.streamable_http_app``) hands every session's
    transport the one event store it was given, and the transports name their streams by
    request id, which every session reuses: a shared store would replay one session's
    messages to another. So the manager's private ``_admit_session``, which builds each
    session's transport, is wrapped to set the transport's ``_event_store`` to one
    scoped to the session it has just named. The manager keeps no event store itself
    (pass none to ``streamable_http_app``), so a session it admits unwrapped is simply
    not resumable.
    """
    manager = server.session_manager
    admit = _kept(manager, "_admit_session", MethodType, "resumable streams")

    def admit_with_own_store(*args: Any, **kwargs: Any) -> Any:
        transport = admit(*args, **kwargs)
        if isinstance(transport, StreamableHTTPServerTransport) and transport.mcp_session_id:
            if not hasattr(transport, "_event_store"):
                raise RuntimeError(
                    "this version of the mcp SDK no longer keeps "
                    "StreamableHTTPServerTransport._event_store; agentdeck's resumable "
                    "streams (server/sdk_seams.py) need updating."
                )
            transport._event_store = for_session(
                transport.mcp_session_id, lambda: transport.is_terminated
            )
        return transport

    setattr(manager, "_admit_session", admit_with_own_store)  # noqa: B010 (a method)


def wrap_listen(server: MCPServer[Any], wrap: Callable[[ListenHandler], ListenHandler]) -> None:
    """Serve ``subscriptions/listen`` with ``wrap(the SDK's own handler)``."""
    lowlevel = lowlevel_server(server)
    entry = lowlevel.get_request_handler("subscriptions/listen")
    if entry is None:
        raise RuntimeError("MCPServer serves no subscriptions/listen to wrap")
    handler = wrap(cast(ListenHandler, entry.handler))
    params = types.SubscriptionsListenRequestParams
    lowlevel.add_request_handler("subscriptions/listen", params, handler)


def amend_acknowledgement(
    ctx: ServerRequestContext[Any, Any], extra: Mapping[str, Any], acknowledged: anyio.Event
) -> ServerRequestContext[Any, Any]:
    """``ctx`` for the SDK's listen handler, whose acknowledgement (the stream's first
    frame) then also carries ``extra`` in its filter; ``acknowledged`` is set once it
    is sent, so what the caller adds to the stream comes after it."""
    session = _Acknowledging(ctx.session, extra, acknowledged)
    return replace(ctx, session=cast(ServerSession, session))


class _Acknowledging:
    """A request's session that amends the listen acknowledgement it sends."""

    def __init__(
        self, session: ServerSession, extra: Mapping[str, Any], acknowledged: anyio.Event
    ) -> None:
        self._session = session
        self._extra = extra
        self._acknowledged = acknowledged

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def send_notification(
        self, notification: types.ServerNotification, related_request_id: Any = None
    ) -> None:
        if not isinstance(notification, types.SubscriptionsAcknowledgedNotification):
            await self._session.send_notification(notification, related_request_id)
            return
        params = notification.params
        honored = params.notifications.model_dump(by_alias=True, exclude_none=True)
        merged = types.SubscriptionFilter.model_validate({**honored, **self._extra})
        amended = notification.model_copy(
            update={"params": params.model_copy(update={"notifications": merged})}
        )
        await self._session.send_notification(amended, related_request_id)
        self._acknowledged.set()
