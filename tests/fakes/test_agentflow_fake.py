"""Smoke tests of the AgentFlow fake itself, driven over real HTTP with httpx2."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def fake_client() -> Iterator[tuple[FakeAgentFlow, httpx2.Client]]:
    fake = FakeAgentFlow()
    with serve(fake.app) as url, httpx2.Client(base_url=url, headers=AUTH, timeout=5) as client:
        yield fake, client


def _events(response: httpx2.Response) -> Iterator[tuple[str, Any]]:
    for sse in httpx2.EventSource(response):
        yield sse.event, sse.json()


def test_auth_scopes_and_errors(fake_client: tuple[FakeAgentFlow, httpx2.Client]) -> None:
    fake, client = fake_client
    assert client.get("/api/v1/agents", headers={"Authorization": ""}).status_code == 401
    bad = client.get("/api/v1/agents", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json() == {"detail": "Invalid authentication credentials"}
    ro = {"Authorization": "Bearer read-token"}
    assert client.get("/api/v1/agent/agent_research", headers=ro).status_code == 200
    denied = client.patch("/api/v1/agent/agent_research/config", json={"x": 1}, headers=ro)
    assert denied.status_code == 403 and "agents:write" in denied.json()["detail"]
    assert client.get("/api/v1/agent/nope").json() == {"detail": "Agent nope not found"}
    assert client.post("/api/v1/agent/agent_research/chat", json={}).status_code == 422
    fake.rate_limited(retry_after=2)
    limited = client.get("/api/v1/agents")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert client.get("/health", headers={}).json()["status"] == "healthy"
    assert client.get("/openapi.json").json()["info"]["version"] == fake.version


def test_config_round_trip_and_knowledge(fake_client: tuple[FakeAgentFlow, httpx2.Client]) -> None:
    fake, client = fake_client
    patched = client.patch("/api/v1/agent/agent_research/config", json={"temperature": 0.9})
    assert patched.json()["config"]["temperature"] == 0.9
    assert fake.agents["agent_research"]["config"]["temperature"] == 0.9
    sub = client.post("/api/v1/agent/agent_research/subagents", json={"name": "Critic"})
    assert sub.status_code == 201
    ran = client.post(
        f"/api/v1/agent/agent_research/subagents/{sub.json()['id']}/run", json={"message": "hi"}
    )
    assert ran.json()["output"] == "[Critic] Echo: hi"
    hits = client.post(
        "/api/v1/knowledge-bases/search",
        json={"query": "approvals refunds", "knowledge_base_ids": ["kb_docs", "kb_faq"]},
    )
    assert {r["knowledge_base_id"] for r in hits.json()["results"]} == {"kb_docs", "kb_faq"}
    unbound = client.post(
        "/api/v1/agents/agent_research/knowledge-bases/kb_faq/search", json={"query": "refunds"}
    )
    assert unbound.status_code == 404


def test_chat_persists_and_counts_turns(fake_client: tuple[FakeAgentFlow, httpx2.Client]) -> None:
    fake, client = fake_client
    first = client.post(
        "/api/v1/agent/agent_research/chat", json={"message": "hello", "stream": False}
    )
    conv_id = first.json()["conversation_id"]
    assert first.json()["response"] == "[Research Assistant] Echo: hello (turn 1)"
    with client.stream(
        "POST",
        "/api/v1/agent/agent_research/chat",
        json={"message": "again", "conversation_id": conv_id},
    ) as response:
        events = list(_events(response))
    assert events[0][0] == "start" and events[-1][0] == "done"
    text = "".join(d["content"] for e, d in events if e == "text")
    assert text == "[Research Assistant] Echo: again (turn 2)" == events[-1][1]["content"]
    messages = client.get(f"/api/v1/conversations/{conv_id}/messages").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert fake.messages[conv_id][0]["content"] == "hello"
    found = client.get("/api/v1/conversations/search", params={"q": "again"}).json()
    assert found["results"][0]["conversation_id"] == conv_id


def test_approval_pauses_stream_until_answered(
    fake_client: tuple[FakeAgentFlow, httpx2.Client],
) -> None:
    fake, client = fake_client
    fake.next_stream = "approval"
    seen: list[tuple[str, Any]] = []
    with client.stream("POST", "/api/v1/agent/agent_research/chat", json={"message": "mail"}) as r:
        for event, data in _events(r):
            seen.append((event, data))
            if event == "approval_required":
                answer = client.post(
                    f"/api/v1/approvals/{data['approval_id']}/respond",
                    json={"decision": "approve", "modified_arguments": {"to": "boss@example.com"}},
                )
                assert answer.json()["status"] == "approved"
    result = next(d for e, d in seen if e == "tool_result")
    assert result["result"]["arguments"] == {"to": "boss@example.com"}
    assert seen[-1][0] == "done"
    approval_id = next(iter(fake.approvals))
    again = client.post(f"/api/v1/approvals/{approval_id}/respond", json={"decision": "deny"})
    assert again.status_code == 409
    expired = fake.add_approval()
    fake.expire_approval(expired["id"])
    assert (
        client.post(
            f"/api/v1/approvals/{expired['id']}/respond", json={"approved": True}
        ).status_code
        == 410
    )


def test_question_and_cancel(fake_client: tuple[FakeAgentFlow, httpx2.Client]) -> None:
    fake, client = fake_client
    fake.next_stream = "question"
    with client.stream("POST", "/api/v1/agent/agent_support/chat", json={"message": "q"}) as r:
        for event, data in _events(r):
            if event == "question":
                client.post(
                    f"/api/v1/questions/{data['question_id']}/respond", json={"answer": "short"}
                )
            last = (event, data)
    assert last[0] == "done" and last[1]["content"].startswith("You answered: short.")
    fake.next_stream = "approval"
    with client.stream("POST", "/api/v1/agent/agent_research/chat", json={"message": "x"}) as r:
        call_id = r.headers["x-call-id"]
        names = []
        for event, _data in _events(r):
            names.append(event)
            if event == "approval_required":
                assert client.post(f"/api/v1/cancel/{call_id}").json()["cancelled"] is True
    assert names[-1] == "cancelled"
    assert fake.calls[call_id]["status"] == "cancelled" and fake.cancelled_calls == [call_id]


def test_cut_off_and_malformed_streams(fake_client: tuple[FakeAgentFlow, httpx2.Client]) -> None:
    fake, client = fake_client
    fake.next_stream = "cut_off"
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.stream("POST", "/api/v1/agent/agent_research/chat", json={"message": "cut"}) as r,
    ):
        list(_events(r))
    fake.next_stream = "malformed"
    with client.stream("POST", "/api/v1/agent/agent_research/chat", json={"message": "bad"}) as r:
        raw = [sse for sse in httpx2.EventSource(r)]
    broken = [sse for sse in raw if sse.data.startswith('{"content": "broken')]
    assert len(broken) == 1 and raw[-1].event == "done"
