"""agentdeck's performance figures, each printed beside its reference measured in the same run.

    python bench/run.py [--quick] [--only latency,fanout,...] [--calls N]

Sections (names for --only):
  latency   one chat: direct httpx2 request (physical floor), a bare MCPServer with one
            tool making the same request (SDK floor), agentdeck `chat` to a local agent,
            FastMCP; over stdio and Streamable HTTP, with a progress token and without,
            interleaved call by call
  fanout    50 concurrent chats on one stdio session (200 ms model): time / one chat
  startup   process start to `initialize` answered: agentdeck vs the bare server
  cli       `agentdeck --help` and `--version` vs `python -c pass`
  tools     tools/list with 1,000 exposed agents vs a bare MCPServer with 1,000 such tools
            (SDK floor) and vs none exposed: at the Python SDK client, raw on the wire (no
            SDK client) and at the official TypeScript SDK client (Claude Desktop's, VS
            Code's, Cursor's), json.loads of the answer, start time, server RSS; interleaved
  history   chat turn p50/p95 at the start and at 8,000 messages in the conversation
  progress  model delta -> progress notification at the client
  profile   per chat in the server process (cProfile): function calls, CPU, thread hops,
            JSON encodes, SQL statements, messages written; one chat and 50 concurrent

The model is tests/fakes/openai.py served on 127.0.0.1 with a fixed latency. FastMCP
runs from a throwaway venv (default ~/.cache/agentdeck-bench/fastmcp-venv, made on
first use unless --no-install); never from the project's. Numbers are printed,
never asserted: wall times on a busy machine are noisy, so every figure is shown
beside a reference measured alongside it, and the profile's counts do not depend
on machine load at all.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from contenders import (
    BENCH,
    FASTMCP_VENV,
    RawStdio,
    Session,
    agentdeck_command,
    agentdeck_session,
    bare_command,
    bare_tools_command,
    connect,
    cpu_of,
    fastmcp_command,
    fastmcp_python,
    memory_of,
    raw_stdio,
    reference_session,
    ts_client_missing,
    ts_list_tools,
    write_config,
    write_every_platform_config,
)
from upstream import body_for

from agentdeck.backends.local.settings import LocalSettings
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI

SECTIONS = ("latency", "fanout", "startup", "cli", "tools", "history", "progress", "profile")


@dataclass
class Bench:
    """What every section needs: options, a scratch folder, the fake models, FastMCP."""

    args: argparse.Namespace
    folder: Path
    models: dict[float, str] = field(default_factory=dict)
    fastmcp: Path | None = None

    def scratch(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def scaled(self, full: int, quick: int) -> int:
        return quick if self.args.quick else full


@dataclass
class TimedFake(FakeOpenAI):
    """The fake model, noting when it hands each streamed chunk to the server."""

    sent: list[float] = field(default_factory=list)

    async def _stream(self, chunks: list[str]):  # type: ignore[override]
        async for piece in super()._stream(chunks):
            self.sent.append(time.perf_counter())
            yield piece


# ---- printing ------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def p50_p95(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def heading(title: str) -> None:
    print(f"\n## {title}")


def row(label: str, *cells: str) -> None:
    print(f"  {label:<38}" + "  ".join(cells))


def interleaved(rounds: int, contenders: Sequence[Any]) -> list[list[Any]]:
    """Each round's order, rotated, so drift in machine load hits every contender alike."""
    return [
        [contenders[(start + i) % len(contenders)] for i in range(len(contenders))]
        for start in range(rounds)
    ]


# ---- latency -------------------------------------------------------------------------


async def direct_chat(http: httpx2.AsyncClient) -> float:
    started = time.perf_counter()
    async with http.stream("POST", "/v1/chat/completions", json=body_for("hi")) as response:
        async for _event in httpx2.EventSource(response):
            pass
    return time.perf_counter() - started


#: the latency rows of chats sent without a progress token: the answer comes whole, so
#: what the server does besides streaming (agentdeck's own writes) is not hidden behind it
NO_TOKEN = ", no token"


