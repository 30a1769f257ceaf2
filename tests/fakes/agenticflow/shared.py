"""What every route group of the AgenticFlow fake shares: the seeded ids and keys, the error answer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

WORKSPACE_ID = "5f0c6e1a-2b3d-4c5e-8f90-a1b2c3d4e5f6"
PROJECT_ID = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
OTHER_PROJECT_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
API_KEY = "af-test-key"
OTHER_PROJECT_KEY = "af-other-project-key"
USER_ID = "user-fake-1"
PUBLIC_AGENT_ID = "a0000000-0000-4000-8000-000000000001"
PRIVATE_AGENT_ID = "a0000000-0000-4000-8000-000000000002"
FOREIGN_AGENT_ID = "a0000000-0000-4000-8000-000000000003"
STREAM_SCENARIOS = (
    "normal", "plain", "error_part", "finish_error", "cut_off", "malformed", "slow",
)  # fmt: skip

Schema = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """An error answer; the route wrapper turns it into a JSON response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def detail_error(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"detail": message}, headers)
