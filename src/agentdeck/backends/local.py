"""The embedded ``local`` backend: agents kept in agentdeck's own SQLite store.

It needs no account. A local agent answers through the model chosen for it (its
``model``) or for the backend (``model`` in ``[backends.local]``):

- ``echo``: deterministic and offline, for demos and tests;
- ``sampling``: the connected MCP client's own model;
- ``openai``: the backend's ``openai_model`` on its OpenAI-compatible endpoint;
- any other name: that model name on the OpenAI-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio

from agentdeck.backends.base import Backend
from agentdeck.backends.local_models import echo_reply, openai_reply, sampled_reply
from agentdeck.config import LocalSettings
from agentdeck.errors import InvalidInputError, NotFoundError
from agentdeck.http import HttpClient
from agentdeck.model import (
    Agent,
    AgentChanges,
    AgentSpec,
    ChatEvent,
    ChatRequest,
    Conversation,
    ConversationSummary,
    Done,
    Message,
    Page,
    RunStarted,
    TextDelta,
)
from agentdeck.pagination import offset_cursor, parse_offset
from agentdeck.store import Store


class LocalBackend(Backend):
    kind = "local"
    settings: LocalSettings

    def __init__(
        self, name: str, settings: LocalSettings, http: HttpClient | None, store: Store
    ) -> None:
        super().__init__(name, settings, http)
        self._store = store
        #: the lock of each conversation a turn is running on or waiting for
        self._turns: dict[str, anyio.Lock] = {}

    async def check(self) -> str:
        count = len(self._store.list_agents(limit=10_000, offset=0))
        model = self.settings.model
        if model not in ("echo", "sampling") and not self.settings.openai_base_url:
            return f"{count} agents; default model '{model}' has no openai_base_url configured"
        return f"{count} agents in {self._store.database}; default model '{model}'"

    # ---- agents --------------------------------------------------------------------------

    def _agent(self, row: dict[str, Any]) -> Agent:
        return Agent(
            backend=self.name,
            id=row["id"],
            name=row["name"],
            description=row["description"],
            instructions=row["instructions"],
            model=row["model"],
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            details={"options": row["options"]} if row["options"] else {},
        )

    def _row(self, agent_id: str) -> dict[str, Any]:
        row = self._store.get_agent(agent_id)
        if row is None:
            raise NotFoundError(
                f"there is no local agent '{agent_id}'.",
                backend=self.name,
                hint="list_agents shows the agents that exist.",
            )
        return row

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        offset = parse_offset(cursor)
        rows = self._store.list_agents(limit=limit + 1, offset=offset)
        return Page[Agent](
            items=[self._agent(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_agent(self, agent_id: str) -> Agent:
        return self._agent(self._row(agent_id))

    async def create_agent(self, spec: AgentSpec) -> Agent:
        if spec.options:
            raise InvalidInputError(
                f"local agents take no options (got {sorted(spec.options)}).", backend=self.name
            )
        row = self._store.create_agent(
            name=spec.name,
            description=spec.description,
            instructions=spec.instructions,
            model=spec.model,
            options={},
        )
        return self._agent(row)

    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent:
        self._row(agent_id)
        if changes.options:
            raise InvalidInputError(
                f"local agents take no options (got {sorted(changes.options)}).",
                backend=self.name,
            )
        fields = changes.model_dump(exclude={"options"}, exclude_none=True)
        return self._agent(self._store.update_agent(agent_id, fields))  # type: ignore[arg-type]

    async def delete_agent(self, agent_id: str) -> None:
        if not self._store.delete_agent(agent_id):
            self._row(agent_id)

    # ---- chat ----------------------------------------------------------------------------

    def model_of(self, agent_id: str) -> str:
        """The model name an agent answers through (its own, else the backend's)."""
        return self._row(agent_id)["model"] or self.settings.model

    def history(self, agent_id: str, conversation_id: str | None) -> list[dict[str, str]]:
        """The messages a model sees before the next user turn: system prompt, then the past."""
        row = self._row(agent_id)
        history = (
            [{"role": "system", "content": row["instructions"]}] if row["instructions"] else []
        )
        if conversation_id:
            history += [
                {"role": m["role"], "content": m["content"]}
                for m in self._store.messages(conversation_id)
            ]
        return history

    def conversation_owner(self, conversation_id: str) -> str:
        """The id of the agent a local conversation belongs to; unknown ones are an error."""
        row = self._store.get_conversation(conversation_id)
        if row is None:
            raise NotFoundError(
                f"there is no local conversation '{conversation_id}'.",
                backend=self.name,
                hint="list_conversations shows the conversations that exist; leave the "
                "conversation out to start a new one.",
            )
        return row["agent_id"]

    async def chat(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        row = self._row(request.agent_id)
        if request.conversation_id:
            owner = self.conversation_owner(request.conversation_id)
            if owner != request.agent_id:
                raise InvalidInputError(
                    f"conversation '{request.conversation_id}' belongs to agent "
                    f"'{owner}', not '{request.agent_id}'.",
                    backend=self.name,
                    hint="Leave the conversation out to start a new one.",
                )
        conversation_id = self._store.ensure_conversation(
            request.conversation_id, request.agent_id, title=request.message
        )
        async with self._turn(conversation_id):
            async for event in self._answer(row, request, conversation_id):
                yield event

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation for one turn: overlapping turns on one conversation run one
        after another, each seeing the ones before it (the run waits here, within its
        caller's wait budget, for the turn before it)."""
        lock = self._turns.setdefault(conversation_id, anyio.Lock())
        try:
            async with lock:
                yield
        finally:
            # a lock nobody holds or waits for is forgotten (release hands it to a waiter)
            if not lock.statistics().locked and self._turns.get(conversation_id) is lock:
                del self._turns[conversation_id]

    async def _answer(
        self, row: dict[str, Any], request: ChatRequest, conversation_id: str
    ) -> AsyncIterator[ChatEvent]:
        """One turn on a conversation the caller holds: the user message, then the model's."""
        history = self.history(request.agent_id, conversation_id)
        history.append({"role": "user", "content": request.message})
        self._store.add_message(conversation_id, "user", request.message)
        yield RunStarted(conversation_id=conversation_id)

        model = row["model"] or self.settings.model
        if model == "echo":
            events = echo_reply(history)
        elif model == "sampling":
            # asked inside the run, so the wait budget covers the client's model too
            answer = await request.sampler(history) if request.sampler else None
            events = sampled_reply(self.name, answer)
        else:
            name = self.settings.openai_model if model == "openai" else model
            events = openai_reply(self.name, self._http, name, history)

        text: list[str] = []
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            if isinstance(event, Done):
                self._store.add_message(conversation_id, "assistant", "".join(text))
                event = event.model_copy(update={"conversation_id": conversation_id})
            yield event

    # ---- conversations -------------------------------------------------------------------

    def _summary(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "backend": self.name,
            "id": row["id"],
            "agent": f"{self.name}:{row['agent_id']}",
            "title": row["title"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "message_count": row["message_count"],
        }

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page[ConversationSummary]:
        if filters:
            raise InvalidInputError(
                f"local conversations take no filters (got {sorted(filters)}).", backend=self.name
            )
        offset = parse_offset(cursor)
        rows = self._store.list_conversations(agent_id=agent_id, limit=limit + 1, offset=offset)
        return Page[ConversationSummary](
            items=[ConversationSummary(**self._summary(r)) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        row = self._store.get_conversation(conversation_id)
        if row is None:
            raise NotFoundError(
                f"there is no local conversation '{conversation_id}'.",
                backend=self.name,
                hint="list_conversations shows the conversations that exist.",
            )
        messages = [Message(**m) for m in self._store.messages(conversation_id)]
        return Conversation(**self._summary(row), messages=messages)
