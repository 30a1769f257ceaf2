"""A chat tool call: start the run (or, in a later input round, take up the run it is
about) and follow it (``_follow``).

Shared by ``chat``, ``get_run`` and the per-agent tools, so all behave the same. The
agent's ref is resolved once per call, here; what it resolved to is passed down.
"""

from __future__ import annotations

from typing import Any

import mcp.types as types
from mcp.server.mcpserver import Context

from agentdeck.backends.base import ChatCapable
from agentdeck.errors import InvalidInputError
from agentdeck.model import ChatRequest, PauseKey
from agentdeck.server.chat._follow import ChatOutcome, follow_and_ask
from agentdeck.server.chat._sampling import sampler_for
from agentdeck.server.client import round_state
from agentdeck.server.conversations import conversation_to_continue
from agentdeck.server.tasks import wait_budget
from agentdeck.server.toolkit import Deck, deck


async def converse(
    ctx: Context,
    *,
    agent: str,
    message: str,
    conversation: str | None,
    wait_seconds: float,
    options: dict[str, Any] | None,
) -> ChatOutcome:
    """A chat tool call, over as many input rounds as the client needs."""
    wait_seconds = wait_budget(wait_seconds)
    state = round_state(ctx)
    if "run" in state:  # a later round: the user's answers for a paused run
        return await _take_up(ctx, deck(ctx), state, state["run"], wait_seconds)
    if not message.strip():
        raise InvalidInputError("the message is empty; say something to the agent.")
    here = deck(ctx)
    registry = here.registry
    backend, agent_id = registry.resolve(agent)
    registry.require(backend, ChatCapable, "chat")
    await registry.require_key(backend)
    conversation_id = None
    if conversation:
        conversation_id = await conversation_to_continue(registry, backend, agent_id, conversation)
    sampler = await sampler_for(ctx, backend, agent_id, message, conversation_id)
    if isinstance(sampler, types.InputRequiredResult):
        return sampler
    run = await here.runs.start(
        backend,
        ChatRequest(
            agent_id=agent_id,
            message=message,
            conversation_id=conversation_id,
            options=options or {},
            sampler=sampler,
        ),
        here.owner,
    )
    return await follow_and_ask(ctx, here, run, wait_seconds)


async def follow_run(ctx: Context, run_id: str, wait_seconds: float) -> ChatOutcome:
    """``get_run``: follow the run ``run_id`` (in a later input round, the run that round
    is about), asking the user about its pauses as ``chat`` does."""
    return await _take_up(ctx, deck(ctx), round_state(ctx), run_id, wait_seconds)


async def _take_up(
    ctx: Context, here: Deck, state: dict[str, Any], run_id: str, wait_seconds: float
) -> ChatOutcome:
    run = await here.runs.find(state.get("run", run_id), here.owner)
    asking = [PauseKey.parse(text) for text in state.get("asking") or [] if isinstance(text, str)]
    return await follow_and_ask(
        ctx, here, run, wait_seconds, asking=[key for key in asking if key is not None]
    )
