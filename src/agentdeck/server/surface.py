"""What a configuration serves, and how it reads: only what its backends can do.

A tool says what it needs (a capability of ``backends.base.CAPABILITIES``, a backend
protocol, or a test of a backend class and its settings); it is served when at least
one configured backend has it, decided from the backend classes the registry maps the
configured kinds to, so nothing has to be opened. The same classes write what the
descriptions say per platform: which kinds support a tool when not all do, and the
``options`` keys each configured kind declares (``Backend.options``). Schemas are
compacted (``server.schemas``) as the tools are built.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import Tool as ListedTool

from agentdeck.backends.base import ANY_KEY, CAPABILITIES, Backend, Option, options_of
from agentdeck.backends.kinds import backend_class
from agentdeck.config import Settings
from agentdeck.server.schemas import compact
from agentdeck.server.toolkit import Need, ToolSpec

NO_OPTIONS = "No configured backend takes options here."


def _has(cls: type[Backend], backend_settings: Any, need: Need) -> bool:
    if isinstance(need, str):
        return issubclass(cls, CAPABILITIES[need])
    if isinstance(need, type):
        return issubclass(cls, need)
    predicate: Callable[[type[Backend], Any], bool] = need
    return predicate(cls, backend_settings)


def _option_text(option: Option) -> str:
    if option.key == ANY_KEY:
        return f"any other key: {option.description}"
    typed = f"{option.key} ({option.type})"
    return f"{typed}: {option.description}" if option.description else typed


@dataclass(frozen=True)
class Surface:
    """The configured backends as classes with their settings, by name."""

    backends: dict[str, tuple[type[Backend], Any]]

    @classmethod
    def of(cls, settings: Settings) -> Surface:
        return cls(
            {
                name: (backend_class(backend.kind), backend)
                for name, backend in settings.enabled_backends().items()
            }
        )

    def kinds(self) -> list[type[Backend]]:
        """One class per configured kind, in configuration order."""
        return list({c.kind: c for c, _ in self.backends.values()}.values())

    def serves(self, spec: ToolSpec) -> bool:
        return spec.needs is None or any(_has(c, s, spec.needs) for c, s in self.backends.values())

    def description(self, spec: ToolSpec) -> str:
        """The docstring, plus which configured kinds support the tool when not all do."""
        text = inspect.cleandoc(spec.fn.__doc__ or "")
        if spec.needs is None:
            return text
        able = [c.kind for c, s in self.backends.values() if _has(c, s, spec.needs)]
        if len(able) == len(self.backends):
            return text
        return f"{text} Supported by: {', '.join(dict.fromkeys(able))}."

    def options_doc(self, operation: str) -> str:
        """The ``options`` keys ``operation`` takes on each configured kind, one line per kind.

        An update that takes the same keys as its create says so instead of repeating them.
        """
        creating = operation.replace("update_", "create_", 1)
        lines = []
        for c in self.kinds():
            declared = options_of(c.options, operation)
            if not declared:
                continue
            if creating != operation and declared == options_of(c.options, creating):
                lines.append(f"{c.kind}: the keys of {creating}")
            else:
                lines.append(f"{c.kind}: " + "; ".join(_option_text(o) for o in declared))
        if not lines:
            return NO_OPTIONS
        return "Keys per platform:\n" + "\n".join(lines)

    def tool(self, spec: ToolSpec) -> Tool:
        """The MCP tool for ``spec``, with this configuration's texts and compact schemas."""
        tool = Tool.from_function(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=self.description(spec),
            annotations=spec.annotations,
        )
        parameters = compact(tool.parameters, output=False)
        properties = parameters.get("properties", {})
        if "options" in properties:
            properties["options"]["description"] = self.options_doc(spec.name)
        notes = [f"{c.kind}: {c.model_note}" for c in self.kinds() if c.model_note]
        if "model" in properties and notes:
            properties["model"]["description"] += " " + "; ".join(notes) + "."
        tool.parameters = parameters
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = compact(tool.fn_metadata.output_schema, output=True)
        return tool


class LeanServer(MCPServer[Any]):
    """The MCP server, listing tools that come and go (the per-agent tools, which the SDK
    builds from their functions) with compacted schemas like the built-in ones."""

    async def list_tools(self) -> list[ListedTool]:
        return [_lean(tool) for tool in await super().list_tools()]


def _lean(tool: ListedTool) -> ListedTool:
    if "title" not in tool.input_schema:  # built by Surface.tool: compact already
        return tool
    output = tool.output_schema
    return tool.model_copy(
        update={
            "input_schema": compact(tool.input_schema, output=False),
            "output_schema": compact(output, output=True) if output is not None else None,
        }
    )
