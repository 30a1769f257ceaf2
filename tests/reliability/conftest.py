"""Fixtures of the reliability suite: the secret sweep."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.subprocesses import release_processes

#: A cut-off copy of a secret is a leak from this many characters on (as agentdeck redacts).
MIN_PREFIX = 8


class SecretSweep:
    """Collects everything agentdeck sent out during a test and proves no secret is in it.

    A test :meth:`watch`\\ es each secret it configures and :meth:`saw` every result,
    warning, error and progress message it received; the fixture adds every captured
    log record (tracebacks included) and checks it all when the test ends: neither a
    secret nor its first 8 characters (the start of any cut-off copy) may appear.
    """

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.outputs: list[str] = []

    def watch(self, *secrets: str) -> None:
        self.secrets.extend(secrets)

    def saw(self, *outputs: Any) -> None:
        for output in outputs:
            dump = getattr(output, "model_dump_json", None)
            self.outputs.append(dump() if dump else str(output))

    def progress(self) -> Any:
        """A progress callback for ``call_tool`` that hands every message to the sweep."""

        async def callback(progress: float, total: float | None, message: str | None) -> None:
            self.saw(message or "")

        return callback

    def leaks(self) -> list[str]:
        """Each output that holds a watched secret or its beginning, shortened for the report."""
        found = []
        for secret in self.secrets:
            for output in self.outputs:
                if secret[:MIN_PREFIX] in output:
                    at = output.index(secret[:MIN_PREFIX])
                    found.append(output[max(0, at - 60) : at + 20])
        return found


@pytest.fixture
def secret_sweep(caplog: pytest.LogCaptureFixture) -> Iterator[SecretSweep]:
    """Use in every test that configures a secret: it fails the test if the secret leaked."""
    caplog.set_level(logging.DEBUG)
    sweep = SecretSweep()
    yield sweep
    assert sweep.secrets, "the test watched no secret"
    sweep.saw(caplog.text, *(record.getMessage() for record in caplog.records))
    assert not sweep.leaks(), f"a secret left agentdeck: {sweep.leaks()}"


@pytest.fixture(autouse=True)
def released_processes() -> Iterator[None]:
    """Every ``agentdeck serve`` a test started is reaped and its pipes closed after it."""
    yield
    release_processes()
