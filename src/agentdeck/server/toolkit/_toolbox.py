"""The generic tool registry: tools as typed functions, grouped in toolsets, with annotations.

Each module in ``agentdeck.server.tools`` holds a :class:`Toolbox` named
``toolbox``, which names the module's toolset (and what its tools need, unless one says
otherwise) once; :func:`agentdeck.server.build_server` collects them all, keeps the
ones the configuration enables and adds them to the MCP server. Read-only mode is
decided by each tool's ``read_only`` annotation, so a new writing tool cannot slip
through it; the one exception is the explicit ``conversational`` flag of the tools
that only talk to agents (``chat``, ``cancel_run``). A tool's ``needs`` says what a
configured backend must have for it to be served (``agentdeck.server._surface``).

It is also the one exit for what tools send back: every tool function is wrapped by
:func:`guarded`, which turns its errors into tool errors (:func:`reported`) and masks the
configured secrets in its result and errors; progress messages go through
:func:`report_progress`, which masks them too. A model a tool returns goes out as
``_results`` writes it (structured content without empty fields, and a text that
repeats it only while it is small). Tool functions hold no error handling of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict, Unpack

import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from agentdeck.errors import AgentdeckError, CredentialsRequiredError
from agentdeck.redaction import redact, redact_value
from agentdeck.server.client import connect_first
from agentdeck.server.oauth import current_principal
from agentdeck.server.toolkit._results import tool_result
from agentdeck.server.toolkit._state import Deck

#: What a tool needs of at least one configured backend to be served: a capability name
#: (``backends.base.CAPABILITIES``), a backend protocol, or a test of a backend class and
#: its settings. ``None``: always served.
Need = str | type | Callable[[type, Any], bool]


@dataclass(frozen=True)
class ToolSpec:
    """A tool function and everything the server needs to know to publish it."""

    fn: Callable[..., Any]
    name: str
    title: str
    toolset: str
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    #: Only talks to agents (chat, cancel a run): kept in read-only mode, which is about
    #: not changing configuration or platform state (see the README).
    conversational: bool = False
    needs: Need | None = None

    @property
    def annotations(self) -> types.ToolAnnotations:
        # No title here: the tool's own title says it, and every byte is listed.
        return types.ToolAnnotations(
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )


class _Declared(TypedDict, total=False):
    """What a tool's declaration (:meth:`Toolbox.tool`) says of it: the fields of
    :class:`ToolSpec` but its function, name, toolset and needs, with the same defaults."""

    title: Required[str]
    read_only: Required[bool]
    destructive: bool
    idempotent: bool
    open_world: bool
    conversational: bool


@dataclass
class Toolbox:
    """The tools of one module, in the order they are declared, all in ``toolset``; each
    needs ``needs`` unless its declaration says what it needs instead."""

    toolset: str
    needs: Need | None = None
    tools: list[ToolSpec] = field(default_factory=list)

    def tool(
        self, *, needs: Need | None = None, **declared: Unpack[_Declared]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a tool of this toolbox; ``needs``, when given, replaces the toolbox's."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            # The guarded wrapper is what the module keeps too, so a docstring extended
            # after the decorator reaches the tool description.
            fn = guarded(fn)
            needed = self.needs if needs is None else needs
            spec = ToolSpec(fn=fn, name=fn.__name__, toolset=self.toolset, needs=needed, **declared)
            self.tools.append(spec)
            return fn

        return register


def deck(ctx: Context[Any, Any]) -> Deck:
    """The running server's state (registry, runs), opened in the server's lifespan, as
    the caller's principal sees it (:meth:`Deck.for_owner`): the one place a tool reads
    who is asking.

    Also remembers the caller's session, so changes found outside any request (the
    periodic agent refresh) still reach 2025-11-25 clients.
    """
    state: Deck = ctx.request_context.lifespan_context
    state.notifier.remember(ctx)
    return state.for_owner(current_principal())


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (an async tool function) with its errors reported as tool errors the calling
    model can read, every string of its result redacted, and a model result written as
    :func:`~agentdeck.server.toolkit.tool_result` writes it.

    ``functools.wraps`` keeps the signature and type hints the SDK builds the schema from.
    """

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        with reported():
            try:
                result = await fn(*args, **kwargs)
            except CredentialsRequiredError as exc:
                # a per-user backend without the caller's key: once they connected it,
                # the call is made again (``connect_first`` raises what the client gets otherwise)
                found = (a for a in (*args, *kwargs.values()) if isinstance(a, Context))
                context = next(found, None)
                if context is None:
                    raise
                state: Deck = context.request_context.lifespan_context
                await connect_first(context, exc, state.registry.keyring)
                result = await fn(*args, **kwargs)
        result = redact_value(result)
        # An MCP result (an input-required round, a result built already) goes out as is.
        if isinstance(result, BaseModel) and not isinstance(result, types.Result):
            return tool_result(result)
        return result

    return tool


@contextmanager
def reported() -> Iterator[None]:
    """Turn agentdeck's errors into tool errors whose text the calling model can read.

    Any other exception reaches the client only as "Error executing tool X", so every
    expected failure must be an ``AgentdeckError`` by the time it gets here. Every
    error text is redacted here, tool errors raised directly included.
    """
    try:
        yield
    except AgentdeckError as exc:
        raise ToolError(redact(str(exc))) from exc
    except ToolError as exc:
        cleaned = redact(str(exc))
        if cleaned == str(exc):
            raise
        raise ToolError(cleaned) from exc


async def report_progress(ctx: Context, progress: float, message: str | None = None) -> None:
    """Send a progress notification whose message is redacted like every other output."""
    await ctx.report_progress(progress, message=redact(message) if message else message)
