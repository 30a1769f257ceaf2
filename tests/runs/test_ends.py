"""A run whose end cannot be written: the server stays up, the run ends in memory and
says so, and the end is written once the database takes it again."""

import gc
import sqlite3
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from agentdeck.runs import LeaseStore
from agentdeck.store import RunEnd, RunStart, Store, open_store
from agentdeck.store.postgres_leases import PostgresLeases
from agentdeck.store.sqlite import SqliteStore
from tests.fakes.base import Served
from tests.fakes.make import SEED_AGENT_ID, FakeMake
from tests.fakes.openai import FakeOpenAI
from tests.support import FAST_HTTP, call_ok, connect, local_agent, make_settings

pytestmark = pytest.mark.anyio

#: the error a process writes on the runs of one it took for stopped
STOPPED = "the replica running this chat stopped; send the message again."


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
    served: Served,
    tmp_path: Path,
) -> None:
    """18.1, 18.5: writing the end raises (the lock outlasts busy_timeout); the server keeps
    answering, get_run gets the run's end with a warning, and the row, left ``running``
    meanwhile, is written once the lock is gone."""
    database = tmp_path / "agentdeck.db"
    fake = FakeMake(delay=0.8)
    url = served(fake)
    ops = {"kind": "make", "base_url": f"{url}/api/v2", "token": fake.token, "team_id": 1}
    # a long lease: no renewal (which would wait on the lock too) during the test
    settings = make_settings(
        {"ops": {**ops, **FAST_HTTP}}, server={"lease_seconds": 60}, database=str(database)
    )
    async with connect(settings) as client:
        with anyio.fail_after(20):
            started = await call_ok(
                client,
                "chat",
                {"agent": f"ops:{SEED_AGENT_ID}", "message": "hi", "wait_seconds": 0},
            )
            run_id = started["run_id"]
            with write_locked(database):
                ended = await call_ok(client, "get_run", {"run_id": run_id, "wait_seconds": 15})
                assert run_row(database, run_id)[0] == "running"
            assert (await call_ok(client, "list_backends", {}))["backends"]
            # the end is retried in the background; the row is read from another connection
            while run_row(database, run_id)[0] == "running":  # noqa: ASYNC110
                await anyio.sleep(0.05)
            again = await call_ok(client, "get_run", {"run_id": run_id})
    assert ended["status"] == "completed" and ended["text"]
    assert any("not saved to the database yet" in w for w in ended["warnings"])
    assert run_row(database, run_id) == ("completed", ended["text"])
    assert again["status"] == "completed"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database another program can write to meanwhile: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "agentdeck.db")
    return request.getfixturevalue("postgres_url")


def end_as_another_process_would(database: str, run_id: str) -> None:
    """What a process that took this one for stopped writes (agentdeck.runs._leases)."""
    if database.endswith(".db"):
        with closing(sqlite3.connect(database, isolation_level=None)) as other:
            other.execute(
                "UPDATE runs SET status = 'failed', error = ? WHERE id = ?", (STOPPED, run_id)
            )
        return
    import psycopg

    with psycopg.connect(database, autocommit=True) as other:
        other.execute(
            "UPDATE runs SET status = 'failed', error = %(error)s, snapshot = snapshot ||"
            " jsonb_build_object('status', 'failed', 'error', %(error)s::text) WHERE id = %(id)s",
            {"error": STOPPED, "id": run_id},
        )


def stored_end(database: str, run_id: str) -> tuple[str, str]:
    query = "SELECT status, error FROM runs WHERE id = "
    if database.endswith(".db"):
        with closing(sqlite3.connect(database)) as reader:
            return reader.execute(query + "?", (run_id,)).fetchone()
    import psycopg

    with psycopg.connect(database) as reader:
        row = reader.execute(query + "%s", (run_id,)).fetchone()
    assert row is not None
    return row


async def test_a_run_another_process_already_ended_keeps_that_end(
    served: Served, shared_database: str
) -> None:
    """18.4 (fencing): a process whose lease ran out (cut off from the database) may find
    its run failed by another when it gets back; its own end must not overwrite that
    (the row's final status never changes), and it reports the run failed as well."""
    release = threading.Event()
    url = served(FakeOpenAI(hold=release))
    local = {"model": "openai", "openai_base_url": f"{url}/v1", **FAST_HTTP}
    settings = make_settings(local=local, database=shared_database)
    async with connect(settings) as client:
        agent = await local_agent(client)
        chat = {"agent": agent, "message": "hi", "wait_seconds": 0}
        run_id = (await call_ok(client, "chat", chat))["run_id"]
        end_as_another_process_would(shared_database, run_id)
        release.set()
        with anyio.fail_after(10):
            ended = await call_ok(client, "get_run", {"run_id": run_id, "wait_seconds": 9})
    assert ended["status"] == "failed" and "took the chat as stopped" in ended["error"]
    assert stored_end(shared_database, run_id) == ("failed", STOPPED)


