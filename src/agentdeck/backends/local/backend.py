"""The embedded ``local`` backend: agents kept in agentdeck's own store (SQLite or PostgreSQL).

It needs no account. A local agent answers through the model chosen for it (its
``model``) or for the backend (``model`` in ``[backends.local]``):

- ``auto`` (the default): the client's own model through sampling when the client
  offers it; else the configured OpenAI-compatible endpoint; else the first local
  OpenAI-compatible server found on its usual port (``local_discovery.py``); else an
  error naming each way to get a model;
- ``echo``: deterministic and offline, for demos and tests;
- ``sampling``: the connected MCP client's own model;
- ``openai``: the backend's ``openai_model`` on its OpenAI-compatible endpoint;
- any other name: that model name on the OpenAI-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

import anyio

from agentdeck.backends.kit import (
    Agent,
    AgentChanges,
    AgentSpec,
    Backend,
    BearerAuth,
    ChatEvent,
    ChatRequest,
    CheckWarning,
    Connection,
    Conversation,
    ConversationQuery,
    ConversationSummary,
    Done,
    HttpClient,
    InvalidInputError,
    Message,
    ModelUnavailableError,
    NewAgent,
    NewMessage,
    NotFoundError,
    Page,
    RunStarted,
    Store,
    StreamWarning,
    TextDelta,
    UpstreamConnectError,
    UpstreamTimeoutError,
    http_client_for,
    new_id,
    offset_cursor,
    parse_offset,
)
from agentdeck.backends.local.discovery import FoundServer, ServerFinder
from agentdeck.backends.local.models import echo_reply, openai_reply, sampled_reply, setup_hint
from agentdeck.backends.local.settings import LocalSettings


class LocalBackend(Backend):
    kind = "local"
    model_note = (
        "'echo', 'sampling' (the client's own model), 'openai' or an OpenAI-compatible model name"
    )
    settings: LocalSettings
    keeps_owned = True

    def __init__(self, name: str, settings: LocalSettings, http: HttpClient | None) -> None:
        super().__init__(name, settings, http)
        #: where the agents and conversations are kept (handed over by :meth:`use_store`)
        self._store: Store
        self._finder = ServerFinder(settings.auto_probe_ports)
        self._found: tuple[FoundServer, HttpClient] | None = None
        self._clients: list[Any] = []  # made for servers `auto` found; closed with the backend
        #: the lock of each conversation a turn is running on or waiting for
        self._turns: dict[str, anyio.Lock] = {}

    @classmethod
    def connection(cls, name: str, settings: LocalSettings) -> Connection | None:
        """The configured OpenAI-compatible endpoint; None without one (the agents answer
        through echo, the client's model, or a model server ``auto`` finds)."""
        if not settings.openai_base_url:
            return None
        key = settings.openai_api_key
        return Connection(
            base_url=settings.openai_base_url,
            auth=BearerAuth(key.get_secret_value()) if key else None,
            secrets=(key.get_secret_value(),) if key else (),
            credential_hint="Check `openai_api_key` of the local backend in the config.",
        )

    def use_store(self, store: Store) -> None:
        self._store = store

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients.clear()

    async def check(self) -> str:
        """Agents, and whether the default model can answer: the endpoint is asked for
        its models, and an unreachable one, a refused key or a model it does not serve
        is a failure that says how to fix it. ``auto`` finding no model server is only a
        warning: agents still answer through a client that offers sampling."""
        count = len(await self._store.list_agents(limit=10_000, offset=0))
        summary = f"{count} agents in {self._store.location}; default model '{self.settings.model}'"
        if self.settings.model in ("echo", "sampling"):
            return summary
        if self._http is None:
            if self.settings.model != "auto":
                raise ModelUnavailableError(
                    f"default model '{self.settings.model}' needs an `openai_base_url`.",
                    backend=self.name,
                    hint=setup_hint(),
                )
            found = await self._finder.find()
            if found is None:
                # nothing configured is broken: a client that offers sampling still answers
                raise CheckWarning(
                    f"{summary} found no model server: no openai_base_url, and none answered "
                    f"on 127.0.0.1 ports {', '.join(map(str, self._finder.ports))}.",
                    hint=setup_hint(),
                )
            return f"{summary} → {found.describe()}"
        try:
            listed = await self._http.request(
                "GET", "/models", operation="the model endpoint's /models"
            )
        except (UpstreamConnectError, UpstreamTimeoutError) as exc:
            raise ModelUnavailableError(
                f"the model endpoint {self.settings.openai_base_url} cannot be reached.",
                backend=self.name,
                hint="Start the model server, or fix `openai_base_url` in [backends.local].",
            ) from exc
        ids = [m.get("id") for m in (listed or {}).get("data") or [] if isinstance(m, dict)]
        model = self.settings.model
        wanted = self.settings.openai_model if model in ("auto", "openai") else model
        if wanted and ids and wanted not in ids:
            raise ModelUnavailableError(
                f"the model endpoint {self.settings.openai_base_url} does not serve '{wanted}'; "
                f"it serves: {', '.join(str(i) for i in ids[:10])}.",
                backend=self.name,
                hint="Set `openai_model` (or the agent's model) to one of those.",
            )
        return f"{summary} → {self.settings.openai_base_url} ({len(ids)} models)"

    async def describe_model(self) -> str:
        """The default model, and for ``auto`` what it resolves to now (for list_backends)."""
        model = self.settings.model
        if model != "auto":
            return model
        if self._http is not None:
            return f"auto: sampling if the client offers it, else {self.settings.openai_base_url}"
        found = await self._finder.find()
        if found is not None:
            return f"auto: sampling if the client offers it, else {found.describe()}"
        return "auto: sampling if the client offers it; no model endpoint configured or found"

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

    async def _row(self, agent_id: str) -> dict[str, Any]:
        row = await self._store.get_agent(agent_id, self.owner)
        if row is None:
            raise NotFoundError(
                f"there is no local agent '{agent_id}'.",
                backend=self.name,
                hint="list_agents shows the agents that exist.",
            )
        return row

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        offset = parse_offset(cursor)
        rows = await self._store.list_agents(limit=limit + 1, offset=offset, owner=self.owner)
        return Page[Agent](
            items=[self._agent(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_agent(self, agent_id: str) -> Agent:
        return self._agent(await self._row(agent_id))

    async def create_agent(self, spec: AgentSpec) -> Agent:
        if spec.options:
            raise InvalidInputError(
                f"local agents take no options (got {sorted(spec.options)}).", backend=self.name
            )
        row = await self._store.create_agent(
            NewAgent(spec.name, spec.description, spec.instructions, spec.model, {}, self.owner)
        )
        return self._agent(row)

    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent:
        await self._row(agent_id)
        if changes.options:
            raise InvalidInputError(
                f"local agents take no options (got {sorted(changes.options)}).",
                backend=self.name,
            )
        fields = changes.model_dump(exclude={"options"}, exclude_none=True)
        row = await self._store.update_agent(agent_id, fields, self.owner)
        if row is None:  # deleted since the check above: _row says so
            row = await self._row(agent_id)
        return self._agent(row)

    async def delete_agent(self, agent_id: str) -> None:
        if not await self._store.delete_agent(agent_id, self.owner):
            await self._row(agent_id)

    # ---- chat ----------------------------------------------------------------------------

    async def model_of(self, agent_id: str) -> str:
        """The model name an agent answers through (its own, else the backend's)."""
        return (await self._row(agent_id))["model"] or self.settings.model

    async def answers_through_client(self, agent_id: str) -> bool:
        """Whether the agent is on ``sampling`` or ``auto``, which prefer the client's model."""
        return await self.model_of(agent_id) in ("sampling", "auto")

    async def history(self, agent_id: str, conversation_id: str | None) -> list[dict[str, str]]:
        """The messages a model sees before the next user turn: the system prompt, then the
        latest of the past within ``history_limit``."""
        return await self._history(await self._row(agent_id), conversation_id)

    async def _history(
        self, row: dict[str, Any], conversation_id: str | None
    ) -> list[dict[str, str]]:
        history = (
            [{"role": "system", "content": row["instructions"]}] if row["instructions"] else []
        )
        if conversation_id:
            history += self._window(
                await self._store.recent_messages(
                    conversation_id, self.settings.history_limit.messages
                )
            )
        return history

    def _window(self, recent: list[dict[str, Any]]) -> list[dict[str, str]]:
        """The newest of ``recent`` that fit the character limit, oldest first."""
        budget = self.settings.history_limit.characters
        kept: list[dict[str, str]] = []
        for message in reversed(recent):
            budget -= len(message["content"])
            if budget < 0:
                break
            kept.append({"role": message["role"], "content": message["content"]})
        return kept[::-1]

    async def conversation_owner(self, conversation_id: str) -> str:
        """The id of the agent a local conversation belongs to; unknown ones are an error."""
        owner = await self._store.conversation_agent(conversation_id, self.owner)
        if owner is None:
            raise self._no_conversation(
                conversation_id, "; leave the conversation out to start a new one"
            )
        return owner

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        """One turn, holding the conversation: the user message, then the model's.

        Overlapping turns on one conversation run one after another, each seeing the ones
        before it (the run waits for the turn before it within its caller's wait budget).
        A new conversation's lock is free (its id is nobody's yet), and held: the run may
        hand the id out before the turn ends. It has no past to read, and exists from the
        model's first output on: a turn that fails before the agent produced anything (no
        model, its server down) leaves no conversation, nor a message without an answer,
        behind. Its messages are staged till the run hands its id out or ends
        (``Store.stage_message``); a continuation's go in as they come.
        """
        row = await self._row(request.agent_id)
        if request.conversation_id:
            owner = await self.conversation_owner(request.conversation_id)
            if owner != request.agent_id:
                raise InvalidInputError(
                    f"conversation '{request.conversation_id}' belongs to agent "
                    f"'{owner}', not '{request.agent_id}'.",
                    backend=self.name,
                    hint="Leave the conversation out to start a new one.",
                )
        new = not request.conversation_id
        conversation_id = request.conversation_id or new_id()
        # one generator for the whole turn, lock included: each layer would be resumed at
        # every chunk of the answer
        lock = self._turns.setdefault(conversation_id, anyio.Lock())
        try:
            if new:
                lock.acquire_nowait()  # free: no wait, and no checkpoint
            else:
                await lock.acquire()
            try:
                history = await self._history(row, None if new else conversation_id)
                history.append({"role": "user", "content": request.message})
                keep = self._store.stage_message if new else self._store.add_message
                text: list[str] = []
                stored = False
                async for event in await self._reply(row, request, history):
                    if not stored and not isinstance(event, StreamWarning):
                        # a new conversation is written with its first message, in one
                        # transaction
                        new_for = request.agent_id if new else None
                        await keep(
                            NewMessage(
                                conversation_id, "user", request.message, new_for, self.owner
                            )
                        )
                        stored = True
                        yield RunStarted(conversation_id=conversation_id)
                    if isinstance(event, TextDelta):
                        text.append(event.text)
                    elif isinstance(event, Done):
                        # as the run shows it: without U+0000, which no database keeps
                        answer = "".join(text).replace("\0", "")
                        await keep(NewMessage(conversation_id, "assistant", answer))
                        event = event.model_copy(update={"conversation_id": conversation_id})
                    yield event
            finally:
                lock.release()
        finally:
            # a lock nobody holds or waits for is forgotten (release hands it to a waiter)
            if not lock.statistics().locked and self._turns.get(conversation_id) is lock:
                del self._turns[conversation_id]

    async def _reply(
        self, row: dict[str, Any], request: ChatRequest, history: list[dict[str, str]]
    ) -> AsyncIterator[ChatEvent]:
        """The model's answer to ``history`` through the agent's model (its own, else the
        backend's): for ``auto`` the client's model, the configured endpoint, a local
        server. A model that is not available is an error saying how to get one."""
        model = row["model"] or self.settings.model
        if model == "echo":
            return echo_reply(history)
        # asked inside the run, so the wait budget covers the client's model too
        sampler = request.sampler if model in ("auto", "sampling") else None
        if sampler is not None:
            answer = await sampler(history)
            if answer is None:
                raise self._no_model(
                    row, f"the `{model}` model, and the client's model gave no text"
                )
            return sampled_reply(answer)
        if model == "sampling":
            raise self._no_model(
                row, "the `sampling` model, but the connected MCP client does not support sampling"
            )
        if model != "auto":
            if self._http is None:
                raise self._no_model(
                    row, f"the `{model}` model, but no `openai_base_url` is configured"
                )
            name = self.settings.openai_model if model == "openai" else model
            return openai_reply(self.name, self._http, name, history)
        if self._http is not None:
            return openai_reply(self.name, self._http, self.settings.openai_model, history)
        found = await self._finder.find()
        if found is None:
            raise self._no_model(
                row,
                "the `auto` model, and none was available: the client offers no sampling, no "
                "openai_base_url is configured and no local model server answered on "
                f"127.0.0.1 ports {', '.join(map(str, self._finder.ports))}",
            )
        return openai_reply(self.name, self._http_for(found), found.model, history)

    def _no_model(self, row: dict[str, Any], why: str) -> ModelUnavailableError:
        """The error for an agent whose model is not available, with every way to get one."""
        return ModelUnavailableError(
            f"local agent '{row['name']}' uses {why}.",
            backend=self.name,
            hint=setup_hint(f"{self.name}:{row['id']}"),
        )

    def _http_for(self, found: FoundServer) -> HttpClient:
        """A pooled client for the local server ``auto`` found (kept while it stays the same)."""
        if self._found is not None and self._found[0] == found:
            return self._found[1]
        client, http = http_client_for(
            self.name,
            self.settings,
            Connection(base_url=found.base_url, auth=None, secrets=(), credential_hint=None),
        )
        self._clients.append(client)
        self._found = (found, http)
        return http

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

    def _no_conversation(self, conversation_id: str, then: str = "") -> NotFoundError:
        """The error for an id that names no conversation of this owner; ``then`` ends
        its hint with what else the caller can do."""
        return NotFoundError(
            f"there is no local conversation '{conversation_id}'.",
            backend=self.name,
            hint=f"list_conversations shows the conversations that exist{then}.",
        )

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page[ConversationSummary]:
        self.refuse_filters(filters)
        offset = parse_offset(cursor)
        rows = await self._store.list_conversations(
            ConversationQuery(agent_id, limit + 1, offset, self.owner)
        )
        return Page[ConversationSummary](
            items=[ConversationSummary(**self._summary(r)) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        row = await self._store.get_conversation(conversation_id, self.owner)
        if row is None:
            raise self._no_conversation(conversation_id)
        messages = [Message(**m) for m in await self._store.messages(conversation_id)]
        return Conversation(**self._summary(row), messages=messages)
