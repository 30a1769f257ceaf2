"""AgentFlow approvals (list, respond, bulk, cancel, expired, answered) and knowledge search."""

from typing import Any

import pytest

from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.platforms import agentflow_settings as flow_settings
from tests.support import call_error, call_ok, call_once, connect, error_once

pytestmark = pytest.mark.anyio


# ---- approvals ---------------------------------------------------------------------------


async def test_pending_approvals_are_listed_across_and_per_agent(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    mail = fake.add_approval("send_email", {"to": "a@example.com"})
    order = fake.add_approval("lookup_order", {"order_id": "7"}, agent_id="agent_support")
    answered = fake.add_approval("send_email", {"to": "b@example.com"})
    answered["status"] = "approved"
    async with connect(settings, mode) as client:
        everything = await call_ok(client, "list_approvals", {})
        assert [a["ref"] for a in everything["items"]] == [
            f"flow:{mail['id']}",
            f"flow:{order['id']}",
        ]
        first = everything["items"][0]
        assert first["tool"] == "send_email" and first["arguments"] == {"to": "a@example.com"}
        assert first["agent"] == "flow:agent_research" and first["status"] == "pending"
        assert first["expires_at"] is not None
        support = await call_ok(client, "list_approvals", {"agent": "flow:agent_support"})
    assert [a["tool"] for a in support["items"]] == ["lookup_order"]
    pending = fake.requests_to("/approvals/pending")
    assert pending[-1].query["agent_id"] == "agent_support"
    assert pending[-1].headers["authorization"] == "Bearer test-token"


async def test_an_expired_approval_says_it_expired(fake: FakeAgentFlow, settings: Settings) -> None:
    approval = fake.add_approval()
    fake.expire_approval(approval["id"])
    text = await error_once(
        settings,
        "respond_to_approval",
        {"approval": f"flow:{approval['id']}", "decision": "approve"},
    )
    assert f"flow:{approval['id']} has expired" in text
    assert "Send the message to the agent again" in text


async def test_an_already_answered_approval_says_so_and_keeps_the_first_answer(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    approval = fake.add_approval()
    ref = f"flow:{approval['id']}"
    async with connect(settings, mode) as client:
        await call_ok(client, "respond_to_approval", {"approval": ref, "decision": "deny"})
        text = await call_error(
            client, "respond_to_approval", {"approval": ref, "decision": "approve"}
        )
    assert f"{ref} was already answered or cancelled" in text and "already denied" in text
    assert fake.approvals[approval["id"]]["status"] == "denied"


async def test_an_unknown_approval_is_404(settings: Settings) -> None:
    text = await error_once(
        settings, "respond_to_approval", {"approval": "flow:appr_404", "decision": "approve"}
    )
    assert "HTTP 404" in text and "Approval appr_404 not found" in text


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"approval": "flow:appr_1", "decision": "deny", "arguments": {"to": "x"}}, "only go with"),
        ({"approval": "flow:appr_1", "decision": "maybe"}, "decision"),
        ({"approval": "flow", "decision": "approve"}, "names only a backend"),
    ],
)
async def test_bad_answers_are_refused_before_any_request(
    fake: FakeAgentFlow, settings: Settings, arguments: dict[str, Any], expected: str
) -> None:
    approval = fake.add_approval()
    text = await error_once(settings, "respond_to_approval", arguments)
    assert expected in text
    assert fake.requests == []
    assert approval["status"] == "pending"


