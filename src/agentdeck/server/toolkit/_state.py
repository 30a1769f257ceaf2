"""The state one running server shares across sessions and requests.

Below everything that reads it (the tools, the chat path, the resources) and above
nothing of the server's but the client (the notifier) and the task book, so no server
module has to import the one that builds the server to know what the state holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from agentdeck.config import Settings
from agentdeck.registry import Registry
from agentdeck.runs import RunManager
from agentdeck.server.client import Notifier
from agentdeck.server.tasks import TaskBook


class AgentToolSet(Protocol):
    """The per-agent tools (``server.chat.AgentTools``), as the tools that change
    agents see them: rebuilt after a change, listed by name."""

    async def refresh(self, backend: str | None = None, *, notify: bool = True) -> bool: ...

    def names(self) -> list[str]: ...


@dataclass
class Deck:
    """The state the server's lifespan opens: backends, runs and their tasks,
    notifications, agent tools.

    A request sees it through :meth:`for_owner`: the registry bound to the caller's
    principal, and that principal as ``owner`` for the runs it starts and finds.
    """

    settings: Settings
    registry: Registry
    runs: RunManager
    notifier: Notifier
    agent_tools: AgentToolSet
    tasks: TaskBook
    #: the principal of the request this view serves; None without OAuth
    owner: str | None = None

    def for_owner(self, owner: str | None) -> Deck:
        """The state as ``owner`` sees it; without an owner, this state itself."""
        if owner is None:
            return self
        return replace(self, registry=self.registry.for_owner(owner), owner=owner)
