"""The one request every contender makes: a streamed chat completion, one progress per delta.

Shared by the reference servers (bare_server.py, fastmcp_server.py) so they do
exactly what agentdeck's local backend does for a chat: POST /chat/completions
with ``stream: true`` on a pooled httpx2 client, read the SSE answer to its end,
and report each text delta as a progress notification. Imports only httpx2, so
it runs in the project's venv and in FastMCP's throwaway venv alike.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx2

Progress = Callable[[int, str], Awaitable[None]]


def body_for(message: str) -> dict[str, object]:
    return {
        "model": "bench",
        "messages": [{"role": "user", "content": message}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def complete(http: httpx2.AsyncClient, message: str, progress: Progress) -> str:
    """The model's answer to ``message``; ``progress(step, delta)`` for each text delta."""
    parts: list[str] = []
    async with http.stream("POST", "/chat/completions", json=body_for(message)) as response:
        response.raise_for_status()
        async for event in httpx2.EventSource(response):
            if event.data.strip() == "[DONE]":
                continue
            for choice in json.loads(event.data).get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    parts.append(delta)
                    await progress(len(parts), delta)
    return "".join(parts)
