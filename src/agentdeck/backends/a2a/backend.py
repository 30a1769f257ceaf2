"""The ``a2a`` backend: agents that speak the Agent2Agent protocol (A2A 1.0), found by URL.

Each configured URL is an agent's base URL (its card at ``/.well-known/agent-card.json``)
or its card's own URL. The cards are the agents: ``list_agents`` reads them (again after
``card_ttl`` seconds), an agent's id is the slug of its card's name (``travel-planner``;
``-2``, ``-3`` for repeats, in config order), and a card that cannot be read is listed
under ``failures``. A2A agents are discovered, not created: there is no create, update
or delete.

A chat is an A2A task (:mod:`agentdeck.backends.a2a.chat`): the conversation is the
task's ``contextId``, the run's upstream id ``<agent>/<task id>`` (``cancel_run`` sends
``CancelTask``), and a question is the task waiting in ``input-required``, answered by
``answer_question`` as the next message of the task.

A2A has no "list my conversations" call: the conversations are the contexts agentdeck
took part in, from its run history (as for Make); a transcript is the agent's own task
history of the context (``ListTasks``) where the agent serves it, else the stored one.

The protocol is the ``a2a-sdk``'s (the ``agentdeck[a2a]`` extra), imported when the
first backend of this kind is built, not when a config naming it is read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from agentdeck.backends.a2a.settings import A2ASettings
from agentdeck.backends.kit import (
    Agent,
    AgentdeckError,
    Backend,
    ChatEvent,
    ChatRequest,
    ConfigError,
    Connection,
    Conversation,
    ConversationSummary,
    HttpClient,
    InvalidInputError,
    Message,
    NotFoundError,
    Page,
    Store,
    UpstreamError,
    history_conversation,
    history_page,
    offset_cursor,
    parse_offset,
)

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from agentdeck.backends.a2a.chat import Questions
    from agentdeck.backends.a2a.peer import Peer


def slug(name: str) -> str:
    """An agent id from its card's name: lower-case words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "agent"