async def section_latency(bench: Bench) -> None:
    calls = bench.scaled(bench.args.calls, 30)
    url = bench.models[0.02]
    heading(
        f"Per-chat latency: model latency 20 ms, {calls} calls each, interleaved; "
        f"each server with a progress token and without ('{NO_TOKEN[2:]}')"
    )
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(base_url=url))
        contenders: list[tuple[str, Callable[[], Awaitable[float]]]] = [
            ("direct httpx2", lambda: direct_chat(http))
        ]
        notes: dict[str, int] = {}
        pids: dict[str, int] = {}

        def add(session: Session) -> None:
            for progress, name in ((True, session.name), (False, f"{session.name}{NO_TOKEN}")):
                if progress and bench.args.no_token:
                    continue
                if session.pid is not None:
                    pids[name] = session.pid

                async def call(
                    session: Session = session, progress: bool = progress, name: str = name
                ) -> float:
                    elapsed, count, _ = await session.chat(progress=progress)
                    notes[name] = count
                    return elapsed

                contenders.append((name, call))

        for transport in bench.args.transports:
            config = write_config(bench.scratch(f"latency-{transport}"), url)
            add(
                await stack.enter_async_context(
                    reference_session(f"bare MCPServer {transport}", bare_command(url), transport)
                )
            )
            add(
                await stack.enter_async_context(
                    agentdeck_session(f"agentdeck {transport}", config, transport)
                )
            )
            if bench.args.versus:
                other = write_config(bench.scratch(f"latency-versus-{transport}"), url)
                versus = ["env", f"PYTHONPATH={bench.args.versus}", *agentdeck_command(other)]
                add(
                    await stack.enter_async_context(
                        agentdeck_session(
                            f"agentdeck (--versus) {transport}", other, transport, command=versus
                        )
                    )
                )
            if bench.fastmcp:
                name = f"FastMCP {transport}"
                add(
                    await stack.enter_async_context(
                        reference_session(name, fastmcp_command(bench.fastmcp, url), transport)
                    )
                )
        for _name, call in contenders:  # warm up pools, imports, caches
            for _ in range(3):
                await call()
        samples: dict[str, list[float]] = {name: [] for name, _ in contenders}
        # the server's CPU per chat: what a loaded machine disturbs far less than wall time
        cpu: dict[str, list[float]] = {name: [] for name in pids}
        for order in interleaved(calls, contenders):
            for name, call in order:
                pid = pids.get(name)
                before = cpu_of(pid) if pid else 0.0
                samples[name].append(await call())
                if pid:
                    cpu[name].append(cpu_of(pid) - before)
    medians = {name: p50_p95(values)[0] for name, values in samples.items()}
    cpus = {name: statistics.fmean(values) for name, values in cpu.items()}
    for name, values in samples.items():
        median, p95 = p50_p95(values)
        transport = name.removesuffix(NO_TOKEN).rsplit(" ", 1)[-1]
        bare = f"bare MCPServer {transport}{NO_TOKEN * name.endswith(NO_TOKEN)}"
        floor = medians.get(bare)
        versus = (
            f"{(median - floor) * 1000:+7.2f} ms vs bare  x{median / floor:.2f}"
            f"  cpu {(cpus[name] - cpus[bare]) * 1000:+6.2f} ms"
            if floor and not name.startswith("bare") and name != "direct httpx2"
            else ""
        )
        progress = f"{notes[name]} progress/call" if name in notes else ""
        used = f"cpu {ms(cpus[name])}" if name in cpus else ""
        row(name, f"p50 {ms(median)}", f"p95 {ms(p95)}", f"{used:<14}", f"{progress:<17}", versus)
    if not bench.fastmcp:
        print(f"  FastMCP: not measured ({bench.args.fastmcp_reason})")


# ---- fan-out -------------------------------------------------------------------------


