"""Roboflow's Workflows management through the MCP client: the workflows toolset."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from agentdeck.config import Settings
from agentdeck.registry import Registry
from agentdeck.server.tools import workflows as workflow_tools
from tests.backends.roboflow.keys import assert_key_sent_as_documented
from tests.fakes.roboflow import (
    FOLDER_KEY,
    FULL_KEY,
    PUBLIC_WORKSPACE,
    READ_KEY,
    WORKSPACE,
    FakeRoboflow,
)
from tests.platforms import roboflow_settings
from tests.platforms import workflows_state as state
from tests.support import (
    accept,
    call_confirmed,
    call_error,
    call_ok,
    connect,
    connect_asked,
    connect_confirming,
    decline,
    error_once,
)

pytestmark = pytest.mark.anyio


async def on_vision(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A call of ``tool`` on the backend ``vision`` that must succeed: its result."""
    return await call_ok(client, tool, {"backend": "vision", **arguments})


SPEC = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [],
    "outputs": [],
}


# ---- reading ----------------------------------------------------------------------------


async def test_list_workflows_pages_with_a_cursor_from_one_backend_or_all(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        first = await call_ok(client, "list_workflows", {"backend": "vision", "limit": 1})
        assert [w["ref"] for w in first["items"]] == ["vision:slow-webhooks"]
        assert first["items"][0]["details"]["internal_id"] == "wf_abc123"
        assert first["items"][0]["created_at"].startswith("2026-04-12T17:05:33")
        second = await call_ok(
            client,
            "list_workflows",
            {"backend": "vision", "limit": 5, "cursor": first["next_cursor"]},
        )
        assert [w["ref"] for w in second["items"]] == ["vision:team-a-counter"]
        assert "next_cursor" not in second
        everywhere = await call_ok(client, "list_workflows", {})
        assert [w["ref"] for w in everywhere["items"]] == [
            "vision:slow-webhooks",
            "vision:team-a-counter",
        ]
        bad = await call_error(client, "list_workflows", {"backend": "vision", "cursor": "page2"})
        assert "this cursor is not valid; start again without one" in bad
        local = await call_error(client, "list_workflows", {"backend": "local"})
        assert "needs 'workflows'" in local
    lists = fake.requests_to("/workflows", "GET")
    assert len(lists) == 3
    assert all(r.path == f"/{WORKSPACE}/workflows" for r in lists)
    assert lists[0].query == {"api_key": FULL_KEY}
    assert_key_sent_as_documented(fake)


@pytest.mark.parametrize(
    "uri", ["agentdeck://vision/workflows/no-such-workflow", "agentdeck://nowhere/workflows/x"]
)
async def test_a_missing_workflow_resource_answers_resource_not_found(
    settings: Settings, mode: str, uri: str
) -> None:
    async with connect(settings, mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
    # as every missing resource: 2025-11-25 says -32002; 2026-07-28 says -32602 (SEP-2164)
    assert raised.value.code == (-32002 if mode == "legacy" else -32602)


async def test_get_workflow_returns_the_published_specification_and_draft_state(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    fake.workflow("slow-webhooks").draft = {**SPEC, "steps": [{"name": "draft_step"}]}
    async with connect_confirming(settings, mode) as client:
        got = await call_ok(client, "get_workflow", {"workflow": "vision:slow-webhooks"})
        resource = await client.read_resource("agentdeck://vision/workflows/slow-webhooks")
    assert got["ref"] == "vision:slow-webhooks" and got["name"] == "Slow webhooks"
    assert got["specification"] == fake.workflow("slow-webhooks").specification
    assert got["has_draft"] is True
    assert got["details"]["draft_specification"]["steps"] == [{"name": "draft_step"}]
    assert got["details"]["authorized"] is True
    assert resource.contents[0].mime_type == "application/json"
    assert json.loads(resource.contents[0].text) == got
    assert fake.requests[0].path == f"/{WORKSPACE}/workflows/slow-webhooks"
    assert_key_sent_as_documented(fake)


async def test_public_workflows_are_readable_without_a_key_and_private_ones_say_to_set_one(
    fake: FakeRoboflow, url: str, mode: str
) -> None:
    async with connect_confirming(roboflow_settings(url, api_key=None), mode) as client:
        public = await call_ok(
            client, "get_workflow", {"workflow": f"vision:{PUBLIC_WORKSPACE}/people-counter"}
        )
        private = await call_error(
            client, "get_workflow", {"workflow": f"vision:{PUBLIC_WORKSPACE}/secret-flow"}
        )
        own = await call_error(client, "get_workflow", {"workflow": "vision:slow-webhooks"})
        listing = await call_error(client, "list_workflows", {"backend": "vision"})
    assert public["ref"] == f"vision:{PUBLIC_WORKSPACE}/people-counter"
    assert public["specification"]["steps"][0]["model_id"] == "yolov8n-640"
    assert "HTTP 401" in private and "not public" in private
    assert "HTTP 401" in own and "has no `api_key`" in own
    assert "Set `api_key` in [backends.vision]" in listing
    assert [u.location for u in fake.key_uses] == [None, None, None]
    assert fake.requests[0].path == f"/{PUBLIC_WORKSPACE}/workflows/people-counter"


async def test_list_workflow_versions_newest_first_with_paging(
    fake: FakeRoboflow, url: str, settings: Settings, mode: str
) -> None:
    fake.add_workflow(WORKSPACE, "Versioned", url="versioned", specification=SPEC)
    wf = fake.workflow("versioned")
    wf.config = json.dumps({"specification": {**SPEC, "steps": [{"name": "two"}]}})
    fake._add_version(wf, "update")
    async with connect_confirming(settings, mode) as client:
        page = await call_ok(
            client, "list_workflow_versions", {"workflow": "vision:versioned", "limit": 1}
        )
        rest = await call_ok(
            client,
            "list_workflow_versions",
            {"workflow": "vision:versioned", "cursor": page["next_cursor"]},
        )
        missing = await call_error(client, "list_workflow_versions", {"workflow": "vision:nope"})
    assert page["workflow"] == "vision:versioned"
    assert [v["details"]["version"] for v in page["items"]] == [2]
    assert page["items"][0]["specification"]["steps"] == [{"name": "two"}]
    assert [v["details"]["version"] for v in rest["items"]] == [1] and "next_cursor" not in rest
    assert rest["items"][0]["id"] == wf.versions[0].id
    assert "HTTP 404" in missing and "list_workflows" in missing
    assert fake.requests[0].path == f"/{WORKSPACE}/workflows/versioned/versions"
    assert_key_sent_as_documented(fake)


# ---- writing ----------------------------------------------------------------------------


async def test_create_workflow_wraps_the_specification_as_the_stored_config(
    fake: FakeRoboflow, url: str, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        created = await on_vision(
            client,
            "create_workflow",
            name="Car counter",
            specification=SPEC,
            options={"url": "cars-v1"},
        )
        empty = await on_vision(client, "create_workflow", name="Empty")
        wrapped = await on_vision(
            client,
            "create_workflow",
            name="Wrapped",
            specification={"specification": SPEC},
            options={"template": {"kind": "blank"}},
        )
    assert created["ref"] == "vision:cars-v1" and created["specification"] == SPEC
    assert empty["ref"] == "vision:empty" and "specification" not in empty
    assert wrapped["specification"] == SPEC
    creates = fake.requests_to("/createWorkflow", "POST")
    assert creates[0].path == f"/{WORKSPACE}/createWorkflow" and creates[0].query == {}
    assert creates[0].body == {
        "name": "Car counter",
        "template": "{}",
        "url": "cars-v1",
        "config": json.dumps({"specification": SPEC}),
        "api_key": FULL_KEY,
    }
    assert "config" not in creates[1].body
    assert json.loads(creates[2].body["config"]) == {"specification": SPEC}
    assert json.loads(creates[2].body["template"]) == {"kind": "blank"}
    assert fake.workflow("cars-v1").specification == SPEC
    assert_key_sent_as_documented(fake)


async def test_update_workflow_renames_and_replaces_the_specification_by_internal_id(
    fake: FakeRoboflow, url: str, settings: Settings, mode: str
) -> None:
    new_spec = {**SPEC, "steps": [{"name": "count"}]}
    updated = await call_confirmed(
        settings,
        "update_workflow",
        {
            "workflow": "vision:slow-webhooks",
            "name": "Fast webhooks",
            "specification": new_spec,
            "options": {"url": "fast-webhooks"},
        },
        mode,
    )
    assert updated["ref"] == "vision:fast-webhooks" and updated["name"] == "Fast webhooks"
    assert updated["specification"] == new_spec
    [update] = fake.requests_to("/updateWorkflow", "POST")
    assert update.body == {
        "name": "Fast webhooks",
        "url": "fast-webhooks",
        "config": json.dumps({"specification": new_spec}),
        "id": "wf_abc123",
        "api_key": FULL_KEY,
    }
    assert fake.requests[0].path == f"/{WORKSPACE}/workflows/slow-webhooks"  # looked up first
    assert fake.workflow("wf_abc123").url == "fast-webhooks"
    assert_key_sent_as_documented(fake)


async def test_fork_workflow_copies_a_public_workflow_or_one_of_our_own(
    fake: FakeRoboflow, url: str, settings: Settings, mode: str
) -> None:
    async with connect_confirming(settings, mode) as client:
        public = await on_vision(
            client,
            "fork_workflow",
            workflow=f"{PUBLIC_WORKSPACE}/people-counter",
            name="My counter",
            options={"url": "my-counter"},
        )
        own = await on_vision(client, "fork_workflow", workflow="vision:slow-webhooks")
        private = await call_error(
            client,
            "fork_workflow",
            {"backend": "vision", "workflow": f"{PUBLIC_WORKSPACE}/secret-flow"},
        )
    assert public["ref"] == "vision:my-counter" and public["name"] == "My counter"
    assert public["details"]["forkedFrom"] == f"{PUBLIC_WORKSPACE}/people-counter"
    assert own["ref"] == "vision:slow-webhooks-2"
    assert "HTTP 403" in private and "must be public" in private
    forks = fake.requests_to("/forkWorkflow", "POST")
    assert forks[0].body == {
        "source_workspace": PUBLIC_WORKSPACE,
        "source_workflow": "people-counter",
        "name": "My counter",
        "url": "my-counter",
        "api_key": FULL_KEY,
    }
    assert forks[1].body["source_workspace"] == WORKSPACE
    assert forks[1].body["source_workflow"] == "slow-webhooks"
    assert_key_sent_as_documented(fake)


async def test_create_workflow_token_for_a_public_client(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    token = await call_confirmed(
        settings, "create_workflow_token", {"workflow": "vision:slow-webhooks"}, mode
    )
    assert token["workflow"] == "vision:slow-webhooks"
    assert token["token"] in fake.workflow_tokens and token["expires_in"] == 3600
    assert token["expires_at"]
    [sent] = fake.requests_to("/workflowToken", "POST")
    assert sent.body == {"workflow": "slow-webhooks", "api_key": FULL_KEY}
    assert_key_sent_as_documented(fake)


async def test_delete_workflow_asks_first_then_moves_it_to_trash_and_says_so(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    async with connect_asked(settings, mode) as (client, asked):
        deleted = await call_ok(client, "delete_workflow", {"workflow": "vision:slow-webhooks"})
        gone = await call_error(client, "get_workflow", {"workflow": "vision:slow-webhooks"})
    assert deleted["deleted"] == "vision:slow-webhooks"
    assert "moved to the Trash" in deleted["message"] and "restore" in deleted["message"]
    assert fake.workflow("slow-webhooks").in_trash
    [delete] = fake.requests_to("/workflows/slow-webhooks", "DELETE")
    assert delete.query == {"api_key": FULL_KEY}
    assert "HTTP 404" in gone and "Trash" in gone
    assert asked == ["This deletes the workflow vision:slow-webhooks. Go ahead?"]
    assert_key_sent_as_documented(fake)


async def test_a_declined_or_unaskable_delete_changes_nothing(
    fake: FakeRoboflow, settings: Settings
) -> None:
    declined = await error_once(
        settings,
        "delete_workflow",
        {"workflow": "vision:slow-webhooks"},
        elicitation_callback=decline,
    )
    cannot_ask = await error_once(settings, "delete_workflow", {"workflow": "vision:slow-webhooks"})
    assert "Not confirmed: nothing was changed" in declined
    assert "confirm_destructive = false" in cannot_ask
    assert fake.requests == [] and not fake.workflow("slow-webhooks").in_trash


async def test_flat_write_answers_are_read_too(fake: FakeRoboflow, settings: Settings) -> None:
    fake.flat_write_responses = True
    created = await call_confirmed(
        settings, "create_workflow", {"backend": "vision", "name": "Flat", "specification": SPEC}
    )
    assert created["ref"] == "vision:flat" and created["specification"] == SPEC


# ---- input checked before anything is sent ---------------------------------------------


async def test_bad_input_is_refused_before_any_request(
    fake: FakeRoboflow, url: str, settings: Settings
) -> None:
    before = state(fake)
    calls = [
        (
            "create_workflow",
            {"backend": "vision", "name": "X", "description": "counts"},
            "no description",
        ),
        (
            "create_workflow",
            {"backend": "vision", "name": "X", "options": {"colour": "red"}},
            "colour",
        ),
        ("create_workflow", {"backend": "vision", "name": "  "}, "name is empty"),
        ("create_workflow", {"backend": "vision", "name": "X", "options": {"url": 3}}, "'url'"),
        ("update_workflow", {"workflow": "vision:slow-webhooks"}, "nothing to change"),
        (
            "update_workflow",
            {"workflow": f"vision:{PUBLIC_WORKSPACE}/people-counter", "name": "Mine"},
            "fork_workflow",
        ),
        ("publish_workflow", {"workflow": f"vision:{PUBLIC_WORKSPACE}/people-counter"}, "only"),
        ("delete_workflow", {"workflow": "vision"}, "names only a backend"),
        ("get_workflow", {"workflow": "nowhere:x"}, "no backend named 'nowhere'"),
        ("fork_workflow", {"backend": "vision", "workflow": "local:x"}, "another backend"),
        ("fork_workflow", {"backend": "vision", "workflow": "ws/"}, "names no workflow"),
    ]
    async with connect_confirming(settings) as client:
        for tool, args, expected in calls:
            assert expected in (await call_error(client, tool, args)), (tool, args)
    assert fake.requests == []
    assert state(fake) == before


# ---- the platform's failures ------------------------------------------------------------


async def test_missing_scopes_and_folder_scoped_keys(fake: FakeRoboflow, url: str) -> None:
    async with connect_confirming(
        roboflow_settings(url, api_key=READ_KEY), elicitation_callback=accept
    ) as client:
        create = await call_error(client, "create_workflow", {"backend": "vision", "name": "New"})
        delete = await call_error(client, "delete_workflow", {"workflow": "vision:slow-webhooks"})
    assert "HTTP 403" in create and "'workflow:create' scope" in create
    assert "HTTP 403" in delete and "'workflow:update' scope" in delete
    async with connect_confirming(roboflow_settings(url, api_key=FOLDER_KEY)) as client:
        listed = await call_ok(client, "list_workflows", {"backend": "vision"})
        outside = await call_error(client, "get_workflow", {"workflow": "vision:slow-webhooks"})
        created = await call_ok(client, "create_workflow", {"backend": "vision", "name": "In A"})
    assert [w["ref"] for w in listed["items"]] == ["vision:team-a-counter"]
    assert "HTTP 403: Workflow outside folder scope" in outside and "folders" in outside
    assert fake.workflow(created["id"]).folder == "team-a"


async def test_a_429_on_a_read_is_retried_after_retry_after(
    fake: FakeRoboflow, settings: Settings
) -> None:
    fake.rate_limited(retry_after=0)
    listed = await call_confirmed(settings, "list_workflows", {"backend": "vision"})
    assert listed["items"] and len(fake.requests_to("/workflows", "GET")) == 2


async def test_a_429_that_persists_says_when_to_retry_and_posts_are_not_repeated(
    fake: FakeRoboflow, url: str
) -> None:
    fake.rate_limited(retry_after=1, times=2)
    async with connect_confirming(roboflow_settings(url, max_retries=1)) as client:
        listed = await call_error(client, "list_workflows", {"backend": "vision"})
        fake.rate_limited(retry_after=1)
        create = await call_error(client, "create_workflow", {"backend": "vision", "name": "Later"})
    assert "HTTP 429" in listed and "Retried 1 times" in listed and "after 1 s" in listed
    assert "HTTP 429" in create and "after 1 s" in create
    assert len(fake.requests_to("/workflows", "GET")) == 2
    assert len(fake.requests_to("/createWorkflow")) == 1
    assert fake.workflow("later") is None


async def test_a_server_error_says_to_retry_later(fake: FakeRoboflow, settings: Settings) -> None:
    fake.server_error()
    text = await error_once(
        settings, "get_workflow", {"workflow": "vision:slow-webhooks"}, elicitation_callback=accept
    )
    assert "HTTP 500: Internal server error" in text and "retry later" in text


async def test_a_wrong_key_never_appears_in_errors_or_logs(
    fake: FakeRoboflow, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "rf_wrong_secret_0042"
    texts = []
    async with connect_confirming(
        roboflow_settings(url, api_key=secret), elicitation_callback=accept
    ) as client:
        for tool, args in [
            ("list_workflows", {"backend": "vision"}),
            ("get_workflow", {"workflow": "vision:slow-webhooks"}),
            ("create_workflow", {"backend": "vision", "name": "X", "specification": SPEC}),
            ("delete_workflow", {"workflow": "vision:slow-webhooks"}),
        ]:
            texts.append(await call_error(client, tool, args))
    for text in texts:
        assert "HTTP 401" in text and "Check `api_key` of backend 'vision'" in text
        assert secret not in text
    assert {u.key for u in fake.key_uses} == {secret}
    assert_key_sent_as_documented(fake)
    assert "api_key=***" in caplog.text  # httpx2's request line, with the key blanked
    assert secret not in caplog.text


async def test_the_working_key_never_appears_in_logs(
    fake: FakeRoboflow, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect_confirming(settings) as client:
        await call_ok(client, "list_workflows", {"backend": "vision"})
        await call_ok(client, "get_workflow", {"workflow": "vision:slow-webhooks"})
        await call_ok(client, "chat", {"agent": "vision", "message": "detect cars"})
    assert len(fake.key_uses) == 3 and FULL_KEY not in caplog.text


# ---- check and the tool surface ---------------------------------------------------------


async def test_check_counts_the_workflows_with_one_request(
    fake: FakeRoboflow, url: str, settings: Settings
) -> None:
    async with Registry.open(settings) as registry:
        line = await registry.get("vision").check()
    assert line == f"2 workflows in workspace {WORKSPACE}; agent ref 'vision'"
    assert len(fake.requests) == 1
    async with Registry.open(roboflow_settings(url, api_key=None)) as registry:
        assert "no api_key" in await registry.get("vision").check()
    assert len(fake.requests) == 1


def test_every_workflow_tool_is_named_as_designed_and_fully_annotated() -> None:
    specs = {spec.name: spec for spec in workflow_tools.toolbox.tools}
    assert set(specs) == {
        "list_workflows",
        "get_workflow",
        "list_workflow_versions",
        "create_workflow",
        "update_workflow",
        "fork_workflow",
        "delete_workflow",
        "publish_workflow",
        "create_workflow_token",
    }
    for spec in specs.values():
        assert spec.toolset == "workflows" and spec.title and spec.fn.__doc__
    assert all(specs[n].read_only for n in ("list_workflows", "get_workflow"))
    assert specs["delete_workflow"].destructive and specs["delete_workflow"].idempotent
    # publishing and a new specification replace what the workflow runs, at once
    assert specs["publish_workflow"].destructive and specs["update_workflow"].destructive
    assert not specs["create_workflow"].read_only


async def test_publish_asks_first_and_a_decline_publishes_nothing(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    draft = {**SPEC, "steps": [{"name": "drafted"}]}
    fake.workflow("slow-webhooks").draft = draft
    text = await error_once(
        settings,
        "publish_workflow",
        {"workflow": "vision:slow-webhooks"},
        mode,
        elicitation_callback=decline,
    )
    assert "nothing was changed" in text
    assert fake.requests_to("/publish") == []
    assert fake.workflow("slow-webhooks").draft == draft


async def test_a_new_specification_asks_first_and_a_rename_does_not(
    fake: FakeRoboflow, settings: Settings, mode: str
) -> None:
    before = state(fake)
    async with connect(settings, mode, elicitation_callback=decline) as client:
        text = await call_error(
            client, "update_workflow", {"workflow": "vision:slow-webhooks", "specification": SPEC}
        )
        assert "nothing was changed" in text
        assert state(fake) == before and fake.requests_to("/updateWorkflow", "POST") == []
        renamed = await call_ok(
            client, "update_workflow", {"workflow": "vision:slow-webhooks", "name": "Renamed"}
        )
    assert renamed["name"] == "Renamed"
