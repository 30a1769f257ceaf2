"""What both stores use: row ids, timestamps, and database URLs fit to show.

Its own module so the implementations need not import the package that picks
between them (which imports them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit


def redacted(url: str) -> str:
    """``url`` without its password, for messages and ``agentdeck check``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex
