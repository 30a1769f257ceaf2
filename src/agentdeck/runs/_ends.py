"""Writing a run's end: to the run history, then to the replicas following it.

A run's end is written before anyone is told the run ended, so the history never says
less than a client heard. When it cannot be written — a SQLite file another program
holds locked, PostgreSQL out of reach, any exception at all — the run ends anyway, in
memory, with a warning that says its end is not saved yet, and the write is retried in
the background with a capped backoff until the database takes it: no row is left
``running`` after an outage, and no store error reaches the task group that runs chats
(which would end the server).

The write never changes a row that is already final. If another process ended the run
first — it took this one for stopped, this one's lease having run out while the database
was out of reach (:mod:`agentdeck.runs._leases`) — the run is reported as that process
reported it: failed. A run's final status never changes once reported.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import anyio
from anyio.abc import TaskGroup

from agentdeck.model import ChatEvent, StreamWarning
from agentdeck.runs._snapshot import RunStatus
from agentdeck.store import RunEnd, RunStart, Store

logger = logging.getLogger("agentdeck.runs")

#: the error of a run another process ended first, taking this one for stopped
TAKEN_OVER = (
    "this server lost the database for longer than its lease, and another one took the "
    "chat as stopped; send the message again."
)
#: backoff between retries of an unwritten end: doubling from the first to the last
_FIRST_RETRY = 0.5
_LAST_RETRY = 10.0
#: longest one attempt to write an end may take before it counts as failed
_WRITE_TIMEOUT = 15.0
#: longest the first attempt may keep the run's followers waiting: past it the run ends
#: in memory (saying its end is not saved yet) and the write goes on in the background
_FIRST_WRITE_TIMEOUT = 2.0


class EndingRun(Protocol):
    """What writing a run's end needs of the run (an :class:`agentdeck.runs.Run`)."""

    id: str
    start: RunStart
    status: RunStatus
    error: str | None
    conversation_id: str | None

    def text(self) -> str: ...

    def add(self, event: ChatEvent) -> None: ...

    def finish(self, status: RunStatus, error: str | None = None) -> None: ...


RunT = TypeVar("RunT", bound=EndingRun)


class EndWriter(Generic[RunT]):
    """Writes runs' ends, and keeps retrying those that could not be written."""

    def __init__(
        self,
        store: Store,
        hand_over: Callable[[RunT], Awaitable[None]] | None,
        task_group: TaskGroup,
    ) -> None:
        """``hand_over`` makes a run's final state what every replica sees; None with one
        replica, where the run in memory is what everyone sees."""
        self._store = store
        self._hand_over_run = hand_over
        self._task_group = task_group

    async def end(self, run: RunT, status: RunStatus, error: str | None) -> None:
        """Write the run's end, then finish it (releasing whoever waits on it); never raises.

        Each attempt is shielded: a run ended because the server is stopping still records
        that (one scope per attempt, shielding and timing it: this runs at every chat).
        """
        recorded = await self._attempt(
            lambda: self._record(run, status, error),
            run,
            seconds=_FIRST_WRITE_TIMEOUT,
            shield=True,
        )
        if recorded is False:
            status, error = "failed", TAKEN_OVER
        elif isinstance(recorded, str):
            run.add(
                StreamWarning(
                    message="the end of this run is not saved to the database yet "
                    f"({recorded}); agentdeck keeps trying."
                )
            )
        run.finish(status, error)
        hand_over = False
        if self._hand_over_run is not None:
            handed = await self._attempt(lambda: self._hand_over(run), run, shield=True)
            hand_over = isinstance(handed, str)
        record = isinstance(recorded, str)
        if record or hand_over:
            self._task_group.start_soon(self._retry, run, record, hand_over, name=f"end {run.id}")

    async def _record(self, run: RunT, status: RunStatus, error: str | None) -> bool:
        return await self._store.record_run_end(
            RunEnd(run.id, status, run.text(), error, run.conversation_id, run.start)
        )

    async def _hand_over(self, run: RunT) -> bool:
        assert self._hand_over_run is not None  # only called with replicas to tell
        await self._hand_over_run(run)
        return True

    async def _attempt(
        self,
        write: Callable[[], Awaitable[bool]],
        run: RunT,
        *,
        seconds: float = _WRITE_TIMEOUT,
        shield: bool = False,
    ) -> bool | str:
        """What ``write`` returned, or why it failed: it raised, or took too long.
        ``shield``: cancelling the caller (the server stopping) does not stop it."""
        failure = None
        with anyio.move_on_after(seconds, shield=shield):
            try:
                return await write()
            except Exception as exc:
                failure = " ".join(str(exc).split())[:300] or type(exc).__name__
        failure = failure or f"no answer within {seconds:g} s"
        logger.warning("run %s: writing its end failed: %s", run.id, failure)
        return failure

    async def _retry(self, run: RunT, record: bool, hand_over: bool) -> None:
        """Write what :meth:`end` could not, until it lands (or the server stops; then the
        next process fails the row, its owner having given its lease back)."""
        delay = _FIRST_RETRY
        while record or hand_over:
            await anyio.sleep(delay)
            delay = min(delay * 2, _LAST_RETRY)
            if record:
                recorded = await self._attempt(
                    lambda: self._record(run, run.status, run.error), run
                )
                if isinstance(recorded, str):
                    continue
                record = False
                if not recorded:
                    logger.warning("run %s: another process had ended it meanwhile", run.id)
            if hand_over:
                hand_over = isinstance(await self._attempt(lambda: self._hand_over(run), run), str)
        logger.warning("run %s: its end is written now", run.id)
