"""The a2a backend, driven through a real MCP client against the a2a-sdk's own server.

The agents (tests/backends/a2a/agents.py) are scripted ``AgentExecutor``s behind the SDK's
``DefaultRequestHandler``, served on 127.0.0.1 over JSON-RPC and HTTP+JSON.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import anyio
import pytest

from agentdeck.backends.a2a.backend import A2ABackend
from agentdeck.errors import ConfigError
from agentdeck.registry import Registry
from tests.backends.a2a.agents import TOKEN
from tests.support import (
    FAST_HTTP,
    OUTPUTS,
    answering,
    call_ok,
    connect,
    conversation_id,
    error_text,
    make_settings,
    ok,
)

pytestmark = pytest.mark.anyio


def settings_for(base: str, *names: str, **extra: Any):
    urls: list[Any] = [f"{base}/{n}/agent-card.json" for n in names]
    partners = {"kind": "a2a", "agents": urls, **FAST_HTTP, **extra}
    return make_settings({"partners": partners})


async def call(settings: Any, tool: str, args: dict[str, Any], mode: str = "auto", **kw: Any):
    async with connect(settings, mode, **kw) as client:
        with anyio.fail_after(10):
            return await client.call_tool(tool, args)


# ---- agents from their cards ---------------------------------------------------------------


async def test_cards_are_the_agents_and_an_unreadable_card_is_a_failure(agents) -> None:
    base, _ = agents
    settings = settings_for(base, "streamer-rest", "nobody")
    settings.backends["partners"].agents.insert(0, base)  # a base URL: the well-known card
    async with connect(settings) as client:
        with anyio.fail_after(10):
            listed = await call_ok(client, "list_agents", {"backend": "partners"})
            one = await call_ok(client, "get_agent", {"agent": "partners:streamer-rest"})
            refused = await client.call_tool(
                "create_agent", {"backend": "partners", "name": "x", "instructions": "y"}
            )
    assert [a["ref"] for a in listed["items"]] == ["partners:streamer", "partners:streamer-rest"]
    [failure] = listed["failures"]
    assert failure["backend"] == "partners" and "/nobody/agent-card.json" in failure["error"]
    assert "404" in failure["error"] and "Check the agent's URL in `agents`" in failure["error"]
    assert one["name"] == "Streamer Rest" and one["description"] == "The Streamer Rest test agent."
    details = one["details"]
    assert details["version"] == "1.2.0"
    assert details["interface"] == {
        "url": f"{base}/streamer-rest/rest",
        "binding": "HTTP+JSON",
        "protocol_version": "1.0",
    }
    assert details["capabilities"] == {"streaming": True, "push_notifications": False}
    assert details["output_modes"] == ["text/plain", "application/json"]
    [skill] = details["skills"]
    assert skill["tags"] == ["travel"] and skill["examples"] == ["A weekend in Lisbon"]
    assert "discovered from their cards" in error_text(refused)


async def test_check_reads_every_card(agents) -> None:
    base, _ = agents
    async with Registry.open(settings_for(base, "asker", "failer", "nobody")) as registry:
        with anyio.fail_after(10):
            summary = await registry.get("partners").check()
    assert summary == "2 A2A agents (asker, failer); 1 cards could not be read"


# ---- chat ----------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", ["streamer", "streamer-rest"])
async def test_a_streamed_answer_arrives_as_progress_and_its_context_continues(
    agents, mode: str, agent: str
) -> None:
    base, seen = agents
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")
        if "Hello" in "".join(progress) and seen.first_chunk_seen is not None:
            seen.first_chunk_seen.set()

    ref = f"partners:{agent}"
    async with connect(settings_for(base, agent), mode) as client:
        with anyio.fail_after(10):
            seen.first_chunk_seen = threading.Event()
            try:
                first = await call_ok(
                    client,
                    "chat",
                    {"agent": ref, "message": "Lisbon"},
                    progress_callback=on_progress,
                )
            finally:
                seen.first_chunk_seen = None
            second = await call_ok(
                client,
                "chat",
                {"agent": ref, "message": "Porto", "conversation": first["conversation"]},
            )
            listed = await call_ok(client, "list_conversations", {"backend": "partners"})
            transcript = await call_ok(
                client, "get_conversation", {"conversation": first["conversation"]}
            )
    assert first["status"] == "completed"
    assert first["text"] == (
        "Looking it up.\n\nHello, you said Lisbon (turn 1).\n\n[t.pdf](https://example.com/t.pdf)"
    )
    assert "".join(progress).replace("\n", "") == first["text"].replace("\n", "")
    assert len(progress) >= 2  # streamed: the rest came after the first chunk had arrived
    artifacts = first["details"]["artifacts"]
    assert [a["name"] for a in artifacts] == ["answer", "itinerary"]
    assert artifacts[1]["parts"] == [
        {"data": {"flights": 2}},
        {"url": "https://example.com/t.pdf", "filename": "t.pdf"},
    ]
    context = conversation_id(first)
    assert first["details"]["contextId"] == context and seen.turns[context] == 2
    assert second["conversation"] == first["conversation"]
    assert "you said Porto (turn 2)." in second["text"]
    assert [c["ref"] for c in listed["items"]] == [first["conversation"]]
    assert listed["items"][0]["agent"] == ref
    # the agent's own history of the context (ListTasks), answers (artifacts) included
    link = "\n\n[t.pdf](https://example.com/t.pdf)"
    assert [(m["role"], m["content"]) for m in transcript["messages"]] == [
        ("user", "Lisbon"),
        ("assistant", "Looking it up."),
        ("assistant", "Hello, you said Lisbon (turn 1)." + link),
        ("user", "Porto"),
        ("assistant", "Looking it up."),
        ("assistant", "Hello, you said Porto (turn 2)." + link),
    ]


async def test_a_task_still_working_after_send_message_is_read_until_it_ends(agents) -> None:
    """slowpoke: no streaming, HTTP+JSON; SendMessage answers at once, GetTask follows."""
    base, _ = agents
    result = ok(
        await call(
            settings_for(base, "slowpoke"), "chat", {"agent": "partners:slowpoke", "message": "hi"}
        )
    )
    assert result["status"] == "completed" and result["text"] == "done later: hi"
    assert result["details"]["state"] == "completed"


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("go", "'Failer' ended the task as failed: the flight database is down"),
        ("auth", "'Failer' needs authentication to go on: sign in to your calendar first"),
    ],
)
async def test_a_failed_task_fails_the_run_with_the_agents_words(
    agents, message: str, said: str
) -> None:
    base, _ = agents
    failed = await call(
        settings_for(base, "failer"), "chat", {"agent": "partners:failer", "message": message}
    )
    assert said in error_text(failed)


async def test_the_agents_question_is_answered_with_answer_question(agents, mode: str) -> None:
    base, _ = agents
    async with connect(settings_for(base, "asker"), mode) as client:
        with anyio.fail_after(10):
            asked = await call_ok(client, "chat", {"agent": "partners:asker", "message": "book"})
            [question] = asked["pending_questions"]
            answered = await call_ok(
                client, "answer_question", {"question": question["ref"], "answer": "Paris"}
            )
            done = await call_ok(client, "get_run", {"run_id": asked["run_id"], "wait_seconds": 5})
    assert asked["status"] == "running" and question["question"] == "Which city?"
    assert answered["status"] == "answered"
    assert done["status"] == "completed" and done["text"].endswith("Booked for Paris.")
    assert done["conversation"] == asked["conversation"]


async def test_a_question_no_chat_waits_on_is_answered_at_the_task(agents) -> None:
    """After a restart the question's run is gone; the answer goes to the task itself."""
    base, seen = agents
    settings = settings_for(base, "asker")
    async with connect(settings) as client:
        with anyio.fail_after(10):
            asked = await call_ok(client, "chat", {"agent": "partners:asker", "message": "x"})
    [question] = asked["pending_questions"]
    async with connect(settings) as client:  # a new server lifespan: no run waits on it
        with anyio.fail_after(10):
            answered = await call_ok(
                client, "answer_question", {"question": question["ref"], "answer": "Oslo"}
            )
            again = await client.call_tool(
                "answer_question", {"question": question["ref"], "answer": "Oslo"}
            )
    assert answered["status"] in {"submitted", "working", "completed"}
    assert seen.turns[conversation_id(asked)] == 2  # the agent read the answer in its task
    assert "not waiting on a question" in error_text(again)


