"""Every tool, fed wrong types, missing and extra keys, huge and unicode strings, bad refs
and bad cursors, answers with a result or a readable tool error, and the server keeps
working after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from agentdeck.server import enabled_tools
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.platforms import agentflow_settings
from tests.support import connect_confirming, make_settings

EXAMPLES_PER_TOOL = 20
HUGE = "x" * 200_000
ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "é" * 5000,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ \u202e\ufeff",
    HUGE,
    "local:",
    ":",
    "local:nope",
    "nosuch:abc",
    "local:../../etc/passwd",
    "flow:" + "é" * 1000,
    "local:" + HUGE,
    "o:99999999999999999999",
    "o:²",
    "o:-1",
    "local|o:²",
    "agentdeck://local/conversations/x",
    "local:a:b:c",
]
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=40),
    st.lists(st.sampled_from(["a", 1, None]), max_size=3),
    st.dictionaries(st.text(max_size=8), st.sampled_from(["a", 1, None, {}]), max_size=3),
)


BAD_CURSORS = ["o:99999999999999999999", "o:²", "o:-1", "garbage", "local|o:²", "nosuch|o:1"]


def _plausible(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values near what a property takes (its enum members, odd strings), or junk."""
    options: list[st.SearchStrategy[Any]] = [JUNK]
    if name == "cursor":
        options += [st.sampled_from(BAD_CURSORS)] * 3
    if name == "backend":  # a real backend, so the other arguments get looked at
        options += [st.sampled_from(["local", "flow"])] * 3
    for branch in [schema, *schema.get("anyOf", [])]:
        if "enum" in branch:
            options.append(st.sampled_from(branch["enum"]))
        if branch.get("type") == "string":
            options.append(st.sampled_from(ODD_STRINGS))
        if branch.get("type") in ("integer", "number"):
            options.append(st.sampled_from([0, -1, 1, 10**9, 2**63, 1e308, 0.5]))
    return st.one_of(*options)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Argument objects for a tool: any subset of its keys with odd values, plus extra keys;
    now and then not an object at all."""
    properties: dict[str, Any] = schema.get("properties", {})
    known = st.fixed_dictionaries(
        {}, optional={name: _plausible(name, prop) for name, prop in properties.items()}
    )
    extra = st.dictionaries(st.text(min_size=1, max_size=12), JUNK, max_size=2)
    return st.builds(lambda ours, theirs: {**theirs, **ours}, known, extra)


def readable(tool: str, text: str) -> bool:
    """A tool error a model can act on: more than the SDK's bare crash line, no traceback,
    no pydantic wording."""
    said = text.strip()
    return (
        said not in ("", f"Error executing tool {tool}", f"Error executing tool {tool}:")
        and "Traceback" not in said
        and "errors.pydantic.dev" not in said
    )


class Deck:
    """An agentdeck server and MCP client living in a portal's event loop for a whole module,
    so that hypothesis can call tools from its synchronous examples."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self.portal = portal
        self.client = client
        tools = portal.call(client.list_tools).tools
        self.schemas = {tool.name: tool.input_schema for tool in tools}

    def call(self, tool: str, arguments: Any) -> Any:
        async def call() -> Any:
            with anyio.fail_after(30):
                return await self.client.call_tool(tool, arguments)

        return self.portal.call(call)


@pytest.fixture(scope="module")
def flow_url() -> Iterator[str]:
    with serve(FakeAgentFlow().app) as url:
        yield url


@pytest.fixture(scope="module", params=["local", "agentflow"])
def deck(request: pytest.FixtureRequest) -> Iterator[Deck]:
    if request.param == "local":
        config = make_settings()
    else:
        config = agentflow_settings(request.getfixturevalue("flow_url"))
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(connect_confirming(config, "legacy")) as client,
    ):
        yield Deck(portal, client)


TOOLS = [spec.name for spec in enabled_tools(make_settings())]


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_answers_bad_input_with_a_result_or_a_readable_error(
    deck: Deck, tool: str
) -> None:
    schema = deck.schemas[tool]

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    )
    @given(arguments=arguments_for(schema))
    def check(arguments: dict[str, Any]) -> None:
        result = deck.call(tool, arguments)
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            assert readable(tool, text), (tool, arguments, text)
        assert not deck.call("list_backends", {}).is_error

    check()
