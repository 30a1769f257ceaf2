"""Running a chat for a tool call: start the run, stream its progress, answer in time,
and ask the user when the agent waits on them.

Shared by ``chat``, ``get_run`` and the per-agent tools, so all behave the same:
progress notifications per text delta (the deltas that arrive while one is being
written go out together in the next); the wait budget, which nothing the stream does
can stretch; the run cancelled when the client cancels the request; the transcript
announced as updated; a local agent on the ``sampling`` model answered by the client's
own model; and, when a run pauses on an approval or a question and the client supports
elicitation, the user asked right there, the answer sent to the platform and the run
followed on. Without
elicitation, or when the user declines to answer, the result lists the pending
approvals for ``respond_to_approval``.
"""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any, Literal

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from agentdeck.backends.base import (
    ApprovalHandler,
    ChatCapable,
    ClientModelAnswerer,
    QuestionResponder,
)
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import (
    ApprovalRequired,
    ChatEvent,
    ChatRequest,
    QuestionAsked,
    Sampler,
    TextDelta,
    ToolCall,
)
from agentdeck.registry import Registry
from agentdeck.runs import Run, RunResult, pause_key
from agentdeck.server.conversations import conversation_to_continue
from agentdeck.server.interaction import (
    Answer,
    Question,
    ask,
    can_elicit,
    can_sample,
    round_state,
    sample,
)
from agentdeck.server.notify import announce_resource_updated, is_modern
from agentdeck.server.resources import conversation_uri
from agentdeck.server.sdk_seams import progress_wanted
from agentdeck.server.tasks.mode import in_task_call, wait_budget
from agentdeck.server.toolkit import deck, report_progress

SAMPLING_MAX_TOKENS = 2048
ChatOutcome = RunResult | types.InputRequiredResult


class ApprovalAnswer(BaseModel):
    decision: Literal["approve", "deny"] = Field(
        description="approve lets the agent run the tool; deny stops it."
    )
    arguments: str | None = Field(
        default=None,
        description="Edited tool arguments as a JSON object; leave empty to keep them as shown.",
    )
    reason: str | None = Field(default=None, description="Why, for the agent (optional).")


class QuestionAnswer(BaseModel):
    answer: str = Field(description="Your answer to the agent's question.")


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


async def _samples_here(ctx: Context, agent: str) -> ClientModelAnswerer | None:
    """The backend, when ``agent`` answers through the client's model (a local agent on
    ``sampling`` or ``auto``) and the client samples."""
    if not can_sample(ctx):
        return None
    try:
        backend, agent_id = deck(ctx).registry.resolve(agent)
        if not isinstance(backend, ClientModelAnswerer):
            return None
        if not await backend.answers_through_client(agent_id):
            return None
    except AgentdeckError:
        return None  # the chat itself reports bad refs
    return backend


async def sampler_for(
    ctx: Context, agent: str, message: str, conversation_id: str | None
) -> Sampler | types.InputRequiredResult | None:
    """How the run asks the client's model, when ``agent`` is a local agent on ``sampling``.

    A 2025-11-25 client is asked from inside the run, so the wait budget covers its
    model: a slow one leaves the chat ``running``. A 2026-07-28 client cannot be sent
    requests; the tool answers with an input request first and the client calls again
    with its model's answer, so the model's time is spent between the two calls, and
    the run, started with the answer in hand, finishes at once.
    """
    backend = await _samples_here(ctx, agent)
    if backend is None:
        return None
    if not is_modern(ctx):

        async def ask_client(history: list[dict[str, str]]) -> str | None:
            answer = await sample(ctx, sampling_params(history), {})
            assert isinstance(answer, types.CreateMessageResult)  # legacy asks inline
            return _text_of(answer)

        return ask_client
    _, agent_id = deck(ctx).registry.resolve(agent)
    history = await backend.history(agent_id, conversation_id)
    history.append({"role": "user", "content": message})
    answer = await sample(ctx, sampling_params(history), {"sampling": True})
    if isinstance(answer, types.InputRequiredResult):
        return answer
    text = _text_of(answer)

    async def answered(history: list[dict[str, str]]) -> str | None:
        return text

    return answered


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
        here = deck(ctx)
        run = await here.runs.find(state["run"], here.owner)
        return await follow_and_ask(ctx, run, wait_seconds, asking=state.get("asking", []))
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
    sampler = await sampler_for(ctx, agent, message, conversation_id)
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
    return await follow_and_ask(ctx, run, wait_seconds)


