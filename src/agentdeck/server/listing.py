"""Listing across backends: one cursor that walks every backend in turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from agentdeck.backends.base import CAPABILITIES, Backend
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import Page
from agentdeck.pagination import invalid_cursor
from agentdeck.registry import Registry

T = TypeVar("T")
_SEPARATOR = "|"


class BackendFailure(BaseModel):
    backend: str
    error: str


class ListResult(BaseModel):
    """A page of items gathered from one or several backends."""

    items: list[Any]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )
    failures: list[BackendFailure] = Field(
        default_factory=list,
        description="Backends that could not be listed; the items of the others are complete.",
    )


def scope(
    registry: Registry, backend: str | None, agent: str | None
) -> tuple[str | None, str | None]:
    """The backend and agent id a list tool's ``backend``/``agent`` pair narrows to."""
    if agent is None:
        return backend, None
    agent_backend, agent_id = registry.resolve(agent)
    if backend is not None and backend != agent_backend.name:
        raise InvalidInputError(
            f"the agent '{agent}' is not on backend '{backend}'; pass one or the other."
        )
    return agent_backend.name, agent_id


async def list_across(
    registry: Registry,
    *,
    capability: str,
    backend: str | None,
    limit: int,
    cursor: str | None,
    fetch: Callable[[Backend, int, str | None], Awaitable[Page[Any]]],
    operation: str,
) -> ListResult:
    """List from one backend (``backend``) or from each backend that has ``capability``."""
    if backend is not None:
        one = registry.require(registry.get(backend), capability, operation)
        page = await fetch(one, limit, cursor)
        return ListResult(items=page.items, next_cursor=page.next_cursor)

    names = [n for n, b in registry.backends.items() if isinstance(b, CAPABILITIES[capability])]
    start, inner = 0, None
    if cursor:
        name, sep, inner_text = cursor.partition(_SEPARATOR)
        if not sep or name not in names:
            raise invalid_cursor()
        start, inner = names.index(name), inner_text or None
    items: list[Any] = []
    failures: list[BackendFailure] = []
    for index in range(start, len(names)):
        name = names[index]
        try:
            page = await fetch(registry.backends[name], limit - len(items), inner)
        except InvalidInputError:
            raise  # the caller's mistake (a bad cursor), not a backend that cannot be listed
        except AgentdeckError as exc:
            failures.append(BackendFailure(backend=name, error=str(exc)))
            inner = None
            continue
        items.extend(page.items)
        inner = None
        if page.next_cursor is not None:
            return ListResult(
                items=items, next_cursor=f"{name}{_SEPARATOR}{page.next_cursor}", failures=failures
            )
        if len(items) >= limit:
            following = names[index + 1 : index + 2]
            next_cursor = f"{following[0]}{_SEPARATOR}" if following else None
            return ListResult(items=items, next_cursor=next_cursor, failures=failures)
    return ListResult(items=items, failures=failures)
