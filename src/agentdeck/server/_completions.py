"""Completions (``completion/complete``): the refs a person picks from while filling in a
prompt's arguments or a resource template's parameters, instead of pasting them.

``COMPLETERS`` says what each ref-taking argument takes: a backend's name, or the refs (in
a prompt) or ids (in a template, whose backend is a parameter of its own) of agents,
conversations, workflows or approvals. What the client has filled in already
(``context.arguments``) narrows the offer: the ``backend`` chosen, or the ``agent`` whose
conversations or approvals to offer. A typed value matches the start of a ref, an id, or
a name (or a word of it), ignoring case; what begins with it as typed comes first.

Values come from the lists the list tools read (a backend's agents, conversations, or its
run history where it keeps none, workflows, pending approvals), asked of every backend in
parallel and each for at most ``[server] completion_seconds``: a platform that is slow or
fails is left out, and the answer says ``hasMore`` (with no ``total``) instead of failing.
One answer carries at most 100 values (MCP's cap), with the total when it is known. A
prompt or template this server does not serve is the client's mistake: -32602.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from agentdeck.backends.base import Backend
from agentdeck.errors import AgentdeckError
from agentdeck.model import Page
from agentdeck.registry import Registry
from agentdeck.server._resources import AGENT_URI, WORKFLOW_URI
from agentdeck.server.conversations import CONVERSATION_URI, list_conversations_of
from agentdeck.server.toolkit import AGENTS, APPROVALS, WORKFLOWS, Deck, Listing

logger = logging.getLogger("agentdeck.completions")

#: The most values one answer may carry (MCP's cap).
MAX_VALUES = 100
_PAGE = 100
#: Pages read from one backend at most: a completion helps pick, it does not walk catalogues.
_MAX_PAGES = 5

_QUERY_EXPRESSION = re.compile(r"\{[?&][^}]*\}")

#: (registry, backend, the chosen agent's id or None, cursor) → one page of things.
Fetch = Callable[[Registry, Backend, str | None, str | None], Awaitable[Page[Any]]]
#: (the running state, the value typed so far, the arguments filled in) → the answer.
Completer = Callable[[Deck, str, dict[str, str]], Awaitable[Completion]]


@dataclass(frozen=True)
class Offered:
    """Things of one kind offered as values: which backends have them, how to read a page
    of them, and the name a person knows one by."""

    able: Callable[[Backend], bool]
    fetch: Fetch
    name: Callable[[Any], str | None]


def _offered(listing: Listing[Any, Any], name: Callable[[Any], str | None]) -> Offered:
    """The things ``listing`` lists (as the list tools read them), offered by ``name``."""

    async def fetch(
        registry: Registry, backend: Backend, agent_id: str | None, cursor: str | None
    ) -> Page[Any]:
        return await listing.page(backend, agent_id, _PAGE, cursor)

    return Offered(listing.able, fetch, name)


async def _conversations(
    registry: Registry, backend: Backend, agent_id: str | None, cursor: str | None
) -> Page[Any]:
    return await list_conversations_of(
        registry, backend, agent_id=agent_id, limit=_PAGE, cursor=cursor, filters={}
    )


def _every(backend: Backend) -> bool:
    """Every backend has conversations: its own, or agentdeck's run history of it."""
    return True


_AGENTS = _offered(AGENTS, lambda agent: agent.name)
_CONVERSATIONS = Offered(_every, _conversations, lambda conversation: conversation.title)
_WORKFLOWS = _offered(WORKFLOWS, lambda workflow: workflow.name)
_APPROVALS = _offered(APPROVALS, lambda approval: approval.tool)


def backends(able: Callable[[Backend], bool]) -> Completer:
    """The names of the configured backends that ``able`` accepts."""

    async def complete(deck: Deck, typed: str, context: dict[str, str]) -> Completion:
        names = [name for name, backend in deck.registry.backends.items() if able(backend)]
        return _answer(_matching([(name, (name,)) for name in names], typed), whole=True)

    return complete


def refs(offered: Offered) -> Completer:
    """The refs ('<backend>:<id>') of the things ``offered``."""
    return _listed(offered, as_ref=True)


def ids(offered: Offered) -> Completer:
    """The ids of the things ``offered``, on the backend the template names."""
    return _listed(offered, as_ref=False)


def _listed(offered: Offered, *, as_ref: bool) -> Completer:
    async def complete(deck: Deck, typed: str, context: dict[str, str]) -> Completion:
        registry = deck.registry
        where, agent_id = _narrowed(registry, context)
        items, whole = await _gather(
            registry,
            offered,
            [backend for backend in where if offered.able(backend)],
            agent_id,
            deck.settings.server.completion_seconds,
        )
        options = []
        for item in items:
            value = item.ref if as_ref else item.id
            name = offered.name(item) or ""
            options.append((value, (value, item.id, name, *name.split())))
        return _answer(_matching(options, typed), whole=whole)

    return complete


