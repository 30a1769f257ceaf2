"""A run: one chat driven in the server's task group, its events so far, and a way to
wait for more.

The run manager (:mod:`agentdeck.runs._manager`) starts and ends runs; a follower (the
``chat`` tool, ``get_run``, a task) waits on one with :meth:`Run.changes` or
:meth:`Run.settles` and reads what it produced with :meth:`Run.snapshot`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from datetime import UTC, datetime
from typing import Any

import anyio

from agentdeck.backends.base import Backend
from agentdeck.http import without_nul
from agentdeck.model import (
    ApprovalRequired,
    ApprovalResolved,
    Artifact,
    ChatEvent,
    ChatRequest,
    Done,
    PauseKey,
    QuestionAsked,
    ReasoningDelta,
    RunStarted,
    StreamWarning,
    TextDelta,
    ToolCall,
    ToolResult,
)
from agentdeck.runs._snapshot import RunSnapshot, RunStatus, ToolActivity
from agentdeck.store import RunStart

#: Events that leave a run waiting on a human; any other event means it moved on.
_WAITING_EVENTS = (ApprovalRequired, ApprovalResolved, QuestionAsked, StreamWarning, RunStarted)


class _Signal:
    """Wakes whoever waits for the next time something happens. Its event is made only
    when someone waits: most events of a fast stream arrive while nobody does."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def set(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, seconds: float) -> None:
        """Return at the next :meth:`set`, or after ``seconds``."""
        if self._event is None:
            self._event = anyio.Event()
        event = self._event
        with anyio.move_on_after(seconds):
            await event.wait()


