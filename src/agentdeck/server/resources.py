"""Resources: conversation transcripts (Markdown) and agents (JSON), by backend and id."""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from agentdeck.backends.base import AgentReader
from agentdeck.errors import AgentdeckError
from agentdeck.history import transcript_markdown
from agentdeck.server.conversations import get_conversation_of
from agentdeck.server.toolkit import deck

CONVERSATION_URI = "agentdeck://{backend}/conversations/{conversation_id}"
AGENT_URI = "agentdeck://{backend}/agents/{agent_id}"


def conversation_uri(backend: str, conversation_id: str) -> str:
    return CONVERSATION_URI.format(backend=backend, conversation_id=conversation_id)


def register(server: MCPServer) -> None:
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
