"""A run's pauses as the user sees them: what to ask about an approval or a question the
agent waits on (:func:`question`), the answer sent on to the platform (:func:`deliver`),
and the same as elicitation forms for the task protocols (:func:`input_requests`,
:func:`answer_pauses`).

The one place the server turns a pause's :class:`~agentdeck.model.PauseKey` into a
question and an answer; the run records what was asked and answered
(``Run.mark_asked``, ``Run.mark_answered``). An input round's state carries the keys'
text form, read back with ``PauseKey.parse``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ElicitRequestFormParams
from pydantic import BaseModel, Field

from agentdeck.backends.base import ApprovalHandler, QuestionResponder
from agentdeck.errors import InvalidInputError
from agentdeck.model import PauseKey, QuestionAsked
from agentdeck.registry import Registry
from agentdeck.runs import Run, RunManager
from agentdeck.server.client import Answer, Question, answer_to


class ApprovalAnswer(BaseModel):
    decision: Literal["approve", "deny"] = Field(
        description="approve lets the agent run the tool; deny stops it."
    )
    arguments: str | None = Field(
        default=None,
        description="Edited tool arguments as a JSON object; leave empty to keep them as shown.",
    )
    reason: str | None = Field(default=None, description="Why, for the agent (optional).")


class QuestionAnswer(BaseModel):
    answer: str = Field(description="Your answer to the agent's question.")


def mark_answered(
    runs: RunManager, backend: str, kind: Literal["approval", "question"], platform_id: str
) -> None:
    """A pause was answered outside the run (a tool): the runs waiting on it stop waiting
    on someone."""
    runs.mark_answered(backend, PauseKey(kind, platform_id))


def question(run: Run, key: PauseKey) -> Question:
    """What to ask the user about the pause ``key`` of ``run``, and the form of the answer."""
    event = next(e for e in run.waiting_on() if PauseKey.of(e) == key)
    agent = f"{run.backend.name}:{run.request.agent_id}"
    if isinstance(event, QuestionAsked):
        return Question(f"The agent {agent} asks: {event.question}", QuestionAnswer)
    arguments = json.dumps(event.arguments or {}, ensure_ascii=False)
    said = f" {event.message}" if event.message else ""
    return Question(
        f"The agent {agent} wants to run the tool '{event.tool or 'unknown'}' with the "
        f"arguments {arguments}.{said} Approve it?",
        ApprovalAnswer,
    )


async def deliver(registry: Registry, run: Run, key: PauseKey, answer: Answer) -> None:
    """Send the user's answer to the platform; a decline leaves it pending for later."""
    if not answer.accepted or answer.data is None:
        return
    platform_id = key.id
    run.mark_answered(key)
    if key.kind == "question":
        responder = run.backend
        if not isinstance(responder, QuestionResponder):
            raise ToolError(f"backend '{run.backend.name}' cannot take answers to questions.")
        assert isinstance(answer.data, QuestionAnswer)  # the form question() asked with
        await responder.answer_question(platform_id, answer=answer.data.answer)
        return
    data = answer.data
    assert isinstance(data, ApprovalAnswer)
    arguments = None
    if data.arguments and data.arguments.strip():
        try:
            arguments = json.loads(data.arguments)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise InvalidInputError(
                "the edited arguments are not a JSON object, so nothing was sent; the "
                f"approval {run.backend.name}:{platform_id} is still pending "
                "(respond_to_approval answers it).",
                backend=run.backend.name,
            )
    handler = registry.require(run.backend, ApprovalHandler, "answer an approval")
    await handler.respond_to_approval(
        platform_id, decision=data.decision, arguments=arguments, reason=data.reason
    )


def input_requests(run: Run) -> dict[str, dict[str, Any]]:
    """One ``elicitation/create`` form per pause of ``run`` nobody answered yet, keyed by
    the pause (keys are unique over a run's life: approval and question ids are)."""
    requests = {}
    for event in run.outstanding():
        key = PauseKey.of(event)
        asked = question(run, key)
        params = ElicitRequestFormParams(
            message=asked.message, requested_schema=render_elicitation_schema(asked.schema)
        )
        requests[str(key)] = {
            "method": "elicitation/create",
            "params": params.model_dump(by_alias=True, mode="json", exclude_none=True),
        }
    return requests


async def answer_pauses(registry: Registry, run: Run, responses: dict[str, Any]) -> None:
    """Deliver the user's answers (elicitation results, as JSON) to the run's outstanding
    pauses; answers to anything else (unknown, already answered, superseded) are ignored,
    as the task protocols ask."""
    outstanding = {PauseKey.of(e) for e in run.outstanding()}
    for text, response in responses.items():
        key = PauseKey.parse(text)
        if key not in outstanding or not isinstance(response, dict):
            continue
        asked = question(run, key)
        answer = answer_to(asked, response.get("action"), response.get("content"))
        await deliver(registry, run, key, answer)
