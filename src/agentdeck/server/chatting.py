"""Running a chat for a tool call: start the run, stream its progress, answer in time.

Shared by the ``chat`` tool and the per-agent tools, so both behave the same:
progress notifications per text delta, the wait budget, cancellation of the run
when the client cancels the request, and the transcript-updated notification.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Sample

from agentdeck.backends.local import LocalBackend
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import ChatRequest, TextDelta, ToolCall
from agentdeck.runs import Run, RunResult
from agentdeck.server.notify import announce_resource_updated
from agentdeck.server.resources import conversation_uri
from agentdeck.server.toolkit import deck

_SAMPLING_MAX_TOKENS = 2048


def sample_request(
    ctx: Context, agent: str, message: str, conversation_id: str | None
) -> Sample | None:
    """A request for the client's own model, when ``agent`` is a local agent on ``sampling``.

    Called from resolvers, which run before the tool body: that is how agentdeck samples
    in both protocol eras. Anything else, including bad refs, is left for the tool to report.
    """
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        return None
    try:
        backend, agent_id = deck(ctx).registry.resolve(agent)
        if not isinstance(backend, LocalBackend) or backend.model_of(agent_id) != "sampling":
            return None
        history = backend.history(agent_id, conversation_id)
    except AgentdeckError:
        return None
    system = "\n".join(m["content"] for m in history if m["role"] == "system") or None
    messages = [
        types.SamplingMessage(
            role=m["role"],  # type: ignore[arg-type]
            content=types.TextContent(type="text", text=m["content"]),
        )
        for m in history
        if m["role"] in ("user", "assistant")
    ]
    messages.append(
        types.SamplingMessage(role="user", content=types.TextContent(type="text", text=message))
    )
    return Sample(messages, max_tokens=_SAMPLING_MAX_TOKENS, system_prompt=system)


def sampled_text(result: types.CreateMessageResult | None) -> str | None:
    if result is None:
        return None
    content = result.content
    return content.text if isinstance(content, types.TextContent) else None


async def run_chat(
    ctx: Context,
    *,
    agent: str,
    message: str,
    conversation_id: str | None,
    wait_seconds: float,
    options: dict[str, Any] | None,
    sampled: types.CreateMessageResult | None = None,
) -> RunResult:
    """Start a chat run and follow it for up to ``wait_seconds``."""
    if not message.strip():
        raise InvalidInputError("the message is empty; say something to the agent.")
    registry = deck(ctx).registry
    backend, agent_id = registry.resolve(agent)
    registry.require(backend, "chat", "chat")
    request = ChatRequest(
        agent_id=agent_id,
        message=message,
        conversation_id=conversation_id or None,
        options=options or {},
        sampled_reply=sampled_text(sampled),
    )
    run = deck(ctx).runs.start(backend, request)
    return await follow(ctx, run, wait_seconds)


async def follow(ctx: Context, run: Run, wait_seconds: float) -> RunResult:
    """Stream the run's progress to the client until it ends or the wait budget is spent.

    If the client cancels the request, the run is cancelled with it, which closes the
    upstream stream. A run that failed before producing anything is a tool error.
    """
    deadline = anyio.current_time() + wait_seconds
    step = 0
    try:
        async for batch in run.changes(deadline):
            for event in batch:
                if isinstance(event, TextDelta):
                    step += 1
                    await ctx.report_progress(step, message=event.text)
                elif isinstance(event, ToolCall):
                    step += 1
                    await ctx.report_progress(step, message=f"[calling tool {event.name}]")
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await deck(ctx).runs.cancel(run)
        raise
    result = run.result()
    if result.status != "running" and result.conversation_id:
        await announce_resource_updated(
            ctx, conversation_uri(run.backend.name, result.conversation_id)
        )
    if result.status == "failed" and not (result.text or result.tool_calls):
        # Nothing was produced to keep: report it as the tool error it is.
        raise ToolError(result.error or "the chat failed.")
    return result