async def follow_and_ask(
    ctx: Context, run: Run, wait_seconds: float, asking: list[str] | None = None
) -> ChatOutcome:
    """Follow the run; whenever it waits on the user and the client can ask, ask."""
    while True:
        if not asking:
            result = await follow(ctx, run, wait_seconds)
            waiting = [pause_key(e) for e in run.waiting_on()]
            asking = [key for key in waiting if key not in run.asked | run.answered]
            if not asking or not can_elicit(ctx) or in_task_call():
                return result  # a task call's pauses are the task's input_required
        questions = {key: question(run, key) for key in asking}
        answers = await ask(ctx, questions, {"run": run.id, "asking": asking})
        if isinstance(answers, types.InputRequiredResult):
            return answers
        run.asked.update(asking)
        for key, answer in answers.items():
            await deliver(deck(ctx).registry, run, key, answer)
        asking = None


def question(run: Run, key: str) -> Question:
    """What to ask the user about the pause ``key`` of ``run``, and the form of the answer."""
    event = next(e for e in run.waiting_on() if pause_key(e) == key)
    agent = f"{run.backend.name}:{run.request.agent_id}"
    if isinstance(event, QuestionAsked):
        return Question(f"The agent {agent} asks: {event.question}", QuestionAnswer)
    arguments = json.dumps(event.arguments or {}, ensure_ascii=False)
    said = f" {event.message}" if event.message else ""
    return Question(
        f"The agent {agent} wants to run the tool '{event.tool or 'unknown'}' with the "
        f"arguments {arguments}.{said} Approve it?",
        ApprovalAnswer,
    )


async def deliver(registry: Registry, run: Run, key: str, answer: Answer) -> None:
    """Send the user's answer to the platform; a decline leaves it pending for later."""
    if not answer.accepted or answer.data is None:
        return
    kind, _, platform_id = key.partition(":")
    run.answered.add(key)
    if kind == "question":
        responder = run.backend
        if not isinstance(responder, QuestionResponder):
            raise ToolError(f"backend '{run.backend.name}' cannot take answers to questions.")
        assert isinstance(answer.data, QuestionAnswer)  # the form question() asked with
        await responder.answer_question(platform_id, answer=answer.data.answer)
        return
    data = answer.data
    assert isinstance(data, ApprovalAnswer)
    arguments = None
    if data.arguments and data.arguments.strip():
        try:
            arguments = json.loads(data.arguments)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise InvalidInputError(
                "the edited arguments are not a JSON object, so nothing was sent; the "
                f"approval {run.backend.name}:{platform_id} is still pending "
                "(respond_to_approval answers it).",
                backend=run.backend.name,
            )
    handler = registry.require(run.backend, ApprovalHandler, "answer an approval")
    await handler.respond_to_approval(
        platform_id, decision=data.decision, arguments=arguments, reason=data.reason
    )


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


async def follow(ctx: Context, run: Run, wait_seconds: float) -> RunResult:
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
            await deck(ctx).runs.cancel(run)
        raise
    await deck(ctx).runs.publish(run)  # its id is handed out now
    result = run.result()
    if result.status != "running" and run.conversation_id:
        await announce_resource_updated(
            ctx, conversation_uri(run.backend.name, run.conversation_id), run.owner
        )
    if result.status == "failed" and not (result.text or result.tool_calls):
        # Nothing was produced to keep: report it as the tool error it is.
        raise ToolError(result.error or "the chat failed.")
    return result
