"""agentdeck driven by the official TypeScript MCP client (npm @modelcontextprotocol/sdk),
over stdio and Streamable HTTP: strict schema compilation, two chat turns, a transcript
subscription and a readable argument error (``tests/js/drive.mjs`` says what it checks).

The npm packages are installed by ``.ci/run`` (``npm ci`` in ``tests/js``); locally run
``npm ci --prefix tests/js`` once. Skipped, saying why, only when ``node`` or those
packages are missing.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_end_to_end import CONFIG, http_server

JS = Path(__file__).parent / "js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (JS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(),
        reason="the npm packages are not installed: run `npm ci --prefix tests/js`",
    ),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "agentdeck.toml"
    path.write_text(CONFIG.format(database=tmp_path / "local.db"))
    return path


def drive(*target: str) -> dict:
    """Run the JS client against ``target``; its findings, or the test fails with its reason."""
    done = subprocess.run(
        [str(NODE), "drive.mjs", *target],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(seen: dict) -> None:
    assert seen["tools"] > 0 and seen["schemas"] > seen["tools"]
    assert seen["turns"][1].endswith("(turn 2; earlier you said: first words)")
    assert seen["updated"].startswith("agentdeck://local/conversations/")
    assert seen["bad_arguments"] == 'chat: "message" is required'


def test_the_typescript_client_works_over_stdio(config: Path) -> None:
    _check(drive("stdio", sys.executable, "-m", "agentdeck", "serve", "--config", str(config)))


def test_the_typescript_client_works_over_streamable_http(config: Path) -> None:
    with http_server(config) as base:
        _check(drive("http", f"{base}/mcp"))