def _narrowed(registry: Registry, filled: dict[str, str]) -> tuple[list[Backend], str | None]:
    """The backends to ask and the agent whose things to offer, from the arguments filled
    in: the ``agent`` chosen, else the ``backend``, else every backend."""
    agent = filled.get("agent")
    if agent:
        try:
            backend, agent_id = registry.resolve(agent)
        except AgentdeckError:
            pass  # not a ref of a configured backend (yet): offer from everywhere
        else:
            return [backend], agent_id
    chosen = registry.backends.get(filled.get("backend") or "")
    return ([chosen] if chosen else list(registry.backends.values())), None


async def _gather(
    registry: Registry,
    offered: Offered,
    where: list[Backend],
    agent_id: str | None,
    seconds: float,
) -> tuple[list[Any], bool]:
    """The things ``offered`` finds on the backends ``where``, each read for at most
    ``seconds``, in backend order; and whether every backend was read to its end."""
    found: dict[str, list[Any]] = {backend.name: [] for backend in where}
    left_out: list[str] = []

    async def read(backend: Backend) -> None:
        with anyio.move_on_after(seconds):
            try:
                cursor = None
                for _ in range(_MAX_PAGES):
                    page = await offered.fetch(registry, backend, agent_id, cursor)
                    found[backend.name].extend(page.items)
                    cursor = page.next_cursor
                    if cursor is None:
                        return
            except AgentdeckError as exc:
                logger.debug("completion: backend '%s' could not be listed: %s", backend.name, exc)
        left_out.append(backend.name)  # timed out, failed, or more pages than read

    async with anyio.create_task_group() as group:
        for backend in where:
            group.start_soon(read, backend)
    return [item for items in found.values() for item in items], not left_out


def _matching(options: list[tuple[str, tuple[str, ...]]], typed: str) -> list[str]:
    """The values of ``options`` (value, words) one of whose words begins with ``typed``
    (ignoring case), those whose value begins with it first, without repeats."""
    wanted = typed.strip().casefold()
    found = [
        (not value.casefold().startswith(wanted), value)
        for value, words in options
        if any(word.casefold().startswith(wanted) for word in words)
    ]
    found.sort(key=lambda pair: pair[0])  # stable: otherwise in the backends' own order
    return list(dict.fromkeys(value for _, value in found))


def _answer(values: list[str], *, whole: bool) -> Completion:
    """At most ``MAX_VALUES`` of ``values``, with the total if every source was read."""
    if not whole:
        return Completion(values=values[:MAX_VALUES], has_more=True)
    return Completion(
        values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES
    )


COMPLETERS: dict[tuple[str, str], Completer] = {
    ("delegate_task", "backend"): backends(_AGENTS.able),
    ("delegate_task", "agent"): refs(_AGENTS),
    ("review_approvals", "backend"): backends(_APPROVALS.able),
    ("review_approvals", "approval"): refs(_APPROVALS),
    ("continue_conversation", "agent"): refs(_AGENTS),
    ("continue_conversation", "conversation"): refs(_CONVERSATIONS),
    (CONVERSATION_URI, "backend"): backends(_CONVERSATIONS.able),
    (CONVERSATION_URI, "conversation_id"): ids(_CONVERSATIONS),
    (AGENT_URI, "backend"): backends(_AGENTS.able),
    (AGENT_URI, "agent_id"): ids(_AGENTS),
    (WORKFLOW_URI, "backend"): backends(_WORKFLOWS.able),
    (WORKFLOW_URI, "workflow_id"): ids(_WORKFLOWS),
}


def register(server: MCPServer[Any], current_deck: Callable[[], Deck]) -> None:
    """Answer ``completion/complete`` (which also declares the ``completions`` capability,
    in both protocol eras). The SDK hands a completion handler no request context, so
    the running state comes from ``current_deck``."""

    # the SDK's decorator has no annotations
    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        problem = await _not_served(server, ref)
        if problem:
            raise MCPError(INVALID_PARAMS, problem)
        key = ref.name if isinstance(ref, PromptReference) else _path_part(ref.uri)
        completer = COMPLETERS.get((key, argument.name))
        if completer is None:
            return None  # free text (a task), or no such argument: nothing to offer
        filled = dict((context.arguments if context else None) or {})
        filled.pop(argument.name, None)  # its own earlier value narrows nothing
        return await completer(current_deck(), argument.value, filled)


async def _not_served(
    server: MCPServer[Any], ref: PromptReference | ResourceTemplateReference
) -> str:
    """What is wrong with ``ref``: a prompt or template this server does not serve."""
    if isinstance(ref, PromptReference):
        prompts = [prompt.name for prompt in await server.list_prompts()]
        if ref.name in prompts:
            return ""
        return f"Unknown prompt '{ref.name}'; the prompts here are: {_quoted(prompts)}."
    templates = [template.uri_template for template in await server.list_resource_templates()]
    if _path_part(ref.uri) in {_path_part(template) for template in templates}:
        return ""
    return f"No resource template '{ref.uri}'; the templates here are: {_quoted(templates)}."


def _path_part(template: str) -> str:
    """A URI template without its query expressions (``{?limit,cursor}``), which take no
    refs: a client may name the template either way."""
    return _QUERY_EXPRESSION.sub("", template)


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names) or "none"
