"""MCP Apps views on the protocol (issue 24): which tools name which view, how the views
are served, and that a client without Apps sees exactly what it saw before views."""

import json
import re
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError

from agentdeck.config import Settings
from agentdeck.server import build_server, views
from tests.support import call_ok, connect, make_settings

pytestmark = pytest.mark.anyio

#: What a host that renders MCP Apps declares (the ext-apps spec's client capability).
WITH_APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
UNREACHABLE = "http://127.0.0.1:9"
MAX_VIEW_BYTES = 60_000


def settings(**server: Any) -> Settings:
    """Every tool with a view served: a local backend exposing its agents, AgentFlow
    (approvals) and Roboflow (workflows), none of them called."""
    return make_settings(
        {
            "flow": {"kind": "agentflow", "base_url": UNREACHABLE, "token": "-"},
            "vision": {
                "kind": "roboflow",
                "base_url": UNREACHABLE,
                "workspace": "ws",
                "api_key": "-",
            },
        },
        server=server,
        local={"expose_agents": True},
    )


async def listed(client: Any) -> dict[str, dict[str, Any]]:
    """tools/list as the client received it, by name, in wire form."""
    tools = (await client.list_tools()).tools
    return {t.name: t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools}


async def with_an_agent_tool(client: Any) -> dict[str, dict[str, Any]]:
    await call_ok(client, "create_agent", {"backend": "local", "name": "Helper"})
    return await listed(client)


async def test_tools_name_their_view_for_a_client_with_apps(mode: str) -> None:
    """24.4: chat, get_run and every per-agent tool show the Run view; list_approvals,
    get_conversation and get_workflow theirs; no other tool names one."""
    async with connect(settings(), mode, extensions=WITH_APPS) as client:
        tools = await with_an_agent_tool(client)
    named = {name: t["_meta"]["ui"]["resourceUri"] for name, t in tools.items() if "_meta" in t}
    assert named == {
        "chat": "ui://agentdeck/run",
        "get_run": "ui://agentdeck/run",
        "local_helper": "ui://agentdeck/run",
        "list_approvals": "ui://agentdeck/approvals",
        "get_conversation": "ui://agentdeck/transcript",
        "get_workflow": "ui://agentdeck/workflow",
    }
    assert tools["local_helper"]["_meta"] == {"ui": {"resourceUri": "ui://agentdeck/run"}}


async def test_a_client_without_apps_sees_what_it_saw_before_views(mode: str) -> None:
    """24.4: tools/list, resources/list and results are those of a server without views
    (``apps = false``), byte for byte. (Only the 2026-07-28 server capabilities name the
    extension, as the extension's negotiation asks.)"""
    seen: dict[str, Any] = {}
    for name, server in [
        ("plain", {}),
        ("no views", {"apps": False}),
    ]:
        async with connect(settings(**server), mode) as client:
            tools = await with_an_agent_tool(client)
            resources = (await client.list_resources()).model_dump(by_alias=True, mode="json")
            answer = await call_ok(client, "list_backends", {})
        # the agent's id is new in each server
        seen[name] = (
            re.sub(r"local:[0-9a-f]{32}", "local:ID", json.dumps(tools)),
            resources,
            answer,
        )
    assert seen["plain"] == seen["no views"]
    assert not any(r["uri"].startswith("ui://") for r in seen["plain"][1]["resources"])


async def test_a_client_with_apps_lists_and_reads_the_views(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """24.2/24.4: four ui:// resources, each one self-contained HTML document served as
    text/html;profile=mcp-app with a CSP that allows no outside origin, under 60 KB."""
    sizes = {}
    async with connect(settings(), mode, extensions=WITH_APPS) as client:
        listed_uris = [r.uri for r in (await client.list_resources()).resources]
        for uri in (views.RUN, views.APPROVALS, views.TRANSCRIPT, views.WORKFLOW):
            assert uri in listed_uris
            (content,) = (await client.read_resource(uri)).contents
            wire = content.model_dump(by_alias=True, mode="json", exclude_none=True)
            assert wire["mimeType"] == "text/html;profile=mcp-app"
            assert wire["_meta"]["ui"]["csp"] == {
                "connectDomains": [],
                "resourceDomains": [],
                "frameDomains": [],
            }
            html = wire["text"]
            sizes[uri] = len(html.encode())
            assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
            assert "@include" not in html
            # nothing loaded from elsewhere: no src/href to a URL, no fetch, no import
            assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
            assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|importScripts)\s*\(", html)
        capabilities = client.server_capabilities
    with capsys.disabled():
        print("\nview sizes (bytes):", ", ".join(f"{u} {n}" for u, n in sizes.items()))
    assert all(size <= MAX_VIEW_BYTES for size in sizes.values()), sizes
    if mode == "auto":  # 2025-11-25 capabilities have no extensions member
        assert capabilities is not None and EXTENSION_ID in (capabilities.extensions or {})


async def test_apps_off_serves_no_views_even_to_a_client_with_apps(mode: str) -> None:
    """24.5: ``[server] apps = false``: no tool names a view and no view can be read."""
    async with connect(settings(apps=False), mode, extensions=WITH_APPS) as client:
        tools = await with_an_agent_tool(client)
        assert not any("_meta" in t for t in tools.values())
        with pytest.raises(MCPError):
            await client.read_resource(views.RUN)


async def test_one_server_keeps_the_list_of_each_kind_of_client_apart(mode: str) -> None:
    """24.4: the prepared tool lists (per era, and with or without Apps) of one server do
    not leak into each other, whichever kind of client asks first."""
    server = build_server(make_settings())
    answers = []
    for extensions in ([], WITH_APPS, [], WITH_APPS):
        async with Client(server, mode=mode, extensions=extensions) as client:  # type: ignore[arg-type]
            answers.append(await listed(client))
    plain, apps, plain_again, apps_again = answers
    assert plain == plain_again and apps == apps_again
    assert not any("_meta" in t for t in plain.values())
    assert apps["chat"]["_meta"] == {"ui": {"resourceUri": views.RUN}}
    assert {name: {**t, "_meta": None} for name, t in apps.items()} == {
        name: {**t, "_meta": None} for name, t in plain.items()
    }


def test_the_views_make_markup_only_from_escaped_markdown() -> None:
    """24.2: the one place a view turns a string into markup is the Markdown renderer,
    which escapes first; everything else an agent or platform wrote becomes text nodes."""
    for uri in (views.RUN, views.APPROVALS, views.TRANSCRIPT, views.WORKFLOW):
        html = views.document(uri)
        assert html.count(".innerHTML") == 1, uri
        assert "element.innerHTML = markdown(text)" in html
        assert not re.search(r"outerHTML|insertAdjacentHTML|document\.write|eval\(", html), uri
