"""Whether the tool call being answered may become a task, and how long it waits first.

Set by the task protocols around a ``tools/call`` that declared them, read by the chat
machinery (``server.chat``): in a task call the wait budget shrinks to a short
grace, and a run that pauses on the user is not asked about inline — its pauses
become the task's ``input_required`` state instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: How long a task call waits for the run to end before it answers with a task.
GRACE_SECONDS = 1.0

_grace: ContextVar[float | None] = ContextVar("agentdeck_task_grace", default=None)


@contextmanager
def task_call(grace: float = GRACE_SECONDS) -> Iterator[None]:
    """Within this block the chat tools answer as task calls."""
    token = _grace.set(grace)
    try:
        yield
    finally:
        _grace.reset(token)


def in_task_call() -> bool:
    return _grace.get() is not None


def wait_budget(wait_seconds: float) -> float:
    """``wait_seconds``, cut to the grace inside a task call."""
    grace = _grace.get()
    return wait_seconds if grace is None else min(wait_seconds, grace)
