"""What a chat run answers: :class:`RunResult`, the ``chat`` tool's result.

The run engine says what a run did with the platform's ids
(:class:`~agentdeck.runs.RunSnapshot`); the result says it with the refs the other
tools take, and lists the artifacts a platform made by kind.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, Self

from pydantic import BaseModel, Field

from agentdeck.model import WorkflowDraft, make_ref
from agentdeck.runs import RunSnapshot, RunStatus, ToolActivity


class PendingApproval(BaseModel):
    """A tool call the agent is waiting on a human to approve."""

    ref: str = Field(description="Pass as `approval` to respond_to_approval.")
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    message: str | None = None


class PendingQuestion(BaseModel):
    ref: str
    question: str


class RunResult(BaseModel):
    """What a chat run has produced so far, or in full once it finished."""

    run_id: str = Field(description="Pass to get_run or cancel_run.")
    status: RunStatus = Field(
        description="running (call get_run to wait for the rest), completed, failed or cancelled."
    )
    agent: str = Field(description="Ref of the agent.")
    conversation: str | None = Field(
        default=None,
        description="Ref of the conversation: pass it as `conversation` to continue it.",
    )
    text: str = Field(description="The agent's answer (so far, while running).")
    reasoning: str | None = None
    tool_calls: list[ToolActivity] = Field(default_factory=list)
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    pending_questions: list[PendingQuestion] = Field(default_factory=list)
    workflows: list[WorkflowDraft] = Field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, snapshot: RunSnapshot) -> Self:
        """The result that says what ``snapshot`` says: the fields of the same name as
        they are, ids as refs, the artifacts by kind."""
        backend = snapshot.backend
        conversation = snapshot.conversation_id
        return cls.model_validate(
            {
                **{name: getattr(snapshot, name) for name in _alike()},
                "agent": make_ref(backend, snapshot.agent_id),
                "conversation": make_ref(backend, conversation) if conversation else None,
                "pending_approvals": [
                    PendingApproval(
                        ref=make_ref(backend, e.approval_id),
                        tool=e.tool,
                        arguments=e.arguments,
                        message=e.message,
                    )
                    for e in snapshot.pending_approvals
                ],
                "pending_questions": [
                    PendingQuestion(ref=make_ref(backend, e.question_id), question=e.question)
                    for e in snapshot.pending_questions
                ],
                "workflows": [a for a in snapshot.artifacts if isinstance(a, WorkflowDraft)],
            }
        )


@cache
def _alike() -> tuple[str, ...]:
    """The snapshot's fields a result has by the same name (found once: a class's
    ``model_fields`` is a descriptor that costs more than the field it finds)."""
    return tuple(f.name for f in fields(RunSnapshot) if f.name in RunResult.model_fields)
