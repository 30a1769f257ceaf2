"""The example client configs work as copied (issue 19 item 4): each starts `agentdeck`
from the Quick start's venv with arguments it takes, a `--config` they pass is a file of
the clone, and every variable that file refers to is given under `env`. The examples
assume the clone is at /home/me/agentdeck, as the README's snippets do."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentdeck.cli import parse_args
from agentdeck.config import load_settings

ROOT = Path(__file__).parent.parent
CLONE = "/home/me/agentdeck/"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def servers(example: Path) -> dict[str, dict[str, Any]]:
    """The MCP servers an example config declares (Claude Desktop, Cursor or VS Code shape)."""
    data = json.loads(example.read_text())
    found: dict[str, dict[str, Any]] = data.get("mcpServers") or data.get("servers") or {}
    assert found, f"{example.name} declares no MCP server"
    return found


def in_clone(path: str) -> Path:
    assert path.startswith(CLONE), f"{path} is not in the clone {CLONE}"
    return ROOT / path.removeprefix(CLONE)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_example_client_config_works_as_copied(example: Path) -> None:
    """19.4: the Claude Desktop example passed a --config file that does not exist and only
    some of the variables of the config it meant; each example now runs as copied."""
    for name, server in servers(example).items():
        if server.get("type") == "http":
            assert server["url"] == "http://127.0.0.1:8765/mcp"  # serve --transport http
            continue
        assert server["command"] == f"{CLONE}.venv/bin/agentdeck", name
        args = parse_args(server["args"])
        assert args.command == "serve"
        env = server.get("env", {})
        if args.config is None:
            assert not env, f"{example.name}: env without a config that refers to it"
            continue
        config = in_clone(args.config)
        assert config.is_file(), f"{example.name}: {args.config} is not in the clone"
        wanted = set(re.findall(r"^[^#\n]*\$\{(\w+)\}", config.read_text(), re.MULTILINE))
        assert wanted == set(env), f"{example.name}: env must give exactly {sorted(wanted)}"
        load_settings(config, environ=env)


def test_the_minimal_claude_desktop_config_is_the_one_the_readme_shows() -> None:
    """19.4: the README's Claude Desktop snippet and its example file agree, and the
    platforms one is separate."""
    minimal = servers(ROOT / "examples" / "claude_desktop_config.json")["agentdeck"]
    assert minimal == {"command": f"{CLONE}.venv/bin/agentdeck", "args": ["serve"]}
    assert "claude_desktop_config.platforms.json" in (ROOT / "README.md").read_text()


def test_the_readme_commands_are_the_ones_that_work() -> None:
    """19.4 and 19.9: exactly two Quick start commands (the second is what CI runs), no
    placeholder install line, and the Inspector given the absolute path a client needs
    (`-- agentdeck serve` failed with spawn ENOENT)."""
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith(".venv/bin/agentdeck serve")
    assert commands[1].endswith(".venv/bin/python -m pytest -q")
    assert ".venv/bin/python -m pytest -q\n" in (ROOT / ".ci" / "run").read_text()
    assert "<owner>" not in readme and "git+https://" not in readme
    inspector = next(line for line in readme.splitlines() if "inspector --cli" in line)
    assert '-- "$(pwd)/.venv/bin/agentdeck" serve' in inspector
