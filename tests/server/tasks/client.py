"""A 2026-07-28 client side of the tasks extension, for the tests: the Python SDK's
``ClientExtension`` with a ``ResultClaim`` for ``resultType: "task"`` that polls
``tasks/get`` until the task ends and hands back its ``CallToolResult``, answering
``input_required`` with a callback through ``tasks/update``.

Written from the extension's specification (``io.modelcontextprotocol/tasks``);
the SDK ships the framework, not this extension's client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, Field

IDENTIFIER = "io.modelcontextprotocol/tasks"


class TaskParams(RequestParams):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    task_id: str = Field(alias="taskId")


class UpdateParams(TaskParams):
    input_responses: dict[str, Any] = Field(alias="inputResponses")


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class UpdateTask(Request[UpdateParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    name_param = "taskId"


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    name_param = "taskId"


class CreatedTask(Result):
    """``CreateTaskResult``: the seed state of a task."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")
    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")


class TaskReply(Result):
    """Any ``tasks/*`` answer, its fields kept as sent."""

    model_config = ConfigDict(extra="allow")


#: answers one ``inputRequests`` entry (key, request) with an ``inputResponses`` value
Answerer = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class TasksClient(ClientExtension):
    """Resolves a task answer into its final result; records every state it polled."""

    identifier = IDENTIFIER

    def __init__(
        self, answer: Answerer | None = None, poll_seconds: float = 0.05, hand_back: bool = False
    ) -> None:
        #: return at once instead of polling (the test drives the task from ``created``)
        self.hand_back = hand_back
        self.answer = answer
        self.poll_seconds = poll_seconds
        self.created: list[CreatedTask] = []
        self.seen: list[dict[str, Any]] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    async def _resolve(self, created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.created.append(created)
        if self.hand_back:  # an error result: the client checks no output schema on one
            return CallToolResult(content=[], is_error=True)
        answered: set[str] = set()
        with anyio.fail_after(30):
            while True:
                state = await get_task(ctx.session, created.task_id)
                self.seen.append(state)
                if state["status"] == "completed":
                    return CallToolResult.model_validate(state["result"])
                if state["status"] in ("failed", "cancelled"):
                    return CallToolResult(content=[], is_error=True, structured_content=state)
                if state["status"] == "input_required" and self.answer is not None:
                    responses = {
                        key: await self.answer(key, request)
                        for key, request in state["inputRequests"].items()
                        if key not in answered
                    }
                    answered.update(responses)
                    if responses:
                        await send(ctx.session, UpdateTask, created.task_id, responses)
                await anyio.sleep(self.poll_seconds)


async def send(
    session: Any, kind: type[Request[Any, Any]], task_id: str, responses: Any = None
) -> dict[str, Any]:
    params = (
        TaskParams(taskId=task_id)
        if responses is None
        else UpdateParams(taskId=task_id, inputResponses=responses)
    )
    reply = await session.send_request(kind(params=params), TaskReply)
    return reply.model_dump(by_alias=True, exclude_none=True)


async def get_task(session: Any, task_id: str) -> dict[str, Any]:
    return await send(session, GetTask, task_id)


async def raw_request(session: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A request whose answer the Python SDK client would refuse to parse (a 2025-11-25
    ``tools/call`` answered with a task: its client knows no task results), sent below
    its result validation."""
    answer: dict[str, Any] = await session._dispatcher.send_raw_request(method, params, {})
    return answer
