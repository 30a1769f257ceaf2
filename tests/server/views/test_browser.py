"""The MCP Apps views in a real browser (issue 24.4): headless Chromium loads each view in a
sandboxed iframe under a minimal host (tests/server/views/host/host.html) whose bridge forwards
the view's tools/call to a real agentdeck over HTTP, through an MCP client that declares
Apps. A person follows a run, approves with edited arguments, cancels, answers the
approval queue, reads a transcript safely and publishes a workflow draft.

Marked ``browser``: the README's test command leaves them out; CI runs them in a step of
their own (``pytest -m browser``). Without Chromium or Playwright they are skipped, and
fail under CI. With ``AGENTDECK_VIEW_SCREENSHOTS=docs/views`` the screenshots are written
there (the ones the README shows).
"""

import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import ElicitResult
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from agentdeck.server import views
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI
from tests.fakes.roboflow import FULL_KEY, WORKSPACE, FakeRoboflow
from tests.server.views.test_protocol import WITH_APPS
from tests.test_end_to_end import http_server

pytestmark = [pytest.mark.browser, pytest.mark.anyio]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOST_PAGE = Path(__file__).parent / "host" / "host.html"
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # Playwright's async API runs on asyncio; one loop for the module


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class Platforms:
    """The fakes agentdeck talks to, served for the whole module."""

    def __init__(self) -> None:
        self.openai = FakeOpenAI()
        self.flow = FakeAgentFlow()
        self.vision = FakeRoboflow()


@pytest.fixture(scope="module")
def platforms() -> Platforms:
    return Platforms()


