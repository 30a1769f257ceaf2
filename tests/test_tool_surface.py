"""Rules every tool follows, checked so a new tool cannot break them unnoticed."""

import re
from pathlib import Path

import pytest

from agentdeck.config import ALL_TOOLSETS
from agentdeck.server.app import all_tools, enabled_tools
from agentdeck.server.docs import BEGIN, END, tool_reference
from tests.support import connect, make_settings

pytestmark = pytest.mark.anyio
README = Path(__file__).parent.parent / "README.md"


def test_every_tool_has_a_unique_valid_name_a_title_and_a_known_toolset() -> None:
    specs = all_tools()
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", spec.name), spec.name
        assert spec.title and spec.toolset in ALL_TOOLSETS, spec.name
        assert not (spec.read_only and spec.destructive), spec.name


async def test_every_tool_describes_itself_and_each_parameter() -> None:
    async with connect(make_settings()) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == {s.name for s in all_tools()}
    for tool in tools:
        assert tool.description and len(tool.description) > 40, tool.name
        hints = tool.annotations
        assert hints is not None, tool.name
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(hints, hint) is not None, (tool.name, hint)
        for name, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
        assert tool.output_schema is not None, f"{tool.name} has no structured result"


def test_read_only_mode_keeps_only_read_only_tools_and_chat() -> None:
    settings = make_settings(server={"read_only": True})
    served = enabled_tools(settings)
    assert served and all(spec.read_only or spec.conversational for spec in served)
    conversational = {s.name for s in all_tools() if s.conversational}
    assert conversational == {"chat", "cancel_run"}, "the documented exceptions, no others"
    writers = {s.name for s in all_tools() if not s.read_only and not s.conversational}
    assert writers and writers.isdisjoint(s.name for s in served)


def test_toolsets_switch_groups_of_tools_off() -> None:
    settings = make_settings(server={"toolsets": ["agents"]})
    assert {s.toolset for s in enabled_tools(settings)} == {"agents"}


async def test_the_readme_tool_reference_is_current() -> None:
    readme = README.read_text()
    current = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert current == await tool_reference(), (
        "README tool reference is stale: run `agentdeck tools --markdown` and paste it in"
    )
