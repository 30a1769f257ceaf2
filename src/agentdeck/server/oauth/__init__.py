"""Users, with ``[server.auth]`` (OAuth 2.1; docs/remote.md): who is asking, what the
scopes of their token let them do, and agentdeck as the resource server that checks
tokens before a request reaches MCP.

Without ``[server.auth]`` nobody is signed in: :func:`current_principal` and
:func:`granted_scopes` answer None and nothing here is enforced. Checking a token needs
PyJWT, so the verifiers load on first use (``verifier_for``, ``JwtVerifier``,
``IntrospectionVerifier``): a server without OAuth never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentdeck.server.oauth._principal import current_principal
from agentdeck.server.oauth._resource_server import protect
from agentdeck.server.oauth._scopes import ScopePolicy, granted_scopes

if TYPE_CHECKING:
    from agentdeck.server.oauth._tokens import (
        RETRY_SECONDS,
        IntrospectionVerifier,
        JwtVerifier,
        verifier_for,
    )

__all__ = [
    "RETRY_SECONDS",
    "IntrospectionVerifier",
    "JwtVerifier",
    "ScopePolicy",
    "current_principal",
    "granted_scopes",
    "protect",
    "verifier_for",
]

#: The names of the token checking, loaded with PyJWT on first use.
_VERIFYING = frozenset({"RETRY_SECONDS", "IntrospectionVerifier", "JwtVerifier", "verifier_for"})


def __getattr__(name: str) -> Any:
    if name in _VERIFYING:
        from agentdeck.server.oauth import _tokens

        return getattr(_tokens, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
