"""AgenticFlow's request and answer shapes: options checked before anything is sent,
trigger bodies built from flat options, and triggers/events turned into domain models.

The agent ``options`` are checked against ``CreateAgentRequest``/``UpdateAgentRequest``
as the reference text documents them (``agenticflow-agent-api.txt``: it is the
contract, so its bounds win, e.g. ``recursion_limit`` 11..99 and at most 4
``suggested_messages``), accepting what the OpenAPI file adds
(``tools[].workflow_template_id``, ``model_user_config.reasoning_effort``,
``code_execution_tool_config``, ``attachment_config``, the fields of ``knowledge`` and
``response_format``). Where the reference says ``additionalProperties: false`` an
unknown key is an error; objects the reference leaves open are checked only for the
fields it names.

Trigger options (the flat keys agentdeck's tools take) become the nested webhook
trigger body here, and chat options are checked here. Triggers and their events are
turned into results without their credentials (``password``, ``token``, request
headers). Every problem names the option by its path (``options.tools[0].workflow_id``)
and what it should be; values of secrets are never repeated in a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from agentdeck.errors import InvalidInputError
from agentdeck.model import make_ref
from agentdeck.platform_model import Trigger, TriggerEvent

#: ``check(value, where, problems)`` appends a sentence per problem to ``problems``.
Check = Callable[[Any, str, list[str]], None]
_MAX_PROBLEMS = 8


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names |= {list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _typed(test: Callable[[Any], bool], what: str, nullable: bool, then: Check | None) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if value is None and nullable:
            return
        if not test(value):
            problems.append(
                f"{where} must be {what}{' or null' if nullable else ''}, not {_kind(value)}"
            )
        elif then is not None:
            then(value, where, problems)

    return check


def anything() -> Check:
    return lambda value, where, problems: None


def string(*, nullable: bool = False) -> Check:
    return _typed(lambda v: isinstance(v, str), "a string", nullable, None)


def boolean() -> Check:
    return _typed(lambda v: isinstance(v, bool), "true or false", False, None)


def _bounded(lo: float | None, hi: float | None) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            low = f"{lo:g}" if lo is not None else "-inf"
            high = f"{hi:g}" if hi is not None else "inf"
            problems.append(f"{where} must be between {low} and {high}, not {value}")

    return check


def integer(lo: int | None = None, hi: int | None = None, *, nullable: bool = False) -> Check:
    def test(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    return _typed(test, "an integer", nullable, _bounded(lo, hi))


def number(lo: float | None = None, hi: float | None = None) -> Check:
    def test(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    return _typed(test, "a number", False, _bounded(lo, hi))


def uuid_string(*, nullable: bool = False) -> Check:
    def parse(value: Any, where: str, problems: list[str]) -> None:
        try:
            uuid.UUID(value)
        except ValueError:
            problems.append(f"{where} must be a UUID, not {value[:60]!r}")

    return _typed(lambda v: isinstance(v, str), "a UUID string", nullable, parse)


def enum(*choices: str) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if value not in choices:
            shown = repr(value)[:60] if isinstance(value, str) else _kind(value)
            problems.append(f"{where} must be one of {', '.join(choices)}, not {shown}")

    return check


def array(item: Check, *, max_items: int | None = None) -> Check:
    def items(value: list[Any], where: str, problems: list[str]) -> None:
        if max_items is not None and len(value) > max_items:
            problems.append(f"{where} takes at most {max_items} items, not {len(value)}")
        for index, element in enumerate(value):
            item(element, f"{where}[{index}]", problems)

    return _typed(lambda v: isinstance(v, list), "a list", False, items)


def mapping(values: Check, *, nullable: bool = False) -> Check:
    """An object with free keys whose values all follow ``values``."""

    def each(value: dict[str, Any], where: str, problems: list[str]) -> None:
        for key, element in value.items():
            values(element, f"{where}.{key}", problems)

    return _typed(lambda v: isinstance(v, dict), "an object", nullable, each)


def free_object(*, nullable: bool = False) -> Check:
    return _typed(lambda v: isinstance(v, dict), "an object", nullable, None)


def obj(
    props: Mapping[str, Check],
    *,
    required: tuple[str, ...] = (),
    one_of: tuple[str, ...] = (),
    extra: bool = False,
    nullable: bool = False,
) -> Check:
    """An object with named fields; ``one_of``: at least one of these must be set."""

    def fields(value: dict[str, Any], where: str, problems: list[str]) -> None:
        for name in required:
            if name not in value:
                problems.append(f"{where}.{name} is required")
        if one_of and all(value.get(name) is None for name in one_of):
            problems.append(f"{where} needs one of {', '.join(one_of)}")
        for key, element in value.items():
            if key in props:
                props[key](element, f"{where}.{key}", problems)
            elif not extra:
                problems.append(f"{where}.{key} is not a known field (known: {', '.join(props)})")

    return _typed(lambda v: isinstance(v, dict), "an object", nullable, fields)


# ---- the agent request schemas ----------------------------------------------------------

_RUN_BEHAVIOR = enum("auto_run", "request_confirmation")
_MODEL_USER_CONFIG = {
    "temperature": number(0, 1),
    "max_tokens": integer(hi=50_000, nullable=True),
    "max_input_tokens": integer(hi=3_000_000, nullable=True),
    "reasoning_effort": string(nullable=True),
}
_TOOL = obj(
    {
        "run_behavior": _RUN_BEHAVIOR,
        "workflow_id": uuid_string(nullable=True),
        "workflow_template_id": uuid_string(nullable=True),
        "description": string(nullable=True),
        "timeout": integer(1, 300),
        "input_config": free_object(nullable=True),
    },
    one_of=("workflow_id", "workflow_template_id"),
)
_PLUGIN = obj(
    {
        "plugin_id": string(),
        "plugin_version": string(),
        "run_behavior": _RUN_BEHAVIOR,
        "connection": string(nullable=True),
        "input_config": mapping(
            obj({"value": anything(), "description": string(nullable=True)}, required=("value",)),
            nullable=True,
        ),
    },
    required=("plugin_id", "plugin_version"),
)
_SUB_AGENT = obj(
    {"sub_agent_id": uuid_string(), "description": string(), "meta": free_object(nullable=True)},
    required=("sub_agent_id", "description"),
)
_MCP_CLIENT = obj(
    {
        "mcp_client_id": uuid_string(),
        "run_behavior": _RUN_BEHAVIOR,
        "description": string(nullable=True),
        "timeout": integer(1, 300),
        "tools": mapping(obj({"allowed": boolean()}, required=("allowed",)), nullable=True),
        "override_headers": mapping(string(), nullable=True),
    },
    required=("mcp_client_id",),
)
_SUGGESTED_MESSAGE = obj(
    {"title": string(), "label": string(), "action": string()},
    required=("title", "label", "action"),
)
_KNOWLEDGE = obj(
    {
        "auto": boolean(),
        "search_strategy": enum("hybrid", "semantic_search", "full_text_search"),
        "top_k": integer(1, 10),
        "threshold": number(0, 1),
        "query_rewrite": boolean(),
        "rerank": boolean(),
        "knowledge_info": array(
            obj({"name": string(), "id": string()}, required=("name", "id"), extra=True),
            max_items=100,
        ),
    },
    extra=True,
    nullable=True,
)
_RESPONSE_FORMAT = obj(
    {"enable": boolean(), "prompt": string(nullable=True), "schema": free_object()},
    required=("schema",),
    extra=True,
    nullable=True,
)

#: Every ``options`` key create_agent/update_agent take, with its check (create's nullability).
AGENT_OPTIONS: dict[str, Check] = {
    "visibility": enum("private", "public"),
    "model_user_config": obj(_MODEL_USER_CONFIG, nullable=True),
    "tools": array(_TOOL),
    "plugins": array(_PLUGIN),
    "sub_agents": array(_SUB_AGENT),
    "mcp_clients": array(_MCP_CLIENT),
    "knowledge": _KNOWLEDGE,
    "response_format": _RESPONSE_FORMAT,
    "recursion_limit": integer(11, 99, nullable=True),
    "suggested_messages": array(_SUGGESTED_MESSAGE, max_items=4),
    "welcome_message": string(),
    "suggest_replies": boolean(),
    "suggest_replies_model": string(nullable=True),
    "suggest_replies_model_user_config": obj(_MODEL_USER_CONFIG, nullable=True),
    "suggest_replies_prompt_template": string(nullable=True),
    "auto_generate_title": boolean(),
    "agent_metadata": free_object(),
    "task_management_config": free_object(nullable=True),
    "file_system_tool_config": free_object(nullable=True),
    "code_execution_tool_config": free_object(nullable=True),
    "skills_config": free_object(nullable=True),
    "attachment_config": free_object(nullable=True),
}
#: UpdateAgentRequest types these without null: an update may not clear them.
_NOT_NULL_ON_UPDATE = frozenset(AGENT_OPTIONS) - {
    "response_format",
    "file_system_tool_config",
    "code_execution_tool_config",
    "skills_config",
    "attachment_config",
}
#: Body fields that have a shared tool parameter or come from the config instead.
_USE_INSTEAD = {
    "name": "the `name` parameter",
    "system_prompt": "the `instructions` parameter",
    "instructions": "the `instructions` parameter",
    "model": "the `model` parameter",
    "description": "the `description` parameter",
    "project_id": "`project_id` in the backend's config",
}


def _raise(problems: list[str], *, backend: str, what: str, hint: str) -> None:
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = (
            f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        )
        raise InvalidInputError(f"{what}: {shown}{more}.", backend=backend, hint=hint)


def agent_options(options: Mapping[str, Any], *, backend: str, updating: bool) -> dict[str, Any]:
    """``options`` checked against the agent request schema; raises naming every bad key."""
    problems: list[str] = []
    for key, value in options.items():
        where = f"options.{key}"
        if key in _USE_INSTEAD:
            problems.append(f"{where} is not an option; use {_USE_INSTEAD[key]}")
        elif key not in AGENT_OPTIONS:
            problems.append(f"{where} is not an AgenticFlow agent option")
        elif value is None and updating and key in _NOT_NULL_ON_UPDATE:
            problems.append(f"{where} cannot be null in an update; leave it out to keep it")
        else:
            AGENT_OPTIONS[key](value, where, problems)
    _raise(
        problems,
        backend=backend,
        what="invalid options for an AgenticFlow agent",
        hint=f"Accepted options: {', '.join(AGENT_OPTIONS)}. Nothing was sent.",
    )
    return dict(options)


# ---- triggers ---------------------------------------------------------------------------

_SECRETS = ("password", "token")
_TRIGGER_CHECKS: dict[str, Check] = {
    "name": string(),
    "description": string(nullable=True),
    "auth_type": enum("NONE", "BASIC", "BEARER"),
    "username": string(nullable=True),
    "password": string(nullable=True),
    "token": string(nullable=True),
    "method": enum("GET", "POST", "PUT", "DELETE"),
    "response_code": integer(100, 599),
    "message": string(),
    "chat_id": string(nullable=True),
}
_TRIGGER_HINT = (
    "Trigger options: name, description, auth_type (NONE, BASIC or BEARER), username and "
    "password (BASIC), token (BEARER), method (GET, POST, PUT or DELETE), response_code, "
    "message (what the agent is sent), chat_id. Nothing was sent."
)


def _upper(options: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(options)
    for key in ("auth_type", "method"):
        if isinstance(out.get(key), str):
            out[key] = out[key].upper()
    return out


def check_trigger_options(options: Mapping[str, Any], *, backend: str) -> dict[str, Any]:
    """``options`` with auth_type/method upper-cased; raises naming each unknown or bad one."""
    options = _upper(options)
    problems: list[str] = []
    for key, value in options.items():
        where = f"options.{key}"
        if key not in _TRIGGER_CHECKS:
            problems.append(f"{where} is not a trigger option")
        elif key in _SECRETS and value is not None and not isinstance(value, str):
            problems.append(f"{where} must be a string")  # never repeat a secret's value
        else:
            _TRIGGER_CHECKS[key](value, where, problems)
    _raise(problems, backend=backend, what="invalid trigger options", hint=_TRIGGER_HINT)
    return options


def trigger_body(
    options: Mapping[str, Any], *, backend: str, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The webhook trigger body for ``options``; on update, ``current`` fills what is left out.

    The update route replaces the whole trigger, so the current values (secrets
    included) are sent back unless an option changes them; changing ``auth_type``
    drops the old credentials.
    """
    options = check_trigger_options(options, backend=backend)
    problems: list[str] = []
    old = _flatten(current) if current is not None else {}
    auth_type = options.get("auth_type", old.get("auth_type", "NONE"))
    if auth_type != old.get("auth_type"):
        old = {k: v for k, v in old.items() if k not in ("username", "password", "token")}
    merged = {**old, **options, "auth_type": auth_type}
    merged.setdefault("method", "POST")
    merged.setdefault("response_code", 200)
    for key in ("name", "message"):
        if not (isinstance(merged.get(key), str) and merged[key].strip()):
            problems.append(f"options.{key} is required and may not be empty")
    needed = {"BASIC": ("username", "password"), "BEARER": ("token",)}.get(auth_type, ())
    for key in needed:
        if not merged.get(key):
            problems.append(f"options.{key} is required with auth_type {auth_type}")
    for key in ("username", "password", "token"):
        if key not in needed and options.get(key) is not None:
            problems.append(f"options.{key} is not used with auth_type {auth_type}")
    _raise(problems, backend=backend, what="invalid trigger options", hint=_TRIGGER_HINT)

    auth: dict[str, Any] = {"auth_type": auth_type}
    auth.update({key: merged[key] for key in needed})
    return {
        "name": merged["name"],
        "description": merged.get("description"),
        "trigger_type": "webhook",
        "trigger_config": {
            "auth_config": auth,
            "method": merged["method"],
            "response_code": merged["response_code"],
        },
        "task_config": {
            "type": old.get("task_type", "SEND_MESSAGE_TO_CHAT"),
            "message": merged["message"],
            "chat_id": merged.get("chat_id"),
        },
    }


