"""agentdeck: one MCP server for the AI agents of many platforms, and local ones.

The package itself imports nothing but its version: ``agentdeck --version`` and ``--help`` stay
instant, and the names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentdeck.version import __version__

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from agentdeck.config import Settings, load_settings
    from agentdeck.errors import AgentdeckError


__all__ = ["AgentdeckError", "Settings", "__version__", "build_server", "load_settings"]

_LAZY = {
    "AgentdeckError": "agentdeck.errors",
    "Settings": "agentdeck.config",
    "load_settings": "agentdeck.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentdeck' has no attribute {name!r}")


def build_server(settings: Settings | None = None) -> MCPServer[Any]:
    """The MCP server for ``settings`` (the default configuration when None)."""
    from agentdeck.config import load_settings
    from agentdeck.server import build_server as build

    return build(settings or load_settings())
