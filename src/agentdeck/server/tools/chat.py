"""The ``chat`` toolset: chat with an agent as a run, then wait on, fetch or cancel the run."""

from typing import Annotated

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import ConfigDict, Field

from agentdeck.server.chat import RunResult, converse, follow_run
from agentdeck.server.toolkit import Toolbox, brief, deck
from agentdeck.server.tools import AgentRef, ConversationToContinue, Options, RunId, WaitSeconds

toolbox = Toolbox("chat")


class RunState(RunResult):
    """A chat run, as ``chat`` returns it, published by its main fields only.

    ``get_run`` and ``cancel_run`` share this compact result shape; ``chat``'s own schema
    describes every field. The results carry every field.
    """

    model_config = ConfigDict(json_schema_extra=brief("run_id", "status", "text"))


def as_run_state(
    result: RunResult | types.InputRequiredResult,
) -> RunState | types.InputRequiredResult:
    if isinstance(result, RunResult) and not isinstance(result, RunState):
        return RunState.model_validate(result, from_attributes=True)
    return result


@toolbox.tool(title="Chat with an agent", read_only=False, conversational=True)
async def chat(
    ctx: Context,
    agent: AgentRef,
    message: Annotated[str, Field(min_length=1, description="What to say to the agent.")],
    conversation: ConversationToContinue = None,
    wait_seconds: WaitSeconds = 45,
    options: Options = None,
) -> RunResult | types.InputRequiredResult:
    """Send a message to an agent; return its answer and the conversation ref to continue.

    The answer streams as progress notifications. If the agent is still working when
    wait_seconds run out, the result has status "running" and a run_id: get_run waits for
    the rest, cancel_run stops it. When the agent asks for an approval or a question, the
    user is asked through the client if it can; otherwise the result lists
    pending_approvals and pending_questions to answer before get_run. A failure before any
    answer is a tool error; one part-way keeps the partial answer with status "failed".
    """
    return await converse(
        ctx,
        agent=agent,
        message=message,
        conversation=conversation,
        wait_seconds=wait_seconds,
        options=options,
    )


@toolbox.tool(title="Get a chat run", read_only=True, open_world=False)
async def get_run(
    ctx: Context,
    run_id: RunId,
    wait_seconds: Annotated[
        float,
        Field(
            ge=0,
            le=600,
            description="How long to wait for the run to end before returning it as it is "
            "(0: at once).",
        ),
    ] = 0,
) -> RunState | types.InputRequiredResult:
    """Get a chat run's result (the fields of chat's) so far; with wait_seconds, wait up to
    that long for it to end, streaming its progress. Finished runs are kept for a while."""
    return as_run_state(await follow_run(ctx, run_id, wait_seconds))


@toolbox.tool(title="Cancel a chat run", read_only=False, idempotent=True, conversational=True)
async def cancel_run(ctx: Context, run_id: RunId) -> RunState:
    """Stop a running chat: the upstream request is closed and the platform's cancel endpoint
    is called where it has one. Returns the run with what it had produced."""
    here = deck(ctx)
    runs = here.runs
    run = await runs.find(run_id, here.owner)
    with anyio.fail_after(30):
        await runs.cancel(run)
    return RunState.of(run.snapshot())