async def test_several_approvals_are_answered_at_once_each_reported(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    first, second, late = fake.add_approval(), fake.add_approval(), fake.add_approval()
    fake.expire_approval(late["id"])
    refs = [f"flow:{a['id']}" for a in (first, second, late)]
    result = await call_once(
        settings,
        "respond_to_approvals",
        {"approvals": refs, "decision": "approve", "reason": "batch"},
        mode,
    )
    assert (result["succeeded"], result["failed"]) == (2, 1)
    outcomes = {r["approval"]: r for r in result["results"]}
    assert outcomes[refs[0]]["ok"] and outcomes[refs[0]]["status"] == "approved"
    assert not outcomes[refs[2]]["ok"] and "expired" in outcomes[refs[2]]["error"]
    (bulk,) = fake.requests_to("/approvals/bulk-respond")
    assert bulk.body == {
        "approval_ids": [first["id"], second["id"], late["id"]],
        "decision": "approve",
        "reason": "batch",
    }
    assert fake.approvals[second["id"]]["reason"] == "batch"


async def test_cancel_approval_withdraws_it(fake: FakeAgentFlow, settings: Settings) -> None:
    approval = fake.add_approval()
    ref = f"flow:{approval['id']}"
    async with connect(settings) as client:
        cancelled = await call_ok(client, "cancel_approval", {"approval": ref})
        again = await call_error(client, "cancel_approval", {"approval": ref})
    assert cancelled["status"] == "cancelled"
    assert "already answered or cancelled" in again
    assert fake.requests[0].method == "DELETE"
    assert fake.requests[0].path == f"/api/v1/approvals/{approval['id']}"


async def test_answering_approvals_needs_the_write_scope(fake: FakeAgentFlow, url: str) -> None:
    approval = fake.add_approval()
    text = await error_once(
        flow_settings(url, token="read-token"),
        "respond_to_approval",
        {"approval": f"flow:{approval['id']}", "decision": "approve"},
    )
    assert "HTTP 403" in text and "approvals:write" in text
    assert approval["status"] == "pending"


# ---- knowledge ---------------------------------------------------------------------------


async def test_knowledge_bases_are_listed(settings: Settings, mode: str) -> None:
    listed = await call_once(settings, "list_knowledge_bases", {"backend": "flow"}, mode)
    assert [(kb["ref"], kb["name"]) for kb in listed["items"]] == [
        ("flow:kb_docs", "Product docs"),
        ("flow:kb_faq", "FAQ"),
    ]
    assert listed["items"][0]["details"]["document_count"] == 3


async def test_one_knowledge_base_is_searched(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    found = await call_once(
        settings,
        "search_knowledge",
        {"query": "streaming events", "knowledge_bases": ["flow:kb_docs"], "limit": 2},
        mode,
    )
    best = found["hits"][0]
    assert best["content"] == "Streaming chat uses server-sent events."
    assert best["knowledge_base"] == "flow:kb_docs" and best["source"] == "chat.md"
    assert best["score"] == 1.0
    (search,) = fake.requests_to("/search", "POST")
    assert search.path == "/api/v1/knowledge-bases/kb_docs/search"
    assert search.body == {"query": "streaming events", "top_k": 2}


async def test_several_knowledge_bases_are_searched_in_one_call(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    found = await call_once(
        settings,
        "search_knowledge",
        {"query": "refunds approvals", "knowledge_bases": ["flow:kb_docs", "flow:kb_faq"]},
    )
    assert {h["knowledge_base"] for h in found["hits"]} == {"flow:kb_docs", "flow:kb_faq"}
    (search,) = fake.requests_to("/search", "POST")
    assert search.path == "/api/v1/knowledge-bases/search"
    assert search.body == {
        "query": "refunds approvals",
        "top_k": 10,
        "knowledge_base_ids": ["kb_docs", "kb_faq"],
    }


async def test_an_agents_bound_knowledge_bases_are_searched_through_it(
    fake: FakeAgentFlow, settings: Settings, mode: str
) -> None:
    async with connect(settings, mode) as client:
        found = await call_ok(
            client, "search_knowledge", {"query": "refunds", "agent": "flow:agent_support"}
        )
        unbound = await call_error(
            client,
            "search_knowledge",
            {
                "query": "refunds",
                "agent": "flow:agent_research",
                "knowledge_bases": ["flow:kb_faq"],
            },
        )
    assert [h["content"] for h in found["hits"]] == ["Refunds are processed within 5 days."]
    assert found["hits"][0]["knowledge_base"] == "flow:kb_faq"
    assert [r.path for r in fake.requests[:2]] == [
        "/api/v1/agents/agent_support/knowledge-bases",
        "/api/v1/agents/agent_support/knowledge-bases/kb_faq/search",
    ]
    assert "HTTP 404" in unbound and "not bound to agent agent_research" in unbound


async def test_a_backend_alone_searches_all_its_knowledge_bases(
    fake: FakeAgentFlow, settings: Settings
) -> None:
    found = await call_once(settings, "search_knowledge", {"query": "password", "backend": "flow"})
    assert [h["source"] for h in found["hits"]] == ["faq.md"]
    assert fake.requests_to("/search")[0].body["knowledge_base_ids"] == ["kb_docs", "kb_faq"]


async def test_a_query_alone_searches_every_backend_that_has_knowledge(settings: Settings) -> None:
    async with connect(settings) as client:
        alone = await call_ok(client, "search_knowledge", {"query": "password"})
        scoped = await call_ok(client, "search_knowledge", {"query": "password", "backend": "flow"})
    assert alone["hits"] and alone["hits"] == scoped["hits"]
    assert {hit["knowledge_base"].partition(":")[0] for hit in alone["hits"]} == {"flow"}


async def test_knowledge_needs_the_read_scope(fake: FakeAgentFlow, url: str) -> None:
    fake.add_token("agents-only", {"agents:read"})
    text = await error_once(
        flow_settings(url, token="agents-only"), "list_knowledge_bases", {"backend": "flow"}
    )
    assert "HTTP 403" in text and "knowledge:read" in text
