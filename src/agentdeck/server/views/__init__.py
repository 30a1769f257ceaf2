"""MCP Apps views: HTML documents a host renders for a tool's result (``io.modelcontextprotocol/ui``).

Four views, each a ``ui://agentdeck/<name>`` resource served as ``text/html;profile=mcp-app``:
``run`` (``chat``, ``get_run`` and every per-agent tool), ``approvals`` (``list_approvals``),
``transcript`` (``get_conversation``) and ``workflow`` (``get_workflow``). A tool names its
view in ``_meta.ui.resourceUri`` of ``tools/list``, but only for a client that negotiated
Apps: any other client gets the tool list, resource list and results it got before views
existed (``DeckServer`` keeps one prepared list of each kind). Every action a view offers
is a ``tools/call`` the host forwards to agentdeck's own tools, so confirmation, read-only
mode and the rest hold for a person clicking as for a model calling.

The documents are this package's ``*.html`` files named after their view, each one
self-contained: a line ``/* @include NAME */`` takes in the shared script or styles
``NAME`` (the bridge, styles, the safe Markdown renderer), and a line ``<!-- @include
NAME.html -->`` the part of a page the views share (their opening, the status line with
the bridge, the diff script), when the document is read, so there is no build step and
nothing is fetched.
``[server] apps = false`` serves none of this.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

__all__ = [
    "AGENT_TOOL_VIEW",
    "APPROVALS",
    "RUN",
    "TOOL_VIEWS",
    "TRANSCRIPT",
    "WORKFLOW",
    "document",
    "extension",
    "plain_resource_list",
]

RUN = "ui://agentdeck/run"
APPROVALS = "ui://agentdeck/approvals"
TRANSCRIPT = "ui://agentdeck/transcript"
WORKFLOW = "ui://agentdeck/workflow"

#: The generic tools that have a view (the per-agent tools all use :data:`RUN`).
TOOL_VIEWS = {
    "chat": RUN,
    "get_run": RUN,
    "list_approvals": APPROVALS,
    "get_conversation": TRANSCRIPT,
    "get_workflow": WORKFLOW,
}
AGENT_TOOL_VIEW = RUN

_TITLES = {
    RUN: ("Run", "A chat run as it streams, with its approvals, questions and Cancel."),
    APPROVALS: ("Approvals", "The tool calls agents wait on, to approve or deny."),
    TRANSCRIPT: ("Transcript", "A conversation, with a box to send the next message."),
    WORKFLOW: ("Workflow", "A workflow's draft beside what it runs, and Publish."),
}
#: No network, no outside resources, no frames: everything a view needs is in it, and it
#: reaches agentdeck only through the host.
_CSP = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[])
_INCLUDE = re.compile(r"/\* @include ([a-z]+\.(?:js|css)) \*/|<!-- @include ([a-z]+\.html) -->\n")


def _source(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@cache
def document(uri: str) -> str:
    """The HTML of the view at ``uri``, with its includes taken in."""
    name = uri.removeprefix("ui://agentdeck/")
    return _included(_source(f"{name}.html"))


def _included(text: str) -> str:
    """``text`` with what it includes taken in, and what that includes in turn."""
    return _INCLUDE.sub(lambda m: _included(_source(m.group(1) or m.group(2))), text)


def extension() -> Apps:
    """The Apps extension serving the four documents (it advertises the capability)."""
    apps = Apps()
    for uri, (title, description) in _TITLES.items():
        apps.add_html_resource(
            uri,
            document(uri),
            name=uri.removeprefix("ui://agentdeck/"),
            title=title,
            description=description,
            csp=_CSP,
            prefers_border=True,
        )
    return apps


async def plain_resource_list(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: ``resources/list`` without the views for a client without Apps,
    which could do nothing with them (the spec lets a server leave them out). Middleware
    sees the result in its wire form, a dict (``tests/server/views/test_protocol.py`` holds it to that)."""
    answer = await call_next(ctx)
    if ctx.method != "resources/list" or client_supports_apps(ctx) or not isinstance(answer, dict):
        return answer
    listed = answer.get("resources", [])
    return {**answer, "resources": [r for r in listed if not r["uri"].startswith("ui://")]}
