"""The AgenticFlow fake's request bodies, checked by a small pydantic-v2-flavoured validator over
JSON-schema-like dicts, and the fields a new agent defaults to."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes.agenticflow.shared import Schema


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


def field_error(kind: str, loc: list[Any], msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    error = {"type": kind, "loc": loc, "msg": msg, "input": value}
    return error | {"ctx": ctx} if ctx else error


def _or_list(choices: tuple[str, ...]) -> str:
    quoted = [f"'{c}'" for c in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def validate(value: Any, s: Schema, loc: list[Any], errors: list[Any], strict: bool) -> None:
    """Append pydantic-style errors for ``value`` against schema ``s`` to ``errors``."""
    kind = s["kind"]
    if kind == "any" or (value is None and s.get("nullable")):
        return
    if kind == "enum":
        if value not in s["choices"]:
            expected = _or_list(s["choices"])
            errors.append(
                field_error("enum", loc, f"Input should be {expected}", value, expected=expected)
            )
        return
    if not _TYPES[kind](value):
        kind_name, msg = _TYPE_ERRORS[kind]
        if kind == "obj" and "props" in s:
            kind_name, msg = "model_type", msg + " or object to extract fields from"
        errors.append(field_error(kind_name, loc, msg, value))
        return
    if kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            errors.append(field_error("uuid_parsing", loc, "Input should be a valid UUID", value))
    elif kind in ("int", "num"):
        if "ge" in s and value < s["ge"]:
            msg = f"Input should be greater than or equal to {s['ge']}"
            errors.append(field_error("greater_than_equal", loc, msg, value, ge=s["ge"]))
        if "le" in s and value > s["le"]:
            msg = f"Input should be less than or equal to {s['le']}"
            errors.append(field_error("less_than_equal", loc, msg, value, le=s["le"]))
    elif kind == "list":
        n = len(value)
        if n > s.get("max_items", n):
            msg = f"List should have at most {s['max_items']} items after validation, not {n}"
            errors.append(
                field_error("too_long", loc, msg, value, field_type="List", actual_length=n)
            )
        if n < s.get("min_items", 0):
            msg = f"List should have at least {s['min_items']} item after validation, not {n}"
            errors.append(
                field_error("too_short", loc, msg, value, field_type="List", actual_length=n)
            )
        for i, item in enumerate(value):
            validate(item, s["items"], [*loc, i], errors, strict)
    elif kind == "obj":
        props = s.get("props")
        for name in s.get("required", ()):
            if name not in value:
                errors.append(field_error("missing", [*loc, name], "Field required", value))
        for key, item in value.items():
            if props is not None and key in props:
                validate(item, props[key], [*loc, key], errors, strict)
            elif "values" in s:
                validate(item, s["values"], [*loc, key], errors, strict)
            elif props is not None and strict and not s.get("extra"):
                errors.append(
                    field_error(
                        "extra_forbidden", [*loc, key], "Extra inputs are not permitted", item
                    )
                )


def prune(value: Any, s: Schema) -> Any:
    """Drop fields a model would ignore (used when unknown fields are not rejected)."""
    if s["kind"] == "list" and isinstance(value, list):
        return [prune(item, s["items"]) for item in value]
    if s["kind"] != "obj" or not isinstance(value, dict):
        return value
    if "values" in s:
        return {k: prune(v, s["values"]) for k, v in value.items()}
    props = s.get("props")
    if props is None:
        return value
    return {
        k: prune(v, props[k]) if k in props else v
        for k, v in value.items()
        if k in props or s.get("extra")
    }


def fill_defaults(items: list[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]]:
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
