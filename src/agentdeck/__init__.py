"""agentdeck: one MCP server for the AI agents of many platforms, and local ones."""

from agentdeck.config import Settings, load_settings
from agentdeck.errors import AgentdeckError

__version__ = "0.1.0"

__all__ = ["AgentdeckError", "Settings", "__version__", "build_server", "load_settings"]


def build_server(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    """The MCP server for ``settings`` (the default configuration when None)."""
    from agentdeck.server.app import build_server as build

    return build(settings or load_settings())
