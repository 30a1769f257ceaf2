"""What every route group of the AgentFlow fake shares: scopes, the error answer, SSE framing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

ALL_SCOPES = frozenset(
    {
        "agents:read",
        "agents:write",
        "agents:execute",
        "conversations:read",
        "conversations:write",
        "approvals:read",
        "approvals:write",
        "knowledge:read",
    }
)
READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))
ACTIVE = ("running", "awaiting_approval", "awaiting_input")
# A stream item: (event name, data) or a raw string written verbatim (scripted/malformed).
Event = tuple[str, Any] | str
Handler = Callable[[Request], Awaitable[Response]]
DECISIONS = {
    "approve": "approve",
    "approved": "approve",
    "deny": "deny",
    "denied": "deny",
    "reject": "deny",
    "rejected": "deny",
    "modify": "modify",
    "approve_with_modifications": "modify",
}


class ApiError(Exception):
    """An AgentFlow error answer: ``{"detail": detail}`` with this status."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def invalid_field(name: str, msg: str = "Field required", kind: str = "missing", value: Any = None):
    """A pydantic-v2-shaped 422 for one body field."""
    return ApiError(422, [{"type": kind, "loc": ["body", name], "msg": msg, "input": value}])


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def sse_frame(item: Event) -> str:
    if isinstance(item, str):
        return item
    name, data = item
    return f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n"
