"""The ``approvals`` toolset: answer what agents wait on a human for.

``list_approvals`` and ``respond_to_approval`` work on every backend with the
``approvals`` capability. Bulk answers, cancelling an approval and answering an
agent's question need more than that protocol: the finer protocols of
``backends.base`` say what, and a backend has them when it implements their methods
(AgentFlow does).
"""

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from agentdeck.backends.base import (
    ApprovalCanceller,
    ApprovalHandler,
    BulkApprovalResponder,
    QuestionResponder,
)
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import make_ref
from agentdeck.platform_model import Approval
from agentdeck.server.chat import mark_answered
from agentdeck.server.toolkit import (
    APPROVALS,
    ListResult,
    Toolbox,
    by_backend,
    deck,
    list_across,
    reach,
)
from agentdeck.server.tools import Cursor, Limit, OptionalBackend

toolbox = Toolbox("approvals", needs="approvals")


ApprovalRef = Annotated[
    str,
    Field(
        min_length=1,
        description="Ref of the approval, from list_approvals or a chat result.",
    ),
]
Decision = Annotated[
    Literal["approve", "deny"],
    Field(description='"approve" to let the tool call run, "deny" to refuse it.'),
]
Reason = Annotated[
    str | None,
    Field(max_length=2000, description="Why; the agent (and the audit log) sees it."),
]


class ApprovalList(ListResult[Approval]):
    pass


class ApprovalOutcome(BaseModel):
    approval: str = Field(description="Ref of the approval.")
    ok: bool
    status: str | None = Field(default=None, description="The approval's status afterwards.")
    error: str | None = None


class BulkResult(BaseModel):
    results: list[ApprovalOutcome]
    succeeded: int
    failed: int


class QuestionAnswered(BaseModel):
    question: str = Field(description="Ref of the question.")
    status: str
    answer: str


@toolbox.tool(title="List pending approvals", read_only=True, idempotent=True)
async def list_approvals(
    ctx: Context,
    backend: OptionalBackend = None,
    agent: Annotated[
        str | None, Field(description="Only this agent's approvals (its ref).")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApprovalList:
    """List the tool calls agents wait on a human to approve: tool, arguments, expiry.
    Answer them with respond_to_approval."""
    return await list_across(
        ctx, ApprovalList, APPROVALS, backend=backend, agent=agent, limit=limit, cursor=cursor
    )


@toolbox.tool(title="Answer an approval request", read_only=False)
async def respond_to_approval(
    ctx: Context,
    approval: ApprovalRef,
    decision: Decision,
    arguments: Annotated[
        dict[str, Any] | None,
        Field(
            description="Edited tool arguments to run the call with instead (approve only); "
            "omit to run it as the agent asked."
        ),
    ] = None,
    reason: Reason = None,
) -> Approval:
    """Approve (optionally with edited `arguments`) or deny a tool call an agent waits on;
    a chat run paused on it goes on (follow it with get_run). An expired or answered
    approval is an error."""
    handler, backend, approval_id = reach(
        ctx, approval, ApprovalHandler, "respond_to_approval", what="approval"
    )
    if decision == "deny" and arguments is not None:
        raise InvalidInputError(
            "arguments (edited tool arguments) only go with decision 'approve'.", backend=backend
        )
    answered = await handler.respond_to_approval(
        approval_id, decision=decision, arguments=arguments, reason=reason or None
    )
    mark_answered(deck(ctx).runs, backend, "approval", approval_id)
    return answered


@toolbox.tool(title="Answer several approval requests", read_only=False)
async def respond_to_approvals(
    ctx: Context,
    approvals: Annotated[
        list[str],
        Field(min_length=1, max_length=100, description="Refs of the approvals to answer."),
    ],
    decision: Decision,
    reason: Reason = None,
) -> BulkResult:
    """Approve or deny several approvals at once, as asked (no edited arguments); each is
    reported on its own, and one that fails does not stop the others."""
    registry = deck(ctx).registry
    groups = [
        (backend, registry.require(backend, ApprovalHandler, "respond_to_approvals"), ids)
        for backend, ids in by_backend(registry, approvals, what="approval").values()
    ]
    results: list[ApprovalOutcome] = []
    for backend, handler, ids in groups:
        if isinstance(handler, BulkApprovalResponder):
            answered = await handler.respond_to_approvals(
                ids, decision=decision, reason=reason or None
            )
        else:
            answered = [await _answer_one(handler, i, decision, reason) for i in ids]
        results += [
            ApprovalOutcome(approval=make_ref(backend.name, i), ok=err is None, status=s, error=err)
            for i, s, err in answered
        ]
    for outcome in results:
        if outcome.ok:
            name, _, approval_id = outcome.approval.partition(":")
            mark_answered(deck(ctx).runs, name, "approval", approval_id)
    succeeded = sum(r.ok for r in results)
    return BulkResult(results=results, succeeded=succeeded, failed=len(results) - succeeded)


async def _answer_one(
    handler: ApprovalHandler, approval_id: str, decision: str, reason: str | None
) -> tuple[str, str | None, str | None]:
    """One approval answered as the bulk protocol reports it: (id, status, error or None)."""
    try:
        done = await handler.respond_to_approval(
            approval_id, decision=decision, arguments=None, reason=reason or None
        )
    except AgentdeckError as exc:
        return approval_id, None, str(exc)
    return approval_id, done.status, None


@toolbox.tool(title="Cancel an approval request", read_only=False, needs=ApprovalCanceller)
async def cancel_approval(ctx: Context, approval: ApprovalRef) -> Approval:
    """Withdraw a pending approval request without answering it; the tool call does not
    run."""
    canceller, _, approval_id = reach(
        ctx, approval, ApprovalCanceller, "cancel_approval", what="approval"
    )
    return await canceller.cancel_approval(approval_id)


@toolbox.tool(title="Answer an agent's question", read_only=False, needs=QuestionResponder)
async def answer_question(
    ctx: Context,
    question: Annotated[
        str,
        Field(
            min_length=1,
            description="Ref of the question, '<backend>:<id>', from a chat result's "
            "pending_questions.",
        ),
    ],
    answer: Annotated[
        str, Field(min_length=1, max_length=10_000, description="The answer to give the agent.")
    ],
) -> QuestionAnswered:
    """Answer a question an agent asked mid-run (a chat result's pending_questions); the
    run goes on (follow it with get_run)."""
    target = reach(ctx, question, QuestionResponder, "answer_question", what="question")
    if not answer.strip():
        raise InvalidInputError("the answer is empty.", backend=target.backend)
    status = await target.able.answer_question(target.id, answer=answer)
    mark_answered(deck(ctx).runs, target.backend, "question", target.id)
    return QuestionAnswered(question=target.ref, status=status, answer=answer)
