"""19.14: every schema in ``tools/list`` is portable: no ``null`` type, no ``anyOf`` with a
``null`` branch, no list of types, and every property says its type. Optional values are
simply not required, and results leave out what has no value (so they still fit)."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.server.docs import every_platform_settings
from tests.support import call_ok, connect, make_settings

pytestmark = pytest.mark.anyio

#: Keywords that give a schema its type(s) without ``type`` itself.
_TYPED_BY = ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")


def portability_problems(schema: Any, where: str) -> list[str]:
    """What a strict client would warn about in ``schema`` and everything inside it."""
    if not isinstance(schema, dict):
        return []
    problems = []
    kind = schema.get("type")
    if kind == "null" or isinstance(kind, list):
        problems.append(f"{where}: type {kind}")
    for keyword in ("anyOf", "oneOf"):
        if any(branch.get("type") == "null" for branch in schema.get(keyword, [])):
            problems.append(f"{where}: {keyword} with null")
    for name, sub in schema.get("properties", {}).items():
        if not any(key in sub for key in _TYPED_BY):
            problems.append(f"{where}.{name}: no type")
    nested = [
        *((f"{where}.{n}", s) for n, s in schema.get("properties", {}).items()),
        *((f"{where}/$defs/{n}", s) for n, s in schema.get("$defs", {}).items()),
        *((f"{where}[{i}]", s) for k in _TYPED_BY[1:4] for i, s in enumerate(schema.get(k, []))),
        *((f"{where}.{k}", schema[k]) for k in ("items", "additionalProperties") if k in schema),
    ]
    for path, sub in nested:
        problems += portability_problems(sub, path)
    return problems


def test_the_check_finds_what_the_inspector_warns_about() -> None:
    """19.14: the walker itself catches nullable types, null branches and untyped properties."""
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]},
            "c": {},
        },
        "$defs": {"X": {"type": "object", "properties": {"d": {"description": "any"}}}},
    }
    assert sorted(portability_problems(schema, "t")) == [
        "t.a: type ['string', 'null']",
        "t.b: anyOf with null",
        "t.b[1]: type null",
        "t.c: no type",
        "t/$defs/X.d: no type",
    ]


async def test_every_tool_schema_is_portable(mode: str) -> None:
    """19.14: input and output schemas of every tool, per-agent tools included."""
    settings = every_platform_settings()
    async with connect(settings, mode) as client:
        await call_ok(client, "create_agent", {"backend": "local", "name": "Helper"})
        tools = (await client.list_tools()).tools
    assert any(tool.name.startswith("local_") for tool in tools)
    problems = []
    for tool in tools:
        problems += portability_problems(tool.input_schema, f"{tool.name} input")
        problems += portability_problems(tool.output_schema, f"{tool.name} output")
    assert problems == []


async def test_optional_parameters_are_not_required_and_results_leave_out_what_is_empty(
    mode: str,
) -> None:
    """19.14: an optional parameter is one left out of ``required``; a result field without
    a value is absent, not null, so the result fits its null-free output schema (the SDK
    client checks every structured result against it)."""
    async with connect(make_settings(), mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        chat = tools["chat"].input_schema
        assert "conversation" not in chat["required"]
        assert chat["properties"]["conversation"]["type"] == "string"
        agent = await call_ok(client, "create_agent", {"backend": "local", "name": "Bare"})
        answer = await call_ok(client, "chat", {"agent": agent["ref"], "message": "hi"})
    assert "description" not in agent and "error" not in answer
    assert None not in agent.values() and None not in answer.values()
