"""Per-user platform credentials (issue 23.3, tested as 23.4 asks): each user connects
their own key to a ``credentials = "per_user"`` backend through agentdeck's page.

agentdeck is served over real HTTP on 127.0.0.1 with the SDK's own authentication
middleware and a test token verifier mapping two fixed bearer tokens to two principals
(alice and bob); the Make fake accepts each user's platform key and records the
Authorization header of every request.
"""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from agentdeck import credentials
from agentdeck.cli import check_backends
from agentdeck.config import Settings
from agentdeck.errors import ConfigError
from agentdeck.server import build_server
from agentdeck.server.transport import build_http_app
from tests.fakes.base import serve
from tests.fakes.make import SEED_AGENT_ID, SEED_TEAM_ID, FakeMake
from tests.owners import USERS, with_users
from tests.support import FAST_HTTP, OUTPUTS, call_ok, connect, error_text, make_settings, ok

pytestmark = pytest.mark.anyio

SECRET_KEY = "a-secret-key-of-at-least-32-characters!"
KEYS = {"alice": "alice-make-key-0001", "bob": "bob-make-key-0002"}


@pytest.fixture
def make() -> Iterator[tuple[FakeMake, str]]:
    fake = FakeMake(token="the-config-has-no-key", user_tokens=set(KEYS.values()))
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores, SQLite in a file (its bytes are searched for the keys)."""
    if request.param == "sqlite":
        return str(tmp_path / "agentdeck.db")
    return str(request.getfixturevalue("postgres_url"))


def per_user_settings(make_url: str, database: str) -> Settings:
    backend = {
        "kind": "make",
        "base_url": f"{make_url}/api/v2",
        "team_id": SEED_TEAM_ID,
        "credentials": "per_user",
        **FAST_HTTP,
    }
    return make_settings(
        {"mine": backend, "theirs": backend},
        server={"secret_key": SECRET_KEY},
        database=database,
    )


@asynccontextmanager
async def deployment(settings: Settings, *, stateless: bool = False) -> AsyncIterator[str]:
    """agentdeck over Streamable HTTP behind the SDK's OAuth middleware; its URL."""
    OUTPUTS.watch(settings)
    server = build_server(settings, stateless=stateless)
    app = build_http_app(server, host="127.0.0.1", token=None, stateless=stateless)
    app = with_users(app)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn only has a flag)
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
    sock.close()


@dataclass
class Browser:
    """A user in front of the connect page: opens each link, enters ``key`` and posts it."""

    key: str | None = None
    links: list[str] = field(default_factory=list)

    async def open(self, url: str) -> httpx2.Response:
        """GET the page, then post its form with ``key``; the post's answer."""
        self.links.append(url)
        async with httpx2.AsyncClient(timeout=10) as http:
            page = await http.get(url)
            assert page.status_code == 200, page.text
            state = re.search(r'name="state" value="([^"]+)"', page.text)
            assert state is not None and 'type="password"' in page.text
            return await http.post(url, data={"state": state.group(1), "key": self.key or ""})

    async def elicited(self, context: Any, params: Any) -> ElicitResult:
        """The 2025-11-25 client's elicitation callback: open the link, then accept."""
        assert params.mode == "url"
        assert self.key is not None, "no key to enter"
        answer = await self.open(params.url)
        assert answer.status_code == 200, answer.text
        return ElicitResult(action="accept")


@asynccontextmanager
async def user(base: str, name: str, mode: str, browser: Browser | None) -> AsyncIterator[Client]:
    """``name``'s MCP client; with a ``browser``, one that takes elicitations."""
    headers = {"Authorization": f"Bearer {USERS[name]}"}
    async with (
        httpx2.AsyncClient(timeout=30, headers=headers) as http,
        Client(
            streamable_http_client(f"{base}/mcp", http_client=http),
            mode=mode,  # type: ignore[arg-type]
            elicitation_callback=browser.elicited if browser else None,
        ) as client,
    ):
        yield client


async def call_connecting(
    client: Client, mode: str, browser: Browser, call: Callable[[], Awaitable[Any]]
) -> Any:
    """Make ``call``, which needs the user's key: a 2025-11-25 client is asked mid-call
    (the browser connects it); a 2026-07-28 one gets -32042, connects, and calls again."""
    if mode == "legacy":
        return await call()
    answer = await browser.open(await link_of(call))
    assert answer.status_code == 200, answer.text
    return await call()


async def asked_once(client: Client, mode: str, browser: Browser, backend: str) -> None:
    """List the agents of ``backend``, which asks the user for their key exactly once."""
    browser.links.clear()
    listed = await call_connecting(
        client, mode, browser, lambda: client.call_tool("list_agents", {"backend": backend})
    )
    ok(listed)
    assert len(browser.links) == 1


async def link_of(call: Callable[[], Awaitable[Any]]) -> str:
    """The connect link of the -32042 error ``call`` fails with."""
    with pytest.raises(MCPError) as raised:
        await call()
    assert raised.value.error.code == -32042
    data = raised.value.error.data
    assert isinstance(data, dict)
    (link,) = data["elicitations"]
    assert link["mode"] == "url" and link["url"].startswith("http://127.0.0.1:")
    return str(link["url"])


