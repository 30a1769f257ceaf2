"""The MCP server class: MCPServer, answering ``tools/list`` from a prepared list and
explaining calls that do not fit a tool's signature.

Tools arrive built and compacted (``_surface.Surface.tool``, the per-agent tools' shared
template); each one's listed form is made once, when it is added, and the wire form of
the whole list once per protocol version after each change. With a thousand agent tools
a list is then a dictionary look-up, not a thousand models built, validated and dumped.
Each served tool is kept once, by name, with its function and its listed forms
(:class:`_Served`): the list, the argument errors and the tool registry of the SDK
(``sdk_seams``) all change together, in :meth:`DeckServer._serve` and
:meth:`DeckServer.remove_tool`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import Tool as ListedTool
from mcp.types import ToolExecution
from mcp_types.methods import validate_client_request

from agentdeck.server._arguments import ReadableArgumentErrors
from agentdeck.server.oauth import ScopePolicy, granted_scopes
from agentdeck.server.sdk_seams import add_built_tool, tool_manager
from agentdeck.server.toolkit import compacted
from agentdeck.server.transport import StreamEvents

#: Set while the SDK builds the tool list of a client with MCP Apps.
_LISTING_VIEWS: ContextVar[bool] = ContextVar("listing_views", default=False)
#: How a tool whose calls may become tasks says so to 2025-11-25 clients (the 2026-07-28
#: tool shape has no such field: the SDK leaves it out of their lists).
TASK_EXECUTION = ToolExecution(task_support="optional")


@dataclass(frozen=True, slots=True)
class _Served:
    """One served tool: its function, and how ``tools/list`` shows it."""

    fn: Callable[..., Any]
    listed: ListedTool
    #: the listed form clients with MCP Apps get, naming the tool's view; None without one
    with_view: ListedTool | None


class DeckServer(MCPServer[Any]):
    """The MCP server agentdeck serves (``build_server`` makes it).

    ``views`` names the MCP Apps view (a ``ui://`` URI) of the tools that have one. A
    client that negotiated Apps gets those tools with ``_meta.ui.resourceUri``; every
    other client gets the list as if there were no views, so the two are kept apart.
    ``task_tools``: the tools (given here) whose calls may become tasks.

    Under OAuth (``scope_policy`` set), a token sees only the tools its scopes allow: the
    answers are kept per set of granted scopes too.
    """

    scope_policy: ScopePolicy | None = None
    #: Where its Streamable HTTP streams are kept for resumption (``build_http_app``).
    events: StreamEvents

    def __init__(
        self,
        *args: Any,
        views: dict[str, str] | None = None,
        task_tools: Collection[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._views = dict(views or {})
        self._served: dict[str, _Served] = {}
        self._viewed = 0  # how many served tools have a view
        #: tools/list on the wire, by protocol version, whether the client has Apps, and
        #: the caller's scopes (of those the policy names; None without OAuth)
        self._answers: dict[tuple[str, bool, frozenset[str] | None], HandlerResult] = {}
        self._changes = 0
        for tool in tool_manager(self).list_tools():
            self._list(tool, self._views.get(tool.name), tasks=tool.name in task_tools)
        self.middleware.append(self._prepared_tool_list)
        self.middleware.append(ReadableArgumentErrors(self._function_of))

    async def list_tools(self) -> list[ListedTool]:
        served: Iterable[_Served] = self._served.values()
        granted, policy = granted_scopes(), self.scope_policy
        if granted is not None and policy is not None:
            served = [s for s in served if policy.visible(s.listed.name, granted)]
        if _LISTING_VIEWS.get():
            return [s.with_view or s.listed for s in served]
        return [s.listed for s in served]

    def add_tool(
        self, fn: Callable[..., Any], name: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        """A tool built from a function by the SDK: compacted like every other (the SDK
        keeps a tool of the same name that it serves already, and so does this)."""
        super().add_tool(fn, name, *args, **kwargs)
        tool = tool_manager(self).get_tool(name or fn.__name__)
        assert tool is not None
        self._list(compacted(tool), self._views.get(tool.name))
        self._changed()

    def add_built(self, tool: Tool, view: str | None = None, *, tasks: bool = False) -> None:
        """Serve ``tool``, built and compacted already (replacing one of the same name),
        shown in ``view`` to clients with Apps; ``tasks``: its calls may become tasks."""
        add_built_tool(self, tool)
        self._list(tool, view, tasks=tasks)
        self._changed()

    def remove_tool(self, name: str) -> None:
        super().remove_tool(name)
        self._unlist(name)
        self._changed()

    def _function_of(self, name: str) -> Callable[..., Any] | None:
        """The function served as tool ``name`` (None for no such tool)."""
        served = self._served.get(name)
        return None if served is None else served.fn

    def _list(self, tool: Tool, view: str | None, *, tasks: bool = False) -> None:
        """Keep ``tool``'s listed forms, last in the list (as the SDK orders its tools)."""
        self._unlist(tool.name)
        with_view = None if view is None else listed_form(tool, view, tasks=tasks)
        self._served[tool.name] = _Served(tool.fn, listed_form(tool, tasks=tasks), with_view)
        self._viewed += with_view is not None

    def _unlist(self, name: str) -> None:
        served = self._served.pop(name, None)
        if served is not None and served.with_view is not None:
            self._viewed -= 1

    def _changed(self) -> None:
        self._changes += 1
        self._answers.clear()

    async def _prepared_tool_list(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Server middleware: a ``tools/list`` without a cursor gets the answer the SDK
        made for the first such list since the tools last changed (its result is the
        finished wire form: validated against the version's schema, envelope included)."""
        if ctx.method != "tools/list" or set(ctx.params or {}) - {"_meta"}:
            return await call_next(ctx)
        granted = granted_scopes()
        if granted is not None and self.scope_policy is not None:
            granted &= frozenset(self.scope_policy.names)
        key = (
            ctx.protocol_version,
            bool(self._viewed) and client_supports_apps(ctx),
            granted,
        )
        answer = self._answers.get(key)
        if answer is not None:
            validate_client_request(ctx.method, key[0], ctx.params)
            return answer
        changes = self._changes
        token = _LISTING_VIEWS.set(key[1])
        try:
            answer = await call_next(ctx)
        finally:
            _LISTING_VIEWS.reset(token)
        if changes == self._changes:
            self._answers[key] = answer
        return answer


def listed_form(tool: Tool, view: str | None = None, *, tasks: bool = False) -> ListedTool:
    """How ``tools/list`` shows ``tool`` (what ``MCPServer.list_tools`` makes per call),
    sharing the tool's schema objects rather than copying them; with ``view``, also
    naming the MCP Apps view that shows its results (``_meta.ui.resourceUri``)."""
    meta = tool.meta
    if view is not None:
        meta = {**(meta or {}), "ui": {"resourceUri": view}}
    return ListedTool.model_construct(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.parameters,
        output_schema=tool.output_schema,
        annotations=tool.annotations,
        icons=tool.icons,
        meta=meta,
        execution=TASK_EXECUTION if tasks else None,
    )
