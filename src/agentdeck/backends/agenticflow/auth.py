"""AgenticFlow's authentication scheme: ``Authorization: Bearer <key>``, except on the
requests that must go without the key (public agents, webhooks, which carry their own
credentials)."""

from __future__ import annotations

from collections.abc import Generator

import httpx2

#: The header that marks a request to go out without the API key; never sent.
WITHOUT_KEY = "X-Agentdeck-Without-Key"


class KeyAuth(httpx2.Auth):
    """``Authorization: Bearer <key>``, except on requests marked with :data:`WITHOUT_KEY`
    (AgenticFlow)."""

    def __init__(self, key: str | None) -> None:
        self._value = f"Bearer {key}" if key else None

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        if WITHOUT_KEY in request.headers:
            del request.headers[WITHOUT_KEY]
        elif self._value:
            request.headers["Authorization"] = self._value
        yield request