def authorizations(fake: FakeMake, since: int) -> set[str]:
    return {r.headers.get("authorization", "") for r in fake.requests[since:]}


async def test_each_user_connects_their_own_key_and_every_call_carries_it(
    make: tuple[FakeMake, str],
    store: str,
    mode: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """23.3/23.4: the elicitation, the page, the stored key, the retried call reaching the
    platform with that user's key and no other, in both eras and both stores."""
    fake, url = make
    browsers = {name: Browser(key) for name, key in KEYS.items()}
    async with (
        deployment(per_user_settings(url, store)) as base,
        user(base, "alice", mode, browsers["alice"]) as alice,
        user(base, "bob", mode, browsers["bob"]) as bob,
    ):
        with anyio.fail_after(60):
            for name, client in (("alice", alice), ("bob", bob)):
                before = len(fake.requests)
                chat = {"agent": f"mine:{SEED_AGENT_ID}", "message": f"hello from {name}"}
                answered = await call_connecting(
                    client,
                    mode,
                    browsers[name],
                    lambda c=client, chat=chat: c.call_tool("chat", chat),  # type: ignore[misc]
                )
                assert ok(answered)["status"] == "completed"
                assert fake.last_run["messages"][-1]["content"] == f"hello from {name}"
                # the page's check and the call: this user's key, never the other's
                assert authorizations(fake, before) == {f"Token {KEYS[name]}"}
                assert len(browsers[name].links) == 1

            # connected once, each user's next calls carry their own key without asking
            before = len(fake.requests)
            await call_ok(alice, "list_agents", {"backend": "mine"})
            assert authorizations(fake, before) == {f"Token {KEYS['alice']}"}
            before = len(fake.requests)
            await call_ok(bob, "list_agents", {"backend": "mine"})
            assert authorizations(fake, before) == {f"Token {KEYS['bob']}"}

            # a key is per backend: alice's key to 'mine' is not one to 'theirs'
            await asked_once(alice, mode, browsers["alice"], "theirs")

            # forget_key: alice's next call asks again; bob's key stays
            forgotten = await call_ok(alice, "forget_key", {"backend": "mine"})
            assert forgotten["forgotten"] is True
            before = len(fake.requests)
            await asked_once(alice, mode, browsers["alice"], "mine")
            await call_ok(bob, "list_agents", {"backend": "mine"})
            assert authorizations(fake, before) == {f"Token {k}" for k in KEYS.values()}

    assert_sealed_at_rest(store, tmp_path)
    for key in KEYS.values():
        assert key not in caplog.text


async def test_a_user_connects_over_stateless_http_too(
    make: tuple[FakeMake, str], tmp_path: Path
) -> None:
    """23.3/23.4: without sessions the server cannot ask even a 2025-11-25 client mid-call
    (a 2026-07-28 one never is): the call answers -32042 with the link, and is made
    again once the key is connected."""
    fake, url = make
    browser = Browser(KEYS["bob"])
    settings = per_user_settings(url, str(tmp_path / "agentdeck.db"))
    async with (
        deployment(settings, stateless=True) as base,
        user(base, "bob", "legacy", browser) as bob,
    ):
        with anyio.fail_after(30):
            chat = {"agent": f"mine:{SEED_AGENT_ID}", "message": "hello"}
            before = len(fake.requests)
            answered = await call_connecting(
                bob, "stateless", browser, lambda: bob.call_tool("chat", chat)
            )
            assert ok(answered)["status"] == "completed"
            assert authorizations(fake, before) == {f"Token {KEYS['bob']}"}


async def test_a_key_connected_on_one_replica_serves_the_calls_on_another(
    make: tuple[FakeMake, str], store: str
) -> None:
    """23.3/23.4: the link, the page and the key live in the shared database: a link one
    replica handed out works on another's page, and the other's calls carry the key."""
    fake, url = make
    browser = Browser(KEYS["alice"])
    settings = per_user_settings(url, store)
    async with (
        deployment(settings) as first,
        deployment(settings) as second,
        user(first, "alice", "auto", browser) as on_first,
        user(second, "alice", "auto", browser) as on_second,
    ):
        with anyio.fail_after(30):
            link = await link_of(lambda: on_first.call_tool("list_agents", {"backend": "mine"}))
            answer = await browser.open(link.replace(first, second))
            assert answer.status_code == 200, answer.text
            before = len(fake.requests)
            await call_ok(on_second, "list_agents", {"backend": "mine"})
            await call_ok(on_first, "list_agents", {"backend": "mine"})
            assert authorizations(fake, before) == {f"Token {KEYS['alice']}"}


def assert_sealed_at_rest(store: str, tmp_path: Path) -> None:
    """No key in plaintext where the store keeps them: the SQLite files' bytes, or the
    PostgreSQL table's rows."""
    if store.startswith("postgresql"):
        import psycopg

        with psycopg.connect(store) as connection:
            rows = connection.execute("SELECT owner, backend, sealed FROM platform_keys").fetchall()
        assert len(rows) == 3
        stored = repr(rows)
    else:
        with sqlite3.connect(store) as connection:
            assert connection.execute("SELECT count(*) FROM platform_keys").fetchone()[0] == 3
        connection.close()
        stored = "".join(p.read_bytes().decode("latin-1") for p in tmp_path.glob("agentdeck.db*"))
    for key in KEYS.values():
        assert key not in stored


async def test_the_page_refuses_wrong_keys_and_used_expired_or_foreign_links(
    make: tuple[FakeMake, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """23.3: a wrong key is refused and not stored; a link works once, for a while, for
    its own backend; the page reflects nothing it is sent and carries a strict CSP."""
    fake, url = make
    database = str(tmp_path / "agentdeck.db")
    browser = Browser()
    async with (
        deployment(per_user_settings(url, database)) as base,
        user(base, "alice", "auto", browser) as alice,
        httpx2.AsyncClient(timeout=10) as http,
    ):

        async def new_link() -> str:
            return await link_of(lambda: alice.call_tool("list_agents", {"backend": "mine"}))

        with anyio.fail_after(60):
            link = await new_link()
            page = await http.get(link)
            csp = page.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "form-action 'self'" in csp
            assert page.headers["referrer-policy"] == "no-referrer"
            state = link.split("state=")[1]

            # a wrong key: refused, not stored, and the form comes back with a new state
            wrong = "<script>alert('wrong-key')</script>"
            refused = await http.post(link, data={"state": state, "key": wrong})
            assert refused.status_code == 400
            assert "refused" in refused.text and "<script>" not in refused.text
            assert "wrong-key" not in refused.text
            assert fake.requests[-1].headers["authorization"] == f"Token {wrong}"
            again = re.search(r'name="state" value="([^"]+)"', refused.text)
            assert again is not None and again.group(1) != state

            # the link was used: it works no more, for any key
            reused = await http.post(link, data={"state": state, "key": KEYS["alice"]})
            assert reused.status_code == 400 and "does not work" in reused.text
            assert (await http.get(link)).status_code == 400

            # the state of one backend does not connect another
            foreign = await http.post(
                f"{base}/connect/theirs", data={"state": again.group(1), "key": KEYS["alice"]}
            )
            assert foreign.status_code == 400

            # an expired link
            monkeypatch.setattr(credentials, "STATE_SECONDS", -1)
            expired = await new_link()
            assert (await http.get(expired)).status_code == 400
            monkeypatch.undo()

            # no such backend, a made-up state
            assert (await http.get(f"{base}/connect/nope?state=x")).status_code == 404
            assert (await http.get(f"{base}/connect/mine?state=made-up")).status_code == 400

            # a 2025-11-25 client that takes no URL elicitation gets the -32042 error too
            async with user(base, "alice", "legacy", None) as plain:
                await link_of(lambda: plain.call_tool("list_agents", {"backend": "mine"}))

            # after all that, nothing is connected
            with sqlite3.connect(database) as connection:
                assert connection.execute("SELECT count(*) FROM platform_keys").fetchone()[0] == 0
            connection.close()


async def test_without_users_a_per_user_backend_says_it_needs_oauth(
    make: tuple[FakeMake, str], mode: str
) -> None:
    """23.3: stdio and the static token have no users: a per-user backend explains why it
    cannot be used there instead of acting with somebody's key."""
    _, url = make
    async with connect(per_user_settings(url, ":memory:"), mode) as client:
        result = await client.call_tool("list_agents", {"backend": "mine"})
        assert "[server.auth]" in error_text(result)
        result = await client.call_tool("forget_key", {"backend": "mine"})
        assert "[server.auth]" in error_text(result)
    rows = await check_backends(per_user_settings(url, ":memory:"))
    assert [row[3] for row in rows if row[0] == "mine"] == ["ok"]


def test_a_per_user_backend_needs_a_secret_key_and_no_key_of_its_own() -> None:
    """23.3: the settings refuse a per-user backend they could not serve."""
    backend = {"kind": "make", "base_url": "http://127.0.0.1:9", "team_id": 1}
    per_user = {**backend, "credentials": "per_user"}
    with pytest.raises(ConfigError, match="secret_key"):
        make_settings({"mine": per_user})
    with pytest.raises(ConfigError, match="remove `token`"):
        make_settings({"mine": {**per_user, "token": "x"}}, server={"secret_key": SECRET_KEY})
    with pytest.raises(ConfigError, match="expose_agents"):
        make_settings(
            {"mine": {**per_user, "expose_agents": True}}, server={"secret_key": SECRET_KEY}
        )
    with pytest.raises(ConfigError, match="not available"):
        make_settings(
            {"peer": {"kind": "a2a", "agents": [{"url": "http://x"}], "credentials": "per_user"}},
            server={"secret_key": SECRET_KEY},
        )
    assert make_settings({"ops": {**backend, "token": "x"}}).backends["ops"].credentials == (
        "shared"
    )
