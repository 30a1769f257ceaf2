"""From a tool's arguments to the backend that does the work: a ref resolved to its
backend and platform id, or a backend named, and required to implement what the tool
needs (else an error naming what it can do), the same way in every toolset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from mcp.server.mcpserver import Context

from agentdeck.model import make_ref
from agentdeck.server.toolkit._toolbox import deck

P = TypeVar("P")


class Reached(NamedTuple, Generic[P]):
    """What a ref names: its backend as the protocol a tool needs, the backend's name,
    and the platform id."""

    able: P
    backend: str
    id: str

    @property
    def ref(self) -> str:
        """The ref again, as every tool writes it (``<backend>:<id>``)."""
        return make_ref(self.backend, self.id)


def reach(
    ctx: Context[Any, Any],
    ref: str,
    protocol: Callable[..., P],
    operation: str,
    *,
    what: str = "agent",
) -> Reached[P]:
    """The backend ``ref`` (of ``what``: "agent", "workflow", ...) names, as ``protocol``."""
    registry = deck(ctx).registry
    backend, platform_id = registry.resolve(ref, what=what)
    return Reached(registry.require(backend, protocol, operation), backend.name, platform_id)


def backend_as(ctx: Context[Any, Any], name: str, protocol: Callable[..., P], operation: str) -> P:
    """The backend called ``name``, as ``protocol``."""
    registry = deck(ctx).registry
    return registry.require(registry.get(name), protocol, operation)
