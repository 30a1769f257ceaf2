"""What every tool is made of: its declaration (:class:`Toolbox`, :class:`ToolSpec`), the
running state it reads (:func:`deck`), the backend a ref or name reaches
(:func:`reach`, :func:`backend_as`), listing across backends (:class:`Listing`, and
the listings both tools and completions read), and the one exit for
what it sends back (:func:`guarded`: errors as tool errors, secrets masked, models
written as :func:`tool_result` writes them; progress through :func:`report_progress`).

The schemas a tool publishes are compacted here too (:func:`compacted`), so every tool,
generic or per agent, lists the same lean, portable shape.
"""

from agentdeck.server.toolkit._listing import (
    AGENTS,
    APPROVALS,
    WORKFLOWS,
    Listing,
    ListResult,
    NextCursor,
    by_backend,
    list_across,
    targets,
)
from agentdeck.server.toolkit._reach import Reached, backend_as, reach
from agentdeck.server.toolkit._results import TEXT_LIMIT, resource_json, tool_result
from agentdeck.server.toolkit._schemas import brief, compacted
from agentdeck.server.toolkit._state import Deck
from agentdeck.server.toolkit._toolbox import (
    Need,
    Toolbox,
    ToolSpec,
    deck,
    guarded,
    report_progress,
)

__all__ = [
    "AGENTS",
    "APPROVALS",
    "TEXT_LIMIT",
    "WORKFLOWS",
    "Deck",
    "ListResult",
    "Listing",
    "Need",
    "NextCursor",
    "Reached",
    "ToolSpec",
    "Toolbox",
    "backend_as",
    "brief",
    "by_backend",
    "compacted",
    "deck",
    "guarded",
    "list_across",
    "reach",
    "report_progress",
    "resource_json",
    "targets",
    "tool_result",
]
