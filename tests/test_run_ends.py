"""A run whose end cannot be written: the server stays up, the run ends in memory and
says so, and the end is written once the database takes it again."""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import anyio
import pytest

from tests.fakes.base import serve
from tests.fakes.make import SEED_AGENT_ID, FakeMake
from tests.support import FAST_HTTP, connect, make_settings, ok

pytestmark = pytest.mark.anyio


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Another program (a DB browser, a backup) holding the file's write lock."""
    with closing(sqlite3.connect(database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def run_row(database: Path, run_id: str) -> tuple[str, str]:
    with closing(sqlite3.connect(database)) as reader:
        row = reader.execute("SELECT status, text FROM runs WHERE id = ?", (run_id,)).fetchone()
    return row


async def test_a_run_ending_while_the_database_is_locked_ends_in_memory_and_is_written_later(
    tmp_path: Path,
) -> None:
    """18.1, 18.5: writing the end raises (the lock outlasts busy_timeout); the server keeps
    answering, get_run gets the run's end with a warning, and the row, left ``running``
    meanwhile, is written once the lock is gone."""
    database = tmp_path / "agentdeck.db"
    fake = FakeMake(delay=0.8)
    with serve(fake.app) as url:
        ops = {"kind": "make", "base_url": f"{url}/api/v2", "token": fake.token, "team_id": 1}
        # a long lease: no renewal (which would wait on the lock too) during the test
        settings = make_settings(
            {"ops": {**ops, **FAST_HTTP}}, server={"lease_seconds": 60}, database=str(database)
        )
        async with connect(settings) as client:
            with anyio.fail_after(20):
                started = ok(
                    await client.call_tool(
                        "chat",
                        {"agent": f"ops:{SEED_AGENT_ID}", "message": "hi", "wait_seconds": 0},
                    )
                )
                run_id = started["run_id"]
                with write_locked(database):
                    ended = ok(
                        await client.call_tool("get_run", {"run_id": run_id, "wait_seconds": 15})
                    )
                    assert run_row(database, run_id)[0] == "running"
                assert ok(await client.call_tool("list_backends", {}))["backends"]
                # the end is retried in the background; the row is read from another connection
                while run_row(database, run_id)[0] == "running":  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                again = ok(await client.call_tool("get_run", {"run_id": run_id}))
    assert ended["status"] == "completed" and ended["text"]
    assert any("not saved to the database yet" in w for w in ended["warnings"])
    assert run_row(database, run_id) == ("completed", ended["text"])
    assert again["status"] == "completed"
