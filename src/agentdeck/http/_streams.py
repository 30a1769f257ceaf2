"""Decoding streamed answers into ChatEvents: SSE and the Vercel AI data-stream v1.

Two layers, kept apart: the wire decoders (:func:`iter_sse`, :func:`iter_data_stream`)
turn bytes into events or ``(prefix, value)`` parts and translate transport failures
into agentdeck errors; the mappers (:func:`data_stream_events`) turn parts into
ChatEvents through a dict of prefixes.

What happens to bad input, as documented for users:
- a stream cut off mid-way raises :class:`~agentdeck.errors.ProtocolError`; the run
  manager records it as the run's error and keeps what had streamed before;
- a malformed line or event is skipped and reported as a :class:`StreamWarning` event, so the
  rest of the answer still arrives and the user is told something was dropped;
- valid JSON of an unexpected shape (a list where an object belongs, a number where
  text belongs) is skipped the same way, never a crash (:func:`mapped`);
- an unknown data-stream prefix is skipped silently (the format reserves them);
- the character U+0000 (NUL) in an answer's text is left out, with a warning
  (:func:`without_nul`): no database agentdeck writes to keeps it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
from pydantic import ValidationError

from agentdeck.errors import ProtocolError
from agentdeck.http._client import HttpClient
from agentdeck.model import (
    ChatEvent,
    Done,
    ErrorEvent,
    ReasoningDelta,
    RunStarted,
    StepFinish,
    StepStart,
    StreamWarning,
    TextDelta,
    ToolCall,
    ToolResult,
)


async def iter_sse(
    response: httpx2.Response, http: HttpClient, operation: str
) -> AsyncIterator[httpx2.ServerSentEvent]:
    """Server-sent events of ``response``; a cut-off or stalled stream raises an agentdeck error."""
    try:
        async for event in httpx2.EventSource(response):
            yield event
    except httpx2.SSEError as exc:
        raise ProtocolError(
            f"{operation} did not answer with an event stream: {http.redact(str(exc))}",
            backend=http.backend,
        ) from exc
    except httpx2.TransportError as exc:
        raise http.translate(exc, operation) from exc


def sse_json(event: httpx2.ServerSentEvent) -> Any:
    """The JSON data of an SSE event, or a :class:`StreamWarning` when it is not JSON."""
    try:
        return json.loads(event.data)
    except ValueError:
        return StreamWarning(
            message=f"skipped a malformed '{event.event}' event: {event.data[:80]!r}"
        )


async def iter_data_stream(
    response: httpx2.Response, http: HttpClient, operation: str
) -> AsyncIterator[tuple[str, Any] | StreamWarning]:
    """``(prefix, value)`` parts of a data-stream v1 answer (``PREFIX:JSON`` per line)."""
    try:
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            prefix, sep, payload = line.partition(":")
            if not sep or not prefix:
                yield StreamWarning(message=f"skipped a malformed stream line: {line[:80]!r}")
                continue
            try:
                yield prefix, json.loads(payload)
            except ValueError:
                yield StreamWarning(
                    message=f"skipped a malformed '{prefix}:' line: {payload[:80]!r}"
                )
    except httpx2.TransportError as exc:
        raise http.translate(exc, operation) from exc


def text_or_none(value: Any) -> str | None:
    """An id or name from a platform's JSON: strings and numbers as text, anything else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def mapped(handler: Callable[..., list[ChatEvent]], label: str, *args: Any) -> list[ChatEvent]:
    """``handler(*args)``, or a :class:`StreamWarning` when the event's fields have the wrong
    types for a ChatEvent: one odd event is skipped, the answer goes on."""
    try:
        return handler(*args)
    except ValidationError:
        return [StreamWarning(message=f"skipped a {label} of an unexpected shape")]


def _text(value: Any) -> list[ChatEvent]:
    return [TextDelta(text=value)] if isinstance(value, str) and value else []


