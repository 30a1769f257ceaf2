"""The AgentFlow fake's approval, question and cancel routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agentflow.shared import ACTIVE, DECISIONS, ApiError, invalid_field, now_iso


class ApprovalRoutes:
    """Approvals, questions and cancellation of a FakeAgentFlow."""

    def _new_approval(
        self, call: dict[str, Any], tool: str, args: dict[str, Any], tc_id: str
    ) -> dict[str, Any]:
        expires = datetime.now(UTC) + timedelta(seconds=self.approval_timeout)
        approval = {
            "id": self._new_id("appr"),
            "call_id": call["call_id"],
            "conversation_id": call["conversation_id"],
            "agent_id": call["agent_id"],
            "tool_name": tool,
            "tool_call_id": tc_id,
            "arguments": args,
            "status": "pending",
            "decision": None,
            "reason": None,
            "modified_arguments": None,
            "created_at": now_iso(),
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
            "responded_at": None,
        }
        self.approvals[approval["id"]] = approval
        return approval

    def _new_question(self, call: dict[str, Any], text: str, options: list[str]) -> dict[str, Any]:
        question = {
            "id": self._new_id("q"),
            "call_id": call["call_id"],
            "agent_id": call["agent_id"],
            "conversation_id": call["conversation_id"],
            "question": text,
            "options": options,
            "status": "pending",
            "answer": None,
            "created_at": now_iso(),
            "answered_at": None,
        }
        self.questions[question["id"]] = question
        return question

    def _check_open(self, item: dict[str, Any], kind: str) -> None:
        """409 if already answered/cancelled, 410 if expired (an approval past expires_at too)."""
        expires = item.get("expires_at")
        if (
            item["status"] == "pending"
            and expires
            and datetime.fromisoformat(expires) < datetime.now(UTC)
        ):
            item["status"] = "expired"
        if item["status"] == "expired":
            raise ApiError(410, f"{kind} {item['id']} has expired")
        if item["status"] != "pending":
            raise ApiError(409, f"{kind} {item['id']} is already {item['status']}")

    def _decide(self, approval: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        decision = body.get("decision")
        if decision is None and isinstance(body.get("approved"), bool):
            decision = "approve" if body["approved"] else "deny"
        modified = body.get("modified_arguments")
        normal = DECISIONS.get(str(decision).lower())
        if normal is None:
            raise invalid_field(
                "decision", "Input should be 'approve', 'deny' or 'modify'", "enum", decision
            )
        if modified is not None and not isinstance(modified, dict):
            raise invalid_field(
                "modified_arguments", "Input should be a valid dictionary", "dict_type", modified
            )
        if normal == "modify" and modified is None:
            raise invalid_field("modified_arguments", value=body)
        if normal == "approve" and modified:
            normal = "modify"
        self._check_open(approval, "Approval")
        approval.update(
            status="denied" if normal == "deny" else "approved",
            decision=normal,
            reason=body.get("reason"),
            responded_at=now_iso(),
            modified_arguments=modified if normal == "modify" else None,
        )
        return approval

    async def _pending_approvals(self, request: Request) -> Response:
        """List pending approvals."""
        q = request.query_params
        pending = []
        for approval in self.approvals.values():
            try:
                self._check_open(approval, "Approval")
            except ApiError:
                continue
            if all(
                q.get(k) in (None, approval[k]) for k in ("agent_id", "conversation_id", "call_id")
            ):
                pending.append(approval)
        return JSONResponse({"approvals": pending, "total": len(pending)})

    async def _get_approval(self, request: Request) -> Response:
        """Get approval details."""
        return JSONResponse(
            self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        )

    async def _respond_approval(self, request: Request) -> Response:
        """Approve, deny, or approve with modified arguments."""
        approval = self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        decided = self._decide(approval, await self._body(request))
        return await self._answered(approval, dict(decided))

    async def _bulk_respond(self, request: Request) -> Response:
        """Bulk approve/deny."""
        body = await self._body(request)
        ids = body.get("approval_ids")
        if not isinstance(ids, list) or not ids:
            raise invalid_field("approval_ids", value=body)
        results = []
        for approval_id in ids:
            try:
                approval = self._lookup(self.approvals, approval_id, "Approval")
                status = self._decide(approval, body)["status"]
                result = {"approval_id": approval_id, "success": True, "status": status}
                continuation = self._go_on(approval["call_id"])
                if continuation is not None:
                    result["continuation"] = continuation
                results.append(result | {"error": None})
            except ApiError as exc:
                if exc.status == 422:
                    raise
                status = self.approvals.get(approval_id, {}).get("status")
                results.append(
                    {
                        "approval_id": approval_id,
                        "success": False,
                        "status": status,
                        "error": exc.detail,
                    }
                )
        ok = sum(r["success"] for r in results)
        answer = {"results": results, "succeeded": ok, "failed": len(results) - ok}
        return await self._answered({"call_id": None}, answer)

    async def _cancel_approval(self, request: Request) -> Response:
        """Cancel approval."""
        approval = self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        self._check_open(approval, "Approval")
        approval.update(status="cancelled", responded_at=now_iso())
        return await self._answered(approval, dict(approval))

    async def _respond_question(self, request: Request) -> Response:
        """Respond to an agent question."""
        question = self._lookup(self.questions, request.path_params["question_id"], "Question")
        body = await self._body(request)
        answer = body.get("answer", body.get("response"))
        if not isinstance(answer, str):
            raise invalid_field("answer", value=body)
        self._check_open(question, "Question")
        question.update(status="answered", answer=answer, answered_at=now_iso())
        return await self._answered(question, dict(question))

    def _cancel_call(self, call: dict[str, Any]) -> None:
        call.update(status="cancelled", cancelled_at=now_iso())
        call.pop("paused", None)
        self.cancelled_calls.append(call["call_id"])
        for item in (*self.approvals.values(), *self.questions.values()):
            if item["call_id"] == call["call_id"] and item["status"] == "pending":
                item["status"] = "cancelled"

    async def _active_calls(self, request: Request) -> Response:
        """List active executions."""
        active = [c for c in self.calls.values() if c["status"] in ACTIVE]
        return JSONResponse({"active_calls": active, "total": len(active)})

    async def _cancel(self, request: Request) -> Response:
        """Cancel specific execution."""
        call = self._lookup(self.calls, request.path_params["call_id"], "Call")
        if call["status"] not in (*ACTIVE, "disconnected"):
            raise ApiError(409, f"Call {call['call_id']} is not active (status: {call['status']})")
        self._cancel_call(call)
        return JSONResponse({"call_id": call["call_id"], "status": "cancelled", "cancelled": True})

    async def _cancel_all(self, request: Request) -> Response:
        """Cancel all executions."""
        active = [c for c in self.calls.values() if c["status"] in ACTIVE]
        for call in active:
            self._cancel_call(call)
        return JSONResponse({"cancelled": [c["call_id"] for c in active], "total": len(active)})
