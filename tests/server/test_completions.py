"""Completions for every ref-taking prompt argument and resource-template parameter:
backends, agents, conversations, workflows, approvals — limited, and never an error when
a platform is slow or failing (issue 24, item 3)."""

import re
import time
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import Completion, PromptReference, ResourceTemplateReference

from agentdeck.config import Settings
from agentdeck.server import AGENT_URI, CONVERSATION_URI, WORKFLOW_URI
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import Served
from tests.fakes.roboflow import FULL_KEY, WORKSPACE, FakeRoboflow
from tests.support import FAST_HTTP, call_ok, connect, make_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def flow() -> FakeAgentFlow:
    return FakeAgentFlow()


@pytest.fixture
def flow_url(flow: FakeAgentFlow, served: Served) -> str:
    return served(flow)


@pytest.fixture
def roboflow_url(served: Served) -> str:
    return served(FakeRoboflow())


def settings(
    flow_url: str, roboflow_url: str | None = None, token: str = "test-token", **server: Any
) -> Settings:
    """local (echo), ``flow`` on the AgentFlow fake (with ``token``) and, given its URL,
    ``vision`` on the Roboflow fake."""
    backends: dict[str, dict[str, Any]] = {
        "flow": {"kind": "agentflow", "base_url": flow_url, "token": token, **FAST_HTTP}
    }
    if roboflow_url:
        backends["vision"] = {
            "kind": "roboflow",
            "base_url": roboflow_url,
            "workspace": WORKSPACE,
            "api_key": FULL_KEY,
            **FAST_HTTP,
        }
    return make_settings(backends, server=server)


async def complete(
    client: Client, ref: str, argument: str, typed: str = "", **filled: str
) -> Completion:
    """What the server offers for ``argument`` of the prompt (a name) or template (a URI
    template) ``ref``, with ``typed`` typed so far and the arguments ``filled`` in."""
    target = ResourceTemplateReference(uri=ref) if "://" in ref else PromptReference(name=ref)
    result = await client.complete(target, {"name": argument, "value": typed}, filled or None)
    return result.completion


async def local_agent(client: Client, name: str) -> str:
    created = await call_ok(client, "create_agent", {"backend": "local", "name": name})
    return str(created["ref"])


async def test_the_completions_capability_is_advertised(flow_url: str, mode: str) -> None:
    """24.3: both protocol eras see ``completions`` among the server's capabilities."""
    async with connect(settings(flow_url), mode) as client:
        assert client.server_capabilities.completions is not None


async def test_backend_names_are_those_that_have_what_the_argument_names(
    flow_url: str, roboflow_url: str, mode: str
) -> None:
    """24.3: a backend argument offers the backends that have agents, approvals,
    conversations or workflows, as the prompt or template needs, matching what is typed."""
    async with connect(settings(flow_url, roboflow_url), mode) as client:
        agents = await complete(client, "delegate_task", "backend")
        approvals = await complete(client, "review_approvals", "backend")
        workflows = await complete(client, WORKFLOW_URI, "backend")
        conversations = await complete(client, CONVERSATION_URI, "backend", "V")
    assert agents.values == ["local", "flow", "vision"]
    assert (agents.total, agents.has_more) == (3, False)
    assert approvals.values == ["flow"]
    assert workflows.values == ["vision"]
    assert conversations.values == ["vision"]


async def test_agent_refs_are_offered_by_name_or_ref_prefix(flow_url: str, mode: str) -> None:
    """24.3: typing the start of an agent's name (any word of it, any case) or of its ref
    offers the agents' refs, local and on a platform; a chosen backend narrows them (the
    argument's own earlier value does not), and a template's agent id is offered on its
    backend."""
    async with connect(settings(flow_url), mode) as client:
        desk = await local_agent(client, "Support desk")
        sales = await local_agent(client, "Sales")
        by_name = await complete(client, "delegate_task", "agent", "sup", agent=sales)
        by_word = await complete(client, "delegate_task", "agent", "BOT")
        by_ref = await complete(client, "continue_conversation", "agent", "flow:")
        on_local = await complete(client, "delegate_task", "agent", backend="local")
        in_template = await complete(client, AGENT_URI, "agent_id", "res", backend="flow")
    assert by_name.values == [desk, "flow:agent_support"]
    assert by_word.values == ["flow:agent_support"]
    assert by_ref.values == ["flow:agent_research", "flow:agent_support"]
    assert on_local.values == [desk, sales]
    assert in_template.values == ["agent_research"]


