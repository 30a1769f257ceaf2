"""One module per group of tools; each defines ``toolbox`` and is picked up automatically.

``NEEDS`` says, per module, what at least one configured backend must be able to do for
any of the module's tools to be served (None: some of them always are). The server
imports a module only then, so a configuration of the local backend alone loads none of
the platform toolsets' code and classes at start. ``tests/server/test_tool_surface.py`` holds
each entry equal to the needs the module's tools declare.

The parameter types the tools share are here too, so each name means the same thing in
every toolset, and the check of a new thing's name the create tools share.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from agentdeck.backends.base import (
    AgentToolRunner,
    ApprovalCanceller,
    QuestionResponder,
    SubagentLister,
)
from agentdeck.backends.settings import is_per_user
from agentdeck.errors import InvalidInputError
from agentdeck.server.toolkit import Need

__all__ = [
    "NEEDS",
    "AgentRef",
    "BackendName",
    "ConversationToContinue",
    "Cursor",
    "Limit",
    "OptionalBackend",
    "Options",
    "RunId",
    "WaitSeconds",
    "new_name",
]

NEEDS: dict[str, tuple[Need, ...] | None] = {
    "agents": None,
    "approvals": ("approvals", ApprovalCanceller, QuestionResponder),
    "chat": None,
    "conversations": None,
    "credentials": (is_per_user,),
    "knowledge": ("knowledge",),
    "subagents": (SubagentLister, AgentToolRunner),
    "triggers": ("triggers",),
    "workflows": ("workflows", "publish"),
}

BackendName = Annotated[str, Field(description="A backend's name, as list_backends shows it.")]
OptionalBackend = Annotated[str | None, Field(description="A backend's name; omit for all.")]
AgentRef = Annotated[
    str,
    Field(
        description=(
            "Ref of the agent, '<backend>:<id>', from list_agents (or a one-agent backend's name)."
        )
    ),
]
Limit = Annotated[int, Field(ge=1, le=200, description="How many items at most.")]
Cursor = Annotated[str | None, Field(description="The previous page's next_cursor.")]
WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        le=600,
        description=(
            'Seconds to wait for the answer before returning it so far with status "running".'
        ),
    ),
]
ConversationToContinue = Annotated[
    str | None,
    Field(
        description=(
            "Ref of the conversation to continue (the `conversation` of an earlier result); "
            "omit to start a new one."
        )
    ),
]
RunId = Annotated[str, Field(min_length=1, description="The run_id a chat returned.")]
Options = Annotated[
    dict[str, Any] | None,
    # The description is written per configuration from the backends' declared options
    # (``server._surface``): it lists only the configured platforms' keys.
    Field(description="Platform-specific settings."),
]


def new_name(name: str, what: str, backend: str) -> str:
    """The name a create tool gives a new ``what`` (an agent, a workflow) on ``backend``:
    ``name`` without surrounding white space, which must leave something."""
    if not name.strip():
        raise InvalidInputError(f"the {what}'s name is empty.", backend=backend)
    return name.strip()
