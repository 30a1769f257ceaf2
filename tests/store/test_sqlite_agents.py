"""An agent's row is kept between reads on SQLite (a chat reads its agent every turn), and
never outlives a change: this store's own, or one another process made to the file."""

from pathlib import Path

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
