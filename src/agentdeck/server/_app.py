"""Builds the MCP server: the lifespan that opens the backends, and the enabled tools."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer, RequestStateSecurity

from agentdeck.config import Settings
from agentdeck.registry import Registry
from agentdeck.runs import Lease, RunManager, RunSharing
from agentdeck.server import _completions, _prompts, _resources, views
from agentdeck.server._server import DeckServer
from agentdeck.server._surface import Surface, enabled_tools, tool_modules
from agentdeck.server.chat import AgentTools, final_answer
from agentdeck.server.client import ClientLog, Notifier, OwnedBus
from agentdeck.server.oauth import ScopePolicy, current_principal
from agentdeck.server.sdk_seams import (
    advertise_list_changes,
    advertise_tasks,
    serve_logging_level,
    serve_resource_subscriptions,
    wrap_listen,
)
from agentdeck.server.tasks import TaskBook
from agentdeck.server.tasks.protocols import CAPABILITY as TASKS_CAPABILITY
from agentdeck.server.tasks.protocols import LegacyTasks, TasksExtension, with_tasks
from agentdeck.server.toolkit import Deck
from agentdeck.server.transport import StreamEvents, health_endpoint, serve_connect_pages
from agentdeck.store import is_postgres_url
from agentdeck.version import __version__

logger = logging.getLogger("agentdeck.server")

INSTRUCTIONS = """\
agentdeck puts the AI agents of several platforms (and local ones) behind one set of tools.
Start with list_backends and list_agents. Everything is addressed by a ref '<backend>:<id>'
that results carry and tools accept. chat answers within wait_seconds; if the agent is still
working it returns status "running" with a run_id: call get_run to wait for the rest, or
cancel_run to stop it. Conversation transcripts are resources at
agentdeck://{backend}/conversations/{id}."""


def request_state_security(settings: Settings, token: str | None) -> RequestStateSecurity | None:
    """How the 2026-07-28 input-required rounds' state is sealed: under a key every replica
    shares, so a round answered on another replica than the one that asked unseals there.

    The key is ``[server] state_key``; unset, one derived from the HTTP token and the
    database, which every replica of a deployment shares. Neither a token nor a shared
    database (one local process): None, the SDK's key made at start.
    """
    if settings.server.state_key is not None:
        secret = settings.server.state_key.get_secret_value()
    elif token or is_postgres_url(settings.database()):
        material = f"agentdeck request state\0{token or ''}\0{settings.database()}"
        secret = hashlib.sha256(material.encode()).hexdigest()
    else:
        return None
    return RequestStateSecurity(keys=[secret])


@asynccontextmanager
async def _lease(registry: Registry, settings: Settings) -> AsyncIterator[Lease]:
    """This process's lease, in the database the runs are written to."""
    seconds = settings.server.lease_seconds
    if not is_postgres_url(settings.database()):
        from agentdeck.store.sqlite import SqliteStore

        assert isinstance(registry.store, SqliteStore)
        async with Lease.keep(registry.store, seconds) as lease:
            yield lease
        return
    from agentdeck.store.postgres_leases import PostgresLeases

    async with (
        PostgresLeases.open(settings.database()) as leases,
        Lease.keep(leases, seconds) as lease,
    ):
        yield lease


@asynccontextmanager
async def _run_sharing(
    registry: Registry, settings: Settings, lease: Lease
) -> AsyncIterator[RunSharing | None]:
    """How this replica shares its runs: through PostgreSQL, or not at all (SQLite)."""
    if not is_postgres_url(settings.database()):
        yield None
        return
    from agentdeck.runs.replicas import SharedRuns
    from agentdeck.store.postgres import PostgresStore

    assert isinstance(registry.store, PostgresStore)
    async with SharedRuns.open(registry.store, registry.backends, replica=lease.replica) as shared:
        yield shared


