"""Make's authentication scheme: ``Authorization: Token <token>``."""

from __future__ import annotations

from agentdeck.backends.kit import BearerAuth


class TokenAuth(BearerAuth):
    """``Authorization: Token <token>`` (Make)."""

    def __init__(self, token: str) -> None:
        super().__init__(token, scheme="Token")
