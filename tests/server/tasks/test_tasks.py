"""Long chats as MCP tasks (issue 21): the 2026-07-28 extension through the Python SDK
client with a tasks extension, and the 2025-11-25 form."""

from __future__ import annotations

import json

import anyio
import mcp.types as types
import pytest
from mcp import MCPError

from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import Served, serve
from tests.fakes.openai import FakeOpenAI
from tests.server.tasks.client import CancelTask, TasksClient, get_task, raw_request, send
from tests.support import FAST_HTTP, call_ok, connect, local_agent, make_settings, model_settings

pytestmark = pytest.mark.anyio

FLOW_AGENT = "flow:agent_research"


async def test_a_slow_chat_becomes_a_task_polled_to_completion(served: Served) -> None:
    fake = FakeOpenAI(chunk_delay=0.15)
    tasks = TasksClient()
    url = served(fake)
    async with connect(model_settings(url), extensions=[tasks]) as client:
        agent = await local_agent(client)
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": agent, "message": "hi"})
    assert len(tasks.created) == 1
    assert tasks.seen[0]["status"] == "working"
    assert tasks.seen[-1]["status"] == "completed"
    assert result["status"] == "completed"
    assert "heard 'hi'" in result["text"]


async def test_a_quick_chat_answers_plainly_even_when_tasks_are_declared() -> None:
    tasks = TasksClient()
    async with connect(make_settings(), extensions=[tasks]) as client:
        agent = await local_agent(client)
        result = await call_ok(client, "chat", {"agent": agent, "message": "hi"})
    assert tasks.created == []
    assert result["status"] == "completed"


async def test_without_the_extension_a_slow_chat_answers_running_as_before(served: Served) -> None:
    url = served(FakeOpenAI(chunk_delay=0.15))
    async with connect(model_settings(url)) as client:
        agent = await local_agent(client)
        result = await call_ok(client, "chat", {"agent": agent, "message": "hi", "wait_seconds": 1})
    assert result["status"] == "running"


async def test_tasks_cancel_closes_the_upstream_stream() -> None:
    fake = FakeOpenAI(chunk_delay=0.3)
    tasks = TasksClient()
    with serve(fake.app) as url:
        async with connect(model_settings(url), extensions=[tasks]) as client:
            agent = await local_agent(client)
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "chat", {"agent": agent, "message": "hi"})
                with anyio.fail_after(10):
                    while not tasks.created:  # noqa: ASYNC110 (the claim's own record)
                        await anyio.sleep(0.02)
                task_id = tasks.created[0].task_id
                await send(client.session, CancelTask, task_id)
            state = await get_task(client.session, task_id)
    assert state["status"] == "cancelled"
    assert fake.open_streams == 0 and fake.closed_early == 1


async def test_an_unknown_task_id_is_invalid_params() -> None:
    async with connect(make_settings(), extensions=[TasksClient()]) as client:
        with pytest.raises(MCPError) as raised:
            await get_task(client.session, "no-such-task")
    assert raised.value.error.code == -32602


async def test_an_agentflow_approval_is_input_required_and_answered_with_tasks_update(
    served: Served,
) -> None:
    fake = FakeAgentFlow()
    fake.next_stream = "approval"
    edited = {"to": "boss@example.com", "subject": "Edited", "body": "ship it"}
    asked: list[tuple[str, dict]] = []

    async def approve(key: str, request: dict) -> dict:
        asked.append((key, request))
        answer = {"decision": "approve", "arguments": json.dumps(edited), "reason": "fine"}
        return {"action": "accept", "content": answer}

    tasks = TasksClient(answer=approve)
    url = served(fake)
    backend = {"kind": "agentflow", "base_url": url, "token": "test-token", **FAST_HTTP}
    async with connect(make_settings({"flow": backend}), extensions=[tasks]) as client:
        with anyio.fail_after(20):
            result = await call_ok(client, "chat", {"agent": FLOW_AGENT, "message": "mail"})
    ((key, request),) = asked
    assert key.startswith("approval:")
    assert request["method"] == "elicitation/create"
    assert "send_email" in request["params"]["message"]
    assert request["params"]["requestedSchema"]["properties"]["decision"]["enum"] == [
        "approve",
        "deny",
    ]
    assert any(seen["status"] == "input_required" for seen in tasks.seen)
    assert result["status"] == "completed"
    assert "boss@example.com" in result["text"]
    (respond,) = fake.requests_to("/respond", "POST")
    assert respond.body == {"decision": "approve", "modified_arguments": edited, "reason": "fine"}


# ---- the 2025-11-25 form ------------------------------------------------------------


async def call_as_task(client, name: str, arguments: dict, ttl: int = 60_000) -> dict:
    params = {"name": name, "arguments": arguments, "task": {"ttl": ttl}}
    created = types.CreateTaskResult.model_validate(
        await raw_request(client.session, "tools/call", params)
    )
    return created.task.model_dump(by_alias=True, exclude_none=True)


async def legacy(client, request, result_type):
    return await client.session.send_request(request, result_type)


