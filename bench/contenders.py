"""The servers a benchmark compares, started the way users start them, each with a client.

agentdeck runs as ``python -m agentdeck serve`` on a config written to a temp
dir, with a local agent on the fake model; the references are bench/bare_server.py
(the SDK floor), bench/bare_tools_server.py (the SDK floor for a list of N tools) and
bench/fastmcp_server.py (in FastMCP's throwaway venv). Every contender is reached
through the SDK's own ``Client`` in the 2025-11-25 era that today's clients speak,
over stdio or Streamable HTTP, and for tools/list also through :class:`RawStdio` and
the official TypeScript SDK's client (:func:`ts_list_tools`).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
FASTMCP_VENV = Path("~/.cache/agentdeck-bench/fastmcp-venv").expanduser()
TS_SDK = REPO / "tests" / "js" / "node_modules" / "@modelcontextprotocol" / "sdk"


@dataclass
class Session:
    """A connected contender: a ``chat`` tool call and what it takes besides the message."""

    name: str
    client: Client
    pid: int | None
    chat_args: dict[str, Any] = field(default_factory=dict)
    #: the chat tool's parameter that continues a conversation, if it has one
    conversation_param: str | None = None

    async def chat(
        self, message: str = "hi", *, progress: bool = True, **extra: Any
    ) -> tuple[float, int, dict[str, Any]]:
        """Seconds for one chat call, the progress notifications it got, its structured result.
        ``progress=False`` sends no progress token: nothing streams, the answer comes whole."""
        notes = 0

        async def on_progress(progress: float, total: float | None, text: str | None) -> None:
            nonlocal notes
            notes += 1

        started = time.perf_counter()
        result = await self.client.call_tool(
            "chat",
            {**self.chat_args, **extra, "message": message},
            progress_callback=on_progress if progress else None,
        )
        elapsed = time.perf_counter() - started
        content = result.structured_content or {}
        if result.is_error or content.get("status", "completed") != "completed":
            raise RuntimeError(f"{self.name}: the chat failed: {result.content or content}")
        return elapsed, notes, content

    def continuing(self, result: dict[str, Any]) -> dict[str, Any]:
        """The argument that continues the conversation ``result`` belongs to."""
        if self.conversation_param is None:
            return {}
        return {self.conversation_param: result[self.conversation_param]}


def write_config(folder: Path, model_url: str | None, **local: Any) -> Path:
    """An agentdeck config with one local backend (on the fake model when ``model_url``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[backends.local]", 'kind = "local"', f'database = "{folder / "local.db"}"']
    if model_url:
        lines += ['model = "openai"', f'openai_base_url = "{model_url}/v1"', 'openai_model = "b"']
    else:
        lines.append('model = "echo"')
    lines += [
        f"{key} = {str(value).lower() if isinstance(value, bool) else value}"
        for key, value in local.items()
    ]
    path = folder / "agentdeck.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_every_platform_config(folder: Path) -> Path:
    """An agentdeck config with one backend of every kind (the examples the docs use:
    placeholder addresses that start-up never calls)."""
    from agentdeck.backends.kinds import KINDS, settings_example

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for kind in KINDS:
        name, settings = settings_example(kind)
        lines.append(f"[backends.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = folder / "agentdeck.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def agentdeck_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "agentdeck", "serve", "--config", str(config)]


def bare_command(model_url: str) -> list[str]:
    return [sys.executable, str(BENCH / "bare_server.py"), "--model-url", f"{model_url}/v1"]


def bare_tools_command(tools: int) -> list[str]:
    return [sys.executable, str(BENCH / "bare_tools_server.py"), "--tools", str(tools)]


def fastmcp_command(python: Path, model_url: str) -> list[str]:
    return [str(python), str(BENCH / "fastmcp_server.py"), "--model-url", f"{model_url}/v1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_running(marker: str) -> int | None:
    """The pid of our child process whose command line contains ``marker`` (stdio servers)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and marker in cmdline:
            return int(entry.name)
    return None


def cpu_of(pid: int) -> float:
    """Seconds of CPU the process has run on so far, all its threads (Linux schedstat, in
    nanoseconds: exact where the clock-tick counts of /proc/PID/stat are 10 ms)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def memory_of(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, in MB (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


async def _wait_for_port(port: int, process: anyio.abc.Process) -> None:
    with anyio.fail_after(60):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the server on port {port} exited ({process.returncode})")
            try:
                stream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError:
                await anyio.sleep(0.02)  # polling a port that has no readiness event
                continue
            await stream.aclose()
            return


@asynccontextmanager
async def connect(
    name: str, command: list[str], transport: str, *, marker: str | None = None
) -> AsyncIterator[tuple[Client, int | None]]:
    """A client connected to the server ``command`` starts, and the server's pid."""
    if transport == "stdio":
        params = StdioServerParameters(
            command=command[0], args=command[1:], env={**os.environ, "AGENTDECK_CONFIG": ""}
        )
        async with Client(params, mode="legacy") as client:
            yield client, pid_running(marker or command[-1])
        return
    port = free_port()
    process = await anyio.open_process(
        [*command, "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _wait_for_port(port, process)
        async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as client:
            yield client, process.pid
    finally:
        process.terminate()
        with anyio.move_on_after(5):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


class RawStdio:
    """A JSON-RPC client on a server's stdio with no SDK, for what a server's answer costs.

    A request is timed until its whole response line is read, as bytes: no JSON is
    parsed, so the figure is the server's work and the pipe's, none of a client's.
    """

    def __init__(self, process: anyio.abc.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)
        self._rest = b""  # read past the last line returned

    async def request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> tuple[float, bytes]:
        """Seconds from sending the request to its response line read, and that line."""
        n = next(self._ids)
        started = time.perf_counter()
        await self._send({"id": n, "method": method, "params": params or {}})
        while True:
            line = await self._line()
            # the SDK writes a response as {"jsonrpc":"2.0","id":N,...}; anything else
            # before it (a notification) is not the answer
            if b'"id":%d,' % n in line[:40]:
                return time.perf_counter() - started, line

    async def notify(self, method: str) -> None:
        await self._send({"method": method})

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        await self._process.stdin.send(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")

    async def _line(self) -> bytes:
        assert self._process.stdout is not None
        chunks = [self._rest]
        with anyio.fail_after(60):
            while b"\n" not in chunks[-1]:
                chunks.append(await self._process.stdout.receive(1 << 20))
        line, _, self._rest = b"".join(chunks).partition(b"\n")
        return line + b"\n"


@asynccontextmanager
async def raw_stdio(command: list[str]) -> AsyncIterator[RawStdio]:
    """A :class:`RawStdio` on the server ``command`` starts, initialized (2025-11-25)."""
    process = await anyio.open_process(
        command, stderr=subprocess.DEVNULL, env={**os.environ, "AGENTDECK_CONFIG": ""}
    )
    try:
        client = RawStdio(process)
        _, answer = await client.request(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "agentdeck-bench", "version": "0"},
            },
        )
        if "result" not in json.loads(answer):
            raise RuntimeError(f"{command}: initialize failed: {answer[:300]!r}")
        await client.notify("notifications/initialized")
        yield client
    finally:
        with anyio.move_on_after(5):  # anyio kills the process when this cuts the wait short
            await process.aclose()  # closes its pipes: at the end of its input it exits


def ts_client_missing() -> str | None:
    """Why bench/list_tools.mjs cannot run here (it needs node and tests/js's SDK), or None."""
    if shutil.which("node") is None:
        return "no `node` on PATH"
    if not TS_SDK.is_dir():
        return f"no TypeScript SDK at {TS_SDK} (npm ci --prefix tests/js)"
    return None


async def ts_list_tools(command: list[str], repeats: int) -> tuple[int, float, list[float]]:
    """tools/list at the official TypeScript SDK's client (bench/list_tools.mjs) on a fresh
    server: the tools seen, the first list's seconds, then ``repeats`` more lists' seconds."""
    done = await anyio.run_process(
        ["node", str(BENCH / "list_tools.mjs"), str(repeats), *command],
        env={**os.environ, "AGENTDECK_CONFIG": ""},
    )
    seen = json.loads(done.stdout)
    return seen["tools"], seen["first_ms"] / 1000, [m / 1000 for m in seen["ms"]]


@asynccontextmanager
async def agentdeck_session(
    name: str, config: Path, transport: str = "stdio", *, command: list[str] | None = None
) -> AsyncIterator[Session]:
    """agentdeck with a fresh local agent; ``chat`` reads the chat tool's schema for its params."""
    async with connect(
        name, command or agentdeck_command(config), transport, marker=str(config)
    ) as (
        client,
        pid,
    ):
        created = await client.call_tool("create_agent", {"backend": "local", "name": "bench"})
        ref = (created.structured_content or {})["ref"]
        tools = (await client.list_tools()).tools
        properties = next(t for t in tools if t.name == "chat").input_schema.get("properties", {})
        param = next((p for p in ("conversation", "conversation_id") if p in properties), None)
        yield Session(name, client, pid, {"agent": ref}, param)


@asynccontextmanager
async def reference_session(
    name: str, command: list[str], transport: str
) -> AsyncIterator[Session]:
    async with connect(name, command, transport) as (client, pid):
        yield Session(name, client, pid)


def fastmcp_python(venv: Path, install: bool) -> tuple[Path | None, str]:
    """FastMCP's throwaway venv (made on first use), or None and why it is not there."""
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import fastmcp, mcp, importlib.metadata as m; print(fastmcp.__version__, m.version('mcp'))",
    ]
    if not python.exists() and install:
        from importlib.metadata import version

        print(f"  (installing fastmcp beside mcp {version('mcp')} in {venv} ...)", file=sys.stderr)
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True
        )
        if made.returncode != 0:
            return None, f"could not create a venv: {made.stderr.strip()[-300:]}"
        pip = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "fastmcp",
                f"mcp=={version('mcp')}",
                "httpx2",
            ],
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            lines = [line for line in pip.stderr.splitlines() if not line.startswith("WARNING")]
            return None, "pip could not install fastmcp beside mcp 2.x: " + " ".join(lines[-3:])
    if not python.exists():
        return None, f"no venv at {venv} (run without --no-install to make one)"
    checked = subprocess.run(probe, capture_output=True, text=True)
    if checked.returncode != 0:
        return None, f"fastmcp does not import: {checked.stderr.strip().splitlines()[-1:]}"
    fastmcp_version, mcp_version = checked.stdout.split()
    return python, f"fastmcp {fastmcp_version} on mcp {mcp_version}"
