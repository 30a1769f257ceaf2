import logging
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.fakes.base import Served, serve
from tests.support import BUILT_SERVERS, OUTPUTS

pytest_plugins = ["tests.pg", "tests.npm"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 'auto' lands on 2026-07-28, 'legacy' speaks 2025-11-25."""
    return request.param


@pytest.fixture
def served() -> Iterator[Served]:
    """Serves the fakes a test builds: ``served(fake)`` is its base URL until the test ends."""
    with ExitStack() as stack:
        yield lambda fake: stack.enter_context(serve(fake.app))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Both stores: an in-memory SQLite file, and a fresh schema on the test PostgreSQL."""
    if request.param == "sqlite":
        return ":memory:"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="module", autouse=True)
def built_servers() -> Iterator[None]:
    """The agentdeck servers built for one test module are reused only within it."""
    yield
    BUILT_SERVERS.clear()


@pytest.fixture(autouse=True)
def no_secret_leaves(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The secret sweep, for every test: no secret of the settings a test's clients were
    served (nor its first 8 characters) appears in a result, an error, a progress
    message or a log record (issue 10: redaction holds at every exit)."""
    caplog.set_level(logging.INFO, logger="agentdeck")
    OUTPUTS.reset()
    yield
    logged = [caplog.text, *(record.getMessage() for record in caplog.records)]
    leaks = OUTPUTS.leaks(*logged)
    assert not leaks, f"a secret left agentdeck: {leaks}"
