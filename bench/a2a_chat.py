"""One chat with an A2A agent through agentdeck, beside the same message sent without it.

    python bench/a2a_chat.py [--calls 200]

The agent is served by the a2a-sdk's own server (``DefaultRequestHandler``) on
127.0.0.1, once streaming (SendStreamingMessage) and once not (SendMessage). For each,
interleaved call by call, p50/p95 of:

- ``a2a-sdk client``: the SDK's client alone, with its own httpx client (the floor);
- ``bare MCPServer``: a one-tool MCP server that sends the message with that client,
  called by an in-memory MCP client (the floor of any MCP bridge);
- ``agentdeck``: agentdeck's ``chat`` tool to the same agent, by the same MCP client.

agentdeck's overhead is its p50 minus the bare MCPServer's (the goal: at most +2 ms),
and, since a loaded machine stretches wall times, its CPU time per chat minus the bare
server's (everything runs in this process, the agent's server in a thread).
Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    Message,
    Part,
    Role,
    SendMessageRequest,
)
from mcp import Client
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.routing import Mount

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agentdeck.config import parse_settings
from agentdeck.server import build_server
from tests.fakes.base import serve


class Echo(AgentExecutor):
    """Answers at once: a task, one text artifact, completed."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.add_artifact([new_text_part(f"echo: {context.get_user_input()}")])
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


def agents_app(base: str) -> Starlette:
    mounts = []
    for name, streams in (("streaming", True), ("plain", False)):
        card = AgentCard(
            name=name,
            description="echo",
            version="1",
            supported_interfaces=[
                AgentInterface(url=f"{base}/{name}/rpc", protocol_binding="JSONRPC")
            ],
            capabilities=AgentCapabilities(streaming=streams),
            default_input_modes=["text/plain"],
            default_output_modes=["text/plain"],
        )
        handler = DefaultRequestHandler(Echo(), InMemoryTaskStore(), card)
        routes = create_agent_card_routes(card, card_url="/agent-card.json")
        routes += create_jsonrpc_routes(handler, "/rpc")
        mounts.append(Mount(f"/{name}", app=Starlette(routes=routes)))
    return Starlette(routes=mounts)


class Later:
    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def request(text: str) -> SendMessageRequest:
    message = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[Part(text=text)])
    return SendMessageRequest(message=message)


def bare_server(clients: dict[str, Any]) -> MCPServer[Any]:
    """A one-tool MCP server sending the message with the a2a-sdk client alone."""
    server: MCPServer[Any] = MCPServer("bare")

    @server.tool()
    async def chat(agent: str, message: str) -> str:
        text = []
        async for response in clients[agent].send_message(request(message)):
            if response.HasField("artifact_update"):
                text += [p.text for p in response.artifact_update.artifact.parts]
            elif response.HasField("task"):
                text += [p.text for a in response.task.artifacts for p in a.parts]
        return "".join(text)

    return server


def p50_p95(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Wall time and CPU time (this process: client, servers and the agent's thread) of a call."""
    started, cpu = time.perf_counter(), time.process_time()
    await call()
    return time.perf_counter() - started, time.process_time() - cpu


async def main(calls: int) -> None:
    later = Later()
    with serve(later) as base:
        later.app = agents_app(base)
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient())
            clients = {}
            for name in ("streaming", "plain"):
                card = parse_agent_card((await http.get(f"{base}/{name}/agent-card.json")).json())
                clients[name] = ClientFactory(ClientConfig(httpx_client=http)).create(card)
            settings = parse_settings(
                {
                    "server": {"database": ":memory:"},
                    "backends": {
                        "local": {"kind": "local", "model": "echo"},
                        "partners": {
                            "kind": "a2a",
                            "agents": [f"{base}/{n}/agent-card.json" for n in clients],
                        },
                    },
                },
                source="bench",
                environ={},
            )
            deck = await stack.enter_async_context(Client(build_server(settings)))
            bare = await stack.enter_async_context(Client(bare_server(clients)))
            for name in ("httpx", "httpx2"):  # as `agentdeck serve` runs: no log line per request
                logging.getLogger(name).setLevel(logging.WARNING)

            async def direct(name: str) -> None:
                async for _ in clients[name].send_message(request("hi")):
                    pass

            async def via(client: Client, agent: str) -> None:
                result = await client.call_tool("chat", {"agent": agent, "message": "hi"})
                assert not result.is_error and "echo: hi" in str(result.content), result

            for name in ("streaming", "plain"):
                contenders: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                    ("a2a-sdk client", lambda n=name: direct(n)),
                    ("bare MCPServer", lambda n=name: via(bare, n)),
                    ("agentdeck", lambda n=name: via(deck, f"partners:{n}")),
                ]
                for _, call in contenders:  # warm up: pools, imports, the cards
                    for _ in range(5):
                        await call()
                samples: dict[str, list[tuple[float, float]]] = {
                    label: [] for label, _ in contenders
                }
                for round_ in range(calls):
                    for i in range(len(contenders)):
                        label, call = contenders[(round_ + i) % len(contenders)]
                        samples[label].append(await timed(call))
                print(f"\n## one chat, {name} agent ({calls} calls each, interleaved)")
                floor = p50_p95([wall for wall, _ in samples["bare MCPServer"]])[0]
                cpu_floor = statistics.median(cpu for _, cpu in samples["bare MCPServer"])
                for label, values in samples.items():
                    median, p95 = p50_p95([wall for wall, _ in values])
                    cpu = statistics.median(c for _, c in values)
                    versus = (
                        f"{(median - floor) * 1000:+6.2f} ms vs bare (CPU {(cpu - cpu_floor) * 1000:+.2f} ms)"
                        if label == "agentdeck"
                        else ""
                    )
                    print(
                        f"  {label:<16} p50 {median * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms  "
                        f"CPU {cpu * 1000:6.2f} ms  {versus}"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    anyio.run(main, parser.parse_args().calls)
