"""Readable argument errors: one line per problem, naming the parameter and what it takes.

The SDK validates a tool call's arguments against the tool's signature before the tool
runs, and reports a failure as pydantic's own text (``1 validation error for
chatArguments … https://errors.pydantic.dev/…``): noise for the model that has to fix
its call. :class:`ReadableArgumentErrors` is a server middleware (the SDK's public
seam around every request) that leaves every call alone except one answered with an
error whose arguments do not validate; it then replaces the error text with lines such
as ``chat: "message" is required`` or ``list_agents: "limit" must be an integer from 1
to 200``, worked out from the same pydantic model the SDK used and the tool's input
schema. Successful calls cost nothing: the arguments are checked again only after the
SDK has already refused them.

A call naming no served tool is a protocol error, as the spec says (-32602, "Unknown
tool: <name>"), not a tool result: the SDK would answer it as a failed call.

It also refuses, before the tool runs, a call with the character U+0000 (NUL) in any
text of its arguments — no database agentdeck writes to keeps it — naming where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from mcp_types.methods import serialize_server_result
from pydantic import ValidationError


class ReadableArgumentErrors:
    """Middleware rewriting argument-validation failures of ``tools/call`` into plain lines,
    and refusing a call to a tool that is not served.

    ``function_of`` gives the function registered under a tool name (None for an unknown
    tool); the validation model is built from it only when a call has failed.
    """

    def __init__(self, function_of: Callable[[str], Callable[..., Any] | None]) -> None:
        self._function_of = function_of

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        nul = _nul_at(params.get("arguments"), "")
        if nul is not None:
            refused = {"type": "text", "text": _nul_refused(params, nul)}
            # answered here, not by the SDK: shaped for the era as the SDK would
            return serialize_server_result(
                ctx.method,
                ctx.protocol_version,
                {"content": [refused], "isError": True, "resultType": "complete"},
            )
        name, arguments = params.get("name"), params.get("arguments") or {}
        fn = self._function_of(name) if isinstance(name, str) else None
        if isinstance(name, str) and fn is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {name}")
        result = await call_next(ctx)
        if not isinstance(result, dict) or not result.get("isError"):
            return result
        if fn is None or not isinstance(name, str) or not isinstance(arguments, dict):
            return result
        problems = argument_problems(name, fn, arguments)
        if not problems:
            return result
        return {**result, "content": [{"type": "text", "text": "\n".join(problems)}]}


def _nul_at(value: Any, path: str) -> str | None:
    """Where in ``value`` (arguments as JSON gives them) a text holds U+0000, or None."""
    if isinstance(value, str):
        return path if "\0" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = inner if "\0" in str(key) else _nul_at(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _nul_refused(params: Mapping[str, Any], where: str) -> str:
    """The error of a call with U+0000 in an argument: no database keeps that character
    (PostgreSQL refuses it), so it is refused here, the same on every store."""
    return (
        f'{params.get("name")}: "{where.replace(chr(0), "")}" contains the character U+0000 '
        "(NUL), which agentdeck does not accept; remove it and call again."
    )


def argument_problems(tool: str, fn: Callable[..., Any], arguments: dict[str, Any]) -> list[str]:
    """What is wrong with ``arguments`` for the tool ``fn``, one line each ([] if nothing)."""
    spec = Tool.from_function(fn, name=tool)
    try:
        spec.fn_metadata.validate_arguments(arguments)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    else:
        return []
    schema = spec.parameters
    lines: list[str] = []
    for error in errors:
        line = f"{tool}: {_problem(error, schema)}"
        if line not in lines:
            lines.append(line)
    return lines


def _problem(error: Mapping[str, Any], schema: dict[str, Any]) -> str:
    path = [str(part) for part in error["loc"]]
    name = ".".join(path) or "arguments"
    if error["type"] == "missing":
        return f'"{name}" is required'
    if error["type"] == "extra_forbidden":
        return f'"{name}" is not a parameter of this tool'
    if len(path) == 1 and path[0] in schema.get("properties", {}):
        expected = _expected(schema["properties"][path[0]], schema.get("$defs", {}))
        if expected:
            return f'"{name}" must be {expected}'
    return f'"{name}": {str(error["msg"])[:1].lower()}{str(error["msg"])[1:]}'


def _expected(schema: dict[str, Any], defs: dict[str, Any]) -> str | None:
    """What a JSON Schema accepts, said in a few words (None when it cannot be said simply)."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "anyOf" in schema:
        arms = [arm for arm in schema["anyOf"] if arm.get("type") != "null"]
        said = [_expected(arm, defs) for arm in arms]
        return " or ".join(s for s in said if s) if all(said) else None
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return "one of " + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if low is not None and high is not None:
            return f"{noun} from {low:g} to {high:g}"
        if low is not None:
            return f"{noun} of at least {low:g}" if "minimum" in schema else f"{noun} over {low:g}"
        if high is not None:
            return f"{noun} of at most {high:g}"
        return noun
    if kind == "string":
        return _sized("string", "characters", schema.get("minLength", 0), schema.get("maxLength"))
    if kind == "array":
        return _sized("list", "items", schema.get("minItems", 0), schema.get("maxItems"))
    simple = {"boolean": "true or false", "object": "an object"}
    return simple.get(kind) if isinstance(kind, str) else None


def _sized(noun: str, unit: str, low: int, high: int | None) -> str:
    """A string or list with its length bounds, so a value that is too long says the limit."""
    if high is not None:
        if low > 1:
            return f"a {noun} of {low} to {high} {unit}"
        return f"a {'non-empty ' if low else ''}{noun} of at most {high} {unit}"
    if low > 1:
        return f"a {noun} of at least {low} {unit}"
    return f"a non-empty {noun}" if low else f"a {noun}"
