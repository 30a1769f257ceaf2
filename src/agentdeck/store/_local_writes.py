"""Writing the local backend's rows — a new agent, messages and their conversation — the
same in both stores but for the driver's placeholder and how a time, a JSON value and a
conversation's title are stored."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from agentdeck.store._staged import Staging, Stamped, Statement
from agentdeck.store.shared import NewAgent, NewMessage, now

# Written with SQLite's placeholder; :class:`LocalQueries` words them for a driver.
_AGENT = (
    "INSERT INTO agents (id, name, description, instructions, model, options,"
    " created_at, updated_at, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_NEW_CONVERSATION = (
    "INSERT INTO conversations (id, agent_id, title, created_at, updated_at, principal)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_TOUCH = "UPDATE conversations SET updated_at = ? WHERE id = ?"
_MESSAGES = "INSERT INTO messages (conversation_id, role, content, created_at) VALUES "
_MESSAGE_ROW = "(?, ?, ?, ?)"


class LocalQueries:
    """The statements writing a new agent and messages, with a driver's placeholder
    (``?`` or ``%s``); worded once, when the store's class is defined. ``returning``: the
    insert of an agent returns its row (else the store reads it after)."""

    def __init__(self, mark: str, *, returning: bool = False) -> None:
        self.agent, self.new_conversation, self.touch, self._message_row = (
            query.replace("?", mark) for query in (_AGENT, _NEW_CONVERSATION, _TOUCH, _MESSAGE_ROW)
        )
        if returning:
            self.agent += " RETURNING *"

    def messages(self, count: int) -> str:
        """The insert of ``count`` messages in one statement."""
        return _MESSAGES + ", ".join([self._message_row] * count)


class LocalWrites(Staging):
    """Both stores' statements for a new agent and for a message. A store gives its
    statements (:attr:`_local_queries`) and how it stores a time (:meth:`_time`), an
    agent's options (:meth:`_json`) and a conversation's title (:meth:`_title`)."""

    _local_queries: ClassVar[LocalQueries]

    if TYPE_CHECKING:

        @staticmethod
        def _time(moment: datetime) -> Any: ...

        @staticmethod
        def _json(value: dict[str, Any]) -> Any:
            """``value`` as the store's ``jsonb`` or JSON text column takes it."""
            ...

        @staticmethod
        def _title(content: str) -> str:
            """The title of a conversation whose first message is ``content``."""
            ...

    def _agent_statement(self, agent_id: str, agent: NewAgent) -> Statement:
        """The insert of ``agent`` under ``agent_id``, as of now."""
        stamp = self._time(now())
        return self._local_queries.agent, (
            agent_id,
            agent.name,
            agent.description,
            agent.instructions,
            agent.model,
            self._json(agent.options),
            stamp,
            stamp,
            agent.owner,
        )

    def _stamped(self, message: NewMessage) -> Stamped:
        return message, self._time(now())

    def _message_statements(self, messages: list[Stamped]) -> list[Statement]:
        """Two statements however many messages: the conversation's (created, or its time
        moved to the last message's) and one insert of every message; none for none."""
        if not messages:  # written already, when the conversation was handed out
            return []
        queries = self._local_queries
        first, created = messages[0]
        updated = messages[-1][1]
        conversation_id = first.conversation_id
        if first.new_for is None:
            conversation: Statement = (queries.touch, (updated, conversation_id))
        else:
            conversation = (
                queries.new_conversation,
                (
                    conversation_id,
                    first.new_for,
                    self._title(first.content),
                    created,
                    updated,
                    first.owner,
                ),
            )
        rows = [
            value
            for message, stamp in messages
            for value in (conversation_id, message.role, message.content, stamp)
        ]
        return [conversation, (queries.messages(len(messages)), rows)]
