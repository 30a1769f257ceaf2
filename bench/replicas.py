"""Replicas on PostgreSQL: throughput with one replica and with three, and how soon a run's
progress on one replica reaches a follower on another.

    python bench/replicas.py [--sessions 200]

Starts a throwaway PostgreSQL cluster (as the tests do, tests/pg.py) and
`agentdeck serve --transport http --stateless` replicas as subprocesses; the model
is tests/fakes/openai.py with a 200 ms latency. Numbers are printed, never asserted.

- chats: ``--sessions`` client sessions at once, each on its own replica in turn,
  each doing one chat; wall time and per-chat p50/p95, for 1 and 3 replicas.
- delta: a chat started on replica A, followed with get_run on replica B; for each
  word, the time from the model sending it to B's progress notification arriving.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import anyio
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.pg import run_as_owner, schema_url, server_binaries, start_cluster
from tests.runs.replicas import SLOW_MODEL_CONFIG, client, replicas
from tests.support import ok


class TimedModel(FakeOpenAI):
    """The fake model, noting when it sent each chunk."""

    sent: list[float]

    async def _stream(self, chunks: Iterable[str], hang: bool = False) -> AsyncIterator[bytes]:
        async for chunk in super()._stream(chunks, hang):
            self.sent.append(time.perf_counter())
            yield chunk


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def chats(bases: list[str], sessions: int, agent: str) -> None:
    took: list[float] = []

    async def one(index: int) -> None:
        begun = time.perf_counter()
        async with client(bases[index % len(bases)]) as session:
            ok(await session.call_tool("chat", {"agent": agent, "message": f"m{index}"}))
        took.append(time.perf_counter() - begun)

    begun = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(sessions):
            group.start_soon(one, index)
    wall = time.perf_counter() - begun
    print(
        f"  {len(bases)} replica(s): {sessions} sessions in {wall:.2f} s "
        f"({sessions / wall:.0f} chats/s); per chat p50 {percentile(took, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(took, 0.95) * 1000:.0f} ms"
    )


async def delta_latency(a: str, b: str, agent: str, model: TimedModel) -> None:
    model.sent = []
    arrived: list[float] = []

    async def heard(step: float, total: float | None, message: str | None) -> None:
        arrived.append(time.perf_counter())

    async with client(a) as on_a, client(b) as on_b:
        started = ok(
            await on_a.call_tool("chat", {"agent": agent, "message": "x", "wait_seconds": 0})
        )
        ok(
            await on_b.call_tool(
                "get_run",
                {"run_id": started["run_id"], "wait_seconds": 60},
                progress_callback=heard,
            )
        )
    # each progress notification carries the words sent since the previous one: its
    # latency is from the earliest of those words
    latencies, cursor = [], 0
    for at in arrived:
        words = [t for t in model.sent[cursor:] if t <= at]
        if words:
            latencies.append(at - words[0])
            cursor += len(words)
    print(
        f"  model chunk on A -> get_run progress on B: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} notifications"
    )


async def main(sessions: int) -> None:
    bindir = server_binaries()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found (install the Debian package 'postgresql').")
    directory = Path(tempfile.mkdtemp(prefix="agentdeck-bench-pg-"))
    server = start_cluster(directory, bindir)
    work = Path(tempfile.mkdtemp(prefix="agentdeck-bench-"))
    config = work / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG.replace("lease_seconds = 2", ""))
    try:
        model = TimedModel(latency=0.2)
        model.sent = []
        with serve(model.app) as model_url:
            env = {"AGENTDECK_TEST_MODEL": model_url}
            print(f"chats to a 200 ms model, {sessions} concurrent sessions:")
            for count in (1, 3):
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(server, autocommit=True) as admin:
                    admin.execute(f"CREATE SCHEMA {schema}")
                with replicas(config, schema_url(server, schema), count, env) as bases:
                    async with client(bases[0]) as first:
                        agent = ok(
                            await first.call_tool("create_agent", {"backend": "local", "name": "B"})
                        )["ref"]
                    await chats(bases, sessions, agent)
                    if count == 3:
                        model.latency, model.chunk_delay = 0.0, 0.1
                        print("progress across replicas (a chunk every 100 ms):")
                        await delta_latency(bases[0], bases[1], agent, model)
    finally:
        run_as_owner(
            [f"{bindir}/pg_ctl", "stop", "-D", str(directory / "data"), "-m", "immediate"],
            check=False,
        )
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    anyio.run(main, parser.parse_args().sessions)
