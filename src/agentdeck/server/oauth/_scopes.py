"""Which OAuth scope each MCP request needs (``[server.auth]``, docs/remote.md).

Three levels, named in the settings: *read* (every request; read-only tools, resources,
prompts), *chat* (talking to agents: ``chat``, ``cancel_run``, the per-agent tools,
answering approvals and questions, tasks) and *manage* (every other tool: creating,
changing, deleting, publishing). A tool's level comes from how it is declared
(``server.toolkit.ToolSpec``): read-only is *read*, conversational or in the approvals toolset is
*chat*, anything else *manage*, so a new writing tool cannot land in a lower level
unnoticed. Names not declared as tools are the per-agent tools: *chat*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mcp.server.auth.middleware.auth_context import get_access_token

from agentdeck.config import AuthSettings

#: Request methods that act on runs in flight (MCP tasks): *chat*.
_CHAT_METHODS = frozenset({"tasks/get", "tasks/result", "tasks/cancel", "tasks/list"})


class Declared(Protocol):
    """A tool as it is declared (``server.toolkit.ToolSpec``): what its level is read from."""

    @property
    def name(self) -> str: ...

    @property
    def toolset(self) -> str: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def conversational(self) -> bool: ...


def tool_level(spec: Declared) -> str:
    """``read``, ``chat`` or ``manage``: what calling ``spec`` needs."""
    if spec.read_only:
        return "read"
    if spec.conversational or spec.toolset == "approvals":
        return "chat"
    return "manage"


@dataclass(frozen=True)
class ScopePolicy:
    """The scope names of the configuration, and the level of each declared tool."""

    read: str
    chat: str
    manage: str
    tools: dict[str, str]

    @classmethod
    def of(cls, settings: AuthSettings, specs: Iterable[Declared]) -> ScopePolicy:
        return cls(
            settings.read_scope,
            settings.chat_scope,
            settings.manage_scope,
            {spec.name: tool_level(spec) for spec in specs},
        )

    @property
    def names(self) -> list[str]:
        return [self.read, self.chat, self.manage]

    def tool_scopes(self, name: str) -> list[str]:
        """The scopes a call of tool ``name`` needs: *read* and the tool's own level."""
        level = self.tools.get(name, "chat")
        return [self.read] if level == "read" else [self.read, getattr(self, level)]

    def request_scopes(self, message: Any) -> list[str]:
        """The scopes a JSON-RPC message (or a batch of them) needs."""
        if isinstance(message, list):
            needed: dict[str, None] = {}
            for item in message:
                needed.update(dict.fromkeys(self.request_scopes(item)))
            return list(needed)
        if not isinstance(message, dict):
            return [self.read]
        method = message.get("method")
        params = message.get("params")
        if method == "tools/call" and isinstance(params, dict):
            return self.tool_scopes(str(params.get("name")))
        if method in _CHAT_METHODS:
            return [self.read, self.chat]
        return [self.read]

    def visible(self, name: str, granted: frozenset[str]) -> bool:
        """Whether a token granted ``granted`` may call, and so sees, tool ``name``."""
        return all(scope in granted for scope in self.tool_scopes(name))


def granted_scopes() -> frozenset[str] | None:
    """The scopes of the current request's access token; None without OAuth."""
    token = get_access_token()
    return None if token is None else frozenset(token.scopes)
