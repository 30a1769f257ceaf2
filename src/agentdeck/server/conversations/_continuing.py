"""Checking that a conversation can be continued before a chat turn is sent to it: a wrong
ref is an error, never a new conversation."""

from __future__ import annotations

from agentdeck.backends.base import Backend, ConversationKeeper, ConversationReader
from agentdeck.errors import InvalidInputError, NotFoundError
from agentdeck.model import Ref, make_ref
from agentdeck.registry import Registry

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
