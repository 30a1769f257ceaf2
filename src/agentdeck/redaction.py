"""Secrets never leave agentdeck: one process-wide redactor on every exit path.

The HTTP clients register the secrets of their backend (keys, tokens) with
:data:`SECRETS` when they are built. Everything that leaves the process passes
through it in one place per exit:

- log records: a record factory redacts each record's message and traceback as it
  is created, whichever logger made it (httpx2's request lines, the MCP SDK's
  ``Tool 'chat' failed`` line, agentdeck's own);
- tool results and tool errors: the tool registry (``server/toolkit.py``) redacts
  every string of a result and the text of every error;
- progress messages: :func:`agentdeck.server.toolkit.report_progress`.

A secret is redacted whole, and so is any run of at least :data:`MIN_PREFIX`
characters that starts like it: a message cut short mid-secret (to 80 or 300
characters) must not leak the secret's beginning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

MASK = "***"
#: The shortest beginning of a secret that is redacted when the rest was cut off.
MIN_PREFIX = 8
#: Shorter values are not treated as secrets: redacting them would mangle ordinary text.
_MIN_SECRET = 4


class Redactor:
    """Replaces every known secret, and any beginning of one of at least 8 characters, with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Learn more secrets (longest first, so a secret containing another is masked whole)."""
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self._secrets = sorted(known, key=len, reverse=True)

    def discard(self, secret: str) -> None:
        """Forget ``secret`` (a key that was only tried, and refused, is no secret to keep)."""
        self._secrets = [known for known in self._secrets if known != secret]

    def __contains__(self, secret: str) -> bool:
        return secret in self._secrets

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = _mask(text, secret)
        return text

    def cut(self, text: str, limit: int) -> str:
        """``text`` redacted, then cut to ``limit`` characters, never leaking a secret's start."""
        return self(self(text)[:limit])


def _mask(text: str, secret: str) -> str:
    """Mask ``secret`` in ``text``, and every run that begins like it (a cut-off secret)."""
    needle = secret[:MIN_PREFIX]
    start = text.find(needle)
    if start < 0:
        return text
    parts: list[str] = []
    done = 0
    while start >= 0:
        end = start + len(needle)
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        parts += [text[done:start], MASK]
        done = end
        start = text.find(needle, end)
    parts.append(text[done:])
    return "".join(parts)


#: The secrets of every backend this process talks to.
SECRETS = Redactor()


def redact(text: str) -> str:
    """``text`` with every configured secret masked."""
    return SECRETS(text) if SECRETS else text


def redact_value(value: Any) -> Any:
    """``value`` (a result: models, dicts, lists, strings) with every string redacted.

    Returns the same object when nothing needed masking, so clean results cost one walk.
    """
    if not SECRETS:
        return value
    return _walk(value)


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return SECRETS(value)
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            current = getattr(value, name, None)
            cleaned = _walk(current)
            if cleaned is not current:
                changes[name] = cleaned
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, dict):
        pairs = [(k, v, _walk(k), _walk(v)) for k, v in value.items()]
        if all(k is k2 and v is v2 for k, v, k2, v2 in pairs):
            return value
        return {k2: v2 for _, _, k2, v2 in pairs}
    if isinstance(value, list | tuple):
        cleaned = [_walk(v) for v in value]
        if all(a is b for a, b in zip(cleaned, value, strict=True)):
            return value
        return type(value)(cleaned) if isinstance(value, tuple) else cleaned
    return value


class _RedactingFactory:
    """A log record factory that redacts what the factory it wraps makes."""

    #: Marks the installed factory, so installing twice does not wrap it twice.
    agentdeck_redacting = True

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self._make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._make(*args, **kwargs)
        if SECRETS:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: logging reports it when the record is emitted
                return record
            cleaned = SECRETS(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info:
                # Formatters reuse exc_text when it is set: the traceback goes out redacted.
                record.exc_text = SECRETS(logging.Formatter().formatException(record.exc_info))
        return record


def install_log_redaction() -> None:
    """Redact every log record of the process (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "agentdeck_redacting", False):
        logging.setLogRecordFactory(_RedactingFactory(current))


install_log_redaction()
