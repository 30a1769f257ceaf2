"""The ``chat`` toolset: chat with an agent as a run, then wait on, fetch or cancel the run."""

from typing import Annotated

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve, Sample
from pydantic import Field

from agentdeck.backends.local import LocalBackend
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import ChatRequest, TextDelta, ToolCall
from agentdeck.runs import Run, RunResult
from agentdeck.server.params import AgentRef, Options, RunId, WaitSeconds
from agentdeck.server.toolkit import Toolbox, deck, reported

toolbox = Toolbox()

CHAT_OPTIONS = """

Accepted `options` keys per platform:
- make: callback_url (Make calls it when the run ends).
- agenticflow: attachments (list of image URLs), anonymous (true: use the public agent
  endpoint without a key).
- agentflow: stream (false: ask for one JSON answer instead of a stream).
- roboflow: mode ("agent", the default, or "plan": outline what would change, change nothing).
- local: none."""

_SAMPLING_MAX_TOKENS = 2048


async def _sample_for_local_agent(
    agent: str, message: str, ctx: Context, conversation_id: str | None = None
) -> Sample | None:
    """Ask the client's own model, when the agent is a local one on the ``sampling`` model.

    Runs before the tool body (a resolver), which is how agentdeck samples in both
    protocol eras. Anything else, including bad refs, is left for the tool to report.
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


def _sampled_text(result: types.CreateMessageResult | None) -> str | None:
    if result is None:
        return None
    content = result.content
    return content.text if isinstance(content, types.TextContent) else None


async def _follow(ctx: Context, run: Run, wait_seconds: float) -> RunResult:
    """Stream the run's progress to the client until it ends or the wait budget is spent.

    If the client cancels the request, the run is cancelled with it, which closes the
    upstream stream.
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
    if result.status == "failed" and not (result.text or result.tool_calls):
        # Nothing was produced to keep: report it as the tool error it is.
        raise ToolError(result.error or "the chat failed.")
    return result


@toolbox.tool(toolset="chat", title="Chat with an agent", read_only=False)
async def chat(
    ctx: Context,
    agent: AgentRef,
    message: Annotated[str, Field(min_length=1, description="What to say to the agent.")],
    conversation_id: Annotated[
        str | None,
        Field(
            description=(
                "Continue this conversation (the conversation_id of an earlier result); "
                "omit to start a new one."
            )
        ),
    ] = None,
    wait_seconds: WaitSeconds = 45,
    options: Options = None,
    sampled: Annotated[types.CreateMessageResult | None, Resolve(_sample_for_local_agent)] = None,
) -> RunResult:
    """Send a message to an agent and return its answer, with the conversation_id to continue.

    The answer streams as progress notifications. If the agent is still working when
    wait_seconds run out, the result has status "running" and a run_id: call get_run to
    wait for the rest, or cancel_run to stop it. Tool calls, pending approvals and
    workflows the agent drafted are part of the result. A chat that fails before the agent
    produced anything is a tool error; one that fails part-way keeps the partial answer with
    status "failed" and the error."""
    with reported():
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
            sampled_reply=_sampled_text(sampled),
        )
        run = deck(ctx).runs.start(backend, request)
        return await _follow(ctx, run, wait_seconds)


chat.__doc__ = (chat.__doc__ or "") + CHAT_OPTIONS


@toolbox.tool(toolset="chat", title="Get a chat run", read_only=True, open_world=False)
async def get_run(ctx: Context, run_id: RunId, wait_seconds: WaitSeconds = 0) -> RunResult:
    """Get a chat run's result so far; with wait_seconds, wait up to that long for it to end
    (streaming its progress meanwhile). Runs are kept for a while after they finish."""
    with reported():
        run = deck(ctx).runs.get(run_id)
        return await _follow(ctx, run, wait_seconds)


@toolbox.tool(toolset="chat", title="Cancel a chat run", read_only=False, idempotent=True)
async def cancel_run(ctx: Context, run_id: RunId) -> RunResult:
    """Stop a running chat: the upstream request is closed and the platform's cancel endpoint
    is called where it has one. Returns the run with what it had produced."""
    with reported():
        runs = deck(ctx).runs
        run = runs.get(run_id)
        with anyio.fail_after(30):
            await runs.cancel(run)
        return run.result()
