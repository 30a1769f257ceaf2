"""AgenticFlow's agent and chat options, checked before anything is sent.

The agent ``options`` are checked against ``CreateAgentRequest``/``UpdateAgentRequest``
as the reference text documents them (``agenticflow-agent-api.txt``: it is the
contract, so its bounds win, e.g. ``recursion_limit`` 11..99 and at most 4
``suggested_messages``), accepting what the OpenAPI file adds
(``tools[].workflow_template_id``, ``model_user_config.reasoning_effort``,
``code_execution_tool_config``, ``attachment_config``, the fields of ``knowledge`` and
``response_format``). Where the reference says ``additionalProperties: false`` an
unknown key is an error; objects the reference leaves open are checked only for the
fields it names.

Chat options are checked here too; trigger options in ``trigger_schema``. Every problem
names the option by its path (``options.tools[0].workflow_id``) and what it should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentdeck.backends.agenticflow.checks import (
    Check,
    anything,
    array,
    boolean,
    enum,
    free_object,
    integer,
    kind_of,
    mapping,
    number,
    obj,
    raise_problems,
    string,
    uuid_string,
)

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
    raise_problems(
        problems,
        backend=backend,
        what="invalid options for an AgenticFlow agent",
        hint=f"Accepted options: {', '.join(AGENT_OPTIONS)}. Nothing was sent.",
    )
    return dict(options)


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
        problems.append(f"options.anonymous must be true or false, not {kind_of(anonymous)}")
    attachments: list[dict[str, Any]] = []
    raw = options.get("attachments") or []
    if not isinstance(raw, list):
        problems.append(f"options.attachments must be a list of image URLs, not {kind_of(raw)}")
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
    raise_problems(
        problems,
        backend=backend,
        what="invalid chat options",
        hint="AgenticFlow chat takes attachments (a list of image URLs) and anonymous "
        "(true: the public-agent endpoint, no key). Nothing was sent.",
    )
    return attachments, anonymous