def _reasoning(value: Any) -> list[ChatEvent]:
    if isinstance(value, dict):
        value = value.get("text") or value.get("reasoning")
    return [ReasoningDelta(text=value)] if isinstance(value, str) and value else []


def _data(value: Any) -> list[ChatEvent]:
    """``2:`` carries an array of data items; ``thread_info`` names the conversation."""
    events: list[ChatEvent] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and item.get("type") == "thread_info":
            info = item.get("data")
            if not isinstance(info, dict):
                info = item
            thread = text_or_none(info.get("thread_id")) or text_or_none(info.get("threadId"))
            events.append(RunStarted(conversation_id=thread))
    return events


def _tool_call(value: Any) -> list[ChatEvent]:
    if not isinstance(value, dict):
        return []
    return [
        ToolCall(
            id=text_or_none(value.get("toolCallId")),
            name=text_or_none(value.get("toolName")) or "tool",
            arguments=value.get("args", value.get("arguments")),
        )
    ]


def _tool_result(value: Any) -> list[ChatEvent]:
    if not isinstance(value, dict):
        return []
    return [ToolResult(id=text_or_none(value.get("toolCallId")), result=value.get("result"))]


def _step_start(value: Any) -> list[ChatEvent]:
    step = value.get("messageId") if isinstance(value, dict) else None
    return [StepStart(step=text_or_none(step))]


def _step_finish(value: Any) -> list[ChatEvent]:
    return [StepFinish(details=value if isinstance(value, dict) else {})]


def _error(value: Any) -> list[ChatEvent]:
    message = value if isinstance(value, str) else json.dumps(value)
    return [ErrorEvent(message=f"the agent reported an error: {message}")]


def _finish(value: Any) -> list[ChatEvent]:
    value = value if isinstance(value, dict) else {}
    events: list[ChatEvent] = []
    if value.get("error"):
        events.extend(_error(value["error"]))
    details = {k: v for k, v in value.items() if k not in {"usage", "error"}}
    usage = value.get("usage")
    events.append(Done(usage=usage if isinstance(usage, dict) else None, details=details))
    return events


DATA_STREAM_PARTS: dict[str, Callable[[Any], list[ChatEvent]]] = {
    "0": _text,
    "g": _reasoning,
    "2": _data,
    "9": _tool_call,
    "a": _tool_result,
    "f": _step_start,
    "e": _step_finish,
    "3": _error,
    "d": _finish,
}


async def data_stream_events(
    parts: AsyncIterator[tuple[str, Any] | StreamWarning], *, backend: str, operation: str
) -> AsyncIterator[ChatEvent]:
    """ChatEvents from data-stream v1 parts; a stream with no finish part was cut off."""
    finished = False
    async for part in parts:
        if isinstance(part, StreamWarning):
            yield part
            continue
        prefix, value = part
        handler = DATA_STREAM_PARTS.get(prefix)
        if handler is None:
            continue
        for event in mapped(handler, f"'{prefix}:' part", value):
            finished = finished or isinstance(event, Done)
            yield event
    if not finished:
        raise ProtocolError(
            f"{operation} ended before the agent finished (no finish part).",
            backend=backend,
            hint="The answer above is incomplete; retry the message.",
        )


#: the warning of a run whose answer had NUL characters, which it left out
NUL_LEFT_OUT = "the answer contained NUL characters (U+0000); they were left out."


def without_nul(event: ChatEvent, events: list[ChatEvent]) -> ChatEvent:
    """``event`` with U+0000 left out of its text (PostgreSQL refuses that character, in
    the run history and the shared snapshot alike); the first time, a warning saying so
    is added to ``events``, the run's events so far."""
    if not isinstance(event, TextDelta | ReasoningDelta) or "\0" not in event.text:
        return event
    if not any(isinstance(e, StreamWarning) and e.message == NUL_LEFT_OUT for e in events):
        events.append(StreamWarning(message=NUL_LEFT_OUT))
    return event.model_copy(update={"text": event.text.replace("\0", "")})
