"""What both task protocols share: who the caller is, a task's wire fields, the pauses
as elicitation forms, and the answers to them.

The 2026-07-28 extension (``modern``) and the 2025-11-25 form (``legacy``) differ in
envelope and method set, not in what a task is; this module is that common part.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import mcp.types as types
from mcp.server.context import ServerRequestContext
from mcp.server.elicitation import render_elicitation_schema
from mcp.shared.exceptions import MCPError
from pydantic import ConfigDict, Field, ValidationError

from agentdeck.redaction import redact, redact_value
from agentdeck.runs import Run, pause_key
from agentdeck.server.agent_tools import as_chat_answer
from agentdeck.server.chatting import deliver, question
from agentdeck.server.interaction import Answer
from agentdeck.server.principal import current_principal
from agentdeck.server.state import Deck
from agentdeck.server.tasks.book import POLL_INTERVAL_MS, TaskState


class TaskParams(types.RequestParams):
    """The params of every ``tasks/*`` request that names one task."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    task_id: str = Field(alias="taskId", min_length=1, max_length=200)


#: The tasks of a stdio server (or an in-memory one) belong to this process.
_PROCESS = uuid.uuid4().hex


def caller(ctx: ServerRequestContext[Any, Any]) -> str:
    """Whom a task belongs to: the signed-in user (OAuth), else the MCP session on
    stateful HTTP, the bearer token's holder on stateless HTTP, this process on stdio.
    Only that caller sees the task."""
    principal = current_principal()
    if principal is not None:
        return f"user:{principal}"
    request = ctx.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return f"process:{_PROCESS}"
    session = headers.get("mcp-session-id")
    if session:
        return f"session:{session}"
    credential = headers.get("authorization", "")
    return "token:" + hashlib.sha256(credential.encode()).hexdigest()


def deck_of(ctx: ServerRequestContext[Any, Any]) -> Deck:
    state: Deck = ctx.lifespan_context
    return state


def serves_tasks(deck: Deck, tool: str) -> bool:
    """Whether calls of ``tool`` may become tasks: ``chat`` and the per-agent tools."""
    return tool == "chat" or tool in deck.agent_tools.names()


def running_run_id(answer: Any) -> str | None:
    """The run id of a chat tool's answer (a ``CallToolResult``, or its wire form) whose
    run is still going; None for any other answer."""
    if isinstance(answer, types.CallToolResult):
        answer = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
    if not isinstance(answer, dict) or answer.get("isError"):
        return None
    content = answer.get("structuredContent") or {}
    if content.get("status") == "running" and isinstance(content.get("run_id"), str):
        return str(content["run_id"])
    return None


def unknown_task(task_id: str) -> MCPError:
    """The error for a task that does not exist for this caller (or at all)."""
    return MCPError(
        code=types.INVALID_PARAMS, message=f"there is no task '{task_id[:64]}'", data=None
    )


async def find_task(ctx: ServerRequestContext[Any, Any], task_id: str) -> TaskState:
    state = await deck_of(ctx).tasks.get(caller(ctx), task_id)
    if state is None:
        raise unknown_task(task_id)
    return state


def task_fields(state: TaskState) -> dict[str, Any]:
    """The fields of a ``Task`` common to both eras (the TTL and poll keys differ)."""
    fields: dict[str, Any] = {
        "taskId": state.id,
        "status": state.status,
        "createdAt": _rfc3339(state.created_at),
        "lastUpdatedAt": _rfc3339(state.updated_at),
    }
    message = state.status_message()
    if message:
        fields["statusMessage"] = message
    return fields


def final_answer(run: Run) -> dict[str, Any]:
    """The ``CallToolResult`` a chat call answers for the finished ``run``, as wire JSON:
    the run, or the tool error of a run that failed before producing anything."""
    result = run.result()
    answer: types.CallToolResult | types.InputRequiredResult
    if result.status == "failed" and not (result.text or result.tool_calls):
        answer = types.CallToolResult(
            content=[
                types.TextContent(type="text", text=redact(result.error or "the chat failed."))
            ],
            is_error=True,
        )
    else:
        answer = as_chat_answer(redact_value(result))
    return answer.model_dump(by_alias=True, mode="json", exclude_none=True)


def poll_interval_ms() -> int:
    return POLL_INTERVAL_MS


def _rfc3339(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def input_requests(run: Run) -> dict[str, dict[str, Any]]:
    """One ``elicitation/create`` form per pause of ``run`` nobody answered yet, keyed by
    the pause (keys are unique over a run's life: approval and question ids are)."""
    requests = {}
    for event in run.waiting_on():
        key = pause_key(event)
        if key in run.answered:
            continue
        asked = question(run, key)
        params = types.ElicitRequestFormParams(
            message=asked.message, requested_schema=render_elicitation_schema(asked.schema)
        )
        requests[key] = {
            "method": "elicitation/create",
            "params": params.model_dump(by_alias=True, mode="json", exclude_none=True),
        }
    return requests


async def answer_pauses(deck: Deck, run: Run, responses: dict[str, Any]) -> None:
    """Deliver the user's answers to the run's outstanding pauses; answers to anything
    else (unknown, already answered, superseded) are ignored, as the spec asks."""
    outstanding = {pause_key(e) for e in run.waiting_on()} - run.answered
    for key, response in responses.items():
        if key not in outstanding or not isinstance(response, dict):
            continue
        form = question(run, key).schema
        data = None
        if response.get("action") == "accept":
            try:
                data = form.model_validate(response.get("content") or {})
            except ValidationError:
                data = None
        await deliver(deck.registry, run, key, Answer(data is not None, data))
