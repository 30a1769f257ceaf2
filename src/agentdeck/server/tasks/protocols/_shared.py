"""What both task protocols share: who the caller is, which tools serve tasks, and a
task's wire fields (the pauses as forms, and the answers to them, are the chat path's:
``server.chat.input_requests`` and ``answer_pauses``).

The 2026-07-28 extension (``_modern``) and the 2025-11-25 form (``_legacy``) differ in
envelope and method set, not in what a task is; this module is that common part.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import mcp.types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import ConfigDict, Field

from agentdeck.server.oauth import current_principal
from agentdeck.server.tasks import POLL_INTERVAL_MS, TaskState
from agentdeck.server.toolkit import Deck


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


async def task_over(
    ctx: ServerRequestContext[Any, Any], answer: Any, *, ttl: float | None = None
) -> TaskState | None:
    """A task over the run a chat call's ``answer`` left running, for the caller (``ttl``
    seconds, at most the server's); None when the answer is final."""
    run_id = running_run_id(answer)
    if run_id is None:
        return None
    deck = deck_of(ctx)
    run = await deck.runs.find(run_id, current_principal())  # started by this very call
    return await deck.tasks.create(caller(ctx), run, ttl=ttl)


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


def task_fields(state: TaskState, *, ttl: str, poll_interval: str) -> dict[str, Any]:
    """The fields of a ``Task``, with its TTL and poll interval (both in milliseconds)
    under the keys ``ttl`` and ``poll_interval``: the one part the eras name apart."""
    fields: dict[str, Any] = {
        "taskId": state.id,
        "status": state.status,
        "createdAt": _rfc3339(state.created_at),
        "lastUpdatedAt": _rfc3339(state.updated_at),
    }
    message = state.status_message()
    if message:
        fields["statusMessage"] = message
    return {**fields, ttl: state.ttl_ms, poll_interval: POLL_INTERVAL_MS}


def _rfc3339(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))
