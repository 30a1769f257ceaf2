"""What a configuration serves, and how it reads: only what its backends can do.

A tool says what it needs (a capability of ``backends.base.CAPABILITIES``, a backend
protocol, or a test of a backend class and its settings); it is served when at least
one configured backend has it, decided from the backend classes the registry maps the
configured kinds to, so nothing has to be opened. The same classes write what the
descriptions say per platform: which kinds support a tool when not all do, and the
``options`` keys each configured kind declares (``Backend.options``). Schemas are
compacted (``server.toolkit.compacted``) as the tools are built.

Which tools a configuration serves is decided here too (:func:`enabled_tools`): the
modules of ``server.tools`` some configured backend can use, in the enabled toolsets,
minus writers in read-only mode.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mcp.server.mcpserver.tools import Tool

from agentdeck.backends.base import ANY_KEY, CAPABILITIES, Backend, Option, options_of
from agentdeck.backends.kinds import backend_class
from agentdeck.config import Settings
from agentdeck.server import tools
from agentdeck.server.toolkit import Need, ToolSpec, compacted

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

    def able(self, need: Need) -> bool:
        """Whether at least one configured backend has ``need``."""
        return any(_has(c, s, need) for c, s in self.backends.values())

    def serves(self, spec: ToolSpec) -> bool:
        return spec.needs is None or self.able(spec.needs)

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
        tool = compacted(
            Tool.from_function(
                spec.fn,
                name=spec.name,
                title=spec.title,
                description=self.description(spec),
                annotations=spec.annotations,
            )
        )
        properties = tool.parameters.get("properties", {})
        if "options" in properties:
            properties["options"]["description"] = self.options_doc(spec.name)
        notes = [f"{c.kind}: {c.model_note}" for c in self.kinds() if c.model_note]
        if "model" in properties and notes:
            properties["model"]["description"] += " " + "; ".join(notes) + "."
        return tool


def tool_modules(surface: Surface | None = None) -> list[ModuleType]:
    """The modules of ``agentdeck.server.tools``: each has a ``toolbox`` and may have a
    ``register(server)`` for the resources that belong with its tools. With ``surface``,
    only those with a tool some configured backend can serve (``tools.NEEDS``): the others
    are not even imported."""
    names = [
        name
        for name, needs in tools.NEEDS.items()
        if surface is None or needs is None or any(surface.able(need) for need in needs)
    ]
    return [importlib.import_module(f"{tools.__name__}.{name}") for name in names]


def all_tools() -> list[ToolSpec]:
    """Every tool of every tools module, in module order."""
    return [spec for module in tool_modules() for spec in module.toolbox.tools]


def enabled_tools(settings: Settings) -> list[ToolSpec]:
    """The tools this configuration serves: those some configured backend can do, in the
    enabled toolsets, minus writers in read-only mode."""
    surface = Surface.of(settings)
    return [
        spec
        for module in tool_modules(surface)
        for spec in module.toolbox.tools
        if spec.toolset in settings.server.toolsets
        and (spec.read_only or spec.conversational or not settings.server.read_only)
        and surface.serves(spec)
    ]
