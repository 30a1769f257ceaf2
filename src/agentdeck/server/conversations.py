"""Reading conversations from a backend, or from the run history when it has no API for them."""

from __future__ import annotations

from typing import Any

from agentdeck.backends.base import Backend, ConversationReader
from agentdeck.errors import InvalidInputError
from agentdeck.history import history_conversation, history_page
from agentdeck.model import Conversation, ConversationSummary, Page
from agentdeck.registry import Registry


async def list_conversations_of(
    registry: Registry,
    backend: Backend,
    *,
    agent_id: str | None,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
) -> Page[ConversationSummary]:
    if isinstance(backend, ConversationReader):
        return await backend.list_conversations(
            agent_id=agent_id, limit=limit, cursor=cursor, filters=filters
        )
    if filters:
        raise InvalidInputError(
            f"{backend.kind} conversations take no filters (got {sorted(filters)}).",
            backend=backend.name,
        )
    return await history_page(
        registry.store, backend.name, agent_id=agent_id, limit=limit, cursor=cursor
    )


async def get_conversation_of(
    registry: Registry, backend: Backend, conversation_id: str
) -> Conversation:
    if isinstance(backend, ConversationReader):
        return await backend.get_conversation(conversation_id)
    return await history_conversation(registry.store, backend.name, conversation_id)
