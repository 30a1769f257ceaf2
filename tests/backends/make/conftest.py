"""The Make fake, served over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.config import Settings
from tests.fakes.base import serve
from tests.fakes.make import FakeMake
from tests.platforms import make_settings_for


class _Current:
    """One server for the module, answering with each test's own fresh fake."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[_Current, str]]:
    current = _Current()
    with serve(current) as base:
        yield current, base


@pytest.fixture
def fake(served: tuple[_Current, str]) -> FakeMake:
    fake = FakeMake()
    served[0].app = fake.app
    return fake


@pytest.fixture
def url(fake: FakeMake, served: tuple[_Current, str]) -> str:
    return served[1] + "/api/v2"


@pytest.fixture
def settings(url: str, fake: FakeMake) -> Settings:
    """Backend ``ops`` on the fake, with its token."""
    return make_settings_for(url, fake.token)