@pytest.fixture(scope="module")
def agentdeck(platforms: Platforms, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real agentdeck over HTTP with a local backend (on the OpenAI fake), AgentFlow and
    Roboflow; its /mcp URL."""
    with (
        serve(platforms.openai.app) as openai,
        serve(platforms.flow.app) as flow,
        serve(platforms.vision.app) as vision,
    ):
        config = tmp_path_factory.mktemp("views") / "agentdeck.toml"
        config.write_text(
            f"""
[server]
database = ":memory:"

[backends.local]
kind = "local"
model = "openai"
openai_base_url = "{openai}/v1"
openai_model = "tiny-llama"

[backends.flow]
kind = "agentflow"
base_url = "{flow}"
token = "test-token"

[backends.vision]
kind = "roboflow"
base_url = "{vision}"
workspace = "{WORKSPACE}"
api_key = "{FULL_KEY}"
"""
        )
        with http_server(config) as base:
            yield f"{base}/mcp"


@pytest.fixture(scope="module")
def host_url() -> Iterator[str]:
    page = HOST_PAGE.read_text()

    async def host(_: Any) -> HTMLResponse:
        return HTMLResponse(page)

    async def no_icon(_: Any) -> Response:
        return Response(status_code=204)

    routes = [Route("/", host), Route("/favicon.ico", no_icon)]
    with serve(Starlette(routes=routes)) as url:
        yield f"{url}/"


class Host:
    """One page of the test host, bridged to agentdeck by an MCP client with Apps."""

    def __init__(self, page: Any, client: Client, url: str) -> None:
        self.page = page
        self.client = client
        self.url = url
        self.confirmations: list[str] = []
        self.errors: list[str] = []
        self.frame = page.frame_locator("#view")

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """tools/call as the model (or the host's bridge for a view) makes it: the wire form."""
        result = await self.client.call_tool(name, arguments)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def open(self, uri: str, tool: str, arguments: dict[str, Any], **context: Any) -> None:
        """Call ``tool`` as the model would, and show its result in the view at ``uri``."""
        (content,) = (await self.client.read_resource(uri)).contents
        wire = content.model_dump(by_alias=True, mode="json", exclude_none=True)
        host_context = {"theme": "light", "displayMode": "inline", **context}
        await self.page.goto(self.url)
        await self.page.evaluate(
            "([html, csp, input, context]) => window.openView(html, csp, input, context)",
            [wire["text"], wire["_meta"]["ui"].get("csp", {}), arguments, host_context],
        )
        result = await self.call(tool, arguments)
        await self.page.evaluate("result => window.toolResult(result)", result)

    async def view_eval(self, script: str) -> Any:
        (view,) = [f for f in self.page.frames if f.parent_frame is not None]
        return await view.evaluate(script)

    def calls(self, name: str) -> Any:
        return self.page.evaluate(f"window.calls.filter(c => c.name === {json.dumps(name)})")

    async def screenshot(self, name: str, folder: Path) -> None:
        """A picture of the view, checked to be one, kept in ``folder``."""
        await anyio.sleep(0.3)  # the iframe takes the size the view reported
        picture = await self.page.locator("#view").screenshot(path=str(folder / f"{name}.png"))
        assert len(picture) > 5_000


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: the folder AGENTDECK_VIEW_SCREENSHOTS names (docs/views for
    the README's), else the test's own."""
    folder = Path(os.environ.get("AGENTDECK_VIEW_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def host(browser: Any, agentdeck: str, host_url: str) -> AsyncIterator[Host]:
    context = await browser.new_context(viewport={"width": 760, "height": 900})
    page = await context.new_page()
    holder: list[Host] = []

    async def confirm_in_the_page(_: Any, params: Any) -> ElicitResult:
        """The host asks its user: a confirmation becomes the page's confirm() dialog; an
        approval question is left to the view (declined here, so it stays pending)."""
        if "Go ahead?" not in params.message:
            return ElicitResult(action="decline")
        confirmed = await page.evaluate("message => window.confirm(message)", params.message)
        return ElicitResult(action="accept", content={"confirm": bool(confirmed)})

    async def on_dialog(dialog: Any) -> None:
        holder[0].confirmations.append(dialog.message)
        await dialog.accept()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: holder[0].errors.append(str(error)))
    page.on(
        "console",
        lambda message: holder[0].errors.append(message.text) if message.type == "error" else None,
    )
    async with Client(
        agentdeck, extensions=WITH_APPS, elicitation_callback=confirm_in_the_page
    ) as client:
        holder.append(Host(page, client, host_url))
        await page.expose_function("agentdeckCall", holder[0].call)
        yield holder[0]
    await context.close()
    # no CSP violation, no script error in the host or a view
    assert holder[0].errors == []


async def local_agent(host: Host, name: str) -> str:
    created = await host.call("create_agent", {"backend": "local", "name": name})
    return str(created["structuredContent"]["ref"])


async def test_the_run_view_streams_the_answer_and_cancel_stops_a_run(
    host: Host, platforms: Platforms
) -> None:
    """24.4: the Run view follows a local agent's answer as it streams (Markdown rendered),
    and its Cancel button stops a run."""
    from playwright.async_api import expect

    agent = await local_agent(host, "Writer")
    platforms.openai.chunk_delay = 0.25
    arguments = {"agent": agent, "message": "Tell me **everything**", "wait_seconds": 0}
    await host.open(views.RUN, "chat", arguments)
    badge, text = host.frame.locator("#badge"), host.frame.locator("#answer .text")
    await expect(text).to_contain_text("[tiny-llama]", timeout=WAIT_MS)
    assert await badge.inner_text() == "running"  # part of the answer, while it streams
    await expect(badge).to_have_text("completed", timeout=WAIT_MS)
    await expect(text).to_contain_text("after 0 earlier messages")
    await expect(text.locator("strong")).to_have_text("everything")
    await expect(host.frame.get_by_role("button", name="Cancel")).to_have_count(0)

    platforms.openai.chunk_delay = 1.0
    await host.open(views.RUN, "chat", {**arguments, "message": "a long one"})
    cancel = host.frame.get_by_role("button", name="Cancel")
    await expect(cancel).to_be_visible(timeout=WAIT_MS)
    await cancel.focus()
    await cancel.press("Enter")  # by keyboard
    await expect(badge).to_have_text("cancelled", timeout=WAIT_MS)
    assert len(await host.calls("cancel_run")) == 1
    platforms.openai.chunk_delay = 0.0


async def test_approving_with_edited_arguments_in_the_run_view_completes_the_run(
    host: Host, platforms: Platforms, shots: Path
) -> None:
    """24.4: an AgentFlow approval shows as a card; arguments that are not a JSON object
    are refused in the view; Approve sends the edited ones and the run completes."""
    from playwright.async_api import expect

    platforms.flow.next_stream = "approval"
    arguments = {"agent": "flow:agent_research", "message": "mail the team", "wait_seconds": 2}
    await host.open(views.RUN, "chat", arguments)
    card = host.frame.locator("[data-approval]")
    await expect(card).to_contain_text("send_email", timeout=WAIT_MS)
    approval_id = (await card.get_attribute("data-approval") or "").removeprefix("flow:")
    await host.screenshot("run", shots)
    editor = card.locator("textarea")
    await editor.fill('{"to": "boss@example.com",')
    await card.get_by_role("button", name="Approve").click()
    await expect(card.get_by_role("alert")).to_contain_text("must be a JSON object")
    assert await host.calls("respond_to_approval") == []
    edited = {"to": "boss@example.com", "subject": "Edited", "body": "ship it"}
    await editor.fill(json.dumps(edited))
    await card.get_by_role("textbox", name="Reason").fill("checked")
    await card.get_by_role("button", name="Approve").click()
    await expect(host.frame.locator("#badge")).to_have_text("completed", timeout=WAIT_MS)
    await expect(host.frame.locator("#answer")).to_contain_text("boss@example.com")
    approval = platforms.flow.approvals[approval_id]
    assert approval["status"] == "approved" and approval["modified_arguments"] == edited


async def test_a_question_is_answered_in_the_run_view_by_keyboard(
    host: Host, platforms: Platforms
) -> None:
    """24.1/24.4: an agent's question shows an answer box; Ctrl+Enter sends the answer
    (answer_question) and the run goes on to complete."""
    from playwright.async_api import expect

    platforms.flow.next_stream = "question"
    arguments = {"agent": "flow:agent_research", "message": "summarize", "wait_seconds": 2}
    await host.open(views.RUN, "chat", arguments)
    card = host.frame.locator("[data-question]")
    await expect(card).to_contain_text("Which format do you want?", timeout=WAIT_MS)
    box = card.get_by_role("textbox")
    await box.fill("short")
    await box.press("Control+Enter")
    await expect(host.frame.locator("#badge")).to_have_text("completed", timeout=WAIT_MS)
    await expect(host.frame.locator("#answer")).to_contain_text("You answered: short.")
    (respond,) = platforms.flow.requests_to("/questions/")
    assert respond.body == {"answer": "short"}


async def test_the_approvals_view_answers_one_and_several(
    host: Host, platforms: Platforms, shots: Path
) -> None:
    """24.4: the Approvals view lists the queue; two are approved together
    (respond_to_approvals) and one denied on its own."""
    from playwright.async_api import expect

    added = [
        platforms.flow.add_approval("send_email", {"to": "ops@example.com", "subject": "Deploy"}),
        platforms.flow.add_approval("lookup_order", {"order_id": "7"}, agent_id="agent_support"),
        platforms.flow.add_approval("send_email", {"to": "all@example.com"}),
    ]
    await host.open(views.APPROVALS, "list_approvals", {"backend": "flow"})
    rows = host.frame.locator("tr[data-approval]")
    await expect(rows).to_have_count(3, timeout=WAIT_MS)
    await host.screenshot("approvals", shots)
    for approval in added[:2]:
        await host.frame.locator(f'tr[data-approval="flow:{approval["id"]}"] input').check()
    await host.frame.get_by_role("button", name="Approve 2 selected").click()
    await expect(rows).to_have_count(1, timeout=WAIT_MS)
    await rows.get_by_role("button", name="Deny").click()
    await expect(host.frame.locator("#list")).to_have_text("Nothing waits on you.", timeout=WAIT_MS)
    statuses = [platforms.flow.approvals[a["id"]]["status"] for a in added]
    assert statuses == ["approved", "approved", "denied"]
    assert len(await host.calls("respond_to_approvals")) == 1


async def test_the_transcript_view_shows_markup_as_text_and_sends_the_next_message(
    host: Host, shots: Path
) -> None:
    """24.4: what the agent and the user wrote renders as text (a <script> stays words);
    the view's box continues the conversation through chat."""
    from playwright.async_api import expect

    agent = await local_agent(host, "Echo")
    injected = (
        "Hi <script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'> **there** "
        "[docs](javascript:window.pwned=3)"
    )
    chat = await host.call("chat", {"agent": agent, "message": injected, "wait_seconds": 20})
    conversation = chat["structuredContent"]["conversation"]
    await host.open(views.TRANSCRIPT, "get_conversation", {"conversation": conversation})
    messages = host.frame.locator("#messages article")
    await expect(messages).to_have_count(2, timeout=WAIT_MS)
    await expect(messages.first).to_contain_text("<script>window.pwned = 1</script>")
    assert await host.view_eval("() => window.pwned") is None
    assert (
        await host.view_eval(
            "() => document.querySelectorAll('#messages script, #messages img, #messages a').length"
        )
        == 0
    )
    await expect(messages.first.locator("strong")).to_have_text("there")
    box = host.frame.get_by_role("textbox", name="Next message")
    await box.fill("And *then*?")
    await box.press("Control+Enter")
    await expect(messages).to_have_count(4, timeout=WAIT_MS)
    await expect(messages.nth(3)).to_contain_text("after 2 earlier messages")
    await host.screenshot("transcript", shots)


async def test_the_workflow_view_diffs_the_draft_and_publish_asks_first(
    host: Host, platforms: Platforms, shots: Path
) -> None:
    """24.4: the Workflow view, in the host's dark theme, shows the draft against what
    runs; Publish goes through publish_workflow, whose confirmation the host asks."""
    from playwright.async_api import expect

    workflow = platforms.vision.workflow("slow-webhooks")
    published = workflow.specification or {}
    steps = [
        *published.get("steps", []),
        {"type": "Webhook", "name": "notify", "url": "$inputs.hook"},
    ]
    workflow.draft = {**published, "steps": steps}
    await host.open(
        views.WORKFLOW, "get_workflow", {"workflow": "vision:slow-webhooks"}, theme="dark"
    )
    diff = host.frame.locator(".diff")
    await expect(diff.locator(".add").first).to_be_visible(timeout=WAIT_MS)
    assert await host.view_eval("() => document.documentElement.dataset.theme") == "dark"
    background = await host.view_eval("() => getComputedStyle(document.body).backgroundColor")
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 150, background
    await host.screenshot("workflow", shots)
    await host.frame.get_by_role("button", name="Publish").click()
    await expect(host.frame.locator("#status")).to_contain_text(
        "Published vision:slow-webhooks", timeout=WAIT_MS
    )
    assert len(host.confirmations) == 1 and "publishes the draft" in host.confirmations[0]
    assert workflow.draft is None
    await expect(host.frame.locator(".badge")).to_have_text("published")


async def test_a_chat_that_drafted_a_workflow_reviews_and_publishes_it_in_the_run_view(
    host: Host, platforms: Platforms
) -> None:
    """24.1/24.4: the Run view of a Roboflow chat lists the workflow it drafted; Review
    shows the draft against what runs, and Publish goes through its confirmation."""
    from playwright.async_api import expect

    arguments = {"agent": "vision", "message": "Add a webhook to slow-webhooks", "wait_seconds": 20}
    await host.open(views.RUN, "chat", arguments)
    drafted = host.frame.locator("#workflows")
    await drafted.get_by_role("button", name="Review the draft").click(timeout=WAIT_MS)
    await expect(drafted.locator(".diff .add").first).to_be_visible(timeout=WAIT_MS)
    await drafted.get_by_role("button", name="Publish").click()
    await expect(host.frame.locator("#status")).to_contain_text(
        "Published vision:slow-webhooks", timeout=WAIT_MS
    )
    assert [c for c in host.confirmations if "publishes the draft" in c]
    assert platforms.vision.workflow("slow-webhooks").draft is None
