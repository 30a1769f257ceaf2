"""Agents as tools: every agent of a backend with ``expose_agents`` becomes its own tool.

A tool is named ``<backend>_<agent-slug>`` (a valid MCP tool name of at most 64
characters, unique, and the same across restarts for the same agents), takes
``message``, ``conversation`` and ``wait_seconds``, and chats through the same
run machinery as ``chat``. The set is built at start, refreshed after an agent is
created, updated or deleted, by ``refresh_agents`` and on an interval; clients are
told (``notifications/tools/list_changed``, both eras) only when it actually
changes. A backend that cannot be listed keeps its last known tools.

Deliberately no ``from __future__ import annotations``: the tool functions are made
in a closure, and the SDK reads their annotations, which must be real objects.
"""

import fnmatch
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any

import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from pydantic import Field

from agentdeck.backends.base import AgentReader
from agentdeck.errors import AgentdeckError
from agentdeck.model import Agent
from agentdeck.notices import FOR_CLIENT
from agentdeck.registry import Registry
from agentdeck.server._server import DeckServer
from agentdeck.server.chat._answer import as_chat_answer
from agentdeck.server.chat._converse import converse
from agentdeck.server.client import Notifier
from agentdeck.server.toolkit import compacted, guarded
from agentdeck.store.owners import NOBODY

logger = logging.getLogger("agentdeck.agent_tools")

MAX_NAME = 64
_LIST_PAGE = 100
_MAX_PAGES = 20
_ABOUT_IN_DESCRIPTION = 130
_TITLE_LENGTH = 48
#: Only the hint that differs from MCP's defaults (not read-only, not idempotent, open
#: world are the defaults; destructive is the default too, and an agent chat is not):
#: the other three would be ~80 bytes and four objects per tool, for nothing.
_ANNOTATIONS = types.ToolAnnotations(destructive_hint=False)


@dataclass(frozen=True)
class AgentTool:
    name: str
    ref: str
    title: str
    description: str


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "agent"


def tool_name(backend: str, agent_name: str, suffix: str = "") -> str:
    """``<backend>_<slug>[_suffix]``, cut to fit 64 characters without losing the suffix."""
    tail = f"_{suffix}" if suffix else ""
    name = f"{slug(backend)}_{slug(agent_name)}"
    return name[: MAX_NAME - len(tail)].rstrip("_") + tail


def describe(agent: Agent, kind: str) -> str:
    """The agent's ref and what it is for (its description, then its instructions), cut
    to fit: with a thousand agents exposed, every tool's bytes count."""
    about = " ".join(f"{agent.description or ''} {agent.instructions or ''}".split())
    about = _cut(about, _ABOUT_IN_DESCRIPTION)
    head = f"The {kind} agent {agent.ref}."
    return f"{head} {about}" if about else head


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _chat_function(ref: str) -> Any:
    """The tool function for one agent: the chat tool with ``agent`` fixed."""

    async def chat_with_agent(
        ctx: Context,
        message: Annotated[str, Field(min_length=1, description="What to say.")],
        conversation: Annotated[
            str | None, Field(description="An earlier answer's ref, to continue.")
        ] = None,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=600,
                description='Seconds to wait; then status "running" and get_run.',
            ),
        ] = 45,
    ) -> types.CallToolResult | types.InputRequiredResult:
        result = await converse(
            ctx,
            agent=ref,
            message=message,
            conversation=conversation,
            wait_seconds=wait_seconds,
            options=None,
        )
        return as_chat_answer(result)

    return chat_with_agent


def _template() -> Tool:
    """The per-agent tool with no agent: every agent's tool is a copy with its own name,
    texts and function, sharing this one's argument model and compact input schema (the
    same for every agent), so a tool costs a few small objects, not a pydantic model."""
    return compacted(
        Tool.from_function(
            guarded(_chat_function("")),
            name="agent_template",
            description="",
            annotations=_ANNOTATIONS,
        )
    )


def _built(template: Tool, tool: AgentTool) -> Tool:
    return template.model_copy(
        update={
            "fn": guarded(_chat_function(tool.ref)),
            "name": tool.name,
            "title": tool.title,
            "description": tool.description,
        }
    )