def build_server(
    settings: Settings, *, stateless: bool = False, token: str | None = None
) -> DeckServer:
    """The MCP server for ``settings``.

    ``stateless`` (HTTP without sessions) cannot reach a 2025-11-25 client outside a
    request, so it serves neither ``resources/subscribe`` nor ``logging/setLevel``, and
    does not advertise the list changes it could not deliver to them. ``token`` (the
    HTTP bearer token) is part of the default request-state key
    (:func:`request_state_security`).
    """
    bus = OwnedBus()
    notifier = Notifier(bus)
    surface = Surface.of(settings)
    served = enabled_tools(settings)
    apps = settings.server.apps
    running: list[Deck] = []  # the state of the open lifespan, for static resources
    client_log = ClientLog()
    legacy_tasks = LegacyTasks()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Deck]) -> AsyncIterator[Deck]:
        # the DeckServer built below (the SDK hands it in typed as a plain MCPServer)
        # every task of this group must catch its own exceptions: one that escaped would
        # end the server (the group, and with it the lifespan, would be torn down)
        async with (
            Registry.open(settings, owner=current_principal) as registry,
            _lease(registry, settings) as lease,
            _run_sharing(registry, settings, lease) as sharing,
            anyio.create_task_group() as task_group,
        ):
            runs = RunManager(
                task_group,
                registry.store,
                keep_seconds=settings.server.run_keep_seconds,
                keep_count=settings.server.run_keep_count,
                owner=lease.replica,
                sharing=sharing,
            )
            await runs.recover()
            agent_tools = AgentTools(
                server,
                registry,
                notifier,
                reserved={spec.name for spec in served},
                view=views.AGENT_TOOL_VIEW if apps else None,
            )
            await agent_tools.refresh(notify=False)
            if settings.server.agent_refresh_seconds and agent_tools.exposed_backends():
                task_group.start_soon(
                    _refresh_periodically, agent_tools, settings.server.agent_refresh_seconds
                )
            tasks = TaskBook(
                registry.store,
                runs,
                task_group,
                ttl_seconds=settings.server.run_keep_seconds,
                render=final_answer,
            )
            tasks.listeners.append(legacy_tasks.status_changed)
            task_group.start_soon(server.events.keep_writing)  # resumable HTTP streams
            state = Deck(settings, registry, runs, notifier, agent_tools, tasks)
            running[:] = [state]
            yield state
            task_group.cancel_scope.cancel()

    server = DeckServer(
        "agentdeck",
        title="agentdeck",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=client_log.around(lifespan),
        subscriptions=bus,
        tools=[surface.tool(spec) for spec in served],
        request_state_security=request_state_security(settings, token),
        views=views.TOOL_VIEWS if apps else None,
        task_tools={"chat"},
        extensions=[TasksExtension(legacy_tasks), *([views.extension()] if apps else [])],
    )
    server.middleware.append(_resources.legacy_not_found_code)
    if settings.server.auth is not None:
        server.scope_policy = ScopePolicy.of(settings.server.auth, served)
    server.events = StreamEvents(
        lambda: running[0].registry.store, keep_seconds=settings.server.run_keep_seconds
    )
    if apps:
        server.middleware.append(views.plain_resource_list)
    server.middleware.append(legacy_tasks.task_calls)
    advertise_tasks(server, TASKS_CAPABILITY)
    wrap_listen(server, with_tasks)
    if not stateless:
        advertise_list_changes(server)
        serve_resource_subscriptions(
            server, _session_call(notifier.subscribe), _session_call(notifier.unsubscribe)
        )
        serve_logging_level(server, client_log.set_level)
    _resources.register(
        server,
        list(settings.enabled_backends()),
        lambda: running[0].for_owner(current_principal()),
    )
    server.custom_route("/healthz", methods=["GET"])(
        health_endpoint(lambda: running[0].registry.store if running else None)
    )
    if any(b.credentials == "per_user" for b in settings.enabled_backends().values()):
        serve_connect_pages(server, lambda: running[0] if running else None)
    _prompts.register(server, {spec.name for spec in served})
    for module in tool_modules(surface):
        if hasattr(module, "register"):
            module.register(server)
    _completions.register(server, lambda: running[0].for_owner(current_principal()))
    return server


async def _refresh_periodically(agent_tools: AgentTools, seconds: float) -> None:
    while True:
        await anyio.sleep(seconds)
        try:
            await agent_tools.refresh()
        except Exception as exc:  # a platform or the database out of reach: next time
            logger.warning("refreshing the agents exposed as tools failed: %s", exc)


def _session_call(
    action: Callable[[Any, str], None],
) -> Callable[[ServerRequestContext[Any, Any], str], Awaitable[None]]:
    """A subscription handler applying ``action`` to the request's session and URI."""

    async def handle(ctx: ServerRequestContext[Any, Any], uri: str) -> None:
        action(ctx.session, uri)

    return handle
