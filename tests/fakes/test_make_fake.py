"""Smoke test of the Make AI Agents fake itself, driven over real HTTP with httpx2."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from tests.fakes.base import serve
from tests.fakes.make import SEED_AGENT_ID, FakeMake

AGENTS = "/ai-agents/v1/agents"
TEAM = {"teamId": 1}


@pytest.fixture
def fake() -> FakeMake:
    return FakeMake()


@pytest.fixture
def client(fake: FakeMake) -> Iterator[httpx2.Client]:
    with serve(fake.app) as url:
        headers = {"Authorization": f"Token {fake.token}"}
        with httpx2.Client(base_url=url + "/api/v2", headers=headers, timeout=5) as c:
            yield c


def steps(response: httpx2.Response) -> list[httpx2.ServerSentEvent]:
    return list(httpx2.EventSource(response))


def test_auth_and_team_checks(client: httpx2.Client) -> None:
    bad = client.get(AGENTS, params=TEAM, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "SC401" and {"detail", "message"} <= bad.json().keys()
    assert client.get(AGENTS).status_code == 400
    forbidden = client.get(AGENTS, params={"teamId": 99})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "SC403"
    assert client.get(f"{AGENTS}/unknown", params=TEAM).status_code == 404


def test_create_get_patch_delete(client: httpx2.Client, fake: FakeMake) -> None:
    listed = client.get(AGENTS, params=TEAM).json()
    assert [a["id"] for a in listed] == [SEED_AGENT_ID]
    sent = {
        "name": "Helper",
        "teamId": 1,
        "makeConnectionId": 7,
        "defaultModel": "gpt-4.1",
        "systemPrompt": "Be brief.",
    }
    created = client.post(AGENTS, params=TEAM, json=sent)
    assert created.status_code == 201
    agent_id = created.json()["agentId"]
    assert created.json()["name"] == "Helper"
    got = client.get(f"{AGENTS}/{agent_id}", params=TEAM).json()
    assert got["id"] == agent_id and got["systemPrompt"] == "Be brief." and got["teamId"] == 1
    patched = client.patch(f"{AGENTS}/{agent_id}", params=TEAM, json={"name": "Renamed"})
    assert patched.status_code == 204 and patched.content == b""
    assert fake.agents[agent_id]["name"] == "Renamed"
    assert client.delete(f"{AGENTS}/{agent_id}", params=TEAM).status_code == 204
    assert client.get(f"{AGENTS}/{agent_id}", params=TEAM).status_code == 404


def test_run_keeps_thread_and_records_body(client: httpx2.Client, fake: FakeMake) -> None:
    url = f"{AGENTS}/{SEED_AGENT_ID}/run"
    first = client.post(
        url,
        params=TEAM,
        json={
            "messages": [{"role": "user", "content": "hello"}],
            "callbackUrl": "http://cb.example/x",
            "config": {"timeout": 30},
        },
    ).json()
    assert set(first) == {"response", "executionTimeMs", "threadId", "lastAgentIterationId"}
    assert "user messages in thread: 1" in first["response"] and "Last: hello" in first["response"]
    assert fake.last_run["callbackUrl"] == "http://cb.example/x"
    assert fake.last_run["config"] == {"timeout": 30}
    second = client.post(
        url,
        params=TEAM,
        json={"messages": [{"role": "user", "content": "again"}], "threadId": first["threadId"]},
    ).json()
    assert second["threadId"] == first["threadId"]
    assert "user messages in thread: 2. Last: again" in second["response"]
    assert len(fake.threads[first["threadId"]]) == 4
    assert client.post(url, params=TEAM, json={}).status_code == 400


def test_stream_normal_and_malformed(client: httpx2.Client, fake: FakeMake) -> None:
    url = f"{AGENTS}/{SEED_AGENT_ID}/run/stream"
    body = {"messages": [{"role": "user", "content": "stream me"}], "threadId": "t-1"}
    with client.stream("POST", url, params=TEAM, json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = steps(response)
    data = [e.json() for e in events]
    assert {e.event for e in events} == {"step"}
    assert [d["role"] for d in data] == ["system", "user", "tool", "assistant"]
    assert data[-1]["content"].endswith("Last: stream me")
    assert len({d["agentIterationId"] for d in data}) == 1
    fake.next_stream = "malformed"
    with client.stream("POST", url, params=TEAM, json=body) as response:
        events = steps(response)
    bad = [e for e in events if not _is_json(e.data)]
    assert len(bad) == 1
    assert json.loads(events[-1].data)["content"].endswith(
        "user messages in thread: 2. Last: stream me"
    )
    assert fake.next_stream == "normal"


def test_stream_cut_off(client: httpx2.Client, fake: FakeMake) -> None:
    fake.next_stream = "cut_off"
    url = f"{AGENTS}/{SEED_AGENT_ID}/run/stream"
    body = {"messages": [{"role": "user", "content": "hi"}]}
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.stream("POST", url, params=TEAM, json=body) as response,
    ):
        steps(response)


def test_rate_limit_helper(client: httpx2.Client, fake: FakeMake) -> None:
    fake.rate_limited(retry_after=2)
    limited = client.get(AGENTS, params=TEAM)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["code"] == "SC429"
    assert client.get(AGENTS, params=TEAM).status_code == 200


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
