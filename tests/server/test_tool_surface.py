"""Rules every tool follows, checked so a new tool cannot break them unnoticed."""

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import anyio
import pytest
from mcp.server.mcpserver.resolve import Resolve

from agentdeck.backends.kinds import KINDS
from agentdeck.cli import main
from agentdeck.config import ALL_TOOLSETS
from agentdeck.server import all_tools, enabled_tools, tools
from agentdeck.server.client import Confirmation
from agentdeck.server.docs import BEGIN, END, every_platform_settings, tool_reference
from agentdeck.server.toolkit import ToolSpec
from tests.support import call_ok, connect, make_settings

pytestmark = pytest.mark.anyio
TOOL_DOCS = Path(__file__).parents[2] / "docs" / "tools.md"


def test_every_tool_has_a_unique_valid_name_a_title_and_a_known_toolset() -> None:
    specs = all_tools()
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", spec.name), spec.name
        assert spec.title and spec.toolset in ALL_TOOLSETS, spec.name
        assert not (spec.read_only and spec.destructive), spec.name


async def test_every_tool_describes_itself_and_each_parameter() -> None:
    async with connect(every_platform_settings()) as client:
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


def test_each_tools_module_declares_what_its_tools_need() -> None:
    """``tools.NEEDS`` decides which modules a configuration imports: it must list every
    module, and say exactly what its tools need (None when one is always served)."""
    listed = {m.name for m in pkgutil.iter_modules(tools.__path__)}
    assert set(tools.NEEDS) == listed
    for name, declared in tools.NEEDS.items():
        module = importlib.import_module(f"{tools.__name__}.{name}")
        needs = [spec.needs for spec in module.toolbox.tools]
        always = any(need is None for need in needs)
        assert declared == (None if always else tuple(dict.fromkeys(needs))), name


def test_read_only_mode_keeps_only_read_only_tools_and_chat() -> None:
    settings = every_platform_settings(read_only=True)
    served = enabled_tools(settings)
    assert served and all(spec.read_only or spec.conversational for spec in served)
    conversational = {s.name for s in all_tools() if s.conversational}
    assert conversational == {"chat", "cancel_run"}, "the documented exceptions, no others"
    writers = {s.name for s in all_tools() if not s.read_only and not s.conversational}
    assert writers and writers.isdisjoint(s.name for s in served)


def test_toolsets_switch_groups_of_tools_off() -> None:
    settings = every_platform_settings(toolsets=["agents"])
    assert {s.toolset for s in enabled_tools(settings)} == {"agents"}


async def test_the_tool_reference_in_docs_is_current() -> None:
    docs = TOOL_DOCS.read_text()
    current = docs[docs.index(BEGIN) : docs.index(END) + len(END)]
    assert current == await tool_reference(), (
        "docs/tools.md's tool reference is stale: run `agentdeck tools --markdown` and paste it in"
    )


def _wire(tools: list[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools]


def _size(entries: Any) -> int:
    """Bytes of a tools/list result as JSON on the wire (compact, UTF-8)."""
    return len(json.dumps({"tools": entries}, separators=(",", ":"), ensure_ascii=False).encode())


def _texts(tool: dict[str, Any]) -> str:
    params = tool["inputSchema"].get("properties", {}).values()
    return " ".join([tool.get("description", ""), *(p.get("description", "") for p in params)])


async def test_a_local_only_config_serves_only_what_local_agents_can_do() -> None:
    async with connect(make_settings()) as client:
        tools = _wire((await client.list_tools()).tools)
    assert {t["name"] for t in tools} == {
        "list_backends",
        "list_agents",
        "get_agent",
        "create_agent",
        "update_agent",
        "delete_agent",
        "chat",
        "get_run",
        "cancel_run",
        "list_conversations",
        "get_conversation",
    }
    others = [kind for kind in KINDS if kind not in ("local", "make")]
    for tool in tools:
        text = _texts(tool)
        assert not re.search(rf"\b({'|'.join(others)})\b", text, re.I), tool["name"]
        assert not re.search(r"\bMake\b", text), tool["name"]
        assert "Supported by" not in text, tool["name"]
    chat = next(t for t in tools if t["name"] == "chat")
    assert "No configured backend takes options" in _texts(chat)


async def test_descriptions_name_the_configured_platforms_and_their_declared_options() -> None:
    settings = make_settings(
        {"flow": {"kind": "agentflow", "base_url": "http://127.0.0.1:9", "token": "-"}}
    )
    async with connect(settings) as client:
        tools = {t["name"]: t for t in _wire((await client.list_tools()).tools)}
    assert "list_workflows" not in tools and "list_triggers" not in tools
    assert tools["cancel_approval"]["description"].endswith("Supported by: agentflow.")
    chat_options = tools["chat"]["inputSchema"]["properties"]["options"]["description"]
    assert "agentflow: stream (boolean)" in chat_options and "title (string)" in chat_options
    assert "roboflow" not in chat_options and "agenticflow" not in chat_options
    model = tools["create_agent"]["inputSchema"]["properties"]["model"]["description"]
    assert "local: 'echo'" in model
    for tool in tools.values():
        assert "\n    " not in tool["description"], f"{tool['name']}: indentation leaked"


async def test_the_tool_list_stays_within_its_token_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with connect(make_settings()) as client:
        local_only = _size(_wire((await client.list_tools()).tools))
    async with connect(every_platform_settings()) as client:
        everything = _size(_wire((await client.list_tools()).tools))
    async with connect(make_settings(local={"expose_agents": True})) as client:
        await call_ok(
            client,
            "create_agent",
            {
                "backend": "local",
                "name": "A support triage agent with a name as long as names get here",
                "description": "Sorts incoming tickets by urgency and team. " * 20,
                "instructions": "Be careful. " * 200,
            },
        )
        listed = _wire((await client.list_tools()).tools)
    [agent_tool] = [t for t in listed if t["name"].startswith("local_")]
    one_agent = _size([agent_tool]) - _size([])
    with capsys.disabled():
        print(
            f"\ntools/list bytes: local only {local_only}, every platform {everything}, "
            f"one per-agent tool {one_agent}"
        )
    assert local_only <= 20_000
    assert everything <= 47_000
    assert one_agent <= 1_000


def _asks_first(spec: ToolSpec) -> bool:
    """Whether the tool resolves a confirmation (asks the user under confirm_destructive)."""
    hints = get_type_hints(spec.fn, include_extras=True)
    for hint in hints.values():
        if get_origin(hint) is Annotated:
            base, *extras = get_args(hint)
            if any(isinstance(e, Resolve) for e in extras) and Confirmation in get_args(base):
                return True
    return False


def test_a_tool_asks_before_acting_exactly_when_it_is_annotated_destructive() -> None:
    asking = {spec.name for spec in all_tools() if _asks_first(spec)}
    destructive = {spec.name for spec in all_tools() if spec.destructive}
    assert {"publish_workflow", "update_workflow", "delete_agent"} <= asking
    assert asking == destructive


def test_tools_json_prints_the_entries_a_client_receives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text('[backends.local]\nkind = "local"\ndatabase = ":memory:"\n')
    with pytest.raises(SystemExit) as exited:
        main(["tools", "--json", "--config", str(config)])
    assert exited.value.code == 0
    printed = json.loads(capsys.readouterr().out)

    async def received() -> list[dict[str, Any]]:
        async with connect(make_settings()) as client:
            return _wire((await client.list_tools()).tools)

    assert printed == anyio.run(received)
    assert all("inputSchema" in t and "outputSchema" in t for t in printed)
    assert all(t["annotations"]["readOnlyHint"] in (True, False) for t in printed)
