"""Conversations as seen through agentdeck's own run history.

For platforms without a conversation API (Make), every chat run agentdeck made is
in the store; grouping runs by conversation gives a listing and a transcript. The run
engine writes that history; the backends that need it read it from here, below the
engine, so no import runs back up from a backend to the run engine.
"""

from __future__ import annotations

from typing import Any

from agentdeck.errors import NotFoundError
from agentdeck.model import Conversation, ConversationSummary, Message, Page, make_ref
from agentdeck.pagination import offset_cursor, parse_offset
from agentdeck.store import ConversationQuery, Store


def _summary(backend: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "backend": backend,
        "id": row["id"],
        "agent": make_ref(backend, row["agent_id"]),
        "title": (row["title"] or "")[:80] or None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "message_count": row["runs"] * 2,
    }


async def history_page(
    store: Store,
    backend: str,
    *,
    agent_id: str | None,
    limit: int,
    cursor: str | None,
    owner: str | None,
) -> Page[ConversationSummary]:
    """A page of the conversations ``owner``'s runs on ``backend`` took part in."""
    offset = parse_offset(cursor)
    rows = await store.history_conversations(
        backend, ConversationQuery(agent_id, limit + 1, offset, owner)
    )
    return Page[ConversationSummary](
        items=[ConversationSummary(**_summary(backend, r)) for r in rows[:limit]],
        next_cursor=offset_cursor(offset, limit, len(rows)),
    )


async def history_conversation(
    store: Store, backend: str, conversation_id: str, owner: str | None
) -> Conversation:
    """A conversation as ``owner``'s runs in it recorded it; one they had no run in is not
    found, whoever else had."""
    runs = await store.history_runs(backend, conversation_id, owner)
    if not runs:
        raise NotFoundError(
            f"agentdeck has no record of conversation '{conversation_id}'.",
            backend=backend,
            hint="This platform has no conversation API; agentdeck knows the conversations "
            "it took part in (list_conversations shows them).",
        )
    messages: list[Message] = []
    for run in runs:
        messages.append(Message(role="user", content=run["message"], created_at=run["started_at"]))
        if run["text"] or run["error"]:
            content = run["text"] or f"[failed: {run['error']}]"
            messages.append(
                Message(role="assistant", content=content, created_at=run["finished_at"])
            )
    row = {
        "id": conversation_id,
        "agent_id": runs[0]["agent_id"],
        "title": runs[0]["message"],
        "created_at": runs[0]["started_at"],
        "updated_at": runs[-1]["started_at"],
        "runs": len(runs),
    }
    summary = _summary(backend, row)
    summary["message_count"] = len(messages)
    return Conversation(**summary, messages=messages)
