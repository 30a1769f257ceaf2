"""The ``make`` backend: Make's AI Agents API (open beta).

Covers listing, reading, creating, modifying and deleting a team's agents and running
them, streamed (``/run/stream``, the default) or in one piece (``/run``, with
``streaming = false``). Every call sends ``Authorization: Token <token>`` (set once, in
:meth:`MakeBackend.connection`) and the configured ``teamId`` as a query parameter.

Make has no conversation API: a conversation is a ``threadId`` that Make keeps the
history of server-side. agentdeck makes one up (a uuid4) when a new conversation starts,
sends only the new user message with it, and announces it in ``RunStarted`` so the run
history (and with it ``list_conversations`` and the transcript resource) knows the
thread. Make has no cancel endpoint either: cancelling a run closes the stream.

Assumptions about shapes the reference does not show (tolerated both ways):

- List answers a bare JSON array of agents; ``{"agents": [...]}`` (or ``items``/``data``)
  is accepted too. The list is not paged by Make, so agentdeck pages it itself.
- Create answers ``agentId`` (NOTES.md) or ``id`` plus the fields sent; the agent
  returned is built from that answer (no extra read).
- Stream records are ``event: step`` with a JSON message (``role``, ``content``, ``id``,
  ``agentIterationId``). Roles: system and user steps echo the input and are skipped;
  assistant steps are text (several are joined by a blank line) and may carry
  OpenAI-style ``tool_calls``; tool steps are tool results (``tool_call_id``/``name``
  when present). ``content`` may be a string, a list of text parts or another JSON value.
  Other event names and roles are skipped. The stream has no terminal event: it ends
  when the connection closes, so a clean end with no assistant step is an error.
- Streams report no execution time; ``executionTimeMs`` in a streamed result is
  measured by agentdeck. ``lastAgentIterationId`` is the last step's ``agentIterationId``.
- Make's errors are ``{"detail", "message", "code"}``; 403 means the token cannot use the
  team or lacks a scope, a 400 naming ``teamId`` means ``team_id`` is wrong.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from agentdeck.backends.kit import (
    Agent,
    AgentChanges,
    AgentSpec,
    Backend,
    ChatEvent,
    ChatRequest,
    Connection,
    Done,
    HttpClient,
    InvalidInputError,
    NotFoundError,
    Option,
    Page,
    PermissionDeniedError,
    ProtocolError,
    RunStarted,
    TextDelta,
    UpstreamError,
    UpstreamValidationError,
    iter_sse,
    mapped,
    offset_cursor,
    parse_offset,
    sse_json,
)
from agentdeck.backends.make.auth import TokenAuth
from agentdeck.backends.make.settings import MakeSettings
from agentdeck.backends.make.steps import StepState, text_of

AGENTS = "/ai-agents/v1/agents"
OPTIONS = (
    Option(
        "make_connection_id",
        "integer",
        "required: the Make AI provider connection the agent runs on",
        ("create_agent",),
    ),
    Option(
        "output_parser_format",
        "object",
        "the structured output format Make parses answers into",
        ("create_agent", "update_agent"),
    ),
    Option("callback_url", "string", "an http(s) URL Make calls when the run ends", ("chat",)),
)
_AGENT_FIELDS = {"id", "agentId", "name", "systemPrompt", "defaultModel", "createdAt"}
_CONNECTION_HELP = (
    "the id (a number) of the Make connection to the AI provider the agent runs on; "
    "find it in Make under Connections, or in the makeConnectionId of an existing agent "
    "(get_agent shows it)"
)


class MakeBackend(Backend):
    kind = "make"
    options = OPTIONS
    settings: MakeSettings

    def __init__(self, name: str, settings: MakeSettings, http: HttpClient | None) -> None:
        super().__init__(name, settings, http)
        self._params = {"teamId": settings.team_id}

    @classmethod
    def connection(cls, name: str, settings: MakeSettings) -> Connection:
        token = settings.token.get_secret_value()
        return Connection(
            base_url=settings.base_url,
            auth=TokenAuth(token),
            secrets=(token,),
            credential_hint=(
                f"Check `token` of backend '{name}' in the config: it must be a valid Make API "
                "token (Profile > API access) with the ai-agents:read and ai-agents:write scopes."
            ),
        )

    async def check(self) -> str:
        try:
            agents = await self._list()
        except UpstreamValidationError as exc:
            # The list call sends nothing but teamId, so any 400 is about the team id.
            raise exc.refined(
                hint=f"Check `team_id` in the config ({self.settings.team_id}): the numeric id "
                "of the Make team, as in the team's URL."
            ) from exc
        return f"{len(agents)} agents in team {self.settings.team_id}"

    # ---- requests and Make's meaning of error statuses -----------------------------------

    async def _call(
        self, method: str, path: str, operation: str, *, json: Any = None, agent_id: str = ""
    ) -> Any:
        return await self.http.request(
            method,
            path,
            params=self._params,
            json=json,
            operation=operation,
            context={"agent_id": agent_id},
        )

    def explain(self, error: UpstreamError, *, agent_id: str = "") -> UpstreamError:
        """Add what a Make 400/403/404 means (``agent_id``: the agent the call was about);
        other errors pass through unchanged."""
        team = self.settings.team_id
        said = f" ({error.platform_message})" if error.platform_message else ""
        if isinstance(error, PermissionDeniedError):
            return error.refined(
                hint=f"The token cannot access team {team}, or lacks the ai-agents:read / "
                "ai-agents:write scopes; check `team_id` and the token's scopes in Make."
            )
        if (
            isinstance(error, UpstreamValidationError)
            and "team" in (error.platform_message or "").lower()
        ):
            return error.refined(
                message=f"{error.message} Make rejected the team id {team}.",
                hint="Check `team_id` in the config: the numeric id of the Make team, "
                "as in the team's URL.",
            )
        if isinstance(error, NotFoundError):
            what = f"there is no Make agent '{agent_id}' in team {team}" if agent_id else None
            return error.refined(
                message=f"{what or 'Make answered HTTP 404'}{said}.",
                hint="list_agents shows the agents that exist."
                if agent_id
                else "Check `base_url`: the zone's API URL, e.g. https://eu2.make.com/api/v2.",
            )
        return error.refined()

    @staticmethod
    def _path(agent_id: str, suffix: str = "") -> str:
        return f"{AGENTS}/{agent_id}{suffix}"

    def _agent_id(self, agent_id: str) -> str:
        """Make's agent ids are uuids; anything else is a wrong ref, caught before any request."""
        try:
            return str(uuid.UUID(agent_id))
        except ValueError:
            raise InvalidInputError(
                f"'{agent_id}' is not a Make agent id (Make agent ids are UUIDs).",
                backend=self.name,
                hint="list_agents shows the refs of the agents that exist.",
            ) from None

    # ---- agents --------------------------------------------------------------------------

    def _agent(self, data: Any) -> Agent:
        if not isinstance(data, dict) or not (data.get("id") or data.get("agentId")):
            raise ProtocolError("Make answered an agent without an id.", backend=self.name)
        return Agent(
            backend=self.name,
            id=str(data.get("id") or data.get("agentId")),
            name=str(data.get("name") or ""),
            instructions=data.get("systemPrompt"),
            model=data.get("defaultModel"),
            created_at=data.get("createdAt"),
            details={k: v for k, v in data.items() if k not in _AGENT_FIELDS},
        )

    async def _list(self) -> list[Any]:
        body = await self._call("GET", AGENTS, "Make list agents")
        if isinstance(body, dict):
            body = next(
                (body[k] for k in ("agents", "items", "data") if isinstance(body.get(k), list)),
                None,
            )
        if not isinstance(body, list):
            raise ProtocolError(
                "Make answered the agent list in an unknown shape.", backend=self.name
            )
        return body

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        offset = parse_offset(cursor)
        agents = await self._list()
        return Page[Agent](
            items=[self._agent(a) for a in agents[offset : offset + limit]],
            next_cursor=offset_cursor(offset, limit, len(agents) - offset),
        )

    async def get_agent(self, agent_id: str) -> Agent:
        agent_id = self._agent_id(agent_id)
        body = await self._call("GET", self._path(agent_id), "Make get agent", agent_id=agent_id)
        return self._agent(body)

    def _no_description(self, description: str | None) -> None:
        if description is not None:
            raise InvalidInputError(
                "Make agents have no description; leave `description` out "
                "(put what the agent is for in `instructions`).",
                backend=self.name,
            )

    async def create_agent(self, spec: AgentSpec) -> Agent:
        self.check_options(spec.options, "create_agent")
        self._no_description(spec.description)
        connection_id = spec.options.get("make_connection_id")
        if connection_id is None:
            raise InvalidInputError(
                f"Make requires options.make_connection_id to create an agent: {_CONNECTION_HELP}.",
                backend=self.name,
            )
        if isinstance(connection_id, str) and connection_id.strip().isdigit():
            connection_id = int(connection_id)
        if (
            isinstance(connection_id, bool)
            or not isinstance(connection_id, int)
            or connection_id < 1
        ):
            raise InvalidInputError(
                f"options.make_connection_id must be a positive number: {_CONNECTION_HELP}.",
                backend=self.name,
            )
        if not (spec.instructions or "").strip():
            raise InvalidInputError(
                "Make requires `instructions` (the agent's system prompt) to create an agent.",
                backend=self.name,
            )
        if not (spec.model or "").strip():
            raise InvalidInputError(
                "Make requires `model` (the agent's default model as the AI provider names "
                "it, e.g. 'gpt-4.1-mini') to create an agent.",
                backend=self.name,
            )
        body: dict[str, Any] = {
            "name": spec.name,
            "teamId": self.settings.team_id,
            "makeConnectionId": connection_id,
            "defaultModel": spec.model,
            "systemPrompt": spec.instructions,
        }
        if "output_parser_format" in spec.options:
            body["outputParserFormat"] = spec.options["output_parser_format"]
        created = await self._call("POST", AGENTS, "Make create agent", json=body)
        return self._agent({**body, **(created if isinstance(created, dict) else {})})

    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent:
        agent_id = self._agent_id(agent_id)
        if "make_connection_id" in changes.options:
            raise InvalidInputError(
                "Make cannot change an agent's connection (make_connection_id) after it is "
                "created; create a new agent on the other connection instead.",
                backend=self.name,
            )
        self.check_options(changes.options, "update_agent")
        self._no_description(changes.description)
        if changes.instructions is not None and not changes.instructions.strip():
            raise InvalidInputError(
                "Make does not accept empty `instructions`; pass the new system prompt.",
                backend=self.name,
            )
        body: dict[str, Any] = {}
        for key, value in (
            ("name", changes.name),
            ("systemPrompt", changes.instructions),
            ("defaultModel", changes.model),
        ):
            if value is not None:
                body[key] = value
        if "output_parser_format" in changes.options:
            body["outputParserFormat"] = changes.options["output_parser_format"]
        await self._call(
            "PATCH", self._path(agent_id), "Make modify agent", json=body, agent_id=agent_id
        )
        return await self.get_agent(agent_id)

    async def delete_agent(self, agent_id: str) -> None:
        agent_id = self._agent_id(agent_id)
        await self._call("DELETE", self._path(agent_id), "Make delete agent", agent_id=agent_id)

    # ---- chat ----------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        agent_id = self._agent_id(request.agent_id)
        self.check_options(request.options, "chat")
        if not request.message.strip():
            raise InvalidInputError("the message is empty; say something to the agent.")
        callback = request.options.get("callback_url")
        if callback is not None and not (
            isinstance(callback, str) and callback.startswith(("https://", "http://"))
        ):
            raise InvalidInputError(
                "options.callback_url must be an http(s) URL that Make calls when the run ends.",
                backend=self.name,
            )
        thread_id = request.conversation_id or str(uuid.uuid4())
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": request.message}],
            "threadId": thread_id,
        }
        if callback is not None:
            body["callbackUrl"] = callback
        run = self._stream_run if self.settings.streaming else self._plain_run
        async for event in run(agent_id, thread_id, body):
            yield event

    async def _plain_run(
        self, agent_id: str, thread_id: str, body: dict[str, Any]
    ) -> AsyncIterator[ChatEvent]:
        # Announced before the call: /run answers only when the agent has finished, and a
        # caller whose wait budget ends first still needs the thread to continue it.
        yield RunStarted(conversation_id=thread_id)
        operation = "Make run agent"
        # `long`: /run answers only when the agent has finished, which can outlast `timeout`.
        answer = await self.http.request(
            "POST",
            self._path(agent_id, "/run"),
            params=self._params,
            json=body,
            operation=operation,
            long=True,
            context={"agent_id": agent_id},
        )
        if not isinstance(answer, dict) or "response" not in answer:
            raise ProtocolError(f"{operation} answered without a `response`.", backend=self.name)
        text = text_of(answer["response"])
        if text:
            yield TextDelta(text=text)
        thread = str(answer.get("threadId") or thread_id)
        details = {k: answer.get(k) for k in ("executionTimeMs", "lastAgentIterationId")}
        yield Done(conversation_id=thread, details={"threadId": thread, **details})

    async def _stream_run(
        self, agent_id: str, thread_id: str, body: dict[str, Any]
    ) -> AsyncIterator[ChatEvent]:
        operation = "Make run agent (stream)"
        started = time.monotonic()
        async with self.http.stream(
            "POST",
            self._path(agent_id, "/run/stream"),
            params=self._params,
            json=body,
            headers={"Accept": "text/event-stream"},
            operation=operation,
            context={"agent_id": agent_id},
        ) as response:
            # Announced once Make accepted the run, so a refused one leaves no thread behind.
            yield RunStarted(conversation_id=thread_id)
            state = StepState()
            async for event in iter_sse(response, self.http, operation):
                if event.event not in ("step", "", "message"):
                    continue
                for chat_event in mapped(state.step, "step", sse_json(event)):
                    yield chat_event
        if not state.answered:
            raise ProtocolError(
                f"{operation} ended before the agent answered (no assistant step).",
                backend=self.name,
                hint="Retry the message; the conversation ref continues the same thread.",
            )
        details = {
            "threadId": thread_id,
            "executionTimeMs": int((time.monotonic() - started) * 1000),
            "lastAgentIterationId": state.iteration,
        }
        yield Done(conversation_id=thread_id, details=details)