async def section_fanout(bench: Bench) -> None:
    width, rounds = 50, bench.scaled(5, 2)
    url = bench.models[0.2]
    heading(
        f"{width} concurrent chats on one stdio session, model latency 200 ms ({rounds} rounds)"
    )
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(
                reference_session("bare MCPServer", bare_command(url), "stdio")
            ),
            await stack.enter_async_context(
                agentdeck_session("agentdeck", write_config(bench.scratch("fanout"), url))
            ),
        ]
        if bench.fastmcp:
            sessions.append(
                await stack.enter_async_context(
                    reference_session("FastMCP", fastmcp_command(bench.fastmcp, url), "stdio")
                )
            )
        ratios: dict[str, list[float]] = {s.name: [] for s in sessions}
        singles: dict[str, list[float]] = {s.name: [] for s in sessions}
        notes: dict[str, set[int]] = {s.name: set() for s in sessions}
        for session in sessions:
            await session.chat()
        for order in interleaved(rounds, sessions):
            for session in order:
                single = statistics.median([(await session.chat())[0] for _ in range(3)])
                started = time.perf_counter()
                async with anyio.create_task_group() as group:
                    for _ in range(width):

                        async def one(session: Session = session) -> None:
                            notes[session.name].add((await session.chat())[1])

                        group.start_soon(one)
                burst = time.perf_counter() - started
                singles[session.name].append(single)
                ratios[session.name].append(burst / single)
    bare = statistics.median(ratios["bare MCPServer"])
    for name, values in ratios.items():
        ratio = statistics.median(values)
        versus = f"{ratio / bare:.2f}x the bare ratio" if name != "bare MCPServer" else ""
        row(
            name,
            f"one chat {ms(statistics.median(singles[name]))}",
            f"{width} at once / one chat  x{ratio:5.2f}",
            f"progress/call {sorted(notes[name])}",
            versus,
        )


# ---- start-up and the command line ---------------------------------------------------


async def section_startup(bench: Bench) -> None:
    times = bench.scaled(9, 3)
    url = bench.models[0.02]
    heading(f"Process start to `initialize` answered, stdio ({times} starts each, interleaved)")
    commands = {
        "bare MCPServer": bare_command(url),
        "agentdeck": agentdeck_command(write_config(bench.scratch("startup"), url)),
        "agentdeck, every platform": agentdeck_command(
            write_every_platform_config(bench.scratch("startup-every"))
        ),
    }
    if bench.fastmcp:
        commands["FastMCP"] = fastmcp_command(bench.fastmcp, url)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for order in interleaved(times, list(commands)):
        for name in order:
            started = time.perf_counter()
            async with connect(name, commands[name], "stdio"):
                samples[name].append(time.perf_counter() - started)
    bare = statistics.median(samples["bare MCPServer"])
    for name, values in samples.items():
        median = statistics.median(values)
        versus = f"{(median - bare) * 1000:+7.1f} ms vs bare" if name != "bare MCPServer" else ""
        row(name, f"p50 {ms(median)}", f"min {ms(min(values))}", versus)


