"""The run manager: every chat is a run with an id that can outlive the tool call.

A run drives a backend's chat stream in the server's task group and collects its
events. The ``chat`` tool waits on it for its wait budget; when the budget ends
first, the caller gets what has streamed so far and the ``run_id`` to use with
``get_run`` and ``cancel_run``. Cancelling a run cancels its task, which closes the
upstream stream, then calls the platform's cancel endpoint where there is one.
Finished runs are kept for a bounded time and count. Each run is also written to
the run history in the store, which is what ``list_conversations`` reads for
platforms that have no conversation API; its end through :mod:`agentdeck.runs._ends`,
which retries it while the database is out of reach. Nothing that goes wrong in a
run's task (a backend, a decoder, the store) leaves it: the run fails instead, and
the server goes on.

A run belongs to the principal that started it (``owner``; None without OAuth, when
every run is everyone's): finding another principal's run fails exactly as finding one
that never existed, down to the path taken (see :meth:`RunManager.find`).

Replicas sharing a PostgreSQL database also share their runs through a
:class:`RunSharing` (:mod:`agentdeck.runs.replicas`): a run is claimed by the replica
that starts it, handed over when it ends, found from any replica, and cancelled
through its owner. With one process (SQLite) that is :class:`NoSharing`, which
does nothing, so the single-replica path costs nothing extra.

MCP tasks (SEP-1686) are the protocol-level form of this; when the SDK implements
them, a run maps onto a task.
"""

from __future__ import annotations

import bisect
import logging
import time
from contextlib import aclosing
from typing import Protocol, cast

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from agentdeck.backends.base import Backend, CancelCapable, ChatCapable
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import ChatRequest, Done, ErrorEvent, PauseKey, RunStarted, StreamWarning
from agentdeck.notices import FOR_CLIENT
from agentdeck.runs._ends import EndWriter
from agentdeck.runs._leases import fail_left_running
from agentdeck.runs._loop_hold import LoopHold
from agentdeck.runs._run import Run
from agentdeck.runs._snapshot import RunStatus
from agentdeck.store import RunStart, Store

logger = logging.getLogger("agentdeck.runs")

_UPSTREAM_CANCEL_TIMEOUT = 10.0
#: the error of runs a previous server process left running (it was killed mid-run)
SERVER_STOPPED = "the server stopped during this run; send the message again."
#: longest a run reads events without letting other tasks (its followers) run
_MAX_BUSY_SECONDS = 0.01


class RunSharing(Protocol):
    """How the runs of one replica are seen and cancelled from the others."""

    async def claim(self, run: Run) -> None:
        """The run (in the run history already) is this replica's; others may follow it."""
        ...

    async def hand_over(self, run: Run) -> None:
        """The run ended: make its final state what every replica sees."""
        ...

    async def find(self, run_id: str, owner: str | None) -> Run | None:
        """A run of ``owner`` another replica drives or drove, as a read-only view; None if
        unknown or another principal's."""
        ...

    async def cancel(self, run: Run) -> None:
        """Have the owner of a run found with :meth:`find` cancel it; return when it ended."""
        ...


class NoSharing:
    """One replica: every run is in this process's memory."""

    async def claim(self, run: Run) -> None:
        return None

    async def hand_over(self, run: Run) -> None:
        return None

    async def find(self, run_id: str, owner: str | None) -> Run | None:
        return None

    async def cancel(self, run: Run) -> None:
        raise AssertionError("a single replica has no remote runs to cancel")


