"""Helpers the tests share: settings for fakes, an in-memory MCP client, result checks."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from subprocess import CompletedProcess, run
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitResult
from pydantic import SecretStr

from agentdeck.config import Settings, parse_settings
from agentdeck.server import build_server

#: A 2025-11-25 client's first request, for tests speaking raw JSON-RPC over HTTP.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
#: An agentdeck config: its database, and a local backend on the fake model at ``{model}``.
LOCAL_MODEL_CONFIG = """
[server]
database = "{database}"

[backends.local]
kind = "local"
model = "tiny-llama"
openai_base_url = "{model}/v1"
"""
FAST_HTTP = {"max_retries": 2, "retry_max_wait": 5, "timeout": 5, "stream_timeout": 10}


def run_agentdeck(*args: str, timeout: float = 30, **kwargs: Any) -> CompletedProcess[str]:
    """``python -m agentdeck <args>`` in a process of its own, its output captured as text."""
    command = [sys.executable, "-m", "agentdeck", *args]
    return run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def make_settings(
    backends: dict[str, dict[str, Any]] | None = None,
    *,
    server: dict[str, Any] | None = None,
    local: dict[str, Any] | None = None,
    database: str = ":memory:",
) -> Settings:
    """Settings with a local backend on the echo model, plus ``backends``; everything
    durable in ``database`` (in-memory SQLite unless told otherwise)."""
    raw: dict[str, Any] = {
        "server": {"database": database, **(server or {})},
        "backends": {
            "local": {"kind": "local", "model": "echo", **(local or {})},
            **(backends or {}),
        },
    }
    return parse_settings(raw, source="test", environ={})


def model_settings(
    model_url: str, model: str = "slow", database: str = ":memory:", **local: Any
) -> Settings:
    """Settings with a local backend on the fake OpenAI-compatible model at ``model_url``
    (tests/fakes/openai.py: slow when its ``chunk_delay`` says so), named ``model``."""
    return make_settings(
        local={
            "model": "openai",
            "openai_base_url": f"{model_url}/v1",
            "openai_model": model,
            **FAST_HTTP,
            **local,
        },
        database=database,
    )


class BuiltServers:
    """agentdeck servers already built, lent to one connection at a time.

    Building the server (describing every tool) costs about 0.1 s of CPU per test,
    connecting almost nothing; so a test module reuses the server built for the
    same settings (the ``built_servers`` fixture empties this at each module's end).
    Each connection still runs the server's lifespan: its own registry, store, runs
    and agent tools. Servers whose tool list can change while connected (exposed
    agents become tools) are never reused, so no test sees another's tools.
    """

    def __init__(self) -> None:
        self._idle: list[tuple[Settings, MCPServer[Any]]] = []

    @contextmanager
    def lend(self, settings: Settings) -> Iterator[MCPServer[Any]]:
        same = next(
            (i for i, (built_for, _) in enumerate(self._idle) if built_for == settings), None
        )
        server = build_server(settings) if same is None else self._idle.pop(same)[1]
        yield server
        if not any(getattr(b, "expose_agents", False) for b in settings.backends.values()):
            self._idle.append((settings.model_copy(deep=True), server))

    def clear(self) -> None:
        self._idle.clear()


BUILT_SERVERS = BuiltServers()


#: A copy of a secret is a leak from this many characters on (agentdeck redacts prefixes).
SECRET_PREFIX = 8


class Outputs:
    """What agentdeck sent to the test clients of one test: results, errors, progress.

    :func:`connect` records into it, with the secrets of the settings it served, and the
    ``no_secret_leaves`` fixture (tests/conftest.py) checks it after every test, with the
    log records: no configured secret, nor its first 8 characters, may appear.
    """

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.texts: list[str] = []

    def reset(self) -> None:
        self.secrets.clear()
        self.texts.clear()

    def watch(self, settings: Settings) -> None:
        for backend in settings.backends.values():
            for value in backend.__dict__.values():
                if isinstance(value, SecretStr) and len(value.get_secret_value()) >= SECRET_PREFIX:
                    self.secrets.add(value.get_secret_value())

    def leaks(self, *more: str) -> list[str]:
        found = []
        for secret in self.secrets:
            for text in [*self.texts, *more]:
                if secret[:SECRET_PREFIX] in text:
                    at = text.index(secret[:SECRET_PREFIX])
                    found.append(text[max(0, at - 60) : at + 20])
        return found


OUTPUTS = Outputs()


def _recorded(client: Client) -> None:
    """Record every result and progress message ``client`` receives into ``OUTPUTS``."""
    call_tool = client.call_tool

    async def recording_call_tool(name: str, arguments: Any = None, **kwargs: Any) -> Any:
        progress = kwargs.get("progress_callback")

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            OUTPUTS.texts.append(message or "")
            if progress is not None:
                await progress(done, total, message)

        kwargs["progress_callback"] = on_progress
        result = await call_tool(name, arguments, **kwargs)
        OUTPUTS.texts.append(result.model_dump_json())
        return result

    client.call_tool = recording_call_tool  # type: ignore[method-assign]


@asynccontextmanager
async def connect(settings: Settings, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    """An MCP client connected in memory to an agentdeck server for ``settings``, with a
    lifespan (registry, store, runs) of its own; what it receives is swept for secrets."""
    OUTPUTS.watch(settings)
    with BUILT_SERVERS.lend(settings) as server:
        async with Client(server, mode=mode, **kwargs) as client:  # type: ignore[arg-type]
            _recorded(client)
            yield client


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call; fails the test with the error text otherwise."""
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    return result.structured_content


def conversation_id(result: dict[str, Any]) -> str:
    """The platform id inside a chat result's conversation ref ('<backend>:<id>')."""
    return result["conversation"].split(":", 1)[1]


def error_text(result: CallToolResult) -> str:
    """The error text of a failed call; fails the test if the call succeeded."""
    assert result.is_error, f"expected an error, got {result.structured_content}"
    return _text(result)


async def call_ok(client: Client, tool: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call ``tool`` and return its structured result; the call must succeed (``ok``)."""
    return ok(await client.call_tool(tool, *args, **kwargs))


async def call_error(client: Client, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call ``tool`` and return its error text; the call must fail (``error_text``)."""
    return error_text(await client.call_tool(tool, *args, **kwargs))


async def call_once(
    settings: Settings, tool: str, arguments: dict[str, Any], mode: str = "auto", **connect_to: Any
) -> dict[str, Any]:
    """One call that must succeed, by a client connected for it alone (``connect_to`` goes to
    :func:`connect`); its structured result."""
    async with connect(settings, mode, **connect_to) as client:
        return await call_ok(client, tool, arguments)


async def error_once(
    settings: Settings, tool: str, arguments: dict[str, Any], mode: str = "auto", **connect_to: Any
) -> str:
    """One call that must fail, by a client connected for it alone; its error text."""
    async with connect(settings, mode, **connect_to) as client:
        return await call_error(client, tool, arguments)


async def two_turns(
    client: Client, agent: str, first: str, second: str, then: Client | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two chat turns with ``agent`` in one conversation, the second through ``then`` (a
    client of another server) when given."""
    one = await call_ok(client, "chat", {"agent": agent, "message": first})
    arguments = {"agent": agent, "message": second, "conversation": one["conversation"]}
    return one, await call_ok(then or client, "chat", arguments)


async def local_agent(client: Client) -> str:
    """The ref of a new local agent on the backend's default model."""
    agent = await call_ok(client, "create_agent", {"backend": "local", "name": "A"})
    return str(agent["ref"])


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def accept(context: Any, params: Any) -> ElicitResult:
    """An elicitation callback that says yes to every question."""
    return ElicitResult(action="accept", content={"confirm": True})


def answering(content: dict[str, Any], asked: list[str]) -> Any:
    """An elicitation callback that accepts with ``content`` and notes each question in ``asked``."""

    async def callback(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content=content)

    return callback


async def decline(context: Any, params: Any) -> ElicitResult:
    """An elicitation callback that says no to every question."""
    return ElicitResult(action="decline")


async def call_confirmed(
    settings: Settings, tool: str, arguments: dict[str, Any], mode: str = "auto"
) -> dict[str, Any]:
    """Like :func:`call_once`, by a client that says yes to confirmations."""
    return await call_once(settings, tool, arguments, mode, elicitation_callback=accept)


def connect_confirming(settings: Settings, mode: str = "auto", **kwargs: Any):  # type: ignore[no-untyped-def]
    """Like :func:`connect`, with a client that says yes to confirmations unless told otherwise."""
    kwargs.setdefault("elicitation_callback", accept)
    return connect(settings, mode, **kwargs)


@asynccontextmanager
async def connect_asked(
    settings: Settings, mode: str = "auto"
) -> AsyncIterator[tuple[Client, list[str]]]:
    """Like :func:`connect_confirming`, with the questions the client was asked, in order,
    for tests that check what agentdeck asks before it acts."""
    asked: list[str] = []
    callback = answering({"confirm": True}, asked)
    async with connect(settings, mode, elicitation_callback=callback) as client:
        yield client, asked