def section_cli(bench: Bench) -> None:
    times = bench.scaled(15, 5)
    heading(f"The command line ({times} runs each, interleaved)")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "agentdeck --help": [sys.executable, "-m", "agentdeck", "--help"],
        "agentdeck --version": [sys.executable, "-m", "agentdeck", "--version"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for order in interleaved(times, list(commands)):
        for name in order:
            started = time.perf_counter()
            subprocess.run(commands[name], capture_output=True, check=True)
            samples[name].append(time.perf_counter() - started)
    for name, values in samples.items():
        row(name, f"p50 {ms(statistics.median(values))}", f"min {ms(min(values))}")
    modules = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from agentdeck.cli import _parser; _parser(); print(len(sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    row("modules loaded for --help", modules.stdout.strip())


# ---- many agents ---------------------------------------------------------------------


async def list_all_tools(session: Session) -> tuple[float, int]:
    started = time.perf_counter()
    count, cursor = 0, None
    while True:
        page = await session.client.list_tools(cursor=cursor, cache_mode="bypass")
        count += len(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return time.perf_counter() - started, count


async def create_agents(config: Path, agents: int) -> None:
    """Local agents in ``config``'s database until it has ``agents`` (with the session's own)."""
    async with agentdeck_session("agentdeck (creating agents)", config) as session:
        created = 1
        while created < agents:
            batch = min(25, agents - created)
            async with anyio.create_task_group() as group:
                for i in range(batch):
                    group.start_soon(
                        session.client.call_tool,
                        "create_agent",
                        {"backend": "local", "name": f"agent {created + i}"},
                    )
            created += batch


def parse_times(line: bytes, repeats: int) -> list[float]:
    """``json.loads`` of a response line: the least any client pays to read it."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        json.loads(line)
        times.append(time.perf_counter() - started)
    return times


@dataclass
class Listing:
    """One contender's tools/list times, at the Python SDK client and raw on the wire
    (first list first), its start time (process start to ``initialize`` answered), last
    answer; and at the TypeScript SDK client, on servers of its own (:func:`list_at_ts`)."""

    session: Session
    raw: RawStdio
    start: float
    command: list[str]
    count: int = 0
    at_client: list[float] = field(default_factory=list)
    on_wire: list[float] = field(default_factory=list)
    answer: bytes = b""
    ts_count: int = 0
    ts_first: list[float] = field(default_factory=list)
    ts_then: list[float] = field(default_factory=list)

    async def list_both(self) -> None:
        elapsed, self.count = await list_all_tools(self.session)
        self.at_client.append(elapsed)
        elapsed, self.answer = await self.raw.request("tools/list")
        self.on_wire.append(elapsed)


async def open_listing(
    stack: AsyncExitStack, name: str, command: list[str], marker: str | None
) -> Listing:
    """The server ``command`` starts, twice: once for the SDK client, once for the raw one."""
    started = time.perf_counter()
    client, pid = await stack.enter_async_context(connect(name, command, "stdio", marker=marker))
    start = time.perf_counter() - started
    raw = await stack.enter_async_context(raw_stdio(command))
    return Listing(Session(name, client, pid), raw, start, command)


async def list_at_ts(listings: Sequence[Listing], rounds: int, repeats: int) -> str | None:
    """tools/list at the TypeScript SDK client: per round, a fresh server and client per
    contender in turn, so drift in machine load hits them alike. None, or why they were not
    measured: a machine without node still runs the bench, and the client rejecting a list
    is a finding to print beside the other rows, not a crash that loses them."""
    missing = ts_client_missing()
    if missing:
        return missing
    for order in interleaved(rounds, listings):
        for listing in order:
            try:
                count, first, then = await ts_list_tools(listing.command, repeats)
            except subprocess.CalledProcessError as error:
                return f"it failed on {listing.session.name}: {error.stderr.decode().strip()}"
            listing.ts_count = count
            listing.ts_first.append(first)
            listing.ts_then += then
    return None


async def section_tools(bench: Bench) -> None:
    # The SDK client's garbage collector runs during every second or third list of a
    # thousand tools, doubling that list's time: enough lists for a p50 that holds.
    agents, repeats = bench.scaled(1000, 200), bench.scaled(25, 5)
    ts_rounds, ts_repeats = 3, bench.scaled(8, 3)
    heading(
        f"tools/list with {agents} exposed agents, stdio: at the Python SDK client and raw on "
        f"the wire ({repeats} lists each, interleaved), at the TypeScript SDK client ({ts_rounds} "
        f"rounds of {ts_repeats} lists after a first, interleaved), beside a bare MCPServer "
        f"with {agents} such tools"
    )
    many = write_config(
        bench.scratch("tools-many"), None, expose_agents=True, max_agent_tools=agents
    )
    none = write_config(bench.scratch("tools-none"), None)
    await create_agents(many, agents)
    commands = {
        f"agentdeck, {agents} agents exposed": (agentdeck_command(many), str(many)),
        f"bare MCPServer, {agents} tools": (bare_tools_command(agents), None),
        "agentdeck, no agent exposed": (agentdeck_command(none), str(none)),
    }
    async with AsyncExitStack() as stack:
        listings = {
            name: await open_listing(stack, name, command, marker)
            for name, (command, marker) in commands.items()
        }
        for listing in listings.values():
            await listing.list_both()
        for order in interleaved(repeats, list(listings.values())):
            for listing in order:
                await listing.list_both()
        memory = {
            name: memory_of(listing.session.pid) if listing.session.pid else {}
            for name, listing in listings.items()
        }
    ts_skipped = await list_at_ts(list(listings.values()), ts_rounds, ts_repeats)
    for name, listing in listings.items():
        row(
            name,
            f"{listing.count:5d} tools",
            f"{'Py SDK client:':<15}first list {ms(listing.at_client[0])}",
            f"then p50 {ms(statistics.median(listing.at_client[1:]))}",
            f"min {ms(min(listing.at_client[1:]))}",
            f"start {ms(listing.start)}",
            f"RSS {memory[name].get('VmRSS', 0):6.1f} MB (peak {memory[name].get('VmHWM', 0):.1f})",
        )
        row(
            "",
            f"{len(listing.answer) / 1000:8.0f} kB",
            f"{'on the wire:':<15}first list {ms(listing.on_wire[0])}",
            f"then p50 {ms(statistics.median(listing.on_wire[1:]))}",
            f"min {ms(min(listing.on_wire[1:]))}",
            f"json.loads of it p50 {ms(statistics.median(parse_times(listing.answer, repeats)))}",
        )
        if not ts_skipped:
            row(
                "",
                f"{listing.ts_count:5d} tools",
                f"{'TS SDK client:':<15}first list {ms(statistics.median(listing.ts_first))}",
                f"then p50 {ms(statistics.median(listing.ts_then))}",
                f"min {ms(min(listing.ts_then))}",
                f"(first list: p50 of {len(listing.ts_first)} fresh clients)",
            )
    if ts_skipped:
        print(f"  TS SDK client row skipped: {ts_skipped}")


# ---- long conversations --------------------------------------------------------------


def seed_messages(database: Path, conversation_id: str, count: int) -> None:
    """Grow a conversation to ``count`` messages through the store the local backend uses."""
    import anyio

    from agentdeck.store import NewMessage
    from agentdeck.store.sqlite import SqliteStore

    async def seed() -> None:
        store = SqliteStore(str(database))
        try:
            have = len(await store.messages(conversation_id))
            for i in range(have, count):
                role = "user" if i % 2 == 0 else "assistant"
                await store.add_message(
                    NewMessage(conversation_id, role, f"message {i} of a long conversation")
                )
        finally:
            store.close()

    anyio.run(seed)


async def section_history(bench: Bench) -> None:
    size, turns = bench.scaled(8000, 2000), bench.scaled(30, 8)
    window = LocalSettings().history_limit.messages
    url = bench.models[0.0]
    heading(
        f"Chat turn in a conversation: at the start, at {window} messages (a full history "
        f"window) and at {size} messages ({turns} turns each, interleaved)"
    )
    folder = bench.scratch("history")
    sizes = {"at the start": 0, f"at {window} messages": window, f"at {size} messages": size}
    async with agentdeck_session("agentdeck", write_config(folder, url)) as session:
        if session.conversation_param is None:
            print("  the chat tool takes no conversation parameter: not measured")
            return
        # One conversation per size, grown first; then their turns take turns, so machine
        # noise (and the store's write-ahead log) hits every size alike.
        conversations: dict[str, dict[str, Any]] = {}
        for label, grown in sizes.items():
            _, _, first = await session.chat("start")
            conversations[label] = session.continuing(first)
            if grown:
                conversation_id = first["conversation"].partition(":")[2]
                await anyio.to_thread.run_sync(
                    seed_messages, folder / "local.db", conversation_id, grown
                )
        samples: dict[str, list[float]] = {label: [] for label in sizes}
        for order in interleaved(turns, list(sizes)):
            for label in order:
                samples[label].append((await session.chat("next", **conversations[label]))[0])
        async with httpx2.AsyncClient(base_url=url) as http:

            async def direct_with(messages: int) -> list[float]:
                body = body_for("next")
                body["messages"] = [
                    {"role": "user", "content": f"message {i}"} for i in range(messages)
                ]
                times = []
                for _ in range(turns):
                    started = time.perf_counter()
                    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
                        async for _event in httpx2.EventSource(response):
                            pass
                    times.append(time.perf_counter() - started)
                return times

            for label, grown in sizes.items():
                sent = min(grown, window) + 2
                p50, p95 = p50_p95(samples[label])
                row(
                    f"agentdeck turn {label}",
                    f"p50 {ms(p50)}",
                    f"p95 {ms(p95)}",
                    f"direct request with the {sent} messages sent p50 "
                    f"{ms(p50_p95(await direct_with(sent))[0])}",
                )
    start, full, late = (p50_p95(values)[0] for values in samples.values())
    row(f"at {size} / at the start (p50)", f"x{late / start:.2f}")
    row(f"at {size} / at {window} (p50)", f"x{late / full:.2f}  (flat beyond the window)")


# ---- delta to progress ---------------------------------------------------------------


async def section_progress(bench: Bench) -> None:
    calls = bench.scaled(20, 6)
    fake = TimedFake(chunk_delay=0.02)
    heading(
        f"Model delta -> progress notification at the client, stdio ({calls} chats each, 20 ms between deltas)"
    )
    with serve(fake.app) as url:
        async with AsyncExitStack() as stack:
            sessions = [
                await stack.enter_async_context(
                    reference_session("bare MCPServer", bare_command(url), "stdio")
                ),
                await stack.enter_async_context(
                    agentdeck_session("agentdeck", write_config(bench.scratch("progress"), url))
                ),
            ]
            delays: dict[str, list[float]] = {s.name: [] for s in sessions}
            arrived: list[float] = []

            async def on_progress(progress: float, total: float | None, text: str | None) -> None:
                arrived.append(time.perf_counter())

            for order in interleaved(calls, sessions):
                for session in order:
                    fake.sent.clear()
                    arrived.clear()

                    await session.client.call_tool(
                        "chat",
                        {**session.chat_args, "message": "hi"},
                        progress_callback=on_progress,
                    )
                    delays[session.name] += [
                        got - sent for got, sent in zip(arrived, fake.sent, strict=False)
                    ]
    for name, values in delays.items():
        p50, p95 = p50_p95(values)
        row(name, f"p50 {ms(p50)}", f"p95 {ms(p95)}", f"({len(values)} deltas)")


# ---- profile -------------------------------------------------------------------------


def profile_counts(path: Path, calls: int) -> dict[str, float]:
    """Per-call figures from a pstats file and its exact counts (bench/profiled.py)."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    counts: dict[str, float] = {
        "Python calls (+ coroutine resumes)": 0,
        "CPU ms, loop thread (profiled)": 0.0,
    }
    by_package: dict[str, float] = {}
    named = {
        "json.dumps": lambda f, n: f.endswith("json/__init__.py") and n == "dumps",
        "json.loads": lambda f, n: f.endswith("json/__init__.py") and n == "loads",
        "pydantic to_json/to_python": lambda f, n: "SchemaSerializer" in n,
        "pydantic validations": lambda f, n: "SchemaValidator" in n,
    }
    counts.update(dict.fromkeys(named, 0))
    for (filename, _line, function), (_cc, ncalls, tottime, _ct, _callers) in stats.items():
        if "epoll" in function or function == "select":
            continue  # the loop waiting for I/O is not work
        counts["Python calls (+ coroutine resumes)"] += ncalls
        counts["CPU ms, loop thread (profiled)"] += tottime * 1000
        package = _package_of(filename)
        by_package[package] = by_package.get(package, 0.0) + tottime * 1000
        for name, matches in named.items():
            if matches(filename, function):
                counts[name] += ncalls
    exact = json.loads(Path(f"{path}.counts.json").read_text())
    counts["thread hops"] = sum(exact["thread hops"].values())
    counts.update({f"  hop: {name}": n for name, n in sorted(exact["thread hops"].items())})
    counts["SQL statements"] = sum(exact["sql"].values())
    counts.update({f"  SQL {kind}": n for kind, n in sorted(exact["sql"].items())})
    counts["stdio messages written"] = sum(exact["written"].values())
    counts.update({f"  {method}": n for method, n in sorted(exact["written"].items())})
    counts.update({f"CPU ms in {package}": ms for package, ms in by_package.items()})
    return {name: value / calls for name, value in counts.items()}


def _package_of(filename: str) -> str:
    if filename == "~":
        return "C builtins"
    for marker in (
        "/agentdeck/",
        "/mcp_types/",
        "/mcp/",
        "/pydantic/",
        "/pydantic_core/",
        "/anyio/",
        "/httpx2/",
        "/asyncio/",
        "/json/",
    ):
        if marker in filename:
            return marker.strip("/")
    return "other"


async def _profiled(session: Session, work: Callable[[], Awaitable[None]]) -> None:
    """Profile ``work`` in the server. A ping after each signal returns only once the
    server ran the signal's handler (it runs before the loop reads the ping)."""
    assert session.pid is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ping is legacy-only; these sessions are legacy
        os.kill(session.pid, signal.SIGUSR1)
        await session.client.send_ping()
        await work()
        os.kill(session.pid, signal.SIGUSR2)
        await session.client.send_ping()


async def section_profile(bench: Bench) -> None:
    calls, width = bench.scaled(40, 10), 50
    url = bench.models[0.02]
    heading(
        f"Per chat in the server process (cProfile): {calls} chats one by one, and {width} at once"
    )
    profiler = [sys.executable, str(BENCH / "profiled.py")]
    folder = bench.args.profile_dir
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    config = write_config(folder, url)
    targets = {
        "bare MCPServer": lambda stats: reference_session(
            "bare MCPServer",
            [*profiler, str(stats), *bare_command(url)[1:]],
            bench.args.profile_transport,
        ),
        "agentdeck": lambda stats: agentdeck_session(
            "agentdeck",
            config,
            bench.args.profile_transport,
            command=[*profiler, str(stats), *agentdeck_command(config)[1:]],
        ),
    }
    for name, opened in targets.items():
        stats = folder / f"{name.split()[0]}.pstats"
        async with opened(stats) as session:
            chat = partial(session.chat, progress=not bench.args.no_token)
            for _ in range(3):
                await chat()

            async def one_by_one(chat: Callable[[], Awaitable[Any]] = chat) -> None:
                for _ in range(calls):
                    await chat()

            async def at_once(chat: Callable[[], Awaitable[Any]] = chat) -> None:
                async with anyio.create_task_group() as group:
                    for _ in range(width):
                        group.start_soon(chat)

            await _profiled(session, one_by_one)
            sequential = profile_counts(stats, calls)
            (folder / f"{name.split()[0]}-one.pstats").write_bytes(stats.read_bytes())
            await _profiled(session, at_once)
            results[name] = {"one": sequential, "fifty": profile_counts(stats, width)}
    labels = list(dict.fromkeys(k for r in results.values() for part in r.values() for k in part))
    labels = [k for k in labels if not k.startswith("CPU ms in ")] + sorted(
        (k for k in labels if k.startswith("CPU ms in ")),
        key=lambda k: -results["agentdeck"]["one"].get(k, 0),
    )
    row("per chat", *(f"{n + ' (1)':>18}{n + ' (50)':>18}" for n in ("bare", "agentdeck")))
    for label in labels:
        cells = []
        for name in targets:
            for part in ("one", "fifty"):
                cells.append(f"{results[name][part].get(label, 0):18.1f}")
        row(label, "".join(cells[:2]), "".join(cells[2:]))
    print(
        f"  pstats files: {folder} (agentdeck-one.pstats: one by one; agentdeck.pstats: {width} at once)"
    )
    top = pstats.Stats(str(folder / "agentdeck-one.pstats"))
    entries = [
        (tt / calls * 1000, ncalls / calls, f"{Path(f).parent.name}/{Path(f).name}:{line} {fn}")
        for (f, line, fn), (_cc, ncalls, tt, _ct, _c) in top.stats.items()  # type: ignore[attr-defined]
        if "/agentdeck/" in f
    ]
    print("  agentdeck's own functions by CPU per chat (one by one):")
    for cpu, ncalls, where in sorted(entries, reverse=True)[:12]:
        print(f"    {cpu:7.3f} ms  {ncalls:6.1f} calls  {where}")
    print("  everything by CPU per chat (one by one), the loop's waiting left out:")
    everything = [
        (tt / calls * 1000, nc / calls, f"{Path(f).parent.name}/{Path(f).name}:{line} {fn}"[-90:])
        for (f, line, fn), (_cc, nc, tt, _ct, _c) in top.stats.items()  # type: ignore[attr-defined]
        if "epoll" not in fn
    ]
    for cpu, ncalls, where in sorted(everything, reverse=True)[:12]:
        print(f"    {cpu:7.3f} ms  {ncalls:6.1f} calls  {where}")


# ---- main ----------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, load {load[0]:.2f}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


async def run(bench: Bench, sections: list[str]) -> None:
    runners = {
        "latency": section_latency,
        "fanout": section_fanout,
        "startup": section_startup,
        "tools": section_tools,
        "history": section_history,
        "progress": section_progress,
        "profile": section_profile,
    }
    for name in sections:
        began = time.perf_counter()
        if name == "cli":
            section_cli(bench)
        else:
            await runners[name](bench)
        print(f"  ({time.perf_counter() - began:.0f} s; load now {os.getloadavg()[0]:.2f})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer calls, 2,000-message history, 200 agents"
    )
    parser.add_argument(
        "--calls", type=int, default=200, help="chats per contender for latency (default 200)"
    )
    parser.add_argument(
        "--fastmcp-venv", type=Path, default=FASTMCP_VENV, help="FastMCP's throwaway venv"
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "agentdeck-bench-profile",
        help="where the profile section keeps its pstats files",
    )
    parser.add_argument(
        "--profile-transport",
        choices=("stdio", "http"),
        default="stdio",
        help="the transport the profile section's chats take (default stdio)",
    )
    parser.add_argument(
        "--transport",
        dest="transports",
        action="append",
        choices=("stdio", "http"),
        help="the latency section's transport; repeat for both (the default)",
    )
    parser.add_argument(
        "--no-token",
        action="store_true",
        help="chats sent without a progress token only (agentdeck's own writes show), in "
        "the latency and profile sections",
    )
    parser.add_argument(
        "--versus",
        type=Path,
        help="the src folder of another agentdeck (another commit's, from git archive) timed "
        "beside this one in the latency section, interleaved: an A/B on a noisy machine",
    )
    parser.add_argument("--no-fastmcp", action="store_true", help="leave FastMCP out")
    parser.add_argument(
        "--no-install", action="store_true", help="never pip-install FastMCP's venv"
    )
    args = parser.parse_args(argv)
    args.transports = args.transports or ["stdio", "http"]
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    print(f"# agentdeck bench{' (quick)' if args.quick else ''}: {machine()}")
    compiled_like_an_install()
    fastmcp, args.fastmcp_reason = (None, "left out (--no-fastmcp)")
    if not args.no_fastmcp and {"latency", "fanout", "startup"} & set(sections):
        fastmcp, args.fastmcp_reason = fastmcp_python(
            args.fastmcp_venv, install=not args.no_install
        )
        print(f"# FastMCP: {args.fastmcp_reason}")
    with (
        tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as scratch,
        serve(FakeOpenAI(latency=0.0).app) as instant,
        serve(FakeOpenAI(latency=0.02).app) as twenty,
        serve(FakeOpenAI(latency=0.2).app) as slow,
    ):
        bench = Bench(args, Path(scratch), {0.0: instant, 0.02: twenty, 0.2: slow}, fastmcp)
        anyio.run(run, bench, sections)


def compiled_like_an_install() -> None:
    """Write agentdeck's bytecode before any server starts, as installing it does.

    The SDK's modules were compiled when pip installed them; agentdeck's, run from
    the source tree, are not when ``PYTHONDONTWRITEBYTECODE`` is set (as on the
    shared development machine): every agentdeck start then compiled ~70 modules
    from source, ~150 ms of start-up that an installed agentdeck never pays.
    """
    import agentdeck

    compileall.compile_dir(Path(agentdeck.__file__).parent, quiet=1)


if __name__ == "__main__":
    main()
