"""Tool schemas as lean as the client needs them: every byte of ``tools/list`` is paid for.

pydantic writes a ``title`` on every property, ``anyOf`` with a ``null`` branch for each
optional field, ``"default": null`` and ``"additionalProperties": true``; none of them
tells a client anything the rest of the schema does not. Output schemas also lose
their defaults and long field descriptions (the tool description says what matters);
nested models stay shared under ``$defs``. The compacted schema accepts exactly what
the original accepts.
"""

from __future__ import annotations

from typing import Any

#: Output field descriptions longer than this are dropped; short ones (a ref's use,
#: "Pass as cursor") stay, since they tell the caller what to do with the value.
MAX_OUTPUT_DESCRIPTION = 0
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")


def compact(schema: dict[str, Any], *, output: bool) -> dict[str, Any]:
    """A copy of ``schema`` without the parts no client needs (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and (output or value is None)):
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key == "description" and output and len(value) > MAX_OUTPUT_DESCRIPTION:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            value = {name: compact(sub, output=output) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            value = [compact(sub, output=output) for sub in value]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            value = compact(value, output=output)
        out[key] = value
    return _merge_null(out)


def _merge_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: T, ...}, {type: null}]`` as ``type: [T, null]`` where that is the same."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return schema
    other = branches[0] if branches[1] == {"type": "null"} else branches[1]
    kind = other.get("type")
    if not isinstance(kind, str) or any(k in other for k in ("enum", "const", "$ref")):
        return schema
    merged = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**other, **merged, "type": [kind, "null"]}


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
