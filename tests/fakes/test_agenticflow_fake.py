"""Smoke test of the AgenticFlow fake itself, over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.fakes.agenticflow import (
    API_KEY,
    FOREIGN_AGENT_ID,
    PRIVATE_AGENT_ID,
    PROJECT_ID,
    PUBLIC_AGENT_ID,
    WORKSPACE_ID,
    FakeAgenticFlow,
)
from tests.fakes.base import serve

WS = {"workspace_id": WORKSPACE_ID}


@pytest.fixture
def fake() -> FakeAgenticFlow:
    return FakeAgenticFlow()


@pytest.fixture
def client(fake: FakeAgenticFlow) -> Iterator[httpx2.Client]:
    with (
        serve(fake.app) as url,
        httpx2.Client(
            base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5
        ) as client,
    ):
        yield client


def parse(text: str) -> list[tuple[str, Any]]:
    """Parse data-stream v1 lines, skipping unknown prefixes and bad JSON as clients must."""
    parts = []
    for line in text.splitlines():
        prefix, _, payload = line.partition(":")
        try:
            parts.append((prefix, json.loads(payload)))
        except ValueError:
            parts.append((prefix, "<malformed>"))
    return parts


def stream(client: httpx2.Client, agent_id: str, thread: str, text: str, **kw: Any) -> str:
    body = {"id": thread, "messages": [{"role": "user", "content": text}]}
    response = client.post(f"/v1/agents/{agent_id}/stream", json=body, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["x-vercel-ai-data-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_auth_scope_and_errors(client: httpx2.Client, fake: FakeAgenticFlow) -> None:
    r = client.get("/v1/agents/", params=WS, headers={"Authorization": ""})
    assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
    r = client.get("/v1/agents/", params=WS, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json() == {"detail": "Invalid API key"}
    assert client.get(f"/v1/agents/{FOREIGN_AGENT_ID}").status_code == 403
    missing = client.get("/v1/agents/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json() == {"detail": "Agent not found"}
    assert client.get("/v1/agents/not-a-uuid").json()["detail"][0]["type"] == "uuid_parsing"
    assert client.get("/v1/agents").status_code == 307  # trailing slash redirect
    fake.rate_limited(retry_after=2)
    r = client.get("/v1/agents/", params=WS)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    listed = client.get("/v1/agents/", params={**WS, "search_query": "support"}).json()
    assert [a["id"] for a in listed] == [PRIVATE_AGENT_ID]


def test_create_get_update_delete(client: httpx2.Client, fake: FakeAgenticFlow) -> None:
    bad = client.post("/v1/agents/", params=WS, json={"name": 3, "tools": [], "x": 1})
    assert bad.status_code == 422
    assert {(e["type"], tuple(e["loc"])) for e in bad.json()["detail"]} == {
        ("string_type", ("body", "name")),
        ("missing", ("body", "project_id")),
        ("extra_forbidden", ("body", "x")),
    }
    created = client.post(
        "/v1/agents/", params=WS, json={"name": "Bot", "project_id": PROJECT_ID, "tools": []}
    )
    assert created.status_code == 200
    agent = created.json()
    assert agent["model"] == "agenticflow/gpt-4o-mini" and agent["workspace_id"] == WORKSPACE_ID
    assert fake.agents[agent["id"]]["name"] == "Bot"
    assert client.get(f"/v1/agents/{agent['id']}").json() == agent
    updated = client.put(
        f"/v1/agents/{agent['id']}", json={"name": "Bot 2", "visibility": "public"}
    )
    assert updated.json()["name"] == "Bot 2"
    assert client.get(f"/v1/agents/anonymous/{agent['id']}").json()["name"] == "Bot 2"
    assert client.delete(f"/v1/agents/{agent['id']}").status_code == 200
    assert client.get(f"/v1/agents/{agent['id']}").status_code == 404


def test_stream_normal_threads_turns(client: httpx2.Client, fake: FakeAgenticFlow) -> None:
    parts = parse(stream(client, PRIVATE_AGENT_ID, "t-1", "hello there"))
    prefixes = [p for p, _ in parts]
    assert {"0", "g", "2", "9", "a", "f", "e", "d", "8"} <= set(prefixes)
    assert parts[0][1][0]["type"] == "thread_info" and parts[0][1][0]["thread_id"] == "t-1"
    assert "".join(v for p, v in parts if p == "0") == "Echo: hello there (turn 1)"
    parts = parse(stream(client, PRIVATE_AGENT_ID, "t-1", "again"))
    assert "".join(v for p, v in parts if p == "0") == "Echo: again (turn 2)"
    assert [m["role"] for m in fake.threads["t-1"]["messages"]] == ["user", "assistant"] * 2

    fake.next_stream = "error_part"
    assert ("3", fake.stream_error) in parse(stream(client, PRIVATE_AGENT_ID, "t-2", "x"))
    fake.next_stream = "finish_error"
    assert parse(stream(client, PRIVATE_AGENT_ID, "t-2", "x"))[-1][1]["error"] == fake.stream_error
    fake.next_stream = "malformed"
    assert ("0", "<malformed>") in parse(stream(client, PRIVATE_AGENT_ID, "t-2", "x"))


def test_stream_cut_off(client: httpx2.Client, fake: FakeAgenticFlow) -> None:
    fake.next_stream = "cut_off"
    body = {"id": "t-3", "messages": [{"role": "user", "content": "bye now"}]}
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.stream("POST", f"/v1/agents/{PRIVATE_AGENT_ID}/stream", json=body) as response,
    ):
        response.read()


def test_anonymous_routes(client: httpx2.Client) -> None:
    anon = httpx2.Client(base_url=str(client.base_url), timeout=5)
    with anon:
        info = anon.get(f"/v1/agents/anonymous/{PUBLIC_AGENT_ID}").json()
        assert info["id"] == PUBLIC_AGENT_ID and "model" not in info
        assert anon.get(f"/v1/agents/anonymous/{PRIVATE_AGENT_ID}").status_code == 403
        body = {"id": "t-4", "messages": [{"role": "user", "content": "hi"}]}
        r = anon.post(f"/v1/agents/anonymous/{PUBLIC_AGENT_ID}/stream", json=body)
        assert r.status_code == 200 and "Echo: " in r.text
        assert anon.post(f"/v1/agents/{PUBLIC_AGENT_ID}/stream", json=body).status_code == 401


def test_webhook_trigger(client: httpx2.Client, fake: FakeAgenticFlow) -> None:
    body = {
        "name": "orders",
        "trigger_type": "webhook",
        "trigger_config": {
            "auth_config": {"auth_type": "BASIC", "username": "u", "password": "p"},
            "method": "POST",
            "response_code": 202,
        },
        "task_config": {"type": "SEND_MESSAGE_TO_CHAT", "message": "New order"},
    }
    trigger = client.post(f"/v1/agents/{PRIVATE_AGENT_ID}/triggers", json=body).json()
    path = trigger["trigger_config"]["path"]
    assert client.get(f"/v1/agents/triggers/{trigger['id']}").json() == trigger
    url = f"/v1/agents/webhook/{path}/trigger"
    assert client.post(url, json={"order_id": 1}).status_code == 401  # API key is not webhook auth
    good = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    assert client.get(url, headers=good).status_code == 405
    r = client.post(url, json={"order_id": 123}, headers=good)
    assert r.status_code == 202 and r.json()["status"] == "success"
    events = client.get(
        f"/v1/agents/{PRIVATE_AGENT_ID}/triggers/{trigger['id']}/events", params={"limit": 5}
    ).json()
    assert [e["request"]["body"] for e in events] == [{"order_id": 123}]
    assert fake.threads[events[0]["thread_id"]]["messages"][0]["content"] == "New order"
    assert client.delete(f"/v1/agents/triggers/{trigger['id']}").status_code == 200
    assert client.post(url, json={}, headers=good).status_code == 404
