"""Start-up loads only what a command needs: which modules a fresh interpreter imported.

Each case runs in its own interpreter, since this test process has imported everything.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.backends.kinds import KINDS

#: the backend module of every platform (local is always configured)
PLATFORM_MODULES = {
    kind: f"{entry.package}.backend" for kind, entry in KINDS.items() if kind != "local"
}


def imported_after(code: str) -> set[str]:
    """The modules loaded once ``code`` ran; ``code`` may end the interpreter with SystemExit."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('MODULES' + json.dumps(sorted(sys.modules))))\n"
        f"{code}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    marker = done.stderr.rindex("MODULES")
    return set(json.loads(done.stderr[marker + len("MODULES") :]))


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_nothing_of_the_mcp_stack(flag: str) -> None:
    modules = imported_after(f"from agentdeck.cli import main\nmain([{flag!r}])")
    assert "agentdeck.cli" in modules
    heavy = {"mcp", "pydantic", "httpx2", "anyio", "starlette", "agentdeck.config"}
    assert heavy & modules == set()


def test_serve_imports_only_the_configured_platform_modules(tmp_path: Path) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text(
        f'[backends.local]\nkind = "local"\ndatabase = "{tmp_path / "local.db"}"\n'
        '[backends.factory]\nkind = "make"\nbase_url = "http://127.0.0.1:9/api/v2"\n'
        'token = "secret-token"\nteam_id = 1\n'
    )
    code = (
        "import anyio\n"
        "from agentdeck.config import load_settings\n"
        "from agentdeck.registry import Registry\n"
        "async def opened():\n"
        f"    async with Registry.open(load_settings({str(config)!r})) as registry:\n"
        "        assert sorted(registry.backends) == ['factory', 'local']\n"
        "anyio.run(opened)\n"
        "import agentdeck.server\n"
    )
    modules = imported_after(code)
    assert {m for m in PLATFORM_MODULES.values() if m in modules} == {
        "agentdeck.backends.make.backend"
    }
    assert {m for m in modules if m.partition(".")[0] == "a2a"} == set()  # the A2A SDK


def test_serve_imports_only_the_tool_modules_the_configured_backends_can_use(
    tmp_path: Path,
) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text(f'[backends.local]\nkind = "local"\ndatabase = "{tmp_path / "l.db"}"\n')
    code = (
        "from agentdeck.config import load_settings\n"
        "from agentdeck.server import build_server\n"
        f"build_server(load_settings({str(config)!r}))\n"
    )
    modules = imported_after(code)
    tool_modules = {m for m in modules if m.startswith("agentdeck.server.tools.")}
    assert tool_modules == {
        f"agentdeck.server.tools.{name}" for name in ("agents", "chat", "conversations")
    }


def test_23_1_the_jwt_library_loads_only_with_server_auth() -> None:
    code = (
        "from agentdeck.config import Settings\n"
        "from agentdeck.server import build_server\n"
        "from agentdeck.server.transport import build_http_app\n"
        "settings = Settings.model_validate(SERVER)\n"
        "build_http_app(build_server(settings), host='127.0.0.1', token=None, "
        "limits=settings.server)\n"
    )
    loaded = {"jwt", "agentdeck.server.oauth._tokens"}
    assert loaded & imported_after(code.replace("SERVER", "{}")) == set()
    auth = {"issuer": "https://id.example.com", "audience": "https://deck.example.com/mcp"}
    assert loaded <= imported_after(code.replace("SERVER", repr({"server": {"auth": auth}})))
