"""Smoke test of the Roboflow fake itself, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from tests.fakes.base import serve
from tests.fakes.roboflow import (
    FOLDER_KEY,
    FULL_KEY,
    PUBLIC_WORKSPACE,
    READ_KEY,
    WORKSPACE,
    FakeRoboflow,
)

WS = f"/{WORKSPACE}"
SPEC = {"version": "1.0", "inputs": [], "steps": [], "outputs": []}


@pytest.fixture
def fake() -> FakeRoboflow:
    return FakeRoboflow()


@pytest.fixture
def client(fake: FakeRoboflow) -> Iterator[httpx2.Client]:
    with serve(fake.app) as base_url, httpx2.Client(base_url=base_url, timeout=5) as http:
        yield http


def key(k: str = FULL_KEY) -> dict[str, str]:
    return {"api_key": k}


def test_auth_errors_have_the_platform_shape(fake: FakeRoboflow, client: httpx2.Client) -> None:
    assert client.get(f"{WS}/workflows").json() == {
        "error": "Missing api_key (send it in the query or body)"
    }
    assert client.get(f"{WS}/workflows", params=key("nope")).status_code == 401
    r = client.post(f"{WS}/createWorkflow", params={**key(READ_KEY), "name": "x", "template": "{}"})
    assert r.status_code == 403 and "workflow:create" in r.json()["error"]
    # chat takes the key in the body only
    r = client.post(f"{WS}/agent/chat", params=key(), json={"message": "hi"})
    assert r.status_code == 401
    assert [u.location for u in fake.key_uses] == [None, "query", "query", "query"]


def test_list_create_get_versions_round_trip(fake: FakeRoboflow, client: httpx2.Client) -> None:
    listed = client.get(f"{WS}/workflows", params=key()).json()
    assert listed["status"] == "ok"
    assert listed["workflows"][0] == {
        "id": "wf_abc123",
        "name": "Slow webhooks",
        "url": "slow-webhooks",
        "createdAt": "2026-04-12T17:05:33.000Z",
    }
    config = json.dumps({"specification": SPEC})
    params = {**key(), "name": "Car Counter", "config": config, "template": "{}"}
    created = client.post(f"{WS}/createWorkflow", params=params).json()["workflow"]
    assert created["url"] == "car-counter" and created["specification"] == SPEC
    got = client.get(f"{WS}/workflows/car-counter", params=key()).json()
    assert got["workflow"]["config"] == config and got["authorized"] is True
    bare = {**params, "name": "Bare", "config": json.dumps(SPEC)}
    assert client.post(f"{WS}/createWorkflow", params=bare).status_code == 400
    body = {"api_key": FULL_KEY, "id": created["id"], "config": json.dumps({"specification": {}})}
    assert client.post(f"{WS}/updateWorkflow", json=body).status_code == 200
    assert fake.last_key_location() == "body"
    versions = client.get(f"{WS}/workflows/car-counter/versions", params=key()).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]


def test_agent_chat_drafts_continues_and_publishes(
    fake: FakeRoboflow, client: httpx2.Client
) -> None:
    first = client.post(
        f"{WS}/agent/chat",
        json={"api_key": FULL_KEY, "message": 'Build a workflow called "Cars" that detects cars'},
    ).json()
    assert first["workflows"][0]["url"] == "cars" and "detects cars" in first["text"]
    conv_id = first["conversation_id"]
    second = client.post(
        f"{WS}/agent/chat",
        json={"api_key": FULL_KEY, "message": "also count them", "conversation_id": conv_id},
    ).json()
    assert second["conversation_id"] == conv_id and "turn 2" in second["text"]
    assert len(second["workflows"][0]["specification"]["steps"]) == 2
    assert fake.workflow("cars").config == "{}"  # nothing published yet
    plan = client.post(
        f"{WS}/agent/chat", json={"api_key": FULL_KEY, "message": "edit cars", "mode": "plan"}
    ).json()
    assert plan["workflows"] == [] and len(fake.workflow("cars").draft["steps"]) == 2
    pub = client.post(f"{WS}/agent/workflows/cars/publish", json=key())
    assert pub.json()["version"] == 1 and fake.workflow("cars").draft is None
    assert client.post(f"{WS}/agent/workflows/cars/publish", json=key()).status_code == 400
    convs = client.get(f"{WS}/agent/conversations", params={**key(), "source": "api"}).json()
    assert [c["id"] for c in convs["conversations"]][-1] == conv_id
    one = client.get(f"{WS}/agent/conversations/{conv_id}", params=key()).json()["conversation"]
    assert [m["role"] for m in one["messages"]] == ["user", "assistant"] * 2


def test_agent_disabled_and_out_of_credits(fake: FakeRoboflow, client: httpx2.Client) -> None:
    fake.out_of_credits()
    r = client.post(f"{WS}/agent/chat", json={"api_key": FULL_KEY, "message": "hi"})
    assert r.status_code == 402 and r.json() == {"error": "Insufficient credits"}
    fake.disable_agent()
    r = client.post(f"{WS}/agent/chat", json={"api_key": FULL_KEY, "message": "hi"})
    assert r.status_code == 403 and r.json()["error_type"] == "AGENT_DISABLED"


def test_cut_off_and_malformed_chat(fake: FakeRoboflow, client: httpx2.Client) -> None:
    fake.next_chat = "cut_off"
    with pytest.raises(httpx2.RemoteProtocolError):
        client.post(f"{WS}/agent/chat", json={"api_key": FULL_KEY, "message": "detect dogs"})
    fake.next_chat = "malformed"
    r = client.post(f"{WS}/agent/chat", json={"api_key": FULL_KEY, "message": "detect cats"})
    with pytest.raises(ValueError):
        r.json()
    assert fake.next_chat == "normal"


def test_public_fork_trash_folder_scope_and_429(fake: FakeRoboflow, client: httpx2.Client) -> None:
    assert client.get(f"/{PUBLIC_WORKSPACE}/workflows/people-counter").status_code == 200
    assert client.get(f"/{PUBLIC_WORKSPACE}/workflows/secret-flow").status_code == 401
    body = {**key(), "source_workspace": PUBLIC_WORKSPACE, "source_workflow": "people-counter"}
    forked = client.post(f"{WS}/forkWorkflow", json=body).json()["workflow"]
    assert forked["forkedFrom"] == f"{PUBLIC_WORKSPACE}/people-counter"
    gone = client.delete(f"{WS}/workflows/{forked['url']}", params=key()).json()
    assert gone["trash"] is True and gone["workflowId"] == forked["id"]
    assert client.get(f"{WS}/workflows/{forked['url']}", params=key()).status_code == 404
    urls = [
        w["url"] for w in client.get(f"{WS}/workflows", params=key(FOLDER_KEY)).json()["workflows"]
    ]
    assert urls == ["team-a-counter"]
    assert client.get(f"{WS}/workflows/slow-webhooks", params=key(FOLDER_KEY)).status_code == 403
    fake.rate_limited(retry_after=2)
    r = client.get(f"{WS}/workflows", params=key())
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and "error" in r.json()
