"""One module per group of tools; each defines ``toolbox`` and is picked up automatically.

``NEEDS`` says, per module, what at least one configured backend must be able to do for
any of the module's tools to be served (None: some of them always are). The server
imports a module only then, so a configuration of the local backend alone loads none of
the platform toolsets' code and classes at start. ``tests/test_tool_surface.py`` holds
each entry equal to the needs the module's tools declare.
"""

from __future__ import annotations

from agentdeck.backends.base import (
    AgentToolRunner,
    ApprovalCanceller,
    QuestionResponder,
    SubagentLister,
)
from agentdeck.backends.settings import is_per_user
from agentdeck.server.toolkit import (
    Need,
)

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
