"""Processes sharing a database while one joins or the database goes away mid-chat: no
live run is reported failed, and no run's final status changes afterwards."""

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import anyio
import httpx2
import psycopg
import pytest

from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.runs.replicas import SLOW_MODEL_CONFIG, client, replica_processes
from tests.support import call_ok, ok

pytestmark = pytest.mark.anyio


@pytest.fixture
def held_model() -> Iterator[tuple[threading.Event, str]]:
    """A model that says its first word, then waits until the test sets the event."""
    release = threading.Event()
    fake = FakeOpenAI(hold=release)
    with serve(fake.app) as url:
        try:
            yield release, url
        finally:
            release.set()  # no stream is left waiting when the server stops


async def start_chats(bases: list[str]) -> list[str]:
    """One running chat on each replica (the agent created on the first); the runs' ids."""
    runs = []
    agent: str | None = None
    for base in bases:
        async with client(base) as replica:
            if agent is None:
                created = await replica.call_tool("create_agent", {"backend": "local", "name": "A"})
                agent = ok(created)["ref"]
            chat = {"agent": agent, "message": f"on {base}", "wait_seconds": 0}
            started = await call_ok(replica, "chat", chat)
            assert started["status"] == "running"
            runs.append(started["run_id"])
    return runs


async def test_a_process_joining_a_sqlite_file_mid_chat_fails_none_of_the_others_runs(
    tmp_path: Path, held_model: tuple[threading.Event, str]
) -> None:
    """18.4 (SQLite): a newcomer marked every ``running`` row failed at start, the live runs
    of the processes already on the file included; their own end flipped them back later."""
    database = tmp_path / "shared.db"
    config = tmp_path / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG)
    release, model = held_model
    env = {"AGENTDECK_TEST_MODEL": model}
    with replica_processes(config, str(database), 2, env) as old, anyio.fail_after(60):
        runs = await start_chats([base for _, base in old])
        with replica_processes(config, str(database), 1, env) as ((_, newcomer),):
            statuses = run_statuses(database)
            assert statuses == dict.fromkeys(runs, "running")  # not 'failed' by the newcomer
            release.set()
            ended = []
            for run, (_, owner) in zip(runs, old, strict=True):  # SQLite: runs are per process
                async with client(owner) as on_owner:
                    wait = {"run_id": run, "wait_seconds": 20}
                    ended.append(await call_ok(on_owner, "get_run", wait))
            async with client(newcomer) as on_new:
                conversation = {"conversation": ended[0]["conversation"]}
                transcript = await call_ok(on_new, "get_conversation", conversation)
    assert len(transcript["messages"]) == 2  # the question and the answer, nothing lost
    assert [run["status"] for run in ended] == ["completed"] * 2
    assert run_statuses(database) == dict.fromkeys(runs, "completed")


def run_statuses(database: Path) -> dict[str, str]:
    with closing(sqlite3.connect(database)) as reader:
        return dict(reader.execute("SELECT id, status FROM runs").fetchall())


@contextmanager
def own_database(server: str) -> Iterator[tuple[str, str]]:
    """A database of its own on the session's server (its name, its URL), dropped after."""
    name = f"outage_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield name, server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def cut_off(server: str, name: str, seconds: float) -> None:
    """An outage of ``name``: every connection to it closed, none accepted for ``seconds``."""
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        time.sleep(seconds)
        admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")


async def test_an_outage_longer_than_the_lease_fails_no_live_replicas_run(
    postgres_server: str, tmp_path: Path, held_model: tuple[threading.Event, str]
) -> None:
    """18.4: the first replica back took the others' leases, run out during the outage, for
    stopped replicas; their followers were told ``failed`` and their owners later wrote
    ``completed`` over it. (The lease is 2 s, the outage 2.5 s, and the chats go on for a
    second after it.)"""
    config = tmp_path / "agentdeck.toml"
    config.write_text(SLOW_MODEL_CONFIG)
    release, model = held_model
    env = {"AGENTDECK_TEST_MODEL": model}
    with (
        own_database(postgres_server) as (name, url),
        replica_processes(config, url, 2, env) as started,
        anyio.fail_after(60),
    ):
        bases = [base for _, base in started]
        runs = await start_chats(bases)
        await anyio.to_thread.run_sync(cut_off, postgres_server, name, 2.5)
        await anyio.sleep(1)
        assert pg_statuses(url) == ["running"] * 2  # not 'failed' by the first replica back
        release.set()
        ended = []
        for run, other in zip(runs, reversed(bases), strict=True):  # followed elsewhere
            async with client(other) as follower:
                wait = {"run_id": run, "wait_seconds": 20}
                ended.append(await call_ok(follower, "get_run", wait))
        assert httpx2.get(f"{bases[0]}/healthz", timeout=5).status_code == 200
        statuses = pg_statuses(url)
    assert [(run["status"], run.get("error")) for run in ended] == [("completed", None)] * 2
    assert statuses == ["completed"] * 2


def pg_statuses(url: str) -> list[str]:
    with psycopg.connect(url) as reader:
        rows = reader.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    return [status for (status,) in rows]