async def test_the_agents_question_is_asked_through_elicitation(agents, mode: str) -> None:
    base, _ = agents
    asked: list[str] = []
    done = ok(
        await call(
            settings_for(base, "asker"),
            "chat",
            {"agent": "partners:asker", "message": "book"},
            mode,
            elicitation_callback=answering({"answer": "Rome"}, asked),
        )
    )
    assert asked and "Which city?" in asked[0]
    assert done["status"] == "completed" and done["text"].endswith("Booked for Rome.")


async def test_cancel_run_cancels_the_task_upstream(agents, mode: str) -> None:
    base, seen = agents
    seen.cancelled.clear()
    async with connect(settings_for(base, "sleeper"), mode) as client:
        with anyio.fail_after(10):
            running = await call_ok(
                client, "chat", {"agent": "partners:sleeper", "message": "go", "wait_seconds": 0.2}
            )
            while not running["text"]:  # on a loaded machine: once the agent named its task
                wait = {"run_id": running["run_id"], "wait_seconds": 0.1}
                running = await call_ok(client, "get_run", wait)
            cancelled = await call_ok(client, "cancel_run", {"run_id": running["run_id"]})
            assert await anyio.to_thread.run_sync(seen.cancelled.wait, 5)
    assert running["status"] == "running" and running["text"] == "Working on it."
    assert cancelled["status"] == "cancelled"


async def test_a_bearer_header_is_sent_and_never_shown(agents) -> None:
    base, _ = agents
    OUTPUTS.secrets.add(TOKEN)  # the sweep (conftest.py) looks for it in results and logs
    without = await call(settings_for(base, "guarded"), "get_agent", {"agent": "partners:guarded"})
    assert "401" in error_text(without) and "`headers`" in error_text(without)
    # a header that is no credential is not redacted: it would mask every https:// link
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Client-Site": "https://example.com/x"}
    entry = {"url": f"{base}/guarded/agent-card.json", "headers": headers}
    partners = {"kind": "a2a", "agents": [entry], **FAST_HTTP}
    settings = make_settings({"partners": partners})
    result = ok(await call(settings, "chat", {"agent": "partners:guarded", "message": "hi"}))
    assert "you said hi" in result["text"] and "(https://example.com/t.pdf)" in result["text"]
    assert OUTPUTS.texts and not any(TOKEN[:8] in text for text in OUTPUTS.texts)


def test_without_the_sdk_an_a2a_backend_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in ("peer", "chat", "events"):
        monkeypatch.delitem(sys.modules, f"agentdeck.backends.a2a.{module}", raising=False)
    for module in ["a2a", *(m for m in sys.modules if m.startswith("a2a."))]:
        monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    settings = settings_for("http://127.0.0.1:9", "x").backends["partners"]
    with pytest.raises(ConfigError, match=r"needs the A2A SDK: pip install 'agentdeck\[a2a\]'"):
        A2ABackend("partners", settings, None)
