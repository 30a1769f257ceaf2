"""AgentFlow JSON → agentdeck models, and paging over its list answers.

The reference shows no response bodies; these readers assume FastAPI-style
snake_case objects and accept the obvious variants (a bare list or a list under
the resource's plural name, ``items``, ``data`` or ``results``; ``system_prompt``
or ``instructions``; ``tool_name`` or ``tool``). Fields agentdeck has no place for
go to ``details`` under the platform's own names.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agentdeck.backends.agentflow.events import text_of
from agentdeck.backends.kit import (
    Agent,
    ConversationSummary,
    Message,
    ProtocolError,
    make_ref,
    offset_cursor,
)
from agentdeck.platform_model import Approval, KnowledgeBase, KnowledgeHit

#: Separates a parent agent's id from its sub-agent's id in an agent ref: ``ops:parent/sub``.
SUBAGENT_SEPARATOR = "/"
_LIST_KEYS = ("items", "data", "results")


def items_of(body: Any, key: str, *, backend: str, operation: str) -> list[dict[str, Any]]:
    """The objects of a list answer: a bare list, or the list under ``key`` (or a common name)."""
    if isinstance(body, dict):
        body = next((body[k] for k in (key, *_LIST_KEYS) if isinstance(body.get(k), list)), None)
    if not isinstance(body, list):
        raise ProtocolError(
            f"{operation} answered without a list of {key}.",
            backend=backend,
            hint="The deployment's API may differ from the documented one; `agentdeck check` "
            "shows its version.",
        )
    return [item for item in body if isinstance(item, dict)]


def window(
    body: Any, items: list[dict[str, Any]], *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` and the next cursor, whether or not the platform paged itself.

    agentdeck asks for ``limit + 1`` items from ``offset``. The platform paged when it
    echoes ``offset`` or reports a ``total`` larger than what it sent; otherwise it sent
    everything and agentdeck cuts the page out itself.
    """
    total = body.get("total") if isinstance(body, dict) else None
    paged = len(items) <= limit + 1 and (
        (isinstance(body, dict) and isinstance(body.get("offset"), int))
        or (isinstance(total, int) and total > len(items))
    )
    if paged:
        more = len(items) > limit or (isinstance(total, int) and offset + limit < total)
        return items[:limit], (f"o:{offset + limit}" if more else None)
    page = items[offset : offset + limit + 1]
    return page[:limit], offset_cursor(offset, limit, len(page))


def when(value: Any) -> datetime | None:
    """A timestamp from an ISO string or epoch seconds; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _rest(raw: dict[str, Any], used: set[str]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in used and v is not None}


def agent(
    backend: str,
    raw: dict[str, Any],
    config: dict[str, Any] | None = None,
    parent: str | None = None,
) -> Agent:
    """An agent (``parent`` None) or a sub-agent of ``parent`` (its id becomes ``parent/sub``)."""
    config = config if config is not None else raw.get("config")
    config = config if isinstance(config, dict) else {}
    own_id = text_of(raw, "id", "agent_id", "subagent_id") or "?"
    used = {"id", "agent_id", "subagent_id", "name", "description", "created_at", "updated_at"}
    used |= {"config", "system_prompt", "instructions", "model", "parent_id"}
    details = _rest(raw, used)
    if config:
        details["config"] = config
    if parent is not None:
        details["parent_agent"] = make_ref(backend, parent)
    return Agent(
        backend=backend,
        id=f"{parent}{SUBAGENT_SEPARATOR}{own_id}" if parent else own_id,
        name=text_of(raw, "name") or own_id,
        description=text_of(raw, "description"),
        instructions=text_of(config, "system_prompt", "instructions", "prompt")
        or text_of(raw, "system_prompt", "instructions"),
        model=text_of(config, "model") or text_of(raw, "model"),
        created_at=when(raw.get("created_at")),
        updated_at=when(raw.get("updated_at")),
        details=details,
    )


def approval(backend: str, raw: dict[str, Any]) -> Approval:
    arguments = raw.get("arguments", raw.get("tool_arguments"))
    agent_id = text_of(raw, "agent_id")
    used = {"id", "approval_id", "status", "agent_id", "conversation_id", "tool_name", "tool"}
    used |= {"arguments", "tool_arguments", "message", "created_at", "expires_at"}
    return Approval(
        backend=backend,
        id=text_of(raw, "id", "approval_id") or "?",
        status=text_of(raw, "status") or "pending",
        agent=make_ref(backend, agent_id) if agent_id else None,
        conversation_id=text_of(raw, "conversation_id"),
        tool=text_of(raw, "tool_name", "tool"),
        arguments=arguments if isinstance(arguments, dict) else None,
        message=text_of(raw, "message", "description"),
        created_at=when(raw.get("created_at")),
        expires_at=when(raw.get("expires_at")),
        details=_rest(raw, used),
    )


def conversation(backend: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The fields of a :class:`ConversationSummary` (also the head of a full Conversation)."""
    agent_id = text_of(raw, "agent_id")
    count = raw.get("message_count")
    return ConversationSummary(
        backend=backend,
        id=text_of(raw, "id", "conversation_id") or "?",
        agent=make_ref(backend, agent_id) if agent_id else None,
        title=text_of(raw, "title"),
        created_at=when(raw.get("created_at")),
        updated_at=when(raw.get("updated_at")),
        message_count=count if isinstance(count, int) else None,
    ).model_dump(exclude={"ref"})


def message(raw: dict[str, Any]) -> Message:
    content = raw.get("content", raw.get("text", ""))
    if not isinstance(content, str):
        content = json.dumps(content)
    return Message(
        role=text_of(raw, "role") or "assistant",
        content=content,
        created_at=when(raw.get("created_at")),
    )


def knowledge_base(backend: str, raw: dict[str, Any]) -> KnowledgeBase:
    kb_id = text_of(raw, "id", "knowledge_base_id") or "?"
    return KnowledgeBase(
        backend=backend,
        id=kb_id,
        name=text_of(raw, "name") or kb_id,
        description=text_of(raw, "description"),
        details=_rest(raw, {"id", "knowledge_base_id", "name", "description", "documents"}),
    )


def hit(backend: str, raw: dict[str, Any], kb_id: str | None) -> KnowledgeHit:
    kb_id = text_of(raw, "knowledge_base_id", "kb_id") or kb_id
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    score = raw.get("score", raw.get("similarity"))
    return KnowledgeHit(
        knowledge_base=make_ref(backend, kb_id) if kb_id else None,
        content=text_of(raw, "content", "text", "chunk") or "",
        score=float(score) if isinstance(score, int | float) else None,
        source=text_of(metadata, "source", "filename", "url") or text_of(raw, "document_id"),
        details=_rest(raw, {"knowledge_base_id", "kb_id", "content", "text", "chunk", "score"}),
    )


def agent_tool(raw: dict[str, Any]) -> dict[str, Any]:
    """A tool of an agent, normalized: name, description, parameters, requires_approval."""
    parameters = raw.get("parameters", raw.get("input_schema"))
    used = {"name", "tool", "description", "parameters", "input_schema", "requires_approval"}
    return {
        "name": text_of(raw, "name", "tool") or "?",
        "description": text_of(raw, "description"),
        "parameters": parameters if isinstance(parameters, dict) else None,
        "requires_approval": raw.get("requires_approval")
        if isinstance(raw.get("requires_approval"), bool)
        else None,
        "details": _rest(raw, used),
    }
