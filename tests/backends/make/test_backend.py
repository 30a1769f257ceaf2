"""The Make backend, driven through a real MCP client against the Make fake over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest

from agentdeck.config import Settings
from agentdeck.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamValidationError,
)
from agentdeck.registry import Registry
from tests.backends.streams import assert_completed_with_a_warning
from tests.fakes.base import RecordedRequest
from tests.fakes.make import READ, SEED_AGENT_ID, FakeMake, make_error
from tests.platforms import make_settings_for
from tests.support import accept, call_ok, connect, conversation_id, error_text, ok

pytestmark = pytest.mark.anyio

AGENTS = "/api/v2/ai-agents/v1/agents"
SEED = f"{AGENTS}/{SEED_AGENT_ID}"
SEED_REF = f"ops:{SEED_AGENT_ID}"
UNKNOWN = str(uuid.UUID(int=7))


def assert_sent(request: RecordedRequest, fake: FakeMake, method: str, path: str) -> None:
    assert (request.method, request.path) == (method, path)
    assert request.query == {"teamId": "1"}
    assert request.headers["authorization"] == f"Token {fake.token}"


async def call(url: str, fake: FakeMake, tool: str, args: dict[str, Any], mode: str = "auto", **s):
    async with connect(
        make_settings_for(url, s.pop("token", fake.token), **s), mode, elicitation_callback=accept
    ) as client:
        with anyio.fail_after(15):
            return await client.call_tool(tool, args)


# ---- agents ------------------------------------------------------------------------------


async def test_list_agents_pages_the_team_agents(
    settings: Settings, fake: FakeMake, mode: str
) -> None:
    second = fake.add_agent("Second", "Be brief.")
    async with connect(settings, mode) as client:
        first = await call_ok(client, "list_agents", {"backend": "ops", "limit": 1})
        cursor = first["next_cursor"]
        rest = await call_ok(client, "list_agents", {"backend": "ops", "cursor": cursor})
    assert [a["ref"] for a in first["items"]] == [SEED_REF]
    seed = first["items"][0]
    assert seed["name"] == "Seed Agent" and seed["instructions"] == "You are a helpful assistant."
    assert seed["model"] == "gpt-4.1-mini" and seed["details"]["teamId"] == 1
    assert [a["ref"] for a in rest["items"]] == [f"ops:{second}"] and "next_cursor" not in rest
    assert len(fake.requests) == 2
    for request in fake.requests:
        assert_sent(request, fake, "GET", AGENTS)


async def test_list_agents_accepts_a_wrapped_list(url: str, fake: FakeMake) -> None:
    fake.list_format = "wrapped"
    listed = ok(await call(url, fake, "list_agents", {"backend": "ops"}))
    assert [a["id"] for a in listed["items"]] == [SEED_AGENT_ID]


async def test_get_agent_returns_the_full_agent(url: str, fake: FakeMake, mode: str) -> None:
    fake.agents[SEED_AGENT_ID]["scenarios"] = [{"makeScenarioId": 5, "approvalMode": "auto-run"}]
    agent = ok(await call(url, fake, "get_agent", {"agent": SEED_REF}, mode))
    assert agent["ref"] == SEED_REF and agent["instructions"] == "You are a helpful assistant."
    details = agent["details"]
    assert details["scenarios"] == [{"makeScenarioId": 5, "approvalMode": "auto-run"}]
    assert details["historyConfig"] == {"iterationsFromHistoryCount": 10}
    assert details["llmConfig"] == {"maxTokens": 100000}
    assert details["invocationConfig"] == {"recursionLimit": 300}
    assert details["mcpConfigs"] == [] and details["contexts"] == []
    assert details["makeConnectionId"] == 123
    (request,) = fake.requests
    assert_sent(request, fake, "GET", SEED)


async def test_agent_resource_reads_the_agent(
    settings: Settings,
) -> None:
    async with connect(settings) as client:
        result = await client.read_resource(f"agentdeck://ops/agents/{SEED_AGENT_ID}")
    assert json.loads(result.contents[0].text)["name"] == "Seed Agent"


async def test_get_unknown_agent_is_a_clear_error(url: str, fake: FakeMake) -> None:
    text = error_text(await call(url, fake, "get_agent", {"agent": f"ops:{UNKNOWN}"}))
    assert f"no Make agent '{UNKNOWN}' in team 1" in text and "list_agents" in text


async def test_a_ref_that_is_not_a_make_id_sends_nothing(url: str, fake: FakeMake) -> None:
    text = error_text(await call(url, fake, "get_agent", {"agent": "ops:not-an-agent"}))
    assert "not a Make agent id" in text and fake.requests == []


async def test_create_agent_maps_fields_and_options(url: str, fake: FakeMake, mode: str) -> None:
    args = {
        "backend": "ops",
        "name": "Helper",
        "instructions": "Answer in French.",
        "model": "gpt-4.1",
        "options": {"make_connection_id": "7", "output_parser_format": {"type": "text"}},
    }
    agent = ok(await call(url, fake, "create_agent", args, mode))
    (request,) = fake.requests
    assert_sent(request, fake, "POST", AGENTS)
    assert request.body == {
        "name": "Helper",
        "teamId": 1,
        "makeConnectionId": 7,
        "defaultModel": "gpt-4.1",
        "systemPrompt": "Answer in French.",
        "outputParserFormat": {"type": "text"},
    }
    stored = fake.agents[agent["id"]]
    assert agent["ref"] == f"ops:{stored['id']}" and agent["name"] == "Helper"
    assert agent["instructions"] == "Answer in French." and agent["model"] == "gpt-4.1"
    assert agent["details"]["makeConnectionId"] == 7
    assert stored["outputParser"] == {"type": "text"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"options": {}}, "requires options.make_connection_id"),
        ({"options": {"make_connection_id": "abc"}}, "must be a positive number"),
        ({"model": None}, "requires `model`"),
        ({"instructions": "  "}, "requires `instructions`"),
        ({"description": "x"}, "no description"),
        ({"options": {"make_connection_id": 7, "tools": []}}, "option(s) tools"),
    ],
)
async def test_bad_create_is_refused_before_any_request(
    url: str, fake: FakeMake, changes: dict[str, Any], expected: str
) -> None:
    args = {
        "backend": "ops",
        "name": "Helper",
        "instructions": "Be nice.",
        "model": "gpt-4.1",
        "options": {"make_connection_id": 7},
        **changes,
    }
    text = error_text(await call(url, fake, "create_agent", args))
    assert expected in text
    assert fake.requests == [] and list(fake.agents) == [SEED_AGENT_ID]


async def test_missing_connection_id_says_what_the_value_is(url: str, fake: FakeMake) -> None:
    args = {"backend": "ops", "name": "H", "instructions": "Hi.", "model": "gpt-4.1"}
    text = error_text(await call(url, fake, "create_agent", args))
    assert "make_connection_id" in text and "connection to the AI provider" in text


async def test_update_agent_patches_then_reads_back(url: str, fake: FakeMake, mode: str) -> None:
    args = {
        "agent": SEED_REF,
        "name": "Renamed",
        "instructions": "Be terse.",
        "model": "gpt-4.1",
        "options": {"output_parser_format": {"type": "json"}},
    }
    agent = ok(await call(url, fake, "update_agent", args, mode))
    patch, get = fake.requests
    assert_sent(patch, fake, "PATCH", SEED)
    assert patch.body == {
        "name": "Renamed",
        "systemPrompt": "Be terse.",
        "defaultModel": "gpt-4.1",
        "outputParserFormat": {"type": "json"},
    }
    assert_sent(get, fake, "GET", SEED)
    assert (agent["name"], agent["instructions"], agent["model"]) == (
        "Renamed",
        "Be terse.",
        "gpt-4.1",
    )
    assert agent["details"]["outputParser"] == {"type": "json"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"options": {"make_connection_id": 9}}, "cannot change an agent's connection"),
        ({"description": "x"}, "no description"),
        ({"instructions": " "}, "empty `instructions`"),
        ({"options": {"tools": []}}, "option(s) tools"),
    ],
)
async def test_bad_update_changes_nothing(
    url: str, fake: FakeMake, args: dict[str, Any], expected: str
) -> None:
    before = dict(fake.agents[SEED_AGENT_ID])
    text = error_text(await call(url, fake, "update_agent", {"agent": SEED_REF, **args}))
    assert expected in text
    assert fake.requests == [] and fake.agents[SEED_AGENT_ID] == before


async def test_update_unknown_agent_is_not_found(url: str, fake: FakeMake) -> None:
    text = error_text(
        await call(url, fake, "update_agent", {"agent": f"ops:{UNKNOWN}", "name": "X"})
    )
    assert f"no Make agent '{UNKNOWN}'" in text
    assert [r.method for r in fake.requests] == ["PATCH"]


async def test_delete_agent_after_confirmation(url: str, fake: FakeMake, mode: str) -> None:
    deleted = ok(await call(url, fake, "delete_agent", {"agent": SEED_REF}, mode))
    assert deleted["deleted"] == SEED_REF and fake.agents == {}
    (request,) = fake.requests
    assert_sent(request, fake, "DELETE", SEED)
    assert request.raw_body == b""


async def test_delete_unknown_agent_changes_nothing(url: str, fake: FakeMake) -> None:
    text = error_text(await call(url, fake, "delete_agent", {"agent": f"ops:{UNKNOWN}"}))
    assert "no Make agent" in text and list(fake.agents) == [SEED_AGENT_ID]


# ---- chat and conversations --------------------------------------------------------------


async def test_chat_streams_and_continues_the_thread(
    settings: Settings, fake: FakeMake, mode: str
) -> None:
    async with connect(settings, mode) as client:
        first = await call_ok(client, "chat", {"agent": SEED_REF, "message": "hello"})
        thread = conversation_id(first)
        args = {"agent": SEED_REF, "message": "again", "conversation": first["conversation"]}
        second = await call_ok(client, "chat", args)
        listed = await call_ok(client, "list_conversations", {"backend": "ops"})
        got = await call_ok(client, "get_conversation", {"conversation": f"ops:{thread}"})
        transcript = await client.read_resource(f"agentdeck://ops/conversations/{thread}")

    assert uuid.UUID(thread) and first["status"] == "completed"
    assert first["text"] == "[Seed Agent] user messages in thread: 1. Last: hello"
    assert first["tool_calls"][0]["result"] == f"thread {thread}: 1 user message(s)"
    assert first["details"]["threadId"] == thread
    assert isinstance(first["details"]["executionTimeMs"], int)
    assert second["conversation"] == first["conversation"]
    assert second["text"] == "[Seed Agent] user messages in thread: 2. Last: again"
    assert second["details"]["lastAgentIterationId"] == fake.last_run["agentIterationId"]

    runs = fake.requests_to("/run/stream")
    assert len(runs) == 2
    for request, text in zip(runs, ["hello", "again"], strict=True):
        assert_sent(request, fake, "POST", f"{SEED}/run/stream")
        assert request.headers["accept"] == "text/event-stream"
        assert request.body == {"messages": [{"role": "user", "content": text}], "threadId": thread}

    (summary,) = listed["items"]
    assert summary["id"] == thread and summary["agent"] == SEED_REF
    assert summary["message_count"] == 4 and summary["title"] == "hello"
    assert [(m["role"], m["content"]) for m in got["messages"]] == [
        ("user", "hello"),
        ("assistant", first["text"]),
        ("user", "again"),
        ("assistant", second["text"]),
    ]
    markdown = transcript.contents[0].text
    assert f"`ops:{thread}`" in markdown and "again" in markdown and second["text"] in markdown


async def test_streaming_off_uses_run_and_passes_callback(
    url: str, fake: FakeMake, mode: str
) -> None:
    async with connect(make_settings_for(url, fake.token, streaming=False), mode) as client:
        args = {
            "agent": SEED_REF,
            "message": "hi",
            "options": {"callback_url": "https://cb.test/x"},
        }
        first = await call_ok(client, "chat", args)
        thread = conversation_id(first)
        args = {"agent": SEED_REF, "message": "more", "conversation": first["conversation"]}
        second = await call_ok(client, "chat", args)
    first_run, second_run = fake.requests_to("/run")
    assert_sent(first_run, fake, "POST", f"{SEED}/run")
    assert first_run.body == {
        "messages": [{"role": "user", "content": "hi"}],
        "threadId": thread,
        "callbackUrl": "https://cb.test/x",
    }
    assert second_run.body == {
        "messages": [{"role": "user", "content": "more"}],
        "threadId": thread,
    }
    assert fake.runs[0]["callbackUrl"] == "https://cb.test/x"
    assert first["text"] == "[Seed Agent] user messages in thread: 1. Last: hi"
    assert second["text"].endswith("thread: 2. Last: more") and conversation_id(second) == thread
    details = second["details"]
    assert details["threadId"] == thread and details["executionTimeMs"] >= 1
    assert details["lastAgentIterationId"] == fake.last_run["agentIterationId"]


async def test_callback_url_is_passed_on_streamed_runs(url: str, fake: FakeMake) -> None:
    args = {"agent": SEED_REF, "message": "hi", "options": {"callback_url": "https://cb.test/y"}}
    ok(await call(url, fake, "chat", args))
    assert fake.last_run["callbackUrl"] == "https://cb.test/y" and fake.last_run["stream"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"message": "   "}, "message is empty"),
        ({"options": {"callback_url": "ftp://x"}}, "http(s) URL"),
        ({"options": {"stream": False}}, "option(s) stream"),
        ({"agent": "ops:nope"}, "not a Make agent id"),
    ],
)
async def test_bad_chat_input_sends_nothing(
    url: str, fake: FakeMake, args: dict[str, Any], expected: str
) -> None:
    result = await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi", **args})
    text = result.structured_content["error"] if not result.is_error else error_text(result)
    assert expected in text
    assert fake.requests == [] and fake.threads == {}


async def test_chat_with_unknown_agent_fails_and_leaves_no_conversation(
    settings: Settings, fake: FakeMake
) -> None:
    async with connect(settings) as client:
        result = await client.call_tool("chat", {"agent": f"ops:{UNKNOWN}", "message": "hi"})
        listed = await call_ok(client, "list_conversations", {"backend": "ops"})
    assert f"no Make agent '{UNKNOWN}'" in error_text(result)
    assert fake.threads == {} and listed["items"] == []


async def test_cut_off_stream_keeps_text_and_fails(url: str, fake: FakeMake) -> None:
    partial = {
        "role": "assistant",
        "content": "Partial answer",
        "id": "m1",
        "agentIterationId": "i",
    }
    fake.stream_script = [FakeMake.step(partial)]
    fake.next_stream = "cut_off"
    result = ok(await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi"}))
    assert result["status"] == "failed" and result["text"] == "Partial answer"
    assert "cut off" in result["error"] and result["conversation"]


async def test_stream_without_an_answer_fails(url: str, fake: FakeMake) -> None:
    fake.stream_script = [FakeMake.step({"role": "system", "content": "sys"})]
    text = error_text(await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi"}))
    assert "ended before the agent answered" in text


async def test_malformed_step_is_a_warning(url: str, fake: FakeMake) -> None:
    fake.next_stream = "malformed"
    result = ok(await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi"}))
    heard = "[Seed Agent] user messages in thread: 1. Last: hi"
    assert_completed_with_a_warning(result, heard, "malformed 'step' event")


async def test_tool_calls_and_several_assistant_steps(url: str, fake: FakeMake) -> None:
    call_step = {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {"id": "c1", "function": {"name": "search", "arguments": '{"q": "make"}'}},
        ],
    }
    fake.stream_script = [
        FakeMake.step(call_step),
        FakeMake.step({"role": "tool", "tool_call_id": "c1", "content": '{"hits": 2}'}),
        "event:step\ndata:[1, 2]\n\n",
        "event:ping\ndata:{}\n\n",
        FakeMake.step({"role": "assistant", "content": [{"type": "text", "text": "Two hits."}]}),
    ]
    result = ok(await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi"}))
    assert result["status"] == "completed" and result["text"] == "Let me look.\n\nTwo hits."
    assert result["tool_calls"] == [
        {"id": "c1", "name": "search", "arguments": {"q": "make"}, "result": {"hits": 2}}
    ]
    (warning,) = result["warnings"]
    assert "not a message" in warning


async def test_slow_run_returns_running_then_get_run_waits(
    settings: Settings, fake: FakeMake
) -> None:
    # three gaps of 0.5 s: the run is still going after 0.5 s, which on a loaded machine is
    # time enough for its stream to open and name its thread
    fake.next_stream, fake.slow_delay = "slow", 0.5
    async with connect(settings) as client:
        args = {"agent": SEED_REF, "message": "hi", "wait_seconds": 0.5}
        early = await call_ok(client, "chat", args)
        with anyio.fail_after(10):
            done = await call_ok(client, "get_run", {"run_id": early["run_id"], "wait_seconds": 9})
    assert early["status"] == "running" and early["conversation"]
    assert done["status"] == "completed" and done["text"].endswith("Last: hi")
    assert done["conversation"] == early["conversation"]


async def test_cancel_run_closes_the_stream(settings: Settings, fake: FakeMake) -> None:
    fake.next_stream, fake.slow_delay = "slow", 2
    async with connect(settings) as client:
        args = {"agent": SEED_REF, "message": "hi", "wait_seconds": 0.1}
        early = await call_ok(client, "chat", args)
        with anyio.fail_after(5):
            cancelled = await call_ok(client, "cancel_run", {"run_id": early["run_id"]})
    assert cancelled["status"] == "cancelled" and "Last: hi" not in cancelled["text"]


# ---- HTTP failures -----------------------------------------------------------------------


async def test_429_on_a_get_is_retried(url: str, fake: FakeMake) -> None:
    fake.rate_limited(retry_after=0)
    listed = ok(await call(url, fake, "list_agents", {"backend": "ops"}))
    assert len(listed["items"]) == 1 and len(fake.requests) == 2


async def test_429_retries_exhausted_says_when_to_retry(url: str, fake: FakeMake) -> None:
    fake.rate_limited(retry_after=0, times=3)
    text = error_text(await call(url, fake, "get_agent", {"agent": SEED_REF}))
    assert "HTTP 429" in text and "Retried 2 times" in text and "Try again after 0 s" in text
    assert len(fake.requests) == 3


async def test_429_on_a_run_is_not_repeated(url: str, fake: FakeMake) -> None:
    fake.rate_limited(retry_after=0, path_contains="/run")
    text = error_text(await call(url, fake, "chat", {"agent": SEED_REF, "message": "hi"}))
    assert "HTTP 429" in text and "Try again after 0 s" in text
    assert len(fake.requests) == 1 and fake.threads == {}


async def test_wrong_token_names_the_key_never_the_secret(url: str, fake: FakeMake) -> None:
    secret = "wrong-secret-token-4711"
    args = {"backend": "ops", "name": "H", "instructions": "Hi.", "model": "m"}
    args["options"] = {"make_connection_id": 7}
    text = error_text(await call(url, fake, "create_agent", args, token=secret))
    assert "HTTP 401" in text and "`token`" in text and secret not in text
    assert list(fake.agents) == [SEED_AGENT_ID]
    assert fake.requests[0].headers["authorization"] == f"Token {secret}"


async def test_team_without_access_is_explained(url: str, fake: FakeMake) -> None:
    text = error_text(await call(url, fake, "list_agents", {"backend": "ops"}, team_id=2))
    assert "HTTP 403" in text and "cannot access team 2" in text and "ai-agents" in text
    assert fake.requests[0].query == {"teamId": "2"}


async def test_missing_scope_is_explained_and_changes_nothing(url: str, fake: FakeMake) -> None:
    fake.scopes = {READ}
    text = error_text(await call(url, fake, "delete_agent", {"agent": SEED_REF}))
    assert "ai-agents:write" in text and "scopes" in text and SEED_AGENT_ID in fake.agents


async def test_server_error_on_get(url: str, fake: FakeMake) -> None:
    fake.server_error()
    text = error_text(await call(url, fake, "get_agent", {"agent": SEED_REF}))
    assert "HTTP 500: Internal server error" in text and "retry later" in text
    assert len(fake.requests) == 1


async def test_server_error_on_create_is_not_repeated(url: str, fake: FakeMake) -> None:
    fake.server_error()
    args = {"backend": "ops", "name": "H", "instructions": "Hi.", "model": "m"}
    args["options"] = {"make_connection_id": 7}
    text = error_text(await call(url, fake, "create_agent", args))
    assert "HTTP 500" in text and len(fake.requests) == 1


# ---- agentdeck check ---------------------------------------------------------------------


async def check(url: str, fake: FakeMake, **extra: Any) -> str:
    async with Registry.open(
        make_settings_for(url, extra.pop("token", fake.token), **extra)
    ) as registry:
        with anyio.fail_after(10):
            return await registry.get("ops").check()


async def test_check_counts_the_team_agents(url: str, fake: FakeMake) -> None:
    assert await check(url, fake) == "1 agents in team 1"
    assert_sent(fake.requests[0], fake, "GET", AGENTS)


async def test_check_reports_a_bad_token(url: str, fake: FakeMake) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await check(url, fake, token="bad-token-0815")
    assert "`token`" in str(caught.value) and "bad-token-0815" not in str(caught.value)


async def test_check_reports_a_team_the_token_cannot_use(url: str, fake: FakeMake) -> None:
    with pytest.raises(PermissionDeniedError, match="cannot access team 5"):
        await check(url, fake, team_id=5)


async def test_check_reports_a_bad_team_id(url: str, fake: FakeMake) -> None:
    fake.fail_next(400, make_error(400, "Validation failed."))
    with pytest.raises(UpstreamValidationError, match="Check `team_id`"):
        await check(url, fake)


async def test_check_reports_a_wrong_base_url(url: str, fake: FakeMake) -> None:
    with pytest.raises(NotFoundError, match="Check `base_url`"):
        await check(url.removesuffix("/api/v2"), fake)


async def test_plain_run_knows_the_thread_while_still_running(url: str, fake: FakeMake) -> None:
    fake.delay, fake.delay_routes = 0.3, {"run"}
    async with connect(make_settings_for(url, fake.token, streaming=False)) as client:
        args = {"agent": SEED_REF, "message": "hi", "wait_seconds": 0.05}
        early = await call_ok(client, "chat", args)
        with anyio.fail_after(10):
            done = await call_ok(client, "get_run", {"run_id": early["run_id"], "wait_seconds": 9})
    assert early["status"] == "running" and early["conversation"]
    assert done["status"] == "completed" and done["conversation"] == early["conversation"]
    assert fake.last_run["threadId"] == conversation_id(early)


async def test_defect_8_a_plain_run_answer_is_read_through_the_capped_http_layer(
    url: str, fake: FakeMake
) -> None:
    args = {"agent": SEED_REF, "message": "long " * 200}
    result = await call(url, fake, "chat", args, streaming=False, max_response_bytes=500)
    text = error_text(result) if result.is_error else ok(result)["error"]
    assert "answered more than 500 bytes" in text
