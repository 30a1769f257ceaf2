"""The framework a user might pick instead: FastMCP with one ``chat`` tool making the same request.

Runs in a throwaway venv holding ``fastmcp`` (never the project's):

    <venv>/bin/python bench/fastmcp_server.py --model-url URL [--transport stdio|http] [--port N]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("FASTMCP_LOG_LEVEL", "ERROR")  # before fastmcp reads its settings

import httpx2
from fastmcp import Context, FastMCP
from upstream import complete


def build(model_url: str) -> FastMCP:
    server = FastMCP("fastmcp-bench")
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
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()
    server = build(args.model_url)
    if args.transport == "stdio":
        server.run("stdio", show_banner=False)
    else:
        server.run("http", host="127.0.0.1", port=args.port, show_banner=False, log_level="error")
