"""The SDK floor for tools/list: a bare ``MCPServer`` with N tools shaped like agentdeck's
per-agent tools (same name, title, parameters and annotations, and like them no output
schema), each built the SDK's own way. Its start-up is the SDK's cost of registering N
tools.

python bench/bare_tools_server.py --tools N
"""

from __future__ import annotations

import argparse
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field


class RunState(BaseModel):
    """A chat run, as agentdeck's per-agent tools answer it (unpublished, like theirs)."""

    run_id: str
    status: str
    text: str


def _chat_function() -> Any:
    """A chat tool's function, one per tool like agentdeck's; never called by the bench."""

    async def chat_with_agent(
        ctx: Context,
        message: Annotated[str, Field(min_length=1, description="What to say.")],
        conversation: Annotated[
            str | None, Field(description="An earlier answer's ref, to continue.")
        ] = None,
        wait_seconds: Annotated[
            float,
            Field(ge=0, le=600, description='Seconds to wait; then status "running" and get_run.'),
        ] = 45,
    ) -> RunState:
        return RunState(run_id="run", status="completed", text="")

    return chat_with_agent


def build(tools: int) -> MCPServer:
    server = MCPServer("bare-tools", log_level="WARNING")  # as quiet as agentdeck
    for i in range(1, tools + 1):
        server.add_tool(
            _chat_function(),
            name=f"local_agent_{i}",
            title=f"Chat with agent {i}",
            description=f"The local agent local:{i:032x}.",  # agentdeck's: ref is a uuid hex
            annotations=ToolAnnotations(destructive_hint=False),
            structured_output=False,
        )
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", type=int, required=True)
    build(parser.parse_args().tools).run()
