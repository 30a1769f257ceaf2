"""What the client behind a request can be sent: its protocol era, and whether it asks its
user (elicitation) or its model (sampling) when agentdeck needs it to.

Read from a tool's ``Context`` or a handler's ``ServerRequestContext`` alike: both carry
the request's session, which holds the capabilities the client declared.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context

Request = Context | ServerRequestContext[Any, Any]


def is_modern(ctx: Request) -> bool:
    """Whether the request speaks 2026-07-28 or later (no server-to-client requests)."""
    version = ctx.protocol_version or ""
    return version >= "2026-07-28"


def can_elicit(ctx: Request) -> bool:
    """Whether the client can ask its user a form (elicitation)."""
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and capabilities.elicitation is not None


def can_elicit_urls(ctx: Request) -> bool:
    """Whether the client can send its user to a page (URL-mode elicitation)."""
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities else None
    return elicitation is not None and elicitation.url is not None


def can_sample(ctx: Request) -> bool:
    """Whether the client can answer with its own model (sampling)."""
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and capabilities.sampling is not None
