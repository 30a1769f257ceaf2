"""Listing across backends: what a kind of thing is listed by (:class:`Listing`), one
cursor that walks every backend in turn, and the scoping the list and search tools share
(a backend, an agent, or both when they agree)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from agentdeck.backends.base import (
    AgentReader,
    ApprovalHandler,
    Backend,
    WorkflowManager,
    implements,
)
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import Page
from agentdeck.pagination import invalid_cursor
from agentdeck.registry import Registry
from agentdeck.server.toolkit._toolbox import deck

T = TypeVar("T")
P = TypeVar("P")
_SEPARATOR = "|"


#: The cursor of a result listing the items of one thing (an agent's tools, a trigger's
#: events), where :class:`ListResult` does not fit: it names no failures.
NextCursor = Annotated[
    str | None,
    Field(description="Pass as `cursor` for the next page; null on the last page."),
]


@dataclass(frozen=True)
class Listing(Generic[P, T]):
    """Things of one kind that backends list: the protocol a backend lists them through,
    the operation an error names when a backend cannot, and how one page is read from a
    backend as that protocol (of one agent's things when an agent id is given, else of
    all; at most a limit, from a cursor)."""

    protocol: Callable[..., P]
    operation: str
    read: Callable[[P, str | None, int, str | None], Awaitable[Page[T]]]

    def able(self, backend: Backend) -> bool:
        """Whether ``backend`` lists these things."""
        return implements(backend, self.protocol)

    async def page(
        self, backend: Backend, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[T]:
        """One page of these things from ``backend``; an error when it cannot list them."""
        able = Registry.require(backend, self.protocol, self.operation)
        return await self.read(able, agent_id, limit, cursor)


#: The listings both the tools and the completions of refs read.
AGENTS: Listing[AgentReader, Any] = Listing(
    AgentReader,
    "list_agents",
    lambda reader, _, limit, cursor: reader.list_agents(limit=limit, cursor=cursor),
)
WORKFLOWS: Listing[WorkflowManager, Any] = Listing(
    WorkflowManager,
    "list_workflows",
    lambda manager, _, limit, cursor: manager.list_workflows(limit=limit, cursor=cursor),
)
APPROVALS: Listing[ApprovalHandler, Any] = Listing(
    ApprovalHandler,
    "list_approvals",
    lambda handler, agent_id, limit, cursor: handler.list_approvals(
        agent_id=agent_id, limit=limit, cursor=cursor
    ),
)


class BackendFailure(BaseModel):
    backend: str
    error: str


class ListResult(BaseModel, Generic[T]):
    """A page of items gathered from one or several backends.

    A tool's result subclasses it with its item type (``class AgentList(ListResult[Agent])``),
    which keeps the schema's title the tool's own.
    """

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )
    failures: list[BackendFailure] = Field(
        default_factory=list,
        description="Backends that could not be listed; the items of the others are complete.",
    )


L = TypeVar("L", bound="ListResult[Any]")


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


#: Backend name → the backend and the platform ids of the refs on it, in first-seen order.
Groups = dict[str, tuple[Backend, list[str]]]


def by_backend(registry: Registry, refs: list[str], *, what: str) -> Groups:
    """``refs`` (of ``what``: "approval", "knowledge base") grouped by backend, repeats
    dropped; an unknown backend or a malformed ref is an error before anything is done."""
    groups: Groups = {}
    for ref in dict.fromkeys(refs):
        backend, platform_id = registry.resolve(ref, what=what)
        groups.setdefault(backend.name, (backend, []))[1].append(platform_id)
    return groups


def targets(
    registry: Registry,
    protocol: Callable[..., object],
    *,
    refs: list[str],
    what: str,
    agent: str | None,
    backend: str | None,
) -> tuple[Groups, str | None]:
    """The backends a tool taking refs of ``what``, an agent and a backend works on, with
    the ids of the refs on each, and the agent's id.

    The three narrow together: refs must be on the agent's backend, and both on
    ``backend``; with none of them, every backend that implements ``protocol``.
    """
    groups = by_backend(registry, refs, what=what)
    agent_id = None
    if agent is not None:
        agent_backend, agent_id = registry.resolve(agent)
        stray = next((name for name in groups if name != agent_backend.name), None)
        if stray is not None:
            raise InvalidInputError(
                f"the {what}s given on backend '{stray}' are not on the agent's backend; "
                f"an agent's {what}s are on its own backend."
            )
        groups.setdefault(agent_backend.name, (agent_backend, []))
    if backend is not None:
        if groups and set(groups) != {backend}:
            raise InvalidInputError(
                f"the agent or {what}s given are not on backend '{backend}'; "
                "pass refs or a backend, not both."
            )
        groups.setdefault(backend, (registry.get(backend), []))
    if not groups:
        groups = {name: (b, []) for name, b in registry.backends.items() if implements(b, protocol)}
    return groups, agent_id


async def list_across(
    ctx: Context,
    result: type[L],
    listing: Listing[Any, T],
    *,
    backend: str | None,
    agent: str | None = None,
    limit: int,
    cursor: str | None,
) -> L:
    """A list tool's answer, as a ``result``: the things ``listing`` lists, from one
    backend (``backend``), one agent's (``agent``, its ref; see :func:`scope`) or each
    backend that lists them."""
    registry = deck(ctx).registry
    backend, agent_id = scope(registry, backend, agent)
    if backend is not None:
        page = await listing.page(registry.get(backend), agent_id, limit, cursor)
        failed = [BackendFailure(backend=backend, error=error) for error in page.failures]
        return result(items=page.items, next_cursor=page.next_cursor, failures=failed)

    able = {n: b for n, b in registry.backends.items() if listing.able(b)}
    names = list(able)
    start, inner = 0, None
    if cursor:
        name, sep, inner_text = cursor.partition(_SEPARATOR)
        if not sep or name not in names:
            raise invalid_cursor()
        start, inner = names.index(name), inner_text or None
    items: list[T] = []
    failures: list[BackendFailure] = []
    for index in range(start, len(names)):
        name = names[index]
        try:
            page = await listing.page(able[name], agent_id, limit - len(items), inner)
        except InvalidInputError:
            raise  # the caller's mistake (a bad cursor), not a backend that cannot be listed
        except AgentdeckError as exc:
            failures.append(BackendFailure(backend=name, error=str(exc)))
            inner = None
            continue
        items.extend(page.items)
        failures += [BackendFailure(backend=name, error=error) for error in page.failures]
        inner = None
        if page.next_cursor is not None:
            return result(
                items=items, next_cursor=f"{name}{_SEPARATOR}{page.next_cursor}", failures=failures
            )
        if len(items) >= limit:
            following = names[index + 1 : index + 2]
            next_cursor = f"{following[0]}{_SEPARATOR}" if following else None
            return result(items=items, next_cursor=next_cursor, failures=failures)
    return result(items=items, failures=failures)
