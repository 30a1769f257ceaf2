"""A chat turn with an A2A agent: one task, followed to its end, questions included.

The message goes out with ``SendStreamingMessage`` when the card says the agent streams
(its status and artifact updates arrive as they happen), else with ``SendMessage``, which
answers when the task has ended or paused: one round trip, as any A2A client makes. An
agent may answer sooner, with the task still working; that task is then read with
``GetTask`` until it ends: at once, then less and less often. (Asking for the task at
once, ``returnImmediately``, would name it before the agent finished, so a cancel could
reach it, but costs every chat a second round trip and the polling's delay; a run
cancelled while ``SendMessage`` waits closes the request, as for Make.) Either way the
task's state decides the end:

- ``completed`` (or a plain message instead of a task): the turn is done;
- ``input-required``: the agent's question is a pending question of the run; the chat
  waits for :meth:`Questions.answer` and sends the answer as the next message of the
  same task and context, then follows the task on;
- ``auth-required``, ``failed``, ``rejected``, ``canceled``: the run fails, with what
  the agent said.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
from a2a.types import Message, Part, Role, SendMessageConfiguration, SendMessageRequest, TaskState

from agentdeck.backends.a2a.events import ENDED, PAUSED, TaskReader, state_name
from agentdeck.backends.a2a.peer import Peer
from agentdeck.backends.kit import (
    SECRETS,
    AuthenticationError,
    ChatEvent,
    Done,
    InvalidInputError,
    QuestionAsked,
    UpstreamError,
    UpstreamTimeoutError,
)

#: Seconds between GetTask reads of a task still working: at once, then less often.
_POLL_INTERVALS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
_NO_QUESTION = "The agent needs more input to go on."


@dataclass
class _Waiting:
    given: anyio.Event = field(default_factory=anyio.Event)
    answer: str = ""


class Questions:
    """The questions this backend's chats wait on, by question id (``<agent>/<task id>``).

    A chat expects its question before it yields it, so an answer given at once is not lost.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiting] = {}

    def expect(self, question_id: str) -> None:
        self._waiting[question_id] = _Waiting()

    def answer(self, question_id: str, answer: str) -> bool:
        """Hand ``answer`` to the chat waiting on the question; False if none waits."""
        waiting = self._waiting.get(question_id)
        if waiting is None or waiting.given.is_set():
            return False
        waiting.answer = answer
        waiting.given.set()
        return True

    async def wait(self, question_id: str) -> str:
        waiting = self._waiting[question_id]
        await waiting.given.wait()
        return waiting.answer

    def forget(self, question_id: str) -> None:
        self._waiting.pop(question_id, None)


def user_message(text: str, *, context_id: str | None, task_id: str | None = None) -> Message:
    return Message(
        role=Role.ROLE_USER,
        message_id=uuid.uuid4().hex,
        parts=[Part(text=text)],
        context_id=context_id or "",
        task_id=task_id or "",
    )


async def converse(
    peer: Peer,
    agent_id: str,
    message: Message,
    questions: Questions,
    *,
    quiet_timeout: float,
) -> AsyncIterator[ChatEvent]:
    """The ChatEvents of one turn; ``quiet_timeout`` bounds how long a polled task may stay
    unchanged."""
    reader = TaskReader(agent_id)
    while True:
        async for event in _follow(peer, message, reader, quiet_timeout):
            yield event
        if reader.replied or reader.state == TaskState.TASK_STATE_COMPLETED:
            yield Done(conversation_id=reader.context_id or None, details=reader.details())
            return
        if reader.state != TaskState.TASK_STATE_INPUT_REQUIRED:
            raise _ended(peer, reader)
        question_id = f"{agent_id}/{reader.task_id}"
        questions.expect(question_id)
        try:
            question = reader.status_text or _NO_QUESTION
            yield QuestionAsked(question_id=question_id, question=question)
            answer = await questions.wait(question_id)
        finally:  # answered, or the run was cancelled while it waited
            questions.forget(question_id)
        message = user_message(answer, context_id=reader.context_id, task_id=reader.task_id)


async def _follow(
    peer: Peer, message: Message, reader: TaskReader, quiet_timeout: float
) -> AsyncIterator[ChatEvent]:
    """Send ``message`` and read the task until it ends or pauses."""
    request = SendMessageRequest(message=message)
    reader.state = TaskState.TASK_STATE_SUBMITTED
    async for response in peer.send(request):
        for event in reader.read(response):
            yield event
    polls = 0
    quiet_until = anyio.current_time() + quiet_timeout
    while not reader.replied and reader.state not in ENDED | PAUSED:
        # a task the answer left working (or a stream that ended early): read it until it ends
        await anyio.sleep(_POLL_INTERVALS[min(polls, len(_POLL_INTERVALS) - 1)])
        polls += 1
        before = reader.state
        events = reader.task(await peer.get_task(reader.task_id))
        for event in events:
            yield event
        if events or reader.state != before:
            quiet_until = anyio.current_time() + quiet_timeout
        elif anyio.current_time() > quiet_until:
            raise UpstreamTimeoutError(
                f"the A2A agent '{peer.name}' left its task {state_name(reader.state)} with no "
                f"news for {quiet_timeout:g} s.",
                backend=peer.backend,
                hint="Ask again later with get_run, or raise `stream_timeout` in the config.",
            )


async def answer_task(peer: Peer, task_id: str, answer: str) -> str:
    """Send ``answer`` to a task waiting on a question no chat follows any more; the task's
    state afterwards."""
    task = await peer.get_task(task_id)
    if task.status.state != TaskState.TASK_STATE_INPUT_REQUIRED:
        raise InvalidInputError(
            f"the A2A task {task_id} of '{peer.name}' is {state_name(task.status.state)}, "
            "not waiting on a question.",
            backend=peer.backend,
        )
    message = user_message(answer, context_id=task.context_id, task_id=task_id)
    request = SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(return_immediately=True)
    )
    state = "submitted"
    async for response in peer.send(request):
        if response.WhichOneof("payload") == "task":
            state = state_name(response.task.status.state)
    return state


def _ended(peer: Peer, reader: TaskReader) -> UpstreamError:
    """The error a task that ended without completing (or needs credentials) fails the run with."""
    said = SECRETS.cut(reader.status_text, 300)  # an agent may echo what it was sent
    because = f": {said}" if said else " (it gave no reason)"
    state = state_name(reader.state)
    if reader.state == TaskState.TASK_STATE_AUTH_REQUIRED:
        return AuthenticationError(
            f"the A2A agent '{peer.name}' needs authentication to go on{because}.",
            backend=peer.backend,
            hint="Give it the credential it names in `headers` (of the backend, or of the "
            "agent's own table) in the config, then ask again.",
            platform_message=said or None,
        )
    return UpstreamError(
        f"the A2A agent '{peer.name}' ended the task as {state}{because}.",
        backend=peer.backend,
        platform_message=said or None,
    )