async def test_conversations_of_the_chosen_agent_are_offered(flow_url: str, mode: str) -> None:
    """24.3: continue_conversation offers the conversations of the agent filled in before
    it (``context.arguments``), and the transcript template those of its backend."""
    async with connect(settings(flow_url), mode) as client:
        first, second = await local_agent(client, "First"), await local_agent(client, "Second")
        mine = await call_ok(client, "chat", {"agent": first, "message": "apples"})
        theirs = await call_ok(client, "chat", {"agent": second, "message": "pears"})
        of_first = await complete(client, "continue_conversation", "conversation", agent=first)
        typed = await complete(client, "continue_conversation", "conversation", "local:")
        ids = await complete(client, CONVERSATION_URI, "conversation_id", backend="local")
    assert of_first.values == [mine["conversation"]]
    assert set(typed.values) == {mine["conversation"], theirs["conversation"]}
    assert set(ids.values) == {ref.split(":", 1)[1] for ref in typed.values}


async def test_workflows_of_the_chosen_backend_are_offered(
    flow_url: str, roboflow_url: str, mode: str
) -> None:
    """24.3: the workflow template offers the workflows of its backend by url or name."""
    async with connect(settings(flow_url, roboflow_url), mode) as client:
        every = await complete(client, WORKFLOW_URI, "workflow_id", backend="vision")
        by_name = await complete(client, WORKFLOW_URI, "workflow_id", "team", backend="vision")
    assert "slow-webhooks" in every.values and every.has_more is False
    assert by_name.values == ["team-a-counter"]


async def test_pending_approvals_are_offered(flow: FakeAgentFlow, flow_url: str, mode: str) -> None:
    """24.3: review_approvals offers the pending approvals' refs, by ref or by tool name."""
    mail = flow.add_approval("send_email", {"to": "a@example.com"})
    order = flow.add_approval("lookup_order", {"order_id": "7"}, agent_id="agent_support")
    async with connect(settings(flow_url), mode) as client:
        every = await complete(client, "review_approvals", "approval", backend="flow")
        by_tool = await complete(client, "review_approvals", "approval", "lookup")
    assert every.values == [f"flow:{mail['id']}", f"flow:{order['id']}"]
    assert by_tool.values == [f"flow:{order['id']}"]


async def test_at_most_100_values_with_the_total_and_has_more(
    flow: FakeAgentFlow, flow_url: str, mode: str
) -> None:
    """24.3: MCP caps an answer at 100 values; the rest is counted in ``total`` and said
    by ``hasMore`` (the platform's list is read across its pages)."""
    template = flow.agents["agent_support"]
    for number in range(130):
        agent_id = f"agent_bulk_{number:03d}"
        flow.agents[agent_id] = {**template, "id": agent_id, "name": f"Bulk {number}"}
    async with connect(settings(flow_url), mode) as client:
        answer = await complete(client, "delegate_task", "agent", "flow:")
        narrow = await complete(client, "delegate_task", "agent", "bulk 12")
    assert len(answer.values) == 100 and answer.values[0] == "flow:agent_research"
    assert (answer.total, answer.has_more) == (132, True)
    assert narrow.values == [f"flow:agent_bulk_{n:03d}" for n in [12, *range(120, 130)]]
    assert (narrow.total, narrow.has_more) == (11, False)


async def test_a_slow_platform_is_left_out_within_the_budget(
    flow: FakeAgentFlow, flow_url: str, mode: str
) -> None:
    """24.3: a platform slower than ``completion_seconds`` is left out: the answer comes
    within the budget with what the others have, and says there may be more."""
    flow.delay = 5
    async with connect(settings(flow_url, completion_seconds=0.3), mode) as client:
        desk = await local_agent(client, "Desk")
        started = time.monotonic()
        with anyio.fail_after(3):
            answer = await complete(client, "delegate_task", "agent")
        took = time.monotonic() - started
    assert answer.values == [desk]
    assert (answer.total, answer.has_more) == (None, True)
    assert took < 2


