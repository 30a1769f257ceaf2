"""AgentFlow's chat answers as ChatEvents: the SSE event table and the one-piece JSON answer.

Kept apart from the backend so the mapping is one dict of event names
(:data:`EVENTS`). The event names and payloads are assumptions (the reference
lists routes only); each handler accepts the obvious variants:

- ``start`` {call_id, conversation_id} → :class:`RunStarted` (the call id is what
  ``POST /api/v1/cancel/{call_id}`` takes; the ``X-Call-Id`` header is the fallback);
- ``text`` {content | text | delta} (also named ``token``/``delta``) → :class:`TextDelta`;
- ``reasoning``/``thinking`` → :class:`ReasoningDelta`;
- ``tool_call`` {id, tool | name, arguments} and ``tool_result`` {id, tool, result | output};
- ``approval_required`` {approval_id, tool, arguments, expires_at} → :class:`ApprovalRequired`;
  the stream then pauses until the approval is answered, expires or the call is cancelled;
- ``approval_resolved`` {approval_id, status} → :class:`ApprovalResolved`;
- ``question`` {question_id, question, options} → :class:`QuestionAsked`;
- ``error`` {code, message} and ``cancelled`` → :class:`ErrorEvent` (the run fails);
- ``done`` {conversation_id, call_id, message_id, usage?} → :class:`Done`; a ``done``
  whose status is a pause (:data:`PAUSED`) ends the stream but not the run: it sets
  ``StreamState.paused`` and the backend waits the pause out (``pauses``).

Unknown events (keep-alives, UI hints) are skipped; a malformed one becomes a
:class:`StreamWarning` and the stream goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentdeck.backends.kit import (
    ApprovalRequired,
    ApprovalResolved,
    ChatEvent,
    Done,
    ErrorEvent,
    QuestionAsked,
    ReasoningDelta,
    RunStarted,
    StreamWarning,
    TextDelta,
    ToolCall,
    ToolResult,
)


@dataclass
class StreamState:
    """What one chat stream has told so far."""

    call_id: str | None = None
    conversation_id: str | None = None
    started: bool = False
    finished: bool = False
    failed: bool = False
    paused: bool = False


#: ``done`` statuses that mean the agent waits on a human, not that it finished.
PAUSED = ("awaiting_approval", "awaiting_input", "paused")


def text_of(data: Any, *keys: str) -> str | None:
    """The first non-empty string among ``keys`` of a dict (or ``data`` itself if a string)."""
    if isinstance(data, str):
        return data or None
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
    return None


def _malformed(name: str, data: Any) -> list[ChatEvent]:
    return [
        StreamWarning(message=f"skipped a '{name}' event without the expected fields: {data!r:.80}")
    ]


def _start(state: StreamState, data: Any) -> list[ChatEvent]:
    state.call_id = text_of(data, "call_id", "run_id", "id") or state.call_id
    state.conversation_id = text_of(data, "conversation_id") or state.conversation_id
    state.started = True
    return [RunStarted(upstream_run_id=state.call_id, conversation_id=state.conversation_id)]


def _text(state: StreamState, data: Any) -> list[ChatEvent]:
    text = text_of(data, "content", "text", "delta", "token")
    return [TextDelta(text=text)] if text else []


def _reasoning(state: StreamState, data: Any) -> list[ChatEvent]:
    text = text_of(data, "content", "text", "delta", "reasoning")
    return [ReasoningDelta(text=text)] if text else []


def _tool_call(state: StreamState, data: Any) -> list[ChatEvent]:
    name = text_of(data, "tool", "name", "tool_name")
    if not isinstance(data, dict) or name is None:
        return _malformed("tool_call", data)
    return [
        ToolCall(
            id=text_of(data, "id", "tool_call_id"),
            name=name,
            arguments=data.get("arguments", data.get("args")),
        )
    ]


def _tool_result(state: StreamState, data: Any) -> list[ChatEvent]:
    if not isinstance(data, dict):
        return _malformed("tool_result", data)
    return [
        ToolResult(
            id=text_of(data, "id", "tool_call_id"),
            name=text_of(data, "tool", "name", "tool_name"),
            result=data.get("result", data.get("output")),
        )
    ]


def _approval_required(state: StreamState, data: Any) -> list[ChatEvent]:
    approval_id = text_of(data, "approval_id", "id")
    if not isinstance(data, dict) or approval_id is None:
        return _malformed("approval_required", data)
    arguments = data.get("arguments", data.get("args"))
    expires = text_of(data, "expires_at")
    tool = text_of(data, "tool", "tool_name", "name")
    return [
        ApprovalRequired(
            approval_id=approval_id,
            tool=tool,
            arguments=arguments if isinstance(arguments, dict) else None,
            message=text_of(data, "message")
            or f"The agent waits for approval to run {tool or 'a tool'}"
            + (f" (until {expires})." if expires else "."),
        )
    ]


def _approval_resolved(state: StreamState, data: Any) -> list[ChatEvent]:
    approval_id = text_of(data, "approval_id", "id")
    if approval_id is None:
        return _malformed("approval_resolved", data)
    return [ApprovalResolved(approval_id=approval_id, status=text_of(data, "status", "decision"))]


def _question(state: StreamState, data: Any) -> list[ChatEvent]:
    question_id = text_of(data, "question_id", "id")
    question = text_of(data, "question", "text", "message")
    if question_id is None or question is None:
        return _malformed("question", data)
    options = data.get("options") if isinstance(data, dict) else None
    if isinstance(options, list) and options:
        question += " (options: " + ", ".join(str(o) for o in options) + ")"
    return [QuestionAsked(question_id=question_id, question=question)]


def _error(state: StreamState, data: Any) -> list[ChatEvent]:
    state.failed = True
    message = text_of(data, "message", "detail", "error") or json.dumps(data)[:200]
    code = text_of(data, "code", "type")
    said = f" ({code})" if code else ""
    return [ErrorEvent(message=f"the agent reported an error{said}: {message}")]


def _cancelled(state: StreamState, data: Any) -> list[ChatEvent]:
    state.failed = True
    call = text_of(data, "call_id") or state.call_id or "?"
    return [ErrorEvent(message=f"AgentFlow cancelled the run (call {call}) before it finished.")]


def _done(state: StreamState, data: Any) -> list[ChatEvent]:
    data = data if isinstance(data, dict) else {}
    state.conversation_id = text_of(data, "conversation_id") or state.conversation_id
    if str(data.get("status", "")).lower() in PAUSED:
        state.paused = True
        return []
    state.finished = True
    events: list[ChatEvent] = []
    if str(data.get("status", "")).lower() in ("failed", "error"):
        state.failed = True
        events.append(ErrorEvent(message=f"the agent finished with status {data['status']}."))
    details = {
        k: data[k] for k in ("call_id", "message_id", "turn", "status", "model") if k in data
    }
    usage = data.get("usage")
    events.append(
        Done(
            conversation_id=state.conversation_id,
            usage=usage if isinstance(usage, dict) else None,
            details=details,
        )
    )
    return events


Handler = Callable[[StreamState, Any], list[ChatEvent]]

#: SSE event name → handler. Names not in the table are skipped.
EVENTS: dict[str, Handler] = {
    "start": _start,
    "text": _text,
    "token": _text,
    "delta": _text,
    "reasoning": _reasoning,
    "thinking": _reasoning,
    "tool_call": _tool_call,
    "tool_result": _tool_result,
    "approval_required": _approval_required,
    "approval_resolved": _approval_resolved,
    "question": _question,
    "error": _error,
    "cancelled": _cancelled,
    "done": _done,
}


def one_piece_events(state: StreamState, body: Any) -> list[ChatEvent]:
    """The ``stream: false`` answer {call_id, conversation_id, response, tool_calls, status}."""
    if not isinstance(body, dict):
        return [ErrorEvent(message=f"AgentFlow answered the chat with {type(body).__name__}.")]
    events = _start(state, body)
    calls = body.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict):
            events += _tool_call(state, call)
            if "result" in call or "output" in call:
                events += _tool_result(state, call)
    text = text_of(body, "response", "content", "output", "message", "text")
    if text:
        events.append(TextDelta(text=text))
    return events + _done(state, body)
