"""What a configuration serves, and how it reads: only what its backends can do.

A tool says what it needs (a capability of ``backends.base.CAPABILITIES``, a backend
protocol, or a test of a backend class and its settings); it is served when at least
one configured backend has it, decided from the backend classes the registry maps the
configured kinds to, so nothing has to be opened. The same classes write what the
descriptions say per platform: which kinds support a tool when not all do, and the
``options`` keys each configured kind declares (``Backend.options``). Schemas are
compacted (``server.schemas``) as the tools are built.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
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

from agentdeck.backends.base import ANY_KEY, CAPABILITIES, Backend, Option, options_of
from agentdeck.backends.kinds import backend_class
from agentdeck.config import Settings
from agentdeck.server.schemas import compact
from agentdeck.server.scopes import ScopePolicy, granted_scopes
from agentdeck.server.sdk_seams import add_built_tool, tool_manager
from agentdeck.server.toolkit import Need, ToolSpec

NO_OPTIONS = "No configured backend takes options here."
#: Set while the SDK builds the tool list of a client with MCP Apps (``LeanServer``).
_LISTING_VIEWS: ContextVar[bool] = ContextVar("listing_views", default=False)


def _has(cls: type[Backend], backend_settings: Any, need: Need) -> bool:
    if isinstance(need, str):
        return issubclass(cls, CAPABILITIES[need])
    if isinstance(need, type):
        return issubclass(cls, need)
    predicate: Callable[[type[Backend], Any], bool] = need
    return predicate(cls, backend_settings)


def _option_text(option: Option) -> str:
    if option.key == ANY_KEY:
        return f"any other key: {option.description}"
    typed = f"{option.key} ({option.type})"
    return f"{typed}: {option.description}" if option.description else typed


@dataclass(frozen=True)
class Surface:
    """The configured backends as classes with their settings, by name."""

    backends: dict[str, tuple[type[Backend], Any]]

    @classmethod
    def of(cls, settings: Settings) -> Surface:
        return cls(
            {
                name: (backend_class(backend.kind), backend)
                for name, backend in settings.enabled_backends().items()
            }
        )

    def kinds(self) -> list[type[Backend]]:
        """One class per configured kind, in configuration order."""
        return list({c.kind: c for c, _ in self.backends.values()}.values())

    def able(self, need: Need) -> bool:
        """Whether at least one configured backend has ``need``."""
        return any(_has(c, s, need) for c, s in self.backends.values())

    def serves(self, spec: ToolSpec) -> bool:
        return spec.needs is None or self.able(spec.needs)

    def description(self, spec: ToolSpec) -> str:
        """The docstring, plus which configured kinds support the tool when not all do."""
        text = inspect.cleandoc(spec.fn.__doc__ or "")
        if spec.needs is None:
            return text
        able = [c.kind for c, s in self.backends.values() if _has(c, s, spec.needs)]
        if len(able) == len(self.backends):
            return text
        return f"{text} Supported by: {', '.join(dict.fromkeys(able))}."

    def options_doc(self, operation: str) -> str:
        """The ``options`` keys ``operation`` takes on each configured kind, one line per kind.

        An update that takes the same keys as its create says so instead of repeating them.
        """
        creating = operation.replace("update_", "create_", 1)
        lines = []
        for c in self.kinds():
            declared = options_of(c.options, operation)
            if not declared:
                continue
            if creating != operation and declared == options_of(c.options, creating):
                lines.append(f"{c.kind}: the keys of {creating}")
            else:
                lines.append(f"{c.kind}: " + "; ".join(_option_text(o) for o in declared))
        if not lines:
            return NO_OPTIONS
        return "Keys per platform:\n" + "\n".join(lines)

    def tool(self, spec: ToolSpec) -> Tool:
        """The MCP tool for ``spec``, with this configuration's texts and compact schemas."""
        tool = compacted(
            Tool.from_function(
                spec.fn,
                name=spec.name,
                title=spec.title,
                description=self.description(spec),
                annotations=spec.annotations,
            )
        )
        properties = tool.parameters.get("properties", {})
        if "options" in properties:
            properties["options"]["description"] = self.options_doc(spec.name)
        notes = [f"{c.kind}: {c.model_note}" for c in self.kinds() if c.model_note]
        if "model" in properties and notes:
            properties["model"]["description"] += " " + "; ".join(notes) + "."
        return tool


def compacted(tool: Tool) -> Tool:
    """``tool`` with its input and output schemas compacted (``server.schemas``), in place."""
    tool.parameters = compact(tool.parameters, output=False)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = compact(tool.fn_metadata.output_schema, output=True)
    return tool


class LeanServer(MCPServer[Any]):
    """The MCP server, answering ``tools/list`` from a prepared list.

    Tools arrive built and compacted (:meth:`Surface.tool`, the per-agent tools'
    shared template); each one's listed form is made once, when it is added, and the
    wire form of the whole list once per protocol version after each change. With a
    thousand agent tools a list is then a dictionary look-up, not a thousand models
    built, validated and dumped.

    ``views`` names the MCP Apps view (a ``ui://`` URI) of the tools that have one. A
    client that negotiated Apps gets those tools with ``_meta.ui.resourceUri``; every
    other client gets the list as if there were no views, so the two are kept apart.

    Under OAuth (``scope_policy`` set), a token sees only the tools its scopes allow: the
    answers are kept per set of granted scopes too.
    """

    scope_policy: ScopePolicy | None = None

    def __init__(
        self,
        *args: Any,
        views: dict[str, str] | None = None,
        task_tools: Collection[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._views = dict(views or {})
        self._listed: dict[str, ListedTool] = {}
        self._with_view: dict[str, ListedTool] = {}  # the listed form Apps clients get
        for tool in tool_manager(self).list_tools():
            self._list(tool, self._views.get(tool.name), tasks=tool.name in task_tools)
        #: tools/list on the wire, by protocol version, whether the client has Apps, and
        #: the caller's scopes (of those the policy names; None without OAuth)
        self._answers: dict[tuple[str, bool, frozenset[str] | None], HandlerResult] = {}
        self._changes = 0
        self.middleware.append(self._prepared_tool_list)

    async def list_tools(self) -> list[ListedTool]:
        listed = self._listed
        granted, policy = granted_scopes(), self.scope_policy
        if granted is not None and policy is not None:
            listed = {n: t for n, t in listed.items() if policy.visible(n, granted)}
        if _LISTING_VIEWS.get():
            return [self._with_view.get(name, tool) for name, tool in listed.items()]
        return list(listed.values())

    def _list(self, tool: Tool, view: str | None, *, tasks: bool = False) -> None:
        self._listed.pop(tool.name, None)
        self._with_view.pop(tool.name, None)
        self._listed[tool.name] = listed_form(tool, tasks=tasks)
        if view is not None:
            self._with_view[tool.name] = listed_form(tool, view, tasks=tasks)

    def add_tool(
        self, fn: Callable[..., Any], name: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        """A tool built from a function by the SDK: compacted like every other."""
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
        self._listed.pop(name, None)
        self._with_view.pop(name, None)
        self._changed()

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
            bool(self._with_view) and client_supports_apps(ctx),
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


#: How a tool whose calls may become tasks says so to 2025-11-25 clients (the 2026-07-28
#: tool shape has no such field: the SDK leaves it out of their lists).
TASK_EXECUTION = ToolExecution(task_support="optional")


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
