"""Task status notifications (issue 21.1, ``notifications/tasks``): a 2026-07-28 client
that listens for its tasks on ``subscriptions/listen`` hears each change of status.

The Python SDK client's ``listen()`` knows no ``taskIds`` (and no ``notifications/tasks``),
so these tests speak raw JSON-RPC over Streamable HTTP to a real ``agentdeck serve``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp_types import CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY

from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.server.tasks.client import IDENTIFIER
from tests.test_end_to_end import http_server

pytestmark = pytest.mark.anyio

VERSION = "2026-07-28"
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
#: a reply of about 27 words at 0.1 s a word: a task for well over a second past the grace
MESSAGE = "please answer with these words " * 4


class Caller:
    """One 2026-07-28 client: its own bearer credential makes it its own task owner."""

    def __init__(self, http: httpx2.AsyncClient, url: str, who: str, *, tasks: bool) -> None:
        self.http, self.url, self.who = http, url, who
        self.extensions = {IDENTIFIER: {}} if tasks else {}
        self.ids = 0

    def envelope(self, method: str, params: dict[str, Any], name: str | None) -> dict[str, Any]:
        self.ids += 1
        meta = {
            PROTOCOL_VERSION_META_KEY: VERSION,
            CLIENT_CAPABILITIES_META_KEY: {"extensions": self.extensions},
        }
        headers = {
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {self.who}",
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": method,
            **({"Mcp-Name": name} if name else {}),
        }
        body = {"jsonrpc": "2.0", "id": self.ids, "method": method}
        return {"headers": headers, "json": {**body, "params": {**params, "_meta": meta}}}

    async def request(
        self, method: str, params: dict[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        """The JSON-RPC response to one request, from a JSON or an SSE answer."""
        sent = self.envelope(method, params, name)
        async with self.http.stream("POST", self.url, **sent) as response:
            async for message in messages(response):
                if "id" in message:
                    return message
        raise AssertionError(f"{method} got no response")

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        answer = await self.request("tools/call", {"name": tool, "arguments": arguments}, tool)
        result: dict[str, Any] = answer["result"]
        return result

    async def start_task(self, agent: str) -> str:
        created = await self.call("chat", {"agent": agent, "message": MESSAGE})
        assert created.get("resultType") == "task", created
        return str(created["taskId"])


async def messages(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages of a response: its JSON body, or its SSE events' data."""
    if response.headers.get("content-type", "").startswith("application/json"):
        yield json.loads(await response.aread())
        return
    async for line in response.aiter_lines():
        if line.startswith("data:") and line[5:].strip():
            yield json.loads(line[5:])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server for the module (starting one is most of these tests' time), with a
    slow local model and an AgentFlow whose agent asks for an approval."""
    tmp_path = tmp_path_factory.mktemp("listen")
    model, flow = FakeOpenAI(chunk_delay=0.1), FakeAgentFlow()
    flow.next_stream = "approval"
    with serve(model.app) as model_url, serve(flow.app) as flow_url:
        config = tmp_path / "agentdeck.toml"
        config.write_text(
            f'[server]\ndatabase = "{tmp_path / "deck.db"}"\n\n'
            f'[backends.local]\nkind = "local"\nmodel = "tiny-llama"\n'
            f'openai_base_url = "{model_url}/v1"\n\n'
            f'[backends.flow]\nkind = "agentflow"\nbase_url = "{flow_url}"\n'
            'token = "test-token"\n'
        )
        with http_server(config) as base:
            yield f"{base}/mcp"


async def test_a_listener_hears_its_tasks_change_until_they_end(server: str) -> None:
    """21.1: the ack names the caller's own tasks only; each then reports ``working``
    and its end (one completed, one cancelled) as the ``DetailedTask`` of ``tasks/get``."""
    async with httpx2.AsyncClient(timeout=30) as http:
        me = Caller(http, server, "me", tasks=True)
        other = Caller(http, server, "someone-else", tasks=True)
        agent = (await me.call("create_agent", {"backend": "local", "name": "Slow"}))[
            "structuredContent"
        ]["ref"]
        ids: dict[str, str] = {}

        async def start(name: str, caller: Caller) -> None:
            ids[name] = await caller.start_task(agent)

        async with anyio.create_task_group() as starting:
            for name, caller in (("done", me), ("stopped", me), ("foreign", other)):
                starting.start_soon(start, name, caller)

        asked = [ids["done"], ids["stopped"], ids["foreign"], "no-such-task"]
        heard: dict[str, list[dict[str, Any]]] = {ids["done"]: [], ids["stopped"]: []}
        listen = me.envelope("subscriptions/listen", {"notifications": {"taskIds": asked}}, None)
        with anyio.fail_after(20):
            async with http.stream("POST", server, **listen) as stream:
                frames = messages(stream)
                ack = await anext(frames)
                assert ack["method"] == "notifications/subscriptions/acknowledged"
                assert ack["params"]["notifications"]["taskIds"] == [ids["done"], ids["stopped"]]
                subscription = ack["params"]["_meta"][SUBSCRIPTION_ID]
                async for frame in frames:
                    assert frame["method"] == "notifications/tasks", frame
                    assert frame["params"]["_meta"][SUBSCRIPTION_ID] == subscription
                    task = frame["params"]
                    heard[task["taskId"]].append(task)
                    if task["taskId"] == ids["stopped"] and task["status"] == "working":
                        await me.request("tasks/cancel", {"taskId": ids["stopped"]}, ids["stopped"])
                    if all(h and h[-1]["status"] != "working" for h in heard.values()):
                        break
        final = await me.request("tasks/get", {"taskId": ids["done"]}, ids["done"])
        await other.request("tasks/cancel", {"taskId": ids["foreign"]}, ids["foreign"])

    assert [t["status"] for t in heard[ids["done"]]] == ["working", "completed"]
    assert [t["status"] for t in heard[ids["stopped"]]] == ["working", "cancelled"]
    completed = {k: v for k, v in heard[ids["done"]][-1].items() if k != "_meta"}
    assert completed == {
        k: v for k, v in final["result"].items() if k not in ("resultType", "_meta")
    }
    assert "heard" in json.dumps(completed["result"])


async def test_listening_for_tasks_needs_the_extension_and_other_listens_do_not(
    server: str,
) -> None:
    """21.1: ``taskIds`` from a client that did not declare the extension is -32021,
    naming it; a listen without ``taskIds`` is the SDK's as before."""
    async with httpx2.AsyncClient(timeout=30) as http:
        plain = Caller(http, server, "me", tasks=False)
        refused = await plain.request("subscriptions/listen", {"notifications": {"taskIds": ["x"]}})
        listen = plain.envelope(
            "subscriptions/listen", {"notifications": {"toolsListChanged": True}}, None
        )
        with anyio.fail_after(10):
            async with http.stream("POST", server, **listen) as stream:
                ack = await anext(messages(stream))
    assert refused["error"]["code"] == -32021
    assert refused["error"]["data"]["requiredCapabilities"] == {"extensions": {IDENTIFIER: {}}}
    assert ack["params"]["notifications"] == {"toolsListChanged": True}


async def test_a_listener_hears_a_task_wait_for_an_approval_and_go_on(server: str) -> None:
    """21.1: ``input_required`` (with the approval's form) is told, answered with
    ``tasks/update``, and the task goes on to ``completed``."""
    async with httpx2.AsyncClient(timeout=30) as http:
        me = Caller(http, server, "me", tasks=True)
        task_id = await me.start_task("flow:agent_research")

        listen = me.envelope(
            "subscriptions/listen", {"notifications": {"taskIds": [task_id]}}, None
        )
        heard: list[dict[str, Any]] = []
        with anyio.fail_after(20):
            async with http.stream("POST", server, **listen) as stream:
                frames = messages(stream)
                ack = await anext(frames)
                async for frame in frames:
                    task = frame["params"]
                    heard.append(task)
                    if task["status"] == "input_required":
                        (key,) = task["inputRequests"]
                        answer = {"action": "accept", "content": {"decision": "approve"}}
                        update = {"taskId": task_id, "inputResponses": {key: answer}}
                        await me.request("tasks/update", update, task_id)
                    elif task["status"] != "working":
                        break
    statuses = [task["status"] for task in heard]
    assert ack["params"]["notifications"]["taskIds"] == [task_id]
    assert statuses[0] == "input_required", statuses  # it paused within the grace
    assert statuses[-1] == "completed" and set(statuses[1:-1]) <= {"working"}
    assert "send_email" in json.dumps(heard[0]["inputRequests"])
    assert heard[-1]["result"]["structuredContent"]["status"] == "completed"
