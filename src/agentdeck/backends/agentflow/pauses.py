"""Chats that AgentFlow pauses by ending the stream: wait for the answer, then read on.

The reference does not say whether a chat stream stays open while a tool call waits for
approval (or the agent waits on a question), or ends with a final ``done`` whose status
is ``awaiting_approval``/``awaiting_input``. The first needs nothing special. For the
second, the chat generator does not end with the stream: it lists the pending approvals
and questions, waits until this backend answers them (``respond_to_approval``,
``respond_to_approvals``, ``cancel_approval``, ``answer_question``; in-chat
elicitation answers through the same methods), then yields the agent's continuation.
So the run stays ``running`` while paused, and ``get_run`` ends on the final answer.

The continuation comes from the respond answer when it carries one (assumed: under
``continuation``, shaped like the ``stream: false`` chat answer); otherwise from the
assistant messages the conversation gained after the pause, polled for up to
``stream_timeout``. Cancelling the run cancels the wait.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio

from agentdeck.backends.agentflow.api import API, AgentFlowApi, segment
from agentdeck.backends.agentflow.events import EVENTS, StreamState, one_piece_events, text_of
from agentdeck.backends.kit import (
    AgentdeckError,
    ApprovalRequired,
    ApprovalResolved,
    ChatEvent,
    Done,
    PauseKey,
    QuestionAsked,
    RunStarted,
    StreamWarning,
    TextDelta,
)

#: Seconds between reads of the conversation while waiting for the continuation: the
#: first few come quickly (the agent may be done at once), then less often.
_POLL_INTERVALS = (0.1, 0.2, 0.5, 1.0, 2.0)

Pause = ApprovalRequired | QuestionAsked


@dataclass
class _Answer:
    given: anyio.Event = field(default_factory=anyio.Event)
    body: Any = None


class PauseBoard:
    """The pauses this backend's chats may wait out, and the answers given to them.

    A chat expects a pause as soon as it sees it, before anyone can answer it, so an
    answer that comes before the stream ends is not lost.
    """

    def __init__(self) -> None:
        self._answers: dict[PauseKey, _Answer] = {}

    def expect(self, key: PauseKey) -> None:
        self._answers.setdefault(key, _Answer())

    def answered(self, key: PauseKey, body: Any) -> None:
        """Record the platform's answer to ``key`` (ignored if no chat waits on it)."""
        answer = self._answers.get(key)
        if answer is not None and not answer.given.is_set():
            answer.body = body
            answer.given.set()

    async def wait(self, keys: Iterable[PauseKey]) -> list[Any]:
        """The platform's answers to every pause in ``keys``, once all were answered."""
        bodies = []
        for key in keys:
            answer = self._answers.setdefault(key, _Answer())
            await answer.given.wait()
            bodies.append(answer.body)
        return bodies

    def forget(self, keys: Iterable[PauseKey]) -> None:
        for key in keys:
            self._answers.pop(key, None)


@dataclass
class ChatPauses:
    """What one chat has been paused on, and what it needs to read the continuation."""

    pending: dict[PauseKey, Pause] = field(default_factory=dict)
    #: every pause this chat expected, to forget when it ends
    seen: set[PauseKey] = field(default_factory=set)
    #: how many messages the conversation had when the first pending pause came
    messages_before: int | None = None
    #: the text streamed since the last continuation (may be stored as a message too)
    text: str = ""
    #: whether an event other than a pause came after the last pause
    moved_on: bool = False


