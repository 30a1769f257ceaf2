"""agentdeck driven by the official TypeScript MCP client (npm @modelcontextprotocol/sdk),
over stdio and Streamable HTTP: strict schema compilation, two chat turns, a transcript
subscription and a readable argument error (``tests/js/drive.mjs`` says what it checks).

The test session installs the npm packages itself when they are missing or stale
(``tests/npm.py``), so the README's test command runs these too. Skipped, saying why,
only without node or npm (a failure under ``CI=true``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.npm import JS, is_current
from tests.test_end_to_end import CONFIG, http_server


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "agentdeck.toml"
    path.write_text(CONFIG.format(database=tmp_path / "local.db"))
    return path


def drive(node: str, *target: str) -> dict:
    """Run the JS client against ``target``; its findings, or the test fails with its reason."""
    done = subprocess.run(
        [node, "drive.mjs", *target],
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


def test_the_typescript_client_works_over_stdio(config: Path, node: str) -> None:
    _check(
        drive(node, "stdio", sys.executable, "-m", "agentdeck", "serve", "--config", str(config))
    )


def test_the_typescript_client_works_over_streamable_http(config: Path, node: str) -> None:
    with http_server(config) as base:
        _check(drive(node, "http", f"{base}/mcp"))


def test_the_test_session_installs_the_typescript_client_itself(node: str) -> None:
    """19.5: after the README's test command alone (no `npm ci` by hand) the packages are
    there and current, so the tests above ran instead of skipping."""
    assert (JS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir()
    assert is_current(JS)


def test_packages_are_stale_when_missing_or_older_than_the_lock_file(tmp_path: Path) -> None:
    """19.5: `npm ci` runs again only when node_modules is missing or older than the lock."""
    (tmp_path / "package-lock.json").write_text("{}")
    assert not is_current(tmp_path)
    (tmp_path / "node_modules").mkdir()
    marker = tmp_path / "node_modules" / ".package-lock.json"
    marker.write_text("{}")
    assert is_current(tmp_path)
    os.utime(marker, (1, 1))
    assert not is_current(tmp_path)
