"""Tasks over runs: a task is a durable, caller-bound name for one chat run.

A run already has everything a task needs (a status, its output so far, what it waits
on, a way to cancel it); the book adds what the task protocols ask for on top: an
unguessable id bound to the caller that created it, a time to live, and the final
``CallToolResult`` written to the store when the run ends, so ``tasks/get`` answers the
same thing on any replica and after the run itself has left memory.

A task row is ``working`` until its run ends; then it holds its final status
(``completed``, ``cancelled``, or ``failed`` for a run this server lost) and result,
and never changes again. A row whose run no process drives any more (the server
stopped mid-run) is failed on first sight, so a task is never unknown.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup

from agentdeck.errors import AgentdeckError
from agentdeck.runs import Run, RunManager
from agentdeck.store import Store

logger = logging.getLogger("agentdeck.tasks")

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
#: What a lost task's ``error`` says: its run was in a server that stopped.
SERVER_STOPPED = "the server stopped during this task; send the message again."
#: How often clients are asked to poll, in milliseconds.
POLL_INTERVAL_MS = 1000
_CANCEL_TIMEOUT = 30
#: JSON-RPC internal error, the code of a task whose run was lost.
_INTERNAL_ERROR = -32603

#: Renders a finished run as the ``CallToolResult`` (wire JSON) its tool call answers.
Render = Callable[[Run], dict[str, Any]]


@dataclass(frozen=True)
class TaskState:
    """A task as both task protocols show it: its row, and its run while that runs."""

    id: str
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    ttl_ms: int
    run: Run | None
    #: the final ``CallToolResult`` (completed, cancelled) or JSON-RPC error (failed)
    outcome: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def status_message(self) -> str | None:
        """The latest progress while working; what it waits on; why it failed."""
        if self.status == "failed" and self.outcome is not None:
            return str(self.outcome.get("message", ""))
        if self.run is None or self.terminal:
            return None
        if self.status == "input_required":
            return "The agent waits for an answer."
        text = self.run.text()
        return text[-200:] if text else "The agent is working."


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


class TaskBook:
    """Creates tasks over runs, finds them for their owner, and writes their end."""

    def __init__(
        self,
        store: Store,
        runs: RunManager,
        task_group: TaskGroup,
        *,
        ttl_seconds: float,
        render: Render,
    ) -> None:
        self._store = store
        self._runs = runs
        self._task_group = task_group
        self._ttl_seconds = ttl_seconds
        self._render = render
        #: told of each task this process sees end (the task status notifications)
        self.listeners: list[Callable[[TaskState], Awaitable[None]]] = []

    async def create(self, owner: str, run: Run, *, ttl: float | None = None) -> TaskState:
        """A task over ``run`` for ``owner``, kept ``ttl`` seconds (at most the server's
        TTL); durable before it is returned."""
        row = await self._new(owner, run.id, ttl)
        self._task_group.start_soon(self._finish_when_done, row, run, name="task")
        return self._state(row, run)

    async def create_finished(
        self, owner: str, outcome: dict[str, Any], *, ttl: float | None = None
    ) -> TaskState:
        """A task whose call answered before a run could be followed (it ended at once,
        or failed before it began): completed with ``outcome`` from the start."""
        row = await self._new(owner, "", ttl)
        return await self._write_end(row, "completed", outcome)

    async def _new(self, owner: str, run_id: str, ttl: float | None) -> dict[str, Any]:
        seconds = self._ttl_seconds if ttl is None else min(ttl, self._ttl_seconds)
        return await self._store.create_task(
            task_id=secrets.token_urlsafe(24), owner=owner, run_id=run_id, ttl_seconds=seconds
        )

    async def get(self, owner: str, task_id: str) -> TaskState | None:
        """The task, or None when there is none for ``owner`` (another's is the same)."""
        row = await self._store.get_task(task_id)
        if row is None or not secrets.compare_digest(row["owner"], owner):
            return None
        if row["status"] != "working":
            return self._state(row, None)
        try:
            run = await self._runs.find(row["run_id"], _principal_of(owner))
        except AgentdeckError:
            # no replica drives its run: it was lost with the server that did
            return await self._write_end(row, "failed", _lost())
        if run.done:
            return await self._write_end(row, *self._ending(run))
        return self._state(row, run)

    async def list(self, owner: str, *, limit: int, offset: int) -> list[TaskState]:
        rows = await self._store.list_tasks(owner, limit=limit, offset=offset)
        found = [await self.get(owner, row["id"]) for row in rows]
        return [state for state in found if state is not None]

    async def cancel(self, run: Run) -> None:
        """What ``cancel_run`` does: close the upstream stream, call the platform's cancel."""
        with anyio.fail_after(_CANCEL_TIMEOUT):
            await self._runs.cancel(run)

    async def _finish_when_done(self, row: dict[str, Any], run: Run) -> None:
        """Write the task's end when its run ends. Runs in the server's task group, so it
        catches every exception: a write that fails is done again by the next read of the
        task (``get`` finds the run ended and writes it), while the run is kept."""
        await run.finished.wait()
        with anyio.CancelScope(shield=True):
            try:
                await self._write_end(row, *self._ending(run))
            except Exception as exc:
                logger.warning("task %s: writing its end failed: %s", row["id"], exc)

    def _ending(self, run: Run) -> tuple[str, dict[str, Any]]:
        status = "cancelled" if run.status == "cancelled" else "completed"
        return status, self._render(run)

    async def _write_end(
        self, row: dict[str, Any], status: str, outcome: dict[str, Any]
    ) -> TaskState:
        """The task ended: write it (once; whoever writes first wins) and tell listeners."""
        wrote = await self._store.finish_task(row["id"], status=status, result=json.dumps(outcome))
        found = await self._store.get_task(row["id"])
        state = self._state(found or row, None)
        if wrote:
            for listener in self.listeners:
                await listener(state)
        return state

    def _state(self, row: dict[str, Any], run: Run | None) -> TaskState:
        status: TaskStatus = row["status"]
        if run is not None and run.waiting_on_someone():
            status = "input_required"
        created = _stamp(row["created_at"])
        return TaskState(
            id=row["id"],
            status=status,
            created_at=created,
            updated_at=_stamp(row["updated_at"]),
            ttl_ms=round((_stamp(row["expires_at"]) - created).total_seconds() * 1000),
            run=run,
            outcome=json.loads(row["result"]) if row.get("result") else None,
        )


def _lost() -> dict[str, Any]:
    return {"code": _INTERNAL_ERROR, "message": SERVER_STOPPED}


def _principal_of(owner: str) -> str | None:
    """The principal of a task's owner ("user:<principal>" with OAuth), whose run it is;
    None for the other kinds of owner (no OAuth: runs are everyone's)."""
    return owner.removeprefix("user:") if owner.startswith("user:") else None