def _flatten(trigger: Mapping[str, Any]) -> dict[str, Any]:
    """A trigger as the platform returns it, in the flat option names."""
    config = trigger.get("trigger_config") or {}
    auth = config.get("auth_config") or {}
    task = trigger.get("task_config") or {}
    flat = {
        "name": trigger.get("name"),
        "description": trigger.get("description"),
        "auth_type": auth.get("auth_type") or "NONE",
        "username": auth.get("username"),
        "password": auth.get("password"),
        "token": auth.get("token"),
        "method": config.get("method"),
        "response_code": config.get("response_code"),
        "message": task.get("message"),
        "chat_id": task.get("chat_id"),
        "task_type": task.get("type"),
    }
    return {k: v for k, v in flat.items() if v is not None}


def secrets_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The credentials inside a trigger body, to keep them out of every message."""
    auth = (body.get("trigger_config") or {}).get("auth_config") or {}
    return tuple(v for k in _SECRETS if isinstance(v := auth.get(k), str) and v)


def trigger_result(data: Mapping[str, Any], *, backend: str, api_root: str) -> Trigger:
    """A trigger for results: its credentials (password, token) are left out."""
    config = data.get("trigger_config") or {}
    auth = config.get("auth_config") or {}
    task = data.get("task_config") or {}
    path = config.get("path")
    details = {
        "description": data.get("description"),
        "response_code": config.get("response_code"),
        "message": task.get("message"),
        "chat_id": task.get("chat_id"),
        "username": auth.get("username"),
        "invoke_url": f"{api_root}/agents/webhook/{path}/trigger" if path else None,
        "created_at": data.get("created_at"),
        "updated_at": data.get("updated_at"),
    }
    agent_id = data.get("agent_id")
    return Trigger(
        backend=backend,
        id=str(data.get("id")),
        name=data.get("name"),
        agent=make_ref(backend, str(agent_id)) if agent_id else None,
        kind=str(data.get("trigger_type") or "webhook"),
        path=path,
        method=config.get("method"),
        auth_type=auth.get("auth_type"),
        details={k: v for k, v in details.items() if v is not None},
    )


def trigger_event(data: Mapping[str, Any]) -> TriggerEvent:
    """An event of a trigger; the request's headers (credentials) are left out."""
    request = data.get("request")
    if not isinstance(request, dict):
        request = {}
    details = {k: v for k, v in data.items() if k not in {"id", "created_at", "status", "request"}}
    details |= {f"request_{k}": v for k, v in request.items() if k in ("method", "query")}
    return TriggerEvent(
        id=str(data.get("id")),
        created_at=data.get("created_at"),
        status=data.get("status"),
        payload=request.get("body"),
        details=details,
    )


