"""Asking the user mid-tool, in both protocol eras: a form (:func:`ask`), and the
confirmation a destructive tool asks for first (:func:`confirmation_request`).

The two eras do this differently. A 2025-11-25 session takes requests from the server
in the middle of a tool call, so agentdeck asks inline and carries on. A 2026-07-28
client cannot be sent requests; instead the tool answers with an
``InputRequiredResult`` naming what it needs, the client asks and calls the tool again
with the answers (``input_responses``) and the state agentdeck handed out
(``request_state``, sealed by the SDK). :func:`ask` hides the difference: it returns the
answers, or the ``InputRequiredResult`` the tool must return.

A confirmation goes through the SDK's resolvers instead (``Resolve``/``Elicit``), which
run before the tool body and do the same for both eras; when the client cannot be asked,
the body gets a :class:`CannotAsk` and turns it into an error that explains the setting
(``confirm_destructive``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mcp.types as types
from mcp.server.elicitation import AcceptedElicitation, render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field, ValidationError

from agentdeck.config import Settings
from agentdeck.server.client._abilities import can_elicit, is_modern


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


def answer_to(question: Question, action: str | None, content: Any) -> Answer:
    """The :class:`Answer` in an elicitation result's ``action`` and ``content``: accepted
    only with content that fits the question's form."""
    data = None
    if action == "accept":
        try:
            data = question.schema.model_validate(content or {})
        except ValidationError:
            data = None
    return Answer(data is not None, data)


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
        answers[key] = answer_to(question, response.action, response.content)
    return answers


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes: go ahead.")


@dataclass(frozen=True)
class CannotAsk:
    action: str


def confirmation_request(ctx: Context, action: str) -> Any:
    """What a destructive tool's resolver returns: go ahead, ask the user, or cannot ask."""
    if not _settings(ctx).server.confirm_destructive:
        return Confirmation(confirm=True)
    if not can_elicit(ctx):
        return CannotAsk(action)
    return Elicit(f"{action} Go ahead?", Confirmation)


def require_confirmation(outcome: Any) -> None:
    """Raise a tool error unless the user confirmed; a decline changes nothing and says so."""
    data = outcome.data if isinstance(outcome, AcceptedElicitation) else outcome
    if isinstance(data, CannotAsk):
        raise ToolError(
            f"{data.action} This needs your confirmation, but this MCP client cannot ask "
            "(it does not support elicitation). Nothing was changed. To allow destructive "
            "actions without asking, set `confirm_destructive = false` under [server] in "
            "agentdeck's config."
        )
    if not (isinstance(data, Confirmation) and data.confirm):
        raise ToolError("Not confirmed: nothing was changed.")


def _settings(ctx: Context) -> Settings:
    """The running server's settings, from its state (``server.toolkit.Deck``, which sits
    above this package and is not named here)."""
    state: Any = ctx.request_context.lifespan_context
    settings: Settings = state.settings
    return settings
