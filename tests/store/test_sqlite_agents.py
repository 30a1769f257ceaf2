"""An agent's row is kept between reads on SQLite (a chat reads its agent every turn), and
never outlives a change: this store's own, or one another process made to the file."""

import sqlite3
from pathlib import Path

import anyio
import pytest

from agentdeck.store import NewAgent, open_store

pytestmark = pytest.mark.anyio


async def test_a_kept_agent_row_follows_changes_made_here_and_by_another_process(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "shared.db")
    async with open_store(database) as here, open_store(database) as there:
        created = await here.create_agent(NewAgent("A", None, "Be kind.", "echo", {}))
        agent_id = created["id"]
        assert (await here.get_agent(agent_id) or {})["model"] == "echo"  # now kept

        await there.update_agent(agent_id, {"model": "openai"})
        assert (await here.get_agent(agent_id) or {})["model"] == "openai"

        await here.update_agent(agent_id, {"instructions": "Be brief."})
        assert (await here.get_agent(agent_id) or {})["instructions"] == "Be brief."
        assert (await there.get_agent(agent_id) or {})["instructions"] == "Be brief."

        kept = await here.get_agent(agent_id)
        assert kept is not None
        kept["name"] = "changed by a caller"  # a caller's copy, not the kept row
        assert (await here.get_agent(agent_id) or {})["name"] == "A"

        assert await here.get_agent(agent_id, "someone else") is None  # not theirs
        assert await there.delete_agent(agent_id)
        assert await here.get_agent(agent_id) is None


async def test_a_row_read_while_a_change_waits_on_a_locked_file_is_not_kept(
    tmp_path: Path,
) -> None:
    """The change waits (retrying) while another program holds the write lock; a read
    meanwhile sees the old row, and is forgotten once the change is written."""
    database = str(tmp_path / "shared.db")
    async with open_store(database) as store:
        agent_id = (await store.create_agent(NewAgent("A", None, None, "echo", {})))["id"]
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(store.update_agent, agent_id, {"model": "openai"})
                await anyio.sleep(0.05)  # the update is waiting for the lock
                assert (await store.get_agent(agent_id) or {})["model"] == "echo"
                holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert (await store.get_agent(agent_id) or {})["model"] == "openai"
