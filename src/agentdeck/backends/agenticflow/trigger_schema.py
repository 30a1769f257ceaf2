"""AgenticFlow's webhook triggers as agentdeck's tools take them: the flat trigger options
checked and turned into the nested body the platform takes, and triggers and their events
turned into results without their credentials (``password``, ``token``, request headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentdeck.backends.agenticflow.checks import Check, enum, integer, raise_problems, string
from agentdeck.backends.kit import InvalidInputError, make_ref
from agentdeck.platform_model import Trigger, TriggerEvent

_SECRETS = ("password", "token")
TRIGGER_CHECKS: dict[str, Check] = {
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
        if key not in TRIGGER_CHECKS:
            problems.append(f"{where} is not a trigger option")
        elif key in _SECRETS and value is not None and not isinstance(value, str):
            problems.append(f"{where} must be a string")  # never repeat a secret's value
        else:
            TRIGGER_CHECKS[key](value, where, problems)
    raise_problems(problems, backend=backend, what="invalid trigger options", hint=_TRIGGER_HINT)
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
    raise_problems(problems, backend=backend, what="invalid trigger options", hint=_TRIGGER_HINT)

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
