"""Tool schemas as lean and as portable as the client needs them: every byte of
``tools/list`` is paid for, and strict clients (the MCP Inspector's check, models that
take a JSON Schema subset) warn on what they cannot map.

pydantic writes a ``title`` on every property, ``anyOf`` with a ``null`` branch for each
optional field, ``"default": null`` and ``"additionalProperties": true``; none of them
tells a client anything the rest of the schema does not. An optional value is one that is
not required: it loses its ``null`` (a parameter left out means "not given"; a result
leaves out a field that has no value, see ``_results``), and a result field that
was required only to say "null" stops being required. A value that may be anything gets
the JSON types it may be, so every property has a type. Output schemas also lose their
defaults and long field descriptions (the tool description says what matters); nested
models stay shared under ``$defs``. The compacted schema accepts every argument a client
can send from it, and every result agentdeck sends.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver.tools import Tool

#: Output field descriptions longer than this are dropped; short ones (a ref's use,
#: "Pass as cursor") stay, since they tell the caller what to do with the value.
MAX_OUTPUT_DESCRIPTION = 0
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")


#: What a value that may be anything can be, each a plain type (no ``null``: a missing
#: value is left out, not sent as null).
ANY_JSON: dict[str, Any] = {
    "anyOf": [{"type": kind} for kind in ("object", "array", "string", "number", "boolean")]
}


def compact(schema: dict[str, Any], *, output: bool) -> dict[str, Any]:
    """A copy of ``schema`` without the parts no client needs (see the module docstring)."""
    out: dict[str, Any] = {}
    nullable: set[str] = set()
    for key, value in schema.items():
        if key == "title" or (key == "default" and (output or value is None)):
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key == "description" and output and len(value) > MAX_OUTPUT_DESCRIPTION:
            continue
        if key == "properties" and isinstance(value, dict):
            nullable = {name for name, sub in value.items() if _allows_null(sub)}
            value = {name: _typed(compact(sub, output=output)) for name, sub in value.items()}
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            value = {name: compact(sub, output=output) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            value = [compact(sub, output=output) for sub in value]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            value = _typed(compact(value, output=output))
        out[key] = value
    if output and nullable and "required" in out:
        out["required"] = [name for name in out["required"] if name not in nullable]
    return _without_null(out)


def compacted(tool: Tool) -> Tool:
    """``tool`` with its input and output schemas compacted, in place."""
    tool.parameters = compact(tool.parameters, output=False)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = compact(tool.fn_metadata.output_schema, output=True)
    return tool


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(branch) for branch in schema.get("anyOf", []))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``null`` type or branch; one branch left is merged in."""
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [k for k in kind if k != "null"]
        schema = {**schema, "type": rest[0] if len(rest) == 1 else rest}
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return schema
    kept: list[dict[str, Any]] = [branch for branch in branches if branch != {"type": "null"}]
    others = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **others}
    return {**others, "anyOf": kept}


def _typed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, saying which JSON types it takes when it says nothing (``Any``)."""
    if any(key in schema for key in ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")):
        return schema
    return {**schema, **ANY_JSON}


def essentials(schema: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """An object schema cut to ``fields``, their types only, required where they were: a
    compact shape that still validates every full result (other fields are allowed)."""
    properties = schema.get("properties", {})
    kept = [name for name in fields if name in properties]
    return {
        "type": "object",
        "properties": {name: {"type": properties[name].get("type")} for name in kept},
        "required": [name for name in kept if name in schema.get("required", [])],
    }


def brief(*fields: str) -> Any:
    """A model's ``json_schema_extra`` that publishes it as its :func:`essentials`.

    For results whose full shape another tool already describes (a chat run), so the
    client does not pay for the same schema once per tool.
    """

    def publish(schema: dict[str, Any], model: Any = None) -> None:
        short = essentials(compact(schema, output=True), fields)
        schema.clear()
        schema.update(short)

    return publish
