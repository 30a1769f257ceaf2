"""kill -9 in the middle of chats loses nothing that was answered, and leaves the database
intact: agentdeck commits a turn before it answers."""

import random
import sqlite3
from pathlib import Path
from typing import Any

from tests.reliability.subprocesses import StdioServer, exit_code_within

KILLS = 3
CHATS_PER_LIFE = 24  # sent at once, so some are always in flight at the kill
CONFIG = """
[backends.local]
kind = "local"
database = "{database}"
model = "echo"
"""


def test_every_answered_turn_survives_kill_9_at_random_points(tmp_path: Path) -> None:
    database = tmp_path / "local.db"
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG.format(database=database))
    chance = random.Random()
    answered: dict[str, str] = {}  # the user message -> the conversation ref it was answered in
    agent: str | None = None
    for life in range(KILLS):
        server = StdioServer(config)
        try:
            server.initialize()
            if agent is None:
                agent = server.tool("create_agent", {"backend": "local", "name": "Durable"})["ref"]
            sent = {}
            for turn in range(CHATS_PER_LIFE):
                message = f"life {life} turn {turn}"
                arguments = {"agent": agent, "message": message}
                sent[server.send("tools/call", {"name": "chat", "arguments": arguments})] = message
            for _ in range(chance.randint(1, CHATS_PER_LIFE - 1)):
                reply = server.next_answer()
                assert reply is not None, server.stderr()
                result: dict[str, Any] = reply["result"]
                assert not result.get("isError"), result
                answered[sent[reply["id"]]] = result["structuredContent"]["conversation"]
        finally:
            server.process.kill()
            exit_code_within(server.process, 10)

    server = StdioServer(config)
    try:
        server.initialize()
        for message, conversation in answered.items():
            transcript = server.tool("get_conversation", {"conversation": conversation})
            contents = [m["content"] for m in transcript["messages"]]
            assert contents == [message, f"You said: {message}"], (message, contents)
    finally:
        server.stdin.close()
        exit_code_within(server.process, 10)
    assert len(answered) >= KILLS
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
