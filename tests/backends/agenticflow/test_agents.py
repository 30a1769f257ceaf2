"""AgenticFlow agents through a real MCP client, against the fake over real HTTP."""

from __future__ import annotations

import json

import pytest

from agentdeck.backends.agenticflow import schema, trigger_schema
from agentdeck.backends.agenticflow.backend import AgenticFlowBackend
from agentdeck.backends.base import options_of
from agentdeck.config import Settings
from tests.backends.agenticflow.refs import MISSING_ID
from tests.fakes.agenticflow import (
    API_KEY,
    FOREIGN_AGENT_ID,
    PRIVATE_AGENT_ID,
    PROJECT_ID,
    PUBLIC_AGENT_ID,
    WORKSPACE_ID,
    FakeAgenticFlow,
)
from tests.fakes.base import Served
from tests.platforms import agenticflow_settings
from tests.support import accept, call_error, call_ok, call_once, connect, error_once

pytestmark = pytest.mark.anyio

WORKFLOW_ID = "11111111-2222-4333-8444-555555555555"


async def test_agents_are_listed_page_by_page_with_the_key_and_project(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    for index in range(3):
        fake.add_agent(f"Extra {index}")
    async with connect(settings, mode) as client:
        first = await call_ok(client, "list_agents", {"backend": "af", "limit": 3})
        rest = await call_ok(
            client, "list_agents", {"backend": "af", "limit": 3, "cursor": first["next_cursor"]}
        )
    names = [a["name"] for a in first["items"] + rest["items"]]
    assert names == ["Echo Public", "Support Bot", "Extra 0", "Extra 1", "Extra 2"]
    assert "Other Team Bot" not in names  # another project's agent is not listed
    assert first["items"][1]["ref"] == f"af:{PRIVATE_AGENT_ID}"
    assert first["items"][1]["description"] == "Helps users"
    assert first["items"][0]["details"]["visibility"] == "public"
    assert first["next_cursor"] and "next_cursor" not in rest

    calls = fake.requests_to("/v1/agents/", "GET")
    assert [c.path for c in calls] == ["/v1/agents/", "/v1/agents/"]
    assert calls[0].query == {
        "workspace_id": WORKSPACE_ID,
        "project_id": PROJECT_ID,
        "limit": "4",
        "offset": "0",
    }
    assert calls[1].query["offset"] == "3"
    assert calls[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_an_agent_is_created_read_updated_and_deleted(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    options = {
        "visibility": "public",
        "model_user_config": {"temperature": 0.2, "max_tokens": 1000},
        "tools": [{"workflow_id": WORKFLOW_ID, "run_behavior": "request_confirmation"}],
        "sub_agents": [{"sub_agent_id": PRIVATE_AGENT_ID, "description": "asks support"}],
        "suggested_messages": [{"title": "Hi", "label": "Say hi", "action": "hi"}],
        "recursion_limit": 30,
        "welcome_message": "Welcome!",
    }
    async with connect(settings, mode, elicitation_callback=accept) as client:
        created = await call_ok(
            client,
            "create_agent",
            {
                "backend": "af",
                "name": "Writer",
                "instructions": "Write well.",
                "model": "agenticflow/gpt-4o",
                "description": "writes",
                "options": options,
            },
        )
        ref = created["ref"]
        fetched = await call_ok(client, "get_agent", {"agent": ref})
        updated = await call_ok(
            client,
            "update_agent",
            {"agent": ref, "instructions": "Write tersely.", "options": {"plugins": []}},
        )
        deleted = await call_ok(client, "delete_agent", {"agent": ref})
        gone = await call_error(client, "get_agent", {"agent": ref})

    agent_id = created["id"]
    assert ref == f"af:{agent_id}"
    assert (created["name"], created["instructions"], created["model"]) == (
        "Writer", "Write well.", "agenticflow/gpt-4o",
    )  # fmt: skip
    assert created["details"]["visibility"] == "public"
    assert created["details"]["tools"][0]["run_behavior"] == "request_confirmation"
    assert fetched == created
    assert updated["instructions"] == "Write tersely." and updated["name"] == "Writer"
    assert deleted["deleted"] == ref
    assert "404" in gone and "Agent not found" in gone

    post = fake.requests_to("/v1/agents/", "POST")[0]
    assert post.query == {"workspace_id": WORKSPACE_ID}
    assert post.body == {
        "name": "Writer",
        "project_id": PROJECT_ID,
        "tools": options["tools"],
        "system_prompt": "Write well.",
        "model": "agenticflow/gpt-4o",
        "description": "writes",
        **{k: v for k, v in options.items() if k != "tools"},
    }
    put = fake.requests_to(f"/v1/agents/{agent_id}", "PUT")[0]
    assert put.body == {"plugins": [], "system_prompt": "Write tersely."}
    assert fake.requests_to(f"/v1/agents/{agent_id}", "DELETE")
    assert agent_id not in fake.agents


BAD_OPTIONS = [
    ({"recursion_limit": 5}, "options.recursion_limit must be between 11 and 99, not 5"),
    ({"tools": [{"workflow_id": "nope"}]}, "options.tools[0].workflow_id must be a UUID"),
    ({"tools": [{"timeout": 10}]}, "options.tools[0] needs one of workflow_id"),
    ({"tools": [{"workflow_id": WORKFLOW_ID, "x": 1}]}, "options.tools[0].x is not a known"),
    ({"plugins": [{"plugin_id": "p"}]}, "options.plugins[0].plugin_version is required"),
    ({"visibility": "secret"}, "options.visibility must be one of private, public"),
    ({"model_user_config": {"temperature": 3}}, "temperature must be between 0 and 1"),
    ({"suggested_messages": [{"title": "a", "label": "b", "action": "c"}] * 5}, "at most 4"),
    ({"mcp_clients": [{"mcp_client_id": WORKFLOW_ID, "tools": {"t": {}}}]}, "allowed is req"),
    ({"system_prompt": "x"}, "options.system_prompt is not an option; use the `instructions`"),
    ({"colour": "red"}, "options.colour is not an AgenticFlow agent option"),
]


async def test_wrong_agent_options_are_refused_before_any_request(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        for options, expected in BAD_OPTIONS:
            text = await call_error(
                client, "create_agent", {"backend": "af", "name": "Bad", "options": options}
            )
            assert expected in text, (options, text)
            assert "Nothing was sent" in text
    assert fake.requests == []


async def test_an_update_may_not_clear_a_field_the_platform_needs(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    text = await error_once(
        settings, "update_agent", {"agent": f"af:{PRIVATE_AGENT_ID}", "options": {"tools": None}}
    )
    assert "options.tools cannot be null in an update" in text
    assert fake.requests == []


async def test_a_validation_error_of_the_platform_names_the_fields(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    # workflow_template_id alone is valid per the OpenAPI file; this deployment wants workflow_id.
    tools = [{"workflow_template_id": WORKFLOW_ID}]
    text = await error_once(
        settings, "create_agent", {"backend": "af", "name": "T", "options": {"tools": tools}}
    )
    assert "HTTP 422" in text and "tools.0.workflow_id: Field required" in text
    assert "nothing was changed" in text
    assert len(fake.requests_to("/v1/agents/", "POST")) == 1


async def test_a_missing_workspace_id_is_explained_as_a_config_setting(url: str) -> None:
    text = await error_once(
        agenticflow_settings(url, workspace_id=None), "list_agents", {"backend": "af"}
    )
    assert "query.workspace_id: Field required" in text
    assert "Set `workspace_id` of backend 'af' in the config" in text


async def test_create_needs_a_project_id_in_the_config(fake: FakeAgenticFlow, url: str) -> None:
    text = await error_once(
        agenticflow_settings(url, project_id=None),
        "create_agent",
        {"backend": "af", "name": "No project"},
    )
    assert "Set `project_id` of backend 'af'" in text
    assert fake.requests == []


async def test_another_projects_agent_is_forbidden_and_unknown_ids_are_not_found(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings, elicitation_callback=accept) as client:
        foreign = await call_error(client, "get_agent", {"agent": f"af:{FOREIGN_AGENT_ID}"})
        missing = await call_error(client, "get_agent", {"agent": f"af:{MISSING_ID}"})
        not_uuid = await call_error(client, "get_agent", {"agent": "af:support-bot"})
        delete = await call_error(client, "delete_agent", {"agent": f"af:{FOREIGN_AGENT_ID}"})
    assert "HTTP 403" in foreign and "bound to one project" in foreign
    assert "HTTP 403" in delete and FOREIGN_AGENT_ID in fake.agents
    assert "HTTP 404" in missing and "Agent not found" in missing
    assert "not an AgenticFlow agent id (they are UUIDs)" in not_uuid
    assert [r.path for r in fake.requests] == [
        f"/v1/agents/{FOREIGN_AGENT_ID}",
        f"/v1/agents/{MISSING_ID}",
        f"/v1/agents/{FOREIGN_AGENT_ID}",
    ]


async def test_a_wrong_key_names_the_config_key_and_never_the_key(
    fake: FakeAgenticFlow, url: str
) -> None:
    secret = "af-wrong-secret-key-123"
    text = await error_once(
        agenticflow_settings(url, api_key=secret), "get_agent", {"agent": f"af:{PRIVATE_AGENT_ID}"}
    )
    assert "HTTP 401" in text and "Invalid API key" in text
    assert "`api_key` of backend 'af'" in text
    assert secret not in text
    assert fake.requests[0].headers["authorization"] == f"Bearer {secret}"


async def test_a_rate_limited_read_is_retried_after_the_wait_it_asks_for(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    fake.rate_limited(retry_after=0)
    agent = await call_once(settings, "get_agent", {"agent": f"af:{PRIVATE_AGENT_ID}"})
    assert agent["name"] == "Support Bot"
    assert len(fake.requests_to(f"/v1/agents/{PRIVATE_AGENT_ID}")) == 2


async def test_rate_limits_that_outlast_the_retries_say_when_to_try_again(
    fake: FakeAgenticFlow, url: str
) -> None:
    body = {"detail": "Rate limit exceeded: 100 per 1 minute"}
    fake.fail_next(429, body, headers={"Retry-After": "1"}, times=5)
    async with connect(agenticflow_settings(url, max_retries=1)) as client:
        read = await call_error(client, "get_agent", {"agent": f"af:{PRIVATE_AGENT_ID}"})
        write = await call_error(client, "create_agent", {"backend": "af", "name": "X"})
    assert "HTTP 429" in read and "Rate limit exceeded" in read
    assert "Retried 1 times. Try again after 1 s." in read
    assert "Try again after 1 s." in write
    assert len(fake.requests_to(f"/v1/agents/{PRIVATE_AGENT_ID}")) == 2
    assert len(fake.requests_to("/v1/agents/", "POST")) == 1  # a POST is never repeated


async def test_a_server_error_is_reported_after_the_retries(
    fake: FakeAgenticFlow, url: str
) -> None:
    fake.server_error(times=5)
    text = await error_once(
        agenticflow_settings(url, max_retries=0), "list_agents", {"backend": "af"}
    )
    assert "HTTP 500" in text and "Internal Server Error" in text and "retry later" in text


async def test_without_a_key_public_agents_are_read_anonymously(
    fake: FakeAgenticFlow, url: str
) -> None:
    async with connect(agenticflow_settings(url, api_key=None)) as client:
        public = await call_ok(client, "get_agent", {"agent": f"af:{PUBLIC_AGENT_ID}"})
        private = await call_error(client, "get_agent", {"agent": f"af:{PRIVATE_AGENT_ID}"})
        listing = await call_error(client, "list_agents", {"backend": "af"})
        create = await call_error(client, "create_agent", {"backend": "af", "name": "x"})
    assert public["name"] == "Echo Public" and public["details"]["public_info_only"] is True
    assert "HTTP 403" in private and "private: set `api_key`" in private
    assert "list_agents needs an API key" in listing
    assert "create_agent needs an API key" in create
    assert [r.path for r in fake.requests] == [
        f"/v1/agents/anonymous/{PUBLIC_AGENT_ID}",
        f"/v1/agents/anonymous/{PRIVATE_AGENT_ID}",
    ]
    assert all("authorization" not in r.headers for r in fake.requests)


async def test_a_self_hosted_deployment_uses_its_path_prefix(served: Served) -> None:
    fake = FakeAgenticFlow(path_prefix="/api")
    url = served(fake)
    agent = await call_once(
        agenticflow_settings(url, path_prefix="/api"),
        "get_agent",
        {"agent": f"af:{PRIVATE_AGENT_ID}"},
    )
    assert agent["name"] == "Support Bot"
    assert fake.requests[0].path == f"/api/agents/{PRIVATE_AGENT_ID}"


async def test_check_counts_the_projects_agents(settings: Settings) -> None:
    from agentdeck.registry import Registry

    async with Registry.open(settings) as registry:
        summary = await registry.get("af").check()
    assert summary == f"2 agents in project {PROJECT_ID}"


async def test_the_backend_lists_its_capabilities(settings: Settings) -> None:
    async with connect(settings) as client:
        backends = (await call_ok(client, "list_backends", {}))["backends"]
    af = next(b for b in backends if b["name"] == "af")
    assert af["kind"] == "agenticflow"
    assert af["capabilities"] == ["agents", "manage_agents", "chat", "triggers"]
    assert json.dumps(backends).count(API_KEY) == 0


def test_the_declared_options_are_the_keys_the_request_checks_take() -> None:
    declared = AgenticFlowBackend.options

    def keys(operation: str) -> set[str]:
        return {option.key for option in options_of(declared, operation)}

    assert keys("create_agent") == keys("update_agent") == set(schema.AGENT_OPTIONS)
    assert keys("chat") == set(schema.CHAT_OPTIONS)
    assert keys("create_trigger") == keys("update_trigger") == set(trigger_schema.TRIGGER_CHECKS)
