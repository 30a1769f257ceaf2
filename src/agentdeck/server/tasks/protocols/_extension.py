"""The one extension that serves tasks in both eras, as the SDK takes it.

``tasks/get`` and ``tasks/cancel`` exist in both eras with different shapes, so each
method is bound once and its handler chosen by the request's protocol version; a
method one era lacks is "method not found" there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import mcp.types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from agentdeck.server.tasks.protocols import _modern
from agentdeck.server.tasks.protocols._legacy import LegacyTasks
from agentdeck.server.tasks.protocols._shared import TaskParams

Handler = Callable[[ServerRequestContext[Any, Any], Any], Awaitable[HandlerResult]]


class TasksExtension(Extension):
    """``io.modelcontextprotocol/tasks`` (2026-07-28) and the 2025-11-25 task methods."""

    identifier = _modern.IDENTIFIER

    def __init__(self, legacy: LegacyTasks) -> None:
        self.legacy = legacy

    def methods(self) -> list[MethodBinding]:
        legacy = self.legacy
        table: list[tuple[str, type[BaseModel], Handler | None, Handler | None]] = [
            ("tasks/get", TaskParams, _modern.get, legacy.get),
            ("tasks/update", _modern.UpdateParams, _modern.update, None),
            ("tasks/cancel", TaskParams, _modern.cancel, legacy.cancel),
            ("tasks/result", TaskParams, None, legacy.result),
            ("tasks/list", types.PaginatedRequestParams, None, legacy.list),
        ]
        return [MethodBinding(m, params, _by_era(new, old)) for m, params, new, old in table]

    async def intercept_tool_call(
        self,
        params: types.CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        return await _modern.task_instead(params, ctx, call_next)


def _by_era(modern_handler: Handler | None, legacy_handler: Handler | None) -> Handler:
    async def handle(ctx: ServerRequestContext[Any, Any], params: Any) -> HandlerResult:
        is_modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        handler = modern_handler if is_modern else legacy_handler
        if handler is None:
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found")
        return await handler(ctx, params)

    return handle
