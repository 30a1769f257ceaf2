"""The Make fake, make_server over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest

from agentdeck.config import Settings
from tests.fakes.base import Swappable, serve
from tests.fakes.make import FakeMake
from tests.platforms import make_settings_for


@pytest.fixture(scope="module")
def make_server() -> Iterator[tuple[Swappable, str]]:
    """One server for the module: each test swaps in its own fresh fake."""
    current = Swappable()
    with serve(current) as base:
        yield current, base


@pytest.fixture
def fake(make_server: tuple[Swappable, str]) -> FakeMake:
    fake = FakeMake()
    make_server[0].app = fake.app
    return fake


@pytest.fixture
def url(fake: FakeMake, make_server: tuple[Swappable, str]) -> str:
    return make_server[1] + "/api/v2"


@pytest.fixture
def settings(url: str, fake: FakeMake) -> Settings:
    """Backend ``ops`` on the fake, with its token."""
    return make_settings_for(url, fake.token)
