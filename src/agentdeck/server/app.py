"""Builds the MCP server: the lifespan that opens the backends, and the enabled tools."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import ModuleType

import anyio
from mcp.server.mcpserver import MCPServer

from agentdeck import __version__
from agentdeck.config import Settings
from agentdeck.registry import Registry
from agentdeck.runs import RunManager
from agentdeck.server import resources, tools
from agentdeck.server.toolkit import ToolSpec

INSTRUCTIONS = """\
agentdeck puts the AI agents of several platforms (and local ones) behind one set of tools.
Start with list_backends and list_agents. Everything is addressed by a ref '<backend>:<id>'
that results carry and tools accept. chat answers within wait_seconds; if the agent is still
working it returns status "running" with a run_id: call get_run to wait for the rest, or
cancel_run to stop it. Conversation transcripts are resources at
agentdeck://{backend}/conversations/{id}."""


@dataclass
class Deck:
    """The state one running server shares across sessions and requests."""

    settings: Settings
    registry: Registry
    runs: RunManager


def tool_modules() -> list[ModuleType]:
    """The modules of ``agentdeck.server.tools``: each has a ``toolbox`` and may have a
    ``register(server)`` for the resources that belong with its tools."""
    names = sorted(m.name for m in pkgutil.iter_modules(tools.__path__))
    return [importlib.import_module(f"{tools.__name__}.{name}") for name in names]


def all_tools() -> list[ToolSpec]:
    """Every tool of every tools module, in module order."""
    return [spec for module in tool_modules() for spec in module.toolbox.tools]


def enabled_tools(settings: Settings) -> list[ToolSpec]:
    """The tools this configuration serves: enabled toolsets, minus writers in read-only mode."""
    return [
        spec
        for spec in all_tools()
        if spec.toolset in settings.server.toolsets
        and (spec.read_only or not settings.server.read_only)
    ]


def build_server(settings: Settings) -> MCPServer[Deck]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[Deck]) -> AsyncIterator[Deck]:
        async with Registry.open(settings) as registry, anyio.create_task_group() as task_group:
            runs = RunManager(
                task_group,
                registry.store,
                keep_seconds=settings.server.run_keep_seconds,
                keep_count=settings.server.run_keep_count,
            )
            yield Deck(settings=settings, registry=registry, runs=runs)
            task_group.cancel_scope.cancel()

    server: MCPServer[Deck] = MCPServer(
        "agentdeck",
        title="agentdeck",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
    )
    for spec in enabled_tools(settings):
        server.add_tool(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=inspect.cleandoc(spec.fn.__doc__ or ""),
            annotations=spec.annotations,
        )
    resources.register(server)
    for module in tool_modules():
        if hasattr(module, "register"):
            module.register(server)
    return server
