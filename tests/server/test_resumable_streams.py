"""Resumable Streamable HTTP streams (issue 19.13, SEP-1699): a client whose connection
drops mid-chat reconnects with ``Last-Event-ID`` and receives the rest of the progress
and the result exactly once, from events kept in the database (SQLite and PostgreSQL).

Against a real ``agentdeck serve --transport http``, with a local agent on a model that
answers one word every 0.1 s: by hand over raw HTTP (priming event, ``retry:``, event
ids, the resume), and through the Python SDK client's own reconnection behind a proxy
that cuts every connection mid-chat, as a network drop would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import SocketStream, TaskStatus
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.streamable_http import EventMessage
from mcp.types import JSONRPCNotification, JSONRPCResponse

from agentdeck.server.transport import StreamEvents
from agentdeck.store import open_store
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.pg import fresh_schema_url
from tests.support import LOCAL_MODEL_CONFIG
from tests.test_end_to_end import http_server

pytestmark = pytest.mark.anyio

MESSAGE = "one two three four five six seven eight"
ANSWER = f"[tiny-llama] heard '{MESSAGE}' after 0 earlier messages"
PROTOCOL = "2025-11-25"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def slow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``agentdeck serve --transport http`` with a local agent answering a word per 0.1 s,
    on each store (an SQLite file, a fresh schema on the test PostgreSQL); one server
    per store for the module, every test in sessions and agents of its own."""
    directory = tmp_path_factory.mktemp("resumable")
    if request.param == "sqlite":
        database = str(directory / "agentdeck.db")
    else:
        database = fresh_schema_url(request.getfixturevalue("postgres_server"))
    fake = FakeOpenAI(models=["tiny-llama"], chunk_delay=0.1)
    with serve(fake.app) as model:
        config = directory / "agentdeck.toml"
        config.write_text(LOCAL_MODEL_CONFIG.format(database=database, model=model))
        with http_server(config) as base:
            yield base


