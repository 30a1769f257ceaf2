"""Long chats as 2026-07-28 tasks: the ``io.modelcontextprotocol/tasks`` extension.

A ``tools/call`` of ``chat`` or a per-agent tool that declares the extension in its
request capabilities waits a short grace for its run; a run still going then is
answered with a task (``resultType: "task"``) instead of ``status: "running"``. The
client polls ``tasks/get`` (working, input_required with the pauses as elicitation
forms, completed with exactly the ``CallToolResult`` chat answers), answers pauses
with ``tasks/update`` and stops the run with ``tasks/cancel``. A request that did not
declare the extension is answered as it always was.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from agentdeck.errors import AgentdeckError
from agentdeck.redaction import redact
from agentdeck.server.chat import answer_pauses, input_requests
from agentdeck.server.tasks import TaskState, task_call
from agentdeck.server.tasks.protocols._shared import (
    TaskParams,
    deck_of,
    find_task,
    serves_tasks,
    task_fields,
    task_over,
)

IDENTIFIER = "io.modelcontextprotocol/tasks"


class UpdateParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


def declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client capabilities name the tasks extension."""
    capabilities = ctx.session.client_capabilities
    extensions = capabilities.extensions if capabilities else None
    return bool(extensions) and IDENTIFIER in (extensions or {})


def modern_task(state: TaskState) -> dict[str, Any]:
    """A 2026-07-28 ``Task``."""
    return task_fields(state, ttl="ttlMs", poll_interval="pollIntervalMs")


def detailed_task(state: TaskState) -> dict[str, Any]:
    """A ``DetailedTask``: the task with its status's payload inlined."""
    task = modern_task(state)
    if state.status == "input_required" and state.run is not None:
        task["inputRequests"] = input_requests(state.run)
    elif state.status == "completed":
        task["result"] = state.outcome
    elif state.status == "failed":
        task["error"] = state.outcome
    return task


async def task_instead(
    params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """The ``tools/call`` interceptor: a declaring call of a chat tool whose run outlives
    the grace is answered with a task."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS or not declared(ctx):
        return await call_next(ctx)
    deck = deck_of(ctx)
    if not serves_tasks(deck, params.name):
        return await call_next(ctx)
    with task_call():
        result = await call_next(ctx)
    state = await task_over(ctx, result)
    if state is None:
        return result  # ended within the grace (or failed): the plain answer
    return {"resultType": "task", **modern_task(state)}


async def get(ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
    return {"resultType": "complete", **detailed_task(await find_task(ctx, params.task_id))}


async def update(ctx: ServerRequestContext[Any, Any], params: UpdateParams) -> dict[str, Any]:
    state = await find_task(ctx, params.task_id)
    if state.run is not None and not state.terminal:
        try:
            await answer_pauses(deck_of(ctx).registry, state.run, params.input_responses)
        except AgentdeckError as exc:
            raise _as_error(exc) from exc
    return {"resultType": "complete"}


async def cancel(ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
    state = await find_task(ctx, params.task_id)
    if state.run is not None and not state.terminal:
        await deck_of(ctx).tasks.cancel(state.run)
    return {"resultType": "complete"}


def _as_error(exc: AgentdeckError) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=redact(str(exc)), data=None)
