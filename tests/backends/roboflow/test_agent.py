"""Roboflow's workspace agent through the MCP client: agents, chat, publish, conversations."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from agentdeck.config import Settings
from tests.backends.roboflow.keys import assert_key_sent_as_documented
from tests.fakes.roboflow import FOLDER_KEY, FULL_KEY, READ_KEY, WORKSPACE, FakeRoboflow
from tests.platforms import roboflow_settings, workflows_state
from tests.support import (
    accept,
    call_confirmed,
    call_error,
    call_ok,
    connect_confirming,
    conversation_id,
    error_once,
    error_text,
    ok,
)

pytestmark = pytest.mark.anyio

SPEC = {"version": "1.0", "inputs": [], "steps": [], "outputs": []}
ONE_AGENT = "a Roboflow workspace has one agent: chat with it as 'vision'"


def chat_failure(result: CallToolResult) -> str:
    """The error of a failed chat: a tool error when nothing was produced, else the run's."""
    if result.is_error:
        return error_text(result)
    failed = ok(result)
    assert failed["status"] == "failed", failed
    assert failed["text"] == "", "a Roboflow turn answers in one piece, so nothing is kept"
    return failed["error"]


# ---- the one workspace agent ------------------------------------------------------------


async def test_the_workspace_agent_is_listed_and_the_bare_backend_name_is_its_ref(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        listed = await call_ok(client, "list_agents", {"backend": "vision"})
        assert [a["ref"] for a in listed["items"]] == ["vision:agent"]
        assert "next_cursor" not in listed
        bare = await call_ok(client, "get_agent", {"agent": "vision"})
        full = await call_ok(client, "get_agent", {"agent": "vision:agent"})
        assert bare == full and bare["details"]["workspace"] == WORKSPACE
        assert "draft" in bare["description"]
        wrong = await call_error(client, "get_agent", {"agent": "vision:builder"})
        assert "no agent 'builder'" in wrong and ONE_AGENT in wrong
    assert fake.requests == []


async def test_agents_cannot_be_created_changed_or_deleted_and_the_error_says_what_to_use(
    fake: FakeRoboflow, settings: Settings
) -> None:
    async with connect_confirming(settings, elicitation_callback=accept) as client:
        for tool, args in [
            ("create_agent", {"backend": "vision", "name": "Another"}),
            ("update_agent", {"agent": "vision", "instructions": "be terse"}),
            ("delete_agent", {"agent": "vision"}),
        ]:
            assert ONE_AGENT in (await call_error(client, tool, args)), tool
    assert fake.requests == []


# ---- chat and publish -------------------------------------------------------------------


async def test_chat_drafts_a_workflow_and_continues_the_conversation(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        first = await call_ok(
            client,
            "chat",
            {"agent": "vision", "message": 'Build a workflow called "Cars" that detects cars'},
        )
        assert first["status"] == "completed" and first["agent"] == "vision:agent"
        assert "Created a draft of workflow 'Cars'" in first["text"]
        [draft] = first["workflows"]
        assert draft["ref"] == "vision:cars" and draft["published"] is False
        assert draft["name"] == "Cars" and draft["id"] == fake.workflow("cars").id
        assert len(draft["specification"]["steps"]) == 1
        conversation = conversation_id(first)
        assert first["conversation"] == f"vision:{conversation}"
        assert first["details"]["mode"] == "agent"

        second = await call_ok(
            client,
            "chat",
            {
                "agent": "vision",
                "message": "also count them",
                "conversation": first["conversation"],
            },
        )
        assert second["conversation"] == first["conversation"] and "turn 2" in second["text"]
        assert second["workflows"][0]["ref"] == "vision:cars"
        assert len(second["workflows"][0]["specification"]["steps"]) == 2

    chats = fake.requests_to("/agent/chat", "POST")
    assert chats[0].path == f"/{WORKSPACE}/agent/chat"
    assert chats[0].body == {
        "message": 'Build a workflow called "Cars" that detects cars',
        "mode": "agent",
        "api_key": FULL_KEY,
    }
    assert chats[1].body["conversation_id"] == conversation
    assert all("api_key" not in r.query for r in chats)
    assert fake.workflow("cars").config == "{}"  # a draft, nothing published
    assert_key_sent_as_documented(fake)


async def test_plan_mode_outlines_and_changes_nothing(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    before = workflows_state(fake)
    result = await call_confirmed(
        settings,
        "chat",
        {
            "agent": "vision",
            "message": "add a webhook to slow-webhooks",
            "options": {"mode": "plan"},
        },
        mode,
    )
    assert result["status"] == "completed"
    assert result["text"].startswith("Plan (no changes made)")
    assert result["workflows"] == [] and result["details"]["mode"] == "plan"
    assert fake.requests_to("/agent/chat")[0].body["mode"] == "plan"
    assert workflows_state(fake) == before


async def test_publish_deploys_the_draft_and_a_second_publish_says_there_is_no_draft(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        chat = await call_ok(client, "chat", {"agent": "vision", "message": "detect cats"})
        ref = chat["workflows"][0]["ref"]
        draft_spec = chat["workflows"][0]["specification"]
        before = await call_ok(client, "get_workflow", {"workflow": ref})
        assert before["has_draft"] is True and "specification" not in before
        assert before["details"]["draft_specification"] == draft_spec

        published = await call_ok(client, "publish_workflow", {"workflow": ref})
        assert published["ref"] == ref and published["has_draft"] is False
        assert published["specification"] == draft_spec
        assert published["details"]["published"] is True and published["details"]["version"] == 1

        again = await call_error(client, "publish_workflow", {"workflow": ref})
        assert "HTTP 400" in again and "no unpublished draft" in again
        assert "chat with 'vision'" in again
    slug = ref.partition(":")[2]
    assert json.loads(fake.workflow(slug).config) == {"specification": draft_spec}
    publishes = fake.requests_to("/publish", "POST")
    assert [r.path for r in publishes] == [f"/{WORKSPACE}/agent/workflows/{slug}/publish"] * 2
    assert publishes[0].body == {"api_key": FULL_KEY} and publishes[0].query == {}
    assert_key_sent_as_documented(fake)


async def test_publishing_an_unknown_workflow_is_a_404_that_says_how_to_find_one(
    settings: Settings,
) -> None:
    text = await error_once(
        settings, "publish_workflow", {"workflow": "vision:nope"}, elicitation_callback=accept
    )
    assert "HTTP 404" in text and "list_workflows" in text


# ---- conversations ----------------------------------------------------------------------


async def test_conversations_are_listed_filtered_and_read_as_transcripts(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        chat = await call_ok(client, "chat", {"agent": "vision", "message": "detect dogs"})
        conversation = conversation_id(chat)

        everything = await call_ok(client, "list_conversations", {"backend": "vision"})
        assert {c["id"] for c in everything["items"]} == {conversation, "conv_web_1"}
        assert all(c["agent"] == "vision:agent" for c in everything["items"])
        api_only = await call_ok(
            client, "list_conversations", {"agent": "vision", "options": {"source": "api"}}
        )
        assert [c["ref"] for c in api_only["items"]] == [chat["conversation"]]
        assert api_only["items"][0]["message_count"] == 2
        by_workflow = await call_ok(
            client,
            "list_conversations",
            {"backend": "vision", "options": {"workflow": "vision:slow-webhooks"}},
        )
        assert [c["id"] for c in by_workflow["items"]] == ["conv_web_1"]
        paged = await call_ok(client, "list_conversations", {"backend": "vision", "limit": 1})
        assert len(paged["items"]) == 1 and paged["next_cursor"]

        full = await call_ok(client, "get_conversation", {"conversation": chat["conversation"]})
        assert [m["role"] for m in full["messages"]] == ["user", "assistant"]
        assert full["messages"][0]["content"] == "detect dogs"
        assert "workflows changed as drafts: detect-dogs" in full["messages"][1]["content"]

        resource = await client.read_resource(f"agentdeck://vision/conversations/{conversation}")
        transcript = resource.contents[0].text
        assert "detect dogs" in transcript and "## assistant" in transcript

    lists = fake.requests_to("/agent/conversations", "GET")
    assert lists[1].query == {"source": "api", "api_key": FULL_KEY}
    assert lists[2].query == {"workflow": "slow-webhooks", "api_key": FULL_KEY}
    assert_key_sent_as_documented(fake)


async def test_an_unknown_conversation_is_a_404_with_a_way_forward(settings: Settings) -> None:
    async with connect_confirming(settings) as client:
        chat = chat_failure(
            await client.call_tool(
                "chat",
                {"agent": "vision", "message": "hi there", "conversation": "vision:conv_nope"},
            )
        )
        assert "HTTP 404" in chat and "leave it out" in chat
        read = await call_error(client, "get_conversation", {"conversation": "vision:conv_nope"})
        assert "HTTP 404" in read and "list_conversations" in read


# ---- input checked before anything is sent ---------------------------------------------


async def test_bad_chat_and_filter_options_fail_before_any_request(
    fake: FakeRoboflow, settings: Settings
) -> None:
    async with connect_confirming(settings) as client:
        wrong_mode = chat_failure(
            await client.call_tool(
                "chat", {"agent": "vision", "message": "hi", "options": {"mode": "draft"}}
            )
        )
        assert "option 'mode' must be 'agent' or 'plan'" in wrong_mode
        unknown = chat_failure(
            await client.call_tool(
                "chat", {"agent": "vision", "message": "hi", "options": {"temperature": 1}}
            )
        )
        assert "temperature" in unknown and "accepted: mode" in unknown
        other_agent = chat_failure(
            await client.call_tool("chat", {"agent": "vision:x", "message": "hi"})
        )
        assert ONE_AGENT in other_agent
        source = await call_error(
            client, "list_conversations", {"backend": "vision", "options": {"source": "email"}}
        )
        assert "option 'source' must be 'api' or 'web'" in source
        extra = await call_error(
            client, "list_conversations", {"backend": "vision", "options": {"status": "open"}}
        )
        assert "status" in extra and "source, workflow" in extra
    assert fake.requests == []


async def test_without_an_api_key_the_agent_says_to_set_one_and_sends_nothing(
    fake: FakeRoboflow, url: str
) -> None:
    async with connect_confirming(roboflow_settings(url, api_key=None)) as client:
        chat = chat_failure(await client.call_tool("chat", {"agent": "vision", "message": "hi"}))
        assert "Set `api_key` in [backends.vision]" in chat
        for tool, args in [
            ("publish_workflow", {"workflow": "vision:slow-webhooks"}),
            ("list_conversations", {"backend": "vision"}),
            ("get_conversation", {"conversation": "vision:conv_web_1"}),
        ]:
            assert "Set `api_key`" in (await call_error(client, tool, args)), tool
    assert fake.requests == []


# ---- the platform's failures ------------------------------------------------------------


async def test_a_wrong_key_is_a_401_naming_the_config_key_never_the_key_itself(
    fake: FakeRoboflow, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "rf_wrong_secret_0042"
    async with connect_confirming(roboflow_settings(url, api_key=secret)) as client:
        chat = chat_failure(await client.call_tool("chat", {"agent": "vision", "message": "hi"}))
        errors = [
            chat,
            await call_error(client, "publish_workflow", {"workflow": "vision:x"}),
            await call_error(client, "list_conversations", {"backend": "vision"}),
        ]
    for text in errors:
        assert "HTTP 401" in text and "Check `api_key` of backend 'vision'" in text
        assert secret not in text
    assert {u.key for u in fake.key_uses} == {secret}  # it was sent, as documented
    assert_key_sent_as_documented(fake)
    assert secret not in caplog.text


async def test_out_of_credits_is_a_clear_402(fake: FakeRoboflow, settings: Settings) -> None:
    fake.out_of_credits()
    async with connect_confirming(settings) as client:
        chat = chat_failure(
            await client.call_tool("chat", {"agent": "vision", "message": "detect cars"})
        )
    assert "HTTP 402: Insufficient credits" in chat
    assert f"Roboflow workspace '{WORKSPACE}' is out of credits" in chat
    assert fake.workflow("detect-cars") is None


async def test_agent_disabled_is_explained_and_workflow_tools_still_work(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    fake.disable_agent()
    async with connect_confirming(settings, mode) as client:
        chat = chat_failure(await client.call_tool("chat", {"agent": "vision", "message": "hi"}))
        publish = await call_error(client, "publish_workflow", {"workflow": "vision:slow-webhooks"})
        listed = await call_ok(client, "list_workflows", {"backend": "vision"})
    for text in (chat, publish):
        assert "HTTP 403" in text and "Agent features are turned off" in text
        assert "workspace settings" in text
    assert listed["items"]


async def test_missing_scopes_and_folder_scoped_keys_are_403s_that_say_why(url: str) -> None:
    async with connect_confirming(roboflow_settings(url, api_key=READ_KEY)) as client:
        chat = chat_failure(
            await client.call_tool("chat", {"agent": "vision", "message": "detect cars"})
        )
        publish = await call_error(client, "publish_workflow", {"workflow": "vision:slow-webhooks"})
    assert "HTTP 403" in chat and "workflow:create and workflow:update" in chat
    assert "HTTP 403" in publish and "'workflow:update' scope" in publish
    async with connect_confirming(roboflow_settings(url, api_key=FOLDER_KEY)) as client:
        outside = await call_error(
            client, "get_conversation", {"conversation": "vision:conv_web_1"}
        )
        listed = await call_ok(client, "list_conversations", {"backend": "vision"})
    assert "HTTP 403: Workflow outside folder scope" in outside and "folders" in outside
    assert listed["items"] == []


async def test_a_server_error_on_chat_fails_the_run_and_is_not_repeated(
    fake: FakeRoboflow, settings: Settings
) -> None:
    fake.server_error(path_contains="/agent/chat")
    async with connect_confirming(settings) as client:
        chat = chat_failure(
            await client.call_tool("chat", {"agent": "vision", "message": "detect cars"})
        )
    assert "HTTP 500" in chat
    assert len(fake.requests_to("/agent/chat")) == 1


async def test_a_cut_off_answer_fails_the_run_and_says_the_turn_may_be_saved(
    fake: FakeRoboflow, settings: Settings
) -> None:
    fake.next_chat = "cut_off"
    async with connect_confirming(settings) as client:
        chat = chat_failure(
            await client.call_tool("chat", {"agent": "vision", "message": "detect cars"})
        )
    assert "cut off" in chat and "list_conversations" in chat
    assert fake.workflow("detect-cars") is not None  # the turn was saved upstream regardless


async def test_an_unreadable_answer_fails_clearly(fake: FakeRoboflow, settings: Settings) -> None:
    fake.next_chat = "malformed"
    async with connect_confirming(settings) as client:
        chat = chat_failure(
            await client.call_tool("chat", {"agent": "vision", "message": "detect cars"})
        )
    assert "malformed JSON" in chat and "may still have been saved" in chat


async def test_unreadable_parts_of_an_answer_become_warnings_and_the_rest_is_kept(
    fake: FakeRoboflow, url: str, settings: Settings
) -> None:
    fake.next_reply = {
        "text": "I made two workflows.",
        "workflows": [
            {"id": "wf_1", "name": "A", "url": "a", "specification": SPEC},
            "not a workflow",
            {"name": "no id"},
        ],
        "conversation_id": "conv_x",
        "credits_used": 1,
    }
    chat = await call_confirmed(settings, "chat", {"agent": "vision", "message": "detect cars"})
    assert chat["status"] == "completed" and chat["text"] == "I made two workflows."
    assert [w["ref"] for w in chat["workflows"]] == ["vision:a"]
    assert chat["workflows"][0]["specification"] == SPEC
    assert chat["warnings"] == [
        "Skipped workflow #2 of the answer: it has no id or url.",
        "Skipped workflow #3 of the answer: it has no id or url.",
    ]
    assert chat["conversation"] == "vision:conv_x" and chat["details"]["credits_used"] == 1


@asynccontextmanager
async def slow_turn(
    fake: FakeRoboflow, settings: Settings, seconds: float
) -> AsyncIterator[tuple[Client, dict[str, Any]]]:
    """A client, and a chat turn the fake answers only after ``seconds``: it has answered
    ``running`` after its 0.1 s wait."""
    fake.next_chat, fake.slow_seconds = "slow", seconds
    async with connect_confirming(settings) as client:
        arguments = {"agent": "vision", "message": "detect cars", "wait_seconds": 0.1}
        with anyio.fail_after(10):
            started = await call_ok(client, "chat", arguments)
        yield client, started


async def test_a_slow_turn_answers_running_and_get_run_waits_for_the_rest(
    fake: FakeRoboflow, settings: Settings
) -> None:
    async with slow_turn(fake, settings, 1.0) as (client, started):
        assert started["status"] == "running" and started["workflows"] == []
        with anyio.fail_after(15):
            done = await call_ok(
                client, "get_run", {"run_id": started["run_id"], "wait_seconds": 10}
            )
    assert done["status"] == "completed"
    assert [w["ref"] for w in done["workflows"]] == ["vision:detect-cars"]


async def test_cancelling_a_slow_turn_closes_the_request(
    fake: FakeRoboflow, settings: Settings
) -> None:
    async with slow_turn(fake, settings, 5.0) as (client, started):
        with anyio.fail_after(10):
            cancelled = await call_ok(client, "cancel_run", {"run_id": started["run_id"]})
    assert started["status"] == "running"
    assert cancelled["status"] == "cancelled" and cancelled["workflows"] == []
    assert len(fake.requests_to("/agent/chat")) == 1


async def test_with_expose_agents_the_workspace_agent_is_a_tool_of_its_own(
    fake: FakeRoboflow, url: str, mode: str
) -> None:
    async with connect_confirming(roboflow_settings(url, expose_agents=True), mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "vision_roboflow_agent" in tools
        assert "vision:agent" in (tools["vision_roboflow_agent"].description or "")
        result = await call_ok(client, "vision_roboflow_agent", {"message": "detect forklifts"})
    assert result["status"] == "completed" and result["agent"] == "vision:agent"
    assert [w["ref"] for w in result["workflows"]] == ["vision:detect-forklifts"]
    assert fake.requests_to("/agent/chat")[0].body["message"] == "detect forklifts"
