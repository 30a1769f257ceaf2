"""The task path's extra cost per call, printed beside the plain path of the same run.

    python bench/tasks.py [--calls N]

Over stdio, one agentdeck server on the echo model, two 2026-07-28 clients: one that
declares the tasks extension, one that does not. Interleaved call by call:

  chat       a chat that ends at once: the plain call vs the same call declaring tasks
             (what every call of a tasks-speaking client pays: the interceptor, the
             capability check; no task is made for a run that ends within the grace)
  status     reading a finished chat's state: get_run (plain) vs tasks/get (task path)
  create     a chat answered with a task vs the plain `running` answer of the same slow
             chat (wait_seconds = the task grace), to the first answer: what creating
             the task (a durable row) adds

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from contenders import write_config

from agentdeck.server.tasks import GRACE_SECONDS
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.server.tasks.client import TasksClient, get_task


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.2f} ms"


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def server(config: Path) -> StdioServerParameters:
    args = ["-m", "agentdeck", "serve", "--config", str(config)]
    return StdioServerParameters(
        command=sys.executable, args=args, env={**os.environ, "AGENTDECK_CONFIG": ""}
    )


async def run(calls: int) -> None:
    fake = FakeOpenAI(latency=GRACE_SECONDS + 0.2)
    with tempfile.TemporaryDirectory() as folder, serve(fake.app) as model_url:
        echo = write_config(Path(folder) / "echo", None)
        slow = write_config(Path(folder) / "slow", model_url)
        tasks = TasksClient(hand_back=True)
        async with (
            Client(server(echo)) as plain,
            Client(server(echo), extensions=[TasksClient()]) as tasking,
        ):
            agent = await plain.call_tool("create_agent", {"backend": "local", "name": "b"})
            ref = (agent.structured_content or {})["ref"]
            chat = {"agent": ref, "message": "hi"}
            first = await plain.call_tool("chat", chat)
            run_id = (first.structured_content or {})["run_id"]
            rows: dict[str, tuple[list[float], list[float]]] = {
                "chat": ([], []),
                "status": ([], []),
            }
            for _ in range(3):  # warm up
                await plain.call_tool("chat", chat)
                await tasking.call_tool("chat", chat)
            for _ in range(calls):
                rows["chat"][0].append(await timed(lambda: plain.call_tool("chat", chat)))
                rows["chat"][1].append(await timed(lambda: tasking.call_tool("chat", chat)))
                rows["status"][0].append(
                    await timed(lambda: plain.call_tool("get_run", {"run_id": run_id}))
                )
        async with Client(server(slow), extensions=[tasks]) as client:
            agent = await client.call_tool("create_agent", {"backend": "local", "name": "b"})
            slow_chat = {"agent": (agent.structured_content or {})["ref"], "message": "hi"}
            create: tuple[list[float], list[float]] = ([], [])
            for _ in range(max(3, calls // 20)):
                create[0].append(
                    await timed(
                        lambda: client.call_tool(
                            "chat", {**slow_chat, "wait_seconds": GRACE_SECONDS}
                        )
                    )
                )
                create[1].append(await timed(lambda: client.call_tool("chat", slow_chat)))
            task_id = tasks.created[0].task_id
            with anyio.fail_after(30):
                while (await get_task(client.session, task_id))["status"] != "completed":  # noqa: ASYNC110
                    await anyio.sleep(0.1)  # polling is the protocol
            for _ in range(calls):
                rows["status"][1].append(await timed(lambda: get_task(client.session, task_id)))
        rows["create"] = create
    print(f"task path vs plain path, median of {calls} calls (create: {len(create[0])})")
    print(f"{'':10}{'plain':>12}{'task path':>12}{'extra':>12}")
    for name, (base, task) in rows.items():
        extra = statistics.median(task) - statistics.median(base)
        print(f"{name:10}{ms(base):>12}{ms(task):>12}{extra * 1000:+9.2f} ms")
    print("status: get_run vs tasks/get; create: 'running' after the grace vs the task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    anyio.run(run, args.calls)


if __name__ == "__main__":
    main()
