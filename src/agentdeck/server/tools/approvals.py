"""The ``approvals`` toolset: answer what agents wait on a human for.

``list_approvals`` and ``respond_to_approval`` work on every backend with the
``approvals`` capability. Bulk answers, cancelling an approval and answering an
agent's question need more than that protocol; the small protocols below say what,
and a backend has them when it implements their methods (AgentFlow does).
"""

from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from agentdeck.backends.base import ApprovalHandler, Backend, capabilities_of
from agentdeck.errors import AgentdeckError, InvalidInputError, UnsupportedError
from agentdeck.model import Approval, make_ref
from agentdeck.server.listing import ListResult, list_across, scope
from agentdeck.server.params import Cursor, Limit, OptionalBackend
from agentdeck.server.toolkit import Toolbox, deck, reported

toolbox = Toolbox()


@runtime_checkable
class BulkApprovalResponder(Protocol):
    async def respond_to_approvals(
        self, approval_ids: list[str], *, decision: str, reason: str | None
    ) -> list[tuple[str, str | None, str | None]]:
        """Answer several approvals in one call; per id: (id, status, error or None)."""
        ...


@runtime_checkable
class ApprovalCanceller(Protocol):
    async def cancel_approval(self, approval_id: str) -> Approval: ...


@runtime_checkable
class QuestionResponder(Protocol):
    async def answer_question(self, question_id: str, *, answer: str) -> str:
        """Answer an agent's question; return the question's status afterwards."""
        ...


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


class ApprovalList(ListResult):
    items: list[Approval]  # type: ignore[assignment]


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


def _unsupported(backend: Backend, operation: str) -> UnsupportedError:
    can = ", ".join(capabilities_of(backend)) or "nothing"
    return UnsupportedError(
        f"{operation} is not supported by {backend.kind} backends. This backend can do: {can}.",
        backend=backend.name,
    )


@toolbox.tool(
    toolset="approvals",
    title="List pending approvals",
    read_only=True,
    idempotent=True,
    needs="approvals",
)
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
    with reported():
        registry = deck(ctx).registry
        backend, agent_id = scope(registry, backend, agent)
        result = await list_across(
            registry,
            capability="approvals",
            backend=backend,
            limit=limit,
            cursor=cursor,
            fetch=lambda b, n, c: b.list_approvals(agent_id=agent_id, limit=n, cursor=c),
            operation="list_approvals",
        )
        return ApprovalList(**result.model_dump(exclude={"items"}), items=result.items)


@toolbox.tool(
    toolset="approvals", title="Answer an approval request", read_only=False, needs="approvals"
)
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
    with reported():
        registry = deck(ctx).registry
        backend, approval_id = registry.resolve(approval, what="approval")
        handler: ApprovalHandler = registry.require(backend, "approvals", "respond_to_approval")
        if decision == "deny" and arguments is not None:
            raise InvalidInputError(
                "arguments (edited tool arguments) only go with decision 'approve'.",
                backend=backend.name,
            )
        answered = await handler.respond_to_approval(
            approval_id, decision=decision, arguments=arguments, reason=reason or None
        )
        deck(ctx).runs.mark_answered(backend.name, f"approval:{approval_id}")
        return answered


@toolbox.tool(
    toolset="approvals",
    title="Answer several approval requests",
    read_only=False,
    needs="approvals",
)
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
    with reported():
        registry = deck(ctx).registry
        by_backend: dict[str, tuple[Backend, list[str]]] = {}
        for ref in dict.fromkeys(approvals):
            backend, approval_id = registry.resolve(ref, what="approval")
            registry.require(backend, "approvals", "respond_to_approvals")
            by_backend.setdefault(backend.name, (backend, []))[1].append(approval_id)
        results: list[ApprovalOutcome] = []
        for backend, ids in by_backend.values():
            if isinstance(backend, BulkApprovalResponder):
                answered = await backend.respond_to_approvals(
                    ids, decision=decision, reason=reason or None
                )
                results += [
                    ApprovalOutcome(
                        approval=make_ref(backend.name, i), ok=err is None, status=s, error=err
                    )
                    for i, s, err in answered
                ]
                continue
            assert isinstance(backend, ApprovalHandler)
            for approval_id in ids:
                ref = make_ref(backend.name, approval_id)
                try:
                    done = await backend.respond_to_approval(
                        approval_id, decision=decision, arguments=None, reason=reason or None
                    )
                except AgentdeckError as exc:
                    results.append(ApprovalOutcome(approval=ref, ok=False, error=str(exc)))
                else:
                    results.append(ApprovalOutcome(approval=ref, ok=True, status=done.status))
        for outcome in results:
            if outcome.ok:
                name, _, approval_id = outcome.approval.partition(":")
                deck(ctx).runs.mark_answered(name, f"approval:{approval_id}")
        succeeded = sum(r.ok for r in results)
        return BulkResult(results=results, succeeded=succeeded, failed=len(results) - succeeded)


@toolbox.tool(
    toolset="approvals",
    title="Cancel an approval request",
    read_only=False,
    needs=ApprovalCanceller,
)
async def cancel_approval(ctx: Context, approval: ApprovalRef) -> Approval:
    """Withdraw a pending approval request without answering it; the tool call does not
    run."""
    with reported():
        registry = deck(ctx).registry
        backend, approval_id = registry.resolve(approval, what="approval")
        if not isinstance(backend, ApprovalCanceller):
            raise _unsupported(backend, "cancel_approval")
        return await backend.cancel_approval(approval_id)


@toolbox.tool(
    toolset="approvals",
    title="Answer an agent's question",
    read_only=False,
    needs=QuestionResponder,
)
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
    with reported():
        registry = deck(ctx).registry
        backend, question_id = registry.resolve(question, what="question")
        if not isinstance(backend, QuestionResponder):
            raise _unsupported(backend, "answer_question")
        if not answer.strip():
            raise InvalidInputError("the answer is empty.", backend=backend.name)
        status = await backend.answer_question(question_id, answer=answer)
        deck(ctx).runs.mark_answered(backend.name, f"question:{question_id}")
        return QuestionAnswered(
            question=make_ref(backend.name, question_id), status=status, answer=answer
        )
