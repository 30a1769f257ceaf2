"""Scripted A2A agents, served by the a2a-sdk's own server (``DefaultRequestHandler``).

Each agent has its card at ``/<id>/agent-card.json`` and its interface at ``/<id>/rpc``
(JSON-RPC) or under ``/<id>/rest`` (HTTP+JSON); the streaming one also publishes its card
at the well-known path, so a bare base URL finds it. The server runs in its own thread;
what an agent saw (a cancel, the turns of a context) is recorded for the tests to read.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from a2a.helpers.proto_helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    Artifact,
    Message,
    Part,
    TaskState,
    TaskStatus,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN = "partner-token-4b1d9e27c3"

Script = Callable[[RequestContext, TaskUpdater, "Seen"], Awaitable[None]]


@dataclass
class Seen:
    """What the agents saw, for the tests (written on the server's thread)."""

    turns: Counter[str]
    cancelled: threading.Event
    #: set by a test when its client has seen the first chunk: the streamer waits for it
    #: (when a test arms it), so the answer provably streams, however loaded the machine
    first_chunk_seen: threading.Event | None = None
    #: each agent's task store, and the work agents left running after answering
    stores: dict[str, InMemoryTaskStore] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)


class _Scripted(AgentExecutor):
    def __init__(self, script: Script, seen: Seen) -> None:
        self._script = script
        self._seen = seen

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        self._seen.turns[task.context_id] += 1
        await self._script(context, updater, self._seen)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self._seen.cancelled.set()
        assert context.task_id is not None and context.context_id is not None
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def _say(updater: TaskUpdater, text: str) -> Message:
    return updater.new_agent_message([new_text_part(text)])


async def streamer(context: RequestContext, updater: TaskUpdater, seen: Seen) -> None:
    """Streams its answer in chunks, with a data part and a file link; counts the turns."""
    await updater.start_work(_say(updater, "Looking it up."))
    await updater.add_artifact([new_text_part("Hello, ")], artifact_id="a1", name="answer")
    if seen.first_chunk_seen is not None:  # the rest comes once the first has arrived
        await asyncio.get_running_loop().run_in_executor(None, seen.first_chunk_seen.wait, 5)
    turn = seen.turns[context.context_id or ""]
    words = f"you said {context.get_user_input()} (turn {turn})."
    await updater.add_artifact([new_text_part(words)], artifact_id="a1", append=True)
    await updater.add_artifact(
        [new_data_part({"flights": 2}), Part(url="https://example.com/t.pdf", filename="t.pdf")],
        name="itinerary",
    )
    await updater.complete()


async def slowpoke(context: RequestContext, updater: TaskUpdater, seen: Seen) -> None:
    """Answers SendMessage with its task still working and finishes it later, out of band
    (as an agent running a long job may): the result goes to its task store."""
    await updater.start_work()
    store, text = seen.stores["slowpoke"], f"done later: {context.get_user_input()}"

    async def later() -> None:
        await asyncio.sleep(0.1)
        task = await store.get(updater.task_id, context.call_context)
        assert task is not None
        task.status.CopyFrom(TaskStatus(state=TaskState.TASK_STATE_COMPLETED))
        task.artifacts.append(Artifact(artifact_id="r", name="result", parts=[new_text_part(text)]))
        await store.save(task, context.call_context)

    seen.background.add(asyncio.create_task(later()))


async def asker(context: RequestContext, updater: TaskUpdater, seen: Seen) -> None:
    """Asks for a city, then books it (the answer comes as the task's next message)."""
    if seen.turns[context.context_id or ""] == 1:
        await updater.requires_input(_say(updater, "Which city?"))
        return
    await updater.complete(_say(updater, f"Booked for {context.get_user_input()}."))


async def sleeper(context: RequestContext, updater: TaskUpdater, seen: Seen) -> None:
    """Works until cancelled."""
    await updater.start_work(_say(updater, "Working on it."))
    await asyncio.sleep(30)


async def failer(context: RequestContext, updater: TaskUpdater, seen: Seen) -> None:
    """Fails, saying why; asks for authentication when told "auth"."""
    if context.get_user_input() == "auth":
        await updater.requires_auth(_say(updater, "sign in to your calendar first"))
        return
    await updater.failed(_say(updater, "the flight database is down"))


#: id → (script, binding, streams, needs the bearer token)
AGENTS: dict[str, tuple[Script, str, bool, bool]] = {
    "streamer": (streamer, "JSONRPC", True, False),
    "streamer-rest": (streamer, "HTTP+JSON", True, False),
    "slowpoke": (slowpoke, "HTTP+JSON", False, False),
    "asker": (asker, "JSONRPC", True, False),
    "sleeper": (sleeper, "JSONRPC", True, False),
    "failer": (failer, "JSONRPC", False, False),
    "guarded": (streamer, "JSONRPC", True, True),
}


def card(agent_id: str, base: str) -> AgentCard:
    _, binding, streams, _ = AGENTS[agent_id]
    path = "rpc" if binding == "JSONRPC" else "rest"
    name = agent_id.replace("-", " ").title()
    return AgentCard(
        name=name,
        description=f"The {name} test agent.",
        version="1.2.0",
        provider=AgentProvider(organization="Tests Inc", url="https://example.com"),
        supported_interfaces=[
            AgentInterface(
                url=f"{base}/{agent_id}/{path}", protocol_binding=binding, protocol_version="1.0"
            )
        ],
        capabilities=AgentCapabilities(streaming=streams),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="trips",
                name="Plan trips",
                description="Plans a trip.",
                tags=["travel"],
                examples=["A weekend in Lisbon"],
            )
        ],
    )


class _Bearer:
    """401 without the bearer token, as an agent behind auth answers."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and Request(scope).headers.get("authorization") != (
            f"Bearer {TOKEN}"
        ):
            response = JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


def a2a_app(base: str, seen: Seen) -> Starlette:
    """Every scripted agent on one Starlette app whose URLs start with ``base``."""
    mounts: list[BaseRoute] = []
    for agent_id, (script, binding, _, guarded) in AGENTS.items():
        agent_card = card(agent_id, base)
        store = seen.stores[agent_id] = InMemoryTaskStore()
        handler = DefaultRequestHandler(_Scripted(script, seen), store, agent_card)
        routes = create_agent_card_routes(agent_card, card_url="/agent-card.json")
        if binding == "JSONRPC":
            routes += create_jsonrpc_routes(handler, "/rpc")
        else:
            routes += create_rest_routes(handler, path_prefix="/rest")
        app: ASGIApp = Starlette(routes=routes)
        mounts.append(Mount(f"/{agent_id}", app=_Bearer(app) if guarded else app))
    well_known = create_agent_card_routes(card("streamer", base))
    return Starlette(routes=[*well_known, *mounts])
