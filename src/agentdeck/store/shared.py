"""What both stores use: row ids, timestamps, database URLs fit to show, how long a call
waits for a locked database, the records the store's calls take (a new agent, a message, a
page of conversations, a run's start and end), and when the run history is pruned.

Its own module so the implementations need not import the package that picks
between them (which imports them).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: how long a call waits for a database another program holds locked (the default of
#: ``[server] database_wait_seconds``)
DEFAULT_WAIT_SECONDS = 15.0
#: what to do when it waited that long in vain
LOCKED_HINT = (
    "Close or finish what holds it (a database browser, a backup, a long transaction in "
    "another program), or raise [server] database_wait_seconds; then call again."
)
#: longest between two prunings of the run history
_PRUNE_EVERY_SECONDS = 60.0


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


def iso_now() -> str:
    """Now, as the SQLite store writes times: ISO 8601 in UTC."""
    return now().isoformat()


def new_id() -> str:
    return uuid.uuid4().hex


#: A stream event to keep (``Store.add_stream_events``): its session, its stream and its
#: message (JSON).
NewStreamEvent = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class NewAgent:
    """A local agent to create (``create_agent`` writes it, with a new id and times)."""

    name: str
    description: str | None
    instructions: str | None
    model: str | None
    options: dict[str, Any]
    #: whose agent it is
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message of a local conversation (``add_message`` and ``stage_message`` write it,
    and touch its conversation). With ``new_for`` (an agent id) the conversation is new:
    it is created for that agent and ``owner``, titled by the message."""

    conversation_id: str
    role: str
    content: str
    new_for: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationQuery:
    """Which page of conversations to list (``list_conversations``,
    ``history_conversations``): those of ``agent_id`` (None: of any agent) and ``owner``
    (None: anyone's), ``limit`` of them from ``offset`` on."""

    agent_id: str | None
    limit: int
    offset: int
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class RunStart:
    """What the run history keeps of a run from its start (``record_run_start`` writes
    it): a run that ends before its id is handed out has its row written whole, with its
    end (:class:`RunEnd`), in one statement."""

    run_id: str
    backend: str
    agent_id: str
    conversation_id: str | None
    message: str
    #: the lease of the process driving the run
    owner: str | None = None
    #: whose run it is
    principal: str | None = None
    started_at: datetime = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How a run ended (``record_run_end`` writes it): over the row of its start, or,
    with ``start`` (a run whose start was never written), its whole row."""

    run_id: str
    status: str
    text: str
    error: str | None
    conversation_id: str | None
    start: RunStart | None = None


@dataclass(frozen=True)
class RunKeeping:
    """How much of the finished runs the run history keeps: those that ended within
    ``seconds``, and of those at most the newest ``count`` (``run_keep_seconds`` and
    ``run_keep_count``, as in memory). That holds for runs without a conversation, and
    for those of ``conversation_api`` backends, which keep their conversations
    themselves. Any other backend's conversation runs are its transcripts (Make has no
    conversation API; or it is not configured in this process, which cannot tell):
    those are kept whatever their age."""

    seconds: float
    count: int
    conversation_api: frozenset[str] = field(default_factory=frozenset)

    @property
    def age(self) -> timedelta:
        return timedelta(seconds=self.seconds)


class Pruning:
    """When the run history is due for pruning: after ``count`` more runs ended, or when a
    run could have expired since the last time (at most a minute apart)."""

    def __init__(self, keeping: RunKeeping | None) -> None:
        self.keeping = keeping
        self._ended = 0
        self._last = time.monotonic()

    def ended(self) -> bool:
        """Note that a run ended; whether to prune now."""
        if self.keeping is None:
            return False
        self._ended += 1
        every = min(self.keeping.seconds, _PRUNE_EVERY_SECONDS)
        return self._ended >= self.keeping.count or time.monotonic() - self._last >= every

    def done(self) -> None:
        self._ended = 0
        self._last = time.monotonic()
