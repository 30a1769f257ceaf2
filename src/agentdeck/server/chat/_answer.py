"""What a chat call answers on the wire: the run as ``chat``'s result (``server.toolkit``
writes it), for the per-agent tools and for a task's end."""

from __future__ import annotations

from typing import Any

import mcp.types as types

from agentdeck.redaction import redact, redact_value
from agentdeck.runs import Run
from agentdeck.server.chat._result import RunResult
from agentdeck.server.toolkit import tool_result


def as_chat_answer(
    result: RunResult | types.InputRequiredResult,
) -> types.CallToolResult | types.InputRequiredResult:
    """``result`` as ``chat`` answers it.

    The per-agent tools publish no output schema: a client compiles a validator for every
    output schema it lists (the TypeScript SDK's does, on each ``tools/list``), so a
    thousand agent tools with one each cost a thousand validators; ``chat``'s schema
    describes what they answer.
    """
    if not isinstance(result, RunResult):
        return result
    return tool_result(result)


def final_answer(run: Run) -> dict[str, Any]:
    """The ``CallToolResult`` a chat call answers for the finished ``run``, as wire JSON:
    the run, or the tool error of a run that failed before producing anything."""
    result = RunResult.of(run.snapshot())
    answer: types.CallToolResult | types.InputRequiredResult
    if result.status == "failed" and not (result.text or result.tool_calls):
        answer = types.CallToolResult(
            content=[
                types.TextContent(type="text", text=redact(result.error or "the chat failed."))
            ],
            is_error=True,
        )
    else:
        answer = as_chat_answer(redact_value(result))
    return answer.model_dump(by_alias=True, mode="json", exclude_none=True)
