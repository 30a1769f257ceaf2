"""The ``chat`` toolset: chat with an agent as a run, then wait on, fetch or cancel the run."""

from typing import Annotated

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import Field

from agentdeck.runs import RunResult
from agentdeck.server.chatting import converse, follow_and_ask
from agentdeck.server.interaction import round_state
from agentdeck.server.params import (
    AgentRef,
    ConversationToContinue,
    Options,
    RunId,
    WaitSeconds,
)
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


@toolbox.tool(toolset="chat", title="Chat with an agent", read_only=False, conversational=True)
async def chat(
    ctx: Context,
    agent: AgentRef,
    message: Annotated[str, Field(min_length=1, description="What to say to the agent.")],
    conversation: ConversationToContinue = None,
    wait_seconds: WaitSeconds = 45,
    options: Options = None,
) -> RunResult | types.InputRequiredResult:
    """Send a message to an agent and return its answer, with the conversation ref to continue.

    The answer streams as progress notifications. If the agent is still working when
    wait_seconds run out, the result has status "running" and a run_id: call get_run to
    wait for the rest, or cancel_run to stop it. Tool calls, pending approvals and
    workflows the agent drafted are part of the result. When the agent waits for an approval
    or asks a question, the user is asked right there if the client supports elicitation;
    otherwise the result (status "running") lists pending_approvals and pending_questions:
    answer them with respond_to_approval or answer_question, then call get_run. A chat that fails before the agent
    produced anything is a tool error; one that fails part-way keeps the partial answer with
    status "failed" and the error."""
    with reported():
        return await converse(
            ctx,
            agent=agent,
            message=message,
            conversation=conversation,
            wait_seconds=wait_seconds,
            options=options,
        )


chat.__doc__ = (chat.__doc__ or "") + CHAT_OPTIONS


@toolbox.tool(toolset="chat", title="Get a chat run", read_only=True, open_world=False)
async def get_run(
    ctx: Context, run_id: RunId, wait_seconds: WaitSeconds = 0
) -> RunResult | types.InputRequiredResult:
    """Get a chat run's result so far; with wait_seconds, wait up to that long for it to end
    (streaming its progress meanwhile). Runs are kept for a while after they finish."""
    with reported():
        state = round_state(ctx)
        run = deck(ctx).runs.get(state.get("run", run_id))
        return await follow_and_ask(ctx, run, wait_seconds, asking=state.get("asking"))


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
