"""The ``agentflow`` backend: agents, sub-agents, chat, approvals, knowledge on AgentFlow.

Contract: ``shared/api-docs/agentflow-api-reference.txt`` (a route table; no bodies)
and the AgentFlow section of ``shared/api-docs/NOTES.md``. ``base_url`` is the
deployment's root (a trailing ``/api/v1`` is dropped); every call sends
``Authorization: Bearer <token>``.

What maps where:

- agents: ``GET /api/v1/agents``; ``GET /api/v1/agent/{id}`` plus ``/config``;
  ``PATCH .../config``; ``DELETE /api/v1/agent/{id}``. The reference has no top-level
  create, so ``create_agent`` creates a sub-agent under ``options.parent_agent``
  (``POST .../subagents``). A sub-agent's ref is ``<backend>:<parent>/<sub>``; get,
  update, delete and chat work on it through the ``.../subagents/{sub_id}`` routes
  (chat runs it once with ``POST .../run``).
- chat: ``POST /api/v1/agent/{id}/chat``, SSE (``chat``; ``events`` maps the events);
  cancel: ``POST /api/v1/cancel/{call_id}``. A stream that ends on a pause (``done`` with
  status ``awaiting_approval``/``awaiting_input``) leaves the run waiting until the pause
  is answered here (``pauses``). Conversations: ``/api/v1/conversations``
  (``search`` filter → ``/conversations/search?q=``) and ``.../{id}/messages``.
- approvals: ``/api/v1/approvals/pending``, ``.../{id}/respond``, ``bulk-respond``,
  ``DELETE .../{id}``; questions: ``POST /api/v1/questions/{id}/respond``.
- knowledge: ``/api/v1/knowledge-bases`` (one KB ``/{id}/search``, several
  ``/search``) and ``/api/v1/agents/{id}/knowledge-bases/{kb}/search`` through an agent.

Assumptions about bodies the reference does not show (responses are read leniently
by ``shapes``/``events``):

- chat: ``{message, stream, conversation_id?}``; a chat without a conversation starts
  one (``start``/``done`` name it); option ``title`` creates it first with
  ``POST /api/v1/conversations {agent_id, title}``. ``stream: false`` answers
  ``{call_id, conversation_id, response, tool_calls, status}``.
- config PATCH: a flat object of config keys (``system_prompt``, ``model``, the
  options). Name and description are not config: top-level agents cannot rename.
- sub-agent create/PATCH: ``{name, description, system_prompt, model, tools}``;
  run: ``{message}`` → ``{call_id, output}``; tool run: ``{arguments}``.
- approval respond: ``{decision: "approve"|"deny", reason?, modified_arguments?}``
  (approve with arguments = approve with modified arguments); 409 = already answered
  or cancelled, 410 = expired. Bulk: ``{approval_ids, decision, reason?}`` →
  ``{results: [{approval_id, success, status, error}]}``. Question: ``{answer}``.
- KB search: ``{query, top_k}`` (+ ``knowledge_base_ids`` on the multi-KB route).
- lists may be paged with ``limit``/``offset`` (sent; see ``shapes.window``).
- ``/health`` {status, version}, ``/ready`` {status}, ``/openapi.json`` ``info.version``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from agentdeck.backends.agentflow.api import API, AgentFlowApi, segment
from agentdeck.backends.agentflow.approvals import AgentFlowApprovals
from agentdeck.backends.agentflow.chat import Chats
from agentdeck.backends.agentflow.events import text_of
from agentdeck.backends.agentflow.knowledge import AgentFlowKnowledge
from agentdeck.backends.agentflow.pauses import PausedRuns
from agentdeck.backends.agentflow.settings import AgentFlowSettings
from agentdeck.backends.agentflow.shapes import (
    SUBAGENT_SEPARATOR,
    agent_tool,
    conversation,
    message,
)
from agentdeck.backends.agentflow.shapes import agent as agent_model
from agentdeck.backends.kit import (
    ANY_KEY,
    Agent,
    AgentChanges,
    AgentSpec,
    BearerAuth,
    ChatEvent,
    ChatRequest,
    ConflictError,
    Connection,
    Conversation,
    ConversationSummary,
    HttpClient,
    InvalidInputError,
    NotFoundError,
    Option,
    Page,
    UnsupportedError,
    UpstreamError,
)

OPTIONS = (
    Option("stream", "boolean", "false: one JSON answer instead of a stream", ("chat",)),
    Option("title", "string", "names a new conversation", ("chat",)),
    Option(
        "parent_agent",
        "string",
        "required: ref of the top-level agent the new sub-agent belongs to",
        ("create_agent",),
    ),
    Option("tools", "list", "tool names a sub-agent may use", ("create_agent", "update_agent")),
    Option(ANY_KEY, "any", "other keys of a top-level agent's config", ("update_agent",)),
    Option("search", "string", "text to search for", ("list_conversations",)),
    Option(
        ANY_KEY, "any", "other list filters (string, number or boolean)", ("list_conversations",)
    ),
)


class AgentFlowBackend(AgentFlowApprovals, AgentFlowKnowledge):
    """Agents and sub-agents, chat, conversations, approvals and knowledge on AgentFlow.

    Approvals and questions (:mod:`.approvals`) and knowledge (:mod:`.knowledge`) are
    methods of its base classes; the longer jobs are done by collaborators it holds:
    ``api`` (every request), ``chats`` (streams) and ``paused_runs`` (chats waiting on an
    answer).
    """

    kind = "agentflow"
    options = OPTIONS
    settings: AgentFlowSettings

    def __init__(self, name: str, settings: AgentFlowSettings, http: HttpClient | None) -> None:
        super().__init__(name, settings, http)
        self.api = AgentFlowApi(name, self.http)
        self.paused_runs = PausedRuns(self.api, stream_timeout=settings.stream_timeout)
        self.chats = Chats(self.api, self.paused_runs, self.check_options)

    @classmethod
    def connection(cls, name: str, settings: AgentFlowSettings) -> Connection:
        token = settings.token.get_secret_value()
        base_url = settings.base_url.rstrip("/").removesuffix(API)
        return Connection(
            base_url=base_url,
            auth=BearerAuth(token),
            secrets=(token,),
            credential_hint=(
                f"Check `token` of [backends.{name}] in the config: it must be a bearer token "
                "issued by this AgentFlow deployment."
            ),
        )

    def explain(self, error: UpstreamError, *, answering: str = "") -> UpstreamError:
        """What a 409 or 410 means when answering an approval or question (``answering``
        names it: ``the approval flow:a1``); other errors are raised as plain copies."""
        said = error.platform_message
        if answering and isinstance(error, ConflictError):
            return error.refined(
                message=f"{answering} was already answered or cancelled, so this answer was "
                f"not applied (AgentFlow: {said or 'conflict'}).",
                hint="list_approvals shows what still waits for an answer.",
            )
        if answering and error.status == 410:
            return error.refined(
                message=f"{answering} has expired: the agent stopped waiting for it "
                f"(AgentFlow: {said or 'gone'}).",
                hint="Send the message to the agent again to have it ask anew.",
            )
        return error.refined()

    async def check(self) -> str:
        health = await self.api.request("GET", "/health")
        ready = await self.api.request("GET", "/ready")
        version = text_of(health, "version")
        try:
            spec = await self.api.request("GET", "/openapi.json")
            info = spec.get("info") if isinstance(spec, dict) else None
            version = text_of(info, "version") or version
        except NotFoundError:
            pass
        agents = await self.api.read_list("GET", f"{API}/agents", "agents", {})
        return (
            f"AgentFlow API {version or 'version unknown'}: "
            f"{text_of(health, 'status') or 'up'}, {text_of(ready, 'status') or 'ready'}; "
            f"{len(agents)} agents"
        )

    # ---- agents --------------------------------------------------------------------------

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        items, next_cursor = await self.api.page(
            f"{API}/agents", "agents", limit=limit, cursor=cursor, params={}
        )
        return Page[Agent](
            items=[agent_model(self.name, raw) for raw in items], next_cursor=next_cursor
        )

    async def get_agent(self, agent_id: str) -> Agent:
        parent, sub = self.api.split(agent_id)
        if sub is not None:
            raw = await self.api.request(
                "GET", f"{API}/agent/{segment(parent)}/subagents/{segment(sub)}"
            )
            return agent_model(self.name, raw if isinstance(raw, dict) else {}, parent=parent)
        raw = await self.api.request("GET", f"{API}/agent/{segment(parent)}")
        config = await self.api.request("GET", f"{API}/agent/{segment(parent)}/config")
        if isinstance(config, dict) and isinstance(config.get("config"), dict):
            config = config["config"]
        return agent_model(
            self.name,
            raw if isinstance(raw, dict) else {},
            config if isinstance(config, dict) else None,
        )

    async def create_agent(self, spec: AgentSpec) -> Agent:
        options = dict(spec.options)
        self.check_options(options, "create_agent")
        if "parent_agent" not in options:
            raise InvalidInputError(
                "AgentFlow has no top-level agent creation: agentdeck creates a sub-agent, so "
                "options.parent_agent must name the parent agent ('<backend>:<id>').",
                backend=self.name,
                hint="list_agents shows the agents that can be parents.",
            )
        parent = self.api.own_id(options.pop("parent_agent"), "parent_agent")
        if SUBAGENT_SEPARATOR in parent:
            raise InvalidInputError(
                "options.parent_agent must be a top-level agent, not a sub-agent.",
                backend=self.name,
            )
        tools = options.get("tools")
        if tools is not None and not (
            isinstance(tools, list) and all(isinstance(t, str) for t in tools)
        ):
            raise InvalidInputError(
                "options.tools must be a list of tool names.", backend=self.name
            )
        body = {
            "name": spec.name,
            "description": spec.description,
            "system_prompt": spec.instructions,
            "model": spec.model,
            "tools": tools,
        }
        raw = await self.api.request(
            "POST",
            f"{API}/agent/{segment(parent)}/subagents",
            json={k: v for k, v in body.items() if v is not None},
        )
        return agent_model(self.name, raw if isinstance(raw, dict) else {}, parent=parent)

    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent:
        parent, sub = self.api.split(agent_id)
        fields = {"system_prompt": changes.instructions, "model": changes.model}
        if sub is not None:
            self.check_options(changes.options, "update_agent", named_only=True)
            fields |= {"name": changes.name, "description": changes.description}
            body = {k: v for k, v in fields.items() if v is not None} | changes.options
            await self.api.request(
                "PATCH", f"{API}/agent/{segment(parent)}/subagents/{segment(sub)}", json=body
            )
            return await self.get_agent(agent_id)
        if changes.name is not None or changes.description is not None:
            raise UnsupportedError(
                "AgentFlow's API changes an agent's configuration (instructions, model, "
                "options), not its name or description.",
                backend=self.name,
                hint="Change the name in AgentFlow itself, or pass config keys in `options`.",
            )
        body = {k: v for k, v in fields.items() if v is not None}
        clash = sorted(set(body) & set(changes.options))
        if clash:
            raise InvalidInputError(
                f"options {clash} repeat instructions/model; pass each once.", backend=self.name
            )
        await self.api.request(
            "PATCH", f"{API}/agent/{segment(parent)}/config", json=body | changes.options
        )
        return await self.get_agent(agent_id)

    async def delete_agent(self, agent_id: str) -> None:
        parent, sub = self.api.split(agent_id)
        path = f"{API}/agent/{segment(parent)}" + (f"/subagents/{segment(sub)}" if sub else "")
        await self.api.request("DELETE", path)

    async def list_subagents(self, agent_id: str, *, limit: int, cursor: str | None) -> Page[Agent]:
        parent, sub = self.api.split(agent_id)
        if sub is not None:
            raise InvalidInputError(
                "sub-agents have no sub-agents of their own.", backend=self.name
            )
        items, next_cursor = await self.api.page(
            f"{API}/agent/{segment(parent)}/subagents",
            "subagents",
            limit=limit,
            cursor=cursor,
            params={},
        )
        return Page[Agent](
            items=[agent_model(self.name, raw, parent=parent) for raw in items],
            next_cursor=next_cursor,
        )

    async def list_agent_tools(
        self, agent_id: str, *, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        parent, sub = self.api.split(agent_id)
        path = (
            f"{API}/agent/{segment(parent)}"
            + (f"/subagents/{segment(sub)}" if sub else "")
            + "/tools"
        )
        items, next_cursor = await self.api.page(
            path, "tools", limit=limit, cursor=cursor, params={}
        )
        return Page[dict[str, Any]](items=[agent_tool(t) for t in items], next_cursor=next_cursor)

    async def run_agent_tool(
        self, agent_id: str, tool: str, *, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        parent = self.api.top_level(
            agent_id, "AgentFlow runs tools of top-level agents only.", "Run it"
        )
        raw = await self.api.request(
            "POST",
            f"{API}/agent/{segment(parent)}/tools/{segment(tool)}/run",
            json={"arguments": arguments},
        )
        raw = raw if isinstance(raw, dict) else {"result": raw}
        used = {"tool", "status", "result", "output", "arguments", "agent_id"}
        return {
            "status": text_of(raw, "status"),
            "result": raw.get("result", raw.get("output")),
            "details": {k: v for k, v in raw.items() if k not in used},
        }

    # ---- chat ----------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        return self.chats.chat(request)

    async def cancel_chat(self, upstream_run_id: str) -> None:
        # 409: the call had already finished, so there is nothing left to stop.
        with contextlib.suppress(ConflictError):
            await self.api.request("POST", f"{API}/cancel/{segment(upstream_run_id)}")

    # ---- conversations -------------------------------------------------------------------

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page[ConversationSummary]:
        filters = dict(filters)
        for key, value in filters.items():
            if not isinstance(value, str | int | float | bool):
                raise InvalidInputError(
                    f"options.{key} must be a string, number or boolean (a query filter).",
                    backend=self.name,
                )
        params: dict[str, Any] = {"agent_id": agent_id, **filters}
        search = params.pop("search", None)
        if search is None:
            items, next_cursor = await self.api.page(
                f"{API}/conversations", "conversations", limit=limit, cursor=cursor, params=params
            )
        else:
            items, next_cursor = await self.api.page(
                f"{API}/conversations/search",
                "results",
                limit=limit,
                cursor=cursor,
                params={"q": search, **params},
            )
        return Page[ConversationSummary](
            items=[ConversationSummary(**conversation(self.name, raw)) for raw in items],
            next_cursor=next_cursor,
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        head = await self.api.request("GET", f"{API}/conversations/{segment(conversation_id)}")
        messages = await self.api.read_list(
            "GET", f"{API}/conversations/{segment(conversation_id)}/messages", "messages", {}
        )
        summary = conversation(self.name, head if isinstance(head, dict) else {})
        summary["message_count"] = len(messages)
        return Conversation(**summary, messages=[message(m) for m in messages])


__all__ = ["AgentFlowBackend"]
