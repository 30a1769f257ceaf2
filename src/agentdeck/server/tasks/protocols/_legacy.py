"""Long chats as 2025-11-25 tasks: the experimental ``params.task`` form.

A 2025-11-25 client that sees ``tasks`` in the server's capabilities and
``execution.taskSupport: "optional"`` on ``chat`` and the per-agent tools may call them
with ``params.task``; the call then answers at once with ``{task: …}``. The client
polls ``tasks/get``, fetches the ``CallToolResult`` with ``tasks/result`` (which waits
for the end, and meanwhile asks the user about approvals and questions through
elicitation tied to the task), lists its tasks with ``tasks/list`` and stops one with
``tasks/cancel``; ``notifications/tasks/status`` tells it when a task ended.

The SDK validates a 2025-11-25 ``tools/call`` result as a ``CallToolResult``, so the
task answer is given by a server middleware around the handler, which it trusts to
shape its own result.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import anyio
import mcp.types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from agentdeck.errors import AgentdeckError
from agentdeck.redaction import redact
from agentdeck.server.chat import answer_pauses, input_requests
from agentdeck.server.client import can_elicit
from agentdeck.server.sdk_seams import connection_of
from agentdeck.server.tasks import TaskState, task_call
from agentdeck.server.tasks.protocols._shared import (
    caller,
    deck_of,
    find_task,
    serves_tasks,
    task_fields,
    task_over,
)

logger = logging.getLogger("agentdeck.tasks")

RELATED_TASK = "io.modelcontextprotocol/related-task"
_PAGE = 50
#: how often ``tasks/result`` looks for new pauses while it waits for the end
_WATCH_SECONDS = 0.2
#: The ``tasks`` capability of the handshake.
CAPABILITY = types.ServerTasksCapability(
    list=types.TasksListCapability(),
    cancel=types.TasksCancelCapability(),
    requests=types.ServerTasksRequestsCapability(
        tools=types.TasksToolsCapability(call=types.TasksCallCapability())
    ),
)


def legacy_task(state: TaskState) -> dict[str, Any]:
    """A 2025-11-25 ``Task``."""
    return task_fields(state, ttl="ttl", poll_interval="pollInterval")


class LegacyTasks:
    """The 2025-11-25 task form: a middleware for ``tools/call`` and the ``tasks/*``
    methods (served at every version, answered here only on 2025-11-25)."""

    def __init__(self) -> None:
        #: the connection each task was created on, for ``notifications/tasks/status``
        self._connections: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    async def task_calls(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Server middleware: a task-augmented ``tools/call`` of a tool that serves tasks
        starts its run and answers with the task at once."""
        params = ctx.params or {}
        if (
            ctx.method != "tools/call"
            or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
            or not isinstance(params.get("task"), dict)
            or not serves_tasks(deck_of(ctx), str(params.get("name")))
        ):
            return await call_next(ctx)
        with task_call(grace=0):
            answer = await call_next(ctx)
        ttl = _requested_ttl(params["task"])
        state = await task_over(ctx, answer, ttl=ttl)
        if state is None:  # it ended at once (or failed before it began): a finished task
            finished = dict(answer or {})
            state = await deck_of(ctx).tasks.create_finished(caller(ctx), finished, ttl=ttl)
        self._connections[state.id] = connection_of(ctx.session)
        return {"task": legacy_task(state)}

    async def status_changed(self, state: TaskState) -> None:
        """Tell the client that created the task that its status changed."""
        connection = self._connections.get(state.id)
        if connection is None:
            return
        try:
            await connection.notify("notifications/tasks/status", legacy_task(state))
        except Exception as exc:  # a closed connection: nobody left to tell
            logger.debug("could not tell a client about task %s: %s", state.id, exc)

    async def get(self, ctx: ServerRequestContext[Any, Any], params: Any) -> dict[str, Any]:
        return legacy_task(await find_task(ctx, params.task_id))

    async def result(self, ctx: ServerRequestContext[Any, Any], params: Any) -> dict[str, Any]:
        """The task's ``CallToolResult`` once it ends; meanwhile its pauses are asked."""
        deck = deck_of(ctx)
        state = await find_task(ctx, params.task_id)
        asked: set[str] = set()
        while not state.terminal:
            run = state.run
            assert run is not None  # a task that is not terminal has a live run
            pending = {k: r for k, r in input_requests(run).items() if k not in asked}
            if pending and can_elicit(ctx):
                asked.update(pending)
                answers = {
                    key: await _ask(ctx, state.id, request) for key, request in pending.items()
                }
                try:
                    await answer_pauses(deck.registry, run, answers)
                except AgentdeckError as exc:
                    raise MCPError(code=types.INVALID_PARAMS, message=redact(str(exc))) from exc
            with anyio.move_on_after(_WATCH_SECONDS):
                await run.finished.wait()
            state = await find_task(ctx, params.task_id)
        if state.status == "failed":
            error = state.outcome or {}
            raise MCPError(
                code=int(error.get("code", types.INTERNAL_ERROR)), message=str(error.get("message"))
            )
        outcome = dict(state.outcome or {})
        outcome["_meta"] = {**outcome.get("_meta", {}), RELATED_TASK: {"taskId": state.id}}
        return outcome

    async def list(self, ctx: ServerRequestContext[Any, Any], params: Any) -> dict[str, Any]:
        offset = _offset(getattr(params, "cursor", None))
        found = await deck_of(ctx).tasks.list(caller(ctx), limit=_PAGE + 1, offset=offset)
        page: dict[str, Any] = {"tasks": [legacy_task(state) for state in found[:_PAGE]]}
        if len(found) > _PAGE:
            page["nextCursor"] = str(offset + _PAGE)
        return page

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: Any) -> dict[str, Any]:
        state = await find_task(ctx, params.task_id)
        if state.terminal:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"task '{state.id}' has already ended ({state.status}).",
            )
        assert state.run is not None
        await deck_of(ctx).tasks.cancel(state.run)
        return legacy_task(await find_task(ctx, params.task_id))


def _requested_ttl(task: dict[str, Any]) -> float | None:
    ttl = task.get("ttl")
    return ttl / 1000 if isinstance(ttl, int | float) and ttl > 0 else None


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise MCPError(
            code=types.INVALID_PARAMS, message=f"'{cursor[:64]}' is not a tasks/list cursor."
        )
    return int(cursor)


async def _ask(
    ctx: ServerRequestContext[Any, Any], task_id: str, request: dict[str, Any]
) -> dict[str, Any]:
    """Ask the user one pause's question, tied to the task, and return the answer as an
    ``inputResponses`` value."""
    params = types.ElicitRequestFormParams.model_validate(
        {**request["params"], "_meta": {RELATED_TASK: {"taskId": task_id}}}
    )
    answer = await ctx.session.send_request(
        types.ElicitRequest(params=params),
        types.ElicitResult,
        metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
    )
    response: dict[str, Any] = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
    return response
