"""Following a run for a tool call: stream its progress, answer in time, and ask the user
when the agent waits on them.

Progress goes out as notifications per text delta (the deltas that arrive while one is
being written go out together in the next); the wait budget is one nothing the stream
does can stretch; the run is cancelled when the client cancels the request; the
transcript is announced as updated. When the run pauses on an approval or a question
and the client supports elicitation, the user is asked right there, the answer sent to
the platform and the run followed on. Without elicitation, or when the user declines to
answer, the result lists the pending approvals for ``respond_to_approval``.
"""

from __future__ import annotations

from contextlib import aclosing

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from agentdeck.model import (
    ApprovalRequired,
    ChatEvent,
    PauseKey,
    QuestionAsked,
    TextDelta,
    ToolCall,
)
from agentdeck.runs import Run
from agentdeck.server.chat._pauses import deliver, question
from agentdeck.server.chat._result import RunResult
from agentdeck.server.client import announce_resource_updated, ask, can_elicit
from agentdeck.server.conversations import conversation_uri
from agentdeck.server.sdk_seams import progress_wanted
from agentdeck.server.tasks import in_task_call
from agentdeck.server.toolkit import Deck, report_progress

ChatOutcome = RunResult | types.InputRequiredResult


async def follow_and_ask(
    ctx: Context, here: Deck, run: Run, wait_seconds: float, asking: list[PauseKey] | None = None
) -> ChatOutcome:
    """Follow the run; whenever it waits on the user and the client can ask, ask.

    ``asking``: the pauses a previous input round asked about, whose answers this
    request carries (2026-07-28).
    """
    while True:
        if not asking:
            result = await follow(ctx, here, run, wait_seconds)
            asking = run.unasked()
            if not asking or not can_elicit(ctx) or in_task_call():
                return result  # a task call's pauses are the task's input_required
        # the client sees a pause by its key's text form (form keys, the round's state)
        named = {str(key): key for key in asking}
        questions = {text: question(run, key) for text, key in named.items()}
        answers = await ask(ctx, questions, {"run": run.id, "asking": list(named)})
        if isinstance(answers, types.InputRequiredResult):
            return answers
        run.mark_asked(asking)
        for text, answer in answers.items():
            await deliver(here.registry, run, named[text], answer)
        asking = None


def progress_messages(batch: list[ChatEvent]) -> list[str]:
    """One progress message per run of text deltas in ``batch`` (their joined text), and one
    per tool call.

    Batches hold what arrived while the previous notification was being written, so a
    fast stream of tiny deltas becomes a few notifications and a slow one still gets
    one per delta, sent as soon as it arrives.
    """
    messages: list[str] = []
    text: list[str] = []
    for event in batch:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCall):
            if text:
                messages.append("".join(text))
                text = []
            messages.append(f"[calling tool {event.name}]")
    if text:
        messages.append("".join(text))
    return messages


async def _stream_progress(ctx: Context, run: Run, deadline: float) -> None:
    """Send the run's progress as it streams, until it ends, waits on someone or the
    deadline passes. The deadline also bounds writing notifications: a client slow to
    read them cannot hold the answer back."""
    step = 0
    with anyio.CancelScope(deadline=deadline):
        async with aclosing(run.changes(deadline)) as batches:
            async for batch in batches:
                for message in progress_messages(batch):
                    step += 1
                    await report_progress(ctx, step, message)
                paused = any(isinstance(e, ApprovalRequired | QuestionAsked) for e in batch)
                if paused and run.waiting_on_someone():
                    return  # waiting longer cannot help: the agent waits on a person


async def follow(ctx: Context, here: Deck, run: Run, wait_seconds: float) -> RunResult:
    """Stream the run's progress until it ends, waits on the user, or the budget is spent.

    If the client cancels the request, the run is cancelled with it, which closes the
    upstream stream. A run that failed before producing anything is a tool error.
    """
    deadline = anyio.current_time() + wait_seconds
    try:
        if progress_wanted(ctx.request_context.session):
            await _stream_progress(ctx, run, deadline)
        else:
            await run.settles(deadline)  # nothing to stream: wake once, when it settles
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await here.runs.cancel(run)
        raise
    await here.runs.publish(run)  # its id is handed out now
    result = RunResult.of(run.snapshot())
    if result.status != "running" and run.conversation_id:
        await announce_resource_updated(
            ctx, conversation_uri(run.backend.name, run.conversation_id), run.owner
        )
    if result.status == "failed" and not (result.text or result.tool_calls):
        # Nothing was produced to keep: report it as the tool error it is.
        raise ToolError(result.error or "the chat failed.")
    return result
