"""Runs shared between replicas on one PostgreSQL database.

A run lives on the replica that started it: that replica holds the upstream stream.
What every other replica needs is in the run's row: its owner and a snapshot of its
result so far (a :class:`~agentdeck.runs.RunSnapshot` as JSON), written in batches — the
first event after a quiet spell starts a short window, and everything that arrived
within it goes out in one write — not once per token. Each write notifies the other
replicas (``LISTEN``/``NOTIFY``), so ``get_run`` elsewhere wakes when there is
something new instead of polling. ``cancel_run`` elsewhere sets the row's cancel
request and notifies; the owner, listening, cancels the run, which closes the
upstream stream and calls the platform's cancel.

A run's owner is the replica whose lease (:mod:`agentdeck.runs._leases`) started it: a
replica killed mid-run leaves no run ``running`` for much longer than a lease. A
replica stopping cleanly hands its runs' final state over before it exits
(:class:`~agentdeck.runs.RunManager`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace

import anyio
from anyio.abc import TaskGroup

from agentdeck.backends.base import Backend
from agentdeck.model import (
    ApprovalRequired,
    ChatEvent,
    ChatRequest,
    PauseKey,
    QuestionAsked,
    TextDelta,
    ToolCall,
)
from agentdeck.runs._run import Run
from agentdeck.runs._snapshot import RunSnapshot
from agentdeck.store.postgres import PostgresStore
from agentdeck.store.postgres_pool import closed_after
from agentdeck.store.postgres_sharing import CANCEL_CHANNEL

logger = logging.getLogger("agentdeck.replicas")

#: how long a run's progress gathers before it is written (one write per window)
PROGRESS_WINDOW = 0.05
#: wait before reconnecting a lost LISTEN connection
_RECONNECT_DELAY = 1.0


class SharedRuns:
    """The :class:`~agentdeck.runs.RunSharing` of a replica on PostgreSQL."""

    def __init__(
        self,
        store: PostgresStore,
        backends: dict[str, Backend],
        task_group: TaskGroup,
        *,
        replica: str,
        progress_window: float = PROGRESS_WINDOW,
    ) -> None:
        self.replica = replica
        self._store = store
        self._backends = backends
        self._task_group = task_group
        self._window = progress_window
        #: runs this replica drives, by id (the ones its cancel listener may cancel)
        self._owned: dict[str, Run] = {}
        #: followers of other replicas' runs, woken by the run's next notification
        self._waiters: dict[str, anyio.Event] = {}

    @classmethod
    @asynccontextmanager
    async def open(
        cls, store: PostgresStore, backends: dict[str, Backend], *, replica: str
    ) -> AsyncIterator[SharedRuns]:
        """Listen for the runs' changes and cancel requests until exit, as ``replica``
        (the id of this process's lease)."""
        async with anyio.create_task_group() as task_group:
            shared = cls(store, backends, task_group, replica=replica)
            listening = anyio.Event()
            task_group.start_soon(shared._listen, listening)
            with anyio.fail_after(30):
                await listening.wait()
            try:
                yield shared
            finally:
                task_group.cancel_scope.cancel()

    # ---- RunSharing ------------------------------------------------------------------

    async def claim(self, run: Run) -> None:
        self._owned[run.id] = run
        self._task_group.start_soon(self._write_progress, run, name=f"progress of {run.id}")
        await self._store.claim_run(run.id, self.replica, run.snapshot().to_json())

    async def hand_over(self, run: Run) -> None:
        self._owned.pop(run.id, None)
        await self._store.write_progress(run.id, run.snapshot().to_json(), final=True)

    async def find(self, run_id: str, owner: str | None) -> Run | None:
        row = await self._store.shared_run(run_id, owner)
        backend = self._backends.get(row["backend"]) if row else None
        if row is None or backend is None:
            return None
        snapshot = RunSnapshot.from_json(row["snapshot"])
        return RemoteRun(self, backend.for_owner(owner), snapshot, owner)

    async def cancel(self, run: Run) -> None:
        assert isinstance(run, RemoteRun)
        await self._store.request_cancel(run.id)
        async for _ in run.changes(math.inf):
            pass  # until the owner's final state arrives

    # ---- followers -------------------------------------------------------------------

    def next_change(self, run_id: str) -> anyio.Event:
        """An event set at the next notification about ``run_id``."""
        event = self._waiters.get(run_id)
        if event is None:
            event = self._waiters[run_id] = anyio.Event()
        return event

    def _wake(self, run_id: str) -> None:
        event = self._waiters.pop(run_id, None)
        if event is not None:
            event.set()

    async def snapshot(self, run_id: str) -> RunSnapshot | None:
        row = await self._store.shared_run(run_id)
        return RunSnapshot.from_json(row["snapshot"]) if row else None

    # ---- background tasks ------------------------------------------------------------

    async def _write_progress(self, run: Run) -> None:
        """Write the run's result whenever it changed, at most once per window."""
        async for _ in run.changes(math.inf):
            await anyio.sleep(self._window)
            if run.done:
                return  # the hand-over writes the end
            try:
                await self._store.write_progress(run.id, run.snapshot().to_json())
            except Exception as exc:  # the next change (or the end) writes it again
                logger.warning("run %s: writing its progress failed: %s", run.id, exc)

    async def _listen(self, listening: anyio.Event) -> None:
        """Dispatch notifications: progress wakes followers, a cancel cancels an owned run.

        A lost connection is reopened; meanwhile notifications may have been missed, so
        every follower is woken to read again and owned runs' cancel requests are re-read.
        """
        while True:
            try:
                connection = await self._store.listener()
            except Exception as exc:
                logger.warning("listening for run changes failed: %s; retrying", exc)
                await anyio.sleep(_RECONNECT_DELAY)
                continue
            try:
                async with closed_after(connection):
                    if listening.is_set():
                        for run_id in list(self._waiters):
                            self._wake(run_id)
                        for run_id in await self._store.cancels_requested(self.replica):
                            self._cancel_owned(run_id)
                    listening.set()
                    async for notice in connection.notifies():
                        if notice.channel == CANCEL_CHANNEL:
                            self._cancel_owned(notice.payload)
                        else:
                            self._wake(notice.payload)
            except Exception as exc:
                logger.warning("the run listener lost its connection: %s; reconnecting", exc)
                await anyio.sleep(_RECONNECT_DELAY)

    def _cancel_owned(self, run_id: str) -> None:
        run = self._owned.get(run_id)
        if run is not None and not run.done:
            run.scope.cancel()


class RemoteRun(Run):
    """A read-only view of a run another replica drives, refreshed from its snapshot.

    It offers what following a run needs (:meth:`changes`, :meth:`waiting_on`,
    :meth:`snapshot`): each new snapshot becomes the events that tell it apart from the
    previous one — the new text, new tool calls, new approvals and questions — so
    progress notifications read the same as for a run of this replica.
    """

    def __init__(
        self, shared: SharedRuns, backend: Backend, snapshot: RunSnapshot, owner: str | None
    ) -> None:
        request = ChatRequest(agent_id=snapshot.agent_id, message="")
        super().__init__(backend, request, owner)
        self.id = snapshot.run_id
        self.started_at = snapshot.started_at
        self._shared = shared
        self._snapshot = replace(
            snapshot, text="", tool_calls=[], pending_approvals=[], pending_questions=[]
        )
        self._apply(snapshot)

    def _apply(self, snapshot: RunSnapshot) -> list[ChatEvent]:
        """Take a newer snapshot; return the events it adds."""
        before = self._snapshot
        new: list[ChatEvent] = []
        if snapshot.text != before.text:
            grown = snapshot.text.startswith(before.text)
            new.append(
                TextDelta(text=snapshot.text[len(before.text) :] if grown else snapshot.text)
            )
        new += [
            ToolCall(id=call.id, name=call.name or "tool", arguments=call.arguments)
            for call in snapshot.tool_calls[len(before.tool_calls) :]
        ]
        known = {PauseKey.of(e) for e in _pauses(before)}
        new += [e for e in _pauses(snapshot) if PauseKey.of(e) not in known]
        self._snapshot = snapshot
        self.status = snapshot.status
        self.error = snapshot.error
        self.finished_at = snapshot.finished_at
        if snapshot.conversation_id:
            self.conversation_id = snapshot.conversation_id
        self.events.extend(new)
        if self.done:
            self.finished.set()
        return new

    async def changes(self, deadline: float) -> AsyncGenerator[list[ChatEvent], None]:
        """Yield what each newer snapshot adds until the run ends or the deadline passes."""
        while not self.done and anyio.current_time() < deadline:
            notified = self._shared.next_change(self.id)
            snapshot = await self._shared.snapshot(self.id)
            batch = self._apply(snapshot) if snapshot else []
            if batch:
                yield batch
            elif not self.done:
                with anyio.move_on_after(deadline - anyio.current_time()):
                    await notified.wait()

    async def settles(self, deadline: float) -> None:
        """Follow the snapshots until the run ends, waits on someone or the deadline
        passes (nothing here sets the events a run of this replica settles by)."""
        async with aclosing(self.changes(deadline)) as batches:
            async for _ in batches:
                if self.waiting_on_someone():
                    return

    def waiting_on(self) -> list[ApprovalRequired | QuestionAsked]:
        return _pauses(self._snapshot) if self.status == "running" else []

    def snapshot(self) -> RunSnapshot:
        return self._snapshot


def _pauses(snapshot: RunSnapshot) -> list[ApprovalRequired | QuestionAsked]:
    """The approvals and questions a snapshot lists as pending."""
    return [*snapshot.pending_approvals, *snapshot.pending_questions]