class PausedRuns:
    """The chats of one backend that wait out pauses ending their stream.

    The chat notes each event here before yielding it, and the answering methods
    (approvals, questions) report each answer here, so a chat the stream left paused can
    wait for its answers and read on.
    """

    def __init__(self, api: AgentFlowApi, *, stream_timeout: float) -> None:
        self._api = api
        self._stream_timeout = stream_timeout
        self._board = PauseBoard()

    def answered(self, key: PauseKey, body: Any) -> None:
        """Hand the platform's answer to pause ``key`` to its chat."""
        self._board.answered(key, body)

    def forget(self, pauses: ChatPauses) -> None:
        """Drop what a finished chat expected, answered or not."""
        self._board.forget(pauses.seen)

    async def note(self, pauses: ChatPauses, state: StreamState, event: ChatEvent) -> None:
        """Track a chat event before it is yielded (so before anyone can answer a pause)."""
        if isinstance(event, ApprovalRequired | QuestionAsked):
            key = PauseKey.of(event)
            self._board.expect(key)
            pauses.seen.add(key)
            if not pauses.pending and state.conversation_id:
                pauses.messages_before = await self._message_count(state.conversation_id)
            pauses.pending[key] = event
            pauses.moved_on = False
        elif isinstance(event, ApprovalResolved):
            pauses.pending.pop(PauseKey("approval", event.approval_id), None)
        elif not isinstance(event, StreamWarning | RunStarted):
            pauses.moved_on = True
            if isinstance(event, TextDelta):
                pauses.text += event.text

    async def wait_out(self, state: StreamState, pauses: ChatPauses) -> AsyncIterator[ChatEvent]:
        """After a stream ended on a pause: list it, wait for the answers, yield the rest."""
        while state.paused:
            if not pauses.pending:
                for event in await self._pending_approvals(state):
                    await self.note(pauses, state, event)
                    yield event
                if not pauses.pending:
                    yield StreamWarning(
                        message="AgentFlow paused the run without naming the approval or "
                        "question it waits on; answer it in AgentFlow, then read the "
                        "conversation with get_conversation."
                    )
                    yield Done(conversation_id=state.conversation_id, details={"status": "paused"})
                    return
            elif pauses.moved_on:
                # events came after the pauses: list them again, last, so the run shows them
                for event in pauses.pending.values():
                    yield event
            waiting = dict(pauses.pending)
            answers = await self._board.wait(waiting)
            for event, answer in zip(waiting.values(), answers, strict=True):
                if isinstance(event, ApprovalRequired):
                    status = text_of(answer, "status")
                    yield ApprovalResolved(approval_id=event.approval_id, status=status)
            continuation = next(
                (
                    a["continuation"]
                    for a in answers
                    if isinstance(a, dict) and isinstance(a.get("continuation"), dict)
                ),
                None,
            )
            if continuation is None:
                continuation = await self._written_after(state, pauses)
                if continuation is None:
                    yield StreamWarning(
                        message=f"AgentFlow wrote no answer within "
                        f"{self._stream_timeout:g} s after the pause was answered; "
                        "get_conversation shows it once it does."
                    )
                    continuation = {"status": "completed"}
            state.paused = False
            next_pauses = ChatPauses(seen=pauses.seen)
            for event in one_piece_events(state, continuation):
                await self.note(next_pauses, state, event)
                yield event
            pauses.pending, pauses.messages_before = next_pauses.pending, None
            pauses.text, pauses.moved_on = "", False

    async def _pending_approvals(self, state: StreamState) -> list[ChatEvent]:
        """The approvals AgentFlow lists as pending for this chat's call (questions cannot
        be listed)."""
        if not state.conversation_id:
            return []
        try:
            found = await self._api.read_list(
                "GET",
                f"{API}/approvals/pending",
                "approvals",
                {"conversation_id": state.conversation_id},
            )
        except AgentdeckError:
            return []
        events: list[ChatEvent] = []
        for raw in found:
            if text_of(raw, "conversation_id") not in (None, state.conversation_id):
                continue
            if state.call_id and text_of(raw, "call_id") not in (None, state.call_id):
                continue
            events += [
                e
                for e in EVENTS["approval_required"](state, raw)
                if isinstance(e, ApprovalRequired)
            ]
        return events

    async def _messages(self, conversation_id: str) -> list[dict[str, Any]]:
        return await self._api.read_list(
            "GET", f"{API}/conversations/{segment(conversation_id)}/messages", "messages", {}
        )

    async def _message_count(self, conversation_id: str) -> int | None:
        try:
            return len(await self._messages(conversation_id))
        except AgentdeckError:
            return None

    async def _written_after(self, state: StreamState, pauses: ChatPauses) -> dict[str, Any] | None:
        """The continuation as a one-piece chat answer, from the assistant messages the
        conversation gained after the pause; None if none came within ``stream_timeout``.

        Text the run already streamed is not repeated, should the platform store the part
        before the pause as a message of its own or at the start of the continuation.
        """
        if state.conversation_id is None or pauses.messages_before is None:
            return None
        with anyio.move_on_after(self._stream_timeout):
            for attempt in itertools.count():
                new = (await self._messages(state.conversation_id))[pauses.messages_before :]
                replies = [m for m in new if text_of(m, "role") in (None, "assistant")]
                texts = [unseen_text(m, pauses.text) for m in replies]
                if any(texts):
                    return {
                        "call_id": state.call_id,
                        "conversation_id": state.conversation_id,
                        "message_id": text_of(replies[-1], "id", "message_id"),
                        "response": "\n\n".join(t for t in texts if t),
                        "tool_calls": [
                            call
                            for m in replies
                            if isinstance(m.get("tool_calls"), list)
                            for call in m["tool_calls"]
                        ],
                        "status": "completed",
                    }
                await anyio.sleep(_POLL_INTERVALS[min(attempt, len(_POLL_INTERVALS) - 1)])
        return None


def unseen_text(message: dict[str, Any], streamed: str) -> str:
    """A message's text without the part the run already streamed before the pause."""
    content = message.get("content", message.get("text"))
    if not isinstance(content, str):
        return ""
    if streamed.strip() and content.strip().startswith(streamed.strip()):
        content = content.strip()[len(streamed.strip()) :]
    return content.strip()
