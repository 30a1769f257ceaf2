"""The SDK floor: a bare ``MCPServer`` with one ``chat`` tool making agentdeck's request.

python bench/bare_server.py --model-url URL [--transport stdio|http] [--port N]
"""

from __future__ import annotations

import argparse

import httpx2
from mcp.server.mcpserver import Context, MCPServer
from upstream import complete


def build(model_url: str) -> MCPServer:
    server = MCPServer("bare", log_level="WARNING")  # as quiet as agentdeck
    http = httpx2.AsyncClient(base_url=model_url, timeout=300)

    @server.tool()
    async def chat(message: str, ctx: Context) -> dict[str, str]:
        """Send a message to the model and return its answer."""

        async def progress(step: int, delta: str) -> None:
            await ctx.report_progress(step, message=delta)

        return {"text": await complete(http, message, progress)}

    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-url", required=True)
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    server = build(args.model_url)
    if args.transport == "stdio":
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)
