"""Resources: conversation transcripts (Markdown) and agents (JSON), by backend and id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from agentdeck.backends.base import AgentReader
from agentdeck.errors import AgentdeckError
from agentdeck.history import transcript_markdown
from agentdeck.model import ConversationSummary
from agentdeck.server.conversations import get_conversation_of, list_conversations_of
from agentdeck.server.toolkit import deck

if TYPE_CHECKING:
    from agentdeck.server.app import Deck

CONVERSATION_URI = "agentdeck://{backend}/conversations/{conversation_id}"
AGENT_URI = "agentdeck://{backend}/agents/{agent_id}"
RECENT_COUNT = 20


def conversation_uri(backend: str, conversation_id: str) -> str:
    return CONVERSATION_URI.format(backend=backend, conversation_id=conversation_id)


def recent_conversations_markdown(backend: str, conversations: list[ConversationSummary]) -> str:
    lines = [f"# Recent conversations on {backend}", ""]
    if not conversations:
        lines.append("None yet.")
    for item in conversations:
        when = item.updated_at.isoformat() if item.updated_at else "?"
        title = (item.title or "(untitled)").replace("\n", " ")[:80]
        lines.append(
            f"- [{title}]({conversation_uri(backend, item.id)}) · agent `{item.agent}` · {when}"
        )
    return "\n".join(lines) + "\n"


def register(server: MCPServer, backend_names: list[str], current_deck: Callable[[], Deck]) -> None:
    """Add the resources; static ones read the running state through ``current_deck``
    because the SDK gives no request context to resources without URI variables."""
    for name in backend_names:
        _register_recent(server, name, current_deck)

    @server.resource(
        CONVERSATION_URI,
        name="conversation",
        title="Conversation transcript",
        description="A conversation with an agent as a Markdown transcript.",
        mime_type="text/markdown",
    )
    async def conversation(backend: str, conversation_id: str, ctx: Context) -> str:
        registry = deck(ctx).registry
        try:
            found = await get_conversation_of(registry, registry.get(backend), conversation_id)
        except AgentdeckError as exc:
            raise ResourceError(str(exc)) from exc
        return transcript_markdown(found)

    @server.resource(
        AGENT_URI,
        name="agent",
        title="Agent",
        description="An agent's full definition as JSON.",
        mime_type="application/json",
    )
    async def agent(backend: str, agent_id: str, ctx: Context) -> str:
        registry = deck(ctx).registry
        try:
            reader: AgentReader = registry.require(registry.get(backend), "agents", "read agent")
            found = await reader.get_agent(agent_id)
        except AgentdeckError as exc:
            raise ResourceError(str(exc)) from exc
        return found.model_dump_json(indent=2)


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
        return recent_conversations_markdown(backend, page.items)
