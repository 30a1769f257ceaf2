"""Make's run stream, step by step: each ``event: step`` message becomes ChatEvents by
its role (assistant text and tool calls, tool results; system and user steps echo the
input and are skipped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentdeck.backends.kit import (
    ChatEvent,
    StreamWarning,
    TextDelta,
    ToolCall,
    ToolResult,
    text_or_none,
)


def text_of(content: Any) -> str:
    """A message's text: a string, a list of text parts, or another JSON value as JSON."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "".join(str(p.get("text") or "") for p in content)
    return json.dumps(content)


def _arguments(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class StepState:
    """Turns Make's step messages into ChatEvents, by role, remembering what it has seen."""

    def __init__(self) -> None:
        self.answered = False
        self.iteration: str | None = None
        self._texts = 0
        self._roles: dict[str, Callable[[dict[str, Any]], list[ChatEvent]]] = {
            "assistant": self._assistant,
            "tool": self._tool,
            "system": lambda _: [],
            "user": lambda _: [],
        }

    def step(self, data: Any) -> list[ChatEvent]:
        if isinstance(data, StreamWarning):
            return [data]
        if not isinstance(data, dict) or not isinstance(data.get("role"), str):
            return [StreamWarning(message=f"skipped a step that is not a message: {data!r:.80}")]
        self.iteration = text_or_none(data.get("agentIterationId")) or self.iteration
        handler = self._roles.get(data["role"])
        return handler(data) if handler else []

    def _assistant(self, data: dict[str, Any]) -> list[ChatEvent]:
        self.answered = True
        events: list[ChatEvent] = []
        text = text_of(data.get("content"))
        if text:
            # Each assistant step is a whole message; keep them apart in the answer.
            events.append(TextDelta(text=f"\n\n{text}" if self._texts else text))
            self._texts += 1
        calls = data.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                function = call.get("function")
                if not isinstance(function, dict):
                    function = {}
                events.append(
                    ToolCall(
                        id=text_or_none(call.get("id")),
                        name=text_or_none(function.get("name"))
                        or text_or_none(call.get("name"))
                        or "tool",
                        arguments=_arguments(function.get("arguments", call.get("arguments"))),
                    )
                )
        return events

    def _tool(self, data: dict[str, Any]) -> list[ChatEvent]:
        return [
            ToolResult(
                id=text_or_none(data.get("tool_call_id")) or text_or_none(data.get("toolCallId")),
                name=text_or_none(data.get("name")),
                result=_arguments(data.get("content")),
            )
        ]
