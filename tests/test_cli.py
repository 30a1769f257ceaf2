"""The command line as a newcomer meets it (issue 19): option values checked in one line,
`serve --help` that says what each option does, and a taken port reported as such."""

from __future__ import annotations

import os
import socket

import pytest

from agentdeck.cli import parse_args
from tests.support import run_agentdeck


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line ``argv`` is refused with (exit 2), which points at the help."""
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("--help)")
    return line


@pytest.mark.parametrize("command", ["serve", "check", "tools"])
def test_a_wrong_log_level_is_one_line_listing_the_levels(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """19.2: `--log-level verbose` was a traceback; every command now refuses it in one line
    naming the levels, and takes a right one in any case."""
    line = refusal(capsys, command, "--log-level", "verbose")
    assert "--log-level" in line and "'VERBOSE'" in line
    assert all(level in line for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    assert parse_args([command, "--log-level", "debug"]).log_level == "DEBUG"


def test_every_option_value_of_serve_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """19.2: a transport or port that cannot be is refused before anything starts."""
    line = refusal(capsys, "serve", "--transport", "sse")
    assert "'stdio'" in line and "'http'" in line
    for port in ("http", "0", "70000"):
        line = refusal(capsys, "serve", "--transport", "http", "--port", port)
        assert "--port" in line and "1 to 65535" in line
    assert "not allowed with" in refusal(capsys, "tools", "--json", "--markdown")


def test_http_options_without_http_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """19.6: `serve --port 9000` silently served stdio; HTTP's options now need
    `--transport http` (refused rather than implied, so stdio configs stay as written)."""
    for option in (["--port", "9000"], ["--host", "0.0.0.0"], ["--token", "t"], ["--stateless"]):
        line = refusal(capsys, "serve", *option)
        assert option[0] in line and "add --transport http" in line
    args = parse_args(["serve", "--transport", "http"])
    assert (args.host, args.port, args.allowed_host, args.stateless) == (
        "127.0.0.1",
        8765,
        [],
        False,
    )
    assert parse_args(["serve"]).transport == "stdio"


def test_help_says_what_read_only_keeps_and_the_http_defaults() -> None:
    """19.6: `--read-only` says chat and cancel_run stay, `--host`/`--port` show their
    defaults, `--transport` and `tools --read-only` are described."""
    helps = {
        command: run_agentdeck(
            command, "--help", timeout=60, env={**os.environ, "COLUMNS": "200"}
        ).stdout
        for command in ("serve", "tools")
    }
    serve = {
        line.split()[0]: line
        for line in helps["serve"].splitlines()
        if line.strip().startswith("--")
    }
    assert "chat and cancel_run" in serve["--read-only"]
    assert "default 127.0.0.1" in serve["--host"] and "default 8765" in serve["--port"]
    assert "http (Streamable HTTP at /mcp" in " ".join(helps["serve"].split())
    tools = {
        line.split()[0]: line
        for line in helps["tools"].splitlines()
        if line.strip().startswith("--")
    }
    assert "chat and cancel_run" in tools["--read-only"]


def test_a_taken_port_says_nothing_is_serving_and_how_to_fix_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """19.7: with the port held, agentdeck printed that it was serving, then uvicorn's
    errno. It now says only that nothing is serving, on which port, and to pick another."""
    config = tmp_path / "agentdeck.toml"
    config.write_text('[backends.local]\nkind = "local"\ndatabase = ":memory:"\nmodel = "echo"\n')
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        http = ["--transport", "http", "--port", str(port)]
        served = run_agentdeck("serve", "--config", str(config), *http, timeout=60)
    assert served.returncode != 0
    assert served.stderr.strip().splitlines() == [
        f"agentdeck: nothing is serving: port {port} on 127.0.0.1 is already in use "
        "(another agentdeck, or another program). Pick another port with --port."
    ]
