"""Who is asking: the user behind the request's OAuth access token, if there is one.

A principal is the token's issuer and subject (``<sub>@<iss>``), the pair that names one
user across every client and replica; the client id is left out, so the same person in
Claude.ai and in an IDE is one principal. Without OAuth (stdio, the static ``--token``
mode) there is no principal: one person uses the server, and nothing is owned.

The token comes from the SDK's auth context, which its HTTP authentication middleware
sets per request (``mcp.server.auth.middleware.auth_context``); below the server layer,
code takes the principal as a plain ``owner`` string and never reads the token.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import principal_components


def current_principal() -> str | None:
    """The principal of the current request's access token; None without one."""
    token = get_access_token()
    if token is None:
        return None
    _, issuer, subject = principal_components(token)
    if subject is None:
        return None
    return f"{subject}@{issuer or ''}"