class AgentTools:
    """The per-agent tools currently served, by backend."""

    def __init__(
        self,
        server: DeckServer,
        registry: Registry,
        notifier: Notifier,
        reserved: set[str],
        view: str | None = None,
    ) -> None:
        self._server = server
        self._registry = registry
        self._notifier = notifier
        self._reserved = reserved  # the generic tools' names, never taken by an agent
        self._by_backend: dict[str, dict[str, AgentTool]] = {}
        self._template: Tool | None = None
        self._view = view  # the MCP Apps view of their results (for clients with Apps)

    def exposed_backends(self) -> list[str]:
        """The backends whose agents are tools. With users (``[server.auth]``), not those
        whose agents belong to users (the local backend): the tool list is one for every
        user, and an agent made before sign-in was turned on belongs to nobody who can
        use it."""
        with_users = self._registry.settings.server.auth is not None
        return [
            name
            for name, backend in self._registry.backends.items()
            if backend.settings.expose_agents
            and isinstance(backend, AgentReader)
            and not (with_users and backend.keeps_owned)
        ]

    def names(self) -> list[str]:
        """The names of the per-agent tools now served."""
        return [name for tools in self._by_backend.values() for name in tools]

    async def refresh(self, backend: str | None = None, *, notify: bool = True) -> bool:
        """Rebuild the tools of one exposed backend (or all); True when the set changed."""
        names = [b for b in self.exposed_backends() if backend in (None, b)]
        changed = False
        for name in names:
            try:
                wanted = await self._wanted(name)
            except AgentdeckError as exc:
                logger.warning(
                    "keeping the last known agent tools of %s: %s", name, exc, extra=FOR_CLIENT
                )
                continue
            changed |= self._apply(name, wanted)
        if changed and notify:
            await self._notifier.tools_changed()
        return changed

    async def _wanted(self, backend_name: str) -> dict[str, AgentTool]:
        # one tool list serves every user: agents a user owns stay out of it (each reaches
        # theirs through chat); without OAuth nobody owns anything, so every agent is in
        backend = self._registry.backends[backend_name].for_owner(NOBODY)
        settings = backend.settings
        agents: list[Agent] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await backend.list_agents(limit=_LIST_PAGE, cursor=cursor)  # type: ignore[attr-defined]
            agents += [a for a in page.items if _selected(a.name, settings)]
            cursor = page.next_cursor
            if cursor is None or len(agents) >= settings.max_agent_tools:
                break
        agents = sorted(agents, key=lambda a: a.id)[: settings.max_agent_tools]
        taken = set(self._reserved) | {
            t.name
            for other, tools in self._by_backend.items()
            if other != backend_name
            for t in tools.values()
        }
        wanted: dict[str, AgentTool] = {}
        for agent in agents:
            name = tool_name(backend_name, agent.name)
            if name in taken:
                name = tool_name(backend_name, agent.name, slug(agent.id)[:8])
            taken.add(name)
            wanted[name] = AgentTool(
                name=name,
                ref=agent.ref,
                title=_cut(f"Chat with {agent.name}", _TITLE_LENGTH),
                description=describe(agent, backend.kind),
            )
        return wanted

    def _apply(self, backend_name: str, wanted: dict[str, AgentTool]) -> bool:
        current = self._by_backend.get(backend_name, {})
        if current == wanted:
            return False
        for name, tool in current.items():
            if wanted.get(name) != tool:
                self._server.remove_tool(name)
        for name, tool in wanted.items():
            if current.get(name) != tool:
                if self._template is None:
                    self._template = _template()
                self._server.add_built(_built(self._template, tool), self._view, tasks=True)
        self._by_backend[backend_name] = wanted
        return True


def _selected(name: str, settings: Any) -> bool:
    """Whether an agent passes the backend's include/exclude name patterns (case-insensitive)."""
    lowered = name.lower()
    if settings.include_agents and not any(
        fnmatch.fnmatchcase(lowered, p.lower()) for p in settings.include_agents
    ):
        return False
    return not any(fnmatch.fnmatchcase(lowered, p.lower()) for p in settings.exclude_agents)
