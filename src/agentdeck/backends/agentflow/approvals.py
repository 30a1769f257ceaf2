"""AgentFlow approvals and questions: what a paused chat waits on a human for.

Assumed bodies: respond ``{decision: "approve"|"deny", reason?, modified_arguments?}``
(approve with arguments = approve with modified arguments); bulk ``{approval_ids,
decision, reason?}`` → ``{results: [{approval_id, success, status, error}]}``;
question ``{answer}``. 409 means already answered or cancelled, 410 expired; both
become errors that say so (the backend's ``explain``). Every answer this backend gives is
also handed to the chat that waits on it, should AgentFlow have ended its stream on the
pause (:class:`~agentdeck.backends.agentflow.pauses.PausedRuns`).
"""

from __future__ import annotations

from typing import Any

from agentdeck.backends.agentflow.api import API, AgentFlowApi, segment
from agentdeck.backends.agentflow.events import text_of
from agentdeck.backends.agentflow.pauses import PausedRuns
from agentdeck.backends.agentflow.shapes import approval, items_of
from agentdeck.backends.kit import Backend, InvalidInputError, Page, PauseKey, make_ref
from agentdeck.platform_model import Approval


class AgentFlowApprovals(Backend):
    """A base class of :class:`~agentdeck.backends.agentflow.backend.AgentFlowBackend`:
    the ``approvals`` capability plus bulk answers, cancelling and questions.

    Answers go to AgentFlow through ``api`` and, once given, to ``paused_runs``, where a
    chat whose stream ended on the pause waits for them.
    """

    api: AgentFlowApi
    paused_runs: PausedRuns

    async def list_approvals(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Approval]:
        items, next_cursor = await self.api.page(
            f"{API}/approvals/pending",
            "approvals",
            limit=limit,
            cursor=cursor,
            params={"agent_id": agent_id},
        )
        return Page[Approval](
            items=[approval(self.name, raw) for raw in items], next_cursor=next_cursor
        )

    async def _answer(self, kind: str, item_id: str, method: str, path: str, json: Any) -> Any:
        """Send an answer; a 409 (already answered) or 410 (expired) says so (``explain``)."""
        answering = f"the {kind} {make_ref(self.name, item_id)}"
        return await self.api.request(method, path, json=json, answering=answering)

    async def respond_to_approval(
        self,
        approval_id: str,
        *,
        decision: str,
        arguments: dict[str, Any] | None,
        reason: str | None,
    ) -> Approval:
        if decision not in ("approve", "deny"):
            raise InvalidInputError("decision must be 'approve' or 'deny'.", backend=self.name)
        if decision == "deny" and arguments is not None:
            raise InvalidInputError(
                "arguments (edited tool arguments) only go with decision 'approve'.",
                backend=self.name,
            )
        body: dict[str, Any] = {"decision": decision}
        if reason:
            body["reason"] = reason
        if arguments is not None:
            body["modified_arguments"] = arguments
        raw = await self._answer(
            "approval", approval_id, "POST", f"{API}/approvals/{segment(approval_id)}/respond", body
        )
        self.paused_runs.answered(PauseKey("approval", approval_id), raw)
        return approval(self.name, raw if isinstance(raw, dict) else {"id": approval_id})

    async def respond_to_approvals(
        self, approval_ids: list[str], *, decision: str, reason: str | None
    ) -> list[tuple[str, str | None, str | None]]:
        body: dict[str, Any] = {"approval_ids": approval_ids, "decision": decision}
        if reason:
            body["reason"] = reason
        raw = await self.api.request("POST", f"{API}/approvals/bulk-respond", json=body)
        results = {
            text_of(r, "approval_id", "id"): r
            for r in items_of(raw, "results", backend=self.name, operation="bulk-respond")
        }
        outcomes: list[tuple[str, str | None, str | None]] = []
        for approval_id in approval_ids:
            r = results.get(approval_id)
            if r is None:
                outcomes.append((approval_id, None, "AgentFlow did not report on this approval."))
            elif r.get("success") is False or r.get("error"):
                outcomes.append(
                    (approval_id, text_of(r, "status"), str(r.get("error") or "failed"))
                )
            else:
                outcomes.append((approval_id, text_of(r, "status"), None))
                self.paused_runs.answered(PauseKey("approval", approval_id), r)
        return outcomes

    async def cancel_approval(self, approval_id: str) -> Approval:
        raw = await self._answer(
            "approval", approval_id, "DELETE", f"{API}/approvals/{segment(approval_id)}", None
        )
        self.paused_runs.answered(PauseKey("approval", approval_id), raw)
        return approval(self.name, raw if isinstance(raw, dict) else {"id": approval_id})

    async def answer_question(self, question_id: str, *, answer: str) -> str:
        raw = await self._answer(
            "question",
            question_id,
            "POST",
            f"{API}/questions/{segment(question_id)}/respond",
            {"answer": answer},
        )
        self.paused_runs.answered(PauseKey("question", question_id), raw)
        return text_of(raw, "status") or "answered"
