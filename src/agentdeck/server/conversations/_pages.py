"""Reading conversations from a backend, or from the run history when it has no API for
them, a page of messages at a time."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentdeck.backends.base import Backend, ConversationReader
from agentdeck.backends.run_history import history_conversation, history_page
from agentdeck.model import Conversation, ConversationSummary, Page
from agentdeck.pagination import cursor_at, parse_offset
from agentdeck.registry import Registry

#: Bytes of message text one page of a conversation holds at most (its newest message
#: always fits): with the result's text preview (``server.toolkit``) a page stays well
#: under the 1 MiB a client may take in one server-sent event.
PAGE_BYTES = 384 * 1024


class ConversationPage(Conversation):
    """A conversation with one page of its messages: the newest ones first, going back.

    ``messages`` are in the order they were written; ``message_count`` counts them all.
    """

    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for older messages; absent at the first."
    )


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
    backend.refuse_filters(filters)
    return await history_page(
        registry.store,
        backend.name,
        agent_id=agent_id,
        limit=limit,
        cursor=cursor,
        owner=registry.principal,
    )


async def get_conversation_of(
    registry: Registry, backend: Backend, conversation_id: str
) -> Conversation:
    if isinstance(backend, ConversationReader):
        return await backend.get_conversation(conversation_id)
    return await history_conversation(
        registry.store, backend.name, conversation_id, registry.principal
    )


async def conversation_page(
    registry: Registry, backend: Backend, conversation_id: str, *, limit: int, cursor: str | None
) -> ConversationPage:
    """The page of the conversation that ``cursor`` points at: ``limit`` messages at most,
    the newest first (``cursor`` None), cut further to :data:`PAGE_BYTES` of text."""
    newer = parse_offset(cursor)
    found = await get_conversation_of(registry, backend, conversation_id)
    return page_of(found, limit=limit, newer=newer)


def page_of(conversation: Conversation, *, limit: int, newer: int) -> ConversationPage:
    """The ``limit`` messages before the newest ``newer`` of ``conversation`` (fewer when
    their text is over :data:`PAGE_BYTES`), with the cursor of the page before them."""
    messages = conversation.messages
    end = max(len(messages) - newer, 0)
    start = end
    size = 0
    while start > max(end - limit, 0):
        size += len(messages[start - 1].content.encode())
        if size > PAGE_BYTES and start < end:
            break
        start -= 1
    fields = {name: getattr(conversation, name) for name in Conversation.model_fields}
    fields.update(messages=messages[start:end], message_count=len(messages))
    return ConversationPage(
        **fields, next_cursor=cursor_at(len(messages) - start) if start > 0 else None
    )
