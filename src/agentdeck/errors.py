"""The error hierarchy: every failure a user can cause or meet is one of these.

```
AgentdeckError                 base; message says what happened and what to do
├── ConfigError                the config file or environment is wrong
├── InvalidInputError          bad arguments from the caller (bad ref, empty message)
├── UnsupportedError           the backend cannot do this; names what it can do
├── ModelUnavailableError      a local agent's model is not configured or not reachable
├── DatabaseError              agentdeck's own database failed or cannot be reached
│   └── DatabaseLocked         another program held it locked past the wait budget
└── UpstreamError              the platform answered with an error, or did not answer
    ├── AuthenticationError    401: the key is wrong or missing
    ├── PaymentRequiredError   402: the workspace is out of credits
    ├── PermissionDeniedError  403: the key lacks a scope, or the feature is off
    │   └── AgentDisabledError 403 AGENT_DISABLED
    ├── NotFoundError          404
    ├── ConflictError          409
    ├── UpstreamValidationError 400/422: the platform rejected the request
    ├── RateLimitedError       429 after retries; carries retry_after
    ├── ServerError            5xx after retries
    ├── UpstreamTimeoutError   no answer in time
    ├── UpstreamConnectError   connection refused / DNS / TLS
    └── ProtocolError          an answer agentdeck cannot read (malformed, cut off)
```

Messages never contain secrets: the HTTP layer redacts before building them.
"""

from __future__ import annotations

import copy
from typing import Self, TypedDict, Unpack


class AgentdeckError(Exception):
    """Base of every error agentdeck raises on purpose.

    ``backend`` names the configured backend the failure belongs to, when there is one;
    ``hint`` says what the user can do about it. ``str(error)`` joins them into one sentence.
    """

    def __init__(
        self, message: str, *, backend: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.backend = backend
        self.hint = hint

    def __str__(self) -> str:
        prefix = f"backend '{self.backend}': " if self.backend else ""
        suffix = f" {self.hint}" if self.hint else ""
        return f"{prefix}{self.message}{suffix}"

    def refined(self, *, message: str | None = None, hint: str | None = None) -> Self:
        """A copy of this error (same class and fields) with a new message or hint, to raise
        ``from`` it: how a backend says what a failure means on its platform
        (:meth:`agentdeck.backends.base.Backend.explain`) without changing the original."""
        refined = copy.copy(self)
        refined.message = self.message if message is None else message
        refined.hint = self.hint if hint is None else hint
        refined.args = (refined.message,)
        return refined


class ConfigError(AgentdeckError):
    """The configuration file or environment is invalid."""


class InvalidInputError(AgentdeckError):
    """The caller passed something agentdeck cannot use."""


class UnsupportedError(AgentdeckError):
    """The backend's platform does not offer this operation."""


class ModelUnavailableError(AgentdeckError):
    """A local agent's model is not configured or cannot be reached."""


class DatabaseError(AgentdeckError):
    """agentdeck's own database (the SQLite file or PostgreSQL) failed or is unreachable."""


class DatabaseLocked(DatabaseError):
    """Another program held agentdeck's database locked for longer than a call may wait
    (``[server] database_wait_seconds``); that call failed, nothing else did."""


class _UpstreamFields(TypedDict, total=False):
    """The keyword arguments of :class:`UpstreamError`, which its subclasses pass on."""

    backend: str | None
    hint: str | None
    status: int | None
    platform_message: str | None


class UpstreamError(AgentdeckError):
    """The platform answered with an error status, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        backend: str | None = None,
        hint: str | None = None,
        status: int | None = None,
        platform_message: str | None = None,
    ) -> None:
        super().__init__(message, backend=backend, hint=hint)
        self.status = status
        self.platform_message = platform_message

    def refined(
        self,
        *,
        message: str | None = None,
        hint: str | None = None,
        platform_message: str | None = None,
    ) -> Self:
        """As :meth:`AgentdeckError.refined`; also replaces what the platform said."""
        refined = super().refined(message=message, hint=hint)
        if platform_message is not None:
            refined.platform_message = platform_message
        return refined


class AuthenticationError(UpstreamError):
    """401: the platform did not accept the credentials."""


class PaymentRequiredError(UpstreamError):
    """402: the platform account is out of credits."""


class PermissionDeniedError(UpstreamError):
    """403: the credentials are valid but not allowed to do this."""


class AgentDisabledError(PermissionDeniedError):
    """403 AGENT_DISABLED: the workspace has agent features turned off."""


class NotFoundError(UpstreamError):
    """404: the thing addressed does not exist (or is not visible to this key)."""


class ConflictError(UpstreamError):
    """409: the request conflicts with the current state."""


class UpstreamValidationError(UpstreamError):
    """400/422: the platform rejected the request's content."""


class RateLimitedError(UpstreamError):
    """429: still rate limited after the retries the HTTP layer made."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        **fields: Unpack[_UpstreamFields],
    ) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class ServerError(UpstreamError):
    """5xx: the platform failed."""


class UpstreamTimeoutError(UpstreamError):
    """The platform did not answer in time."""


class UpstreamConnectError(UpstreamError):
    """The platform could not be reached at all."""


class ProtocolError(UpstreamError):
    """The platform's answer could not be read: malformed, unexpected or cut off."""


class CredentialsRequiredError(AgentdeckError):
    """A per-user backend was called by a user who has not connected a key to it yet.

    The server answers it by sending the user to the backend's connect page (URL-mode
    elicitation), never by asking for the key through the MCP messages. ``owner``: the
    user, None when the server has no users (no OAuth), where no key can be connected.
    """

    def __init__(self, backend: str, owner: str | None) -> None:
        hint = None
        if owner is None:
            message = (
                'this backend has credentials = "per_user": each user connects their own '
                "key, which needs users signed in through OAuth ([server.auth])."
            )
        else:
            message = "connect your key to this backend first."
            hint = f"A call on this backend alone (list_agents with backend '{backend}') "
            hint += "gives you the link to connect it."
        super().__init__(message, backend=backend, hint=hint)
        self.owner = owner
