"""What a run has produced so far, as plain data: :class:`RunSnapshot`.

The run engine says what a run did with the platform's own ids; the server presents a
snapshot as the chat result (refs, pending approvals to answer by ref). Replicas share
snapshots through the store as JSON (:meth:`RunSnapshot.to_json`); the store's own SQL
reads and sets its ``status``, ``error``, ``finished_at``, ``pending_approvals`` and
``pending_questions`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, PlainSerializer, TypeAdapter

from agentdeck.model import ApprovalRequired, Artifact, QuestionAsked, Ref

RunStatus = Literal["running", "completed", "failed", "cancelled"]


class ToolActivity(BaseModel):
    """A tool the agent called during the run, with its result when it came."""

    id: str | None = None
    name: str | None = None
    arguments: Any = None
    result: Any = None


def _artifact_of(value: Any) -> Any:
    """An artifact read back from JSON, as the model of its kind."""
    if isinstance(value, dict) and "kind" in value:
        return Artifact.kind_named(value["kind"]).model_validate(value)
    return value


def _artifact_json(artifact: Artifact) -> dict[str, Any]:
    return {"kind": artifact.kind, **artifact.model_dump(mode="json")}


#: An artifact in a snapshot's JSON: its fields, and its ``kind`` to read it back by.
_StoredArtifact = Annotated[
    Artifact, BeforeValidator(_artifact_of), PlainSerializer(_artifact_json)
]


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A run as it stands: its status, the answer so far, the tools it called, what it
    waits on and what it made on the platform besides its answer."""

    run_id: str
    backend: str
    agent_id: str
    status: RunStatus
    started_at: datetime
    conversation_id: str | None = None
    text: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolActivity] = field(default_factory=list)
    #: the approvals and questions the run waits on, oldest first, as the events that asked
    pending_approvals: list[ApprovalRequired] = field(default_factory=list)
    pending_questions: list[QuestionAsked] = field(default_factory=list)
    artifacts: list[_StoredArtifact] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    finished_at: datetime | None = None

    def to_json(self) -> str:
        """The snapshot as the JSON the replicas share through the store."""
        return _adapter().dump_json(self).decode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSnapshot:
        """A snapshot from its JSON (parsed); also reads the rows written while the
        snapshot was stored in the form of the chat result (refs instead of ids), which a
        replica that has not been upgraded yet still writes."""
        return _adapter().validate_python(_from_chat_result_form(data))


@cache
def _adapter() -> TypeAdapter[RunSnapshot]:
    """Built on first use: a server that shares no runs never builds it."""
    return TypeAdapter(RunSnapshot)


def _from_chat_result_form(data: dict[str, Any]) -> dict[str, Any]:
    if "agent_id" in data:
        return data

    def id_of(ref: str) -> str | None:
        return Ref.parse(ref).id

    rest = {k: v for k, v in data.items() if k not in ("agent", "conversation", "workflows")}
    conversation = data.get("conversation")
    agent = Ref.parse(data["agent"])
    return {
        **rest,
        "backend": agent.backend,
        "agent_id": agent.id,
        "conversation_id": id_of(conversation) if conversation else None,
        "pending_approvals": [
            {**{k: v for k, v in p.items() if k != "ref"}, "approval_id": id_of(p["ref"])}
            for p in data.get("pending_approvals", [])
        ],
        "pending_questions": [
            {"question_id": id_of(q["ref"]), "question": q["question"]}
            for q in data.get("pending_questions", [])
        ],
        "artifacts": [{**w, "kind": "workflow"} for w in data.get("workflows", [])],
    }
