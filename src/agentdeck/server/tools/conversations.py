"""The ``conversations`` toolset: list and read conversations on any backend."""

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from agentdeck.backends.base import Backend, ChatCapable
from agentdeck.model import ConversationSummary, Page
from agentdeck.server.conversations import (
    ConversationPage,
    conversation_page,
    list_conversations_of,
)
from agentdeck.server.toolkit import Listing, ListResult, Toolbox, deck, list_across
from agentdeck.server.tools import Cursor, Limit, OptionalBackend, Options

toolbox = Toolbox("conversations")


class ConversationList(ListResult[ConversationSummary]):
    pass


@toolbox.tool(title="List conversations", read_only=True, idempotent=True)
async def list_conversations(
    ctx: Context,
    backend: OptionalBackend = None,
    agent: Annotated[
        str | None, Field(description="Only this agent's conversations (its ref).")
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    options: Options = None,
) -> ConversationList:
    """List conversations, newest first, from one backend, one agent, or all. Platforms
    without a conversation API list the ones agentdeck took part in. `options` filters."""
    registry = deck(ctx).registry

    async def read(
        chatting: ChatCapable, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[ConversationSummary]:
        assert isinstance(chatting, Backend)  # the registry holds nothing else
        return await list_conversations_of(
            registry, chatting, agent_id=agent_id, limit=limit, cursor=cursor, filters=options or {}
        )

    listing = Listing(ChatCapable, "list_conversations", read)
    return await list_across(
        ctx, ConversationList, listing, backend=backend, agent=agent, limit=limit, cursor=cursor
    )


@toolbox.tool(title="Get a conversation", read_only=True, idempotent=True)
async def get_conversation(
    ctx: Context,
    conversation: Annotated[
        str,
        Field(description="Ref of the conversation, '<backend>:<conversation_id>'."),
    ],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ConversationPage:
    """Get a conversation: its newest messages (in order), message_count in all, and a
    next_cursor for older ones. Also the resource agentdeck://{backend}/conversations/{id}."""
    registry = deck(ctx).registry
    backend, conversation_id = registry.resolve(conversation, what="conversation")
    return await conversation_page(registry, backend, conversation_id, limit=limit, cursor=cursor)
