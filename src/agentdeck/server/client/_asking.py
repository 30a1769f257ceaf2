"""Asking the client mid-tool: the user (elicitation) and the client's model (sampling).

The two protocol eras do this differently. A 2025-11-25 session takes requests from
the server in the middle of a tool call, so agentdeck asks inline and carries on. A
2026-07-28 client cannot be sent requests; instead the tool answers with an
``InputRequiredResult`` naming what it needs, the client asks and calls the tool
again with the answers (``input_responses``) and the state agentdeck handed out
(``request_state``, sealed by the SDK). :func:`ask` hides the difference: it returns
the answers, or the ``InputRequiredResult`` the tool must return.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import mcp.types as types
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from pydantic import BaseModel, ValidationError

from agentdeck.server.notify import is_modern


@dataclass(frozen=True)
class Question:
    """Something to ask the user, with the form its answer takes."""

    message: str
    schema: type[BaseModel]


@dataclass(frozen=True)
class Answer:
    """The user's answer: ``data`` is set only when they accepted and it validated."""

    accepted: bool
    data: BaseModel | None = None


def can_elicit(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.elicitation is not None


def can_sample(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.sampling is not None


def round_state(ctx: Context) -> dict[str, Any]:
    """The state this tool handed out in its previous round ({} on the first)."""
    try:
        return json.loads(ctx.request_state) if ctx.request_state else {}
    except ValueError:
        return {}


async def ask(
    ctx: Context, questions: dict[str, Question], state: dict[str, Any]
) -> dict[str, Answer] | types.InputRequiredResult:
    """Ask every question; on 2026-07-28 the first call returns the InputRequiredResult."""
    if not is_modern(ctx):
        answers = {}
        for key, question in questions.items():
            outcome = await ctx.elicit(question.message, question.schema)
            answers[key] = Answer(outcome.action == "accept", getattr(outcome, "data", None))
        return answers
    responses = ctx.input_responses or {}
    if not all(isinstance(responses.get(key), types.ElicitResult) for key in questions):
        return types.InputRequiredResult(
            input_requests={
                key: types.ElicitRequest(
                    params=types.ElicitRequestFormParams(
                        message=question.message,
                        requested_schema=render_elicitation_schema(question.schema),
                    )
                )
                for key, question in questions.items()
            },
            request_state=json.dumps(state),
        )
    answers = {}
    for key, question in questions.items():
        response = responses[key]
        assert isinstance(response, types.ElicitResult)
        data = None
        if response.action == "accept":
            try:
                data = question.schema.model_validate(response.content or {})
            except ValidationError:
                data = None
        answers[key] = Answer(response.action == "accept" and data is not None, data)
    return answers


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
