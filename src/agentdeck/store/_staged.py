"""The writes of a new local conversation, held in memory until someone may hear of it.

A conversation a local chat starts is nobody else's until its run hands its id out: in
the run's result once the run ended, or earlier, when the chat's wait ends first
(``RunManager.publish``; from then on every replica may show it). So its first turn
(the conversation, the user's message, the answer) is written in the same transaction
as the run's end, or when the run is handed out, whichever comes first; from then on
the turn's messages are written as they come. The rows a client can be told of are
committed before it is told, and a process killed mid-turn loses only a turn nobody
heard of.

What is held is each message with the time it was staged; the store words the
statements when it writes them (its dialect), so that a turn is one statement for its
conversation (created, or its time moved, as of its last message) and one insert of its
messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from agentdeck.store.shared import NewMessage

#: one statement as the store runs it: (query, parameters)
Statement = tuple[Any, Any]
#: a message, and when it was staged (as the store keeps a time)
Stamped = tuple[NewMessage, Any]


class _Staged:
    """The messages of one conversation, and the lock of whoever is writing them."""

    def __init__(self) -> None:
        self.messages: list[Stamped] = []
        self.lock = anyio.Lock(fast_acquire=True)  # a free lock: no trip round the loop
        #: its id was handed out: what comes now is written at once
        self.handed_out = False


class StagedConversations:
    """The staged messages of each new conversation, until its run ends."""

    def __init__(self) -> None:
        self._staged: dict[str, _Staged] = {}

    def stage(self, message: Stamped) -> bool:
        """Hold ``message`` after those held already; whether its conversation was
        handed out (then the caller writes it at once, through :meth:`writing`)."""
        conversation_id = message[0].conversation_id
        staged = self._staged.get(conversation_id)
        if staged is None:
            staged = self._staged[conversation_id] = _Staged()
        staged.messages.append(message)
        return staged.handed_out

    def holds(self, conversation_id: str) -> bool:
        return conversation_id in self._staged

    @asynccontextmanager
    async def writing(
        self, conversation_id: str, *, handed_out: bool
    ) -> AsyncIterator[list[Stamped]]:
        """The messages held for ``conversation_id`` (none: an empty list), to be
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
            messages = list(staged.messages)
            yield messages
            del staged.messages[: len(messages)]
            if not handed_out and self._staged.get(conversation_id) is staged:
                del self._staged[conversation_id]


class Staging:
    """A store's side of staging (both stores'): messages added, staged or written out,
    and a run's end committed with its conversation's staged messages. A store says how
    messages are stamped and worded (:meth:`_stamped`, :meth:`_message_statements`, as
    :class:`~agentdeck.store._local_writes.LocalWrites` does for both) and how it commits
    (:meth:`_commit`)."""

    _staged: StagedConversations

    if TYPE_CHECKING:

        def _stamped(self, message: NewMessage) -> Stamped:
            """``message`` with the time now, as the store keeps a time."""
            ...

        def _message_statements(self, messages: list[Stamped]) -> list[Statement]:
            """The statements of ``messages`` (of one conversation, oldest first) and of
            their conversation's time (with ``new_for`` on the first: of the new
            conversation); none for no messages."""
            ...

        async def _commit(self, *statements: Statement) -> int:
            """Run ``statements`` in one committed transaction; the first one's row count."""
            ...

    async def add_message(self, message: NewMessage) -> None:
        await self._commit(*self._message_statements([self._stamped(message)]))

    async def stage_message(self, message: NewMessage) -> None:
        if self._staged.stage(self._stamped(message)):
            await self.write_staged(message.conversation_id)

    async def write_staged(self, conversation_id: str | None) -> None:
        if conversation_id is None or not self._staged.holds(conversation_id):
            return
        async with self._staged.writing(conversation_id, handed_out=True) as messages:
            if statements := self._message_statements(messages):
                await self._commit(*statements)

    async def _commit_end(self, end: Statement, conversation_id: str | None) -> int:
        """Commit a run's ``end`` (its row count), with the messages staged for its
        conversation in the same transaction."""
        if conversation_id is None or not self._staged.holds(conversation_id):
            return await self._commit(end)
        async with self._staged.writing(conversation_id, handed_out=False) as messages:
            return await self._commit(end, *self._message_statements(messages))
