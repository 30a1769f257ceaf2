"""AgentFlow approvals and questions: what a paused chat waits on a human for.

Assumed bodies: respond ``{decision: "approve"|"deny", reason?, modified_arguments?}``
(approve with arguments = approve with modified arguments); bulk ``{approval_ids,
decision, reason?}`` → ``{results: [{approval_id, success, status, error}]}``;
question ``{answer}``. 409 means already answered or cancelled, 410 expired; both
become errors that say so. Every answer this backend gives is also handed to the chat
that waits on it, should AgentFlow have ended its stream on the pause
(``agentflow_pauses``).
"""

from __future__ import annotations

from typing import Any

from agentdeck.backends.agentflow.base import API, segment
from agentdeck.backends.agentflow.events import text_of
from agentdeck.backends.agentflow.pauses import AgentFlowPauses
from agentdeck.backends.agentflow.shapes import approval, items_of
from agentdeck.errors import ConflictError, InvalidInputError, UpstreamError
from agentdeck.model import Approval, Page, make_ref


class AgentFlowApprovals(AgentFlowPauses):
    """The ``approvals`` capability plus bulk answers, cancelling and questions."""

    async def list_approvals(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Approval]:
        items, next_cursor = await self._page(
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
        """Send an answer; 409 (already answered) and 410 (expired) become clear errors."""
        ref = make_ref(self.name, item_id)
        try:
            return await self.http.request(method, path, json=json)
        except ConflictError as exc:
            raise ConflictError(
                f"the {kind} {ref} was already answered or cancelled, so this answer was not "
                f"applied (AgentFlow: {exc.platform_message or 'conflict'}).",
                backend=self.name,
                hint="list_approvals shows what still waits for an answer.",
                status=409,
                platform_message=exc.platform_message,
            ) from exc
        except UpstreamError as exc:
            if exc.status != 410:
                raise
            raise UpstreamError(
                f"the {kind} {ref} has expired: the agent stopped waiting for it "
                f"(AgentFlow: {exc.platform_message or 'gone'}).",
                backend=self.name,
                hint="Send the message to the agent again to have it ask anew.",
                status=410,
                platform_message=exc.platform_message,
            ) from exc

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
        self._pause_board.answered(f"approval:{approval_id}", raw)
        return approval(self.name, raw if isinstance(raw, dict) else {"id": approval_id})

    async def respond_to_approvals(
        self, approval_ids: list[str], *, decision: str, reason: str | None
    ) -> list[tuple[str, str | None, str | None]]:
        body: dict[str, Any] = {"approval_ids": approval_ids, "decision": decision}
        if reason:
            body["reason"] = reason
        raw = await self.http.request("POST", f"{API}/approvals/bulk-respond", json=body)
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
                self._pause_board.answered(f"approval:{approval_id}", r)
        return outcomes

    async def cancel_approval(self, approval_id: str) -> Approval:
        raw = await self._answer(
            "approval", approval_id, "DELETE", f"{API}/approvals/{segment(approval_id)}", None
        )
        self._pause_board.answered(f"approval:{approval_id}", raw)
        return approval(self.name, raw if isinstance(raw, dict) else {"id": approval_id})

    async def answer_question(self, question_id: str, *, answer: str) -> str:
        raw = await self._answer(
            "question",
            question_id,
            "POST",
            f"{API}/questions/{segment(question_id)}/respond",
            {"answer": answer},
        )
        self._pause_board.answered(f"question:{question_id}", raw)
        return text_of(raw, "status") or "answered"