class RunManager:
    """Starts, finds, waits on and cancels runs; keeps finished ones for a while."""

    def __init__(
        self,
        task_group: TaskGroup,
        store: Store,
        *,
        keep_seconds: float,
        keep_count: int,
        owner: str | None = None,
        sharing: RunSharing | None = None,
    ) -> None:
        self._task_group = task_group
        self._store = store
        self._owner = owner
        self._sharing: RunSharing = sharing or NoSharing()
        # one replica has nobody to hand a run's end over to
        hand_over = sharing.hand_over if sharing is not None else None
        self._ends: EndWriter[Run] = EndWriter(store, hand_over, task_group)
        self._keep_seconds = keep_seconds
        self._keep_count = keep_count
        self._runs: dict[str, Run] = {}
        #: the finished runs of ``_runs``, oldest end first: pruning reads only their head
        self._finished: list[Run] = []

    async def recover(self) -> None:
        """Mark the runs a previous process left ``running`` as failed: runs live in the
        memory of the process that drives them, so such a row can never finish. A database
        that does not answer now is no reason not to start: the next process tries again."""
        await fail_left_running(
            self._store.fail_unfinished_runs, SERVER_STOPPED, whose="a previous server"
        )

    async def start(self, backend: Backend, request: ChatRequest, owner: str | None) -> Run:
        """Start a run of ``owner``. Its row is written to the run history before its id
        is handed out while it runs (:meth:`publish`), else whole, with its end: a chat
        that ends within its wait writes the history once."""
        self._prune()
        run = Run(backend, request, owner)
        run.start = RunStart(
            run_id=run.id,
            backend=backend.name,
            agent_id=request.agent_id,
            conversation_id=request.conversation_id,
            message=request.message,
            owner=self._owner,
            principal=owner,
            started_at=run.started_at,
        )
        self._runs[run.id] = run
        self._task_group.start_soon(self._run_to_end, run, name=f"run {run.id}")
        return run

    async def publish(self, run: Run) -> None:
        """Write the row of a run still running, before its id is handed out, and share
        the run with the other replicas, which may then be asked about it. Once per run;
        nothing for a run that ended (its end wrote the row) or another replica's.

        A database that does not take it does not fail the call: the run goes on here,
        says its start is not saved yet, and its end writes the whole row.
        """
        if run.published or run.done or self._runs.get(run.id) is not run:
            return
        run.published = True
        try:
            # a new conversation's staged messages first: its id is handed out with the run's
            await self._store.write_staged(run.conversation_id)
            await self._store.record_run_start(run.start)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            logger.warning("run %s: writing its start failed: %s", run.id, reason)
            run.add(
                StreamWarning(
                    message=f"this run is not saved to the database yet ({reason}); its end "
                    "will be."
                )
            )
            return
        if run.status != "running":
            return  # it ended meanwhile: its end is what the replicas read
        try:
            await self._sharing.claim(run)
        except Exception as exc:  # followed from here only until the database answers again
            logger.warning("run %s: sharing it with the other replicas failed: %s", run.id, exc)

    async def find(self, run_id: str, owner: str | None) -> Run:
        """A run of ``owner`` in this process or, with replicas, in any replica. Another
        principal's run here takes the same way as an unknown id (on to the other replicas,
        whose rows it does not match either), so the answer and its timing are the same."""
        run = self._runs.get(run_id)
        if run is None or (owner is not None and run.owner != owner):
            run = await self._sharing.find(run_id, owner)
        if run is None:
            raise self._unknown(run_id)
        return run

    def _unknown(self, run_id: str) -> InvalidInputError:
        return InvalidInputError(
            f"there is no run '{run_id}'.",
            hint=(
                f"Runs are kept for {self._keep_seconds:g} s after they finish "
                f"(at most {self._keep_count}); start a new chat."
            ),
        )

    def mark_answered(self, backend: str, key: PauseKey) -> None:
        """Note that a pause of ``backend`` was answered (through a tool), so runs waiting
        on it are followed on instead of returned as waiting."""
        for run in self._runs.values():
            if run.backend.name == backend and not run.done:
                run.mark_answered(key)

    async def cancel(self, run: Run) -> None:
        """Cancel a run and wait until it has released its upstream stream."""
        if self._runs.get(run.id) is not run:
            await self._sharing.cancel(run)  # another replica's: its owner cancels it
        elif not run.done:
            run.scope.cancel()
        await run.finished.wait()

    async def _run_to_end(self, run: Run) -> None:
        """Drive the run and end it, whatever happens: no exception leaves this task (it
        would end the server), and ``finished`` is always set. If the server stops the run
        (its task group cancelled from outside the run's own scope), it still records
        that and hands its final state over before the server exits."""
        status: RunStatus = "cancelled"
        error: str | None = "The server stopped during this run."
        try:
            status, error = await self._drive(run)
        except Exception:
            logger.exception("run %s crashed", run.id)
            status, error = (
                "failed",
                "agentdeck failed unexpectedly; the server log has the details.",
            )
        finally:
            if not run.done:
                await self._ends.end(run, status, error)
            bisect.insort(self._finished, run, key=_ended_at)
        if run.status == "cancelled":
            await self._cancel_upstream(run)

    async def _drive(self, run: Run) -> tuple[RunStatus, str | None]:
        """Read the run's events to their end; its final status and error."""
        backend = run.backend
        chat = cast(ChatCapable, backend).chat  # the caller of start() checked it can chat
        failure: str | None = None
        with run.scope:
            try:
                hold = LoopHold(_MAX_BUSY_SECONDS)
                # closed here, in this task, even when cancelled between events: a stream
                # may hold resources (a connection, the local backend's conversation turn)
                async with aclosing(chat(run.request)) as events:
                    async for event in events:
                        run.add(event)
                        if run.published and isinstance(event, RunStarted):
                            # a conversation begun after the run was handed out goes out now
                            await self._store.write_staged(event.conversation_id)
                        if isinstance(event, ErrorEvent):
                            failure = event.message
                        elif isinstance(event, StreamWarning):
                            logger.warning(
                                "run %s on backend %s: %s",
                                run.id,
                                backend.name,
                                event.message,
                                extra=FOR_CLIENT,
                            )
                        # a stream that yields without awaiting (echo, a big buffered read)
                        # must not hold the event loop past its followers' wait budgets
                        await hold.bound()
            except AgentdeckError as exc:
                failure = str(exc)
            except Exception:
                logger.exception("run %s on backend %s crashed", run.id, backend.name)
                failure = (
                    f"backend '{backend.name}': agentdeck failed unexpectedly while reading the "
                    "answer; the server log has the details."
                )
        status: RunStatus
        if run.scope.cancelled_caught:
            status, failure = "cancelled", "The run was cancelled."
        elif failure is not None:
            status = "failed"
        elif not any(isinstance(e, Done) for e in reversed(run.events)):  # Done comes last
            status = "failed"
            failure = f"backend '{backend.name}': the answer ended without finishing."
        else:
            status = "completed"
        return status, failure

    async def _cancel_upstream(self, run: Run) -> None:
        backend = run.backend
        if run.upstream_run_id is None or not isinstance(backend, CancelCapable):
            return
        with anyio.move_on_after(_UPSTREAM_CANCEL_TIMEOUT, shield=True):
            try:
                await backend.cancel_chat(run.upstream_run_id)
            except Exception as exc:
                logger.warning("cancelling run %s upstream failed: %s", run.id, exc)

    def _prune(self) -> None:
        """Forget the finished runs past their keep time, and the oldest finished ones
        while there are more runs than the keep count. Runs at every chat, so it reads
        only the oldest ends, not every run kept."""
        now = time.monotonic()
        excess = len(self._runs) - self._keep_count
        while self._finished:
            oldest = self._finished[0]
            if excess <= 0 and now - _ended_at(oldest) <= self._keep_seconds:
                return
            del self._finished[0]
            self._runs.pop(oldest.id, None)
            excess -= 1


def _ended_at(run: Run) -> float:
    return run.finished_monotonic or 0.0
