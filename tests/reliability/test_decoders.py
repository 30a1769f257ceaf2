"""Defect 5 audit: every platform's event decoder skips valid JSON of the wrong shape.

Each decoder is fed the same odd values in every field it reads (lists where objects
belong, numbers where text belongs, nested objects, nulls). A decoder may turn an odd
event into a warning or nothing, but it must never raise: one odd event must not fail
an answer that is otherwise fine.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentdeck.backends.agentflow.events import EVENTS, StreamState, one_piece_events
from agentdeck.backends.make.steps import StepState
from agentdeck.backends.roboflow import parse as roboflow_parse
from agentdeck.http import DATA_STREAM_PARTS, data_stream_events, mapped
from agentdeck.model import Done

pytestmark = pytest.mark.anyio

ODD = [None, 5, 4.5, True, "", "text", [], [1, "a"], {}, {"x": {"y": []}}, [{"id": 5}]]

#: Every field name the decoders read, across the platforms.
FIELDS = [
    "toolCallId", "toolName", "args", "arguments", "result", "messageId", "usage", "error",
    "type", "data", "thread_id", "threadId", "text", "reasoning", "role", "content",
    "tool_calls", "tool_call_id", "name", "function", "agentIterationId", "call_id",
    "conversation_id", "id", "tool", "output", "approval_id", "expires_at", "status",
    "question_id", "question", "options", "message", "detail", "code", "response", "url",
    "specification", "config",
]  # fmt: skip


def odd_events() -> list[Any]:
    """The odd values themselves, and objects with each field set to each odd value."""
    objects: list[Any] = [{field: value} for field in FIELDS for value in ODD]
    objects += [{"role": role, field: value} for role in ("assistant", "tool") for field in FIELDS for value in ODD]  # fmt: skip
    objects += [{"type": "thread_info", "data": {"thread_id": value}} for value in ODD]
    objects += [{"tool_calls": [{"id": v, "function": {"name": v}}]} for v in ODD]
    objects += [{"role": "assistant", "tool_calls": [{"id": v, "name": v}]} for v in ODD]
    return ODD + objects


def assert_events(events: list[Any]) -> None:
    assert all(isinstance(event, BaseModel) for event in events)


def test_defect_5_the_agentflow_event_table_never_raises_on_odd_json() -> None:
    for handler in EVENTS.values():
        for data in odd_events():
            assert_events(handler(StreamState(), data))


def test_defect_5_an_agentflow_one_piece_answer_of_odd_shape_never_raises() -> None:
    for body in odd_events():
        assert_events(one_piece_events(StreamState(), body))


def test_defect_5_make_steps_of_odd_shape_never_raise() -> None:
    for data in odd_events():
        assert_events(mapped(StepState().step, "step", data))


def test_defect_5_roboflow_workflow_drafts_of_odd_shape_never_raise() -> None:
    for raw in odd_events():
        draft = roboflow_parse.draft("vision", raw)
        assert draft is None or draft.id


async def test_defect_5_data_stream_parts_of_odd_shape_never_raise() -> None:
    async def parts() -> AsyncIterator[tuple[str, Any]]:
        for prefix in DATA_STREAM_PARTS:
            if prefix != "d":
                for value in odd_events():
                    yield prefix, value
        yield "d", {"finishReason": "stop", "usage": 5}

    events = [e async for e in data_stream_events(parts(), backend="af", operation="chat")]
    assert isinstance(events[-1], Done) and events[-1].usage is None
    assert_events(events)
