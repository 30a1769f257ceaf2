"""A run's pauses as the user sees them: what to ask about an approval or a question the
agent waits on (:func:`question`), the answer sent on to the platform (:func:`deliver`),
and the same as elicitation forms for the task protocols (:func:`input_requests`,
:func:`answer_pauses`).

The one place the server names a pause by its key (``approval:<id>``, ``question:<id>``,
the run engine's ``pause_key``) and reads or records what was asked and answered on a
run, so the chat path, the task protocols and the approvals toolset share one reading
of them.
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
from agentdeck.model import QuestionAsked
from agentdeck.registry import Registry
from agentdeck.runs import Run, RunManager, pause_key
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


def unasked(run: Run) -> list[str]:
    """The pauses ``run`` waits on that nobody was asked about nor answered yet."""
    waiting = [pause_key(e) for e in run.waiting_on()]
    return [key for key in waiting if key not in run.asked | run.answered]


def mark_asked(run: Run, keys: list[str]) -> None:
    """The user was asked about these pauses here: not again by this run's followers."""
    run.asked.update(keys)


def mark_answered(runs: RunManager, backend: str, kind: str, platform_id: str) -> None:
    """A pause (``kind`` "approval" or "question") was answered outside the run (a tool):
    the runs waiting on it stop waiting on someone."""
    runs.mark_answered(backend, f"{kind}:{platform_id}")


def question(run: Run, key: str) -> Question:
    """What to ask the user about the pause ``key`` of ``run``, and the form of the answer."""
    event = next(e for e in run.waiting_on() if pause_key(e) == key)
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


async def deliver(registry: Registry, run: Run, key: str, answer: Answer) -> None:
    """Send the user's answer to the platform; a decline leaves it pending for later."""
    if not answer.accepted or answer.data is None:
        return
    kind, _, platform_id = key.partition(":")
    run.answered.add(key)
    if kind == "question":
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
    for event in run.waiting_on():
        key = pause_key(event)
        if key in run.answered:
            continue
        asked = question(run, key)
        params = ElicitRequestFormParams(
            message=asked.message, requested_schema=render_elicitation_schema(asked.schema)
        )
        requests[key] = {
            "method": "elicitation/create",
            "params": params.model_dump(by_alias=True, mode="json", exclude_none=True),
        }
    return requests


async def answer_pauses(registry: Registry, run: Run, responses: dict[str, Any]) -> None:
    """Deliver the user's answers (elicitation results, as JSON) to the run's outstanding
    pauses; answers to anything else (unknown, already answered, superseded) are ignored,
    as the task protocols ask."""
    outstanding = {pause_key(e) for e in run.waiting_on()} - run.answered
    for key, response in responses.items():
        if key not in outstanding or not isinstance(response, dict):
            continue
        asked = question(run, key)
        answer = answer_to(asked, response.get("action"), response.get("content"))
        await deliver(registry, run, key, answer)
