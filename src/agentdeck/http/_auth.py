"""How agentdeck authenticates to a platform: one ``httpx2.Auth`` per scheme.

A backend names its scheme in its ``Connection``; the registry builds the pooled client
with it, so no adapter ever sets an Authorization header by hand. The generic bearer
scheme is here; a platform's own scheme lives in its package (Make's ``Token``,
Roboflow's API key in the query or body, AgenticFlow's key header).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx2


class BearerAuth(httpx2.Auth):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        self._value = f"{scheme} {token}"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = self._value
        yield request
