"""Roboflow JSON → agentdeck models, and Roboflow's own meaning of some errors.

Kept apart from :mod:`agentdeck.backends.roboflow.backend` so the backend reads as a list of
requests. Every reader here is lenient: the references show few response bodies,
so each accepts the documented shape plus the obvious variants (a wrapped or flat
object, camelCase or snake_case dates, a ``config`` string or a parsed
``specification``) and keeps unknown fields in ``details``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agentdeck.backends.kit import (
    ConversationSummary,
    Message,
    ProtocolError,
    WorkflowDraft,
    make_ref,
    text_or_none,
)
from agentdeck.platform_model import Workflow, WorkflowVersion

#: Fields a workflow object carries that become first-class model fields.
_WORKFLOW_FIELDS = {"id", "name", "url", "config", "specification", "draft"}
_DATE_FIELDS = {"createdAt", "created_at", "updatedAt", "updated_at"}


# ---- small readers ----------------------------------------------------------------------


def when(*values: Any) -> datetime | None:
    """The first value that reads as a time: ISO text, epoch seconds/ms, or Firestore's shape."""
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("_seconds"), int | float):
            return datetime.fromtimestamp(value["_seconds"], UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
    return None


def unwrap(body: Any, key: str) -> Any:
    """``body[key]`` when the answer wraps the object (``{"workflow": {...}}``), else ``body``."""
    if isinstance(body, dict) and isinstance(body.get(key), dict):
        return body[key]
    return body


def items_of(body: Any, key: str, *, operation: str, backend: str) -> list[Any]:
    """The list under ``key`` (or a bare list); anything else is an answer agentdeck cannot read."""
    if isinstance(body, dict):
        body = body.get(key, [])
    if not isinstance(body, list):
        raise ProtocolError(
            f"{operation} answered without a '{key}' list.",
            backend=backend,
            hint="The Roboflow API may have changed; please report it.",
        )
    return body


def specification_of(config: Any) -> dict[str, Any] | None:
    """The specification inside a stored ``config``: a JSON string of ``{"specification": ...}``."""
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return None
    if isinstance(config, dict):
        spec = config.get("specification")
        return spec if isinstance(spec, dict) else None
    return None


def config_of(specification: dict[str, Any]) -> str:
    """The stored ``config`` string for a specification; an already wrapped one is kept."""
    if set(specification) == {"specification"} and isinstance(specification["specification"], dict):
        return json.dumps(specification)
    return json.dumps({"specification": specification})


# ---- workflows --------------------------------------------------------------------------


def workflow(backend: str, raw: Any, *, workspace_prefix: str = "") -> Workflow:
    """A Workflow from a list entry, a GET answer or a write answer.

    Its ``id`` (and so its ref) is the url slug, which is what every Roboflow path takes;
    the platform's internal id is kept as ``details["internal_id"]``. ``workspace_prefix``
    (``"other-ws/"``) marks a workflow read from another workspace.
    """
    raw = unwrap(raw, "workflow")
    if not isinstance(raw, dict) or not (raw.get("url") or raw.get("id")):
        raise ProtocolError(
            "Roboflow answered with a workflow that has neither url nor id.", backend=backend
        )
    slug = str(raw.get("url") or raw.get("id"))
    spec = specification_of(raw.get("config"))
    if spec is None and isinstance(raw.get("specification"), dict):
        spec = raw["specification"]
    details = {k: v for k, v in raw.items() if k not in _WORKFLOW_FIELDS and k not in _DATE_FIELDS}
    if raw.get("id") is not None:
        details["internal_id"] = raw["id"]
    if isinstance(raw.get("draft"), dict):
        details["draft_specification"] = raw["draft"]
    if details.get("template") == "{}":
        del details["template"]
    return Workflow(
        backend=backend,
        id=f"{workspace_prefix}{slug}",
        name=raw.get("name"),
        url=raw.get("url"),
        specification=spec,
        has_draft=bool(raw["draft"]) if "draft" in raw else None,
        created_at=when(raw.get("createdAt"), raw.get("created_at")),
        updated_at=when(raw.get("updatedAt"), raw.get("updated_at")),
        details=details,
    )


def version(raw: Any) -> WorkflowVersion:
    if not isinstance(raw, dict):
        raw = {"id": str(raw)}
    spec = specification_of(raw.get("config"))
    if spec is None and isinstance(raw.get("specification"), dict):
        spec = raw["specification"]
    ident = raw.get("id") or raw.get("version") or ""
    details = {
        k: v
        for k, v in raw.items()
        if k not in {"id", "config", "specification"} and k not in _DATE_FIELDS
    }
    return WorkflowVersion(
        id=str(ident),
        created_at=when(raw.get("createdAt"), raw.get("created_at")),
        specification=spec,
        details=details,
    )


def draft(backend: str, raw: Any) -> WorkflowDraft | None:
    """A workflow the agent created or edited in a chat turn; None when it cannot be read."""
    if not isinstance(raw, dict) or not (raw.get("id") or raw.get("url")):
        return None
    spec = raw.get("specification")
    if not isinstance(spec, dict):
        spec = specification_of(raw.get("config"))
    return WorkflowDraft(
        backend=backend,
        id=str(raw.get("id") or raw.get("url")),
        name=text_or_none(raw.get("name")),
        url=text_or_none(raw.get("url")),
        published=False,
        specification=spec,
    )


def token(raw: Any) -> dict[str, Any]:
    """A workflow token answer as ``token``/``expires_at``/``expires_in`` plus ``details``."""
    raw = raw if isinstance(raw, dict) else {"token": raw}
    expires = when(raw.get("expiresAt"), raw.get("expires_at"))
    used = {"token", "expiresAt", "expires_at", "expiresIn", "expires_in", "status"}
    return {
        "token": raw.get("token"),
        "expires_at": expires.isoformat() if expires else None,
        "expires_in": raw.get("expiresIn", raw.get("expires_in")),
        "details": {k: v for k, v in raw.items() if k not in used},
    }


# ---- conversations ----------------------------------------------------------------------


def conversation_fields(backend: str, agent_ref: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The ConversationSummary fields of a conversation object (list entry or full)."""
    messages = raw.get("messages")
    count = raw.get("message_count", raw.get("messageCount"))
    if count is None and isinstance(messages, list):
        count = len(messages)
    title = raw.get("title") or raw.get("name")
    if not title and isinstance(messages, list) and messages:
        first = messages[0]
        title = (first.get("content") if isinstance(first, dict) else None) or None
    return {
        "backend": backend,
        "id": str(raw.get("id") or raw.get("conversation_id") or ""),
        "agent": agent_ref,
        "title": str(title)[:120] if title else None,
        "created_at": when(raw.get("created_at"), raw.get("createdAt")),
        "updated_at": when(raw.get("updated_at"), raw.get("updatedAt")),
        "message_count": count if isinstance(count, int) else None,
    }


def summary(backend: str, agent_ref: str, raw: Any) -> ConversationSummary | None:
    if not isinstance(raw, dict) or not (raw.get("id") or raw.get("conversation_id")):
        return None
    return ConversationSummary(**conversation_fields(backend, agent_ref, raw))


def message(raw: Any) -> Message | None:
    """One transcript message; the workflows an assistant turn touched are noted after its text."""
    if not isinstance(raw, dict):
        return None
    content = raw.get("content", raw.get("text", raw.get("message")))
    if not isinstance(content, str):
        content = "" if content is None else json.dumps(content)
    touched = raw.get("workflows")
    if isinstance(touched, list) and touched:
        names = [w if isinstance(w, str) else str(w.get("url") or w.get("id")) for w in touched]
        content = f"{content}\n\n(workflows changed as drafts: {', '.join(names)})"
    if raw.get("mode") == "plan":
        content = f"[plan mode] {content}"
    return Message(
        role=str(raw.get("role") or "assistant"),
        content=content,
        created_at=when(raw.get("created_at"), raw.get("createdAt")),
    )


# ---- errors -----------------------------------------------------------------------------


def ref_of(backend: str, workflow_id: str) -> str:
    return make_ref(backend, workflow_id)
