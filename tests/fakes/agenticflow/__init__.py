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

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakePlatform, cut_off_after

WORKSPACE_ID = "5f0c6e1a-2b3d-4c5e-8f90-a1b2c3d4e5f6"
PROJECT_ID = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
OTHER_PROJECT_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
API_KEY = "af-test-key"
OTHER_PROJECT_KEY = "af-other-project-key"
USER_ID = "user-fake-1"
PUBLIC_AGENT_ID = "a0000000-0000-4000-8000-000000000001"
PRIVATE_AGENT_ID = "a0000000-0000-4000-8000-000000000002"
FOREIGN_AGENT_ID = "a0000000-0000-4000-8000-000000000003"
STREAM_SCENARIOS = (
    "normal", "plain", "error_part", "finish_error", "cut_off", "malformed", "slow",
)  # fmt: skip

Schema = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _new_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """An error answer; the route wrapper turns it into a JSON response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"detail": message}, headers)


# --- a small pydantic-v2-flavoured validator over JSON-schema-like dicts -------------------


def _t(kind: str, **kw: Any) -> Schema:
    return {"kind": kind, **kw}


def _obj(props: dict[str, Schema], required: tuple[str, ...] = (), **kw: Any) -> Schema:
    return {"kind": "obj", "props": props, "required": required, **kw}


STR, NSTR, BOOL, ANY = _t("str"), _t("str", nullable=True), _t("bool"), _t("any")
DICT, NDICT = _t("obj"), _t("obj", nullable=True)
RUN = _t("enum", choices=("auto_run", "request_confirmation"))
VIS = _t("enum", choices=("private", "public"))
MODEL_CFG = _obj(
    {
        "temperature": _t("num", ge=0, le=1),
        "max_tokens": _t("int", nullable=True, le=50000),
        "max_input_tokens": _t("int", nullable=True, le=3000000),
        "reasoning_effort": NSTR,
    }
)
TOOL = _obj(
    {
        "run_behavior": RUN,
        "workflow_id": _t("uuid"),
        "workflow_template_id": _t("uuid", nullable=True),
        "description": NSTR,
        "timeout": _t("int", ge=1, le=300),
        "input_config": NDICT,
    },
    ("workflow_id",),
)
PLUGIN = _obj(
    {
        "plugin_id": STR,
        "plugin_version": STR,
        "run_behavior": RUN,
        "connection": NSTR,
        "input_config": _t(
            "obj", nullable=True, values=_obj({"value": ANY, "description": NSTR}, ("value",))
        ),
    },
    ("plugin_id", "plugin_version"),
)
SUB_AGENT = _obj(
    {"sub_agent_id": _t("uuid"), "description": STR, "meta": NDICT}, ("sub_agent_id", "description")
)
SUGGESTED = _obj({"title": STR, "label": STR, "action": STR}, ("title", "label", "action"))
MCP = _obj(
    {
        "mcp_client_id": _t("uuid"),
        "run_behavior": RUN,
        "description": NSTR,
        "timeout": _t("int", ge=1, le=300),
        "tools": _t("obj", nullable=True, values=_obj({"allowed": BOOL}, ("allowed",))),
        "override_headers": _t("obj", nullable=True, values=STR),
    },
    ("mcp_client_id",),
)
_NULLABLE_CONFIGS = ("code_execution_tool_config", "attachment_config")
CREATE_AGENT = _obj(
    {
        "name": STR,
        "project_id": STR,
        "description": NSTR,
        "visibility": VIS,
        "model": NSTR,
        "system_prompt": NSTR,
        "model_user_config": {**MODEL_CFG, "nullable": True},
        "tools": _t("list", items=TOOL),
        "plugins": _t("list", items=PLUGIN),
        "sub_agents": _t("list", items=SUB_AGENT),
        "mcp_clients": _t("list", items=MCP),
        "suggest_replies": BOOL,
        "suggest_replies_model": NSTR,
        "suggest_replies_model_user_config": NDICT,
        "suggest_replies_prompt_template": NSTR,
        "auto_generate_title": BOOL,
        "welcome_message": STR,
        "suggested_messages": _t("list", items=SUGGESTED, max_items=4),
        "agent_metadata": DICT,
        "recursion_limit": _t("int", nullable=True, ge=11, le=99),
        **{
            k: NDICT
            for k in (
                "knowledge",
                "task_management_config",
                "file_system_tool_config",
                "response_format",
                "skills_config",
                *_NULLABLE_CONFIGS,
            )
        },
    },
    ("name", "project_id", "tools"),
)
_UPDATE_PLAIN = (
    "model",
    "system_prompt",
    "suggest_replies_model",
    "suggest_replies_prompt_template",
)
_UPDATE_OBJ = ("knowledge", "task_management_config", "file_system_tool_config")
_UPDATE_OBJ2 = ("response_format", "skills_config", "suggest_replies_model_user_config")
UPDATE_AGENT = _obj(
    {
        k: v
        for k, v in CREATE_AGENT["props"].items()
        if k not in ("project_id", "model_user_config", "recursion_limit")
    }
    | {k: STR for k in _UPDATE_PLAIN}
    | {k: DICT for k in _UPDATE_OBJ + _UPDATE_OBJ2}
    | {"model_user_config": MODEL_CFG, "recursion_limit": _t("int", ge=11, le=99)}
)
MESSAGE = _obj(
    {
        "role": _t("enum", choices=("system", "user", "assistant", "data")),
        "content": STR,
        "experimental_attachments": _t(
            "list", nullable=True, items=_obj({"url": STR}, ("url",), extra=True)
        ),
    },
    ("role", "content"),
    extra=True,
)
STREAM = _obj({"id": STR, "messages": _t("list", items=MESSAGE, min_items=1)}, ("id", "messages"))
AUTH_CONFIG = _obj(
    {
        "auth_type": _t("enum", choices=("NONE", "BASIC", "BEARER")),
        "username": NSTR,
        "password": NSTR,
        "token": NSTR,
    },
    ("auth_type",),
)
TRIGGER = _obj(
    {
        "name": STR,
        "description": NSTR,
        "trigger_type": _t("enum", choices=("webhook",)),
        "trigger_config": _obj(
            {
                "auth_config": AUTH_CONFIG,
                "method": _t("enum", choices=("GET", "POST", "PUT", "DELETE")),
                "response_code": _t("int"),
            },
            ("auth_config", "method", "response_code"),
        ),
        "task_config": _obj(
            {
                "type": _t("enum", choices=("SEND_MESSAGE_TO_CHAT",)),
                "message": STR,
                "chat_id": NSTR,
            },
            ("type", "message"),
        ),
    },
    ("name", "trigger_type", "trigger_config", "task_config"),
)
_TYPE_ERRORS = {
    "str": ("string_type", "Input should be a valid string"),
    "uuid": ("uuid_type", "UUID input should be a string, bytes or UUID object"),
    "int": ("int_type", "Input should be a valid integer"),
    "num": ("float_type", "Input should be a valid number"),
    "bool": ("bool_type", "Input should be a valid boolean"),
    "list": ("list_type", "Input should be a valid list"),
    "obj": ("dict_type", "Input should be a valid dictionary"),
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "uuid": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "obj": lambda v: isinstance(v, dict),
}


def _err(kind: str, loc: list[Any], msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    error = {"type": kind, "loc": loc, "msg": msg, "input": value}
    return error | {"ctx": ctx} if ctx else error


def _or_list(choices: tuple[str, ...]) -> str:
    quoted = [f"'{c}'" for c in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _validate(value: Any, s: Schema, loc: list[Any], errors: list[Any], strict: bool) -> None:
    """Append pydantic-style errors for ``value`` against schema ``s`` to ``errors``."""
    kind = s["kind"]
    if kind == "any" or (value is None and s.get("nullable")):
        return
    if kind == "enum":
        if value not in s["choices"]:
            expected = _or_list(s["choices"])
            errors.append(
                _err("enum", loc, f"Input should be {expected}", value, expected=expected)
            )
        return
    if not _TYPES[kind](value):
        kind_name, msg = _TYPE_ERRORS[kind]
        if kind == "obj" and "props" in s:
            kind_name, msg = "model_type", msg + " or object to extract fields from"
        errors.append(_err(kind_name, loc, msg, value))
        return
    if kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            errors.append(_err("uuid_parsing", loc, "Input should be a valid UUID", value))
    elif kind in ("int", "num"):
        if "ge" in s and value < s["ge"]:
            msg = f"Input should be greater than or equal to {s['ge']}"
            errors.append(_err("greater_than_equal", loc, msg, value, ge=s["ge"]))
        if "le" in s and value > s["le"]:
            msg = f"Input should be less than or equal to {s['le']}"
            errors.append(_err("less_than_equal", loc, msg, value, le=s["le"]))
    elif kind == "list":
        n = len(value)
        if n > s.get("max_items", n):
            msg = f"List should have at most {s['max_items']} items after validation, not {n}"
            errors.append(_err("too_long", loc, msg, value, field_type="List", actual_length=n))
        if n < s.get("min_items", 0):
            msg = f"List should have at least {s['min_items']} item after validation, not {n}"
            errors.append(_err("too_short", loc, msg, value, field_type="List", actual_length=n))
        for i, item in enumerate(value):
            _validate(item, s["items"], [*loc, i], errors, strict)
    elif kind == "obj":
        props = s.get("props")
        for name in s.get("required", ()):
            if name not in value:
                errors.append(_err("missing", [*loc, name], "Field required", value))
        for key, item in value.items():
            if props is not None and key in props:
                _validate(item, props[key], [*loc, key], errors, strict)
            elif "values" in s:
                _validate(item, s["values"], [*loc, key], errors, strict)
            elif props is not None and strict and not s.get("extra"):
                errors.append(
                    _err("extra_forbidden", [*loc, key], "Extra inputs are not permitted", item)
                )


def _prune(value: Any, s: Schema) -> Any:
    """Drop fields a model would ignore (used when unknown fields are not rejected)."""
    if s["kind"] == "list" and isinstance(value, list):
        return [_prune(item, s["items"]) for item in value]
    if s["kind"] != "obj" or not isinstance(value, dict):
        return value
    if "values" in s:
        return {k: _prune(v, s["values"]) for k, v in value.items()}
    props = s.get("props")
    if props is None:
        return value
    return {
        k: _prune(v, props[k]) if k in props else v
        for k, v in value.items()
        if k in props or s.get("extra")
    }


def _fill(items: list[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**defaults, **item} for item in items]


AGENT_DEFAULTS: dict[str, Any] = {
    "description": None,
    "visibility": "private",
    "model": "agenticflow/gpt-4o-mini",
    "system_prompt": "You are a helpful AI assistant.",
    "model_user_config": {"temperature": 0.7},
    "tools": [],
    "mcp_clients": [],
    "plugins": [],
    "sub_agents": [],
    "suggest_replies": True,
    "suggest_replies_model": "agenticflow/gemini-2.0-flash",
    "suggest_replies_model_user_config": None,
    "suggest_replies_prompt_template": None,
    "auto_generate_title": True,
    "welcome_message": "Hello, how can I help you today?",
    "suggested_messages": [],
    "agent_metadata": {},
    **dict.fromkeys(
        ("knowledge", "task_management_config", "file_system_tool_config", "response_format"),
    ),
    **dict.fromkeys(("skills_config", "recursion_limit", *_NULLABLE_CONFIGS)),
    "is_marketplace_try": False,
    "source_marketplace_item_id": None,
}
PUBLIC_FIELDS = (
    "id", "name", "description", "auto_generate_title", "welcome_message",
    "suggested_messages", "agent_metadata", "suggest_replies", "attachment_config",
)  # fmt: skip


@dataclass
class FakeAgenticFlow(FakePlatform):
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
        now = _now()
        agent = {
            "id": agent_id or _new_id(),
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
            raise _detail(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _detail(401, "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})
        scope = self.api_keys.get(token.strip())
        if scope is None:
            raise _detail(401, "Invalid API key", {"WWW-Authenticate": "Bearer"})
        return scope

    @staticmethod
    def _path_id(request: Request, name: str) -> str:
        raw = request.path_params[name]
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            msg = "Input should be a valid UUID"
            raise ApiError(
                422, {"detail": [_err("uuid_parsing", ["path", name], msg, raw)]}
            ) from None

    async def _body(self, request: Request, schema: Schema) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            raise ApiError(422, {"detail": [_err("missing", ["body"], "Field required", None)]})
        try:
            body = json.loads(raw)
        except ValueError as exc:
            error = _err("json_invalid", ["body", 0], "JSON decode error", {}, error=str(exc))
            raise ApiError(422, {"detail": [error]}) from None
        errors: list[Any] = []
        _validate(body, schema, ["body"], errors, self.reject_unknown_fields)
        if errors:
            raise ApiError(422, {"detail": errors})
        return _prune(body, schema)

    @staticmethod
    def _query(request: Request, specs: dict[str, Any]) -> dict[str, Any]:
        """Parse query params; ``specs`` maps name -> default int, str/None, or "required"."""
        out: dict[str, Any] = {}
        errors: list[Any] = []
        for name, default in specs.items():
            raw = request.query_params.get(name)
            if raw is None:
                if default == "required":
                    errors.append(_err("missing", ["query", name], "Field required", None))
                out[name] = None if default == "required" else default
            elif isinstance(default, int):
                try:
                    out[name] = int(raw)
                except ValueError:
                    msg = "Input should be a valid integer, unable to parse string as an integer"
                    errors.append(_err("int_parsing", ["query", name], msg, raw))
            else:
                out[name] = raw
        if errors:
            raise ApiError(422, {"detail": errors})
        return out

    def _agent(self, scope: tuple[str, str] | None, agent_id: str) -> dict[str, Any]:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise _detail(404, "Agent not found")
        if scope is not None and (agent["workspace_id"], agent["project_id"]) != scope:
            raise _detail(403, "You do not have permission to access this agent")
        return agent

    def _trigger(self, scope: tuple[str, str], trigger_id: str) -> dict[str, Any]:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise _detail(404, "Trigger not found")
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
            error = _err(
                "uuid_parsing",
                ["query", "workspace_id"],
                "Input should be a valid UUID",
                workspace_id,
            )
            raise ApiError(422, {"detail": [error]}) from None
        if workspace_id != scope[0]:
            raise _detail(403, "You do not have permission to access this workspace")

    def _check_links(self, scope: tuple[str, str], fields: dict[str, Any]) -> None:
        """Scope rules: sub-agents and workflow tools must belong to the key's project."""
        for sub in fields.get("sub_agents") or []:
            self._agent(scope, str(uuid.UUID(sub["sub_agent_id"])))
        for tool in fields.get("tools") or []:
            if tool.get("workflow_id") in self.foreign_workflow_ids:
                raise _detail(403, "Workflow does not belong to this project")

    @staticmethod
    def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
        """Fill item defaults the way the response models would."""
        out = dict(fields)
        run = {"run_behavior": "auto_run"}
        lists = {
            "tools": {**run, "workflow_template_id": None, "description": None, "timeout": 150,
                      "input_config": None},
            "plugins": {**run, "connection": None, "input_config": None},
            "mcp_clients": {**run, "description": None, "timeout": 150, "tools": None,
                            "override_headers": None},
            "sub_agents": {"meta": None},
        }  # fmt: skip
        for key, defaults in lists.items():
            if isinstance(out.get(key), list):
                out[key] = _fill(out[key], defaults)
        if "model" in out and out["model"] is None:
            out["model"] = AGENT_DEFAULTS["model"]
        return out

    # --- agents ----------------------------------------------------------------------------

    async def _list_agents(self, request: Request) -> Response:
        scope = self._auth(request)
        self._check_workspace(request, scope)
        q = self._query(
            request, {"limit": 100, "offset": 0, "search_query": None, "project_id": None}
        )
        search = q["search_query"]
        if search is not None and not 1 <= len(search) <= 100:
            kind, msg = (
                ("string_too_short", "String should have at least 1 character")
                if not search
                else ("string_too_long", "String should have at most 100 characters")
            )
            raise ApiError(422, {"detail": [_err(kind, ["query", "search_query"], msg, search)]})
        if q["project_id"] is not None and q["project_id"] != scope[1]:
            raise _detail(403, "You do not have permission to access this project")
        found = [
            a
            for a in self.agents.values()
            if (a["workspace_id"], a["project_id"]) == scope
            and (
                not search
                or search.lower() in a["name"].lower()
                or search.lower() in (a["description"] or "").lower()
            )
        ]
        return JSONResponse(found[q["offset"] :][: max(q["limit"], 0)])

    async def _create_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        self._check_workspace(request, scope)
        body = await self._body(request, CREATE_AGENT)
        if body["project_id"] != scope[1]:
            raise _detail(403, "You do not have permission to access this project")
        self._check_links(scope, body)
        fields = {k: v for k, v in body.items() if k not in ("project_id", "name")}
        agent = self.add_agent(
            body["name"], project_id=body["project_id"], workspace_id=scope[0], **fields
        )
        return JSONResponse(agent)

    async def _get_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        return JSONResponse(self._agent(scope, self._path_id(request, "agent_id")))

    async def _update_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, UPDATE_AGENT)
        agent = self._agent(scope, agent_id)
        self._check_links(scope, body)
        agent.update(self._normalise(body), updated_at=_now())
        return JSONResponse(agent)

    async def _delete_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        agent = self._agent(scope, self._path_id(request, "agent_id"))
        del self.agents[agent["id"]]
        for trigger_id in [t["id"] for t in self.triggers.values() if t["agent_id"] == agent["id"]]:
            del self.triggers[trigger_id]
        return JSONResponse(agent)

    async def _anonymous_get(self, request: Request) -> Response:
        agent = self._public_agent(self._path_id(request, "agent_id"))
        return JSONResponse({k: agent[k] for k in PUBLIC_FIELDS})

    def _public_agent(self, agent_id: str) -> dict[str, Any]:
        agent = self._agent(None, agent_id)
        if agent["visibility"] != "public":
            raise _detail(403, "Agent is not public")
        return agent

    # --- streaming -------------------------------------------------------------------------

    async def _auth_stream(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, STREAM)
        return self._stream(self._agent(scope, agent_id), body)

    async def _anon_stream(self, request: Request) -> Response:
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, STREAM)
        return self._stream(self._public_agent(agent_id), body)

    def _send(
        self, agent: dict[str, Any], thread_id: str, message: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        """Append a message to a thread; return the stored message and the user-turn count."""
        thread = self.threads.setdefault(
            thread_id, {"id": thread_id, "agent_id": agent["id"], "messages": []}
        )
        stored = {"id": _new_id(), "created_at": _now(), **message}
        thread["messages"].append(stored)
        return stored, sum(1 for m in thread["messages"] if m["role"] == "user")

    def _stream(self, agent: dict[str, Any], body: dict[str, Any]) -> Response:
        last = body["messages"][-1]
        text = last["content"]
        urls = [a["url"] for a in last.get("experimental_attachments") or []]
        message: dict[str, Any] = {"role": last["role"], "content": text}
        if urls:
            message["attachments"] = urls
        user_msg, turn = self._send(agent, body["id"], message)
        reply = self.reply_text(text, turn, urls)
        scenario, self.next_stream = self.next_stream, "normal"
        assistant_id = _new_id()
        lines = self._lines(scenario, agent, body["id"], user_msg["id"], assistant_id, text, reply)
        if isinstance(scenario, list) or scenario in ("normal", "plain", "malformed", "slow"):
            self.threads[body["id"]]["messages"].append(
                {"id": assistant_id, "role": "assistant", "content": reply, "created_at": _now()}
            )
        self.streams.append(
            {
                "agent_id": agent["id"],
                "thread_id": body["id"],
                "scenario": scenario,
                "message": text,
            }
        )
        headers = {"x-vercel-ai-data-stream": "v1"}
        media = "text/plain; charset=utf-8"
        if scenario == "cut_off":
            return StreamingResponse(cut_off_after(lines), media_type=media, headers=headers)
        delay = self.stream_delay if scenario == "slow" else 0.0
        return StreamingResponse(self._emit(lines, delay), media_type=media, headers=headers)

    @staticmethod
    async def _emit(lines: list[str], delay: float) -> AsyncIterator[bytes]:
        for i, line in enumerate(lines):
            if delay and i:
                await anyio.sleep(delay)
            yield line.encode()

    def _lines(
        self,
        scenario: str | list[str],
        agent: dict[str, Any],
        thread_id: str,
        user_message_id: str,
        assistant_id: str,
        text: str,
        reply: str,
    ) -> list[str]:
        """Build the data-stream v1 lines for a scenario (each ends with a newline)."""
        if isinstance(scenario, list):
            return [line if line.endswith("\n") else line + "\n" for line in scenario]
        if scenario not in STREAM_SCENARIOS:
            raise ValueError(f"unknown stream scenario {scenario!r}; use one of {STREAM_SCENARIOS}")

        def line(prefix: str, value: Any) -> str:
            return f"{prefix}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}\n"

        usage = {"promptTokens": len(text.split()), "completionTokens": len(reply.split())}
        info = {"type": "thread_info", "thread_id": thread_id, "user_message_id": user_message_id}
        head = [line("2", [info]), line("f", {"messageId": assistant_id})]
        deltas = [line("0", part) for part in re.findall(r"\S+\s*|\s+", reply)]
        step_end = line("e", {"finishReason": "stop", "usage": usage, "isContinued": False})
        finish = line("d", {"finishReason": "stop", "usage": usage})
        if scenario == "plain":
            return [*head, *deltas, step_end, finish]
        if scenario == "error_part":
            return [*head, deltas[0], line("3", self.stream_error),
                    line("d", {"finishReason": "error", "usage": usage})]  # fmt: skip
        if scenario == "finish_error":
            error_end = {"finishReason": "error", "usage": usage}
            return [*head, deltas[0], line("e", {**error_end, "isContinued": False}),
                    line("d", {**error_end, "error": self.stream_error})]  # fmt: skip
        if scenario == "cut_off":
            cut = deltas[min(2, len(deltas) - 1)]
            return [*head, *deltas[:2], cut[: max(1, len(cut) // 2)]]
        call_id = "call_" + assistant_id[:8]
        tool_step = [
            line("g", f"{agent['name']} will echo the user's {usage['promptTokens']} words."),
            line("9", {"toolCallId": call_id, "toolName": "echo", "args": {"text": text}}),
            line("a", {"toolCallId": call_id, "result": {"echo": text}}),
            line("e", {"finishReason": "tool-calls", "usage": usage, "isContinued": False}),
            head[1],
        ]
        if scenario == "malformed":
            deltas.insert(1, '0:{"not valid json\n')
        unknown = line("8", [{"note": "unknown prefix; clients skip it"}])
        return [*head, *tool_step, *deltas, unknown, step_end, finish]

    # --- triggers --------------------------------------------------------------------------

    @staticmethod
    def _trigger_fields(body: dict[str, Any]) -> dict[str, Any]:
        config, task = body["trigger_config"], body["task_config"]
        auth = {"auth_type": "NONE", "username": None, "password": None, "token": None}
        return {
            "name": body["name"],
            "description": body.get("description"),
            "trigger_type": body["trigger_type"],
            "trigger_config": {**config, "auth_config": auth | config["auth_config"]},
            "task_config": {**task, "chat_id": task.get("chat_id")},
        }

    async def _list_triggers(self, request: Request) -> Response:
        scope = self._auth(request)
        agent = self._agent(scope, self._path_id(request, "agent_id"))
        return JSONResponse([t for t in self.triggers.values() if t["agent_id"] == agent["id"]])

    async def _create_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, TRIGGER)
        agent = self._agent(scope, agent_id)
        now, fields = _now(), self._trigger_fields(body)
        fields["trigger_config"]["path"] = _new_id()
        trigger = {
            "id": _new_id(),
            "agent_id": agent["id"],
            **fields,
            "created_at": now,
            "updated_at": now,
        }
        self.triggers[trigger["id"]] = trigger
        self.trigger_events[trigger["id"]] = []
        return JSONResponse(trigger)

    async def _get_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        return JSONResponse(self._trigger(scope, self._path_id(request, "trigger_id")))

    async def _update_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        trigger_id = self._path_id(request, "trigger_id")
        body = await self._body(request, TRIGGER)
        trigger = self._trigger(scope, trigger_id)
        fields = self._trigger_fields(body)
        fields["trigger_config"]["path"] = trigger["trigger_config"]["path"]
        trigger.update(fields, updated_at=_now())
        return JSONResponse(trigger)

    async def _delete_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        trigger = self._trigger(scope, self._path_id(request, "trigger_id"))
        del self.triggers[trigger["id"]]
        return JSONResponse(trigger)

    async def _events(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        trigger_id = self._path_id(request, "trigger_id")
        q = self._query(request, {"limit": 100, "offset": 0})
        self._agent(scope, agent_id)
        trigger = self.triggers.get(trigger_id)
        if trigger is None or trigger["agent_id"] != agent_id:
            raise _detail(404, "Trigger not found")
        events = list(reversed(self.trigger_events.get(trigger_id, [])))
        return JSONResponse(events[q["offset"] :][: max(q["limit"], 0)])

    async def _webhook(self, request: Request) -> Response:
        path = self._path_id(request, "path")
        trigger = next(
            (t for t in self.triggers.values() if t["trigger_config"]["path"] == path), None
        )
        if trigger is None:
            raise _detail(404, "Trigger not found")
        config = trigger["trigger_config"]
        if request.method != config["method"]:
            raise _detail(405, "Method Not Allowed", {"Allow": config["method"]})
        self._webhook_auth(request, config["auth_config"])
        raw = await request.body()
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            payload = raw.decode(errors="replace")
        agent = self.agents[trigger["agent_id"]]
        thread_id = trigger["task_config"]["chat_id"] or _new_id()
        message = trigger["task_config"]["message"]
        _, turn = self._send(agent, thread_id, {"role": "user", "content": message})
        self._send(
            agent, thread_id, {"role": "assistant", "content": self.reply_text(message, turn)}
        )
        event = {
            "id": _new_id(),
            "trigger_id": trigger["id"],
            "agent_id": agent["id"],
            "status": "success",
            "thread_id": thread_id,
            "response_code": config["response_code"],
            "request": {
                "method": request.method,
                "query": dict(request.query_params),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": payload,
            },
            "created_at": _now(),
        }
        self.trigger_events.setdefault(trigger["id"], []).append(event)
        code = config["response_code"]
        if code < 200 or code in (204, 304):
            return Response(status_code=code)
        return JSONResponse(
            {"status": "success", "event_id": event["id"], "thread_id": thread_id}, code
        )

    @staticmethod
    def _webhook_auth(request: Request, auth: dict[str, Any]) -> None:
        header = request.headers.get("authorization", "")
        if auth["auth_type"] == "BASIC":
            pair = f"{auth['username'] or ''}:{auth['password'] or ''}".encode()
            if header != "Basic " + base64.b64encode(pair).decode():
                raise _detail(401, "Invalid webhook credentials", {"WWW-Authenticate": "Basic"})
        elif auth["auth_type"] == "BEARER" and header != f"Bearer {auth['token'] or ''}":
            raise _detail(401, "Invalid webhook credentials", {"WWW-Authenticate": "Bearer"})