@pytest.mark.parametrize("failure", ["401", "500"])
async def test_a_failing_platform_is_left_out_not_an_error(
    flow: FakeAgentFlow, flow_url: str, mode: str, failure: str
) -> None:
    """24.3: a platform that refuses the key or fails is left out of the answer, which
    says there may be more; the completion does not fail."""
    token = "not-a-known-token" if failure == "401" else "test-token"
    if failure == "500":
        flow.server_error(times=10)
    async with connect(settings(flow_url, token=token), mode) as client:
        desk = await local_agent(client, "Desk")
        answer = await complete(client, "delegate_task", "agent", "")
    assert answer.values == [desk]
    assert answer.has_more is True


async def test_unknown_prompts_and_templates_are_invalid_params(flow_url: str, mode: str) -> None:
    """24.3: completing an argument of a prompt or template the server does not serve is
    the client's mistake (-32602); a free-text argument is offered nothing."""
    async with connect(settings(flow_url), mode) as client:
        task = await complete(client, "delegate_task", "task", "sum")
        with pytest.raises(MCPError) as prompt:
            await complete(client, "no_such_prompt", "agent")
        with pytest.raises(MCPError) as template:
            await complete(client, WORKFLOW_URI, "workflow_id")  # no workflows backend
    assert task.values == []
    assert prompt.value.error.code == -32602
    assert "Unknown prompt 'no_such_prompt'" in prompt.value.error.message
    assert template.value.error.code == -32602
    assert "No resource template" in template.value.error.message


async def test_the_prompts_take_the_refs_offered(flow_url: str, mode: str) -> None:
    """24.3: delegate_task hands the task to the agent picked, review_approvals keeps to
    the approval picked, and continue_conversation asks for the agent first, so that its
    conversations can be offered next."""
    async with connect(settings(flow_url), mode) as client:
        listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        delegate = await client.get_prompt("delegate_task", {"task": "t", "agent": "flow:a1"})
        review = await client.get_prompt("review_approvals", {"approval": "flow:ap1"})
        carry_on = await client.get_prompt(
            "continue_conversation", {"agent": "local:a1", "conversation": "local:c1"}
        )
    texts = [getattr(m.messages[0].content, "text", "") for m in (delegate, review, carry_on)]
    assert "Use the agent flow:a1." in texts[0] and "list_agents" not in texts[0]
    assert "keep only flow:ap1" in texts[1]
    assert "passing agent=local:a1 and conversation=local:c1" in texts[2]
    arguments = listed["continue_conversation"].arguments or []
    assert [(a.name, a.required) for a in arguments] == [
        ("agent", False),
        ("conversation", True),
    ]


async def test_every_template_parameter_and_ref_argument_is_completed(
    flow: FakeAgentFlow, flow_url: str, roboflow_url: str, mode: str
) -> None:
    """24.3: each parameter of each resource template (named as the server lists it) and
    each prompt argument but the free-text task is offered values."""
    flow.add_approval()
    async with connect(settings(flow_url, roboflow_url), mode) as client:
        agent = await local_agent(client, "Planner")
        await call_ok(client, "chat", {"agent": agent, "message": "hi"})
        templates = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts
        asked = [
            (t.uri_template, name, "vision" if "/workflows/" in t.uri_template else "local")
            for t in templates
            for name in re.findall(r"\{(\w+)\}", t.uri_template)
        ] + [(p.name, a.name, "") for p in prompts for a in p.arguments or [] if a.name != "task"]
        offered = [
            (ref, name)
            for ref, name, backend in asked
            if (
                await complete(client, ref, name, **({"backend": backend} if backend else {}))
            ).values
        ]
    assert len(asked) == 12
    assert offered == [(ref, name) for ref, name, _ in asked]
