"""The AgentFlow backend's agents, sub-agents, tools, check and HTTP failures, through MCP."""

from typing import Any

import pytest

from agentdeck.cli import check_backends
from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.platforms import agentflow_settings as flow_settings
from tests.support import (
    accept,
    call_confirmed,
    call_error,
    call_ok,
    call_once,
    connect,
    connect_asked,
    decline,
    error_once,
)

pytestmark = pytest.mark.anyio

TOKEN = "test-token"


async def test_agents_are_listed_page_by_page_with_the_bearer_token(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        first = await call_ok(client, "list_agents", {"backend": "flow", "limit": 1})
        assert [a["ref"] for a in first["items"]] == ["flow:agent_research"]
        assert first["items"][0]["model"] == "gpt-4o"
        rest = await call_ok(
            client, "list_agents", {"backend": "flow", "limit": 1, "cursor": first["next_cursor"]}
        )
    assert [a["name"] for a in rest["items"]] == ["Support Bot"]
    assert "next_cursor" not in rest
    sent = fake.requests_to("/api/v1/agents", "GET")
    assert sent[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert sent[0].query == {"limit": "2", "offset": "0"}


async def test_list_backends_shows_agentflow_capabilities(settings: Settings) -> None:
    async with connect(settings) as client:
        backends = (await call_ok(client, "list_backends", {}))["backends"]
    flow = next(b for b in backends if b["name"] == "flow")
    assert flow["kind"] == "agentflow"
    assert flow["capabilities"] == [
        "agents",
        "manage_agents",
        "chat",
        "cancel",
        "conversations",
        "approvals",
        "knowledge",
    ]


async def test_get_agent_reads_details_and_configuration(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    agent = await call_once(settings, "get_agent", {"agent": "flow:agent_research"}, mode)
    assert agent["name"] == "Research Assistant"
    assert agent["instructions"] == "Be precise."
    assert agent["details"]["config"]["temperature"] == 0.2
    assert agent["details"]["tools"] == ["search_knowledge", "send_email"]
    assert agent["details"]["knowledge_base_ids"] == ["kb_docs"]
    assert [r.path for r in fake.requests] == [
        "/api/v1/agent/agent_research",
        "/api/v1/agent/agent_research/config",
    ]


async def test_update_agent_patches_the_configuration(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    updated = await call_once(
        settings,
        "update_agent",
        {
            "agent": "flow:agent_research",
            "instructions": "Cite sources.",
            "options": {"temperature": 0.7},
        },
        mode,
    )
    assert updated["instructions"] == "Cite sources."
    assert updated["details"]["config"]["temperature"] == 0.7
    (patch,) = fake.requests_to("/config", "PATCH")
    assert patch.body == {"system_prompt": "Cite sources.", "temperature": 0.7}
    assert fake.agents["agent_research"]["config"]["system_prompt"] == "Cite sources."


async def test_renaming_a_top_level_agent_is_refused_before_any_request(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    text = await error_once(settings, "update_agent", {"agent": "flow:agent_research", "name": "X"})
    assert "not its name or description" in text
    assert fake.requests == []
    assert fake.agents["agent_research"]["name"] == "Research Assistant"


async def test_create_agent_makes_a_sub_agent_that_every_agent_tool_accepts(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode, elicitation_callback=accept) as client:
        created = await call_ok(
            client,
            "create_agent",
            {
                "backend": "flow",
                "name": "Critic",
                "instructions": "Find flaws.",
                "description": "Reviews drafts",
                "options": {"parent_agent": "flow:agent_research", "tools": ["send_email"]},
            },
        )
        sub_id = created["id"].split("/")[1]
        assert created["ref"] == f"flow:agent_research/{sub_id}"
        assert created["details"]["parent_agent"] == "flow:agent_research"
        (post,) = fake.requests_to("/subagents", "POST")
        assert post.path == "/api/v1/agent/agent_research/subagents"
        assert post.body == {
            "name": "Critic",
            "description": "Reviews drafts",
            "system_prompt": "Find flaws.",
            "tools": ["send_email"],
        }

        fetched = await call_ok(client, "get_agent", {"agent": created["ref"]})
        assert fetched["instructions"] == "Find flaws."
        renamed = await call_ok(
            client, "update_agent", {"agent": created["ref"], "name": "Critic 2"}
        )
        assert renamed["name"] == "Critic 2"
        assert fake.subagents["agent_research"][sub_id]["name"] == "Critic 2"
        await call_ok(client, "delete_agent", {"agent": created["ref"]})
    assert sub_id not in fake.subagents["agent_research"]
    assert fake.requests[-1].method == "DELETE"
    assert fake.requests[-1].path == f"/api/v1/agent/agent_research/subagents/{sub_id}"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "options.parent_agent must name the parent agent"),
        ({"parent_agent": "other:agent_research"}, "is on backend 'other'"),
        ({"parent_agent": "agent_research", "colour": "red"}, "accepted: parent_agent, tools"),
        ({"parent_agent": "agent_research", "tools": "send_email"}, "list of tool names"),
    ],
)
async def test_create_agent_with_bad_options_says_why_and_sends_nothing(
    fake: FakeAgentFlow, settings: Settings, options: dict[str, Any], expected: str
) -> None:
    text = await error_once(
        settings, "create_agent", {"backend": "flow", "name": "Critic", "options": options}
    )
    assert expected in text
    assert fake.requests == []


async def test_delete_agent_deletes_it(fake: FakeAgentFlow, settings: Settings) -> None:
    deleted = await call_confirmed(settings, "delete_agent", {"agent": "flow:agent_support"})
    assert deleted["deleted"] == "flow:agent_support"
    assert "agent_support" not in fake.agents
    assert fake.requests[-1].method == "DELETE"


async def test_sub_agents_are_listed_and_chat_runs_one(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        subs = await call_ok(client, "list_subagents", {"agent": "flow:agent_research"})
        assert [s["ref"] for s in subs["items"]] == ["flow:agent_research/sub_summarizer"]
        ran = await call_ok(client, "chat", {"agent": subs["items"][0]["ref"], "message": "long"})
        assert ran["status"] == "completed"
        assert ran["text"] == "[Summarizer] Echo: long"
        refused = await call_error(
            client,
            "chat",
            {"agent": subs["items"][0]["ref"], "message": "x", "conversation": "flow:conv_1"},
        )
    assert "takes no conversation" in refused
    (run,) = fake.requests_to("/run", "POST")
    assert run.path == "/api/v1/agent/agent_research/subagents/sub_summarizer/run"
    assert run.body == {"message": "long"}


async def test_agent_tools_are_listed_and_run_directly(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect_asked(settings, mode) as (client, questions):
        tools = await call_ok(client, "list_agent_tools", {"agent": "flow:agent_research"})
        by_name = {t["name"]: t for t in tools["items"]}
        assert by_name["send_email"]["requires_approval"] is True
        assert by_name["send_email"]["parameters"]["required"] == ["to", "body"]
        ran = await call_ok(
            client,
            "run_agent_tool",
            {
                "agent": "flow:agent_support",
                "tool": "lookup_order",
                "arguments": {"order_id": "42"},
            },
        )
        assert ran["status"] == "success"
        assert ran["result"]["output"] == 'lookup_order ran with {"order_id": "42"}'
        missing = await call_error(
            client,
            "run_agent_tool",
            {"agent": "flow:agent_support", "tool": "lookup_order", "arguments": {}},
        )
    assert "HTTP 422" in missing and "arguments.order_id: Field required" in missing
    assert fake.requests_to("/tools/lookup_order/run")[0].body == {"arguments": {"order_id": "42"}}
    assert len(fake.tool_runs) == 1
    assert questions[0] == (
        "This runs the tool 'lookup_order' of agent flow:agent_support now; its effects "
        "cannot be undone. Go ahead?"
    )


async def test_a_declined_tool_run_runs_nothing(fake: FakeAgentFlow, settings: Settings) -> None:
    text = await error_once(
        settings,
        "run_agent_tool",
        {"agent": "flow:agent_research", "tool": "send_email", "arguments": {"to": "x"}},
        elicitation_callback=decline,
    )
    assert "nothing was changed" in text.lower()
    assert fake.requests_to("/run") == [] and fake.tool_runs == []


async def test_a_wrong_token_names_the_config_key_and_never_the_token(
    fake: FakeAgentFlow, url: str
) -> None:
    secret = "sk-af-very-secret-value"
    text = await error_once(flow_settings(url, token=secret), "list_agents", {"backend": "flow"})
    assert "HTTP 401" in text and "`token`" in text and "[backends.flow]" in text
    assert secret not in text
    assert fake.requests[0].headers["authorization"] == f"Bearer {secret}"


async def test_a_token_without_the_scope_gets_403_and_nothing_changes(
    fake: FakeAgentFlow, url: str
) -> None:
    text = await error_once(
        flow_settings(url, token="read-token"),
        "update_agent",
        {"agent": "flow:agent_research", "options": {"temperature": 1.0}},
    )
    assert "HTTP 403" in text and "Missing required scope: agents:write" in text
    assert fake.agents["agent_research"]["config"]["temperature"] == 0.2


async def test_an_unknown_agent_is_404_with_the_platform_text(settings: Settings) -> None:
    text = await error_once(settings, "get_agent", {"agent": "flow:nope"})
    assert "HTTP 404" in text and "Agent nope not found" in text


async def test_a_rate_limited_read_is_retried_after_retry_after(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.rate_limited(retry_after=0, path_contains="/api/v1/agents")
    listed = await call_once(settings, "list_agents", {"backend": "flow"})
    assert len(listed["items"]) == 2
    assert len(fake.requests_to("/api/v1/agents")) == 2


async def test_rate_limiting_that_outlasts_the_retries_says_when_to_try_again(
    fake: FakeAgentFlow, url: str
) -> None:
    fake.rate_limited(retry_after=1, path_contains="/api/v1/agents", times=2)
    text = await error_once(flow_settings(url, max_retries=1), "list_agents", {"backend": "flow"})
    assert "HTTP 429" in text and "Retried 1 times" in text and "Try again after 1 s" in text


async def test_a_server_error_is_reported_with_a_hint(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    fake.server_error(path_contains="/api/v1/agent/")
    text = await error_once(settings, "get_agent", {"agent": "flow:agent_research"})
    assert "HTTP 500" in text and "Internal server error" in text and "retry later" in text


async def test_check_reports_version_health_readiness_and_agents(
    fake: FakeAgentFlow, url: str, settings: Settings
) -> None:
    rows = await check_backends(flow_settings(url + "/api/v1"))
    flow = next(r for r in rows if r[0] == "flow")
    assert flow[3] == "ok", flow
    assert flow[4] == "AgentFlow API 2.3.0: healthy, ready; 2 agents"
    assert [r.path for r in fake.requests] == [
        "/health",
        "/ready",
        "/openapi.json",
        "/api/v1/agents",
    ]

    fake.version = "2.4.0"
    fake.fail_next(404, {"detail": "Not Found"}, path_contains="/openapi.json")
    rows = await check_backends(settings)
    assert next(r for r in rows if r[0] == "flow")[4].startswith("AgentFlow API 2.4.0: healthy")

    fake.ready = False
    rows = await check_backends(flow_settings(url, max_retries=0))
    failed = next(r for r in rows if r[0] == "flow")
    assert failed[3] == "FAIL" and "HTTP 503" in failed[4]


async def test_exposed_agents_become_tools_that_chat(fake: FakeAgentFlow, url: str) -> None:
    async with connect(flow_settings(url, expose_agents=True)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"flow_research_assistant", "flow_support_bot"} <= names
        answer = await call_ok(client, "flow_support_bot", {"message": "where is 42?"})
    assert answer["agent"] == "flow:agent_support"
    assert answer["text"] == "[Support Bot] Echo: where is 42? (turn 1)"
    assert fake.requests_to("/chat")[0].path == "/api/v1/agent/agent_support/chat"
