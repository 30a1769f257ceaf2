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
  chat_id}``. Reading one returns its credentials: update sends them back (the route
  replaces the whole trigger) and invoke uses them. They never appear in results.
- A trigger event: ``id, status, thread_id, response_code, request{method, query, headers,
  body}, created_at``; request headers are dropped from results (they carry credentials).
- Invoking a webhook is never retried once sent, whatever its method: each call starts
  an agent task, and a repeat would start another.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Generator
from typing import Any, ClassVar

import httpx2

from agentdeck.backends.agenticflow.schema import (
    agent_options,
    chat_options,
    check_trigger_options,
    query_payload,
    secrets_of,
    trigger_body,
    trigger_event,
    trigger_result,
)
from agentdeck.backends.agenticflow.settings import AgenticFlowSettings
from agentdeck.backends.base import Backend, Option
from agentdeck.errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    ProtocolError,
    UnsupportedError,
    UpstreamError,
    UpstreamValidationError,
)
from agentdeck.http import Connection, data_stream_events, iter_data_stream
from agentdeck.model import (
    Agent,
    AgentChanges,
    AgentSpec,
    ChatEvent,
    ChatRequest,
    Done,
    Page,
    RunStarted,
    StreamWarning,
    make_ref,
)
from agentdeck.pagination import offset_cursor, parse_offset
from agentdeck.platform_model import Trigger, TriggerEvent
from agentdeck.redaction import Redactor

#: Marks a request that must go out without the API key (public agents, webhooks).
_WITHOUT_KEY = "X-Agentdeck-Without-Key"
_CORE_FIELDS = frozenset(
    {"id", "name", "description", "system_prompt", "model", "created_at", "updated_at"}
)
_LIST_ALL_TRIGGERS_MAX_AGENTS = 500
_MAX_WEBHOOK_ANSWER = 1_000_000


class _KeyAuth(httpx2.Auth):
    """``Authorization: Bearer <key>``, except on requests marked to go without it."""

    def __init__(self, key: str | None) -> None:
        self._value = f"Bearer {key}" if key else None

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        if _WITHOUT_KEY in request.headers:
            del request.headers[_WITHOUT_KEY]
        elif self._value:
            request.headers["Authorization"] = self._value
        yield request


def _api_root(settings: AgenticFlowSettings) -> str:
    """``base_url`` joined with ``path_prefix`` (``/v1``, or ``/api`` when self-hosted)."""
    prefix = settings.path_prefix.strip("/")
    return settings.base_url.rstrip("/") + (f"/{prefix}" if prefix else "")


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        body = body.get("items", body.get("data"))
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


_AGENT = ("create_agent", "update_agent")
_TRIGGER = ("create_trigger", "update_trigger")
#: What agentdeck's tools take in ``options`` on AgenticFlow. The values are checked
#: against the platform's request schemas in ``agenticflow_schema`` (a test keeps the
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


