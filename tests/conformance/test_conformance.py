"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in
``package.json``) against a real ``agentdeck serve --transport http`` (issue 19.15).

Every server scenario runs, the active suite and the pending one; the suite itself checks
the outcome against ``expected-failures.yml`` (the scenarios that need the suite's own
reference tools, resources and prompts) and fails on any other failure or warning, and on
an entry whose scenario now passes. No answer may carry JSON-RPC error code 0.

The suite needs Node >= 22, newer than many machines have: ``package.json`` installs one
into this folder from the npm registry (the ``node`` package), and the suite runs on it.
The test session installs the packages itself (``npm ci`` here, as for ``tests/js``).
Skipped, saying why, when they cannot be installed (under ``CI=true`` it fails instead).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.npm import install, is_current
from tests.pg import unavailable
from tests.test_end_to_end import CONFIG, http_server

HERE = Path(__file__).parent
NODE = HERE / "node_modules" / ".bin" / "node"
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
EXPECTED_FAILURES = HERE / "expected-failures.yml"


def test_the_official_conformance_suite_passes_every_applicable_server_scenario(
    tmp_path: Path,
) -> None:
    """19.15: every server scenario passes but those in expected-failures.yml."""
    if not is_current(HERE):
        failure = install(HERE)
        if failure is not None:
            unavailable("the conformance suite needs its npm packages", failure)
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG.format(database=tmp_path / "local.db"))
    results = tmp_path / "results"
    with http_server(config) as base:
        done = subprocess.run(
            [
                *(str(NODE), str(SUITE), "server", "--url", f"{base}/mcp", "--suite", "all"),
                *("--expected-failures", str(EXPECTED_FAILURES), "--output-dir", str(results)),
            ],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=180,
        )
    summary = done.stdout[done.stdout.find("=== SUMMARY ===") :]
    assert done.returncode == 0, summary + done.stderr[-2000:]

    code_0 = {
        scenario_of(check_file.parent.name): check["errorMessage"]
        for check_file in results.glob("*/checks.json")
        for check in json.loads(check_file.read_text())
        if re.search(r"\bMCP error 0\b", check.get("errorMessage") or "")
    }
    assert not code_0, code_0


def scenario_of(folder: str) -> str:
    """The scenario a results folder (``server-<scenario>-<timestamp>``) is of."""
    found = re.fullmatch(r"server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z", folder)
    assert found, folder
    return found.group(1)