@asynccontextmanager
async def leases_of(database: str, store: Store) -> AsyncIterator[LeaseStore]:
    """The lease table of ``database`` as agentdeck keeps it (PostgreSQL: its own connection)."""
    if database == ":memory:":
        assert isinstance(store, SqliteStore)
        yield store
        return
    async with PostgresLeases.open(database) as leases:
        yield leases


async def test_a_renewal_and_a_lease_given_back_at_once_share_one_connection(
    postgres_url: str,
) -> None:
    """A server stopping while its lease connection is being reopened gives the lease back
    as the renewal reconnects: both wait for one connection, and none is left open for
    the garbage collector to find (it was: each opened one, the first one orphaned)."""
    async with open_store(postgres_url):  # the schema
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with PostgresLeases.open(postgres_url) as leases, anyio.create_task_group() as group:
            group.start_soon(leases.renew_lease, "stopping", 60)
            group.start_soon(leases.drop_lease, "stopping")
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed


async def test_no_write_changes_a_final_run_and_only_ownerless_runs_fail(database: str) -> None:
    """18.4: a run's final status never changes once written (the SQL refuses), and the runs
    failed for a stopped owner are those whose owner holds no live lease."""
    async with open_store(database) as store, leases_of(database, store) as leases:
        await leases.renew_lease("alive", 60)
        await leases.renew_lease("gone", 0)
        for run_id, owner in [("done", "alive"), ("live", "alive"), ("orphan", "gone")]:
            await store.record_run_start(
                RunStart(
                    run_id=run_id,
                    backend="make",
                    agent_id="a",
                    conversation_id="c",
                    message=run_id,
                    owner=owner,
                )
            )
        first = await store.record_run_end(
            RunEnd("done", status="completed", text="ok", error=None, conversation_id=None)
        )
        await anyio.sleep(0.01)  # the zero-second lease is over on the database's clock
        failed = await leases.fail_runs_of_expired_replicas(STOPPED)
        again = await store.record_run_end(
            RunEnd("done", status="failed", text="", error="late", conversation_id=None)
        )
        late = await store.record_run_end(
            RunEnd("orphan", status="completed", text="late", error=None, conversation_id=None)
        )
        rows = {r["id"]: (r["status"], r["error"]) for r in await store.history_runs("make", "c")}
    assert (first, again, late) == (True, False, False)
    assert failed == ["orphan"]
    assert rows == {
        "done": ("completed", None),
        "live": ("running", None),
        "orphan": ("failed", STOPPED),
    }


async def test_an_end_with_its_start_writes_the_whole_row_once(database: str) -> None:
    """A run that ends before its id is handed out has its row written whole, with its end;
    a start written after that, or twice, changes nothing; an end over a written start
    ends that row, and only once."""
    quick = RunStart(
        run_id="quick",
        backend="make",
        agent_id="a",
        conversation_id="c",
        message="hi",
        owner=None,
        principal=None,
        started_at=datetime.now(UTC),
    )
    slow = replace(quick, run_id="slow", message="hello")
    async with open_store(database) as store:
        whole = await store.record_run_end(
            RunEnd(
                "quick",
                status="completed",
                text="ok",
                error=None,
                conversation_id=None,
                start=quick,
            )
        )
        await store.record_run_start(quick)
        await store.record_run_start(slow)
        await store.record_run_start(slow)
        over = await store.record_run_end(
            RunEnd("slow", status="failed", text="", error="x", conversation_id=None, start=slow)
        )
        again = await store.record_run_end(
            RunEnd(
                "slow",
                status="completed",
                text="late",
                error=None,
                conversation_id=None,
                start=slow,
            )
        )
        rows = {
            r["id"]: (r["status"], r["message"], r["text"], r["error"])
            for r in await store.history_runs("make", "c")
        }
    assert (whole, over, again) == (True, True, False)
    assert rows == {"quick": ("completed", "hi", "ok", None), "slow": ("failed", "hello", "", "x")}