class AgenticFlowBackend(Backend):
    kind: ClassVar[str] = "agenticflow"
    options = OPTIONS
    settings: AgenticFlowSettings

    @classmethod
    def connection(cls, name: str, settings: AgenticFlowSettings) -> Connection:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return Connection(
            base_url=_api_root(settings),
            auth=_KeyAuth(key),
            secrets=(key,) if key else (),
            credential_hint=(
                f"Check `api_key` of backend '{name}' in the config: an AgenticFlow API key "
                "from the workspace's settings, API keys page."
            ),
        )

    @property
    def has_key(self) -> bool:
        return self.settings.api_key is not None

    async def check(self) -> str:
        if not self.has_key:
            return "no api_key configured: only public agents can be read and chatted with"
        found = await self._list_agents(limit=101, offset=0, search=None)
        count = f"{len(found)}" if len(found) <= 100 else "more than 100"
        where = f" in project {self.settings.project_id}" if self.settings.project_id else ""
        return f"{count} agents{where}"

    # ---- helpers -------------------------------------------------------------------------

    def _id(self, value: str, what: str) -> str:
        """A platform id checked before any request: AgenticFlow ids are UUIDs."""
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise InvalidInputError(
                f"'{value[:80]}' is not an AgenticFlow {what} id (they are UUIDs).",
                backend=self.name,
                hint=f"Pass the ref list_{what}s shows: '{self.name}:<uuid>'.",
            ) from None

    def _need_key(self, operation: str) -> None:
        if not self.has_key:
            raise UnsupportedError(
                f"{operation} needs an API key, and backend '{self.name}' has none.",
                backend=self.name,
                hint="Set `api_key` in its config; without one only public agents can be "
                "read (get_agent) and chatted with.",
            )

    async def _call(
        self, method: str, path: str, operation: str, *, secrets: tuple[str, ...] = (), **kw: Any
    ) -> Any:
        """One request, with AgenticFlow's meaning added to the errors where it has one."""
        try:
            return await self.http.request(method, path, operation=operation, **kw)
        except UpstreamError as exc:
            raise self.explain(exc, secrets=secrets) from exc

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

    async def _list_agents(
        self, *, limit: int, offset: int, search: str | None
    ) -> list[dict[str, Any]]:
        params = {
            "workspace_id": self.settings.workspace_id,
            "project_id": self.settings.project_id,
            "limit": limit,
            "offset": offset,
            "search_query": search or None,
        }
        return _items(await self._call("GET", "/agents/", "list agents", params=params))

    async def list_agents(
        self, *, limit: int, cursor: str | None, search: str | None = None
    ) -> Page[Agent]:
        self._need_key("list_agents")
        offset = parse_offset(cursor)
        rows = await self._list_agents(limit=limit + 1, offset=offset, search=search)
        return Page[Agent](
            items=[self._agent(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def get_agent(self, agent_id: str) -> Agent:
        agent_id = self._id(agent_id, "agent")
        if not self.has_key:
            path = f"/agents/anonymous/{agent_id}"
            data = await self._call("GET", path, f"get public agent {agent_id}")
            return self._agent(data, public=True)
        return self._agent(await self._call("GET", f"/agents/{agent_id}", f"get agent {agent_id}"))

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
        data = await self._call("POST", "/agents/", "create agent", params=params, json=body)
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
        data = await self._call("PUT", f"/agents/{agent_id}", f"update agent {agent_id}", json=body)
        return self._agent(data)

    async def delete_agent(self, agent_id: str) -> None:
        self._need_key("delete_agent")
        agent_id = self._id(agent_id, "agent")
        await self._call("DELETE", f"/agents/{agent_id}", f"delete agent {agent_id}")

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
        headers = {_WITHOUT_KEY: "1"} if anonymous else None
        operation = f"chat with {'public ' if anonymous else ''}agent {agent_id}"
        yield RunStarted(conversation_id=thread_id)
        info: dict[str, Any] = {}
        done = False
        try:
            async with self.http.stream(
                "POST",
                path,
                json={"id": thread_id, "messages": [message]},
                headers=headers,
                operation=operation,
            ) as response:
                parts = _parts(iter_data_stream(response, self.http, operation), info)
                async for event in data_stream_events(
                    parts, backend=self.name, operation=operation
                ):
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
        except UpstreamError as exc:
            raise self.explain(exc) from exc

    # ---- triggers ------------------------------------------------------------------------

    def _trigger(self, data: dict[str, Any]) -> Trigger:
        return trigger_result(data, backend=self.name, api_root=_api_root(self.settings))

    async def _get_trigger(self, trigger_id: str) -> dict[str, Any]:
        trigger_id = self._id(trigger_id, "trigger")
        path = f"/agents/triggers/{trigger_id}"
        data = await self._call("GET", path, f"get trigger {trigger_id}")
        if not isinstance(data, dict):
            raise ProtocolError(f"get trigger {trigger_id} answered no trigger.", backend=self.name)
        return data

    async def _agent_triggers(self, agent_id: str) -> list[dict[str, Any]]:
        path = f"/agents/{agent_id}/triggers"
        return _items(await self._call("GET", path, f"list triggers of agent {agent_id}"))

    async def list_triggers(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Trigger]:
        self._need_key("list_triggers")
        offset = parse_offset(cursor)
        if agent_id is not None:
            rows = await self._agent_triggers(self._id(agent_id, "agent"))
        else:
            # Triggers are listed per agent: walk the project's agents.
            rows, page = [], 100
            for start in range(0, _LIST_ALL_TRIGGERS_MAX_AGENTS, page):
                agents = await self._list_agents(limit=page, offset=start, search=None)
                for agent in agents:
                    rows.extend(await self._agent_triggers(self._id(str(agent["id"]), "agent")))
                if len(agents) < page:
                    break
        window = rows[offset : offset + limit + 1]
        return Page[Trigger](
            items=[self._trigger(r) for r in window[:limit]],
            next_cursor=offset_cursor(offset, limit, len(window)),
        )

    async def create_trigger(self, agent_id: str, options: dict[str, Any]) -> Trigger:
        self._need_key("create_trigger")
        agent_id = self._id(agent_id, "agent")
        body = trigger_body(options, backend=self.name)
        data = await self._call(
            "POST", f"/agents/{agent_id}/triggers", f"create a trigger on agent {agent_id}",
            json=body, secrets=secrets_of(body),
        )  # fmt: skip
        return self._trigger(data)

    async def update_trigger(self, trigger_id: str, options: dict[str, Any]) -> Trigger:
        self._need_key("update_trigger")
        if not options:
            raise InvalidInputError(
                "nothing to change: pass the trigger options to change.", backend=self.name
            )
        check_trigger_options(options, backend=self.name)  # before the lookup
        current = await self._get_trigger(trigger_id)
        body = trigger_body(options, backend=self.name, current=current)
        trigger_id = self._id(trigger_id, "trigger")
        data = await self._call(
            "PUT", f"/agents/triggers/{trigger_id}", f"update trigger {trigger_id}",
            json=body, secrets=secrets_of(body),
        )  # fmt: skip
        return self._trigger(data)

    async def delete_trigger(self, trigger_id: str) -> None:
        self._need_key("delete_trigger")
        trigger_id = self._id(trigger_id, "trigger")
        await self._call("DELETE", f"/agents/triggers/{trigger_id}", f"delete trigger {trigger_id}")

    async def list_trigger_events(
        self, trigger_id: str, *, limit: int, cursor: str | None
    ) -> Page[TriggerEvent]:
        self._need_key("list_trigger_events")
        offset = parse_offset(cursor)
        trigger = await self._get_trigger(trigger_id)  # the events route needs the agent id
        path = f"/agents/{trigger.get('agent_id')}/triggers/{trigger.get('id')}/events"
        params = {"limit": limit + 1, "offset": offset}
        rows = _items(
            await self._call("GET", path, f"list events of trigger {trigger_id}", params=params)
        )
        return Page[TriggerEvent](
            items=[trigger_event(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def invoke_trigger(self, trigger_id: str, payload: Any) -> dict[str, Any]:
        self._need_key("invoke_trigger")
        trigger = await self._get_trigger(trigger_id)
        config = trigger.get("trigger_config") or {}
        auth = config.get("auth_config") or {}
        method = str(config.get("method") or "POST").upper()
        path = config.get("path")
        if not path:
            raise ProtocolError(
                f"trigger {trigger_id} has no webhook path to invoke.", backend=self.name
            )
        headers = {_WITHOUT_KEY: "1"}
        secrets = secrets_of({"trigger_config": config})
        if auth.get("auth_type") == "BASIC":
            pair = f"{auth.get('username') or ''}:{auth.get('password') or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif auth.get("auth_type") == "BEARER":
            headers["Authorization"] = f"Bearer {auth.get('token') or ''}"
        params: dict[str, Any] | None = None
        body: Any = payload
        if method == "GET":
            params, body = query_payload(payload, backend=self.name), None
        operation = f"invoke trigger {trigger_id}"
        try:
            # Never repeated once it reached the server (not even a GET): no duplicate task.
            # A long answer is cut, not refused: the trigger has fired either way.
            reply = await self.http.exchange(
                method, f"/agents/webhook/{path}/trigger",
                params=params, json=body, headers=headers, operation=operation,
                max_bytes=_MAX_WEBHOOK_ANSWER, truncate=True, repeatable=False,
            )  # fmt: skip
            answer = reply.decoded(operation, backend=self.name, strict=False)
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"{operation}: the webhook rejected the trigger's own credentials "
                f"(auth_type {auth.get('auth_type')}).",
                backend=self.name,
                hint="Set them again with update_trigger (username/password or token).",
                status=exc.status,
            ) from exc
        except UpstreamError as exc:
            raise self.explain(exc, secrets=secrets) from exc
        return {
            "trigger": make_ref(self.name, str(trigger.get("id"))),
            "method": method,
            "status_code": reply.status,
            "response": answer[:2000] if isinstance(answer, str) else answer,
        }


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
