"""Asking the client's model (sampling), in both protocol eras: inline on 2025-11-25, as an
input request of the tool's answer on 2026-07-28 (like :func:`~._asking.ask`)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

from agentdeck.server.client._abilities import is_modern


async def sample(
    ctx: Context, request: types.CreateMessageRequestParams, state: dict[str, Any]
) -> types.CreateMessageResult | types.InputRequiredResult:
    """The client's model's answer; on 2026-07-28 the first call returns the request for it."""
    if not is_modern(ctx):
        with warnings.catch_warnings():
            # sampling is deprecated upstream (SEP-2577); it stays an opt-in model here
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            answer: types.CreateMessageResult = await ctx.session.create_message(
                request.messages,
                max_tokens=request.max_tokens,
                system_prompt=request.system_prompt,
            )
            return answer
    response = (ctx.input_responses or {}).get("sample")
    if isinstance(response, types.CreateMessageResult):
        return response
    return types.InputRequiredResult(
        input_requests={"sample": types.CreateMessageRequest(params=request)},
        request_state=json.dumps(state),
    )
