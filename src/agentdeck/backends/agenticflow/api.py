"""What every part of the AgenticFlow backend shares about its API: where it lives, how
its ids look, how its lists come back, and the agent listing the triggers walk too."""

from __future__ import annotations

import uuid
from typing import Any

from agentdeck.backends.agenticflow.settings import AgenticFlowSettings
from agentdeck.backends.kit import HttpClient, InvalidInputError


def api_root(settings: AgenticFlowSettings) -> str:
    """``base_url`` joined with ``path_prefix`` (``/v1``, or ``/api`` when self-hosted)."""
    prefix = settings.path_prefix.strip("/")
    return settings.base_url.rstrip("/") + (f"/{prefix}" if prefix else "")


def items(body: Any) -> list[dict[str, Any]]:
    """The objects of a list answer: a bare array, or one under ``items`` or ``data``."""
    if isinstance(body, dict):
        body = body.get("items", body.get("data"))
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def platform_id(value: str, what: str, *, backend: str) -> str:
    """A platform id checked before any request: AgenticFlow ids are UUIDs."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInputError(
            f"'{value[:80]}' is not an AgenticFlow {what} id (they are UUIDs).",
            backend=backend,
            hint=f"Pass the ref list_{what}s shows: '{backend}:<uuid>'.",
        ) from None


async def agent_rows(
    http: HttpClient, settings: AgenticFlowSettings, *, limit: int, offset: int, search: str | None
) -> list[dict[str, Any]]:
    """One window of the project's agents, as the platform lists them."""
    params = {
        "workspace_id": settings.workspace_id,
        "project_id": settings.project_id,
        "limit": limit,
        "offset": offset,
        "search_query": search or None,
    }
    return items(await http.request("GET", "/agents/", params=params, operation="list agents"))
