"""Resources: conversation transcripts (Markdown) and agents (JSON), by backend and id.

A resource that does not exist (an unknown backend, agent or conversation) answers
the "resource not found" error of the client's protocol: -32002 for 2025-11-25
clients, -32602 for 2026-07-28 ones (which retired -32002, SEP-2164). Any other
failure (a platform that cannot be reached) stays an internal error with its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources import ResourceSecurity
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from agentdeck.backends.base import AgentReader
from agentdeck.errors import AgentdeckError, InvalidInputError, NotFoundError
from agentdeck.pagination import parse_offset
from agentdeck.server.conversations import (
    CONVERSATION_URI,
    conversation_page,
    conversation_uri,
    list_conversations_of,
    recent_conversations_markdown,
    transcript_markdown,
)
from agentdeck.server.toolkit import Deck, deck, resource_json

P = TypeVar("P")
_Reader = TypeVar("_Reader", bound=Callable[..., Any])

#: A transcript is read a page at a time, like ``get_conversation``: newest messages first.
TRANSCRIPT_URI = CONVERSATION_URI + "{?limit,cursor}"
AGENT_URI = "agentdeck://{backend}/agents/{agent_id}"
#: Served by the workflows toolset (``tools.workflows.register``), when it is.
WORKFLOW_URI = "agentdeck://{backend}/workflows/{workflow_id}"
RECENT_COUNT = 20
TRANSCRIPT_PAGE = 50
#: "Resource not found" in MCP 2025-11-25.
LEGACY_RESOURCE_NOT_FOUND = -32002


def register(server: MCPServer, backend_names: list[str], current_deck: Callable[[], Deck]) -> None:
    """Add the resources; static ones read the running state through ``current_deck``
    because the SDK gives no request context to resources without URI variables."""
    for name in backend_names:
        _register_recent(server, name, current_deck)

    @server.resource(
        TRANSCRIPT_URI,
        name="conversation",
        title="Conversation transcript",
        description=(
            f"A conversation with an agent as a Markdown transcript: its newest {TRANSCRIPT_PAGE}"
            " messages (limit=1..200), and a link to older ones (cursor)."
        ),
        mime_type="text/markdown",
        # a cursor ("o:50") looks like a Windows drive to the path checks; it is parsed
        # strictly (``parse_offset``) and never touches a file
        security=ResourceSecurity(exempt_params={"cursor"}),
    )
    async def conversation(
        backend: str,
        conversation_id: str,
        ctx: Context,
        limit: str = str(TRANSCRIPT_PAGE),
        cursor: str = "",
    ) -> str:
        registry = deck(ctx).registry
        with read_errors():
            size, newer = _page_size(limit), parse_offset(cursor)
            page = await conversation_page(
                registry, _backend(registry, backend), conversation_id, limit=size, cursor=cursor
            )
        older = None
        if page.next_cursor is not None:
            uri = conversation_uri(backend, conversation_id)
            older = f"{uri}?limit={size}&cursor={page.next_cursor}"
        return transcript_markdown(page, newer=newer, older=older)

    @json_resource(server, AGENT_URI, "agent", "Agent", "An agent's full definition as JSON.")
    async def agent(backend: str, agent_id: str, ctx: Context) -> str:
        with read_errors():
            found = await resource_as(ctx, backend, AgentReader, "read agent").get_agent(agent_id)
        return resource_json(found)


def _register_recent(server: MCPServer, backend: str, current_deck: Callable[[], Deck]) -> None:
    @server.resource(
        f"agentdeck://{backend}/conversations",
        name=f"{backend}-recent-conversations",
        title=f"Recent conversations on {backend}",
        description=f"The {RECENT_COUNT} most recent conversations on backend '{backend}'.",
        mime_type="text/markdown",
    )
    async def recent() -> str:
        registry = current_deck().registry
        try:
            page = await list_conversations_of(
                registry,
                registry.get(backend),
                agent_id=None,
                limit=RECENT_COUNT,
                cursor=None,
                filters={},
            )
        except AgentdeckError as exc:
            raise ResourceError(str(exc)) from exc
        return recent_conversations_markdown(
            backend, page.items, lambda id: conversation_uri(backend, id)
        )


def _page_size(limit: str) -> int:
    """The transcript's ``limit`` query value as a page size, or a clear error."""
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 3 and 1 <= int(limit) <= 200):
        raise InvalidInputError(f"limit must be a whole number from 1 to 200 (got '{limit}').")
    return int(limit)


def _backend(registry: Any, name: str) -> Any:
    """The named backend; an unknown name means the resource does not exist."""
    try:
        return registry.get(name)
    except AgentdeckError as exc:
        raise ResourceNotFoundError(str(exc)) from exc


def resource_as(ctx: Context, name: str, protocol: Callable[..., P], operation: str) -> P:
    """The backend a resource URI names, as ``protocol``; an unknown name means the
    resource does not exist, a backend without the capability fails the read."""
    registry = deck(ctx).registry
    return registry.require(_backend(registry, name), protocol, operation)


def json_resource(
    server: MCPServer, uri: str, name: str, title: str, description: str
) -> Callable[[_Reader], _Reader]:
    """Register a resource template whose reads answer JSON."""
    return server.resource(
        uri, name=name, title=title, description=description, mime_type="application/json"
    )


@contextmanager
def read_errors() -> Iterator[None]:
    """Turn agentdeck's errors into resource errors: not found, or failed with its text."""
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except AgentdeckError as exc:
        raise ResourceError(str(exc)) from exc


async def legacy_not_found_code(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: a missing resource answers -32002 to 2025-11-25 clients.

    The SDK answers every era -32602 (the 2026-07-28 rule, SEP-2164), with the URI as
    the error data; the 2025-11-25 spec's code for it is -32002.
    """
    try:
        return await call_next(ctx)
    except MCPError as exc:
        if (
            ctx.method == "resources/read"
            and exc.code == INVALID_PARAMS
            and isinstance(exc.data, dict)
            and "uri" in exc.data
            and (ctx.protocol_version or "") < "2026-07-28"
        ):
            raise MCPError(LEGACY_RESOURCE_NOT_FOUND, exc.message, exc.data) from None
        raise