def query_payload(payload: Any, *, backend: str) -> dict[str, Any] | None:
    """A GET webhook's payload as query parameters: a flat object of plain values."""
    if payload is None:
        return None
    flat = isinstance(payload, dict) and all(
        isinstance(v, str | int | float | bool) for v in payload.values()
    )
    if not flat:
        raise InvalidInputError(
            "this trigger is invoked with GET, so its payload is sent as query parameters: "
            "pass an object of plain values (strings, numbers, booleans).",
            backend=backend,
        )
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in payload.items()}


# ---- chat -------------------------------------------------------------------------------

CHAT_OPTIONS = ("attachments", "anonymous")


def chat_options(options: Mapping[str, Any], *, backend: str) -> tuple[list[dict[str, Any]], bool]:
    """The image attachments (as ``experimental_attachments``) and the anonymous flag."""
    problems: list[str] = []
    unknown = sorted(set(options) - set(CHAT_OPTIONS))
    if unknown:
        problems.append(f"options {', '.join(unknown)} are not AgenticFlow chat options")
    anonymous = options.get("anonymous", False)
    if not isinstance(anonymous, bool):
        problems.append(f"options.anonymous must be true or false, not {_kind(anonymous)}")
    attachments: list[dict[str, Any]] = []
    raw = options.get("attachments") or []
    if not isinstance(raw, list):
        problems.append(f"options.attachments must be a list of image URLs, not {_kind(raw)}")
        raw = []
    for index, item in enumerate(raw):
        entry = {"url": item} if isinstance(item, str) else item
        url = entry.get("url") if isinstance(entry, dict) else None
        if not (isinstance(url, str) and url.startswith(("http://", "https://", "data:"))):
            problems.append(
                f"options.attachments[{index}] must be an http(s) or data: URL "
                "(or an object with such a `url`)"
            )
        else:
            attachments.append(dict(entry))
    _raise(
        problems,
        backend=backend,
        what="invalid chat options",
        hint="AgenticFlow chat takes attachments (a list of image URLs) and anonymous "
        "(true: the public-agent endpoint, no key). Nothing was sent.",
    )
    return attachments, anonymous
