"""AgenticFlow webhook triggers through the triggers toolset and a real MCP client."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agentdeck.config import Settings
from tests.backends.agenticflow.refs import AGENT, FOREIGN_AGENT, MISSING_ID, PUBLIC_AGENT
from tests.fakes.agenticflow import API_KEY, PRIVATE_AGENT_ID, FakeAgenticFlow
from tests.support import call_error, call_ok, connect, connect_asked, decline, error_text, ok

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-basic-pass"
TOKEN = "tok-bearer-s3cret"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def no_secrets(*results: Any) -> None:
    text = json.dumps(results)
    assert PASSWORD not in text and TOKEN not in text


async def create(client: Any, agent: str = AGENT, **options: Any) -> dict[str, Any]:
    options = {"name": "orders", "message": "A new order arrived.", **options}
    return await client.call_tool("create_trigger", {"agent": agent, "options": options})


async def test_a_basic_auth_trigger_is_created_invoked_with_its_credentials_and_logged(
    fake: FakeAgenticFlow,
    url: str,
    settings: Settings,
    mode: str,
) -> None:
    async with connect(settings, mode) as client:
        trigger = ok(
            await create(
                client,
                description="from the shop",
                auth_type="BASIC",
                username="shop",
                password=PASSWORD,
                response_code=202,
            )
        )
        invoked = await call_ok(
            client,
            "invoke_trigger",
            {"trigger": trigger["ref"], "payload": {"order_id": 123, "total": 49.99}},
        )
        events = await call_ok(client, "list_trigger_events", {"trigger": trigger["ref"]})

    stored = next(iter(fake.triggers.values()))
    path = stored["trigger_config"]["path"]
    assert trigger["ref"] == f"af:{stored['id']}" and trigger["agent"] == AGENT
    assert (trigger["name"], trigger["kind"], trigger["method"], trigger["auth_type"]) == (
        "orders", "webhook", "POST", "BASIC",
    )  # fmt: skip
    assert trigger["path"] == path
    assert trigger["details"]["invoke_url"] == f"{url}/v1/agents/webhook/{path}/trigger"
    assert trigger["details"]["username"] == "shop"
    assert trigger["details"]["response_code"] == 202
    assert trigger["details"]["message"] == "A new order arrived."
    no_secrets(trigger, invoked, events)

    created = fake.requests_to(f"/v1/agents/{PRIVATE_AGENT_ID}/triggers", "POST")[0]
    assert created.headers["authorization"] == f"Bearer {API_KEY}"
    assert created.body == {
        "name": "orders",
        "description": "from the shop",
        "trigger_type": "webhook",
        "trigger_config": {
            "auth_config": {"auth_type": "BASIC", "username": "shop", "password": PASSWORD},
            "method": "POST",
            "response_code": 202,
        },
        "task_config": {
            "type": "SEND_MESSAGE_TO_CHAT",
            "message": "A new order arrived.",
            "chat_id": None,
        },
    }

    webhook = fake.requests_to(f"/v1/agents/webhook/{path}/trigger")[0]
    assert webhook.method == "POST"
    assert webhook.headers["authorization"] == basic("shop", PASSWORD)  # not the API key
    assert webhook.body == {"order_id": 123, "total": 49.99}
    assert invoked["status_code"] == 202 and invoked["response"]["status"] == "success"
    assert invoked["trigger"] == trigger["ref"]

    assert events["trigger"] == trigger["ref"]
    [event] = events["items"]
    assert event["payload"] == {"order_id": 123, "total": 49.99}
    assert event["status"] == "success"
    assert event["details"]["thread_id"] == invoked["response"]["thread_id"]
    assert "request_headers" not in event["details"]
    events_call = fake.requests_to("/events")[0]
    assert events_call.path == f"/v1/agents/{PRIVATE_AGENT_ID}/triggers/{stored['id']}/events"
    assert events_call.query == {"limit": "21", "offset": "0"}


async def test_a_bearer_trigger_is_updated_in_part_and_keeps_its_token(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        trigger = ok(await create(client, auth_type="bearer", token=TOKEN))
        updated = await call_ok(
            client,
            "update_trigger",
            {"trigger": trigger["ref"], "options": {"method": "put", "chat_id": "t-9"}},
        )
        invoked = await call_ok(
            client, "invoke_trigger", {"trigger": trigger["ref"], "payload": ["any", "json"]}
        )
    no_secrets(trigger, updated, invoked)
    assert updated["method"] == "PUT" and updated["auth_type"] == "BEARER"
    assert updated["path"] == trigger["path"] and updated["details"]["chat_id"] == "t-9"
    put = fake.requests_to("/v1/agents/triggers/", "PUT")[0]
    assert put.body["trigger_config"] == {
        "auth_config": {"auth_type": "BEARER", "token": TOKEN},
        "method": "PUT",
        "response_code": 200,
    }
    assert put.body["task_config"]["chat_id"] == "t-9"
    webhook = fake.requests_to("/webhook/")[0]
    assert webhook.method == "PUT" and webhook.headers["authorization"] == f"Bearer {TOKEN}"
    assert webhook.body == ["any", "json"]
    assert fake.threads["t-9"]["messages"][0]["content"] == "A new order arrived."


async def test_a_get_trigger_takes_its_payload_as_query_parameters(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        trigger = ok(await create(client, method="GET"))
        await call_ok(
            client, "invoke_trigger", {"trigger": trigger["ref"], "payload": {"q": "x", "n": 2}}
        )
        nested = await call_error(
            client, "invoke_trigger", {"trigger": trigger["ref"], "payload": {"q": {"deep": 1}}}
        )
    webhook = fake.requests_to("/webhook/")
    assert len(webhook) == 1
    assert webhook[0].method == "GET" and webhook[0].query == {"q": "x", "n": "2"}
    assert "authorization" not in webhook[0].headers  # auth NONE: neither the key nor a secret
    assert "sent as query parameters" in nested


async def test_rejected_webhook_credentials_are_explained_without_the_secret(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        trigger = ok(await create(client, auth_type="BEARER", token=TOKEN))
        # Even if the platform repeats the credential it rejected, it is not shown.
        echoed = {"detail": f"Invalid webhook credentials: Bearer {TOKEN}"}
        fake.fail_next(401, echoed, path_contains="/webhook/")
        rejected = await call_error(
            client, "invoke_trigger", {"trigger": trigger["ref"], "payload": {}}
        )
        fake.fail_next(409, echoed, path_contains="/webhook/")
        conflict = await call_error(
            client, "invoke_trigger", {"trigger": trigger["ref"], "payload": {}}
        )
    assert "rejected the trigger's own credentials (auth_type BEARER)" in rejected
    assert "update_trigger" in rejected and "api_key" not in rejected
    assert "HTTP 409" in conflict and "Invalid webhook credentials: Bearer ***" in conflict
    assert TOKEN not in rejected + conflict
    assert len(fake.requests_to("/webhook/")) == 2


async def test_wrong_trigger_options_are_refused_before_any_request(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    cases = [
        ({"auth_type": "BASIC", "username": "u"}, "options.password is required with auth_type"),
        ({"auth_type": "BEARER"}, "options.token is required with auth_type BEARER"),
        ({"token": TOKEN}, "options.token is not used with auth_type NONE"),
        ({"auth_type": "DIGEST"}, "options.auth_type must be one of NONE, BASIC, BEARER"),
        ({"method": "PATCH"}, "options.method must be one of GET, POST, PUT, DELETE"),
        ({"response_code": "200"}, "options.response_code must be an integer"),
        ({"response_code": 42}, "options.response_code must be between 100 and 599"),
        ({"message": ""}, "options.message is required and may not be empty"),
        ({"password": 12345}, "options.password must be a string"),
        ({"colour": "red"}, "options.colour is not a trigger option"),
    ]
    async with connect(settings) as client:
        for options, expected in cases:
            text = error_text(await create(client, **options))
            assert expected in text, (options, text)
            assert "Nothing was sent" in text and "12345" not in text
        no_name = await call_error(
            client, "create_trigger", {"agent": AGENT, "options": {"message": "hi"}}
        )
        bad_ref = await call_error(
            client, "update_trigger", {"trigger": "af:orders", "options": {"name": "x"}}
        )
        bad_update = await call_error(
            client,
            "update_trigger",
            {"trigger": f"af:{MISSING_ID}", "options": {"method": "PATCH", "token": 7}},
        )
    assert "options.name is required" in no_name
    assert "not an AgenticFlow trigger id" in bad_ref
    assert "options.method must be one of" in bad_update
    assert "options.token must be a string" in bad_update
    assert fake.requests == []


async def test_triggers_are_listed_per_agent_and_across_the_project(settings: Settings) -> None:
    async with connect(settings) as client:
        first = ok(await create(client, name="one"))
        second = ok(
            await create(client, name="two", auth_type="BASIC", username="u", password=PASSWORD)
        )
        third = ok(await create(client, agent=PUBLIC_AGENT, name="three"))
        mine = await call_ok(client, "list_triggers", {"agent": AGENT})
        page = await call_ok(client, "list_triggers", {"backend": "af", "limit": 2})
        rest = await call_ok(
            client, "list_triggers", {"backend": "af", "limit": 2, "cursor": page["next_cursor"]}
        )
        everywhere = await call_ok(client, "list_triggers", {})
    assert [t["ref"] for t in mine["items"]] == [first["ref"], second["ref"]]
    assert "next_cursor" not in mine
    assert [t["name"] for t in page["items"] + rest["items"]] == ["three", "one", "two"]
    assert "next_cursor" not in rest
    assert {t["ref"] for t in everywhere["items"]} == {first["ref"], second["ref"], third["ref"]}
    assert everywhere["failures"] == []
    no_secrets(mine, page, rest, everywhere)


async def test_trigger_events_page_with_a_cursor(fake: FakeAgenticFlow, settings: Settings) -> None:
    async with connect(settings) as client:
        trigger = ok(await create(client))
        for n in range(3):
            args = {"trigger": trigger["ref"], "payload": {"n": n}}
            await call_ok(client, "invoke_trigger", args)
        first = await call_ok(
            client, "list_trigger_events", {"trigger": trigger["ref"], "limit": 2}
        )
        rest = await call_ok(
            client,
            "list_trigger_events",
            {"trigger": trigger["ref"], "limit": 2, "cursor": first["next_cursor"]},
        )
    assert [e["payload"] for e in first["items"] + rest["items"]] == [
        {"n": 2}, {"n": 1}, {"n": 0},
    ]  # fmt: skip
    assert first["next_cursor"] and "next_cursor" not in rest
    assert [r.query for r in fake.requests_to("/events")] == [
        {"limit": "3", "offset": "0"},
        {"limit": "3", "offset": "2"},
    ]


async def test_a_trigger_is_deleted_after_confirmation_and_then_not_found(
    fake: FakeAgenticFlow, settings: Settings, mode: str
) -> None:
    async with connect_asked(settings, mode) as (client, questions):
        trigger = ok(await create(client))
        deleted = await call_ok(client, "delete_trigger", {"trigger": trigger["ref"]})
        again = await call_error(client, "delete_trigger", {"trigger": trigger["ref"]})
        events = await call_error(client, "list_trigger_events", {"trigger": trigger["ref"]})
        invoke = await call_error(client, "invoke_trigger", {"trigger": f"af:{MISSING_ID}"})
    assert deleted == {
        "deleted": trigger["ref"],
        "message": f"Trigger {trigger['ref']} was deleted.",
    }
    assert questions[0] == (
        f"This permanently deletes the trigger {trigger['ref']}; its webhook stops working. "
        "Go ahead?"
    )
    assert fake.triggers == {}
    assert len(fake.requests_to("/v1/agents/triggers/", "DELETE")) == 2
    assert "HTTP 404" in again and "Trigger not found" in again
    assert "HTTP 404" in events and "HTTP 404" in invoke
    assert fake.requests_to("/webhook/") == []


async def test_a_declined_delete_leaves_the_trigger_alone(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings, elicitation_callback=decline) as client:
        trigger = ok(await create(client))
        text = await call_error(client, "delete_trigger", {"trigger": trigger["ref"]})
    assert "nothing was changed" in text
    assert trigger["id"] in fake.triggers
    assert fake.requests_to("/v1/agents/triggers/", "DELETE") == []


async def test_another_projects_agent_cannot_get_a_trigger(
    fake: FakeAgenticFlow, settings: Settings
) -> None:
    async with connect(settings) as client:
        text = error_text(await create(client, agent=FOREIGN_AGENT))
        listing = await call_error(client, "list_triggers", {"agent": FOREIGN_AGENT})
    assert "HTTP 403" in text and "bound to one project" in text
    assert "HTTP 403" in listing
    assert fake.triggers == {}


async def test_triggers_need_a_backend_that_has_them(settings: Settings) -> None:
    async with connect(settings) as client:
        local = await call_error(client, "list_triggers", {"backend": "local"})
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "list_triggers is not supported by local backends" in local
    assert "triggers" in local
    for name in ("list_triggers", "list_trigger_events"):
        assert tools[name].annotations.read_only_hint is True
    assert tools["delete_trigger"].annotations.destructive_hint is True
    assert tools["invoke_trigger"].annotations.idempotent_hint is False
    assert (
        "auth_type" in tools["create_trigger"].input_schema["properties"]["options"]["description"]
    )
    assert set(tools["invoke_trigger"].input_schema["properties"]) == {"trigger", "payload"}
