"""The ``agenticflow`` backend: AgenticFlow agents, their data-stream chat and webhook triggers.

Contract: ``agenticflow-agent-api.txt`` (the reference text), the trimmed OpenAPI spec
``agenticflow-openapi-agents.json`` and the AgenticFlow notes in ``NOTES.md``. Every
route hangs below ``base_url`` + ``path_prefix`` (``/v1``; self-hosted ``/api``):

- agents: ``GET|POST /agents/`` (trailing slash: ``/agents`` redirects), ``GET|PUT|DELETE
  /agents/{id}``; a key is bound to one project, so another project's agent is a 403;
- chat: ``POST /agents/{id}/stream`` with ``{"id": <thread>, "messages": [<last user
  message>]}``, answered as a Vercel AI data stream v1 (decoded by :mod:`agentdeck.http._streams`);
- public agents without a key: ``GET /agents/anonymous/{id}`` and its ``/stream``;
- webhook triggers: ``/agents/{id}/triggers``, ``/agents/triggers/{trigger_id}``,
  ``/agents/{id}/triggers/{trigger_id}/events`` and ``{METHOD} /agents/webhook/{path}/trigger``.

There is no conversation listing in the reference, so this backend has no
ConversationReader: agentdeck's run history lists the conversations it took part in.

Assumptions about shapes the reference does not show:

- ``workspace_id`` is sent on list/create when configured (the text requires it, the
  OpenAPI spec omits it); a 422 naming it says to configure it.
- List routes (agents, triggers, events) answer a bare JSON array; ``{"items": [...]}``
  or ``{"data": [...]}`` is accepted too. Triggers have no paging: they are paged here.
- ``2:`` data items of type ``thread_info`` carry ``thread_id`` and ``user_message_id``;
  an ``a:`` tool result may be a bare JSON value, kept as the result.
- A trigger as returned: ``id, agent_id, name, description, trigger_type,
  trigger_config{auth_config, method, response_code, path}, task_config{type, message,
  chat_id}`` (what is done with its credentials: :mod:`.triggers`).
- A trigger event: ``id, status, thread_id, response_code, request{method, query, headers,
  body}, created_at``; request headers are dropped from results (they carry credentials).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, ClassVar

from agentdeck.backends.agenticflow.api import agent_rows, api_root
from agentdeck.backends.agenticflow.auth import WITHOUT_KEY, KeyAuth
from agentdeck.backends.agenticflow.schema import agent_options, chat_options
from agentdeck.backends.agenticflow.settings import AgenticFlowSettings
from agentdeck.backends.agenticflow.triggers import AgenticFlowTriggers
from agentdeck.backends.kit import (
    Agent,
    AgentChanges,
    AgentSpec,
    ChatEvent,
    ChatRequest,
    Connection,
    Done,
    InvalidInputError,
    Option,
    Page,
    PermissionDeniedError,
    Redactor,
    RunStarted,
    StreamWarning,
    UpstreamError,
    UpstreamValidationError,
    data_stream_events,
    iter_data_stream,
    offset_cursor,
    parse_offset,
)

_CORE_FIELDS = frozenset(
    {"id", "name", "description", "system_prompt", "model", "created_at", "updated_at"}
)

_AGENT = ("create_agent", "update_agent")
_TRIGGER = ("create_trigger", "update_trigger")
#: What agentdeck's tools take in ``options`` on AgenticFlow. The values are checked
#: against the platform's request schemas in ``schema`` and ``trigger_schema`` (a test keeps the
#: keys of both the same).
OPTIONS = (
    Option("attachments", "list", "image URLs (http(s) or data:)", ("chat",)),
    Option("anonymous", "boolean", "true: the public agent endpoint, without a key", ("chat",)),
    Option("visibility", "string", '"private" or "public"', _AGENT),
    Option("model_user_config", "object", "model settings", _AGENT),
    Option("tools", "list", "workflow tools the agent may call", _AGENT),
    Option("plugins", "list", "plugins the agent may call", _AGENT),
    Option("sub_agents", "list", "agents it may delegate to", _AGENT),
    Option("mcp_clients", "list", "MCP servers it may use", _AGENT),
    Option("knowledge", "object", "knowledge it searches", _AGENT),
    Option("response_format", "object", "a JSON schema for its answers", _AGENT),
    Option("recursion_limit", "integer", "11-99 steps per answer", _AGENT),
    Option("suggested_messages", "list", "up to 4 starter messages", _AGENT),
    Option("welcome_message", "string", "", _AGENT),
    Option("suggest_replies", "boolean", "", _AGENT),
    Option("suggest_replies_model", "string", "", _AGENT),
    Option("suggest_replies_model_user_config", "object", "", _AGENT),
    Option("suggest_replies_prompt_template", "string", "", _AGENT),
    Option("auto_generate_title", "boolean", "", _AGENT),
    Option("agent_metadata", "object", "", _AGENT),
    Option("task_management_config", "object", "", _AGENT),
    Option("file_system_tool_config", "object", "", _AGENT),
    Option("code_execution_tool_config", "object", "", _AGENT),
    Option("skills_config", "object", "", _AGENT),
    Option("attachment_config", "object", "", _AGENT),
    Option("name", "string", "required on create", _TRIGGER),
    Option("message", "string", "required on create: what the agent is sent", _TRIGGER),
    Option("description", "string", "what the trigger is for", _TRIGGER),
    Option("auth_type", "string", '"NONE" (default), "BASIC" or "BEARER"', _TRIGGER),
    Option("username", "string", "with BASIC", _TRIGGER),
    Option("password", "string", "with BASIC; never shown in results", _TRIGGER),
    Option("token", "string", "with BEARER; never shown in results", _TRIGGER),
    Option("method", "string", '"POST" (default), "GET", "PUT" or "DELETE"', _TRIGGER),
    Option("response_code", "integer", "what the webhook answers (default 200)", _TRIGGER),
    Option(
        "chat_id", "string", "the conversation to send to; omit for a new one each time", _TRIGGER
    ),
)


class AgenticFlowBackend(AgenticFlowTriggers):
    kind: ClassVar[str] = "agenticflow"
    options = OPTIONS
    settings: AgenticFlowSettings

    @classmethod
    def connection(cls, name: str, settings: AgenticFlowSettings) -> Connection:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return Connection(
            base_url=api_root(settings),
            auth=KeyAuth(key),
            secrets=(key,) if key else (),
            credential_hint=(
                f"Check `api_key` of backend '{name}' in the config: an AgenticFlow API key "
                "from the workspace's settings, API keys page."
            ),
        )

    async def check(self) -> str:
        if not self.has_key:
            return "no api_key configured: only public agents can be read and chatted with"
        found = await agent_rows(self.http, self.settings, limit=101, offset=0, search=None)
        count = f"{len(found)}" if len(found) <= 100 else "more than 100"
        where = f" in project {self.settings.project_id}" if self.settings.project_id else ""
        return f"{count} agents{where}"

    # ---- AgenticFlow's meaning of its errors ---------------------------------------------

    def explain(self, error: UpstreamError, *, secrets: tuple[str, ...] = ()) -> UpstreamError:
        """The hint AgenticFlow's answer calls for, and ``secrets`` (a trigger's own
        credentials, which the HTTP layer does not know) removed from the texts."""
        said = error.platform_message or ""
        hint = None
        if isinstance(error, PermissionDeniedError):
            hint = (
                "This agent is private: set `api_key` in the config to use it."
                if "not public" in said
                else "AgenticFlow API keys are bound to one project: this belongs to another "
                "project or workspace."
            )
        elif isinstance(error, UpstreamValidationError):
            hint = (
                f"Set `workspace_id` of backend '{self.name}' in the config (a UUID)."
                if "workspace_id" in said
                else "The fields named above are what AgenticFlow rejected; nothing was changed."
            )
        redact = Redactor(secrets)
        refined = error.refined(message=redact(error.message), hint=hint)
        refined.platform_message = redact(said) or None
        return refined

    # ---- agents --------------------------------------------------------------------------

    def _agent(self, data: dict[str, Any], *, public: bool = False) -> Agent:
        details = {
            k: v for k, v in data.items() if k not in _CORE_FIELDS and v not in (None, [], {})
        }
        if public:
            details["public_info_only"] = True
        return Agent(
            backend=self.name,
            id=str(data.get("id")),
            name=str(data.get("name") or ""),
            description=data.get("description"),
            instructions=data.get("system_prompt"),
            model=data.get("model"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            details=details,
        )

    async def list_agents(
        self, *, limit: int, cursor: str | None, search: str | None = None
    ) -> Page[Agent]:
        self._need_key("list_agents")
        offset = parse_offset(cursor)
        rows = await agent_rows(
            self.http, self.settings, limit=limit + 1, offset=offset, search=search
        )
        return Page[Agent](
            items=[self._agent(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_agent(self, agent_id: str) -> Agent:
        agent_id = self._id(agent_id, "agent")
        if not self.has_key:
            path = f"/agents/anonymous/{agent_id}"
            data = await self.http.request("GET", path, operation=f"get public agent {agent_id}")
            return self._agent(data, public=True)
        path = f"/agents/{agent_id}"
        return self._agent(await self.http.request("GET", path, operation=f"get agent {agent_id}"))

    async def create_agent(self, spec: AgentSpec) -> Agent:
        self._need_key("create_agent")
        options = agent_options(spec.options, backend=self.name, updating=False)
        if not self.settings.project_id:
            raise InvalidInputError(
                "AgenticFlow creates agents in a project, and this backend has no project_id.",
                backend=self.name,
                hint=f"Set `project_id` of backend '{self.name}' in the config.",
            )
        body = {
            "name": spec.name,
            "project_id": self.settings.project_id,
            "tools": [],
            **{
                k: v
                for k, v in (
                    ("system_prompt", spec.instructions),
                    ("model", spec.model),
                    ("description", spec.description),
                )
                if v is not None
            },
            **options,
        }
        params = {"workspace_id": self.settings.workspace_id}
        data = await self.http.request(
            "POST", "/agents/", params=params, json=body, operation="create agent"
        )
        return self._agent(data)

    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent:
        self._need_key("update_agent")
        agent_id = self._id(agent_id, "agent")
        body = agent_options(changes.options, backend=self.name, updating=True)
        for key, value in (
            ("name", changes.name),
            ("system_prompt", changes.instructions),
            ("model", changes.model),
            ("description", changes.description),
        ):
            if value is not None:
                body[key] = value
        path = f"/agents/{agent_id}"
        data = await self.http.request("PUT", path, json=body, operation=f"update agent {agent_id}")
        return self._agent(data)

    async def delete_agent(self, agent_id: str) -> None:
        await self._delete("agent", agent_id, "/agents")

    # ---- chat ----------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        agent_id = self._id(request.agent_id, "agent")
        attachments, anonymous = chat_options(request.options, backend=self.name)
        anonymous = anonymous or not self.has_key
        thread_id = request.conversation_id or str(uuid.uuid4())
        message: dict[str, Any] = {"role": "user", "content": request.message}
        if attachments:
            message["experimental_attachments"] = attachments
        path = f"/agents/anonymous/{agent_id}/stream" if anonymous else f"/agents/{agent_id}/stream"
        headers = {WITHOUT_KEY: "1"} if anonymous else None
        operation = f"chat with {'public ' if anonymous else ''}agent {agent_id}"
        yield RunStarted(conversation_id=thread_id)
        info: dict[str, Any] = {}
        done = False
        async with self.http.stream(
            "POST",
            path,
            json={"id": thread_id, "messages": [message]},
            headers=headers,
            operation=operation,
        ) as response:
            parts = _parts(iter_data_stream(response, self.http, operation), info)
            async for event in data_stream_events(parts, backend=self.name, operation=operation):
                if isinstance(event, RunStarted):
                    if event.conversation_id in (None, thread_id):
                        continue
                    thread_id = event.conversation_id
                if isinstance(event, Done):
                    if done:
                        continue  # the format has one finish part; a second is ignored
                    done = True
                    event = event.model_copy(
                        update={
                            "conversation_id": thread_id,
                            "details": {**event.details, **info},
                        }
                    )
                yield event


async def _parts(
    parts: AsyncIterator[tuple[str, Any] | StreamWarning], info: dict[str, Any]
) -> AsyncIterator[tuple[str, Any] | StreamWarning]:
    """Data-stream parts, keeping what ``thread_info`` says and wrapping bare tool results."""
    async for part in parts:
        if not isinstance(part, StreamWarning):
            prefix, value = part
            if prefix == "2":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict) and item.get("type") == "thread_info":
                        data = item.get("data")
                        if not isinstance(data, dict):
                            data = item
                        info.update(
                            {k: data[k] for k in ("thread_id", "user_message_id") if k in data}
                        )
            elif prefix == "a" and not isinstance(value, dict):
                part = (prefix, {"result": value})
        yield part