async def test_legacy_handshake_declares_tasks_and_chat_supports_them() -> None:
    async with connect(make_settings(local={"expose_agents": True}), "legacy") as client:
        capabilities = client.session.initialize_result.capabilities  # type: ignore[union-attr]
        await local_agent(client)
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert capabilities.tasks is not None and capabilities.tasks.requests.tools.call is not None
    assert capabilities.tasks.list is not None and capabilities.tasks.cancel is not None
    assert tools["chat"].execution.task_support == "optional"
    (agent_tool,) = [t for t in tools.values() if t.name.startswith("local_")]
    assert agent_tool.execution.task_support == "optional"
    assert tools["get_run"].execution is None


async def test_a_modern_tool_list_carries_no_execution_field() -> None:
    async with connect(make_settings()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["chat"].execution is None


async def test_legacy_task_is_polled_and_its_result_fetched_and_listed(served: Served) -> None:
    url = served(FakeOpenAI(chunk_delay=0.1))
    async with connect(model_settings(url), "legacy") as client:
        agent = await local_agent(client)
        task = await call_as_task(client, "chat", {"agent": agent, "message": "hi"})
        assert task["status"] == "working" and task["ttl"] == 60_000
        got = await legacy(
            client,
            types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task["taskId"])),
            types.GetTaskResult,
        )
        assert got.status == "working"
        with anyio.fail_after(15):
            result = await client.session.send_request(
                types.GetTaskPayloadRequest(
                    params=types.GetTaskPayloadRequestParams(task_id=task["taskId"])
                ),
                types.CallToolResult,
            )
        listed = await legacy(client, types.ListTasksRequest(), types.ListTasksResult)
    content = result.structured_content
    assert content["status"] == "completed" and "heard 'hi'" in content["text"]
    assert result.meta["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
    assert [t.task_id for t in listed.tasks] == [task["taskId"]]
    assert listed.tasks[0].status == "completed"


async def test_legacy_task_result_asks_an_approval_through_elicitation(served: Served) -> None:
    fake = FakeAgentFlow()
    fake.next_stream = "approval"
    asked: list = []

    async def approve(context, params) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept", content={"decision": "deny", "reason": "no"})

    url = served(fake)
    backend = {"kind": "agentflow", "base_url": url, "token": "test-token", **FAST_HTTP}
    settings = make_settings({"flow": backend})
    async with connect(settings, "legacy", elicitation_callback=approve) as client:
        task = await call_as_task(client, "chat", {"agent": FLOW_AGENT, "message": "mail"})
        with anyio.fail_after(15):
            result = await client.session.send_request(
                types.GetTaskPayloadRequest(
                    params=types.GetTaskPayloadRequestParams(task_id=task["taskId"])
                ),
                types.CallToolResult,
            )
    (question,) = asked
    assert "send_email" in question.message
    assert question.meta["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
    assert "approval denied (no)" in result.structured_content["text"]


async def test_legacy_tasks_cancel_answers_the_cancelled_task() -> None:
    fake = FakeOpenAI(chunk_delay=0.3)
    with serve(fake.app) as url:
        async with connect(model_settings(url), "legacy") as client:
            agent = await local_agent(client)
            task = await call_as_task(client, "chat", {"agent": agent, "message": "hi"})
            with anyio.fail_after(5):
                while fake.open_streams == 0:  # noqa: ASYNC110 (a counter in the fake's thread)
                    await anyio.sleep(0.01)
            cancelled = await legacy(
                client,
                types.CancelTaskRequest(
                    params=types.CancelTaskRequestParams(task_id=task["taskId"])
                ),
                types.CancelTaskResult,
            )
            with pytest.raises(MCPError) as again:
                await legacy(
                    client,
                    types.CancelTaskRequest(
                        params=types.CancelTaskRequestParams(task_id=task["taskId"])
                    ),
                    types.CancelTaskResult,
                )
    assert cancelled.status == "cancelled"
    assert fake.closed_early == 1
    assert again.value.error.code == -32602


async def test_a_task_past_its_ttl_is_gone(served: Served) -> None:
    """The server's TTL (run_keep_seconds) in the 2026 form; the requested one in 2025's."""
    fake = FakeOpenAI(chunk_delay=0.1)
    tasks = TasksClient(hand_back=True)
    url = served(fake)
    settings = model_settings(url)
    settings.server.run_keep_seconds = 1.5
    async with connect(settings, extensions=[tasks]) as client:
        agent = await local_agent(client)
        await client.call_tool("chat", {"agent": agent, "message": "hi"})
        task_id = tasks.created[0].task_id
        assert tasks.created[0].model_extra["ttlMs"] == 1500
        assert (await get_task(client.session, task_id))["status"] == "working"
        await anyio.sleep(1.6)
        with pytest.raises(MCPError) as expired:
            await get_task(client.session, task_id)
    async with connect(model_settings(url), "legacy") as client:
        agent = await local_agent(client)
        task = await call_as_task(client, "chat", {"agent": agent, "message": "hi"}, ttl=300)
        assert task["ttl"] == 300
        await anyio.sleep(0.4)
        with pytest.raises(MCPError) as gone:
            await raw_request(client.session, "tasks/get", {"taskId": task["taskId"]})
    assert expired.value.error.code == gone.value.error.code == -32602
