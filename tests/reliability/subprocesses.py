"""`agentdeck serve` as a subprocess, driven over stdio JSON-RPC lines or over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx2

SERVE = [sys.executable, "-m", "agentdeck", "serve"]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (state owned by another thread or process) until true, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def exit_code_within(process: subprocess.Popen[bytes], seconds: float) -> int:
    """The process's exit code; kills it and fails if it is still running after ``seconds``."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"agentdeck serve still running {seconds} s after the signal"
        ) from None


#: Every server process a test started, for :func:`release_processes` after the test.
STARTED: list[subprocess.Popen[bytes]] = []


def release_processes() -> None:
    """Kill what a test left running, reap it and close its pipes (an open pipe is a
    ResourceWarning, and warnings are errors)."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StdioServer:
    """``agentdeck serve`` on stdio, spoken to in JSON-RPC lines (2025-11-25)."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [*SERVE, "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "AGENTDECK_CONFIG": ""},
        )
        STARTED.append(self.process)
        self._next_id = 0

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Send a request; returns its id (answers are read with :meth:`answer`)."""
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}}
        self.stdin.write((json.dumps(message) + "\n").encode())
        self.stdin.flush()
        return self._next_id

    def next_answer(self) -> dict[str, Any] | None:
        """The next answer to any request (notifications skipped); None once stdout closes."""
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            message = json.loads(line)
            if "id" in message:
                return message
        return None

    def answer(self, request_id: int) -> dict[str, Any]:
        """The answer to ``request_id``, skipping notifications and other answers."""
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the server closed stdout: {self.stderr()}")
            message = json.loads(line)
            if message.get("id") == request_id:
                return message

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.answer(self.send(method, params))

    def initialize(self) -> None:
        self.call(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "reliability", "version": "1"},
            },
        )
        self.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        self.stdin.flush()

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool's structured result; fails on an error result."""
        result = self.call("tools/call", {"name": name, "arguments": arguments})["result"]
        assert not result.get("isError"), result
        return result["structuredContent"]

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")


class HttpServer:
    """``agentdeck serve --transport http`` on a free port; a context manager that waits until
    ``/healthz`` answers and kills the process on exit if it is still running."""

    def __init__(self, config: Path, *extra: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [*SERVE, "--config", str(config), "--transport", "http", "--port", str(port), *extra],
            env={**os.environ, "AGENTDECK_CONFIG": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        STARTED.append(self.process)

    def __enter__(self) -> HttpServer:
        wait_until(self._healthy, 30, "the HTTP server to start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _healthy(self) -> bool:
        assert self.process.poll() is None, self.stderr()
        try:
            return httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx2.TransportError:
            return False

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")
