"""The ``chat`` toolset: chat with an agent as a run, then wait on, fetch or cancel the run."""

from typing import Annotated

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve, Sample
from pydantic import Field

from agentdeck.runs import RunResult
from agentdeck.server.chatting import follow, run_chat, sample_request
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


async def _sample_for_local_agent(
    agent: str, message: str, ctx: Context, conversation_id: str | None = None
) -> Sample | None:
    return sample_request(ctx, agent, message, conversation_id)


@toolbox.tool(toolset="chat", title="Chat with an agent", read_only=False, conversational=True)
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
        return await run_chat(
            ctx,
            agent=agent,
            message=message,
            conversation_id=conversation_id,
            wait_seconds=wait_seconds,
            options=options,
            sampled=sampled,
        )


chat.__doc__ = (chat.__doc__ or "") + CHAT_OPTIONS


@toolbox.tool(toolset="chat", title="Get a chat run", read_only=True, open_world=False)
async def get_run(ctx: Context, run_id: RunId, wait_seconds: WaitSeconds = 0) -> RunResult:
    """Get a chat run's result so far; with wait_seconds, wait up to that long for it to end
    (streaming its progress meanwhile). Runs are kept for a while after they finish."""
    with reported():
        run = deck(ctx).runs.get(run_id)
        return await follow(ctx, run, wait_seconds)


@toolbox.tool(
    toolset="chat",
    title="Cancel a chat run",
    read_only=False,
    idempotent=True,
    conversational=True,
)
async def cancel_run(ctx: Context, run_id: RunId) -> RunResult:
    """Stop a running chat: the upstream request is closed and the platform's cancel endpoint
    is called where it has one. Returns the run with what it had produced."""
    with reported():
        runs = deck(ctx).runs
        run = runs.get(run_id)
        with anyio.fail_after(30):
            await runs.cancel(run)
        return run.result()
