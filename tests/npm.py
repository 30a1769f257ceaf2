"""The TypeScript MCP client's npm packages, for tests/test_js_client.py (a pytest plugin).

The README's test command runs every test from a clean clone: the first test that needs
the packages runs ``npm ci`` in ``tests/js`` when they are missing or older than its
``package-lock.json`` (as ``.ci/run`` does), under a file lock, so xdist workers install
once and the others wait for it. Without node or npm, or when the install fails (no
registry to reach), the tests that need them are skipped saying why — except under
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.pg import unavailable

JS = Path(__file__).parent / "js"
_INSTALL_TIMEOUT = 600


def is_current(folder: Path) -> bool:
    """Whether ``folder``'s node_modules holds what its package-lock.json asks for: npm
    writes ``node_modules/.package-lock.json`` at each install, so a lock file changed
    since (a pull) makes it stale."""
    installed = folder / "node_modules" / ".package-lock.json"
    wanted = folder / "package-lock.json"
    return installed.exists() and installed.stat().st_mtime >= wanted.stat().st_mtime


def install(folder: Path) -> str | None:
    """Run ``npm ci`` in ``folder`` unless its packages are current; why not, or None."""
    npm = shutil.which("npm")
    if npm is None:
        return f"npm is not installed, so `npm ci --prefix {_shown(folder)}` cannot run"
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"agentdeck-npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current(folder):  # another worker installed them while this one waited
            return None
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
        )
    if done.returncode != 0:
        failed = (done.stderr or done.stdout).strip()[-500:]
        return f"`npm ci --prefix {_shown(folder)}` failed: {failed}"
    return None


def _shown(folder: Path) -> str:
    """``folder`` as the README's commands name it (relative to the clone)."""
    return str(folder.resolve().relative_to(JS.parent.parent.resolve()))


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tests/js's npm packages installed and current."""
    found = shutil.which("node")
    if found is None:
        unavailable("the TypeScript client tests need node", "node is not installed")
    assert found is not None
    if not is_current(JS):
        failure = install(JS)
        if failure is not None:
            unavailable("the TypeScript client tests need their npm packages", failure)
    return found