def request(method: str, id: int, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


async def events_of(response: httpx2.Response) -> AsyncIterator[httpx2.ServerSentEvent]:
    async for event in httpx2.EventSource(response):
        yield event


class Session:
    """A 2025-11-25 session spoken by hand: every POST answers an SSE stream."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self.headers = dict(HEADERS)

    async def open(self) -> list[httpx2.ServerSentEvent]:
        hello = request(
            "initialize",
            0,
            protocolVersion=PROTOCOL,
            capabilities={},
            clientInfo={"name": "resumer", "version": "1"},
        )
        async with self.http.stream("POST", "/mcp", json=hello, headers=self.headers) as answer:
            self.headers["Mcp-Session-Id"] = answer.headers["mcp-session-id"]
            self.headers["Mcp-Protocol-Version"] = PROTOCOL
            opening = [event async for event in events_of(answer)]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await self.http.post("/mcp", json=note, headers=self.headers)).status_code == 202
        return opening

    async def call(self, id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        body = request("tools/call", id, name=tool, arguments=arguments)
        async with self.http.stream("POST", "/mcp", json=body, headers=self.headers) as answer:
            async for event in events_of(answer):
                if event.data and json.loads(event.data).get("id") == id:
                    return dict(json.loads(event.data)["result"]["structuredContent"])
        raise AssertionError(f"no answer to {tool}")

    @asynccontextmanager
    async def resume(self, last_event_id: str) -> AsyncIterator[httpx2.Response]:
        headers = {**self.headers, "Last-Event-ID": last_event_id}
        async with self.http.stream("GET", "/mcp", headers=headers) as answer:
            assert answer.status_code == 200
            yield answer


async def test_a_chat_stream_dropped_mid_chat_resumes_with_the_rest_exactly_once(
    slow_server: str,
) -> None:
    """19.13: priming event with an id and ``retry:``, ids on every message, and a resume
    from the last id seen that sends what followed (progress and result) once each."""
    async with httpx2.AsyncClient(base_url=slow_server, timeout=20) as http:
        session = Session(http)
        opening = await session.open()
        assert opening[0].id and opening[0].data == "" and opening[0].retry == 1000
        agent = await session.call(1, "create_agent", {"backend": "local", "name": "Slow"})
        arguments = {"agent": agent["ref"], "message": MESSAGE}
        chat = request(
            "tools/call", 2, name="chat", arguments=arguments, _meta={"progressToken": 1}
        )
        before: list[httpx2.ServerSentEvent] = []
        with anyio.fail_after(20):
            async with http.stream("POST", "/mcp", json=chat, headers=session.headers) as answer:
                async for event in events_of(answer):
                    before.append(event)
                    if len(before) == 3:  # the priming event and two progress notifications
                        break  # ... and the connection drops
            await anyio.sleep(0.2)  # the chat goes on while nobody listens
            async with session.resume(before[-1].id) as resumed:
                after = [event async for event in events_of(resumed)]

    priming, *sent = before
    assert priming.id and priming.data == "" and priming.retry == 1000
    assert [event.id for event in sent + after] == sorted(
        {event.id for event in sent + after}, key=number_of
    ), "every event once, in order"
    messages = [json.loads(event.data) for event in sent + after]
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    answers = [m for m in messages if m.get("id") == 2]
    assert [p["progress"] for p in progress] == list(range(1, len(progress) + 1))
    assert len(answers) == 1 and answers[0] is messages[-1]
    result = answers[0]["result"]["structuredContent"]
    assert (result["status"], result["text"]) == ("completed", ANSWER)
    assert "".join(p["message"] for p in progress) == ANSWER


async def test_an_event_id_of_another_session_replays_nothing(slow_server: str) -> None:
    """19.13: request ids repeat across sessions, so the events are kept per session; a
    ``Last-Event-ID`` from another session (or no id of ours) opens an empty stream."""
    async with httpx2.AsyncClient(base_url=slow_server, timeout=20) as http:
        first, second = Session(http), Session(http)
        await first.open()
        await second.open()
        listed = request("tools/list", 1)
        async with http.stream("POST", "/mcp", json=listed, headers=first.headers) as answer:
            ids = [event.id async for event in events_of(answer)]
        assert len(ids) == 2 and all(ids)  # the priming event and the answer
        with anyio.fail_after(10):
            for foreign in (ids[0], "not-an-id", "9" * 40):
                async with second.resume(foreign) as resumed:
                    assert [event async for event in events_of(resumed)] == []
            async with first.resume(ids[0]) as resumed:
                replayed = [event async for event in events_of(resumed)]
    assert [event.id for event in replayed] == ids[1:]


def number_of(event_id: str | None) -> int:
    """The number of an event on its stream (``<session mark>.<stream>.<n>``)."""
    assert event_id
    return int(event_id.rsplit(".", 1)[1])


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 whose open connections can all be cut at once."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self._open: set[anyio.CancelScope] = set()
        self.cuts = 0

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
            self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
            task_status.started()
            await listener.serve(self._carry)

    async def _carry(self, client: SocketStream) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", self.target) as upstream:
            with anyio.CancelScope() as scope:
                self._open.add(scope)
                async with anyio.create_task_group() as both:
                    both.start_soon(self._pipe, client, upstream, both.cancel_scope)
                    both.start_soon(self._pipe, upstream, client, both.cancel_scope)
            self._open.discard(scope)

    @staticmethod
    async def _pipe(source: SocketStream, sink: SocketStream, both: anyio.CancelScope) -> None:
        try:
            async for chunk in source:
                await sink.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        both.cancel()

    def cut(self) -> None:
        self.cuts += 1
        for scope in list(self._open):
            scope.cancel()


async def test_the_python_sdk_client_resumes_a_chat_after_its_connection_is_cut(
    slow_server: str,
) -> None:
    """19.13: the SDK client reconnects by itself with the last event id it saw (after the
    ``retry:`` wait) and the call completes, every progress notification heard once."""
    proxy = CuttingProxy(int(slow_server.rsplit(":", 1)[1]))
    heard: list[tuple[float, str | None]] = []
    first_word = anyio.Event()

    async def on_progress(step: float, total: float | None, message: str | None) -> None:
        heard.append((step, message))
        first_word.set()

    async with anyio.create_task_group() as tasks:
        await tasks.start(proxy.run)
        with anyio.fail_after(30):
            url = f"http://127.0.0.1:{proxy.port}/mcp"
            async with Client(streamable_http_client(url), mode="legacy") as client:
                made = await client.call_tool("create_agent", {"backend": "local", "name": "S"})
                agent = made.structured_content["ref"]  # type: ignore[index]

                async def cut_after_the_first_word() -> None:
                    await first_word.wait()
                    proxy.cut()

                tasks.start_soon(cut_after_the_first_word)
                answer = await client.call_tool(
                    "chat", {"agent": agent, "message": MESSAGE}, progress_callback=on_progress
                )
        tasks.cancel_scope.cancel()

    assert proxy.cuts == 1
    assert not answer.is_error
    result = answer.structured_content or {}
    assert (result["status"], result["text"]) == ("completed", ANSWER)
    assert [step for step, _ in heard] == list(range(1, len(heard) + 1))
    assert "".join(message or "" for _, message in heard) == ANSWER


async def test_stream_events_are_kept_per_session_and_pruned_after_their_retention(
    database: str,
) -> None:
    """19.13: both stores keep a stream's events in order, per session, and prune them."""
    async with open_store(database) as store:
        await store.add_stream_events([("s1", "2", '{"a": 1}'), ("s2", "2", '{"elsewhere": 1}')])
        await store.add_stream_events([("s1", "3", '{"other stream": 1}')])
        await store.add_stream_events([("s1", "2", '{"a": 2}')])
        rows = await store.stream_events_after("s1", "2", 0)
        assert [row["message"] for row in rows] == ['{"a": 1}', '{"a": 2}']
        assert rows[0]["seq"] < rows[1]["seq"]
        assert await store.stream_events_after("s1", "2", rows[0]["seq"]) == rows[1:]
        assert await store.prune_stream_events(3600) == 0
        await anyio.sleep(0.01)
        assert await store.prune_stream_events(0.005) == 4
        assert await store.stream_events_after("s1", "2", 0) == []


def progress(step: int) -> JSONRPCNotification:
    return JSONRPCNotification(
        jsonrpc="2.0",
        method="notifications/progress",
        params={"progressToken": 1, "progress": step},
    )


async def test_an_event_the_store_cannot_keep_is_skipped_by_a_replay(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """19.13: a failed write never reaches the SDK's message router (it would end the
    session): the message went out with its id, a warning says why it was not kept, and
    a replay sends every message that was, once, numbered as they were sent."""
    if database == ":memory:":
        database = str(tmp_path / "agentdeck.db")
    async with open_store(database) as store:
        events = StreamEvents(lambda: store, keep_seconds=60)
        session = events.for_session("s", lambda: False)
        priming = await session.store_event("1", None)
        first = await session.store_event("1", progress(1))
        await events.write_queued()
        with _table_away(database):
            second = await session.store_event("1", progress(2))
            await events.write_queued()
        answered = await session.store_event("1", JSONRPCResponse(jsonrpc="2.0", id=1, result={}))
        replayed: list[EventMessage] = []

        async def send(event: EventMessage) -> None:
            replayed.append(event)

        with anyio.fail_after(10):
            assert await session.replay_events_after(priming, send) is None
    assert [number_of(id) for id in (priming, first, second, answered)] == [0, 1, 2, 3]
    assert [event.event_id for event in replayed] == [first, answered]
    assert "could not keep 1 stream events for resumption" in caplog.text


@contextmanager
def _table_away(database: str) -> Iterator[None]:
    """The ``stream_events`` table renamed away (every write to it fails) for the block."""
    away, back = (
        f"ALTER TABLE {old} RENAME TO {new}"
        for old, new in (("stream_events", "set_aside"), ("set_aside", "stream_events"))
    )
    if database.endswith(".db"):
        with closing(sqlite3.connect(database, isolation_level=None)) as other:
            other.execute(away)
            yield
            other.execute(back)
        return
    import psycopg

    with psycopg.connect(database, autocommit=True) as other:
        other.execute(away)
        yield
        other.execute(back)


async def _never_called(event: EventMessage) -> None:
    raise AssertionError(event)


async def test_an_event_id_says_its_stream_and_number_and_priming_keeps_no_row(
    database: str,
) -> None:
    """A priming event keeps no row: its id (number 0) replays every event of that stream
    in its own session, and nothing in another session on the same stream. The session's
    GET stream, which it reopens, is primed at the number it reached. A stream id that
    is no plain request id is named by a digest and resumes the same way."""
    async with open_store(database) as store:
        events = StreamEvents(lambda: store, keep_seconds=60)
        session, other = (events.for_session(name, lambda: False) for name in ("s", "t"))
        replayed: list[EventMessage] = []

        async def send(event: EventMessage) -> None:
            replayed.append(event)

        for stream in ("7", "a request id. with dots and spaces"):
            replayed.clear()
            priming = await session.store_event(stream, None)
            await events.write_queued()
            assert await store.stream_events_after("s", stream, 0) == []
            noted = await session.store_event(stream, progress(1))
            answered = await session.store_event(
                stream, JSONRPCResponse(jsonrpc="2.0", id=7, result={})
            )
            await other.store_event(stream, progress(1))
            with anyio.fail_after(10):
                assert await session.replay_events_after(priming, send) is None
                assert await other.replay_events_after(priming, _never_called) is None
            assert [event.event_id for event in replayed] == [noted, answered]
            assert [number_of(id) for id in (priming, noted, answered)] == [0, 1, 2]
        await session.store_event("_GET_stream", progress(1))
        reopened = await session.store_event("_GET_stream", None)
        assert number_of(reopened) == 1
        assert await session.replay_events_after(reopened, _never_called) == "_GET_stream"


async def test_the_servers_writer_keeps_what_was_sent_without_a_replay(database: str) -> None:
    """Rows are written by the server's writer task soon after their messages went out,
    each stream's in the order sent, whether or not anyone resumes."""
    async with open_store(database) as store, anyio.create_task_group() as tasks:
        events = StreamEvents(lambda: store, keep_seconds=60)
        tasks.start_soon(events.keep_writing)
        session = events.for_session("s", lambda: False)
        for step in (1, 2, 3):
            await session.store_event("4", progress(step))
        for _ in range(1000):  # up to 10 s
            rows = await store.stream_events_after("s", "4", 0)
            if len(rows) == 3:
                break
            await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()
    steps = [json.loads(row["message"])["params"]["progress"] for row in rows]
    assert steps == [1, 2, 3]
