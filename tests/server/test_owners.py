"""Issue 23.2: every user is a principal, and sees only what they made.

Two users side by side on one server (over stateful and stateless HTTP, on both stores,
in both protocol eras) and on two replicas sharing PostgreSQL: what one made — runs,
local agents, conversations and their transcripts, subscriptions — is to the other
exactly what an id that never existed is, down to the error text.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceTemplateReference

from agentdeck.server import AGENT_URI, CONVERSATION_URI, conversation_uri
from agentdeck.store import ConversationQuery, RunStart, open_store
from tests.fakes.base import Served
from tests.fakes.make import SEED_AGENT_ID, FakeMake
from tests.fakes.openai import FakeOpenAI
from tests.notifications import Changes, legacy_subscription, subscribed
from tests.owners import as_user, serving
from tests.server.tasks.client import TasksClient
from tests.support import FAST_HTTP, call_error, call_ok, make_settings

pytestmark = pytest.mark.anyio


def unknown_id() -> str:
    return uuid.uuid4().hex


async def refused_as_unknown(
    client: Client, tool: str, arguments: dict[str, Any], key: str, theirs: str, unknown: str
) -> None:
    """``tool`` answers for ``theirs`` (another user's) what it answers for ``unknown``."""
    for_theirs = await call_error(client, tool, {**arguments, key: theirs})
    for_unknown = await call_error(client, tool, {**arguments, key: unknown})
    assert _without(for_theirs, theirs) == _without(for_unknown, unknown)


def _without(text: str, ref: str) -> str:
    """``text`` with the ref (or run id) and its bare id taken out."""
    return text.replace(ref, "<id>").replace(ref.rpartition(":")[2], "<id>")


async def unreadable_as_unknown(client: Client, uri: str, theirs: str) -> None:
    """Reading ``uri`` (another user's) fails as reading it with an unknown id does."""
    unknown = unknown_id()
    failures = []
    for target in (uri, uri.replace(theirs, unknown)):
        with pytest.raises(MCPError) as caught:
            await client.read_resource(target)
        failures.append((caught.value.code, str(caught.value).replace(unknown, theirs)))
    assert failures[0] == failures[1]


async def alice_chats(alice: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice's agent and her first chat with it."""
    agent = await call_ok(alice, "create_agent", {"backend": "local", "name": "Private"})
    run = await call_ok(alice, "chat", {"agent": agent["ref"], "message": "secret plans"})
    return agent, run


async def test_two_users_see_only_their_own_runs_agents_and_conversations(
    database: str, mode: str
) -> None:
    """23.2: another user's run, agent, conversation and transcript is "not found", the
    same as an id that never existed; lists (and their cursors) show only one's own.

    Stateful and stateless HTTP pair with the stores and eras so that each store and each
    era meets both (four runs instead of eight)."""
    stateless = database.startswith("postgres") != (mode == "legacy")
    with serving(make_settings(database=database), stateless=stateless) as base:
        async with as_user(base, "alice", mode) as alice, as_user(base, "bob", mode) as bob:
            agent, run = await alice_chats(alice)
            conversation = run["conversation"]
            conversation_id = conversation.partition(":")[2]
            mine = await call_ok(bob, "create_agent", {"backend": "local", "name": "Bob's"})

            listed = await call_ok(alice, "list_agents", {"backend": "local"})
            assert [a["ref"] for a in listed["items"]] == [agent["ref"]]
            assert (await call_ok(alice, "get_run", {"run_id": run["run_id"]}))["text"]
            listed = await call_ok(bob, "list_agents", {"backend": "local", "limit": 1})
            assert [a["ref"] for a in listed["items"]] == [mine["ref"]]
            assert listed.get("next_cursor") is None
            assert (await call_ok(bob, "list_conversations", {}))["items"] == []
            await call_ok(bob, "chat", {"agent": mine["ref"], "message": "my own"})
            listed = await call_ok(alice, "list_conversations", {"limit": 1})
            assert [c["ref"] for c in listed["items"]] == [conversation]
            assert listed.get("next_cursor") is None

            never = unknown_id()
            for tool in ("get_run", "cancel_run"):
                await refused_as_unknown(bob, tool, {}, "run_id", run["run_id"], never)
            agent_id = agent["ref"].partition(":")[2]
            for tool, extra in (
                ("get_agent", {}),
                ("update_agent", {"description": "mine now"}),
                ("delete_agent", {}),
                ("chat", {"message": "hi"}),
            ):
                await refused_as_unknown(bob, tool, extra, "agent", agent["ref"], f"local:{never}")
            await refused_as_unknown(
                bob, "get_conversation", {}, "conversation", conversation, f"local:{never}"
            )
            await refused_as_unknown(
                bob,
                "chat",
                {"agent": mine["ref"], "message": "let me in"},
                "conversation",
                conversation,
                f"local:{never}",
            )
            await unreadable_as_unknown(
                bob, conversation_uri("local", conversation_id), conversation_id
            )
            await unreadable_as_unknown(bob, f"agentdeck://local/agents/{agent_id}", agent_id)
            recent = await bob.read_resource("agentdeck://local/conversations")
            assert conversation_id not in str(recent.contents[0])
            for template, argument in (
                (AGENT_URI, "agent_id"),
                (CONVERSATION_URI, "conversation_id"),
            ):
                offered = await bob.complete(
                    ResourceTemplateReference(uri=template),
                    {"name": argument, "value": ""},
                    {"backend": "local"},
                )
                assert offered.completion.values  # bob's own are offered
                assert not {agent_id, conversation_id} & set(offered.completion.values)

            kept = await call_ok(alice, "get_agent", {"agent": agent["ref"]})
            assert "description" not in kept  # bob's update and delete changed nothing
            transcript = await alice.read_resource(conversation_uri("local", conversation_id))
            assert "secret plans" in str(transcript.contents[0])


async def test_a_transcript_update_reaches_only_its_owner(mode: str) -> None:
    """23.2: subscribing to another user's transcript is allowed (as for any URI) but
    hears nothing of it; its owner's subscription does."""
    with serving(make_settings(), stateless=False) as base:
        async with as_user(base, "alice", mode) as alice:
            agent, run = await alice_chats(alice)
        uri = conversation_uri("local", run["conversation"].partition(":")[2])
        changes = {"alice": Changes(), "bob": Changes()}
        async with (
            listening(base, "alice", mode, changes["alice"], uri) as alice,
            listening(base, "bob", mode, changes["bob"], uri) as bob,
        ):
            mine = await call_ok(bob, "create_agent", {"backend": "local", "name": "B"})
            own = await call_ok(bob, "chat", {"agent": mine["ref"], "message": "one"})
            own_uri = conversation_uri("local", own["conversation"].partition(":")[2])
            async with subscribed(bob, mode, changes["bob"], own_uri):
                arguments = {"agent": agent["ref"], "message": "more", **_in(run)}
                await call_ok(alice, "chat", arguments)
                await changes["alice"].wait_for(uri)
                # bob's own update comes after any of alice's on his stream
                await call_ok(bob, "chat", {"agent": mine["ref"], "message": "2", **_in(own)})
                await changes["bob"].wait_for(own_uri)
        assert changes["bob"].seen == [own_uri]


def _in(run: dict[str, Any]) -> dict[str, str]:
    return {"conversation": run["conversation"]}


@asynccontextmanager
async def listening(
    base: str, user: str, mode: str, changes: Changes, uri: str
) -> AsyncIterator[Client]:
    """``user``'s client, subscribed to ``uri`` for the block (in the client's era)."""

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            changes.add(str(message.params.uri))

    if mode == "legacy":
        async with as_user(base, user, mode, message_handler=on_message) as client:
            await legacy_subscription(client, uri, subscribe=True)
            yield client
        return
    async with as_user(base, user, mode) as client, subscribed(client, mode, changes, uri):
        yield client


async def test_replicas_keep_each_users_runs_and_conversations_theirs(postgres_url: str) -> None:
    """23.2: across two replicas on one PostgreSQL database, a run started on one is its
    owner's on the other too, and another user's "not found" there as well."""
    settings = make_settings(database=postgres_url)
    with serving(settings, stateless=True) as first, serving(settings, stateless=True) as second:
        async with as_user(first, "alice") as alice:
            _, run = await alice_chats(alice)
        async with as_user(second, "alice") as alice, as_user(second, "bob") as bob:
            again = await call_ok(alice, "get_run", {"run_id": run["run_id"]})
            assert again["text"] == run["text"]
            listed = await call_ok(alice, "list_conversations", {})
            assert [c["ref"] for c in listed["items"]] == [run["conversation"]]
            assert (await call_ok(bob, "list_conversations", {}))["items"] == []
            assert (await call_ok(bob, "list_agents", {"backend": "local"}))["items"] == []
            for tool in ("get_run", "cancel_run"):
                await refused_as_unknown(bob, tool, {}, "run_id", run["run_id"], unknown_id())
            await refused_as_unknown(
                bob,
                "get_conversation",
                {},
                "conversation",
                run["conversation"],
                f"local:{unknown_id()}",
            )


async def test_the_run_history_is_read_per_owner(database: str) -> None:
    """23.2: the conversations of platforms without a conversation API (Make, A2A) come
    from the run history: each owner reads only their runs' ones; no owner reads all."""
    async with open_store(database) as store:
        for owner, conversation in (("alice@iss", "c-alice"), ("bob@iss", "c-bob")):
            await store.record_run_start(
                RunStart(
                    run_id=unknown_id(),
                    backend="ops",
                    agent_id="7",
                    conversation_id=conversation,
                    message=f"from {owner}",
                    principal=owner,
                )
            )

        async def ids(owner: str | None) -> list[str]:
            rows = await store.history_conversations(
                "ops", ConversationQuery(None, limit=10, offset=0, owner=owner)
            )
            return sorted(row["id"] for row in rows)

        assert await ids("alice@iss") == ["c-alice"]
        assert await ids("bob@iss") == ["c-bob"]
        assert await ids(None) == ["c-alice", "c-bob"]
        assert await store.history_runs("ops", "c-alice", "bob@iss") == []
        assert await store.history_agent("ops", "c-alice", "bob@iss") is None
        assert await store.history_agent("ops", "c-alice", "alice@iss") == "7"


async def test_the_shared_tool_list_shows_no_users_own_agents() -> None:
    """23.2: the tool list is one for every user, so with exposed local agents a user's
    own agent never becomes a tool (another user would see its name); they chat with it."""
    settings = make_settings(local={"expose_agents": True})
    with serving(settings, stateless=False) as base:
        async with as_user(base, "alice") as alice, as_user(base, "bob") as bob:
            agent = await call_ok(alice, "create_agent", {"backend": "local", "name": "Hush"})
            for client in (alice, bob):
                names = [tool.name for tool in (await client.list_tools()).tools]
                assert not [name for name in names if "hush" in name.lower()]
            await call_ok(alice, "chat", {"agent": agent["ref"], "message": "still mine"})


async def test_platform_conversations_from_the_run_history_are_each_users_own(
    served: Served,
) -> None:
    """23.2: Make has no conversation API; its conversations are agentdeck's run history,
    so each user lists, reads and continues only the threads their own runs started."""
    fake = FakeMake()
    url = served(fake)
    ops = {"kind": "make", "base_url": f"{url}/api/v2", "token": fake.token, "team_id": 1}
    settings = make_settings({"ops": {**ops, **FAST_HTTP}})
    with serving(settings, stateless=False) as base:
        async with as_user(base, "alice") as alice, as_user(base, "bob") as bob:
            agent = f"ops:{SEED_AGENT_ID}"
            run = await call_ok(alice, "chat", {"agent": agent, "message": "hello"})
            mine = await call_ok(alice, "list_conversations", {"backend": "ops"})
            assert [c["ref"] for c in mine["items"]] == [run["conversation"]]
            theirs = await call_ok(bob, "list_conversations", {"backend": "ops"})
            assert theirs["items"] == []
            never = f"ops:{uuid.uuid4()}"
            await refused_as_unknown(
                bob, "get_conversation", {}, "conversation", run["conversation"], never
            )
            await refused_as_unknown(
                bob,
                "chat",
                {"agent": agent, "message": "me too"},
                "conversation",
                run["conversation"],
                never,
            )


async def test_a_signed_in_users_slow_chat_as_a_task_follows_their_own_run(served: Served) -> None:
    """23.2 with tasks (issue 21): a task is its user's, and so is the run behind it; the
    task finds that run as its user's, and is polled to completion."""
    fake = FakeOpenAI(chunk_delay=0.15)
    tasks = TasksClient()
    url = served(fake)
    local = {"model": "openai", "openai_base_url": f"{url}/v1", "openai_model": "slow"}
    with serving(make_settings(local={**local, **FAST_HTTP}), stateless=False) as base:
        async with as_user(base, "alice", extensions=[tasks]) as alice:
            agent = await call_ok(alice, "create_agent", {"backend": "local", "name": "A"})
            with anyio.fail_after(20):
                result = await call_ok(alice, "chat", {"agent": agent["ref"], "message": "hi"})
    assert len(tasks.created) == 1
    assert tasks.seen[-1]["status"] == "completed"
    assert result["status"] == "completed" and "heard 'hi'" in result["text"]
