"""A fake of AgenticFlow's agent API, served over real HTTP for adapter tests.

Sources: ``shared/api-docs/agenticflow-agent-api.txt`` (the contract),
``agenticflow-openapi-agents.json`` (the trimmed FastAPI OpenAPI 3.1 spec) and the
"AgenticFlow" section of ``NOTES.md``. Routes hang below ``path_prefix`` (``/v1``;
self-hosted deployments use ``/api``):

- ``GET|POST /agents/``  list (``workspace_id``, ``project_id``, ``limit``, ``offset``,
  ``search_query``) / create (``?workspace_id=``). Note the trailing slash: ``/agents``
  answers 307 to ``/agents/`` (query kept), as FastAPI does.
- ``GET|PUT|DELETE /agents/{agent_id}``
- ``POST /agents/{agent_id}/stream`` - Vercel AI SDK data stream v1
- ``GET /agents/anonymous/{agent_id}``, ``POST /agents/anonymous/{agent_id}/stream`` -
  no key needed, public agents only
- ``GET|POST /agents/{agent_id}/triggers``, ``GET|PUT|DELETE /agents/triggers/{trigger_id}``,
  ``GET /agents/{agent_id}/triggers/{trigger_id}/events?limit=&offset=``
- ``GET|POST|PUT|DELETE /agents/webhook/{path}/trigger`` - invoke a webhook trigger

Auth: ``Authorization: Bearer <key>`` on every route except the anonymous and webhook
ones. Each key is bound to one (workspace_id, project_id) (``api_keys``).

Assumptions (not shown by the reference; FastAPI conventions of the same API):

- Error bodies are FastAPI's ``{"detail": "<text>"}``; validation errors are 422
  ``{"detail": [{"type", "loc", "msg", "input"[, "ctx"]}]}`` (pydantic v2 shape).
  Unknown routes answer 404 ``{"detail": "Not Found"}``, wrong HTTP method 405.
- Check order: auth (401) -> path/query/body validation (422) -> unknown id (404) ->
  scope (403). Missing header: 401 ``Not authenticated`` with ``WWW-Authenticate:
  Bearer``; unknown key: 401 ``Invalid API key``.
- Path ids (agent_id, trigger_id, webhook path) are UUIDs: anything else answers 422
  ``uuid_parsing``, as the OpenAPI ``format: uuid`` implies. Unknown UUID -> 404.
- Scope: an agent/trigger of another project or workspace -> 403; ``workspace_id`` or
  ``project_id`` (query or create body) not the key's -> 403; sub-agents that are
  unknown -> 404, of another project -> 403; tools whose ``workflow_id`` is in
  ``foreign_workflow_ids`` -> 403.
- ``workspace_id`` is required on list/create (the text reference; the OpenAPI spec
  omits it) unless ``require_workspace_id = False``.
- Bodies are checked against the text reference's schemas (its constraints, e.g.
  ``recursion_limit`` 11..99, max 4 suggested messages, ``tools[].workflow_id``
  required), accepting the extra properties the OpenAPI spec adds
  (``code_execution_tool_config``, ``attachment_config``, ``tools[].workflow_template_id``,
  ``model_user_config.reasoning_effort``). Unknown fields are rejected
  (``extra_forbidden``) where the reference says ``additionalProperties: false`` -
  including trigger bodies, so PUT must not send back ``trigger_config.path`` - unless
  ``reject_unknown_fields = False``. Types are checked strictly (no "5" -> 5).
- List answers a bare array (OpenAPI), in creation order, filtered to the key's
  project; ``search_query`` matches name or description, case-insensitively.
- Create/update/get answer 200 with the Agent (defaults from the OpenAPI Agent schema).
  DELETE agent (not in the OpenAPI file) answers 200 with the deleted Agent and also
  deletes its triggers. PUT agent is a partial update.
- Stream body: ``id`` (thread id) and a non-empty ``messages`` list; only the last
  message is used; the thread history lives in ``threads[id]``. ``thread_info`` data item:
  ``{"type": "thread_info", "thread_id": <id>, "user_message_id": <uuid>}``. ``f:`` step
  starts carry ``{"messageId": <assistant message uuid>}``.
- Anonymous routes: unknown agent -> 404, private agent -> 403 ``Agent is not public``.
- Trigger object: ``id, agent_id, name, description, trigger_type, trigger_config
  {auth_config{auth_type, username, password, token}, method, response_code, path},
  task_config{type, message, chat_id}, created_at, updated_at``. Create/get/update
  answer 200 with it; list answers a bare array; DELETE answers 200 with the deleted
  trigger. PUT is a full replacement with the same schema; ``path`` is kept.
- Webhook invoke: unknown path -> 404 ``Trigger not found``; method other than the
  configured one -> 405 ``Method Not Allowed``; BASIC/BEARER with wrong or missing
  ``Authorization`` -> 401 ``Invalid webhook credentials`` (+ ``WWW-Authenticate``).
  Success answers the configured ``response_code`` with ``{"status": "success",
  "event_id", "thread_id"}`` (no body for 204/304). It sends ``task_config.message`` to
  the thread ``task_config.chat_id`` (or a new uuid thread) and records an event
  ``{id, trigger_id, agent_id, status: "success", thread_id, response_code,
  request{method, query, headers, body}, created_at}``. Rejected calls are not events.
  Events list newest first, ``limit`` default 100, ``offset`` 0.
- 429 body ``{"detail": "Rate limit exceeded: 100 per 1 minute"}`` with ``Retry-After``;
  500 body ``{"detail": "Internal Server Error"}``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.agenticflow.agents import AgentRoutes
from tests.fakes.agenticflow.chat import ChatRoutes
from tests.fakes.agenticflow.schemas import AGENT_DEFAULTS, field_error, prune, validate
from tests.fakes.agenticflow.shared import (
    API_KEY,
    FOREIGN_AGENT_ID,
    OTHER_PROJECT_ID,
    OTHER_PROJECT_KEY,
    PRIVATE_AGENT_ID,
    PROJECT_ID,
    PUBLIC_AGENT_ID,
    USER_ID,
    WORKSPACE_ID,
    ApiError,
    Handler,
    Schema,
    detail_error,
    new_id,
    now_iso,
)
from tests.fakes.agenticflow.triggers import TriggerRoutes
from tests.fakes.base import FakePlatform

__all__ = [
    "API_KEY",
    "FOREIGN_AGENT_ID",
    "PRIVATE_AGENT_ID",
    "PROJECT_ID",
    "PUBLIC_AGENT_ID",
    "WORKSPACE_ID",
    "FakeAgenticFlow",
]


@dataclass
class FakeAgenticFlow(AgentRoutes, ChatRoutes, TriggerRoutes, FakePlatform):
    """In-memory AgenticFlow: agents, threads, webhook triggers and their events."""

    path_prefix: str = "/v1"
    api_keys: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            API_KEY: (WORKSPACE_ID, PROJECT_ID),
            OTHER_PROJECT_KEY: (WORKSPACE_ID, OTHER_PROJECT_ID),
        }
    )
    seed: bool = True
    require_workspace_id: bool = True
    reject_unknown_fields: bool = True
    foreign_workflow_ids: set[str] = field(default_factory=set)
    #: scenario of the next stream call (then back to "normal"): one of STREAM_SCENARIOS,
    #: or a list of raw lines ("PREFIX:JSON") to send verbatim.
    next_stream: str | list[str] = "normal"
    stream_delay: float = 0.3
    stream_error: str = "The model provider returned an error."
    delay: float = 0.0
    delay_routes: set[str] | None = None  # route names; None = every route
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    trigger_events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    streams: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.seed:
            self.add_agent("Echo Public", agent_id=PUBLIC_AGENT_ID, visibility="public")
            self.add_agent("Support Bot", agent_id=PRIVATE_AGENT_ID, description="Helps users")
            self.add_agent("Other Team Bot", agent_id=FOREIGN_AGENT_ID, project_id=OTHER_PROJECT_ID)

    # --- helpers for tests ---------------------------------------------------------------

    def add_agent(
        self,
        name: str,
        *,
        agent_id: str | None = None,
        project_id: str = PROJECT_ID,
        workspace_id: str = WORKSPACE_ID,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store an agent with every Agent field (defaults filled) and return it."""
        now = now_iso()
        agent = {
            "id": agent_id or new_id(),
            "workspace_id": workspace_id,
            "project_id": project_id,
            "user_id": USER_ID,
            "name": name,
            **AGENT_DEFAULTS,
            "created_at": now,
            "updated_at": now,
        }
        agent.update(self._normalise(fields))
        self.agents[agent["id"]] = agent
        return agent

    def rate_limited(self, retry_after: int = 1, path_contains: str | None = None) -> None:
        """Queue a 429 with the limiter's body and ``Retry-After``."""
        body = {"detail": "Rate limit exceeded: 100 per 1 minute"}
        self.fail_next(
            429, body, headers={"Retry-After": str(retry_after)}, path_contains=path_contains
        )

    def server_error(self, path_contains: str | None = None, times: int = 1) -> None:
        """Queue a 500 as FastAPI answers an unhandled error."""
        body = {"detail": "Internal Server Error"}
        self.fail_next(500, body, path_contains=path_contains, times=times)

    def forbidden(self, path_contains: str | None = None) -> None:
        """Queue a 403 (e.g. a key whose project access was revoked)."""
        self.fail_next(403, {"detail": "Forbidden"}, path_contains=path_contains)

    @staticmethod
    def reply_text(message: str, turn: int, urls: list[str] | None = None) -> str:
        """The assistant's answer: echoes the message and the thread's user-turn count."""
        suffix = f" [attachments: {', '.join(urls)}]" if urls else ""
        return f"Echo: {message} (turn {turn}){suffix}"

    # --- plumbing ------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        r = self._route
        routes = [
            r("/agents/webhook/{path}/trigger", "webhook", self._webhook, "GET POST PUT DELETE"),
            r("/agents/anonymous/{agent_id}", "anonymous_get", self._anonymous_get, "GET"),
            r("/agents/anonymous/{agent_id}/stream", "anonymous_stream", self._anon_stream, "POST"),
            r("/agents/triggers/{trigger_id}", "get_trigger", self._get_trigger, "GET"),
            r("/agents/triggers/{trigger_id}", "update_trigger", self._update_trigger, "PUT"),
            r("/agents/triggers/{trigger_id}", "delete_trigger", self._delete_trigger, "DELETE"),
            r("/agents/", "list_agents", self._list_agents, "GET"),
            r("/agents/", "create_agent", self._create_agent, "POST"),
            r("/agents/{agent_id}", "get_agent", self._get_agent, "GET"),
            r("/agents/{agent_id}", "update_agent", self._update_agent, "PUT"),
            r("/agents/{agent_id}", "delete_agent", self._delete_agent, "DELETE"),
            r("/agents/{agent_id}/stream", "stream", self._auth_stream, "POST"),
            r("/agents/{agent_id}/triggers", "list_triggers", self._list_triggers, "GET"),
            r("/agents/{agent_id}/triggers", "create_trigger", self._create_trigger, "POST"),
            r("/agents/{agent_id}/triggers/{trigger_id}/events", "list_trigger_events", self._events, "GET"),
        ]  # fmt: skip

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

        return Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    def _route(self, path: str, name: str, handler: Handler, methods: str) -> Route:
        async def endpoint(request: Request) -> Response:
            if self.delay and (self.delay_routes is None or name in self.delay_routes):
                await anyio.sleep(self.delay)
            try:
                return await handler(request)
            except ApiError as exc:
                return JSONResponse(exc.body, exc.status, headers=exc.headers)

        return Route(self.path_prefix + path, endpoint, methods=methods.split(), name=name)

    def _auth(self, request: Request) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        if not header:
            raise detail_error(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise detail_error(
                401, "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"}
            )
        scope = self.api_keys.get(token.strip())
        if scope is None:
            raise detail_error(401, "Invalid API key", {"WWW-Authenticate": "Bearer"})
        return scope

    @staticmethod
    def _path_id(request: Request, name: str) -> str:
        raw = request.path_params[name]
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            msg = "Input should be a valid UUID"
            raise ApiError(
                422, {"detail": [field_error("uuid_parsing", ["path", name], msg, raw)]}
            ) from None

    async def _body(self, request: Request, schema: Schema) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            raise ApiError(
                422, {"detail": [field_error("missing", ["body"], "Field required", None)]}
            )
        try:
            body = json.loads(raw)
        except ValueError as exc:
            error = field_error(
                "json_invalid", ["body", 0], "JSON decode error", {}, error=str(exc)
            )
            raise ApiError(422, {"detail": [error]}) from None
        errors: list[Any] = []
        validate(body, schema, ["body"], errors, self.reject_unknown_fields)
        if errors:
            raise ApiError(422, {"detail": errors})
        return prune(body, schema)

    @staticmethod
    def _query(request: Request, specs: dict[str, Any]) -> dict[str, Any]:
        """Parse query params; ``specs`` maps name -> default int, str/None, or "required"."""
        out: dict[str, Any] = {}
        errors: list[Any] = []
        for name, default in specs.items():
            raw = request.query_params.get(name)
            if raw is None:
                if default == "required":
                    errors.append(field_error("missing", ["query", name], "Field required", None))
                out[name] = None if default == "required" else default
            elif isinstance(default, int):
                try:
                    out[name] = int(raw)
                except ValueError:
                    msg = "Input should be a valid integer, unable to parse string as an integer"
                    errors.append(field_error("int_parsing", ["query", name], msg, raw))
            else:
                out[name] = raw
        if errors:
            raise ApiError(422, {"detail": errors})
        return out

    def _agent(self, scope: tuple[str, str] | None, agent_id: str) -> dict[str, Any]:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise detail_error(404, "Agent not found")
        if scope is not None and (agent["workspace_id"], agent["project_id"]) != scope:
            raise detail_error(403, "You do not have permission to access this agent")
        return agent

    def _trigger(self, scope: tuple[str, str], trigger_id: str) -> dict[str, Any]:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise detail_error(404, "Trigger not found")
        self._agent(scope, trigger["agent_id"])
        return trigger

    def _check_workspace(self, request: Request, scope: tuple[str, str]) -> None:
        spec = {"workspace_id": "required" if self.require_workspace_id else None}
        workspace_id = self._query(request, spec)["workspace_id"]
        if workspace_id is None:
            return
        try:
            workspace_id = str(uuid.UUID(workspace_id))
        except ValueError:
            error = field_error(
                "uuid_parsing",
                ["query", "workspace_id"],
                "Input should be a valid UUID",
                workspace_id,
            )
            raise ApiError(422, {"detail": [error]}) from None
        if workspace_id != scope[0]:
            raise detail_error(403, "You do not have permission to access this workspace")

    def _check_links(self, scope: tuple[str, str], fields: dict[str, Any]) -> None:
        """Scope rules: sub-agents and workflow tools must belong to the key's project."""
        for sub in fields.get("sub_agents") or []:
            self._agent(scope, str(uuid.UUID(sub["sub_agent_id"])))
        for tool in fields.get("tools") or []:
            if tool.get("workflow_id") in self.foreign_workflow_ids:
                raise detail_error(403, "Workflow does not belong to this project")
