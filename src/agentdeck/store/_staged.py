"""The writes of a new local conversation, held in memory until someone may hear of it.

A conversation a local chat starts is nobody else's until its run hands its id out: in
the run's result once the run ended, or earlier, when the chat's wait ends first
(``RunManager.publish``; from then on every replica may show it). So its first turn
(the conversation, the user's message, the answer) is written in the same transaction
as the run's end, or when the run is handed out, whichever comes first; from then on
the turn's messages are written as they come. The rows a client can be told of are
committed before it is told, and a process killed mid-turn loses only a turn nobody
heard of.

The statements are the store's own (its dialect, its timestamps as of when they were
staged); the store runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

#: one statement as the store runs it: (query, parameters)
Statement = tuple[Any, Any]


class _Staged:
    """The statements of one conversation, and the lock of whoever is writing them."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.lock = anyio.Lock(fast_acquire=True)  # a free lock: no trip round the loop
        #: its id was handed out: what comes now is written at once
        self.handed_out = False


class StagedConversations:
    """The staged statements of each new conversation, until its run ends."""

    def __init__(self) -> None:
        self._staged: dict[str, _Staged] = {}

    def stage(self, conversation_id: str, statements: list[Statement]) -> bool:
        """Hold ``statements`` after those held already; whether the conversation was
        handed out (then the caller writes them at once, through :meth:`writing`)."""
        staged = self._staged.get(conversation_id)
        if staged is None:
            staged = self._staged[conversation_id] = _Staged()
        staged.statements.extend(statements)
        return staged.handed_out

    def holds(self, conversation_id: str) -> bool:
        return conversation_id in self._staged

    @asynccontextmanager
    async def writing(
        self, conversation_id: str, *, handed_out: bool
    ) -> AsyncIterator[list[Statement]]:
        """The statements held for ``conversation_id`` (none: an empty list), to be
        written within the block: dropped when it exits without an error, held on when
        it raises. Two writers of one conversation take turns, so the second finds what
        the first left (and a run's end is not committed before the messages a writer
        before it is still writing). ``handed_out``: the conversation is handed out now,
        and what is staged later is written at once; else its run ended, and it is
        forgotten once written."""
        staged = self._staged.get(conversation_id)
        if staged is None:
            yield []
            return
        staged.handed_out = staged.handed_out or handed_out
        async with staged.lock:
            statements = list(staged.statements)
            yield statements
            del staged.statements[: len(statements)]
            if not handed_out and self._staged.get(conversation_id) is staged:
                del self._staged[conversation_id]
