"""Writing a run's start and end, the same in both stores but for the driver's
placeholder and how a time is stored.

A run's end is written over the row of its start, or, for a run whose start was never
written (it ended before its id was handed out), as its whole row in one statement; a
new local conversation's first turn is committed with it (see :mod:`agentdeck.store._staged`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from agentdeck.store._staged import Staging, Statement
from agentdeck.store.shared import Pruning, RunEnd, RunStart, now

# Written with SQLite's placeholder; :class:`RunQueries` words them for a driver.
_START = (
    "INSERT INTO runs (id, backend, agent_id, conversation_id, status, message,"
    " started_at, owner, principal) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)"
    " ON CONFLICT (id) DO NOTHING"
)
_END = (
    "UPDATE runs SET status = ?, text = ?, error = ?, finished_at = ?,"
    " conversation_id = COALESCE(?, conversation_id)"
    " WHERE id = ? AND status = 'running'"
)
#: the whole row, its end written over the row of its start if that came first
#: (``excluded`` is the row the statement tried to insert)
_WHOLE = (
    "INSERT INTO runs (status, text, error, finished_at, conversation_id, id,"
    " backend, agent_id, message, started_at, owner, principal)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET status = excluded.status, text = excluded.text,"
    " error = excluded.error, finished_at = excluded.finished_at,"
    " conversation_id = COALESCE(excluded.conversation_id, runs.conversation_id)"
    " WHERE runs.status = 'running'"
)


class RunQueries:
    """The statements writing a run's start and end, with a driver's placeholder
    (``?`` or ``%s``); worded once, when the store's class is defined."""

    def __init__(self, mark: str) -> None:
        self.start, self.end, self.whole = (
            query.replace("?", mark) for query in (_START, _END, _WHOLE)
        )


class RunWrites(Staging):
    """Both stores' ``record_run_start`` and ``record_run_end``. A store gives its
    statements (:attr:`_run_queries`), how it stores a time (:meth:`_time`) and how it
    prunes the run history (:meth:`_prune_runs`)."""

    _run_queries: ClassVar[RunQueries]
    _pruning: Pruning

    if TYPE_CHECKING:

        @staticmethod
        def _time(moment: datetime) -> Any:
            """``moment`` as the store's ``runs`` table holds it."""
            ...

        async def _prune_runs(self) -> None: ...

    async def record_run_start(self, start: RunStart) -> None:
        await self._commit(
            (
                self._run_queries.start,
                (
                    start.run_id,
                    start.backend,
                    start.agent_id,
                    start.conversation_id,
                    start.message,
                    self._time(start.started_at),
                    start.owner,
                    start.principal,
                ),
            )
        )

    async def record_run_end(self, end: RunEnd) -> bool:
        # a new local conversation's first turn goes in the same transaction (see _staged)
        wrote = await self._commit_end(self._end_statement(end), end.conversation_id)
        if self._pruning.ended():
            await self._prune_runs()
        return wrote > 0

    def _end_statement(self, end: RunEnd) -> Statement:
        ended = (end.status, end.text, end.error, self._time(now()))
        start = end.start
        if start is None:
            return self._run_queries.end, (*ended, end.conversation_id, end.run_id)
        return self._run_queries.whole, (
            *ended,
            end.conversation_id or start.conversation_id,
            end.run_id,
            start.backend,
            start.agent_id,
            start.message,
            self._time(start.started_at),
            start.owner,
            start.principal,
        )
