"""A throwaway PostgreSQL server for the test session (a pytest plugin).

One cluster serves the whole run, all xdist workers included: the controlling
process picks a directory (``pytest_configure``) and removes it at the end; the
first worker that needs PostgreSQL runs ``initdb`` and ``pg_ctl start`` there under
a file lock, the others find its URL. Each test gets an empty schema of its own
(``postgres_url``), which is much cheaper than a database per test.

The server comes from the Debian ``postgresql`` package (``.ci/run`` installs it).
As root, the binaries run as the ``postgres`` user, since PostgreSQL refuses root.
Without the binaries, or when the server does not start, the tests that need it
are skipped saying why — except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

_DIR_VARIABLE = "AGENTDECK_TEST_POSTGRES_DIR"
_START_TIMEOUT = 60


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller chose the directory
    os.environ[_DIR_VARIABLE] = tempfile.mkdtemp(prefix="agentdeck-pg-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    directory = Path(os.environ.pop(_DIR_VARIABLE, ""))
    if not directory.name:
        return
    bindir = server_binaries()
    if bindir and (directory / "data" / "postmaster.pid").exists():
        run_as_owner(
            [f"{bindir}/pg_ctl", "stop", "-D", str(directory / "data"), "-m", "immediate"],
            check=False,
        )
    shutil.rmtree(directory, ignore_errors=True)


def server_binaries() -> str | None:
    """The folder of PostgreSQL's server binaries (Debian's newest first), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return str(Path(found[-1]).parent)
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb else None


def run_as_owner(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary; as root, as the ``postgres`` user (it refuses root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=_START_TIMEOUT, check=check
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster(directory: Path, bindir: str) -> str:
    """initdb and start a cluster in ``directory``; return its URL."""
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    data = directory / "data"
    run_as_owner(
        [
            f"{bindir}/initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
    )
    port = free_port()
    options = (
        f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    run_as_owner(
        [
            f"{bindir}/pg_ctl",
            "start",
            "-D",
            str(data),
            "-w",
            "-t",
            str(_START_TIMEOUT),
            "-l",
            str(directory / "server.log"),
            "-o",
            options,
        ]
    )
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def unavailable(what: str, reason: str) -> None:
    """Skip a test that lacks ``what`` it needs, saying why; under ``CI=true``, fail it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (required in CI): {reason}")
    pytest.skip(f"{what}: {reason}")


def _unavailable(reason: str) -> None:
    unavailable("PostgreSQL is not available", reason)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the session's PostgreSQL server (its ``postgres`` database)."""
    directory = Path(os.environ.get(_DIR_VARIABLE) or tempfile.mkdtemp(prefix="agentdeck-pg-"))
    bindir = server_binaries()
    if bindir is None:
        _unavailable("no initdb found (install the Debian package 'postgresql').")
    assert bindir is not None
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url_file = directory / "url"
        if url_file.exists():
            return url_file.read_text()
        failure = directory / "failure"
        if failure.exists():
            _unavailable(failure.read_text())
        try:
            url = start_cluster(directory, bindir)
        except (subprocess.SubprocessError, OSError, KeyError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc)
            failure.write_text(f"the test server did not start: {detail.strip()[-500:]}")
            _unavailable(failure.read_text())
        url_file.write_text(url)
        return url


def schema_url(server: str, schema: str) -> str:
    """``server`` with ``schema`` first on the search path: a database of its own, in effect."""
    return f"{server}?options={quote(f'-c search_path={schema}')}"


def fresh_schema_url(server: str) -> str:
    """A URL of ``server`` whose tables live in a fresh, empty schema of their own."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    return schema_url(server, schema)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL whose tables live in a fresh, empty schema of their own."""
    return fresh_schema_url(postgres_server)
