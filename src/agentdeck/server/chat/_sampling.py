"""A local agent on the ``sampling`` model, answered by the client's own model.

A 2025-11-25 client is asked from inside the run, so the wait budget covers its model: a
slow one leaves the chat ``running``. A 2026-07-28 client cannot be sent requests; the
tool answers with an input request first and the client calls again with its model's
answer, so the model's time is spent between the two calls, and the run, started with
the answer in hand, finishes at once.
"""

from __future__ import annotations

import mcp.types as types
from mcp.server.mcpserver import Context

from agentdeck.backends.base import Backend, ClientModelAnswerer
from agentdeck.errors import AgentdeckError
from agentdeck.model import Sampler
from agentdeck.server.client import can_sample, is_modern, sample

SAMPLING_MAX_TOKENS = 2048


def sampling_params(history: list[dict[str, str]]) -> types.CreateMessageRequestParams:
    """The sampling request for a local agent's history (system prompt, turns, new message)."""
    system = "\n".join(m["content"] for m in history if m["role"] == "system") or None
    return types.CreateMessageRequestParams(
        messages=[
            types.SamplingMessage(
                role=m["role"],  # type: ignore[arg-type]
                content=types.TextContent(type="text", text=m["content"]),
            )
            for m in history
            if m["role"] in ("user", "assistant")
        ],
        max_tokens=SAMPLING_MAX_TOKENS,
        system_prompt=system,
    )


def _text_of(answer: types.CreateMessageResult) -> str | None:
    return answer.content.text if isinstance(answer.content, types.TextContent) else None


async def _samples_here(ctx: Context, backend: Backend, agent_id: str) -> bool:
    """Whether the agent answers through the client's model (a local agent on
    ``sampling`` or ``auto``) and the client samples."""
    if not can_sample(ctx) or not isinstance(backend, ClientModelAnswerer):
        return False
    try:
        return await backend.answers_through_client(agent_id)
    except AgentdeckError:
        return False  # the chat itself reports what is wrong with the agent


async def sampler_for(
    ctx: Context, backend: Backend, agent_id: str, message: str, conversation_id: str | None
) -> Sampler | types.InputRequiredResult | None:
    """How the run asks the client's model, when the agent is a local agent on
    ``sampling`` (module docstring); None when it answers with a model of its own."""
    if not await _samples_here(ctx, backend, agent_id):
        return None
    assert isinstance(backend, ClientModelAnswerer)  # what _samples_here checked
    if not is_modern(ctx):

        async def ask_client(history: list[dict[str, str]]) -> str | None:
            answer = await sample(ctx, sampling_params(history), {})
            assert isinstance(answer, types.CreateMessageResult)  # legacy asks inline
            return _text_of(answer)

        return ask_client
    history = await backend.history(agent_id, conversation_id)
    history.append({"role": "user", "content": message})
    answer = await sample(ctx, sampling_params(history), {"sampling": True})
    if isinstance(answer, types.InputRequiredResult):
        return answer
    text = _text_of(answer)

    async def answered(history: list[dict[str, str]]) -> str | None:
        return text

    return answered
