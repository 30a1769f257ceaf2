"""Asking the user before destructive actions, through elicitation, in both protocol eras.

With ``confirm_destructive = true`` (the default) a destructive tool declares a
resolver built by :func:`ask_first`; it runs before the tool body and asks the user
(``Elicit``), or, when the client cannot be asked, returns a :class:`CannotAsk` the
body turns into an error that explains the setting. The body then calls
:func:`require_confirmation` with what the resolver produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from agentdeck.server.toolkit import deck


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes: go ahead.")


@dataclass(frozen=True)
class CannotAsk:
    action: str


def confirmation_request(ctx: Context, action: str) -> Any:
    """What a destructive tool's resolver returns: go ahead, ask the user, or cannot ask."""
    if not deck(ctx).settings.server.confirm_destructive:
        return Confirmation(confirm=True)
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return CannotAsk(action)
    return Elicit(f"{action} Go ahead?", Confirmation)


def require_confirmation(outcome: Any) -> None:
    """Raise a tool error unless the user confirmed; a decline changes nothing and says so."""
    data = outcome.data if isinstance(outcome, AcceptedElicitation) else outcome
    if isinstance(data, CannotAsk):
        raise ToolError(
            f"{data.action} This needs your confirmation, but this MCP client cannot ask "
            "(it does not support elicitation). Nothing was changed. To allow destructive "
            "actions without asking, set `confirm_destructive = false` under [server] in "
            "agentdeck's config."
        )
    if not (isinstance(data, Confirmation) and data.confirm):
        raise ToolError("Not confirmed: nothing was changed.")
