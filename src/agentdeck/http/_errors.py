"""Error translation, the one place: HTTP statuses and transport exceptions become
agentdeck errors here (:func:`error_for_status`, :func:`error_for_transport`), and only
:class:`agentdeck.http.HttpClient` calls it.

Every message names the operation, the status and the platform's own text (redacted
before it is cut, so no cut-off key survives), with a hint that says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from agentdeck.errors import (
    AgentDisabledError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamValidationError,
)
from agentdeck.redaction import SECRETS, Redactor

_MAX_ERROR_TEXT = 300


_STATUS_ERRORS: dict[int, tuple[type[UpstreamError], str]] = {
    400: (UpstreamValidationError, "Check the arguments against the tool's description."),
    401: (AuthenticationError, "Check the credential of this backend in the config."),
    402: (PaymentRequiredError, "The platform account is out of credits; add credits and retry."),
    403: (
        PermissionDeniedError,
        "The credential is valid but lacks permission for this; check its scopes.",
    ),
    404: (NotFoundError, "Check the ref; list tools show what exists."),
    409: (ConflictError, "The request conflicts with the current state; fetch it and retry."),
    422: (UpstreamValidationError, "Check the arguments against the tool's description."),
    429: (RateLimitedError, "Wait and retry."),
}


def platform_message(body: Any, redact: Redactor | None = None) -> str | None:
    """The platform's own error text from a JSON error body, in the common shapes.

    Secrets are redacted before the text is cut to 300 characters, so a key that
    straddles the cut cannot leave as a prefix.
    """
    text = _platform_text(body)
    if text is None:
        return None
    return (redact or SECRETS).cut(text, _MAX_ERROR_TEXT) or None


def _platform_text(body: Any) -> str | None:
    if isinstance(body, str):
        return body.strip() or None
    if not isinstance(body, Mapping):
        return None
    message, detail = body.get("message"), body.get("detail")
    if isinstance(message, str) and isinstance(detail, str) and message and detail != message:
        # e.g. Make: a generic message ("Permission denied") and the specific detail
        return f"{message}: {detail}"
    for key in ("error", "message", "detail", "error_description", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping):
            nested = _platform_text(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # FastAPI's validation shape: [{"loc": [...], "msg": "...", "type": ...}, ...]
            parts = []
            for item in value[:5]:
                if isinstance(item, Mapping):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    msg = item.get("msg") or item.get("message") or ""
                    parts.append(f"{loc}: {msg}" if loc else str(msg))
                else:
                    parts.append(str(item))
            return "; ".join(parts)
    return None


def error_for_status(
    *,
    backend: str,
    operation: str,
    status: int,
    body: Any,
    retry_after: float | None = None,
    attempts: int = 1,
    redact: Redactor | None = None,
    credential_hint: str | None = None,
) -> UpstreamError:
    """Build the agentdeck error for an HTTP error answer."""
    text = platform_message(body, redact)
    error_type = body.get("error_type") or body.get("code") if isinstance(body, Mapping) else None
    cls, hint = _STATUS_ERRORS.get(status, (ServerError if status >= 500 else UpstreamError, ""))
    if status == 401 and credential_hint:
        hint = credential_hint
    if status == 403 and error_type == "AGENT_DISABLED":
        cls = AgentDisabledError
        hint = "Agent features are turned off for this workspace; enable them in its settings."
    if status >= 500:
        hint = "The platform failed; retry later." + (
            f" (tried {attempts} times)" if attempts > 1 else ""
        )
    said = f": {text}" if text else ""
    message = f"{operation} answered HTTP {status}{said}."
    if cls is RateLimitedError:
        wait = f" Try again after {retry_after:g} s." if retry_after is not None else ""
        hint = f"Retried {attempts - 1} times.{wait}" if attempts > 1 else f"Wait and retry.{wait}"
        return RateLimitedError(
            message,
            backend=backend,
            hint=hint,
            status=status,
            platform_message=text,
            retry_after=retry_after,
        )
    return cls(message, backend=backend, hint=hint, status=status, platform_message=text)


def error_for_transport(
    exc: Exception,
    *,
    backend: str,
    operation: str,
    redact: Redactor,
    timeout_setting: str = "timeout",
) -> UpstreamError:
    """Build the agentdeck error for an exception raised by httpx2.

    ``timeout_setting`` names the config key of the read timeout that applied
    (``stream_timeout`` for chat streams), so the hint points at the right one.
    """
    detail = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        setting = "timeout" if isinstance(exc, httpx2.ConnectTimeout) else timeout_setting
        return UpstreamTimeoutError(
            f"{operation} timed out ({type(exc).__name__}).",
            backend=backend,
            hint=f"The platform is slow or unreachable; retry, or raise `{setting}` in the config.",
        )
    if isinstance(exc, httpx2.ConnectError):
        return UpstreamConnectError(
            f"{operation} could not connect: {detail}.",
            backend=backend,
            hint="Check `base_url` in the config and that the platform is reachable.",
        )
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
        return ProtocolError(
            f"{operation} was cut off: the connection closed before the answer was complete.",
            backend=backend,
            hint="Retry; if it keeps happening the platform is failing mid-answer.",
        )
    return ProtocolError(f"{operation} failed: {detail}.", backend=backend)
