"""Helpers the tests share: settings for fakes, an in-memory MCP client, result checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, ElicitResult

from agentdeck.config import Settings, parse_settings
from agentdeck.server.app import build_server

FAST_HTTP = {"max_retries": 2, "retry_max_wait": 5, "timeout": 5, "stream_timeout": 10}


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


@asynccontextmanager
async def connect(settings: Settings, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    """An MCP client connected in memory to a fresh agentdeck server for ``settings``."""
    async with Client(build_server(settings), mode=mode, **kwargs) as client:  # type: ignore[arg-type]
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


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def accept(context: Any, params: Any) -> ElicitResult:
    """An elicitation callback that says yes to every question."""
    return ElicitResult(action="accept", content={"confirm": True})


async def decline(context: Any, params: Any) -> ElicitResult:
    """An elicitation callback that says no to every question."""
    return ElicitResult(action="decline")


def connect_confirming(settings: Settings, mode: str = "auto", **kwargs: Any):  # type: ignore[no-untyped-def]
    """Like :func:`connect`, with a client that says yes to confirmations unless told otherwise."""
    kwargs.setdefault("elicitation_callback", accept)
    return connect(settings, mode, **kwargs)