class A2ABackend(Backend):
    kind = "a2a"
    settings: A2ASettings
    keeps_owned = True  # its conversations are the run history's
    unsupported: ClassVar[dict[str, str]] = {
        "manage_agents": "A2A agents are discovered from their cards, not created here; add "
        "an agent's URL to `agents` of backend '{backend}' in the config.",
    }

    def __init__(self, name: str, settings: A2ASettings, http: HttpClient | None) -> None:
        super().__init__(name, settings, http)
        try:
            from agentdeck.backends.a2a.chat import Questions
            from agentdeck.backends.a2a.peer import Peer
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(("a2a", "google", "httpx")):
                raise
            raise ConfigError(
                f"backend '{name}' is of kind 'a2a', which needs the A2A SDK: "
                "pip install 'agentdeck[a2a]'."
            ) from None
        self._peers: list[Peer] = [Peer(name, self.http, e) for e in settings.entries()]
        self._failures: dict[int, str] = {}
        self._by_id: dict[str, Peer] = {}
        self._lock = anyio.Lock()
        self._questions: Questions = Questions()
        self._store: Store | None = None

    @classmethod
    def connection(cls, name: str, settings: A2ASettings) -> Connection:
        return Connection(
            base_url="",
            auth=None,
            secrets=settings.secrets(),
            credential_hint=f"Check `headers` of backend '{name}' in the config (or the "
            "agent's own `headers`): the agent refused the credentials they carry.",
        )

    def use_store(self, store: Store) -> None:
        self._store = store

    async def aclose(self) -> None:
        for peer in self._peers:
            await peer.aclose()

    async def check(self) -> str:
        await self._load(force=True)
        if not self._by_id:
            raise UpstreamError(
                "no agent card could be read: " + "; ".join(self._failures.values()),
                backend=self.name,
            )
        failed = f"; {len(self._failures)} cards could not be read" if self._failures else ""
        return f"{len(self._by_id)} A2A agents ({', '.join(self._by_id)}){failed}"

    # ---- cards -----------------------------------------------------------------------------

    async def _load(self, *, force: bool = False, failed: bool = False) -> None:
        """Read, all at once, the cards never tried and the ones read longer than
        ``card_ttl`` ago; ``failed``: also the ones that could not be read (a chat does not
        wait on an agent that is away), ``force``: every one."""
        async with self._lock:
            stale = anyio.current_time() - self.settings.card_ttl
            due = [
                i
                for i, peer in enumerate(self._peers)
                if force
                or not peer.loaded_at
                or (failed and i in self._failures)
                or (peer.loaded_at < stale and i not in self._failures)
            ]
            if not due:
                return

            async def load(index: int) -> None:
                try:
                    await self._peers[index].load()
                    self._failures.pop(index, None)
                except AgentdeckError as exc:
                    self._failures[index] = f"{self._peers[index].entry.url}: {exc}"
                    self._peers[index].loaded_at = anyio.current_time()

            async with anyio.create_task_group() as group:
                for index in due:
                    group.start_soon(load, index)
            self._by_id = {}
            for index, peer in enumerate(self._peers):
                if peer.card is None or index in self._failures:
                    continue
                base = agent_id = slug(peer.card.name)
                repeat = 1
                while agent_id in self._by_id:
                    repeat += 1
                    agent_id = f"{base}-{repeat}"
                self._by_id[agent_id] = peer

    async def _peer(self, agent_id: str) -> Peer:
        await self._load()
        if agent_id not in self._by_id and self._failures:
            await self._load(failed=True)  # the card may be back
        try:
            return self._by_id[agent_id]
        except KeyError:
            known = ", ".join(self._by_id) or "none"
            unread = "; ".join(self._failures.values())
            unread = f" Cards that could not be read: {unread}" if unread else ""
            raise NotFoundError(
                f"there is no A2A agent '{agent_id}' (agents: {known}).{unread}",
                backend=self.name,
                hint="list_agents shows the agents whose cards could be read.",
            ) from None

    def _agent(self, agent_id: str, peer: Peer) -> Agent:
        assert peer.card is not None
        return Agent(
            backend=self.name,
            id=agent_id,
            name=peer.card.name,
            description=peer.card.description or None,
            details=peer.details(),
        )

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        offset = parse_offset(cursor)
        await self._load(failed=True)
        agents = [self._agent(agent_id, peer) for agent_id, peer in self._by_id.items()]
        return Page[Agent](
            items=agents[offset : offset + limit],
            next_cursor=offset_cursor(offset, limit, len(agents) - offset),
            failures=[self._failures[i] for i in sorted(self._failures)] if not offset else [],
        )

    async def get_agent(self, agent_id: str) -> Agent:
        return self._agent(agent_id, await self._peer(agent_id))

    # ---- chat, cancel, questions -------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        from agentdeck.backends.a2a.chat import converse, user_message

        self.check_options(request.options, "chat")
        if not request.message.strip():
            raise InvalidInputError("the message is empty; say something to the agent.")
        peer = await self._peer(request.agent_id)
        message = user_message(request.message, context_id=request.conversation_id)
        timeout = self.settings.stream_timeout
        async for event in converse(
            peer, request.agent_id, message, self._questions, quiet_timeout=timeout
        ):
            yield event

    def _task_of(self, ref_id: str, what: str) -> tuple[str, str]:
        agent_id, sep, task_id = ref_id.partition("/")
        if not (sep and agent_id and task_id):
            raise InvalidInputError(
                f"'{ref_id}' is not an A2A {what} id ('<agent>/<task id>').", backend=self.name
            )
        return agent_id, task_id

    async def cancel_chat(self, upstream_run_id: str) -> None:
        agent_id, task_id = self._task_of(upstream_run_id, "run")
        peer = await self._peer(agent_id)
        await peer.cancel_task(task_id)

    async def answer_question(self, question_id: str, *, answer: str) -> str:
        """Hand the answer to the chat waiting on it; with none (the server restarted), send
        it to the task directly, and say the task's state afterwards."""
        from agentdeck.backends.a2a.chat import answer_task

        agent_id, task_id = self._task_of(question_id, "question")
        if self._questions.answer(question_id, answer):
            return "answered"
        return await answer_task(await self._peer(agent_id), task_id, answer)

    # ---- conversations -------------------------------------------------------------------

    @property
    def store(self) -> Store:
        assert self._store is not None, "the registry hands every a2a backend the store"
        return self._store

    async def conversation_owner(self, conversation_id: str) -> str:
        owner = await self.store.history_agent(self.name, conversation_id, self.owner)
        if owner is None:
            raise NotFoundError(
                f"agentdeck has no record of the conversation {self.name}:{conversation_id}.",
                backend=self.name,
                hint="A2A has no conversation listing: only conversations started through "
                "agentdeck can be continued (list_conversations shows them).",
            )
        return owner

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page[ConversationSummary]:
        self.refuse_filters(filters)
        return await history_page(
            self.store, self.name, agent_id=agent_id, limit=limit, cursor=cursor, owner=self.owner
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """The stored conversation, with the agent's own history of it where it has one."""
        from agentdeck.backends.a2a.events import transcript

        stored = await history_conversation(self.store, self.name, conversation_id, self.owner)
        agent_id = (stored.agent or "").partition(":")[2]
        try:
            tasks = await (await self._peer(agent_id)).context_tasks(conversation_id)
        except AgentdeckError:
            return stored  # the agent keeps no history, or is away: what agentdeck kept
        messages = [Message(role=role, content=text) for role, text in transcript(tasks)]
        if not messages:
            return stored
        return stored.model_copy(update={"messages": messages, "message_count": len(messages)})
