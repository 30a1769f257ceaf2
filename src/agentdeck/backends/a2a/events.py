"""A2A task events → ChatEvents: what an agent's task says, as agentdeck's chat stream.

One :class:`TaskReader` follows one task, whether its events arrive streamed
(``SendStreamingMessage``: the task, then status and artifact updates) or as whole
tasks read again and again (``GetTask`` polling): it remembers what it has passed on,
so a task read twice yields its news once.

- Text parts of status messages and of artifacts become the answer's text, in order.
- Data parts are structured data: kept, by artifact, in the result's ``details``.
- File parts are links: ``[name](url)`` in the text, and listed in ``details``; inline
  bytes are listed by name, media type and size (the bytes stay with the agent).
- Artifacts are listed by name in ``details.artifacts``.

The task's state decides the rest (see :data:`ENDED`, :data:`PAUSED`), in the backend.
"""

from __future__ import annotations

from typing import Any

from a2a.types import Artifact, Message, Part, Role, StreamResponse, Task, TaskState
from google.protobuf.json_format import MessageToDict

from agentdeck.backends.kit import ChatEvent, RunStarted, TextDelta

ENDED = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
PAUSED = frozenset({TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED})


def state_name(state: int) -> str:
    """``TASK_STATE_INPUT_REQUIRED`` → ``input-required``, the protocol's own spelling."""
    return str(TaskState.Name(state)).removeprefix("TASK_STATE_").lower().replace("_", "-")


def _number(value: Any) -> Any:
    """Protobuf keeps JSON numbers as doubles; give whole ones back as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def part_detail(part: Part) -> dict[str, Any]:
    """One part as plain JSON for ``details``: text, data, a link, or inline bytes by size."""
    kind = part.WhichOneof("content")
    named = {k: v for k, v in (("filename", part.filename), ("media_type", part.media_type)) if v}
    if kind == "text":
        return {"text": part.text}
    if kind == "data":
        return {"data": _number(MessageToDict(part)["data"]), **named}
    if kind == "url":
        return {"url": part.url, **named}
    if kind == "raw":
        return {"bytes": len(part.raw), **named}
    return {}


def part_text(part: Part) -> str:
    """What a part adds to the answer's text: its text, a link for a file, nothing for data."""
    kind = part.WhichOneof("content")
    if kind == "text":
        return part.text
    if kind == "url":
        return f"[{part.filename or part.url}]({part.url})"
    if kind == "raw":
        return f"[{part.filename or 'file'}: {part.media_type or 'bytes'}, {len(part.raw)} bytes]"
    return ""


def message_text(message: Message) -> str:
    return "\n".join(t for t in (part_text(p) for p in message.parts) if t)


def message_role(message: Message) -> str:
    return "user" if message.role == Role.ROLE_USER else "assistant"


def transcript(tasks: list[Task]) -> list[tuple[str, str]]:
    """A context's messages (role, text) from the agent's own tasks, oldest task first: each
    task's history, then its artifacts and its last status message as the agent's answer."""
    said: list[tuple[str, str]] = []
    for task in sorted(tasks, key=lambda t: t.status.timestamp.ToDatetime()):
        seen = {m.message_id for m in task.history}
        said += [(message_role(m), message_text(m)) for m in task.history if message_text(m)]
        answer = ["".join(part_text(p) for p in a.parts) for a in task.artifacts]
        if task.status.message.message_id and task.status.message.message_id not in seen:
            answer.append(message_text(task.status.message))
        if any(answer):
            said.append(("assistant", "\n\n".join(a for a in answer if a)))
    return said


class TaskReader:
    """Follows one task (or the plain message an agent may answer with instead)."""

    def __init__(self, agent_id: str) -> None:
        self._agent_id = agent_id
        self.task_id = ""
        self.context_id = ""
        self.state: int = TaskState.TASK_STATE_UNSPECIFIED
        #: the status message of the latest state (the question, or why it failed)
        self.status_text = ""
        self.replied = False
        self._messages: set[str] = set()
        self._artifacts: dict[str, dict[str, Any]] = {}
        self._texts = 0

    def read(self, response: StreamResponse) -> list[ChatEvent]:
        """The ChatEvents one streamed (or polled) response adds."""
        kind = response.WhichOneof("payload")
        if kind == "task":
            return self.task(response.task)
        if kind == "message":
            self.replied = True
            return self._started(response.message.context_id) + self._message(response.message)
        if kind == "status_update":
            update = response.status_update
            events = self._started(update.context_id, update.task_id)
            return events + self._status(update.status.state, update.status.message)
        if kind == "artifact_update":
            update = response.artifact_update
            events = self._started(update.context_id, update.task_id)
            return events + self._artifact(update.artifact, append=update.append)
        return []

    def task(self, task: Task) -> list[ChatEvent]:
        """A whole task (the first streamed event, or a polled one): only what is new."""
        events = self._started(task.context_id, task.id)
        for artifact in task.artifacts:
            events += self._artifact(artifact, append=False, whole=True)
        return events + self._status(task.status.state, task.status.message)

    def details(self) -> dict[str, Any]:
        """The ids, final state and artifacts, for the result's ``details``."""
        details: dict[str, Any] = {"contextId": self.context_id}
        if self.task_id:
            details |= {"taskId": self.task_id, "state": state_name(self.state)}
        if self._artifacts:
            details["artifacts"] = list(self._artifacts.values())
        return details

    def _started(self, context_id: str, task_id: str = "") -> list[ChatEvent]:
        if self.context_id:
            return []
        self.context_id, self.task_id = context_id, task_id
        # the agent's id goes with the task's: cancelling needs to know whom to ask
        upstream = f"{self._agent_id}/{task_id}" if task_id else None
        return [RunStarted(upstream_run_id=upstream, conversation_id=context_id or None)]

    def _status(self, state: int, message: Message) -> list[ChatEvent]:
        self.state = state
        if not message.message_id:
            self.status_text = ""
            return []
        self.status_text = message_text(message)
        if state in PAUSED or state in ENDED - {TaskState.TASK_STATE_COMPLETED}:
            return []  # a question or a failure: the backend says it in its own words
        return self._message(message)

    def _message(self, message: Message) -> list[ChatEvent]:
        if message.message_id in self._messages:
            return []
        self._messages.add(message.message_id)
        return self._text(message_text(message))

    def _artifact(
        self, artifact: Artifact, *, append: bool, whole: bool = False
    ) -> list[ChatEvent]:
        kept = self._artifacts.get(artifact.artifact_id)
        continued = kept is not None and (append or whole)
        if kept is None or not continued:
            kept = {"name": artifact.name or artifact.artifact_id, "parts": []}
            if artifact.description:
                kept["description"] = artifact.description
            self._artifacts[artifact.artifact_id] = kept
        # A polled task repeats the parts already passed on: only the ones after them are new.
        new = artifact.parts[len(kept["parts"]) :] if whole else artifact.parts
        kept["parts"] += [part_detail(p) for p in new]
        return self._text("".join(part_text(p) for p in new), glued=continued)

    def _text(self, text: str, *, glued: bool = False) -> list[ChatEvent]:
        if not text:
            return []
        separated = not glued and self._texts > 0
        self._texts += 1
        return [TextDelta(text=f"\n\n{text}" if separated else text)]