class Run:
    """One chat run: its events so far, its status, and a way to wait for more."""

    def __init__(self, backend: Backend, request: ChatRequest, owner: str | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.backend = backend
        self.request = request
        self.status: RunStatus = "running"
        self.events: list[ChatEvent] = []
        self.conversation_id = request.conversation_id
        self.upstream_run_id: str | None = None
        self.error: str | None = None
        self.started_at = datetime.now(UTC)
        self.finished_at: datetime | None = None
        self.finished_monotonic: float | None = None
        self.scope = anyio.CancelScope()
        #: pauses the user was asked about here (:meth:`mark_asked`)
        self.asked: set[PauseKey] = set()
        #: pauses someone answered (here or through respond_to_approval/answer_question)
        self.answered: set[PauseKey] = set()
        #: set at the next change
        self._changed = _Signal()
        #: set when the run ends or pauses on someone
        self._settled = _Signal()
        #: its row in the run history as of its start (set by the run manager)
        self.start: RunStart
        #: whether its row was written before it ended (:meth:`RunManager.publish`)
        self.published = False
        #: whether an approval or a question came: most runs never pause, and then
        #: nothing is waited on without reading the events
        self._paused = False
        self.finished = anyio.Event()

    @property
    def done(self) -> bool:
        return self.status != "running"

    def add(self, event: ChatEvent) -> None:
        event = without_nul(event, self.events)
        self.events.append(event)
        self._changed.set()
        if not isinstance(event, TextDelta):  # most events are an answer's deltas
            self._note(event)

    def _note(self, event: ChatEvent) -> None:
        """What an event other than a text delta says about the run."""
        if isinstance(event, RunStarted | Done) and event.conversation_id:
            self.conversation_id = event.conversation_id
        if isinstance(event, RunStarted) and event.upstream_run_id:
            self.upstream_run_id = event.upstream_run_id
        if isinstance(event, ApprovalRequired | QuestionAsked):
            self._paused = True
            self._settled.set()

    def finish(self, status: RunStatus, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.finished_at = datetime.now(UTC)
        self.finished_monotonic = time.monotonic()
        self._changed.set()
        self._settled.set()
        self.finished.set()

    async def settles(self, deadline: float) -> None:
        """Return when the run has ended, waits on someone, or the deadline passed.

        What a follower that streams nothing waits for: it wakes once, not at every event.
        """
        while not self.done and not self.waiting_on_someone():
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return
            await self._settled.wait(remaining)

    async def changes(self, deadline: float) -> AsyncGenerator[list[ChatEvent], None]:
        """Yield each batch of new events until the run ends or the deadline passes.

        A batch is everything that arrived since the previous one was handed out, so a
        consumer that is slow (writing a notification) gets the deltas that piled up
        meanwhile together. The deadline is checked before each batch: a stream that
        never pauses cannot keep the caller past its wait budget.
        """
        seen = 0
        while True:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return
            if len(self.events) > seen:
                batch, seen = self.events[seen:], len(self.events)
                yield batch
                continue
            if self.done:
                return
            await self._changed.wait(remaining)

    def unasked(self) -> list[PauseKey]:
        """The pauses the run waits on that nobody was asked about nor answered yet."""
        keys = [PauseKey.of(e) for e in self.waiting_on()]
        return [key for key in keys if key not in self.asked and key not in self.answered]

    def outstanding(self) -> list[ApprovalRequired | QuestionAsked]:
        """The pauses the run waits on that nobody answered yet, oldest first."""
        return [e for e in self.waiting_on() if PauseKey.of(e) not in self.answered]

    def mark_asked(self, keys: Iterable[PauseKey]) -> None:
        """The user was asked about these pauses: this run's followers do not ask again."""
        self.asked.update(keys)

    def mark_answered(self, key: PauseKey) -> None:
        """Someone answered this pause (here, or through a tool): the run is followed on
        instead of returned as waiting on it."""
        self.answered.add(key)

    def waiting_on_someone(self) -> bool:
        """Whether the run is paused on an approval or question nobody has answered yet."""
        return any(PauseKey.of(e) not in self.answered for e in self.waiting_on())

    def waiting_on(self) -> list[ApprovalRequired | QuestionAsked]:
        """The approvals and questions the run is paused on, oldest first."""
        if not self._paused or self.status != "running":
            return []
        waiting: dict[PauseKey, ApprovalRequired | QuestionAsked] = {}
        for event in self.events:
            if isinstance(event, ApprovalRequired | QuestionAsked):
                waiting[PauseKey.of(event)] = event
            elif isinstance(event, ApprovalResolved):
                waiting.pop(PauseKey("approval", event.approval_id), None)
            if not isinstance(event, _WAITING_EVENTS):
                # the agent moved on: whatever it was waiting for has been answered
                waiting.clear()
        return list(waiting.values())

    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    def snapshot(self) -> RunSnapshot:
        """What the run has produced so far, or in full once it ended."""
        tools: dict[str, ToolActivity] = {}
        anonymous: list[ToolActivity] = []
        artifacts: list[Artifact] = []
        usage: dict[str, Any] | None = None
        details: dict[str, Any] = {}
        text: list[str] = []
        reasoning: list[str] = []
        warnings: list[str] = []
        for event in self.events:  # one pass, the most frequent kinds first
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
            elif isinstance(event, StreamWarning):
                warnings.append(event.message)
            elif isinstance(event, ToolCall):
                activity = ToolActivity(id=event.id, name=event.name, arguments=event.arguments)
                if event.id:
                    tools[event.id] = activity
                else:
                    anonymous.append(activity)
            elif isinstance(event, ToolResult):
                known = tools.get(event.id or "")
                if known is not None:
                    known.result = event.result
                else:
                    anonymous.append(
                        ToolActivity(id=event.id, name=event.name, result=event.result)
                    )
            elif isinstance(event, Done):
                artifacts.extend(event.artifacts)
                usage = event.usage or usage
                details.update(event.details)
        waiting = self.waiting_on()
        return RunSnapshot(
            run_id=self.id,
            backend=self.backend.name,
            agent_id=self.request.agent_id,
            status=self.status,
            started_at=self.started_at,
            conversation_id=self.conversation_id,
            text="".join(text),
            reasoning="".join(reasoning) or None,
            tool_calls=[*tools.values(), *anonymous],
            pending_approvals=[e for e in waiting if isinstance(e, ApprovalRequired)],
            pending_questions=[e for e in waiting if isinstance(e, QuestionAsked)],
            artifacts=artifacts,
            usage=usage,
            error=self.error,
            warnings=warnings,
            details=details,
            finished_at=self.finished_at,
        )
