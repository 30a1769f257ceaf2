"""Drive agentdeck with the MCP Python SDK: start it over stdio, create an agent, chat twice.

    python examples/chat_with_local_agent.py

Uses a throwaway database and the offline `echo` model, so it needs no account and no
model server. Point `CONFIG` at your own file to talk to real backends.
"""

import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


async def main() -> None:
    folder = Path(tempfile.mkdtemp())
    config = folder / "agentdeck.toml"
    config.write_text(f'[backends.local]\nkind = "local"\ndatabase = "{folder / "local.db"}"\n')
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "agentdeck", "serve", "--config", str(config)]
    )
    async with Client(server) as client:
        agent = await client.call_tool(
            "create_agent",
            {"backend": "local", "name": "Parrot", "model": "echo", "instructions": "Repeat."},
        )
        ref = agent.structured_content["ref"]
        print("created", ref)

        async def show_progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  … {message}")

        first = await client.call_tool(
            "chat", {"agent": ref, "message": "hello there"}, progress_callback=show_progress
        )
        conversation = first.structured_content["conversation"]  # a ref, 'local:<id>'
        second = await client.call_tool(
            "chat", {"agent": ref, "message": "and again", "conversation": conversation}
        )
        print("reply:", second.structured_content["text"])
        conversation_id = conversation.split(":", 1)[1]
        transcript = await client.read_resource(
            f"agentdeck://local/conversations/{conversation_id}"
        )
        print(transcript.contents[0].text)


if __name__ == "__main__":
    anyio.run(main)
