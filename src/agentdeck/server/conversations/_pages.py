"""Reading conversations from a backend, or from the run history when it has no API for them,
a page of messages at a time, and checking a conversation can be continued before a chat
turn is sent to it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentdeck.backends.base import Backend, ConversationKeeper, ConversationReader
from agentdeck.errors import InvalidInputError, NotFoundError
from agentdeck.history import history_conversation, history_page
from agentdeck.model import Conversation, ConversationSummary, Page, Ref, make_ref
from agentdeck.pagination import cursor_at, parse_offset
from agentdeck.registry import Registry

#: Bytes of message text one page of a conversation holds at most (its newest message
#: always fits): with the result's text preview (``server.results``) a page stays well
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
    if filters:
        raise InvalidInputError(
            f"{backend.kind} conversations take no filters (got {sorted(filters)}).",
            backend=backend.name,
        )
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


_HOW = "Pass the `conversation` ref of an earlier result, or leave it out to start a new one."


async def conversation_to_continue(
    registry: Registry, backend: Backend, agent_id: str, conversation: str
) -> str:
    """The platform id of the conversation ref ``conversation``, once it is known to be one
    this agent can continue: a wrong ref is an error, never a new conversation.

    A backend that keeps its conversations (local) says whose one is. For a platform, agentdeck's run history
    says which agent a conversation it took part in belongs to; a conversation it never
    saw is left to the platform to answer (Roboflow, AgentFlow: 404) where the platform
    has conversations of its own, and refused where it has none (Make, AgenticFlow: a
    thread id they do not know would silently start a new thread).
    """
    ref = Ref.parse(conversation, what="conversation ref")
    if ref.id is None:
        raise InvalidInputError(
            f"'{conversation}' is not a conversation ref ('<backend>:<id>').", hint=_HOW
        )
    agent = make_ref(backend.name, agent_id)
    if ref.backend != backend.name:
        raise InvalidInputError(
            f"the conversation {conversation} is on backend '{ref.backend}', but the agent "
            f"{agent} is on '{backend.name}'.",
            hint=_HOW,
        )
    if isinstance(backend, ConversationKeeper):
        owner = await backend.conversation_owner(ref.id)
    else:
        recorded = await registry.store.history_agent(backend.name, ref.id, registry.principal)
        if recorded is not None:
            owner = recorded
        elif isinstance(backend, ConversationReader):
            return ref.id
        else:
            raise NotFoundError(
                f"agentdeck has no record of the conversation {conversation}.",
                backend=backend.name,
                hint=f"{backend.kind} has no conversation API, so only conversations started "
                "through agentdeck can be continued (list_conversations shows them). " + _HOW,
            )
    if owner != agent_id:
        raise InvalidInputError(
            f"the conversation {conversation} belongs to the agent "
            f"{make_ref(backend.name, owner)}, not {agent}.",
            hint=_HOW,
        )
    return ref.id
