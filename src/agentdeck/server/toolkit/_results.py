"""How a tool result goes on the wire: structured content in full, and a text that repeats
it only while that is cheap.

A result is its model as structured content (what ``outputSchema`` describes), leaving
out the fields that have no value: the schemas publish optional fields as "may be
absent", never as "may be null" (``_schemas``). The MCP spec asks a tool that
returns structured content to also return it serialized as JSON text, for clients that
read only ``content``; so a result of up to :data:`TEXT_LIMIT` bytes carries its JSON as
text too, compact. A larger one would carry its payload twice, and a result over 1 MiB
never reaches a client that caps a server-sent event there (the Python SDK's client):
its text is a preview instead, the same JSON with long strings and lists cut, each cut
saying how much is left out and that the full value is in the structured content.
"""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types
from pydantic import BaseModel

#: Bytes of JSON text a result repeats in full; above this its text is a preview.
TEXT_LIMIT = 64 * 1024
#: The previews tried in turn, until one fits: (characters kept of a string, items of a list).
_CUTS = ((4096, 200), (1024, 50), (256, 20), (64, 5))


def structured(value: BaseModel) -> dict[str, Any]:
    """``value`` as structured content: JSON types, aliases, no field without a value."""
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


def resource_json(value: BaseModel) -> str:
    """``value`` as a JSON resource's text: the same fields its tool result has."""
    return json.dumps(structured(value), ensure_ascii=False, indent=2)


def tool_result(value: BaseModel) -> types.CallToolResult:
    """The tool result for ``value``: structured content, and its text (module docstring)."""
    content = structured(value)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=result_text(content))],
        structured_content=content,
    )


def result_text(content: dict[str, Any]) -> str:
    """``content`` as JSON text, or as a preview of it when that is over :data:`TEXT_LIMIT`."""
    text = _json(content)
    if len(text.encode()) <= TEXT_LIMIT:
        return text
    for characters, items in _CUTS:
        preview = _json(_cut(content, characters, items))
        if len(preview.encode()) <= TEXT_LIMIT:
            return preview
    return _json({"note": f"This result ({len(text.encode())} bytes) is in structuredContent."})


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cut(value: Any, characters: int, items: int) -> Any:
    if isinstance(value, str) and len(value) > characters:
        left = len(value) - characters
        return f"{value[:characters]}… [{left} more characters in structuredContent]"
    if isinstance(value, dict):
        return {key: _cut(item, characters, items) for key, item in value.items()}
    if isinstance(value, list):
        kept = [_cut(item, characters, items) for item in value[:items]]
        if len(value) > items:
            kept.append(f"… [{len(value) - items} more items in structuredContent]")
        return kept
    return value
